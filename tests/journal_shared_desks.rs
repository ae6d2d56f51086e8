//! Several desks on one shared journal, as separate processes (issue 17): four desks record as
//! fast as they can, together; the database stops and comes back in the middle of it; a desk
//! is killed (`SIGKILL`) while it forwards a backlog. Each time every desk's records are in the
//! shared journal exactly once, in each desk's order.
//!
//! The desks are this test binary started again (`current_exe`) running the ignored test
//! [`desk_worker`], told what to do by `ONSHI_TEST_DESK_*` variables. Needs the test
//! PostgreSQL of `bash scripts/test` (`tests/common/postgres.rs`); the tests that stop the
//! server start a cluster of their own.
#![cfg(feature = "shared-journal")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::postgres::{PrivateCluster, TestDatabase};
use onshi_desk::config::{SharedJournalConfig, SharedPassword};
use onshi_desk::domain::VerdictKind;
use onshi_desk::journal::{CheckKind, CheckNumbers, Journal, JournalOptions, NewCheck};
use time::macros::date;

/// Desks recording together.
const DESKS: usize = 4;
/// Checks each desk records in a burst.
const CHECKS: usize = 300;
/// Checks each desk records in the burst the database leaves and rejoins: enough that the desks
/// still record, local only, when it is back (a local write takes a millisecond or two).
const RESTART_CHECKS: usize = 1500;
/// The backlog a desk forwards while it is killed.
const BACKLOG: usize = 2000;
/// No single write may take this long, whatever the database does (a hang guard).
const NO_HANG: Duration = Duration::from_secs(10);
/// How long a desk keeps trying to forward what is left before it gives up.
const FORWARD_DEADLINE: Duration = Duration::from_secs(40);

fn check(desk: &str, i: usize) -> NewCheck {
    let mut c = NewCheck::empty(CheckKind::Numbers, date!(2026 - 11 - 21));
    c.verdict = Some(VerdictKind::Valid);
    c.validity = Some(1);
    c.numbers = Some(CheckNumbers {
        insurer_number: "01130012".into(),
        symbol: Some(desk.into()),
        number: format!("{i}"),
        branch: None,
    });
    c.name = Some("山田 花子".into());
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

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

/// One desk, as a process of its own. Roles (`ONSHI_TEST_DESK_ROLE`):
/// - `record`: records `ONSHI_TEST_DESK_CHECKS` checks as fast as it can (each under
///   [`NO_HANG`]), then forwards until nothing is left; prints `desk-offline-writes N` (writes made
///   while the database was out of reach) and `desk-done`.
/// - `forward`: opens the journal (its writer starts forwarding the backlog) and forwards until
///   nothing is left; prints `desk-done`.
#[test]
#[ignore = "a desk process of the tests in this file, started by them"]
fn desk_worker() {
    let Ok(role) = std::env::var("ONSHI_TEST_DESK_ROLE") else {
        eprintln!("desk_worker: run by the tests of this file only");
        return;
    };
    let desk = var("ONSHI_TEST_DESK_ID");
    let shared = SharedJournalConfig {
        url: var("ONSHI_TEST_DESK_URL"),
        password: Some(SharedPassword::File(
            var("ONSHI_TEST_DESK_PASSWORD_FILE").into(),
        )),
        ca: var("ONSHI_TEST_DESK_CA").into(),
        desk_id: desk.clone(),
    };
    let journal = open(Path::new(&var("ONSHI_TEST_DESK_JOURNAL")), shared);
    if role == "record" {
        let n: usize = var("ONSHI_TEST_DESK_CHECKS").parse().expect("a count");
        let go = PathBuf::from(var("ONSHI_TEST_DESK_GO"));
        let ready = PathBuf::from(format!("{}.ready", go.display()));
        std::fs::write(&ready, b"").expect("say ready");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !go.exists() {
            assert!(Instant::now() < deadline, "never told to go");
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut offline = 0;
        for i in 0..n {
            let t = Instant::now();
            journal.record(check(&desk, i)).expect("recorded");
            assert!(t.elapsed() < NO_HANG, "record {i} took {:?}", t.elapsed());
            if !journal.shared_status().expect("status").online {
                offline += 1;
            }
        }
        println!("desk-offline-writes {offline}");
    }
    let deadline = Instant::now() + FORWARD_DEADLINE;
    loop {
        match journal.forward_now() {
            Ok(_) if journal.shared_status().expect("status").unforwarded == 0 => break,
            Ok(_) => {}
            Err(e) => assert!(Instant::now() < deadline, "never forwarded: {e}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // The harness prints `test desk_worker ... ` before: the markers may not start a line.
    println!("desk-done");
}

/// A desk process: `role` on its own journal `path` as desk `desk` of database `db`.
fn spawn_desk(
    db: &TestDatabase,
    desk: &str,
    path: &Path,
    role: &str,
    extra: &[(&str, String)],
) -> Child {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        "desk_worker",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("ONSHI_TEST_DESK_ROLE", role)
    .env("ONSHI_TEST_DESK_ID", desk)
    .env("ONSHI_TEST_DESK_URL", db.cluster.url_of(&db.name))
    .env("ONSHI_TEST_DESK_PASSWORD_FILE", &db.cluster.password_file)
    .env("ONSHI_TEST_DESK_CA", &db.cluster.ca)
    .env("ONSHI_TEST_DESK_JOURNAL", path)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start a desk process")
}

/// Waits for a desk process; fails the test with its output unless it finished its work.
/// Returns its standard output.
fn finish(child: Child, desk: &str) -> String {
    let out = child.wait_with_output().expect("desk process");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("desk-done\n"),
        "desk {desk} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Every row of the desk's own file is in the shared journal exactly once, at its revision, in
/// the desk's order, and marked forwarded locally. Returns how many.
fn assert_all_forwarded(db: &TestDatabase, desk: &str, path: &Path) -> usize {
    let conn = rusqlite::Connection::open(path).expect("open local journal");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(ok, "ok", "{desk}");
    let mut stmt = conn
        .prepare("SELECT id, revision, forwarded_revision FROM checks ORDER BY id")
        .expect("select");
    let local: Vec<(i64, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    for (id, revision, forwarded) in &local {
        assert_eq!(revision, forwarded, "{desk} row {id} not marked forwarded");
    }
    let expected: Vec<(i64, i64)> = local.iter().map(|(id, rev, _)| (*id, *rev)).collect();
    // rows_of orders by the shared id: equal lists mean once each and in the desk's order.
    assert_eq!(db.rows_of(desk), expected, "{desk}");
    local.len()
}

/// How many rows the shared journal holds (0 before a desk made the table).
fn shared_count(client: &mut postgres::Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM checks", &[])
        .map(|r| r.get(0))
        .unwrap_or(0)
}

/// Starts the desks recording, all at once; `during` runs while they do (given the database
/// and a way to count the shared rows); checks everything arrived.
fn desks_together(db: &TestDatabase, checks: usize, during: impl FnOnce(&dyn Fn() -> i64)) {
    let dir = tempfile::tempdir().expect("tmp");
    let go = dir.path().join("go");
    let desks: Vec<(String, PathBuf)> = (0..DESKS)
        .map(|i| {
            let desk = format!("desk-{i}");
            let path = dir.path().join(format!("{desk}.sqlite3"));
            (desk, path)
        })
        .collect();
    let children: Vec<Child> = desks
        .iter()
        .map(|(desk, path)| {
            let go_file = PathBuf::from(format!("{}-{desk}", go.display()));
            spawn_desk(
                db,
                desk,
                path,
                "record",
                &[
                    ("ONSHI_TEST_DESK_CHECKS", checks.to_string()),
                    ("ONSHI_TEST_DESK_GO", go_file.display().to_string()),
                ],
            )
        })
        .collect();
    // Every desk has opened its journal: go.
    let deadline = Instant::now() + Duration::from_secs(30);
    for (desk, _) in &desks {
        let ready = PathBuf::from(format!("{}-{desk}.ready", go.display()));
        while !ready.exists() {
            assert!(Instant::now() < deadline, "{desk} never became ready");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    for (desk, _) in &desks {
        std::fs::write(format!("{}-{desk}", go.display()), b"").expect("go");
    }
    let recorded = || -> i64 {
        desks
            .iter()
            .map(|(_, path)| {
                rusqlite::Connection::open(path)
                    .and_then(|c| {
                        c.query_row("SELECT count(*) FROM checks", [], |r| r.get::<_, i64>(0))
                    })
                    .unwrap_or(0)
            })
            .sum()
    };
    during(&recorded);
    let mut offline_writes = 0;
    for (child, (desk, _)) in children.into_iter().zip(&desks) {
        let out = finish(child, desk);
        offline_writes += out
            .split("desk-offline-writes ")
            .nth(1)
            .and_then(|rest| rest.lines().next())
            .and_then(|n| n.trim().parse::<usize>().ok())
            .expect("offline-writes");
    }
    println!("writes made while the database was out of reach: {offline_writes}");
    for (desk, path) in &desks {
        assert_eq!(assert_all_forwarded(db, desk, path), checks, "{desk}");
    }
    assert_eq!(shared_count(&mut db.client()), (DESKS * checks) as i64);
}

#[test]
fn four_desks_recording_together_are_each_in_the_shared_journal_once_in_order() {
    let db = TestDatabase::create("desks");
    desks_together(&db, CHECKS, |_| {});
}

#[test]
fn four_desks_keep_recording_while_the_database_stops_and_every_row_arrives_once() {
    let pg = PrivateCluster::start();
    let db = TestDatabase::create_on(&pg.cluster, "desks_restart");
    let mut offline = false;
    let total = (DESKS * RESTART_CHECKS) as i64;
    desks_together(&db, RESTART_CHECKS, |recorded| {
        // Mid-burst: some rows are in, most are not yet.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut client = db.client();
        loop {
            let n = shared_count(&mut client);
            if n >= 100 {
                assert!(
                    n < (DESKS * CHECKS) as i64,
                    "the burst ended before the stop"
                );
                break;
            }
            assert!(Instant::now() < deadline, "the desks never forwarded");
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(client);
        pg.cluster.ctl("stop");
        std::thread::sleep(Duration::from_millis(300));
        pg.cluster.ctl("start");
        let at_restart = recorded();
        println!("restarted with {at_restart} of {total} checks recorded");
        assert!(at_restart < total, "the burst ended before the restart");
        offline = true;
    });
    assert!(offline);
}

#[test]
fn a_desk_killed_while_forwarding_its_backlog_loses_and_doubles_nothing() {
    let pg = PrivateCluster::start();
    let db = TestDatabase::create_on(&pg.cluster, "desk_killed");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("desk-k.sqlite3");
    let desk = "desk-k";

    // A day's work recorded with the database down: all of it waits on the desk.
    pg.cluster.ctl("stop");
    {
        let journal = open(&path, db.config(desk));
        for i in 0..BACKLOG {
            let t = Instant::now();
            journal.record(check(desk, i)).expect("recorded");
            assert!(t.elapsed() < NO_HANG, "record {i} took {:?}", t.elapsed());
        }
        let status = journal.shared_status().expect("status");
        assert!(!status.online);
        assert_eq!(status.unforwarded, BACKLOG as u64);
    }
    pg.cluster.ctl("start");

    // The desk starts forwarding; it is killed part way, three times, at later points each time.
    let mut kills = 0;
    let mut client = db.client();
    for at_least in [200, 800, 1400] {
        let mut child = spawn_desk(&db, desk, &path, "forward", &[]);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let n = shared_count(&mut client);
            if n >= at_least {
                if n < BACKLOG as i64 {
                    child.kill().expect("SIGKILL the desk");
                    kills += 1;
                }
                let _ = child.wait();
                break;
            }
            if let Some(status) = child.try_wait().expect("desk process") {
                panic!("the desk ended early ({status}) with {n} rows forwarded");
            }
            assert!(Instant::now() < deadline, "the desk never forwarded");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    assert!(kills >= 1, "the desk was never caught mid-way");
    println!("killed mid-forward {kills} times");

    // Started once more, it finishes: every row once, in order.
    finish(spawn_desk(&db, desk, &path, "forward", &[]), desk);
    assert_eq!(assert_all_forwarded(&db, desk, &path), BACKLOG);
}
