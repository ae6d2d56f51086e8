//! The shared journal's schema on PostgreSQL and its migrations, versioned in
//! `onshi_schema`.
//!
//! The table `checks` holds the same columns, with the same text forms, as the desk's SQLite
//! file (`super::super::schema`): dates and timestamps as text that sorts, enum columns as
//! their serde names, JSON as text. One reading of a row therefore serves both stores, and the
//! history search's SQL is the same on both. Text columns compared by range (dates, names, the
//! next attempt) use the `"C"` collation: byte order, as SQLite compares, so a name prefix
//! search means the same on both and stays on its index whatever the database's locale.
//!
//! Added for the facility:
//!
//! | column | meaning |
//! |---|---|
//! | `id` | the facility's number of the record (受付記録番号 in the shared history) |
//! | `desk`, `desk_check_id` | which desk made the check and its number there; unique together: a record forwarded twice is one row |
//! | `revision` | the desk's revision of the row last applied; an older one is never applied over a newer |
//! | `forwarded_at` | when the desk's row last reached the shared journal |
//! | `facility_owned_at` | set when the facility took the record over (事後確認, staff closing or attaching numbers in the shared journal); from then on the desk's later changes bring only printouts, the receipt-computer file and 公費 (see `forward.rs`) |
//!
//! Version 1: the table above and the search indexes (also one on the birth date, which a
//! desk's file lacks). Version 2: `checks_recorded` on (`recorded_at`, `id`), the history's
//! order.
//!
//! `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`, each in one transaction with
//! the new version, under an advisory lock so two desks starting together never migrate
//! twice. A database of a newer version than [`VERSION`] is refused.

use postgres::Client;

use crate::journal::JournalError;

/// The schema version this program writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock key taken while migrating (any fixed number; `oqs-mig` in ASCII).
const MIGRATION_LOCK: i64 = 0x006f_7173_2d6d_6967;

/// `MIGRATIONS[i]`: version `i` → `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 0 → 1
    r#"CREATE TABLE checks (
        id BIGSERIAL PRIMARY KEY,
        desk TEXT NOT NULL,
        desk_check_id BIGINT NOT NULL,
        revision BIGINT NOT NULL,
        forwarded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        facility_owned_at TEXT,
        recorded_at TEXT COLLATE "C" NOT NULL,
        check_date TEXT COLLATE "C" NOT NULL,
        kind TEXT NOT NULL,
        identity TEXT,
        verdict TEXT,
        validity BIGINT,
        insurer_number TEXT COLLATE "C",
        symbol TEXT COLLATE "C",
        number TEXT COLLATE "C",
        branch TEXT,
        name TEXT COLLATE "C",
        name_kana TEXT COLLATE "C",
        birthdate TEXT COLLATE "C",
        claim_step TEXT,
        receipt_json TEXT,
        printouts_json TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL,
        receipt_insurer TEXT,
        certificate_serial TEXT,
        certificate_der BYTEA,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_attempt_at TEXT COLLATE "C",
        last_attempt_detail TEXT,
        reconfirmed_at TEXT,
        reconfirmed_verdict TEXT,
        reconfirmed_validity BIGINT,
        conflict_detail TEXT,
        phone TEXT,
        interop_file TEXT,
        public_expenses TEXT NOT NULL DEFAULT '[]',
        UNIQUE (desk, desk_check_id)
    );
    CREATE INDEX checks_date ON checks(check_date);
    CREATE INDEX checks_name ON checks(name);
    CREATE INDEX checks_kana ON checks(name_kana);
    CREATE INDEX checks_number ON checks(number);
    CREATE INDEX checks_insurer ON checks(insurer_number);
    CREATE INDEX checks_symbol ON checks(symbol);
    CREATE INDEX checks_birthdate ON checks(birthdate);
    CREATE INDEX checks_open ON checks(status, next_attempt_at)
        WHERE status IN ('queued', 'conflict');"#,
    // 1 → 2: the history lists the newest first by when the check was made (records forwarded
    // after an outage arrive with later ids): without this index a search over millions of
    // records sorted them all before taking the 100 shown.
    "CREATE INDEX checks_recorded ON checks(recorded_at, id);",
];

/// The schema version of the shared journal (0 for an empty database).
pub fn version(client: &mut Client) -> Result<i64, JournalError> {
    client.batch_execute("CREATE TABLE IF NOT EXISTS onshi_schema (version BIGINT NOT NULL)")?;
    let row = client.query_opt("SELECT max(version) FROM onshi_schema", &[])?;
    Ok(row.and_then(|r| r.get::<_, Option<i64>>(0)).unwrap_or(0))
}

/// Migrates the shared journal to [`VERSION`]; refuses a newer one.
pub fn migrate(client: &mut Client) -> Result<(), JournalError> {
    let mut tx = client.transaction()?;
    // A migration may build an index over millions of records: the connection's statement
    // timeout (seconds, for the desk's writes) does not apply to it. It runs once per version,
    // on the first desk that meets it; the others wait for the lock, then find nothing to do.
    tx.batch_execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0")?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS onshi_schema (version BIGINT NOT NULL)")?;
    let found: i64 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM onshi_schema", &[])?
        .get(0);
    if found > VERSION {
        return Err(JournalError::TooNew {
            found,
            supported: VERSION,
        });
    }
    for v in found..VERSION {
        let sql = MIGRATIONS
            .get(usize::try_from(v).unwrap_or(usize::MAX))
            .ok_or_else(|| JournalError::Other(format!("no shared migration from version {v}")))?;
        tx.batch_execute(sql)?;
        tx.execute("DELETE FROM onshi_schema", &[])?;
        tx.execute(
            "INSERT INTO onshi_schema (version) VALUES ($1)",
            &[&(v + 1)],
        )?;
    }
    tx.commit()?;
    Ok(())
}
