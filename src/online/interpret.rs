//! From an online answer to a [`Verdict`]: pure, so every outcome is a plain unit test.
//!
//! The answer is checked, not believed:
//! - against what we asked (the echoed `ArbitraryFileIdentifier`, facility code, date and
//!   reference kind; for a search by numbers the records' birth date, 保険者番号 and 番号,
//!   which must be stated and equal, and their 記号 and 枝番 where given): an answer to
//!   another question or about another person is [`VerdictKind::AnswerMismatch`], never a
//!   verdict about this patient;
//! - field by field: a date that is not a date, a name with control characters, bidi
//!   overrides or escape sequences, an absurd length or record count is a malformed answer
//!   ([`VerdictKind::ServerError`]), never shown;
//! - for consistency: an answer that contradicts itself is a server error.
//!
//! Text the server wrote that does reach a verdict (its result messages, its field values in
//! a detail) goes through [`for_display_limited`] first, so a log line or a terminal cannot be
//! rewritten by it.

use time::Date;

use super::message::{
    ElderlyRecord, LimitRecord, PublicExpenseList, PublicExpenseRecord, ResponseMsg, ResultRecord,
};
use crate::domain::numbers::{InsurerNumber, PublicPayerNumber, RecipientNumber};
use crate::domain::public_expense::{PublicExpense, PublicExpenseSource};
use crate::domain::ratio::Ratio;
use crate::domain::search::NumberSearch;
use crate::domain::text::normalize_width;
use crate::domain::text::{for_display_limited, has_unsafe_chars};
use crate::domain::verdict::{
    ElderlyInfo, LimitInfo, NextStep, Qualification, ResultNote, Verdict, VerdictKind,
};

/// Placeholder result codes (docs/online-api.md). The real codes are not public; these are
/// the project's own, prefixed `PH` so nobody mistakes them for real ones. The real situations
/// they stand for, with their sources and dates: `docs/domain.md#result-codes`.
pub mod codes {
    /// Note: certificate expired, within grace (qualification only).
    pub const CERTIFICATE_EXPIRED_GRACE: &str = "PH0101";
    /// Note: certificate expires within 3 months.
    pub const CERTIFICATE_EXPIRING: &str = "PH0102";
    pub const NOT_REGISTERED: &str = "PH1001";
    pub const REGISTRATION_CANCELLED: &str = "PH1002";
    pub const CARD_RETURNED: &str = "PH1003";
    pub const CERTIFICATE_REVOKED: &str = "PH1004";
    pub const CERTIFICATE_EXPIRED: &str = "PH1005";
}

/// What we asked, to check the answer against.
#[derive(Clone, Debug)]
pub struct Asked {
    pub file_id: String,
    pub facility_code: String,
    /// `YYYYMMDD`
    pub date: String,
    /// `"1"` card, `"2"` numbers.
    pub reference: &'static str,
    /// For a search by numbers, the numbers and birth date asked about: every record of the
    /// answer must be about them.
    pub numbers: Option<NumberSearch>,
}

/// Longest text field accepted from an answer, in characters. The real fields are at most
/// a few dozen (an address about 100); anything longer is not a qualification record.
const MAX_FIELD_CHARS: usize = 200;

/// Most records accepted in one answer; a real one has one to a handful.
const MAX_RECORDS: usize = 20;

/// Longest server message kept in a note, in characters.
const MAX_MESSAGE_CHARS: usize = 200;

/// Most 公費 entries accepted in one answer: a patient holds one to three 受給者証; more than
/// this is not an answer about one person, and none of them is believed.
pub const MAX_PUBLIC_EXPENSES: usize = 8;

/// Longest 所得区分 or scheme name accepted in a 公費 entry, in characters.
const MAX_PUBLIC_EXPENSE_TEXT_CHARS: usize = 40;

/// Largest 自己負担上限額 (月額) accepted, in yen: the national caps are at most tens of
/// thousands; a larger figure is not a cap the desk can use.
const MAX_MONTHLY_CAP_YEN: u32 = 1_000_000;

fn server_error(detail: impl Into<String>, note: Option<ResultNote>) -> Verdict {
    let mut v = Verdict::bare(VerdictKind::ServerError, NextStep::RetryOrDocuments);
    v.detail = Some(detail.into());
    v.note = note;
    v
}

/// An answer about somebody else, or to another request: retry (or documents), and tell the
/// system administrator (the desk message says so).
fn mismatch(detail: impl Into<String>) -> Verdict {
    let mut v = Verdict::bare(VerdictKind::AnswerMismatch, NextStep::RetryOrDocuments);
    v.detail = Some(detail.into());
    v
}

/// The server's code and message, made safe to show and log.
pub(super) fn note(code: Option<String>, message: Option<String>) -> Option<ResultNote> {
    code.filter(|c| !c.is_empty()).map(|code| ResultNote {
        code: for_display_limited(&code, 40).into_owned(),
        message: message
            .map(|m| for_display_limited(&m, MAX_MESSAGE_CHARS).into_owned())
            .unwrap_or_default(),
    })
}

/// Server text quoted in a detail: escaped and short.
fn quoted(s: Option<&str>) -> String {
    match s {
        Some(s) => format!("{:?}", for_display_limited(s, 60)),
        None => "absent".to_owned(),
    }
}

/// Interprets the answer to `asked`, checked on `on` (for the ratio).
pub fn interpret(answer: ResponseMsg, asked: &Asked, on: Date) -> Verdict {
    let h = answer.message_header;
    let differs = [
        (
            "ArbitraryFileIdentifier",
            h.arbitrary_file_identifier.as_deref(),
            asked.file_id.as_str(),
        ),
        (
            "MedicalInstitutionCode",
            h.medical_institution_code.as_deref(),
            asked.facility_code.as_str(),
        ),
        (
            "QualificationConfirmationDate",
            h.qualification_confirmation_date.as_deref(),
            asked.date.as_str(),
        ),
        (
            "ReferenceClassification",
            h.reference_classification.as_deref(),
            asked.reference,
        ),
    ]
    .into_iter()
    .find(|(_, got, want)| got != &Some(*want));
    if let Some((field, got, want)) = differs {
        return mismatch(format!(
            "answer does not match the request: {field} {}, asked {want:?}",
            quoted(got)
        ));
    }
    match h.segment_of_result.as_deref() {
        Some("1") => {}
        Some("9") => {
            return server_error(
                "SegmentOfResult 9 (abnormal end)",
                note(h.error_code, h.error_message),
            );
        }
        other => {
            return server_error(format!("SegmentOfResult {}", quoted(other)), None);
        }
    }
    let Some(body) = answer.message_body else {
        return server_error("normal end without a MessageBody", None);
    };
    let result_note = note(body.processing_result_code, body.processing_result_message);
    let code = result_note.as_ref().map(|n| n.code.as_str());
    match body.processing_result_status.as_deref() {
        Some("1") => {}
        Some("2") => {
            let kind = match code {
                Some(codes::NOT_REGISTERED) => VerdictKind::NotRegistered,
                Some(codes::REGISTRATION_CANCELLED) => VerdictKind::RegistrationCancelled,
                Some(codes::CARD_RETURNED) => VerdictKind::CardReturned,
                Some(codes::CERTIFICATE_REVOKED) => VerdictKind::CertificateRevoked,
                Some(codes::CERTIFICATE_EXPIRED) => VerdictKind::CertificateExpired,
                _ => {
                    return server_error(format!("processing error {}", quoted(code)), result_note);
                }
            };
            let mut v = Verdict::bare(kind, NextStep::ConfirmByDocuments);
            v.note = result_note;
            return v;
        }
        other => {
            return server_error(
                format!("ProcessingResultStatus {}", quoted(other)),
                result_note,
            );
        }
    }
    let raw = body
        .result_list
        .map(|l| l.result_of_qualification_confirmation.into_vec())
        .unwrap_or_default();
    if raw.len() > MAX_RECORDS {
        return server_error(
            format!("malformed answer: {} records", raw.len()),
            result_note,
        );
    }
    let records = match raw
        .into_iter()
        .enumerate()
        .map(|(i, r)| qualification(r).map_err(|e| format!("malformed answer: record {i}: {e}")))
        .collect::<Result<Vec<Qualification>, String>>()
    {
        Ok(records) => records,
        Err(detail) => return server_error(detail, result_note),
    };
    let validity = body
        .qualification_validity
        .as_deref()
        .and_then(|v| v.parse::<u8>().ok());
    if let Some(numbers) = &asked.numbers {
        if let Err(detail) = about_the_patient_asked(&records, numbers, validity) {
            return mismatch(detail);
        }
    }
    let (kind, next_step, records) = match (validity, records.len()) {
        (Some(1), 1..) => {
            let kind = if code == Some(codes::CERTIFICATE_EXPIRED_GRACE) {
                VerdictKind::CertificateExpiredGrace
            } else {
                VerdictKind::Valid
            };
            (kind, NextStep::ClaimNormally, current_first(records))
        }
        (Some(2), 1..) => (
            VerdictKind::Invalid,
            NextStep::DocumentsOrOldNumbers,
            records,
        ),
        (Some(3), 1..) => (
            VerdictKind::InvalidNewExists,
            NextStep::UseNewerQualification,
            current_first(records),
        ),
        (Some(4), 0) => (VerdictKind::NoRecord, NextStep::ConfirmByDocuments, records),
        (Some(5), 2..) => (VerdictKind::Several, NextStep::ChooseWithPatient, records),
        (validity, n) => {
            return server_error(
                format!("QualificationValidity {validity:?} with {n} records"),
                result_note,
            );
        }
    };
    let mut v = Verdict::bare(kind, next_step);
    v.validity = validity;
    v.note = result_note;
    let (expenses, dropped) = public_expenses(body.ext_public_expense_info_list);
    v.public_expenses = expenses;
    if !dropped.is_empty() {
        v.detail = Some(dropped.join("; "));
    }
    if kind != VerdictKind::Several {
        if let Some((ratio, source)) = records.first().and_then(|q| q.ratio(on)) {
            v.ratio = Some(ratio);
            v.ratio_source = Some(source);
        }
    }
    v.qualifications = records;
    v
}

/// The answer's 公費 entries (`ExtPublicExpenseInfoList`, project elements), each parsed with
/// the domain's parsers, and an English line per entry dropped.
///
/// A malformed entry is dropped, never guessed at: without it the desk charges the insurance
/// share (or what the other entries give), so a lying or broken server can raise what the desk
/// shows but never lower it to a wrong 0円. More than [`MAX_PUBLIC_EXPENSES`] entries are all
/// dropped: which of them would be the patient's cannot be told.
fn public_expenses(list: Option<serde_json::Value>) -> (Vec<PublicExpense>, Vec<String>) {
    const NOT_A_LIST: &str =
        "public expense list dropped: ExtPublicExpenseInfoList is not a list of entries";
    let Some(list) = list else {
        return (Vec::new(), Vec::new());
    };
    let entries = match serde_json::from_value::<PublicExpenseList>(list) {
        Ok(l) => l.ext_public_expense_info.into_vec(),
        Err(_) => return (Vec::new(), vec![NOT_A_LIST.to_owned()]),
    };
    if entries.len() > MAX_PUBLIC_EXPENSES {
        return (
            Vec::new(),
            vec![format!(
                "public expense list dropped: {} entries, at most {MAX_PUBLIC_EXPENSES} accepted",
                entries.len()
            )],
        );
    }
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        match serde_json::from_value::<PublicExpenseRecord>(entry)
            .map_err(|_| "not an entry of strings".to_owned())
            .and_then(public_expense)
        {
            Ok(e) => kept.push(e),
            Err(why) => dropped.push(format!("public expense entry {i} dropped: {why}")),
        }
    }
    (kept, dropped)
}

/// A text field of a 公費 entry: checked like a record's field, then held to `max` characters.
fn short_text(
    field: &'static str,
    s: Option<String>,
    max: usize,
) -> Result<Option<String>, String> {
    let s = text(field, s)?;
    match &s {
        Some(t) if t.chars().count() > max => {
            Err(format!("{field} of {} characters", t.chars().count()))
        }
        _ => Ok(s),
    }
}

/// One 公費 entry, every field parsed once here; the first bad field drops the entry.
fn public_expense(r: PublicExpenseRecord) -> Result<PublicExpense, String> {
    // A number is at most a few dozen characters whatever its width; refuse before parsing.
    let number_text = |field: &'static str, s: Option<String>| short_text(field, s, 40);
    let payer = match number_text("ExtPublicPayerNumber", r.ext_public_payer_number)? {
        None => return Err("ExtPublicPayerNumber absent".into()),
        Some(s) => PublicPayerNumber::parse(&s).map_err(|e| {
            format!(
                "ExtPublicPayerNumber: {}",
                for_display_limited(&e.detail, 80)
            )
        })?,
    };
    let recipient =
        match number_text("ExtRecipientNumber", r.ext_recipient_number)? {
            None => None,
            Some(s) => Some(RecipientNumber::parse(&s).map_err(|e| {
                format!("ExtRecipientNumber: {}", for_display_limited(&e.detail, 80))
            })?),
        };
    // Full-width digits are the same date (an XML mirror may keep them).
    let wide_date = |field: &'static str, s: Option<String>| -> Result<Option<Date>, String> {
        match short_text(field, s, 40)? {
            None => Ok(None),
            Some(s) => date(field, Some(normalize_width(&s))),
        }
    };
    let valid_from = wide_date("ExtValidStartDate", r.ext_valid_start_date)?;
    let valid_until = wide_date("ExtValidEndDate", r.ext_valid_end_date)?;
    let monthly_cap_yen = match number_text("ExtMonthlyCapYen", r.ext_monthly_cap_yen)? {
        None => None,
        Some(s) => {
            let digits = normalize_width(&s);
            let whole_yen = digits.bytes().all(|b| b.is_ascii_digit());
            match digits.parse::<u32>() {
                Ok(y) if whole_yen && y <= MAX_MONTHLY_CAP_YEN => Some(y),
                _ => {
                    return Err(format!(
                        "ExtMonthlyCapYen is not whole yen up to {MAX_MONTHLY_CAP_YEN}: {}",
                        quoted(Some(&s))
                    ));
                }
            }
        }
    };
    Ok(PublicExpense {
        payer,
        recipient,
        valid_from,
        valid_until,
        income_category: short_text(
            "ExtIncomeCategory",
            r.ext_income_category,
            MAX_PUBLIC_EXPENSE_TEXT_CHARS,
        )?,
        monthly_cap_yen,
        name: short_text(
            "ExtSchemeName",
            r.ext_scheme_name,
            MAX_PUBLIC_EXPENSE_TEXT_CHARS,
        )?,
        source: PublicExpenseSource::Online,
    })
}

/// Puts the record still in force (no disqualification date) first.
fn current_first(mut records: Vec<Qualification>) -> Vec<Qualification> {
    records.sort_by_key(|q| q.disqualification_date.is_some());
    records
}

/// One field of a record, checked: trimmed, empty as absent, refused when it could rewrite a
/// screen or a log line (control characters, escape sequences, bidi overrides) or is
/// absurdly long. The error names the field, never echoes the raw value.
fn text(field: &'static str, s: Option<String>) -> Result<Option<String>, String> {
    let Some(s) = s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if has_unsafe_chars(&s) {
        return Err(format!(
            "{field} has control or formatting characters: {}",
            quoted(Some(&s))
        ));
    }
    let chars = s.chars().count();
    if chars > MAX_FIELD_CHARS {
        return Err(format!("{field} of {chars} characters"));
    }
    Ok(Some(s))
}

/// A `YYYYMMDD` date field; empty is absent, anything else that is not a real date is refused.
fn date(field: &'static str, s: Option<String>) -> Result<Option<Date>, String> {
    let Some(s) = text(field, s)? else {
        return Ok(None);
    };
    let format = time::macros::format_description!("[year][month][day]");
    match Date::parse(&s, format) {
        Ok(d) if s.len() == 8 => Ok(Some(d)),
        _ => Err(format!("{field} is not a date: {}", quoted(Some(&s)))),
    }
}

/// A 3-digit percent ratio field; present but not 010/020/030 is refused.
fn ratio(field: &'static str, s: Option<String>) -> Result<Option<Ratio>, String> {
    match text(field, s)? {
        None => Ok(None),
        Some(s) => Ratio::from_percent_field(&s)
            .map(Some)
            .ok_or_else(|| format!("{field} is not a ratio: {}", quoted(Some(&s)))),
    }
}

fn elderly(e: ElderlyRecord) -> Result<ElderlyInfo, String> {
    Ok(ElderlyInfo {
        ratio: ratio(
            "ElderlyRecipientContributionRatio",
            e.elderly_recipient_contribution_ratio,
        )?,
        valid_from: date(
            "ElderlyRecipientValidStartDate",
            e.elderly_recipient_valid_start_date,
        )?,
        valid_until: date(
            "ElderlyRecipientValidEndDate",
            e.elderly_recipient_valid_end_date,
        )?,
    })
}

fn limit(l: LimitRecord) -> Result<Option<LimitInfo>, String> {
    let Some(classification) = text(
        "LimitApplicationCertificateClassification",
        l.limit_application_certificate_classification,
    )?
    else {
        return Ok(None);
    };
    Ok(Some(LimitInfo {
        classification,
        valid_from: date(
            "LimitApplicationCertificateValidStartDate",
            l.limit_application_certificate_valid_start_date,
        )?,
        valid_until: date(
            "LimitApplicationCertificateValidEndDate",
            l.limit_application_certificate_valid_end_date,
        )?,
    }))
}

/// One record, parsed once here into typed values; the first bad field refuses the answer.
fn qualification(r: ResultRecord) -> Result<Qualification, String> {
    let insurer_number = match text("InsurerNumber", r.insurer_number)? {
        None => None,
        // Full-width digits are the same number (an XML mirror may keep them).
        Some(s) => Some(
            InsurerNumber::from_wire(&normalize_width(&s)).ok_or_else(|| {
                format!(
                    "InsurerNumber is not an insurer number: {}",
                    quoted(Some(&s))
                )
            })?,
        ),
    };
    Ok(Qualification {
        card_classification: text("InsuredCardClassification", r.insured_card_classification)?,
        insurer_number,
        insurer_name: text("InsurerName", r.insurer_name)?,
        symbol: text("InsuredCardSymbol", r.insured_card_symbol)?,
        number: text(
            "InsuredIdentificationNumber",
            r.insured_identification_number,
        )?,
        branch: text("InsuredBranchNumber", r.insured_branch_number)?,
        personal_family: text(
            "PersonalFamilyClassification",
            r.personal_family_classification,
        )?,
        insured_name: text("InsuredName", r.insured_name)?,
        name: text("Name", r.name)?,
        name_kana: text("NameKana", r.name_kana)?,
        sex: text("Sex1", r.sex1)?,
        birthdate: date("Birthdate", r.birthdate)?,
        address: text("Address", r.address)?,
        post_number: text("PostNumber", r.post_number)?,
        qualification_date: date("QualificationDate", r.qualification_date)?,
        disqualification_date: date("DisqualificationDate", r.disqualification_date)?,
        reason_of_loss: text("ReasonOfLoss", r.reason_of_loss)?,
        card_valid_from: date("InsuredCardValidDate", r.insured_card_valid_date)?,
        card_expires: date("InsuredCardExpirationDate", r.insured_card_expiration_date)?,
        partial_contribution_ratio: ratio(
            "InsuredPartialContributionRatio",
            r.insured_partial_contribution_ratio,
        )?,
        elderly: r
            .elderly_recipient_certificate_info
            .map(elderly)
            .transpose()?,
        limit: match r.limit_application_certificate_related_info {
            Some(l) => limit(l)?,
            None => None,
        },
        preschool: text("PreschoolClassification", r.preschool_classification)?,
        reference_number: text("ReferenceNumber", r.reference_number)?,
    })
}

/// 記号・番号・枝番 compared as the same value however they were written: full-width and
/// half-width alike, surrounding spaces ignored, letters in any case, and for all-digit values
/// leading zeros ignored (`0012` is `12`, `00` is `0`), as desks and insurers pad them
/// differently.
fn same_code(a: &str, b: &str) -> bool {
    fn canonical(s: &str) -> String {
        let s = normalize_width(s).to_ascii_uppercase();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            let t = s.trim_start_matches('0');
            return if t.is_empty() { "0".into() } else { t.into() };
        }
        s
    }
    canonical(a) == canonical(b)
}

/// Whether `q` carries the numbers asked: it must state the 保険者番号 and 番号 (a record that
/// leaves them out cannot be shown to be about the patient); 記号 and 枝番 are compared where
/// both sides give one, as either may leave them out.
fn carries_the_numbers(q: &Qualification, asked: &NumberSearch) -> Result<(), String> {
    match &q.insurer_number {
        Some(insurer) if insurer == &asked.insurer => {}
        other => {
            return Err(format!(
                "InsurerNumber {}, asked {:?}",
                quoted(other.as_ref().map(InsurerNumber::as_str)),
                asked.insurer.as_str()
            ));
        }
    }
    match &q.number {
        Some(number) if same_code(number, &asked.number) => {}
        other => {
            return Err(format!(
                "InsuredIdentificationNumber {}, asked {}",
                quoted(other.as_deref()),
                quoted(Some(&asked.number))
            ));
        }
    }
    let pairs = [
        ("InsuredCardSymbol", &q.symbol, &asked.symbol),
        ("InsuredBranchNumber", &q.branch, &asked.branch),
    ];
    for (field, got, want) in pairs {
        if let (Some(got), Some(want)) = (got, want) {
            if !same_code(got, want) {
                return Err(format!(
                    "{field} {}, asked {}",
                    quoted(Some(got)),
                    quoted(Some(want))
                ));
            }
        }
    }
    Ok(())
}

/// Whether an answer to a search by numbers is about the patient asked for.
///
/// Every record must state the birth date asked. The records must carry the numbers asked
/// (see [`carries_the_numbers`]), except that 無効(新しい資格あり)
/// and 複数該当 answers legitimately hold other numbers too (the newer qualification, the
/// other candidates): there at least one record must carry them.
fn about_the_patient_asked(
    records: &[Qualification],
    asked: &NumberSearch,
    validity: Option<u8>,
) -> Result<(), String> {
    for (i, q) in records.iter().enumerate() {
        if q.birthdate != Some(asked.birthdate) {
            let got = q.birthdate.map(|b| b.to_string());
            return Err(format!(
                "answer is about somebody else: record {i} Birthdate {}, asked {}",
                quoted(got.as_deref()),
                asked.birthdate
            ));
        }
    }
    let checks: Vec<Result<(), String>> = records
        .iter()
        .map(|q| carries_the_numbers(q, asked))
        .collect();
    let first_error = checks
        .iter()
        .enumerate()
        .find_map(|(i, c)| c.as_ref().err().map(|e| (i, e)));
    let Some((i, e)) = first_error else {
        return Ok(());
    };
    let some_record_may_differ = matches!(validity, Some(3) | Some(5));
    if some_record_may_differ && checks.iter().any(Result::is_ok) {
        return Ok(());
    }
    Err(format!("answer is about somebody else: record {i} {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::public_expense::PublicExpenseSource;
    use crate::domain::verdict::RatioSource;
    use crate::online::message::ResponseEnvelope;
    use time::macros::date;

    const ON: Date = date!(2026 - 11 - 21);

    fn asked() -> Asked {
        Asked {
            file_id: "d-1".into(),
            facility_code: "1312345678".into(),
            date: "20261121".into(),
            reference: "1",
            numbers: None,
        }
    }

    /// A search by numbers for the `VALID_RECORD` patient.
    fn asked_by_numbers() -> Asked {
        Asked {
            reference: "2",
            numbers: Some(NumberSearch {
                insurer: InsurerNumber::parse("01130012").expect("valid"),
                symbol: Some("12".into()),
                number: "3456".into(),
                branch: Some("00".into()),
                birthdate: date!(1980 - 04 - 01),
                limit_consent: false,
            }),
            ..asked()
        }
    }

    fn by_numbers(validity: &str, records: &str) -> ResponseMsg {
        let mut a = answer(&format!(
            r#"{{"ProcessingResultStatus": "1", "QualificationValidity": "{validity}",
            "ResultList": {{"ResultOfQualificationConfirmation": [{records}]}}}}"#
        ));
        a.message_header.reference_classification = Some("2".into());
        a
    }

    fn answer(body: &str) -> ResponseMsg {
        let json = format!(
            r#"{{"XmlMsg": {{"MessageHeader": {{"ProcessExecutionTime": "20261121103012",
            "QualificationConfirmationDate": "20261121", "MedicalInstitutionCode": "1312345678",
            "ArbitraryFileIdentifier": "d-1", "ReferenceClassification": "1", "SegmentOfResult": "1",
            "CharacterCodeIdentifier": "0"}}, "MessageBody": {body}}}}}"#
        );
        serde_json::from_str::<ResponseEnvelope>(&json)
            .expect("test JSON")
            .xml_msg
    }

    const VALID_RECORD: &str = r#"{"InsurerNumber": "01130012", "InsuredCardSymbol": "12", "InsuredIdentificationNumber": "3456",
        "InsuredBranchNumber": "00", "Name": "山田 花子", "NameKana": "ﾔﾏﾀﾞ ﾊﾅｺ", "Birthdate": "19800401",
        "InsuredCardExpirationDate": "", "LimitApplicationCertificateRelatedInfo": {"LimitApplicationCertificateClassification": "A03"}}"#;

    #[test]
    fn a_valid_answer_gives_the_numbers_and_the_age_ratio() {
        let v = interpret(
            answer(&format!(
                r#"{{"ProcessingResultStatus": "1", "QualificationValidity": "1",
                "ResultList": {{"ResultOfQualificationConfirmation": [{VALID_RECORD}]}}}}"#
            )),
            &asked(),
            ON,
        );
        assert_eq!(v.kind, VerdictKind::Valid);
        assert_eq!(v.validity, Some(1));
        assert_eq!(v.ratio, Some(Ratio::THREE));
        let q = v.primary().expect("one record");
        assert_eq!(q.number.as_deref(), Some("3456"));
        assert_eq!(
            q.card_expires, None,
            "an empty expiration date is not expired"
        );
        assert_eq!(
            q.limit.as_ref().map(|l| l.classification.as_str()),
            Some("A03")
        );
        assert_eq!(v.next_step, NextStep::ClaimNormally);
    }

    #[test]
    fn the_grace_note_turns_valid_into_qualification_only() {
        let v = interpret(
            answer(&format!(
                r#"{{"ProcessingResultStatus": "1", "QualificationValidity": "1",
                "ProcessingResultCode": "PH0101", "ProcessingResultMessage": "猶予期間中",
                "ResultList": {{"ResultOfQualificationConfirmation": {VALID_RECORD}}}}}"#
            )),
            &asked(),
            ON,
        );
        assert_eq!(v.kind, VerdictKind::CertificateExpiredGrace);
        assert_eq!(v.note.map(|n| n.code), Some("PH0101".into()));
    }

    #[test]
    fn late_elderly_ratio_comes_from_the_answer() {
        let rec = r#"{"InsurerNumber": "39280003", "InsuredIdentificationNumber": "12345678", "Birthdate": "19450101",
            "InsuredPartialContributionRatio": "010"}"#;
        let v = interpret(
            answer(&format!(
                r#"{{"ProcessingResultStatus": "1", "QualificationValidity": "1",
                "ResultList": {{"ResultOfQualificationConfirmation": [{rec}]}}}}"#
            )),
            &asked(),
            ON,
        );
        assert_eq!(v.ratio, Some(Ratio::ONE));
        assert_eq!(v.ratio_source, Some(RatioSource::LateElderlyRatio));
        assert_eq!(v.primary().and_then(|q| q.symbol.clone()), None);
    }

    #[test]
    fn invalid_keeps_the_old_numbers_for_claim_path_2() {
        let rec = r#"{"InsurerNumber": "06010391", "InsuredIdentificationNumber": "77", "Birthdate": "19900101",
            "DisqualificationDate": "20261031", "ReasonOfLoss": "03"}"#;
        let v = interpret(
            answer(&format!(
                r#"{{"ProcessingResultStatus": "1", "QualificationValidity": "2",
                "ResultList": {{"ResultOfQualificationConfirmation": [{rec}]}}}}"#
            )),
            &asked(),
            ON,
        );
        assert_eq!(v.kind, VerdictKind::Invalid);
        assert_eq!(v.next_step, NextStep::DocumentsOrOldNumbers);
        let old = v.primary().expect("old record");
        assert_eq!(old.disqualification_date, Some(date!(2026 - 10 - 31)));
        assert_eq!(old.reason_of_loss.as_deref(), Some("03"));
    }

    #[test]
    fn the_newer_qualification_comes_first() {
        let old = r#"{"InsurerNumber": "06010391", "InsuredIdentificationNumber": "OLD", "DisqualificationDate": "20261031"}"#;
        let new = r#"{"InsurerNumber": "01130012", "InsuredIdentificationNumber": "NEW", "Birthdate": "19900101"}"#;
        let v = interpret(
            answer(&format!(
                r#"{{"ProcessingResultStatus": "1", "QualificationValidity": "3",
                "ResultList": {{"ResultOfQualificationConfirmation": [{old}, {new}]}}}}"#
            )),
            &asked(),
            ON,
        );
        assert_eq!(v.kind, VerdictKind::InvalidNewExists);
        assert_eq!(
            v.primary().and_then(|q| q.number.clone()).as_deref(),
            Some("NEW")
        );
    }

    #[test]
    fn no_record_and_several() {
        let v = interpret(
            answer(r#"{"ProcessingResultStatus": "1", "QualificationValidity": "4"}"#),
            &asked(),
            ON,
        );
        assert_eq!(
            (v.kind, v.next_step),
            (VerdictKind::NoRecord, NextStep::ConfirmByDocuments)
        );
        let two = format!(r#"[{VALID_RECORD}, {VALID_RECORD}]"#);
        let v = interpret(
            answer(&format!(
                r#"{{"ProcessingResultStatus": "1", "QualificationValidity": "5",
                "ResultList": {{"ResultOfQualificationConfirmation": {two}}}}}"#
            )),
            &asked(),
            ON,
        );
        assert_eq!(v.kind, VerdictKind::Several);
        assert!(v.primary().is_none() && v.ratio.is_none());
    }

    #[test]
    fn card_status_codes_map_to_their_verdicts() {
        for (code, kind) in [
            ("PH1001", VerdictKind::NotRegistered),
            ("PH1002", VerdictKind::RegistrationCancelled),
            ("PH1003", VerdictKind::CardReturned),
            ("PH1004", VerdictKind::CertificateRevoked),
            ("PH1005", VerdictKind::CertificateExpired),
            ("PH7777", VerdictKind::ServerError),
        ] {
            let body = format!(
                r#"{{"ProcessingResultStatus": "2", "ProcessingResultCode": "{code}", "ProcessingResultMessage": "m"}}"#
            );
            assert_eq!(interpret(answer(&body), &asked(), ON).kind, kind, "{code}");
        }
    }

    #[test]
    fn abnormal_end_is_a_server_error_with_its_code() {
        let mut a = answer(r#"{"ProcessingResultStatus": "2"}"#);
        a.message_header.segment_of_result = Some("9".into());
        a.message_header.error_code = Some("PH9001".into());
        let v = interpret(a, &asked(), ON);
        assert_eq!(v.kind, VerdictKind::ServerError);
        assert_eq!(v.next_step, NextStep::RetryOrDocuments);
        assert_eq!(v.note.map(|n| n.code), Some("PH9001".into()));
    }

    #[test]
    fn an_answer_to_another_request_is_not_believed() {
        let mut a = answer(r#"{"ProcessingResultStatus": "1", "QualificationValidity": "4"}"#);
        a.message_header.arbitrary_file_identifier = Some("someone-else".into());
        let v = interpret(a, &asked(), ON);
        assert_eq!(v.kind, VerdictKind::AnswerMismatch);
        assert!(v
            .detail
            .unwrap_or_default()
            .contains("ArbitraryFileIdentifier"));
    }

    #[test]
    fn an_answer_about_the_patient_asked_is_believed_however_it_writes_the_numbers() {
        let v = interpret(by_numbers("1", VALID_RECORD), &asked_by_numbers(), ON);
        assert_eq!(v.kind, VerdictKind::Valid, "{:?}", v.detail);
        // Full-width digits, padding and leading zeros are the same numbers.
        let written_otherwise = VALID_RECORD
            .replace(r#""01130012""#, r#""０１１３００１２""#)
            .replace(r#""3456""#, r#""００３４５６""#)
            .replace(r#""12""#, r#""１２""#)
            .replace(r#""00""#, r#""0""#);
        let v = interpret(by_numbers("1", &written_otherwise), &asked_by_numbers(), ON);
        assert_eq!(v.kind, VerdictKind::Valid, "{:?}", v.detail);
    }

    #[test]
    fn an_answer_about_somebody_else_is_a_mismatch_never_valid() {
        for (field, from, to) in [
            ("InsurerNumber", r#""01130012""#, r#""06010391""#),
            ("InsuredCardSymbol", r#""12""#, r#""99""#),
            ("InsuredIdentificationNumber", r#""3456""#, r#""7777""#),
            ("InsuredBranchNumber", r#""00""#, r#""02""#),
            ("Birthdate", r#""19800401""#, r#""19510909""#),
        ] {
            let other = VALID_RECORD.replace(from, to);
            assert_ne!(other, VALID_RECORD, "{field}");
            let v = interpret(by_numbers("1", &other), &asked_by_numbers(), ON);
            assert_eq!(v.kind, VerdictKind::AnswerMismatch, "{field}");
            assert_eq!(v.next_step, NextStep::RetryOrDocuments);
            assert!(v.primary().is_none() && v.ratio.is_none(), "{field}");
            assert!(
                v.detail.as_deref().is_some_and(|d| d.contains(field)),
                "{field}: {:?}",
                v.detail
            );
        }
    }

    #[test]
    fn a_record_that_leaves_out_who_it_is_about_is_not_believed() {
        for (field, from) in [
            ("Birthdate", r#""Birthdate": "19800401","#),
            ("InsurerNumber", r#""InsurerNumber": "01130012","#),
            (
                "InsuredIdentificationNumber",
                r#""InsuredIdentificationNumber": "3456","#,
            ),
        ] {
            let vague = VALID_RECORD.replace(from, "");
            assert_ne!(vague, VALID_RECORD, "{field}");
            let v = interpret(by_numbers("1", &vague), &asked_by_numbers(), ON);
            assert_eq!(v.kind, VerdictKind::AnswerMismatch, "{field}");
            assert!(
                v.detail.as_deref().is_some_and(|d| d.contains(field)),
                "{field}: {:?}",
                v.detail
            );
        }
    }

    #[test]
    fn a_newer_qualification_may_carry_other_numbers_but_not_another_birth_date() {
        let old = r#"{"InsurerNumber": "01130012", "InsuredIdentificationNumber": "3456", "Birthdate": "19800401",
            "DisqualificationDate": "20261031"}"#;
        let new = r#"{"InsurerNumber": "06010391", "InsuredIdentificationNumber": "88", "Birthdate": "19800401"}"#;
        let v = interpret(
            by_numbers("3", &format!("{old}, {new}")),
            &asked_by_numbers(),
            ON,
        );
        assert_eq!(v.kind, VerdictKind::InvalidNewExists, "{:?}", v.detail);
        let stranger = new.replace("19800401", "19700101");
        let v = interpret(
            by_numbers("3", &format!("{old}, {stranger}")),
            &asked_by_numbers(),
            ON,
        );
        assert_eq!(v.kind, VerdictKind::AnswerMismatch);
        // Neither record with the numbers asked: about somebody else.
        let v = interpret(
            by_numbers("3", &format!("{new}, {new}")),
            &asked_by_numbers(),
            ON,
        );
        assert_eq!(v.kind, VerdictKind::AnswerMismatch);
    }

    #[test]
    fn malformed_fields_refuse_the_answer_and_are_not_shown() {
        for (what, from, to) in [
            ("not a date", r#""19800401""#, r#""19801341""#),
            ("words for a date", r#""19800401""#, r#""yesterday""#),
            ("escape sequence", "山田 花子", r"山田\u001b[2J花子"),
            ("bidi override", "山田 花子", r"山田\u202e子花"),
            ("newline", "ﾔﾏﾀﾞ ﾊﾅｺ", r"ﾔﾏﾀﾞ\nINFO forged"),
            ("absurd length", "山田 花子", &"名".repeat(5_000)),
            ("not an insurer number", r#""01130012""#, r#""0113001X""#),
        ] {
            let bad = VALID_RECORD.replace(from, to);
            assert_ne!(bad, VALID_RECORD, "{what}");
            let v = interpret(by_numbers("1", &bad), &asked_by_numbers(), ON);
            assert_eq!(v.kind, VerdictKind::ServerError, "{what}");
            assert!(v.qualifications.is_empty(), "{what}");
            let detail = v.detail.unwrap_or_default();
            assert!(detail.contains("malformed answer"), "{what}: {detail}");
            assert!(!has_unsafe_chars(&detail), "{what}: {detail:?}");
            assert!(detail.chars().count() < 400, "{what}: {detail}");
        }
        let many = vec![VALID_RECORD; MAX_RECORDS + 1].join(", ");
        let v = interpret(by_numbers("5", &many), &asked_by_numbers(), ON);
        assert_eq!(v.kind, VerdictKind::ServerError);
    }

    #[test]
    fn server_messages_in_notes_are_escaped() {
        let body = r#"{"ProcessingResultStatus": "2", "ProcessingResultCode": "PH1001",
            "ProcessingResultMessage": "\u001b]0;owned\u0007登録なし\u202e"}"#;
        let v = interpret(answer(body), &asked(), ON);
        assert_eq!(v.kind, VerdictKind::NotRegistered);
        let message = v.note.map(|n| n.message).unwrap_or_default();
        assert!(!has_unsafe_chars(&message), "{message:?}");
        assert!(message.contains("登録なし"));
    }

    #[test]
    fn the_ratio_source_is_what_the_answer_says() {
        let worker = VALID_RECORD.replace(
            r#""Birthdate": "19800401","#,
            r#""Birthdate": "19800401", "InsuredPartialContributionRatio": "030","#,
        );
        let v = interpret(by_numbers("1", &worker), &asked_by_numbers(), ON);
        assert_eq!(v.ratio, Some(Ratio::THREE));
        assert_eq!(v.ratio_source, Some(RatioSource::StatedRatio));
    }

    #[test]
    fn self_contradicting_answers_are_server_errors() {
        for body in [
            r#"{"ProcessingResultStatus": "1", "QualificationValidity": "1"}"#,
            r#"{"ProcessingResultStatus": "1", "QualificationValidity": "9"}"#,
            r#"{"ProcessingResultStatus": "1"}"#,
            r#"{}"#,
        ] {
            assert_eq!(
                interpret(answer(body), &asked(), ON).kind,
                VerdictKind::ServerError,
                "{body}"
            );
        }
    }

    /// A valid answer by card carrying `entries` as its `ExtPublicExpenseInfoList`.
    fn with_public_expenses(entries: &str) -> Verdict {
        interpret(
            answer(&format!(
                r#"{{"ProcessingResultStatus": "1", "QualificationValidity": "1",
                "ResultList": {{"ResultOfQualificationConfirmation": [{VALID_RECORD}]}},
                "ExtPublicExpenseInfoList": {entries}}}"#
            )),
            &asked(),
            ON,
        )
    }

    const NANBYO: &str = r#"{"ExtPublicPayerNumber": "54130018", "ExtRecipientNumber": "3456788",
        "ExtValidStartDate": "20260701", "ExtValidEndDate": "20270630",
        "ExtIncomeCategory": "一般所得Ⅰ", "ExtMonthlyCapYen": "10000", "ExtSchemeName": "難病法 特定医療費"}"#;
    const WELFARE: &str = r#"{"ExtPublicPayerNumber": "12130019", "ExtRecipientNumber": "4567899",
        "ExtValidStartDate": "20260401"}"#;

    #[test]
    fn public_expense_entries_are_parsed_into_the_verdict() {
        let v = with_public_expenses(&format!(
            r#"{{"ExtPublicExpenseInfo": [{NANBYO}, {WELFARE}]}}"#
        ));
        assert_eq!(v.kind, VerdictKind::Valid, "{:?}", v.detail);
        assert_eq!(v.detail, None);
        assert_eq!(v.public_expenses.len(), 2);
        let n = &v.public_expenses[0];
        assert_eq!(n.payer.as_str(), "54130018");
        assert_eq!(n.recipient.as_ref().map(|r| r.as_str()), Some("3456788"));
        assert_eq!(n.valid_from, Some(date!(2026 - 07 - 01)));
        assert_eq!(n.valid_until, Some(date!(2027 - 06 - 30)));
        assert_eq!(n.income_category.as_deref(), Some("一般所得Ⅰ"));
        assert_eq!(n.monthly_cap_yen, Some(10_000));
        assert_eq!(n.name.as_deref(), Some("難病法 特定医療費"));
        assert_eq!(n.source, PublicExpenseSource::Online);
        let w = &v.public_expenses[1];
        assert_eq!(w.law_number().value(), 12);
        assert_eq!(w.valid_until, None, "no end date is not expired");
        // A single entry written as an object (XML mirror) is a list of one.
        let v = with_public_expenses(&format!(r#"{{"ExtPublicExpenseInfo": {WELFARE}}}"#));
        assert_eq!(v.public_expenses.len(), 1);
        // No list: no 公費.
        let v = interpret(
            answer(&format!(
                r#"{{"ProcessingResultStatus": "1", "QualificationValidity": "1",
                "ResultList": {{"ResultOfQualificationConfirmation": [{VALID_RECORD}]}}}}"#
            )),
            &asked(),
            ON,
        );
        assert!(v.public_expenses.is_empty());
    }

    #[test]
    fn full_width_digits_in_a_public_expense_entry_are_the_same_numbers() {
        let wide = r#"{"ExtPublicPayerNumber": "５４１３００１８", "ExtRecipientNumber": "３４５６７８８",
            "ExtValidStartDate": "２０２６０７０１", "ExtMonthlyCapYen": "１００００"}"#;
        let v = with_public_expenses(&format!(r#"{{"ExtPublicExpenseInfo": [{wide}]}}"#));
        assert_eq!(v.detail, None);
        let e = &v.public_expenses[0];
        assert_eq!(e.payer.as_str(), "54130018");
        assert_eq!(e.recipient.as_ref().map(|r| r.as_str()), Some("3456788"));
        assert_eq!(e.valid_from, Some(date!(2026 - 07 - 01)));
        assert_eq!(e.monthly_cap_yen, Some(10_000));
    }

    #[test]
    fn a_malformed_public_expense_entry_is_dropped_alone_and_said_in_the_detail() {
        for (what, bad) in [
            ("wrong check digit", WELFARE.replace("12130019", "12130018")),
            (
                "no payer",
                WELFARE.replace(r#""ExtPublicPayerNumber": "12130019","#, ""),
            ),
            ("short recipient", WELFARE.replace("4567899", "456789")),
            ("letters", WELFARE.replace("4567899", "45678X9")),
            ("not a date", WELFARE.replace("20260401", "20261341")),
            ("a cap in words", NANBYO.replace(r#""10000""#, r#""1万円""#)),
            (
                "an absurd cap",
                NANBYO.replace(r#""10000""#, r#""99999999""#),
            ),
            ("a negative cap", NANBYO.replace(r#""10000""#, r#""-1""#)),
            (
                "a number for a string",
                NANBYO.replace(r#""10000""#, "10000"),
            ),
            (
                "escape sequence",
                NANBYO.replace("一般所得Ⅰ", r"一般\u001b[2J"),
            ),
            ("bidi override", NANBYO.replace("難病法", r"\u202e難病法")),
            ("long name", NANBYO.replace("難病法", &"難".repeat(41))),
            ("not an object", "\"12130019\"".to_owned()),
            ("null", "null".to_owned()),
        ] {
            let v =
                with_public_expenses(&format!(r#"{{"ExtPublicExpenseInfo": [{bad}, {NANBYO}]}}"#));
            assert_eq!(v.kind, VerdictKind::Valid, "{what}: the insurance stands");
            let payers: Vec<&str> = v.public_expenses.iter().map(|e| e.payer.as_str()).collect();
            assert_eq!(
                payers,
                vec!["54130018"],
                "{what}: only the good entry is kept"
            );
            let detail = v.detail.unwrap_or_default();
            assert!(
                detail.contains("public expense entry 0 dropped"),
                "{what}: {detail}"
            );
            assert!(!has_unsafe_chars(&detail), "{what}: {detail:?}");
            assert!(detail.chars().count() < 300, "{what}: {detail}");
        }
    }

    #[test]
    fn a_hostile_public_expense_list_is_not_believed() {
        // Too many: none is believed (which would be the patient's cannot be told).
        let many = [WELFARE; MAX_PUBLIC_EXPENSES + 1].join(", ");
        let v = with_public_expenses(&format!(r#"{{"ExtPublicExpenseInfo": [{many}]}}"#));
        assert_eq!(v.kind, VerdictKind::Valid);
        assert!(v.public_expenses.is_empty());
        assert!(v.detail.unwrap_or_default().contains("9 entries"));
        let eight = [WELFARE; MAX_PUBLIC_EXPENSES].join(", ");
        let v = with_public_expenses(&format!(r#"{{"ExtPublicExpenseInfo": [{eight}]}}"#));
        assert_eq!(v.public_expenses.len(), MAX_PUBLIC_EXPENSES);
        // Huge strings are refused by length, never echoed whole.
        let huge = WELFARE.replace("4567899", &"9".repeat(50_000));
        let v = with_public_expenses(&format!(r#"{{"ExtPublicExpenseInfo": [{huge}]}}"#));
        assert!(v.public_expenses.is_empty());
        let detail = v.detail.unwrap_or_default();
        assert!(detail.len() < 300, "{detail}");
        // Not a list at all.
        for list in [r#""all free""#, "[1, 2]", "7"] {
            let v = with_public_expenses(list);
            assert_eq!(v.kind, VerdictKind::Valid, "{list}");
            assert!(v.public_expenses.is_empty(), "{list}");
            assert!(v.detail.is_some(), "{list}");
        }
        // A 公費 list never rescues an answer that is otherwise refused.
        let mut a = answer(&format!(
            r#"{{"ProcessingResultStatus": "1", "QualificationValidity": "1",
            "ResultList": {{"ResultOfQualificationConfirmation": [{VALID_RECORD}]}},
            "ExtPublicExpenseInfoList": {{"ExtPublicExpenseInfo": [{WELFARE}]}}}}"#
        ));
        a.message_header.arbitrary_file_identifier = Some("someone-else".into());
        let v = interpret(a, &asked(), ON);
        assert_eq!(v.kind, VerdictKind::AnswerMismatch);
        assert!(v.public_expenses.is_empty());
    }
}
