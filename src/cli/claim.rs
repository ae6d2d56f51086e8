//! `onshi-desk claim …`: the claim path when online confirmation fails.
//!
//! - `claim plan --json FILE [--reconfirm]`: the step (①②③), the reasons, the rejected
//!   evidence, the ratio and whether the numbers can be re-checked by number; with
//!   `--reconfirm` the re-check is made with the configured online client and applied.
//! - `claim receipt --json FILE [--format json|records] [--check-digit-insurer] [--table T]`:
//!   the receipt header of the claim, with a KO record per 公費 that applies (ordered by the
//!   rule table; those that do not apply are named on stderr and in the JSON).
//! - `claim declare --json FILE --pdf OUT.pdf [--print] [--queue Q]`: the self-declaration
//!   form (被保険者資格申立書) as an A4 PDF, kept on disk, and sent to the printer if asked.
//! - `claim print FILE [--queue Q]`: print a kept PDF again (reprint).
//! - `claim import-pdf FILE`: the labelled fields of a マイナポータル qualification PDF.
//!
//! `FILE` may be `-` for standard input. Input documents are described in the README
//! ("Claim path"). An invalid document exits with 2 and every problem listed, each with its
//! field, in Japanese and English (stderr; on stdout as `{"error", "problems"}` when the
//! output is JSON).

use std::io::Read;
use std::path::Path;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use time::Date;

use super::{parse_date, print_json, Failure};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::domain::claim::input::MAX_INPUT_BYTES;
use crate::domain::claim::plan::ReconfirmWhen;
use crate::domain::claim::receipt::{ReceiptHeader, UnknownInsurer};
use crate::domain::claim::{
    apply_reconfirmation, parse_receipt, parse_situation, plan, ClaimPlan, Problem, Problems,
};
use crate::domain::public_expense::charge::LineStatus;
use crate::domain::search::{NumberSearch, Search};
use crate::online::OnlineClient;

#[derive(Subcommand, Debug)]
pub enum ClaimCommand {
    /// Decide the claim-path step for a situation (which evidence counts, what to charge).
    Plan(PlanArgs),
    /// The receipt header for step ① / ② / ③ (不詳レセプト), as JSON or as claim records.
    Receipt(ReceiptArgs),
    /// The self-declaration form (被保険者資格申立書) as an A4 PDF, optionally printed.
    Declare(DeclareArgs),
    /// Print a kept PDF again (再印刷).
    Print(PrintArgs),
    /// The fields of a マイナポータル qualification PDF (資格情報の画面・PDF), as JSON.
    ImportPdf(ImportPdfArgs),
}

#[derive(Args, Debug)]
pub struct DeclareArgs {
    /// The self-declaration document (JSON), `-` for standard input.
    #[arg(long = "json", value_name = "FILE")]
    input: String,
    /// Where to write the PDF (always written, printed or not).
    #[arg(long, value_name = "OUT.pdf")]
    pdf: std::path::PathBuf,
    /// Also send it to the printer.
    #[arg(long)]
    print: bool,
    /// CUPS queue, on Windows the printer's name (default: `[desk] printer` of the
    /// configuration, else the system's default printer).
    #[arg(long, value_name = "QUEUE")]
    queue: Option<String>,
    /// Today, YYYY-MM-DD (default: today in Japan): the default declaration date.
    #[arg(long, value_parser = parse_date)]
    as_of: Option<Date>,
}

#[derive(Args, Debug)]
pub struct PrintArgs {
    /// The PDF to print.
    file: std::path::PathBuf,
    /// CUPS queue, on Windows the printer's name (default: `[desk] printer` of the
    /// configuration, else the system's default printer).
    #[arg(long, value_name = "QUEUE")]
    queue: Option<String>,
}

#[derive(Args, Debug)]
pub struct ImportPdfArgs {
    /// The PDF downloaded from マイナポータル.
    file: std::path::PathBuf,
    /// Output JSON (the only format; accepted for symmetry with the other commands).
    #[arg(long)]
    json: bool,
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
    /// The 公費 rule table that orders the request's `public_expenses` (default: the
    /// settings' `[public_expense] table`, else the shipped one).
    #[arg(long, value_name = "FILE")]
    table: Option<std::path::PathBuf>,
}

pub fn run(command: ClaimCommand, config_path: Option<&Path>) -> Result<(), Failure> {
    match command {
        ClaimCommand::Plan(args) => run_plan(args, config_path).map_err(|f| f.json(true)),
        ClaimCommand::Receipt(args) => {
            let json = args.format == ReceiptFormat::Json;
            run_receipt(args, config_path).map_err(|f| f.json(json))
        }
        ClaimCommand::Declare(args) => run_declare(args, config_path).map_err(|f| f.json(true)),
        ClaimCommand::Print(args) => {
            let queue = printer_queue(args.queue, config_path);
            print_pdf(&args.file, queue.as_deref())
                .map(|job| {
                    eprintln!("印刷を依頼しました。");
                    tracing::info!(request = ?job.request_id, file = %args.file.display(), "printed");
                })
                .map_err(|f| f.json(true))
        }
        ClaimCommand::ImportPdf(args) => run_import(args).map_err(|f| f.json(true)),
    }
}

/// The queue to print to: the argument, else the configuration's `[desk] printer` (a missing
/// or broken configuration is no reason not to print: the system default is used).
fn printer_queue(arg: Option<String>, config_path: Option<&Path>) -> Option<String> {
    arg.or_else(|| Config::load(config_path).ok()?.desk.printer)
}

fn print_failure(e: &crate::print::PrintError) -> Failure {
    Failure::new(e.kind(), e.desk_message(), e.to_string(), 1)
}

fn print_pdf(file: &Path, queue: Option<&str>) -> Result<crate::print::printer::PrintJob, Failure> {
    crate::print::printer::Printer::with_queue(queue)
        .print_file(file)
        .map_err(|e| print_failure(&e))
}

#[derive(Serialize)]
struct DeclareOutput {
    pdf: String,
    bytes: usize,
    printed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    print_request: Option<String>,
}

fn run_declare(args: DeclareArgs, config_path: Option<&Path>) -> Result<(), Failure> {
    let today = today(args.as_of);
    let text = read_input(&args.input)?;
    let declaration =
        crate::domain::claim::parse_declaration(&text, today).map_err(Failure::problems)?;
    let pdf = crate::print::declaration::render_declaration(&declaration)
        .map_err(|e| print_failure(&e))?;
    // Kept before printing: whatever the printer does, the form can be printed again.
    crate::print::printer::keep_pdf(&args.pdf, &pdf).map_err(|e| print_failure(&e))?;
    tracing::info!(pdf = %args.pdf.display(), bytes = pdf.len(), "self-declaration written");
    let mut output = DeclareOutput {
        pdf: args.pdf.display().to_string(),
        bytes: pdf.len(),
        printed: false,
        print_request: None,
    };
    if args.print {
        let queue = printer_queue(args.queue, config_path);
        let job = print_pdf(&args.pdf, queue.as_deref())?;
        output.printed = true;
        output.print_request = job.request_id;
    }
    print_json(&output)
}

fn run_import(args: ImportPdfArgs) -> Result<(), Failure> {
    use crate::import::sandbox::{read_pdf_file, PdfFileError};
    let bytes = read_pdf_file(&args.file).map_err(|e| match e {
        PdfFileError::Import(e) => Failure::new(e.kind(), e.desk_message(), e.to_string(), 2),
        PdfFileError::Unreadable(e) => Failure::new(
            "input",
            crate::config::unreadable_file_message(&e, &args.file),
            e.to_string(),
            2,
        ),
    })?;
    // Read in a limited child process: a hostile file must not crash or hang this one.
    let fields = crate::import::PdfSandbox::this_program()
        .and_then(|sandbox| sandbox.extract(&bytes))
        .map_err(|e| {
            let exit = if matches!(e, crate::import::ImportError::Unavailable(_)) {
                1
            } else {
                2
            };
            Failure::new(e.kind(), e.desk_message(), e.to_string(), exit)
        })?;
    print_json(&fields)
}

fn today(as_of: Option<Date>) -> Date {
    as_of.unwrap_or_else(|| SystemClock.today_jst())
}

/// Reads the input document, at most [`MAX_INPUT_BYTES`] (one more is read to notice excess).
fn read_input(source: &str) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    let limit = (MAX_INPUT_BYTES + 1) as u64;
    let read = if source == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .map(|_| ())
            .map_err(|e| {
                (
                    format!("入力ファイルを読めません: {source}"),
                    format!("{source}: {e}"),
                )
            })
    } else {
        // A regular file only (a FIFO or device would hang or never end); one byte over the
        // limit is read so the size check below reports it as too large.
        let path = Path::new(source);
        onshi_files::read_limited(path, limit)
            .map(|b| bytes = b)
            .map_err(|e| {
                (
                    crate::config::unreadable_file_message(&e, path),
                    e.to_string(),
                )
            })
    };
    read.map_err(|(message, detail)| Failure::new("input", message, detail, 2))?;
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
    /// The request's 公費 that are not on the receipt, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    public_expenses_left_off: Vec<LeftOff>,
}

#[derive(Serialize)]
struct LeftOff {
    payer: String,
    reason: String,
}

fn run_receipt(args: ReceiptArgs, config_path: Option<&Path>) -> Result<(), Failure> {
    let today = today(args.as_of);
    let text = read_input(&args.input)?;
    let request = parse_receipt(&text, today).map_err(Failure::problems)?;
    let insurer = if args.check_digit_insurer {
        UnknownInsurer::CheckDigit
    } else {
        UnknownInsurer::Plain
    };
    let mut header = request.header(insurer);
    let mut left_off = Vec::new();
    if !request.public_expenses.is_empty() {
        let (table, from) = super::public_expense::table_for(args.table.as_deref(), config_path)?;
        let charge = request.charge(&table);
        for line in charge
            .lines
            .iter()
            .filter(|l| l.status != LineStatus::Applies)
        {
            let reason = line.share_ja();
            eprintln!(
                "公費 {} はレセプトに記録しません: {reason}",
                line.expense.payer.as_str()
            );
            left_off.push(LeftOff {
                payer: line.expense.payer.as_str().to_owned(),
                reason,
            });
        }
        tracing::info!(table = %from, applying = charge.applying().count(), "public expenses");
        header = header
            .with_public_expenses(&charge)
            .map_err(|e| Failure::new("invalid_input", e.message(), e.to_string(), 2))?;
    }
    match args.format {
        ReceiptFormat::Json => print_json(&ReceiptOutput {
            records: header.records(),
            header: &header,
            public_expenses_left_off: left_off,
        }),
        ReceiptFormat::Records => {
            for line in header.records() {
                println!("{line}");
            }
            Ok(())
        }
    }
}
