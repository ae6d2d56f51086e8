//! `onshi-desk journal …`: the reception journal from the command line.
//!
//! - `list [--date D] [--search TEXT] [--status S] [--desk DESK_ID] [--limit N] [--json]`: the
//!   history, newest first (search: a date, digits for a 番号/保険者番号/記号, or the start of a
//!   name or kana);
//! - `show ID [--json]`: one record in full (never a certificate);
//! - `export --csv [--from D] [--to D] [--out FILE] [--encoding E]`: records as CSV
//!   (formula-safe);
//! - `reconfirm [--json]`: one round of 事後確認 against the configured service;
//! - `resolve ID [--json]`: staff closed a conflict or a queued check by hand (ID as `list`
//!   shows it; with a shared journal only this desk's own records): it is no longer retried
//!   (the conflict detail stays as the trace; an unknown receipt stays on the month-end list,
//!   its claim is still 7s);
//! - `purge [--before D] [--json]`: drop held certificates past the retention, and records
//!   before D (except those still queued or in conflict);
//! - `unresolved --month YYYY-MM [--csv [--encoding E]] [--json]`: the month's checks the
//!   claim run cannot take as they are;
//! - `usage [--csv [--encoding E]] [--json]`: the monthly card-use rate;
//! - `check [--json]`: the full integrity check (`PRAGMA integrity_check`; every open runs
//!   the quicker `quick_check`);
//! - `recover [--json]`: after a damaged journal was set aside, start a new, empty one (the
//!   damaged file is kept; a sound journal is never replaced). See `docs/journal.md`.
//! - `copy-to-shared [--from FILE --desk DESK_ID] [--json]`: sends a desk's records to the
//!   facility's shared journal (`[journal] url`): this desk's own journal by default, or
//!   another desk's file (e.g. brought from an old PC) under that desk's id. Only what the
//!   shared journal lacks is sent: running it again sends nothing twice.
//!
//! With a shared journal configured (`[journal] url`), `list`, `show`, `export`, `unresolved`
//! and `usage` read it: every desk's records, with the desk that made each (`端末`); when it
//! cannot be reached they read this desk's file and say so on standard error
//! (この端末の記録のみ…). `--local` reads this desk's file. `check` always checks the file.
//!
//! Text that came from the service (names, numbers) is shown with control and bidi
//! characters escaped (`domain::text::for_display`): a name cannot rewrite the terminal.
//!
//! CSV is for Japanese Excel: Japanese headers, CRLF, times in Japan time, and the encoding
//! `--encoding utf-8-bom|shift_jis|utf-8`, else `[journal] csv_encoding` of the
//! configuration, else UTF-8 with BOM (`domain::text::TextEncoding`).
//!
//! The journal is `--journal PATH`, else `[journal] path` of the configuration, else the
//! default `<data dir>/onshi-desk/journal.sqlite3`. Exit codes: 0 success, 1 journal or
//! service failure (also `reconfirm` while the service is still down), 2 invalid input.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use time::{Month, OffsetDateTime};

use super::{parse_date, print_json, Failure};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::domain::text::{for_display, for_display_limited, TextEncoding};
use crate::journal::report::{csv_bytes, write_records_csv, write_usage_csv};
use crate::journal::{
    set_aside_files, CheckId, CheckKind, CheckNumbers, CheckRecord, CheckStatus, Filter, Journal,
    JournalError, JournalReader, NewCheck,
};
use crate::online::OnlineClient;

#[derive(Args, Debug)]
pub struct JournalArgs {
    /// The journal file (default: `[journal] path` of the configuration, else
    /// <data dir>/onshi-desk/journal.sqlite3).
    #[arg(long, value_name = "PATH", global = true)]
    journal: Option<PathBuf>,
    /// Read this desk's journal file even when a shared journal (`[journal] url`) is set.
    #[arg(long, global = true)]
    local: bool,
    #[command(subcommand)]
    command: JournalCommand,
}

#[derive(Subcommand, Debug)]
enum JournalCommand {
    /// The checks, newest first (受付履歴).
    List {
        /// Checks of this day (JST), YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        date: Option<time::Date>,
        /// A date, a 番号/保険者番号/記号 (digits), or the start of a name or kana.
        #[arg(long)]
        search: Option<String>,
        /// done, queued, reconfirmed or conflict.
        #[arg(long)]
        status: Option<String>,
        /// Only the checks made at this desk (`[journal] desk_id`; with a shared journal).
        #[arg(long, value_name = "DESK_ID")]
        desk: Option<String>,
        /// At most this many (default 100; 0 for all).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One check in full.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// The checks as CSV (Japanese headers, CRLF; UTF-8 with BOM unless --encoding).
    Export {
        /// CSV (the only format; required so the output format is explicit).
        #[arg(long, required = true)]
        csv: bool,
        #[arg(long, value_parser = parse_date)]
        from: Option<time::Date>,
        #[arg(long, value_parser = parse_date)]
        to: Option<time::Date>,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// utf-8-bom, shift_jis or utf-8 (default: `[journal] csv_encoding`, else utf-8-bom).
        #[arg(long, value_parser = parse_encoding)]
        encoding: Option<TextEncoding>,
    },
    /// Re-confirm queued checks once against the configured service (事後確認).
    Reconfirm {
        #[arg(long)]
        json: bool,
    },
    /// Staff settled a conflict or a queued check by hand: mark it done (対応済み).
    Resolve {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Purge held certificates past the retention; with --before, records before that day.
    Purge {
        /// Delete the records checked before this day (queued and conflicts are kept).
        #[arg(long, value_parser = parse_date)]
        before: Option<time::Date>,
        #[arg(long)]
        json: bool,
    },
    /// The month's checks still unknown (7s), queued or in conflict, for the claim run.
    Unresolved {
        /// YYYY-MM
        #[arg(long, value_parser = parse_month)]
        month: (i32, Month),
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// With --csv: utf-8-bom, shift_jis or utf-8.
        #[arg(long, value_parser = parse_encoding, requires = "csv")]
        encoding: Option<TextEncoding>,
        #[arg(long)]
        json: bool,
    },
    /// The monthly card-use rate (card checks ÷ all eligibility checks).
    Usage {
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// With --csv: utf-8-bom, shift_jis or utf-8.
        #[arg(long, value_parser = parse_encoding, requires = "csv")]
        encoding: Option<TextEncoding>,
        #[arg(long)]
        json: bool,
    },
    /// The full integrity check of the journal file (slower than the check made at every
    /// open).
    Check {
        #[arg(long)]
        json: bool,
    },
    /// Start a new, empty journal after a damaged one was set aside (the damaged file is
    /// kept; a sound journal is never replaced).
    Recover {
        #[arg(long)]
        json: bool,
    },
    /// Send a desk's records to the facility's shared journal (`[journal] url`); what it
    /// already has is not sent again.
    CopyToShared {
        /// Another desk's journal file (e.g. from an old PC); requires --desk.
        #[arg(long, value_name = "FILE", requires = "desk")]
        from: Option<PathBuf>,
        /// The id of the desk that made the records in --from (ASCII letters, digits, '-',
        /// '_'); default this desk's (`[journal] desk_id`).
        #[arg(long, value_name = "DESK_ID")]
        desk: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Test support: records COUNT checks, printing each id once it is committed.
    #[command(hide = true)]
    Burst {
        #[arg(long, default_value_t = 1000)]
        count: u32,
    },
}

fn parse_month(s: &str) -> Result<(i32, Month), String> {
    let (y, m) = s
        .split_once('-')
        .ok_or_else(|| "expected YYYY-MM".to_owned())?;
    let year: i32 = y.parse().map_err(|_| "expected YYYY-MM".to_owned())?;
    let month: u8 = m.parse().map_err(|_| "expected YYYY-MM".to_owned())?;
    let month = Month::try_from(month).map_err(|_| "month 01-12".to_owned())?;
    if !(1900..=9999).contains(&year) || y.len() != 4 {
        return Err("expected YYYY-MM".into());
    }
    Ok((year, month))
}

impl From<JournalError> for Failure {
    fn from(e: JournalError) -> Self {
        let exit = match e {
            JournalError::Invalid(_) | JournalError::NotFound(_) | JournalError::NotOpen(_) => 2,
            _ => 1,
        };
        Failure::new(e.kind(), e.desk_message(), e.to_string(), exit)
    }
}

/// Whether the verb answers in JSON, errors included (also an error opening the journal).
fn wants_json(command: &JournalCommand) -> bool {
    match command {
        JournalCommand::List { json, .. }
        | JournalCommand::Show { json, .. }
        | JournalCommand::Reconfirm { json }
        | JournalCommand::Resolve { json, .. }
        | JournalCommand::Purge { json, .. }
        | JournalCommand::Unresolved { json, .. }
        | JournalCommand::Usage { json, .. }
        | JournalCommand::Check { json }
        | JournalCommand::Recover { json }
        | JournalCommand::CopyToShared { json, .. } => *json,
        JournalCommand::Export { .. } | JournalCommand::Burst { .. } => false,
    }
}

/// `--encoding NAME` (see [`TextEncoding::from_name`]).
fn parse_encoding(s: &str) -> Result<TextEncoding, String> {
    TextEncoding::from_name(s).ok_or_else(|| {
        format!(
            "{} is not an encoding: utf-8-bom, shift_jis or utf-8",
            for_display_limited(s, 40)
        )
    })
}

/// The journal file and the configuration (when there is one).
fn locate(
    args_path: Option<PathBuf>,
    config_path: Option<&Path>,
) -> Result<(PathBuf, Option<Config>), Failure> {
    let config = match Config::load(config_path) {
        Ok(c) => Some(c),
        // No configuration at the default place: the journal still has a default place.
        Err(ConfigError::Missing(_)) if config_path.is_none() => None,
        Err(e) if args_path.is_some() && config_path.is_none() => {
            tracing::debug!(error = %e, "configuration ignored: --journal given");
            None
        }
        Err(e) => return Err(e.into()),
    };
    let path = args_path
        .or_else(|| config.as_ref().and_then(|c| c.journal.path.clone()))
        .unwrap_or_else(crate::config::default_journal_path);
    Ok((path, config))
}

fn write_out(out: Option<&Path>, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| {
        Failure::new(
            "io",
            "出力ファイルに書き込めませんでした。",
            e.to_string(),
            1,
        )
    };
    match out {
        // Exports hold patient data: owner-only, atomic, never through a planted link.
        Some(p) => onshi_files::write_atomic(p, bytes, onshi_files::Access::Private).map_err(fail),
        None => {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(bytes);
            let _ = o.flush();
            Ok(())
        }
    }
}

/// One record as a terminal line. Names and numbers came from the service: shown escaped.
fn line(r: &CheckRecord) -> String {
    let numbers = r
        .numbers
        .as_ref()
        .map(|n| {
            format!(
                "{} {} {} {}",
                n.insurer_number,
                n.symbol.as_deref().unwrap_or("-"),
                n.number,
                n.branch.as_deref().unwrap_or("-")
            )
        })
        .unwrap_or_else(|| "-".into());
    // The desk that made the check, when read from the shared journal.
    let id = match &r.desk {
        Some(desk) => format!("{}\t{}", r.id, for_display(desk)),
        None => r.id.to_string(),
    };
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
        id,
        r.check_date,
        r.kind.as_str(),
        r.status.as_str(),
        r.verdict
            .map_or_else(|| "-".to_owned(), |v| crate::journal::stored_name(&v)),
        for_display(r.name.as_deref().unwrap_or("-")),
        for_display(&numbers)
    )
}

/// The longest line of `journal show` kept (characters): a record is never that long, a
/// hostile one is cut.
const SHOW_LINE_LIMIT: usize = 64 * 1024;

/// `show` without `--json`: the record's pretty JSON, each line escaped for the terminal
/// (JSON escapes controls but not bidi overrides).
fn shown(r: &CheckRecord) -> String {
    let pretty = serde_json::to_string_pretty(r).unwrap_or_default();
    pretty
        .lines()
        .map(|l| for_display_limited(l, SHOW_LINE_LIMIT) + "\n")
        .collect()
}

/// `recover`: starts a new journal after a damaged one was set aside; a sound journal is
/// left as it is (exit 0, said).
fn recover(path: &Path, json: bool) -> Result<(), Failure> {
    let sound = match Journal::open(path) {
        Ok(_) => true,
        Err(JournalError::Damaged { .. }) => false,
        Err(e) => return Err(Failure::from(e).json(json)),
    };
    if !sound {
        Journal::start_anew(path).map_err(|e| Failure::from(e).json(json))?;
    }
    let aside = set_aside_files(path);
    if json {
        return print_json(&serde_json::json!({
            "journal": path,
            "started_anew": !sound,
            "set_aside": aside,
        }));
    }
    if sound {
        println!(
            "受付記録は正常です。新しく始める必要はありません: {}",
            path.display()
        );
    } else {
        println!("新しい受付記録を開始しました: {}", path.display());
        println!("アプリを起動中の場合は再起動してください。");
    }
    for p in aside {
        println!("保管中の壊れたファイル(削除していません): {}", p.display());
    }
    Ok(())
}

pub fn run(args: JournalArgs, config_path: Option<&Path>) -> Result<(), Failure> {
    let (path, config) = locate(args.journal, config_path)?;
    if let JournalCommand::Recover { json } = args.command {
        return recover(&path, json);
    }
    let json = wants_json(&args.command);
    let shared = config.as_ref().and_then(|c| c.journal.shared.clone());
    if let JournalCommand::CopyToShared { from, desk, json } = args.command {
        return copy_to_shared(&path, shared, from, desk, json);
    }
    let journal = Journal::open(&path).map_err(|e| Failure::from(e).json(json))?;
    // The history, search and reports: the shared journal unless --local (or none is set).
    let local = args.local;
    let reader = || -> Result<JournalReader, Failure> {
        let shared = shared.as_ref().filter(|_| !local);
        let reader =
            JournalReader::open_for(&path, shared).map_err(|e| Failure::from(e).json(json))?;
        if let Some(notice) = reader.scope().desk_notice() {
            // On standard error: the output (JSON, CSV) stays what it says it is.
            eprintln!("{notice}");
        }
        Ok(reader)
    };
    let today = SystemClock.today_jst();
    // The CSV encoding: the flag, else the configuration's, else UTF-8 with BOM.
    let configured = config.as_ref().map(|c| c.journal.csv_encoding);
    let csv_encoding = |flag: Option<TextEncoding>| flag.or(configured).unwrap_or_default();
    match args.command {
        JournalCommand::List {
            date,
            search,
            status,
            desk,
            limit,
            json,
        } => {
            let status = status
                .map(|s| {
                    CheckStatus::parse(&s).ok_or_else(|| {
                        Failure::new(
                            "invalid_input",
                            "状態は done / queued / reconfirmed / conflict / abandoned のいずれかです。",
                            format!("unknown status {s:?}"),
                            2,
                        )
                    })
                })
                .transpose()?;
            let filter = Filter {
                date,
                status,
                search,
                desk,
                limit: (limit > 0).then_some(limit),
                ..Filter::default()
            };
            let records = reader()?
                .list(&filter)
                .map_err(|e| Failure::from(e).json(json))?;
            if json {
                print_json(&records)
            } else {
                let text: String = records.iter().map(|r| line(r) + "\n").collect();
                write_out(None, text.as_bytes())
            }
        }
        JournalCommand::Show { id, json } => {
            let r = reader()?
                .get(CheckId(id))
                .map_err(|e| Failure::from(e).json(json))?;
            if json {
                print_json(&r)
            } else {
                write_out(None, shown(&r).as_bytes())
            }
        }
        JournalCommand::Export {
            csv: _,
            from,
            to,
            out,
            encoding,
        } => {
            let records = reader()?.list(&Filter {
                from,
                to,
                limit: None,
                ..Filter::default()
            })?;
            let buf = csv_bytes(csv_encoding(encoding), |b| write_records_csv(b, &records))?;
            write_out(out.as_deref(), &buf)
        }
        JournalCommand::Reconfirm { json } => {
            let config = match config {
                Some(c) => c,
                None => Config::load(config_path)?,
            };
            let client = OnlineClient::new(&config)?;
            // Settled checks get their result files, as at the desk ([interop]).
            let sink: std::sync::Arc<dyn crate::check::ResultSink> = if config.interop.enabled {
                std::sync::Arc::new(crate::interop::face::FaceWriter::from_config(&config))
            } else {
                std::sync::Arc::new(crate::check::NoSink)
            };
            let report = crate::check::Reconfirmer::new(journal.clone(), client)
                .with_sink(sink)
                .run_once(OffsetDateTime::now_utc(), true)
                .map_err(|e| Failure::from(e).json(json))?;
            if json {
                print_json(&report)?;
            } else if report.led_elsewhere {
                println!(
                    "事後確認: 別の端末が施設の事後確認を実行中のため、この端末では行いませんでした。"
                );
            } else {
                println!(
                    "事後確認: 照会 {} 件、確認済み {} 件、要確認(相違) {} 件、番号待ち {} 件",
                    report.attempted,
                    report.reconfirmed,
                    report.conflicts,
                    report.waiting_for_numbers
                );
            }
            if report.endpoint_down {
                let f = Failure::new(
                    "unreachable",
                    "資格確認システムがまだ応答しません。後でもう一度実行してください。",
                    "the service is still down; the round stopped",
                    1,
                );
                // With --json the report (endpoint_down: true) was the output.
                return Err(if json { f.quiet() } else { f });
            }
            Ok(())
        }
        JournalCommand::Resolve { id, json } => {
            // The number as listed: with a shared journal, the facility's. Staff close any
            // desk's record there (it is the facility's from then on); this desk's own copy
            // of one of its records is closed too.
            #[cfg(feature = "shared-journal")]
            if let Some(shared) = shared.as_ref().filter(|_| !local) {
                let facility = crate::journal::shared::facility::FacilityJournal::connect(shared)
                    .map_err(|e| Failure::from(e).json(json))?;
                let record = reader()?
                    .get(CheckId(id))
                    .map_err(|e| Failure::from(e).json(json))?;
                facility
                    .resolve(CheckId(id), OffsetDateTime::now_utc())
                    .map_err(|e| Failure::from(e).json(json))?;
                if let Some(own) = record.local_id(Some(shared.desk_id.as_str())) {
                    match journal.resolve(own, OffsetDateTime::now_utc()) {
                        Ok(()) | Err(JournalError::NotOpen(_) | JournalError::NotFound(_)) => {}
                        Err(e) => tracing::warn!(error = %e, "this desk's copy not closed"),
                    }
                }
                return if json {
                    print_json(&serde_json::json!({ "id": id, "status": "done" }))
                } else {
                    println!("受付記録 {id} を対応済みにしました。");
                    Ok(())
                };
            }
            journal
                .resolve(CheckId(id), OffsetDateTime::now_utc())
                .map_err(|e| Failure::from(e).json(json))?;
            if json {
                print_json(&serde_json::json!({ "id": id, "status": "done" }))
            } else {
                println!("受付記録 {id} を対応済みにしました。");
                Ok(())
            }
        }
        JournalCommand::Purge { before, json } => {
            let days = config
                .as_ref()
                .map(|c| c.journal.retention_days)
                .unwrap_or(crate::config::DEFAULT_RETENTION_DAYS);
            let cutoff = today - time::Duration::days(i64::from(days));
            let certificates = journal.purge_certificates(cutoff)?;
            let records = match before {
                Some(d) => journal.purge_before(d)?,
                None => 0,
            };
            if json {
                print_json(&serde_json::json!({
                    "certificates_cleared": certificates,
                    "records_deleted": records,
                }))
            } else {
                println!("証明書情報を消去: {certificates} 件、記録を削除: {records} 件");
                Ok(())
            }
        }
        JournalCommand::Unresolved {
            month,
            csv,
            encoding,
            json,
        } => {
            let records = reader()?.unresolved(month.0, month.1)?;
            if json {
                print_json(&records)
            } else if csv {
                let buf = csv_bytes(csv_encoding(encoding), |b| write_records_csv(b, &records))?;
                write_out(None, &buf)
            } else {
                let text: String = records.iter().map(|r| line(r) + "\n").collect();
                write_out(None, text.as_bytes())
            }
        }
        JournalCommand::Usage {
            csv,
            encoding,
            json,
        } => {
            let rows = reader()?.usage()?;
            if json {
                print_json(&rows)
            } else if csv {
                let buf = csv_bytes(csv_encoding(encoding), |b| write_usage_csv(b, &rows))?;
                write_out(None, &buf)
            } else {
                let text: String = rows
                    .iter()
                    .map(|u| {
                        format!(
                            "{}\tカード {}\t番号 {}\t利用率 {}\n",
                            u.month,
                            u.card_checks,
                            u.number_checks,
                            u.card_rate
                                .map(|r| format!("{:.1}%", r * 100.0))
                                .unwrap_or_else(|| "-".into())
                        )
                    })
                    .collect();
                write_out(None, text.as_bytes())
            }
        }
        JournalCommand::Check { json } => {
            // The file's own check, whatever is shared.
            let result = journal
                .local_reader()?
                .integrity_check()
                .map_err(|e| Failure::from(e).json(json))?;
            let sound = result == "ok";
            if json {
                print_json(&serde_json::json!({ "journal": path, "ok": sound, "detail": result }))?;
            } else if sound {
                println!("受付記録は正常です: {}", path.display());
            }
            if sound {
                return Ok(());
            }
            let f = Failure::new(
                "journal_damaged",
                "受付記録のファイルに損傷が見つかりました。システム担当者に連絡してください。アプリを終了してから「onshi-desk journal recover」を実行すると、壊れたファイルを保管して新しい受付記録を開始できます。",
                format!("integrity_check: {}", for_display(&result)),
                1,
            );
            Err(if json { f.quiet() } else { f })
        }
        JournalCommand::Recover { .. } | JournalCommand::CopyToShared { .. } => Ok(()),
        JournalCommand::Burst { count } => burst(&journal, count, today),
    }
}

/// Records `count` synthetic checks as fast as the writer commits them, printing each id
/// after `record` returned: what a crash test may take as "reported done".
fn burst(journal: &Journal, count: u32, today: time::Date) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    for i in 0..count {
        let mut check = NewCheck::empty(CheckKind::Numbers, today);
        check.verdict = Some(crate::domain::VerdictKind::Valid);
        check.validity = Some(1);
        check.numbers = Some(CheckNumbers {
            insurer_number: "01130012".into(),
            symbol: Some("5012345".into()),
            number: format!("{}", 1000 + i),
            branch: Some("00".into()),
        });
        check.name = Some(format!("試験 {i}"));
        let id = journal.record(check)?;
        // A closed stdout ends the burst; the journal is what counts.
        if writeln!(out, "{id}").and_then(|_| out.flush()).is_err() {
            break;
        }
    }
    Ok(())
}

/// `copy-to-shared`: sends the records of a desk's journal (this desk's at `own`, or `from`
/// made by `desk`) that the shared journal lacks, through the desk's own forwarder (the same
/// upsert, so nothing is sent twice), and says how many.
#[cfg(feature = "shared-journal")]
fn copy_to_shared(
    own: &Path,
    shared: Option<crate::config::SharedJournalConfig>,
    from: Option<PathBuf>,
    desk: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let invalid = |message: &str, detail: String| {
        Failure::new("invalid_input", message, detail, 2).json(json)
    };
    let Some(mut shared) = shared else {
        return Err(invalid(
            "共有の受付記録(journal.url)が設定されていません。",
            "no shared journal is configured ([journal] url)".into(),
        ));
    };
    if let Some(d) = &desk {
        if !crate::config::is_safe_file_token(d) {
            return Err(invalid(
                "端末ID(--desk)は半角英数字と - _ の 64 文字までです。",
                format!("--desk {}: not a desk id", for_display_limited(d, 80)),
            ));
        }
    }
    let path = from.clone().unwrap_or_else(|| own.to_owned());
    // Another desk's file under this desk's id would collide with this desk's records (the
    // shared journal keys a record by desk and the desk's number).
    let other_file =
        from.is_some() && std::fs::canonicalize(&path).ok() != std::fs::canonicalize(own).ok();
    if other_file && desk.as_deref().is_none_or(|d| d == shared.desk_id) {
        return Err(invalid(
            "別の端末の受付記録には、その端末の端末ID(この端末とは別のID)を --desk で指定してください。",
            format!(
                "--from {} needs --desk with that desk's id, not this desk's ({})",
                path.display(),
                shared.desk_id
            ),
        ));
    }
    // This desk's own journal goes under this desk's id: under another, its records would
    // collide with that desk's and never reach the shared journal as this desk's.
    if !other_file && desk.as_deref().is_some_and(|d| d != shared.desk_id) {
        return Err(invalid(
            "この端末の受付記録は、この端末の端末IDで送信します。--desk は別の端末のファイル(--from)と一緒に指定してください。",
            format!(
                "this desk's journal is sent as desk {}, not another desk's",
                shared.desk_id
            ),
        ));
    }
    if !path.exists() {
        return Err(invalid(
            "指定された受付記録のファイルがありません。",
            format!("{} does not exist", path.display()),
        ));
    }
    if let Some(d) = desk {
        shared.desk_id = d;
    }
    let fail = |e: JournalError| Failure::from(e).json(json);
    // Opened once without forwarding: migrated, and what waits is counted.
    let unforwarded = |path: &Path| -> Result<u64, Failure> {
        drop(Journal::open(path).map_err(fail)?);
        let reader = JournalReader::open(path).map_err(fail)?;
        let conn = reader
            .local_conn()
            .ok_or_else(|| fail(JournalError::Other("not a desk's journal file".into())))?;
        crate::journal::shared::forward::count_unforwarded(conn).map_err(fail)
    };
    let before = unforwarded(&path)?;
    let journal = Journal::open_with(
        &path,
        crate::journal::JournalOptions {
            shared: Some(shared.clone()),
            ..crate::journal::JournalOptions::default()
        },
    )
    .map_err(fail)?;
    let forwarded = journal.forward_now();
    drop(journal);
    let after = unforwarded(&path)?;
    let sent = before.saturating_sub(after);
    if let Err(e) = forwarded {
        tracing::warn!(sent, left = after, error = %e, "copy to the shared journal stopped");
        return Err(fail(e));
    }
    if json {
        return print_json(&serde_json::json!({
            "journal": path,
            "desk": shared.desk_id,
            "sent": sent,
            "left": after,
        }));
    }
    println!(
        "共有の受付記録へ {sent} 件を送信しました(端末 {}、{})。",
        shared.desk_id,
        path.display()
    );
    Ok(())
}

#[cfg(not(feature = "shared-journal"))]
fn copy_to_shared(
    _own: &Path,
    _shared: Option<crate::config::SharedJournalConfig>,
    _from: Option<PathBuf>,
    _desk: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    Err(Failure::new(
        "invalid_input",
        "このプログラムは共有の受付記録に対応していません。",
        "this build has no shared journal (feature shared-journal)",
        2,
    )
    .json(json))
}
