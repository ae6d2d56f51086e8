//! Forwarding the desk's committed rows to the shared journal (see the design in [`super`]).
//!
//! Runs on the journal's writer thread, which owns the only local write connection: after each
//! committed job ([`Forwarder::after_write`]), and on a timer while rows wait
//! ([`Forwarder::tick`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postgres::types::ToSql;
use postgres::Client;
use rusqlite::Connection;
use time::OffsetDateTime;

use super::SharedStatus;
use crate::config::SharedJournalConfig;
use crate::journal::JournalError;

/// The SQLite type of a forwarded column, to bind it with the right PostgreSQL type.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Blob,
}

/// Who decides a column once the facility took the record over (`facility_owned_at`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// The facility's value stays (status, numbers, settlement, the certificate).
    Facility,
    /// Only the desk knows it: its latest value always wins.
    Desk,
}

/// Every column of `checks` that is forwarded, the one list of them (the SELECT on the desk
/// and the upsert in the shared journal are made from it).
const COLUMNS: &[(&str, Kind, Owner)] = &[
    ("recorded_at", Kind::Text, Owner::Facility),
    ("check_date", Kind::Text, Owner::Facility),
    ("kind", Kind::Text, Owner::Facility),
    ("identity", Kind::Text, Owner::Facility),
    ("verdict", Kind::Text, Owner::Facility),
    ("validity", Kind::Int, Owner::Facility),
    ("insurer_number", Kind::Text, Owner::Facility),
    ("symbol", Kind::Text, Owner::Facility),
    ("number", Kind::Text, Owner::Facility),
    ("branch", Kind::Text, Owner::Facility),
    ("name", Kind::Text, Owner::Facility),
    ("name_kana", Kind::Text, Owner::Facility),
    ("birthdate", Kind::Text, Owner::Facility),
    ("claim_step", Kind::Text, Owner::Facility),
    ("receipt_json", Kind::Text, Owner::Facility),
    ("printouts_json", Kind::Text, Owner::Desk),
    ("status", Kind::Text, Owner::Facility),
    ("receipt_insurer", Kind::Text, Owner::Facility),
    ("certificate_serial", Kind::Text, Owner::Facility),
    ("certificate_der", Kind::Blob, Owner::Facility),
    ("attempts", Kind::Int, Owner::Facility),
    ("next_attempt_at", Kind::Text, Owner::Facility),
    ("last_attempt_detail", Kind::Text, Owner::Facility),
    ("reconfirmed_at", Kind::Text, Owner::Facility),
    ("reconfirmed_verdict", Kind::Text, Owner::Facility),
    ("reconfirmed_validity", Kind::Int, Owner::Facility),
    ("conflict_detail", Kind::Text, Owner::Facility),
    ("phone", Kind::Text, Owner::Desk),
    ("interop_file", Kind::Text, Owner::Desk),
    ("public_expenses", Kind::Text, Owner::Desk),
];

/// Where `recorded_at` is in [`COLUMNS`].
const RECORDED_AT: usize = 0;

/// Rows forwarded per shared transaction.
const BATCH: usize = 200;

/// The first pause after a failed forward; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A send slower than this is logged: the desk waits for it before it says "done", so a
/// database that is reachable but struggling shows in the logs before the clerks complain.
const SLOW_SEND: Duration = Duration::from_secs(1);

/// The upsert of one row: applied only over an older revision; once the facility owns the
/// record, only the desk's own columns change.
fn upsert_sql() -> String {
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    let placeholders: Vec<String> = (1..=names.len() + 3).map(|i| format!("${i}")).collect();
    let sets: Vec<String> = COLUMNS
        .iter()
        .map(|(name, _, owner)| match owner {
            Owner::Desk => format!("{name} = EXCLUDED.{name}"),
            Owner::Facility => format!(
                "{name} = CASE WHEN checks.facility_owned_at IS NULL THEN EXCLUDED.{name} \
                 ELSE checks.{name} END"
            ),
        })
        .collect();
    format!(
        "INSERT INTO checks (desk, desk_check_id, revision, {}) VALUES ({})
         ON CONFLICT (desk, desk_check_id) DO UPDATE SET revision = EXCLUDED.revision,
             forwarded_at = now(), {}
         WHERE checks.revision < EXCLUDED.revision",
        names.join(", "),
        placeholders.join(", "),
        sets.join(", ")
    )
}

/// One local row waiting to be forwarded.
struct Row {
    id: i64,
    revision: i64,
    /// When the desk recorded it: tells a resend of this check from another check under the
    /// same desk id and number.
    recorded_at: String,
    values: Vec<Box<dyn ToSql + Sync + Send>>,
}

/// The next rows to forward, in the desk's id order.
fn unforwarded(local: &Connection, limit: usize) -> Result<Vec<Row>, JournalError> {
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    let mut stmt = local.prepare_cached(&format!(
        "SELECT id, revision, {} FROM checks WHERE forwarded_revision < revision
         ORDER BY id LIMIT ?1",
        names.join(", ")
    ))?;
    let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
        let mut values: Vec<Box<dyn ToSql + Sync + Send>> = Vec::with_capacity(COLUMNS.len());
        for (i, (_, kind, _)) in COLUMNS.iter().enumerate() {
            let at = i + 2;
            values.push(match kind {
                Kind::Text => Box::new(r.get::<_, Option<String>>(at)?),
                Kind::Int => Box::new(r.get::<_, Option<i64>>(at)?),
                Kind::Blob => Box::new(r.get::<_, Option<Vec<u8>>>(at)?),
            });
        }
        Ok(Row {
            id: r.get(0)?,
            revision: r.get(1)?,
            recorded_at: r.get(2 + RECORDED_AT)?,
            values,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// How many local rows are not in the shared journal yet.
pub fn count_unforwarded(local: &Connection) -> Result<u64, JournalError> {
    let n: i64 = local
        .prepare_cached("SELECT count(*) FROM checks WHERE forwarded_revision < revision")?
        .query_row([], |r| r.get(0))?;
    Ok(n.unsigned_abs())
}

/// A connection to the shared journal with the upsert prepared on it (parsed once per
/// connection, not once per forward).
struct Connected {
    client: Client,
    upsert: postgres::Statement,
}

/// The upsert's parameters for `row` of `desk`.
fn params_of<'a>(desk: &'a &str, row: &'a Row) -> Vec<&'a (dyn ToSql + Sync)> {
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(row.values.len() + 3);
    params.push(desk);
    params.push(&row.id);
    params.push(&row.revision);
    for v in &row.values {
        params.push(v.as_ref() as &(dyn ToSql + Sync));
    }
    params
}

/// Sends `rows` atomically: a single row as one statement (one round trip, committed on its
/// own), several in one transaction.
fn send(to: &mut Connected, desk: &str, rows: &[Row]) -> Result<(), JournalError> {
    if let [row] = rows {
        if to.client.execute(&to.upsert, &params_of(&desk, row))? == 0 {
            same_check(&mut to.client, desk, row)?;
        }
        return Ok(());
    }
    let mut tx = to.client.transaction()?;
    for row in rows {
        if tx.execute(&to.upsert, &params_of(&desk, row))? == 0 {
            // The transaction is rolled back on a clash: nothing after it goes either, so the
            // desk's order is kept.
            same_check(&mut tx, desk, row)?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// The upsert changed nothing: fine when the shared journal has this very check at the same or
/// a newer revision (a resend); a clash when it holds another check under the same desk id and
/// number (recorded at another moment), which the upsert must never overwrite nor hide.
fn same_check(
    client: &mut impl postgres::GenericClient,
    desk: &str,
    row: &Row,
) -> Result<(), JournalError> {
    let stored: Option<String> = client
        .query_opt(
            "SELECT recorded_at FROM checks WHERE desk = $1 AND desk_check_id = $2",
            &[&desk, &row.id],
        )?
        .map(|r| r.get(0));
    match stored {
        Some(at) if at != row.recorded_at => Err(JournalError::SharedIdClash {
            desk: desk.to_owned(),
            id: row.id,
        }),
        _ => Ok(()),
    }
}

/// Marks `rows` forwarded in the desk's file. Without an fsync of its own (`synchronous =
/// NORMAL` for this one transaction): a mark lost in a power cut only sends the row again,
/// which the shared journal ignores, and the desk's next write makes it durable anyway.
fn mark(local: &Connection, rows: &[Row]) -> Result<(), JournalError> {
    // Cached statements, not `pragma_update`: this runs after every check.
    local
        .prepare_cached("PRAGMA synchronous = NORMAL")?
        .execute([])?;
    let result = (|| -> Result<(), JournalError> {
        let tx = local.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE checks SET forwarded_revision = ?2 WHERE id = ?1 AND revision >= ?2",
            )?;
            for row in rows {
                stmt.execute([row.id, row.revision])?;
            }
        }
        tx.commit()?;
        Ok(())
    })();
    local
        .prepare_cached("PRAGMA synchronous = FULL")?
        .execute([])?;
    result
}

/// Forwards the desk's rows from its writer thread; keeps [`SharedStatus`] current.
pub struct Forwarder {
    config: SharedJournalConfig,
    client: Option<Connected>,
    status: Arc<Mutex<SharedStatus>>,
    /// While offline: not before this instant.
    retry_at: Option<Instant>,
    backoff: Duration,
}

impl Forwarder {
    pub fn new(config: SharedJournalConfig, status: Arc<Mutex<SharedStatus>>) -> Forwarder {
        Forwarder {
            config,
            client: None,
            status,
            retry_at: None,
            backoff: FIRST_BACKOFF,
        }
    }

    /// After a local commit: forwards now, unless the database was just found unreachable
    /// and its pause is not over (then the write is not held up by a connect timeout).
    pub fn after_write(&mut self, local: &Connection) {
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            self.set_unforwarded(local);
            return;
        }
        self.forward_batch(local);
    }

    /// The writer's timer: one batch when due. Returns how long the writer may sleep before
    /// the next call (`None`: nothing waits).
    pub fn tick(&mut self, local: &Connection) -> Option<Duration> {
        if self.retry_at.is_none_or(|t| Instant::now() >= t) {
            self.forward_batch(local);
        }
        self.next_wake()
    }

    /// When the writer should call [`Forwarder::tick`] next (`None`: only after a write).
    pub fn next_wake(&self) -> Option<Duration> {
        let waiting = self
            .status
            .lock()
            .map(|s| s.unforwarded > 0)
            .unwrap_or(true);
        match self.retry_at {
            Some(t) => Some(t.saturating_duration_since(Instant::now())),
            None if waiting => Some(Duration::ZERO),
            None => None,
        }
    }

    /// Forwards everything now (the copy command, tests): batch after batch until none waits
    /// or one fails. The desk's status follows (online again at once after a success).
    pub fn forward_all(&mut self, local: &Connection) -> Result<u64, JournalError> {
        let mut sent = 0;
        let result = loop {
            match self.try_batch(local) {
                Ok(0) => break Ok(sent),
                Ok(n) => sent += n as u64,
                Err(e) => break Err(e),
            }
        };
        match &result {
            Ok(_) => self.reached(),
            Err(e) => self.unreachable(e),
        }
        self.set_unforwarded(local);
        result
    }

    fn forward_batch(&mut self, local: &Connection) {
        match self.try_batch(local) {
            Ok(_) => self.reached(),
            Err(e) => self.unreachable(&e),
        }
        self.set_unforwarded(local);
    }

    /// A forward worked: online, the next failure starts from the first pause again.
    fn reached(&mut self) {
        self.retry_at = None;
        self.backoff = FIRST_BACKOFF;
        let was_offline = self.status.lock().map(|s| !s.online).unwrap_or(false);
        if let Ok(mut s) = self.status.lock() {
            s.online = true;
            s.offline_since = None;
            s.detail = None;
            s.id_clash = false;
        }
        if was_offline {
            tracing::info!(database = %self.config.redacted(), "shared journal reachable");
        }
    }

    /// A forward failed: offline, retried after a growing pause.
    fn unreachable(&mut self, e: &JournalError) {
        self.client = None;
        self.retry_at = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        let detail = e.to_string();
        let clash = matches!(e, JournalError::SharedIdClash { .. });
        let first = if let Ok(mut s) = self.status.lock() {
            let first = s.online || s.offline_since.is_none() || clash != s.id_clash;
            s.id_clash = clash;
            s.online = false;
            s.offline_since.get_or_insert_with(OffsetDateTime::now_utc);
            s.detail = Some(detail.clone());
            first
        } else {
            true
        };
        if first {
            if clash {
                tracing::error!(error = %detail, "shared journal: this desk's id is another desk file's; recording on this desk only until desk_id is changed");
            } else {
                tracing::warn!(error = %detail, "shared journal unreachable: recording on this desk, forwarding later");
            }
        }
    }

    fn set_unforwarded(&self, local: &Connection) {
        if let Ok(n) = count_unforwarded(local) {
            if let Ok(mut s) = self.status.lock() {
                s.unforwarded = n;
            }
        }
    }

    /// One batch: connects (and migrates) if needed, sends, marks. Returns how many rows.
    fn try_batch(&mut self, local: &Connection) -> Result<usize, JournalError> {
        let rows = unforwarded(local, BATCH)?;
        if rows.is_empty() && self.client.is_some() {
            return Ok(0);
        }
        let client = match &mut self.client {
            Some(c) => c,
            None => {
                let mut client = super::connect(&self.config)?;
                super::schema::migrate(&mut client)?;
                let upsert = client.prepare(&upsert_sql())?;
                self.client.insert(Connected { client, upsert })
            }
        };
        if rows.is_empty() {
            return Ok(0);
        }
        let began = Instant::now();
        send(client, &self.config.desk_id, &rows)?;
        let took = began.elapsed();
        if let Ok(mut s) = self.status.lock() {
            s.last_send = Some(took);
        }
        if took > SLOW_SEND {
            tracing::warn!(
                database = %self.config.redacted(),
                rows = rows.len(),
                ms = took.as_millis(),
                "shared journal slow to commit"
            );
        }
        mark(local, &rows)?;
        Ok(rows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{CheckKind, Journal, NewCheck};
    use time::macros::date;

    fn revisions(conn: &Connection) -> Vec<(i64, i64, i64)> {
        let mut stmt = conn
            .prepare("SELECT id, revision, forwarded_revision FROM checks ORDER BY id")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    #[test]
    fn every_change_raises_the_revision_and_the_forwarded_mark_does_not() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("j.sqlite3");
        let journal = Journal::open(&path).expect("journal");
        let a = journal
            .record(NewCheck::empty(CheckKind::Card, date!(2026 - 12 - 03)))
            .expect("a");
        journal
            .record(NewCheck::empty(CheckKind::Numbers, date!(2026 - 12 - 03)))
            .expect("b");
        journal.set_interop_file(a, "x.xml").expect("file");
        journal.abandon(a).expect("abandon");
        drop(journal);
        let conn = Connection::open(&path).expect("open");
        assert_eq!(revisions(&conn), vec![(1, 3, 0), (2, 1, 0)]);
        assert_eq!(count_unforwarded(&conn).expect("count"), 2);
        let rows = unforwarded(&conn, 10).expect("rows");
        assert_eq!(
            rows.iter().map(|r| (r.id, r.revision)).collect::<Vec<_>>(),
            vec![(1, 3), (2, 1)],
            "in the desk's order"
        );
        assert_eq!(rows[0].values.len(), COLUMNS.len());
        mark(&conn, &rows[..1]).expect("mark");
        assert_eq!(revisions(&conn), vec![(1, 3, 3), (2, 1, 0)]);
        assert_eq!(count_unforwarded(&conn).expect("count"), 1);
        // A later change makes the row due again, at its next revision.
        conn.execute("UPDATE checks SET phone = '03' WHERE id = 1", [])
            .expect("update");
        assert_eq!(revisions(&conn)[0], (1, 4, 3));
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(sync, 2, "FULL again after the mark");
    }

    #[test]
    fn a_version_5_journal_migrates_with_every_record_waiting_to_be_forwarded() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("v5.sqlite3");
        {
            let mut conn = Connection::open(&path).expect("open");
            crate::journal::schema::migrate_to(&mut conn, 5).expect("v5");
            conn.execute(
                "INSERT INTO checks (recorded_at, check_date, kind, status)
                 VALUES ('2026-11-20T01:00:00Z', '2026-11-20', 'card', 'done')",
                [],
            )
            .expect("old row");
        }
        drop(Journal::open(&path).expect("migrate"));
        let conn = Connection::open(&path).expect("open");
        assert_eq!(revisions(&conn), vec![(1, 1, 0)]);
        assert_eq!(count_unforwarded(&conn).expect("count"), 1);
    }

    #[test]
    fn recorded_at_is_where_the_clash_check_reads_it() {
        assert_eq!(COLUMNS.get(RECORDED_AT).map(|c| c.0), Some("recorded_at"));
    }

    #[test]
    fn the_upsert_applies_only_newer_revisions_and_keeps_the_facilitys_columns() {
        let sql = upsert_sql();
        assert!(sql.contains("WHERE checks.revision < EXCLUDED.revision"));
        assert!(sql.contains(
            "status = CASE WHEN checks.facility_owned_at IS NULL THEN EXCLUDED.status ELSE checks.status END"
        ));
        assert!(sql.contains("printouts_json = EXCLUDED.printouts_json"));
        assert!(sql.contains(&format!("${}", COLUMNS.len() + 3)));
        assert!(!sql.contains(&format!("${}", COLUMNS.len() + 4)));
    }

    #[test]
    fn offline_and_sending_are_told_to_the_desk_and_all_sent_is_not() {
        assert_eq!(
            SharedStatus::default().desk_message(),
            None,
            "nothing said before the first try"
        );
        let mut s = SharedStatus {
            online: true,
            ..SharedStatus::default()
        };
        assert_eq!(s.desk_message(), None);
        s.unforwarded = 3;
        assert!(s
            .desk_message()
            .is_some_and(|m| m.contains("送信中") && m.contains("3 件")));
        s.online = false;
        s.offline_since = Some(OffsetDateTime::now_utc());
        assert!(s
            .desk_message()
            .is_some_and(|m| m.contains("接続できません") && m.contains("この端末に記録")));
    }
}
