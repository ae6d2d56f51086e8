//! `onshi-desk claim …` as a process: plans and receipts from input documents, invalid and
//! hostile input, and `--reconfirm` against the real mock service (mutual TLS on loopback).
//! No card, no pcscd.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::MockService;
use serde_json::Value;

const AS_OF: &str = "2026-11-21";

fn desk(config: Option<&Path>, args: &[&str], stdin: &[u8]) -> Output {
    let args: Vec<&str> = ["claim"]
        .into_iter()
        .chain(args.iter().copied())
        .chain(["--as-of", AS_OF])
        .collect();
    common::run_desk(config, &args, stdin)
}

fn plan(doc: &str) -> Output {
    desk(None, &["plan", "--json", "-"], doc.as_bytes())
}

fn json(out: &Output) -> Value {
    common::stdout_json(out)
}

fn problem_fields(v: &Value) -> Vec<String> {
    v["problems"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The 有効 persona of `mock-server/fixtures/default.toml`, shown as the お知らせ alone.
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
fn plan_from_a_file_with_evidence_shown_with_the_card() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("situation.json");
    std::fs::write(
        &file,
        r#"{"outcome": "card_unreadable", "patient": {"birthdate": "S55.4.1"},
            "evidence": [{"kind": "myna_portal_pdf", "with_card": true, "not_lost_confirmed": true,
              "numbers": {"insurer_number": "０６０１０３９１", "symbol": "12", "number": "345", "branch": "1"}}]}"#,
    )
    .expect("write");
    let out = desk(None, &["plan", "--json", &file.to_string_lossy()], b"");
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["step"], "current_numbers", "{v}");
    assert_eq!(v["step_number"], 1);
    assert_eq!(v["numbers"]["insurer_number"], "06010391");
    assert_eq!(v["numbers"]["branch"], "01");
    assert_eq!(v["numbers_source"]["evidence"], "myna_portal_pdf");
    assert_eq!(v["ratio"], 3);
    assert_eq!(v["check_date"], AS_OF, "check date defaults to --as-of");
    assert!(v["reason_ja"]
        .as_str()
        .is_some_and(|s| s.contains("マイナポータル")));
    assert!(v["reason_en"].is_string());
    assert_eq!(v["reconfirmable"], true);
}

/// No card and the お知らせ alone after 2026-03-31: not ③ (no card was presented) but "bring
/// the 資格確認書", the notice's numbers offered for a re-check.
#[test]
fn plan_rejects_the_notice_alone_and_asks_for_the_certificate() {
    let out = plan(NOTICE_ALONE);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["step"], "bring_certificate", "{v}");
    assert_eq!(v["step_number"], serde_json::Value::Null);
    assert_eq!(v["ratio"], serde_json::Value::Null);
    assert_eq!(v["rejected"][0]["kind"], "qualification_notice");
    assert!(v["rejected"][0]["reason_ja"]
        .as_str()
        .is_some_and(|s| s.contains("2026年3月31日")));
    assert_eq!(v["reconfirm"]["advised"], true);
}

#[test]
fn plan_with_old_numbers_is_step_two() {
    let v = json(&plan(
        r#"{"outcome": "invalid", "old_numbers": {"insurer_number": "138057", "number": "12345"}}"#,
    ));
    assert_eq!(v["step"], "old_numbers", "{v}");
    assert_eq!(v["ratio_basis"], "in_doubt");
}

/// A past record the patient cannot confirm is ② with its numbers, whatever failed online.
#[test]
fn plan_with_an_unconfirmed_past_record_is_step_two() {
    let v = json(&plan(
        r#"{"outcome": "no_record", "patient": {"birthdate": "S55.4.1"},
            "evidence": [{"kind": "past_record",
              "numbers": {"insurer_number": "138057", "number": "12345"}}]}"#,
    ));
    assert_eq!(v["step"], "old_numbers", "{v}");
    assert_eq!(v["numbers_source"]["source"], "past_record");
    assert_eq!(v["numbers"]["insurer_number"], "138057");
    assert_eq!(v["reconfirm"]["advised"], true);
}

#[test]
fn receipts_as_records_and_json() {
    let records = |doc: &str, extra: &[&str]| {
        let mut args = vec!["receipt", "--json", "-", "--format", "records"];
        args.extend_from_slice(extra);
        let out = desk(None, &args, doc.as_bytes());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let declaration = r#"{"step": "self_declaration", "declaration": {
        "insurance_kind": "被用者保険", "address": "東京都千代田区霞が関１－２－２",
        "employer": "霞が関商事", "phone": "03-1234-5678"}}"#;
    assert_eq!(
        records(declaration, &[]),
        "HO,77777777,,777777777,,,,,,,,,,,\nCO,99,1,810000001,不詳　住所：東京都千代田区霞が関1-2-2　事業所：霞が関商事　電話：03-1234-5678\n"
    );
    assert!(records(declaration, &["--check-digit-insurer"]).starts_with("HO,77777779,"));
    let late = r#"{"step": "self_declaration", "declaration": {"insurance_kind": "late_elderly"}}"#;
    assert_eq!(
        records(late, &[]),
        "HO,77777777,,77777777,,,,,,,,,,,\nCO,99,1,810000001,不詳\n"
    );
    let old = r#"{"step": "old_numbers", "numbers": {"insurer_number": "138057", "symbol": "千代田", "number": "12345", "branch": "01"}}"#;
    assert_eq!(
        records(old, &[]),
        "HO,  138057,千代田,12345,,,,,,,,,,,\nSN,1,01,,,,01,,\n"
    );
    let out = desk(None, &["receipt", "--json", "-"], old.as_bytes());
    let v = json(&out);
    assert_eq!(v["step"], "old_numbers");
    assert_eq!(v["insurer_number"], "138057");
    assert_eq!(v["branch"], "01");
    assert_eq!(v["records"][0], "HO,  138057,千代田,12345,,,,,,,,,,,");
}

#[test]
fn malformed_input_lists_every_problem_and_exits_2() {
    let out = plan(
        r#"{"check_date": "平成31年5月1日", "outcome": "maybe",
            "patient": {"birthdate": "2031-01-01"},
            "evidence": [{"kind": "qualification_certificate",
              "numbers": {"insurer_number": "33120016", "number": "１\u0000"}}]}"#,
    );
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["error"]["kind"], "invalid_input");
    let fields = problem_fields(&v);
    for want in [
        "check_date",
        "outcome",
        "patient.birthdate",
        "evidence[0].numbers.insurer_number",
        "evidence[0].numbers.number",
    ] {
        assert!(fields.iter().any(|f| f == want), "{want}: {fields:?}");
    }
    for p in v["problems"].as_array().into_iter().flatten() {
        assert!(p["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(p["detail"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("check_date: ") && stderr.contains("期間外"),
        "{stderr}"
    );
    // Receipt errors in records format: stderr only, same exit code.
    let out = desk(
        None,
        &["receipt", "--json", "-", "--format", "records"],
        br#"{"step": "old_numbers", "numbers": {"insurer_number": "0113001"}}"#,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("numbers.insurer_number") && stderr.contains("numbers.number"));
}

#[test]
fn hostile_input_is_refused_cleanly() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "huge",
            format!(r#"{{"outcome": "{}"}}"#, "x".repeat(200_000)).into_bytes(),
        ),
        ("not utf-8", b"{\"outcome\": \"\xff\xfe\"}".to_vec()),
        ("wrong type", br#"{"outcome": ["no_card"]}"#.to_vec()),
        (
            "unknown field",
            br#"{"outcome": "no_card", "admin": true}"#.to_vec(),
        ),
        ("deep nesting", "[".repeat(100_000).into_bytes()),
        ("empty", Vec::new()),
        ("not an object", b"42".to_vec()),
    ];
    for (what, doc) in cases {
        let out = desk(None, &["plan", "--json", "-"], &doc);
        assert_eq!(out.status.code(), Some(2), "{what}");
        let v = json(&out);
        assert_eq!(problem_fields(&v), ["$"], "{what}: {v}");
    }
    let long_name = format!(
        r#"{{"outcome": "no_card", "evidence": [{{"kind": "past_record", "unchanged": true, "name": "{}",
            "numbers": {{"insurer_number": "01130012", "number": "1"}}}}]}}"#,
        "名".repeat(5_000)
    );
    let v = json(&plan(&long_name));
    assert_eq!(problem_fields(&v), ["evidence[0].name"]);
    let out = desk(
        None,
        &["plan", "--json", "/nonexistent/situation.json"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn reconfirm_turns_a_rejected_notice_into_a_confirmed_step_one() {
    let service = MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), |t| t);
    let out = desk(
        Some(&config),
        &["plan", "--json", "-", "--reconfirm"],
        NOTICE_ALONE.as_bytes(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["step"], "current_numbers", "{v}");
    assert_eq!(v["numbers_source"]["source"], "online_by_number");
    assert_eq!(v["numbers"]["insurer_number"], "01130012");
    assert_eq!(v["numbers"]["number"], "1024");
    assert_eq!(v["ratio"], 3);
    assert_eq!(v["reconfirmation"]["verdict"], "valid");
    assert_eq!(v["reconfirmation"]["applied"], true);
    assert_eq!(
        v["rejected"][0]["kind"], "qualification_notice",
        "kept for the record"
    );

    // Numbers the service does not know: the plan stays as it was and says why.
    let unknown = NOTICE_ALONE.replace("\"1024\"", "\"999999\"");
    let v = json(&desk(
        Some(&config),
        &["plan", "--json", "-", "--reconfirm"],
        unknown.as_bytes(),
    ));
    assert_eq!(v["step"], "bring_certificate", "{v}");
    assert_eq!(v["reconfirmation"]["verdict"], "no_record");
    assert_eq!(v["reconfirmation"]["applied"], false);
}

#[test]
fn reconfirm_without_a_configuration_fails_with_exit_1() {
    let out = desk(
        None,
        &["plan", "--json", "-", "--reconfirm"],
        NOTICE_ALONE.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["kind"], "config");
}

/// `onshi-desk claim …` with a stub `lp` (recording its arguments) first on PATH.
fn desk_with_lp(lp_dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let path = format!(
        "{}:{}",
        lp_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = common::desk_command();
    cmd.arg("claim")
        .args(args)
        .env("ONSHI_CONFIG", "/nonexistent/onshi-config.toml")
        .env("PATH", path);
    common::output_with_stdin(cmd, stdin)
}

fn stub_lp(dir: &Path, exit: i32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let args = dir.join("lp-args");
    let lp = dir.join("lp");
    std::fs::write(
        &lp,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n[ {exit} -eq 0 ] && echo 'request id is Q-7 (1 file(s))'\n[ {exit} -ne 0 ] && echo 'lp: Error - printer on fire' >&2\nexit {exit}\n",
            args.display()
        ),
    )
    .expect("write stub lp");
    std::fs::set_permissions(&lp, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    args
}

const DECLARATION: &str = r#"{ "facility": { "name": "テスト診療所", "code": "1312345678" },
  "date": "2026-11-21", "name": "山田 花子", "name_kana": "ヤマダ ハナコ",
  "birthdate": "昭和55年4月1日", "sex": "female", "address": "東京都千代田区霞が関1-2-2",
  "phone": "03-1234-5678", "insurance_kind": "employee", "insurer_name": "全国健康保険協会",
  "employer": "霞が関商事", "symbol": "5012345", "number": "1024", "relationship": "insured" }"#;

/// Printing where there is no printer at all (Linux: no CUPS client; the Windows exe under Wine:
/// no Windows printer): the form is kept, the desk is told so in Japanese, exit status 1.
#[test]
fn printing_without_any_printer_keeps_the_pdf_and_says_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let empty = dir.path().join("no-programs");
    std::fs::create_dir_all(&empty).expect("dir");
    let pdf = dir.path().join("form.pdf");
    let pdf_arg = common::exe_path(&pdf);
    let mut cmd = common::desk_command();
    cmd.arg("claim")
        .args([
            "declare", "--json", "-", "--pdf", &pdf_arg, "--print", "--as-of", AS_OF,
        ])
        .env("ONSHI_CONFIG", "/nonexistent/onshi-config.toml");
    if std::env::var_os("ONSHI_DESK_EXE").is_none() {
        // Linux: a PATH without `lp`. (Wine itself needs the real PATH.)
        cmd.env("PATH", &empty);
    }
    let out = common::output_with_stdin(cmd, DECLARATION.as_bytes());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = json(&out);
    assert_ne!(v["error"]["kind"], serde_json::Value::Null, "{v}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PDFは保存済み"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&pdf).expect("the PDF is kept");
    assert!(bytes.starts_with(b"%PDF-"));
}

#[test]
fn declare_writes_the_form_and_prints_it_on_the_named_queue() {
    if common::on_windows_exe("a CUPS `lp` stand-in on PATH") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let recorded = stub_lp(dir.path(), 0);
    let pdf = dir.path().join("申立書.pdf");
    let pdf_arg = pdf.display().to_string();
    let out = desk_with_lp(
        dir.path(),
        &[
            "declare", "--json", "-", "--pdf", &pdf_arg, "--print", "--queue", "desk-a4",
            "--as-of", AS_OF,
        ],
        DECLARATION.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json(&out);
    assert_eq!(v["printed"], true);
    assert_eq!(v["print_request"], "Q-7");
    let bytes = std::fs::read(&pdf).expect("PDF kept");
    assert!(bytes.starts_with(b"%PDF-"));
    let args = std::fs::read_to_string(&recorded).expect("lp ran");
    assert!(args.contains("-d\ndesk-a4\n"), "{args}");
    assert!(args.trim_end().ends_with(&pdf_arg), "{args}");
    // The printed form carries what was declared.
    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let text = String::from_utf8_lossy(&text.stdout);
    for field in ["山田 花子", "霞が関商事", "03-1234-5678", "テスト診療所"] {
        assert!(text.contains(field), "{field} missing from:\n{text}");
    }
}

#[test]
fn a_failing_printer_keeps_the_pdf_and_says_so_and_print_reprints_it() {
    if common::on_windows_exe("a CUPS `lp` stand-in on PATH") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    stub_lp(dir.path(), 1);
    let pdf = dir.path().join("form.pdf");
    let pdf_arg = pdf.display().to_string();
    let out = desk_with_lp(
        dir.path(),
        &[
            "declare", "--json", "-", "--pdf", &pdf_arg, "--print", "--as-of", AS_OF,
        ],
        DECLARATION.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["error"]["kind"], "print_failed", "{v}");
    assert!(v["error"]["detail"]
        .as_str()
        .is_some_and(|d| d.contains("printer on fire")));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PDFは保存済み"));
    assert!(pdf.is_file(), "the PDF is kept whatever the printer did");

    // The printer is mended: a reprint of the kept file.
    let recorded = stub_lp(dir.path(), 0);
    let out = desk_with_lp(dir.path(), &["print", &pdf_arg], b"");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let args = std::fs::read_to_string(&recorded).expect("lp ran");
    assert!(args.trim_end().ends_with(&pdf_arg), "{args}");
}

#[test]
fn an_invalid_declaration_writes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let pdf = dir.path().join("form.pdf");
    let pdf_arg = pdf.display().to_string();
    let out = desk(
        None,
        &["declare", "--json", "-", "--pdf", &pdf_arg],
        br#"{"facility": {"name": "x", "code": "12"}, "birthdate": "2099-01-01", "phone": 3}"#,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!pdf.exists());
}

#[test]
fn import_pdf_reads_the_portal_sample_and_refuses_other_files() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/portal");
    let run = |file: &Path| {
        common::desk_command()
            .args(["claim", "import-pdf"])
            .arg(file)
            .arg("--json")
            .output()
            .expect("run onshi-desk")
    };
    let out = run(&samples.join("table.pdf"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json(&out);
    assert_eq!(v["parsed"]["insurer_number"], "138057");
    assert_eq!(v["parsed"]["birthdate"], "1980-04-02");
    assert_eq!(v["name"], "鈴木 一郎");

    for (file, kind) in [
        ("README.md", "not_pdf"),
        ("no-text.pdf", "no_text"),
        ("encrypted.pdf", "encrypted"),
    ] {
        let out = run(&samples.join(file));
        assert_eq!(out.status.code(), Some(2), "{file}");
        assert_eq!(json(&out)["error"]["kind"], kind, "{file}");
    }
}
