//! `onshi-mock`: the test-double toolbox (test PKI now; the mock HTTPS server later).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use onshi_mock::pki;
use time::Date;

/// Test doubles for onshi-desk.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The fake JPKI test PKI.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Write both CAs (DIR/jpki/) and the standard personas (DIR/personas/<id>.toml).
    Init {
        /// Output directory (created if missing; existing files are overwritten).
        dir: PathBuf,
        /// Reference date (JST) the personas' expiry dates are relative to; default today.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        as_of: Option<Date>,
    },
}

fn parse_date(text: &str) -> Result<Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).map_err(|e| format!("{text:?} is not YYYY-MM-DD: {e}"))
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Pki {
            command: PkiCommand::Init { dir, as_of },
        } => {
            let as_of = as_of.unwrap_or_else(pki::today_jst);
            match pki::generate_jpki(&dir, as_of) {
                Ok(generated) => {
                    for persona in &generated.personas {
                        println!("{}", persona.path.display());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("onshi-mock: pki init {}: {e}", dir.display());
                    ExitCode::FAILURE
                }
            }
        }
    }
}
