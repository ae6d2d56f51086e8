//! 限度額適用区分 (the high-cost limit category) by its meaning: the answer carries a code
//! (`A03`), the clerk needs 「区分ウ」 and, for the patient's question, what income it stands for.
//!
//! The codes come with the patient's consent in `LimitApplicationCertificateClassification`
//! (see `docs/online-api.md`): `A01`–`A06` for patients under 70, `B01`–`B10` for 70 and over.
//!
//! Sources:
//! - The categories and their income bands (S15 of `docs/domain.md`#limit): 厚生労働省
//!   「高額療養費制度を利用される皆さまへ」
//!   (70歳未満 ア〜オ since 2015-01-01, 平成27年1月診療分; 70歳以上 現役並みⅠ〜Ⅲ・一般・
//!   低所得Ⅰ/Ⅱ since 2018-08-01, 平成30年8月診療分); 後期高齢者 一般Ⅱ (2割) since
//!   2022-10-01 (令和4年10月1日, 高齢者の医療の確保に関する法律 改正). Until further notice.
//! - Which code stands for which category: the code table 限度額適用認定証区分 of the
//!   オンライン資格確認 interface specification (外部インターフェイス仕様書), which is not
//!   public; the table below is the one public receipt-computer code uses (S12).
//!   **Unconfirmed.** No setting: the desk only shows the category (nothing is computed on
//!   it) and always shows the code beside it, so a wrong row is seen at the desk and an unknown
//!   code is shown as 「区分不明 (コード X)」, never guessed.

/// One 限度額適用区分: the label a clerk says and the income it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitCategory {
    /// The code as received (`A03`).
    pub code: &'static str,
    /// What receipt computers and the 限度額適用認定証 print (「区分ウ」, 「現役並みⅡ」).
    pub label: &'static str,
    /// The income band, for the patient's question (「年収約370〜約770万円」).
    pub meaning: &'static str,
}

const fn category(code: &'static str, label: &'static str, meaning: &'static str) -> LimitCategory {
    LimitCategory {
        code,
        label,
        meaning,
    }
}

/// Every known code (sources and status in the module documentation).
pub const LIMIT_CATEGORIES: [LimitCategory; 16] = [
    // 70歳未満 (since 2015-01-01).
    category(
        "A01",
        "区分ア",
        "70歳未満・年収約1,160万円以上(標準報酬月額83万円以上)",
    ),
    category(
        "A02",
        "区分イ",
        "70歳未満・年収約770〜約1,160万円(標準報酬月額53万〜79万円)",
    ),
    category(
        "A03",
        "区分ウ",
        "70歳未満・年収約370〜約770万円(標準報酬月額28万〜50万円)",
    ),
    category(
        "A04",
        "区分エ",
        "70歳未満・年収約370万円まで(標準報酬月額26万円以下)",
    ),
    category("A05", "区分オ", "70歳未満・住民税非課税"),
    category(
        "A06",
        "区分オ(境)",
        "70歳未満・境界層該当(負担を下げれば生活保護を要しない方)",
    ),
    // 70歳以上 (since 2018-08-01; 一般Ⅰ・Ⅱ since 2022-10-01).
    category(
        "B01",
        "現役並みⅢ",
        "70歳以上・年収約1,160万円以上(課税所得690万円以上)",
    ),
    category(
        "B02",
        "現役並みⅡ",
        "70歳以上・年収約770〜約1,160万円(課税所得380万円以上)",
    ),
    category(
        "B03",
        "現役並みⅠ",
        "70歳以上・年収約370〜約770万円(課税所得145万円以上)",
    ),
    category("B04", "一般", "70歳以上・年収約156〜約370万円"),
    category("B05", "低所得Ⅱ", "70歳以上・住民税非課税世帯"),
    category(
        "B06",
        "低所得Ⅰ",
        "70歳以上・住民税非課税世帯(年金収入80万円以下など)",
    ),
    category(
        "B07",
        "低所得Ⅰ(老福)",
        "70歳以上・住民税非課税世帯で老齢福祉年金を受給",
    ),
    category("B08", "低所得Ⅰ(境)", "70歳以上・境界層該当"),
    category(
        "B09",
        "一般Ⅱ",
        "後期高齢者医療・窓口負担2割の一般所得(2022年10月から)",
    ),
    category(
        "B10",
        "一般Ⅰ",
        "後期高齢者医療・窓口負担1割の一般所得(2022年10月から)",
    ),
];

/// The category of a received code (surrounding spaces and full-width letters tolerated, as
/// the service's other codes are); `None` for a code not in the table.
pub fn limit_category(code: &str) -> Option<LimitCategory> {
    let code = super::text::normalize_width(code.trim()).to_ascii_uppercase();
    LIMIT_CATEGORIES.iter().copied().find(|c| c.code == code)
}

/// What the desk shows for a received code: 「区分ウ」, or 「区分不明 (コード X)」 for a code
/// not in the table (escaped for display, so a hostile code cannot draw anything).
pub fn limit_label(code: &str) -> String {
    match limit_category(code) {
        Some(c) => c.label.to_owned(),
        None if code.trim().is_empty() => "区分不明 (コードなし)".to_owned(),
        None => format!(
            "区分不明 (コード {})",
            super::text::for_display_limited(code.trim(), 16)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_the_clerk_says_them() {
        assert_eq!(limit_label("A01"), "区分ア");
        assert_eq!(limit_label("A03"), "区分ウ");
        assert_eq!(limit_label("A05"), "区分オ");
        assert_eq!(limit_label("B01"), "現役並みⅢ");
        assert_eq!(limit_label("B04"), "一般");
        assert_eq!(limit_label("B09"), "一般Ⅱ");
        assert_eq!(limit_label(" ａ０３ "), "区分ウ");
        let u = limit_category("A03").expect("A03");
        assert!(u.meaning.contains("年収約370〜約770万円"), "{}", u.meaning);
    }

    #[test]
    fn every_code_is_listed_once_with_a_meaning() {
        let mut codes: Vec<&str> = LIMIT_CATEGORIES.iter().map(|c| c.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), LIMIT_CATEGORIES.len());
        for c in LIMIT_CATEGORIES {
            assert!(!c.label.is_empty() && !c.meaning.is_empty(), "{c:?}");
            assert_eq!(limit_category(c.code), Some(c));
        }
    }

    #[test]
    fn unknown_codes_are_said_never_guessed() {
        assert_eq!(limit_label("A07"), "区分不明 (コード A07)");
        assert_eq!(limit_label("C01"), "区分不明 (コード C01)");
        assert_eq!(limit_label(""), "区分不明 (コードなし)");
        assert!(limit_category("A0").is_none());
        assert!(!limit_label("A0\u{1b}[2J").contains('\u{1b}'));
    }
}
