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
//!
//! # One reader, two stores
//!
//! A [`JournalReader`] reads either this desk's SQLite file or, with `[journal] url`, the
//! facility's shared journal on PostgreSQL (every desk's records, with the desk that made
//! each; see [`crate::journal::shared`]). The shared table holds the same columns with the same
//! text forms, so the SQL is written once, with numbered placeholders `?N` that are rendered
//! `$N` for PostgreSQL ([`Dialect::render`]), and one function reads a row of either
//! ([`record`] over [`StoredRow`]). What differs is said in [`Dialect`]: the desk columns (none
//! in a desk's file) and the order of "newest first" (the facility's numbers are given in the
//! order records reached the shared journal, so it orders by the time recorded).
//!
//! [`crate::journal::Journal::reader`] reads the shared journal when one is configured and
//! falls back to this desk's file when it cannot be reached; [`JournalReader::scope`] says
//! which, so the desk and the CLI can say only this desk's records are shown.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;
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
    /// Only the checks made at this desk (`[journal] desk_id`). A desk's own file holds only
    /// its own checks: there it lists all of them for its own desk id, none for another.
    pub desk: Option<String>,
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
            desk: None,
            limit: Some(100),
        }
    }
}

/// Whose records a reader sees.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum ReadScope {
    /// This desk's journal, and no shared journal is configured: it is the whole history.
    #[default]
    Desk,
    /// The facility's shared journal: every desk's records.
    Facility,
    /// A shared journal is configured but could not be read: only this desk's own records
    /// (`reason` in English, for logs; never the password).
    ThisDeskOnly { reason: String },
}

impl ReadScope {
    /// What the desk and the CLI say when only this desk's records could be read; `None`
    /// otherwise.
    pub fn desk_notice(&self) -> Option<&'static str> {
        match self {
            ReadScope::ThisDeskOnly { .. } => {
                Some("この端末の記録のみ表示しています(共有の受付記録に接続できません)。")
            }
            ReadScope::Desk | ReadScope::Facility => None,
        }
    }
}

/// The SQL dialect of a store: what differs between a desk's SQLite file and the shared
/// journal on PostgreSQL. Everything else is the same SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    #[cfg(feature = "shared-journal")]
    Postgres,
}

impl Dialect {
    /// `sql` with its numbered placeholders `?N` as this dialect writes them (`$N` for
    /// PostgreSQL). The SQL of this module holds no `?` but placeholders.
    pub(crate) fn render(self, sql: &str) -> String {
        match self {
            Dialect::Sqlite => sql.to_owned(),
            #[cfg(feature = "shared-journal")]
            Dialect::Postgres => {
                let mut out = String::with_capacity(sql.len());
                let mut chars = sql.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
                        out.push('$');
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }

    /// The columns [`record`] reads, in its order: [`COLUMNS`] and the desk's.
    pub(crate) fn columns(self) -> String {
        match self {
            // A desk's file is its own: no desk column.
            Dialect::Sqlite => format!("{COLUMNS}, NULL, NULL"),
            #[cfg(feature = "shared-journal")]
            Dialect::Postgres => format!("{COLUMNS}, desk, desk_check_id"),
        }
    }

    /// "Newest first". A desk numbers its records as it makes them; the facility numbers them
    /// as they reach it (a desk offline for a day sends its day late), so there the time
    /// recorded decides.
    fn newest_first(self) -> &'static str {
        match self {
            Dialect::Sqlite => "id DESC",
            #[cfg(feature = "shared-journal")]
            Dialect::Postgres => "recorded_at DESC, id DESC",
        }
    }

    /// Names (氏名 or カナ) starting with `name` or `kana`: the clause with `?` placeholders
    /// and its values. SQLite: a range on the binary-collated columns (its `LIKE` ignores ASCII
    /// case and skips the index). PostgreSQL: `LIKE 'prefix%'` on the `"C"`-collated columns,
    /// which uses the same indexes and which its planner estimates well (a range ending in
    /// U+10FFFF it takes for a handful of rows, and then reads tens of thousands at random).
    fn name_prefix(self, name: &str, kana: &str) -> (&'static str, Vec<Param>) {
        match self {
            Dialect::Sqlite => (
                "(name >= ? AND name < ?) OR (name_kana >= ? AND name_kana < ?)",
                vec![
                    Param::Text(name.to_owned()),
                    Param::Text(prefix_end(name)),
                    Param::Text(kana.to_owned()),
                    Param::Text(prefix_end(kana)),
                ],
            ),
            #[cfg(feature = "shared-journal")]
            Dialect::Postgres => (
                "name LIKE ? ESCAPE '\\' OR name_kana LIKE ? ESCAPE '\\'",
                vec![
                    Param::Text(like_prefix(name)),
                    Param::Text(like_prefix(kana)),
                ],
            ),
        }
    }

    /// "Oldest first" (see [`Dialect::newest_first`]).
    fn oldest_first(self) -> &'static str {
        match self {
            Dialect::Sqlite => "id",
            #[cfg(feature = "shared-journal")]
            Dialect::Postgres => "recorded_at, id",
        }
    }
}

/// A value bound to a placeholder, for either store.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
    Bool(bool),
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Param::Text(s) => s.to_sql(),
            Param::Int(i) => i.to_sql(),
            Param::Bool(b) => b.to_sql(),
        }
    }
}

/// One row of a result, from either store: the columns are read by position.
pub(crate) trait StoredRow {
    fn text(&self, i: usize) -> Result<Option<String>, JournalError>;
    fn int(&self, i: usize) -> Result<Option<i64>, JournalError>;
    fn flag(&self, i: usize) -> Result<bool, JournalError>;
}

impl StoredRow for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<Option<String>, JournalError> {
        Ok(self.get(i)?)
    }
    fn int(&self, i: usize) -> Result<Option<i64>, JournalError> {
        Ok(self.get(i)?)
    }
    fn flag(&self, i: usize) -> Result<bool, JournalError> {
        Ok(self.get(i)?)
    }
}

#[cfg(feature = "shared-journal")]
impl StoredRow for postgres::Row {
    fn text(&self, i: usize) -> Result<Option<String>, JournalError> {
        Ok(self.try_get(i)?)
    }
    fn int(&self, i: usize) -> Result<Option<i64>, JournalError> {
        Ok(self.try_get(i)?)
    }
    fn flag(&self, i: usize) -> Result<bool, JournalError> {
        Ok(self.try_get(i)?)
    }
}

/// Where a reader reads.
enum Store {
    /// A desk's SQLite file, and the desk's id when it is known (for [`Filter::desk`]).
    Local {
        conn: Connection,
        desk: Option<String>,
    },
    /// The facility's shared journal (a blocking client needs `&mut`: a reader is used by one
    /// thread at a time).
    #[cfg(feature = "shared-journal")]
    Shared(std::cell::RefCell<postgres::Client>),
}

/// A read-only connection to the journal: this desk's file or the facility's shared journal
/// ([`JournalReader::scope`]). Not shared between threads: open one per thread (opening is
/// cheap); in WAL mode readers never block the writer or each other.
pub struct JournalReader {
    store: Store,
    scope: ReadScope,
}

/// The columns every record query selects, in the order [`record`] reads them, before the
/// desk's two ([`Dialect::columns`]).
pub(crate) const COLUMNS: &str = "id, recorded_at, check_date, kind, identity, verdict, validity,
    insurer_number, symbol, number, branch, name, name_kana, birthdate, claim_step, receipt_json,
    printouts_json, status, certificate_der IS NOT NULL OR certificate_serial IS NOT NULL,
    attempts, last_attempt_detail, reconfirmed_at, reconfirmed_verdict, reconfirmed_validity,
    conflict_detail, phone, interop_file, public_expenses";

fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

fn bad(column: usize, what: &str) -> JournalError {
    JournalError::Other(format!("column {column} of a record is not a {what}"))
}

/// Maps a row selected with [`Dialect::columns`], from either store.
pub(crate) fn record(row: &dyn StoredRow) -> Result<CheckRecord, JournalError> {
    let date = |i: usize| -> Result<Option<Date>, JournalError> {
        match row.text(i)? {
            None => Ok(None),
            Some(s) => parse_date(&s).map(Some).ok_or_else(|| bad(i, "date")),
        }
    };
    let stamp = |i: usize| -> Result<Option<OffsetDateTime>, JournalError> {
        match row.text(i)? {
            None => Ok(None),
            Some(s) => OffsetDateTime::parse(&s, &Rfc3339)
                .map(Some)
                .map_err(|_| bad(i, "timestamp")),
        }
    };
    let small = |i: usize, what: &str| -> Result<Option<u8>, JournalError> {
        row.int(i)?
            .map(|v| u8::try_from(v).map_err(|_| bad(i, what)))
            .transpose()
    };
    let text = |i: usize, what: &str| -> Result<String, JournalError> {
        row.text(i)?.ok_or_else(|| bad(i, what))
    };
    let insurer = row.text(7)?;
    let number = row.text(9)?;
    let numbers = match (insurer, number) {
        (Some(insurer_number), Some(number)) => Some(CheckNumbers {
            insurer_number,
            symbol: row.text(8)?,
            number,
            branch: row.text(10)?,
        }),
        _ => None,
    };
    let receipt = row.text(15)?;
    let printouts = text(16, "list of printouts")?;
    let public_expenses = super::public_expenses::from_json(&text(27, "list of 公費")?)
        .map_err(|e| JournalError::Other(format!("column 27 of a record: {e}")))?;
    Ok(CheckRecord {
        id: CheckId(row.int(0)?.ok_or_else(|| bad(0, "number"))?),
        desk: row.text(28)?,
        desk_check_id: row.int(29)?,
        recorded_at: stamp(1)?.ok_or_else(|| bad(1, "timestamp"))?,
        check_date: date(2)?.ok_or_else(|| bad(2, "date"))?,
        kind: named(row, 3, "check kind")?.ok_or_else(|| bad(3, "check kind"))?,
        identity: named(row, 4, "identity method")?,
        verdict: named(row, 5, "verdict")?,
        validity: small(6, "validity")?,
        numbers,
        name: row.text(11)?,
        name_kana: row.text(12)?,
        birthdate: date(13)?,
        claim_step: named(row, 14, "claim step")?,
        receipt: receipt.and_then(|r| serde_json::from_str(&r).ok()),
        printouts: serde_json::from_str::<Vec<PathBuf>>(&printouts).unwrap_or_default(),
        status: named(row, 17, "status")?.ok_or_else(|| bad(17, "status"))?,
        certificate_held: row.flag(18)?,
        attempts: row
            .int(19)?
            .map(|v| u32::try_from(v).map_err(|_| bad(19, "count")))
            .transpose()?
            .unwrap_or(0),
        last_attempt_detail: row.text(20)?,
        reconfirmed_at: stamp(21)?,
        reconfirmed_verdict: named(row, 22, "verdict")?,
        reconfirmed_validity: small(23, "validity")?,
        conflict_detail: row.text(24)?,
        phone: row.text(25)?,
        interop_file: row.text(26)?,
        public_expenses,
    })
}

/// A typed column (stored as its serde name, `columns.rs`): a name that is not one is
/// refused, never guessed.
fn named<T: DeserializeOwned>(
    row: &dyn StoredRow,
    i: usize,
    what: &str,
) -> Result<Option<T>, JournalError> {
    match row.text(i)? {
        None => Ok(None),
        Some(s) => super::columns::parse(&s)
            .map(Some)
            .ok_or_else(|| JournalError::Other(format!("{s:?} is not a {what}"))),
    }
}

/// What a search text asks for (see the module documentation), decided once for the clauses
/// and for the plan.
enum SearchKind {
    Empty,
    /// A date in any form the desk accepts: the checks of that day and the patients born on it.
    Date(Date),
    /// Digits only: an exact 番号, 保険者番号 or 記号.
    Digits(String),
    /// Names by prefix (and 記号/番号 that are not only digits), width-normalised.
    Text(String),
}

impl SearchKind {
    fn of(search: &str) -> SearchKind {
        let search = crate::domain::text::normalize_width(search.trim());
        if search.is_empty() {
            SearchKind::Empty
        } else if let Some(d) = crate::domain::dates::parse_date(&search)
            .ok()
            .filter(|_| !search.bytes().all(|b| b.is_ascii_digit()))
        {
            // Eight digits stay a number search (an insurer number looks like a date).
            SearchKind::Date(d)
        } else if search.bytes().all(|b| b.is_ascii_digit()) {
            SearchKind::Digits(search)
        } else {
            SearchKind::Text(search)
        }
    }

    /// Whether it matches few records by nature (one day, one birth date, one number): the
    /// shared journal then gathers the matches first and sorts them, rather than walking its
    /// history backwards hoping to meet them (which it would do for a day long ago).
    #[cfg(feature = "shared-journal")]
    fn is_narrow(&self) -> bool {
        matches!(self, SearchKind::Date(_) | SearchKind::Digits(_))
    }
}

/// `text` as a `LIKE` pattern for the strings starting with it (`\` escapes).
#[cfg(feature = "shared-journal")]
fn like_prefix(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The upper bound of a prefix range: every string starting with `prefix` sorts below it.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// `WHERE` clauses (joined by `AND`) and the values of their numbered placeholders.
type Where = (Vec<String>, Vec<Param>);

/// The `WHERE` clauses of a [`Filter`] with numbered placeholders, and their values; `None`
/// when the filter can match nothing in this store (another desk's records asked of a desk's
/// own file).
fn clauses(
    filter: &Filter,
    dialect: Dialect,
    own_desk: Option<&str>,
) -> Result<Option<Where>, JournalError> {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<Param> = Vec::new();
    let mut bind = |clause: &str, v: Vec<Param>, clauses: &mut Vec<String>| {
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
    let text = |s: String| Param::Text(s);
    if let Some(desk) = &filter.desk {
        match dialect {
            Dialect::Sqlite => {
                if own_desk != Some(desk.as_str()) {
                    return Ok(None);
                }
            }
            #[cfg(feature = "shared-journal")]
            Dialect::Postgres => bind("desk = ?", vec![text(desk.clone())], &mut clauses),
        }
    }
    if let Some(d) = filter.date {
        bind("check_date = ?", vec![text(d.to_string())], &mut clauses);
    }
    if let Some(d) = filter.from {
        bind("check_date >= ?", vec![text(d.to_string())], &mut clauses);
    }
    if let Some(d) = filter.to {
        bind("check_date <= ?", vec![text(d.to_string())], &mut clauses);
    }
    if let Some(s) = filter.status {
        bind("status = ?", vec![text(s.as_str().into())], &mut clauses);
    }
    if let Some(search) = filter.search.as_deref() {
        if search.chars().count() > MAX_SEARCH_CHARS {
            return Err(JournalError::Invalid(format!(
                "search text of {} characters (at most {MAX_SEARCH_CHARS})",
                search.chars().count()
            )));
        }
        match SearchKind::of(search) {
            SearchKind::Empty => {
                // Nothing to search for: the filter lists everything else it says.
            }
            SearchKind::Date(d) => bind(
                "(check_date = ? OR birthdate = ?)",
                vec![text(d.to_string()), text(d.to_string())],
                &mut clauses,
            ),
            SearchKind::Digits(digits) => bind(
                "(number = ? OR insurer_number = ? OR symbol = ?)",
                vec![text(digits.clone()), text(digits.clone()), text(digits)],
                &mut clauses,
            ),
            SearchKind::Text(search) => {
                // Kana typed in any form is compared in the service's (half-width katakana).
                let kana = crate::domain::text::to_halfwidth_katakana(&search)
                    .unwrap_or_else(|| search.clone());
                let (names, mut values) = dialect.name_prefix(&search, &kana);
                // 記号 and 番号 are not always digits (`千代田`, `AB-1024`): text that is a
                // plausible one, as the one parser of insurance numbers reads it, is also
                // looked up exactly (on their indexes).
                let as_number = RawInsuranceNumbers {
                    number: Some(&search),
                    ..RawInsuranceNumbers::default()
                }
                .parse_fields()
                .number;
                match as_number {
                    Ok(Some(number)) => {
                        values.extend([text(number.clone()), text(number)]);
                        bind(
                            &format!("({names} OR number = ? OR symbol = ?)"),
                            values,
                            &mut clauses,
                        );
                    }
                    _ => bind(&format!("({names})"), values, &mut clauses),
                }
            }
        }
    }
    Ok(Some((clauses, values)))
}

impl JournalReader {
    /// Opens a read-only connection to an existing journal file (this desk's records only).
    pub fn open(path: &Path) -> Result<JournalReader, JournalError> {
        let conn = connection::open_reader(path)?;
        Ok(JournalReader {
            store: Store::Local { conn, desk: None },
            scope: ReadScope::Desk,
        })
    }

    /// A reader of the facility's shared journal (a new connection). The schema is brought
    /// to this program's version first, as a desk forwarding does (a database no desk has
    /// written to yet reads as empty), and a newer one is refused.
    #[cfg(feature = "shared-journal")]
    pub fn open_shared(
        shared: &crate::config::SharedJournalConfig,
    ) -> Result<JournalReader, JournalError> {
        let mut client = super::shared::connect(shared)?;
        super::shared::schema::migrate(&mut client)?;
        Ok(JournalReader {
            store: Store::Shared(std::cell::RefCell::new(client)),
            scope: ReadScope::Facility,
        })
    }

    /// The reader of the history, search and reports: the facility's shared journal when
    /// `shared` is set and it can be read, else this desk's file at `path` with the scope
    /// saying why ([`ReadScope::ThisDeskOnly`], logged).
    pub fn open_for(
        path: &Path,
        shared: Option<&crate::config::SharedJournalConfig>,
    ) -> Result<JournalReader, JournalError> {
        let Some(shared) = shared else {
            return JournalReader::open(path);
        };
        #[cfg(feature = "shared-journal")]
        let reason = match JournalReader::open_shared(shared) {
            Ok(reader) => return Ok(reader),
            Err(e) => e.to_string(),
        };
        #[cfg(not(feature = "shared-journal"))]
        let reason = "this build has no shared journal (feature shared-journal)".to_owned();
        tracing::warn!(error = %reason, "shared journal not readable: reading this desk's records only");
        Ok(JournalReader {
            store: Store::Local {
                conn: connection::open_reader(path)?,
                desk: Some(shared.desk_id.clone()),
            },
            scope: ReadScope::ThisDeskOnly { reason },
        })
    }

    /// Whose records this reader sees.
    pub fn scope(&self) -> &ReadScope {
        &self.scope
    }

    fn dialect(&self) -> Dialect {
        match &self.store {
            Store::Local { .. } => Dialect::Sqlite,
            #[cfg(feature = "shared-journal")]
            Store::Shared(_) => Dialect::Postgres,
        }
    }

    /// The desk's SQLite connection (`None` on the shared journal).
    #[cfg(feature = "shared-journal")]
    pub(crate) fn local_conn(&self) -> Option<&Connection> {
        match &self.store {
            Store::Local { conn, .. } => Some(conn),
            #[cfg(feature = "shared-journal")]
            Store::Shared(_) => None,
        }
    }

    /// Runs `sql` (numbered placeholders) with `params` and maps each row with `map`.
    pub(crate) fn rows<T>(
        &self,
        sql: &str,
        params: &[Param],
        map: impl Fn(&dyn StoredRow) -> Result<T, JournalError>,
    ) -> Result<Vec<T>, JournalError> {
        let sql = self.dialect().render(sql);
        match &self.store {
            Store::Local { conn, .. } => {
                let mut stmt = conn.prepare(&sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(map(row)?);
                }
                Ok(out)
            }
            #[cfg(feature = "shared-journal")]
            Store::Shared(client) => {
                let values: Vec<Box<dyn postgres::types::ToSql + Sync>> = params
                    .iter()
                    .map(|p| -> Box<dyn postgres::types::ToSql + Sync> {
                        match p {
                            Param::Text(s) => Box::new(s.clone()),
                            Param::Int(i) => Box::new(*i),
                            Param::Bool(b) => Box::new(*b),
                        }
                    })
                    .collect();
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    values.iter().map(|v| v.as_ref()).collect();
                let rows = client
                    .try_borrow_mut()
                    .map_err(|_| JournalError::Other("shared journal reader busy".into()))?
                    .query(sql.as_str(), &refs)?;
                rows.iter().map(|r| map(r)).collect()
            }
        }
    }

    /// The records `sql` selects (with [`Dialect::columns`] as `{columns}`).
    pub(crate) fn records(
        &self,
        sql: &str,
        params: &[Param],
    ) -> Result<Vec<CheckRecord>, JournalError> {
        let sql = sql.replace("{columns}", &self.dialect().columns());
        self.rows(&sql, params, record)
    }

    /// One record (its facility number on the shared journal).
    pub fn get(&self, id: CheckId) -> Result<CheckRecord, JournalError> {
        self.records(
            "SELECT {columns} FROM checks WHERE id = ?1",
            &[Param::Int(id.0)],
        )?
        .into_iter()
        .next()
        .ok_or(JournalError::NotFound(id.0))
    }

    /// The records matching `filter`, newest first.
    pub fn list(&self, filter: &Filter) -> Result<Vec<CheckRecord>, JournalError> {
        let own_desk = match &self.store {
            Store::Local { desk, .. } => desk.as_deref(),
            #[cfg(feature = "shared-journal")]
            Store::Shared(_) => None,
        };
        let Some((clauses, values)) = clauses(filter, self.dialect(), own_desk)? else {
            return Ok(Vec::new());
        };
        let mut sql = "SELECT {columns} FROM checks".to_owned();
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        #[cfg(feature = "shared-journal")]
        if self.dialect() == Dialect::Postgres
            && filter
                .search
                .as_deref()
                .is_some_and(|s| SearchKind::of(s).is_narrow())
        {
            // Gathered first, then sorted (see `SearchKind::is_narrow`).
            sql = format!(
                "WITH matches AS MATERIALIZED ({}) SELECT {{columns}} FROM matches AS checks",
                sql.replacen("{columns}", "*", 1)
            );
        }
        sql.push_str(" ORDER BY ");
        sql.push_str(self.dialect().newest_first());
        if let Some(limit) = filter.limit {
            // LIMIT is a signed 64-bit integer in both stores: a larger one is the caller's
            // mistake.
            let limit = i64::try_from(limit).map_err(|_| {
                JournalError::Invalid(format!(
                    "limit {limit} is out of range (at most {})",
                    i64::MAX
                ))
            })?;
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        self.records(&sql, &values)
    }

    /// Queued checks whose next attempt is due at `now` (all of them with `ignore_backoff`),
    /// oldest first.
    pub fn due(
        &self,
        now: OffsetDateTime,
        ignore_backoff: bool,
    ) -> Result<Vec<CheckRecord>, JournalError> {
        self.records(
            &format!(
                "SELECT {{columns}} FROM checks WHERE status = ?3
                   AND (?1 OR next_attempt_at IS NULL OR next_attempt_at <= ?2) ORDER BY {}",
                self.dialect().oldest_first()
            ),
            &[
                Param::Bool(ignore_backoff),
                Param::Text(connection::timestamp(now)),
                Param::Text(CheckStatus::Queued.as_str().into()),
            ],
        )
    }

    /// The certificate (DER) held for a queued check, if any.
    pub(crate) fn certificate(&self, id: CheckId) -> Result<Option<Vec<u8>>, JournalError> {
        let sql =
            "SELECT certificate_der FROM checks WHERE id = ?1 AND certificate_der IS NOT NULL";
        match &self.store {
            Store::Local { conn, .. } => {
                Ok(conn.query_row(sql, [id.0], |r| r.get(0)).optional()?)
            }
            #[cfg(feature = "shared-journal")]
            Store::Shared(client) => {
                let row = client
                    .try_borrow_mut()
                    .map_err(|_| JournalError::Other("shared journal reader busy".into()))?
                    .query_opt(Dialect::Postgres.render(sql).as_str(), &[&id.0])?;
                Ok(row.map(|r| r.try_get(0)).transpose()?)
            }
        }
    }

    /// `PRAGMA integrity_check` of a desk's file: `ok`, or what is wrong. The shared journal
    /// is the database server's to keep sound: there it says so ([`INTEGRITY_NOT_APPLICABLE`]).
    pub fn integrity_check(&self) -> Result<String, JournalError> {
        match &self.store {
            Store::Local { conn, .. } => {
                let mut stmt = conn.prepare("PRAGMA integrity_check")?;
                let lines = stmt
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(lines.join("\n"))
            }
            #[cfg(feature = "shared-journal")]
            Store::Shared(_) => Ok(INTEGRITY_NOT_APPLICABLE.to_owned()),
        }
    }

    /// How many records the journal holds.
    pub fn count(&self) -> Result<u64, JournalError> {
        let n = self.rows("SELECT count(*) FROM checks", &[], |r| {
            Ok(r.int(0)?.unwrap_or(0))
        })?;
        Ok(n.first().copied().unwrap_or(0).unsigned_abs())
    }
}

/// What [`JournalReader::integrity_check`] says of the shared journal.
pub const INTEGRITY_NOT_APPLICABLE: &str =
    "not applicable: the shared journal is checked by its database server";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_once_and_rendered_per_store() {
        let sql = "SELECT x FROM checks WHERE a = ?1 AND (b = ?2 OR ?12) AND c IS NOT ?";
        assert_eq!(Dialect::Sqlite.render(sql), sql);
        #[cfg(feature = "shared-journal")]
        assert_eq!(
            Dialect::Postgres.render(sql),
            "SELECT x FROM checks WHERE a = $1 AND (b = $2 OR $12) AND c IS NOT ?"
        );
        // A search's clauses: each `?` numbered after the values bound before it.
        let filter = Filter {
            date: Some(time::macros::date!(2026 - 11 - 21)),
            status: Some(CheckStatus::Queued),
            search: Some("1024".into()),
            ..Filter::default()
        };
        let (clauses, values) = clauses(&filter, Dialect::Sqlite, None)
            .expect("valid")
            .expect("some");
        assert_eq!(
            clauses,
            [
                "check_date = ?1",
                "status = ?2",
                "(number = ?3 OR insurer_number = ?4 OR symbol = ?5)"
            ]
        );
        assert_eq!(values.len(), 5);
        assert_eq!(values[1], Param::Text("queued".into()));
    }

    #[test]
    fn a_desks_own_file_answers_for_its_desk_only() {
        let one_desk = Filter {
            desk: Some("front-1".into()),
            ..Filter::default()
        };
        assert!(clauses(&one_desk, Dialect::Sqlite, Some("front-2"))
            .expect("valid")
            .is_none());
        assert!(clauses(&one_desk, Dialect::Sqlite, None)
            .expect("valid")
            .is_none());
        let (own, _) = clauses(&one_desk, Dialect::Sqlite, Some("front-1"))
            .expect("valid")
            .expect("all of its records");
        assert!(own.is_empty());
        #[cfg(feature = "shared-journal")]
        {
            let (shared, values) = clauses(&one_desk, Dialect::Postgres, None)
                .expect("valid")
                .expect("some");
            assert_eq!(shared, ["desk = ?1"]);
            assert_eq!(values, [Param::Text("front-1".into())]);
        }
    }

    #[test]
    fn a_record_is_this_desks_to_write_only_when_it_made_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let journal = crate::journal::Journal::open(&dir.path().join("j.sqlite3")).expect("open");
        let id = journal
            .record(crate::journal::NewCheck::empty(
                crate::journal::CheckKind::Card,
                time::macros::date!(2026 - 11 - 21),
            ))
            .expect("record");
        let mut r = journal.reader().expect("reader").get(id).expect("get");
        assert_eq!((r.desk.as_deref(), r.desk_check_id), (None, None));
        assert_eq!(r.local_id(None), Some(id));
        assert_eq!(r.local_id(Some("front-1")), Some(id));
        // As the shared journal numbers it.
        (r.id, r.desk, r.desk_check_id) = (CheckId(40), Some("front-1".into()), Some(id.0));
        assert_eq!(r.local_id(Some("front-1")), Some(id));
        assert_eq!(r.local_id(Some("front-2")), None);
        assert_eq!(r.local_id(None), None);
    }
}
