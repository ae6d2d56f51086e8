//! Crash safety: `onshi-desk journal burst` records checks as fast as it can and prints each
//! id once `record` returned; the test kills it with SIGKILL at random points, reopens the
//! journal, runs `PRAGMA integrity_check` and looks for every id reported done. Many rounds,
//! bounded in time.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use onshi_desk::journal::{CheckId, Journal};

/// A small xorshift generator: random kill points without a dependency, seeded by the clock
/// and printed so a failing round can be told apart.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn every_check_reported_done_survives_kill_9() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("crash.sqlite3");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    eprintln!("seed {seed}");
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut rounds = 0;
    let mut reported_total = 0usize;
    // 30 rounds, but never more than about a minute on a slow machine (at least 5 rounds).
    while rounds < 30 && (rounds < 5 || started.elapsed() < Duration::from_secs(60)) {
        rounds += 1;
        let mut child = Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
            .args(["journal", "--journal"])
            .arg(&path)
            .args(["burst", "--count", "1000000"])
            .env("ONSHI_CONFIG", "/nonexistent/onshi-config.toml")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the burst");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the first committed id, then kill after a random 0-150 ms.
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the burst started recording");
        std::thread::sleep(Duration::from_millis(rng.next() % 150));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let _ = reader.join();
        let mut reported: Vec<CheckId> = std::iter::once(first)
            .chain(rx.try_iter())
            .map(|l| CheckId(l.trim().parse().expect("an id per line")))
            .collect();
        reported.dedup();
        reported_total += reported.len();

        let journal = Journal::open(&path).expect("reopen after kill -9");
        let r = journal.reader().expect("reader");
        assert_eq!(
            r.integrity_check().expect("integrity"),
            "ok",
            "round {rounds}"
        );
        for id in &reported {
            r.get(*id)
                .unwrap_or_else(|e| panic!("round {rounds}: check {id} reported done but {e}"));
        }
    }
    eprintln!(
        "{rounds} rounds, {reported_total} checks reported done, all present, in {:?}",
        started.elapsed()
    );
    assert!(rounds >= 5);
}
