//! `onshi-desk claim …`: the claim path when online confirmation fails.
//!
//! - `claim plan --json FILE [--reconfirm]`: the step (①②③), the reasons, the rejected
//!   evidence, the ratio and whether the numbers can be re-checked by number; with
//!   `--reconfirm` the re-check is made with the configured online client and applied.
//! - `claim receipt --json FILE [--format json|records] [--check-digit-insurer]`: the receipt
//!   header of the claim.
//!
//! `FILE` may be `-` for standard input. Input documents are described in the README
//! ("Claim path"). An invalid document exits with 2 and every problem listed, each with its
//! field, in Japanese and English (stderr; on stdout as `{"error", "problems"}` when the
//! output is JSON). `claim declare` and `claim import-pdf` are added as further variants of
//! [`ClaimCommand`] on another branch.

use std::io::Read;
use std::path::Path;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::{parse_date, print_json, Failure};
use crate::config::Config;
use crate::domain::claim::input::MAX_INPUT_BYTES;
use crate::domain::claim::plan::ReconfirmWhen;
use crate::domain::claim::receipt::{ReceiptHeader, UnknownInsurer};
use crate::domain::claim::{
    apply_reconfirmation, parse_receipt, parse_situation, plan, ClaimPlan, Problem, Problems,
};
use crate::domain::expiry::jst_date;
use crate::online::{NumberSearch, OnlineClient, Search};

#[derive(Subcommand, Debug)]
pub enum ClaimCommand {
    /// Decide the claim-path step for a situation (which evidence counts, what to charge).
    Plan(PlanArgs),
    /// The receipt header for step ① / ② / ③ (不詳レセプト), as JSON or as claim records.
    Receipt(ReceiptArgs),
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// The situation document (JSON), `-` for standard input.
    #[arg(long = "json", value_name = "FILE")]
    input: String,
    /// Re-check the numbers online by number (個別照会) and apply the answer.
    #[arg(long)]
    reconfirm: bool,
    /// Today, YYYY-MM-DD (default: today in Japan): the default check date and the latest.
    #[arg(long, value_parser = parse_date)]
    as_of: Option<Date>,
}

/// How `claim receipt` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReceiptFormat {
    /// The header as one JSON object (with its records).
    Json,
    /// The HO / SN / CO record lines a receipt computer imports.
    Records,
}

#[derive(Args, Debug)]
pub struct ReceiptArgs {
    /// The receipt request (JSON), `-` for standard input.
    #[arg(long = "json", value_name = "FILE")]
    input: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReceiptFormat::Json)]
    format: ReceiptFormat,
    /// Unknown receipt: use 保険者番号 77777779 (valid check digit) instead of 77777777.
    #[arg(long)]
    check_digit_insurer: bool,
    /// Today, YYYY-MM-DD (default: today in Japan).
    #[arg(long, value_parser = parse_date)]
    as_of: Option<Date>,
}

pub fn run(command: ClaimCommand, config_path: Option<&Path>) -> Result<(), Failure> {
    match command {
        ClaimCommand::Plan(args) => run_plan(args, config_path).map_err(|f| f.json(true)),
        ClaimCommand::Receipt(args) => {
            let json = args.format == ReceiptFormat::Json;
            run_receipt(args).map_err(|f| f.json(json))
        }
    }
}

fn today(as_of: Option<Date>) -> Date {
    as_of.unwrap_or_else(|| jst_date(OffsetDateTime::now_utc()))
}

/// Reads the input document, at most [`MAX_INPUT_BYTES`] (one more is read to notice excess).
fn read_input(source: &str) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    let limit = (MAX_INPUT_BYTES + 1) as u64;
    let read = if source == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(source).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    read.map_err(|e| {
        Failure::new(
            "input",
            format!("入力ファイルを読めません: {source}"),
            format!("{source}: {e}"),
            2,
        )
    })?;
    let problem = |message: String, detail: String| {
        Failure::problems(Problems(vec![Problem {
            field: "$".into(),
            message,
            detail,
        }]))
    };
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(problem(
            format!("入力が大きすぎます({}KBまで)。", MAX_INPUT_BYTES / 1024),
            format!("more than {MAX_INPUT_BYTES} bytes"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        problem(
            "入力はUTF-8のテキストで保存してください。".into(),
            format!("not UTF-8: {e}"),
        )
    })
}

fn run_plan(args: PlanArgs, config_path: Option<&Path>) -> Result<(), Failure> {
    let today = today(args.as_of);
    let text = read_input(&args.input)?;
    let situation = parse_situation(&text, today).map_err(Failure::problems)?;
    let mut claim_plan = plan(&situation);
    if args.reconfirm {
        claim_plan = reconfirm(claim_plan, config_path)?;
    }
    tracing::info!(step = ?claim_plan.step, reason = %claim_plan.reason_en, "claim plan");
    print_json(&claim_plan)
}

/// Asks the service by number and applies the answer; without numbers and a birth date there
/// is nothing to ask, which the desk is told.
fn reconfirm(claim_plan: ClaimPlan, config_path: Option<&Path>) -> Result<ClaimPlan, Failure> {
    let Some(target) = claim_plan.reconfirm.clone() else {
        eprintln!("個別照会に必要な番号と生年月日がないため、照会しませんでした。");
        return Ok(claim_plan);
    };
    if target.when == ReconfirmWhen::AfterRecovery {
        tracing::info!("system was down at the check; trying the re-check anyway");
    }
    let config = Config::load(config_path)?;
    let client = OnlineClient::new(&config)?;
    let search = NumberSearch {
        insurer: target.numbers.insurer_number.clone(),
        symbol: target.numbers.symbol.clone(),
        number: target.numbers.number.clone(),
        branch: target.numbers.branch.clone(),
        birthdate: target.birthdate,
        limit_consent: false,
    };
    let on = claim_plan.on;
    let verdict = client.confirm(&Search::Numbers(search), on);
    if let Some(detail) = &verdict.detail {
        tracing::warn!(kind = ?verdict.kind, %detail, "re-check by number");
    }
    Ok(apply_reconfirmation(claim_plan, &verdict, on))
}

#[derive(Serialize)]
struct ReceiptOutput<'a> {
    #[serde(flatten)]
    header: &'a ReceiptHeader,
    records: Vec<String>,
}

fn run_receipt(args: ReceiptArgs) -> Result<(), Failure> {
    let today = today(args.as_of);
    let text = read_input(&args.input)?;
    let request = parse_receipt(&text, today).map_err(Failure::problems)?;
    let insurer = if args.check_digit_insurer {
        UnknownInsurer::CheckDigit
    } else {
        UnknownInsurer::Plain
    };
    let header = request.header(insurer);
    match args.format {
        ReceiptFormat::Json => print_json(&ReceiptOutput {
            records: header.records(),
            header: &header,
        }),
        ReceiptFormat::Records => {
            for line in header.records() {
                println!("{line}");
            }
            Ok(())
        }
    }
}
