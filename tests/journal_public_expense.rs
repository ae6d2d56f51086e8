//! The journal's `public_expenses` column (schema version 5): the 公費・医療費助成 of a check,
//! written with the check from the verdict, replaced when paper 受給者証 are added, read back
//! after a restart, migrated from version 4, and shown short in the CSV export.

mod common;

use onshi_desk::domain::numbers::{PublicPayerNumber, RecipientNumber};
use onshi_desk::domain::public_expense::{PublicExpense, PublicExpenseSource};
use onshi_desk::domain::{NextStep, Verdict, VerdictKind};
use onshi_desk::journal::report::write_records_csv;
use onshi_desk::journal::{schema, CheckKind, Journal, NewCheck};
use time::macros::date;

fn expense(payer: &str, recipient: &str, source: PublicExpenseSource) -> PublicExpense {
    PublicExpense {
        payer: PublicPayerNumber::parse(payer).expect("payer"),
        recipient: Some(RecipientNumber::parse(recipient).expect("recipient")),
        valid_from: Some(date!(2026 - 04 - 01)),
        valid_until: Some(date!(2027 - 03 - 31)),
        income_category: None,
        monthly_cap_yen: None,
        name: Some("乳幼児医療費助成".into()),
        source,
    }
}

fn intractable_paper() -> PublicExpense {
    common::intractable_expense(PublicExpenseSource::Paper)
}

fn verdict_with(expenses: Vec<PublicExpense>) -> Verdict {
    let mut v = Verdict::bare(VerdictKind::Valid, NextStep::ClaimNormally);
    v.public_expenses = expenses;
    v
}

#[test]
fn the_answers_entitlements_are_recorded_with_the_check_and_paper_ones_added_later() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("journal.sqlite3");
    let online = expense("88132014", "1234566", PublicExpenseSource::Online);
    let id = {
        let journal = Journal::open(&path).expect("open");
        let search =
            onshi_desk::domain::search::Search::Numbers(onshi_desk::domain::search::NumberSearch {
                insurer: onshi_desk::domain::InsurerNumber::parse("01130012").expect("insurer"),
                symbol: None,
                number: "1024".into(),
                branch: None,
                birthdate: date!(2023 - 05 - 05),
                limit_consent: false,
            });
        let check = NewCheck::from_online(
            &search,
            date!(2026 - 12 - 03),
            &verdict_with(vec![online.clone()]),
        );
        assert_eq!(check.public_expenses, vec![online.clone()]);
        let id = journal.record(check).expect("record");
        let r = journal.reader().expect("reader").get(id).expect("get");
        assert_eq!(r.public_expenses, vec![online.clone()]);
        journal
            .set_public_expenses(id, &[online.clone(), intractable_paper()])
            .expect("set");
        id
    };
    // After a restart (a new writer on the same file), both are there, in order, with source.
    let journal = Journal::open(&path).expect("reopen");
    let r = journal.reader().expect("reader").get(id).expect("get");
    assert_eq!(r.public_expenses, vec![online, intractable_paper()]);
    assert_eq!(r.public_expenses[1].source, PublicExpenseSource::Paper);
    assert_eq!(r.public_expenses[1].monthly_cap_yen, Some(10_000));
    // The CSV export lists them short.
    let mut csv = Vec::new();
    write_records_csv(&mut csv, &[r]).expect("csv");
    let csv = String::from_utf8(csv).expect("utf8");
    let header = csv.lines().next().expect("header");
    assert!(header.ends_with(",公費"), "{header}");
    assert!(
        csv.contains("88132014/1234566;紙:54130018/3456788"),
        "{csv}"
    );
}

#[test]
fn a_check_without_public_expenses_records_an_empty_list() {
    let dir = tempfile::tempdir().expect("tmp");
    let journal = Journal::open(&dir.path().join("j.sqlite3")).expect("open");
    let id = journal
        .record(NewCheck::empty(CheckKind::Card, date!(2026 - 12 - 03)))
        .expect("record");
    let r = journal.reader().expect("reader").get(id).expect("get");
    assert!(r.public_expenses.is_empty());
    assert!(journal
        .set_public_expenses(onshi_desk::journal::CheckId(id.0 + 100), &[])
        .is_err());
}

#[test]
fn a_version_4_journal_migrates_and_its_records_have_no_public_expenses() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("v4.sqlite3");
    {
        let mut conn = rusqlite::Connection::open(&path).expect("open");
        let _: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .expect("wal");
        schema::migrate_to(&mut conn, 4).expect("v4");
        conn.execute(
            "INSERT INTO checks (recorded_at, check_date, kind, verdict, status, interop_file)
             VALUES ('2026-11-20T01:00:00Z', '2026-11-20', 'card', 'valid', 'done', 'face-1.xml')",
            [],
        )
        .expect("old row");
    }
    let journal = Journal::open(&path).expect("migrate");
    const { assert!(schema::VERSION >= 5) };
    assert_eq!(
        schema::version(&rusqlite::Connection::open(&path).expect("open")).expect("v"),
        schema::VERSION
    );
    let reader = journal.reader().expect("reader");
    let all = reader
        .list(&onshi_desk::journal::Filter {
            limit: None,
            ..Default::default()
        })
        .expect("list");
    assert_eq!(all.len(), 1);
    assert!(all[0].public_expenses.is_empty());
    assert_eq!(all[0].interop_file.as_deref(), Some("face-1.xml"));
    // The old record takes paper entitlements like a new one.
    journal
        .set_public_expenses(all[0].id, &[intractable_paper()])
        .expect("set");
    let r = reader.get(all[0].id).expect("get");
    assert_eq!(r.public_expenses, vec![intractable_paper()]);
}
