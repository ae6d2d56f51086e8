//! The numbers on an insurance qualification, parsed from what people type.
//!
//! Patients and staff type numbers copied from cards and letters, often with a Japanese IME
//! that produces full-width digits (`０６１３…`). Everything here accepts that (through
//! [`super::text::normalize_width`]), trims, and keeps leading zeros; what comes out is a
//! typed value that is known to be well-formed.
//!
//! The four numbers of a qualification (保険者番号・記号・番号・枝番) are one type,
//! [`InsuranceNumbers`], with one parser, [`InsuranceNumbers::parse`] (its field-by-field
//! form: [`RawInsuranceNumbers::parse_fields`]). The claim input, the desk's forms, the CLI,
//! the portal PDF reader and the journal search all read typed numbers through it, so a rule
//! (what a 記号 may hold, how a 枝番 is padded) changes in one place.

use std::fmt;

use serde::{Serialize, Serializer};

use super::text::{is_unsafe_char, normalize_width};

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

/// One of the four insurance numbers, for a problem to name the field it concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumbersField {
    /// 保険者番号
    InsurerNumber,
    /// 記号
    Symbol,
    /// 番号
    Number,
    /// 枝番
    Branch,
}

impl NumbersField {
    /// The field's name in documents and logs (`insurer_number`, `symbol`, `number`,
    /// `branch`), as the claim path's JSON spells it.
    pub fn key(self) -> &'static str {
        match self {
            NumbersField::InsurerNumber => "insurer_number",
            NumbersField::Symbol => "symbol",
            NumbersField::Number => "number",
            NumbersField::Branch => "branch",
        }
    }

    /// The short name the desk's forms and the CLI's flags use (`insurer` for `--insurer`).
    pub fn short_name(self) -> &'static str {
        match self {
            NumbersField::InsurerNumber => "insurer",
            other => other.key(),
        }
    }

    /// The Japanese name the desk shows.
    pub fn label(self) -> &'static str {
        match self {
            NumbersField::InsurerNumber => "保険者番号",
            NumbersField::Symbol => "記号",
            NumbersField::Number => "番号",
            NumbersField::Branch => "枝番",
        }
    }
}

/// A problem with one of the insurance numbers as typed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {detail}", field.key())]
pub struct NumbersFieldError {
    /// Which field.
    pub field: NumbersField,
    /// The field was required and left empty (a caller may word that its own way, as the
    /// CLI names its flag).
    pub missing: bool,
    /// What the desk shows, in Japanese.
    pub message: String,
    /// Precise English detail for logs.
    pub detail: String,
}

impl NumbersFieldError {
    fn invalid(field: NumbersField, e: NumberError) -> Self {
        Self {
            field,
            missing: false,
            message: e.message,
            detail: e.detail,
        }
    }

    fn missing(field: NumbersField) -> Self {
        Self {
            field,
            missing: true,
            message: format!("{}を入力してください。", field.label()),
            detail: "missing".into(),
        }
    }
}

impl From<NumbersFieldError> for NumberError {
    fn from(e: NumbersFieldError) -> Self {
        NumberError {
            field: e.field.key(),
            detail: e.detail,
            message: e.message,
        }
    }
}

/// The insurance numbers as typed, one raw text per field; `None` where the form or document
/// has no such field. Empty and blank text count as not given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawInsuranceNumbers<'a> {
    /// 保険者番号
    pub insurer_number: Option<&'a str>,
    /// 記号
    pub symbol: Option<&'a str>,
    /// 番号
    pub number: Option<&'a str>,
    /// 枝番
    pub branch: Option<&'a str>,
}

/// Each field of [`RawInsuranceNumbers`] parsed on its own: `Ok(None)` when it was not given.
/// For readers that take what they can (a printed PDF, a self-declaration that knows only
/// some numbers); [`InsuranceNumbers::parse`] is the same parse with the required fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedNumbersFields {
    pub insurer_number: Result<Option<InsurerNumber>, NumbersFieldError>,
    pub symbol: Result<Option<String>, NumbersFieldError>,
    pub number: Result<Option<String>, NumbersFieldError>,
    pub branch: Result<Option<String>, NumbersFieldError>,
}

impl RawInsuranceNumbers<'_> {
    /// The one parser of typed insurance numbers: width-normalised and trimmed, leading
    /// zeros kept, the 保険者番号's check digit tested, a 枝番 zero-padded to two digits.
    pub fn parse_fields(&self) -> ParsedNumbersFields {
        fn given(s: Option<&str>) -> Option<&str> {
            s.filter(|s| !normalize_width(s).is_empty())
        }
        fn each<T>(
            field: NumbersField,
            raw: Option<&str>,
            parse: impl Fn(&str) -> Result<T, NumberError>,
        ) -> Result<Option<T>, NumbersFieldError> {
            given(raw)
                .map(parse)
                .transpose()
                .map_err(|e| NumbersFieldError::invalid(field, e))
        }
        ParsedNumbersFields {
            insurer_number: each(
                NumbersField::InsurerNumber,
                self.insurer_number,
                InsurerNumber::parse,
            ),
            symbol: each(NumbersField::Symbol, self.symbol, |s| {
                parse_symbol_or_number("symbol", s, "記号")
            }),
            number: each(NumbersField::Number, self.number, |s| {
                parse_symbol_or_number("number", s, "番号")
            }),
            branch: each(NumbersField::Branch, self.branch, parse_branch),
        }
    }
}

/// The numbers a qualification is identified by (保険者番号・記号・番号・枝番), each known to
/// be well-formed: from [`InsuranceNumbers::parse`] or from the online service's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InsuranceNumbers {
    /// 保険者番号
    pub insurer_number: InsurerNumber,
    /// 記号 (absent for 後期高齢者)
    pub symbol: Option<String>,
    /// 番号
    pub number: String,
    /// 枝番 (two digits)
    pub branch: Option<String>,
}

impl InsuranceNumbers {
    /// The four text boxes of a desk form (an empty box is "not given"): the numbers, or
    /// `None` with each problem added to `problems` as (field, Japanese message), the shape
    /// the desk's forms show under their fields.
    pub fn parse_form(
        insurer_number: &str,
        symbol: &str,
        number: &str,
        branch: &str,
        problems: &mut Vec<(&'static str, String)>,
    ) -> Option<Self> {
        Self::parse(RawInsuranceNumbers {
            insurer_number: Some(insurer_number),
            symbol: Some(symbol),
            number: Some(number),
            branch: Some(branch),
        })
        .map_err(|errors| {
            problems.extend(
                errors
                    .into_iter()
                    .map(|e| (e.field.short_name(), e.message)),
            )
        })
        .ok()
    }

    /// Parses typed numbers; the 保険者番号 and 番号 are required, 記号 and 枝番 optional.
    /// Every problem is returned at once, each with its field, so the desk fixes everything
    /// in one go.
    pub fn parse(raw: RawInsuranceNumbers<'_>) -> Result<Self, Vec<NumbersFieldError>> {
        let fields = raw.parse_fields();
        fn required<T>(
            problems: &mut Vec<NumbersFieldError>,
            field: NumbersField,
            value: Result<Option<T>, NumbersFieldError>,
        ) -> Option<T> {
            match value {
                Ok(Some(v)) => Some(v),
                Ok(None) => {
                    problems.push(NumbersFieldError::missing(field));
                    None
                }
                Err(e) => {
                    problems.push(e);
                    None
                }
            }
        }
        let mut problems = Vec::new();
        let insurer_number = required(
            &mut problems,
            NumbersField::InsurerNumber,
            fields.insurer_number,
        );
        let symbol = fields.symbol.map_err(|e| problems.push(e)).ok().flatten();
        let number = required(&mut problems, NumbersField::Number, fields.number);
        let branch = fields.branch.map_err(|e| problems.push(e)).ok().flatten();
        match (insurer_number, number) {
            (Some(insurer_number), Some(number)) if problems.is_empty() => Ok(Self {
                insurer_number,
                symbol,
                number,
                branch,
            }),
            _ => Err(problems),
        }
    }
}

/// 記号 or 番号 as typed: width-normalised and trimmed, leading zeros kept. Digits, letters,
/// kanji and hyphens are all legitimate; control characters, characters that reorder or hide
/// text ([`super::text::is_unsafe_char`]: what is shown must be what is sent), commas (they
/// would split the receipt record the value is written into) and empty values are not.
fn parse_symbol_or_number(
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
    if s.chars().any(|c| is_unsafe_char(c) || c == ',') {
        return Err(NumberError::new(
            field,
            "comma or format characters",
            format!("{label}に使えない文字が含まれています。"),
        ));
    }
    Ok(s)
}

/// 枝番: two digits (`00`, `01`, …); a single digit is zero-padded.
fn parse_branch(input: &str) -> Result<String, NumberError> {
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
    fn symbols_and_numbers_refuse_bidi_overrides_zero_width_characters_and_commas() {
        // U+202E makes `1234` read as `4321` on the screen the clerk checks against the card;
        // a comma splits the receipt record the number is written into.
        for bad in ["12\u{202E}34", "12\u{200B}34", "\u{2066}1234", "12,34"] {
            assert!(
                parse_symbol_or_number("symbol", bad, "記号").is_err(),
                "{bad:?}"
            );
            let raw = RawInsuranceNumbers {
                insurer_number: Some("01130012"),
                symbol: Some(bad),
                number: Some(bad),
                branch: None,
            };
            let fields: Vec<_> = InsuranceNumbers::parse(raw)
                .expect_err(bad)
                .into_iter()
                .map(|e| (e.field, e.message))
                .collect();
            assert_eq!(
                fields,
                [
                    (
                        NumbersField::Symbol,
                        "記号に使えない文字が含まれています。".into()
                    ),
                    (
                        NumbersField::Number,
                        "番号に使えない文字が含まれています。".into()
                    ),
                ],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_four_numbers_parse_together_with_every_problem_named() {
        let raw = RawInsuranceNumbers {
            insurer_number: Some("０１１３００１２"),
            symbol: Some(" ５０１２３４５ "),
            number: Some("００１２"),
            branch: Some("１"),
        };
        assert_eq!(
            InsuranceNumbers::parse(raw),
            Ok(InsuranceNumbers {
                insurer_number: InsurerNumber::parse("01130012").expect("valid"),
                symbol: Some("5012345".into()),
                number: "0012".into(),
                branch: Some("01".into()),
            })
        );
        // Blank optional fields are absent, not errors.
        let raw = RawInsuranceNumbers {
            insurer_number: Some("39280003"),
            symbol: Some("　"),
            number: Some("12345678"),
            branch: Some(""),
        };
        let n = InsuranceNumbers::parse(raw).expect("後期高齢者 without 記号");
        assert_eq!((n.symbol, n.branch), (None, None));
        // Nothing given: the two required fields, in form order.
        let e = InsuranceNumbers::parse(RawInsuranceNumbers::default()).expect_err("empty");
        assert_eq!(
            e.iter().map(|e| (e.field, e.missing)).collect::<Vec<_>>(),
            [
                (NumbersField::InsurerNumber, true),
                (NumbersField::Number, true)
            ]
        );
        assert_eq!(e[0].message, "保険者番号を入力してください。");
        // Everything wrong: every field named, with its Japanese message and English detail.
        let raw = RawInsuranceNumbers {
            insurer_number: Some("33120016"),
            symbol: Some("a\u{7}"),
            number: Some(" "),
            branch: Some("123"),
        };
        let e = InsuranceNumbers::parse(raw).expect_err("all wrong");
        assert_eq!(
            e.iter().map(|e| e.field.key()).collect::<Vec<_>>(),
            ["insurer_number", "symbol", "number", "branch"]
        );
        assert!(e[0].message.contains("検証番号") && e[0].detail.contains("check digit"));
        assert_eq!(NumberError::from(e[3].clone()).field, "branch");
        // Each field on its own, for readers that take what they can.
        let f = raw.parse_fields();
        assert!(f.insurer_number.is_err() && f.symbol.is_err() && f.branch.is_err());
        assert_eq!(f.number, Ok(None));
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
