//! The journal as a library: recording and reading back, search, a full disk, a read-only or
//! corrupt file, migrations from every earlier schema version, hostile text in the CSV
//! export, huge search strings, reports and the certificate retention rule. No network.

use std::path::{Path, PathBuf};

use onshi_desk::domain::claim::plan::ClaimStep;
use onshi_desk::domain::claim::receipt::{DeclaredContact, ReceiptHeader, UnknownInsurer};
use onshi_desk::domain::IdentityMethod;
use onshi_desk::domain::VerdictKind;
use onshi_desk::journal::report::write_records_csv;
use onshi_desk::journal::{
    schema, CheckId, CheckKind, CheckNumbers, CheckStatus, Filter, Journal, JournalError,
    JournalOptions, NewCheck,
};
use time::macros::date;
use time::Month;

fn numbers(number: &str) -> CheckNumbers {
    CheckNumbers {
        insurer_number: "01130012".into(),
        symbol: Some("5012345".into()),
        number: number.into(),
        branch: Some("00".into()),
    }
}

fn check(name: &str, number: &str) -> NewCheck {
    let mut c = NewCheck::empty(CheckKind::Numbers, date!(2026 - 11 - 21));
    c.verdict = Some(VerdictKind::Valid);
    c.validity = Some(1);
    c.numbers = Some(numbers(number));
    c.name = Some(name.into());
    c.name_kana = Some("ﾔﾏﾀﾞ ﾊﾅｺ".into());
    c.birthdate = Some(date!(1980 - 04 - 01));
    c
}

fn journal_in(dir: &Path) -> (Journal, PathBuf) {
    let path = dir.join("sub").join("journal.sqlite3");
    (Journal::open(&path).expect("open journal"), path)
}

#[test]
fn a_recorded_check_reads_back_and_is_found_by_name_number_and_date() {
    let dir = tempfile::tempdir().expect("tmp");
    let (journal, path) = journal_in(dir.path());
    let id = journal.record(check("山田 花子", "1024")).expect("record");
    journal.record(check("佐藤 太郎", "2048")).expect("record");
    let mut card = NewCheck::empty(CheckKind::Card, date!(2026 - 11 - 20));
    card.identity = Some(IdentityMethod::Pin);
    card.verdict = Some(VerdictKind::Valid);
    journal.record(card).expect("record card");

    let reader = journal.reader().expect("reader");
    let r = reader.get(id).expect("get");
    assert_eq!(r.name.as_deref(), Some("山田 花子"));
    assert_eq!(r.status, CheckStatus::Done);
    assert_eq!(r.numbers, Some(numbers("1024")));
    assert_eq!(r.birthdate, Some(date!(1980 - 04 - 01)));
    assert!(!r.certificate_held);

    let search = |text: &str| {
        reader
            .list(&Filter {
                search: Some(text.into()),
                ..Filter::default()
            })
            .expect("search")
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(search("山田"), vec![id]);
    assert_eq!(search("ﾔﾏﾀﾞ").len(), 2);
    // Kana as the desk types it: ひらがな, full-width カタカナ, a full-width space.
    assert_eq!(search("やまだ").len(), 2);
    assert_eq!(search("ヤマダ　ハ").len(), 2);
    assert_eq!(
        search("やまた").len(),
        2,
        "ﾀﾞ is ﾀ + ﾞ: the plain kana is a prefix"
    );
    assert!(search("やまだ　た").is_empty());
    assert_eq!(search("１０２４"), vec![id], "full-width digits");
    assert_eq!(search("2026-11-20").len(), 1);
    assert!(search("田").is_empty(), "prefix, not substring");
    let today = reader
        .list(&Filter {
            date: Some(date!(2026 - 11 - 21)),
            ..Filter::default()
        })
        .expect("by date");
    assert_eq!(today.len(), 2);
    // A second journal handle on the same file sees the same records.
    drop(journal);
    let again = Journal::open(&path).expect("reopen");
    assert_eq!(again.reader().expect("reader").count().expect("count"), 3);
}

#[test]
fn many_threads_record_through_the_one_writer_without_losing_any() {
    let dir = tempfile::tempdir().expect("tmp");
    let (journal, _) = journal_in(dir.path());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let j = journal.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        j.record(check(&format!("並行 {t}-{i}"), "1"))
                            .expect("record")
                    })
                    .collect::<Vec<CheckId>>()
            })
        })
        .collect();
    let mut ids: Vec<CheckId> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("thread"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100);
    // submit + poll, as the UI thread would.
    let pending = journal.submit(check("非同期", "9"));
    let id = loop {
        if let Some(r) = pending.try_result() {
            break r.expect("committed");
        }
        std::thread::yield_now();
    };
    assert_eq!(
        journal
            .reader()
            .expect("reader")
            .get(id)
            .expect("get")
            .name
            .as_deref(),
        Some("非同期")
    );
}

#[test]
fn a_full_disk_is_reported_and_nothing_unwritten_is_reported_done() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("full.sqlite3");
    drop(Journal::open(&path).expect("create"));
    let journal = Journal::open_with(
        &path,
        JournalOptions {
            max_page_count: Some(12),
            ..JournalOptions::default()
        },
    )
    .expect("open capped");
    let mut done = Vec::new();
    let mut error = None;
    for i in 0..5000 {
        let mut c = check(&format!("満杯 {i}"), &format!("{i}"));
        c.receipt = Some(serde_json::json!({"remarks": ["x".repeat(500)]}));
        match journal.record(c) {
            Ok(id) => done.push(id),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let error = error.expect("the cap is reached");
    assert!(matches!(error, JournalError::Full(_)), "{error:?}");
    assert!(error.desk_message().contains("記録されていません"));
    // Still full on the next try, and still told so.
    assert!(matches!(
        journal.record(check("次", "1")),
        Err(JournalError::Full(_))
    ));
    drop(journal);
    let reader = Journal::open(&path)
        .expect("reopen")
        .reader()
        .expect("reader");
    assert_eq!(reader.integrity_check().expect("check"), "ok");
    assert_eq!(reader.count().expect("count"), done.len() as u64);
    for id in done {
        reader.get(id).expect("every check reported done is there");
    }
}

#[test]
fn a_read_only_journal_refuses_writes_clearly() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ro.sqlite3");
    Journal::open(&path)
        .expect("create")
        .record(check("既存", "1"))
        .expect("record");
    let journal = Journal::open_with(
        &path,
        JournalOptions {
            query_only: true,
            ..JournalOptions::default()
        },
    )
    .expect("open read-only");
    let e = journal.record(check("新規", "2")).expect_err("read-only");
    assert!(matches!(e, JournalError::ReadOnly(_)), "{e:?}");
    assert_eq!(e.kind(), "journal_read_only");
    assert!(e.desk_message().contains("読み取り専用"));
    assert!(e.desk_message().contains("記録されていません"));
    assert_eq!(journal.reader().expect("reader").count().expect("count"), 1);
}

#[test]
fn a_corrupt_or_unopenable_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tmp");
    let garbage = dir.path().join("garbage.sqlite3");
    std::fs::write(&garbage, vec![0x5a; 8192]).expect("write");
    let e = Journal::open(&garbage).err().expect("corrupt");
    assert!(matches!(e, JournalError::Damaged { .. }), "{e:?}");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").expect("write");
    let e = Journal::open(&blocker.join("journal.sqlite3"))
        .err()
        .expect("parent is a file");
    assert!(matches!(e, JournalError::CannotOpen { .. }), "{e:?}");
}

/// Data a journal of each version could hold: `(version, SQL)`; applied to every file at that
/// version or later, before migrating to the current one.
const OLD_DATA: &[(i64, &str)] = &[
    (
        1,
        r#"INSERT INTO checks (recorded_at, check_date, kind, identity, verdict, validity,
               insurer_number, symbol, number, branch, name, name_kana, birthdate, claim_step,
               receipt_json, printouts_json, status)
           VALUES ('2026-10-01T01:00:00Z', '2026-10-01', 'card', 'pin', 'valid', 1,
               '01130012', '5012345', '1024', '00', '山田 花子', 'ﾔﾏﾀﾞ ﾊﾅｺ', '1980-04-01', NULL,
               NULL, '[]', 'done'),
                  ('2026-10-02T01:00:00Z', '2026-10-02', 'claim_path', NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'self_declaration',
               '{"step":"self_declaration","insurer_number":"77777777","symbol":null,"number":"777777777","branch":null,"remarks":["不詳"]}',
               '["/srv/print/1.pdf"]', 'done')"#,
    ),
    (
        2,
        r#"INSERT INTO checks (recorded_at, check_date, kind, verdict, insurer_number, number,
               birthdate, status, attempts, next_attempt_at)
           VALUES ('2026-10-03T01:00:00Z', '2026-10-03', 'numbers', 'timeout', '01130012',
               '1024', '1980-04-01', 'queued', 2, '2026-10-03T02:00:00Z')"#,
    ),
];

#[test]
fn every_earlier_schema_version_migrates_with_its_data_kept() {
    const { assert!(schema::VERSION >= 2, "at least two versions") };
    for start in 0..schema::VERSION {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join(format!("v{start}.sqlite3"));
        let mut expected = 0;
        {
            let mut conn = rusqlite::Connection::open(&path).expect("open");
            // As every earlier version left a file: WAL set first (so even version 0 has its
            // header page; an empty file is damage, not a journal).
            let _: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .expect("wal");
            schema::migrate_to(&mut conn, start).expect("build old schema");
            assert_eq!(schema::version(&conn).expect("version"), start);
            for (v, sql) in OLD_DATA {
                if *v <= start {
                    expected += conn.execute(sql, []).expect("old data");
                }
            }
        }
        let journal = Journal::open(&path).expect("migrate");
        let reader = journal.reader().expect("reader");
        assert_eq!(
            schema::version(&rusqlite::Connection::open(&path).expect("open")).expect("v"),
            schema::VERSION
        );
        assert_eq!(
            reader.count().expect("count"),
            expected as u64,
            "from v{start}"
        );
        if start >= 1 {
            let all = reader
                .list(&Filter {
                    limit: None,
                    ..Filter::default()
                })
                .expect("list");
            let card = all
                .iter()
                .find(|r| r.kind == CheckKind::Card)
                .expect("card");
            assert_eq!(card.name.as_deref(), Some("山田 花子"));
            assert_eq!(
                card.identity
                    .map(|v| onshi_desk::journal::stored_name(&v))
                    .as_deref(),
                Some("pin")
            );
            let unknown = all
                .iter()
                .find(|r| r.kind == CheckKind::ClaimPath)
                .expect("claim path");
            assert_eq!(unknown.receipt_insurer(), Some("77777777"));
            assert_eq!(unknown.printouts, vec![PathBuf::from("/srv/print/1.pdf")]);
            // Version 2 queues an unknown receipt recorded by version 1 (the migration from 1
            // runs only for a file of version 1; the row above is version 1's).
            if start < 2 {
                assert_eq!(unknown.status, CheckStatus::Queued);
                let unresolved = reader.unresolved(2026, Month::October).expect("report");
                assert!(unresolved.iter().any(|r| r.id == unknown.id));
            }
        }
        // And the migrated journal takes new records.
        journal
            .record(check("移行後", "1"))
            .expect("record after migration");
    }
}

#[test]
fn a_journal_from_a_newer_program_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("new.sqlite3");
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.pragma_update(None, "user_version", schema::VERSION + 1)
            .expect("version");
    }
    let e = Journal::open(&path).err().expect("too new");
    assert!(matches!(e, JournalError::TooNew { .. }), "{e:?}");
}

#[test]
fn hostile_text_is_quoted_and_defused_in_the_csv_export() {
    let dir = tempfile::tempdir().expect("tmp");
    let (journal, _) = journal_in(dir.path());
    let hostile = [
        "=HYPERLINK(\"http://evil.example/\",\"x\")",
        "+1+1",
        "-2",
        "@SUM(A1)",
        "山田, \"花子\"\n2行目",
        "\t=tab",
    ];
    for name in hostile {
        journal.record(check(name, "1")).expect("record");
    }
    let records = journal
        .reader()
        .expect("reader")
        .list(&Filter {
            limit: None,
            ..Filter::default()
        })
        .expect("list");
    let mut out = Vec::new();
    write_records_csv(&mut out, &records).expect("csv");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains("\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"x\"\")\""));
    assert!(text.contains(",'+1+1,"));
    assert!(text.contains(",'-2,"));
    assert!(text.contains(",'@SUM(A1),"));
    assert!(text.contains("\"山田, \"\"花子\"\"\n2行目\""));
    assert!(text.contains(",'\t=tab,"));
    // No field anywhere starts with a formula character unguarded.
    for field in text.split([',', '\n']) {
        let f = field.trim_start_matches('"');
        assert!(!f.starts_with(['=', '+', '@']), "{field:?}");
    }
    // One header + one CRLF-terminated line per record (the embedded \n is inside quotes).
    assert_eq!(text.matches("\r\n").count(), records.len() + 1);
}

#[test]
fn huge_and_odd_search_strings_are_refused_or_harmless() {
    let dir = tempfile::tempdir().expect("tmp");
    let (journal, _) = journal_in(dir.path());
    journal.record(check("山田 花子", "1024")).expect("record");
    let reader = journal.reader().expect("reader");
    let huge = "山".repeat(1_000_000);
    let e = reader
        .list(&Filter {
            search: Some(huge),
            ..Filter::default()
        })
        .expect_err("too long");
    assert!(matches!(e, JournalError::Invalid(_)));
    for odd in ["%", "_", "'; DROP TABLE checks; --", "\0", "*", "[", "   "] {
        let found = reader
            .list(&Filter {
                search: Some(odd.into()),
                ..Filter::default()
            })
            .expect("odd text is just text");
        assert!(found.len() <= 1, "{odd:?}");
    }
    assert_eq!(reader.count().expect("count"), 1);
}

#[test]
fn certificates_are_kept_only_while_queued_and_purged_after_retention() {
    let dir = tempfile::tempdir().expect("tmp");
    let (journal, _) = journal_in(dir.path());
    // A done card check: the certificate is never stored.
    let mut done = NewCheck::empty(CheckKind::Card, date!(2026 - 11 - 21));
    done.verdict = Some(VerdictKind::Valid);
    done.identity = Some(IdentityMethod::Pin);
    let done = journal
        .record(done.hold_certificate("0705D990", &[1, 2, 3]))
        .expect("record");
    // A queued one keeps it.
    let mut queued = NewCheck::empty(CheckKind::Card, date!(2026 - 10 - 01));
    queued.verdict = Some(VerdictKind::Unreachable);
    queued.identity = Some(IdentityMethod::Visual);
    let queued = journal
        .record(queued.hold_certificate("0705D990", &[1, 2, 3]))
        .expect("record");
    let reader = journal.reader().expect("reader");
    assert!(!reader.get(done).expect("done").certificate_held);
    let q = reader.get(queued).expect("queued");
    assert!(q.certificate_held);
    assert_eq!(q.status, CheckStatus::Queued);
    // The JSON of a record never shows the certificate.
    let json = serde_json::to_string(&q).expect("json");
    assert!(!json.contains("0705D990"));
    // Within retention nothing is cleared; after it, the certificate goes.
    assert_eq!(
        journal
            .purge_certificates(date!(2026 - 09 - 01))
            .expect("purge"),
        0
    );
    assert_eq!(
        journal
            .purge_certificates(date!(2026 - 10 - 15))
            .expect("purge"),
        1
    );
    assert!(!reader.get(queued).expect("queued").certificate_held);
    // Purging records keeps what the claim still needs (queued).
    assert_eq!(
        journal.purge_before(date!(2027 - 01 - 01)).expect("purge"),
        1
    );
    assert_eq!(reader.count().expect("count"), 1);
}

#[test]
fn month_end_reports_list_unknown_receipts_and_the_card_use_rate() {
    let dir = tempfile::tempdir().expect("tmp");
    let (journal, _) = journal_in(dir.path());
    for (kind, day) in [
        (CheckKind::Card, date!(2026 - 10 - 05)),
        (CheckKind::Card, date!(2026 - 10 - 06)),
        (CheckKind::Card, date!(2026 - 10 - 07)),
        (CheckKind::Numbers, date!(2026 - 10 - 08)),
        (CheckKind::Numbers, date!(2026 - 11 - 01)),
    ] {
        let mut c = NewCheck::empty(kind, day);
        c.verdict = Some(VerdictKind::Valid);
        journal.record(c).expect("record");
    }
    let header = ReceiptHeader::unknown(false, UnknownInsurer::Plain, &DeclaredContact::default());
    let unknown = journal
        .record(NewCheck::claim_path(
            date!(2026 - 10 - 31),
            ClaimStep::SelfDeclaration,
            &header,
        ))
        .expect("record");
    let reader = journal.reader().expect("reader");
    let usage = reader.usage().expect("usage");
    assert_eq!(usage.len(), 2);
    assert_eq!(usage[0].month, "2026-10");
    assert_eq!((usage[0].card_checks, usage[0].number_checks), (3, 1));
    assert_eq!(usage[0].card_rate, Some(0.75));
    assert_eq!(usage[0].claim_path_only, 1);
    assert_eq!(usage[1].card_rate, Some(0.0));
    let open = reader.unresolved(2026, Month::October).expect("unresolved");
    assert_eq!(open.iter().map(|r| r.id).collect::<Vec<_>>(), vec![unknown]);
    assert!(reader
        .unresolved(2026, Month::November)
        .expect("unresolved")
        .is_empty());
}

#[test]
fn staff_close_a_conflict_or_a_queued_check_and_the_certificate_goes_with_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let (journal, _) = journal_in(dir.path());
    let mut c = NewCheck::empty(CheckKind::Card, date!(2026 - 11 - 21));
    c.verdict = Some(VerdictKind::Valid);
    c.status = Some(CheckStatus::Conflict);
    let conflict = journal.record(c).expect("record");
    let mut c = NewCheck::empty(CheckKind::Card, date!(2026 - 11 - 21));
    c.verdict = Some(VerdictKind::Unreachable);
    let id = journal
        .record(c.hold_certificate("0705D990", &[1, 2, 3]))
        .expect("record");
    let reader = journal.reader().expect("reader");
    assert!(reader.get(id).expect("queued").certificate_held);
    let at = time::macros::datetime!(2026-11-22 01:02:03 UTC);
    journal.resolve(id, at).expect("resolve");
    let r = reader.get(id).expect("closed");
    assert_eq!(r.status, CheckStatus::Done);
    assert!(!r.certificate_held);
    assert_eq!(
        r.last_attempt_detail.as_deref(),
        Some("closed by staff at 2026-11-22T01:02:03Z")
    );
    assert!(matches!(
        journal.resolve(id, at),
        Err(JournalError::NotOpen(n)) if n == id.0
    ));
    journal.resolve(conflict, at).expect("resolve the conflict");
    assert_eq!(
        reader.get(conflict).expect("closed").status,
        CheckStatus::Done
    );
    assert!(matches!(
        journal.resolve(CheckId(9999), at),
        Err(JournalError::NotFound(9999))
    ));
}

#[test]
fn the_handles_the_app_shares_between_threads_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    fn movable<T: Send>() {}
    shared::<Journal>();
    movable::<onshi_desk::journal::Pending>();
    movable::<onshi_desk::journal::JournalReader>();
    movable::<onshi_desk::check::Reconfirmer<onshi_desk::online::OnlineClient>>();
    shared::<JournalError>();
}

/// A journal with `n` checks, closed: the file is whole on disk (WAL checkpointed).
fn filled(path: &Path, n: usize) {
    let journal = Journal::open(path).expect("create");
    for i in 0..n {
        let mut c = check(&format!("損傷 {i}"), &format!("{i}"));
        c.receipt = Some(serde_json::json!({"remarks": ["x".repeat(200)]}));
        journal.record(c).expect("record");
    }
}

/// The files beside `path` whose name starts with `<file name>.damaged-`.
fn set_aside_beside(path: &Path) -> Vec<PathBuf> {
    let name = path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let mut found: Vec<PathBuf> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name().is_some_and(|f| {
                let f = f.to_string_lossy();
                // Its -wal and -shm go with it; the database file is what counts here.
                f.starts_with(&format!("{name}.damaged-"))
                    && !f.ends_with("-wal")
                    && !f.ends_with("-shm")
            })
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_journal_damaged_in_the_middle_is_set_aside_never_written_and_staff_start_anew() {
    for damage in ["random bytes", "truncated", "zero length"] {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("journal.sqlite3");
        filled(&path, 300);
        let mut bytes = std::fs::read(&path).expect("read");
        assert!(bytes.len() > 64 * 1024, "{damage}: several pages");
        match damage {
            "random bytes" => {
                let mut x: u32 = 0x9e37_79b9;
                for b in &mut bytes[24 * 1024..40 * 1024] {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    *b = x as u8;
                }
            }
            "truncated" => bytes.truncate(bytes.len() / 2),
            _ => bytes.clear(),
        }
        std::fs::write(&path, &bytes).expect("damage");

        let e = Journal::open(&path).err().expect(damage);
        let JournalError::Damaged { set_aside, .. } = &e else {
            panic!("{damage}: {e:?}");
        };
        let set_aside = set_aside.clone().expect("the damaged file was set aside");
        assert_eq!(e.kind(), "journal_damaged");
        let message = e.desk_message();
        assert!(message.contains("壊れています"), "{message}");
        assert!(message.contains("記録されていません"), "{message}");
        assert!(message.contains("journal recover"), "{message}");
        // Kept aside byte for byte under a dated name; nothing is at the journal's place.
        assert_eq!(set_aside_beside(&path), vec![set_aside.clone()], "{damage}");
        assert_eq!(std::fs::read(&set_aside).expect("kept"), bytes, "{damage}");
        assert!(!path.exists(), "{damage}");
        // Opening again does not silently start a new journal: staff must decide.
        let again = Journal::open(&path).err().expect("still refused");
        assert!(matches!(again, JournalError::Damaged { .. }), "{again:?}");
        assert!(!path.exists(), "{damage}");

        // Staff start a new journal; the damaged one stays where it was put.
        let journal = Journal::start_anew(&path).expect("start anew");
        assert_eq!(journal.reader().expect("reader").count().expect("count"), 0);
        journal.record(check("再開", "1")).expect("record");
        drop(journal);
        assert_eq!(std::fs::read(&set_aside).expect("kept"), bytes, "{damage}");
        let journal = Journal::open(&path).expect("the new journal opens");
        assert_eq!(journal.reader().expect("reader").count().expect("count"), 1);
    }
}

#[test]
fn a_second_damaged_journal_is_set_aside_beside_the_first_never_over_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("journal.sqlite3");
    std::fs::write(&path, vec![0x5a; 8192]).expect("first");
    let first = Journal::open(&path).err().expect("damaged");
    drop(Journal::start_anew(&path).expect("anew"));
    std::fs::write(&path, vec![0x33; 8192]).expect("second");
    let second = Journal::open(&path).err().expect("damaged");
    let aside = set_aside_beside(&path);
    assert_eq!(aside.len(), 2, "{first:?} {second:?}");
    let contents: Vec<Vec<u8>> = aside
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    assert!(contents.contains(&vec![0x5a; 8192]));
    assert!(contents.contains(&vec![0x33; 8192]));
}

#[test]
fn a_sound_journal_is_never_set_aside_and_start_anew_refuses_to_replace_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("journal.sqlite3");
    filled(&path, 5);
    let e = Journal::start_anew(&path)
        .err()
        .expect("a sound journal is kept");
    assert!(matches!(e, JournalError::Invalid(_)), "{e:?}");
    assert_eq!(
        Journal::open(&path)
            .expect("open")
            .reader()
            .expect("reader")
            .count()
            .expect("count"),
        5
    );
    assert!(set_aside_beside(&path).is_empty());
}

#[cfg(unix)]
#[test]
fn the_journal_and_its_folder_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let dir = tempfile::tempdir().expect("tmp");
    let folder = dir.path().join("data").join("onshi-desk");
    let path = folder.join("journal.sqlite3");
    let journal = Journal::open(&path).expect("open");
    journal.record(check("権限", "1")).expect("record");
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(&dir.path().join("data")), 0o700);
    for file in [
        "journal.sqlite3",
        "journal.sqlite3-wal",
        "journal.sqlite3-shm",
    ] {
        assert_eq!(mode(&folder.join(file)), 0o600, "{file}");
    }
    drop(journal);
    // A journal left readable by others by an earlier version is narrowed when opened.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let journal = Journal::open(&path).expect("reopen");
    journal.record(check("権限", "2")).expect("record");
    for file in [
        "journal.sqlite3",
        "journal.sqlite3-wal",
        "journal.sqlite3-shm",
    ] {
        assert_eq!(mode(&folder.join(file)), 0o600, "{file}");
    }
}

#[test]
fn every_sqlite_failure_class_has_its_own_kind_and_says_the_check_is_not_recorded() {
    use std::io::{Error, ErrorKind};
    let path = Path::new("/srv/onshi/journal.sqlite3");
    let cases = [
        (
            ErrorKind::ReadOnlyFilesystem,
            "journal_read_only",
            "読み取り専用",
        ),
        (ErrorKind::StorageFull, "journal_full", "空き"),
        (ErrorKind::PermissionDenied, "journal_permission", "権限"),
        (ErrorKind::Other, "journal_cannot_open", "開けません"),
    ];
    for (kind, expected, reason) in cases {
        let e = JournalError::from_io(path, &Error::from(kind));
        assert_eq!(e.kind(), expected, "{kind:?}");
        let message = e.desk_message();
        assert!(message.contains(reason), "{message}");
        assert!(message.contains("記録されていません"), "{message}");
    }
    let io = JournalError::from_io(path, &Error::from_raw_os_error(5));
    assert_eq!(io.kind(), "journal_io");
    assert!(io.desk_message().contains("記録されていません"));

    // SQLite's codes, and the OS reason behind a generic I/O or open error.
    let sqlite = |code| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
    use rusqlite::ffi;
    for (code, os, expected) in [
        (ffi::SQLITE_FULL, None, "journal_full"),
        (ffi::SQLITE_READONLY, None, "journal_read_only"),
        (ffi::SQLITE_PERM, None, "journal_permission"),
        (ffi::SQLITE_CORRUPT, None, "journal_corrupt"),
        (ffi::SQLITE_NOTADB, None, "journal_corrupt"),
        (ffi::SQLITE_IOERR_WRITE, None, "journal_io"),
        (
            ffi::SQLITE_IOERR_SHMSIZE,
            Some(ErrorKind::StorageFull),
            "journal_full",
        ),
        (
            ffi::SQLITE_CANTOPEN,
            Some(ErrorKind::ReadOnlyFilesystem),
            "journal_read_only",
        ),
        (
            ffi::SQLITE_CANTOPEN,
            Some(ErrorKind::PermissionDenied),
            "journal_permission",
        ),
    ] {
        let e = JournalError::from_sqlite(sqlite(code), os.map(Error::from));
        assert_eq!(e.kind(), expected, "{code} {os:?}");
        assert!(e.desk_message().contains("記録されていません"), "{code}");
    }
}

#[test]
fn a_symbol_or_number_with_letters_kanji_or_a_hyphen_is_found_as_typed() {
    // 記号 and 番号 are not always digits (国保 記号 `千代田`, 番号 `AB-1024`); typed with the
    // IME in full width they must still find the check, not only a name starting with them.
    let dir = tempfile::tempdir().expect("tmp");
    let (journal, _) = journal_in(dir.path());
    let mut c = check("山田 花子", "AB-1024");
    if let Some(n) = c.numbers.as_mut() {
        n.symbol = Some("千代田".into());
    }
    let id = journal.record(c).expect("record");
    journal
        .record(check("千代田 一郎", "2048"))
        .expect("record");
    let reader = journal.reader().expect("reader");
    let search = |text: &str| {
        let mut ids = reader
            .list(&Filter {
                search: Some(text.into()),
                ..Filter::default()
            })
            .expect("search")
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>();
        ids.sort_by_key(|id| format!("{id:?}"));
        ids
    };
    assert_eq!(search("AB-1024"), vec![id]);
    assert_eq!(search("ＡＢ－１０２４"), vec![id]);
    // 千代田 is both a 記号 and the start of a name: both are listed.
    assert_eq!(search("千代田").len(), 2);
    assert!(search("AB-102").is_empty(), "numbers match exactly");
}
