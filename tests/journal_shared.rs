//! The facility's shared journal on PostgreSQL (issue 17), one desk at a time: a record is in
//! the shared journal when `record` returns; updates reach it with a higher revision; a wrong
//! password or CA leaves the desk recording locally and saying so; a server stopped mid-burst
//! never holds a write up and every row arrives once, in the desk's order; a row sent twice is
//! one row and an older revision never wins; a record the facility took over keeps its status.
//!
//! Needs the test PostgreSQL of `bash scripts/test` (`ONSHI_TEST_PG_*`, see
//! `tests/common/postgres.rs`); the test that stops the server starts a cluster of its own.
#![cfg(feature = "shared-journal")]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::postgres::{PrivateCluster, TestDatabase};
use onshi_desk::config::{SharedJournalConfig, SharedPassword};
use onshi_desk::domain::claim::plan::ClaimStep;
use onshi_desk::domain::claim::receipt::ReceiptHeader;
use onshi_desk::domain::public_expense::PublicExpenseSource;
use onshi_desk::domain::{InsuranceNumbers, InsurerNumber, VerdictKind};
use onshi_desk::journal::{
    CheckId, CheckKind, CheckNumbers, Journal, JournalError, JournalOptions, NewCheck,
};
use time::macros::date;

/// Longest any single write may take while the database misbehaves: a guard against a hang
/// (the connect and statement timeouts are 3 and 5 s), not a performance figure.
const NO_HANG: Duration = Duration::from_secs(10);

fn check(i: usize) -> NewCheck {
    let mut c = NewCheck::empty(CheckKind::Numbers, date!(2026 - 11 - 21));
    c.verdict = Some(VerdictKind::Valid);
    c.validity = Some(1);
    c.numbers = Some(CheckNumbers {
        insurer_number: "01130012".into(),
        symbol: Some("5012345".into()),
        number: format!("{}", 1000 + i),
        branch: Some("00".into()),
    });
    c.name = Some("山田 花子".into());
    c.name_kana = Some("ﾔﾏﾀﾞ ﾊﾅｺ".into());
    c.birthdate = Some(date!(1980 - 04 - 01));
    c
}

fn open(path: &Path, shared: SharedJournalConfig) -> Journal {
    Journal::open_with(
        path,
        JournalOptions {
            shared: Some(shared),
            ..JournalOptions::default()
        },
    )
    .expect("open journal")
}

/// A column of the desk's own SQLite row, as text (NULL as `None`).
fn local(path: &Path, id: CheckId, column: &str) -> Option<String> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open local journal");
    conn.query_row(
        &format!("SELECT CAST({column} AS TEXT) FROM checks WHERE id = ?1"),
        [id.0],
        |r| r.get(0),
    )
    .expect("local row")
}

/// The same column of the shared journal's row of (`desk`, `id`), as text.
fn shared(db: &TestDatabase, desk: &str, id: CheckId, column: &str) -> Option<String> {
    db.client()
        .query_one(
            &format!(
                "SELECT CAST({column} AS TEXT) FROM checks WHERE desk = $1 AND desk_check_id = $2"
            ),
            &[&desk, &id.0],
        )
        .unwrap_or_else(|e| panic!("shared row {desk}/{}: {e}", id.0))
        .get(0)
}

fn numbers() -> InsuranceNumbers {
    InsuranceNumbers {
        insurer_number: InsurerNumber::parse("06010391").expect("insurer"),
        symbol: Some("12".into()),
        number: "345".into(),
        branch: None,
    }
}

#[test]
fn a_record_is_in_the_shared_journal_when_record_returns_and_updates_follow() {
    let db = TestDatabase::create("record");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.sqlite3");
    let journal = open(&path, db.config("desk-a"));

    let id = journal.record(check(1)).expect("record");
    // No wait, no forward_now: the row is there once `record` returned.
    assert_eq!(db.rows_of("desk-a"), vec![(id.0, 1)]);
    for column in [
        "recorded_at",
        "check_date",
        "kind",
        "verdict",
        "number",
        "name",
        "status",
    ] {
        assert_eq!(
            shared(&db, "desk-a", id, column),
            local(&path, id, column),
            "{column}"
        );
    }
    let status = journal.shared_status().expect("a shared journal is set");
    assert!(status.online, "{status:?}");
    assert_eq!(status.unforwarded, 0);
    assert_eq!(status.desk_message(), None);
    assert!(
        status.last_send.is_some(),
        "the send's time is kept: {status:?}"
    );

    // Each update raises the revision and is in the shared journal when it returns.
    journal
        .set_interop_file(id, "R0001.xml")
        .expect("interop file");
    assert_eq!(db.rows_of("desk-a"), vec![(id.0, 2)]);
    assert_eq!(
        shared(&db, "desk-a", id, "interop_file").as_deref(),
        Some("R0001.xml")
    );
    journal
        .set_claim(
            id,
            ClaimStep::OldNumbers,
            &ReceiptHeader::with_numbers(ClaimStep::OldNumbers, &numbers()),
        )
        .expect("claim");
    assert_eq!(db.rows_of("desk-a"), vec![(id.0, 3)]);
    for column in [
        "claim_step",
        "receipt_json",
        "receipt_insurer",
        "status",
        "revision",
    ] {
        assert_eq!(
            shared(&db, "desk-a", id, column),
            local(&path, id, column),
            "{column}"
        );
    }
    assert_eq!(journal.forward_now().expect("forward"), 0, "nothing left");

    // A second desk's first record has the same local id: its own row, not desk A's.
    let path_b = dir.path().join("b.sqlite3");
    let desk_b = open(&path_b, db.config("desk-b"));
    let id_b = desk_b.record(check(2)).expect("record on desk B");
    assert_eq!(id_b, id);
    assert_eq!(db.rows_of("desk-b"), vec![(id_b.0, 1)]);
    assert_eq!(db.rows_of("desk-a"), vec![(id.0, 3)]);
    assert_eq!(
        shared(&db, "desk-b", id_b, "number").as_deref(),
        Some("1002")
    );
}

/// What a desk with an unusable `[journal]` sees: it records, says offline, never the password.
fn assert_records_offline(shared_config: SharedJournalConfig, secret: &str, db: &TestDatabase) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("j.sqlite3");
    let journal = open(&path, shared_config);
    let mut ids = Vec::new();
    for i in 0..3 {
        let t = Instant::now();
        ids.push(journal.record(check(i)).expect("recorded locally"));
        assert!(t.elapsed() < NO_HANG, "record took {:?}", t.elapsed());
    }
    let reader = journal.reader().expect("reader");
    for id in &ids {
        assert_eq!(reader.get(*id).expect("local record").id, *id);
    }
    let status = journal.shared_status().expect("a shared journal is set");
    assert!(!status.online, "{status:?}");
    assert!(status.offline_since.is_some(), "{status:?}");
    assert_eq!(status.unforwarded, 3);
    let detail = status.detail.clone().expect("a detail");
    println!("offline: {detail}");
    assert!(!detail.contains(secret), "the password in {detail:?}");
    let message = status.desk_message().expect("the desk says it");
    assert!(message.contains("未送信 3 件"), "{message}");
    assert!(!message.contains(secret));

    match journal.forward_now() {
        Err(JournalError::SharedUnavailable(d)) => {
            assert!(!d.contains(secret), "the password in {d:?}")
        }
        other => panic!("expected SharedUnavailable, got {other:?}"),
    }
    // Nothing reached the database.
    let mut client = db.client();
    let table: Option<String> = client
        .query_one("SELECT CAST(to_regclass('checks') AS TEXT)", &[])
        .expect("query")
        .get(0);
    if table.is_some() {
        let n: i64 = client
            .query_one("SELECT count(*) FROM checks", &[])
            .expect("count")
            .get(0);
        assert_eq!(n, 0);
    }
}

#[test]
fn a_wrong_password_leaves_the_desk_recording_locally_and_saying_offline() {
    let db = TestDatabase::create("wrong_password");
    let secret = "not-the-password-5e1f9c";
    let mut config = db.config("desk-pw");
    config.password = Some(SharedPassword::Inline(zeroize::Zeroizing::new(
        secret.to_owned(),
    )));
    assert_records_offline(config, secret, &db);
}

#[test]
fn a_wrong_ca_leaves_the_desk_recording_locally_and_saying_offline() {
    let db = TestDatabase::create("wrong_ca");
    let mut config = db.config("desk-ca");
    config.ca = db.cluster.wrong_ca.clone();
    // The real password is in use here: it must not show either.
    let secret = std::fs::read_to_string(&db.cluster.password_file).expect("password");
    assert_records_offline(config, secret.trim(), &db);
}

#[test]
fn a_server_stopped_mid_burst_never_holds_a_write_and_every_row_arrives_once_in_order() {
    let pg = PrivateCluster::start();
    let db = TestDatabase::create_on(&pg.cluster, "burst");
    let dir = tempfile::tempdir().expect("tmp");
    let journal = open(&dir.path().join("j.sqlite3"), db.config("desk-burst"));

    let mut ids = Vec::new();
    let mut slowest = Duration::ZERO;
    for i in 0..80 {
        if i == 25 {
            pg.cluster.ctl("stop");
        }
        if i == 55 {
            let status = journal.shared_status().expect("status");
            assert!(
                !status.online,
                "offline while the server is down: {status:?}"
            );
            assert!(status.unforwarded >= 30, "{status:?}");
            assert!(status.desk_message().is_some());
            pg.cluster.ctl("start");
        }
        let t = Instant::now();
        ids.push(journal.record(check(i)).expect("recorded"));
        slowest = slowest.max(t.elapsed());
        assert!(t.elapsed() < NO_HANG, "record {i} took {:?}", t.elapsed());
    }
    println!("slowest write with the server going away: {slowest:?}");

    // No forward_now: the writer's own timer (the backoff) brings the rows once it is up.
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let status = journal.shared_status().expect("status");
        if status.online && status.unforwarded == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "never forwarded: {status:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(journal.forward_now().expect("forward"), 0);

    // Exactly once each, in the desk's order: the shared ids grow with the desk's ids.
    let expected: Vec<(i64, i64)> = ids.iter().map(|id| (id.0, 1)).collect();
    assert_eq!(db.rows_of("desk-burst"), expected);
    drop(journal);
}

/// Closes the journal (its writer checkpoints the WAL into the file) so the file can be copied
/// or edited.
fn close(journal: Journal) {
    drop(journal);
}

fn reset_forwarded(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("open local journal");
    conn.execute("UPDATE checks SET forwarded_revision = 0", [])
        .expect("reset");
}

/// (shared id, forwarded_at) of every row, to see that a resend changed nothing.
fn identities(db: &TestDatabase) -> Vec<(i64, String)> {
    db.client()
        .query(
            "SELECT id, CAST(forwarded_at AS TEXT) FROM checks ORDER BY id",
            &[],
        )
        .expect("rows")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn copy_journal(from: &Path, to: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let src = PathBuf::from(format!("{}{suffix}", from.display()));
        let dst = PathBuf::from(format!("{}{suffix}", to.display()));
        let _ = std::fs::remove_file(&dst);
        if src.exists() {
            std::fs::copy(&src, &dst).expect("copy journal");
        }
    }
}

#[test]
fn a_row_forwarded_twice_is_one_row_and_an_older_revision_never_wins() {
    let db = TestDatabase::create("twice");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("j.sqlite3");
    let backup = dir.path().join("backup.sqlite3");
    let desk = "desk-twice";

    let journal = open(&path, db.config(desk));
    let ids: Vec<CheckId> = (0..3)
        .map(|i| journal.record(check(i)).expect("record"))
        .collect();
    journal.set_interop_file(ids[1], "A.xml").expect("A");
    close(journal);
    // A copy of the desk's file as it is now (row 2 at revision 2, A.xml).
    copy_journal(&path, &backup);

    let journal = open(&path, db.config(desk));
    journal.set_interop_file(ids[1], "B.xml").expect("B");
    close(journal);
    let rows = vec![(ids[0].0, 1), (ids[1].0, 3), (ids[2].0, 1)];
    assert_eq!(db.rows_of(desk), rows);
    let before = identities(&db);

    // The desk forgets it forwarded anything (killed between the shared commit and its mark):
    // everything is sent again, and nothing changes.
    reset_forwarded(&path);
    let journal = open(&path, db.config(desk));
    journal.forward_now().expect("forward");
    assert_eq!(journal.shared_status().expect("status").unforwarded, 0);
    close(journal);
    assert_eq!(db.rows_of(desk), rows);
    assert_eq!(identities(&db), before, "a resend must not touch the rows");

    // The desk's file goes back to the older copy (revision 2, A.xml) and sends it: the
    // shared journal keeps revision 3 and B.xml.
    copy_journal(&backup, &path);
    reset_forwarded(&path);
    let journal = open(&path, db.config(desk));
    journal.forward_now().expect("forward");
    assert_eq!(db.rows_of(desk), rows);
    assert_eq!(
        shared(&db, desk, ids[1], "interop_file").as_deref(),
        Some("B.xml")
    );
    assert_eq!(identities(&db), before);
    close(journal);
}

#[test]
fn a_record_the_facility_owns_keeps_its_status_and_numbers_while_desk_columns_follow() {
    let db = TestDatabase::create("facility");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("j.sqlite3");
    let desk = "desk-owned";
    let journal = open(&path, db.config(desk));

    // A check made while the service was down: queued for 事後確認.
    let mut queued = check(7);
    queued.verdict = Some(VerdictKind::Timeout);
    let id = journal.record(queued).expect("record");
    assert_eq!(shared(&db, desk, id, "status").as_deref(), Some("queued"));

    // The facility settles it in the shared journal (another desk's 事後確認).
    db.client()
        .execute(
            "UPDATE checks SET facility_owned_at = '2026-11-22T09:00:00Z', status = 'reconfirmed',
                 number = '99999', reconfirmed_at = '2026-11-22T09:00:00Z',
                 reconfirmed_verdict = 'valid', reconfirmed_validity = 1
             WHERE desk = $1 AND desk_check_id = $2",
            &[&desk, &id.0],
        )
        .expect("facility takes the record over");

    // The desk, not knowing, goes on with the record: a failed attempt and a manual close
    // (facility columns), then a face file, a printout and a paper 受給者証 (desk columns).
    journal
        .note_attempt(
            id,
            time::OffsetDateTime::now_utc(),
            "still unreachable".into(),
        )
        .expect("attempt");
    journal
        .resolve(id, time::OffsetDateTime::now_utc())
        .expect("closed on the desk");
    journal
        .set_interop_file(id, "F0007.xml")
        .expect("face file");
    journal
        .add_printout(id, Path::new("/var/lib/onshi/printouts/7.pdf"))
        .expect("printout");
    journal
        .set_public_expenses(id, &[common::infant_expense(PublicExpenseSource::Paper)])
        .expect("paper 公費");
    assert_eq!(local(&path, id, "status").as_deref(), Some("done"));

    // The facility's decision stands.
    assert_eq!(
        shared(&db, desk, id, "status").as_deref(),
        Some("reconfirmed")
    );
    assert_eq!(shared(&db, desk, id, "number").as_deref(), Some("99999"));
    assert_eq!(shared(&db, desk, id, "attempts").as_deref(), Some("0"));
    assert_eq!(shared(&db, desk, id, "last_attempt_detail"), None);
    assert_eq!(
        shared(&db, desk, id, "reconfirmed_verdict").as_deref(),
        Some("valid")
    );
    assert!(shared(&db, desk, id, "facility_owned_at").is_some());
    // What only the desk knows follows it, at its latest revision.
    for column in [
        "interop_file",
        "printouts_json",
        "public_expenses",
        "revision",
    ] {
        assert_eq!(
            shared(&db, desk, id, column),
            local(&path, id, column),
            "{column}"
        );
    }
    assert!(shared(&db, desk, id, "public_expenses").is_some_and(|p| p.contains("88132014")));
    assert_eq!(db.rows_of(desk).len(), 1);
}

/// Regression: `forward_now` (the copy command) that reached the database left the desk's
/// indicator saying offline, with the old count, until the writer's next retry (up to 30 s).
#[test]
fn forward_now_that_reaches_the_database_puts_the_desk_back_online_at_once() {
    let db = TestDatabase::create("forward_now_status");
    let dir = tempfile::tempdir().expect("tmp");
    // The password file is read at each connect: wrong first, then put right.
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "wrong-password-0b7d").expect("write");
    let mut config = db.config("desk-fn");
    config.password = Some(SharedPassword::File(password_file.clone()));
    let journal = open(&dir.path().join("j.sqlite3"), config);
    for i in 0..3 {
        journal.record(check(i)).expect("recorded locally");
    }
    let status = journal.shared_status().expect("status");
    assert!(!status.online && status.unforwarded == 3, "{status:?}");

    std::fs::copy(&db.cluster.password_file, &password_file).expect("right password");
    assert_eq!(journal.forward_now().expect("forward"), 3);
    let status = journal.shared_status().expect("status");
    assert!(status.online, "{status:?}");
    assert_eq!(status.unforwarded, 0, "{status:?}");
    assert_eq!(status.offline_since, None);
    assert_eq!(status.desk_message(), None);
    // And the next write goes straight through, not held back by the old backoff.
    let id = journal.record(check(9)).expect("record");
    assert_eq!(db.rows_of("desk-fn").last(), Some(&(id.0, 1)));
}

#[test]
fn a_second_desk_file_under_the_same_desk_id_is_refused_not_hidden_and_forwards_once_renamed() {
    // A replaced reception PC configured with the old PC's desk_id starts its own file at
    // number 1, which the shared journal already holds for that desk. Before the fix its checks
    // were silently ignored by the upsert (their revision no newer): kept on the desk, missing
    // from the facility's history.
    let db = TestDatabase::create("clash");
    let dir = tempfile::tempdir().expect("tmp");
    let at = |s: i64| time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_790_000_000 + s);
    let old_pc = open(&dir.path().join("old.sqlite3"), db.config("desk-a"));
    for i in 1..=2 {
        let mut c = check(i);
        c.at = at(i as i64);
        old_pc.record(c).expect("old PC records");
    }
    drop(old_pc);

    let new_path = dir.path().join("new.sqlite3");
    let new_pc = open(&new_path, db.config("desk-a"));
    let mut c = check(3);
    c.at = at(100);
    let id = new_pc.record(c.clone()).expect("the desk still records");
    assert_eq!(id, CheckId(1));
    let status = new_pc.shared_status().expect("status");
    assert!(status.id_clash && !status.online, "{status:?}");
    assert_eq!(status.unforwarded, 1);
    let said = status.desk_message().expect("the desk is told");
    assert!(
        said.contains("端末名") && said.contains("未送信 1 件"),
        "{said}"
    );
    // The old PC's check is untouched, and the new one is not passed off as sent.
    assert_eq!(
        shared(&db, "desk-a", CheckId(1), "number").as_deref(),
        Some("1001")
    );
    assert_eq!(db.rows_of("desk-a").len(), 2);
    assert_eq!(
        local(&new_path, id, "forwarded_revision").as_deref(),
        Some("0")
    );
    // Sending again (the copy command) says what is wrong, in Japanese for staff.
    let err = new_pc.forward_now().expect_err("still a clash");
    assert!(matches!(err, JournalError::SharedIdClash { .. }), "{err:?}");
    assert!(
        err.desk_message().contains("desk_id"),
        "{}",
        err.desk_message()
    );
    drop(new_pc);

    // Staff give the new PC a desk id of its own: its check arrives, once.
    let renamed = open(&new_path, db.config("desk-b"));
    let status = renamed.shared_status().expect("status");
    let sent = renamed.forward_now().expect("forwarded");
    assert!(sent <= 1, "{sent} {status:?}");
    assert_eq!(db.rows_of("desk-b"), vec![(1, 1)]);
    assert_eq!(
        shared(&db, "desk-b", CheckId(1), "number").as_deref(),
        Some("1003")
    );
    let status = renamed.shared_status().expect("status");
    assert!(
        status.online && !status.id_clash && status.unforwarded == 0,
        "{status:?}"
    );
    assert_eq!(renamed.shared_status().and_then(|s| s.desk_message()), None);
}
