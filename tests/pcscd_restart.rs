//! pcscd stops and starts again while the desk waits: it must recover by itself.
//!
//! These tests restart the one pcscd of the machine, so they cannot run beside the others:
//! `scripts/test` skips `exclusive_` tests in the parallel phase and runs this binary alone
//! afterwards with `ONSHI_TEST_EXCLUSIVE=1`.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{card, reader, PCSCD_WAIT};
use onshi_desk::card::{ReaderEvent, ReaderWatcher};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set: run `bash scripts/test`"))
}

fn exclusive() -> bool {
    let on = std::env::var("ONSHI_TEST_EXCLUSIVE").as_deref() == Ok("1");
    if !on {
        eprintln!("restarts pcscd: runs in the exclusive phase of scripts/test");
    }
    on
}

fn stop_pcscd() {
    let pidfile = env("ONSHI_TEST_PCSCD_PIDFILE");
    let pid = fs::read_to_string(&pidfile).expect("pcscd pid file");
    let pid = pid.trim().to_owned();
    let _ = Command::new("kill").arg(&pid).status();
    let deadline = Instant::now() + PCSCD_WAIT;
    while Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(&pid) {
        assert!(Instant::now() < deadline, "pcscd {pid} did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = fs::remove_file("/run/pcscd/pcscd.comm");
}

fn is_zombie(pid: &str) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

// The new pcscd must outlive this test (scripts/test stops it by its pid file), so it is
// deliberately not waited for.
#[allow(clippy::zombie_processes)]
fn start_pcscd() {
    start_pcscd_with(&env("ONSHI_TEST_PCSCD_CONF"));
}

// See `start_pcscd`.
#[allow(clippy::zombie_processes)]
fn start_pcscd_with(conf: &str) {
    let log = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(env("ONSHI_TEST_PCSCD_LOG"))
        .expect("log");
    let child = Command::new("pcscd")
        .args(["--foreground", "--config", conf])
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start pcscd");
    // scripts/test stops whatever pid this file names when the suite ends.
    fs::write(env("ONSHI_TEST_PCSCD_PIDFILE"), child.id().to_string()).expect("pid file");
    let deadline = Instant::now() + PCSCD_WAIT;
    while !Path::new("/run/pcscd/pcscd.comm").exists() {
        assert!(Instant::now() < deadline, "pcscd did not come back");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exclusive_a_wait_for_a_card_survives_a_pcscd_restart() {
    if !exclusive() {
        return;
    }
    let r = reader();
    let waiting = Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .args([
            "card", "read", "--reader", &r.name, "--wait", "30", "--json",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(800));
    stop_pcscd();
    std::thread::sleep(Duration::from_millis(800));
    start_pcscd();
    let inserted = r.insert(card("valid"));
    let out = waiting.wait_with_output().expect("finished");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("\"serial_hex\":\"0705D990\""), "{text}");
    r.remove(inserted);
}

fn wait_for(
    watcher: &mut ReaderWatcher,
    what: &str,
    want: impl Fn(&ReaderEvent) -> bool,
) -> Vec<ReaderEvent> {
    let deadline = Instant::now() + PCSCD_WAIT;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let events = watcher.wait(Duration::from_millis(200));
        let found = events.iter().any(&want);
        seen.extend(events);
        if found {
            return seen;
        }
    }
    panic!("no {what} event; saw {seen:?}");
}

#[test]
fn exclusive_the_watcher_reports_service_lost_and_restored_then_sees_cards_again() {
    if !exclusive() {
        return;
    }
    let r = reader();
    let mut w = ReaderWatcher::new();
    let name = r.name.clone();
    wait_for(&mut w, "reader added", |e| {
        *e == ReaderEvent::ReaderAdded(name.clone())
    });
    stop_pcscd();
    wait_for(&mut w, "service lost", |e| {
        matches!(e, ReaderEvent::ServiceLost(_))
    });
    assert!(w.service_error().is_some());
    start_pcscd();
    wait_for(&mut w, "service restored", |e| {
        *e == ReaderEvent::ServiceRestored
    });
    let inserted = r.insert(card("valid"));
    wait_for(&mut w, "card inserted", |e| {
        *e == ReaderEvent::CardInserted {
            reader: name.clone(),
        }
    });
    let card = inserted.remove();
    drop(card);
    wait_for(&mut w, "card removed", |e| {
        *e == ReaderEvent::CardRemoved {
            reader: name.clone(),
        }
    });
}

fn desk_error(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .args(args)
        .output()
        .expect("run");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exclusive_no_pcscd_and_no_reader_are_told_apart() {
    if !exclusive() {
        return;
    }
    stop_pcscd();
    let (code, v, stderr) = desk_error(&["card", "read", "--json"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["error"]["kind"], "service_unavailable", "{v}");
    assert!(stderr.contains("pcscd"), "{stderr}");

    let empty = tempfile::tempdir().expect("empty reader config");
    start_pcscd_with(&empty.path().to_string_lossy());
    let (code, v, stderr) = desk_error(&["card", "read", "--json"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["error"]["kind"], "no_reader", "{v}");
    assert!(
        stderr.contains("カードリーダーが接続されていません"),
        "{stderr}"
    );
    let (_, v, _) = desk_error(&["card", "readers", "--json"]);
    assert_eq!(v["readers"], serde_json::json!([]));

    stop_pcscd();
    start_pcscd();
}
