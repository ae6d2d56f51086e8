//! From an online answer to a [`Verdict`]: pure, so every outcome is a plain unit test.
//!
//! The answer is checked against what we asked (the echoed `ArbitraryFileIdentifier`, facility
//! code, date and reference kind): an answer to somebody else's question, or one that
//! contradicts itself, is a server error, never a verdict about this patient.

use time::Date;

use super::message::{ResponseMsg, ResultRecord};
use crate::domain::numbers::InsurerNumber;
use crate::domain::ratio::Ratio;
use crate::domain::verdict::{
    ElderlyInfo, LimitInfo, NextStep, Qualification, ResultNote, Verdict, VerdictKind,
};

/// Placeholder result codes (docs/online-api.md). The real codes are not public; these are
/// the project's own, prefixed `PH` so nobody mistakes them for real ones.
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
}

fn server_error(detail: impl Into<String>, note: Option<ResultNote>) -> Verdict {
    let mut v = Verdict::bare(VerdictKind::ServerError, NextStep::RetryOrDocuments);
    v.detail = Some(detail.into());
    v.note = note;
    v
}

fn note(code: Option<String>, message: Option<String>) -> Option<ResultNote> {
    code.filter(|c| !c.is_empty()).map(|code| ResultNote {
        code,
        message: message.unwrap_or_default(),
    })
}

/// Interprets the answer to `asked`, checked on `on` (for the ratio).
pub fn interpret(answer: ResponseMsg, asked: &Asked, on: Date) -> Verdict {
    let h = answer.message_header;
    let mismatch = [
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
    if let Some((field, got, want)) = mismatch {
        return server_error(
            format!("answer does not match the request: {field} {got:?}, asked {want:?}"),
            None,
        );
    }
    match h.segment_of_result.as_deref() {
        Some("1") => {}
        Some("9") => {
            return server_error(
                "SegmentOfResult 9 (abnormal end)",
                note(h.error_code, h.error_message),
            );
        }
        other => return server_error(format!("SegmentOfResult {other:?}"), None),
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
                _ => return server_error(format!("processing error {code:?}"), result_note),
            };
            let mut v = Verdict::bare(kind, NextStep::ConfirmByDocuments);
            v.note = result_note;
            return v;
        }
        other => return server_error(format!("ProcessingResultStatus {other:?}"), result_note),
    }
    let records: Vec<Qualification> = body
        .result_list
        .map(|l| l.result_of_qualification_confirmation.into_vec())
        .unwrap_or_default()
        .into_iter()
        .map(qualification)
        .collect();
    let validity = body
        .qualification_validity
        .as_deref()
        .and_then(|v| v.parse::<u8>().ok());
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
    if kind != VerdictKind::Several {
        if let Some((ratio, source)) = records.first().and_then(|q| q.ratio(on)) {
            v.ratio = Some(ratio);
            v.ratio_source = Some(source);
        }
    }
    v.qualifications = records;
    v
}

/// Puts the record still in force (no disqualification date) first.
fn current_first(mut records: Vec<Qualification>) -> Vec<Qualification> {
    records.sort_by_key(|q| q.disqualification_date.is_some());
    records
}

fn text(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn date(s: Option<String>) -> Option<Date> {
    let s = text(s)?;
    Date::parse(&s, time::macros::format_description!("[year][month][day]")).ok()
}

fn qualification(r: ResultRecord) -> Qualification {
    Qualification {
        card_classification: text(r.insured_card_classification),
        insurer_number: r
            .insurer_number
            .as_deref()
            .and_then(InsurerNumber::from_wire),
        insurer_name: text(r.insurer_name),
        symbol: text(r.insured_card_symbol),
        number: text(r.insured_identification_number),
        branch: text(r.insured_branch_number),
        personal_family: text(r.personal_family_classification),
        insured_name: text(r.insured_name),
        name: text(r.name),
        name_kana: text(r.name_kana),
        sex: text(r.sex1),
        birthdate: date(r.birthdate),
        address: text(r.address),
        post_number: text(r.post_number),
        qualification_date: date(r.qualification_date),
        disqualification_date: date(r.disqualification_date),
        reason_of_loss: text(r.reason_of_loss),
        card_valid_from: date(r.insured_card_valid_date),
        card_expires: date(r.insured_card_expiration_date),
        partial_contribution_ratio: r
            .insured_partial_contribution_ratio
            .as_deref()
            .and_then(Ratio::from_percent_field),
        elderly: r.elderly_recipient_certificate_info.map(|e| ElderlyInfo {
            ratio: e
                .elderly_recipient_contribution_ratio
                .as_deref()
                .and_then(Ratio::from_percent_field),
            valid_from: date(e.elderly_recipient_valid_start_date),
            valid_until: date(e.elderly_recipient_valid_end_date),
        }),
        limit: r.limit_application_certificate_related_info.and_then(|l| {
            Some(LimitInfo {
                classification: text(l.limit_application_certificate_classification)?,
                valid_from: date(l.limit_application_certificate_valid_start_date),
                valid_until: date(l.limit_application_certificate_valid_end_date),
            })
        }),
        preschool: text(r.preschool_classification),
        reference_number: text(r.reference_number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::message::Response;
    use time::macros::date;

    const ON: Date = date!(2026 - 11 - 21);

    fn asked() -> Asked {
        Asked {
            file_id: "d-1".into(),
            facility_code: "1312345678".into(),
            date: "20261121".into(),
            reference: "1",
        }
    }

    fn answer(body: &str) -> ResponseMsg {
        let json = format!(
            r#"{{"XmlMsg": {{"MessageHeader": {{"ProcessExecutionTime": "20261121103012",
            "QualificationConfirmationDate": "20261121", "MedicalInstitutionCode": "1312345678",
            "ArbitraryFileIdentifier": "d-1", "ReferenceClassification": "1", "SegmentOfResult": "1",
            "CharacterCodeIdentifier": "0"}}, "MessageBody": {body}}}}}"#
        );
        serde_json::from_str::<Response>(&json)
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
        assert_eq!(v.kind, VerdictKind::ServerError);
        assert!(v
            .detail
            .unwrap_or_default()
            .contains("ArbitraryFileIdentifier"));
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
}
