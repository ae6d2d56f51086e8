//! Response documents, in the contract's element order.

use std::borrow::Cow;

use serde::Serialize;

use super::codes::Code;
use super::request::Header;
use crate::fixtures::{Insured, PublicExpenseInfo, QualificationRecord};

/// `ReferenceClassification`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reference {
    /// `"1"`: by card.
    Card,
    /// `"2"`: by numbers.
    Numbers,
}

/// What the confirmation answers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome<'a> {
    /// The entry's qualification(s), with an optional note (PH0101 / PH0102).
    Qualification {
        entry: &'a Insured,
        note: Option<Code>,
    },
    /// Nothing found by numbers: `QualificationValidity` 4, no records.
    NotFound,
    /// Processed, but refused with a PH1xxx code (`ProcessingResultStatus` 2).
    Refused(Code),
    /// Abnormal end (`SegmentOfResult` 9, PH9001).
    SystemError,
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "XmlMsg")]
    xml_msg: XmlMsg<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct XmlMsg<'a> {
    message_header: ResponseHeader<'a>,
    message_body: ResponseBody<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResponseHeader<'a> {
    process_execution_time: &'a str,
    qualification_confirmation_date: &'a str,
    medical_institution_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arbitrary_file_identifier: Option<&'a str>,
    reference_classification: &'static str,
    segment_of_result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'static str>,
    character_code_identifier: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResponseBody<'a> {
    processing_result_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    processing_result_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    processing_result_message: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qualification_validity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result_list: Option<ResultList<'a>>,
    /// **Project** element: the person's 公費 (PMH-linked 受給者証), next to the insurance.
    #[serde(skip_serializing_if = "Option::is_none")]
    ext_public_expense_info_list: Option<PublicExpenseList<'a>>,
}

#[derive(Serialize)]
struct ResultList<'a> {
    #[serde(rename = "ResultOfQualificationConfirmation")]
    records: Vec<Cow<'a, QualificationRecord>>,
}

#[derive(Serialize)]
struct PublicExpenseList<'a> {
    #[serde(rename = "ExtPublicExpenseInfo")]
    entries: &'a [PublicExpenseInfo],
}

/// Serialises the confirmation response.
///
/// Without consent (`LimitApplicationCertificateRelatedConsFlg` `"0"`) the 限度額 information
/// is left out of every record: sharing it is what the consent is for.
pub(crate) fn confirmation(
    header: &Header,
    process_time: &str,
    reference: Reference,
    outcome: Outcome<'_>,
    limit_consent: bool,
) -> Result<Vec<u8>, serde_json::Error> {
    let (segment, error) = match outcome {
        Outcome::SystemError => ("9", Some(super::codes::PH9001)),
        _ => ("1", None),
    };
    let body = match outcome {
        Outcome::Qualification { entry, note } => ResponseBody {
            processing_result_status: "1",
            processing_result_code: note.map(|c| c.code),
            processing_result_message: note.map(|c| c.message),
            qualification_validity: Some(&entry.qualification_validity),
            result_list: (!entry.records.is_empty()).then(|| ResultList {
                records: entry
                    .records
                    .iter()
                    .map(|r| {
                        if !limit_consent && r.limit_application_certificate_related_info.is_some()
                        {
                            Cow::Owned(QualificationRecord {
                                limit_application_certificate_related_info: None,
                                ..r.clone()
                            })
                        } else {
                            Cow::Borrowed(r)
                        }
                    })
                    .collect(),
            }),
            ext_public_expense_info_list: (!entry.public_expenses.is_empty()).then_some(
                PublicExpenseList {
                    entries: &entry.public_expenses,
                },
            ),
        },
        Outcome::NotFound => ResponseBody {
            processing_result_status: "1",
            processing_result_code: None,
            processing_result_message: None,
            qualification_validity: Some("4"),
            result_list: None,
            ext_public_expense_info_list: None,
        },
        Outcome::Refused(code) => ResponseBody {
            processing_result_status: "2",
            processing_result_code: Some(code.code),
            processing_result_message: Some(code.message),
            qualification_validity: None,
            result_list: None,
            ext_public_expense_info_list: None,
        },
        Outcome::SystemError => ResponseBody {
            processing_result_status: "2",
            processing_result_code: None,
            processing_result_message: None,
            qualification_validity: None,
            result_list: None,
            ext_public_expense_info_list: None,
        },
    };
    let document = Document {
        xml_msg: XmlMsg {
            message_header: ResponseHeader {
                process_execution_time: process_time,
                qualification_confirmation_date: &header.date_text,
                medical_institution_code: &header.institution,
                arbitrary_file_identifier: header.file_id.as_deref(),
                reference_classification: match reference {
                    Reference::Card => "1",
                    Reference::Numbers => "2",
                },
                segment_of_result: segment,
                error_code: error.map(|c| c.code),
                error_message: error.map(|c| c.message),
                character_code_identifier: "0",
            },
            message_body: body,
        },
    };
    serde_json::to_vec(&document)
}

#[derive(Serialize)]
struct ErrorDocument<'a> {
    #[serde(rename = "Error")]
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody<'a> {
    code: &'static str,
    message: &'static str,
    detail: &'a str,
}

/// `{"Error": {"Code", "Message", "Detail"}}`.
pub(crate) fn error(code: Code, detail: &str) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&ErrorDocument {
        error: ErrorBody {
            code: code.code,
            message: code.message,
            detail,
        },
    })
}

#[derive(Serialize)]
struct ChallengeDocument<'a> {
    #[serde(rename = "ChallengeResponse")]
    response: ChallengeBody<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ChallengeBody<'a> {
    challenge_id: &'a str,
    challenge: &'a str,
    valid_until: &'a str,
}

/// `{"ChallengeResponse": {"ChallengeId", "Challenge", "ValidUntil"}}`.
pub(crate) fn challenge(
    id: &str,
    challenge_base64: &str,
    valid_until: &str,
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&ChallengeDocument {
        response: ChallengeBody {
            challenge_id: id,
            challenge: challenge_base64,
            valid_until,
        },
    })
}

/// `status` of a login answer: `"0"` logged in (unconfirmed: the real values are not public).
pub(crate) const LOGIN_OK: &str = "0";
/// `status` of a refused login: `"1"` (unconfirmed).
pub(crate) const LOGIN_REFUSED: &str = "1";

#[derive(Serialize)]
struct LoginDocument<'a> {
    status: &'a str,
    msg: &'a str,
    result: Option<LoginResult<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoginResult<'a> {
    access_token: &'a str,
    refresh_token: &'a str,
    id_token: &'a str,
    link_sys_char_cd: &'a str,
    /// Project extension: the token's lifetime in seconds, so a client need not guess.
    ext_expires_in: String,
}

/// `{"status": "0", "msg": "", "result": {"accessToken", "refreshToken", "idToken",
/// "linkSysCharCd", "extExpiresIn"}}`.
pub(crate) fn login(issued: &super::token::Issued) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&LoginDocument {
        status: LOGIN_OK,
        msg: "",
        result: Some(LoginResult {
            access_token: &issued.access_token,
            refresh_token: &issued.refresh_token,
            id_token: &issued.id_token,
            // Public code reads it without saying what it holds; the mock says "0", the value
            // `CharacterCodeIdentifier` uses for UTF-8 (unconfirmed).
            link_sys_char_cd: "0",
            // Whole seconds, rounded up: a TTL shortened to milliseconds by a test is "1".
            ext_expires_in: issued.lifetime.as_millis().div_ceil(1000).to_string(),
        }),
    })
}

/// `{"status": "1", "msg": "<Japanese>", "result": null}`.
pub(crate) fn login_refused(msg: &str) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&LoginDocument {
        status: LOGIN_REFUSED,
        msg,
        result: None,
    })
}
