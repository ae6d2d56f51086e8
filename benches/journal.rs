//! The journal's two figures: durable writes and history search.
//!
//! Run with `cargo bench --bench journal` (release build). Under `cargo test --all-targets`
//! (no `--bench` argument) it does a tiny round as a smoke test.
//!
//! - **writes**: 10,000 `Journal::record` calls one after the other, as the desk makes them,
//!   with durability on (WAL, `synchronous = FULL`: each returns after its commit is fsynced);
//!   median and p99 per write. Target: median under 2 ms.
//! - **search**: 1,000,000 records generated in one transaction (about 1,000 checks a day over
//!   1,000 days, 2,500 name combinations), then `JournalReader::list` searches by family name,
//!   full name, kana, 番号 and date, each 20 times; median and worst. Target: under 100 ms.
//!
//! Files go to cargo's target tmp dir (the project's disk, not a RAM disk), so fsync is real.

use std::path::Path;
use std::time::{Duration, Instant};

use onshi_desk::domain::{IdentityMethod, VerdictKind};
use onshi_desk::journal::{
    schema, CheckKind, CheckNumbers, CheckStatus, Filter, Journal, NewCheck,
};
use time::macros::date;

type Error = Box<dyn std::error::Error>;

const FAMILY: &[(&str, &str)] = &[
    ("佐藤", "ｻﾄｳ"),
    ("鈴木", "ｽｽﾞｷ"),
    ("高橋", "ﾀｶﾊｼ"),
    ("田中", "ﾀﾅｶ"),
    ("伊藤", "ｲﾄｳ"),
    ("渡辺", "ﾜﾀﾅﾍﾞ"),
    ("山本", "ﾔﾏﾓﾄ"),
    ("中村", "ﾅｶﾑﾗ"),
    ("小林", "ｺﾊﾞﾔｼ"),
    ("加藤", "ｶﾄｳ"),
];
const GIVEN: &[(&str, &str)] = &[
    ("花子", "ﾊﾅｺ"),
    ("太郎", "ﾀﾛｳ"),
    ("陽介", "ﾖｳｽｹ"),
    ("美咲", "ﾐｻｷ"),
    ("翔", "ｼｮｳ"),
];

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("journal bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn run() -> Result<(), Error> {
    let bench = std::env::args().any(|a| a == "--bench");
    let (writes, records) = if bench {
        (10_000, 1_000_000)
    } else {
        (50, 5_000)
    };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    bench_writes(&dir.path().join("writes.sqlite3"), writes)?;
    bench_search(&dir.path().join("search.sqlite3"), records)?;
    Ok(())
}

fn bench_writes(path: &Path, n: usize) -> Result<(), Error> {
    let journal = Journal::open(path)?;
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let mut c = NewCheck::empty(CheckKind::Numbers, date!(2026 - 11 - 21));
        c.verdict = Some(VerdictKind::Valid);
        c.validity = Some(1);
        c.numbers = Some(CheckNumbers {
            insurer_number: "01130012".into(),
            symbol: Some("5012345".into()),
            number: format!("{i}"),
            branch: Some("00".into()),
        });
        c.name = Some("山田 花子".into());
        c.name_kana = Some("ﾔﾏﾀﾞ ﾊﾅｺ".into());
        c.birthdate = Some(date!(1980 - 04 - 01));
        let t = Instant::now();
        journal.record(c)?;
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "writes: {n} durable records: median {}, p99 {}, max {}",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(percentile(&times, 1.0))
    );
    Ok(())
}

fn bench_search(path: &Path, n: usize) -> Result<(), Error> {
    let t = Instant::now();
    {
        let mut conn = rusqlite::Connection::open(path)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")?;
        schema::migrate(&mut conn)?;
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO checks (recorded_at, check_date, kind, identity, verdict, validity,
                     insurer_number, symbol, number, branch, name, name_kana, birthdate, status)
                 VALUES (?1, ?2, ?3, ?4, ?8, 1, '01130012', '5012345', ?5, '00', ?6, ?7,
                     '1980-04-01', ?9)",
            )?;
            let start = date!(2024 - 01 - 01);
            for i in 0..n {
                let day = start + time::Duration::days((i / 1000) as i64);
                // A spread that is not a simple cycle, so names and days are mixed.
                let h = (i as u64).wrapping_mul(2_654_435_761) >> 7;
                let (f, fk) = FAMILY[(h % FAMILY.len() as u64) as usize];
                let (g, gk) = GIVEN[((h / 16) % GIVEN.len() as u64) as usize];
                // 50 distinct numbers per family name keeps the names common, like real ones.
                let family = format!("{f}{}", (h / 256) % 50);
                let card = h % 10 < 7;
                stmt.execute(rusqlite::params![
                    format!("{day}T00:00:00Z"),
                    day.to_string(),
                    if card {
                        CheckKind::Card
                    } else {
                        CheckKind::Numbers
                    },
                    card.then_some(IdentityMethod::Pin),
                    format!("{}", 100_000 + i),
                    format!("{family} {g}"),
                    format!("{fk}{} {gk}", (h / 256) % 50),
                    VerdictKind::Valid,
                    CheckStatus::Done,
                ])?;
            }
        }
        tx.commit()?;
    }
    println!(
        "search: {n} records generated in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let journal = Journal::open(path)?;
    let reader = journal.reader()?;
    let last_day = date!(2024 - 01 - 01) + time::Duration::days(((n - 1) / 1000) as i64);
    let queries: Vec<(&str, Filter)> = vec![
        ("family name 山本7", search("山本7")),
        ("full name 山本7 花子", search("山本7 花子")),
        ("kana ﾀﾅｶ12", search("ﾀﾅｶ12")),
        ("番号", search(&format!("{}", 100_000 + n / 2))),
        ("date (search text)", search(&last_day.to_string())),
        (
            "date filter",
            Filter {
                date: Some(last_day),
                ..Filter::default()
            },
        ),
    ];
    for (label, filter) in queries {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..20 {
            let t = Instant::now();
            found = reader.list(&filter)?.len();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "search {label}: {found} shown (limit 100): median {}, worst {}",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 1.0))
        );
        if found == 0 {
            return Err(format!("search {label} found nothing").into());
        }
    }
    Ok(())
}

fn search(text: &str) -> Filter {
    Filter {
        search: Some(text.into()),
        ..Filter::default()
    }
}
