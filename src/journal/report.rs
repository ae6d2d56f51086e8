//! Month-end reports and CSV: checks still unresolved for the claim run, the monthly card-use
//! rate, and the export of records.
//!
//! The card-use rate (マイナ保険証利用率) is card checks ÷ all eligibility checks (card +
//! number checks) by check month. Every card check counts, whatever the answer: the card was
//! used. Claim-path records without an online check are not eligibility checks and are
//! reported beside the rate, not in it.

use std::io::Write;

use serde::Serialize;
use time::{Date, Month};

use super::query::{record, COLUMNS};
use super::{CheckRecord, JournalError, JournalReader};
use crate::domain::text::is_unsafe_char;

/// One month of the card-use report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthlyUsage {
    /// `YYYY-MM`.
    pub month: String,
    pub card_checks: u64,
    pub number_checks: u64,
    /// Card checks ÷ (card + number checks); `None` without any check.
    pub card_rate: Option<f64>,
    /// Claim-path records without an online check (not in the rate).
    pub claim_path_only: u64,
}

/// One CSV field: quoted when it holds `,`, `"`, a line break or leading/trailing space, and
/// prefixed with `'` when a spreadsheet would take it for a formula (`=`, `+`, `-`, `@`, tab,
/// carriage return first), so an exported name cannot run anything when opened. Control and
/// bidi characters other than line breaks and tabs are written as `\u{…}` (the data stays
/// readable, the escape sequence is gone).
pub fn csv_field(value: &str) -> String {
    let value: &str = &neutralise_controls(value);
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r'])
        || guarded.starts_with(' ')
        || guarded.ends_with(' ')
    {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// `value` with every control or bidi character ([`is_unsafe_char`]) written as `\u{…}`,
/// except the line breaks and tabs a cell may hold as data (quoted by [`csv_field`]): an
/// escape sequence from a server must not run when the file is shown in a terminal, and a
/// bidi override must not make `1234` read `4321` in a spreadsheet. Nothing is cut.
fn neutralise_controls(value: &str) -> std::borrow::Cow<'_, str> {
    let keep = |c: char| matches!(c, '\n' | '\r' | '\t');
    if !value.chars().any(|c| is_unsafe_char(c) && !keep(c)) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 16);
    for c in value.chars() {
        if is_unsafe_char(c) && !keep(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn csv_line(out: &mut impl Write, fields: &[String]) -> std::io::Result<()> {
    let line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    out.write_all(line.as_bytes())?;
    out.write_all(b"\r\n")
}

fn io(e: std::io::Error) -> JournalError {
    JournalError::Other(format!("writing CSV: {e}"))
}

/// The CSV header of [`write_records_csv`].
pub const RECORD_CSV_HEADER: &[&str] = &[
    "id",
    "recorded_at",
    "check_date",
    "kind",
    "identity",
    "verdict",
    "validity",
    "status",
    "insurer_number",
    "symbol",
    "number",
    "branch",
    "name",
    "name_kana",
    "birthdate",
    "claim_step",
    "receipt_insurer",
    "reconfirmed_verdict",
    "conflict_detail",
    "printouts",
];

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// A typed column's stored name, empty when absent.
fn name<T: Serialize>(v: &Option<T>) -> String {
    v.as_ref().map(super::stored_name).unwrap_or_default()
}

/// Writes records as CSV (UTF-8, CRLF, header first).
pub fn write_records_csv(
    out: &mut impl Write,
    records: &[CheckRecord],
) -> Result<(), JournalError> {
    let header: Vec<String> = RECORD_CSV_HEADER.iter().map(|s| s.to_string()).collect();
    csv_line(out, &header).map_err(io)?;
    for r in records {
        let n = r.numbers.as_ref();
        let fields = vec![
            r.id.to_string(),
            super::connection::timestamp(r.recorded_at),
            r.check_date.to_string(),
            r.kind.as_str().to_owned(),
            name(&r.identity),
            name(&r.verdict),
            opt(&r.validity),
            r.status.as_str().to_owned(),
            n.map(|n| n.insurer_number.clone()).unwrap_or_default(),
            n.and_then(|n| n.symbol.clone()).unwrap_or_default(),
            n.map(|n| n.number.clone()).unwrap_or_default(),
            n.and_then(|n| n.branch.clone()).unwrap_or_default(),
            opt(&r.name),
            opt(&r.name_kana),
            opt(&r.birthdate),
            name(&r.claim_step),
            r.receipt_insurer().unwrap_or_default().to_owned(),
            name(&r.reconfirmed_verdict),
            opt(&r.conflict_detail),
            r.printouts
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(";"),
        ];
        csv_line(out, &fields).map_err(io)?;
    }
    Ok(())
}

/// Writes the usage report as CSV.
pub fn write_usage_csv(out: &mut impl Write, rows: &[MonthlyUsage]) -> Result<(), JournalError> {
    csv_line(
        out,
        &[
            "month".into(),
            "card_checks".into(),
            "number_checks".into(),
            "card_rate".into(),
            "claim_path_only".into(),
        ],
    )
    .map_err(io)?;
    for u in rows {
        csv_line(
            out,
            &[
                u.month.clone(),
                u.card_checks.to_string(),
                u.number_checks.to_string(),
                u.card_rate.map(|r| format!("{r:.4}")).unwrap_or_default(),
                u.claim_path_only.to_string(),
            ],
        )
        .map_err(io)?;
    }
    Ok(())
}

/// The first and last day of a month.
pub fn month_bounds(year: i32, month: Month) -> Result<(Date, Date), JournalError> {
    let first = Date::from_calendar_date(year, month, 1)
        .map_err(|e| JournalError::Invalid(format!("month: {e}")))?;
    let last = Date::from_calendar_date(year, month, time::util::days_in_month(month, year))
        .map_err(|e| JournalError::Invalid(format!("month: {e}")))?;
    Ok((first, last))
}

impl JournalReader {
    /// The checks of a month the claim run cannot take as they are: still queued, in
    /// conflict, or claimed with an unknown receipt (7s).
    pub fn unresolved(&self, year: i32, month: Month) -> Result<Vec<CheckRecord>, JournalError> {
        let (first, last) = month_bounds(year, month)?;
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM checks
             WHERE check_date BETWEEN ?1 AND ?2
               AND (status IN ('queued', 'conflict', 'abandoned')
                    OR receipt_insurer IN ('77777777', '77777779'))
             ORDER BY check_date, id"
        ))?;
        let rows = stmt.query_map([first.to_string(), last.to_string()], record)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The card-use rate by check month, oldest first.
    pub fn usage(&self) -> Result<Vec<MonthlyUsage>, JournalError> {
        let mut stmt = self.conn().prepare(
            "SELECT substr(check_date, 1, 7) AS m,
                    sum(kind = 'card'), sum(kind = 'numbers'), sum(kind = 'claim_path')
             FROM checks GROUP BY m ORDER BY m",
        )?;
        let rows = stmt.query_map([], |r| {
            let count = |i: usize| -> rusqlite::Result<u64> {
                Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).unsigned_abs())
            };
            let card = count(1)?;
            let numbers = count(2)?;
            Ok(MonthlyUsage {
                month: r.get(0)?,
                card_checks: card,
                number_checks: numbers,
                card_rate: (card + numbers > 0).then(|| card as f64 / (card + numbers) as f64),
                claim_path_only: count(3)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}
