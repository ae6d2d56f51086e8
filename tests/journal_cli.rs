//! `onshi-desk journal …` as a process: every verb on a journal made by the library, the
//! `--journal` override, invalid input and hostile text. No network, no card.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use onshi_desk::domain::claim::plan::ClaimStep;
use onshi_desk::domain::claim::receipt::{DeclaredContact, ReceiptHeader, UnknownInsurer};
use onshi_desk::domain::{IdentityMethod, VerdictKind};
use onshi_desk::journal::{CheckKind, CheckNumbers, Journal, NewCheck};
use serde_json::Value;
use time::macros::date;

fn desk(journal: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onshi-desk"))
        .arg("journal")
        .arg("--journal")
        .arg(journal)
        .args(args)
        .env("ONSHI_CONFIG", "/nonexistent/onshi-config.toml")
        .output()
        .expect("run onshi-desk")
}

fn json(out: &Output) -> Value {
    common::stdout_json(out)
}

fn fill(path: &Path) {
    let journal = Journal::open(path).expect("journal");
    let mut card = NewCheck::empty(CheckKind::Card, date!(2026 - 10 - 05));
    card.identity = Some(IdentityMethod::Pin);
    card.verdict = Some(VerdictKind::Valid);
    card.name = Some("山田 花子".into());
    card.numbers = Some(CheckNumbers {
        insurer_number: "01130012".into(),
        symbol: Some("5012345".into()),
        number: "1024".into(),
        branch: Some("00".into()),
    });
    journal.record(card).expect("record");
    let mut numbers = NewCheck::empty(CheckKind::Numbers, date!(2026 - 10 - 06));
    numbers.verdict = Some(VerdictKind::Valid);
    numbers.name = Some("=cmd|' /C calc'!A0".into());
    journal.record(numbers).expect("record");
    let unknown = ReceiptHeader::unknown(false, UnknownInsurer::Plain, &DeclaredContact::default());
    journal
        .record(NewCheck::claim_path(
            date!(2026 - 10 - 31),
            ClaimStep::SelfDeclaration,
            &unknown,
        ))
        .expect("record");
}

#[test]
fn list_show_search_export_and_reports() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("j.sqlite3");
    fill(&path);

    let all = json(&desk(&path, &["list", "--json"]));
    assert_eq!(all.as_array().map(Vec::len), Some(3));
    assert_eq!(all[0]["kind"], "claim_path", "newest first");
    let text = String::from_utf8(desk(&path, &["list"]).stdout).expect("utf-8");
    assert_eq!(text.lines().count(), 3);

    let found = json(&desk(&path, &["list", "--search", "山田", "--json"]));
    assert_eq!(found[0]["name"], "山田 花子");
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    let by_day = json(&desk(&path, &["list", "--date", "2026-10-06", "--json"]));
    assert_eq!(by_day.as_array().map(Vec::len), Some(1));
    let by_number = json(&desk(&path, &["list", "--search", "1024", "--json"]));
    assert_eq!(by_number[0]["numbers"]["symbol"], "5012345");

    let id = all[2]["id"].as_i64().expect("id").to_string();
    let one = json(&desk(&path, &["show", &id, "--json"]));
    assert_eq!(one["identity"], "pin");
    assert_eq!(one["certificate_held"], false);

    let csv = desk(&path, &["export", "--csv", "--from", "2026-10-06"]);
    assert!(csv.status.success());
    let csv = String::from_utf8(csv.stdout).expect("utf-8");
    assert!(csv.starts_with("id,recorded_at,check_date,"));
    assert!(csv.contains(",'=cmd|' /C calc'!A0,"), "{csv}");
    assert!(!csv.contains("山田"), "--from leaves out the 5th");
    let out = dir.path().join("out.csv");
    let written = desk(
        &path,
        &[
            "export",
            "--csv",
            "--out",
            out.to_str().expect("utf-8 path"),
        ],
    );
    assert!(written.status.success());
    assert_eq!(
        std::fs::read_to_string(&out)
            .expect("csv file")
            .lines()
            .count(),
        4
    );

    let open = json(&desk(
        &path,
        &["unresolved", "--month", "2026-10", "--json"],
    ));
    assert_eq!(open.as_array().map(Vec::len), Some(1));
    assert_eq!(open[0]["receipt"]["insurer_number"], "77777777");
    let open_csv =
        String::from_utf8(desk(&path, &["unresolved", "--month", "2026-10", "--csv"]).stdout)
            .expect("utf-8");
    assert!(open_csv.contains(",77777777,"));

    let usage = json(&desk(&path, &["usage", "--json"]));
    assert_eq!(usage[0]["month"], "2026-10");
    assert_eq!(usage[0]["card_rate"], 0.5);
    let usage_csv = String::from_utf8(desk(&path, &["usage", "--csv"]).stdout).expect("utf-8");
    assert!(usage_csv.contains("2026-10,1,1,0.5000,1"), "{usage_csv}");

    let purge = json(&desk(&path, &["purge", "--before", "2026-10-06", "--json"]));
    assert_eq!(purge["records_deleted"], 1);
    assert_eq!(
        json(&desk(&path, &["list", "--json"]))
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[test]
fn invalid_input_exits_2_with_a_desk_message() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("j.sqlite3");
    fill(&path);
    // Near the kernel's limit for one argument (128 KiB).
    let huge = "あ".repeat(40_000);
    let out = desk(&path, &["list", "--search", &huge, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["kind"], "invalid_input");
    let out = desk(&path, &["show", "999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("999"));
    for args in [
        &["unresolved", "--month", "2026-13"][..],
        &["list", "--date", "2026/10/05"],
        &["list", "--status", "lost"],
        &["export"],
    ] {
        let out = desk(&path, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn an_unusable_journal_file_is_exit_1_with_the_japanese_message() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("broken.sqlite3");
    std::fs::write(&path, vec![0x42; 4096]).expect("write");
    let out = desk(&path, &["list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("壊れています"));
}

#[test]
fn resolve_closes_an_open_check_once_and_an_unknown_receipt_stays_listed() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("j.sqlite3");
    fill(&path);
    let open = json(&desk(
        &path,
        &["unresolved", "--month", "2026-10", "--json"],
    ));
    let id = open[0]["id"].as_i64().expect("the unknown receipt");
    let out = desk(&path, &["resolve", &id.to_string(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json(&out)["status"], "done");
    // No longer waiting, but its claim is still 7s: the claim run must still see it.
    let open = json(&desk(
        &path,
        &["unresolved", "--month", "2026-10", "--json"],
    ));
    assert_eq!(open[0]["id"].as_i64(), Some(id));
    assert_eq!(open[0]["status"], "done");
    let shown = json(&desk(&path, &["show", &id.to_string(), "--json"]));
    assert!(
        shown["last_attempt_detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("closed by staff")),
        "{shown}"
    );
    // Closing it again, or a check that was never open, or none at all: exit 2, said.
    for (which, kind) in [(id, "not_open"), (1, "not_open"), (999, "not_found")] {
        let out = desk(&path, &["resolve", &which.to_string(), "--json"]);
        assert_eq!(out.status.code(), Some(2), "{which}");
        assert_eq!(json(&out)["error"]["kind"], kind, "{which}");
    }
    let out = desk(&path, &["resolve", "1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("対応済みにできません"));
}
