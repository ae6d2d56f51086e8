//! The mock server's data set: the insured persons it knows and what it answers about them.
//!
//! The real system maps a card's user-authentication certificate, or the numbers a facility
//! types in (個別照会), to qualifications held by insurers. The mock keeps that mapping in one
//! TOML file so that a test, the demo and a developer with `curl` all see the same people.
//! Records use the element names of the wire contract (`docs/online-api.md`) verbatim, so a
//! fixture reads like the response it produces.
//!
//! # File format
//!
//! ```toml
//! [[insured]]
//! id = "valid"                        # unique label (the persona id where there is one)
//! description = "有効 協会けんぽ 本人"  # free text
//! serials = ["0705D990"]              # user-auth certificate serials, upper-case hex, no
//!                                     # DER sign byte (`85ABCDEF`, not `0085ABCDEF`)
//! card_status = "registered"          # card searches only: registered (default) |
//!                                     # registration-cancelled (PH1002) | card-returned (PH1003)
//!                                     # | revoked (PH1004)
//! system_error = false                # true: every search finding this entry ends abnormally
//!                                     # (SegmentOfResult 9, PH9001)
//! QualificationValidity = "1"         # 1 有効 … 5 複数該当
//! fault = { delay_ms = 3000 }         # optional, see `Faults`
//!
//! [[insured.numbers]]                 # 個別照会 keys that find this entry (any number of them)
//! InsurerNumber = "01130012"          # 8 characters, 国保 `"  138057"`
//! InsuredCardSymbol = "5012345"       # omit when the person has none (後期高齢者)
//! InsuredIdentificationNumber = "1024"
//! InsuredBranchNumber = "00"          # optional: omitted here = any branch matches
//! Birthdate = "19800401"              # optional: omitted here = any birth date matches
//!
//! [[insured.ResultOfQualificationConfirmation]]   # one per qualification, none for 4
//! InsurerNumber = "01130012"
//! # … every element of the contract, all strings …
//! [insured.ResultOfQualificationConfirmation.LimitApplicationCertificateRelatedInfo]
//! LimitApplicationCertificateClassification = "A03"
//! ```
//!
//! A card whose serial is in no entry is 利用登録なし (PH1001); numbers found in no entry give
//! 該当資格なし (4). Unknown keys are rejected so a typo cannot silently change an answer.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The data set shipped with the mock (`mock-server/fixtures/default.toml`), built in so that
/// an embedding program (the desk's demo mode) needs no file.
pub const DEFAULT_FIXTURES: &str = include_str!("../fixtures/default.toml");

/// Errors while reading or validating fixtures.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file could not be read.
    #[error("fixtures {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML of the fixture shape (missing key, wrong type, unknown key).
    #[error("fixtures are malformed: {0}")]
    Toml(#[from] toml::de::Error),
    /// A value the contract does not allow.
    #[error("fixture entry `{entry}`, `{field}`: {reason}")]
    Invalid {
        /// The entry's id (or its index when the id itself is the problem).
        entry: String,
        /// The offending key.
        field: String,
        /// Why it is refused.
        reason: String,
    },
    /// Wraps the above with the file it came from.
    #[error("fixtures {path}: {source}")]
    InFile {
        /// The file that failed.
        path: PathBuf,
        /// The underlying problem.
        #[source]
        source: Box<FixtureError>,
    },
}

/// Misbehaviour the server adds to an answer, to exercise the client's error handling.
///
/// Given globally (every request) and per fixture entry (requests that find the entry); the two
/// combine: delays add up, the entry's status wins over the global one, flags are or-ed. They
/// apply in this order: delay, then drop, then status, then the body faults (wrong file id,
/// malformed, truncated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Milliseconds to wait before answering.
    #[serde(default)]
    pub delay_ms: u64,
    /// Answer with this HTTP status (400–599) and a plain-text body instead of the real answer.
    #[serde(default)]
    pub status: Option<u16>,
    /// Answer 200 with the real JSON cut off halfway (not parseable).
    #[serde(default)]
    pub malformed: bool,
    /// Close the connection without answering.
    #[serde(default)]
    pub drop: bool,
    /// Announce the whole answer's `Content-Length` but send only its first half, then close:
    /// the body is cut off in transit (unlike `malformed`, which is a complete, short body).
    #[serde(default)]
    pub truncated: bool,
    /// A lying server: a well-formed answer whose `ArbitraryFileIdentifier` is not the one
    /// asked, as if another desk's answer had been delivered to this one.
    #[serde(default)]
    pub wrong_file_id: bool,
}

impl Faults {
    /// No fault at all.
    pub const NONE: Faults = Faults {
        delay_ms: 0,
        status: None,
        malformed: false,
        drop: false,
        truncated: false,
        wrong_file_id: false,
    };

    /// True if this changes nothing.
    pub fn is_none(&self) -> bool {
        *self == Faults::NONE
    }

    /// `self` (global) combined with `entry` (per fixture entry), see [`Faults`].
    pub fn combined_with(&self, entry: &Faults) -> Faults {
        Faults {
            delay_ms: self.delay_ms.saturating_add(entry.delay_ms),
            status: entry.status.or(self.status),
            malformed: self.malformed || entry.malformed,
            drop: self.drop || entry.drop,
            truncated: self.truncated || entry.truncated,
            wrong_file_id: self.wrong_file_id || entry.wrong_file_id,
        }
    }

    fn validate(&self, entry: &str) -> Result<(), FixtureError> {
        if let Some(status) = self.status {
            if !(400..=599).contains(&status) {
                return Err(invalid(entry, "fault.status", "must be 400..=599"));
            }
        }
        Ok(())
    }
}

/// What a card search answers for an entry besides its qualification (card searches only: a
/// search by numbers finds the qualification whatever happened to the card).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CardStatus {
    /// Registered for insurance use: answer the qualification.
    #[default]
    Registered,
    /// 利用登録解除: PH1002.
    RegistrationCancelled,
    /// 返納: PH1003.
    CardReturned,
    /// 電子証明書失効: PH1004.
    Revoked,
}

/// One set of 個別照会 keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct NumbersKey {
    /// 保険者番号, 8 characters (国保: 2 spaces + 6 digits).
    pub insurer_number: String,
    /// 記号; `None` = the person has none, and the request must not send one either.
    #[serde(default)]
    pub insured_card_symbol: Option<String>,
    /// 番号.
    pub insured_identification_number: String,
    /// 枝番; `None` = matches any (or no) branch in the request.
    #[serde(default)]
    pub insured_branch_number: Option<String>,
    /// 生年月日; `None` = matches any birth date (used by the fault entries).
    #[serde(default)]
    pub birthdate: Option<String>,
}

/// A search by numbers as the server received it (already validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumbersQuery<'a> {
    /// 保険者番号 as sent (8 characters).
    pub insurer_number: &'a str,
    /// 記号, if sent.
    pub insured_card_symbol: Option<&'a str>,
    /// 番号.
    pub insured_identification_number: &'a str,
    /// 枝番, if sent.
    pub insured_branch_number: Option<&'a str>,
    /// 生年月日 `YYYYMMDD`.
    pub birthdate: &'a str,
}

impl NumbersKey {
    /// Whether the query names this key. A request without a branch matches any branch, as
    /// the 枝番 is optional in 個別照会.
    pub fn matches(&self, q: &NumbersQuery<'_>) -> bool {
        self.insurer_number == q.insurer_number
            && self.insured_card_symbol.as_deref() == q.insured_card_symbol
            && self.insured_identification_number == q.insured_identification_number
            && match (&self.insured_branch_number, q.insured_branch_number) {
                (Some(mine), Some(theirs)) => mine == theirs,
                _ => true,
            }
            && self.birthdate.as_deref().is_none_or(|b| b == q.birthdate)
    }
}

/// 高齢受給者 information (element names inside unconfirmed, see the contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ElderlyRecipientCertificateInfo {
    /// First day of validity, `YYYYMMDD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elderly_recipient_valid_start_date: Option<String>,
    /// Last day of validity, `YYYYMMDD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elderly_recipient_valid_end_date: Option<String>,
    /// 3-digit percent (`020` = 2割).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elderly_recipient_contribution_ratio: Option<String>,
}

/// 限度額適用認定証 information (element names inside unconfirmed, see the contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct LimitApplicationCertificateRelatedInfo {
    /// 区分: `A01`–`A06`, `B01`–`B10`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_application_certificate_classification: Option<String>,
    /// First day of validity, `YYYYMMDD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_application_certificate_valid_start_date: Option<String>,
    /// Last day of validity, `YYYYMMDD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_application_certificate_valid_end_date: Option<String>,
}

/// One `ResultOfQualificationConfirmation`, in the contract's element order.
///
/// Every leaf is a string as in the XML the JSON mirrors; absent elements are omitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[allow(missing_docs)] // the contract documents each element; the names are the documentation
pub struct QualificationRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_card_classification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurer_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_card_symbol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_identification_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_branch_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_family_classification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_kana: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualification_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disqualification_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_of_loss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_card_valid_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_card_expiration_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_partial_contribution_ratio: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preschool_classification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elderly_recipient_certificate_info: Option<ElderlyRecipientCertificateInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_application_certificate_related_info: Option<LimitApplicationCertificateRelatedInfo>,
    /// Inner element names are not public; each item is a flat table of strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specific_diseases_certificate_list: Option<Vec<BTreeMap<String, String>>>,
}

/// One 公費 / 医療費助成 entitlement (受給者証) linked to the person through PMH.
///
/// **Project** element names (`Ext…`): the real service's names for 公費 are not public
/// (`docs/online-api.md`, "公費 (project)"). Every leaf is a string, as elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct PublicExpenseInfo {
    /// 公費負担者番号: 8 digits with a valid check digit.
    pub ext_public_payer_number: String,
    /// 公費受給者番号: 7 digits; omitted where the certificate has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_recipient_number: Option<String>,
    /// 有効期間 first day, `YYYYMMDD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_valid_start_date: Option<String>,
    /// 有効期間 last day, `YYYYMMDD`; omitted = no end stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_valid_end_date: Option<String>,
    /// 所得区分 as printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_income_category: Option<String>,
    /// 自己負担上限額 (月額), whole yen in ASCII digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_monthly_cap_yen: Option<String>,
    /// The scheme's name (display only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_scheme_name: Option<String>,
}

/// One insured person (or one fault trigger) of the data set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Insured {
    /// Unique label.
    pub id: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// User-auth certificate serials (upper-case hex) that find this entry.
    #[serde(default)]
    pub serials: Vec<String>,
    /// What a card search answers besides the qualification.
    #[serde(default)]
    pub card_status: CardStatus,
    /// Every search finding this entry ends abnormally (PH9001).
    #[serde(default)]
    pub system_error: bool,
    /// Faults added to answers about this entry.
    #[serde(default)]
    pub fault: Faults,
    /// `QualificationValidity`, `"1"`–`"5"`.
    #[serde(rename = "QualificationValidity")]
    pub qualification_validity: String,
    /// 個別照会 keys.
    #[serde(default)]
    pub numbers: Vec<NumbersKey>,
    /// The qualifications answered.
    #[serde(default, rename = "ResultOfQualificationConfirmation")]
    pub records: Vec<QualificationRecord>,
    /// 公費 entitlements answered next to the qualification (`ExtPublicExpenseInfoList`).
    #[serde(
        default,
        rename = "ExtPublicExpenseInfo",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub public_expenses: Vec<PublicExpenseInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    #[serde(default)]
    insured: Vec<Insured>,
}

/// Largest fixture file read: the built-in one is about 25 KB; a load test's data set of
/// tens of thousands of insured persons still fits.
pub const MAX_FIXTURE_BYTES: u64 = 32 * 1024 * 1024;

/// The validated data set with its serial index.
#[derive(Debug, Clone)]
pub struct Fixtures {
    entries: Vec<Insured>,
    by_serial: HashMap<Vec<u8>, usize>,
}

impl Fixtures {
    /// Reads and validates a fixture file.
    pub fn load(path: impl AsRef<Path>) -> Result<Fixtures, FixtureError> {
        let path = path.as_ref();
        let text = crate::pki::read_bounded_text(path, MAX_FIXTURE_BYTES).map_err(|source| {
            FixtureError::Io {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Fixtures::from_toml_str(&text).map_err(|source| FixtureError::InFile {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    /// The built-in data set ([`DEFAULT_FIXTURES`]).
    pub fn builtin() -> Result<Fixtures, FixtureError> {
        Fixtures::from_toml_str(DEFAULT_FIXTURES)
    }

    /// Parses and validates fixture TOML.
    pub fn from_toml_str(text: &str) -> Result<Fixtures, FixtureError> {
        let file: FixtureFile = toml::from_str(text)?;
        Fixtures::new(file.insured)
    }

    /// Validates entries built in code.
    pub fn new(entries: Vec<Insured>) -> Result<Fixtures, FixtureError> {
        let mut by_serial = HashMap::new();
        let mut ids = std::collections::HashSet::new();
        for (index, entry) in entries.iter().enumerate() {
            if entry.id.is_empty() {
                return Err(invalid(&format!("#{index}"), "id", "empty"));
            }
            if !ids.insert(entry.id.as_str()) {
                return Err(invalid(&entry.id, "id", "used by an earlier entry"));
            }
            validate_entry(entry)?;
            for serial in &entry.serials {
                let bytes = parse_serial(serial).ok_or_else(|| {
                    invalid(
                        &entry.id,
                        "serials",
                        &format!(
                            "{serial:?} is not upper-case hex of whole bytes without a leading 00"
                        ),
                    )
                })?;
                if by_serial.insert(bytes, index).is_some() {
                    return Err(invalid(
                        &entry.id,
                        "serials",
                        &format!("{serial} already belongs to another entry"),
                    ));
                }
            }
        }
        Ok(Fixtures { entries, by_serial })
    }

    /// All entries, in file order.
    pub fn entries(&self) -> &[Insured] {
        &self.entries
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<&Insured> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// The entry whose certificate has this serial (magnitude bytes, leading zero bytes
    /// ignored, so the DER sign byte of `00 85 AB CD EF` does not matter).
    pub fn by_serial(&self, serial: &[u8]) -> Option<&Insured> {
        let first = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
        self.by_serial
            .get(&serial[first..])
            .and_then(|&i| self.entries.get(i))
    }

    /// The first entry with a numbers key matching the query.
    pub fn by_numbers(&self, query: &NumbersQuery<'_>) -> Option<&Insured> {
        self.entries
            .iter()
            .find(|e| e.numbers.iter().any(|k| k.matches(query)))
    }
}

/// Upper-case hex of the serial's magnitude, as written in fixture files.
pub fn serial_hex(serial: &[u8]) -> String {
    let first = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    serial[first..].iter().map(|b| format!("{b:02X}")).collect()
}

fn parse_serial(text: &str) -> Option<Vec<u8>> {
    let valid = !text.is_empty()
        && text.len().is_multiple_of(2)
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        && !text.starts_with("00");
    if !valid {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

fn invalid(entry: &str, field: &str, reason: &str) -> FixtureError {
    FixtureError::Invalid {
        entry: entry.to_string(),
        field: field.to_string(),
        reason: reason.to_string(),
    }
}

/// The MHLW check digit over the digits before it (`docs/domain.md#numbers`): from the
/// rightmost digit leftwards multiply by 2, 1, 2, …, add the products' digits, take 10 minus
/// the last digit.
pub fn check_digit(digits: &[u8]) -> u8 {
    let total: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let product = u32::from(*d) * if i % 2 == 0 { 2 } else { 1 };
            product / 10 + product % 10
        })
        .sum();
    ((10 - total % 10) % 10) as u8
}

/// Whether `wire` is an insurer number as the wire carries it: 8 digits, or a 6-digit 国保
/// number left-padded with two spaces. `check` also requires a correct check digit.
pub fn is_wire_insurer_number(wire: &str, check: bool) -> bool {
    let digits = match wire.strip_prefix("  ") {
        Some(rest) if rest.len() == 6 => rest,
        _ if wire.len() == 8 => wire,
        _ => return false,
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if !check {
        return true;
    }
    let values: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    match values.split_last() {
        Some((last, body)) => check_digit(body) == *last,
        None => false,
    }
}

/// Whether `text` is a real calendar date written `YYYYMMDD`.
pub fn is_yyyymmdd(text: &str) -> bool {
    text.len() == 8
        && text.bytes().all(|b| b.is_ascii_digit())
        && time::Date::parse(
            text,
            time::macros::format_description!("[year][month][day]"),
        )
        .is_ok()
}

/// 記号 / 番号: 1–38 characters, no control characters (what the desk accepts too).
pub fn is_symbol_or_number(text: &str) -> bool {
    let count = text.chars().count();
    (1..=38).contains(&count) && !text.chars().any(char::is_control)
}

/// Half-width katakana (U+FF61–U+FF9F) and spaces, as `NameKana` is sent.
fn is_half_width_kana(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c == ' ' || ('\u{FF61}'..='\u{FF9F}').contains(&c))
}

fn validate_entry(entry: &Insured) -> Result<(), FixtureError> {
    let id = entry.id.as_str();
    entry.fault.validate(id)?;
    let validity = entry.qualification_validity.as_str();
    let records = entry.records.len();
    let (min, max) = match validity {
        "1" | "2" => (1, usize::MAX),
        "3" | "5" => (2, usize::MAX),
        "4" => (0, 0),
        _ => return Err(invalid(id, "QualificationValidity", "must be \"1\"..\"5\"")),
    };
    if !(min..=max).contains(&records) && !entry.system_error {
        return Err(invalid(
            id,
            "ResultOfQualificationConfirmation",
            &format!(
                "QualificationValidity {validity} needs {min}..={max} records, found {records}"
            ),
        ));
    }
    for key in &entry.numbers {
        if !is_wire_insurer_number(&key.insurer_number, true) {
            return Err(invalid(
                id,
                "numbers.InsurerNumber",
                &format!(
                    "{:?} is not 8 characters with a valid check digit",
                    key.insurer_number
                ),
            ));
        }
        for (field, value) in [
            (
                "numbers.InsuredCardSymbol",
                key.insured_card_symbol.as_deref(),
            ),
            (
                "numbers.InsuredIdentificationNumber",
                Some(key.insured_identification_number.as_str()),
            ),
        ] {
            if let Some(value) = value {
                if !is_symbol_or_number(value) {
                    return Err(invalid(
                        id,
                        field,
                        &format!("{value:?}: 1–38 characters, no control characters"),
                    ));
                }
            }
        }
        if let Some(branch) = &key.insured_branch_number {
            if branch.len() != 2 || !branch.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(id, "numbers.InsuredBranchNumber", "2 digits"));
            }
        }
        if let Some(birthdate) = &key.birthdate {
            if !is_yyyymmdd(birthdate) {
                return Err(invalid(id, "numbers.Birthdate", "a real date YYYYMMDD"));
            }
        }
    }
    for (i, record) in entry.records.iter().enumerate() {
        validate_record(id, i, record)?;
    }
    for (i, p) in entry.public_expenses.iter().enumerate() {
        validate_public_expense(id, i, p)?;
    }
    Ok(())
}

/// What the client's check would refuse is refused here too, so a fixture cannot
/// accidentally test the client's hostile-answer handling.
fn validate_public_expense(
    id: &str,
    index: usize,
    p: &PublicExpenseInfo,
) -> Result<(), FixtureError> {
    let fail = |name: &str, reason: &str| {
        invalid(id, &format!("ExtPublicExpenseInfo[{index}].{name}"), reason)
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let payer = &p.ext_public_payer_number;
    let payer_ok = digits(payer, 8) && {
        let values: Vec<u8> = payer.bytes().map(|b| b - b'0').collect();
        values
            .split_last()
            .is_some_and(|(last, body)| check_digit(body) == *last)
    };
    if !payer_ok {
        return Err(fail(
            "ExtPublicPayerNumber",
            "8 digits with a valid check digit",
        ));
    }
    if p.ext_recipient_number
        .as_deref()
        .is_some_and(|r| !digits(r, 7))
    {
        return Err(fail("ExtRecipientNumber", "7 digits"));
    }
    for (name, value) in [
        ("ExtValidStartDate", &p.ext_valid_start_date),
        ("ExtValidEndDate", &p.ext_valid_end_date),
    ] {
        if value.as_deref().is_some_and(|v| !is_yyyymmdd(v)) {
            return Err(fail(name, "a real date YYYYMMDD"));
        }
    }
    if p.ext_monthly_cap_yen
        .as_deref()
        .is_some_and(|v| v.is_empty() || v.len() > 7 || !v.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(fail("ExtMonthlyCapYen", "whole yen, 1–7 ASCII digits"));
    }
    for (name, value) in [
        ("ExtIncomeCategory", &p.ext_income_category),
        ("ExtSchemeName", &p.ext_scheme_name),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| v.chars().count() > 40 || v.chars().any(char::is_control))
        {
            return Err(fail(name, "at most 40 characters, no control characters"));
        }
    }
    Ok(())
}

fn validate_record(id: &str, index: usize, r: &QualificationRecord) -> Result<(), FixtureError> {
    let field = |name: &str| format!("ResultOfQualificationConfirmation[{index}].{name}");
    let fail = |name: &str, reason: &str| invalid(id, &field(name), reason);
    let required = [
        ("InsuredCardClassification", &r.insured_card_classification),
        ("InsurerNumber", &r.insurer_number),
        (
            "InsuredIdentificationNumber",
            &r.insured_identification_number,
        ),
        (
            "PersonalFamilyClassification",
            &r.personal_family_classification,
        ),
        ("Name", &r.name),
        ("NameKana", &r.name_kana),
        ("Sex1", &r.sex1),
        ("Birthdate", &r.birthdate),
        ("QualificationDate", &r.qualification_date),
    ];
    for (name, value) in required {
        if value.as_deref().is_none_or(str::is_empty) {
            return Err(fail(name, "required in a fixture record"));
        }
    }
    if let Some(n) = &r.insurer_number {
        if !is_wire_insurer_number(n, true) {
            return Err(fail(
                "InsurerNumber",
                "8 characters with a valid check digit",
            ));
        }
    }
    let dates = [
        ("Birthdate", &r.birthdate),
        ("QualificationDate", &r.qualification_date),
        ("DisqualificationDate", &r.disqualification_date),
        ("InsuredCardValidDate", &r.insured_card_valid_date),
        ("InsuredCardExpirationDate", &r.insured_card_expiration_date),
    ];
    for (name, value) in dates {
        // Empty is allowed where the real system sends empty (never meaning "expired").
        if let Some(v) = value {
            if !v.is_empty() && !is_yyyymmdd(v) {
                return Err(fail(name, "a real date YYYYMMDD or empty"));
            }
        }
    }
    let one_of = |name: &str, value: &Option<String>, allowed: &[&str]| match value {
        Some(v) if !allowed.contains(&v.as_str()) => {
            Err(fail(name, &format!("{v:?} is not one of {allowed:?}")))
        }
        _ => Ok(()),
    };
    one_of(
        "PersonalFamilyClassification",
        &r.personal_family_classification,
        &["1", "2"],
    )?;
    one_of("Sex1", &r.sex1, &["1", "2", "3"])?;
    one_of("ReasonOfLoss", &r.reason_of_loss, &["01", "02", "03", "99"])?;
    if let Some(kana) = &r.name_kana {
        if !is_half_width_kana(kana) {
            return Err(fail("NameKana", "half-width katakana and spaces only"));
        }
    }
    let ratio_ok = |v: &str| v.len() == 3 && v.bytes().all(|b| b.is_ascii_digit());
    if let Some(v) = &r.insured_partial_contribution_ratio {
        if !ratio_ok(v) {
            return Err(fail("InsuredPartialContributionRatio", "3-digit percent"));
        }
    }
    if let Some(e) = &r.elderly_recipient_certificate_info {
        if e.elderly_recipient_contribution_ratio
            .as_deref()
            .is_some_and(|v| !ratio_ok(v))
        {
            return Err(fail(
                "ElderlyRecipientCertificateInfo",
                "ratio: 3-digit percent",
            ));
        }
        for v in [
            &e.elderly_recipient_valid_start_date,
            &e.elderly_recipient_valid_end_date,
        ]
        .into_iter()
        .flatten()
        {
            if !is_yyyymmdd(v) {
                return Err(fail("ElderlyRecipientCertificateInfo", "dates: YYYYMMDD"));
            }
        }
    }
    if let Some(l) = &r.limit_application_certificate_related_info {
        let class_ok = l
            .limit_application_certificate_classification
            .as_deref()
            .is_none_or(|c| {
                let (letter, number) = c.split_at(1.min(c.len()));
                let n: u8 = number.parse().unwrap_or(0);
                number.len() == 2
                    && ((letter == "A" && (1..=6).contains(&n))
                        || (letter == "B" && (1..=10).contains(&n)))
            });
        if !class_ok {
            return Err(fail(
                "LimitApplicationCertificateRelatedInfo",
                "classification A01–A06 or B01–B10",
            ));
        }
        for v in [
            &l.limit_application_certificate_valid_start_date,
            &l.limit_application_certificate_valid_end_date,
        ]
        .into_iter()
        .flatten()
        {
            if !is_yyyymmdd(v) {
                return Err(fail(
                    "LimitApplicationCertificateRelatedInfo",
                    "dates: YYYYMMDD",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
