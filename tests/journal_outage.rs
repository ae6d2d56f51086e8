//! Outage mode and 事後確認 end to end: the service down (a closed port, then the real mock
//! answering 503) → checks queued → the service back (the mock over mutual TLS) → every
//! check re-confirmed, the unknown receipt replaced by a claim with confirmed numbers, a
//! mismatch flagged for staff, nothing duplicated when the re-confirmer runs twice, or two at
//! once, or from the command line. No card, no pcscd.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{MockService, AS_OF};
use onshi_desk::check::Reconfirmer;
use onshi_desk::config::Config;
use onshi_desk::domain::claim::plan::ClaimStep;
use onshi_desk::domain::claim::receipt::{DeclaredContact, ReceiptHeader, UnknownInsurer};
use onshi_desk::domain::search::{CardSearch, NumberSearch, Search};
use onshi_desk::domain::{IdentityMethod, InsurerNumber, VerdictKind};
use onshi_desk::journal::{CheckId, CheckNumbers, CheckStatus, Filter, Journal, NewCheck};
use onshi_desk::online::OnlineClient;
use time::macros::date;
use time::{Month, OffsetDateTime};

/// A configuration pointing at `addr` with the test PKI's TLS files.
fn config_for(dir: &Path, addr: &str, name: &str) -> PathBuf {
    let tls = common::pki_dir().join("tls");
    let text = format!(
        "facility_code = \"1312345678\"\n\n[endpoint]\nurl = \"https://{addr}/\"\nca = \"{}\"\nclient_certificate = \"{}\"\nclient_key = \"{}\"\nconnect_timeout_ms = 1000\ntimeout_ms = 3000\n\n[journal]\npath = \"journal.sqlite3\"\n",
        tls.join("server-ca.pem").display(),
        tls.join("facility.pem").display(),
        tls.join("facility-key.pem").display(),
    );
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

fn client(config: &Path) -> OnlineClient {
    OnlineClient::new(&Config::load(Some(config)).expect("config")).expect("client")
}

fn by_numbers(
    insurer: &str,
    symbol: &str,
    number: &str,
    branch: &str,
    birth: time::Date,
) -> Search {
    Search::Numbers(NumberSearch {
        insurer: InsurerNumber::parse(insurer).expect("insurer"),
        symbol: Some(symbol.into()),
        number: number.into(),
        branch: Some(branch.into()),
        birthdate: birth,
        limit_consent: false,
    })
}

#[test]
fn checks_queued_in_an_outage_are_reconfirmed_once_the_service_is_back() {
    let dir = tempfile::tempdir().expect("tmp");
    // A closed port: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .to_string();
    let down_config = config_for(dir.path(), &closed, "down.toml");
    let down = client(&down_config);
    let journal_path = dir.path().join("journal.sqlite3");
    let journal = Journal::open(&journal_path).expect("journal");

    // 1. At the desk, during the outage.
    let valid = by_numbers("01130012", "5012345", "1024", "00", date!(1980 - 04 - 01));
    let verdict = down.confirm(&valid, AS_OF);
    assert_eq!(verdict.kind, VerdictKind::Unreachable);
    let by_number = journal
        .record(NewCheck::from_online(&valid, AS_OF, &verdict))
        .expect("record");
    // The desk used the wrong branch from a document: the re-check will not agree.
    let wrong = by_numbers("06040125", "22", "3344", "02", date!(2015 - 05 - 05));
    let wrong_id = journal
        .record(NewCheck::from_online(
            &wrong,
            AS_OF,
            &down.confirm(&wrong, AS_OF),
        ))
        .expect("record");
    // A card check with a visual identity check: re-confirmed by certificate.
    let der = common::persona("valid").auth_certificate_der().to_vec();
    let card = Search::Card(CardSearch {
        certificate_der: der.clone(),
        method: IdentityMethod::Visual,
        signed_challenge: None,
        limit_consent: false,
    });
    let card_verdict = down.confirm(&card, AS_OF);
    let card_id = journal
        .record(
            NewCheck::from_online(&card, AS_OF, &card_verdict).hold_certificate("0705D990", &der),
        )
        .expect("record");
    // Claim path ③: a self-declaration and an unknown receipt; the numbers come later.
    let unknown = ReceiptHeader::unknown(false, UnknownInsurer::Plain, &DeclaredContact::default());
    let unknown_id = journal
        .record(NewCheck::claim_path(
            AS_OF,
            ClaimStep::SelfDeclaration,
            &unknown,
        ))
        .expect("record");

    let reader = journal.reader().expect("reader");
    for id in [by_number, wrong_id, card_id, unknown_id] {
        assert_eq!(
            reader.get(id).expect("get").status,
            CheckStatus::Queued,
            "{id}"
        );
    }
    assert!(reader.get(card_id).expect("card").certificate_held);

    // 2. The re-confirmer while the service is still down: backs off, changes nothing else.
    let now = OffsetDateTime::now_utc();
    let r = Reconfirmer::new(journal.clone(), down)
        .run_once(now, false)
        .expect("round");
    assert!(r.endpoint_down);
    assert_eq!(r.attempted, 1, "stops at the first failure: {r:?}");
    assert_eq!(r.waiting_for_numbers, 0);
    let first = reader.get(by_number).expect("get");
    assert_eq!(first.attempts, 1);
    assert!(first.last_attempt_detail.is_some());
    // The service answers 503: still an outage.
    {
        let busy = MockService::start(&["--fault-status", "503"]);
        let busy_config = busy.config(dir.path(), |t| t);
        let r = Reconfirmer::new(journal.clone(), client(&busy_config))
            .run_once(now, true)
            .expect("round");
        assert!(r.endpoint_down, "{r:?}");
    }
    // The patient brings the numbers for the unknown receipt.
    journal
        .attach_numbers(
            unknown_id,
            CheckNumbers {
                insurer_number: "01110014".into(),
                symbol: Some("1100456".into()),
                number: "31".into(),
                branch: Some("00".into()),
            },
            date!(1985 - 09 - 14),
        )
        .expect("attach");

    // 3. The service is back.
    let service = MockService::start(&[]);
    let up_config = config_for(dir.path(), &service.addr, "up.toml");
    // Backoff: right after a failure the failed check is not due yet.
    let reconfirmer = Reconfirmer::new(journal.clone(), client(&up_config));
    let r = reconfirmer.run_once(now, false).expect("round");
    assert!(!r.endpoint_down);
    assert_eq!(r.reconfirmed + r.conflicts, r.attempted);
    // Later everything is due; run it twice and twice at once: applied once only.
    let later = now + time::Duration::hours(2);
    let second = Reconfirmer::new(journal.clone(), client(&up_config));
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| reconfirmer.run_once(later, false).expect("round a"));
        let b = s.spawn(|| second.run_once(later, false).expect("round b"));
        (a.join().expect("a"), b.join().expect("b"))
    });
    let settled = r.reconfirmed + a.reconfirmed + b.reconfirmed;
    let conflicts = r.conflicts + a.conflicts + b.conflicts;
    assert_eq!((settled, conflicts), (3, 1), "{r:?} {a:?} {b:?}");
    let again = reconfirmer.run_once(later, true).expect("round again");
    assert_eq!(again.attempted, 0, "nothing left: {again:?}");

    let all = reader
        .list(&Filter {
            limit: None,
            ..Filter::default()
        })
        .expect("list");
    assert_eq!(all.len(), 4, "nothing duplicated");
    let n = reader.get(by_number).expect("get");
    assert_eq!(n.status, CheckStatus::Reconfirmed);
    assert_eq!(
        n.reconfirmed_verdict
            .map(|v| onshi_desk::journal::stored_name(&v))
            .as_deref(),
        Some("valid")
    );
    assert_eq!(
        n.verdict
            .map(|v| onshi_desk::journal::stored_name(&v))
            .as_deref(),
        Some("unreachable"),
        "the desk's verdict is kept"
    );
    assert_eq!(n.name.as_deref(), Some("山田 花子"));
    let c = reader.get(card_id).expect("get");
    assert_eq!(c.status, CheckStatus::Reconfirmed);
    assert!(!c.certificate_held, "certificate dropped once re-confirmed");
    assert_eq!(c.numbers.as_ref().map(|n| n.number.as_str()), Some("1024"));
    let u = reader.get(unknown_id).expect("get");
    assert_eq!(u.status, CheckStatus::Reconfirmed);
    assert_eq!(u.receipt_insurer(), Some("01110014"), "7s replaced");
    assert_eq!(
        u.claim_step
            .map(|v| onshi_desk::journal::stored_name(&v))
            .as_deref(),
        Some("current_numbers")
    );
    let w = reader.get(wrong_id).expect("get");
    assert_eq!(w.status, CheckStatus::Conflict);
    assert!(w.conflict_detail.as_deref().is_some_and(|d| !d.is_empty()));
    // Month end: only the conflict is left for the claim run.
    let open: Vec<CheckId> = reader
        .unresolved(2026, Month::November)
        .expect("report")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(open, vec![wrong_id]);

    // 4. `onshi-desk journal reconfirm` on demand: nothing left to do, nothing duplicated.
    let out = Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .arg("--config")
        .arg(&up_config)
        .args(["journal", "reconfirm", "--json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["attempted"], 0);
    assert_eq!(reader.count().expect("count"), 4);
}

#[test]
fn the_reconfirm_command_reports_a_service_still_down() {
    let dir = tempfile::tempdir().expect("tmp");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .to_string();
    let config = config_for(dir.path(), &closed, "down.toml");
    let journal = Journal::open(&dir.path().join("journal.sqlite3")).expect("journal");
    let search = by_numbers("01130012", "5012345", "1024", "00", date!(1980 - 04 - 01));
    let verdict = client(&config).confirm(&search, AS_OF);
    journal
        .record(NewCheck::from_online(&search, AS_OF, &verdict))
        .expect("record");
    drop(journal);
    let out = Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .arg("--config")
        .arg(&config)
        .args(["journal", "reconfirm"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("まだ応答しません"));
    // The journal named by the configuration was used, and the check is still queued.
    let list = Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .arg("--config")
        .arg(&config)
        .args(["journal", "list", "--json"])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(v[0]["status"], "queued");
    assert_eq!(v[0]["attempts"], 1);
}
