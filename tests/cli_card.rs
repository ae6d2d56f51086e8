//! `onshi-desk card …` end to end, the way a script or a support engineer runs it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};

use common::{card, persona_path, reader, AS_OF};
use serde_json::Value;

fn desk(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run onshi-desk");
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.unwrap_or("").as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("onshi-desk finished")
}

fn json(out: &Output) -> Value {
    common::stdout_json(out)
}

#[test]
fn card_read_json_has_the_documented_keys() {
    let r = reader();
    let inserted = r.insert(card("valid"));
    let as_of = AS_OF.to_string();
    let out = desk(
        &[
            "card", "read", "--reader", &r.name, "--as-of", &as_of, "--json",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["serial_hex"], "0705D990");
    assert_eq!(v["serial_dec"], "117823888");
    assert_eq!(v["expiry"], "valid");
    assert_eq!(v["reader"], r.name.as_str());
    for key in [
        "not_before",
        "not_after",
        "issuer",
        "subject_cn",
        "apdu_count",
        "elapsed_ms",
    ] {
        assert!(!v[key].is_null(), "missing {key}: {v}");
    }
    assert!(
        v["not_after"]
            .as_str()
            .is_some_and(|s| s.ends_with("14:59:59Z")),
        "{v}"
    );
    assert!(
        v["issuer"]
            .as_str()
            .is_some_and(|s| s.contains("JPKI for user authentication")),
        "{v}"
    );
    r.remove(inserted);
}

#[test]
fn card_read_waits_for_a_card_placed_later() {
    let r = reader();
    let mut child = Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .args([
            "card", "read", "--reader", &r.name, "--wait", "20", "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let inserted = r.insert(card("expired-grace"));
    let status = child.wait().expect("finished");
    let mut stdout = String::new();
    if let Some(mut o) = child.stdout.take() {
        std::io::Read::read_to_string(&mut o, &mut stdout).expect("stdout");
    }
    assert!(status.success(), "{stdout}");
    let v: Value = serde_json::from_str(stdout.trim()).expect("json");
    assert_eq!(v["expiry"], "expired_grace");
    r.remove(inserted);
}

#[test]
fn no_card_is_a_json_error_with_a_japanese_message_and_exit_1() {
    let r = reader();
    let out = desk(&["card", "read", "--reader", &r.name, "--json"], None);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["error"]["kind"], "no_card");
    assert!(String::from_utf8_lossy(&out.stderr).contains("カードが置かれていません"));
}

#[test]
fn an_unknown_reader_is_named_in_the_error() {
    let out = desk(
        &["card", "read", "--reader", "No Such Reader", "--json"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["kind"], "reader_not_found");
}

#[test]
fn readers_lists_the_pool() {
    let r = reader();
    let inserted = r.insert(card("valid"));
    let v = json(&desk(&["card", "readers", "--json"], None));
    let list = v["readers"].as_array().expect("readers array");
    let mine = list
        .iter()
        .find(|x| x["name"] == r.name.as_str())
        .expect("our reader listed");
    assert_eq!(mine["card_present"], true);
    r.remove(inserted);
}

#[test]
fn the_pin_comes_from_stdin_and_one_try_left_is_protected() {
    let r = reader();
    let inserted = r.insert(card("valid"));
    let name = r.name.as_str();
    let wrong = desk(
        &["card", "verify-pin", "--reader", name, "--json"],
        Some("0000\n"),
    );
    assert_eq!(wrong.status.code(), Some(3));
    assert_eq!(json(&wrong)["error"]["kind"], "pin_wrong");
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("残り2回"));
    desk(&["card", "verify-pin", "--reader", name], Some("0000\n"));
    let status = json(&desk(
        &["card", "pin-status", "--reader", name, "--json"],
        None,
    ));
    assert_eq!(
        status["pin"],
        serde_json::json!({"state": "remaining", "retries_left": 1})
    );
    // With one try left the CLI does not touch the card unless told to.
    let protected = desk(
        &["card", "verify-pin", "--reader", name, "--json"],
        Some("1234\n"),
    );
    assert_eq!(json(&protected)["error"]["kind"], "last_try_protected");
    let ok = desk(
        &[
            "card",
            "verify-pin",
            "--reader",
            name,
            "--last-try",
            "--json",
        ],
        Some("1234\n"),
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(json(&ok)["verified"], true);
    r.remove(inserted);
}

#[test]
fn a_malformed_pin_never_reaches_the_card() {
    let r = reader();
    let inserted = r.insert(card("valid"));
    for bad in ["12345\n", "12a4\n", "\n"] {
        let out = desk(
            &["card", "verify-pin", "--reader", &r.name, "--json"],
            Some(bad),
        );
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert_eq!(json(&out)["error"]["kind"], "pin_format");
    }
    assert_eq!(
        inserted.apdu_count(),
        0,
        "no APDU was sent for a malformed PIN"
    );
    r.remove(inserted);
}

#[test]
fn basic_info_reads_the_four_items() {
    let r = reader();
    let inserted = r.insert(card("valid"));
    let v = json(&desk(
        &["card", "basic-info", "--reader", &r.name, "--json"],
        Some("1234\n"),
    ));
    assert!(
        v["basic_info"]["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{v}"
    );
    assert!(v["basic_info"]["birth_date"].is_string(), "{v}");
    r.remove(inserted);
}

/// The `onshi-vcard` binary itself, as the demo and manual testing use it.
struct VcardProcess(Child);

impl Drop for VcardProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_vcard_binary_serves_a_persona_file_through_pcscd() {
    let r = reader();
    let port = r.port.to_string();
    let persona = persona_path("top-bit-serial");
    let mut child = Command::new(common::workspace_bin("onshi-vcard"))
        .args([
            "--persona",
            &persona.to_string_lossy(),
            "--vpcd",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn onshi-vcard");
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out).read_line(&mut line).expect("read");
    }
    let guard = VcardProcess(child);
    assert_eq!(line.trim(), "inserted");
    let out = desk(
        &[
            "card", "read", "--reader", &r.name, "--wait", "10", "--json",
        ],
        None,
    );
    assert_eq!(json(&out)["serial_hex"], "85ABCDEF");
    drop(guard);
    r.wait_empty();
}

#[test]
fn a_slow_card_still_reads() {
    let r = reader();
    let slow = onshi_mock::vcard::CardOptions {
        delay_per_apdu: std::time::Duration::from_millis(60),
        ..Default::default()
    };
    let inserted = r.insert(common::card_with("valid", slow));
    let v = json(&desk(
        &["card", "read", "--reader", &r.name, "--json"],
        None,
    ));
    assert_eq!(v["serial_hex"], "0705D990");
    r.remove(inserted);
}

#[test]
fn a_card_that_stops_answering_is_reported_within_the_timeout_not_a_hang() {
    let r = reader();
    let stuck = onshi_mock::vcard::CardOptions {
        delay_per_apdu: std::time::Duration::from_secs(6),
        ..Default::default()
    };
    let inserted = r.insert(common::card_with("valid", stuck));
    let started = std::time::Instant::now();
    let out = desk(
        &[
            "card",
            "read",
            "--reader",
            &r.name,
            "--timeout",
            "1",
            "--json",
        ],
        None,
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "gave up in time"
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["kind"], "card_unresponsive");
    assert!(String::from_utf8_lossy(&out.stderr).contains("カードが応答しません"));
    r.remove(inserted);
}
