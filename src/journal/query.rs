//! Reading the journal: the history list and search, one record, the records due for
//! re-confirmation.
//!
//! Search (`Filter::search`), chosen so every form uses an index over a million records:
//! - a date in any form the desk accepts (西暦 or 和暦: `2026-11-21`, `R8.11.21`, `S45.3.12`,
//!   `昭和45年3月12日`, full-width digits; [`crate::domain::dates::parse_date`]): the checks of
//!   that day and the patients born on it. The birth-date half has no index (adding one needs
//!   a schema migration) and scans the table: a clerk looks a patient up by birth date rarely,
//!   and a scan of a million short rows takes a fraction of a second;
//! - digits only (full-width accepted): an exact 番号, 保険者番号 or 記号;
//! - anything else: an exact 番号 or 記号 when the text is a plausible one (they hold letters,
//!   kanji and hyphens too), and names (氏名, or カナ as the answer gave them) **starting with** the text;
//!   kana typed as ひらがな or full-width カタカナ is first brought to the answer's half-width
//!   katakana ([`crate::domain::text`]).
//!   Not a substring search: the desk looks patients up by family name, and a prefix keeps the
//!   search on the index (a `LIKE '%x%'` scans the whole table).

use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::connection;
use super::{CheckId, CheckNumbers, CheckRecord, CheckStatus, JournalError};
use crate::domain::numbers::RawInsuranceNumbers;

/// The longest search text accepted (characters); longer is refused as invalid input.
pub const MAX_SEARCH_CHARS: usize = 100;

/// Which records to list. `Default` lists the latest 100.
#[derive(Clone, Debug)]
pub struct Filter {
    /// Checks of this day (JST).
    pub date: Option<Date>,
    /// From this day on (inclusive).
    pub from: Option<Date>,
    /// Up to this day (inclusive).
    pub to: Option<Date>,
    pub status: Option<CheckStatus>,
    /// Search text (see the module documentation).
    pub search: Option<String>,
    /// At most this many records, newest first; `None` for all.
    pub limit: Option<usize>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            date: None,
            from: None,
            to: None,
            status: None,
            search: None,
            limit: Some(100),
        }
    }
}

/// A read-only connection to the journal. Not shared between threads: open one per thread
/// (opening is cheap); in WAL mode readers never block the writer or each other.
pub struct JournalReader {
    conn: Connection,
}

pub(crate) const COLUMNS: &str = "id, recorded_at, check_date, kind, identity, verdict, validity,
    insurer_number, symbol, number, branch, name, name_kana, birthdate, claim_step, receipt_json,
    printouts_json, status, certificate_der IS NOT NULL OR certificate_serial IS NOT NULL,
    attempts, last_attempt_detail, reconfirmed_at, reconfirmed_verdict, reconfirmed_validity,
    conflict_detail, phone, interop_file, public_expenses";

fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

fn bad(column: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        rusqlite::types::Type::Text,
        format!("not a {what}").into(),
    )
}

/// Maps a row selected with [`COLUMNS`].
pub(crate) fn record(row: &Row<'_>) -> rusqlite::Result<CheckRecord> {
    let date = |i: usize| -> rusqlite::Result<Option<Date>> {
        match row.get::<_, Option<String>>(i)? {
            None => Ok(None),
            Some(s) => parse_date(&s).map(Some).ok_or_else(|| bad(i, "date")),
        }
    };
    let stamp = |i: usize| -> rusqlite::Result<Option<OffsetDateTime>> {
        match row.get::<_, Option<String>>(i)? {
            None => Ok(None),
            Some(s) => OffsetDateTime::parse(&s, &Rfc3339)
                .map(Some)
                .map_err(|_| bad(i, "timestamp")),
        }
    };
    let insurer: Option<String> = row.get(7)?;
    let number: Option<String> = row.get(9)?;
    let numbers = match (insurer, number) {
        (Some(insurer_number), Some(number)) => Some(CheckNumbers {
            insurer_number,
            symbol: row.get(8)?,
            number,
            branch: row.get(10)?,
        }),
        _ => None,
    };
    let receipt: Option<String> = row.get(15)?;
    let printouts: String = row.get(16)?;
    let public_expenses: String = row.get(27)?;
    let public_expenses = super::public_expenses::from_json(&public_expenses).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(27, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(CheckRecord {
        id: CheckId(row.get(0)?),
        recorded_at: stamp(1)?.ok_or_else(|| bad(1, "timestamp"))?,
        check_date: date(2)?.ok_or_else(|| bad(2, "date"))?,
        kind: row.get(3)?,
        identity: row.get(4)?,
        verdict: row.get(5)?,
        validity: row.get(6)?,
        numbers,
        name: row.get(11)?,
        name_kana: row.get(12)?,
        birthdate: date(13)?,
        claim_step: row.get(14)?,
        receipt: receipt.and_then(|r| serde_json::from_str(&r).ok()),
        printouts: serde_json::from_str::<Vec<PathBuf>>(&printouts).unwrap_or_default(),
        status: row.get(17)?,
        certificate_held: row.get(18)?,
        attempts: row.get(19)?,
        last_attempt_detail: row.get(20)?,
        reconfirmed_at: stamp(21)?,
        reconfirmed_verdict: row.get(22)?,
        reconfirmed_validity: row.get(23)?,
        conflict_detail: row.get(24)?,
        phone: row.get(25)?,
        interop_file: row.get(26)?,
        public_expenses,
    })
}

/// The upper bound of a prefix range: every string starting with `prefix` sorts below it.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

impl JournalReader {
    /// Opens a read-only connection to an existing journal.
    pub fn open(path: &Path) -> Result<JournalReader, JournalError> {
        let conn = connection::open_reader(path)?;
        Ok(JournalReader { conn })
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// One record.
    pub fn get(&self, id: CheckId) -> Result<CheckRecord, JournalError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM checks WHERE id = ?1"),
                [id.0],
                record,
            )
            .optional()?
            .ok_or(JournalError::NotFound(id.0))
    }

    /// The records matching `filter`, newest first.
    pub fn list(&self, filter: &Filter) -> Result<Vec<CheckRecord>, JournalError> {
        let mut clauses: Vec<String> = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        let mut bind = |clause: &str, v: Vec<Value>, clauses: &mut Vec<String>| {
            // Number each `?` of the clause after the values bound so far.
            let mut c = String::new();
            let mut v = v.into_iter();
            for (i, part) in clause.split('?').enumerate() {
                if i > 0 {
                    if let Some(value) = v.next() {
                        values.push(value);
                    }
                    c.push_str(&format!("?{}", values.len()));
                }
                c.push_str(part);
            }
            clauses.push(c);
        };
        if let Some(d) = filter.date {
            bind(
                "check_date = ?",
                vec![Value::Text(d.to_string())],
                &mut clauses,
            );
        }
        if let Some(d) = filter.from {
            bind(
                "check_date >= ?",
                vec![Value::Text(d.to_string())],
                &mut clauses,
            );
        }
        if let Some(d) = filter.to {
            bind(
                "check_date <= ?",
                vec![Value::Text(d.to_string())],
                &mut clauses,
            );
        }
        if let Some(s) = filter.status {
            bind(
                "status = ?",
                vec![Value::Text(s.as_str().into())],
                &mut clauses,
            );
        }
        if let Some(text) = filter.search.as_deref() {
            if text.chars().count() > MAX_SEARCH_CHARS {
                return Err(JournalError::Invalid(format!(
                    "search text of {} characters (at most {MAX_SEARCH_CHARS})",
                    text.chars().count()
                )));
            }
            let text = crate::domain::text::normalize_width(text.trim());
            if text.is_empty() {
                // Nothing to search for: the filter lists everything else it says.
            } else if let Some(d) = crate::domain::dates::parse_date(&text)
                .ok()
                .filter(|_| !text.bytes().all(|b| b.is_ascii_digit()))
            {
                // Eight digits stay a number search (an insurer number looks like a date).
                bind(
                    "(check_date = ? OR birthdate = ?)",
                    vec![Value::Text(d.to_string()), Value::Text(d.to_string())],
                    &mut clauses,
                );
            } else if text.bytes().all(|b| b.is_ascii_digit()) {
                bind(
                    "(number = ? OR insurer_number = ? OR symbol = ?)",
                    vec![
                        Value::Text(text.clone()),
                        Value::Text(text.clone()),
                        Value::Text(text.clone()),
                    ],
                    &mut clauses,
                );
            } else {
                // Kana typed in any form is compared in the service's (half-width katakana).
                let kana = crate::domain::text::to_halfwidth_katakana(&text)
                    .unwrap_or_else(|| text.clone());
                let (end, kana_end) = (prefix_end(&text), prefix_end(&kana));
                let mut values = vec![
                    Value::Text(text.clone()),
                    Value::Text(end),
                    Value::Text(kana),
                    Value::Text(kana_end),
                ];
                // 記号 and 番号 are not always digits (`千代田`, `AB-1024`): text that is a
                // plausible one, as the one parser of insurance numbers reads it, is also
                // looked up exactly (on their indexes).
                let as_number = RawInsuranceNumbers {
                    number: Some(&text),
                    ..RawInsuranceNumbers::default()
                }
                .parse_fields()
                .number;
                match as_number {
                    Ok(Some(number)) => {
                        values.extend([Value::Text(number.clone()), Value::Text(number)]);
                        bind(
                            "((name >= ? AND name < ?) OR (name_kana >= ? AND name_kana < ?) \
                             OR number = ? OR symbol = ?)",
                            values,
                            &mut clauses,
                        );
                    }
                    _ => bind(
                        "((name >= ? AND name < ?) OR (name_kana >= ? AND name_kana < ?))",
                        values,
                        &mut clauses,
                    ),
                }
            }
        }
        let mut sql = format!("SELECT {COLUMNS} FROM checks");
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY id DESC");
        if let Some(limit) = filter.limit {
            // SQLite's LIMIT is a signed 64-bit integer: a larger one is the caller's mistake.
            let limit = i64::try_from(limit).map_err(|_| {
                JournalError::Invalid(format!(
                    "limit {limit} is out of range (at most {})",
                    i64::MAX
                ))
            })?;
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values), record)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Queued checks whose next attempt is due at `now` (all of them with `ignore_backoff`),
    /// oldest first.
    pub fn due(
        &self,
        now: OffsetDateTime,
        ignore_backoff: bool,
    ) -> Result<Vec<CheckRecord>, JournalError> {
        let now = connection::timestamp(now);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM checks WHERE status = ?3
               AND (?1 OR next_attempt_at IS NULL OR next_attempt_at <= ?2) ORDER BY id"
        ))?;
        let rows = stmt.query_map(
            rusqlite::params![ignore_backoff, now, CheckStatus::Queued],
            record,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The certificate (DER) held for a queued check, if any.
    pub(crate) fn certificate(&self, id: CheckId) -> Result<Option<Vec<u8>>, JournalError> {
        Ok(self
            .conn
            .query_row(
                "SELECT certificate_der FROM checks WHERE id = ?1 AND certificate_der IS NOT NULL",
                [id.0],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// `PRAGMA integrity_check`: `ok`, or what is wrong.
    pub fn integrity_check(&self) -> Result<String, JournalError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lines.join("\n"))
    }

    /// How many records the journal holds.
    pub fn count(&self) -> Result<u64, JournalError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM checks", [], |r| r.get(0))?;
        Ok(n.unsigned_abs())
    }
}
