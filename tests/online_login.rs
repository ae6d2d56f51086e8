//! The desk's client and the mock's login (docs/online-api.md, "Login and token"): the mock
//! runs in-process over mutual TLS on loopback and counts the logins. The client logs in once
//! and reuses the token, logs in again once when the token is refused or stale, turns a failed
//! login into a verdict, never lets the token into a log line or a detail, works with the
//! public paths of the real web API, and shares one login between threads.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::time::Duration;

use onshi_desk::config::Config;
use onshi_desk::domain::numbers::InsurerNumber;
use onshi_desk::domain::search::{NumberSearch, Search};
use onshi_desk::domain::verdict::NextStep;
use onshi_desk::domain::{Verdict, VerdictKind};
use onshi_desk::online::OnlineClient;
use onshi_mock::endpoint::{self, RunningServer, ServerConfig, ServerFiles};
use time::macros::date;

/// The mock on the shared test PKI with the default fixtures, `edit` applied.
fn mock(edit: impl FnOnce(ServerConfig) -> ServerConfig) -> RunningServer {
    let config =
        ServerConfig::load(&ServerFiles::from_pki_dir(&common::pki_dir())).expect("server config");
    endpoint::spawn(edit(config)).expect("server")
}

/// A desk configuration for `addr` with `extra` lines in `[endpoint]`, written into `dir`.
fn config_for(addr: &str, dir: &Path, extra: &str) -> PathBuf {
    let tls = common::pki_dir().join("tls");
    let text = format!(
        "facility_code = \"1312345678\"\n\n[endpoint]\nurl = \"https://{addr}/\"\nca = \"{}\"\nclient_certificate = \"{}\"\nclient_key = \"{}\"\nconnect_timeout_ms = 2000\ntimeout_ms = 5000\n{extra}\n",
        tls.join("server-ca.pem").display(),
        tls.join("facility.pem").display(),
        tls.join("facility-key.pem").display(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn client_for(server: &RunningServer, dir: &Path, extra: &str) -> OnlineClient {
    let config =
        Config::load(Some(&config_for(&server.addr().to_string(), dir, extra))).expect("config");
    OnlineClient::new(&config).expect("client")
}

/// The 有効 persona of the default fixtures, by numbers.
fn valid_person() -> Search {
    Search::Numbers(NumberSearch {
        insurer: InsurerNumber::parse("01130012").expect("insurer"),
        symbol: Some("5012345".into()),
        number: "1024".into(),
        branch: Some("00".into()),
        birthdate: date!(1980 - 04 - 01),
        limit_consent: false,
    })
}

fn check(client: &OnlineClient) -> Verdict {
    client.confirm(&valid_person(), common::AS_OF)
}

#[test]
fn one_login_then_searches_and_challenges_with_its_token() {
    let server = mock(|c| c);
    let dir = tempfile::tempdir().expect("tmp");
    let client = client_for(&server, dir.path(), "");
    assert_eq!(server.stats().logins(), 0, "lazy: no login before use");
    for _ in 0..3 {
        let v = check(&client);
        assert_eq!(v.kind, VerdictKind::Valid, "{:?}", v.detail);
    }
    let challenge = client.challenge().expect("challenge");
    assert_eq!(challenge.bytes.len(), 32);
    assert_eq!(server.stats().logins(), 1, "one login for every request");
    assert_eq!(server.stats().refused_tokens(), 0);
}

#[test]
fn a_token_refused_mid_session_costs_one_more_login_and_the_search_succeeds() {
    // Every token expires after two requests.
    let server = mock(|c| c.with_token_uses(Some(2)));
    let dir = tempfile::tempdir().expect("tmp");
    let client = client_for(&server, dir.path(), "");
    for round in 0..3 {
        let v = check(&client);
        assert_eq!(v.kind, VerdictKind::Valid, "round {round}: {:?}", v.detail);
    }
    assert_eq!(
        server.stats().refused_tokens(),
        1,
        "the third search was refused once"
    );
    assert_eq!(
        server.stats().logins(),
        2,
        "and cost exactly one more login"
    );
}

#[test]
fn a_token_expired_by_the_servers_clock_is_renewed() {
    // The mock says "1" second and expires the token after 300 ms: the client still thinks
    // it fresh, gets 401 PH4010, logs in again and repeats the search.
    let server = mock(|c| c.with_token_ttl(Duration::from_millis(300)));
    let dir = tempfile::tempdir().expect("tmp");
    let client = client_for(&server, dir.path(), "");
    assert_eq!(check(&client).kind, VerdictKind::Valid);
    std::thread::sleep(Duration::from_millis(600));
    let v = check(&client);
    assert_eq!(v.kind, VerdictKind::Valid, "{:?}", v.detail);
    assert_eq!(server.stats().refused_tokens(), 1);
    assert_eq!(server.stats().logins(), 2);
    // Past the lifetime the login answer gave (1 s), the client logs in before sending:
    // no refused request at all.
    std::thread::sleep(Duration::from_millis(1200));
    let v = check(&client);
    assert_eq!(v.kind, VerdictKind::Valid, "{:?}", v.detail);
    assert_eq!(server.stats().refused_tokens(), 1, "renewed before use");
    assert_eq!(server.stats().logins(), 3);
}

#[test]
fn a_token_refused_again_after_the_new_login_is_a_verdict_not_a_loop() {
    // Every token is refused at once.
    let server = mock(|c| c.with_token_uses(Some(0)));
    let dir = tempfile::tempdir().expect("tmp");
    let client = client_for(&server, dir.path(), "");
    let v = check(&client);
    assert_eq!(v.kind, VerdictKind::ServerError, "{:?}", v.detail);
    assert!(
        v.detail.as_deref().is_some_and(|d| d.contains("HTTP 401")),
        "{:?}",
        v.detail
    );
    assert_eq!(v.note.map(|n| n.code).as_deref(), Some("PH4010"));
    assert_eq!(
        server.stats().logins(),
        2,
        "one login, one more after the 401"
    );
    assert_eq!(server.stats().refused_tokens(), 2);
    let refused = client.challenge().expect_err("refused");
    assert_eq!(refused.kind, VerdictKind::ServerError);
    assert_eq!(server.stats().logins(), 4);
}

#[test]
fn a_refused_or_unreachable_login_is_the_right_verdict() {
    let server = mock(|c| c.with_login_refused(true));
    let dir = tempfile::tempdir().expect("tmp");
    let client = client_for(&server, dir.path(), "");
    let v = check(&client);
    assert_eq!(v.kind, VerdictKind::ServerError, "{:?}", v.detail);
    assert_eq!(v.next_step, NextStep::ConfirmByDocuments);
    let detail = v.detail.clone().unwrap_or_default();
    assert!(detail.starts_with("login: HTTP 403: refused"), "{detail}");
    assert!(detail.contains("status \"1\""), "{detail}");
    assert!(v.primary().is_none());
    assert_eq!(server.stats().logins(), 0);

    // Nothing listens on the port any more: unreachable, said as the login's failure.
    let addr = server.addr().to_string();
    drop(server);
    let config = Config::load(Some(&config_for(&addr, dir.path(), ""))).expect("config");
    let client = OnlineClient::new(&config).expect("client");
    let v = check(&client);
    assert_eq!(v.kind, VerdictKind::Unreachable, "{:?}", v.detail);
    assert!(
        v.detail
            .as_deref()
            .is_some_and(|d| d.starts_with("login: ")),
        "{:?}",
        v.detail
    );
}

#[test]
fn the_public_paths_of_the_real_web_api_work() {
    let server = mock(|c| c);
    let dir = tempfile::tempdir().expect("tmp");
    let client = client_for(
        &server,
        dir.path(),
        "login_path = \"/oqs-api-pro/MSA12020/ILI12020SV01/auth\"\nsearch_path = \"/oqs-api-pro/MSA01030/ILI01030SV01/search\"",
    );
    let v = check(&client);
    assert_eq!(v.kind, VerdictKind::Valid, "{:?}", v.detail);
    assert_eq!(server.stats().logins(), 1);

    // A wrong login path is a verdict naming the login, not a hang.
    let client = client_for(&server, dir.path(), "login_path = \"/nothing/here\"");
    let v = check(&client);
    assert_eq!(v.kind, VerdictKind::ServerError);
    assert!(
        v.detail
            .as_deref()
            .is_some_and(|d| d.starts_with("login: HTTP 404")),
        "{:?}",
        v.detail
    );
}

#[test]
fn eight_threads_sharing_one_client_log_in_once() {
    let server = mock(|c| c);
    let dir = tempfile::tempdir().expect("tmp");
    let client = Arc::new(client_for(&server, dir.path(), ""));
    let start = Arc::new(Barrier::new(8));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (client, start) = (client.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                (0..5).map(|_| check(&client).kind).collect::<Vec<_>>()
            })
        })
        .collect();
    for worker in workers {
        let kinds = worker.join().expect("worker");
        assert!(kinds.iter().all(|k| *k == VerdictKind::Valid), "{kinds:?}");
    }
    assert_eq!(server.stats().logins(), 1, "one login shared by 8 threads");

    // A failed login is shared too: 8 threads, one refused login, 8 verdicts.
    let refusing = mock(|c| c.with_login_refused(true));
    let client = Arc::new(client_for(&refusing, dir.path(), ""));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (client, start) = (client.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                check(&client)
            })
        })
        .collect();
    for worker in workers {
        let v = worker.join().expect("worker");
        assert_eq!(v.kind, VerdictKind::ServerError, "{:?}", v.detail);
    }
}

/// Everything every test of this binary logs, at every level, from every thread.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("global subscriber");
        logs
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_token_never_reaches_a_log_line_or_a_detail() {
    let logs = captured_logs();
    // Tokens refused after one use: logins, 401s and retries all happen.
    let server = mock(|c| c.with_token_uses(Some(1)));
    let dir = tempfile::tempdir().expect("tmp");
    let client = client_for(&server, dir.path(), "");
    let mut details = Vec::new();
    for _ in 0..3 {
        let v = check(&client);
        assert_eq!(v.kind, VerdictKind::Valid, "{:?}", v.detail);
        details.push(format!("{v:?}"));
    }
    let refused = client.challenge();
    details.push(format!("{refused:?}"));
    let strict = mock(|c| c.with_token_uses(Some(0)));
    let strict_client = client_for(&strict, dir.path(), "");
    let v = check(&strict_client);
    assert_eq!(v.kind, VerdictKind::ServerError);
    details.push(format!("{v:?}"));

    let mut tokens = server.stats().issued_id_tokens();
    tokens.extend(strict.stats().issued_id_tokens());
    assert!(tokens.len() >= 5, "{} logins", tokens.len());
    let logged = String::from_utf8_lossy(
        &logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned();
    assert!(
        logged.contains("logged in to the online service"),
        "the capture works: {logged}"
    );
    for token in &tokens {
        assert!(
            !logged.contains(token.as_str()),
            "token in the log: {logged}"
        );
        for detail in &details {
            assert!(!detail.contains(token.as_str()), "token in {detail}");
        }
    }
}

#[test]
fn the_mock_process_takes_the_login_faults_from_its_command_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let refusing = common::MockService::start(&["--fault-login-refused"]);
    let config = Config::load(Some(&refusing.config(dir.path(), |t| t))).expect("config");
    let v = check(&OnlineClient::new(&config).expect("client"));
    assert_eq!(v.kind, VerdictKind::ServerError, "{:?}", v.detail);
    assert!(
        v.detail
            .as_deref()
            .is_some_and(|d| d.starts_with("login: HTTP 403: refused")),
        "{:?}",
        v.detail
    );

    // Every token used up after one request: each later search is refused once, the client
    // logs in again and gets its answer.
    let strict = common::MockService::start(&["--fault-token-uses", "1", "--token-ttl-s", "60"]);
    let config = Config::load(Some(&strict.config(dir.path(), |t| t))).expect("config");
    let client = OnlineClient::new(&config).expect("client");
    for round in 0..3 {
        let v = check(&client);
        assert_eq!(v.kind, VerdictKind::Valid, "round {round}: {:?}", v.detail);
    }
}
