//! 公費負担医療 and local 医療費助成: a patient's public-expense entitlements (受給者証) and
//! what they change at the desk.
//!
//! Besides insurance, a patient may hold one or more 受給者証: national schemes (生活保護,
//! 難病, 小児慢性, 自立支援 …) and municipal 医療費助成 (乳幼児・子ども, ひとり親, 障害者 …).
//! Each is a [`PublicExpense`]: the 公費負担者番号 (whose first two digits, the 法別番号,
//! tell the scheme), the 受給者番号, the dates it is valid, and what the certificate prints
//! about the patient's share (an income category, a monthly cap).
//!
//! What the scheme pays is **data, not code** ([`table`]): a municipality's rules change every
//! April, so the facility keeps a table (TOML) of rules matched by payer number, date and age.
//! [`charge`] applies the insurance ratio and then each 公費 in order of priority to give what
//! the patient pays today.
//!
//! An entitlement comes from the online answer (since 2026 municipalities link their 受給者証
//! to the My Number card through PMH; the element names are the project's own, see
//! `docs/online-api.md`) or from a paper 受給者証 typed in at the desk.
//!
//! Sources and status of every rule: `docs/domain.md#public-expense`.

pub mod charge;
pub mod table;

use serde::Serialize;
use time::Date;

use super::numbers::{PublicPayerNumber, RecipientNumber};

/// Where an entitlement was learnt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicExpenseSource {
    /// Carried by the online answer (PMH-linked 受給者証).
    Online,
    /// A paper 受給者証 (or 医療証) typed in at the desk.
    Paper,
}

impl PublicExpenseSource {
    pub fn label(self) -> &'static str {
        match self {
            PublicExpenseSource::Online => "オンライン(PMH)",
            PublicExpenseSource::Paper => "紙の受給者証",
        }
    }
}

/// One public-expense entitlement (公費 / 医療費助成の受給者証).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublicExpense {
    /// 公費負担者番号 (8 digits with check digit).
    pub payer: PublicPayerNumber,
    /// 公費受給者番号 (7 digits). 生活保護 and some municipal schemes may have none on the
    /// answer; a paper entry may leave it empty only where the certificate prints none.
    pub recipient: Option<RecipientNumber>,
    /// 有効期間 (開始日): the first day the certificate is valid.
    pub valid_from: Option<Date>,
    /// 有効期間 (終了日): the last day, inclusive. Absent is "not stated", never "expired".
    pub valid_until: Option<Date>,
    /// 所得区分 as printed (e.g. `一般`, `低所得Ⅰ`, a municipality's own code); the table may
    /// key a rule on it.
    pub income_category: Option<String>,
    /// 自己負担上限額 (月額) printed on the certificate (難病, 小児慢性, 自立支援), in yen;
    /// used by a rule whose cap is `certificate`.
    pub monthly_cap_yen: Option<u32>,
    /// The scheme's name as the source gives it (e.g. 「子ども医療費助成」); display only.
    pub name: Option<String>,
    pub source: PublicExpenseSource,
}

impl PublicExpense {
    /// 法別番号: the first two digits of the 公費負担者番号, telling the scheme.
    pub fn law_number(&self) -> LawNumber {
        LawNumber::of(&self.payer)
    }

    /// Whether the certificate is valid on `on` (absent dates do not limit it).
    pub fn valid_on(&self, on: Date) -> bool {
        self.valid_from.is_none_or(|f| f <= on) && self.valid_until.is_none_or(|u| on <= u)
    }
}

/// 法別番号: the two leading digits of a 公費負担者番号.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct LawNumber(u8);

impl LawNumber {
    pub fn of(payer: &PublicPayerNumber) -> LawNumber {
        let b = payer.as_str().as_bytes();
        // A PublicPayerNumber is 8 ASCII digits by construction.
        let d = |i: usize| b.get(i).map_or(0, |c| c.saturating_sub(b'0'));
        LawNumber(d(0) * 10 + d(1))
    }

    pub fn value(self) -> u8 {
        self.0
    }

    /// The national scheme this 法別番号 names, when it is one the project knows; municipal
    /// schemes (法別 80番台 and others chosen by prefectures) are named by the facility's table.
    ///
    /// Source: the MHLW list of 法別番号 (「法別番号及び制度の略称表」, in the receipt
    /// specification S10); held only as the values below, **unconfirmed** against the text.
    pub fn national_scheme(self) -> Option<&'static str> {
        Some(match self.0 {
            10 => "感染症法(結核適正医療)",
            12 => "生活保護",
            13 | 14 => "戦傷病者特別援護法",
            15 => "障害者総合支援法(更生医療)",
            16 => "障害者総合支援法(育成医療)",
            17 => "児童福祉法(療育の給付)",
            19 | 30 => "原爆被爆者援護法",
            21 => "障害者総合支援法(精神通院医療)",
            22 | 23 => "麻薬及び向精神薬取締法・精神保健福祉法",
            24 => "障害者総合支援法(療養介護医療)",
            25 => "中国残留邦人等支援法",
            28 | 29 => "感染症法(入院)",
            38 => "肝炎治療特別促進事業",
            51 => "特定疾患治療研究事業",
            52 => "小児慢性特定疾病医療支援",
            53 => "児童福祉法(措置等)",
            54 => "難病法(特定医療)",
            62 => "特定B型肝炎ウイルス感染者給付金",
            66 => "石綿健康被害救済法",
            79 => "障害児施設医療",
            _ => return None,
        })
    }
}
