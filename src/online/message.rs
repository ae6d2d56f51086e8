//! The `XmlMsg` tree in its JSON mirror (docs/online-api.md), as serde types.
//!
//! Field names follow the real system's element names (PascalCase on the wire). Everything the
//! server sends is optional here: a missing element is a fact to interpret, not a reason for
//! the desk to fail to parse (and a lying server must not crash it).

use serde::{Deserialize, Serialize};

/// The request envelope (named apart from the card layer's and the app's requests).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestEnvelope {
    pub xml_msg: RequestMsg,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestMsg {
    pub message_header: RequestHeader,
    pub message_body: RequestBody,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestHeader {
    pub qualification_confirmation_date: String,
    pub medical_institution_code: String,
    pub arbitrary_file_identifier: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestBody {
    pub qualification_confirm_search_info: SearchInfo,
}

/// `QualificationConfirmSearchInfo`: by numbers, or by card (the `Ext…` project extension).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insurer_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insured_card_symbol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insured_identification_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insured_branch_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    pub limit_application_certificate_related_cons_flg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_user_auth_certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_identity_confirmation_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_challenge_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_challenge_signature: Option<String>,
}

/// The response envelope (named apart from the card layer's APDU response).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResponseEnvelope {
    pub xml_msg: ResponseMsg,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResponseMsg {
    pub message_header: ResponseHeader,
    #[serde(default)]
    pub message_body: Option<ResponseBody>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResponseHeader {
    pub process_execution_time: Option<String>,
    pub qualification_confirmation_date: Option<String>,
    pub medical_institution_code: Option<String>,
    pub arbitrary_file_identifier: Option<String>,
    pub reference_classification: Option<String>,
    pub segment_of_result: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub character_code_identifier: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResponseBody {
    pub processing_result_status: Option<String>,
    pub processing_result_code: Option<String>,
    pub processing_result_message: Option<String>,
    pub qualification_validity: Option<String>,
    pub result_list: Option<ResultList>,
    /// **Project** element (docs/online-api.md, "公費 (project)"): the person's 公費 next to
    /// the insurance. Kept as JSON here and read entry by entry in `interpret` (bounded in
    /// count and lengths), so that one malformed entry is dropped on its own instead of
    /// making the whole answer unreadable.
    pub ext_public_expense_info_list: Option<serde_json::Value>,
}

/// `ExtPublicExpenseInfoList` (project element). The entries stay JSON until each is read
/// on its own ([`PublicExpenseRecord`]).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PublicExpenseList {
    pub ext_public_expense_info: OneOrMany<serde_json::Value>,
}

/// `ExtPublicExpenseInfo`: one 受給者証 (project element names; every leaf a string).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PublicExpenseRecord {
    pub ext_public_payer_number: Option<String>,
    pub ext_recipient_number: Option<String>,
    pub ext_valid_start_date: Option<String>,
    pub ext_valid_end_date: Option<String>,
    pub ext_income_category: Option<String>,
    pub ext_monthly_cap_yen: Option<String>,
    pub ext_scheme_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResultList {
    pub result_of_qualification_confirmation: OneOrMany<ResultRecord>,
}

/// An XML-to-JSON mirror writes a single repeated element as an object, several as an array:
/// accept both.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    Many(Vec<T>),
    One(Box<T>),
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::Many(v) => v,
            OneOrMany::One(t) => vec![*t],
        }
    }
}

/// `ResultOfQualificationConfirmation`
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResultRecord {
    pub insured_card_classification: Option<String>,
    pub insurer_number: Option<String>,
    pub insured_card_symbol: Option<String>,
    pub insured_identification_number: Option<String>,
    pub insured_branch_number: Option<String>,
    pub personal_family_classification: Option<String>,
    pub insured_name: Option<String>,
    pub name: Option<String>,
    pub name_kana: Option<String>,
    pub sex1: Option<String>,
    pub birthdate: Option<String>,
    pub address: Option<String>,
    pub post_number: Option<String>,
    pub qualification_date: Option<String>,
    pub disqualification_date: Option<String>,
    pub reason_of_loss: Option<String>,
    pub insured_card_valid_date: Option<String>,
    pub insured_card_expiration_date: Option<String>,
    pub insured_partial_contribution_ratio: Option<String>,
    pub preschool_classification: Option<String>,
    pub insurer_name: Option<String>,
    pub reference_number: Option<String>,
    pub elderly_recipient_certificate_info: Option<ElderlyRecord>,
    pub limit_application_certificate_related_info: Option<LimitRecord>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ElderlyRecord {
    pub elderly_recipient_valid_start_date: Option<String>,
    pub elderly_recipient_valid_end_date: Option<String>,
    pub elderly_recipient_contribution_ratio: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LimitRecord {
    pub limit_application_certificate_classification: Option<String>,
    pub limit_application_certificate_valid_start_date: Option<String>,
    pub limit_application_certificate_valid_end_date: Option<String>,
}

/// The challenge the PIN method signs (project extension).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChallengeEnvelope {
    pub challenge_response: ChallengeResponse,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChallengeResponse {
    pub challenge_id: String,
    /// base64 of the challenge bytes.
    pub challenge: String,
    #[serde(default)]
    pub valid_until: Option<String>,
}

/// A 4xx error body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    pub detail: Option<String>,
}

/// The login's body (project extension: the facility certificate of the connection is the
/// credential; the body only names the desk in the service's log).
#[derive(Debug, Serialize)]
pub struct LoginRequest {
    #[serde(rename = "ExtDeskId")]
    pub desk_id: String,
}

/// The login's answer, field names as public code of the real web API reads them:
/// `{"status", "msg", "result": {"accessToken", "refreshToken", "idToken", "linkSysCharCd"}}`;
/// `extExpiresIn` (seconds, a string) is the project's own. Only what the desk uses is kept:
/// the access and refresh tokens are never read into memory.
#[derive(Deserialize)]
pub struct LoginEnvelope {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub msg: Option<String>,
    #[serde(default)]
    pub result: Option<LoginResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginResult {
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub ext_expires_in: Option<String>,
}

// Hand-written so a token can never reach a log line through `{:?}`.
impl std::fmt::Debug for LoginEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginEnvelope")
            .field("status", &self.status)
            .field("msg", &self.msg)
            .field(
                "result",
                &self.result.as_ref().map(|r| {
                    (
                        r.id_token.as_ref().map(|_| "<redacted>"),
                        r.ext_expires_in.as_deref(),
                    )
                }),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_use_the_real_element_names() {
        let r = RequestEnvelope {
            xml_msg: RequestMsg {
                message_header: RequestHeader {
                    qualification_confirmation_date: "20261121".into(),
                    medical_institution_code: "1312345678".into(),
                    arbitrary_file_identifier: "x-1".into(),
                },
                message_body: RequestBody {
                    qualification_confirm_search_info: SearchInfo {
                        insurer_number: Some("  138057".into()),
                        limit_application_certificate_related_cons_flg: "1".into(),
                        ..Default::default()
                    },
                },
            },
        };
        let json = serde_json::to_string(&r).expect("serialises");
        for name in [
            "\"XmlMsg\"",
            "\"MessageHeader\"",
            "\"QualificationConfirmationDate\"",
            "\"MedicalInstitutionCode\"",
            "\"ArbitraryFileIdentifier\"",
            "\"QualificationConfirmSearchInfo\"",
            "\"InsurerNumber\":\"  138057\"",
            "\"LimitApplicationCertificateRelatedConsFlg\":\"1\"",
        ] {
            assert!(json.contains(name), "{name} missing in {json}");
        }
        assert!(
            !json.contains("ExtUserAuthCertificate"),
            "absent elements are omitted"
        );
    }

    #[test]
    fn a_single_result_as_an_object_or_an_array_both_parse() {
        let one = r#"{"ResultOfQualificationConfirmation": {"Name": "山田"}}"#;
        let many = r#"{"ResultOfQualificationConfirmation": [{"Name": "山田"}, {"Name": "田中"}]}"#;
        let one: ResultList = serde_json::from_str(one).expect("object");
        let many: ResultList = serde_json::from_str(many).expect("array");
        assert_eq!(one.result_of_qualification_confirmation.into_vec().len(), 1);
        assert_eq!(
            many.result_of_qualification_confirmation.into_vec().len(),
            2
        );
    }

    #[test]
    fn sex1_and_kana_map() {
        let r: ResultRecord =
            serde_json::from_str(r#"{"Sex1": "2", "NameKana": "ﾔﾏﾀﾞ ﾊﾅｺ"}"#).expect("ok");
        assert_eq!(r.sex1.as_deref(), Some("2"));
        assert_eq!(r.name_kana.as_deref(), Some("ﾔﾏﾀﾞ ﾊﾅｺ"));
    }
}
