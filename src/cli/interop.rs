//! `onshi-desk interop`: the receipt computer's files from the command line.
//!
//! `interop batch FILE.csv [--out DIR]` checks every patient of a CSV (一括照会 for a clinic
//! without a receipt computer that writes batch files) and writes the batch result XML and a
//! result CSV; see `crate::interop::batch` for the formats and `docs/receipt-computer.md`.
//!
//! `interop serve` watches the receipt computer's `req` folder without the desk window (a
//! back-office PC, or a desk PC whose window is closed): every request file is answered in
//! `res` (`crate::interop::watch`, `crate::interop::handler`). It runs until stopped; stopping
//! it at any moment loses nothing (a claimed request is answered on the next start).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{print_json, Failure};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::interop::batch::{read_csv, result_csv};
use crate::interop::names::{execution_time, Job, RequestName};
use crate::interop::watch::{serve as serve_folder, Shutdown, WatchOptions};
use crate::interop::{RequestProcessor, RowOutcome};
use crate::journal::{csv_bytes, Journal};
use crate::online::OnlineClient;

#[derive(Args, Debug)]
pub struct InteropArgs {
    #[command(subcommand)]
    command: InteropCommand,
}

#[derive(Subcommand, Debug)]
enum InteropCommand {
    /// Watch the receipt computer's `req` folder ([interop] folder) and answer every request
    /// file in `res`, until stopped.
    Serve,
    /// Check every patient of a CSV (保険者番号,記号,番号,枝番,生年月日 with a header row) and
    /// write the batch result XML and a result CSV (一括照会).
    Batch {
        /// The CSV file (UTF-8 with or without BOM, or Shift_JIS).
        file: PathBuf,
        /// Where the results go (default: the CSV's folder).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What `interop batch` prints.
#[derive(Serialize)]
struct BatchSummary {
    rows: usize,
    checked: usize,
    errors: usize,
    xml: PathBuf,
    csv: PathBuf,
}

pub fn run(args: InteropArgs, config_path: Option<&Path>) -> Result<(), Failure> {
    match args.command {
        InteropCommand::Serve => serve(config_path),
        InteropCommand::Batch { file, out, json } => {
            batch(&file, out.as_deref(), config_path, json).map_err(|f| f.json(json))
        }
    }
}

fn io_failure(path: &Path, e: std::io::Error) -> Failure {
    Failure::new(
        "io",
        format!("ファイルを書き込めません: {}", path.display()),
        format!("{}: {e}", path.display()),
        1,
    )
}

/// The request handler for `config`: the service, the journal, the facility's code and the
/// result encoding; shared by `serve` and `batch` (and the desk app's watcher).
pub fn processor(config: &Config) -> Result<RequestProcessor, Failure> {
    let journal = Journal::open_config(&config.journal)?;
    let client = OnlineClient::new(config)?;
    Ok(RequestProcessor::for_config(
        config,
        Arc::new(client),
        Arc::new(journal),
        SystemClock::shared(),
    ))
}

fn serve(config_path: Option<&Path>) -> Result<(), Failure> {
    let config = Config::load(config_path)?;
    if !config.interop.enabled {
        return Err(Failure::new(
            "config",
            "レセコン連携が設定されていません(設定ファイルの [interop] で enabled = true と folder を指定してください)。",
            "[interop] enabled is not true",
            1,
        ));
    }
    let handler = Arc::new(processor(&config)?);
    let folder = config.interop.folder.clone();
    let options = WatchOptions::from_config(&config.interop);
    // The line a supervisor or a test waits for.
    println!("watching {}", folder.display());
    serve_folder(&folder, handler, &options, &Shutdown::new()).map_err(|e| {
        Failure::new(
            "config",
            "レセコン連携フォルダの監視を開始できません。設定を確認してください。",
            e.to_string(),
            1,
        )
    })
}

fn batch(
    file: &Path,
    out: Option<&Path>,
    config_path: Option<&Path>,
    json: bool,
) -> Result<(), Failure> {
    let config = Config::load(config_path)?;
    let limit = config.interop.max_request_bytes as u64;
    let bytes = onshi_files::read_limited(file, limit).map_err(|e| {
        Failure::new(
            "io",
            crate::config::unreadable_file_message(&e, file),
            e.to_string(),
            1,
        )
    })?;
    let (rows, _) = read_csv(&bytes)
        .map_err(|e| Failure::new("invalid_input", e.desk_message(), e.to_string(), 2))?;
    let clock = SystemClock::shared();
    let processor = processor(&config)?;
    let name = RequestName {
        job: Job::Bulk,
        id: format!("csv_{}", execution_time(clock.now())),
    };
    let (xml, outcomes) = processor.answer_batch(&name, &rows);
    let dir = match out {
        Some(d) => d.to_owned(),
        None => file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    std::fs::create_dir_all(&dir).map_err(|e| io_failure(&dir, e))?;
    let xml_path = dir.join(name.result_name());
    onshi_files::write_atomic(&xml_path, &xml, onshi_files::Access::Shared)
        .map_err(|e| io_failure(&xml_path, e))?;
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "batch".into());
    let csv_path = dir.join(format!("{stem}_result_{}.csv", name.id));
    let text = result_csv(&rows, &outcomes);
    let csv = csv_bytes(config.journal.csv_encoding, |buf| {
        buf.extend_from_slice(text.as_bytes());
        Ok(())
    })?;
    onshi_files::write_atomic(&csv_path, &csv, onshi_files::Access::Shared)
        .map_err(|e| io_failure(&csv_path, e))?;
    let errors = outcomes
        .iter()
        .filter(|o| match o {
            RowOutcome::Failed { .. } => true,
            RowOutcome::Checked { verdict, .. } => verdict.kind.is_system_failure(),
        })
        .count();
    let summary = BatchSummary {
        rows: rows.len(),
        checked: outcomes
            .iter()
            .filter(|o| matches!(o, RowOutcome::Checked { .. }))
            .count(),
        errors,
        xml: xml_path,
        csv: csv_path,
    };
    if json {
        return print_json(&summary);
    }
    println!(
        "{}件を照会しました(エラー {}件)。結果: {} / {}",
        summary.rows,
        summary.errors,
        summary.csv.display(),
        summary.xml.display()
    );
    Ok(())
}
