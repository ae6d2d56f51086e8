//! The journal's schema and its migrations, versioned by `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes a file from version `i` to `i + 1`; each runs in its own
//! transaction together with the new `user_version`, so a crash mid-migration leaves the
//! previous version intact. A file of a newer version than [`VERSION`] is refused, never
//! downgraded.
//!
//! Version 1: one row per check (`checks`).
//! Version 2: the outage queue and 事後確認 (certificate held for re-confirmation, attempts
//! and backoff, the re-confirmed verdict, conflicts), the receipt's 保険者番号 as a column
//! for the month-end report, and the indexes the history search needs.
//! Version 3: `phone`, the phone number declared on a self-declaration (③), so staff can
//! reach the patient and match the signed paper; older records have none. The status name
//! `abandoned` (left unfinished at the desk), which an older desk would refuse per row.
//! Version 4: `interop_file`, the name of the result file written for the receipt computer
//! (`face` or `res` folder, `docs/receipt-computer.md`); empty while none is written.
//! Version 5: `public_expenses`, the 公費・医療費助成 entitlements known for the check (JSON
//! array, online and paper, each with its source; `public_expenses.rs`); `[]` for older
//! records.
//! Version 6: `revision` (raised by the trigger `checks_revision` on every change of a row) and
//! `forwarded_revision` (the last revision the facility's shared journal has), so a desk with
//! `[journal] url` forwards each change exactly once (`shared/forward.rs`); every older record
//! starts unforwarded, so a desk's history reaches the shared journal when it is first set.
//!
//! The current schema of `checks` (dates are text: `check_date` `YYYY-MM-DD` (JST),
//! timestamps RFC 3339 UTC, so they sort and compare as text):
//!
//! | column | meaning |
//! |---|---|
//! | `id` | [`super::CheckId`] |
//! | `recorded_at`, `check_date` | when (UTC), for which visit date (JST) |
//! | `kind` | `card`, `numbers`, `claim_path` |
//! | `identity` | `pin`, `face`, `visual` (card checks) |
//! | `verdict`, `validity` | the verdict kind at the desk, QualificationValidity |
//! | `insurer_number`, `symbol`, `number`, `branch` | numbers used or found; for `several` (複数該当), the candidate staff chose (empty until chosen) |
//! | `name`, `name_kana`, `birthdate` | from the answer (or the search; for `several`, the chosen candidate; for ③, the declared ones when the answer gave none) |
//! | `phone` | declared on the self-declaration (③) |
//! | `interop_file` | result file written for the receipt computer (`face`/`res`), if any |
//! | `public_expenses` | 公費 entitlements (JSON array: payer, recipient, dates, income category, cap, name, source) |
//! | `claim_step`, `receipt_json`, `receipt_insurer` | claim path step and receipt header |
//! | `printouts_json` | PDF paths (JSON array) |
//! | `status` | `done`, `queued`, `reconfirmed`, `conflict`, `abandoned` |
//! | `certificate_serial`, `certificate_der` | only while queued (retention rule) |
//! | `attempts`, `next_attempt_at`, `last_attempt_detail` | re-confirmation backoff |
//! | `reconfirmed_at`, `reconfirmed_verdict`, `reconfirmed_validity`, `conflict_detail` | 事後確認 outcome |
//! | `revision`, `forwarded_revision` | the row's revision and the last one forwarded to the shared journal |
//!
//! `kind`, `identity`, `verdict`, `reconfirmed_verdict`, `claim_step` and `status` hold only
//! the serde names of their enums (`columns.rs`); a row with any other text is refused when
//! read. A version that adds a name therefore adds a migration too, so an older desk refuses
//! the newer file as a whole ([`JournalError::TooNew`]) instead of failing on single rows.

use rusqlite::Connection;

use super::JournalError;

/// The schema version this program writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// `MIGRATIONS[i]`: version `i` → `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 0 → 1
    "CREATE TABLE checks (
        id INTEGER PRIMARY KEY,
        recorded_at TEXT NOT NULL,
        check_date TEXT NOT NULL,
        kind TEXT NOT NULL,
        identity TEXT,
        verdict TEXT,
        validity INTEGER,
        insurer_number TEXT,
        symbol TEXT,
        number TEXT,
        branch TEXT,
        name TEXT,
        name_kana TEXT,
        birthdate TEXT,
        claim_step TEXT,
        receipt_json TEXT,
        printouts_json TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL
    );",
    // 1 → 2
    "ALTER TABLE checks ADD COLUMN receipt_insurer TEXT;
     ALTER TABLE checks ADD COLUMN certificate_serial TEXT;
     ALTER TABLE checks ADD COLUMN certificate_der BLOB;
     ALTER TABLE checks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE checks ADD COLUMN next_attempt_at TEXT;
     ALTER TABLE checks ADD COLUMN last_attempt_detail TEXT;
     ALTER TABLE checks ADD COLUMN reconfirmed_at TEXT;
     ALTER TABLE checks ADD COLUMN reconfirmed_verdict TEXT;
     ALTER TABLE checks ADD COLUMN reconfirmed_validity INTEGER;
     ALTER TABLE checks ADD COLUMN conflict_detail TEXT;
     UPDATE checks SET receipt_insurer = json_extract(receipt_json, '$.insurer_number')
         WHERE receipt_json IS NOT NULL AND json_valid(receipt_json);
     UPDATE checks SET status = 'queued'
         WHERE status = 'done' AND (verdict IN ('unreachable', 'timeout', 'server_error')
             OR receipt_insurer IN ('77777777', '77777779'));
     CREATE INDEX checks_date ON checks(check_date);
     CREATE INDEX checks_name ON checks(name);
     CREATE INDEX checks_kana ON checks(name_kana);
     CREATE INDEX checks_number ON checks(number);
     CREATE INDEX checks_insurer ON checks(insurer_number);
     CREATE INDEX checks_symbol ON checks(symbol);
     CREATE INDEX checks_open ON checks(status, next_attempt_at)
         WHERE status IN ('queued', 'conflict');",
    // 2 → 3
    "ALTER TABLE checks ADD COLUMN phone TEXT;",
    // 3 → 4
    "ALTER TABLE checks ADD COLUMN interop_file TEXT;",
    // 4 → 5
    "ALTER TABLE checks ADD COLUMN public_expenses TEXT NOT NULL DEFAULT '[]';",
    // 5 → 6
    "ALTER TABLE checks ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
     ALTER TABLE checks ADD COLUMN forwarded_revision INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX checks_unforwarded ON checks(id) WHERE forwarded_revision < revision;
     CREATE TRIGGER checks_revision AFTER UPDATE ON checks
         WHEN NEW.revision = OLD.revision AND NEW.forwarded_revision = OLD.forwarded_revision
     BEGIN
         UPDATE checks SET revision = OLD.revision + 1 WHERE id = NEW.id;
     END;",
];

/// The schema version of an open connection.
pub fn version(conn: &Connection) -> Result<i64, JournalError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Migrates `conn` from its version up to `target` (normally [`VERSION`]).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), JournalError> {
    let found = version(conn)?;
    if found > VERSION {
        return Err(JournalError::TooNew {
            found,
            supported: VERSION,
        });
    }
    for v in found..target.min(VERSION) {
        let tx = conn.transaction()?;
        let sql = MIGRATIONS
            .get(usize::try_from(v).unwrap_or(usize::MAX))
            .ok_or_else(|| JournalError::Other(format!("no migration from version {v}")))?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", v + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Migrates `conn` to the current version.
pub fn migrate(conn: &mut Connection) -> Result<(), JournalError> {
    migrate_to(conn, VERSION)
}
