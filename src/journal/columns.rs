//! The journal's typed columns: how the enums the desk records (本人確認の方法, verdict, claim
//! step, check kind, status) are stored as text and read back.
//!
//! Why here, once: the code compares enums, never the strings in the file. Each enum is
//! stored as its serde name (`"pin"`, `"no_record"`, `"current_numbers"`, …), the same text the
//! JSON output and the CSV show, so the file stays readable with the `sqlite3` shell. A text
//! that is not one of the names is refused when the row is read (a precise conversion error,
//! never a guess).

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{CheckKind, CheckStatus, JournalError};
use crate::domain::claim::plan::ClaimStep;
use crate::domain::verdict::VerdictKind;
use crate::domain::IdentityMethod;

/// The stored text of an enum: its serde name.
pub(crate) fn text<T: Serialize>(value: &T) -> Result<String, JournalError> {
    match serde_json::to_value(value)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(JournalError::Other(format!(
            "{other} is not a name to store"
        ))),
    }
}

/// The stored name of a typed column's value, as the CSV and `journal list` show it (the
/// same text as the JSON output).
pub fn stored_name<T: Serialize>(value: &T) -> String {
    text(value).unwrap_or_default()
}

/// The enum named by stored `text`, if it is one of its names.
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
}

fn to_sql<T: Serialize>(value: &T) -> rusqlite::Result<ToSqlOutput<'static>> {
    text(value)
        .map(ToSqlOutput::from)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn from_sql<T: DeserializeOwned>(value: ValueRef<'_>, what: &str) -> FromSqlResult<T> {
    let s = value.as_str()?;
    parse(s).ok_or_else(|| FromSqlError::Other(format!("{s:?} is not a {what}").into()))
}

macro_rules! stored_as_name {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                to_sql(self)
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                from_sql(value, $what)
            }
        }
    )*};
}

stored_as_name! {
    IdentityMethod => "identity method",
    VerdictKind => "verdict",
    ClaimStep => "claim step",
    CheckKind => "check kind",
    CheckStatus => "status",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_is_stored_as_its_name_and_read_back() {
        let conn = rusqlite::Connection::open_in_memory().expect("memory");
        let row = |sql: &str| -> String { conn.query_row(sql, [], |r| r.get(0)).expect("row") };
        let stored: (String, String, String, String, String) = conn
            .query_row(
                "SELECT ?1, ?2, ?3, ?4, ?5",
                rusqlite::params![
                    IdentityMethod::Visual,
                    VerdictKind::NoRecord,
                    ClaimStep::CurrentNumbers,
                    CheckKind::ClaimPath,
                    CheckStatus::Queued
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .expect("stored");
        assert_eq!(
            stored,
            (
                "visual".into(),
                "no_record".into(),
                "current_numbers".into(),
                "claim_path".into(),
                "queued".into()
            )
        );
        let back: VerdictKind = conn
            .query_row("SELECT 'answer_mismatch'", [], |r| r.get(0))
            .expect("read");
        assert_eq!(back, VerdictKind::AnswerMismatch);
        assert_eq!(row("SELECT 'x'"), "x");
        let refused = conn.query_row("SELECT 'pinn'", [], |r| r.get::<_, IdentityMethod>(0));
        assert!(refused.is_err(), "{refused:?}");
    }
}
