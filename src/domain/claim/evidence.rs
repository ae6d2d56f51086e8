//! What the patient shows when the card gives no usable answer (claim path ①), and whether
//! each piece counts on the check date.
//!
//! The rules changed several times during the move from paper 保険証 to マイナ保険証, and the
//! desk has to apply the rule of the visit date, not of today: a claim made later for an old
//! visit follows the rule that held on the visit. So every rule with a date is a constant
//! below, named and documented, and [`Evidence::assess`] takes the check date.
//!
//! Each rule's public source, first and last day and status are in
//! `docs/domain.md#evidence`; the dated constants are listed in `docs/domain.md#date-constants`.

use serde::Serialize;
use time::macros::date;
use time::{Date, Month};

use crate::domain::dates::{add_years, format_wareki};
use crate::domain::numbers::{InsuranceNumbers, InsurerKind};
use crate::domain::ratio::Ratio;

/// The last day any old paper 保険証 (被保険者証) could be used: they stopped being issued on
/// 2024-12-02 and stayed usable for at most one year, until 2025-12-01 (経過措置).
///
/// Source: MHLW's slides 「マイナ保険証の利用促進等について」 (autumn 2024: 「健康保険証は、
/// 12月２日以降、有効期限の範囲内で最長１年間使用可能」) and insurers' notices to their members
/// (2024: 「最長1年間（令和7年12月1日まで）使用可能」). First day of the transitional rule
/// 2024-12-02, last day 2025-12-01; confirmed. See `docs/domain.md#evidence`.
pub const INSURANCE_CARD_LAST_DAY: Date = date!(2025 - 12 - 01);

/// 暫定的な取扱い: until 2026-03-31 a facility could accept an expired 保険証, or the
/// 資格情報のお知らせ shown alone (without the card), as proof of the current qualification,
/// after checking the numbers online where it could.
///
/// Source: MHLW 事務連絡 of 2025-06-27 (expired 国保 / 後期高齢者 保険証, 「令和8年3月末まで」)
/// and of 2025-11-12 「マイナ保険証を基本とする仕組みへの移行について(周知)」 (「こうした対応は
/// 令和8年3月末までの暫定的な対応」), as quoted in public reports of them (the project holds no
/// copy). Last day 2026-03-31; confirmed. First days: [`TEMPORARY_RULE_FIRST_DAY`] and
/// [`TEMPORARY_RULE_NATIONAL_FIRST_DAY`]. See `docs/domain.md#evidence`.
pub const TEMPORARY_RULE_LAST_DAY: Date = date!(2026 - 03 - 31);

/// First day of the temporary rule for everyone: from 2025-12-02 an expired 保険証 of any
/// insurer, or the お知らせ shown alone, could be accepted.
///
/// Source: MHLW 事務連絡 of 2025-11-12 (「12月2日以降、期限切れに気がつかずに健康保険証を引き
/// 続き持参してしまった患者や、…「資格情報のお知らせ」のみを持参する患者については、…加入して
/// いる保険者によらず」), quoted by 全国保険医団体連合会 on 2025-11-12. Valid 2025-12-02 to
/// [`TEMPORARY_RULE_LAST_DAY`]; confirmed. See `docs/domain.md#evidence`.
pub const TEMPORARY_RULE_FIRST_DAY: Date = date!(2025 - 12 - 02);

/// First day of the earlier temporary rule for the 保険証 of 国民健康保険 and 後期高齢者医療,
/// most of which expired on 2025-07-31: from 2025-08-01 such an expired card could be accepted.
///
/// Source: MHLW 事務連絡 of 2025-06-27 「健康保険証の有効期限切れに伴う暫定的な取扱いについて」
/// (「令和7年8月1日以降、多数の自治体において国民健康保険の健康保険証が有効期限切れにより順次
/// 失効」), as reported by municipalities (唐津市, for facilities) and professional news. Valid
/// 2025-08-01 to [`TEMPORARY_RULE_LAST_DAY`]; confirmed as to the date. Whether it also covered
/// the お知らせ alone or other insurers' cards is **unconfirmed**: the code takes the narrower
/// reading (those wait for [`TEMPORARY_RULE_FIRST_DAY`]); see `docs/domain.md#open-questions`.
pub const TEMPORARY_RULE_NATIONAL_FIRST_DAY: Date = date!(2025 - 08 - 01);

/// Last day of the temporary operation under which every 後期高齢者 was sent a 資格確認書
/// whatever their card. It is **not** the expiry of those certificates: the desk reads the
/// certificate's own 有効期限 (see [`Evidence::assess`]).
///
/// Source: MHLW's slides 「マイナ保険証の利用促進等について」 (autumn 2024: 「令和７年7月末までの
/// 暫定的な運用」), extended to 2026-07-31 by MHLW's notice of 2025-04-03 as 広域連合 and
/// municipalities publish it (e.g. 南房総市, 足利市). Valid 2024-12-02 to 2026-07-31; confirmed.
/// See `docs/domain.md#elderly`.
pub const LATE_ELDERLY_ALL_CERTIFICATES_LAST_DAY: Date = date!(2026 - 07 - 31);

/// From 2026-08-01, 後期高齢者 aged 85 or over (on that day) keep receiving a 資格確認書
/// whatever their card; younger ones get one only without a マイナ保険証.
///
/// Source: 埼玉県後期高齢者医療広域連合 「令和8年8月から資格確認書の交付要件が変わります」
/// (「令和8年8月1日時点で85歳以上の被保険者の方については全員に資格確認書が」), following the
/// national policy. From 2026-08-01, until further notice; confirmed (the end is not announced).
/// See `docs/domain.md#elderly`.
pub const ELDERLY_CERTIFICATE_FIRST_DAY: Date = date!(2026 - 08 - 01);

/// The age, on [`ELDERLY_CERTIFICATE_FIRST_DAY`], from which every 後期高齢者 keeps a 資格確認書.
pub const ELDERLY_CERTIFICATE_AGE: u8 = 85;

/// A 資格確認書 is issued for at most 5 years; an expiry further away than that is a misread.
///
/// Source: MHLW's slides 「マイナ保険証の利用促進等について」 (autumn 2024), comparison table:
/// 「最大５年で保険者が定める範囲」. From 2024-12-02, until further notice; confirmed.
pub const CERTIFICATE_MAX_YEARS: i32 = 5;

/// The 高齢受給者 ratio printed on the お知らせ (ages 70–74) holds from 1 August of the period's
/// year to 31 July of the next, the period of the income assessment.
///
/// Source: the annual 高齢受給者 income assessment, not found in a document the project holds
/// (**unconfirmed**, no setting: a ratio outside its period falls back to the age rule).
/// Until further notice. See `docs/domain.md#elderly`.
pub const NOTICE_RATIO_PERIOD_START: (Month, u8) = (Month::August, 1);

/// The kinds of evidence of a current qualification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// マイナポータルの資格情報画面, on the patient's phone.
    MynaPortal,
    /// マイナポータルの資格情報 PDF (downloaded or printed).
    MynaPortalPdf,
    /// 資格情報のお知らせ (the A4 sheet with a card-size cut-out).
    QualificationNotice,
    /// 資格確認書 (the certificate card for those without a マイナ保険証).
    QualificationCertificate,
    /// A returning patient's record: numbers on file and the patient's word that nothing changed.
    PastRecord,
    /// 従来の被保険者証 (the old paper/plastic 保険証).
    InsuranceCard,
}

impl EvidenceKind {
    /// How the desk names it.
    pub fn label(self) -> &'static str {
        match self {
            EvidenceKind::MynaPortal => "マイナポータルの資格情報画面",
            EvidenceKind::MynaPortalPdf => "マイナポータルの資格情報PDF",
            EvidenceKind::QualificationNotice => "資格情報のお知らせ",
            EvidenceKind::QualificationCertificate => "資格確認書",
            EvidenceKind::PastRecord => "以前の受診時の資格情報",
            EvidenceKind::InsuranceCard => "従来の保険証",
        }
    }

    /// English name for logs.
    pub fn english(self) -> &'static str {
        match self {
            EvidenceKind::MynaPortal => "the Mynaportal qualification screen",
            EvidenceKind::MynaPortalPdf => "the Mynaportal qualification PDF",
            EvidenceKind::QualificationNotice => "the qualification notice",
            EvidenceKind::QualificationCertificate => "the qualification certificate",
            EvidenceKind::PastRecord => "the past visit's record",
            EvidenceKind::InsuranceCard => "the old insurance card",
        }
    }

    /// Whether the desk must ask that the qualification it shows has not been lost since
    /// (お知らせ, マイナポータル): the one place that says which kinds need
    /// [`Evidence::not_lost_confirmed`].
    pub fn asks_not_lost(self) -> bool {
        matches!(
            self,
            EvidenceKind::QualificationNotice
                | EvidenceKind::MynaPortal
                | EvidenceKind::MynaPortalPdf
        )
    }

    /// Which accepted evidence the plan uses first: the one that proves most on its own.
    pub(crate) fn preference(self) -> u8 {
        match self {
            EvidenceKind::QualificationCertificate => 0,
            EvidenceKind::MynaPortal | EvidenceKind::MynaPortalPdf => 1,
            EvidenceKind::QualificationNotice => 2,
            EvidenceKind::InsuranceCard => 3,
            EvidenceKind::PastRecord => 4,
        }
    }
}

/// One piece of evidence the patient shows, with what it says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub kind: EvidenceKind,
    /// The numbers it shows.
    pub numbers: InsuranceNumbers,
    /// 氏名 as printed.
    pub name: Option<String>,
    /// 生年月日 as printed.
    pub birthdate: Option<Date>,
    /// Shown together with the patient's My Number card (マイナ保険証).
    pub with_card: bool,
    /// 有効期限 (資格確認書, 保険証).
    pub valid_until: Option<Date>,
    /// 負担割合 as printed (資格確認書 for 70+, お知らせ for 70–74).
    pub ratio: Option<Ratio>,
    /// お知らせ: the year whose 1 August starts the period the printed ratio is for.
    pub ratio_period_from: Option<i32>,
    /// Past record: the patient says nothing changed since (保険が変わっていない). Without
    /// it the record is not ① but the past numbers of ② (see `plan`).
    pub unchanged: bool,
    /// お知らせ / マイナポータル: the patient says orally that this qualification has not been
    /// lost since (転職・転居など; 「喪失していない資格情報か、患者に口頭で確認」).
    pub not_lost_confirmed: bool,
}

/// Evidence that counts on the check date.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Accepted {
    /// The ratio it proves for the check date, if any.
    pub ratio: Option<Ratio>,
    /// Something the desk should know (a temporary rule applied, a ratio out of period).
    pub notes: Vec<Note>,
    /// Whether a re-check by number (個別照会) is advisable: the evidence is weaker than a
    /// document issued for the current qualification.
    pub reconfirm_advised: bool,
}

/// A sentence for the desk in Japanese, with the English for the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    pub ja: String,
    pub en: String,
}

impl Note {
    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            ja: ja.into(),
            en: en.into(),
        }
    }
}

/// Why evidence does not count.
pub type Rejection = Note;

impl Evidence {
    /// Whether this evidence proves the current qualification on `on`, for a patient born on
    /// `patient_birthdate` (when known).
    pub fn assess(&self, on: Date, patient_birthdate: Option<Date>) -> Result<Accepted, Rejection> {
        let label = self.kind.label();
        if let (Some(shown), Some(patient)) = (self.birthdate, patient_birthdate) {
            if shown != patient {
                return Err(Note::new(
                    format!(
                        "{label}の生年月日({})が患者さんの生年月日({})と一致しません。",
                        format_wareki(shown),
                        format_wareki(patient)
                    ),
                    format!(
                        "{} shows birth date {shown}, the patient's is {patient}",
                        self.kind.english()
                    ),
                ));
            }
        }
        match self.kind {
            EvidenceKind::MynaPortal | EvidenceKind::MynaPortalPdf => self.myna_portal(),
            EvidenceKind::QualificationNotice => self.notice(on),
            EvidenceKind::QualificationCertificate => self.certificate(on),
            EvidenceKind::PastRecord => self.past_record(),
            EvidenceKind::InsuranceCard => self.insurance_card(on),
        }
        .and_then(|accepted| {
            if self.kind.asks_not_lost() {
                self.not_lost()?;
            }
            Ok(accepted)
        })
    }

    /// マイナポータル (screen or PDF): proof only next to the card it belongs to; no rule ever
    /// accepted it alone, since anyone can show someone else's screen.
    fn myna_portal(&self) -> Result<Accepted, Rejection> {
        if !self.with_card {
            return Err(Note::new(
                format!(
                    "{}はマイナンバーカードと一緒に提示された場合のみ資格の確認に使えます。",
                    self.kind.label()
                ),
                format!("{} counts only shown with the card", self.kind.english()),
            ));
        }
        Ok(Accepted::default())
    }

    /// The お知らせ and the portal show a qualification as it was when printed or saved: the
    /// patient must say it has not been lost since (S1: 「※喪失していない資格情報か、患者に
    /// 口頭で確認願います。」).
    fn not_lost(&self) -> Result<(), Rejection> {
        if self.not_lost_confirmed {
            return Ok(());
        }
        Err(Note::new(
            format!(
                "{}の資格を、その後に失っていないこと(転職・退職・転居などがないこと)を患者さんに口頭で確認してください。確認できない場合は使えません。",
                self.kind.label()
            ),
            format!(
                "{}: the patient has not confirmed that the qualification was not lost since",
                self.kind.english()
            ),
        ))
    }

    /// 資格情報のお知らせ: with the card; alone only under the temporary rule
    /// ([`TEMPORARY_RULE_FIRST_DAY`] to [`TEMPORARY_RULE_LAST_DAY`]). Its 70–74 ratio holds
    /// 8/1–7/31 of its period.
    fn notice(&self, on: Date) -> Result<Accepted, Rejection> {
        let mut accepted = Accepted::default();
        if !self.with_card {
            if on < TEMPORARY_RULE_FIRST_DAY {
                return Err(Note::new(
                    "資格情報のお知らせだけでは資格を確認できません(お知らせのみで受け付ける暫定的な取扱いは2025年12月2日からです)。マイナンバーカードと一緒に提示していただく必要があります。",
                    format!("the notice alone counted only from {TEMPORARY_RULE_FIRST_DAY}"),
                ));
            }
            if on > TEMPORARY_RULE_LAST_DAY {
                return Err(Note::new(
                    "資格情報のお知らせだけで資格を確認する暫定的な取扱いは2026年3月31日で終了しました。マイナンバーカードと一緒に提示していただく必要があります。",
                    format!("the notice alone counted only until {TEMPORARY_RULE_LAST_DAY}"),
                ));
            }
            accepted.notes.push(Note::new(
                "資格情報のお知らせのみでの確認です(2026年3月31日までの暫定的な取扱い)。",
                format!(
                    "notice alone accepted by the temporary rule (until {TEMPORARY_RULE_LAST_DAY})"
                ),
            ));
            accepted.reconfirm_advised = true;
        }
        if let Some(ratio) = self.ratio {
            match self.ratio_period_from.and_then(notice_period) {
                Some((from, until)) if from <= on && on <= until => accepted.ratio = Some(ratio),
                Some((from, until)) => accepted.notes.push(Note::new(
                    format!(
                        "お知らせの負担割合は{}〜{}の分で、受診日には使えません。年齢の割合で計算します。",
                        format_wareki(from),
                        format_wareki(until)
                    ),
                    format!("the notice's ratio holds {from} to {until}, not on {on}"),
                )),
                None => accepted.notes.push(Note::new(
                    "お知らせの負担割合の適用期間が分からないため、年齢の割合で計算します。",
                    "the notice's ratio period is unknown",
                )),
            }
        }
        Ok(accepted)
    }

    /// 資格確認書: valid on its own until its 有効期限 (at most [`CERTIFICATE_MAX_YEARS`] years).
    fn certificate(&self, on: Date) -> Result<Accepted, Rejection> {
        let mut accepted = Accepted::default();
        // No expiry is ever assumed, not even for the 後期高齢者 certificates of the temporary
        // operation: the insurer sets it (「最大５年で保険者が定める範囲」), the desk reads it.
        let Some(until) = self.valid_until else {
            return Err(Note::new(
                "資格確認書の有効期限を確認して入力してください(有効期限が分からない資格確認書は使えません)。",
                "qualification certificate without an expiry date: ask for it",
            ));
        };
        if on > until {
            return Err(Note::new(
                format!(
                    "資格確認書の有効期限({})が過ぎています。",
                    format_wareki(until)
                ),
                format!("qualification certificate expired on {until}"),
            ));
        }
        if until > add_years(on, CERTIFICATE_MAX_YEARS) {
            return Err(Note::new(
                format!(
                    "資格確認書の有効期限({})が5年より先です。読み違いがないか確認してください。",
                    format_wareki(until)
                ),
                format!("expiry {until} is more than {CERTIFICATE_MAX_YEARS} years away"),
            ));
        }
        accepted.ratio = self.ratio;
        Ok(accepted)
    }

    /// A past record counts as the current qualification (①) only with the patient's word
    /// that nothing changed; without it, its numbers are past numbers for ② (see `plan`). A
    /// re-check by number is advised, since job changes are the commonest cause of a wrong
    /// claim.
    fn past_record(&self) -> Result<Accepted, Rejection> {
        if !self.unchanged {
            return Err(Note::new(
                "患者さんが保険の変更がないことを確認できないため、以前の資格情報は現在の資格(①)としては使えません(以前の資格情報として②の請求に使います)。",
                "past record without the patient's word that nothing changed: not current (①), past numbers (②)",
            ));
        }
        Ok(Accepted {
            reconfirm_advised: true,
            ..Accepted::default()
        })
    }

    /// The old 保険証: valid until its own expiry, at the latest [`INSURANCE_CARD_LAST_DAY`];
    /// once expired, accepted only under the temporary rule: from
    /// [`TEMPORARY_RULE_NATIONAL_FIRST_DAY`] (国保, 後期高齢者) or [`TEMPORARY_RULE_FIRST_DAY`]
    /// (the others) until [`TEMPORARY_RULE_LAST_DAY`].
    fn insurance_card(&self, on: Date) -> Result<Accepted, Rejection> {
        let own_expiry_passed = self.valid_until.is_some_and(|d| on > d);
        let expired = own_expiry_passed || on > INSURANCE_CARD_LAST_DAY;
        if !expired {
            return Ok(Accepted {
                reconfirm_advised: true,
                ..Accepted::default()
            });
        }
        let first_day = match self.numbers.insurer_number.kind() {
            InsurerKind::NationalHealthInsurance | InsurerKind::LateElderly => {
                TEMPORARY_RULE_NATIONAL_FIRST_DAY
            }
            _ => TEMPORARY_RULE_FIRST_DAY,
        };
        if on < first_day {
            return Err(Note::new(
                format!(
                    "保険証の有効期限が切れています。期限切れの保険証で受け付ける暫定的な取扱いは{}からです。",
                    format_wareki(first_day)
                ),
                format!("expired insurance card; the temporary rule for it began {first_day}"),
            ));
        }
        if on <= TEMPORARY_RULE_LAST_DAY {
            return Ok(Accepted {
                notes: vec![Note::new(
                    "有効期限切れの保険証ですが、2026年3月31日までの暫定的な取扱いにより資格確認に使えます。",
                    format!("expired insurance card accepted by the temporary rule (until {TEMPORARY_RULE_LAST_DAY})"),
                )],
                reconfirm_advised: true,
                ..Accepted::default()
            });
        }
        Err(Note::new(
            "従来の保険証は2025年12月1日を最後に使えなくなり、期限切れの保険証で受け付ける暫定的な取扱いも2026年3月31日で終了しました。",
            format!(
                "old insurance cards expired by {INSURANCE_CARD_LAST_DAY}; the temporary rule ended {TEMPORARY_RULE_LAST_DAY}"
            ),
        ))
    }
}

/// The お知らせ ratio period starting in `year`: 8/1 to 7/31 of the next year.
fn notice_period(year: i32) -> Option<(Date, Date)> {
    let (month, day) = NOTICE_RATIO_PERIOD_START;
    let from = Date::from_calendar_date(year, month, day).ok()?;
    let until = Date::from_calendar_date(year + 1, Month::July, 31).ok()?;
    Some((from, until))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::numbers::InsurerNumber;

    pub(crate) fn numbers(insurer: &str) -> InsuranceNumbers {
        InsuranceNumbers {
            insurer_number: InsurerNumber::parse(insurer).expect("valid insurer"),
            symbol: Some("5012345".into()),
            number: "1024".into(),
            branch: Some("00".into()),
        }
    }

    pub(crate) fn evidence(kind: EvidenceKind) -> Evidence {
        Evidence {
            kind,
            numbers: numbers("01130012"),
            name: None,
            birthdate: None,
            with_card: true,
            valid_until: None,
            ratio: None,
            ratio_period_from: None,
            unchanged: false,
            not_lost_confirmed: true,
        }
    }

    const DAY: time::Duration = time::Duration::DAY;

    #[test]
    fn myna_portal_counts_only_with_the_card() {
        let on = date!(2026 - 11 - 21);
        for kind in [EvidenceKind::MynaPortal, EvidenceKind::MynaPortalPdf] {
            assert!(evidence(kind).assess(on, None).is_ok());
            let alone = Evidence {
                with_card: false,
                ..evidence(kind)
            };
            let r = alone.assess(on, None).expect_err("alone");
            assert!(r.ja.contains("マイナンバーカードと一緒"), "{}", r.ja);
        }
    }

    #[test]
    fn notice_alone_only_until_the_temporary_rule_ended() {
        let alone = Evidence {
            with_card: false,
            ..evidence(EvidenceKind::QualificationNotice)
        };
        let last = TEMPORARY_RULE_LAST_DAY;
        let a = alone.assess(last, None).expect("last day of the rule");
        assert!(a.reconfirm_advised && a.notes[0].ja.contains("暫定"));
        let r = alone.assess(last + DAY, None).expect_err("after the rule");
        assert!(r.ja.contains("2026年3月31日で終了"), "{}", r.ja);
        let with_card = evidence(EvidenceKind::QualificationNotice);
        assert!(with_card.assess(last + DAY, None).is_ok());
        // It began on 2025-12-02 (notice of 2025-11-12), not before.
        let first = TEMPORARY_RULE_FIRST_DAY;
        assert!(alone.assess(first, None).is_ok_and(|a| a.reconfirm_advised));
        let r = alone
            .assess(first - DAY, None)
            .expect_err("before the rule");
        assert!(r.ja.contains("2025年12月2日から"), "{}", r.ja);
        assert!(with_card.assess(first - DAY, None).is_ok());
    }

    #[test]
    fn notice_and_portal_need_the_patients_word_that_nothing_was_lost() {
        let on = date!(2026 - 11 - 21);
        for kind in [
            EvidenceKind::QualificationNotice,
            EvidenceKind::MynaPortal,
            EvidenceKind::MynaPortalPdf,
        ] {
            assert!(evidence(kind).assess(on, None).is_ok(), "{kind:?}");
            let unasked = Evidence {
                not_lost_confirmed: false,
                ..evidence(kind)
            };
            let r = unasked.assess(on, None).expect_err("not asked");
            assert!(r.ja.contains("口頭で確認"), "{}", r.ja);
            assert!(r.ja.contains("転職"), "{}", r.ja);
        }
        // Other evidence does not need it (a certificate is issued for the current one).
        let cert = Evidence {
            not_lost_confirmed: false,
            valid_until: Some(date!(2027 - 03 - 31)),
            ..evidence(EvidenceKind::QualificationCertificate)
        };
        assert!(cert.assess(on, None).is_ok());
    }

    #[test]
    fn notice_ratio_holds_from_1_august_to_31_july() {
        let notice = Evidence {
            ratio: Some(Ratio::TWO),
            ratio_period_from: Some(2026),
            ..evidence(EvidenceKind::QualificationNotice)
        };
        let ratio = |on: Date| notice.assess(on, None).map(|a| a.ratio);
        assert_eq!(ratio(date!(2026 - 07 - 31)), Ok(None));
        assert_eq!(ratio(date!(2026 - 08 - 01)), Ok(Some(Ratio::TWO)));
        assert_eq!(ratio(date!(2027 - 07 - 31)), Ok(Some(Ratio::TWO)));
        assert_eq!(ratio(date!(2027 - 08 - 01)), Ok(None));
        let unknown_period = Evidence {
            ratio_period_from: None,
            ..notice.clone()
        };
        let a = unknown_period
            .assess(date!(2026 - 11 - 21), None)
            .expect("ok");
        assert_eq!(a.ratio, None);
        assert!(a.notes[0].ja.contains("適用期間"));
    }

    #[test]
    fn certificate_counts_alone_until_its_expiry() {
        let until = date!(2027 - 03 - 31);
        let cert = Evidence {
            with_card: false,
            valid_until: Some(until),
            ratio: Some(Ratio::TWO),
            ..evidence(EvidenceKind::QualificationCertificate)
        };
        assert_eq!(
            cert.assess(until, None).map(|a| a.ratio),
            Ok(Some(Ratio::TWO))
        );
        let r = cert.assess(until + DAY, None).expect_err("expired");
        assert!(r.ja.contains("有効期限"), "{}", r.ja);
        let far = Evidence {
            valid_until: Some(date!(2031 - 11 - 22)),
            ..cert.clone()
        };
        assert!(far.assess(date!(2026 - 11 - 21), None).is_err());
        assert!(far.assess(date!(2026 - 11 - 22), None).is_ok());
        let no_expiry = Evidence {
            valid_until: None,
            ..cert.clone()
        };
        assert!(no_expiry.assess(date!(2026 - 11 - 21), None).is_err());
    }

    /// Regression (issue 15): a 後期高齢者 certificate without a typed expiry was taken as valid
    /// until 2026-07-31, the end of the temporary operation, not the certificate's expiry.
    #[test]
    fn late_elderly_certificates_need_their_printed_expiry_too() {
        let cert = Evidence {
            with_card: false,
            numbers: InsuranceNumbers {
                symbol: None,
                branch: None,
                ..numbers("39280003")
            },
            ..evidence(EvidenceKind::QualificationCertificate)
        };
        let last = LATE_ELDERLY_ALL_CERTIFICATES_LAST_DAY;
        for on in [last, last + DAY] {
            let r = cert.assess(on, None).expect_err("no expiry typed");
            assert!(r.ja.contains("有効期限を確認"), "{}", r.ja);
        }
        let typed = Evidence {
            valid_until: Some(date!(2027 - 07 - 31)),
            ..cert
        };
        assert!(typed.assess(last + DAY, None).is_ok());
    }

    #[test]
    fn past_record_needs_the_patients_word() {
        let on = date!(2026 - 11 - 21);
        assert!(evidence(EvidenceKind::PastRecord).assess(on, None).is_err());
        let said = Evidence {
            unchanged: true,
            ..evidence(EvidenceKind::PastRecord)
        };
        assert!(said.assess(on, None).is_ok_and(|a| a.reconfirm_advised));
    }

    #[test]
    fn old_insurance_card_rules_on_both_sides_of_each_date() {
        let card = Evidence {
            with_card: false,
            ..evidence(EvidenceKind::InsuranceCard)
        };
        // Valid through 2025-12-01 …
        let a = card
            .assess(INSURANCE_CARD_LAST_DAY, None)
            .expect("last day");
        assert!(a.notes.is_empty());
        // … then only by the temporary rule …
        let a = card
            .assess(INSURANCE_CARD_LAST_DAY + DAY, None)
            .expect("temporary rule");
        assert!(a.notes[0].ja.contains("暫定"));
        assert!(card.assess(TEMPORARY_RULE_LAST_DAY, None).is_ok());
        // … and not at all afterwards.
        let r = card
            .assess(TEMPORARY_RULE_LAST_DAY + DAY, None)
            .expect_err("after the rule");
        assert!(r.ja.contains("2025年12月1日") && r.en.contains("2026-03-31"));
        // Its own earlier expiry counts too; expired before 2025-12-02 it was not accepted
        // until the temporary rule began for every insurer (notice of 2025-11-12).
        let own = Evidence {
            valid_until: Some(date!(2025 - 09 - 30)),
            ..card.clone()
        };
        assert!(own
            .assess(date!(2025 - 09 - 30), None)
            .is_ok_and(|a| a.notes.is_empty()));
        let r = own
            .assess(date!(2025 - 10 - 01), None)
            .expect_err("before the rule");
        assert!(r.ja.contains("令和7年12月2日から"), "{}", r.ja);
        assert!(own.assess(TEMPORARY_RULE_FIRST_DAY - DAY, None).is_err());
        assert!(own
            .assess(TEMPORARY_RULE_FIRST_DAY, None)
            .is_ok_and(|a| !a.notes.is_empty()));
    }

    #[test]
    fn expired_national_and_late_elderly_cards_from_1_august_2025() {
        let expiry = date!(2025 - 07 - 31);
        for insurer in ["138057", "39280003"] {
            let card = Evidence {
                with_card: false,
                valid_until: Some(expiry),
                numbers: numbers(insurer),
                ..evidence(EvidenceKind::InsuranceCard)
            };
            assert!(card.assess(expiry, None).is_ok_and(|a| a.notes.is_empty()));
            let a = card
                .assess(TEMPORARY_RULE_NATIONAL_FIRST_DAY, None)
                .expect("notice of 2025-06-27");
            assert!(a.notes[0].ja.contains("暫定"), "{insurer}");
            // A card that expired earlier waited for the rule's first day too.
            let earlier = Evidence {
                valid_until: Some(date!(2025 - 05 - 31)),
                ..card.clone()
            };
            assert!(earlier
                .assess(TEMPORARY_RULE_NATIONAL_FIRST_DAY - DAY, None)
                .is_err());
            assert!(earlier
                .assess(TEMPORARY_RULE_NATIONAL_FIRST_DAY, None)
                .is_ok());
            assert!(card.assess(TEMPORARY_RULE_LAST_DAY + DAY, None).is_err());
        }
    }

    #[test]
    fn a_different_birth_date_rejects_any_evidence() {
        let e = Evidence {
            birthdate: Some(date!(1980 - 04 - 01)),
            ..evidence(EvidenceKind::MynaPortal)
        };
        let on = date!(2026 - 11 - 21);
        assert!(e.assess(on, Some(date!(1980 - 04 - 01))).is_ok());
        let r = e
            .assess(on, Some(date!(1980 - 04 - 02)))
            .expect_err("mismatch");
        assert!(r.ja.contains("一致しません"));
    }
}
