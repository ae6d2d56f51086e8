//! `onshi-desk public-expense check|show` and the 公費 of `onshi-desk claim receipt`, as
//! processes: a clinic's IT person checking its April update before the desk uses it, and the
//! KO records a receipt computer reads. No card, no pcscd, no service.
//!
//! The 受給者証 are the four mock personas' (乳幼児 `88132014`, 子ども `88133012`, 難病
//! `54130018`, 生活保護 `12130019`; Tokyo numbers, valid check digits).

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

const ON: &str = "2026-12-03";

fn desk(config: Option<&Path>, args: &[&str], stdin: &[u8]) -> Output {
    common::run_desk(config, args, stdin)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn show(config: Option<&Path>, extra: &[&str]) -> Value {
    let mut args = vec!["public-expense", "show", "--on", ON, "--json"];
    args.extend_from_slice(extra);
    let out = desk(config, &args, b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    common::stdout_json(&out)
}

#[test]
fn the_shipped_table_checks_clean_and_lists_its_rules() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/public_expense.toml");
    let out = desk(
        None,
        &["public-expense", "check", &shipped.to_string_lossy()],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("OK "), "{text}");
    assert!(text.contains("law 54 難病(特定医療費): ratio 2"), "{text}");
    assert!(
        text.contains("子ども医療費助成(例): per-visit 200 yen [after age 6 (school-year)"),
        "{text}"
    );
    assert!(!text.contains("WARN"), "{text}");
}

#[test]
fn check_warns_about_a_rule_that_can_never_apply() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("april.toml");
    // The April update was added below last year's rule without an end date.
    std::fs::write(
        &file,
        "version = 1\n[[rule]]\nname = \"子ども\"\nlaw = \"88\"\nshare = \"per-visit\"\nper_visit_yen = 200\n[[rule]]\nname = \"子ども(2027年度)\"\nlaw = \"88\"\nfrom = 2027-04-01\nshare = \"none\"\n",
    )
    .expect("write");
    let out = desk(
        None,
        &["public-expense", "check", &file.to_string_lossy()],
        b"",
    );
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("WARN rule 2 (\"子ども(2027年度)\") never applies: rule 1"),
        "{text}"
    );
}

#[test]
fn a_broken_table_prints_every_problem_and_exits_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("april.toml");
    std::fs::write(
        &file,
        r#"version = 1
[[rule]]
name = "子ども(2027年度)"
law = "8"
share = "per-visit"
[[rule]]
name = "難病"
payer = "54130019"
share = "ratio"
ratio = 4
[[rule]]
name = "ひとり親"
law = "81"
share = "none"
from = 2027-04-01
until = 2027-03-31
"#,
    )
    .expect("write");
    let out = desk(
        None,
        &["public-expense", "check", &file.to_string_lossy()],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    let problems: Vec<&str> = text.lines().filter(|l| l.starts_with("NG ")).collect();
    assert_eq!(problems.len(), 5, "{text}");
    for needle in [
        "rule 1",
        "needs per_visit_yen",
        "rule 2",
        "check digit",
        "ratio",
        "rule 3",
        "before from",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(stderr(&out).contains("5件の問題"), "{}", stderr(&out));
    // Not TOML at all, and a missing file.
    std::fs::write(&file, "version = 1\n[[rule]\n").expect("write");
    let out = desk(
        None,
        &["public-expense", "check", &file.to_string_lossy()],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).starts_with("NG "), "{}", stdout(&out));
    let out = desk(
        None,
        &["public-expense", "check", "/nonexistent/table.toml"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("負担ルール表を読めません"));
}

#[test]
fn show_the_four_personas_on_the_shipped_table() {
    let v = show(None, &["--payer", "88132014", "--birth", "2023-06-10"]);
    assert_eq!(v["rule"], "乳幼児医療費助成(例)");
    assert_eq!(v["today"], "0円(公費負担)");
    let v = show(None, &["--payer", "88133012", "--birth", "2016-05-05"]);
    assert_eq!(v["rule"], "子ども医療費助成(例)");
    assert_eq!(v["today"], "1回200円");
    let v = show(
        None,
        &[
            "--payer",
            "54130018",
            "--birth",
            "1980-05-05",
            "--income",
            "一般所得Ⅰ",
            "--cap",
            "10000",
        ],
    );
    assert_eq!(v["rule"], "難病(特定医療費)");
    assert_eq!(v["national_scheme"], "難病法(特定医療)");
    assert_eq!(v["priority"], 10);
    assert_eq!(v["today"], "2割・月上限10,000円");
    let v = show(None, &["--payer", "12130019"]);
    assert_eq!(v["rule"], "生活保護(医療扶助)");
    assert_eq!(v["priority"], 50);
    assert_eq!(v["today"], "0円(公費負担)");
    // A 子ども certificate without the birth date: no age-bound rule, no guessed charge.
    let v = show(None, &["--payer", "88133012", "--ratio", "2"]);
    assert_eq!(v["status"], "no_rule");
    assert!(v["rule"].is_null());
    assert_eq!(v["today"], "2割");
    // The human form says why.
    let out = desk(
        None,
        &["public-expense", "show", "--on", ON, "--payer", "88133012"],
        b"",
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("--birth"), "{}", stdout(&out));
}

#[test]
fn an_april_update_is_tried_on_both_sides_of_its_first_day() {
    let dir = tempfile::tempdir().expect("tmp");
    let table = dir.path().join("public_expense.toml");
    std::fs::write(
        &table,
        r#"version = 1
[[rule]]
name = "子ども医療費助成(2026年度)"
payer_prefix = "881330"
until = 2027-03-31
age_until = { years = 15, end = "school-year" }
share = "per-visit"
per_visit_yen = 200
[[rule]]
name = "子ども医療費助成(2027年度)"
payer_prefix = "881330"
from = 2027-04-01
age_until = { years = 18, end = "school-year" }
share = "none"
"#,
    )
    .expect("write");
    let table = table.to_string_lossy().into_owned();
    let try_on = |on: &str| {
        let out = desk(
            None,
            &[
                "public-expense",
                "show",
                "--payer",
                "88133012",
                "--birth",
                "2016-05-05",
                "--on",
                on,
                "--table",
                &table,
                "--json",
            ],
            b"",
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        common::stdout_json(&out)
    };
    let before = try_on("2027-03-31");
    assert_eq!(before["rule"], "子ども医療費助成(2026年度)");
    assert_eq!(before["today"], "1回200円");
    assert_eq!(before["table"], table.as_str());
    let after = try_on("2027-04-01");
    assert_eq!(after["rule"], "子ども医療費助成(2027年度)");
    assert_eq!(after["today"], "0円(公費負担)");
}

#[test]
fn show_uses_the_table_the_settings_name() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("mine.toml"),
        "version = 1\n[[rule]]\nname = \"この市の子ども\"\nlaw = \"88\"\nshare = \"per-visit\"\nper_visit_yen = 500\n",
    )
    .expect("write");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "facility_code = \"1312345678\"\n\n[endpoint]\nurl = \"https://127.0.0.1:1/\"\nca = \"ca.pem\"\nclient_certificate = \"c.pem\"\nclient_key = \"k.pem\"\n\n[public_expense]\ntable = \"mine.toml\"\n",
    )
    .expect("write");
    let v = show(Some(&config), &["--payer", "88133012"]);
    assert_eq!(v["rule"], "この市の子ども");
    assert_eq!(v["today"], "1回500円");
    // A named settings file that is missing is an error, not the shipped table.
    let out = desk(
        Some(&dir.path().join("none.toml")),
        &["public-expense", "show", "--on", ON, "--payer", "88133012"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn show_refuses_a_wrong_payer_number_or_ratio_with_exit_2() {
    for args in [
        vec!["--payer", "88133013"],
        vec!["--payer", "8813301"],
        vec!["--payer", "54130018", "--ratio", "4"],
    ] {
        let mut all = vec!["public-expense", "show", "--on", ON];
        all.extend(args.iter().copied());
        let out = desk(None, &all, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

// ---- claim receipt with 公費 -----------------------------------------------------------------

fn receipt(doc: &Value, extra: &[&str]) -> Output {
    let mut args = vec![
        "claim", "receipt", "--json", "-", "--as-of", ON, "--format", "records",
    ];
    args.extend_from_slice(extra);
    desk(None, &args, doc.to_string().as_bytes())
}

fn persona_expenses() -> Vec<Value> {
    vec![
        serde_json::json!({"payer": "88133012", "recipient": "2345677",
            "valid_from": "2026-04-01", "valid_until": "2027-03-31"}),
        serde_json::json!({"payer": "12130019", "recipient": "4567899", "valid_from": "2026-04-01"}),
        serde_json::json!({"payer": "54130018", "recipient": "3456788",
            "valid_from": "2026-07-01", "valid_until": "2027-06-30",
            "income_category": "一般所得Ⅰ", "monthly_cap_yen": 10000, "source": "online"}),
    ]
}

/// The records as a receipt computer reads them: lines, then fields by `,`.
fn records(out: &Output) -> Vec<Vec<String>> {
    stdout(out)
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

#[test]
fn receipt_records_carry_one_ko_per_public_expense_in_priority_order() {
    let doc = serde_json::json!({
        "step": "current_numbers",
        "numbers": {"insurer_number": "01130012", "symbol": "5012345", "number": "1024", "branch": "00"},
        "birthdate": "2016-05-05",
        "public_expenses": persona_expenses(),
    });
    let out = receipt(&doc, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = records(&out);
    let kinds: Vec<&str> = recs.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(kinds, ["HO", "KO", "KO", "KO", "SN"]);
    let ko: Vec<(&str, &str)> = recs
        .iter()
        .filter(|r| r[0] == "KO")
        .map(|r| (r[1].as_str(), r[2].as_str()))
        .collect();
    // National (難病) first, then 生活保護, then the municipal 子ども.
    assert_eq!(
        ko,
        [
            ("54130018", "3456788"),
            ("12130019", "4567899"),
            ("88133012", "2345677")
        ]
    );
    assert!(recs.iter().filter(|r| r[0] == "KO").all(|r| r.len() == 12));
    // The JSON form carries the same, and the header keeps its flat numbers.
    let out = desk(
        None,
        &["claim", "receipt", "--json", "-", "--as-of", ON],
        doc.to_string().as_bytes(),
    );
    let v = common::stdout_json(&out);
    assert_eq!(v["insurer_number"], "01130012");
    assert_eq!(v["public_expenses"][0]["payer"], "54130018");
    assert_eq!(v["public_expenses"][2]["source"], "paper");
    assert!(v.get("public_expenses_left_off").is_none());
}

#[test]
fn receipt_names_the_public_expenses_it_leaves_off() {
    // Before the 難病 certificate's first day, and the 子ども one without a birth date.
    let doc = serde_json::json!({
        "step": 1,
        "numbers": {"insurer_number": "01130012", "number": "1024"},
        "visit_date": "2026-06-30",
        "public_expenses": persona_expenses(),
    });
    let out = desk(
        None,
        &["claim", "receipt", "--json", "-", "--as-of", ON],
        doc.to_string().as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = common::stdout_json(&out);
    let records: Vec<&str> = v["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        records,
        [
            "HO,01130012,,1024,,,,,,,,,,,",
            "KO,12130019,4567899,,,,,,,,,"
        ]
    );
    let left: Vec<&str> = v["public_expenses_left_off"]
        .as_array()
        .expect("left off")
        .iter()
        .filter_map(|e| e["payer"].as_str())
        .collect();
    assert_eq!(left, ["88133012", "54130018"]);
    assert!(stderr(&out).contains("有効期間外"), "{}", stderr(&out));
}

#[test]
fn five_public_expenses_on_one_receipt_exit_2_with_a_japanese_message() {
    let five: Vec<Value> = ["15130016", "16130015", "21130018", "52130010", "54130018"]
        .iter()
        .map(|p| serde_json::json!({"payer": p}))
        .collect();
    let doc = serde_json::json!({
        "step": 1,
        "numbers": {"insurer_number": "01130012", "number": "1024"},
        "public_expenses": five,
    });
    let out = receipt(&doc, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("第1〜第4公費"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
}

#[test]
fn receipt_public_expense_problems_are_listed_with_their_fields() {
    let doc = serde_json::json!({
        "step": 1,
        "numbers": {"insurer_number": "01130012", "number": "1024"},
        "public_expenses": [{"payer": "54130019", "recipient": "345678"}],
    });
    let out = desk(
        None,
        &["claim", "receipt", "--json", "-", "--as-of", ON],
        doc.to_string().as_bytes(),
    );
    assert_eq!(out.status.code(), Some(2));
    let v = common::stdout_json(&out);
    let fields: Vec<&str> = v["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["public_expenses[0].payer", "public_expenses[0].recipient"]
    );
}
