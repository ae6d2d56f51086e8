//! Input of the claim path, as people type it, turned into typed values ("parse, don't
//! validate").
//!
//! Three JSON documents come in (examples in the README, "Claim path"): the situation at the
//! desk ([`parse_situation`] → [`Situation`]), the patient's self-declaration
//! ([`parse_declaration`] → [`SelfDeclaration`]) and a receipt request ([`parse_receipt`] →
//! [`ReceiptRequest`]). Each is read into serde structs that refuse unknown fields, then every
//! field is checked and **every** problem is collected with its field path (`evidence[1].
//! numbers.insurer_number`), a Japanese message for the desk and an English detail, so the
//! desk fixes everything in one go.
//!
//! The input is hostile until proven otherwise: the text has a size cap ([`MAX_INPUT_BYTES`]),
//! each string a length cap, control and bidirectional-override characters are refused, and
//! full-width digits and letters are normalised to half-width. A JSON syntax or type error
//! stops the reading at that point (serde cannot go on), and is reported as one problem with
//! its line and column.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

use super::declaration::{Facility, InsuranceKind, Relationship, SelfDeclaration, Sex};
use super::evidence::{Evidence, EvidenceKind};
use super::plan::{CardOutcome, Circumstance, ClaimStep, Situation};
use super::receipt::{ReceiptHeader, TooManyPublicExpenses, UnknownInsurer};
use crate::domain::dates::parse_date;
use crate::domain::numbers::{
    parse_birth_date, InsuranceNumbers, NumbersFieldError, PublicPayerNumber, RawInsuranceNumbers,
    RecipientNumber,
};
use crate::domain::public_expense::charge::DeskCharge;
use crate::domain::public_expense::table::BenefitTable;
use crate::domain::public_expense::{PublicExpense, PublicExpenseSource};
use crate::domain::ratio::{ratio_for_age, Ratio};
use crate::domain::text::{has_unsafe_chars, normalize_width};
use crate::domain::verdict::VerdictKind;

/// Largest input document read: a full situation with several pieces of evidence is a few
/// kilobytes.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;

/// Most pieces of evidence in one situation.
pub const MAX_EVIDENCE: usize = 10;

/// One problem with the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Field path (`patient.birthdate`, `evidence[0].numbers.number`, `$` for the document).
    pub field: String,
    /// What the desk shows, in Japanese.
    pub message: String,
    /// Precise English detail.
    pub detail: String,
}

/// Every problem found in one input document (never empty when returned as an error).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", p.field, p.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Collects problems while parsing.
#[derive(Default)]
struct Collector {
    problems: Vec<Problem>,
}

/// Maximum lengths, in characters, of the free-text fields.
mod max {
    pub const NAME: usize = 50;
    pub const KANA: usize = 100;
    pub const ADDRESS: usize = 200;
    pub const PHONE: usize = 20;
    pub const INSURER_NAME: usize = 100;
    pub const EMPLOYER: usize = 100;
    pub const FACILITY_NAME: usize = 100;
    /// Codes and enumerations (`kind`, `outcome`, `sex` …).
    pub const CODE: usize = 40;
}

impl Collector {
    fn push(&mut self, field: &str, message: impl Into<String>, detail: impl Into<String>) {
        self.problems.push(Problem {
            field: field.to_owned(),
            message: message.into(),
            detail: detail.into(),
        });
    }

    fn missing(&mut self, field: &str, label: &str) {
        self.push(field, format!("{label}を入力してください。"), "missing");
    }

    /// Free text: width-normalised, trimmed, free of control characters, at most `max`
    /// characters; empty is `None`.
    fn text(
        &mut self,
        field: &str,
        label: &str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        let raw = value?;
        let s = normalize_width(raw);
        let mut ok = true;
        if has_unsafe_chars(&s) {
            self.push(
                field,
                format!("{label}に使えない文字(改行・制御文字など)が含まれています。"),
                "control or format characters",
            );
            ok = false;
        }
        let n = s.chars().count();
        if n > max {
            self.push(
                field,
                format!("{label}が長すぎます({max}文字まで)。"),
                format!("{n} characters, at most {max}"),
            );
            ok = false;
        }
        (ok && !s.is_empty()).then_some(s)
    }

    fn date(&mut self, field: &str, label: &str, value: Option<&str>) -> Option<Date> {
        match parse_date(value?) {
            Ok(d) => Some(d),
            Err(e) => {
                self.push(field, format!("{label}: {}", e.message), e.detail);
                None
            }
        }
    }

    fn birthdate(&mut self, field: &str, value: Option<&str>, today: Date) -> Option<Date> {
        match parse_birth_date(value?, today) {
            Ok(d) => Some(d),
            Err(e) => {
                self.push(field, e.message, e.detail);
                None
            }
        }
    }

    /// A required value: when absent (an empty string) and nothing was said about the field
    /// since `before`, it is reported missing, so no required field is ever dropped silently.
    fn required<T>(
        &mut self,
        field: &str,
        label: &str,
        before: usize,
        value: Option<T>,
    ) -> Option<T> {
        if value.is_none() && self.problems.len() == before {
            self.missing(field, label);
        }
        value
    }

    /// An enumeration given by one of its names.
    fn choice<T: Copy>(
        &mut self,
        field: &str,
        label: &str,
        value: Option<&str>,
        names: &[(&str, T)],
    ) -> Option<T> {
        let s = self.text(field, label, value, max::CODE)?;
        let found = names.iter().find(|(n, _)| *n == s).map(|(_, v)| *v);
        if found.is_none() {
            let accepted: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
            self.push(
                field,
                format!(
                    "{label}「{s}」は使えません。使える値: {}",
                    accepted.join(", ")
                ),
                format!("{s:?} is not one of {}", accepted.join(", ")),
            );
        }
        found
    }

    /// A ratio given as 1–3 (number or text, `3割` accepted).
    fn ratio(&mut self, field: &str, value: Option<&serde_json::Value>) -> Option<Ratio> {
        let tenths = match value? {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => {
                let s = normalize_width(s);
                s.strip_suffix('割').unwrap_or(&s).parse::<u64>().ok()
            }
            _ => None,
        };
        match tenths
            .and_then(|t| u8::try_from(t).ok())
            .and_then(|t| Ratio::try_from(t).ok())
        {
            Some(r) => Some(r),
            None => {
                self.push(
                    field,
                    "負担割合は1、2、3(割)のいずれかで入力してください。",
                    format!("{value:?} is not a ratio of 1, 2 or 3 tenths"),
                );
                None
            }
        }
    }

    /// The insurer numbers of a claim; `None` (with problems) unless complete and valid.
    fn numbers(&mut self, prefix: &str, raw: &RawNumbers) -> Option<InsuranceNumbers> {
        InsuranceNumbers::parse(raw.as_raw())
            .map_err(|problems| {
                for e in problems {
                    self.push(&format!("{prefix}.{}", e.field.key()), e.message, e.detail);
                }
            })
            .ok()
    }

    /// A field parsed on its own (by the one parser of insurance numbers); absent is `None`.
    fn numbers_field<T>(
        &mut self,
        path: impl Fn(&str) -> String,
        value: Result<Option<T>, NumbersFieldError>,
    ) -> Option<T> {
        value
            .map_err(|e| self.push(&path(e.field.key()), e.message, e.detail))
            .ok()
            .flatten()
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, Problems> {
        match value {
            Some(v) if self.problems.is_empty() => Ok(v),
            _ if self.problems.is_empty() => Err(Problems(vec![Problem {
                field: "$".into(),
                message: "入力が不完全です。".into(),
                detail: "incomplete input".into(),
            }])),
            _ => Err(Problems(self.problems)),
        }
    }
}

/// Reads `text` as JSON into `T`, refusing oversized input; one problem on failure.
fn read_json<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, Problems> {
    let one = |message: String, detail: String| {
        Problems(vec![Problem {
            field: "$".into(),
            message,
            detail,
        }])
    };
    if text.len() > MAX_INPUT_BYTES {
        return Err(one(
            format!("入力が大きすぎます({}KBまで)。", MAX_INPUT_BYTES / 1024),
            format!("{} bytes, at most {MAX_INPUT_BYTES}", text.len()),
        ));
    }
    serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let message = match e.classify() {
            serde_json::error::Category::Data => {
                let what = e.to_string();
                match what
                    .strip_prefix("unknown field `")
                    .and_then(|r| r.split('`').next())
                {
                    Some(field) => format!(
                        "不明な項目「{}」があります({line}行{column}列)。",
                        field.chars().take(40).collect::<String>()
                    ),
                    None => format!(
                        "項目の値の種類が正しくないか、必須の項目がありません({line}行{column}列)。"
                    ),
                }
            }
            _ => format!("JSONの形式が正しくありません({line}行{column}列)。"),
        };
        one(message, e.to_string())
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNumbers {
    insurer_number: Option<String>,
    symbol: Option<String>,
    number: Option<String>,
    branch: Option<String>,
}

impl RawNumbers {
    fn as_raw(&self) -> RawInsuranceNumbers<'_> {
        RawInsuranceNumbers {
            insurer_number: self.insurer_number.as_deref(),
            symbol: self.symbol.as_deref(),
            number: self.number.as_deref(),
            branch: self.branch.as_deref(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPatient {
    birthdate: Option<String>,
    high_income: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvidence {
    kind: Option<String>,
    numbers: Option<RawNumbers>,
    name: Option<String>,
    birthdate: Option<String>,
    with_card: Option<bool>,
    valid_until: Option<String>,
    ratio: Option<serde_json::Value>,
    ratio_period_from: Option<serde_json::Value>,
    unchanged: Option<bool>,
    not_lost_confirmed: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSituation {
    check_date: Option<String>,
    outcome: Option<String>,
    patient: Option<RawPatient>,
    old_numbers: Option<RawNumbers>,
    evidence: Option<Vec<RawEvidence>>,
    circumstance: Option<String>,
}

const EVIDENCE_KINDS: [(&str, EvidenceKind); 6] = [
    ("myna_portal", EvidenceKind::MynaPortal),
    ("myna_portal_pdf", EvidenceKind::MynaPortalPdf),
    ("qualification_notice", EvidenceKind::QualificationNotice),
    (
        "qualification_certificate",
        EvidenceKind::QualificationCertificate,
    ),
    ("past_record", EvidenceKind::PastRecord),
    ("insurance_card", EvidenceKind::InsuranceCard),
];

/// The check date: as given (not after `today`), else `today`.
fn check_date(c: &mut Collector, field: &str, value: Option<&str>, today: Date) -> Date {
    match c.date(field, "受診日", value) {
        Some(d) if d > today => {
            c.push(
                field,
                "受診日が未来の日付になっています。",
                format!("{d} is after {today}"),
            );
            today
        }
        Some(d) => d,
        None => today,
    }
}

/// Parses the situation at the desk (see the README for the format). `today` is the default
/// check date and the latest one accepted.
pub fn parse_situation(text: &str, today: Date) -> Result<Situation, Problems> {
    let raw: RawSituation = read_json(text)?;
    let mut c = Collector::default();
    let on = check_date(&mut c, "check_date", raw.check_date.as_deref(), today);
    let outcome = match raw.outcome.as_deref() {
        Some(s) => {
            let s = normalize_width(s);
            match CardOutcome::from_code(&s) {
                Some(o) => Some(o),
                None => {
                    c.push(
                        "outcome",
                        format!("カード・オンライン確認の結果「{}」が分かりません。", s.chars().take(40).collect::<String>()),
                        "unknown outcome: use a verdict name (no_record, invalid, …) or card_unreadable, pin_blocked, no_card, system_down",
                    );
                    None
                }
            }
        }
        None => {
            c.missing("outcome", "カード・オンライン確認の結果");
            None
        }
    };
    let patient = raw.patient.unwrap_or_default();
    let birthdate = c.birthdate("patient.birthdate", patient.birthdate.as_deref(), on);
    let old_numbers = raw
        .old_numbers
        .as_ref()
        .and_then(|n| c.numbers("old_numbers", n));
    if raw.old_numbers.is_some()
        && outcome.is_some_and(|o| o != CardOutcome::Checked(VerdictKind::Invalid))
    {
        c.push(
            "old_numbers",
            "以前の資格情報(旧資格)は、オンライン資格確認の結果が「無効」のときだけ使えます。受診歴の番号は evidence の past_record で入力してください。",
            "old_numbers only with outcome \"invalid\"",
        );
    }
    let raw_evidence = raw.evidence.unwrap_or_default();
    if raw_evidence.len() > MAX_EVIDENCE {
        c.push(
            "evidence",
            format!("提示された資料は{MAX_EVIDENCE}件までです。"),
            format!("{} items, at most {MAX_EVIDENCE}", raw_evidence.len()),
        );
    }
    let evidence: Vec<Option<Evidence>> = raw_evidence
        .iter()
        .take(MAX_EVIDENCE)
        .enumerate()
        .map(|(i, e)| evidence(&mut c, &format!("evidence[{i}]"), e, on))
        .collect();
    let circumstance = c.choice(
        "circumstance",
        "患者さんの事情",
        raw.circumstance.as_deref(),
        &Circumstance::ALL,
    );
    let situation = outcome.map(|outcome| Situation {
        on,
        outcome,
        birthdate,
        high_income: patient.high_income.unwrap_or(false),
        old_numbers,
        evidence: evidence.into_iter().flatten().collect(),
        circumstance,
    });
    c.finish(situation)
}

fn evidence(c: &mut Collector, prefix: &str, raw: &RawEvidence, on: Date) -> Option<Evidence> {
    let path = |f: &str| format!("{prefix}.{f}");
    let kind = match raw.kind.as_deref() {
        Some(k) => {
            let before = c.problems.len();
            let kind = c.choice(&path("kind"), "資料の種類", Some(k), &EVIDENCE_KINDS);
            c.required(&path("kind"), "資料の種類", before, kind)
        }
        None => {
            c.missing(&path("kind"), "資料の種類");
            None
        }
    };
    let numbers = match &raw.numbers {
        Some(n) => c.numbers(&path("numbers"), n),
        None => {
            c.missing(&path("numbers"), "資料に記載の番号");
            None
        }
    };
    let name = c.text(&path("name"), "氏名", raw.name.as_deref(), max::NAME);
    let birthdate = c.birthdate(&path("birthdate"), raw.birthdate.as_deref(), on);
    let valid_until = c.date(&path("valid_until"), "有効期限", raw.valid_until.as_deref());
    let ratio = c.ratio(&path("ratio"), raw.ratio.as_ref());
    let ratio_period_from = raw.ratio_period_from.as_ref().and_then(|v| {
        let year = match v {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => normalize_width(s).parse::<i64>().ok(),
            _ => None,
        };
        match year.filter(|y| (2000..=2200).contains(y)) {
            Some(y) => i32::try_from(y).ok(),
            None => {
                c.push(
                    &path("ratio_period_from"),
                    "負担割合の適用期間は、開始する年(西暦、例: 2026)で入力してください。",
                    format!("{v} is not a year"),
                );
                None
            }
        }
    });
    if kind == Some(EvidenceKind::QualificationNotice)
        && ratio.is_some()
        && raw.ratio_period_from.is_none()
    {
        c.push(
            &path("ratio_period_from"),
            "お知らせの負担割合には、適用期間の開始年(8月1日から翌年7月31日まで)を入力してください。",
            "a notice's ratio needs ratio_period_from",
        );
    }
    if raw.unchanged.is_some() && kind.is_some_and(|k| k != EvidenceKind::PastRecord) {
        c.push(
            &path("unchanged"),
            "「変更なし」の確認は以前の受診時の資格情報(past_record)にだけ使います。",
            "unchanged only applies to past_record",
        );
    }
    if raw.not_lost_confirmed.is_some() && kind.is_some_and(|k| !k.asks_not_lost()) {
        c.push(
            &path("not_lost_confirmed"),
            "「資格を失っていない」確認は、資格情報のお知らせとマイナポータル(画面・PDF)にだけ使います。",
            "not_lost_confirmed only applies to qualification_notice, myna_portal and myna_portal_pdf",
        );
    }
    Some(Evidence {
        kind: kind?,
        numbers: numbers?,
        name,
        birthdate,
        with_card: raw.with_card.unwrap_or(false),
        valid_until,
        ratio,
        ratio_period_from,
        unchanged: raw.unchanged.unwrap_or(false),
        not_lost_confirmed: raw.not_lost_confirmed.unwrap_or(false),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFacility {
    name: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeclaration {
    facility: Option<RawFacility>,
    date: Option<String>,
    name: Option<String>,
    name_kana: Option<String>,
    birthdate: Option<String>,
    sex: Option<String>,
    address: Option<String>,
    phone: Option<String>,
    insurance_kind: Option<String>,
    insurer_name: Option<String>,
    employer: Option<String>,
    symbol: Option<String>,
    number: Option<String>,
    relationship: Option<String>,
    ratio: Option<serde_json::Value>,
}

const SEXES: [(&str, Sex); 6] = [
    ("male", Sex::Male),
    ("female", Sex::Female),
    ("男", Sex::Male),
    ("女", Sex::Female),
    ("男性", Sex::Male),
    ("女性", Sex::Female),
];

const INSURANCE_KINDS: [(&str, InsuranceKind); 12] = [
    ("employee", InsuranceKind::Employee),
    ("national", InsuranceKind::National),
    ("late_elderly", InsuranceKind::LateElderly),
    ("unknown", InsuranceKind::Unknown),
    ("被用者保険", InsuranceKind::Employee),
    ("社保", InsuranceKind::Employee),
    ("国保", InsuranceKind::National),
    ("国民健康保険", InsuranceKind::National),
    ("後期高齢者", InsuranceKind::LateElderly),
    ("後期高齢者医療", InsuranceKind::LateElderly),
    ("わからない", InsuranceKind::Unknown),
    ("不明", InsuranceKind::Unknown),
];

const RELATIONSHIPS: [(&str, Relationship); 4] = [
    ("insured", Relationship::Insured),
    ("dependant", Relationship::Dependant),
    ("本人", Relationship::Insured),
    ("家族", Relationship::Dependant),
];

/// Parses a self-declaration (被保険者資格申立書). `today` is the default declaration date and
/// the latest accepted; a missing ratio is the age rule's (3割 when the age is unknown).
pub fn parse_declaration(json_text: &str, today: Date) -> Result<SelfDeclaration, Problems> {
    let raw: RawDeclaration = read_json(json_text)?;
    let mut c = Collector::default();
    let d = declaration(&mut c, "", &raw, today, true);
    c.finish(d)
}

fn declaration(
    c: &mut Collector,
    prefix: &str,
    raw: &RawDeclaration,
    today: Date,
    facility_required: bool,
) -> Option<SelfDeclaration> {
    let path = |f: &str| format!("{prefix}{f}");
    let facility = match &raw.facility {
        Some(f) => {
            let before = c.problems.len();
            let name = c.text(
                &path("facility.name"),
                "医療機関名",
                f.name.as_deref(),
                max::FACILITY_NAME,
            );
            let name = c.required(&path("facility.name"), "医療機関名", before, name);
            let code = match f.code.as_deref() {
                Some(s) => match crate::domain::FacilityCode::parse(s) {
                    Ok(code) => Some(code.as_str().to_owned()),
                    Err(e) => {
                        c.push(
                            &path("facility.code"),
                            "医療機関コードは数字10桁(先頭2桁は都道府県番号)です。",
                            e.to_string(),
                        );
                        None
                    }
                },
                None => {
                    c.missing(&path("facility.code"), "医療機関コード");
                    None
                }
            };
            name.zip(code).map(|(name, code)| Facility { name, code })
        }
        None if facility_required => {
            c.missing(&path("facility"), "医療機関(名称とコード)");
            None
        }
        None => Some(Facility {
            name: String::new(),
            code: String::new(),
        }),
    };
    let date = match c.date(&path("date"), "申立日", raw.date.as_deref()) {
        Some(d) if d > today => {
            c.push(
                &path("date"),
                "申立日が未来の日付になっています。",
                format!("{d} is after {today}"),
            );
            today
        }
        Some(d) => d,
        None => today,
    };
    let name = c.text(&path("name"), "氏名", raw.name.as_deref(), max::NAME);
    let name_kana = c
        .text(
            &path("name_kana"),
            "フリガナ",
            raw.name_kana.as_deref(),
            max::KANA,
        )
        .and_then(|k| {
            // The form asks for カタカナ; people type either.
            let katakana: String = k
                .chars()
                .map(crate::domain::text::hiragana_to_katakana)
                .collect();
            let ok = katakana
                .chars()
                .all(|ch| matches!(ch, '゠'..='ヿ' | 'ｦ'..='ﾟ' | ' ' | '　'));
            if ok {
                Some(katakana)
            } else {
                c.push(
                    &path("name_kana"),
                    "フリガナはカタカナで入力してください。",
                    "non-kana characters",
                );
                None
            }
        });
    let birthdate = c.birthdate(&path("birthdate"), raw.birthdate.as_deref(), date);
    let sex = c.choice(&path("sex"), "性別", raw.sex.as_deref(), &SEXES);
    let address = c.text(
        &path("address"),
        "住所",
        raw.address.as_deref(),
        max::ADDRESS,
    );
    let phone = c
        .text(&path("phone"), "電話番号", raw.phone.as_deref(), max::PHONE)
        .and_then(|p| {
            let digits = p.chars().filter(char::is_ascii_digit).count();
            let ok = p.chars().all(|ch| {
                ch.is_ascii_digit() || matches!(ch, '-' | '(' | ')' | '+' | ' ' | 'ー' | '−')
            });
            if ok && (6..=15).contains(&digits) {
                Some(p.replace(['ー', '−'], "-"))
            } else {
                c.push(
                    &path("phone"),
                    "電話番号は数字とハイフンで入力してください(例: 03-1234-5678)。",
                    format!("{digits} digits or other characters"),
                );
                None
            }
        });
    let insurance_kind = match raw.insurance_kind.as_deref() {
        Some(k) => c
            .choice(
                &path("insurance_kind"),
                "保険の種類",
                Some(k),
                &INSURANCE_KINDS,
            )
            .or(Some(InsuranceKind::Unknown)),
        None => None,
    };
    let insurer_name = c.text(
        &path("insurer_name"),
        "保険者名",
        raw.insurer_name.as_deref(),
        max::INSURER_NAME,
    );
    let employer = c.text(
        &path("employer"),
        "事業所名",
        raw.employer.as_deref(),
        max::EMPLOYER,
    );
    let fields = RawInsuranceNumbers {
        symbol: raw.symbol.as_deref(),
        number: raw.number.as_deref(),
        ..RawInsuranceNumbers::default()
    }
    .parse_fields();
    let symbol = c.numbers_field(path, fields.symbol);
    let number = c.numbers_field(path, fields.number);
    let relationship = c.choice(
        &path("relationship"),
        "本人・家族",
        raw.relationship.as_deref(),
        &RELATIONSHIPS,
    );
    let ratio = c
        .ratio(&path("ratio"), raw.ratio.as_ref())
        .or_else(|| Some(birthdate.map_or(Ratio::THREE, |b| ratio_for_age(b, date, false))));
    Some(SelfDeclaration {
        facility: facility?,
        date,
        name,
        name_kana,
        birthdate,
        sex,
        address,
        phone,
        insurance_kind,
        insurer_name,
        employer,
        symbol,
        number,
        relationship,
        ratio,
    })
}

/// A request for a receipt header: the claim, and the 公費 the patient holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRequest {
    pub claim: ReceiptClaim,
    /// The 受給者証 given (`public_expenses`), in the order given; which of them go on the
    /// receipt, and in which order, is the rule table's ([`ReceiptRequest::charge`]).
    pub public_expenses: Vec<PublicExpense>,
    /// 生年月日 for age-bound rules (`birthdate`; for step ③ the declaration's when absent).
    pub birthdate: Option<Date>,
    /// 受診日 (`visit_date`, default today): the day the 公費 are judged on.
    pub visit_date: Date,
}

/// What a receipt is claimed with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptClaim {
    /// ① or ②: claim with these numbers.
    Numbers {
        step: ClaimStep,
        numbers: InsuranceNumbers,
    },
    /// ③: the unknown receipt from the patient's declaration.
    Unknown(Box<SelfDeclaration>),
}

/// Most 受給者証 in one receipt request (more than a receipt carries, so the desk is told
/// which apply rather than refused at the door).
pub const MAX_PUBLIC_EXPENSE_INPUT: usize = 10;

impl ReceiptRequest {
    /// The receipt header it asks for, without 公費.
    pub fn header(&self, insurer: UnknownInsurer) -> ReceiptHeader {
        match &self.claim {
            ReceiptClaim::Numbers { step, numbers } => ReceiptHeader::with_numbers(*step, numbers),
            ReceiptClaim::Unknown(d) => ReceiptHeader::from_declaration(d, insurer),
        }
    }

    /// The birth date the rules see: the one given, else the declaration's.
    pub fn birth(&self) -> Option<Date> {
        self.birthdate.or(match &self.claim {
            ReceiptClaim::Unknown(d) => d.birthdate,
            ReceiptClaim::Numbers { .. } => None,
        })
    }

    /// The 公費 judged by `table` on the visit date, in priority order.
    pub fn charge(&self, table: &BenefitTable) -> DeskCharge {
        DeskCharge::assess(
            None,
            &self.public_expenses,
            table,
            self.birth(),
            self.visit_date,
        )
    }

    /// The receipt header with the 公費 that apply (KO records), in priority order.
    pub fn header_with_public_expenses(
        &self,
        insurer: UnknownInsurer,
        table: &BenefitTable,
    ) -> Result<ReceiptHeader, TooManyPublicExpenses> {
        self.header(insurer)
            .with_public_expenses(&self.charge(table))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReceipt {
    /// `"old_numbers"`, `"2"` or `2`: the README documents `1`–`3`, and a JSON number is what
    /// anyone writing `"step": 2` by hand types.
    step: Option<StepValue>,
    numbers: Option<RawNumbers>,
    declaration: Option<RawDeclaration>,
    birthdate: Option<String>,
    visit_date: Option<String>,
    public_expenses: Option<Vec<RawPublicExpense>>,
}

/// One 受給者証 as typed (`public_expenses[i]`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPublicExpense {
    payer: Option<String>,
    recipient: Option<String>,
    valid_from: Option<String>,
    valid_until: Option<String>,
    income_category: Option<String>,
    monthly_cap_yen: Option<u32>,
    name: Option<String>,
    source: Option<String>,
}

const PUBLIC_EXPENSE_SOURCES: [(&str, PublicExpenseSource); 2] = [
    ("paper", PublicExpenseSource::Paper),
    ("online", PublicExpenseSource::Online),
];

/// Largest 自己負担上限額 accepted (yen a month).
const MAX_MONTHLY_CAP_YEN: u32 = 1_000_000;

/// One 受給者証 of a receipt request; `None` (with problems) unless valid.
fn public_expense(
    c: &mut Collector,
    prefix: &str,
    raw: &RawPublicExpense,
) -> Option<PublicExpense> {
    let before = c.problems.len();
    let at = |f: &str| format!("{prefix}.{f}");
    let payer = match raw.payer.as_deref() {
        Some(p) => PublicPayerNumber::parse(p)
            .map_err(|e| c.push(&at("payer"), e.message, e.detail))
            .ok(),
        None => {
            c.missing(&at("payer"), "公費負担者番号");
            None
        }
    };
    let recipient = match raw.recipient.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => RecipientNumber::parse(r)
            .map_err(|e| c.push(&at("recipient"), e.message, e.detail))
            .ok(),
        _ => None,
    };
    let valid_from = c.date(
        &at("valid_from"),
        "有効期間(開始日)",
        raw.valid_from.as_deref(),
    );
    let valid_until = c.date(
        &at("valid_until"),
        "有効期間(終了日)",
        raw.valid_until.as_deref(),
    );
    if let (Some(f), Some(u)) = (valid_from, valid_until) {
        if u < f {
            c.push(
                &at("valid_until"),
                "有効期間の終了日が開始日より前になっています。",
                format!("{u} is before {f}"),
            );
        }
    }
    let income_category = c.text(
        &at("income_category"),
        "所得区分",
        raw.income_category.as_deref(),
        max::CODE,
    );
    if let Some(y) = raw.monthly_cap_yen.filter(|&y| y > MAX_MONTHLY_CAP_YEN) {
        c.push(
            &at("monthly_cap_yen"),
            "自己負担上限額(月額)が大きすぎます。",
            format!("{y} yen, at most {MAX_MONTHLY_CAP_YEN}"),
        );
    }
    let name = c.text(
        &at("name"),
        "公費の名称",
        raw.name.as_deref(),
        max::INSURER_NAME,
    );
    let source = match raw.source.as_deref() {
        Some(s) => c.choice(
            &at("source"),
            "公費の確認方法",
            Some(s),
            &PUBLIC_EXPENSE_SOURCES,
        ),
        None => Some(PublicExpenseSource::Paper),
    };
    if c.problems.len() > before {
        return None;
    }
    Some(PublicExpense {
        payer: payer?,
        recipient,
        valid_from,
        valid_until,
        income_category,
        monthly_cap_yen: raw.monthly_cap_yen,
        name,
        source: source?,
    })
}

/// The step as given: text, or a bare JSON number.
#[derive(Deserialize)]
#[serde(untagged)]
enum StepValue {
    Text(String),
    Number(u64),
}

impl StepValue {
    fn as_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            StepValue::Text(s) => std::borrow::Cow::Borrowed(s),
            StepValue::Number(n) => std::borrow::Cow::Owned(n.to_string()),
        }
    }
}

const STEPS: [(&str, ClaimStep); 6] = [
    ("current_numbers", ClaimStep::CurrentNumbers),
    ("old_numbers", ClaimStep::OldNumbers),
    ("self_declaration", ClaimStep::SelfDeclaration),
    ("1", ClaimStep::CurrentNumbers),
    ("2", ClaimStep::OldNumbers),
    ("3", ClaimStep::SelfDeclaration),
];

/// Parses a receipt request: `{"step": "old_numbers", "numbers": {…}}`, or
/// `{"step": "self_declaration", "declaration": {…}}` (the facility may be left out there);
/// either with an optional `"public_expenses": [{"payer", "recipient", "valid_from",
/// "valid_until", "income_category", "monthly_cap_yen", "name", "source"}]`, `"birthdate"`
/// and `"visit_date"` (受診日, default `today`).
pub fn parse_receipt(text: &str, today: Date) -> Result<ReceiptRequest, Problems> {
    let raw: RawReceipt = read_json(text)?;
    let mut c = Collector::default();
    let step = match raw.step.as_ref().map(StepValue::as_text) {
        Some(s) => {
            let before = c.problems.len();
            let step = c.choice("step", "請求の段階", Some(&s), &STEPS);
            c.required("step", "請求の段階", before, step)
        }
        None => {
            c.missing(
                "step",
                "請求の段階(current_numbers / old_numbers / self_declaration)",
            );
            None
        }
    };
    let request = match step {
        Some(step @ (ClaimStep::CurrentNumbers | ClaimStep::OldNumbers)) => {
            if raw.declaration.is_some() {
                c.push(
                    "declaration",
                    "番号で請求する場合、申立書の内容は使いません。",
                    "declaration only with step self_declaration",
                );
            }
            match &raw.numbers {
                Some(n) => c
                    .numbers("numbers", n)
                    .map(|numbers| ReceiptClaim::Numbers { step, numbers }),
                None => {
                    c.missing("numbers", "請求に使う番号");
                    None
                }
            }
        }
        Some(_) => {
            if raw.numbers.is_some() {
                c.push(
                    "numbers",
                    "不詳レセプトには番号を入力しません(申立書の内容を declaration に入力してください)。",
                    "numbers not used with step self_declaration",
                );
            }
            match &raw.declaration {
                Some(d) => declaration(&mut c, "declaration.", d, today, false)
                    .map(|d| ReceiptClaim::Unknown(Box::new(d))),
                None => {
                    c.missing("declaration", "申立書の内容");
                    None
                }
            }
        }
        None => None,
    };
    let birthdate = c.birthdate("birthdate", raw.birthdate.as_deref(), today);
    let visit_date = check_date(&mut c, "visit_date", raw.visit_date.as_deref(), today);
    let raw_expenses = raw.public_expenses.unwrap_or_default();
    if raw_expenses.len() > MAX_PUBLIC_EXPENSE_INPUT {
        c.push(
            "public_expenses",
            format!("公費は{MAX_PUBLIC_EXPENSE_INPUT}件まで入力できます。"),
            format!(
                "{} entries, at most {MAX_PUBLIC_EXPENSE_INPUT}",
                raw_expenses.len()
            ),
        );
    }
    let public_expenses: Vec<PublicExpense> = raw_expenses
        .iter()
        .take(MAX_PUBLIC_EXPENSE_INPUT)
        .enumerate()
        .filter_map(|(i, e)| public_expense(&mut c, &format!("public_expenses[{i}]"), e))
        .collect();
    c.finish(request.map(|claim| ReceiptRequest {
        claim,
        public_expenses,
        birthdate,
        visit_date,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 21);

    fn fields(p: &Problems) -> Vec<&str> {
        p.0.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn a_full_situation_parses_with_full_width_and_wareki() {
        let s = parse_situation(
            r#"{
              "check_date": "令和8年11月21日",
              "outcome": "no_record",
              "patient": {"birthdate": "Ｓ５５．４．１"},
              "evidence": [
                {"kind": "qualification_certificate",
                 "numbers": {"insurer_number": "０１１３００１２", "symbol": "５０１２３４５", "number": "１０２４", "branch": "0"},
                 "valid_until": "R9.3.31", "birthdate": "1980-04-01"}
              ]
            }"#,
            TODAY,
        )
        .expect("valid");
        assert_eq!(s.on, TODAY);
        assert_eq!(s.birthdate, Some(date!(1980 - 04 - 01)));
        let e = &s.evidence[0];
        assert_eq!(e.numbers.insurer_number.as_str(), "01130012");
        assert_eq!(e.numbers.symbol.as_deref(), Some("5012345"));
        assert_eq!(e.numbers.branch.as_deref(), Some("00"));
        assert_eq!(e.valid_until, Some(date!(2027 - 03 - 31)));
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let p = parse_situation(
            r#"{
              "check_date": "平成31年5月1日",
              "outcome": "maybe",
              "patient": {"birthdate": "2030-01-01"},
              "old_numbers": {"insurer_number": "33120016", "number": ""},
              "evidence": [
                {"kind": "fax", "numbers": {"insurer_number": "0113001", "number": "1\u0007"}},
                {"kind": "qualification_notice", "ratio": 4},
                {"kind": "past_record", "numbers": {"insurer_number": "01130012", "number": "1", "branch": "123"}, "name": "\u202Eevil"}
              ]
            }"#,
            TODAY,
        )
        .expect_err("bad");
        let f = fields(&p);
        for want in [
            "check_date",
            "outcome",
            "patient.birthdate",
            "old_numbers.insurer_number",
            "old_numbers.number",
            "evidence[0].kind",
            "evidence[0].numbers.insurer_number",
            "evidence[0].numbers.number",
            "evidence[1].numbers",
            "evidence[1].ratio",
            "evidence[2].numbers.branch",
            "evidence[2].name",
        ] {
            assert!(f.contains(&want), "{want} missing from {f:?}");
        }
        assert!(p
            .0
            .iter()
            .all(|p| !p.message.is_empty() && !p.detail.is_empty()));
    }

    #[test]
    fn hostile_documents_are_refused_cleanly() {
        let huge = format!(
            r#"{{"outcome": "no_card", "patient": {{"birthdate": "{}"}}}}"#,
            "1".repeat(MAX_INPUT_BYTES)
        );
        assert_eq!(
            fields(&parse_situation(&huge, TODAY).expect_err("huge")),
            ["$"]
        );
        let long_name = format!(
            r#"{{"facility": {{"name": "c", "code": "1312345678"}}, "name": "{}"}}"#,
            "あ".repeat(5000)
        );
        assert_eq!(
            fields(&parse_declaration(&long_name, TODAY).expect_err("long")),
            ["name"]
        );
        for bad in [
            "",
            "null",
            "[]",
            "{",
            r#"{"outcome": 5}"#,
            r#"{"outcome": "no_card", "surprise": 1}"#,
            r#"{"outcome": "no_card", "evidence": {"kind": "x"}}"#,
            r#"{"outcome": "no_card", "patient": {"birthdate": "1980-04-01", "x": 1}}"#,
            &"[".repeat(10_000),
        ] {
            let p = parse_situation(bad, TODAY).expect_err(bad);
            assert_eq!(fields(&p), ["$"], "{bad}");
        }
        let p = parse_situation(r#"{"outcome": "no_card", "surprise": 1}"#, TODAY).expect_err("x");
        assert!(p.0[0].message.contains("surprise"), "{}", p.0[0].message);
        let many = format!(
            r#"{{"outcome": "no_card", "evidence": [{}]}}"#,
            [r#"{"kind": "myna_portal", "numbers": {"insurer_number": "01130012", "number": "1"}}"#; 11].join(",")
        );
        assert_eq!(
            fields(&parse_situation(&many, TODAY).expect_err("many")),
            ["evidence"]
        );
    }

    #[test]
    fn old_numbers_only_with_an_invalid_answer() {
        let doc = |outcome: &str| {
            format!(
                r#"{{"outcome": "{outcome}", "old_numbers": {{"insurer_number": "06010391", "number": "77"}}}}"#
            )
        };
        assert!(parse_situation(&doc("invalid"), TODAY).is_ok_and(|s| s.old_numbers.is_some()));
        assert_eq!(
            fields(&parse_situation(&doc("no_record"), TODAY).expect_err("not invalid")),
            ["old_numbers"]
        );
    }

    #[test]
    fn not_lost_and_circumstance_are_read_and_checked() {
        let s = parse_situation(
            r#"{"outcome": "no_card", "circumstance": "dv_restricted", "evidence": [
                {"kind": "qualification_notice", "with_card": true, "not_lost_confirmed": true,
                 "numbers": {"insurer_number": "01130012", "number": "1"}},
                {"kind": "myna_portal", "with_card": true,
                 "numbers": {"insurer_number": "01130012", "number": "1"}}]}"#,
            TODAY,
        )
        .expect("valid");
        assert_eq!(s.circumstance, Some(Circumstance::DvRestricted));
        assert!(s.evidence[0].not_lost_confirmed);
        // Absent is "not asked", an input of before still reads.
        assert!(!s.evidence[1].not_lost_confirmed);
        let p = parse_situation(
            r#"{"outcome": "no_card", "circumstance": "vip", "evidence": [
                {"kind": "past_record", "not_lost_confirmed": true,
                 "numbers": {"insurer_number": "01130012", "number": "1"}}]}"#,
            TODAY,
        )
        .expect_err("bad");
        assert_eq!(
            fields(&p),
            ["evidence[0].not_lost_confirmed", "circumstance"]
        );
    }

    #[test]
    fn declaration_parses_and_fills_the_age_ratio() {
        let d = parse_declaration(
            r#"{
              "facility": {"name": "テスト診療所", "code": "１３１２３４５６７８"},
              "name": "山田　花子", "name_kana": "やまだ　はなこ",
              "birthdate": "昭和55年4月1日", "sex": "女",
              "address": "東京都千代田区霞が関１－２－２", "phone": "０３－１２３４－５６７８",
              "insurance_kind": "社保", "employer": "霞が関商事", "relationship": "本人"
            }"#,
            TODAY,
        )
        .expect("valid");
        assert_eq!(d.facility.code, "1312345678");
        assert_eq!(d.date, TODAY);
        assert_eq!(d.name_kana.as_deref(), Some("ヤマダ ハナコ"));
        assert_eq!(d.phone.as_deref(), Some("03-1234-5678"));
        assert_eq!(d.insurance_kind, Some(InsuranceKind::Employee));
        assert_eq!(d.sex, Some(Sex::Female));
        assert_eq!(d.ratio, Some(Ratio::THREE));
    }

    #[test]
    fn declaration_problems_are_all_listed() {
        let p = parse_declaration(
            r#"{"facility": {"name": "x", "code": "99"}, "date": "2027-01-01",
                "name_kana": "Yamada", "birthdate": "2027-01-01", "sex": "x", "phone": "call me",
                "insurance_kind": "private", "number": "1,2", "ratio": "5割", "address": "a\nb"}"#,
            TODAY,
        )
        .expect_err("bad");
        let f = fields(&p);
        for want in [
            "facility.code",
            "date",
            "name_kana",
            "birthdate",
            "sex",
            "phone",
            "insurance_kind",
            "number",
            "ratio",
            "address",
        ] {
            assert!(f.contains(&want), "{want} missing from {f:?}");
        }
        assert_eq!(
            fields(&parse_declaration("{}", TODAY).expect_err("no facility")),
            ["facility"]
        );
    }

    #[test]
    fn line_separators_and_arabic_marks_are_refused_like_newlines() {
        // U+2028/U+2029 break a line in a log viewer or a printed form as `\n` does; the input
        // uses the same rule as the display ([`crate::domain::text::is_unsafe_char`]).
        for bad in ["a\u{2028}b", "a\u{2029}b", "a\u{061C}b", "a\u{FFF9}b"] {
            let json = serde_json::json!({
                "facility": {"name": "テスト診療所", "code": "1312345678"},
                "address": bad,
            });
            let p = parse_declaration(&json.to_string(), TODAY).expect_err(bad);
            assert_eq!(fields(&p), ["address"], "{bad:?}");
        }
    }

    #[test]
    fn receipt_requests() {
        let r = parse_receipt(
            r#"{"step": "old_numbers", "numbers": {"insurer_number": "138057", "number": "12345", "branch": "01"}}"#,
            TODAY,
        )
        .expect("valid");
        assert_eq!(
            r.header(UnknownInsurer::Plain).records(),
            ["HO,  138057,,12345,,,,,,,,,,,", "SN,1,01,,,,01,,"]
        );
        let r = parse_receipt(
            r#"{"step": "self_declaration", "declaration": {"insurance_kind": "late_elderly", "address": "東京都"}}"#,
            TODAY,
        )
        .expect("valid");
        assert_eq!(
            r.header(UnknownInsurer::CheckDigit).records(),
            [
                "HO,77777779,,77777777,,,,,,,,,,,",
                "CO,99,1,810000001,不詳　住所：東京都"
            ]
        );
        let p = parse_receipt(r#"{"step": "self_declaration", "numbers": {}}"#, TODAY)
            .expect_err("bad");
        assert_eq!(fields(&p), ["numbers", "declaration"]);
        let p = parse_receipt(r#"{"step": "old_numbers"}"#, TODAY).expect_err("bad");
        assert_eq!(fields(&p), ["numbers"]);
        let p = parse_receipt(r#"{}"#, TODAY).expect_err("bad");
        assert_eq!(fields(&p), ["step"]);
        let p = parse_receipt(r#"{"step": " "}"#, TODAY).expect_err("bad");
        assert_eq!(fields(&p), ["step"]);
    }

    /// Regression: the documented `"step": 3` (a JSON number) was refused as a wrong type.
    #[test]
    fn receipt_step_may_be_a_bare_number() {
        let numbers = r#""numbers": {"insurer_number": "138057", "number": "12345"}"#;
        let r = parse_receipt(&format!(r#"{{"step": 2, {numbers}}}"#), TODAY).expect("valid");
        assert!(matches!(
            r.claim,
            ReceiptClaim::Numbers {
                step: ClaimStep::OldNumbers,
                ..
            }
        ));
        let r = parse_receipt(
            r#"{"step": 3, "declaration": {"insurance_kind": "late_elderly", "address": "東京都"}}"#,
            TODAY,
        )
        .expect("valid");
        assert!(matches!(r.claim, ReceiptClaim::Unknown(_)));
        let p = parse_receipt(&format!(r#"{{"step": 4, {numbers}}}"#), TODAY).expect_err("bad");
        assert_eq!(fields(&p), ["step"]);
        let p = parse_receipt(&format!(r#"{{"step": -1, {numbers}}}"#), TODAY).expect_err("bad");
        assert_eq!(fields(&p), ["$"]);
    }

    #[test]
    fn receipt_request_with_public_expenses_in_priority_order() {
        let r = parse_receipt(
            r#"{"step": 1, "numbers": {"insurer_number": "01130012", "symbol": "5012345", "number": "1024"},
                "birthdate": "2016-05-05", "visit_date": "2026-11-20",
                "public_expenses": [
                  {"payer": "８８１３３０１２", "recipient": "2345677", "valid_from": "2026-04-01", "valid_until": "2027-03-31"},
                  {"payer": "54130018", "recipient": "3456788", "valid_from": "2026-07-01", "valid_until": "2027-06-30",
                   "income_category": "一般所得Ⅰ", "monthly_cap_yen": 10000, "source": "online"}
                ]}"#,
            TODAY,
        )
        .expect("valid");
        assert_eq!(r.visit_date, date!(2026 - 11 - 20));
        assert_eq!(r.public_expenses.len(), 2);
        assert_eq!(r.public_expenses[0].source, PublicExpenseSource::Paper);
        let h = r
            .header_with_public_expenses(UnknownInsurer::Plain, &BenefitTable::builtin())
            .expect("two");
        assert_eq!(
            h.records(),
            [
                "HO,01130012,5012345,1024,,,,,,,,,,,",
                "KO,54130018,3456788,,,,,,,,,",
                "KO,88133012,2345677,,,,,,,,,",
            ]
        );
        // Without the birth date the age-bound 子ども rule cannot apply: only 難病 is left.
        let r = parse_receipt(
            r#"{"step": 1, "numbers": {"insurer_number": "01130012", "number": "1024"},
                "public_expenses": [{"payer": "88133012"}, {"payer": "54130018"}]}"#,
            TODAY,
        )
        .expect("valid");
        let h = r
            .header_with_public_expenses(UnknownInsurer::Plain, &BenefitTable::builtin())
            .expect("one");
        assert_eq!(h.public_expenses.len(), 1);
        // Step ③ takes the declaration's birth date.
        let r = parse_receipt(
            r#"{"step": 3, "declaration": {"insurance_kind": "national", "birthdate": "2023-06-10"},
                "public_expenses": [{"payer": "88132014", "recipient": "1234566"}]}"#,
            TODAY,
        )
        .expect("valid");
        assert_eq!(r.birth(), Some(date!(2023 - 06 - 10)));
        let h = r
            .header_with_public_expenses(UnknownInsurer::Plain, &BenefitTable::builtin())
            .expect("one");
        assert_eq!(h.records()[1], "KO,88132014,1234566,,,,,,,,,");
    }

    #[test]
    fn every_problem_of_the_public_expenses_is_collected() {
        let p = parse_receipt(
            r#"{"step": 1, "numbers": {"insurer_number": "01130012", "number": "1024"},
                "visit_date": "2026-11-22",
                "public_expenses": [
                  {"payer": "88133013", "recipient": "12345"},
                  {"recipient": "2345677", "valid_from": "2026-04-01", "valid_until": "2026-03-31"},
                  {"payer": "54130018", "monthly_cap_yen": 2000000, "source": "fax", "name": "a\u0007"}
                ]}"#,
            TODAY,
        )
        .expect_err("bad");
        assert_eq!(
            fields(&p),
            [
                "visit_date",
                "public_expenses[0].payer",
                "public_expenses[0].recipient",
                "public_expenses[1].payer",
                "public_expenses[1].valid_until",
                "public_expenses[2].monthly_cap_yen",
                "public_expenses[2].name",
                "public_expenses[2].source",
            ]
        );
        assert!(p.0[1].message.contains("検証番号"), "{:?}", p.0[1]);
        let many = serde_json::json!({
            "step": 1,
            "numbers": {"insurer_number": "01130012", "number": "1024"},
            "public_expenses": vec![serde_json::json!({"payer": "54130018"}); 11],
        });
        let p = parse_receipt(&many.to_string(), TODAY).expect_err("too many");
        assert_eq!(fields(&p), ["public_expenses"]);
        let p = parse_receipt(
            r#"{"step": 1, "numbers": {"insurer_number": "01130012", "number": "1024"},
                "public_expenses": [{"payer": "54130018", "law": "54"}]}"#,
            TODAY,
        )
        .expect_err("unknown field");
        assert_eq!(fields(&p), ["$"]);
    }

    #[test]
    fn empty_required_values_are_reported_not_dropped() {
        let p = parse_situation(
            r#"{"outcome": "no_card", "evidence": [{"kind": "", "numbers": {"insurer_number": "01130012", "number": "1"}}]}"#,
            TODAY,
        )
        .expect_err("empty kind");
        assert_eq!(fields(&p), ["evidence[0].kind"]);
        let p = parse_declaration(
            r#"{"facility": {"name": "　", "code": "1312345678"}}"#,
            TODAY,
        )
        .expect_err("empty name");
        assert_eq!(fields(&p), ["facility.name"]);
    }
}
