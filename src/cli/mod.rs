//! The command line: the automation and diagnostics face of the desk.
//!
//! Exit codes (documented in the README): 0 success; 1 the card, reader or service failed;
//! 2 invalid input (usage, a malformed PIN); 3 the PIN was refused or is blocked.
//! Errors print the Japanese desk message on stderr and log the precise error; with `--json`
//! they are also printed on stdout as `{"error": {"kind", "message", "detail"}}`, plus
//! `"problems": [{"field", "message", "detail"}]` for an invalid input document (`claim`).

mod card;
mod check_command;
mod claim;
mod console;
mod interop;
mod journal;
mod public_expense;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;

use std::time::Duration;

use time::Date;

use crate::card::{CardError, ReaderWatcher};

#[derive(Parser, Debug)]
#[command(
    name = "onshi-desk",
    version,
    about = "オンライン資格確認 受付端末 (reception desk)"
)]
pub struct Cli {
    /// Configuration file (default: $ONSHI_CONFIG, else ~/.config/onshi-desk/config.toml).
    #[arg(long, global = true)]
    config: Option<std::path::PathBuf>,
    #[command(flatten)]
    app: AppArgs,
    /// Without a command: the reception-desk app (受付画面).
    #[command(subcommand)]
    command: Option<Command>,
}

/// Options of the desk app (no command given).
#[derive(clap::Args, Debug)]
struct AppArgs {
    /// Demo mode: embedded mock service and virtual My Number cards, no hardware needed.
    #[arg(long)]
    demo: bool,
    /// Full screen without window decorations (the reception touch screen).
    #[arg(long)]
    kiosk: bool,
    /// Demo mode: where to keep the generated test PKI (default: the user cache dir).
    #[arg(long, value_name = "DIR")]
    demo_dir: Option<std::path::PathBuf>,
    /// Test mode: use this date (YYYY-MM-DD) instead of today, without animations.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    test_date: Option<Date>,
    /// Text size factor (1.0 = body text 22 pt).
    #[arg(long, value_name = "FACTOR")]
    scale: Option<f32>,
    /// Close after the first frame and print how long it took (smoke test).
    #[arg(long)]
    exit_after_first_frame: bool,
    /// Demo mode: walk through a scenario (idle, pin, last-try, passcode, passcode-wait,
    /// settings-confirm, settings, result, result-elderly, result-several,
    /// result-public-expense, paper-expense-form, claim, declaration, history).
    #[arg(long, value_name = "NAME", requires = "demo")]
    scenario: Option<String>,
    /// Save a PNG of the window once ready (after the scenario), then close.
    #[arg(long, value_name = "FILE.png")]
    screenshot: Option<std::path::PathBuf>,
    /// Open the patient window (お客様用画面, the PIN keypad) on a second window, whatever
    /// `[desk] patient_display` says.
    #[arg(long)]
    patient_display: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// IC-card reader and My Number card diagnostics (カードリーダー・マイナンバーカード).
    #[command(subcommand)]
    Card(card::CardCommand),
    /// Confirm eligibility online, by card or by insurer numbers (資格確認).
    Check(Box<check_command::CheckArgs>),
    /// The claim path when online confirmation fails: plan and receipt header (請求の経路).
    #[command(subcommand)]
    Claim(claim::ClaimCommand),
    /// The reception journal: history, export, 事後確認, month-end reports (受付記録).
    Journal(journal::JournalArgs),
    /// The receipt computer's files: batch checks from a CSV (レセコン連携・一括照会).
    Interop(interop::InteropArgs),
    /// The facility's 公費・医療費助成 rule table: check a file, try a 受給者証 on it (公費).
    #[command(subcommand)]
    PublicExpense(public_expense::PublicExpenseCommand),
    /// Make the `[desk] passcode = …` line for a facility passcode read from standard input.
    PasscodeHash,
    /// Internal: read one portal PDF from standard input in a limited child process (started
    /// by the desk and `claim import-pdf`, see `import::sandbox`).
    #[command(name = "internal-pdf-worker", hide = true)]
    InternalPdfWorker,
}

/// Runs the CLI and turns its outcome into the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version on stdout and usage errors on stderr itself.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging(console::log_target(cli.command.is_none()));
    if let Some(Command::InternalPdfWorker) = cli.command {
        return crate::import::sandbox::run_worker();
    }
    let result = match cli.command {
        None => run_app(cli.app, cli.config),
        Some(Command::Card(c)) => card::run(c),
        Some(Command::Check(args)) => check_command::run(*args, cli.config.as_deref()),
        Some(Command::Claim(c)) => claim::run(c, cli.config.as_deref()),
        Some(Command::Journal(j)) => journal::run(j, cli.config.as_deref()),
        Some(Command::Interop(i)) => interop::run(i, cli.config.as_deref()),
        Some(Command::PublicExpense(p)) => public_expense::run(p, cli.config.as_deref()),
        Some(Command::PasscodeHash) => passcode_hash(),
        Some(Command::InternalPdfWorker) => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// Without the `desk` feature (a library-only build, such as the fuzz targets'), there is no
/// window to open.
#[cfg(not(feature = "desk"))]
fn run_app(_args: AppArgs, _config: Option<std::path::PathBuf>) -> Result<(), Failure> {
    Err(Failure::new(
        "usage",
        "この onshi-desk は受付画面なしでビルドされています。",
        "built without the desk feature: no window",
        2,
    ))
}

#[cfg(feature = "desk")]
fn run_app(args: AppArgs, config: Option<std::path::PathBuf>) -> Result<(), Failure> {
    // The keypad takes patients' PINs: no core dump may ever hold one.
    crate::card::hardening::forbid_core_dumps();
    #[cfg(feature = "demo")]
    if let Some(name) = &args.scenario {
        if crate::app::scenario::steps(name).is_none() {
            return Err(Failure::new(
                "usage",
                "そのシナリオはありません。",
                format!(
                    "unknown scenario {name:?}; known: {}",
                    crate::app::scenario::NAMES.join(", ")
                ),
                2,
            ));
        }
    }
    crate::app::run(crate::app::AppOptions {
        demo: args.demo,
        kiosk: args.kiosk,
        config,
        demo_dir: args.demo_dir,
        fixed_today: args.test_date,
        scale: args.scale,
        exit_after_first_frame: args.exit_after_first_frame,
        scenario: args.scenario,
        screenshot: args.screenshot,
        patient_display: args.patient_display,
    })
    .map_err(|e| {
        Failure::new(
            "display",
            "画面を開けませんでした。ディスプレイの接続と設定を確認してください。",
            e,
            1,
        )
    })
}

/// Reads a 4-digit passcode from standard input and prints its configuration line.
fn passcode_hash() -> Result<(), Failure> {
    use rand::RngCore;
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::new("io", "標準入力を読めませんでした。", e.to_string(), 1))?;
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let hash = crate::config::PasscodeHash::new(line.trim(), &salt).map_err(|e| {
        Failure::new(
            "usage",
            "パスコードは数字4桁で入力してください。",
            e.to_string(),
            2,
        )
    })?;
    println!("passcode = \"{hash}\"");
    Ok(())
}

fn init_logging(target: console::LogTarget) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ONSHI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match target {
        console::LogTarget::File(path) => {
            if let Some(file) = console::open_log_file(&path) {
                let _ = builder
                    .with_writer(std::sync::Mutex::new(file))
                    .with_ansi(false)
                    .try_init();
            }
        }
        console::LogTarget::Stderr => {
            let _ = builder
                .with_writer(std::io::stderr)
                // Colour codes only for a person at a terminal, never into logs and pipes.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .try_init();
        }
    }
}

/// A failed command: what to tell the desk, what to log, how to exit.
#[derive(Debug)]
pub(crate) struct Failure {
    kind: &'static str,
    message: String,
    detail: String,
    exit: u8,
    json: bool,
    /// Already reported on stdout (a verdict): only the exit code remains to give.
    quiet: bool,
    /// Every problem of an invalid input document, each with its field.
    problems: Vec<crate::domain::claim::Problem>,
}

impl Failure {
    pub(crate) fn new(
        kind: &'static str,
        message: impl Into<String>,
        detail: impl Into<String>,
        exit: u8,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            detail: detail.into(),
            exit,
            json: false,
            quiet: false,
            problems: Vec::new(),
        }
    }

    /// An invalid input document: exit 2, every problem listed (stderr, and JSON with `--json`).
    pub(crate) fn problems(problems: crate::domain::claim::Problems) -> Self {
        let message = problems
            .0
            .iter()
            .map(|p| format!("{}: {} ({})", p.field, p.message, p.detail))
            .collect::<Vec<_>>()
            .join("\n");
        let mut f = Failure::new("invalid_input", message, problems.to_string(), 2);
        f.problems = problems.0;
        f
    }

    pub(crate) fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    pub(crate) fn json(mut self, json: bool) -> Self {
        self.json = json;
        self
    }

    fn report(self) -> ExitCode {
        if self.quiet {
            return ExitCode::from(self.exit);
        }
        tracing::error!(kind = self.kind, detail = %self.detail, "command failed");
        eprintln!("{}", self.message);
        if self.json {
            #[derive(Serialize)]
            struct Body<'a> {
                kind: &'a str,
                message: &'a str,
                detail: &'a str,
            }
            let error = Body {
                kind: self.kind,
                message: &self.message,
                detail: &self.detail,
            };
            let body = if self.problems.is_empty() {
                serde_json::json!({ "error": error })
            } else {
                serde_json::json!({ "error": error, "problems": self.problems })
            };
            println!("{body}");
        }
        ExitCode::from(self.exit)
    }
}

impl From<CardError> for Failure {
    fn from(e: CardError) -> Self {
        let exit = match e {
            CardError::PinWrong { .. } | CardError::PinBlocked => 3,
            CardError::PinFormat(_) => 2,
            _ => 1,
        };
        Failure::new(e.kind(), e.desk_message(), e.to_string(), exit)
    }
}

/// Prints a value as one line of JSON on stdout.
pub(crate) fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    let line = serde_json::to_string(value)
        .map_err(|e| Failure::new("internal", "出力の作成に失敗しました。", e.to_string(), 1))?;
    let mut out = std::io::stdout().lock();
    // A closed stdout (a pipe into `head`) is not the desk's problem.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    Ok(())
}

/// Runs card I/O on its own thread and gives up after `limit` seconds. PC/SC has no transmit
/// timeout (a wedged driver blocks SCardTransmit for good), so the bound has to live above it;
/// the stuck thread is left behind and ends with the process.
pub(crate) fn bounded<T: Send + 'static, E: Into<Failure> + Send + 'static>(
    limit: f64,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, Failure> {
    let limit = seconds(limit)?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("card-io".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(|e| Failure::new("internal", "内部エラーが発生しました。", e.to_string(), 1))?;
    match rx.recv_timeout(limit) {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(CardError::Unresponsive(limit).into()),
    }
}

/// Waits up to `wait` seconds for a card on `reader` (any reader when `None`); its reader name.
pub(crate) fn find_card(reader: Option<&str>, wait: f64) -> Result<String, Failure> {
    let wait = seconds(wait)?;
    Ok(ReaderWatcher::new().wait_for_card(reader, wait)?)
}

pub(crate) fn seconds(s: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(s).map_err(|e| {
        Failure::new(
            "invalid_input",
            "秒数は0以上の数で指定してください。",
            e.to_string(),
            2,
        )
    })
}

pub(crate) fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|e| format!("expected YYYY-MM-DD: {e}"))
}
