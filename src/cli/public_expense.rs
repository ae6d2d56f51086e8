//! `onshi-desk public-expense …`: the facility's 公費・医療費助成 rule table, for the IT person.
//!
//! - `public-expense check FILE`: reads a rule table as the desk would and prints every
//!   problem (exit 2), or the rules it holds and a warning for each rule that can never apply
//!   (exit 0).
//! - `public-expense show --payer N [--birth YYYY-MM-DD] [--on YYYY-MM-DD] [--income X]
//!   [--cap YEN] [--ratio 1|2|3] [--table FILE] [--json]`: which rule applies to a 受給者証 on
//!   a day, and the charge text the desk would show; so an April update is tried before the
//!   desk uses it. Without `--table`, the table named by the settings
//!   (`[public_expense] table`), else the shipped one.
//!
//! The table's format and matching: README, "公費 rule table";
//! `domain::public_expense::table`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;
use time::Date;

use super::{parse_date, print_json, Failure};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::domain::numbers::PublicPayerNumber;
use crate::domain::public_expense::charge::{DeskCharge, LineStatus};
use crate::domain::public_expense::table::{
    AgeEnd, BenefitRule, BenefitTable, MonthlyCap, Share, TableError, MAX_TABLE_BYTES,
};
use crate::domain::public_expense::{PublicExpense, PublicExpenseSource};
use crate::domain::ratio::Ratio;

#[derive(Subcommand, Debug)]
pub enum PublicExpenseCommand {
    /// Check a rule table: every problem (exit 2), or the rules it holds.
    Check(CheckArgs),
    /// Which rule applies to a 受給者証 on a day, and what the desk would show.
    Show(ShowArgs),
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The rule table (TOML).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// 公費負担者番号 (8 digits with its check digit).
    #[arg(long, value_name = "N")]
    payer: String,
    /// The patient's birth date (age-bound rules apply only with it).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    birth: Option<Date>,
    /// The visit date (default: today in Japan).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    on: Option<Date>,
    /// 所得区分 as the certificate prints it.
    #[arg(long, value_name = "X")]
    income: Option<String>,
    /// 自己負担上限額 (月額) printed on the certificate, in yen (for `monthly_cap = "certificate"`).
    #[arg(long, value_name = "YEN")]
    cap: Option<u32>,
    /// The insurance ratio in tenths (1, 2 or 3).
    #[arg(long, value_name = "TENTHS", default_value_t = 3)]
    ratio: u8,
    /// The rule table (default: the settings' `[public_expense] table`, else the shipped one).
    #[arg(long, value_name = "FILE")]
    table: Option<PathBuf>,
    /// Print the answer as one line of JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: PublicExpenseCommand, config_path: Option<&Path>) -> Result<(), Failure> {
    match command {
        PublicExpenseCommand::Check(args) => check(&args.file),
        PublicExpenseCommand::Show(args) => {
            let json = args.json;
            show(args, config_path).map_err(|f| f.json(json))
        }
    }
}

/// A table file's text (one byte more than the limit is read, so an oversized file is
/// reported as such by the parser).
fn read_text(path: &Path) -> Result<String, Failure> {
    onshi_files::read_limited_to_string(path, MAX_TABLE_BYTES as u64 + 1).map_err(|e| {
        Failure::new(
            "io",
            format!("負担ルール表を読めません: {}", path.display()),
            e.to_string(),
            1,
        )
    })
}

/// Reads and validates a table file.
fn read_table(path: &Path) -> Result<BenefitTable, Failure> {
    BenefitTable::parse(&read_text(path)?).map_err(|e| table_failure(path, &e))
}

fn table_failure(path: &Path, e: &TableError) -> Failure {
    Failure::new(
        "invalid_table",
        format!(
            "負担ルール表({})に{}件の問題があります。修正してから設定してください。",
            path.display(),
            e.problems.len()
        ),
        e.to_string(),
        2,
    )
}

/// The table a command uses: `file` when given, else the one the settings name, else the
/// shipped one (also when there is no settings file at the default place). Also says where
/// it came from.
pub(crate) fn table_for(
    file: Option<&Path>,
    config_path: Option<&Path>,
) -> Result<(BenefitTable, String), Failure> {
    if let Some(file) = file {
        return Ok((read_table(file)?, file.display().to_string()));
    }
    let config = match Config::load(config_path) {
        Ok(c) => c,
        Err(ConfigError::Missing(_)) if config_path.is_none() => {
            return Ok((BenefitTable::builtin(), "shipped".into()))
        }
        Err(e) => {
            return Err(Failure::new("config", e.desk_message(), e.to_string(), 1));
        }
    };
    let from = config
        .public_expense
        .table
        .as_ref()
        .map_or_else(|| "shipped".to_string(), |p| p.display().to_string());
    let table = config.public_expense.load_table().map_err(|e| {
        Failure::new(
            "invalid_table",
            e.desk_message(),
            e.to_string(),
            match config.public_expense.table {
                Some(_) => 2,
                None => 1,
            },
        )
    })?;
    Ok((table, from))
}

fn check(file: &Path) -> Result<(), Failure> {
    let table = BenefitTable::parse(&read_text(file)?).map_err(|e| {
        // Every problem, one a line, for the person fixing the file.
        for p in &e.problems {
            println!("NG {p}");
        }
        table_failure(file, &e)
    })?;
    println!(
        "OK {}: {} rules (priority, payer key, name: share)",
        file.display(),
        table.rules.len()
    );
    for rule in &table.rules {
        println!("{}", describe(rule));
    }
    for warning in table.shadowed() {
        println!("WARN {warning}");
    }
    Ok(())
}

/// One rule on one line: `  10 law 54 難病(特定医療費): ratio 2, cap certificate`.
fn describe(rule: &BenefitRule) -> String {
    let share = match rule.share {
        Share::Nothing => "none".to_string(),
        Share::Ratio(r) => format!("ratio {}", r.tenths()),
        Share::PerVisit(y) => format!("per-visit {y} yen"),
        Share::Insurance => "insurance".to_string(),
    };
    let mut out = format!("{:>5} {} {}: {share}", rule.priority, rule.key, rule.name);
    match rule.monthly_cap {
        Some(MonthlyCap::Yen(y)) => out.push_str(&format!(", monthly cap {y} yen")),
        Some(MonthlyCap::Certificate) => out.push_str(", monthly cap from the certificate"),
        None => {}
    }
    let mut limits = Vec::new();
    if let Some(f) = rule.from {
        limits.push(format!("from {f}"));
    }
    if let Some(u) = rule.until {
        limits.push(format!("until {u}"));
    }
    if let Some(a) = rule.age_from {
        limits.push(format!("after age {} ({})", a.years, end_name(a.end)));
    }
    if let Some(a) = rule.age_until {
        limits.push(format!("up to age {} ({})", a.years, end_name(a.end)));
    }
    if let Some(c) = &rule.income_category {
        limits.push(format!("income {c}"));
    }
    if !limits.is_empty() {
        out.push_str(&format!(" [{}]", limits.join(", ")));
    }
    out
}

/// An age bound's `end` as the table writes it.
fn end_name(end: AgeEnd) -> &'static str {
    match end {
        AgeEnd::SchoolYear => "school-year",
        AgeEnd::Birthday => "birthday",
        AgeEnd::EndOfMonth => "end-of-month",
    }
}

#[derive(Serialize)]
struct Shown<'a> {
    table: &'a str,
    payer: &'a str,
    law: u8,
    national_scheme: Option<&'static str>,
    on: String,
    status: LineStatus,
    rule: Option<&'a str>,
    priority: Option<u16>,
    share: String,
    today: String,
}

fn show(args: ShowArgs, config_path: Option<&Path>) -> Result<(), Failure> {
    let payer = PublicPayerNumber::parse(&args.payer)
        .map_err(|e| Failure::new("invalid_input", e.message, e.detail, 2))?;
    let ratio = Ratio::try_from(args.ratio).map_err(|e| {
        Failure::new(
            "invalid_input",
            "負担割合は1、2、3(割)のいずれかで指定してください。",
            e,
            2,
        )
    })?;
    let (table, from) = table_for(args.table.as_deref(), config_path)?;
    let on = args.on.unwrap_or_else(|| SystemClock.today_jst());
    let expense = PublicExpense {
        payer,
        recipient: None,
        valid_from: None,
        valid_until: None,
        income_category: args.income.map(|s| s.trim().to_string()),
        monthly_cap_yen: args.cap,
        name: None,
        source: PublicExpenseSource::Paper,
    };
    let law = expense.law_number();
    let charge = DeskCharge::assess(
        Some(ratio),
        std::slice::from_ref(&expense),
        &table,
        args.birth,
        on,
    );
    let rule = table.rule_for(&expense, args.birth, on);
    let Some(line) = charge.lines.first() else {
        return Err(Failure::new(
            "internal",
            "内部エラーが発生しました。",
            "no line for the entitlement",
            1,
        ));
    };
    let shown = Shown {
        table: &from,
        payer: expense.payer.as_str(),
        law: law.value(),
        national_scheme: law.national_scheme(),
        on: on.to_string(),
        status: line.status,
        rule: rule.map(|r| r.name.as_str()),
        priority: rule.map(|r| r.priority),
        share: line.share_ja(),
        today: charge.today_ja(),
    };
    if args.json {
        return print_json(&shown);
    }
    println!("負担ルール表: {}", shown.table);
    println!(
        "公費負担者番号: {} (法別{:02}{})",
        shown.payer,
        shown.law,
        shown
            .national_scheme
            .map(|s| format!(" {s}"))
            .unwrap_or_default()
    );
    println!("受診日: {}", shown.on);
    match rule {
        Some(r) => println!(
            "適用するルール: {} ({}, priority {})",
            r.name, r.key, r.priority
        ),
        None => println!("適用するルール: なし"),
    }
    if rule.is_none() && args.birth.is_none() {
        println!("注: 年齢で決まるルールは --birth (生年月日) がないと適用されません。");
    }
    println!("この公費の負担: {}", shown.share);
    println!("本日の窓口負担 (保険{}): {}", ratio.label(), shown.today);
    if rule.is_some_and(|r| r.monthly_cap == Some(MonthlyCap::Certificate)) && args.cap.is_none() {
        println!("注: 月上限は受給者証の自己負担上限額です(--cap で指定)。");
    }
    Ok(())
}
