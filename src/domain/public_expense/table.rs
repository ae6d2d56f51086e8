//! The facility's table of public-expense rules (公費・医療費助成の負担ルール表), as data.
//!
//! Why a table and not code: each municipality sets its own 医療費助成 (who is covered up to
//! which age, 0 yen or a fixed amount per visit, by income) and changes it every April; the
//! national schemes set a ratio and a monthly cap that the certificate prints. A clinic's IT
//! person updates the TOML file (`[public_expense] table` in the settings); the shipped default
//! (`assets/public_expense.toml`) holds the national schemes and clearly marked examples.
//!
//! The format (also in the README, "公費 rule table"):
//!
//! ```toml
//! version = 1
//!
//! [[rule]]
//! name = "子ども医療費助成(例)"   # shown at the desk
//! payer_prefix = "88"           # law = "54" | payer_prefix = "881301" | payer = "88130015"
//! from = 2026-04-01             # optional first day (inclusive)
//! until = 2027-03-31            # optional last day (inclusive)
//! age_from = { years = 6, end = "school-year" }   # optional
//! age_until = { years = 15, end = "school-year" } # optional
//! income_category = "一般"      # optional: only certificates printing this category
//! share = "per-visit"           # none | ratio | per-visit | insurance
//! per_visit_yen = 200           # with share = "per-visit"
//! ratio = 1                     # with share = "ratio" (tenths: 1, 2 or 3)
//! monthly_cap_yen = 5000        # optional; or monthly_cap = "certificate"
//! priority = 80                 # lower applies first (national before municipal)
//! ```
//!
//! Matching: of the rules whose payer key, dates, ages and income category fit, the most
//! specific payer key wins (`payer`, then the longest `payer_prefix`, then `law`); among equals
//! the first in the file. An entitlement no rule fits is shown as 「負担ルール未登録」 and
//! changes nothing: the desk never guesses a 0 yen.

use std::fmt;

use serde::Deserialize;
use time::{Date, Month};

use super::PublicExpense;
use crate::domain::dates::add_years;
use crate::domain::ratio::Ratio;

/// Largest table read (a prefecture's full list is a few hundred rules).
pub const MAX_TABLE_BYTES: usize = 512 * 1024;
/// Most rules in one table.
pub const MAX_RULES: usize = 2000;

/// How an age limit's last (or first) day is counted from the birthday.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgeEnd {
    /// 「N歳に達する日以後の最初の3月31日」: until the end of the school year in which the child
    /// legally turns N (the usual wording of 乳幼児・子ども医療費助成).
    SchoolYear,
    /// 「N歳の誕生日の前日」: until the day before the Nth birthday.
    Birthday,
    /// 「N歳に達する日の属する月の末日」: until the end of the month in which the child legally
    /// turns N.
    EndOfMonth,
}

/// An age bound: the rule holds until (or from the day after) the day [`AgeEnd`] gives for
/// age `years`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeLimit {
    pub years: u8,
    pub end: AgeEnd,
}

impl AgeLimit {
    /// The last day of the period before this bound, for someone born on `birth`.
    ///
    /// Legal age rises at the end of the day before the birthday (年齢計算ニ関スル法律, S7), so
    /// "reaching N" is the day before the Nth birthday.
    ///
    /// Someone born on 29 February reaches an age on 28 February in every year: the day before
    /// the anniversary in a leap year, and in a common year, which has no anniversary, the last
    /// day of February (民法 第143条2項 ただし書).
    pub fn last_day(self, birth: Date) -> Date {
        let year = birth.year() + i32::from(self.years);
        let reaches = if birth.month() == Month::February
            && birth.day() == 29
            && !time::util::is_leap_year(year)
        {
            Date::from_calendar_date(year, Month::February, 28).unwrap_or(birth)
        } else {
            let birthday = add_years(birth, i32::from(self.years));
            birthday.previous_day().unwrap_or(birthday)
        };
        match self.end {
            AgeEnd::Birthday => reaches,
            AgeEnd::SchoolYear => {
                let year = if reaches.month() <= Month::March {
                    reaches.year()
                } else {
                    reaches.year() + 1
                };
                Date::from_calendar_date(year, Month::March, 31).unwrap_or(reaches)
            }
            AgeEnd::EndOfMonth => {
                let days = reaches.month().length(reaches.year());
                reaches.replace_day(days).unwrap_or(reaches)
            }
        }
    }
}

/// Which entitlements a rule is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayerKey {
    /// 法別番号 (2 digits).
    Law(String),
    /// A leading part of the 公費負担者番号 (法別 + 都道府県 + 実施機関 …).
    Prefix(String),
    /// One 公費負担者番号 exactly.
    Exact(String),
}

impl fmt::Display for PayerKey {
    /// As the table writes it: `law 54`, `payer_prefix 881301`, `payer 88130015`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayerKey::Law(s) => write!(f, "law {s}"),
            PayerKey::Prefix(s) => write!(f, "payer_prefix {s}"),
            PayerKey::Exact(s) => write!(f, "payer {s}"),
        }
    }
}

impl PayerKey {
    fn specificity(&self) -> usize {
        match self {
            PayerKey::Law(_) => 2,
            PayerKey::Prefix(p) => p.len(),
            PayerKey::Exact(_) => 9,
        }
    }

    fn matches(&self, payer: &str) -> bool {
        match self {
            PayerKey::Law(l) | PayerKey::Prefix(l) => payer.starts_with(l.as_str()),
            PayerKey::Exact(e) => payer == e,
        }
    }
}

/// What the patient pays under a rule, before any cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Share {
    /// Nothing (全額公費 / 自己負担なし).
    Nothing,
    /// A reduced ratio of the whole fee (e.g. 1割), never more than the insurance share.
    Ratio(Ratio),
    /// A fixed amount per visit (e.g. 200円/回), never more than the insurance share.
    PerVisit(u32),
    /// The insurance share itself (the scheme only caps it).
    Insurance,
}

/// A monthly cap on the patient's share at this facility (月額自己負担上限).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonthlyCap {
    Yen(u32),
    /// The 自己負担上限額 printed on the patient's certificate (難病, 小児慢性, 自立支援).
    Certificate,
}

/// One rule of the table, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenefitRule {
    pub name: String,
    pub key: PayerKey,
    pub from: Option<Date>,
    pub until: Option<Date>,
    pub age_from: Option<AgeLimit>,
    pub age_until: Option<AgeLimit>,
    pub income_category: Option<String>,
    pub share: Share,
    pub monthly_cap: Option<MonthlyCap>,
    pub priority: u16,
}

impl BenefitRule {
    fn fits(&self, e: &PublicExpense, birth: Option<Date>, on: Date) -> bool {
        if !self.key.matches(e.payer.as_str()) {
            return false;
        }
        if self.from.is_some_and(|f| on < f) || self.until.is_some_and(|u| u < on) {
            return false;
        }
        if let Some(c) = &self.income_category {
            if e.income_category.as_deref().map(income_key).as_deref() != Some(c.as_str()) {
                return false;
            }
        }
        if self.age_from.is_some() || self.age_until.is_some() {
            // An age-bound rule needs the birth date: without it, it does not apply.
            let Some(birth) = birth else { return false };
            if self.age_from.is_some_and(|a| on <= a.last_day(birth)) {
                return false;
            }
            if self.age_until.is_some_and(|a| a.last_day(birth) < on) {
                return false;
            }
        }
        true
    }
}

/// The facility's rule table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BenefitTable {
    pub rules: Vec<BenefitRule>,
}

/// A table that could not be read: every problem, for the IT person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableError {
    pub problems: Vec<String>,
}

impl TableError {
    fn one(p: impl Into<String>) -> Self {
        TableError {
            problems: vec![p.into()],
        }
    }

    /// What the desk shows.
    pub fn desk_message(&self) -> &'static str {
        "公費の負担ルール表を読み込めませんでした。設定の担当者に連絡してください(公費の負担額は表示されません)。"
    }
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "public-expense rule table: {}", self.problems.join("; "))
    }
}

impl std::error::Error for TableError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    version: u32,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    law: Option<String>,
    payer_prefix: Option<String>,
    payer: Option<String>,
    from: Option<toml::value::Datetime>,
    until: Option<toml::value::Datetime>,
    age_from: Option<AgeLimit>,
    age_until: Option<AgeLimit>,
    income_category: Option<String>,
    share: String,
    ratio: Option<u8>,
    per_visit_yen: Option<u32>,
    monthly_cap_yen: Option<u32>,
    monthly_cap: Option<String>,
    priority: Option<u16>,
}

/// Priority when a rule gives none: national schemes first, 生活保護 after them (it pays what
/// every other scheme leaves), municipal 医療費助成 last.
///
/// Source: the order of 公費 on a claim (第1公費, 第2公費 …) follows MHLW's list, with
/// 生活保護 after the other national schemes and local schemes after national ones; the
/// project holds this only as that general order (**unconfirmed** in detail): the table's
/// `priority` is the setting.
pub fn default_priority(law: u8) -> u16 {
    match law {
        12 => 50,
        10..=79 => 10,
        _ => 80,
    }
}

fn toml_date(v: &toml::value::Datetime) -> Option<Date> {
    match (v.date, v.time, v.offset) {
        (Some(d), None, None) => {
            Date::from_calendar_date(i32::from(d.year), Month::try_from(d.month).ok()?, d.day).ok()
        }
        _ => None,
    }
}

/// A 所得区分 as compared: width-normalised (full-width letters and digits to half-width),
/// Roman-numeral characters (`Ⅰ`, `Ⅱ` …) spelt with Latin letters, spaces removed — so
/// 「一般所得Ⅰ」 typed at the desk, 「一般所得I」 from an answer and 「一般所得 Ｉ」 in a table all
/// meet.
pub fn income_key(s: &str) -> String {
    const ROMAN: [&str; 12] = [
        "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
    ];
    let mut out = String::new();
    for c in crate::domain::text::normalize_width(s).chars() {
        let roman = match c {
            '\u{2160}'..='\u{216B}' => ROMAN.get(c as usize - 0x2160),
            '\u{2170}'..='\u{217B}' => ROMAN.get(c as usize - 0x2170),
            _ => None,
        };
        match roman {
            Some(r) => out.push_str(r),
            None if c.is_whitespace() => {}
            None => out.push(c),
        }
    }
    out
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl BenefitTable {
    /// Reads a table; every problem is collected, naming the rule.
    pub fn parse(text: &str) -> Result<BenefitTable, TableError> {
        if text.len() > MAX_TABLE_BYTES {
            return Err(TableError::one(format!(
                "{} bytes, more than the {MAX_TABLE_BYTES} read",
                text.len()
            )));
        }
        let raw: RawTable = toml::from_str(text).map_err(|e| TableError::one(e.to_string()))?;
        if raw.version != 1 {
            return Err(TableError::one(format!(
                "version {} is not supported (1)",
                raw.version
            )));
        }
        if raw.rule.len() > MAX_RULES {
            return Err(TableError::one(format!(
                "{} rules, more than {MAX_RULES}",
                raw.rule.len()
            )));
        }
        let mut problems = Vec::new();
        let mut rules = Vec::new();
        for (i, r) in raw.rule.into_iter().enumerate() {
            let at = format!("rule {} ({:?})", i + 1, r.name);
            let before = problems.len();
            if r.name.trim().is_empty() || r.name.chars().count() > 60 {
                problems.push(format!("{at}: name must be 1–60 characters"));
            }
            let key = match (r.law, r.payer_prefix, r.payer) {
                (Some(l), None, None) if l.len() == 2 && all_digits(&l) => Some(PayerKey::Law(l)),
                (None, Some(p), None) if (2..=7).contains(&p.len()) && all_digits(&p) => {
                    Some(PayerKey::Prefix(p))
                }
                (None, None, Some(p)) => match crate::domain::numbers::PublicPayerNumber::parse(&p)
                {
                    Ok(n) => Some(PayerKey::Exact(n.as_str().to_string())),
                    Err(e) => {
                        problems.push(format!("{at}: payer: {}", e.detail));
                        None
                    }
                },
                _ => {
                    problems.push(format!(
                        "{at}: give exactly one of law (2 digits), payer_prefix (2–7 digits), payer (8 digits)"
                    ));
                    None
                }
            };
            let date = |v: Option<toml::value::Datetime>, field: &str, p: &mut Vec<String>| {
                v.and_then(|d| {
                    let parsed = toml_date(&d);
                    if parsed.is_none() {
                        p.push(format!("{at}: {field} must be a date (YYYY-MM-DD)"));
                    }
                    parsed
                })
            };
            let from = date(r.from, "from", &mut problems);
            let until = date(r.until, "until", &mut problems);
            if let (Some(f), Some(u)) = (from, until) {
                if u < f {
                    problems.push(format!("{at}: until {u} is before from {f}"));
                }
            }
            for (field, a) in [("age_from", r.age_from), ("age_until", r.age_until)] {
                if a.is_some_and(|a| a.years > 120) {
                    problems.push(format!("{at}: {field}.years must be at most 120"));
                }
            }
            let share = match r.share.as_str() {
                "none" => Some(Share::Nothing),
                "insurance" => Some(Share::Insurance),
                "ratio" => match r.ratio.map(Ratio::try_from) {
                    Some(Ok(ratio)) => Some(Share::Ratio(ratio)),
                    Some(Err(e)) => {
                        problems.push(format!("{at}: ratio: {e}"));
                        None
                    }
                    None => {
                        problems.push(format!("{at}: share = \"ratio\" needs ratio"));
                        None
                    }
                },
                "per-visit" => match r.per_visit_yen {
                    Some(y) if y <= 100_000 => Some(Share::PerVisit(y)),
                    Some(y) => {
                        problems.push(format!("{at}: per_visit_yen {y} is more than 100000"));
                        None
                    }
                    None => {
                        problems.push(format!("{at}: share = \"per-visit\" needs per_visit_yen"));
                        None
                    }
                },
                other => {
                    problems.push(format!(
                        "{at}: share {other:?} is not one of none, ratio, per-visit, insurance"
                    ));
                    None
                }
            };
            // Judged on the share's name, not its parsed value: an invalid ratio is reported
            // once, not also as "only for share = ratio".
            if r.ratio.is_some() && r.share != "ratio" {
                problems.push(format!("{at}: ratio is only for share = \"ratio\""));
            }
            if r.per_visit_yen.is_some() && r.share != "per-visit" {
                problems.push(format!(
                    "{at}: per_visit_yen is only for share = \"per-visit\""
                ));
            }
            let monthly_cap = match (r.monthly_cap_yen, r.monthly_cap.as_deref()) {
                (None, None) => None,
                (Some(y), None) if y <= 1_000_000 => Some(MonthlyCap::Yen(y)),
                (None, Some("certificate")) => Some(MonthlyCap::Certificate),
                _ => {
                    problems.push(format!(
                        "{at}: give monthly_cap_yen (yen, at most 1000000) or monthly_cap = \"certificate\", not both"
                    ));
                    None
                }
            };
            let income_category = r.income_category.map(|c| income_key(&c));
            if income_category.as_deref() == Some("") {
                problems.push(format!("{at}: income_category must not be empty"));
            }
            if problems.len() > before {
                continue;
            }
            let (Some(key), Some(share)) = (key, share) else {
                continue;
            };
            let law = match &key {
                PayerKey::Law(s) | PayerKey::Prefix(s) | PayerKey::Exact(s) => {
                    s.get(..2).and_then(|d| d.parse().ok()).unwrap_or(0)
                }
            };
            rules.push(BenefitRule {
                name: r.name.trim().to_string(),
                key,
                from,
                until,
                age_from: r.age_from,
                age_until: r.age_until,
                income_category,
                share,
                monthly_cap,
                priority: r.priority.unwrap_or_else(|| default_priority(law)),
            });
        }
        if problems.is_empty() {
            Ok(BenefitTable { rules })
        } else {
            Err(TableError { problems })
        }
    }

    /// The table shipped with the desk: national schemes and marked examples.
    pub fn builtin() -> BenefitTable {
        // The shipped file is tested to parse (see the tests below); an empty table is the
        // safe fallback, never a guessed rule.
        BenefitTable::parse(BUILTIN_TABLE).unwrap_or_default()
    }

    /// Rules that can never apply: an earlier rule with the same payer key holds whenever they
    /// would (it has the same conditions, or none besides the key), and among equals the first
    /// in the file wins. One warning per such rule, naming both; for `public-expense check`.
    pub fn shadowed(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for (j, later) in self.rules.iter().enumerate() {
            let covering = self.rules[..j].iter().enumerate().find(|(_, earlier)| {
                let unconditional = earlier.from.is_none()
                    && earlier.until.is_none()
                    && earlier.age_from.is_none()
                    && earlier.age_until.is_none()
                    && earlier.income_category.is_none();
                let same = earlier.from == later.from
                    && earlier.until == later.until
                    && earlier.age_from == later.age_from
                    && earlier.age_until == later.age_until
                    && earlier.income_category == later.income_category;
                earlier.key == later.key && (unconditional || same)
            });
            if let Some((i, earlier)) = covering {
                warnings.push(format!(
                    "rule {} ({:?}) never applies: rule {} ({:?}) has the same {} and holds whenever it would",
                    j + 1,
                    later.name,
                    i + 1,
                    earlier.name,
                    later.key
                ));
            }
        }
        warnings
    }

    /// The rule that applies to `e` on `on` for a patient born on `birth`, if any.
    pub fn rule_for(
        &self,
        e: &PublicExpense,
        birth: Option<Date>,
        on: Date,
    ) -> Option<&BenefitRule> {
        let mut best: Option<&BenefitRule> = None;
        for r in self.rules.iter().filter(|r| r.fits(e, birth, on)) {
            if best.is_none_or(|b| r.key.specificity() > b.key.specificity()) {
                best = Some(r);
            }
        }
        best
    }
}

/// The default table's text (`assets/public_expense.toml`).
pub const BUILTIN_TABLE: &str = include_str!("../../../assets/public_expense.toml");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::numbers::PublicPayerNumber;
    use crate::domain::public_expense::PublicExpenseSource;
    use time::macros::date;

    fn entitlement(payer: &str) -> PublicExpense {
        PublicExpense {
            payer: PublicPayerNumber::parse(payer).expect("valid payer"),
            recipient: None,
            valid_from: None,
            valid_until: None,
            income_category: None,
            monthly_cap_yen: None,
            name: None,
            source: PublicExpenseSource::Paper,
        }
    }

    #[test]
    fn the_shipped_table_parses() {
        let t = BenefitTable::parse(BUILTIN_TABLE).expect("builtin table");
        assert!(t.rules.len() >= 5);
    }

    #[test]
    fn school_year_age_limit_ends_on_the_first_31_march_after_legally_turning_n() {
        let six = AgeLimit {
            years: 6,
            end: AgeEnd::SchoolYear,
        };
        // Born 2 April 2020: legally 6 on 1 April 2026 → until 31 March 2027.
        assert_eq!(six.last_day(date!(2020 - 04 - 02)), date!(2027 - 03 - 31));
        // Born 1 April 2020: legally 6 on 31 March 2026 → until 31 March 2026.
        assert_eq!(six.last_day(date!(2020 - 04 - 01)), date!(2026 - 03 - 31));
        let month = AgeLimit {
            years: 15,
            end: AgeEnd::EndOfMonth,
        };
        // Born 16 May 2011: legally 15 on 15 May 2026 → until 31 May 2026.
        assert_eq!(month.last_day(date!(2011 - 05 - 16)), date!(2026 - 05 - 31));
        // Born 1 June 2011: legally 15 on 31 May 2026 → until 31 May 2026.
        assert_eq!(month.last_day(date!(2011 - 06 - 01)), date!(2026 - 05 - 31));
        let birthday = AgeLimit {
            years: 15,
            end: AgeEnd::Birthday,
        };
        assert_eq!(
            birthday.last_day(date!(2011 - 05 - 16)),
            date!(2026 - 05 - 15)
        );
    }

    #[test]
    fn a_rule_an_earlier_one_always_beats_is_reported() {
        let t = BenefitTable::parse(
            r#"
version = 1
[[rule]]
name = "ひとり親(非課税)"
law = "81"
income_category = "非課税"
share = "none"
[[rule]]
name = "ひとり親"
law = "81"
share = "ratio"
ratio = 1
[[rule]]
name = "ひとり親(2027年度)"
law = "81"
from = 2027-04-01
share = "none"
[[rule]]
name = "子ども(2026年度)"
payer_prefix = "881330"
until = 2027-03-31
share = "none"
[[rule]]
name = "子ども(2026年度・重複)"
payer_prefix = "881330"
until = 2027-03-31
share = "per-visit"
per_visit_yen = 200
[[rule]]
name = "子ども(2027年度)"
payer_prefix = "881330"
from = 2027-04-01
share = "none"
"#,
        )
        .expect("table");
        let w = t.shadowed();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with("rule 3 (\"ひとり親(2027年度)\") never applies: rule 2"),
            "{w:?}"
        );
        assert!(
            w[1].starts_with("rule 5 ") && w[1].contains("rule 4"),
            "{w:?}"
        );
        assert!(BenefitTable::builtin().shadowed().is_empty());
    }

    /// Regression: a 所得区分 written with the Roman-numeral character 「Ⅰ」 on one side and the
    /// letter 「I」 (or full-width, or spaced) on the other never matched, so the rule for it
    /// did not apply.
    #[test]
    fn income_categories_match_whatever_the_numeral_or_width() {
        let t = BenefitTable::parse(
            "version = 1\n[[rule]]\nname = \"n\"\nlaw = \"54\"\nincome_category = \"一般所得 Ｉ\"\nshare = \"ratio\"\nratio = 2\n",
        )
        .expect("table");
        let mut e = entitlement("54130018");
        for printed in ["一般所得Ⅰ", "一般所得I", "一般所得ⅰ", " 一般所得　Ｉ "]
        {
            e.income_category = Some(printed.into());
            assert!(
                t.rule_for(&e, None, date!(2026 - 12 - 03)).is_some(),
                "{printed}"
            );
        }
        for other in ["一般所得Ⅱ", "一般所得II", "一般所得", "上位所得"] {
            e.income_category = Some(other.into());
            assert!(
                t.rule_for(&e, None, date!(2026 - 12 - 03)).is_none(),
                "{other}"
            );
        }
        e.income_category = None;
        assert!(t.rule_for(&e, None, date!(2026 - 12 - 03)).is_none());
        assert_eq!(income_key("低所得Ⅱ"), "低所得II");
        assert!(BenefitTable::parse(
            "version = 1\n[[rule]]\nname = \"n\"\nlaw = \"54\"\nincome_category = \" \"\nshare = \"none\"\n"
        )
        .is_err());
    }

    /// Regression: born on 29 February, the day of reaching an age in a common year was taken
    /// as 27 February (the day before a 28 February "birthday"), one day early.
    #[test]
    fn born_on_29_february_reaches_an_age_on_28_february() {
        let fifteen = AgeLimit {
            years: 15,
            end: AgeEnd::Birthday,
        };
        let leap_born = date!(2012 - 02 - 29);
        // 2027 is a common year: until 28 February, not 27.
        assert_eq!(fifteen.last_day(leap_born), date!(2027 - 02 - 28));
        // A leap year: the day before 29 February is 28 February too.
        let sixteen = AgeLimit {
            years: 16,
            end: AgeEnd::Birthday,
        };
        assert_eq!(sixteen.last_day(leap_born), date!(2028 - 02 - 28));
        // Everyone else is unchanged: born 1 March, until the last day of February.
        assert_eq!(
            fifteen.last_day(date!(2012 - 03 - 01)),
            date!(2027 - 02 - 28)
        );
        assert_eq!(
            sixteen.last_day(date!(2012 - 03 - 01)),
            date!(2028 - 02 - 29)
        );
        // A rule bounded by it holds on 28 February and not on 1 March.
        let t = BenefitTable::parse(
            "version = 1\n[[rule]]\nname = \"c\"\nlaw = \"88\"\nage_until = { years = 15, end = \"birthday\" }\nshare = \"none\"\n",
        )
        .expect("table");
        let e = entitlement("88120019");
        assert!(t
            .rule_for(&e, Some(leap_born), date!(2027 - 02 - 28))
            .is_some());
        assert!(t
            .rule_for(&e, Some(leap_born), date!(2027 - 03 - 01))
            .is_none());
    }

    const CHILD: &str = r#"
version = 1
[[rule]]
name = "乳幼児"
payer_prefix = "88"
age_until = { years = 6, end = "school-year" }
share = "none"
[[rule]]
name = "子ども"
payer_prefix = "88"
age_from = { years = 6, end = "school-year" }
age_until = { years = 15, end = "end-of-month" }
share = "per-visit"
per_visit_yen = 200
[[rule]]
name = "この市の子ども(2026年度)"
payer_prefix = "881301"
from = 2026-04-01
until = 2027-03-31
age_until = { years = 18, end = "school-year" }
share = "none"
"#;

    #[test]
    fn age_bands_switch_inside_a_month_on_the_right_day() {
        let t = BenefitTable::parse(CHILD).expect("table");
        let e = entitlement("88120019");
        // Legally 6 on 1 April 2026 (born 2 April 2020): 乳幼児 until 31 March 2027.
        let b = date!(2020 - 04 - 02);
        assert_eq!(
            t.rule_for(&e, Some(b), date!(2027 - 03 - 31))
                .map(|r| r.name.as_str()),
            Some("乳幼児")
        );
        assert_eq!(
            t.rule_for(&e, Some(b), date!(2027 - 04 - 01))
                .map(|r| r.name.as_str()),
            Some("子ども")
        );
        // Born 16 May 2011: 子ども until 31 May 2026, nothing from 1 June.
        let c = date!(2011 - 05 - 16);
        assert!(t.rule_for(&e, Some(c), date!(2026 - 05 - 31)).is_some());
        assert!(t.rule_for(&e, Some(c), date!(2026 - 06 - 01)).is_none());
        // No birth date: an age-bound rule never applies.
        assert!(t.rule_for(&e, None, date!(2026 - 05 - 01)).is_none());
    }

    #[test]
    fn the_most_specific_payer_key_wins_and_dates_bound_it() {
        let t = BenefitTable::parse(CHILD).expect("table");
        let e = entitlement(&with_check("8813012"));
        let c = date!(2011 - 05 - 16);
        assert_eq!(
            t.rule_for(&e, Some(c), date!(2026 - 06 - 01))
                .map(|r| r.name.as_str()),
            Some("この市の子ども(2026年度)")
        );
        // The day before its first day, the general rule (still within age 15).
        assert_eq!(
            t.rule_for(&e, Some(c), date!(2026 - 03 - 31))
                .map(|r| r.name.as_str()),
            Some("子ども")
        );
        assert!(t.rule_for(&e, Some(c), date!(2027 - 04 - 01)).is_none());
    }

    fn with_check(body: &str) -> String {
        let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
        let d = crate::domain::numbers::check_digit(&digits);
        format!("{body}{d}")
    }

    #[test]
    fn every_problem_is_reported_with_its_rule() {
        let bad = r#"
version = 1
[[rule]]
name = "a"
law = "5"
share = "ratio"
[[rule]]
name = "b"
payer = "88130016"
share = "per-visit"
per_visit_yen = 200
monthly_cap_yen = 1000
monthly_cap = "certificate"
[[rule]]
name = "c"
law = "54"
share = "half"
from = 2026-04-01
until = 2026-03-01
"#;
        let e = BenefitTable::parse(bad).expect_err("bad table");
        let all = e.problems.join("\n");
        assert!(all.contains("rule 1"), "{all}");
        assert!(all.contains("needs ratio"), "{all}");
        assert!(
            all.contains("rule 2") && all.contains("check digit"),
            "{all}"
        );
        assert!(all.contains("not both"), "{all}");
        assert!(all.contains("rule 3") && all.contains("\"half\""), "{all}");
        assert!(all.contains("before from"), "{all}");
    }

    /// Regression: an invalid ratio (or per-visit amount) was also reported as "ratio is only
    /// for share = ratio", a second, wrong problem for the same mistake.
    #[test]
    fn an_invalid_ratio_or_amount_is_one_problem_not_two() {
        let e = BenefitTable::parse(
            "version = 1\n[[rule]]\nname = \"n\"\nlaw = \"54\"\nshare = \"ratio\"\nratio = 4\n[[rule]]\nname = \"k\"\nlaw = \"88\"\nshare = \"per-visit\"\nper_visit_yen = 200000\n",
        )
        .expect_err("bad");
        assert_eq!(e.problems.len(), 2, "{:?}", e.problems);
        assert!(
            e.problems[0].contains("not a payment ratio"),
            "{:?}",
            e.problems
        );
        assert!(
            e.problems[1].contains("more than 100000"),
            "{:?}",
            e.problems
        );
        // A ratio given with another share is still refused.
        let e = BenefitTable::parse(
            "version = 1\n[[rule]]\nname = \"n\"\nlaw = \"12\"\nshare = \"none\"\nratio = 1\n",
        )
        .expect_err("bad");
        assert_eq!(e.problems.len(), 1, "{:?}", e.problems);
        assert!(e.problems[0].contains("only for share"), "{:?}", e.problems);
    }

    #[test]
    fn hostile_tables_are_refused_not_panicked_on() {
        assert!(BenefitTable::parse("version = 2").is_err());
        assert!(BenefitTable::parse(
            "version = 1\n[[rule]]\nname=\"x\"\nlaw=\"12\"\nshare=\"none\"\nextra=1"
        )
        .is_err());
        assert!(BenefitTable::parse(&"#".repeat(MAX_TABLE_BYTES + 1)).is_err());
        assert!(BenefitTable::parse("version = 1\n[[rule]]\nname=\"x\"\nlaw=\"12\"\nshare=\"none\"\nfrom=2026-04-01T10:00:00").is_err());
        assert!(BenefitTable::parse("\u{0}").is_err());
    }
}
