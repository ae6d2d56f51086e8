//! The `XmlMsg` documents exchanged with the receipt computer, and their mapping to the
//! domain: a finished check → a result document; a request → a [`NumberSearch`].
//!
//! The element names are those of the national system's files as public receipt-computer
//! code reads them (and `docs/online-api.md`); the codes for what the national system does
//! not publish are the project's placeholders (`PH…`), listed with their messages in
//! `docs/receipt-computer.md`. The table of codes is [`ErrorResult`] and [`verdict_status`]:
//! one place.
//!
//! What a result never holds: the PIN, the card's certificate, a server's raw text (the
//! verdict's texts were made safe by `crate::online`, and quick-xml escapes every text).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::names::execution_time;
use super::xml::DocumentEncoding;
use crate::check::FinishedCheck;
use crate::domain::numbers::{parse_birth_date, RawInsuranceNumbers};
use crate::domain::public_expense::{PublicExpense, PublicExpenseSource};
use crate::domain::search::NumberSearch;
use crate::domain::verdict::{Qualification, Verdict, VerdictKind};
use crate::domain::{FacilityCode, InsuranceNumbers, Ratio};

// ---- Result documents --------------------------------------------------------------------

/// `XmlMsg` of a result (資格確認結果).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultMsg {
    pub message_header: ResultHeader,
    pub message_body: ResultBody,
}

/// `MessageHeader` of a result.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultHeader {
    /// `YYYYMMDDHHmmss`, Japan time.
    pub process_execution_time: String,
    /// `YYYYMMDD`: the visit date checked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualification_confirmation_date: Option<String>,
    pub medical_institution_code: String,
    pub arbitrary_file_identifier: String,
    /// `1` card, `2` numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_classification: Option<String>,
    /// `1` normal, `9` abnormal end.
    pub segment_of_result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// `1` Shift_JIS, `0` UTF-8.
    pub character_code_identifier: String,
}

/// `MessageBody` of a result.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultBody {
    /// `1` normal, `2` error.
    pub processing_result_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_result_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_result_message: Option<String>,
    /// `1` 有効 … `5` 複数該当.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualification_validity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_list: Option<ResultList>,
    /// **Project** element: the 公費 the answer carried (as `docs/online-api.md`, "公費
    /// (project)"), after the insurance; absent without 公費.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_public_expense_info_list: Option<PublicExpenseList>,
}

/// `ExtPublicExpenseInfoList` (project element): one `ExtPublicExpenseInfo` per 公費, in the
/// answer's order (the order of priority is the receipt computer's, by its own table).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicExpenseList {
    pub ext_public_expense_info: Vec<PublicExpenseRecord>,
}

/// `ExtPublicExpenseInfo` (project element names, the same as the online answer's, plus
/// where the entitlement was learnt).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicExpenseRecord {
    /// 公費負担者番号, 8 digits.
    pub ext_public_payer_number: String,
    /// 公費受給者番号, 7 digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_recipient_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_valid_start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_valid_end_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_income_category: Option<String>,
    /// 自己負担上限額 (月額), whole yen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_monthly_cap_yen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_scheme_name: Option<String>,
    /// `1` online (PMH-linked), `2` a paper 受給者証 typed in at the desk.
    pub ext_public_expense_source: String,
}

impl PublicExpenseRecord {
    /// Every field of `e`, in the files' forms.
    pub fn of(e: &PublicExpense) -> PublicExpenseRecord {
        PublicExpenseRecord {
            ext_public_payer_number: e.payer.as_str().to_owned(),
            ext_recipient_number: e.recipient.as_ref().map(|r| r.as_str().to_owned()),
            ext_valid_start_date: e.valid_from.map(ymd),
            ext_valid_end_date: e.valid_until.map(ymd),
            ext_income_category: e.income_category.clone(),
            ext_monthly_cap_yen: e.monthly_cap_yen.map(|y| y.to_string()),
            ext_scheme_name: e.name.clone(),
            ext_public_expense_source: match e.source {
                PublicExpenseSource::Online => "1",
                PublicExpenseSource::Paper => "2",
            }
            .to_owned(),
        }
    }
}

/// The list element for `expenses`, absent when there are none.
fn public_expense_list(expenses: &[PublicExpense]) -> Option<PublicExpenseList> {
    (!expenses.is_empty()).then(|| PublicExpenseList {
        ext_public_expense_info: expenses.iter().map(PublicExpenseRecord::of).collect(),
    })
}

/// `ResultList`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultList {
    pub result_of_qualification_confirmation: Vec<QualificationRecord>,
}

/// `ResultOfQualificationConfirmation`: one qualification, every field the domain knows.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QualificationRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insured_card_classification: Option<String>,
    /// 8 characters; a 6-digit 国保 number right-aligned with spaces, as the system writes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insurer_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insured_card_symbol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insured_identification_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insured_branch_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_family_classification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insured_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_kana: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualification_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disqualification_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_of_loss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insured_card_valid_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insured_card_expiration_date: Option<String>,
    /// 3-digit percent (`030` = 3割).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insured_partial_contribution_ratio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preschool_classification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insurer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elderly_recipient_certificate_info: Option<ElderlyRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_application_certificate_related_info: Option<LimitRecord>,
}

/// `ElderlyRecipientCertificateInfo` (高齢受給者; element names inside unconfirmed).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ElderlyRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elderly_recipient_valid_start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elderly_recipient_valid_end_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elderly_recipient_contribution_ratio: Option<String>,
}

/// `LimitApplicationCertificateRelatedInfo` (限度額; element names inside unconfirmed).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LimitRecord {
    pub limit_application_certificate_classification: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_application_certificate_valid_start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_application_certificate_valid_end_date: Option<String>,
}

/// `YYYYMMDD` (`domain::dates::compact`).
pub fn ymd(date: Date) -> String {
    crate::domain::dates::compact(date)
}

/// A ratio as the 3-digit percent of the files (`030` = 3割).
pub fn percent(ratio: Ratio) -> String {
    format!("{:03}", u16::from(ratio.tenths()) * 10)
}

impl QualificationRecord {
    /// Every field of `q`, in the files' forms.
    pub fn of(q: &Qualification) -> QualificationRecord {
        QualificationRecord {
            insured_card_classification: q.card_classification.clone(),
            insurer_number: q.insurer_number.as_ref().map(|n| n.wire()),
            insured_card_symbol: q.symbol.clone(),
            insured_identification_number: q.number.clone(),
            insured_branch_number: q.branch.clone(),
            personal_family_classification: q.personal_family.clone(),
            insured_name: q.insured_name.clone(),
            name: q.name.clone(),
            name_kana: q.name_kana.clone(),
            sex1: q.sex.clone(),
            birthdate: q.birthdate.map(ymd),
            address: q.address.clone(),
            post_number: q.post_number.clone(),
            qualification_date: q.qualification_date.map(ymd),
            disqualification_date: q.disqualification_date.map(ymd),
            reason_of_loss: q.reason_of_loss.clone(),
            insured_card_valid_date: q.card_valid_from.map(ymd),
            insured_card_expiration_date: q.card_expires.map(ymd),
            insured_partial_contribution_ratio: q.partial_contribution_ratio.map(percent),
            preschool_classification: q.preschool.clone(),
            insurer_name: q.insurer_name.clone(),
            reference_number: q.reference_number.clone(),
            elderly_recipient_certificate_info: q.elderly.as_ref().map(|e| ElderlyRecord {
                elderly_recipient_valid_start_date: e.valid_from.map(ymd),
                elderly_recipient_valid_end_date: e.valid_until.map(ymd),
                elderly_recipient_contribution_ratio: e.ratio.map(percent),
            }),
            limit_application_certificate_related_info: q.limit.as_ref().map(|l| LimitRecord {
                limit_application_certificate_classification: l.classification.clone(),
                limit_application_certificate_valid_start_date: l.valid_from.map(ymd),
                limit_application_certificate_valid_end_date: l.valid_until.map(ymd),
            }),
        }
    }
}

/// A result the receipt computer reads as an abnormal end (`SegmentOfResult` 9): the code and
/// the Japanese message it can show. Codes are the project's placeholders (`PH…`): the real
/// ones are not public.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorResult {
    /// The service answered with an error (PH9001, as the service's own placeholder).
    ServerError,
    /// The service could not be reached.
    Unreachable,
    /// No answer in time.
    Timeout,
    /// The service answered about somebody else (never believed).
    AnswerMismatch,
    /// The request file could not be read as an `XmlMsg` request.
    UnreadableRequest,
    /// A field of the request is missing or malformed (the message names it).
    BadField,
    /// A request by card (`ReferenceClassification` 1): card checks are made at the desk.
    CardRequest,
    /// The journal refused the check: nothing is answered that was not recorded.
    NotRecorded,
}

impl ErrorResult {
    /// The placeholder code.
    pub fn code(self) -> &'static str {
        match self {
            ErrorResult::ServerError => "PH9001",
            ErrorResult::Unreachable => "PH9501",
            ErrorResult::Timeout => "PH9502",
            ErrorResult::AnswerMismatch => "PH9503",
            ErrorResult::UnreadableRequest => "PH9601",
            ErrorResult::BadField => "PH9602",
            ErrorResult::CardRequest => "PH9603",
            ErrorResult::NotRecorded => "PH9604",
        }
    }

    /// The Japanese message (a [`ErrorResult::BadField`] result says which field instead).
    pub fn message(self) -> &'static str {
        match self {
            ErrorResult::ServerError => {
                "資格確認システムでエラーが発生しました。時間をおいて再照会してください。"
            }
            ErrorResult::Unreachable => {
                "資格確認システムに接続できません。時間をおいて再照会してください。"
            }
            ErrorResult::Timeout => {
                "資格確認システムから時間内に応答がありません。時間をおいて再照会してください。"
            }
            ErrorResult::AnswerMismatch => {
                "照会と異なる方の回答が返ったため、結果を使えません。システム管理者へ連絡してください。"
            }
            ErrorResult::UnreadableRequest => {
                "照会ファイルを読み取れません。ファイルの形式・文字コードを確認してください。"
            }
            ErrorResult::BadField => "照会ファイルの項目が正しくありません。",
            ErrorResult::CardRequest => {
                "マイナンバーカードによる照会は受付のカードリーダーで行ってください。"
            }
            ErrorResult::NotRecorded => {
                "受付記録を保存できませんでした。この照会は記録されていません。システム担当者に連絡してください。"
            }
        }
    }

    /// The error result of a verdict that is a system failure, `None` for any other.
    pub fn of_verdict(kind: VerdictKind) -> Option<ErrorResult> {
        match kind {
            VerdictKind::ServerError => Some(ErrorResult::ServerError),
            VerdictKind::Unreachable => Some(ErrorResult::Unreachable),
            VerdictKind::Timeout => Some(ErrorResult::Timeout),
            VerdictKind::AnswerMismatch => Some(ErrorResult::AnswerMismatch),
            _ => None,
        }
    }
}

/// What a result's body says for a verdict that is not a system failure: the
/// `ProcessingResultStatus`, the code and message (placeholders of `docs/online-api.md`) and
/// the `QualificationValidity`.
pub struct VerdictStatus {
    pub status: &'static str,
    pub code: Option<(&'static str, &'static str)>,
    pub validity: Option<u8>,
}

/// The one mapping of a verdict to a result body's status (see [`VerdictStatus`]).
pub fn verdict_status(verdict: &Verdict) -> VerdictStatus {
    let refused = |code, message| VerdictStatus {
        status: "2",
        code: Some((code, message)),
        validity: None,
    };
    let processed = |validity: u8| VerdictStatus {
        status: "1",
        code: None,
        validity: Some(verdict.validity.unwrap_or(validity)),
    };
    match verdict.kind {
        VerdictKind::Valid => {
            let mut s = processed(1);
            if verdict.note.as_ref().is_some_and(|n| n.code == "PH0102") {
                s.code = Some(("PH0102", "電子証明書の有効期限が3か月以内です。"));
            }
            s
        }
        VerdictKind::CertificateExpiredGrace => VerdictStatus {
            code: Some((
                "PH0101",
                "電子証明書の有効期限が切れています(猶予期間中)。資格情報のみ提供します。",
            )),
            ..processed(1)
        },
        VerdictKind::Invalid => processed(2),
        VerdictKind::InvalidNewExists => processed(3),
        VerdictKind::NoRecord => processed(4),
        VerdictKind::Several => processed(5),
        VerdictKind::NotRegistered => {
            refused("PH1001", "健康保険証としての利用登録がされていません。")
        }
        VerdictKind::RegistrationCancelled => {
            refused("PH1002", "健康保険証としての利用登録が解除されています。")
        }
        VerdictKind::CardReturned => {
            refused("PH1003", "このマイナンバーカードは返納されています。")
        }
        VerdictKind::CertificateRevoked => refused("PH1004", "電子証明書が失効しています。"),
        VerdictKind::CertificateExpired => refused(
            "PH1005",
            "電子証明書の有効期限が切れています。資格確認書等で確認してください。",
        ),
        // System failures are abnormal ends (`ErrorResult`), never a body status.
        VerdictKind::ServerError
        | VerdictKind::Unreachable
        | VerdictKind::Timeout
        | VerdictKind::AnswerMismatch => VerdictStatus {
            status: "2",
            code: None,
            validity: None,
        },
    }
}

/// What every result header shares: who answers, for which file, in which encoding.
#[derive(Clone, Debug)]
pub struct HeaderContext<'a> {
    pub facility: &'a FacilityCode,
    /// `ArbitraryFileIdentifier`: the request's id, or a `face` file's id.
    pub file_id: &'a str,
    pub encoding: DocumentEncoding,
}

fn header(
    ctx: &HeaderContext<'_>,
    at: OffsetDateTime,
    on: Option<Date>,
    by_card: Option<bool>,
    error: Option<(&str, String)>,
) -> ResultHeader {
    ResultHeader {
        process_execution_time: execution_time(at),
        qualification_confirmation_date: on.map(ymd),
        medical_institution_code: ctx.facility.as_str().to_owned(),
        arbitrary_file_identifier: ctx.file_id.to_owned(),
        reference_classification: by_card.map(|c| if c { "1" } else { "2" }.to_owned()),
        segment_of_result: if error.is_some() { "9" } else { "1" }.to_owned(),
        error_code: error.as_ref().map(|(c, _)| (*c).to_owned()),
        error_message: error.map(|(_, m)| m),
        character_code_identifier: ctx.encoding.character_code().to_owned(),
    }
}

fn error_body() -> ResultBody {
    ResultBody {
        processing_result_status: "2".into(),
        processing_result_code: None,
        processing_result_message: None,
        qualification_validity: None,
        result_list: None,
        ext_public_expense_info_list: None,
    }
}

/// The result document of a finished check. A system failure is an abnormal end
/// (`SegmentOfResult` 9) with its [`ErrorResult`]; any other verdict a normal end with the
/// body of [`verdict_status`] and one record per qualification.
pub fn result_of_check(check: &FinishedCheck<'_>, ctx: &HeaderContext<'_>) -> ResultMsg {
    let verdict = check.verdict;
    if let Some(error) = ErrorResult::of_verdict(verdict.kind) {
        return ResultMsg {
            message_header: header(
                ctx,
                check.at,
                Some(check.on),
                Some(check.by_card),
                Some((error.code(), error.message().to_owned())),
            ),
            message_body: error_body(),
        };
    }
    let status = verdict_status(verdict);
    let records: Vec<QualificationRecord> = verdict
        .qualifications
        .iter()
        .map(QualificationRecord::of)
        .collect();
    ResultMsg {
        message_header: header(ctx, check.at, Some(check.on), Some(check.by_card), None),
        message_body: body_of(status, records, &verdict.public_expenses),
    }
}

fn body_of(
    status: VerdictStatus,
    records: Vec<QualificationRecord>,
    expenses: &[PublicExpense],
) -> ResultBody {
    ResultBody {
        processing_result_status: status.status.to_owned(),
        processing_result_code: status.code.map(|(c, _)| c.to_owned()),
        processing_result_message: status.code.map(|(_, m)| m.to_owned()),
        qualification_validity: status.validity.map(|v| v.to_string()),
        result_list: (!records.is_empty()).then_some(ResultList {
            result_of_qualification_confirmation: records,
        }),
        ext_public_expense_info_list: public_expense_list(expenses),
    }
}

/// An abnormal-end result that answers a request without a check (an unreadable request, a
/// bad field, a card request, a journal that refused): `message` is Japanese.
pub fn error_result(
    ctx: &HeaderContext<'_>,
    at: OffsetDateTime,
    on: Option<Date>,
    error: ErrorResult,
    message: Option<String>,
) -> ResultMsg {
    let message = message.unwrap_or_else(|| error.message().to_owned());
    ResultMsg {
        message_header: header(ctx, at, on, None, Some((error.code(), message))),
        message_body: error_body(),
    }
}

// ---- Batch results ------------------------------------------------------------------------

/// `XmlMsg` of a batch result (一括照会結果), answered in one step (the project's choice:
/// the real system accepts with 01 and returns a `ReceptionNumber`, results come with 02).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BulkResultMsg {
    pub message_header: BulkHeader,
    pub message_body: BulkBody,
}

/// `MessageHeader` of a batch result: a result header plus the counts.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BulkHeader {
    #[serde(flatten)]
    pub common: ResultHeader,
    /// 受付番号: the request's id (one step, nothing to fetch later).
    pub reception_number: String,
    pub number_of_processing_result: String,
    pub number_of_normal_processing: String,
    pub number_of_error: String,
}

/// `MessageBody` of a batch result.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BulkBody {
    pub bulk_confirm_unit: Vec<BulkUnit>,
}

/// `BulkConfirmUnit`: one patient of the batch, in request order.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BulkUnit {
    /// What was asked, echoed so the receipt computer matches the unit to its patient.
    pub qualification_confirm_search_info: SearchInfo,
    pub processing_result_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_result_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_result_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualification_validity: Option<String>,
    #[serde(default)]
    pub result_of_qualification_confirmation: Vec<QualificationRecord>,
    /// **Project** element, as in a single result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_public_expense_info_list: Option<PublicExpenseList>,
}

impl BulkUnit {
    /// The unit of a patient whose check finished with `verdict` (a system failure is an
    /// error unit with its code).
    pub fn of_verdict(asked: SearchInfo, verdict: &Verdict) -> BulkUnit {
        if let Some(error) = ErrorResult::of_verdict(verdict.kind) {
            return BulkUnit::error(asked, error, None);
        }
        let body = body_of(
            verdict_status(verdict),
            verdict
                .qualifications
                .iter()
                .map(QualificationRecord::of)
                .collect(),
            &verdict.public_expenses,
        );
        BulkUnit {
            qualification_confirm_search_info: asked,
            processing_result_status: body.processing_result_status,
            processing_result_code: body.processing_result_code,
            processing_result_message: body.processing_result_message,
            qualification_validity: body.qualification_validity,
            result_of_qualification_confirmation: body
                .result_list
                .map(|l| l.result_of_qualification_confirmation)
                .unwrap_or_default(),
            ext_public_expense_info_list: body.ext_public_expense_info_list,
        }
    }

    /// An error unit (`ProcessingResultStatus` 2 with the code and message).
    pub fn error(asked: SearchInfo, error: ErrorResult, message: Option<String>) -> BulkUnit {
        BulkUnit {
            qualification_confirm_search_info: asked,
            processing_result_status: "2".into(),
            processing_result_code: Some(error.code().into()),
            processing_result_message: Some(message.unwrap_or_else(|| error.message().into())),
            qualification_validity: None,
            result_of_qualification_confirmation: Vec::new(),
            ext_public_expense_info_list: None,
        }
    }

    /// Whether the unit is an error (counted in `NumberOfError`).
    pub fn is_error(&self) -> bool {
        self.processing_result_status != "1"
    }
}

/// The batch result for `units` (in request order), with the header counts.
pub fn bulk_result(
    ctx: &HeaderContext<'_>,
    at: OffsetDateTime,
    units: Vec<BulkUnit>,
) -> BulkResultMsg {
    let errors = units.iter().filter(|u| u.is_error()).count();
    BulkResultMsg {
        message_header: BulkHeader {
            common: header(ctx, at, None, Some(false), None),
            reception_number: ctx.file_id.to_owned(),
            number_of_processing_result: units.len().to_string(),
            number_of_normal_processing: (units.len() - errors).to_string(),
            number_of_error: errors.to_string(),
        },
        message_body: BulkBody {
            bulk_confirm_unit: units,
        },
    }
}

// ---- Requests -----------------------------------------------------------------------------

/// `XmlMsg` of a request, as read (every element optional: a missing one is a fact to
/// answer, not a reason to fail).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RequestMsg {
    pub message_header: RequestHeader,
    pub message_body: RequestBody,
}

/// `MessageHeader` of a request.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RequestHeader {
    pub qualification_confirmation_date: Option<String>,
    pub medical_institution_code: Option<String>,
    pub arbitrary_file_identifier: Option<String>,
    /// `1` card, `2` numbers.
    pub reference_classification: Option<String>,
    pub character_code_identifier: Option<String>,
}

/// `MessageBody` of a request: one `QualificationConfirmSearchInfo`, several in a batch.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RequestBody {
    pub qualification_confirm_search_info: Vec<SearchInfo>,
}

/// `QualificationConfirmSearchInfo` (照会条件), read from a request and echoed in a batch
/// result.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_application_certificate_related_cons_flg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arbitrary_identifier: Option<String>,
}

/// The longest text echoed back from a request field (a real one is under 40 characters).
const MAX_ECHO_CHARS: usize = 40;

impl SearchInfo {
    /// The request's fields cut to a plausible length, for echoing in a result.
    pub fn echoed(&self) -> SearchInfo {
        let cut = |v: &Option<String>| -> Option<String> {
            v.as_ref().map(|s| {
                s.chars()
                    .filter(|c| !crate::domain::text::is_unsafe_char(*c))
                    .take(MAX_ECHO_CHARS)
                    .collect()
            })
        };
        SearchInfo {
            insurer_number: cut(&self.insurer_number),
            insured_card_symbol: cut(&self.insured_card_symbol),
            insured_identification_number: cut(&self.insured_identification_number),
            insured_branch_number: cut(&self.insured_branch_number),
            birthdate: cut(&self.birthdate),
            limit_application_certificate_related_cons_flg: cut(
                &self.limit_application_certificate_related_cons_flg
            ),
            arbitrary_identifier: cut(&self.arbitrary_identifier),
        }
    }
}

/// Why a request's search cannot be asked: the Japanese message names every bad field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// Japanese, for the receipt computer.
    pub message: String,
    /// Precise English, for the log (field names, never values).
    pub detail: String,
}

/// Reads a search by numbers with the domain's parsers (full-width digits, 和暦 or 西暦 dates,
/// the 保険者番号 check digit). Every problem is named at once.
pub fn parse_search(info: &SearchInfo, today: Date) -> Result<NumberSearch, FieldProblem> {
    let mut messages: Vec<String> = Vec::new();
    let mut fields: Vec<&'static str> = Vec::new();
    let numbers = InsuranceNumbers::parse(RawInsuranceNumbers {
        insurer_number: info.insurer_number.as_deref(),
        symbol: info.insured_card_symbol.as_deref(),
        number: info.insured_identification_number.as_deref(),
        branch: info.insured_branch_number.as_deref(),
    })
    .map_err(|errors| {
        for e in errors {
            fields.push(e.field.key());
            messages.push(e.message);
        }
    })
    .ok();
    let birthdate = match info.birthdate.as_deref().map(str::trim) {
        None | Some("") => {
            fields.push("birthdate");
            messages.push("生年月日がありません。".into());
            None
        }
        Some(text) => match parse_birth_date(text, today) {
            Ok(d) => Some(d),
            Err(e) => {
                fields.push("birthdate");
                messages.push(format!("生年月日の形式が正しくありません({})。", e.message));
                None
            }
        },
    };
    let consent = match info
        .limit_application_certificate_related_cons_flg
        .as_deref()
        .map(str::trim)
    {
        None | Some("") | Some("0") => Some(false),
        Some("1") => Some(true),
        Some(_) => {
            fields.push("limit_consent");
            messages.push("限度額情報提供の同意フラグは0か1です。".into());
            None
        }
    };
    match (numbers, birthdate, consent) {
        (Some(n), Some(birthdate), Some(limit_consent)) if messages.is_empty() => {
            Ok(NumberSearch {
                insurer: n.insurer_number,
                symbol: n.symbol,
                number: n.number,
                branch: n.branch,
                birthdate,
                limit_consent,
            })
        }
        _ => Err(FieldProblem {
            message: messages.join(""),
            detail: format!("invalid request fields: {}", fields.join(", ")),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::verdict::{ElderlyInfo, LimitInfo, NextStep};
    use crate::domain::InsurerNumber;
    use crate::journal::CheckId;
    use time::macros::{date, datetime};

    const TODAY: Date = date!(2026 - 12 - 03);

    fn info(insurer: &str, number: &str, birth: &str) -> SearchInfo {
        SearchInfo {
            insurer_number: Some(insurer.into()),
            insured_identification_number: Some(number.into()),
            birthdate: Some(birth.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_request_is_read_with_the_domain_parsers() {
        let mut i = info("０１１３００１２", "１０２４", "19800401");
        i.insured_branch_number = Some("0".into());
        i.limit_application_certificate_related_cons_flg = Some("1".into());
        let s = parse_search(&i, TODAY).expect("search");
        assert_eq!(s.insurer.as_str(), "01130012");
        assert_eq!(s.number, "1024");
        assert_eq!(s.branch.as_deref(), Some("00"));
        assert_eq!(s.birthdate, date!(1980 - 04 - 01));
        assert!(s.limit_consent);
        // A 6-digit 国保 number padded with spaces on the wire.
        assert!(parse_search(&info("  138057", "1", "S55.4.1"), TODAY).is_ok());
    }

    #[test]
    fn bad_fields_are_all_named_in_japanese() {
        let p = parse_search(&info("01130013", "", "1980-13-40"), TODAY).expect_err("bad");
        assert!(p.message.contains("検証番号"), "{}", p.message);
        assert!(p.message.contains("番号を入力"), "{}", p.message);
        assert!(
            p.message.contains("生年月日の形式が正しくありません"),
            "{}",
            p.message
        );
        assert!(p.detail.contains("insurer_number") && p.detail.contains("birthdate"));
        let mut i = info("01130012", "1", "19800401");
        i.limit_application_certificate_related_cons_flg = Some("2".into());
        assert!(parse_search(&i, TODAY).is_err());
    }

    #[test]
    fn every_field_of_a_qualification_is_written() {
        let q = Qualification {
            card_classification: Some("01".into()),
            insurer_number: InsurerNumber::from_wire("  138057"),
            symbol: Some("世01".into()),
            number: Some("123456".into()),
            branch: Some("01".into()),
            personal_family: Some("1".into()),
            insured_name: Some("林 陽介".into()),
            name: Some("林 陽介".into()),
            name_kana: Some("ﾊﾔｼ ﾖｳｽｹ".into()),
            sex: Some("1".into()),
            birthdate: Some(date!(1950 - 06 - 20)),
            address: Some("東京都".into()),
            post_number: Some("154-0001".into()),
            qualification_date: Some(date!(2010 - 04 - 01)),
            disqualification_date: Some(date!(2026 - 09 - 30)),
            reason_of_loss: Some("03".into()),
            card_valid_from: Some(date!(2010 - 04 - 01)),
            card_expires: Some(date!(2027 - 07 - 31)),
            partial_contribution_ratio: Some(Ratio::ONE),
            elderly: Some(ElderlyInfo {
                ratio: Some(Ratio::TWO),
                valid_from: Some(date!(2026 - 08 - 01)),
                valid_until: None,
            }),
            limit: Some(LimitInfo {
                classification: "A03".into(),
                valid_from: None,
                valid_until: Some(date!(2027 - 07 - 31)),
            }),
            preschool: Some("1".into()),
            reference_number: Some("0000123".into()),
            insurer_name: Some("世田谷区".into()),
        };
        let r = QualificationRecord::of(&q);
        assert_eq!(r.insurer_number.as_deref(), Some("  138057"));
        assert_eq!(r.birthdate.as_deref(), Some("19500620"));
        assert_eq!(r.insured_partial_contribution_ratio.as_deref(), Some("010"));
        let e = r
            .elderly_recipient_certificate_info
            .as_ref()
            .expect("elderly");
        assert_eq!(
            e.elderly_recipient_contribution_ratio.as_deref(),
            Some("020")
        );
        let json = serde_json::to_value(&r).expect("json");
        let written = json.as_object().map(|o| o.len()).unwrap_or_default();
        assert_eq!(written, 24, "every field of Qualification: {json}");
    }

    #[test]
    fn a_system_failure_is_an_abnormal_end_with_a_japanese_message() {
        let facility = FacilityCode::parse("1312345678").expect("code");
        let ctx = HeaderContext {
            facility: &facility,
            file_id: "0001",
            encoding: DocumentEncoding::ShiftJis,
        };
        let verdict = Verdict::bare(VerdictKind::Unreachable, NextStep::RetryOrDocuments);
        let check = FinishedCheck {
            id: CheckId(1),
            by_card: false,
            on: TODAY,
            at: datetime!(2026-12-03 01:00:00 UTC),
            verdict: &verdict,
        };
        let r = result_of_check(&check, &ctx);
        assert_eq!(r.message_header.segment_of_result, "9");
        assert_eq!(r.message_header.error_code.as_deref(), Some("PH9501"));
        assert_eq!(
            r.message_header.error_message.as_deref(),
            Some("資格確認システムに接続できません。時間をおいて再照会してください。")
        );
        assert_eq!(r.message_header.process_execution_time, "20261203100000");
        assert_eq!(r.message_header.character_code_identifier, "1");
        for kind in VerdictKind::ALL {
            let v = Verdict::bare(kind, NextStep::RetryOrDocuments);
            let check = FinishedCheck {
                verdict: &v,
                ..check
            };
            let r = result_of_check(&check, &ctx);
            let abnormal = r.message_header.segment_of_result == "9";
            assert_eq!(abnormal, kind.is_system_failure(), "{kind:?}");
            let coded = r.message_header.error_code.is_some()
                || r.message_body.processing_result_code.is_some()
                || r.message_body.qualification_validity.is_some();
            assert!(coded, "{kind:?} says what happened");
        }
        // Card refusals and notes carry the service's placeholder codes.
        for (kind, code) in [
            (VerdictKind::NotRegistered, "PH1001"),
            (VerdictKind::RegistrationCancelled, "PH1002"),
            (VerdictKind::CardReturned, "PH1003"),
            (VerdictKind::CertificateRevoked, "PH1004"),
            (VerdictKind::CertificateExpired, "PH1005"),
            (VerdictKind::CertificateExpiredGrace, "PH0101"),
        ] {
            let v = Verdict::bare(kind, NextStep::ConfirmByDocuments);
            let r = result_of_check(
                &FinishedCheck {
                    verdict: &v,
                    ..check
                },
                &ctx,
            );
            assert_eq!(r.message_body.processing_result_code.as_deref(), Some(code));
            assert!(r.message_body.processing_result_message.is_some());
        }
        for (kind, code) in [
            (VerdictKind::ServerError, "PH9001"),
            (VerdictKind::Timeout, "PH9502"),
            (VerdictKind::AnswerMismatch, "PH9503"),
        ] {
            let v = Verdict::bare(kind, NextStep::RetryOrDocuments);
            let r = result_of_check(
                &FinishedCheck {
                    verdict: &v,
                    ..check
                },
                &ctx,
            );
            assert_eq!(r.message_header.error_code.as_deref(), Some(code));
        }
    }

    #[test]
    fn public_expenses_are_written_after_the_insurance_and_read_back_in_shift_jis() {
        use super::super::xml::{decode, write_document, ReadLimits};
        use crate::domain::numbers::{PublicPayerNumber, RecipientNumber};
        let facility = FacilityCode::parse("1312345678").expect("code");
        let ctx = HeaderContext {
            facility: &facility,
            file_id: "0001",
            encoding: DocumentEncoding::ShiftJis,
        };
        let mut verdict = Verdict::bare(VerdictKind::Valid, NextStep::ClaimNormally);
        verdict.validity = Some(1);
        verdict.qualifications = vec![Qualification {
            insurer_number: InsurerNumber::from_wire("06230155"),
            number: Some("8812".into()),
            name: Some("森 真理子".into()),
            birthdate: Some(date!(1975 - 09 - 09)),
            ..Default::default()
        }];
        verdict.public_expenses = vec![
            PublicExpense {
                payer: PublicPayerNumber::parse("54130018").expect("payer"),
                recipient: RecipientNumber::parse("3456788").ok(),
                valid_from: Some(date!(2026 - 07 - 01)),
                valid_until: Some(date!(2027 - 06 - 30)),
                income_category: Some("一般所得Ⅰ".into()),
                monthly_cap_yen: Some(10_000),
                name: Some("難病法 特定医療費".into()),
                source: PublicExpenseSource::Online,
            },
            PublicExpense {
                payer: PublicPayerNumber::parse("12130019").expect("payer"),
                recipient: None,
                valid_from: None,
                valid_until: None,
                income_category: None,
                monthly_cap_yen: None,
                name: None,
                source: PublicExpenseSource::Paper,
            },
        ];
        let check = FinishedCheck {
            id: CheckId(1),
            by_card: false,
            on: TODAY,
            at: datetime!(2026-12-03 01:00:00 UTC),
            verdict: &verdict,
        };
        let written = write_document(&result_of_check(&check, &ctx), DocumentEncoding::ShiftJis)
            .expect("written");
        assert!(written.replaced.is_empty(), "{:?}", written.replaced);
        let (text, encoding) = decode(&written.bytes, &ReadLimits::default()).expect("decoded");
        assert_eq!(encoding, DocumentEncoding::ShiftJis);
        for element in [
            "<ExtPublicPayerNumber>54130018</ExtPublicPayerNumber>",
            "<ExtRecipientNumber>3456788</ExtRecipientNumber>",
            "<ExtValidStartDate>20260701</ExtValidStartDate>",
            "<ExtValidEndDate>20270630</ExtValidEndDate>",
            "<ExtIncomeCategory>一般所得Ⅰ</ExtIncomeCategory>",
            "<ExtMonthlyCapYen>10000</ExtMonthlyCapYen>",
            "<ExtSchemeName>難病法 特定医療費</ExtSchemeName>",
            "<ExtPublicExpenseSource>1</ExtPublicExpenseSource>",
            "<ExtPublicPayerNumber>12130019</ExtPublicPayerNumber>",
            "<ExtPublicExpenseSource>2</ExtPublicExpenseSource>",
        ] {
            assert!(text.contains(element), "{element} missing:\n{text}");
        }
        assert_eq!(text.matches("<ExtPublicExpenseInfo>").count(), 2, "{text}");
        let list = text.find("<ExtPublicExpenseInfoList>").expect("list");
        assert!(
            text.find("</ResultList>").is_some_and(|end| end < list),
            "{text}"
        );
        assert!(list < text.find("</MessageBody>").unwrap_or(0), "{text}");

        // The batch unit carries them too; without 公費 neither has the element.
        let unit = BulkUnit::of_verdict(SearchInfo::default(), &verdict);
        assert_eq!(
            unit.ext_public_expense_info_list
                .map(|l| l.ext_public_expense_info.len()),
            Some(2)
        );
        let mut without = verdict.clone();
        without.public_expenses.clear();
        let r = result_of_check(
            &FinishedCheck {
                verdict: &without,
                ..check
            },
            &ctx,
        );
        assert!(r.message_body.ext_public_expense_info_list.is_none());
    }
}
