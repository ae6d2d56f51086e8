//! The shared journal's second figure: the history search over ten million records (issue 17),
//! through the desk's own reader (`JournalReader::open_shared` + `list`), as the history
//! screen and `journal list --search` run it.
//!
//! ```sh
//! bash scripts/test-postgres-cluster start target/pg && source target/pg/env
//! cargo bench --bench shared_history            # fills onshi_bench_history once (~15 min)
//! bash scripts/test-postgres-cluster stop target/pg
//! ```
//!
//! The database (`ONSHI_BENCH_PG_DB`, default `onshi_bench_history`) is kept between runs and
//! filled only when it holds fewer than `ONSHI_BENCH_ROWS` records (default 10,000,000): ten
//! desks, 10,000 checks a day for 1,000 days, twenty family names × twelve given names with a
//! number, distinct 番号, birth dates over 88 years, made inside the server
//! (`generate_series`). Each search runs 30 times after one warm-up; printed: p50, p99 and max,
//! and how many records it found (at most the history's 100).
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it fills a throwaway database with
//! 20,000 records and searches once, as a smoke test; skipped without a test PostgreSQL.

use std::time::{Duration, Instant};

use onshi_desk::journal::{Filter, JournalReader};

#[path = "common/pg.rs"]
mod pg;

use pg::{Cluster, Error};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shared_history bench: {e:?}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The records: see the module documentation. `$1` is how many.
const FILL: &str = r#"
INSERT INTO checks (desk, desk_check_id, revision, recorded_at, check_date, kind, identity,
    verdict, validity, insurer_number, symbol, number, branch, name, name_kana, birthdate,
    status, printouts_json, public_expenses)
SELECT 'desk' || (g % 10), g, 1,
    to_char(d + (g % 36000) * interval '1 second' + interval '8 hours',
        'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    to_char(d, 'YYYY-MM-DD'), 'card', 'pin', 'valid', 1,
    lpad(((g::bigint * 7919) % 100000000)::text, 8, '0'), (g % 9999)::text,
    ((g::bigint * 104729) % 10000000)::text, '00',
    f.k || ' ' || n.k || (g % 97)::text, f.h || ' ' || n.h,
    to_char(date '1930-01-01' + (g % 32000)::int, 'YYYY-MM-DD'), 'done', '[]', '[]'
FROM generate_series(1, $1::bigint) g
CROSS JOIN LATERAL (SELECT date '2024-01-01' + (g / 10000)::int AS d) x
CROSS JOIN LATERAL (SELECT
    (array['山田','佐藤','鈴木','高橋','田中','伊藤','渡辺','中村','小林','加藤','吉田','山本',
           '山口','松本','井上','木村','林','斎藤','清水','山崎'])[1 + ((g / 10) * 31) % 20] AS k,
    (array['ﾔﾏﾀﾞ','ｻﾄｳ','ｽｽﾞｷ','ﾀｶﾊｼ','ﾀﾅｶ','ｲﾄｳ','ﾜﾀﾅﾍﾞ','ﾅｶﾑﾗ','ｺﾊﾞﾔｼ','ｶﾄｳ','ﾖｼﾀﾞ','ﾔﾏﾓﾄ',
           'ﾔﾏｸﾞﾁ','ﾏﾂﾓﾄ','ｲﾉｳｴ','ｷﾑﾗ','ﾊﾔｼ','ｻｲﾄｳ','ｼﾐｽﾞ','ﾔﾏｻﾞｷ'])[1 + ((g / 10) * 31) % 20] AS h) f
CROSS JOIN LATERAL (SELECT
    (array['太郎','花子','一郎','美咲','翔太','陽菜','大輝','結衣','蓮','葵','湊','凛'])
        [1 + (g / 7) % 12] AS k,
    (array['ﾀﾛｳ','ﾊﾅｺ','ｲﾁﾛｳ','ﾐｻｷ','ｼｮｳﾀ','ﾋﾅ','ﾀﾞｲｷ','ﾕｲ','ﾚﾝ','ｱｵｲ','ﾐﾅﾄ','ﾘﾝ'])
        [1 + (g / 7) % 12] AS h) n
"#;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Makes `db` hold at least `rows` records (creating and migrating it if needed).
fn fill(cluster: &Cluster, db: &str, rows: i64) -> Result<(), Error> {
    let mut admin = cluster.admin()?;
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db])?
        .is_some();
    if !exists {
        admin.batch_execute(&format!("CREATE DATABASE {db}"))?;
    }
    let mut client = onshi_desk::journal::shared::connect(&cluster.config(db, "bench")?)?;
    onshi_desk::journal::shared::schema::migrate(&mut client)?;
    let have: i64 = client.query_one("SELECT count(*) FROM checks", &[])?.get(0);
    if have < rows {
        eprintln!("filling {db} with {rows} records (once; minutes for millions)…");
        let started = Instant::now();
        // Minutes, not the desk's seconds.
        client.batch_execute("SET statement_timeout = 0; TRUNCATE checks")?;
        client.execute(FILL, &[&rows])?;
        client.batch_execute("ANALYZE checks")?;
        eprintln!("filled in {:.0} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

fn run() -> Result<(), Error> {
    let bench = std::env::args().any(|a| a == "--bench");
    let Some(cluster) = Cluster::from_env() else {
        if bench {
            return Err(pg::NO_CLUSTER.into());
        }
        println!("shared_history bench: skipped (no ONSHI_TEST_PG_URL; scripts/test sets it)");
        return Ok(());
    };
    let (db, rows, runs, throwaway) = if bench {
        let db =
            std::env::var("ONSHI_BENCH_PG_DB").unwrap_or_else(|_| "onshi_bench_history".into());
        let rows = std::env::var("ONSHI_BENCH_ROWS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(10_000_000);
        (db, rows, 30, false)
    } else {
        (
            format!("onshi_bench_history_{}", std::process::id()),
            20_000,
            1,
            true,
        )
    };
    let result = (|| -> Result<(), Error> {
        fill(&cluster, &db, rows)?;
        let reader = JournalReader::open_shared(&cluster.config(&db, "bench")?)?;
        println!(
            "history search over {} records (PostgreSQL, loopback, limit 100):",
            reader.count()?
        );
        let searches: &[(&str, Filter)] = &[
            ("name prefix 山田", search("山田")),
            ("full name 佐藤 花子", search("佐藤 花子")),
            ("kana typed in hiragana やまだ", search("やまだ")),
            ("番号 (exact)", search("4398910")),
            ("保険者番号 (exact)", search("00079190")),
            ("check date 2025-06-01", search("2025-06-01")),
            ("birth date S45.3.12", search("S45.3.12")),
            ("rare name 斎藤 凛", search("斎藤 凛5")),
            (
                "name 山田 at desk3",
                Filter {
                    desk: Some("desk3".into()),
                    ..search("山田")
                },
            ),
            ("latest 100 (no search)", Filter::default()),
        ];
        for (what, filter) in searches {
            reader.list(filter)?; // warm-up
            let mut times = Vec::with_capacity(runs);
            let mut found = 0;
            for _ in 0..runs {
                let started = Instant::now();
                found = reader.list(filter)?.len();
                times.push(started.elapsed());
            }
            times.sort();
            println!(
                "  {what:<32} p50 {:>9}  p99 {:>9}  max {:>9}  ({found} found)",
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.99)),
                ms(times.last().copied().unwrap_or_default()),
            );
        }
        Ok(())
    })();
    if throwaway {
        let _ = cluster
            .admin()
            .map(|mut a| a.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")));
    }
    result
}

fn search(text: &str) -> Filter {
    Filter {
        search: Some(text.into()),
        ..Filter::default()
    }
}
