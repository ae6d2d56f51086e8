//! `onshi-desk check …`: one online eligibility check, by card or by numbers.
//!
//! Exit codes beyond the common ones: 0 the qualification is valid (also in the certificate's
//! grace period); 5 the service answered, but not "valid" (invalid, no record, several, card
//! not registered, …); 6 the service failed (server error, unreachable, timeout).
//!
//! A recorded check is announced like one made at the desk app (`crate::check::announce`):
//! the result file's name, if one was written, is in the output (`interop_file`). The command
//! waits for the announcement: it ends right after, so there is no desk to keep responsive.

use std::path::Path;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::{bounded, find_card, parse_date, print_json, Failure};
use crate::card::{self, CardError, Pcsc, PinStatus};
use crate::check::{
    announce, card_record, check_by_card, check_by_numbers, CardCheck, CheckRecorder,
    FinishedCheck, Identity, NoSink, ResultSink,
};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::domain::numbers::{
    parse_birth_date, InsuranceNumbers, NumberError, RawInsuranceNumbers,
};
use crate::domain::public_expense::charge::{DeskCharge, LineStatus};
use crate::domain::public_expense::PublicExpense;
use crate::domain::search::NumberSearch;
use crate::domain::verdict::{Verdict, VerdictKind};
use crate::journal::{CheckId, Journal, JournalError, NewCheck};
use crate::online::OnlineClient;

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Check by the My Number card on the reader.
    #[arg(long, conflicts_with_all = ["insurer", "number", "symbol", "branch", "birth"])]
    card: bool,
    /// Card: reader name (default: the configured one, else the first with a card).
    #[arg(long, requires = "card")]
    reader: Option<String>,
    /// Card: seconds to wait for the card.
    #[arg(long, default_value_t = 0.0)]
    wait: f64,
    /// Card: identity by PIN, read from standard input.
    #[arg(long, requires = "card", conflicts_with = "visual")]
    pin_stdin: bool,
    /// Card: identity confirmed by staff against the card's photo (目視確認).
    #[arg(long, requires = "card")]
    visual: bool,
    /// Card: allow the PIN's last try (otherwise a card with one try left is not touched).
    #[arg(long, requires = "pin_stdin")]
    last_try: bool,
    /// Card: seconds the card may take to answer.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Numbers: 保険者番号 (8 digits, or 6 for 国民健康保険).
    #[arg(long)]
    insurer: Option<String>,
    /// Numbers: 記号 (absent for 後期高齢者).
    #[arg(long)]
    symbol: Option<String>,
    /// Numbers: 番号.
    #[arg(long)]
    number: Option<String>,
    /// Numbers: 枝番 (2 digits).
    #[arg(long)]
    branch: Option<String>,
    /// Numbers: birth date, 西暦 (YYYYMMDD, YYYY-MM-DD) or 和暦 (S55.4.1, 昭和55年4月1日).
    #[arg(long)]
    birth: Option<String>,
    /// Check date, YYYY-MM-DD (default: today in Japan).
    #[arg(long, value_parser = parse_date)]
    as_of: Option<Date>,
    /// The patient consents to sharing 限度額 information.
    #[arg(long)]
    limit_consent: bool,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(args: CheckArgs, config_path: Option<&Path>) -> Result<(), Failure> {
    let json = args.json;
    check(args, config_path).map_err(|f| f.json(json))
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::new("config", e.desk_message(), e.to_string(), 1)
    }
}

fn input_errors(errors: Vec<NumberError>) -> Failure {
    let message = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("\n");
    let detail = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    Failure::new("invalid_input", message, detail, 2)
}

fn check(args: CheckArgs, config_path: Option<&Path>) -> Result<(), Failure> {
    let today = args.as_of.unwrap_or_else(|| SystemClock.today_jst());
    if args.card {
        return check_card(args, config_path, today);
    }
    let search = number_search(&args, today)?;
    let config = Config::load(config_path)?;
    let client = OnlineClient::new(&config)?;
    let journal = ConfiguredJournal(&config);
    let (verdict, recorded) = check_by_numbers(&client, &journal, search, today);
    let at = OffsetDateTime::now_utc();
    let sink = result_sink(&config);
    let (recorded, file) = finish(
        sink.as_ref(),
        &journal,
        recorded,
        false,
        today,
        at,
        &verdict,
    );
    let charge = charge_of(&verdict, &config, today);
    report(&verdict, None, args.json, recorded, file, charge)
}

/// Where this command announces its check: the receipt computer's `face` folder when
/// `[interop] enabled`, else nowhere.
fn result_sink(config: &Config) -> Box<dyn ResultSink> {
    if config.interop.enabled {
        Box::new(crate::interop::face::FaceWriter::from_config(config))
    } else {
        Box::new(NoSink)
    }
}

/// After the check was recorded (or not): announces it (`crate::check::announce`) and says
/// what to report — the record, or why there is none, and the result file written.
fn finish(
    sink: &dyn ResultSink,
    journal: &dyn CheckRecorder,
    recorded: Result<CheckId, JournalError>,
    by_card: bool,
    on: Date,
    at: OffsetDateTime,
    verdict: &Verdict,
) -> (Result<CheckId, NotRecorded>, Option<String>) {
    let file = recorded.as_ref().ok().and_then(|id| {
        let finished = FinishedCheck {
            id: *id,
            by_card,
            on,
            at,
            verdict,
        };
        announce(sink, journal, &finished).file().map(str::to_owned)
    });
    (recorded.map_err(not_recorded), file)
}

/// Why a check was not recorded, for the output.
#[derive(Serialize)]
struct NotRecorded {
    kind: &'static str,
    message: String,
    detail: String,
}

/// The configured journal, opened when the check is recorded (after the service answered):
/// a journal that cannot be opened still leaves the verdict to report.
struct ConfiguredJournal<'a>(&'a Config);

impl CheckRecorder for ConfiguredJournal<'_> {
    fn record(&self, check: NewCheck) -> Result<CheckId, JournalError> {
        Journal::open_config(&self.0.journal).and_then(|journal| journal.record(check))
    }

    fn set_interop_file(&self, id: CheckId, file: &str) -> Result<(), JournalError> {
        Journal::open_config(&self.0.journal).and_then(|journal| journal.set_interop_file(id, file))
    }
}

fn not_recorded(e: JournalError) -> NotRecorded {
    tracing::error!(error = %e, "check not recorded in the journal");
    NotRecorded {
        kind: e.kind(),
        message: e.desk_message(),
        detail: e.to_string(),
    }
}

/// Parses the numbers, listing every problem at once (with its field, in Japanese and English).
fn number_search(args: &CheckArgs, today: Date) -> Result<NumberSearch, Failure> {
    let mut errors = Vec::new();
    let missing = |field: &'static str, label: &str| NumberError {
        field,
        detail: "missing".into(),
        message: format!("{label}を指定してください(--{field})。"),
    };
    let numbers = InsuranceNumbers::parse(RawInsuranceNumbers {
        insurer_number: args.insurer.as_deref(),
        symbol: args.symbol.as_deref(),
        number: args.number.as_deref(),
        branch: args.branch.as_deref(),
    })
    .map_err(|problems| {
        errors.extend(problems.into_iter().map(|e| match e.missing {
            true => missing(e.field.short_name(), e.field.label()),
            false => NumberError::from(e),
        }))
    })
    .ok();
    let birthdate = match &args.birth {
        Some(s) => parse_birth_date(s, today).map_err(|e| errors.push(e)).ok(),
        None => {
            errors.push(missing("birth", "生年月日"));
            None
        }
    };
    match (numbers, birthdate) {
        (Some(numbers), Some(birthdate)) if errors.is_empty() => Ok(NumberSearch {
            insurer: numbers.insurer_number,
            symbol: numbers.symbol,
            number: numbers.number,
            branch: numbers.branch,
            birthdate,
            limit_consent: args.limit_consent,
        }),
        _ => Err(input_errors(errors)),
    }
}

fn check_card(args: CheckArgs, config_path: Option<&Path>, today: Date) -> Result<(), Failure> {
    let pin = match (args.pin_stdin, args.visual) {
        (true, _) => Some(super::card::read_pin_from_stdin()?),
        (false, true) => None,
        (false, false) => {
            return Err(Failure::new(
                "invalid_input",
                "本人確認の方法を指定してください(--pin-stdin または --visual)。",
                "--card needs --pin-stdin or --visual",
                2,
            ))
        }
    };
    let config = Config::load(config_path)?;
    let client = Arc::new(OnlineClient::new(&config)?);
    let reader = find_card(
        args.reader.as_deref().or(config.card.reader.as_deref()),
        args.wait,
    )?;
    let identity = match pin {
        Some(pin) => {
            guard_pin(&reader, args.timeout, args.last_try)?;
            Identity::Pin(pin)
        }
        None => Identity::Visual,
    };
    let grace = config.card.grace_end;
    let limit = args.timeout + 2.0 * config.endpoint.timeout.as_secs_f64();
    let consent = args.limit_consent;
    let r = reader.clone();
    let check: CardCheck = bounded(limit, move || {
        check_by_card(
            &Pcsc::establish()?,
            &r,
            identity,
            &client,
            today,
            grace,
            consent,
        )
    })?;
    let new = card_record(
        &check.certificate,
        check.method,
        &check.verdict,
        today,
        consent,
    );
    let at = OffsetDateTime::now_utc();
    let journal = ConfiguredJournal(&config);
    let recorded = journal.record(new);
    let sink = result_sink(&config);
    let (recorded, file) = finish(
        sink.as_ref(),
        &journal,
        recorded,
        true,
        today,
        at,
        &check.verdict,
    );
    let charge = charge_of(&check.verdict, &config, today);
    report(
        &check.verdict,
        Some(&check),
        args.json,
        recorded,
        file,
        charge,
    )
}

/// A blocked PIN is not tried; one try left is not spent unless asked.
fn guard_pin(reader: &str, timeout: f64, last_try: bool) -> Result<(), Failure> {
    let r = reader.to_owned();
    match bounded(timeout, move || card::pin_status(&Pcsc::establish()?, &r))? {
        PinStatus::Blocked => Err(CardError::PinBlocked.into()),
        PinStatus::Remaining(1) if !last_try => Err(Failure::new(
            "last_try_protected",
            "暗証番号の残り回数が1回のため、照合しませんでした。職員による目視確認(--visual)に切り替えてください。",
            "one try left and --last-try not given",
            3,
        )),
        PinStatus::Remaining(_) => Ok(()),
    }
}

/// Today's charge with the answer's 公費 (`domain::public_expense::charge`), for the output.
#[derive(Serialize, Debug, PartialEq, Eq)]
struct ChargeOutput {
    /// What the patient pays today, in words (「0円(公費負担)」「1回200円」「2割・月上限10,000円」).
    today: String,
    /// Each 公費 in order of priority, with what it does today.
    lines: Vec<ChargeLine>,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
struct ChargeLine {
    public_payer_number: String,
    status: LineStatus,
    rule_name: Option<String>,
    /// 「自己負担なし(0円)」「1回200円」「2割負担・月上限10,000円」… or why it does not apply.
    share: String,
    monthly_cap_yen: Option<u32>,
}

/// The 公費 of the answer against the facility's rule table (the configured one, else the
/// shipped one), for a patient born on the record's birth date: `None` without 公費. A table
/// that cannot be read gives no charge and its error: the output never guesses an amount.
fn charge_of(verdict: &Verdict, config: &Config, on: Date) -> Result<Option<ChargeOutput>, String> {
    if verdict.public_expenses.is_empty() {
        return Ok(None);
    }
    let table = config.public_expense.load_table().map_err(|e| {
        tracing::error!(error = %e, "public-expense rule table not loaded: no charge computed");
        e.desk_message().to_owned()
    })?;
    let birth = verdict.primary().and_then(|q| q.birthdate);
    Ok(Some(charge_output(&DeskCharge::assess(
        verdict.ratio,
        &verdict.public_expenses,
        &table,
        birth,
        on,
    ))))
}

fn charge_output(charge: &DeskCharge) -> ChargeOutput {
    ChargeOutput {
        today: charge.today_ja(),
        lines: charge
            .lines
            .iter()
            .map(|l| ChargeLine {
                public_payer_number: l.expense.payer.as_str().to_owned(),
                status: l.status,
                rule_name: l.rule_name.clone(),
                share: l.share_ja(),
                monthly_cap_yen: l.monthly_cap_yen,
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct CardOutput {
    serial_hex: String,
    expiry: &'static str,
    expiry_message: String,
    identity_method: crate::domain::IdentityMethod,
}

#[derive(Serialize)]
struct Output<'a> {
    verdict: VerdictKind,
    qualification_validity: Option<u8>,
    insurer_number: Option<String>,
    insurer_name: Option<String>,
    symbol: Option<String>,
    number: Option<String>,
    branch: Option<String>,
    name: Option<String>,
    name_kana: Option<String>,
    birthdate: Option<Date>,
    ratio: Option<u8>,
    ratio_source: Option<crate::domain::verdict::RatioSource>,
    next_step: crate::domain::NextStep,
    message: String,
    note: Option<&'a crate::domain::verdict::ResultNote>,
    detail: Option<&'a str>,
    qualifications: &'a [crate::domain::Qualification],
    /// 公費 / 医療費助成 the answer carried (PMH-linked 受給者証), in the answer's order.
    public_expenses: &'a [PublicExpense],
    /// Today's charge with them; `null` without 公費 (or when the rule table is unreadable,
    /// then `charge_error` says so).
    charge: Option<ChargeOutput>,
    charge_error: Option<String>,
    card: Option<CardOutput>,
    /// The journal record (受付記録) of this check.
    journal_id: Option<CheckId>,
    /// Why the check is not in the journal.
    journal_error: Option<NotRecorded>,
    /// The result file written for the receipt computer (`face`), if any.
    interop_file: Option<String>,
}

fn report(
    verdict: &Verdict,
    check: Option<&CardCheck>,
    json: bool,
    recorded: Result<CheckId, NotRecorded>,
    interop_file: Option<String>,
    charge: Result<Option<ChargeOutput>, String>,
) -> Result<(), Failure> {
    if let Some(detail) = &verdict.detail {
        // A failure's cause, or (with a verdict) the 公費 entries of the answer that were dropped.
        tracing::warn!(kind = ?verdict.kind, %detail, "check: detail of the online step");
    }
    let q = verdict.primary();
    let field = |f: fn(&crate::domain::Qualification) -> Option<String>| q.and_then(f);
    let out = Output {
        verdict: verdict.kind,
        qualification_validity: verdict.validity,
        insurer_number: q
            .and_then(|q| q.insurer_number.as_ref())
            .map(|n| n.to_string()),
        insurer_name: field(|q| q.insurer_name.clone()),
        symbol: field(|q| q.symbol.clone()),
        number: field(|q| q.number.clone()),
        branch: field(|q| q.branch.clone()),
        name: field(|q| q.name.clone()),
        name_kana: field(|q| q.name_kana.clone()),
        birthdate: q.and_then(|q| q.birthdate),
        ratio: verdict.ratio.map(|r| r.tenths()),
        ratio_source: verdict.ratio_source,
        next_step: verdict.next_step,
        message: verdict.desk_message(),
        note: verdict.note.as_ref(),
        detail: verdict.detail.as_deref(),
        qualifications: &verdict.qualifications,
        public_expenses: &verdict.public_expenses,
        charge_error: charge.as_ref().err().cloned(),
        charge: charge.ok().flatten(),
        card: check.map(|c| CardOutput {
            serial_hex: c.certificate.serial.hex(),
            expiry: c.expiry.name(),
            expiry_message: c.expiry.desk_message(),
            identity_method: c.method,
        }),
        journal_id: recorded.as_ref().ok().copied(),
        journal_error: recorded.err(),
        interop_file,
    };
    if json {
        print_json(&out)?;
    } else {
        print_text(&out);
    }
    if let Some(e) = &out.journal_error {
        eprintln!("{}", e.message);
    }
    match verdict.kind {
        // Valid, but not recorded: the desk must not take it as done.
        VerdictKind::Valid | VerdictKind::CertificateExpiredGrace
            if out.journal_error.is_some() =>
        {
            Err(silent(7))
        }
        VerdictKind::Valid | VerdictKind::CertificateExpiredGrace => Ok(()),
        kind if kind.is_system_failure() => Err(silent(6)),
        _ => Err(silent(5)),
    }
}

/// A non-zero exit whose message was already printed as the result.
fn silent(exit: u8) -> Failure {
    Failure::new("verdict", String::new(), String::new(), exit).quiet()
}

fn print_text(o: &Output<'_>) {
    println!("{}", o.message);
    if let Some(id) = o.journal_id {
        println!("受付記録\t#{id}");
    }
    if let Some(file) = &o.interop_file {
        println!("結果ファイル\t{file}");
    }
    if let Some(n) = o.note {
        println!("通知\t{} {}", n.code, n.message);
    }
    let line = |label: &str, v: &Option<String>| {
        if let Some(v) = v {
            println!("{label}\t{v}");
        }
    };
    line("氏名", &o.name);
    line("カナ", &o.name_kana);
    line("保険者番号", &o.insurer_number);
    line("保険者名", &o.insurer_name);
    line("記号", &o.symbol);
    line("番号", &o.number);
    line("枝番", &o.branch);
    if let Some(r) = o.ratio {
        println!("負担割合\t{r}割");
    }
    for e in o.public_expenses {
        let recipient = e.recipient.as_ref().map_or("", |r| r.as_str());
        let name = e.name.as_deref().unwrap_or("");
        println!("公費\t{} {recipient} {name}", e.payer.as_str());
    }
    if let Some(c) = &o.charge {
        println!("本日の負担\t{}", c.today);
    }
    if let Some(e) = &o.charge_error {
        println!("本日の負担\t{e}");
    }
    if let Some(c) = &o.card {
        println!("電子証明書\t{} ({})", c.serial_hex, c.expiry_message);
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;
    use crate::check::fakes::{self, Recorder, RecordingSink};

    const ON: Date = date!(2026 - 12 - 02);
    const AT: OffsetDateTime = datetime!(2026-12-02 01:00 UTC);

    #[test]
    fn a_recorded_check_is_announced_and_its_file_reported() {
        let sink = RecordingSink::default();
        let journal = Recorder::default();
        let (recorded, file) = finish(
            &sink,
            &journal,
            Ok(CheckId(3)),
            true,
            ON,
            AT,
            &fakes::valid(),
        );
        assert!(matches!(recorded, Ok(CheckId(3))));
        assert_eq!(file.as_deref(), Some("face-3.xml"));
        let seen = sink.seen();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].by_card);
        assert_eq!(seen[0].on, ON);
        assert_eq!(
            *journal.files.lock().expect("lock"),
            vec![(CheckId(3), "face-3.xml".to_owned())]
        );
    }

    #[test]
    fn an_unrecorded_check_or_an_outage_is_not_announced() {
        let sink = RecordingSink::default();
        let journal = Recorder::default();
        let (recorded, file) = finish(
            &sink,
            &journal,
            Err(JournalError::Full("test: disk full".into())),
            false,
            ON,
            AT,
            &fakes::valid(),
        );
        assert!(recorded.is_err());
        assert_eq!(file, None);
        let (recorded, file) = finish(
            &sink,
            &journal,
            Ok(CheckId(4)),
            false,
            ON,
            AT,
            &fakes::unreachable(),
        );
        assert!(recorded.is_ok());
        assert_eq!(file, None, "announced when 事後確認 settles it");
        assert!(sink.seen().is_empty());

        // A failing sink: recorded, no file.
        let (recorded, file) = finish(
            &RecordingSink::failing(),
            &journal,
            Ok(CheckId(5)),
            false,
            ON,
            AT,
            &fakes::valid(),
        );
        assert!(recorded.is_ok());
        assert_eq!(file, None);
        assert!(journal.files.lock().expect("lock").is_empty());
    }

    #[test]
    fn the_charge_output_names_each_public_expense_and_todays_share() {
        use crate::domain::numbers::{PublicPayerNumber, RecipientNumber};
        use crate::domain::public_expense::table::BenefitTable;
        use crate::domain::public_expense::PublicExpenseSource;
        use crate::domain::Ratio;
        let nanbyo = PublicExpense {
            payer: PublicPayerNumber::parse("54130018").expect("payer"),
            recipient: RecipientNumber::parse("3456788").ok(),
            valid_from: Some(date!(2026 - 07 - 01)),
            valid_until: Some(date!(2027 - 06 - 30)),
            income_category: Some("一般所得Ⅰ".into()),
            monthly_cap_yen: Some(10_000),
            name: None,
            source: PublicExpenseSource::Online,
        };
        let charge = DeskCharge::assess(
            Some(Ratio::THREE),
            &[nanbyo],
            &BenefitTable::builtin(),
            Some(date!(1975 - 09 - 09)),
            ON,
        );
        let out = charge_output(&charge);
        assert_eq!(out.today, "2割・月上限10,000円");
        assert_eq!(out.lines.len(), 1);
        assert_eq!(out.lines[0].public_payer_number, "54130018");
        assert_eq!(out.lines[0].status, LineStatus::Applies);
        assert_eq!(out.lines[0].monthly_cap_yen, Some(10_000));
        assert_eq!(out.lines[0].share, "2割負担・月上限10,000円");
        let json = serde_json::to_value(&out).expect("json");
        assert_eq!(json["lines"][0]["status"], "applies");
    }
}
