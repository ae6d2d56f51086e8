//! What the patient pays at the desk (一部負担金の割合), in tenths.
//!
//! The online answer states the ratio for 後期高齢者 (`InsuredPartialContributionRatio`) and
//! for 70–74 (高齢受給者 info). Otherwise it follows from age on the day of the visit:
//! - before school age — until the first 31 March after the child legally turns 6 — 2割;
//! - from then to 69: 3割;
//! - 70–74, from the 1st of the month after the 70th birthday (the same month when born on
//!   the 1st): 2割, or 3割 with 現役並み所得;
//! - 75 and over, from the 75th birthday itself (後期高齢者): 1割 unless the answer says 2 or 3.
//!
//! Legal age in Japan increases at the end of the day before the birthday, which is why a
//! child born on 1 April starts school a year earlier than one born on 2 April.
//!
//! Sources: 健康保険法 第74条 and 第110条, 高齢者の医療の確保に関する法律 第50条 and 第67条,
//! 年齢計算ニ関スル法律; in force until further notice (未就学 2割 since 2008-04-01, 2割 for
//! those turning 70 since 2014-04-01, 後期高齢者 2割 since 2022-10-01). Each rule with its
//! status: `docs/domain.md#ratio` and `docs/domain.md#elderly`.

use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// A payment ratio in tenths: 1, 2 or 3 (1割, 2割, 3割).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub struct Ratio(u8);

impl From<Ratio> for u8 {
    fn from(r: Ratio) -> u8 {
        r.0
    }
}

impl TryFrom<u8> for Ratio {
    type Error = String;

    /// Tenths as typed in an input file: only 1, 2 and 3 are ratios the desk can charge.
    fn try_from(tenths: u8) -> Result<Ratio, String> {
        match tenths {
            1..=3 => Ok(Ratio(tenths)),
            other => Err(format!("{other} is not a payment ratio (1, 2 or 3 tenths)")),
        }
    }
}

impl Ratio {
    pub const ONE: Ratio = Ratio(1);
    pub const TWO: Ratio = Ratio(2);
    pub const THREE: Ratio = Ratio(3);

    pub fn tenths(self) -> u8 {
        self.0
    }

    /// From a 3-digit percentage as the answer carries it (`010` → 1割). Only 10, 20 and 30
    /// are ratios the desk can charge; anything else is not trusted.
    pub fn from_percent_field(field: &str) -> Option<Ratio> {
        match field.trim().parse::<u16>().ok()? {
            10 => Some(Ratio::ONE),
            20 => Some(Ratio::TWO),
            30 => Some(Ratio::THREE),
            _ => None,
        }
    }

    /// 「3割」
    pub fn label(self) -> String {
        format!("{}割", self.0)
    }
}

/// Age bands of the payment rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBand {
    /// 未就学児
    Preschool,
    /// 就学後〜69歳
    SchoolTo69,
    /// 70〜74歳 (高齢受給者)
    From70To74,
    /// 75歳以上 (後期高齢者)
    From75,
}

fn anniversary(birth: Date, years: i32) -> Date {
    let year = birth.year() + years;
    // A 29 February birthday falls on 28 February in common years (the legal reading of that
    // edge is unconfirmed; it moves a band by one day at most).
    let day = birth.day().min(birth.month().length(year));
    Date::from_calendar_date(year, birth.month(), day).unwrap_or(birth)
}

/// The first day of the month after `date`'s month.
fn first_of_next_month(date: Date) -> Date {
    let (y, m) = match date.month() {
        Month::December => (date.year() + 1, Month::January),
        m => (date.year(), m.next()),
    };
    Date::from_calendar_date(y, m, 1).unwrap_or(date)
}

/// The age band on `on` for someone born on `birth`.
pub fn age_band(birth: Date, on: Date) -> AgeBand {
    if on >= anniversary(birth, 75) {
        return AgeBand::From75;
    }
    let seventy = anniversary(birth, 70);
    let elderly_from = if birth.day() == 1 {
        seventy.replace_day(1).unwrap_or(seventy)
    } else {
        first_of_next_month(seventy)
    };
    if on >= elderly_from {
        return AgeBand::From70To74;
    }
    // Legally 6 at the end of the day before the 6th birthday; school starts on the first
    // 1 April after that.
    let legally_six = anniversary(birth, 6).previous_day().unwrap_or(birth);
    let march_31 =
        Date::from_calendar_date(legally_six.year(), Month::March, 31).unwrap_or(legally_six);
    let preschool_until = if legally_six <= march_31 {
        march_31
    } else {
        Date::from_calendar_date(legally_six.year() + 1, Month::March, 31).unwrap_or(legally_six)
    };
    if on <= preschool_until {
        AgeBand::Preschool
    } else {
        AgeBand::SchoolTo69
    }
}

/// The ratio the age rules give, for a check where the answer states nothing more.
/// `high_income` is 現役並み所得 (only matters from 70).
pub fn ratio_for_age(birth: Date, on: Date, high_income: bool) -> Ratio {
    match age_band(birth, on) {
        AgeBand::Preschool => Ratio::TWO,
        AgeBand::SchoolTo69 => Ratio::THREE,
        AgeBand::From70To74 if high_income => Ratio::THREE,
        AgeBand::From70To74 => Ratio::TWO,
        AgeBand::From75 if high_income => Ratio::THREE,
        AgeBand::From75 => Ratio::ONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn preschool_ends_on_the_first_31_march_after_legally_turning_six() {
        // Born 2 April: legally 6 on 1 April 2026, so preschool until 31 March 2027.
        let b = date!(2020 - 04 - 02);
        assert_eq!(age_band(b, date!(2027 - 03 - 31)), AgeBand::Preschool);
        assert_eq!(age_band(b, date!(2027 - 04 - 01)), AgeBand::SchoolTo69);
        // Born 1 April: legally 6 on 31 March 2026, so school (3割) from 1 April 2026.
        let a = date!(2020 - 04 - 01);
        assert_eq!(age_band(a, date!(2026 - 03 - 31)), AgeBand::Preschool);
        assert_eq!(age_band(a, date!(2026 - 04 - 01)), AgeBand::SchoolTo69);
        assert_eq!(ratio_for_age(a, date!(2026 - 03 - 31), false), Ratio::TWO);
        assert_eq!(ratio_for_age(a, date!(2026 - 04 - 01), false), Ratio::THREE);
    }

    #[test]
    fn seventy_counts_from_the_first_of_the_next_month() {
        let b = date!(1956 - 11 - 15); // 70 on 2026-11-15
        assert_eq!(ratio_for_age(b, date!(2026 - 11 - 30), false), Ratio::THREE);
        assert_eq!(ratio_for_age(b, date!(2026 - 12 - 01), false), Ratio::TWO);
        assert_eq!(ratio_for_age(b, date!(2026 - 12 - 01), true), Ratio::THREE);
    }

    #[test]
    fn born_on_the_first_the_same_month_counts() {
        let b = date!(1956 - 11 - 01);
        assert_eq!(ratio_for_age(b, date!(2026 - 10 - 31), false), Ratio::THREE);
        assert_eq!(ratio_for_age(b, date!(2026 - 11 - 01), false), Ratio::TWO);
    }

    #[test]
    fn seventy_five_counts_from_the_birthday_itself() {
        let b = date!(1951 - 11 - 21);
        assert_eq!(age_band(b, date!(2026 - 11 - 20)), AgeBand::From70To74);
        assert_eq!(age_band(b, date!(2026 - 11 - 21)), AgeBand::From75);
        assert_eq!(ratio_for_age(b, date!(2026 - 11 - 21), false), Ratio::ONE);
    }

    #[test]
    fn december_birthdays_roll_into_january() {
        let b = date!(1956 - 12 - 20);
        assert_eq!(age_band(b, date!(2026 - 12 - 31)), AgeBand::SchoolTo69);
        assert_eq!(age_band(b, date!(2027 - 01 - 01)), AgeBand::From70To74);
    }

    #[test]
    fn percent_fields_map_to_ratios_and_nonsense_is_refused() {
        assert_eq!(Ratio::from_percent_field("010"), Some(Ratio::ONE));
        assert_eq!(Ratio::from_percent_field("020"), Some(Ratio::TWO));
        assert_eq!(Ratio::from_percent_field("030"), Some(Ratio::THREE));
        for bad in ["", "000", "015", "abc", "100"] {
            assert_eq!(Ratio::from_percent_field(bad), None, "{bad}");
        }
        assert_eq!(Ratio::THREE.label(), "3割");
    }
}
