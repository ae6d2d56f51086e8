//! The receipt computer's files end to end: a request file → `RequestProcessor` → the result
//! file's bytes, over the real mock service (in-process, mutual TLS on loopback) and a real
//! journal; results read back the way a receipt computer does (decode by the declaration,
//! parse the XML).
//!
//! Expected files are under `tests/fixtures/interop/`; `ONSHI_BLESS=1` rewrites them (then
//! review the diff).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use onshi_desk::check::{CheckRecorder, FinishedCheck, ResultSink};
use onshi_desk::clock::{FixedClock, SharedClock};
use onshi_desk::config::Config;
use onshi_desk::domain::text::TextEncoding;
use onshi_desk::domain::verdict::{NextStep, Qualification, Verdict, VerdictKind};
use onshi_desk::interop::document::{result_of_check, HeaderContext};
use onshi_desk::interop::xml::{write_document, DocumentEncoding, ReadLimits, Replacement};
use onshi_desk::interop::{FaceWriter, RequestHandler, RequestProcessor};
use onshi_desk::journal::{CheckId, Journal, JournalError, JournalReader, NewCheck};
use onshi_desk::online::OnlineClient;
use onshi_mock::endpoint::{self, RunningServer, ServerConfig, ServerFiles};
use quick_xml::events::Event;
use time::macros::datetime;
use time::OffsetDateTime;

/// 2026-11-21 10:30:12 in Japan: the persona data's "today" (`common::AS_OF`).
const AT: OffsetDateTime = datetime!(2026-11-21 01:30:12 UTC);

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/interop")
}

/// The mock service, in-process over mutual TLS on loopback.
fn service() -> RunningServer {
    let files = ServerFiles::from_pki_dir(&common::pki_dir());
    ServerConfig::load(&files)
        .and_then(endpoint::spawn)
        .expect("mock service")
}

/// A desk configuration for `url` (the service's, or one where nothing listens).
fn config(dir: &Path, url: &str) -> Config {
    let tls = common::pki_dir().join("tls");
    let text = format!(
        "facility_code = \"1312345678\"\n[endpoint]\nurl = \"{url}/\"\nca = {:?}\nclient_certificate = {:?}\nclient_key = {:?}\nconnect_timeout_ms = 2000\ntimeout_ms = 1000\n[journal]\npath = {:?}\n",
        tls.join("server-ca.pem"),
        tls.join("facility.pem"),
        tls.join("facility-key.pem"),
        dir.join("journal.sqlite3"),
    );
    Config::parse(&text, &dir.join("config.toml")).expect("config")
}

fn clock() -> SharedClock {
    Arc::new(FixedClock::at(AT))
}

fn processor(
    config: &Config,
    journal: Arc<dyn CheckRecorder>,
    encoding: DocumentEncoding,
) -> RequestProcessor {
    RequestProcessor::new(
        Arc::new(OnlineClient::new(config).expect("client")),
        journal,
        config.facility_code.clone(),
        encoding,
        ReadLimits::default(),
        clock(),
    )
}

/// One patient's search as a receipt computer writes it.
#[derive(Clone, Copy)]
struct Ask<'a> {
    insurer: &'a str,
    symbol: Option<&'a str>,
    number: &'a str,
    branch: Option<&'a str>,
    birth: &'a str,
}

const fn ask<'a>(
    insurer: &'a str,
    symbol: Option<&'a str>,
    number: &'a str,
    birth: &'a str,
) -> Ask<'a> {
    Ask {
        insurer,
        symbol,
        number,
        branch: None,
        birth,
    }
}

fn search_info(a: &Ask<'_>) -> String {
    let mut s = format!(
        "<QualificationConfirmSearchInfo><InsurerNumber>{}</InsurerNumber>",
        a.insurer
    );
    if let Some(symbol) = a.symbol {
        s += &format!("<InsuredCardSymbol>{symbol}</InsuredCardSymbol>");
    }
    s += &format!(
        "<InsuredIdentificationNumber>{}</InsuredIdentificationNumber>",
        a.number
    );
    if let Some(branch) = a.branch {
        s += &format!("<InsuredBranchNumber>{branch}</InsuredBranchNumber>");
    }
    s += &format!(
        "<Birthdate>{}</Birthdate><LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg></QualificationConfirmSearchInfo>",
        a.birth
    );
    s
}

/// A request file (fixture text written by the test, as a receipt computer would), encoded.
fn request(asks: &[Ask<'_>], classification: &str, encoding: DocumentEncoding) -> Vec<u8> {
    let body: String = asks.iter().map(search_info).collect();
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"{}\" standalone=\"no\"?>\r\n<XmlMsg><MessageHeader><MedicalInstitutionCode>1312345678</MedicalInstitutionCode><ReferenceClassification>{classification}</ReferenceClassification><CharacterCodeIdentifier>{}</CharacterCodeIdentifier></MessageHeader><MessageBody>{body}</MessageBody></XmlMsg>\r\n",
        encoding.declared_name(),
        encoding.character_code(),
    );
    match encoding {
        DocumentEncoding::Utf8 => text.into_bytes(),
        DocumentEncoding::ShiftJis => {
            let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(&text);
            assert!(!bad, "test request not in Shift_JIS");
            bytes.into_owned()
        }
    }
}

/// A result file read back as a receipt computer reads it: the encoding from the
/// declaration, then the XML, as (element path, text) pairs.
struct ReadBack {
    encoding: String,
    leaves: Vec<(String, String)>,
}

impl ReadBack {
    fn of(bytes: &[u8]) -> ReadBack {
        let first_line = bytes.split(|b| *b == b'\n').next().expect("a line");
        let decl = String::from_utf8(first_line.to_vec()).expect("ASCII declaration");
        let encoding = decl
            .split("encoding=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("declared encoding")
            .to_owned();
        let enc = encoding_rs::Encoding::for_label(encoding.as_bytes()).expect("known encoding");
        let (text, _, malformed) = enc.decode(bytes);
        assert!(!malformed, "result bytes are not {encoding}");
        let mut reader = quick_xml::Reader::from_str(&text);
        let mut path: Vec<String> = Vec::new();
        let mut leaves = Vec::new();
        loop {
            match reader.read_event().expect("well-formed result") {
                Event::Start(e) => path.push(e.name().as_ref().to_owned()),
                Event::End(_) => {
                    path.pop();
                }
                Event::Text(t) => {
                    let value = t.xml10_content().into_owned();
                    if !value.trim().is_empty() {
                        let unescaped = quick_xml::escape::unescape(&value)
                            .expect("escaped text")
                            .into_owned();
                        leaves.push((path.join("/"), unescaped));
                    }
                }
                Event::GeneralRef(r) => {
                    // &amp; and friends arrive as references: append to the last text.
                    let resolved = match r.xml10_content().as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unexpected reference {other}"),
                    };
                    let p = path.join("/");
                    match leaves.last_mut() {
                        Some((lp, v)) if *lp == p => v.push_str(resolved),
                        _ => leaves.push((p, resolved.to_owned())),
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        ReadBack { encoding, leaves }
    }

    fn all(&self, path: &str) -> Vec<&str> {
        self.leaves
            .iter()
            .filter(|(p, _)| p == path || p.ends_with(&format!("/{path}")))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn get(&self, path: &str) -> Option<&str> {
        self.all(path).first().copied()
    }
}

fn journal(dir: &Path) -> Journal {
    Journal::open(&dir.join("journal.sqlite3")).expect("journal")
}

fn records(dir: &Path) -> Vec<onshi_desk::journal::CheckRecord> {
    let reader = JournalReader::open(&dir.join("journal.sqlite3")).expect("reader");
    reader.list(&Default::default()).expect("records")
}

const VALID: Ask = Ask {
    insurer: "01130012",
    symbol: Some("5012345"),
    number: "1024",
    branch: Some("00"),
    birth: "19800401",
};

/// (id, search, SegmentOfResult, code, QualificationValidity, records, journal verdict)
type Case<'a> = (
    &'a str,
    Ask<'a>,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    usize,
    &'a str,
);

/// Each verdict the mock gives by numbers becomes a result file the receipt computer reads,
/// and each check is journaled with the result file's name before the answer returns.
#[test]
fn every_verdict_by_numbers_answers_with_a_result_file() {
    let server = service();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), &server.base_url());
    let journal = journal(dir.path());
    let p = processor(
        &config,
        Arc::new(journal.clone()),
        DocumentEncoding::ShiftJis,
    );
    let cases: &[Case] = &[
        ("valid", VALID, "1", None, Some("1"), 1, "valid"),
        (
            "late-elderly",
            ask("39402011", None, "12345678", "19490303"),
            "1",
            None,
            Some("1"),
            1,
            "valid",
        ),
        (
            "kokuho",
            ask("  138057", Some("世01"), "123456", "19880620"),
            "1",
            None,
            Some("1"),
            1,
            "valid",
        ),
        (
            "invalid",
            ask("06040125", Some("22"), "3344", "20150505"),
            "1",
            None,
            Some("2"),
            1,
            "invalid",
        ),
        (
            "new-exists",
            ask("01140011", Some("1401234"), "77", "19751231"),
            "1",
            None,
            Some("3"),
            2,
            "invalid_new_exists",
        ),
        (
            "no-record",
            ask("06010391", None, "999999", "19800401"),
            "1",
            None,
            Some("4"),
            0,
            "no_record",
        ),
        (
            "system-error",
            ask("01150010", Some("1509876"), "1732", "19821111"),
            "9",
            Some("PH9001"),
            None,
            0,
            "server_error",
        ),
        (
            "slow",
            ask("06139992", Some("FAULT"), "DELAY3000", "19700101"),
            "9",
            Some("PH9502"),
            None,
            0,
            "timeout",
        ),
        (
            "liar",
            ask("06139992", Some("FAULT"), "WRONGID", "19700101"),
            "9",
            Some("PH9503"),
            None,
            0,
            "answer_mismatch",
        ),
    ];
    for (id, search, segment, code, validity, n_records, verdict) in cases {
        let name = format!("OQSsiquc01req_{id}.xml");
        let answer = p
            .handle(&name, &request(&[*search], "2", DocumentEncoding::ShiftJis))
            .unwrap_or_else(|r| panic!("{id}: rejected: {}", r.reason));
        assert_eq!(answer.file_name, format!("OQSsiquc01res_{id}.xml"));
        let r = ReadBack::of(&answer.bytes);
        assert_eq!(r.encoding, "Shift_JIS", "{id}");
        assert_eq!(r.get("MessageHeader/CharacterCodeIdentifier"), Some("1"));
        assert_eq!(
            r.get("MessageHeader/SegmentOfResult"),
            Some(*segment),
            "{id}"
        );
        assert_eq!(r.get("MessageHeader/ArbitraryFileIdentifier"), Some(*id));
        assert_eq!(r.get("MessageHeader/ReferenceClassification"), Some("2"));
        assert_eq!(r.get("MessageHeader/ErrorCode"), *code, "{id}");
        assert_eq!(
            r.get("MessageBody/QualificationValidity"),
            *validity,
            "{id}"
        );
        assert_eq!(
            r.all("ResultOfQualificationConfirmation/InsuredIdentificationNumber")
                .len(),
            *n_records,
            "{id}"
        );
        if *segment == "9" {
            let message = r.get("MessageHeader/ErrorMessage").expect("message");
            assert!(
                message.contains("再照会") || message.contains("システム管理者"),
                "{id}: {message}"
            );
        }
        let recorded = records(dir.path());
        let rec = recorded
            .iter()
            .find(|c| c.interop_file.as_deref() == Some(answer.file_name.as_str()))
            .unwrap_or_else(|| panic!("{id}: not journaled with its result file"));
        assert_eq!(
            rec.verdict
                .map(|v| onshi_desk::journal::stored_name(&v))
                .as_deref(),
            Some(*verdict),
            "{id}"
        );
    }
    // The details a receipt computer registers the patient with.
    let answer = p
        .handle(
            "OQSsiquc01req_again.xml",
            &request(&[VALID], "2", DocumentEncoding::ShiftJis),
        )
        .expect("answer");
    let r = ReadBack::of(&answer.bytes);
    assert_eq!(r.get("Name"), Some("山田 花子"));
    assert_eq!(r.get("NameKana"), Some("ﾔﾏﾀﾞ ﾊﾅｺ"));
    assert_eq!(r.get("InsuredPartialContributionRatio"), Some("030"));
    assert_eq!(
        r.get("LimitApplicationCertificateRelatedInfo/LimitApplicationCertificateClassification"),
        Some("A03")
    );
    assert_eq!(r.get("QualificationConfirmationDate"), Some("20261121"));
    assert_eq!(r.get("ProcessExecutionTime"), Some("20261121103012"));
}

#[test]
fn an_unreachable_service_is_an_error_result_and_a_queued_check() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), &format!("https://127.0.0.1:{port}"));
    let p = processor(
        &config,
        Arc::new(journal(dir.path())),
        DocumentEncoding::Utf8,
    );
    let answer = p
        .handle(
            "OQSsiquc01req_down.xml",
            &request(&[VALID], "2", DocumentEncoding::Utf8),
        )
        .expect("answered");
    let r = ReadBack::of(&answer.bytes);
    assert_eq!(r.encoding, "UTF-8");
    assert_eq!(r.get("SegmentOfResult"), Some("9"));
    assert_eq!(r.get("ErrorCode"), Some("PH9501"));
    assert_eq!(
        r.get("ErrorMessage"),
        Some("資格確認システムに接続できません。時間をおいて再照会してください。")
    );
    let recorded = records(dir.path());
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].status,
        onshi_desk::journal::CheckStatus::Queued,
        "an outage waits for 事後確認"
    );
}

/// The result of the `valid` persona in both encodings, byte for byte (fixed clock and id).
#[test]
fn result_files_are_byte_for_byte_the_expected_ones() {
    let server = service();
    for (encoding, file) in [
        (DocumentEncoding::ShiftJis, "valid.shift_jis.xml"),
        (DocumentEncoding::Utf8, "valid.utf-8.xml"),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let config = config(dir.path(), &server.base_url());
        let p = processor(&config, Arc::new(journal(dir.path())), encoding);
        // The request in the other encoding: the answer's encoding is the setting's.
        let other = match encoding {
            DocumentEncoding::ShiftJis => DocumentEncoding::Utf8,
            DocumentEncoding::Utf8 => DocumentEncoding::ShiftJis,
        };
        let answer = p
            .handle("OQSsiquc01req_0001.xml", &request(&[VALID], "2", other))
            .expect("answer");
        let expected_path = fixtures_dir().join(file);
        if std::env::var_os("ONSHI_BLESS").is_some() {
            std::fs::create_dir_all(fixtures_dir()).expect("dir");
            std::fs::write(&expected_path, &answer.bytes).expect("bless");
        }
        let expected = std::fs::read(&expected_path).expect("expected file");
        assert!(
            answer.bytes == expected,
            "{file} differs:\n{}",
            String::from_utf8_lossy(&answer.bytes)
        );
    }
}

/// 外字 (a character Shift_JIS lacks) is written as ● and reported by element; 髙 (in CP932)
/// is kept. The report names the element, never the name.
#[test]
fn gaiji_becomes_a_mark_and_is_reported_by_element() {
    let mut verdict = Verdict::bare(VerdictKind::Valid, NextStep::ClaimNormally);
    verdict.validity = Some(1);
    verdict.qualifications = vec![Qualification {
        name: Some("𠮷田 髙子".into()),
        insured_name: Some("𠮷田 𠮷男".into()),
        ..Default::default()
    }];
    let check = FinishedCheck {
        id: CheckId(7),
        by_card: true,
        on: common::AS_OF,
        at: AT,
        verdict: &verdict,
    };
    let facility = onshi_desk::domain::FacilityCode::parse("1312345678").expect("code");
    let ctx = HeaderContext {
        facility: &facility,
        file_id: "f1",
        encoding: DocumentEncoding::ShiftJis,
    };
    let out = write_document(&result_of_check(&check, &ctx), DocumentEncoding::ShiftJis)
        .expect("document");
    let r = ReadBack::of(&out.bytes);
    assert_eq!(r.get("Name"), Some("●田 髙子"));
    assert_eq!(r.get("InsuredName"), Some("●田 ●男"));
    assert_eq!(
        out.replaced,
        vec![
            Replacement {
                element: "InsuredName".into(),
                count: 2
            },
            Replacement {
                element: "Name".into(),
                count: 1
            }
        ]
    );
    // UTF-8 keeps it.
    let ctx = HeaderContext {
        encoding: DocumentEncoding::Utf8,
        ..ctx
    };
    let out =
        write_document(&result_of_check(&check, &ctx), DocumentEncoding::Utf8).expect("document");
    assert!(out.replaced.is_empty());
    assert_eq!(ReadBack::of(&out.bytes).get("Name"), Some("𠮷田 髙子"));
}

/// Hostile and broken request files: an error result or a rejection, never a panic, and
/// nothing recorded or asked.
#[test]
fn hostile_requests_are_answered_with_errors_or_rejected() {
    let dir = tempfile::tempdir().expect("tmp");
    // Nothing listens: a request that got as far as asking would show up as a queued check.
    let config = config(dir.path(), "https://127.0.0.1:9");
    let p = processor(
        &config,
        Arc::new(journal(dir.path())),
        DocumentEncoding::ShiftJis,
    );
    let laughs = {
        let mut s =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE XmlMsg [\n<!ENTITY a0 \"lol\">\n");
        for i in 1..10 {
            let prev = format!("&a{};", i - 1);
            s += &format!("<!ENTITY a{i} \"{}\">\n", prev.repeat(10));
        }
        s + "]>\n<XmlMsg><MessageBody>&a9;</MessageBody></XmlMsg>"
    };
    let external = "<?xml version=\"1.0\"?><!DOCTYPE XmlMsg [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><XmlMsg>&x;</XmlMsg>";
    let deep = format!("<XmlMsg>{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    let huge = {
        let mut v = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg><MessageBody>".to_vec();
        v.resize(50 * 1024 * 1024, b'a');
        v
    };
    let valid = request(&[VALID], "2", DocumentEncoding::ShiftJis);
    let truncated = valid[..valid.len() / 2].to_vec();
    // Declared UTF-8, written Shift_JIS: a kanji's bytes are malformed UTF-8.
    let kanji = request(
        &[ask("  138057", Some("世01"), "123456", "19880620")],
        "2",
        DocumentEncoding::ShiftJis,
    );
    let at = kanji
        .windows(b"Shift_JIS".len())
        .position(|w| w == b"Shift_JIS")
        .expect("declaration");
    let wrong_encoding = [&kanji[..at], b"UTF-8".as_slice(), &kanji[at + 9..]].concat();
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("laughs", laughs.into_bytes()),
        ("external", external.as_bytes().to_vec()),
        ("deep", deep.into_bytes()),
        ("huge", huge),
        ("truncated", truncated),
        ("wrong-encoding", wrong_encoding),
        ("junk", junk),
        ("empty", Vec::new()),
        (
            "euc",
            b"<?xml version=\"1.0\" encoding=\"EUC-JP\"?><XmlMsg/>".to_vec(),
        ),
    ];
    for (id, bytes) in cases {
        let answer = p
            .handle(&format!("OQSsiquc01req_{id}.xml"), &bytes)
            .unwrap_or_else(|r| panic!("{id}: rejected instead of answered: {}", r.reason));
        let r = ReadBack::of(&answer.bytes);
        assert_eq!(r.get("SegmentOfResult"), Some("9"), "{id}");
        assert_eq!(r.get("ErrorCode"), Some("PH9601"), "{id}");
        assert!(
            !String::from_utf8_lossy(&answer.bytes).contains("root:"),
            "{id}: nothing external read"
        );
    }
    // A name that walks folders or is not a request: rejected, not answered.
    for name in [
        "OQSsiquc01req_../../etc/passwd.xml",
        "OQSsiquc01req_..\\..\\x.xml",
        "OQSsiquc01req_.xml",
        &format!("OQSsiquc01req_{}.xml", "a".repeat(65)),
        "notes.txt",
    ] {
        assert!(p.handle(name, &valid).is_err(), "{name} accepted");
    }
    assert!(!p.accepts("notes.txt"));
    assert!(p.accepts("OQSsiquc01req_1.xml"));
    assert!(records(dir.path()).is_empty(), "nothing was checked");
}

/// Bad fields and card requests are answered (error results naming the field), not rejected.
#[test]
fn bad_fields_and_card_requests_get_error_results() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), "https://127.0.0.1:9");
    let p = processor(
        &config,
        Arc::new(journal(dir.path())),
        DocumentEncoding::Utf8,
    );
    let bad_birth = Ask {
        birth: "1980-13-45",
        ..VALID
    };
    let r = ReadBack::of(
        &p.handle(
            "OQSsiquc01req_b.xml",
            &request(&[bad_birth], "2", DocumentEncoding::Utf8),
        )
        .expect("answered")
        .bytes,
    );
    assert_eq!(r.get("SegmentOfResult"), Some("9"));
    assert_eq!(r.get("ErrorCode"), Some("PH9602"));
    assert!(
        r.get("ErrorMessage")
            .is_some_and(|m| m.contains("生年月日の形式が正しくありません")),
        "{:?}",
        r.get("ErrorMessage")
    );
    let bad_insurer = Ask {
        insurer: "０１１３００１３",
        ..VALID
    };
    let r = ReadBack::of(
        &p.handle(
            "OQSsiquc01req_i.xml",
            &request(&[bad_insurer], "2", DocumentEncoding::Utf8),
        )
        .expect("answered")
        .bytes,
    );
    assert!(r
        .get("ErrorMessage")
        .is_some_and(|m| m.contains("保険者番号")));
    let r = ReadBack::of(
        &p.handle(
            "OQSsiquc01req_c.xml",
            &request(&[VALID], "1", DocumentEncoding::Utf8),
        )
        .expect("answered")
        .bytes,
    );
    assert_eq!(r.get("ErrorCode"), Some("PH9603"));
    assert!(r
        .get("ErrorMessage")
        .is_some_and(|m| m.contains("カードリーダー")));
    assert!(records(dir.path()).is_empty());
}

/// A journal that cannot record.
struct FullJournal;

impl CheckRecorder for FullJournal {
    fn record(&self, _check: NewCheck) -> Result<CheckId, JournalError> {
        Err(JournalError::Full("test: disk full".into()))
    }
}

/// A check the journal refused is never answered with its verdict.
#[test]
fn a_journal_that_refuses_gets_an_error_result_without_the_verdict() {
    let server = service();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), &server.base_url());
    let p = processor(&config, Arc::new(FullJournal), DocumentEncoding::ShiftJis);
    let answer = p
        .handle(
            "OQSsiquc01req_full.xml",
            &request(&[VALID], "2", DocumentEncoding::ShiftJis),
        )
        .expect("answered");
    let r = ReadBack::of(&answer.bytes);
    assert_eq!(r.get("SegmentOfResult"), Some("9"));
    assert_eq!(r.get("ErrorCode"), Some("PH9604"));
    assert!(r
        .get("ErrorMessage")
        .is_some_and(|m| m.contains("受付記録を保存できませんでした")));
    assert_eq!(r.get("QualificationValidity"), None);
    assert_eq!(r.get("Name"), None, "no unrecorded result leaks out");
    // In a batch, each unrecorded patient is an error unit.
    let answer = p
        .handle(
            "OQSmuquc01req_full.xml",
            &request(&[VALID, VALID], "2", DocumentEncoding::ShiftJis),
        )
        .expect("answered");
    let r = ReadBack::of(&answer.bytes);
    assert_eq!(
        r.all("BulkConfirmUnit/ProcessingResultCode"),
        vec!["PH9604", "PH9604"]
    );
    assert_eq!(r.get("NumberOfError"), Some("2"));
    assert_eq!(r.get("Name"), None);
}

/// The face writer puts the desk's results into `face` (whole files, by rename) and nothing
/// when interop is off.
#[test]
fn the_face_writer_announces_checks_into_the_face_folder() {
    let dir = tempfile::tempdir().expect("tmp");
    let facility = onshi_desk::domain::FacilityCode::parse("1312345678").expect("code");
    let mut verdict = Verdict::bare(VerdictKind::Valid, NextStep::ClaimNormally);
    verdict.qualifications = vec![Qualification {
        name: Some("山田 花子".into()),
        ..Default::default()
    }];
    let check = FinishedCheck {
        id: CheckId(42),
        by_card: true,
        on: common::AS_OF,
        at: AT,
        verdict: &verdict,
    };
    let writer = FaceWriter::new(
        Some(dir.path().to_owned()),
        facility.clone(),
        DocumentEncoding::ShiftJis,
        "desk1".into(),
        "OQSsiquc01res_face_".into(),
    );
    let name = writer.announce(&check).expect("written").expect("a name");
    assert_eq!(name, "OQSsiquc01res_face_desk1_20261121103012_42.xml");
    let files: Vec<String> = std::fs::read_dir(dir.path().join("face"))
        .expect("face folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, vec![name.clone()], "no temporary file left behind");
    let r = ReadBack::of(&std::fs::read(dir.path().join("face").join(&name)).expect("file"));
    assert_eq!(r.get("ReferenceClassification"), Some("1"));
    assert_eq!(
        r.get("ArbitraryFileIdentifier"),
        Some("desk1_20261121103012_42")
    );
    assert_eq!(r.get("Name"), Some("山田 花子"));

    let off_dir = tempfile::tempdir().expect("tmp");
    let off = FaceWriter::new(
        None,
        facility,
        DocumentEncoding::ShiftJis,
        "desk1".into(),
        "OQSsiquc01res_face_".into(),
    );
    assert_eq!(off.announce(&check), Ok(None));
    assert!(std::fs::read_dir(off_dir.path())
        .expect("dir")
        .next()
        .is_none());
    // From the configuration: off unless enabled.
    let config = config(dir.path(), "https://127.0.0.1:9");
    assert!(!config.interop.enabled);
    assert_eq!(config.interop.encoding, TextEncoding::ShiftJis);
    assert_eq!(FaceWriter::from_config(&config).announce(&check), Ok(None));
}

/// A batch request: one unit per patient in order, each journaled, a bad row an error unit.
#[test]
fn a_batch_request_answers_every_patient_in_order() {
    let server = service();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), &server.base_url());
    let p = processor(
        &config,
        Arc::new(journal(dir.path())),
        DocumentEncoding::ShiftJis,
    );
    let bad = Ask {
        birth: "not a date",
        ..VALID
    };
    let unknown = ask("06010391", None, "999999", "19800401");
    let answer = p
        .handle(
            "OQSmuquc01req_b1.xml",
            &request(&[VALID, bad, unknown], "2", DocumentEncoding::ShiftJis),
        )
        .expect("answered");
    assert_eq!(answer.file_name, "OQSmuquc01res_b1.xml");
    let r = ReadBack::of(&answer.bytes);
    assert_eq!(r.get("NumberOfProcessingResult"), Some("3"));
    assert_eq!(r.get("NumberOfNormalProcessing"), Some("2"));
    assert_eq!(r.get("NumberOfError"), Some("1"));
    assert_eq!(r.get("ReceptionNumber"), Some("b1"));
    assert_eq!(
        r.all("BulkConfirmUnit/ProcessingResultStatus"),
        vec!["1", "2", "1"]
    );
    assert_eq!(
        r.all("BulkConfirmUnit/QualificationValidity"),
        vec!["1", "4"]
    );
    assert_eq!(
        r.all("BulkConfirmUnit/QualificationConfirmSearchInfo/Birthdate"),
        vec!["19800401", "not a date", "19800401"]
    );
    assert_eq!(
        r.all("BulkConfirmUnit/ProcessingResultCode"),
        vec!["PH9602"]
    );
    let recorded = records(dir.path());
    assert_eq!(recorded.len(), 2, "each checked patient journaled");
    assert!(recorded
        .iter()
        .all(|c| c.interop_file.as_deref() == Some("OQSmuquc01res_b1.xml")));
}

/// `onshi-desk interop batch`: a Shift_JIS CSV from Excel in, the result CSV (read back as
/// Excel would: BOM, Japanese header) and the batch XML out; a bad row is an error row.
#[test]
fn the_batch_command_answers_a_csv_row_by_row() {
    let server = service();
    let dir = tempfile::tempdir().expect("tmp");
    let tls = common::pki_dir().join("tls");
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            "facility_code = \"1312345678\"\n[endpoint]\nurl = \"{}/\"\nca = {:?}\nclient_certificate = {:?}\nclient_key = {:?}\n[journal]\npath = \"journal.sqlite3\"\n",
            server.base_url(),
            tls.join("server-ca.pem"),
            tls.join("facility.pem"),
            tls.join("facility-key.pem"),
        ),
    )
    .expect("config");
    let csv = "保険者番号,記号,番号,枝番,生年月日\r\n01130012,5012345,1024,00,19800401\r\n01130012,5012345,1024,00,昭和99年\r\n０６０１０３９１,,999999,,1980-04-01\r\n";
    let input = dir.path().join("予約.csv");
    std::fs::write(&input, encoding_rs::SHIFT_JIS.encode(csv).0).expect("csv");
    let out_dir = dir.path().join("out");
    let out = common::desk_command()
        .arg("--config")
        .arg(&config_path)
        .args(["interop", "batch"])
        .arg(&input)
        .arg("--out")
        .arg(&out_dir)
        .arg("--json")
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = common::stdout_json(&out);
    assert_eq!(summary["rows"], 3, "{summary}");
    assert_eq!(summary["checked"], 2, "{summary}");
    assert_eq!(summary["errors"], 1, "{summary}");
    // The CSV as Excel opens it: UTF-8 with BOM (the journal's default), a Japanese header.
    let bytes = std::fs::read(common::host_path(
        summary["csv"].as_str().expect("csv path"),
    ))
    .expect("csv");
    let text =
        std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").expect("BOM")).expect("utf-8");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("行,保険者番号,記号,番号,枝番,生年月日,確認結果,負担割合,氏名"));
    assert!(
        lines[1].contains("資格は有効です")
            && lines[1].contains("3割")
            && lines[1].contains("山田 花子"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("生年月日"), "bad row named: {}", lines[2]);
    assert!(lines[3].contains("該当資格なし"), "{}", lines[3]);
    let xml = std::fs::read(common::host_path(
        summary["xml"].as_str().expect("xml path"),
    ))
    .expect("xml");
    let r = ReadBack::of(&xml);
    assert_eq!(r.get("NumberOfProcessingResult"), Some("3"));
    assert_eq!(
        r.all("BulkConfirmUnit/ProcessingResultStatus"),
        vec!["1", "2", "1"]
    );
    assert_eq!(records(dir.path()).len(), 2, "each checked row journaled");

    // A file that is not a usable CSV: a clear error, nothing checked.
    std::fs::write(&input, "名前,電話\r\nx,y\r\n").expect("csv");
    let out = common::desk_command()
        .arg("--config")
        .arg(&config_path)
        .args(["interop", "batch"])
        .arg(&input)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("保険者番号"));
}

/// `onshi-desk interop serve`, the process a clinic leaves running: a request file dropped into
/// `req` is answered in `res` through the real service. The folder and every file in the
/// configuration are given as the program's platform writes them: under Wine (scripts/
/// test-windows) Windows paths with a drive letter and backslashes.
#[test]
fn the_serve_command_answers_a_request_dropped_into_req() {
    let server = service();
    let dir = tempfile::tempdir().expect("tmp");
    let tls = common::pki_dir().join("tls");
    let oqs = dir.path().join("OQS");
    std::fs::create_dir_all(oqs.join("req")).expect("req");
    let config_path = dir.path().join("config.toml");
    // TOML literal strings: a Windows path's backslashes stay as they are.
    std::fs::write(
        &config_path,
        format!(
            "facility_code = \"1312345678\"\n[endpoint]\nurl = \"{}/\"\nca = '{}'\nclient_certificate = '{}'\nclient_key = '{}'\n[journal]\npath = '{}'\n[interop]\nenabled = true\nfolder = '{}'\ndesk_id = \"desk1\"\npoll_ms = 100\n",
            server.base_url(),
            common::exe_path(&tls.join("server-ca.pem")),
            common::exe_path(&tls.join("facility.pem")),
            common::exe_path(&tls.join("facility-key.pem")),
            common::exe_path(&dir.path().join("journal.sqlite3")),
            common::exe_path(&oqs),
        ),
    )
    .expect("config");
    let log = std::fs::File::create(dir.path().join("serve.log")).expect("log");
    let mut child = common::desk_command()
        .arg("--config")
        .arg(common::exe_path(&config_path))
        .args(["interop", "serve"])
        .env("ONSHI_CONFIG", "/nonexistent/onshi-config.toml")
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("interop serve");
    // Written as a receipt computer does: a temporary name, then the final one.
    let partial = oqs.join("req").join("OQSsiquc01req_w1.xml.partial");
    std::fs::write(&partial, request(&[VALID], "2", DocumentEncoding::ShiftJis)).expect("req");
    std::fs::rename(&partial, oqs.join("req").join("OQSsiquc01req_w1.xml")).expect("rename");
    let result = oqs.join("res").join("OQSsiquc01res_w1.xml");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while !result.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let serve_log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    let bytes = std::fs::read(&result)
        .unwrap_or_else(|e| panic!("no result file ({e}); serve said:\n{serve_log}"));
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad, "result is Shift_JIS");
    assert!(
        text.contains("<QualificationValidity>1</QualificationValidity>"),
        "{text}"
    );
    assert_eq!(records(dir.path()).len(), 1, "the check is journaled");
}
