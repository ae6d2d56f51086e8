//! Parsing and validating a qualification-confirmation request.
//!
//! The JSON is walked by hand rather than deserialised into structs so that every refusal
//! names the exact element (`XmlMsg/MessageHeader/QualificationConfirmationDate`), which is
//! what a client developer needs from a 400. Unknown elements are refused too: a client that
//! sends a misspelt element would otherwise be silently answered as if it were absent.

use base64::Engine;
use serde_json::{Map, Value};
use time::Date;

use crate::fixtures::{is_symbol_or_number, is_wire_insurer_number, NumbersQuery};

/// A refusal: the `Detail` of a 400 PH4000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest(pub String);

/// `MessageHeader` of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// `QualificationConfirmationDate` as sent.
    pub date_text: String,
    /// The same, parsed (a JST calendar date).
    pub date: Date,
    /// `MedicalInstitutionCode`.
    pub institution: String,
    /// `ArbitraryFileIdentifier`, echoed back.
    pub file_id: Option<String>,
}

/// 個別照会.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NumbersSearch {
    pub insurer_number: String,
    pub symbol: Option<String>,
    pub number: String,
    pub branch: Option<String>,
    pub birthdate: String,
}

impl NumbersSearch {
    pub(crate) fn query(&self) -> NumbersQuery<'_> {
        NumbersQuery {
            insurer_number: &self.insurer_number,
            insured_card_symbol: self.symbol.as_deref(),
            insured_identification_number: &self.number,
            insured_branch_number: self.branch.as_deref(),
            birthdate: &self.birthdate,
        }
    }
}

/// `ExtIdentityConfirmationMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// `"1"`: the card verified the PIN and signed the challenge.
    Pin,
    /// `"2"`: face recognition by a certified reader.
    Face,
    /// `"3"`: visual check by staff (目視確認).
    Visual,
}

/// Search by card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CardSearch {
    /// The user-auth certificate, DER.
    pub certificate: Vec<u8>,
    pub method: Method,
    /// PIN method: the challenge id, if sent (missing is PH4032, not 400).
    pub challenge_id: Option<String>,
    /// PIN method: the signature's base64 as sent (missing or undecodable is PH4031).
    pub signature_base64: Option<String>,
}

/// The two forms of `QualificationConfirmSearchInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Search {
    Numbers(NumbersSearch),
    Card(CardSearch),
}

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfirmationRequest {
    pub header: Header,
    pub search: Search,
    /// `LimitApplicationCertificateRelatedConsFlg` = `"1"`.
    pub limit_consent: bool,
}

const ROOT: &str = "XmlMsg";
const HEADER: &str = "XmlMsg/MessageHeader";
const BODY: &str = "XmlMsg/MessageBody";
const SEARCH: &str = "XmlMsg/MessageBody/QualificationConfirmSearchInfo";

const NUMBERS_ELEMENTS: [&str; 6] = [
    "InsurerNumber",
    "InsuredCardSymbol",
    "InsuredIdentificationNumber",
    "InsuredBranchNumber",
    "Birthdate",
    "LimitApplicationCertificateRelatedConsFlg",
];
const CARD_ELEMENTS: [&str; 5] = [
    "ExtUserAuthCertificate",
    "ExtIdentityConfirmationMethod",
    "ExtChallengeId",
    "ExtChallengeSignature",
    "LimitApplicationCertificateRelatedConsFlg",
];

/// Parses and validates the body of a qualification-confirmation request.
pub(crate) fn parse(body: &[u8]) -> Result<ConfirmationRequest, BadRequest> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| BadRequest(format!("body is not valid JSON: {e}")))?;
    let top = object(&value, "(document)")?;
    only(top, "(document)", &[ROOT])?;
    let root = object(member(top, "(document)", ROOT)?, ROOT)?;
    only(root, ROOT, &["MessageHeader", "MessageBody"])?;
    let header = parse_header(object(member(root, ROOT, "MessageHeader")?, HEADER)?)?;
    let body = object(member(root, ROOT, "MessageBody")?, BODY)?;
    only(body, BODY, &["QualificationConfirmSearchInfo"])?;
    let search = object(
        member(body, BODY, "QualificationConfirmSearchInfo")?,
        SEARCH,
    )?;

    let consent = match required(search, SEARCH, "LimitApplicationCertificateRelatedConsFlg")? {
        "0" => false,
        "1" => true,
        other => {
            return Err(bad(
                SEARCH,
                "LimitApplicationCertificateRelatedConsFlg",
                &format!("{other:?} is not \"0\" or \"1\""),
            ))
        }
    };
    let search = if search.contains_key("ExtUserAuthCertificate") {
        Search::Card(parse_card(search)?)
    } else {
        Search::Numbers(parse_numbers(search)?)
    };
    Ok(ConfirmationRequest {
        header,
        search,
        limit_consent: consent,
    })
}

fn parse_header(header: &Map<String, Value>) -> Result<Header, BadRequest> {
    only(
        header,
        HEADER,
        &[
            "QualificationConfirmationDate",
            "MedicalInstitutionCode",
            "ArbitraryFileIdentifier",
        ],
    )?;
    let date_text = required(header, HEADER, "QualificationConfirmationDate")?;
    let date = parse_date(date_text).ok_or_else(|| {
        bad(
            HEADER,
            "QualificationConfirmationDate",
            &format!("{date_text:?} is not a real date YYYYMMDD"),
        )
    })?;
    let institution = required(header, HEADER, "MedicalInstitutionCode")?;
    if institution.len() != 10 || !institution.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            HEADER,
            "MedicalInstitutionCode",
            &format!("{institution:?} is not 10 digits"),
        ));
    }
    let file_id = optional(header, HEADER, "ArbitraryFileIdentifier")?;
    if let Some(id) = file_id {
        if id.chars().count() > 100 || id.chars().any(char::is_control) {
            return Err(bad(
                HEADER,
                "ArbitraryFileIdentifier",
                "at most 100 characters, no control characters",
            ));
        }
    }
    Ok(Header {
        date_text: date_text.to_string(),
        date,
        institution: institution.to_string(),
        file_id: file_id.map(str::to_string),
    })
}

fn parse_numbers(search: &Map<String, Value>) -> Result<NumbersSearch, BadRequest> {
    if let Some(name) = search.keys().find(|k| k.starts_with("Ext")) {
        return Err(bad(
            SEARCH,
            name,
            "card-search element without ExtUserAuthCertificate",
        ));
    }
    only(search, SEARCH, &NUMBERS_ELEMENTS)?;
    let insurer_number = required(search, SEARCH, "InsurerNumber")?;
    if !is_wire_insurer_number(insurer_number, false) {
        return Err(bad(
            SEARCH,
            "InsurerNumber",
            &format!("{insurer_number:?} is not 8 digits or 2 spaces + 6 digits"),
        ));
    }
    let symbol = optional(search, SEARCH, "InsuredCardSymbol")?;
    let number = required(search, SEARCH, "InsuredIdentificationNumber")?;
    for (name, value) in [
        ("InsuredCardSymbol", symbol),
        ("InsuredIdentificationNumber", Some(number)),
    ] {
        if let Some(value) = value {
            if !is_symbol_or_number(value) {
                return Err(bad(
                    SEARCH,
                    name,
                    &format!("{value:?}: 1-38 characters without control characters"),
                ));
            }
        }
    }
    let branch = optional(search, SEARCH, "InsuredBranchNumber")?;
    if let Some(branch) = branch {
        if branch.len() != 2 || !branch.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                SEARCH,
                "InsuredBranchNumber",
                &format!("{branch:?} is not 2 digits"),
            ));
        }
    }
    let birthdate = required(search, SEARCH, "Birthdate")?;
    if parse_date(birthdate).is_none() {
        return Err(bad(
            SEARCH,
            "Birthdate",
            &format!("{birthdate:?} is not a real date YYYYMMDD"),
        ));
    }
    Ok(NumbersSearch {
        insurer_number: insurer_number.to_string(),
        symbol: symbol.map(str::to_string),
        number: number.to_string(),
        branch: branch.map(str::to_string),
        birthdate: birthdate.to_string(),
    })
}

fn parse_card(search: &Map<String, Value>) -> Result<CardSearch, BadRequest> {
    only(search, SEARCH, &CARD_ELEMENTS).map_err(|e| {
        match search.keys().find(|k| {
            NUMBERS_ELEMENTS.contains(&k.as_str())
                && k.as_str() != "LimitApplicationCertificateRelatedConsFlg"
        }) {
            Some(name) => bad(
                SEARCH,
                name,
                "a search by numbers element in a search by card",
            ),
            None => e,
        }
    })?;
    let certificate_b64 = required(search, SEARCH, "ExtUserAuthCertificate")?;
    let certificate = base64::engine::general_purpose::STANDARD
        .decode(certificate_b64)
        .map_err(|e| {
            bad(
                SEARCH,
                "ExtUserAuthCertificate",
                &format!("not base64: {e}"),
            )
        })?;
    if certificate.is_empty() {
        return Err(bad(SEARCH, "ExtUserAuthCertificate", "empty"));
    }
    let method = match required(search, SEARCH, "ExtIdentityConfirmationMethod")? {
        "1" => Method::Pin,
        "2" => Method::Face,
        "3" => Method::Visual,
        other => {
            return Err(bad(
                SEARCH,
                "ExtIdentityConfirmationMethod",
                &format!("{other:?} is not \"1\", \"2\" or \"3\""),
            ))
        }
    };
    let challenge_id = optional(search, SEARCH, "ExtChallengeId")?;
    let signature = optional(search, SEARCH, "ExtChallengeSignature")?;
    if method != Method::Pin {
        for (name, value) in [
            ("ExtChallengeId", challenge_id),
            ("ExtChallengeSignature", signature),
        ] {
            if value.is_some() {
                return Err(bad(
                    SEARCH,
                    name,
                    "only for ExtIdentityConfirmationMethod \"1\" (PIN)",
                ));
            }
        }
    }
    Ok(CardSearch {
        certificate,
        method,
        challenge_id: challenge_id.map(str::to_string),
        signature_base64: signature.map(str::to_string),
    })
}

/// A real calendar date written `YYYYMMDD`.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Date::parse(
        text,
        time::macros::format_description!("[year][month][day]"),
    )
    .ok()
}

fn bad(path: &str, element: &str, reason: &str) -> BadRequest {
    BadRequest(format!("{path}/{element}: {reason}"))
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, BadRequest> {
    value
        .as_object()
        .ok_or_else(|| BadRequest(format!("{path}: must be a JSON object")))
}

fn member<'a>(
    map: &'a Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<&'a Value, BadRequest> {
    map.get(name).ok_or_else(|| bad(path, name, "missing"))
}

/// Refuses elements not in `allowed`.
fn only(map: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), BadRequest> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(name) => Err(bad(path, name, "unknown element")),
        None => Ok(()),
    }
}

/// A string leaf that must be present and non-empty.
fn required<'a>(
    map: &'a Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<&'a str, BadRequest> {
    match optional(map, path, name)? {
        Some(value) => Ok(value),
        None => Err(bad(path, name, "missing")),
    }
}

/// A string leaf that may be absent. Every leaf is a string, as in the XML the JSON mirrors;
/// an empty string counts as absent, as an empty XML element would.
fn optional<'a>(
    map: &'a Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<Option<&'a str>, BadRequest> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(bad(
            path,
            name,
            &format!("must be a string, found {}", json_kind(other)),
        )),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
