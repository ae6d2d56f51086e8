//! The online client against a hostile service: a real TLS server on loopback, signed by the
//! test PKI's server CA (so the desk trusts it exactly as it trusts the real service), that
//! answers the way a compromised, misrouted or broken service might. The desk must check
//! these answers, not believe them: through the library client, `onshi-desk check` and
//! `onshi-desk claim plan --reconfirm`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use onshi_desk::config::Config;
use onshi_desk::domain::numbers::InsurerNumber;
use onshi_desk::domain::search::{NumberSearch, Search};
use onshi_desk::domain::text::has_unsafe_chars;
use onshi_desk::domain::VerdictKind;
use onshi_desk::online::OnlineClient;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use time::macros::date;

/// "Did not hang": far above the 1 s timeout the tests configure, far below the minutes a
/// dripping server used to hold a check.
const ANSWERED_WITHIN: Duration = Duration::from_secs(10);

/// How the hostile server answers one request.
enum Reply {
    /// Status and body, sent at once.
    Now(u16, String),
    /// Headers at once, then the first `slow` bytes of the body one every `every`, then the rest.
    DripBody {
        body: String,
        slow: usize,
        every: Duration,
    },
    /// The status line and headers one byte every `every`, then the body.
    DripHeaders { body: String, every: Duration },
    /// A redirect to `location`.
    Redirect(u16, String),
}

type Script = dyn Fn(&Value) -> Reply + Send + Sync;

/// A TLS server on loopback with the test PKI's server certificate, answering each request
/// (one per connection) by its script. Logins (the desk logs in before its first request)
/// are answered with a well-formed token and not counted as requests; the script sees the
/// rest.
struct HostileService {
    addr: String,
    requests: Arc<AtomicUsize>,
}

/// The token the hostile service hands out at login.
const HOSTILE_TOKEN: &str = "it-hostile-0123456789abcdef";

fn login_answer() -> Reply {
    Reply::Now(
        200,
        json!({"status": "0", "msg": "", "result": {"accessToken": "at", "refreshToken": "rt",
            "idToken": HOSTILE_TOKEN, "linkSysCharCd": "0"}})
        .to_string(),
    )
}

impl HostileService {
    fn start(script: impl Fn(&Value) -> Reply + Send + Sync + 'static) -> HostileService {
        HostileService::start_with(login_answer, script)
    }

    /// Like [`HostileService::start`], with the login answered by `login`.
    fn start_with(
        login: impl Fn() -> Reply + Send + Sync + 'static,
        script: impl Fn(&Value) -> Reply + Send + Sync + 'static,
    ) -> HostileService {
        let login: Arc<dyn Fn() -> Reply + Send + Sync> = Arc::new(login);
        let tls = common::pki_dir().join("tls");
        let chain = CertificateDer::pem_file_iter(tls.join("server.pem"))
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .expect("server certificate");
        let key = PrivateKeyDer::from_pem_file(tls.join("server-key.pem")).expect("server key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server TLS config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let requests = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let counter = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, script, counter) = (config.clone(), script.clone(), counter.clone());
                let login = login.clone();
                std::thread::spawn(move || {
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(conn, stream);
                    if let Some((path, request)) = read_request(&mut tls) {
                        if path.ends_with("/login") {
                            let _ = send(&mut tls, login());
                            return;
                        }
                        counter.fetch_add(1, Ordering::SeqCst);
                        let _ = send(&mut tls, script(&request));
                    }
                });
            }
        });
        HostileService { addr, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// A desk configuration for this server (`timeout_ms` as given), journal in `dir`.
    fn config(&self, dir: &Path, timeout_ms: u64) -> PathBuf {
        let tls = common::pki_dir().join("tls");
        let text = format!(
            "facility_code = \"1312345678\"\n\n[endpoint]\nurl = \"https://{}/\"\nca = \"{}\"\nclient_certificate = \"{}\"\nclient_key = \"{}\"\nconnect_timeout_ms = 2000\ntimeout_ms = {timeout_ms}\n\n[journal]\npath = \"{}\"\n",
            self.addr,
            tls.join("server-ca.pem").display(),
            tls.join("facility.pem").display(),
            tls.join("facility-key.pem").display(),
            dir.join("journal.sqlite3").display(),
        );
        let path = dir.join("config.toml");
        std::fs::write(&path, text).expect("write config");
        path
    }

    fn client(&self, dir: &Path, timeout_ms: u64) -> OnlineClient {
        let config = Config::load(Some(&self.config(dir, timeout_ms))).expect("config");
        OnlineClient::new(&config).expect("client")
    }
}

/// Reads one HTTP request (headers, then a Content-Length body) and returns its path and
/// JSON body.
fn read_request(stream: &mut impl Read) -> Option<(String, Value)> {
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let path = request_line
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((path, serde_json::from_slice(&body).ok()?))
}

fn send(stream: &mut impl Write, reply: Reply) -> std::io::Result<()> {
    let head = |status: u16, extra: &str, len: usize| {
        format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n{extra}\r\n"
        )
    };
    match reply {
        Reply::Now(status, body) => {
            stream.write_all(head(status, "", body.len()).as_bytes())?;
            stream.write_all(body.as_bytes())?;
        }
        Reply::Redirect(status, location) => {
            let extra = format!("Location: {location}\r\n");
            stream.write_all(head(status, &extra, 0).as_bytes())?;
        }
        Reply::DripBody { body, slow, every } => {
            stream.write_all(head(200, "", body.len()).as_bytes())?;
            stream.flush()?;
            let (first, rest) = body.as_bytes().split_at(slow.min(body.len()));
            for b in first {
                stream.write_all(&[*b])?;
                stream.flush()?;
                std::thread::sleep(every);
            }
            stream.write_all(rest)?;
        }
        Reply::DripHeaders { body, every } => {
            for b in head(200, "", body.len()).bytes() {
                stream.write_all(&[b])?;
                stream.flush()?;
                std::thread::sleep(every);
            }
            stream.write_all(body.as_bytes())?;
        }
    }
    stream.flush()
}

/// The person the tests ask about by numbers (the 有効 persona of the default fixtures).
fn asked() -> NumberSearch {
    NumberSearch {
        insurer: InsurerNumber::parse("01130012").expect("insurer"),
        symbol: Some("5012345".into()),
        number: "1024".into(),
        branch: Some("00".into()),
        birthdate: date!(1980 - 04 - 01),
        limit_consent: false,
    }
}

/// A well-formed 有効 answer to `request` (its header echoed) carrying `record`.
fn valid_answer(request: &Value, record: Value) -> String {
    let h = &request["XmlMsg"]["MessageHeader"];
    json!({"XmlMsg": {
        "MessageHeader": {
            "ProcessExecutionTime": "20261121103012",
            "QualificationConfirmationDate": h["QualificationConfirmationDate"],
            "MedicalInstitutionCode": h["MedicalInstitutionCode"],
            "ArbitraryFileIdentifier": h["ArbitraryFileIdentifier"],
            "ReferenceClassification": "2",
            "SegmentOfResult": "1",
            "CharacterCodeIdentifier": "0"
        },
        "MessageBody": {
            "ProcessingResultStatus": "1",
            "QualificationValidity": "1",
            "ResultList": {"ResultOfQualificationConfirmation": [record]}
        }
    }})
    .to_string()
}

/// The record of the patient asked about.
fn the_patient() -> Value {
    json!({"InsuredCardClassification": "01", "InsurerNumber": "01130012",
        "InsuredCardSymbol": "5012345", "InsuredIdentificationNumber": "1024",
        "InsuredBranchNumber": "00", "PersonalFamilyClassification": "1",
        "Name": "山田 花子", "NameKana": "ﾔﾏﾀﾞ ﾊﾅｺ", "Sex1": "2", "Birthdate": "19800401",
        "InsuredPartialContributionRatio": "030"})
}

/// A record of somebody else entirely.
fn somebody_else() -> Value {
    json!({"InsuredCardClassification": "01", "InsurerNumber": "06010391",
        "InsuredCardSymbol": "88", "InsuredIdentificationNumber": "424242",
        "InsuredBranchNumber": "01", "PersonalFamilyClassification": "1",
        "Name": "別人 太郎", "NameKana": "ﾍﾞﾂｼﾞﾝ ﾀﾛｳ", "Sex1": "1", "Birthdate": "19511111"})
}

fn check(client: &OnlineClient) -> onshi_desk::domain::Verdict {
    client.confirm(&Search::Numbers(asked()), date!(2026 - 11 - 21))
}

#[test]
fn an_answer_dripped_a_byte_at_a_time_is_a_timeout_not_a_long_wait() {
    let service = HostileService::start(|r| Reply::DripBody {
        body: valid_answer(r, the_patient()),
        slow: 40,
        every: Duration::from_millis(300),
    });
    let dir = tempfile::tempdir().expect("tmp");
    let client = service.client(dir.path(), 1000);
    let started = Instant::now();
    let v = check(&client);
    assert!(
        started.elapsed() < ANSWERED_WITHIN,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(v.kind, VerdictKind::Timeout, "{:?}", v.detail);
    assert!(v.primary().is_none());
}

#[test]
fn headers_dripped_a_byte_at_a_time_are_a_timeout_too() {
    let service = HostileService::start(|r| Reply::DripHeaders {
        body: valid_answer(r, the_patient()),
        every: Duration::from_millis(300),
    });
    let dir = tempfile::tempdir().expect("tmp");
    let client = service.client(dir.path(), 1000);
    let started = Instant::now();
    let v = check(&client);
    assert!(
        started.elapsed() < ANSWERED_WITHIN,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(v.kind, VerdictKind::Timeout, "{:?}", v.detail);
}

#[test]
fn an_honest_answer_within_the_timeout_is_believed() {
    let service = HostileService::start(|r| {
        let mut record = the_patient();
        // Written differently, the same numbers: full-width, unpadded 枝番.
        record["InsuredIdentificationNumber"] = json!("１０２４");
        record["InsuredBranchNumber"] = json!("0");
        Reply::DripBody {
            body: valid_answer(r, record),
            slow: 3,
            every: Duration::from_millis(50),
        }
    });
    let dir = tempfile::tempdir().expect("tmp");
    let v = check(&service.client(dir.path(), 5000));
    assert_eq!(v.kind, VerdictKind::Valid, "{:?}", v.detail);
    assert_eq!(
        v.ratio_source,
        Some(onshi_desk::domain::verdict::RatioSource::StatedRatio),
        "a 協会けんぽ record's stated ratio is not a 後期高齢者 one"
    );
}

#[test]
fn an_answer_about_somebody_else_is_refused_by_the_client() {
    let service = HostileService::start(|r| Reply::Now(200, valid_answer(r, somebody_else())));
    let dir = tempfile::tempdir().expect("tmp");
    let v = check(&service.client(dir.path(), 5000));
    assert_eq!(v.kind, VerdictKind::AnswerMismatch, "{:?}", v.detail);
    assert!(v.primary().is_none() && v.ratio.is_none());
    assert!(v
        .desk_message()
        .contains("照会と異なる方の回答が返りました"));
    assert!(v.desk_message().contains("システム管理者"));
    let detail = v.detail.unwrap_or_default();
    assert!(detail.contains("somebody else"), "{detail}");
}

#[test]
fn malformed_answer_fields_are_refused_not_shown() {
    let cases: Vec<(&str, Value)> = vec![
        ("Birthdate", json!("19801399")),
        ("Name", json!("山田\u{1b}[2J\u{1b}[31m花子")),
        ("Name", json!("山田\u{202e}子花")),
        ("NameKana", json!("ﾔﾏﾀﾞ\r\nINFO desk: forged line")),
        ("Address", json!("東".repeat(10_000))),
    ];
    for (field, value) in cases {
        let value = Arc::new(value);
        let v2 = value.clone();
        let service = HostileService::start(move |r| {
            let mut record = the_patient();
            record[field] = (*v2).clone();
            Reply::Now(200, valid_answer(r, record))
        });
        let dir = tempfile::tempdir().expect("tmp");
        let v = check(&service.client(dir.path(), 5000));
        assert_eq!(v.kind, VerdictKind::ServerError, "{field}: {value}");
        assert!(v.qualifications.is_empty(), "{field}");
        let detail = v.detail.unwrap_or_default();
        assert!(detail.contains("malformed answer"), "{field}: {detail}");
        assert!(detail.contains(field), "{field}: {detail}");
        assert!(!has_unsafe_chars(&detail), "{field}: {detail:?}");
    }
}

#[test]
fn redirects_are_not_followed_and_the_numbers_go_nowhere_else() {
    // A plain-http listener that would accept the patient's numbers and forge an answer.
    let plain = TcpListener::bind("127.0.0.1:0").expect("bind");
    let plain_addr = plain.local_addr().expect("addr");
    let reached = Arc::new(AtomicUsize::new(0));
    let count = reached.clone();
    std::thread::spawn(move || {
        for mut stream in plain.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let _ = read_request(&mut stream);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    for status in [301u16, 302, 303, 307, 308] {
        let location = format!("http://{plain_addr}/online-qualification/v1/x");
        let service = HostileService::start(move |_| Reply::Redirect(status, location.clone()));
        let dir = tempfile::tempdir().expect("tmp");
        let v = check(&service.client(dir.path(), 5000));
        assert_eq!(v.kind, VerdictKind::ServerError, "{status}");
        let detail = v.detail.unwrap_or_default();
        assert!(detail.contains(&format!("HTTP {status}")), "{detail}");
        assert!(detail.contains("redirect not followed"), "{detail}");
        assert_eq!(service.requests(), 1, "{status}: asked once, not re-sent");
    }
    // Give a connection that was (wrongly) made time to be counted.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the http:// listener received nothing"
    );
}

/// `onshi-desk` as a process with `config`, printing JSON.
fn desk(config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = common::desk_command();
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .args(["--as-of", "2026-11-21"]);
    common::output_with_stdin(cmd, stdin.as_bytes())
}

const BY_NUMBERS: [&str; 9] = [
    "--insurer",
    "01130012",
    "--symbol",
    "5012345",
    "--number",
    "1024",
    "--branch",
    "00",
    "--birth",
];

#[test]
fn check_by_numbers_with_an_answer_about_somebody_else_is_not_done() {
    let service = HostileService::start(|r| Reply::Now(200, valid_answer(r, somebody_else())));
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), 5000);
    let mut args = vec!["check"];
    args.extend(BY_NUMBERS);
    args.extend(["19800401", "--json"]);
    let out = desk(&config, &args, "");
    let v = common::stdout_json(&out);
    assert_eq!(v["verdict"], "answer_mismatch", "{v}");
    assert_eq!(out.status.code(), Some(6), "a system failure, not a result");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("照会と異なる方の回答")),
        "{v}"
    );
    let text = v.to_string();
    for other in ["06010391", "424242", "別人", "19511111"] {
        assert!(!text.contains(other), "{other} shown: {text}");
    }
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
        Some("answer_mismatch")
    );
    assert_ne!(
        r.status,
        onshi_desk::journal::CheckStatus::Done,
        "confirmed again later, not done"
    );
}

#[test]
fn server_text_is_escaped_before_it_reaches_stdout() {
    let service = HostileService::start(|_| {
        Reply::Now(
            400,
            json!({"Error": {"Code": "PH4000\u{1b}[2J", "Message": "\u{1b}]0;owned\u{7}拒否",
                "Detail": "bad\u{1b}[31m\nINFO forged log line\u{202e}"}})
            .to_string(),
        )
    });
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), 5000);
    let mut args = vec!["check"];
    args.extend(BY_NUMBERS);
    args.push("19800401");
    for json_flag in [false, true] {
        let mut args = args.clone();
        if json_flag {
            args.push("--json");
        }
        let out = desk(&config, &args, "");
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{202e}') && !text.contains('\u{7}'),
                "{stream} (json {json_flag}): {text:?}"
            );
        }
        if json_flag {
            let v = common::stdout_json(&out);
            let detail = v["detail"].as_str().unwrap_or_default();
            assert!(detail.contains("forged log line"), "{v}");
            assert!(!has_unsafe_chars(detail), "{detail:?}");
        }
    }
}

/// The お知らせ of the patient asked about, alone (no card): since the temporary rule ended
/// (2026-03-31) it proves nothing on its own, so the plan asks for the 資格確認書 until the
/// numbers on it are confirmed by the re-check.
const NOTICE_ALONE: &str = r#"{
  "check_date": "2026-11-21",
  "outcome": "no_card",
  "patient": {"birthdate": "昭和55年4月1日"},
  "evidence": [
    {"kind": "qualification_notice", "with_card": false,
     "numbers": {"insurer_number": "01130012", "symbol": "5012345", "number": "1024", "branch": "00"}}
  ]
}"#;

#[test]
fn claim_plan_reconfirm_never_confirms_a_claim_from_an_answer_about_somebody_else() {
    let service = HostileService::start(|r| Reply::Now(200, valid_answer(r, somebody_else())));
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), 5000);
    let out = desk(
        &config,
        &["claim", "plan", "--json", "-", "--reconfirm"],
        NOTICE_ALONE,
    );
    let v = common::stdout_json(&out);
    assert_eq!(service.requests(), 1, "the re-check was asked: {v}");
    assert_ne!(v["step"], "current_numbers", "{v}");
    assert_eq!(v["step"], "bring_certificate", "{v}");
    assert_eq!(v["reconfirmation"]["verdict"], "answer_mismatch", "{v}");
    assert_eq!(v["reconfirmation"]["applied"], false, "{v}");
    let text = v.to_string();
    for other in ["06010391", "424242", "別人"] {
        assert!(!text.contains(other), "{other} in the plan: {text}");
    }

    // The same path with an honest answer is confirmed (the test is not vacuous).
    let honest = HostileService::start(|r| Reply::Now(200, valid_answer(r, the_patient())));
    let config = honest.config(dir.path(), 5000);
    let v = common::stdout_json(&desk(
        &config,
        &["claim", "plan", "--json", "-", "--reconfirm"],
        NOTICE_ALONE,
    ));
    assert_eq!(v["step"], "current_numbers", "{v}");
    assert_eq!(v["reconfirmation"]["verdict"], "valid", "{v}");
}

#[test]
fn a_challenge_id_that_could_rewrite_a_log_is_refused() {
    let service = HostileService::start(|_| {
        Reply::Now(
            200,
            json!({"ChallengeResponse": {"ChallengeId": "c-1\u{1b}[2J\nINFO forged",
                "Challenge": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}})
            .to_string(),
        )
    });
    let dir = tempfile::tempdir().expect("tmp");
    let refused = service
        .client(dir.path(), 5000)
        .challenge()
        .expect_err("refused");
    assert_eq!(refused.kind, VerdictKind::ServerError);
    let detail = refused.detail.unwrap_or_default();
    assert!(detail.contains("challenge id"), "{detail}");
    assert!(!has_unsafe_chars(&detail), "{detail:?}");
}

/// What the detail must contain, the verdict, and the login answer.
type LoginCase = (&'static str, VerdictKind, fn() -> Reply);

#[test]
fn a_hostile_login_answer_is_a_verdict_and_nothing_is_searched() {
    let cases: Vec<LoginCase> = vec![
        ("idToken", VerdictKind::ServerError, || {
            Reply::Now(
                200,
                json!({"status": "0", "msg": "", "result": {"idToken": "it-\u{1b}[2J\nINFO forged"}})
                    .to_string(),
            )
        }),
        ("idToken", VerdictKind::ServerError, || {
            Reply::Now(
                200,
                json!({"status": "0", "result": {"idToken": "x".repeat(100_000)}}).to_string(),
            )
        }),
        ("not JSON", VerdictKind::ServerError, || {
            Reply::Now(200, "<html>\u{1b}[31mportal</html>".into())
        }),
        ("refused", VerdictKind::ServerError, || {
            Reply::Now(
                200,
                json!({"status": "9\u{202e}", "msg": "\u{1b}]0;拒否\u{7}", "result": null})
                    .to_string(),
            )
        }),
        ("extExpiresIn", VerdictKind::ServerError, || {
            Reply::Now(
                200,
                json!({"status": "0", "result": {"idToken": "it-1", "extExpiresIn": "-5"}})
                    .to_string(),
            )
        }),
        ("HTTP 503", VerdictKind::ServerError, || {
            Reply::Now(503, "busy".into())
        }),
        ("login", VerdictKind::Timeout, || Reply::DripBody {
            body: json!({"status": "0", "result": {"idToken": "it-1"}}).to_string(),
            slow: 40,
            every: Duration::from_millis(300),
        }),
    ];
    for (needle, kind, login) in cases {
        let service =
            HostileService::start_with(login, |r| Reply::Now(200, valid_answer(r, the_patient())));
        let dir = tempfile::tempdir().expect("tmp");
        let client = service.client(dir.path(), 1000);
        let started = Instant::now();
        let v = check(&client);
        assert!(
            started.elapsed() < ANSWERED_WITHIN,
            "{needle}: {:?}",
            started.elapsed()
        );
        assert_eq!(v.kind, kind, "{needle}: {:?}", v.detail);
        let detail = v.detail.unwrap_or_default();
        assert!(detail.starts_with("login: "), "{needle}: {detail}");
        assert!(detail.contains(needle), "{needle}: {detail}");
        assert!(!has_unsafe_chars(&detail), "{needle}: {detail:?}");
        assert!(detail.len() < 1000, "{needle}: {} bytes", detail.len());
        assert_eq!(service.requests(), 0, "{needle}: searched without a login");
        // The challenge goes the same way.
        let refused = client.challenge().expect_err("no login, no challenge");
        assert!(
            refused.detail.unwrap_or_default().starts_with("login: "),
            "{needle}"
        );
        assert_eq!(service.requests(), 0, "{needle}");
    }
}

#[test]
fn the_login_and_the_search_share_one_timeout() {
    // Each alone fits in the 1 s timeout (about 0.6 s); together they do not.
    let slow_login = || Reply::DripBody {
        body: json!({"status": "0", "msg": "", "result": {"idToken": HOSTILE_TOKEN}}).to_string(),
        slow: 6,
        every: Duration::from_millis(100),
    };
    let service = HostileService::start_with(slow_login, |r| Reply::DripBody {
        body: valid_answer(r, the_patient()),
        slow: 6,
        every: Duration::from_millis(100),
    });
    let dir = tempfile::tempdir().expect("tmp");
    let v = check(&service.client(dir.path(), 1000));
    assert_eq!(v.kind, VerdictKind::Timeout, "{:?}", v.detail);

    // With time for both, the same service is believed (the test is not vacuous).
    let v = check(&service.client(dir.path(), 5000));
    assert_eq!(v.kind, VerdictKind::Valid, "{:?}", v.detail);
}
