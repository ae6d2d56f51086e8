//! The PIN on its way in: read bounded from standard input, and never into a core dump.
//!
//! Real processes: the `onshi-desk` binary with its standard input on `/dev/zero` or on a pipe
//! that stays open. No card is needed: the PIN is read (and the process hardened) before any
//! reader is looked for.

#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A generous "did not hang" bound.
const DID_NOT_HANG: Duration = Duration::from_secs(20);

fn desk() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onshi-desk"));
    // No reader may be found by accident: the tests stop at the PIN.
    c.env("RUST_LOG", "off");
    c
}

/// Waits for `child` at most [`DID_NOT_HANG`]; kills it (it is ours) and fails on a hang.
fn wait_bounded(child: &mut std::process::Child, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > DID_NOT_HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {DID_NOT_HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_pin_read_from_an_endless_input_is_refused_not_buffered_forever() {
    for args in [
        &["card", "verify-pin", "--json"][..],
        &["card", "basic-info", "--json"][..],
    ] {
        let mut child = desk()
            .args(args)
            .stdin(std::fs::File::open("/dev/zero").expect("/dev/zero"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start onshi-desk");
        let what = args.join(" ");
        let status = wait_bounded(&mut child, &what);
        let out = child.wait_with_output().expect("output");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(status.code(), Some(2), "{what}: {all}");
        assert!(
            all.contains("暗証番号を標準入力から読めませんでした"),
            "{what}: {all}"
        );
    }
}

/// The "Max core file size" soft and hard limits of process `pid`.
fn core_limits(pid: u32) -> Option<String> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max core file size"))
        .map(|rest| {
            rest.split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
}

#[test]
fn a_command_waiting_for_a_pin_can_no_longer_dump_core() {
    for args in [
        &["card", "verify-pin"][..],
        &["card", "basic-info"][..],
        &["check", "--card", "--pin-stdin"][..],
    ] {
        let what = args.join(" ");
        let mut child = desk()
            .args(args)
            .env("ONSHI_CONFIG", "/nonexistent/config.toml")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start onshi-desk");
        let pid = child.id();
        let start = Instant::now();
        let mut seen = None;
        while start.elapsed() < DID_NOT_HANG {
            seen = core_limits(pid);
            if seen.as_deref() == Some("0 0") {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Ours to end: close its input (no PIN comes) and stop it.
        drop(child.stdin.take());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            seen.as_deref(),
            Some("0 0"),
            "{what}: core dumps still allowed while it waits for the PIN"
        );
    }
}

/// Runs `onshi-desk card verify-pin --json` with `input` on standard input.
fn verify_pin_with(input: &[u8]) -> (Option<i32>, String) {
    use std::io::Write;
    let mut child = desk()
        .args(["card", "verify-pin", "--json", "--reader", "No Such Reader"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start onshi-desk");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write the PIN");
    drop(stdin);
    let status = wait_bounded(&mut child, "verify-pin");
    let out = child.wait_with_output().expect("output");
    (
        status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn a_pin_line_ends_at_lf_crlf_or_end_of_input_and_a_malformed_one_is_refused() {
    // A well-formed PIN gets past the reading: what fails next is the reader, not the PIN.
    for input in [
        &b"1234\n"[..],
        b"1234\r\n",
        b"1234",
        "１２３４\n".as_bytes(),
    ] {
        let (code, out) = verify_pin_with(input);
        assert!(
            !out.contains("pin_format") && !out.contains("invalid_input"),
            "{input:?}: {out}"
        );
        assert_ne!(code, Some(2), "{input:?}: {out}");
        assert!(!out.contains("1234"), "the PIN is never echoed: {out}");
    }
    let (code, out) = verify_pin_with(b"12\n");
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("pin_format"), "{out}");
}
