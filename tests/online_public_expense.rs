//! 公費 on the online side, end to end: the mock's four 公費 personas (乳幼児, 子ども, 難病,
//! 生活保護) over mutual TLS on loopback, through the desk's client into the verdict, today's
//! charge with the shipped rule table, `onshi-desk check --json`, and the receipt computer's
//! result file. The card test needs pcscd and the virtual readers
//! (`/work/notes/with-pcscd.sh cargo test --test online_public_expense`, or `scripts/test`).

mod common;

use std::path::Path;
use std::sync::Arc;

use onshi_desk::clock::FixedClock;
use onshi_desk::config::Config;
use onshi_desk::domain::numbers::InsurerNumber;
use onshi_desk::domain::public_expense::charge::{DeskCharge, LineStatus};
use onshi_desk::domain::public_expense::table::BenefitTable;
use onshi_desk::domain::public_expense::PublicExpenseSource;
use onshi_desk::domain::search::{NumberSearch, Search};
use onshi_desk::domain::VerdictKind;
use onshi_desk::interop::xml::{decode, DocumentEncoding, ReadLimits};
use onshi_desk::interop::{RequestHandler, RequestProcessor};
use onshi_desk::journal::Journal;
use onshi_desk::online::OnlineClient;
use onshi_mock::endpoint::{self, RunningServer, ServerConfig, ServerFiles};
use time::macros::{date, datetime};
use time::Date;

/// One 公費 persona of the mock's fixtures and what the desk must make of it.
struct Persona {
    id: &'static str,
    insurer: &'static str,
    symbol: &'static str,
    number: &'static str,
    birth: Date,
    payer: &'static str,
    recipient: &'static str,
    valid_from: Date,
    valid_until: Option<Date>,
    monthly_cap_yen: Option<u32>,
    /// `DeskCharge::today_ja()` with the shipped table on `common::AS_OF`.
    today: &'static str,
}

const PERSONAS: [Persona; 4] = [
    Persona {
        id: "pe-infant",
        insurer: "01130012",
        symbol: "5013579",
        number: "2046",
        birth: date!(2023 - 05 - 10),
        payer: "88132014",
        recipient: "1234566",
        valid_from: date!(2026 - 04 - 01),
        valid_until: Some(date!(2027 - 03 - 31)),
        monthly_cap_yen: None,
        today: "0円(公費負担)",
    },
    Persona {
        id: "pe-child",
        insurer: "01130012",
        symbol: "5024680",
        number: "3071",
        birth: date!(2016 - 06 - 15),
        payer: "88133012",
        recipient: "2345677",
        valid_from: date!(2026 - 04 - 01),
        valid_until: Some(date!(2027 - 03 - 31)),
        monthly_cap_yen: None,
        today: "1回200円",
    },
    Persona {
        id: "pe-nanbyo",
        insurer: "06230155",
        symbol: "302",
        number: "8812",
        birth: date!(1975 - 09 - 09),
        payer: "54130018",
        recipient: "3456788",
        valid_from: date!(2026 - 07 - 01),
        valid_until: Some(date!(2027 - 06 - 30)),
        monthly_cap_yen: Some(10_000),
        today: "2割・月上限10,000円",
    },
    Persona {
        id: "pe-welfare",
        insurer: "01130012",
        symbol: "5035791",
        number: "4102",
        birth: date!(1970 - 02 - 14),
        payer: "12130019",
        recipient: "4567899",
        valid_from: date!(2026 - 04 - 01),
        valid_until: None,
        monthly_cap_yen: None,
        today: "0円(公費負担)",
    },
];

/// The mock service, in-process over mutual TLS on loopback, default fixtures.
fn service() -> RunningServer {
    ServerConfig::load(&ServerFiles::from_pki_dir(&common::pki_dir()))
        .and_then(endpoint::spawn)
        .expect("mock service")
}

fn config(dir: &Path, server: &RunningServer) -> Config {
    let tls = common::pki_dir().join("tls");
    let text = format!(
        "facility_code = \"1312345678\"\n[endpoint]\nurl = \"{}/\"\nca = {:?}\nclient_certificate = {:?}\nclient_key = {:?}\nconnect_timeout_ms = 2000\ntimeout_ms = 5000\n[journal]\npath = {:?}\n",
        server.base_url(),
        tls.join("server-ca.pem"),
        tls.join("facility.pem"),
        tls.join("facility-key.pem"),
        dir.join("journal.sqlite3"),
    );
    Config::parse(&text, &dir.join("config.toml")).expect("config")
}

fn search(p: &Persona) -> Search {
    Search::Numbers(NumberSearch {
        insurer: InsurerNumber::parse(p.insurer).expect("insurer"),
        symbol: Some(p.symbol.into()),
        number: p.number.into(),
        branch: None,
        birthdate: p.birth,
        limit_consent: false,
    })
}

#[test]
fn each_public_expense_persona_by_numbers_gives_its_entitlement_and_todays_charge() {
    let server = service();
    let dir = tempfile::tempdir().expect("tmp");
    let client = OnlineClient::new(&config(dir.path(), &server)).expect("client");
    let table = BenefitTable::builtin();
    for p in &PERSONAS {
        let v = client.confirm(&search(p), common::AS_OF);
        assert_eq!(v.kind, VerdictKind::Valid, "{}: {:?}", p.id, v.detail);
        assert_eq!(v.detail, None, "{}: nothing dropped", p.id);
        assert_eq!(v.public_expenses.len(), 1, "{}", p.id);
        let e = &v.public_expenses[0];
        assert_eq!(e.payer.as_str(), p.payer, "{}", p.id);
        assert_eq!(
            e.recipient.as_ref().map(|r| r.as_str()),
            Some(p.recipient),
            "{}",
            p.id
        );
        assert_eq!(e.valid_from, Some(p.valid_from), "{}", p.id);
        assert_eq!(e.valid_until, p.valid_until, "{}", p.id);
        assert_eq!(e.monthly_cap_yen, p.monthly_cap_yen, "{}", p.id);
        assert_eq!(e.source, PublicExpenseSource::Online);
        assert!(e.name.is_some(), "{}: the scheme's name", p.id);

        let birth = v.primary().and_then(|q| q.birthdate);
        assert_eq!(birth, Some(p.birth), "{}", p.id);
        let charge = DeskCharge::assess(v.ratio, &v.public_expenses, &table, birth, common::AS_OF);
        assert_eq!(charge.today_ja(), p.today, "{}", p.id);
        assert_eq!(charge.lines[0].status, LineStatus::Applies, "{}", p.id);
    }
    // The 難病 certificate starts on 1 July: the day before, the insurance share alone.
    let nanbyo = &PERSONAS[2];
    let v = client.confirm(&search(nanbyo), date!(2026 - 06 - 30));
    let charge = DeskCharge::assess(
        v.ratio,
        &v.public_expenses,
        &table,
        Some(nanbyo.birth),
        date!(2026 - 06 - 30),
    );
    assert_eq!(charge.lines[0].status, LineStatus::NotValidToday);
    assert_eq!(charge.today_ja(), "3割");
    // A person without 公費 has none.
    let v = client.confirm(
        &Search::Numbers(NumberSearch {
            insurer: InsurerNumber::parse("01130012").expect("insurer"),
            symbol: Some("5012345".into()),
            number: "1024".into(),
            branch: Some("00".into()),
            birthdate: date!(1980 - 04 - 01),
            limit_consent: false,
        }),
        common::AS_OF,
    );
    assert_eq!(v.kind, VerdictKind::Valid);
    assert!(v.public_expenses.is_empty());
}

/// A receipt computer's request for the 難病 patient: the result file (Shift_JIS) carries the
/// 公費 after the insurance.
#[test]
fn the_receipt_computers_result_file_carries_the_public_expense() {
    let server = service();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), &server);
    let journal = Journal::open(&dir.path().join("journal.sqlite3")).expect("journal");
    let processor = RequestProcessor::new(
        Arc::new(OnlineClient::new(&config).expect("client")),
        Arc::new(journal),
        config.facility_code.clone(),
        DocumentEncoding::ShiftJis,
        ReadLimits::default(),
        Arc::new(FixedClock::at(datetime!(2026-11-21 01:30:12 UTC))),
    );
    let request = "<?xml version=\"1.0\" encoding=\"Shift_JIS\" standalone=\"no\"?>\r\n<XmlMsg><MessageHeader><MedicalInstitutionCode>1312345678</MedicalInstitutionCode><ReferenceClassification>2</ReferenceClassification><CharacterCodeIdentifier>1</CharacterCodeIdentifier></MessageHeader><MessageBody><QualificationConfirmSearchInfo><InsurerNumber>06230155</InsurerNumber><InsuredCardSymbol>302</InsuredCardSymbol><InsuredIdentificationNumber>8812</InsuredIdentificationNumber><Birthdate>19750909</Birthdate><LimitApplicationCertificateRelatedConsFlg>0</LimitApplicationCertificateRelatedConsFlg></QualificationConfirmSearchInfo></MessageBody></XmlMsg>\r\n";
    let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(request);
    assert!(!bad);
    let answer = processor
        .handle("OQSsiquc01req_nanbyo.xml", &bytes)
        .unwrap_or_else(|r| panic!("rejected: {}", r.reason));
    let (text, encoding) = decode(&answer.bytes, &ReadLimits::default()).expect("decodes");
    assert_eq!(encoding, DocumentEncoding::ShiftJis);
    for element in [
        "<QualificationValidity>1</QualificationValidity>",
        "<ExtPublicPayerNumber>54130018</ExtPublicPayerNumber>",
        "<ExtRecipientNumber>3456788</ExtRecipientNumber>",
        "<ExtValidStartDate>20260701</ExtValidStartDate>",
        "<ExtValidEndDate>20270630</ExtValidEndDate>",
        "<ExtIncomeCategory>一般所得Ⅰ</ExtIncomeCategory>",
        "<ExtMonthlyCapYen>10000</ExtMonthlyCapYen>",
        "<ExtPublicExpenseSource>1</ExtPublicExpenseSource>",
    ] {
        assert!(text.contains(element), "{element} missing:\n{text}");
    }
    let list = text.find("<ExtPublicExpenseInfoList>").expect("list");
    assert!(
        text.find("</ResultList>").is_some_and(|end| end < list),
        "{text}"
    );
}

/// `onshi-desk check --json` by numbers, against the mock run as its own process: the 公費
/// list and today's charge in the output (needs `cargo build -p onshi-mock`).
#[test]
fn check_json_lists_the_public_expense_and_todays_charge() {
    let service = common::MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), |t| t);
    for p in &PERSONAS {
        let birth = p.birth.to_string();
        let out = common::run_check(
            &config,
            &[
                "--insurer",
                p.insurer,
                "--symbol",
                p.symbol,
                "--number",
                p.number,
                "--birth",
                &birth,
            ],
            "",
        );
        let v = common::stdout_json(&out);
        assert_eq!(v["verdict"], "valid", "{}: {v}", p.id);
        assert_eq!(out.status.code(), Some(0), "{}: {v}", p.id);
        assert_eq!(v["public_expenses"][0]["payer"], p.payer, "{}: {v}", p.id);
        assert_eq!(
            v["public_expenses"][0]["recipient"], p.recipient,
            "{}: {v}",
            p.id
        );
        assert_eq!(v["public_expenses"][0]["source"], "online", "{}", p.id);
        assert_eq!(v["charge"]["today"], p.today, "{}: {v}", p.id);
        assert_eq!(v["charge"]["lines"][0]["status"], "applies", "{}", p.id);
        assert_eq!(v["charge_error"], serde_json::Value::Null, "{}", p.id);
    }
    // Without 公費: an empty list and no charge.
    let out = common::run_check(
        &config,
        &[
            "--insurer",
            "01130012",
            "--symbol",
            "5012345",
            "--number",
            "1024",
            "--birth",
            "19800401",
        ],
        "",
    );
    let v = common::stdout_json(&out);
    assert_eq!(v["public_expenses"], serde_json::json!([]), "{v}");
    assert_eq!(v["charge"], serde_json::Value::Null, "{v}");
}

/// The 乳幼児 persona's card, through pcscd and the virtual reader: the answer to the card
/// search carries the 公費 too (needs pcscd: see the module documentation).
#[test]
fn a_card_check_carries_the_public_expense() {
    if common::on_windows_exe("a card through pcscd (Wine's winscard is a stub)") {
        return;
    }
    let service = common::MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let config = service.config(dir.path(), |t| t);
    let r = common::reader();
    for (id, payer, today) in [
        ("pe-infant", "88132014", "0円(公費負担)"),
        ("pe-nanbyo", "54130018", "2割・月上限10,000円"),
    ] {
        let inserted = r.insert(common::card(id));
        let out = common::run_check(&config, &["--card", "--visual", "--reader", &r.name], "");
        let v = common::stdout_json(&out);
        assert_eq!(v["verdict"], "valid", "{id}: {v}");
        assert_eq!(v["public_expenses"][0]["payer"], payer, "{id}: {v}");
        assert_eq!(v["charge"]["today"], today, "{id}: {v}");
        r.remove(inserted);
    }
}

/// `check --json` uses the facility's table when one is configured, and gives no charge (and
/// says why) when that table cannot be read: never a guessed amount.
#[test]
fn check_json_uses_the_configured_table_and_never_guesses_without_one() {
    let service = common::MockService::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let child = &PERSONAS[1];
    let birth = child.birth.to_string();
    let args = [
        "--insurer",
        child.insurer,
        "--symbol",
        child.symbol,
        "--number",
        child.number,
        "--birth",
        &birth,
    ];
    // This municipality's 子ども医療費助成 is free up to 15.
    let table = dir.path().join("public_expense.toml");
    std::fs::write(
        &table,
        "version = 1\n[[rule]]\nname = \"子ども医療費助成(無料)\"\nlaw = \"88\"\nshare = \"none\"\n",
    )
    .expect("table");
    let with = |path: &Path| {
        let line = format!(
            "\n[public_expense]\ntable = {:?}\n",
            path.display().to_string()
        );
        service.config(dir.path(), move |t| t + &line)
    };
    let v = common::stdout_json(&common::run_check(&with(&table), &args, ""));
    assert_eq!(v["charge"]["today"], "0円(公費負担)", "{v}");
    assert_eq!(
        v["charge"]["lines"][0]["rule_name"], "子ども医療費助成(無料)",
        "{v}"
    );

    std::fs::write(&table, "version = 1\n[[rule]]\nname = \"壊れた行\"\n").expect("table");
    let out = common::run_check(&with(&table), &args, "");
    let v = common::stdout_json(&out);
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(out.status.code(), Some(0), "the check itself stands: {v}");
    assert_eq!(v["public_expenses"][0]["payer"], child.payer, "{v}");
    assert_eq!(v["charge"], serde_json::Value::Null, "{v}");
    assert!(
        v["charge_error"]
            .as_str()
            .is_some_and(|m| m.contains("負担ルール表")),
        "{v}"
    );
}
