//! 被保険者資格申立書: the patient's self-declaration when nothing confirms the qualification
//! (claim path ③). The official template was not found (**unconfirmed**); the fields are the
//! ones listed in `docs/domain.md#self-declaration`. Everything the patient may leave for
//! handwriting is an `Option`: `None` prints as a blank to fill in by hand.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::domain::ratio::Ratio;

/// 性別 as the form asks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// 男
    Male,
    /// 女
    Female,
}

/// 保険の種類 as the patient believes it to be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InsuranceKind {
    /// 被用者保険 (社保: 協会けんぽ, 組合健保, 共済 …)
    Employee,
    /// 国民健康保険
    National,
    /// 後期高齢者医療
    LateElderly,
    /// わからない
    #[default]
    Unknown,
}

/// 本人・家族 (PersonalFamilyClassification).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    /// 本人 (the insured person)
    Insured,
    /// 家族 (a dependant)
    Dependant,
}

/// The facility printed on the form (医療機関名, 医療機関コード).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facility {
    /// 医療機関・薬局の名称
    pub name: String,
    /// 医療機関コード (10 digits)
    pub code: String,
}

/// The content of one 被保険者資格申立書, validated: every string is width-normalised, trimmed,
/// free of control characters and of a length the form can hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfDeclaration {
    pub facility: Facility,
    /// 申立日 (the visit date)
    pub date: Date,
    /// 氏名
    pub name: Option<String>,
    /// フリガナ (full-width katakana as typed)
    pub name_kana: Option<String>,
    /// 生年月日 (never in the future)
    pub birthdate: Option<Date>,
    /// 性別
    pub sex: Option<Sex>,
    /// 住所
    pub address: Option<String>,
    /// 電話番号
    pub phone: Option<String>,
    /// 保険の種類; `None` when not asked yet (the printed form then has no box ticked, for
    /// the patient to tick by hand), which is not the patient's answer わからない.
    pub insurance_kind: Option<InsuranceKind>,
    /// 保険者名 (as far as known)
    pub insurer_name: Option<String>,
    /// 事業所名 (employer, for 被用者保険)
    pub employer: Option<String>,
    /// 記号 (if known)
    pub symbol: Option<String>,
    /// 番号 (if known)
    pub number: Option<String>,
    /// 本人・家族
    pub relationship: Option<Relationship>,
    /// 負担割合 charged at the desk (the age rule, 3割 when in doubt for ages 6–69)
    pub ratio: Option<Ratio>,
}
