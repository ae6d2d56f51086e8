//! The numbers on an insurance qualification, parsed from what people type.
//!
//! Patients and staff type numbers copied from cards and letters, often with a Japanese IME
//! that produces full-width digits (`０６１３…`). Everything here accepts that, trims, and
//! keeps leading zeros; what comes out is a typed value that is known to be well-formed.

use std::fmt;

use serde::{Serialize, Serializer};

/// Full-width ASCII (`！`–`～`) to half-width and the ideographic space to a space; trims.
pub fn normalize_width(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A problem with a typed number, with the field it concerns and a Japanese explanation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct NumberError {
    /// The field in English (`insurer_number`, …).
    pub field: &'static str,
    /// Precise English detail for logs.
    pub detail: String,
    /// What the desk shows.
    pub message: String,
}

impl NumberError {
    fn new(field: &'static str, detail: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field,
            detail: detail.into(),
            message: message.into(),
        }
    }
}

/// The check digit of the MHLW numbering rules (保険者番号, 公費負担者番号): over the digits
/// before it, from the rightmost leftwards, weights 2, 1, 2, 1, …; a two-digit product counts
/// as the sum of its digits; the check digit is 10 minus the last digit of the total (0 when
/// that is 0).
pub fn check_digit(digits: &[u8]) -> u8 {
    let total: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let p = u32::from(d) * if i % 2 == 0 { 2 } else { 1 };
            p / 10 + p % 10
        })
        .sum();
    ((10 - total % 10) % 10) as u8
}

fn digits_of(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| c.to_digit(10).map(|d| d as u8)).collect()
}

/// What kind of insurer a number belongs to (from its 法別番号).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InsurerKind {
    /// 国民健康保険 (6-digit number).
    NationalHealthInsurance,
    /// 後期高齢者医療 (法別 39).
    LateElderly,
    /// 協会けんぽ (01).
    KyokaiKenpo,
    /// 船員保険 (02).
    Seamen,
    /// 組合健保 (06).
    HealthInsuranceSociety,
    /// 自衛官等 (07).
    SelfDefenseForces,
    /// 共済組合 (31–34).
    MutualAid,
    /// 特例退職 (63, 72–75).
    SpecialRetiree,
    /// Any other 法別 (kept by its two digits).
    Other(u8),
}

/// 保険者番号: 8 digits with a check digit, or 6 digits for 国民健康保険.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InsurerNumber(String);

impl InsurerNumber {
    /// Parses a typed insurer number (full-width accepted). The check digit must hold.
    pub fn parse(input: &str) -> Result<Self, NumberError> {
        let field = "insurer_number";
        let s = normalize_width(input);
        let digits = digits_of(&s).ok_or_else(|| {
            NumberError::new(
                field,
                format!("{s:?} is not all digits"),
                "保険者番号は数字で入力してください。",
            )
        })?;
        if digits.len() != 8 && digits.len() != 6 {
            return Err(NumberError::new(
                field,
                format!("{} digits", digits.len()),
                "保険者番号は8桁(国民健康保険は6桁)です。",
            ));
        }
        let (body, last) = digits.split_at(digits.len() - 1);
        if check_digit(body) != last[0] {
            return Err(NumberError::new(
                field,
                format!("check digit of {s} should be {}", check_digit(body)),
                "保険者番号の検証番号(最後の1桁)が合いません。番号をご確認ください。",
            ));
        }
        Ok(Self(s))
    }

    /// From a server answer, where a 6-digit number arrives space-padded to 8. No check-digit
    /// test: the desk shows what the system says even if it looks odd.
    pub fn from_wire(wire: &str) -> Option<Self> {
        let s = wire.trim();
        (matches!(s.len(), 6 | 8) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 8-character wire form: a 6-digit 国保 number right-aligned with spaces.
    pub fn wire(&self) -> String {
        format!("{:>8}", self.0)
    }

    pub fn kind(&self) -> InsurerKind {
        if self.0.len() == 6 {
            return InsurerKind::NationalHealthInsurance;
        }
        match self.0[..2].parse::<u8>().unwrap_or(0) {
            39 => InsurerKind::LateElderly,
            1 => InsurerKind::KyokaiKenpo,
            2 => InsurerKind::Seamen,
            6 => InsurerKind::HealthInsuranceSociety,
            7 => InsurerKind::SelfDefenseForces,
            31..=34 => InsurerKind::MutualAid,
            63 | 72..=75 => InsurerKind::SpecialRetiree,
            other => InsurerKind::Other(other),
        }
    }
}

impl fmt::Debug for InsurerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InsurerNumber({})", self.0)
    }
}

impl fmt::Display for InsurerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for InsurerNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// 記号 or 番号 as typed: width-normalised and trimmed, leading zeros kept. Digits, letters,
/// kanji and hyphens are all legitimate; control characters and empty values are not.
pub fn parse_symbol_or_number(
    field: &'static str,
    input: &str,
    label: &str,
) -> Result<String, NumberError> {
    let s = normalize_width(input);
    if s.is_empty() {
        return Err(NumberError::new(
            field,
            "empty",
            format!("{label}を入力してください。"),
        ));
    }
    if s.chars().count() > 38 || s.chars().any(char::is_control) {
        return Err(NumberError::new(
            field,
            format!("{s:?} is not a plausible value"),
            format!("{label}の形式が正しくありません。"),
        ));
    }
    Ok(s)
}

/// 枝番: two digits (`00`, `01`, …); a single digit is zero-padded.
pub fn parse_branch(input: &str) -> Result<String, NumberError> {
    let s = normalize_width(input);
    match (s.len(), s.bytes().all(|b| b.is_ascii_digit())) {
        (1, true) => Ok(format!("0{s}")),
        (2, true) => Ok(s),
        _ => Err(NumberError::new(
            "branch",
            format!("{s:?}"),
            "枝番は数字2桁で入力してください。",
        )),
    }
}

/// A birth date typed as 西暦 or 和暦 (`19800401`, `1980-04-01`, `昭和55年4月1日`, `S55.4.1`;
/// full-width accepted; see [`crate::domain::dates`]), not after `today`.
pub fn parse_birth_date(input: &str, today: time::Date) -> Result<time::Date, NumberError> {
    let date = super::dates::parse_date(input).map_err(|e| NumberError {
        field: "birthdate",
        detail: e.detail,
        message: format!("生年月日: {}", e.message),
    })?;
    if date > today {
        return Err(NumberError::new(
            "birthdate",
            format!("{date} is in the future"),
            "生年月日が未来の日付になっています。",
        ));
    }
    Ok(date)
}

fn fixed_digits(
    field: &'static str,
    label: &str,
    input: &str,
    len: usize,
) -> Result<(String, Vec<u8>), NumberError> {
    let s = normalize_width(input);
    match digits_of(&s) {
        Some(d) if d.len() == len => Ok((s, d)),
        _ => Err(NumberError::new(
            field,
            format!(
                "{:?} is not {len} digits",
                s.chars().take(40).collect::<String>()
            ),
            format!("{label}は数字{len}桁です。"),
        )),
    }
}

/// 公費負担者番号: 8 digits (法別番号 2, 都道府県 2, 実施機関 3, check digit 1), with the same
/// check digit as the 保険者番号 (MHLW numbering rules).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PublicPayerNumber(String);

impl PublicPayerNumber {
    pub fn parse(input: &str) -> Result<Self, NumberError> {
        let field = "public_payer_number";
        let (s, digits) = fixed_digits(field, "公費負担者番号", input, 8)?;
        let (body, last) = digits.split_at(7);
        if check_digit(body) != last[0] {
            return Err(NumberError::new(
                field,
                format!("check digit of {s} should be {}", check_digit(body)),
                "公費負担者番号の検証番号(最後の1桁)が合いません。番号をご確認ください。",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 公費受給者番号: 7 digits. Whether its last digit is a check digit is **unconfirmed** (the
/// MHLW rules give one for some 公費 only), so only the format is checked: a wrong check
/// digit here would refuse real numbers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RecipientNumber(String);

impl RecipientNumber {
    pub fn parse(input: &str) -> Result<Self, NumberError> {
        let (s, _) = fixed_digits("recipient_number", "受給者番号", input, 7)?;
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn check_digit_vectors_from_the_domain_primer() {
        for valid in ["33120015", "39280003", "06010391", "138057", "77777779"] {
            assert!(InsurerNumber::parse(valid).is_ok(), "{valid}");
        }
        let err = InsurerNumber::parse("33120016").expect_err("wrong check digit");
        assert!(err.message.contains("検証番号"));
    }

    #[test]
    fn full_width_and_spaces_are_accepted() {
        assert_eq!(
            InsurerNumber::parse("　０６０１０３９１ ").map(|n| n.0),
            Ok("06010391".into())
        );
        assert_eq!(normalize_width("ＡＢ１２"), "AB12");
    }

    #[test]
    fn wrong_lengths_and_letters_are_refused_with_the_field_named() {
        for bad in ["0601039", "060103910", "0601039A", "", "33-120015"] {
            let e = InsurerNumber::parse(bad).expect_err(bad);
            assert_eq!(e.field, "insurer_number");
        }
    }

    #[test]
    fn national_health_insurance_numbers_are_padded_on_the_wire() {
        let n = InsurerNumber::parse("138057").expect("valid 国保");
        assert_eq!(n.wire(), "  138057");
        assert_eq!(n.kind(), InsurerKind::NationalHealthInsurance);
        assert_eq!(InsurerNumber::from_wire("  138057"), Some(n));
    }

    #[test]
    fn kinds_come_from_the_law_number() {
        let kind = |s: &str| InsurerNumber::parse(s).map(|n| n.kind());
        assert_eq!(kind("39280003"), Ok(InsurerKind::LateElderly));
        assert_eq!(kind("06010391"), Ok(InsurerKind::HealthInsuranceSociety));
        assert_eq!(kind("33120015"), Ok(InsurerKind::MutualAid));
    }

    #[test]
    fn symbols_numbers_and_branches_are_normalised_not_mangled() {
        assert_eq!(
            parse_symbol_or_number("number", "００１２３", "番号"),
            Ok("00123".into())
        );
        assert_eq!(
            parse_symbol_or_number("symbol", " 東京あ12 ", "記号"),
            Ok("東京あ12".into())
        );
        assert!(parse_symbol_or_number("number", "  ", "番号").is_err());
        assert!(parse_symbol_or_number("number", "12\u{7}3", "番号").is_err());
        assert!(parse_symbol_or_number("number", &"9".repeat(200), "番号").is_err());
        assert_eq!(parse_branch("１"), Ok("01".into()));
        assert_eq!(parse_branch("00"), Ok("00".into()));
        assert!(parse_branch("123").is_err() && parse_branch("a1").is_err());
    }

    #[test]
    fn birth_dates_parse_and_cannot_be_in_the_future() {
        let today = date!(2026 - 11 - 21);
        assert_eq!(
            parse_birth_date("19800401", today),
            Ok(date!(1980 - 04 - 01))
        );
        assert_eq!(
            parse_birth_date("１９８０－０４－０１".replace('－', "-").as_str(), today),
            Ok(date!(1980 - 04 - 01))
        );
        assert_eq!(
            parse_birth_date("1980/04/01", today),
            Ok(date!(1980 - 04 - 01))
        );
        assert!(parse_birth_date("19800231", today).is_err());
        assert!(parse_birth_date("20261122", today).is_err());
        assert!(parse_birth_date("令和8年11月22日", today).is_err());
        assert_eq!(
            parse_birth_date("昭和55年4月1日", today),
            Ok(date!(1980 - 04 - 01))
        );
        assert_eq!(
            parse_birth_date("S55.4.1", today),
            Ok(date!(1980 - 04 - 01))
        );
        assert_eq!(
            parse_birth_date("Ｈ３１．４．３０", today),
            Ok(date!(2019 - 04 - 30))
        );
        let e = parse_birth_date("平成31年5月1日", today).expect_err("outside 平成");
        assert_eq!(e.field, "birthdate");
        assert!(e.message.contains("期間外"), "{}", e.message);
    }

    #[test]
    fn public_payer_and_recipient_numbers() {
        // 54136015: 法別54 (難病), 東京13, check digit 5 by the MHLW rule.
        assert_eq!(
            PublicPayerNumber::parse("５４１３６０１５").map(|n| n.0),
            Ok("54136015".into())
        );
        assert!(PublicPayerNumber::parse("54136016").is_err());
        assert!(PublicPayerNumber::parse("5413601").is_err());
        assert!(PublicPayerNumber::parse("5413601a").is_err());
        assert_eq!(
            RecipientNumber::parse("１２３４５６７").map(|n| n.0),
            Ok("1234567".into())
        );
        for bad in ["123456", "12345678", "12345a7", ""] {
            assert_eq!(
                RecipientNumber::parse(bad).map_err(|e| e.field),
                Err("recipient_number"),
                "{bad}"
            );
        }
    }
}
