//! Reading the facility's shared journal (PostgreSQL): two desks' records found together by
//! the history search, the reports over both, the same records as a desk's own file, the
//! fallback to this desk's file when the database cannot be reached, and `journal
//! copy-to-shared` sending nothing twice.
//!
//! Needs a PostgreSQL server: `ONSHI_TEST_PG_URL` (an administrator's URL, e.g.
//! `postgres://onshi@127.0.0.1:55432/postgres`), `ONSHI_TEST_PG_PASSWORD_FILE` and
//! `ONSHI_TEST_PG_CA` (`scripts/test` sets them). Each test makes a database of its own and
//! drops it. Without them the tests say so and pass.
#![cfg(feature = "shared-journal")]

mod common;

use common::postgres::TestDatabase;

use std::path::{Path, PathBuf};
use std::process::Output;

use onshi_desk::config::{SharedJournalConfig, SharedPassword};
use onshi_desk::domain::claim::plan::ClaimStep;
use onshi_desk::domain::claim::receipt::{DeclaredContact, ReceiptHeader, UnknownInsurer};
use onshi_desk::domain::{IdentityMethod, VerdictKind};
use onshi_desk::journal::{
    CheckId, CheckKind, CheckNumbers, CheckRecord, CheckStatus, Filter, Journal, JournalOptions,
    JournalReader, NewCheck, ReadScope,
};
use time::macros::date;
use time::{Month, OffsetDateTime};

fn open(path: &Path, shared: SharedJournalConfig) -> Journal {
    Journal::open_with(
        path,
        JournalOptions {
            shared: Some(shared),
            ..JournalOptions::default()
        },
    )
    .expect("journal")
}

fn numbers(insurer: &str, symbol: &str, number: &str) -> CheckNumbers {
    CheckNumbers {
        insurer_number: insurer.into(),
        symbol: Some(symbol.into()),
        number: number.into(),
        branch: Some("00".into()),
    }
}

fn by_numbers(
    name: &str,
    kana: &str,
    n: CheckNumbers,
    day: time::Date,
    born: time::Date,
) -> NewCheck {
    let mut c = NewCheck::empty(CheckKind::Numbers, day);
    c.verdict = Some(VerdictKind::Valid);
    c.validity = Some(1);
    c.numbers = Some(n);
    c.name = Some(name.into());
    c.name_kana = Some(kana.into());
    c.birthdate = Some(born);
    c
}

fn search(reader: &JournalReader, text: &str) -> Vec<CheckRecord> {
    reader
        .list(&Filter {
            search: Some(text.into()),
            ..Filter::default()
        })
        .expect("search")
}

/// (desk, desk's number) of each record, sorted.
fn origins(records: &[CheckRecord]) -> Vec<(String, i64)> {
    let mut o: Vec<(String, i64)> = records
        .iter()
        .map(|r| {
            (
                r.desk.clone().expect("a desk in the shared journal"),
                r.desk_check_id.expect("the desk's number"),
            )
        })
        .collect();
    o.sort();
    o
}

#[test]
fn two_desks_records_are_found_together_with_the_desk_that_made_each() {
    let db = TestDatabase::create("two");
    // A database no desk has written to yet reads as empty.
    let empty = JournalReader::open_shared(&db.config("desk-a")).expect("an empty database");
    assert_eq!(empty.count().expect("count"), 0);
    assert!(empty.list(&Filter::default()).expect("list").is_empty());
    drop(empty);
    let dir = tempfile::tempdir().expect("tmp");
    let a = open(&dir.path().join("a.sqlite3"), db.config("desk-a"));
    let b = open(&dir.path().join("b.sqlite3"), db.config("desk-b"));

    let mut card = NewCheck::empty(CheckKind::Card, date!(2026 - 10 - 05));
    card.identity = Some(IdentityMethod::Pin);
    card.verdict = Some(VerdictKind::Valid);
    card.name = Some("山田 花子".into());
    card.name_kana = Some("ﾔﾏﾀﾞ ﾊﾅｺ".into());
    card.numbers = Some(numbers("01130012", "5012345", "1024"));
    card.birthdate = Some(date!(1980 - 04 - 01));
    let a1 = a.record(card).expect("record a1");
    let header = ReceiptHeader::unknown(false, UnknownInsurer::Plain, &DeclaredContact::default());
    let a2 = a
        .record(NewCheck::claim_path(
            date!(2026 - 10 - 31),
            ClaimStep::SelfDeclaration,
            &header,
        ))
        .expect("record a2");
    let b1 = b
        .record(by_numbers(
            "山本 太郎",
            "ﾔﾏﾓﾄ ﾀﾛｳ",
            numbers("06010391", "12", "345"),
            date!(2026 - 10 - 06),
            date!(1975 - 01 - 02),
        ))
        .expect("record b1");
    let mut outage = by_numbers(
        "佐藤 一郎",
        "ｻﾄｳ ｲﾁﾛｳ",
        numbers("39130059", "7", "8888"),
        date!(2026 - 10 - 07),
        date!(1950 - 05 - 05),
    );
    outage.verdict = Some(VerdictKind::Timeout);
    let b2 = b.record(outage).expect("record b2");
    // Both desks share their numbering: desk-a's 1 and desk-b's 1 are two records.
    assert_eq!((a1, b1), (CheckId(1), CheckId(1)));
    // Sent when recorded; forwarded again here only should a first try have failed.
    a.forward_now().expect("forwarded");
    b.forward_now().expect("forwarded");

    let reader = a.reader().expect("reader");
    assert_eq!(reader.scope(), &ReadScope::Facility);
    assert_eq!(reader.scope().desk_notice(), None);
    assert_eq!(reader.count().expect("count"), 4);
    let all = reader.list(&Filter::default()).expect("all");
    assert_eq!(
        origins(&all),
        vec![
            ("desk-a".into(), a1.0),
            ("desk-a".into(), a2.0),
            ("desk-b".into(), b1.0),
            ("desk-b".into(), b2.0)
        ]
    );
    // Newest first, by the time recorded.
    assert!(all.windows(2).all(|w| w[0].recorded_at >= w[1].recorded_at));

    // Search by a name's start (kanji, kana typed as ひらがな), a number, a date, a birth date.
    assert_eq!(
        origins(&search(&reader, "山")),
        vec![("desk-a".into(), a1.0), ("desk-b".into(), b1.0)]
    );
    assert_eq!(
        origins(&search(&reader, "やま")),
        vec![("desk-a".into(), a1.0), ("desk-b".into(), b1.0)]
    );
    assert_eq!(
        origins(&search(&reader, "1024")),
        vec![("desk-a".into(), a1.0)]
    );
    assert_eq!(
        origins(&search(&reader, "０６０１０３９１")),
        vec![("desk-b".into(), b1.0)]
    );
    assert_eq!(
        origins(&search(&reader, "2026-10-06")),
        vec![("desk-b".into(), b1.0)]
    );
    assert_eq!(
        origins(&search(&reader, "S50.1.2")),
        vec![("desk-b".into(), b1.0)],
        "birth date in 和暦"
    );
    assert!(search(&reader, "田").is_empty(), "prefix, not substring");
    // One desk's records.
    let only_b = reader
        .list(&Filter {
            desk: Some("desk-b".into()),
            ..Filter::default()
        })
        .expect("desk-b");
    assert_eq!(
        origins(&only_b),
        vec![("desk-b".into(), b1.0), ("desk-b".into(), b2.0)]
    );

    // `get` by the facility's number, with the desk and its number.
    let shared_b1 = &search(&reader, "山本")[0];
    let got = reader.get(shared_b1.id).expect("get");
    assert_eq!(got.desk.as_deref(), Some("desk-b"));
    assert_eq!(got.desk_check_id, Some(b1.0));
    assert_eq!(got.name.as_deref(), Some("山本 太郎"));
    assert_eq!(got.birthdate, Some(date!(1975 - 01 - 02)));
    assert!(reader.get(CheckId(999_999)).is_err());

    // Due for 事後確認, read from desk-a: its unknown receipt (7s) and desk-b's outage.
    let due = reader.due(OffsetDateTime::now_utc(), true).expect("due");
    assert_eq!(
        origins(&due),
        vec![("desk-a".into(), a2.0), ("desk-b".into(), b2.0)]
    );
    assert!(due.iter().all(|r| r.status == CheckStatus::Queued));

    // The month-end reports cover both desks.
    let open = reader.unresolved(2026, Month::October).expect("unresolved");
    assert_eq!(
        origins(&open),
        vec![("desk-a".into(), a2.0), ("desk-b".into(), b2.0)]
    );
    let usage = reader.usage().expect("usage");
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].month, "2026-10");
    assert_eq!((usage[0].card_checks, usage[0].number_checks), (1, 2));
    assert_eq!(usage[0].claim_path_only, 1);
    assert_eq!(
        reader.integrity_check().expect("check"),
        onshi_desk::journal::INTEGRITY_NOT_APPLICABLE
    );

    // A desk's own file still reads as before: its records only, no desk.
    let local = a.local_reader().expect("local");
    assert_eq!(local.scope(), &ReadScope::Desk);
    assert_eq!(local.count().expect("count"), 2);
    assert!(local.get(a1).expect("get").desk.is_none());
}

/// A record as a desk's own file holds it: the shared journal's numbers taken back to the
/// desk's.
fn as_local(mut r: CheckRecord) -> serde_json::Value {
    if let Some(id) = r.desk_check_id.take() {
        r.id = CheckId(id);
    }
    r.desk = None;
    serde_json::to_value(&r).expect("json")
}

#[test]
fn the_desks_file_and_the_shared_journal_give_the_same_records_for_the_same_search() {
    let db = TestDatabase::create("same");
    let dir = tempfile::tempdir().expect("tmp");
    let journal = open(&dir.path().join("j.sqlite3"), db.config("desk-1"));
    let day = date!(2026 - 11 - 21);
    let born = date!(1980 - 04 - 01);
    journal
        .record(by_numbers(
            "山田 花子",
            "ﾔﾏﾀﾞ ﾊﾅｺ",
            numbers("01130012", "5012345", "1024"),
            day,
            born,
        ))
        .expect("record");
    journal
        .record(by_numbers(
            "佐藤 太郎",
            "ﾔﾏﾀﾞ ﾊﾅｺ",
            numbers("01130012", "5012345", "2048"),
            day,
            born,
        ))
        .expect("record");
    let mut odd = by_numbers(
        "山田 花子",
        "ﾔﾏﾀﾞ ﾊﾅｺ",
        numbers("01130012", "千代田", "AB-1024"),
        day,
        born,
    );
    odd.public_expenses = Vec::new();
    journal.record(odd).expect("record");
    journal
        .record(by_numbers(
            "千代田 一郎",
            "ﾁﾖﾀﾞ ｲﾁﾛｳ",
            numbers("06010391", "12", "345"),
            date!(2026 - 11 - 20),
            date!(1970 - 03 - 12),
        ))
        .expect("record");
    let mut card = NewCheck::empty(CheckKind::Card, date!(2026 - 11 - 20));
    card.identity = Some(IdentityMethod::Pin);
    card.verdict = Some(VerdictKind::Valid);
    journal.record(card).expect("record card");
    let mut outage = NewCheck::empty(CheckKind::Card, day);
    outage.verdict = Some(VerdictKind::Timeout);
    let outage = outage.hold_certificate("0A1B", &[1, 2, 3]);
    let queued = journal.record(outage).expect("record outage");
    journal
        .add_printout(queued, Path::new("/tmp/printout.pdf"))
        .expect("printout");
    journal.forward_now().expect("forwarded");

    let local = journal.local_reader().expect("local");
    let shared = journal.reader().expect("shared");
    assert_eq!(shared.scope(), &ReadScope::Facility);
    // The existing search cases (tests/journal_store.rs), on both.
    let cases = [
        "山田",
        "ﾔﾏﾀﾞ",
        "やまだ",
        "ヤマダ　ハ",
        "やまた",
        "やまだ　た",
        "１０２４",
        "2026-11-20",
        "R8.11.21",
        "S45.3.12",
        "田",
        "AB-1024",
        "ＡＢ－１０２４",
        "千代田",
        "AB-102",
        "01130012",
        "5012345",
        "",
        "'; DROP TABLE checks; --",
        "%",
        "_",
        "?1",
        "$1",
    ];
    let both = |filter: &Filter| {
        let l: Vec<_> = local
            .list(filter)
            .expect("local")
            .into_iter()
            .map(as_local)
            .collect();
        let s: Vec<_> = shared
            .list(filter)
            .expect("shared")
            .into_iter()
            .map(as_local)
            .collect();
        (l, s)
    };
    for text in cases {
        let (l, s) = both(&Filter {
            search: Some(text.into()),
            limit: None,
            ..Filter::default()
        });
        assert_eq!(l, s, "search {text:?}");
    }
    // Not only empty answers compared.
    let found = |text: &str| search(&shared, text).len();
    assert_eq!(
        [
            found("山田"),
            found("やまだ"),
            found("千代田"),
            found("R8.11.21"),
            found("AB-1024")
        ],
        [2, 3, 2, 4, 1]
    );
    for filter in [
        Filter::default(),
        Filter {
            date: Some(day),
            ..Filter::default()
        },
        Filter {
            from: Some(date!(2026 - 11 - 21)),
            to: Some(date!(2026 - 11 - 30)),
            ..Filter::default()
        },
        Filter {
            status: Some(CheckStatus::Queued),
            ..Filter::default()
        },
        Filter {
            limit: Some(2),
            ..Filter::default()
        },
    ] {
        let (l, s) = both(&filter);
        assert_eq!(l, s, "{filter:?}");
    }
    assert!(!both(&Filter::default()).0.is_empty());
    let due_l: Vec<_> = local
        .due(OffsetDateTime::now_utc(), true)
        .expect("due")
        .into_iter()
        .map(as_local)
        .collect();
    let due_s: Vec<_> = shared
        .due(OffsetDateTime::now_utc(), true)
        .expect("due")
        .into_iter()
        .map(as_local)
        .collect();
    assert_eq!(due_l, due_s);
    assert_eq!(due_l.len(), 1);
    assert_eq!(
        local.unresolved(2026, Month::November).expect("u").len(),
        shared.unresolved(2026, Month::November).expect("u").len()
    );
    assert_eq!(
        local.usage().expect("usage"),
        shared.usage().expect("usage")
    );
    assert_eq!(
        local.count().expect("count"),
        shared.count().expect("count")
    );
    // The certificate held for the queued check, by each store's number.
    let shared_queued = shared
        .list(&Filter {
            status: Some(CheckStatus::Queued),
            ..Filter::default()
        })
        .expect("queued");
    assert!(shared_queued[0].certificate_held);
    assert_eq!(
        shared_queued[0].printouts,
        vec![PathBuf::from("/tmp/printout.pdf")]
    );
}

#[test]
fn an_unreachable_shared_journal_falls_back_to_this_desks_records_and_says_so() {
    let db = TestDatabase::create("down");
    let dir = tempfile::tempdir().expect("tmp");
    let mut config = db.config("desk-x");
    // Nothing listens on port 1.
    config.url = config
        .url
        .replacen(&url_host_port(&config.url), "127.0.0.1:1", 1);
    let journal = open(&dir.path().join("j.sqlite3"), config);
    let id = journal
        .record(by_numbers(
            "山田 花子",
            "ﾔﾏﾀﾞ ﾊﾅｺ",
            numbers("01130012", "5012345", "1024"),
            date!(2026 - 11 - 21),
            date!(1980 - 04 - 01),
        ))
        .expect("recorded on the desk while offline");
    let reader = journal.reader().expect("falls back");
    assert!(
        matches!(reader.scope(), ReadScope::ThisDeskOnly { reason } if reason.contains("unavailable")),
        "{:?}",
        reader.scope()
    );
    assert_eq!(
        reader.scope().desk_notice(),
        Some("この端末の記録のみ表示しています(共有の受付記録に接続できません)。")
    );
    let found = search(&reader, "山田");
    assert_eq!(found.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id]);
    assert!(found[0].desk.is_none());
    // Asked for one desk: this desk's records are all its own, another desk's are elsewhere.
    let of = |desk: &str| {
        reader
            .list(&Filter {
                desk: Some(desk.into()),
                ..Filter::default()
            })
            .expect("by desk")
            .len()
    };
    assert_eq!((of("desk-x"), of("desk-y")), (1, 0));
    assert_eq!(reader.usage().expect("usage")[0].number_checks, 1);
}

/// `host:port` of a `postgres://user@host:port/db` URL.
fn url_host_port(url: &str) -> String {
    let rest = url.split_once('@').map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// A configuration for the CLI: this desk's journal and the shared one.
fn cli_config(dir: &Path, shared: &SharedJournalConfig) -> PathBuf {
    let tls = common::pki_dir().join("tls");
    let password = match &shared.password {
        Some(SharedPassword::File(p)) => format!("password_file = \"{}\"\n", p.display()),
        _ => String::new(),
    };
    let text = format!(
        "facility_code = \"1312345678\"\n\n[endpoint]\nurl = \"https://127.0.0.1:1/\"\nca = \"{}\"\nclient_certificate = \"{}\"\nclient_key = \"{}\"\n\n[journal]\npath = \"{}\"\nurl = \"{}\"\nca = \"{}\"\ndesk_id = \"{}\"\n{password}",
        tls.join("server-ca.pem").display(),
        tls.join("facility.pem").display(),
        tls.join("facility-key.pem").display(),
        dir.join("journal.sqlite3").display(),
        shared.url,
        shared.ca.display(),
        shared.desk_id,
    );
    let path = dir.join("onshi.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn desk(config: &Path, args: &[&str]) -> Output {
    common::desk_command()
        .arg("--config")
        .arg(config)
        .arg("journal")
        .args(args)
        .output()
        .expect("run onshi-desk")
}

fn fill(path: &Path, names: &[&str]) {
    let journal = Journal::open(path).expect("journal");
    for (i, name) in names.iter().enumerate() {
        journal
            .record(by_numbers(
                name,
                "ﾃｽﾄ",
                numbers("01130012", "5012345", &format!("{}", 100 + i)),
                date!(2026 - 11 - 21),
                date!(1980 - 04 - 01),
            ))
            .expect("record");
    }
}

/// Adds a check queued in an outage (事後確認待ち).
fn queue_one(path: &Path, name: &str) {
    let journal = Journal::open(path).expect("journal");
    let mut c = by_numbers(
        name,
        "ﾃｽﾄ",
        numbers("01130012", "5012345", "999"),
        date!(2026 - 11 - 21),
        date!(1980 - 04 - 01),
    );
    c.verdict = Some(VerdictKind::Timeout);
    journal.record(c).expect("record");
}

#[test]
fn copy_to_shared_sends_a_desks_records_once_and_the_cli_reads_them_with_their_desk() {
    let db = TestDatabase::create("cli");
    let dir = tempfile::tempdir().expect("tmp");
    let config = cli_config(dir.path(), &db.config("front-1"));
    // This desk's journal, made before the shared journal was set.
    let own = dir.path().join("journal.sqlite3");
    fill(&own, &["山田 花子"]);
    queue_one(&own, "佐藤 太郎");
    // An old PC's journal.
    let old = dir.path().join("old-pc.sqlite3");
    fill(&old, &["山本 一郎", "鈴木 次郎"]);
    queue_one(&old, "田中 三郎");

    let sent = |out: &Output| -> u64 {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        common::stdout_json(out)["sent"].as_u64().expect("sent")
    };
    let old_s = old.to_str().expect("utf-8 path");
    let from_old = [
        "copy-to-shared",
        "--from",
        old_s,
        "--desk",
        "old-pc",
        "--json",
    ];
    assert_eq!(sent(&desk(&config, &from_old)), 3);
    assert_eq!(sent(&desk(&config, &from_old)), 0, "twice");
    assert_eq!(sent(&desk(&config, &["copy-to-shared", "--json"])), 2);
    assert_eq!(
        sent(&desk(&config, &["copy-to-shared", "--json"])),
        0,
        "twice"
    );
    let text = desk(
        &config,
        &["copy-to-shared", "--from", old_s, "--desk", "old-pc"],
    );
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("0 件を送信しました"));

    // Another desk's file under this desk's id (or none), or this desk's under another's, would
    // collide with that desk's records.
    for args in [
        &["copy-to-shared", "--from", old_s, "--desk", "front-1"][..],
        &["copy-to-shared", "--from", old_s][..],
        &["copy-to-shared", "--from", old_s, "--desk", "../x"][..],
        &["copy-to-shared", "--desk", "old-pc"][..],
    ] {
        let out = desk(&config, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }

    // The CLI reads the shared journal: five records, each with its desk, no duplicates.
    let list = desk(&config, &["list", "--json", "--limit", "0"]);
    assert!(list.status.success());
    let records = common::stdout_json(&list);
    let records = records.as_array().expect("array");
    assert_eq!(records.len(), 5);
    let mut desks: Vec<&str> = records
        .iter()
        .map(|r| r["desk"].as_str().expect("desk"))
        .collect();
    desks.sort();
    assert_eq!(desks, ["front-1", "front-1", "old-pc", "old-pc", "old-pc"]);
    let old_only = common::stdout_json(&desk(&config, &["list", "--desk", "old-pc", "--json"]));
    assert_eq!(old_only.as_array().expect("array").len(), 3);
    let found = common::stdout_json(&desk(&config, &["list", "--search", "山", "--json"]));
    assert_eq!(found.as_array().expect("array").len(), 2);
    // The terminal list and the CSV show the desk.
    let lines = desk(&config, &["list", "--search", "山本"]);
    assert!(String::from_utf8_lossy(&lines.stdout).contains("\told-pc\t"));
    let csv = desk(&config, &["export", "--csv", "--encoding", "utf-8"]);
    let csv = String::from_utf8_lossy(&csv.stdout).into_owned();
    assert!(csv.starts_with("受付記録番号,端末,"), "{csv}");
    assert!(csv.contains(",old-pc,"));
    // --local reads this desk's file: its two records, no desk.
    let local = common::stdout_json(&desk(&config, &["list", "--local", "--json"]));
    let local = local.as_array().expect("array");
    assert_eq!(local.len(), 2);
    assert!(local.iter().all(|r| r["desk"].is_null()));
    // The file's integrity check is the file's, whatever is shared.
    assert!(desk(&config, &["check"]).status.success());

    // `resolve` takes the number `list` shows (the facility's) and closes any desk's record
    // in the shared journal (the facility's from then on); this desk's own copy of its own
    // record is closed too.
    let queued = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec!["list", "--status", "queued", "--json"];
        args.extend_from_slice(extra);
        common::stdout_json(&desk(&config, &args))
            .as_array()
            .expect("array")
            .clone()
    };
    let shared_queued = queued(&[]);
    assert_eq!(shared_queued.len(), 2);
    let of = |d: &str| {
        shared_queued
            .iter()
            .find(|r| r["desk"] == d)
            .expect("queued")
            .clone()
    };
    let (mine, theirs) = (of("front-1"), of("old-pc"));
    assert_ne!(mine["id"], mine["desk_check_id"], "numbers differ");
    let id = |r: &serde_json::Value| r["id"].as_i64().expect("id").to_string();
    let closed = desk(&config, &["resolve", &id(&mine)]);
    assert!(
        closed.status.success(),
        "{}",
        String::from_utf8_lossy(&closed.stderr)
    );
    assert!(
        queued(&["--local"]).is_empty(),
        "closed in this desk's file"
    );
    assert_eq!(
        json_names(&desk(&config, &["list", "--local", "--json"])),
        ["佐藤 太郎", "山田 花子"],
        "no other record touched"
    );
    let left = queued(&[]);
    assert_eq!(left.len(), 1, "closed in the shared journal at once");
    assert_eq!(left[0]["desk"], "old-pc");
    // Another desk's record is closed in the shared journal; closing it again says it is not
    // open (exit 2), an unknown number says so too.
    let theirs_closed = desk(&config, &["resolve", &id(&theirs), "--json"]);
    assert!(theirs_closed.status.success());
    assert!(queued(&[]).is_empty());
    let again = desk(&config, &["resolve", &id(&theirs), "--json"]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(common::stdout_json(&again)["error"]["kind"], "not_open");
    // Forwarding this desk's copy afterwards does not reopen anything.
    desk(&config, &["copy-to-shared", "--json"]);
    assert!(queued(&[]).is_empty());
}

/// The names of a JSON list of records, in its order.
fn json_names(out: &Output) -> Vec<String> {
    common::stdout_json(out)
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or("-").to_owned())
        .collect()
}

#[test]
fn the_cli_says_when_only_this_desks_records_could_be_read() {
    let db = TestDatabase::create("clidown");
    let dir = tempfile::tempdir().expect("tmp");
    let mut shared = db.config("front-2");
    shared.url = shared
        .url
        .replacen(&url_host_port(&shared.url), "127.0.0.1:1", 1);
    let config = cli_config(dir.path(), &shared);
    fill(&dir.path().join("journal.sqlite3"), &["山田 花子"]);
    let out = desk(&config, &["list", "--json"]);
    assert!(out.status.success());
    assert_eq!(
        common::stdout_json(&out).as_array().expect("array").len(),
        1
    );
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("この端末の記録のみ表示しています(共有の受付記録に接続できません)"));
    // Copying needs the database: a failure, said.
    let copy = desk(&config, &["copy-to-shared", "--json"]);
    assert_eq!(copy.status.code(), Some(1));
}
