//! `onshi-desk check` end to end: the real card stack (pcscd + vpcd + virtual card) and the
//! real mock service (`onshi-mock serve`, mutual TLS on loopback).

mod common;

use std::process::Output;

use common::{card, reader, run_check as desk, MockService};
use serde_json::Value;

fn json(out: &Output) -> Value {
    common::stdout_json(out)
}

/// Each persona's card, checked by staff visual confirmation, gives its outcome.
#[test]
fn every_card_outcome_by_card_through_the_real_stack() {
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), |t| t);
    let r = reader();
    let cases: &[(&str, &str, Option<u64>, i32)] = &[
        ("valid", "valid", Some(3), 0),
        ("expiring-soon", "valid", Some(3), 0),
        ("expired-grace", "certificate_expired_grace", Some(3), 0),
        ("expired", "certificate_expired", None, 5),
        ("top-bit-serial", "valid", Some(1), 0),
        ("small-cert", "invalid", None, 5),
        ("pin-one-left", "invalid_new_exists", None, 5),
        ("pin-blocked", "no_record", None, 5),
        ("face-auth", "several", None, 5),
        ("large-cert", "valid", None, 0),
        ("kokuho", "valid", None, 0),
        ("elderly", "valid", Some(2), 0),
        ("not-registered", "not_registered", None, 5),
        ("registration-cancelled", "registration_cancelled", None, 5),
        ("card-returned", "card_returned", None, 5),
        ("revoked", "certificate_revoked", None, 5),
        ("system-error", "server_error", None, 6),
    ];
    for &(id, verdict, ratio, exit) in cases {
        let inserted = r.insert(card(id));
        let out = desk(&config, &["--card", "--visual", "--reader", &r.name], "");
        let v = json(&out);
        assert_eq!(v["verdict"], verdict, "{id}: {v}");
        assert_eq!(out.status.code(), Some(exit), "{id}: {v}");
        if let Some(ratio) = ratio {
            assert_eq!(v["ratio"], ratio, "{id}: {v}");
        }
        assert_eq!(v["card"]["identity_method"], "visual", "{id}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{id}");
        r.remove(inserted);
    }
}

#[test]
fn the_details_the_desk_needs_come_through() {
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), |t| t);
    let r = reader();
    let inserted = r.insert(card("valid"));
    let v = json(&desk(
        &config,
        &["--card", "--visual", "--reader", &r.name, "--limit-consent"],
        "",
    ));
    for key in [
        "insurer_number",
        "number",
        "name",
        "name_kana",
        "birthdate",
        "next_step",
    ] {
        assert!(v[key].is_string(), "{key}: {v}");
    }
    assert_eq!(v["qualification_validity"], 1);
    assert_eq!(v["next_step"], "claim_normally");
    assert_eq!(v["card"]["serial_hex"], "0705D990");
    r.remove(inserted);

    let inserted = r.insert(card("kokuho"));
    let v = json(&desk(
        &config,
        &["--card", "--visual", "--reader", &r.name],
        "",
    ));
    assert_eq!(
        v["insurer_number"].as_str().map(str::len),
        Some(6),
        "国保: {v}"
    );
    r.remove(inserted);

    let inserted = r.insert(card("small-cert"));
    let v = json(&desk(
        &config,
        &["--card", "--visual", "--reader", &r.name],
        "",
    ));
    assert_eq!(v["next_step"], "documents_or_old_numbers");
    assert!(
        v["qualifications"][0]["disqualification_date"].is_string(),
        "old numbers kept: {v}"
    );
    r.remove(inserted);
}

#[test]
fn the_pin_path_signs_the_servers_challenge_on_the_card() {
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), |t| t);
    let r = reader();
    let inserted = r.insert(card("valid"));
    let ok = desk(
        &config,
        &["--card", "--pin-stdin", "--reader", &r.name],
        "1234\n",
    );
    let v = json(&ok);
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(v["card"]["identity_method"], "pin");
    let wrong = desk(
        &config,
        &["--card", "--pin-stdin", "--reader", &r.name],
        "9999\n",
    );
    assert_eq!(wrong.status.code(), Some(3));
    assert_eq!(json(&wrong)["error"]["kind"], "pin_wrong");
    r.remove(inserted);

    // A blocked PIN is not tried; staff switch to visual check.
    let inserted = r.insert(card("pin-blocked"));
    let blocked = desk(
        &config,
        &["--card", "--pin-stdin", "--reader", &r.name],
        "2222\n",
    );
    assert_eq!(json(&blocked)["error"]["kind"], "pin_blocked");
    assert!(String::from_utf8_lossy(&blocked.stderr).contains("目視確認"));
    r.remove(inserted);
}

#[test]
fn checks_by_numbers() {
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), |t| t);
    let unknown = desk(
        &config,
        &[
            "--insurer",
            "06010391",
            "--number",
            "999999",
            "--birth",
            "19800401",
        ],
        "",
    );
    let v = json(&unknown);
    assert_eq!(v["verdict"], "no_record");
    assert_eq!(unknown.status.code(), Some(5));
    // Recorded in the configured journal, as at the desk.
    let id = v["journal_id"].as_i64().expect("recorded");
    let reader = onshi_desk::journal::JournalReader::open(&dir.path().join("journal.sqlite3"))
        .expect("journal");
    let r = reader
        .get(onshi_desk::journal::CheckId(id))
        .expect("the check");
    assert_eq!(
        r.verdict
            .map(|v| onshi_desk::journal::stored_name(&v))
            .as_deref(),
        Some("no_record")
    );
    assert_eq!(r.kind, onshi_desk::journal::CheckKind::Numbers);
}

#[test]
fn a_valid_check_that_cannot_be_recorded_is_not_reported_done() {
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("a-file"), b"x").expect("file");
    let journal = dir.path().join("a-file").join("journal.sqlite3");
    let config = service.config(dir.path(), |t| {
        t.replace(
            &dir.path().join("journal.sqlite3").display().to_string(),
            &journal.display().to_string(),
        )
    });
    let out = desk(
        &config,
        &[
            "--insurer",
            "01130012",
            "--symbol",
            "5012345",
            "--number",
            "1024",
            "--birth",
            "19800401",
        ],
        "",
    );
    let v = json(&out);
    assert_eq!(v["verdict"], "valid", "{v}");
    assert!(v["journal_error"]["message"].is_string(), "{v}");
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn bad_numbers_are_all_listed_before_anything_is_sent() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("absent.toml");
    let out = desk(
        &config,
        &[
            "--insurer",
            "33120016",
            "--number",
            " ",
            "--birth",
            "20301301",
            "--branch",
            "abc",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    let detail = v["error"]["detail"].as_str().unwrap_or_default().to_owned();
    for field in ["insurer_number", "number", "birthdate", "branch"] {
        assert!(detail.contains(field), "{field} not listed: {detail}");
    }
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("検証番号")),
        "{v}"
    );
}

#[test]
fn an_unreachable_service_is_a_verdict_not_a_hang() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), |t| {
        t.replace(&service.addr, &format!("127.0.0.1:{port}"))
    });
    let out = desk(
        &config,
        &[
            "--insurer",
            "06010391",
            "--number",
            "1",
            "--birth",
            "19800401",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(6));
    let v = json(&out);
    assert_eq!(v["verdict"], "unreachable");
    assert_eq!(v["next_step"], "retry_or_documents");
}

#[test]
fn a_server_not_signed_by_the_configured_ca_is_not_trusted() {
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    // Trust the client CA instead of the server CA: the server's certificate cannot verify.
    let config = service.config(dir.path(), |t| t.replace("server-ca.pem", "client-ca.pem"));
    let v = json(&desk(
        &config,
        &[
            "--insurer",
            "06010391",
            "--number",
            "1",
            "--birth",
            "19800401",
        ],
        "",
    ));
    assert_eq!(v["verdict"], "unreachable", "{v}");
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("TLS")),
        "{v}"
    );
}

#[test]
fn a_missing_config_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = desk(
        &dir.path().join("nope.toml"),
        &[
            "--insurer",
            "06010391",
            "--number",
            "1",
            "--birth",
            "19800401",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["kind"], "config");
    assert!(String::from_utf8_lossy(&out.stderr).contains("設定ファイル"));
}

/// The fixtures' fault entries: insurer 06139992, symbol FAULT, the number names the fault.
fn fault(config: &std::path::Path, which: &str) -> (Option<i32>, Value) {
    let out = desk(
        config,
        &[
            "--insurer",
            "06139992",
            "--symbol",
            "FAULT",
            "--number",
            which,
            "--birth",
            "19700101",
        ],
        "",
    );
    (out.status.code(), json(&out))
}

#[test]
fn server_faults_become_typed_verdicts_within_the_timeout() {
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), |t| {
        t.replace("timeout_ms = 5000", "timeout_ms = 1000")
    });
    for (which, verdict) in [
        ("DELAY3000", "timeout"),
        ("HTTP500", "server_error"),
        ("HTTP503", "server_error"),
        ("MALFORMED", "server_error"),
        ("DROP", "server_error"),
        ("TRUNCATED", "server_error"),
        // A lying server: a well-formed 有効 for somebody else's request is not believed.
        ("WRONGID", "answer_mismatch"),
    ] {
        let started = std::time::Instant::now();
        let (code, v) = fault(&config, which);
        assert_eq!(v["verdict"], verdict, "{which}: {v}");
        assert_eq!(code, Some(6), "{which}");
        assert_eq!(v["next_step"], "retry_or_documents", "{which}");
        assert!(
            v["detail"].is_string(),
            "{which}: the log gets the precise cause: {v}"
        );
        // Liveness, not performance: the 1 s timeout holds, far from the 3 s delay.
        assert!(
            started.elapsed() < std::time::Duration::from_millis(2900),
            "{which} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_client_certificate_from_another_ca_is_refused() {
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    // The server's own certificate as our identity: signed by the server CA, not the client CA.
    let config = service.config(dir.path(), |t| {
        t.replace("facility.pem", "server.pem")
            .replace("facility-key.pem", "server-key.pem")
    });
    let (code, v) = fault(&config, "HTTP500");
    assert_eq!(code, Some(6));
    assert!(
        matches!(v["verdict"].as_str(), Some("unreachable" | "server_error")),
        "{v}"
    );
}

#[test]
fn an_expired_server_certificate_is_not_trusted() {
    use onshi_mock::pki::tls::{expired_server_cert, TlsFiles};
    let dir = tempfile::tempdir().expect("tmp");
    let ca = TlsFiles::in_dir(&common::pki_dir())
        .load_server_ca()
        .expect("server CA");
    let (cert, key) = (dir.path().join("old.pem"), dir.path().join("old-key.pem"));
    expired_server_cert(&ca)
        .and_then(|issued| issued.write(&cert, &key))
        .expect("expired certificate");
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let service = MockService::start(&["--server-cert", &cert, "--server-key", &key]);
    let config = service.config(dir.path(), |t| t);
    let (code, v) = fault(&config, "HTTP500");
    assert_eq!(code, Some(6));
    assert_eq!(v["verdict"], "unreachable", "{v}");
    let detail = v["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("TLS") && detail.contains("expired"), "{v}");
}

#[test]
fn a_desk_without_a_client_certificate_is_refused_before_sending() {
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), |t| {
        t.lines()
            .filter(|l| !l.starts_with("client_certificate"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let out = desk(
        &config,
        &[
            "--insurer",
            "06010391",
            "--number",
            "1",
            "--birth",
            "19800401",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["error"]["kind"], "config", "{v}");
    assert!(
        v["error"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("client_certificate")),
        "{v}"
    );
}
