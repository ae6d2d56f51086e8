//! The command line: the automation and diagnostics face of the desk.
//!
//! Exit codes (documented in the README): 0 success; 1 the card, reader or service failed;
//! 2 invalid input (usage, a malformed PIN); 3 the PIN was refused or is blocked.
//! Errors print the Japanese desk message on stderr and log the precise error; with `--json`
//! they are also printed on stdout as `{"error": {"kind", "message", "detail"}}`.

mod card;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::card::CardError;

#[derive(Parser, Debug)]
#[command(
    name = "onshi-desk",
    version,
    about = "オンライン資格確認 受付端末 (reception desk)"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// IC-card reader and My Number card diagnostics (カードリーダー・マイナンバーカード).
    #[command(subcommand)]
    Card(card::CardCommand),
}

/// Runs the CLI and turns its outcome into the process exit code.
pub fn main() -> ExitCode {
    init_logging();
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
    let result = match cli.command {
        Command::Card(c) => card::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ONSHI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into logs and pipes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// A failed command: what to tell the desk, what to log, how to exit.
#[derive(Debug)]
pub(crate) struct Failure {
    kind: &'static str,
    message: String,
    detail: String,
    exit: u8,
    json: bool,
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
        }
    }

    pub(crate) fn json(mut self, json: bool) -> Self {
        self.json = json;
        self
    }

    fn report(self) -> ExitCode {
        tracing::error!(kind = self.kind, detail = %self.detail, "command failed");
        eprintln!("{}", self.message);
        if self.json {
            #[derive(Serialize)]
            struct Body<'a> {
                kind: &'a str,
                message: &'a str,
                detail: &'a str,
            }
            let body = serde_json::json!({ "error": Body { kind: self.kind, message: &self.message, detail: &self.detail } });
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
