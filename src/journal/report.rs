//! Month-end reports and CSV: checks still unresolved for the claim run, the monthly card-use
//! rate, and the export of records.
//!
//! The card-use rate (マイナ保険証利用率) is card checks ÷ all eligibility checks (card +
//! number checks) by check month. Every card check counts, whatever the answer: the card was
//! used. Claim-path records without an online check are not eligibility checks and are
//! reported beside the rate, not in it.
//!
//! The CSV files are for staff, who open them in Japanese Excel: Japanese headers, CRLF line
//! ends, times in Japan time (`+09:00`, the clerk's clock, not the journal's UTC), and bytes in
//! the configured [`TextEncoding`] ([`csv_bytes`]: UTF-8 with BOM unless set otherwise).

use std::io::Write;

use serde::Serialize;
use time::{Date, Month};

use super::query::Param;
use super::{CheckRecord, JournalError, JournalReader};
use crate::domain::text::{encode_text, is_unsafe_char, TextEncoding};

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

/// The CSV header of [`write_records_csv`], in Japanese for the staff who open it; the
/// columns are those of the journal (`journal::schema`), in this order.
pub const RECORD_CSV_HEADER: &[&str] = &[
    "受付記録番号",
    "記録日時(日本時間)",
    "受付日",
    "確認の方法",
    "本人確認",
    "確認結果",
    "資格有効性",
    "状態",
    "保険者番号",
    "記号",
    "番号",
    "枝番",
    "氏名",
    "カナ氏名",
    "生年月日",
    "請求の段階",
    "レセプトの保険者番号",
    "事後確認の結果",
    "相違の内容",
    "印刷物",
    "公費",
];

/// The header of [`write_usage_csv`].
pub const USAGE_CSV_HEADER: &[&str] = &[
    "月",
    "マイナ保険証での確認",
    "保険証番号での確認",
    "マイナ保険証利用率",
    "オンライン確認のない請求記録",
];

/// Japan time (`+09:00`), the offset of every time in the CSV files.
const JST: time::UtcOffset = time::macros::offset!(+9);

/// `2026-11-22T10:15:00+09:00`: the moment in Japan time, the way the desk's clock reads it
/// (the journal stores UTC, which would put an evening check on the next day's morning).
pub fn jst_timestamp(t: time::OffsetDateTime) -> String {
    t.to_offset(JST)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A CSV written by `write` (UTF-8 text) as the bytes of a file in `encoding`. Characters
/// Shift_JIS lacks are written as `●` and logged (as code points: the names stay out of the
/// log), so none is lost silently.
pub fn csv_bytes(
    encoding: TextEncoding,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), JournalError>,
) -> Result<Vec<u8>, JournalError> {
    let mut utf8 = Vec::new();
    write(&mut utf8)?;
    let text = String::from_utf8(utf8)
        .map_err(|e| JournalError::Other(format!("CSV is not UTF-8: {e}")))?;
    let encoded = encode_text(&text, encoding);
    if !encoded.replaced.is_empty() {
        let points: Vec<String> = encoded
            .replaced
            .iter()
            .map(|c| format!("U+{:04X}", u32::from(*c)))
            .collect();
        tracing::warn!(
            encoding = encoding.name(),
            count = encoded.replaced.len(),
            characters = %points.join(" "),
            "characters not in the CSV encoding were written as ●"
        );
    }
    Ok(encoded.bytes)
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// A typed column's stored name, empty when absent.
fn name<T: Serialize>(v: &Option<T>) -> String {
    v.as_ref().map(super::stored_name).unwrap_or_default()
}

/// The column [`write_records_csv`] adds after the record's number for records read from the
/// facility's shared journal: the desk that made the check.
pub const DESK_CSV_HEADER: &str = "端末";

/// Writes records as CSV (UTF-8 text, CRLF, the Japanese header first; [`csv_bytes`] makes
/// the file's bytes). Records read from the shared journal get the desk's column
/// ([`DESK_CSV_HEADER`]) second; a desk's own records are written as they always were.
pub fn write_records_csv(
    out: &mut impl Write,
    records: &[CheckRecord],
) -> Result<(), JournalError> {
    let with_desk = records.iter().any(|r| r.desk.is_some());
    let mut header: Vec<String> = RECORD_CSV_HEADER.iter().map(|s| s.to_string()).collect();
    if with_desk {
        header.insert(1, DESK_CSV_HEADER.to_owned());
    }
    csv_line(out, &header).map_err(io)?;
    for r in records {
        let n = r.numbers.as_ref();
        let mut fields = vec![
            r.id.to_string(),
            jst_timestamp(r.recorded_at),
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
            super::public_expenses::short(&r.public_expenses),
        ];
        if with_desk {
            fields.insert(1, r.desk.clone().unwrap_or_default());
        }
        csv_line(out, &fields).map_err(io)?;
    }
    Ok(())
}

/// Writes the usage report as CSV.
pub fn write_usage_csv(out: &mut impl Write, rows: &[MonthlyUsage]) -> Result<(), JournalError> {
    let header: Vec<String> = USAGE_CSV_HEADER.iter().map(|s| s.to_string()).collect();
    csv_line(out, &header).map_err(io)?;
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
        self.records(
            "SELECT {columns} FROM checks
             WHERE check_date BETWEEN ?1 AND ?2
               AND (status IN ('queued', 'conflict', 'abandoned')
                    OR receipt_insurer IN ('77777777', '77777779'))
             ORDER BY check_date, id",
            &[
                Param::Text(first.to_string()),
                Param::Text(last.to_string()),
            ],
        )
    }

    /// The card-use rate by check month, oldest first (the same SQL on a desk's file and the
    /// shared journal).
    pub fn usage(&self) -> Result<Vec<MonthlyUsage>, JournalError> {
        self.rows(
            "SELECT substr(check_date, 1, 7) AS m,
                    count(CASE WHEN kind = 'card' THEN 1 END),
                    count(CASE WHEN kind = 'numbers' THEN 1 END),
                    count(CASE WHEN kind = 'claim_path' THEN 1 END)
             FROM checks GROUP BY m ORDER BY m",
            &[],
            |r| {
                let count = |i: usize| -> Result<u64, JournalError> {
                    Ok(r.int(i)?.unwrap_or(0).unsigned_abs())
                };
                let card = count(1)?;
                let numbers = count(2)?;
                Ok(MonthlyUsage {
                    month: r.text(0)?.unwrap_or_default(),
                    card_checks: card,
                    number_checks: numbers,
                    card_rate: (card + numbers > 0).then(|| card as f64 / (card + numbers) as f64),
                    claim_path_only: count(3)?,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_are_written_in_japan_time() {
        // 13:00 UTC is 22:00 the same day in Japan; 16:00 UTC is already the next day.
        assert_eq!(
            jst_timestamp(datetime!(2026-11-22 13:00 UTC)),
            "2026-11-22T22:00:00+09:00"
        );
        assert_eq!(
            jst_timestamp(datetime!(2026-11-30 16:30 UTC)),
            "2026-12-01T01:30:00+09:00"
        );
    }

    fn usage() -> Vec<MonthlyUsage> {
        vec![MonthlyUsage {
            month: "2026-11".into(),
            card_checks: 3,
            number_checks: 1,
            card_rate: Some(0.75),
            claim_path_only: 0,
        }]
    }

    #[test]
    fn the_usage_csv_opens_in_japanese_excel_either_way() {
        // UTF-8 with BOM (the default): Excel sees the BOM and reads UTF-8.
        let bytes =
            csv_bytes(TextEncoding::default(), |o| write_usage_csv(o, &usage())).expect("csv");
        let (encoding, bom) = encoding_rs::Encoding::for_bom(&bytes).expect("BOM");
        assert_eq!((encoding, bom), (encoding_rs::UTF_8, 3));
        let text = std::str::from_utf8(&bytes[3..]).expect("utf-8");
        assert_eq!(
            text,
            "月,マイナ保険証での確認,保険証番号での確認,マイナ保険証利用率,\
             オンライン確認のない請求記録\r\n2026-11,3,1,0.7500,0\r\n"
        );
        // Shift_JIS: no BOM, and the header decodes as Excel would decode it.
        let bytes =
            csv_bytes(TextEncoding::ShiftJis, |o| write_usage_csv(o, &usage())).expect("csv");
        assert!(encoding_rs::Encoding::for_bom(&bytes).is_none());
        let (decoded, _, errors) = encoding_rs::SHIFT_JIS.decode(&bytes);
        assert!(!errors);
        assert_eq!(decoded, text);
    }
}
