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
    common::desk_command()
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
    // Issue 13: for Japanese Excel, UTF-8 with BOM and Japanese headers by default.
    assert!(
        csv.starts_with("\u{feff}受付記録番号,記録日時(日本時間),受付日,"),
        "{csv}"
    );
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
    // Near the system's limit for one argument: Linux's 128 KiB, Windows' whole command line
    // of 32,767 UTF-16 units (the Windows exe under Wine).
    let huge = "あ".repeat(if common::on_windows_exe("a shorter huge argument") {
        30_000
    } else {
        40_000
    });
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

#[test]
fn a_limit_out_of_range_is_a_usage_error_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("j.sqlite3");
    fill(&path);
    for limit in ["18446744073709551615", "9223372036854775808"] {
        let out = desk(&path, &["list", "--limit", limit, "--json"]);
        assert_eq!(out.status.code(), Some(2), "{limit}: {out:?}");
        assert_eq!(json(&out)["error"]["kind"], "invalid_input", "{limit}");
    }
    let out = desk(&path, &["list", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(0), "0 lists all");
}

#[test]
fn a_damaged_journal_is_set_aside_and_recover_starts_a_new_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("j.sqlite3");
    fill(&path);
    // The full check, on demand: sound.
    let out = desk(&path, &["check", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json(&out)["ok"], true);
    let mut bytes = std::fs::read(&path).expect("read");
    let len = bytes.len();
    bytes[len / 2..].fill(0xa5);
    std::fs::write(&path, &bytes).expect("damage");
    let out = desk(&path, &["list", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(json(&out)["error"]["kind"], "journal_damaged");
    let out = desk(&path, &["list"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("壊れています"), "{stderr}");
    assert!(stderr.contains("journal recover"), "{stderr}");
    assert!(!path.exists(), "set aside");
    // Recording is refused until staff act.
    let out = desk(&path, &["burst", "--count", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!path.exists());
    let out = desk(&path, &["recover"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("j.sqlite3.damaged-"), "{stdout}");
    let out = desk(&path, &["list", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json(&out).as_array().map(Vec::len), Some(0));
    // A sound journal is not replaced by recover.
    let out = desk(&path, &["recover"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".damaged-") && !n.ends_with("-wal") && !n.ends_with("-shm"))
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "one damaged file kept, nothing more set aside: {kept:?}"
    );
}

#[test]
fn server_text_is_escaped_in_list_and_defused_in_csv() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("j.sqlite3");
    let journal = Journal::open(&path).expect("journal");
    let mut check = NewCheck::empty(CheckKind::Numbers, date!(2026 - 10 - 06));
    check.verdict = Some(VerdictKind::Valid);
    check.name = Some("山田\n99\tforged\u{1b}[2J\u{202e}4321".into());
    journal.record(check).expect("record");
    drop(journal);
    let out = desk(&path, &["list"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
    assert!(!stdout.contains('\u{202e}'), "{stdout:?}");
    assert!(stdout.contains("山田\\u{a}99"), "{stdout:?}");
    let out = desk(&path, &["export", "--csv"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(!csv.contains('\u{1b}'), "{csv:?}");
    assert!(!csv.contains('\u{202e}'), "{csv:?}");
    assert!(csv.contains("\\u{1b}[2J"), "{csv:?}");
    // The line break stays data, inside quotes.
    assert!(csv.contains("\"山田\n99\t"), "{csv:?}");
}

/// Runs `script` (sh) in a private mount namespace, with `$DESK` the onshi-desk binary; `None`
/// when this machine cannot make one (not root, no `unshare`): the caller skips, saying so.
fn in_mount_namespace(script: &str) -> Option<Output> {
    let probe = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || mount -t tmpfs -o size=64k tmpfs /tmp")
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-ec", script])
        .env("DESK", env!("CARGO_BIN_EXE_onshi-desk"))
        .env("ONSHI_CONFIG", "/nonexistent/onshi-config.toml")
        .output()
        .ok()
}

#[test]
fn a_read_only_or_full_file_system_says_the_check_is_not_recorded_and_why() {
    let dir = tempfile::tempdir().expect("tmp");
    let m = dir.path().display().to_string();
    // Each case prints its exit code, then its standard error, between markers.
    let script = format!(
        r#"
mount -t tmpfs -o size=1m tmpfs {m}
mkdir {m}/old
"$DESK" journal --journal {m}/old/journal.sqlite3 burst --count 3 >/dev/null
mount -o remount,ro {m}
for case in old/journal.sqlite3 new/journal.sqlite3 fresh.sqlite3; do
  echo "== ro $case"
  "$DESK" journal --journal {m}/$case burst --count 1 2>&1 >/dev/null && echo rc=0 || echo rc=$?
done
mount -o remount,rw {m}
dd if=/dev/zero of={m}/filler bs=4k 2>/dev/null || true
echo "== full fresh"
"$DESK" journal --journal {m}/fresh.sqlite3 burst --count 1 2>&1 >/dev/null && echo rc=0 || echo rc=$?
ls {m}
echo "== full old"
"$DESK" journal --journal {m}/old/journal.sqlite3 burst --count 5000 2>&1 >/dev/null && echo rc=0 || echo rc=$?
"#
    );
    let Some(out) = in_mount_namespace(&script) else {
        eprintln!("SKIPPED: no private mount namespace here (needs root and unshare)");
        return;
    };
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let case = |name: &str| -> String {
        text.split("== ")
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("{name} ran: {text}"))
            .to_owned()
    };
    for (name, reason) in [
        ("ro old/", "読み取り専用"),
        ("ro new/", "読み取り専用"),
        ("ro fresh", "読み取り専用"),
        ("full fresh", "空き"),
        ("full old", "空き"),
    ] {
        let c = case(name);
        assert!(c.contains("rc=1"), "{name}: {c}");
        assert!(c.contains("記録されていません"), "{name}: {c}");
        assert!(c.contains(reason), "{name}: {c}");
    }
    // A first open that failed on a full disk leaves no empty file to be taken for a journal.
    assert!(!case("full fresh").contains("fresh.sqlite3\n"), "{text}");
    assert!(
        !case("full fresh")
            .lines()
            .any(|l| l.trim() == "fresh.sqlite3"),
        "{text}"
    );
}
