//! The `onshi-mock serve` binary: first stdout line, a real request, SIGTERM, bad arguments.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hyper::StatusCode;
use onshi_mock::endpoint::CONFIRMATION_PATH;

use support::*;

/// Kills the child on panic so a failing test leaves no server behind.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(extra: &[&str]) -> (Server, std::net::SocketAddr) {
    let pki = test_pki();
    let mut child = Command::new(env!("CARGO_BIN_EXE_onshi-mock"))
        .arg("serve")
        .arg("--pki")
        .arg(&pki.dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let line = BufReader::new(stdout)
        .lines()
        .next()
        .and_then(Result::ok)
        .expect("first line");
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .parse()
        .expect("address");
    (server, addr)
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[tokio::test]
async fn serves_until_sigterm() {
    let (mut server, addr) = start(&["--listen", "127.0.0.1:0"]);
    assert!(addr.ip().is_loopback());
    let mut conn = Connection::facility(addr).await.expect("connect");
    let valid = persona("valid");
    let (id, challenge) = conn.challenge().await.expect("challenge");
    let (status, answer) = conn
        .confirm(&envelope(
            header("bin"),
            pin_search(&valid, &id, &challenge),
        ))
        .await
        .expect("confirm");
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["XmlMsg"]["MessageBody"]["QualificationValidity"],
        "1"
    );
    drop(conn);

    sigterm(&server.0);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still running");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn fault_flags_and_explicit_files() {
    let pki = test_pki();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/default.toml");
    let jpki = pki
        .generated
        .auth_ca_certificate
        .to_string_lossy()
        .to_string();
    let (_server, addr) = start(&[
        "--fixtures",
        fixtures,
        "--jpki-ca",
        &jpki,
        "--fault-status",
        "503",
    ]);
    let mut conn = Connection::facility(addr).await.expect("connect");
    let (status, _) = conn
        .post(CONFIRMATION_PATH, b"{}".to_vec())
        .await
        .expect("post");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn bad_configuration_fails_with_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_onshi-mock"))
        .args(["serve", "--pki"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.pem"), "{stderr}");
    assert!(output.stdout.is_empty());

    let output = Command::new(env!("CARGO_BIN_EXE_onshi-mock"))
        .args(["serve", "--pki", ".", "--fault-status", "200"])
        .output()
        .expect("run");
    assert!(!output.status.success());
}
