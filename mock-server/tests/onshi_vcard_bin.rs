//! The `onshi-vcard` binary against a fake vpcd.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{listen, FakeVpcd, SELECT_JPKI};

#[test]
fn prints_inserted_and_exits_when_vpcd_closes() {
    let (listener, addr) = listen();
    let mut child = Command::new(env!("CARGO_BIN_EXE_onshi-vcard"))
        .args([
            "--not-jpki",
            "--atr",
            "3B:00 11",
            "--vpcd",
            &addr.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut vpcd = FakeVpcd::accept_within(&listener, std::time::Duration::from_secs(20))
        .expect("onshi-vcard connected");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    assert_eq!(
        lines.next().and_then(Result::ok).as_deref(),
        Some("inserted")
    );
    vpcd.send(&[0x04]);
    assert_eq!(vpcd.receive().as_deref(), Some(&[0x3B, 0x00, 0x11][..]));
    assert_eq!(
        vpcd.transmit(&SELECT_JPKI).as_deref(),
        Some(&[0x6A, 0x82][..])
    );
    drop(vpcd);
    let status = child.wait().expect("wait");
    assert!(status.success());
    assert!(lines
        .next()
        .and_then(Result::ok)
        .is_some_and(|l| l.starts_with("removed")));
}

#[test]
fn persona_is_required_for_a_jpki_card() {
    let output = Command::new(env!("CARGO_BIN_EXE_onshi-vcard"))
        .args(["--vpcd", "127.0.0.1:1"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--persona"));
}

#[test]
fn bad_persona_file_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, "id = \"x\"\npin = \"12345\"\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_onshi-vcard"))
        .args([
            "--persona",
            path.to_str().expect("utf8"),
            "--vpcd",
            "127.0.0.1:1",
        ])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.toml"), "{stderr}");
}
