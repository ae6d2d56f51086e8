//! The shared journal's figure: ten desks recording at once against one PostgreSQL (issue 17).
//!
//! Run with the test cluster's variables (`ONSHI_TEST_PG_*`, see docs/journal.md):
//!
//! ```sh
//! bash scripts/test-postgres-cluster start target/pg && source target/pg/env
//! cargo bench --bench shared_journal
//! bash scripts/test-postgres-cluster stop target/pg
//! ```
//!
//! Ten threads, each a desk with its own `Journal`, SQLite file and desk id, record checks as
//! fast as they can, together, in a fresh database; each `record` returns after the local
//! commit (fsynced) and the shared one (`synchronous_commit = on`). Printed: p50, p99 and max
//! of `record` over all desks (the desk's whole wait), of the shared write inside it (the
//! upsert's round trip with its synchronous commit, `SharedStatus::last_send`), and the same ten
//! desks without a shared journal for comparison. On one machine the ten desks' own SQLite
//! commits share its cores with the server; at a facility each desk is its own PC, so the
//! shared write is the figure the target is about and the whole record is the upper bound.
//! Each desk's first record (connecting, the schema) is not counted. A third round paces the
//! same ten desks at one record every 50 ms each (200 a second for the facility): a busy
//! morning rather than a flood.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it does a tiny round as a smoke
//! test, and says it skipped when no test PostgreSQL is named.

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use onshi_desk::domain::VerdictKind;
use onshi_desk::journal::{CheckKind, CheckNumbers, Journal, JournalOptions, NewCheck};
use time::macros::date;

#[path = "common/pg.rs"]
mod pg;

use onshi_desk::config::SharedJournalConfig;
use pg::{Cluster, Error};

const DESKS: usize = 10;

/// The paced round's interval between one desk's records.
const PACE: Duration = Duration::from_millis(50);

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shared_journal bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn check(desk: usize, i: usize) -> NewCheck {
    let mut c = NewCheck::empty(CheckKind::Numbers, date!(2026 - 11 - 21));
    c.verdict = Some(VerdictKind::Valid);
    c.validity = Some(1);
    c.numbers = Some(CheckNumbers {
        insurer_number: "01130012".into(),
        symbol: Some(format!("{desk}")),
        number: format!("{i}"),
        branch: Some("00".into()),
    });
    c.name = Some("山田 花子".into());
    c.name_kana = Some("ﾔﾏﾀﾞ ﾊﾅｺ".into());
    c.birthdate = Some(date!(1980 - 04 - 01));
    c
}

fn run() -> Result<(), Error> {
    let bench = std::env::args().any(|a| a == "--bench");
    let per_desk = if bench { 500 } else { 5 };
    let Some(cluster) = Cluster::from_env() else {
        if bench {
            return Err(pg::NO_CLUSTER.into());
        }
        println!("shared_journal bench: skipped (no ONSHI_TEST_PG_URL; scripts/test sets it)");
        return Ok(());
    };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let db = format!("onshi_bench_{}", std::process::id());
    cluster
        .admin()?
        .batch_execute(&format!("CREATE DATABASE {db}"))?;
    let result = (|| -> Result<(), Error> {
        let (local, _) = desks(&dir.path().join("local"), per_desk, None, |_| Ok(None))?;
        report("local only", &local, per_desk);
        let (shared, sends) = desks(&dir.path().join("shared"), per_desk, None, |desk| {
            Ok(Some(cluster.config(&db, &format!("bench-desk-{desk}"))?))
        })?;
        report("local + shared", &shared, per_desk);
        report("  of which the shared write", &sends, per_desk);
        // A busy facility rather than a flood: every desk records a check every 50 ms (200
        // checks a second for the facility, far above a real morning).
        let (paced, sends) = desks(&dir.path().join("paced"), per_desk, Some(PACE), |desk| {
            Ok(Some(cluster.config(&db, &format!("bench-paced-{desk}"))?))
        })?;
        report("local + shared, each desk every 50 ms", &paced, per_desk);
        report("  of which the shared write", &sends, per_desk);
        let mut client = onshi_desk::journal::shared::connect(&cluster.config(&db, "bench")?)?;
        let n: i64 = client.query_one("SELECT count(*) FROM checks", &[])?.get(0);
        if n != (2 * DESKS * (per_desk + 1)) as i64 {
            return Err(format!("{n} rows in the shared journal").into());
        }
        Ok(())
    })();
    let _ = cluster
        .admin()
        .map(|mut a| a.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")));
    result
}

fn report(what: &str, times: &[Duration], per_desk: usize) {
    let total: Duration = times.iter().sum();
    println!(
        "{what}: {DESKS} desks x {per_desk} records at once: p50 {}, p99 {}, max {} (mean {})",
        ms(percentile(times, 0.5)),
        ms(percentile(times, 0.99)),
        ms(percentile(times, 1.0)),
        ms(total / times.len().max(1) as u32)
    );
}

/// Every `record`'s time and every shared write's, each sorted.
type Times = (Vec<Duration>, Vec<Duration>);

/// Ten desks recording `per_desk` checks each, together, as fast as they can or one every
/// `pace`.
fn desks(
    dir: &Path,
    per_desk: usize,
    pace: Option<Duration>,
    shared: impl Fn(usize) -> Result<Option<SharedJournalConfig>, Error>,
) -> Result<Times, Error> {
    std::fs::create_dir_all(dir)?;
    let start = Arc::new(Barrier::new(DESKS));
    let mut threads = Vec::new();
    for desk in 0..DESKS {
        let journal = Journal::open_with(
            &dir.join(format!("desk-{desk}.sqlite3")),
            JournalOptions {
                shared: shared(desk)?,
                ..JournalOptions::default()
            },
        )?;
        let start = Arc::clone(&start);
        threads.push(std::thread::spawn(move || -> Result<Times, Error> {
            // Not counted: the first record waits for the connection and the schema.
            journal.record(check(desk, 0))?;
            start.wait();
            let began = Instant::now();
            let mut times = Vec::with_capacity(per_desk);
            let mut sends = Vec::with_capacity(per_desk);
            for i in 1..=per_desk {
                if let Some(pace) = pace {
                    let due = began + pace * (i as u32);
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                }
                let t = Instant::now();
                journal.record(check(desk, i))?;
                times.push(t.elapsed());
                if let Some(send) = journal.shared_status().and_then(|s| s.last_send) {
                    sends.push(send);
                }
            }
            if let Some(status) = journal.shared_status() {
                if !status.online || status.unforwarded > 0 {
                    return Err(format!("desk {desk} fell behind: {status:?}").into());
                }
            }
            Ok((times, sends))
        }));
    }
    let mut all = Vec::with_capacity(DESKS * per_desk);
    let mut all_sends = Vec::with_capacity(DESKS * per_desk);
    for t in threads {
        let (times, sends) = t.join().map_err(|_| "a desk thread panicked")??;
        all.extend(times);
        all_sends.extend(sends);
    }
    all.sort();
    all_sends.sort();
    Ok((all, all_sends))
}
