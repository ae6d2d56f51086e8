//! The receipt computer's folders end to end: checks by card through the real card stack
//! (pcscd + vpcd + the virtual card) and the real mock service (mutual TLS on loopback) leave
//! their result files in `face`, read back the way a receipt computer reads them (decoded by
//! the encoding the declaration names).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{card, reader, run_check as desk, MockService};
use serde_json::Value;

/// A desk configuration with the receipt computer's folder at `dir/oqs`.
fn interop_config(service: &MockService, dir: &Path) -> std::path::PathBuf {
    let folder = dir.join("oqs");
    service.config(dir, |t| {
        format!(
            "{t}\n[interop]\nenabled = true\nfolder = \"{}\"\ndesk_id = \"desk1\"\n",
            folder.display()
        )
    })
}

/// A result file as a receipt computer reads it: the encoding from the declaration.
fn read_result(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("result file");
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).to_string();
    let text = if head.contains("encoding=\"Shift_JIS\"") {
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
        assert!(!bad, "{} is valid Shift_JIS", path.display());
        text.into_owned()
    } else {
        String::from_utf8(bytes).expect("UTF-8")
    };
    assert!(text.starts_with("<?xml"), "{text}");
    text
}

fn element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))? + start;
    Some(&text[start..end])
}

/// Every card check writes its result into `face` — valid or not, PIN or visual — named in the
/// output and the journal; an outage writes nothing until 事後確認 settles it; the certificate
/// never leaves in a face file.
#[test]
fn card_checks_leave_their_results_in_the_face_folder() {
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let config = interop_config(&service, dir.path());
    let face = dir.path().join("oqs").join("face");
    let r = reader();
    // (persona, PIN or visual, QualificationValidity or the card refusal's code)
    let cases: &[(&str, Option<&str>, &str, &str)] = &[
        ("valid", Some("1234\n"), "QualificationValidity", "1"),
        ("valid", None, "QualificationValidity", "1"),
        ("small-cert", None, "QualificationValidity", "2"),
        ("pin-blocked", None, "QualificationValidity", "4"),
        ("face-auth", None, "QualificationValidity", "5"),
        ("not-registered", None, "ProcessingResultCode", "PH1001"),
    ];
    let mut names = Vec::new();
    for &(id, pin, field, value) in cases {
        let inserted = r.insert(card(id));
        let out = match pin {
            Some(pin) => desk(
                &config,
                &["--card", "--pin-stdin", "--reader", &r.name],
                pin,
            ),
            None => desk(&config, &["--card", "--visual", "--reader", &r.name], ""),
        };
        r.remove(inserted);
        let v: Value = common::stdout_json(&out);
        let name = v["interop_file"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no interop_file in {v}"))
            .to_owned();
        let text = read_result(&face.join(&name));
        assert_eq!(element(&text, "ReferenceClassification"), Some("1"), "{id}");
        assert_eq!(element(&text, "SegmentOfResult"), Some("1"), "{id}");
        assert_eq!(element(&text, "CharacterCodeIdentifier"), Some("1"), "{id}");
        assert_eq!(element(&text, field), Some(value), "{id}: {text}");
        assert_eq!(element(&text, "MedicalInstitutionCode"), Some("1312345678"));
        let certificate = common::expected_certificate(id);
        let serial = certificate.serial.hex();
        assert!(
            !text.contains(&serial),
            "{id}: the certificate's serial left"
        );
        assert!(!text.contains("ExtUserAuthCertificate"), "{id}");
        names.push(name);
    }
    let valid = read_result(&face.join(&names[0]));
    assert!(element(&valid, "InsuredIdentificationNumber").is_some());
    assert_eq!(
        element(&valid, "InsuredPartialContributionRatio"),
        Some("030")
    );

    // An outage: no file at the desk (事後確認 writes it once the service answers).
    let inserted = r.insert(card("system-error"));
    let out = desk(&config, &["--card", "--visual", "--reader", &r.name], "");
    r.remove(inserted);
    let v: Value = common::stdout_json(&out);
    assert_eq!(v["verdict"], "server_error", "{v}");
    assert!(v["interop_file"].is_null(), "{v}");
    let written: Vec<_> = std::fs::read_dir(&face)
        .expect("face")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written.len(), names.len(), "{written:?}");
    assert!(
        written.iter().all(|n| !n.starts_with('.')),
        "no temporary file left: {written:?}"
    );

    // The journal names each file.
    let journal = onshi_desk::journal::JournalReader::open(&dir.path().join("journal.sqlite3"))
        .expect("journal");
    let mut recorded: Vec<String> = journal
        .list(&onshi_desk::journal::Filter::default())
        .expect("list")
        .into_iter()
        .filter_map(|c| c.interop_file)
        .collect();
    recorded.sort();
    names.sort();
    assert_eq!(recorded, names);
}

/// A request file as a receipt computer writes it (Shift_JIS, straight into `req`).
fn number_request(insurer: &str, symbol: &str, number: &str, birth: &str) -> Vec<u8> {
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"Shift_JIS\" standalone=\"no\"?>\r\n<XmlMsg><MessageHeader><MedicalInstitutionCode>1312345678</MedicalInstitutionCode><ReferenceClassification>2</ReferenceClassification><CharacterCodeIdentifier>1</CharacterCodeIdentifier></MessageHeader><MessageBody><QualificationConfirmSearchInfo><InsurerNumber>{insurer}</InsurerNumber><InsuredCardSymbol>{symbol}</InsuredCardSymbol><InsuredIdentificationNumber>{number}</InsuredIdentificationNumber><Birthdate>{birth}</Birthdate><LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg></QualificationConfirmSearchInfo></MessageBody></XmlMsg>\r\n"
    );
    let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!bad);
    bytes.into_owned()
}

/// Waits (bounded) for `path` to exist.
fn wait_for(path: &Path) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if path.exists() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// `onshi-desk interop serve` (the headless watcher) answers the receipt computer's request
/// files in `res` over the real mock service, moves junk aside to `rejected`, journals each
/// check with its result file's name, and a killed watcher loses nothing: a request dropped
/// while it is down is answered when it is back.
#[test]
fn the_headless_watcher_answers_requests_through_the_real_service() {
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let config = interop_config(&service, dir.path());
    let oqs = dir.path().join("oqs");
    // The shared folder exists (a mounted share); the watcher makes req, res and rejected.
    std::fs::create_dir_all(&oqs).expect("oqs");
    let start = || {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
            .arg("--config")
            .arg(&config)
            .args(["interop", "serve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start interop serve");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufReader::new(out)
                .read_line(&mut line)
                .expect("read the watching line");
        }
        assert!(line.starts_with("watching "), "{line:?}");
        child
    };
    let mut watcher = start();
    let req = oqs.join("req");
    assert!(wait_for(&req), "req is created at start");

    std::fs::write(
        req.join("OQSsiquc01req_0001.xml"),
        number_request("01130012", "5012345", "1024", "19800401"),
    )
    .expect("write request");
    std::fs::write(req.join("OQSsiquc01req_junk.xml"), b"\x00\x01 not xml").expect("junk");
    std::fs::write(req.join("notes.txt"), b"not a request").expect("other file");

    let res = oqs.join("res").join("OQSsiquc01res_0001.xml");
    assert!(wait_for(&res), "the request is answered");
    let text = read_result(&res);
    assert_eq!(element(&text, "SegmentOfResult"), Some("1"), "{text}");
    assert_eq!(element(&text, "QualificationValidity"), Some("1"), "{text}");
    assert_eq!(element(&text, "ArbitraryFileIdentifier"), Some("0001"));
    assert_eq!(element(&text, "ReferenceClassification"), Some("2"));
    assert_eq!(element(&text, "InsuredIdentificationNumber"), Some("1024"));
    // Junk gets an error result (it names itself a request) and leaves nothing in req.
    let junk = oqs.join("res").join("OQSsiquc01res_junk.xml");
    assert!(
        wait_for(&junk),
        "junk named as a request is answered with an error"
    );
    assert_eq!(element(&read_result(&junk), "SegmentOfResult"), Some("9"));

    // Killed (no clean stop): a request dropped meanwhile is answered after the restart.
    let _ = watcher.kill();
    let _ = watcher.wait();
    std::fs::write(
        req.join("OQSsiquc01req_0002.xml"),
        number_request("01130012", "5012345", "1024", "19800401"),
    )
    .expect("write request");
    let mut watcher = start();
    let second = oqs.join("res").join("OQSsiquc01res_0002.xml");
    assert!(wait_for(&second), "answered after the restart");
    let _ = watcher.kill();
    let _ = watcher.wait();

    assert!(req.join("notes.txt").exists(), "other files are left alone");
    let journal = onshi_desk::journal::JournalReader::open(&dir.path().join("journal.sqlite3"))
        .expect("journal");
    let mut files: Vec<String> = journal
        .list(&onshi_desk::journal::Filter::default())
        .expect("list")
        .into_iter()
        .filter_map(|c| c.interop_file)
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["OQSsiquc01res_0001.xml", "OQSsiquc01res_0002.xml"],
        "each check is journaled with its result file (junk is not a check)"
    );
}
