//! The receipt header a claim is made with (レセプトの保険者・資格確認・摘要), for each step of
//! the claim path, and its export as the records a receipt computer (レセコン) imports.
//!
//! Step ① uses the current numbers, step ② the old numbers (旧資格請求), step ③ an
//! **unknown receipt** (不詳レセプト): 保険者番号 `77777777` (or `77777779` where a system
//! demands a valid check digit), no 記号, 番号 `777777777` (9 digits; `77777777`, 8 digits, for
//! 後期高齢者) and a 摘要 starting with 「不詳」 followed by the declared address, employer and
//! phone, so the 審査支払機関 can find the insurer later. Not to be confused with the disaster
//! rule's 9s (`99999999`), which this module never produces.
//!
//! # Record layout emitted by [`ReceiptHeader::records`]
//!
//! The lines follow the CSV records of the レセプト電算処理システム 記録条件仕様 (医科用): fields
//! separated by `,`, one record per line. Only the three records of the header are produced;
//! the receipt computer adds the rest of the receipt (RE, SI, IY …) and the totals.
//!
//! | Record | Fields emitted, in order |
//! |---|---|
//! | `HO` 保険者レコード (15 fields) | `HO`, 保険者番号 (8 characters: a 6-digit 国保 number right-aligned with spaces), 記号, 番号, 診療実日数, 合計点数, 予備, 食事療養・生活療養回数, 同合計金額, 職務上の事由, 証明書番号, 医療保険負担金額, 減免区分, 減額割合, 減額金額 — everything after 番号 left empty for the receipt computer |
//! | `KO` 公費レコード (12 fields), one per 公費 in priority order (第1〜第4公費) | `KO`, 負担者番号 (8 digits), 受給者番号 (7 digits; empty when the certificate has none), 任意給付区分, 診療実日数, 合計点数, 負担金額 (公費), 公費給付対象外来一部負担金, 公費給付対象入院一部負担金, 予備, 食事療養・生活療養回数, 同負担金額 — everything after 受給者番号 left empty for the receipt computer |
//! | `SN` 資格確認レコード (9 fields) | `SN`, 負担者種別 `1` (医療保険), 確認区分 `01` (医療機関窓口), 保険者番号等, 記号, 番号 (these three empty), 枝番, 受給者番号 (empty), 予備 (empty); only when a 枝番 is known |
//! | `CO` コメントレコード (5 fields) | `CO`, 診療識別 `99`, 負担区分 `1`, コメントコード `810000001` (free text), 文字データ (the 摘要) |
//!
//! Confirmed from public descriptions of the specification: the order of the first 14 HO
//! fields, the SN field order and that the 枝番 is carried in SN (not in HO), the CO field
//! order. **Unconfirmed**: the 15th HO field (減額金額); whether SN's 保険者番号等/記号/番号 must
//! repeat the HO values; the 確認区分 code to use after an online or documentary check (`01`
//! is used throughout); the 診療識別 `99` and comment code `810000001` for a free-text 摘要;
//! the maximum length of 文字データ; the character set (the real file is Shift_JIS with CRLF
//! line ends and full-width text; here lines are UTF-8 and the text is left as typed).
//! A `,` inside text would break the record and is replaced by `、`.
//!
//! **公費 (KO).** The record order HO, KO, SN, … CO, at most four 公費 on one 医科 receipt
//! (第1〜第4公費), KO's first eight fields (識別, 負担者番号, 受給者番号, 任意給付区分,
//! 診療実日数, 合計点数, 負担金額, 公費給付対象外来一部負担金) and the 負担者種別 codes of SN/JD
//! (`1` 医療保険, `2`〜`5` 第1〜第4公費) are as public implementations of the 記録条件仕様 write
//! them: **unconfirmed** against the specification's own text, like the names and number of
//! KO's last four fields (12 in all here). The order of the KO lines is the table's priority
//! ([`DeskCharge::applying`]: national schemes, then 生活保護, then municipal 医療費助成),
//! **unconfirmed** in detail (`docs/domain.md#public-expense`). Not done, and noted there:
//! an SN line for a 公費 (負担者種別 `2`〜`5`: when the specification asks for one is
//! unconfirmed, so SN stays the insurance's 枝番 alone); the CO record's 負担区分 stays `1`
//! (医療保険単独) even with 公費; a 公費単独 receipt (no HO, e.g. 生活保護 without
//! insurance) is not made: the header always has insurance numbers or the unknown 7s.

use serde::Serialize;

use super::declaration::{InsuranceKind, SelfDeclaration};
use super::plan::ClaimStep;
use crate::domain::numbers::InsuranceNumbers;
use crate::domain::public_expense::charge::DeskCharge;
use crate::domain::public_expense::PublicExpense;
use crate::domain::ratio::{age_band, AgeBand};

/// 不詳レセプト 保険者番号, as the notice gives it: every digit a 7 (MHLW's slides
/// 「マイナ保険証の利用促進等について」, autumn 2024, after notice 保発0710第1号 of 2023-07-10:
/// 「被保険者番号等は不詳として「７」を必要な桁数分入力する」). From 2024-12-02 in this form,
/// until further notice; confirmed. See `docs/domain.md#unknown-receipt`.
pub const UNKNOWN_INSURER: &str = "77777777";
/// The same with a valid check digit, for systems that refuse `77777777` (**unconfirmed**
/// which need it; selected by `claim receipt --check-digit-insurer`).
pub const UNKNOWN_INSURER_CHECKED: &str = "77777779";
/// 不詳レセプト 番号 (9 digits).
pub const UNKNOWN_NUMBER: &str = "777777777";
/// 不詳レセプト 番号 for 後期高齢者 (8 digits: the project's reading of the field width,
/// **unconfirmed**; see `docs/domain.md#unknown-receipt`).
pub const UNKNOWN_NUMBER_LATE_ELDERLY: &str = "77777777";
/// The word the 摘要 of an unknown receipt starts with.
pub const UNKNOWN_REMARK: &str = "不詳";

/// Free-text comment code of the CO record (**unconfirmed**, see the module documentation).
const FREE_COMMENT_CODE: &str = "810000001";

/// Most 公費 on one receipt: 第1〜第4公費 (医科; **unconfirmed** against the specification's
/// text, see the module documentation).
pub const MAX_PUBLIC_EXPENSES: usize = 4;

/// Fields of a KO record, its identifier included (see the module documentation).
const KO_FIELDS: usize = 12;

/// More 公費 apply to a visit than one receipt carries.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{count} public expenses apply, a receipt carries at most {MAX_PUBLIC_EXPENSES}")]
pub struct TooManyPublicExpenses {
    pub count: usize,
}

impl TooManyPublicExpenses {
    /// What the desk shows.
    pub fn message(&self) -> String {
        format!(
            "公費が{}件あります。1枚のレセプトに記録できる公費は第1〜第4公費の{MAX_PUBLIC_EXPENSES}件までです。適用する公費を確認してください。",
            self.count
        )
    }
}

/// Which 保険者番号 an unknown receipt carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownInsurer {
    /// `77777777`, as the notice gives it.
    #[default]
    Plain,
    /// `77777779`, for a system that demands a valid check digit.
    CheckDigit,
}

/// The contact details an unknown receipt's 摘要 carries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeclaredContact {
    /// 住所
    pub address: Option<String>,
    /// 事業所名
    pub employer: Option<String>,
    /// 電話番号
    pub phone: Option<String>,
}

/// The numbers a receipt is made with: the patient's, or the unknown receipt's 7s
/// (不詳レセプト). Typed once when the header is made, never re-parsed from text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptNumbers {
    /// Step ① or ②: the numbers as they are.
    Known(InsuranceNumbers),
    /// Step ③: 保険者番号 `77777777` or `77777779`, no 記号, 番号 `777777777` (`77777777` for
    /// 後期高齢者), no 枝番.
    Unknown {
        insurer: UnknownInsurer,
        late_elderly: bool,
    },
}

impl ReceiptNumbers {
    /// 保険者番号 as the patient's documents print it (6 or 8 digits), or the 7s.
    pub fn insurer_number(&self) -> &str {
        match self {
            ReceiptNumbers::Known(n) => n.insurer_number.as_str(),
            ReceiptNumbers::Unknown {
                insurer: UnknownInsurer::Plain,
                ..
            } => UNKNOWN_INSURER,
            ReceiptNumbers::Unknown {
                insurer: UnknownInsurer::CheckDigit,
                ..
            } => UNKNOWN_INSURER_CHECKED,
        }
    }

    /// 記号 (none on an unknown receipt or for 後期高齢者).
    pub fn symbol(&self) -> Option<&str> {
        match self {
            ReceiptNumbers::Known(n) => n.symbol.as_deref(),
            ReceiptNumbers::Unknown { .. } => None,
        }
    }

    /// 番号
    pub fn number(&self) -> &str {
        match self {
            ReceiptNumbers::Known(n) => &n.number,
            ReceiptNumbers::Unknown {
                late_elderly: true, ..
            } => UNKNOWN_NUMBER_LATE_ELDERLY,
            ReceiptNumbers::Unknown { .. } => UNKNOWN_NUMBER,
        }
    }

    /// 枝番 (goes into the SN record; none on an unknown receipt).
    pub fn branch(&self) -> Option<&str> {
        match self {
            ReceiptNumbers::Known(n) => n.branch.as_deref(),
            ReceiptNumbers::Unknown { .. } => None,
        }
    }

    /// Whether this is the unknown receipt's 7s.
    pub fn is_unknown(&self) -> bool {
        matches!(self, ReceiptNumbers::Unknown { .. })
    }

    /// The HO record's 保険者番号: 8 characters, a 6-digit 国保 number right-aligned with
    /// spaces.
    fn insurer_field(&self) -> String {
        format!("{:>8}", self.insurer_number())
    }
}

/// The receipt header of one claim.
///
/// Serialised (into the journal and the CLI's output) with the numbers flat beside the step:
/// `{"step", "insurer_number", "symbol", "number", "branch", "remarks"}`, and
/// `"public_expenses"` only when there are some (so a header without 公費 is stored as before).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptHeader {
    pub step: ClaimStep,
    /// The patient's numbers or the unknown receipt's.
    pub numbers: ReceiptNumbers,
    /// 摘要 lines (one CO record each).
    pub remarks: Vec<String>,
    /// The 公費 of the visit, in priority order (第1公費 first; at most
    /// [`MAX_PUBLIC_EXPENSES`]); one KO record each. Set by
    /// [`ReceiptHeader::with_public_expenses`].
    pub public_expenses: Vec<PublicExpense>,
}

impl Serialize for ReceiptHeader {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Flat<'a> {
            step: ClaimStep,
            insurer_number: &'a str,
            symbol: Option<&'a str>,
            number: &'a str,
            branch: Option<&'a str>,
            remarks: &'a [String],
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            public_expenses: &'a [PublicExpense],
        }
        Flat {
            step: self.step,
            insurer_number: self.insurer_number(),
            symbol: self.symbol(),
            number: self.number(),
            branch: self.branch(),
            remarks: &self.remarks,
            public_expenses: &self.public_expenses,
        }
        .serialize(s)
    }
}

impl ReceiptHeader {
    /// Step ① or ②: the numbers as they are.
    pub fn with_numbers(step: ClaimStep, numbers: &InsuranceNumbers) -> Self {
        Self {
            step,
            numbers: ReceiptNumbers::Known(numbers.clone()),
            remarks: Vec::new(),
            public_expenses: Vec::new(),
        }
    }

    /// Step ③: the unknown receipt (不詳レセプト).
    pub fn unknown(late_elderly: bool, insurer: UnknownInsurer, contact: &DeclaredContact) -> Self {
        let mut remark = UNKNOWN_REMARK.to_owned();
        for (label, value) in [
            ("住所", &contact.address),
            ("事業所", &contact.employer),
            ("電話", &contact.phone),
        ] {
            if let Some(v) = value {
                remark.push_str(&format!("　{label}：{v}"));
            }
        }
        Self {
            step: ClaimStep::SelfDeclaration,
            numbers: ReceiptNumbers::Unknown {
                insurer,
                late_elderly,
            },
            remarks: vec![remark],
            public_expenses: Vec::new(),
        }
    }

    /// The 公費 that apply to the visit, in the charge's priority order
    /// ([`DeskCharge::applying`]: an entitlement out of its dates or without a rule is left
    /// off). More than [`MAX_PUBLIC_EXPENSES`] is an error: the desk decides which apply.
    pub fn with_public_expenses(
        mut self,
        charge: &DeskCharge,
    ) -> Result<Self, TooManyPublicExpenses> {
        let applying: Vec<PublicExpense> = charge.applying().map(|l| l.expense.clone()).collect();
        if applying.len() > MAX_PUBLIC_EXPENSES {
            return Err(TooManyPublicExpenses {
                count: applying.len(),
            });
        }
        self.public_expenses = applying;
        Ok(self)
    }

    /// 保険者番号 (see [`ReceiptNumbers::insurer_number`]).
    pub fn insurer_number(&self) -> &str {
        self.numbers.insurer_number()
    }

    /// 記号
    pub fn symbol(&self) -> Option<&str> {
        self.numbers.symbol()
    }

    /// 番号
    pub fn number(&self) -> &str {
        self.numbers.number()
    }

    /// 枝番
    pub fn branch(&self) -> Option<&str> {
        self.numbers.branch()
    }

    /// Step ③ from the patient's self-declaration. The patient is taken as a 後期高齢者 when
    /// they declared it, or declared "unknown" but are 75 or over on the declaration date
    /// (almost everyone of 75 is in 後期高齢者医療).
    pub fn from_declaration(declaration: &SelfDeclaration, insurer: UnknownInsurer) -> Self {
        let late_elderly = match declaration.insurance_kind {
            Some(InsuranceKind::LateElderly) => true,
            None | Some(InsuranceKind::Unknown) => declaration
                .birthdate
                .is_some_and(|b| age_band(b, declaration.date) == AgeBand::From75),
            Some(InsuranceKind::Employee | InsuranceKind::National) => false,
        };
        Self::unknown(
            late_elderly,
            insurer,
            &DeclaredContact {
                address: declaration.address.clone(),
                employer: declaration.employer.clone(),
                phone: declaration.phone.clone(),
            },
        )
    }

    /// The HO, KO, SN and CO records, in that order (see the module documentation for the
    /// layout and what is unconfirmed).
    pub fn records(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut ho = vec![
            "HO".to_owned(),
            self.numbers.insurer_field(),
            field(self.symbol().unwrap_or("")),
            field(self.number()),
        ];
        ho.extend(std::iter::repeat_n(String::new(), 11));
        lines.push(ho.join(","));
        for expense in &self.public_expenses {
            let mut ko = vec![
                "KO".to_owned(),
                expense.payer.as_str().to_owned(),
                expense
                    .recipient
                    .as_ref()
                    .map_or_else(String::new, |r| r.as_str().to_owned()),
            ];
            ko.extend(std::iter::repeat_n(String::new(), KO_FIELDS - ko.len()));
            lines.push(ko.join(","));
        }
        if let Some(branch) = self.branch() {
            lines.push(["SN", "1", "01", "", "", "", &field(branch), "", ""].join(","));
        }
        for remark in &self.remarks {
            lines.push(["CO", "99", "1", FREE_COMMENT_CODE, &field(remark)].join(","));
        }
        lines
    }
}

/// A value made safe for a comma-separated record.
fn field(s: &str) -> String {
    s.replace(',', "、")
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::declaration::Facility;
    use super::*;
    use crate::domain::numbers::InsurerNumber;
    use time::macros::date;

    fn declaration(kind: InsuranceKind) -> SelfDeclaration {
        SelfDeclaration {
            facility: Facility {
                name: "テスト診療所".into(),
                code: "1312345678".into(),
            },
            date: date!(2026 - 11 - 21),
            name: Some("山田 花子".into()),
            name_kana: Some("ヤマダ ハナコ".into()),
            birthdate: Some(date!(1980 - 04 - 01)),
            sex: None,
            address: Some("東京都千代田区霞が関1-2-2".into()),
            phone: Some("03-1234-5678".into()),
            insurance_kind: Some(kind),
            insurer_name: None,
            employer: Some("霞が関商事株式会社".into()),
            symbol: None,
            number: None,
            relationship: None,
            ratio: None,
        }
    }

    #[test]
    fn employee_insurance_declaration_gives_the_unknown_receipt() {
        let h = ReceiptHeader::from_declaration(
            &declaration(InsuranceKind::Employee),
            UnknownInsurer::Plain,
        );
        assert_eq!(
            h.records(),
            [
                "HO,77777777,,777777777,,,,,,,,,,,",
                "CO,99,1,810000001,不詳　住所：東京都千代田区霞が関1-2-2　事業所：霞が関商事株式会社　電話：03-1234-5678",
            ]
        );
    }

    #[test]
    fn national_insurance_declaration_with_a_check_digit_insurer() {
        let mut d = declaration(InsuranceKind::National);
        d.employer = None;
        d.address = Some("大阪府大阪市北区中之島1,3,20".into());
        let h = ReceiptHeader::from_declaration(&d, UnknownInsurer::CheckDigit);
        assert_eq!(
            h.records(),
            [
                "HO,77777779,,777777777,,,,,,,,,,,",
                "CO,99,1,810000001,不詳　住所：大阪府大阪市北区中之島1、3、20　電話：03-1234-5678",
            ]
        );
    }

    #[test]
    fn late_elderly_declaration_gets_the_eight_digit_number() {
        let mut d = declaration(InsuranceKind::LateElderly);
        d.employer = None;
        d.phone = None;
        d.address = None;
        let h = ReceiptHeader::from_declaration(&d, UnknownInsurer::Plain);
        assert_eq!(
            h.records(),
            ["HO,77777777,,77777777,,,,,,,,,,,", "CO,99,1,810000001,不詳"]
        );
        // "Unknown" at 75 or over is taken as 後期高齢者; at 74 it is not.
        let mut d = declaration(InsuranceKind::Unknown);
        d.birthdate = Some(date!(1951 - 11 - 21));
        assert_eq!(
            ReceiptHeader::from_declaration(&d, UnknownInsurer::Plain).number(),
            UNKNOWN_NUMBER_LATE_ELDERLY
        );
        d.birthdate = Some(date!(1951 - 11 - 22));
        assert_eq!(
            ReceiptHeader::from_declaration(&d, UnknownInsurer::Plain).number(),
            UNKNOWN_NUMBER
        );
    }

    #[test]
    fn old_numbers_step_two_with_branch_in_sn_and_kokuho_padding() {
        let numbers = InsuranceNumbers {
            insurer_number: InsurerNumber::parse("138057").expect("国保"),
            symbol: Some("千代田".into()),
            number: "12345".into(),
            branch: Some("01".into()),
        };
        let h = ReceiptHeader::with_numbers(ClaimStep::OldNumbers, &numbers);
        assert_eq!(h.insurer_number(), "138057");
        assert_eq!(
            h.records(),
            ["HO,  138057,千代田,12345,,,,,,,,,,,", "SN,1,01,,,,01,,",]
        );
        let shaho = InsuranceNumbers {
            insurer_number: InsurerNumber::parse("01130012").expect("協会けんぽ"),
            symbol: Some("5012345".into()),
            number: "1024".into(),
            branch: Some("00".into()),
        };
        assert_eq!(
            ReceiptHeader::with_numbers(ClaimStep::CurrentNumbers, &shaho).records(),
            ["HO,01130012,5012345,1024,,,,,,,,,,,", "SN,1,01,,,,00,,"]
        );
    }

    #[test]
    fn the_header_is_stored_with_its_numbers_flat_as_before() {
        // The journal keeps this JSON and reads `$.insurer_number` from it.
        let numbers = InsuranceNumbers {
            insurer_number: InsurerNumber::parse("138057").expect("国保"),
            symbol: Some("千代田".into()),
            number: "12345".into(),
            branch: Some("01".into()),
        };
        let h = ReceiptHeader::with_numbers(ClaimStep::OldNumbers, &numbers);
        assert_eq!(
            serde_json::to_string(&h).expect("json"),
            r#"{"step":"old_numbers","insurer_number":"138057","symbol":"千代田","number":"12345","branch":"01","remarks":[]}"#
        );
        let h = ReceiptHeader::unknown(
            true,
            UnknownInsurer::CheckDigit,
            &DeclaredContact::default(),
        );
        assert!(h.numbers.is_unknown());
        assert_eq!(
            serde_json::to_string(&h).expect("json"),
            r#"{"step":"self_declaration","insurer_number":"77777779","symbol":null,"number":"77777777","branch":null,"remarks":["不詳"]}"#
        );
    }

    #[test]
    fn never_the_disaster_nines() {
        for late in [false, true] {
            for insurer in [UnknownInsurer::Plain, UnknownInsurer::CheckDigit] {
                let h = ReceiptHeader::unknown(late, insurer, &DeclaredContact::default());
                assert!(!h.records().concat().contains("9999"));
            }
        }
    }

    // ---- 公費 (KO records) ------------------------------------------------------------------

    use crate::domain::numbers::{PublicPayerNumber, RecipientNumber};
    use crate::domain::public_expense::table::BenefitTable;
    use crate::domain::public_expense::PublicExpenseSource;
    use crate::domain::ratio::Ratio;
    use time::Date;

    /// A visit inside every persona's 有効期間.
    const VISIT: Date = date!(2026 - 12 - 03);

    /// The personas' certificates (pe-common: Tokyo numbers, valid check digits).
    fn expense(payer: &str, recipient: Option<&str>) -> PublicExpense {
        PublicExpense {
            payer: PublicPayerNumber::parse(payer).expect("payer"),
            recipient: recipient.map(|r| RecipientNumber::parse(r).expect("recipient")),
            valid_from: Some(date!(2026 - 04 - 01)),
            valid_until: None,
            income_category: None,
            monthly_cap_yen: Some(10_000),
            name: None,
            source: PublicExpenseSource::Online,
        }
    }

    fn shaho() -> ReceiptHeader {
        let numbers = InsuranceNumbers {
            insurer_number: InsurerNumber::parse("01130012").expect("協会けんぽ"),
            symbol: Some("5012345".into()),
            number: "1024".into(),
            branch: Some("00".into()),
        };
        ReceiptHeader::with_numbers(ClaimStep::CurrentNumbers, &numbers)
    }

    fn charge(expenses: &[PublicExpense], birth: Date) -> DeskCharge {
        DeskCharge::assess(
            Some(Ratio::THREE),
            expenses,
            &BenefitTable::builtin(),
            Some(birth),
            VISIT,
        )
    }

    /// Splits the lines the way a receipt computer reads them: one record per line, fields
    /// by `,`, the record kind first.
    fn read_back(lines: &[String]) -> Vec<(String, Vec<String>)> {
        lines
            .join("\r\n")
            .split("\r\n")
            .map(|line| {
                let mut fields = line.split(',').map(str::to_owned);
                let kind = fields.next().unwrap_or_default();
                (kind, fields.collect())
            })
            .collect()
    }

    #[test]
    fn no_public_expense_no_ko_record() {
        let h = shaho()
            .with_public_expenses(&charge(&[], date!(1980 - 05 - 05)))
            .expect("none");
        assert_eq!(
            h.records(),
            ["HO,01130012,5012345,1024,,,,,,,,,,,", "SN,1,01,,,,00,,"]
        );
        // Stored exactly as before 公費 existed.
        assert!(!serde_json::to_string(&h)
            .expect("json")
            .contains("public_expenses"));
    }

    #[test]
    fn one_public_expense_is_one_ko_line_after_ho_and_before_sn_and_co() {
        let mut h = shaho()
            .with_public_expenses(&charge(
                &[expense("88132014", Some("1234566"))],
                date!(2023 - 06 - 10),
            ))
            .expect("one");
        h.remarks.push("摘要".into());
        assert_eq!(
            h.records(),
            [
                "HO,01130012,5012345,1024,,,,,,,,,,,",
                "KO,88132014,1234566,,,,,,,,,",
                "SN,1,01,,,,00,,",
                "CO,99,1,810000001,摘要",
            ]
        );
        let json = serde_json::to_value(&h).expect("json");
        assert_eq!(json["public_expenses"][0]["payer"], "88132014");
        assert_eq!(json["public_expenses"][0]["recipient"], "1234566");
    }

    #[test]
    fn two_public_expenses_national_before_municipal_whatever_the_input_order() {
        // A 10-year-old with the municipal 子ども医療費助成 and a national 難病 certificate.
        let h = shaho()
            .with_public_expenses(&charge(
                &[
                    expense("88133012", Some("2345677")),
                    expense("54130018", Some("3456788")),
                ],
                date!(2016 - 05 - 05),
            ))
            .expect("two");
        let records = read_back(&h.records());
        let kinds: Vec<&str> = records.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, ["HO", "KO", "KO", "SN"]);
        let ko: Vec<(&str, &str)> = records
            .iter()
            .filter(|(k, _)| k == "KO")
            .map(|(_, f)| (f[0].as_str(), f[1].as_str()))
            .collect();
        assert_eq!(ko, [("54130018", "3456788"), ("88133012", "2345677")]);
        for (kind, fields) in &records {
            if kind == "KO" {
                assert_eq!(fields.len() + 1, KO_FIELDS);
                assert!(fields[2..].iter().all(String::is_empty), "{fields:?}");
            }
        }
    }

    #[test]
    fn welfare_comes_after_the_national_schemes_and_before_municipal_ones() {
        let h = shaho()
            .with_public_expenses(&charge(
                &[
                    expense("88133012", Some("2345677")),
                    expense("12130019", Some("4567899")),
                    expense("54130018", Some("3456788")),
                ],
                date!(2016 - 05 - 05),
            ))
            .expect("three");
        let payers: Vec<&str> = h.public_expenses.iter().map(|e| e.payer.as_str()).collect();
        assert_eq!(payers, ["54130018", "12130019", "88133012"]);
    }

    #[test]
    fn a_certificate_out_of_its_dates_or_without_a_rule_gets_no_ko_line() {
        let mut old = expense("54130018", Some("3456788"));
        old.valid_until = Some(date!(2026 - 06 - 30));
        let unknown = expense(&with_check("9913010"), None);
        let h = shaho()
            .with_public_expenses(&charge(&[old, unknown], date!(1980 - 05 - 05)))
            .expect("none apply");
        assert!(h.public_expenses.is_empty());
        assert!(!h.records().iter().any(|l| l.starts_with("KO")));
    }

    #[test]
    fn a_public_expense_without_a_recipient_number_leaves_the_field_empty() {
        let h = shaho()
            .with_public_expenses(&charge(&[expense("12130019", None)], date!(1980 - 05 - 05)))
            .expect("one");
        assert_eq!(h.records()[1], "KO,12130019,,,,,,,,,,");
    }

    #[test]
    fn five_public_expenses_are_refused_with_a_japanese_message() {
        let five: Vec<PublicExpense> = ["1513", "1613", "2113", "5213", "5413"]
            .iter()
            .map(|p| expense(&with_check(&format!("{p}001")), Some("1234566")))
            .collect();
        let err = shaho()
            .with_public_expenses(&charge(&five, date!(1980 - 05 - 05)))
            .expect_err("five");
        assert_eq!(err.count, 5);
        assert!(err.message().contains("4件まで"), "{}", err.message());
        // Four is the most, and fine.
        let h = shaho()
            .with_public_expenses(&charge(&five[..4], date!(1980 - 05 - 05)))
            .expect("four");
        assert_eq!(
            h.records().iter().filter(|l| l.starts_with("KO,")).count(),
            4
        );
    }

    #[test]
    fn the_unknown_receipt_carries_its_public_expenses_too() {
        let h = ReceiptHeader::unknown(false, UnknownInsurer::Plain, &DeclaredContact::default())
            .with_public_expenses(&charge(
                &[expense("54130018", Some("3456788"))],
                date!(1980 - 05 - 05),
            ))
            .expect("one");
        assert_eq!(
            h.records(),
            [
                "HO,77777777,,777777777,,,,,,,,,,,",
                "KO,54130018,3456788,,,,,,,,,",
                "CO,99,1,810000001,不詳",
            ]
        );
    }

    fn with_check(body: &str) -> String {
        let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
        let d = crate::domain::numbers::check_digit(&digits);
        format!("{body}{d}")
    }
}
