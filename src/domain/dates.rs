//! Dates as people type them at the desk: 西暦 (`2026-11-21`, `2026/11/21`, `20261121`,
//! `2026年11月21日`) or 和暦 (`令和8年11月21日`, `R8.11.21`, `令和元年5月1日`, `S55.4.1`).
//!
//! Documents the patient shows (資格確認書, 資格情報のお知らせ, old 保険証) print their dates in
//! 和暦, and older patients give their birth date that way, so the desk must accept both
//! without asking anyone to convert in their head. Full-width digits and letters (from a
//! Japanese IME) and spaces are accepted.
//!
//! A 和暦 date must lie inside its era: 平成31年5月1日 does not exist (that day is 令和元年5月1日),
//! and is refused with a Japanese message rather than silently moved to the next era, because
//! such a date is almost always a typo in the era or the year. The same holds for a year past
//! the era's end (平成32年 is refused, not read as 2020, though some calendars printed before
//! 2019 carry it: a birth date or a card date typed that way is a mistake to be shown, and
//! the desk never guesses a patient's birth date), and for a day before its first day
//! (昭和元年12月24日 is 大正15年). Searches by birth date (the number search, the history
//! search) read their dates here, so every form the desk accepts is accepted everywhere.
//!
//! The eras' first days come from the 元号 cabinet orders and 改元 詔書 (令和 from 2019-05-01 by
//! 平成31年政令第143号, 平成 from 1989-01-08 by 昭和64年政令第1号); see `docs/domain.md#dates`.

use std::fmt;

use time::{Date, Month};

use super::text::normalize_width;

/// 元号 (Japanese era).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    /// 明治 (M). Its first day is taken as 1868-10-23 (明治改元, 慶応4年9月8日): the usual
    /// convention for converting dates. Dates before 1873-01-01 were lunisolar in Japan; they
    /// are converted here as if Gregorian, which no living patient's birth date needs.
    Meiji,
    /// 大正 (T), from 1912-07-30 (明治天皇崩御の翌日の改元, 明治45年7月30日の詔書).
    Taisho,
    /// 昭和 (S), from 1926-12-25 (大正15年12月25日の改元の詔書).
    Showa,
    /// 平成 (H), from 1989-01-08 (元号を改める政令, 昭和64年政令第1号).
    Heisei,
    /// 令和 (R), from 2019-05-01 (元号を改める政令, 平成31年政令第143号); the current era,
    /// with no last day.
    Reiwa,
}

/// Every era, oldest first.
pub const ERAS: [Era; 5] = [Era::Meiji, Era::Taisho, Era::Showa, Era::Heisei, Era::Reiwa];

impl Era {
    /// The era's first day.
    pub const fn start(self) -> Date {
        match self {
            Era::Meiji => time::macros::date!(1868 - 10 - 23),
            Era::Taisho => time::macros::date!(1912 - 07 - 30),
            Era::Showa => time::macros::date!(1926 - 12 - 25),
            Era::Heisei => time::macros::date!(1989 - 01 - 08),
            Era::Reiwa => time::macros::date!(2019 - 05 - 01),
        }
    }

    /// The next era, if any.
    pub const fn next(self) -> Option<Era> {
        match self {
            Era::Meiji => Some(Era::Taisho),
            Era::Taisho => Some(Era::Showa),
            Era::Showa => Some(Era::Heisei),
            Era::Heisei => Some(Era::Reiwa),
            Era::Reiwa => None,
        }
    }

    /// The era's last day (`None` for the current era).
    pub fn end(self) -> Option<Date> {
        self.next().and_then(|n| n.start().previous_day())
    }

    /// 「令和」
    pub const fn kanji(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }

    /// The one-letter abbreviation (`R`).
    pub const fn letter(self) -> char {
        match self {
            Era::Meiji => 'M',
            Era::Taisho => 'T',
            Era::Showa => 'S',
            Era::Heisei => 'H',
            Era::Reiwa => 'R',
        }
    }

    /// The era `date` falls in, if it is not before 明治.
    pub fn of(date: Date) -> Option<Era> {
        ERAS.iter().rev().copied().find(|e| e.start() <= date)
    }

    fn contains(self, date: Date) -> bool {
        self.start() <= date && self.end().is_none_or(|end| date <= end)
    }
}

/// A date that could not be read, with a Japanese message for the desk and English detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateError {
    /// Precise English detail for logs.
    pub detail: String,
    /// What the desk shows.
    pub message: String,
}

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for DateError {}

const FORMAT_HELP: &str =
    "日付は「2026-11-21」「20261121」「令和8年11月21日」「R8.11.21」のように入力してください。";

fn unreadable(input: &str) -> DateError {
    DateError {
        detail: format!("{input:?} is not a date (西暦 or 和暦)"),
        message: format!("日付を読み取れません。{FORMAT_HELP}"),
    }
}

/// Longest input looked at: a date written out in full is well under this.
const MAX_DATE_CHARS: usize = 32;

/// Reads a date typed as 西暦 or 和暦 (see the module documentation for the forms).
pub fn parse_date(input: &str) -> Result<Date, DateError> {
    if input.chars().count() > MAX_DATE_CHARS {
        return Err(DateError {
            detail: format!(
                "{} characters is too long for a date",
                input.chars().count()
            ),
            message: format!("日付が長すぎます。{FORMAT_HELP}"),
        });
    }
    let s: String = normalize_width(input)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let (era, rest) = split_era(&s);
    // 年/月/日 and the usual separators all split the same way; 元 is year 1.
    let groups: Vec<&str> = rest
        .split(['年', '月', '日', '.', '/', '-', '−', '‐'])
        .filter(|part| !part.is_empty())
        .collect();
    let numbers: Option<Vec<i32>> = match (era, groups.as_slice()) {
        // 20261121: eight digits only in 西暦.
        (None, [one]) if one.len() == 8 && one.bytes().all(|b| b.is_ascii_digit()) => Some(vec![
            one[..4].parse().unwrap_or(0),
            one[4..6].parse().unwrap_or(0),
            one[6..].parse().unwrap_or(0),
        ]),
        (_, [y, m, d]) => [*y, *m, *d]
            .iter()
            .enumerate()
            .map(|(i, g)| match (i, era, *g) {
                (0, Some(_), "元") => Some(1),
                (_, _, g)
                    if !g.is_empty() && g.len() <= 4 && g.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    g.parse().ok()
                }
                _ => None,
            })
            .collect(),
        _ => None,
    };
    let Some([year, month, day]) = numbers.and_then(|v| <[i32; 3]>::try_from(v).ok()) else {
        return Err(unreadable(input));
    };
    let western_year = match era {
        Some(e) => {
            if !(1..=99).contains(&year) {
                return Err(DateError {
                    detail: format!("{}{year}年 is not a year of the era", e.kanji()),
                    message: format!("{}{year}年という年はありません。", e.kanji()),
                });
            }
            e.start().year() + year - 1
        }
        None => year,
    };
    let date = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .zip(u8::try_from(day).ok())
        .and_then(|(m, d)| Date::from_calendar_date(western_year, m, d).ok())
        .ok_or_else(|| DateError {
            detail: format!("{input:?}: no such day ({western_year}-{month}-{day})"),
            message: "存在しない日付です。".to_owned(),
        })?;
    if let Some(e) = era {
        if !e.contains(date) {
            let range = match e.end() {
                Some(end) => format!("{}〜{}", japanese_western(e.start()), japanese_western(end)),
                None => format!("{}から", japanese_western(e.start())),
            };
            return Err(DateError {
                detail: format!(
                    "{input:?} is outside {} ({} to {})",
                    e.kanji(),
                    e.start(),
                    e.end().map_or("now".to_owned(), |d| d.to_string())
                ),
                message: format!(
                    "{}{}年{month}月{day}日は{}の期間外です({}は{range})。元号と年をご確認ください。",
                    e.kanji(),
                    if year == 1 { "元".to_owned() } else { year.to_string() },
                    e.kanji(),
                    e.kanji()
                ),
            });
        }
    }
    Ok(date)
}

/// `1989年1月8日`
fn japanese_western(d: Date) -> String {
    format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day())
}

/// Splits a leading era (kanji or its letter, any case) from the rest.
fn split_era(s: &str) -> (Option<Era>, &str) {
    for era in ERAS {
        if let Some(rest) = s.strip_prefix(era.kanji()) {
            return (Some(era), rest);
        }
        let mut chars = s.chars();
        if chars
            .next()
            .is_some_and(|c| c.eq_ignore_ascii_case(&era.letter()))
        {
            return (Some(era), chars.as_str());
        }
    }
    (None, s)
}

/// `YYYYMMDD`, the date form of the `XmlMsg` messages (the service's and the receipt
/// computer's files), in one place.
pub fn compact(date: Date) -> String {
    format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// `令和8年11月22日`, the one way the desk shows a person's dates (生年月日, 資格取得日, …) on
/// screen and on the printed 被保険者資格申立書: receipt computers (レセコン) and the documents
/// the patient carries write them in 和暦, so a clerk compares like with like.
///
/// The first year of an era is written 元年 (令和元年5月1日), as the 元号 orders, official forms
/// and receipt computers write it; [`parse_date`] reads both 元年 and 1年. Dates before 明治
/// (1868-10-23) have no era here and are written in the 西暦 form (`1868年10月22日`).
/// The era first days are those of [`Era::start`] (sources there).
pub fn format_wareki(date: Date) -> String {
    match Era::of(date) {
        Some(era) => {
            let year = date.year() - era.start().year() + 1;
            let year = if year == 1 {
                "元".to_owned()
            } else {
                year.to_string()
            };
            format!(
                "{}{year}年{}月{}日",
                era.kanji(),
                u8::from(date.month()),
                date.day()
            )
        }
        None => japanese_western(date),
    }
}

/// The same day `years` later (29 February → 28 February in common years).
pub fn add_years(date: Date, years: i32) -> Date {
    let year = date.year() + years;
    let day = date.day().min(date.month().length(year));
    Date::from_calendar_date(year, date.month(), day).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn ok(s: &str) -> Date {
        parse_date(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn western_forms() {
        for s in [
            "2026-11-21",
            "2026/11/21",
            "20261121",
            "2026.11.21",
            "2026年11月21日",
            "２０２６－１１－２１",
            "２０２６年１１月２１日",
            " 2026 / 11 / 21 ",
            "2026−11−21",
        ] {
            assert_eq!(ok(s), date!(2026 - 11 - 21), "{s}");
        }
    }

    #[test]
    fn japanese_era_forms() {
        for s in [
            "R8.11.21",
            "r8.11.21",
            "Ｒ８．１１．２１",
            "ｒ８.１１.２１",
            "令和8年11月21日",
            "令和８年１１月２１日",
            "令和 8年 11月 21日",
            "R8/11/21",
            "R8-11-21",
        ] {
            assert_eq!(ok(s), date!(2026 - 11 - 21), "{s}");
        }
        assert_eq!(ok("令和元年5月1日"), date!(2019 - 05 - 01));
        assert_eq!(ok("昭和55年4月1日"), date!(1980 - 04 - 01));
        assert_eq!(ok("S55.4.1"), date!(1980 - 04 - 01));
        assert_eq!(ok("H31.4.30"), date!(2019 - 04 - 30));
        assert_eq!(ok("T15.12.24"), date!(1926 - 12 - 24));
        assert_eq!(ok("M45.7.29"), date!(1912 - 07 - 29));
    }

    #[test]
    fn each_era_boundary_both_sides() {
        let cases = [
            ("明治元年10月23日", Some(date!(1868 - 10 - 23))),
            ("明治元年10月22日", None),
            ("明治45年7月29日", Some(date!(1912 - 07 - 29))),
            ("明治45年7月30日", None),
            ("大正元年7月30日", Some(date!(1912 - 07 - 30))),
            ("大正元年7月29日", None),
            ("大正15年12月24日", Some(date!(1926 - 12 - 24))),
            ("大正15年12月25日", None),
            ("昭和元年12月25日", Some(date!(1926 - 12 - 25))),
            ("昭和元年12月24日", None),
            ("昭和64年1月7日", Some(date!(1989 - 01 - 07))),
            ("昭和64年1月8日", None),
            ("平成元年1月8日", Some(date!(1989 - 01 - 08))),
            ("平成元年1月7日", None),
            ("平成31年4月30日", Some(date!(2019 - 04 - 30))),
            ("平成31年5月1日", None),
            ("令和元年5月1日", Some(date!(2019 - 05 - 01))),
            ("令和1年4月30日", None),
        ];
        for (s, want) in cases {
            match want {
                Some(d) => assert_eq!(ok(s), d, "{s}"),
                None => {
                    let e = parse_date(s).expect_err(s);
                    assert!(e.message.contains("期間外"), "{s}: {}", e.message);
                }
            }
        }
    }

    #[test]
    fn out_of_era_messages_name_the_range() {
        let e = parse_date("平成31年5月1日").expect_err("after 平成");
        assert!(
            e.message.contains("平成31年5月1日は平成の期間外"),
            "{}",
            e.message
        );
        assert!(e.message.contains("2019年4月30日"), "{}", e.message);
    }

    #[test]
    fn nonsense_is_refused() {
        for s in [
            "",
            "2026",
            "2026-13-01",
            "2026-02-29",
            "R0.1.1",
            "令和100年1月1日",
            "X8.11.21",
            "R8.11",
            "R8.11.21.3",
            "2026-11-21x",
            "令和八年十一月",
            "20261121\u{0}",
            &"1".repeat(1000),
            "99999999",
        ] {
            assert!(parse_date(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn forms_a_clerk_types_from_a_receipt_computer() {
        for (s, want) in [
            ("S45.3.12", date!(1970 - 03 - 12)),
            ("昭和45年3月12日", date!(1970 - 03 - 12)),
            ("Ｓ４５．３．１２", date!(1970 - 03 - 12)),
            ("昭和４５年３月１２日", date!(1970 - 03 - 12)),
            ("H1/1/8", date!(1989 - 01 - 08)),
            ("Ｈ１／１／８", date!(1989 - 01 - 08)),
            ("平成1年1月8日", date!(1989 - 01 - 08)),
            ("平成元年1月8日", date!(1989 - 01 - 08)),
            ("R7.4.1", date!(2025 - 04 - 01)),
            ("r7.4.1", date!(2025 - 04 - 01)),
            ("Ｒ７．４．１", date!(2025 - 04 - 01)),
        ] {
            assert_eq!(ok(s), want, "{s}");
        }
    }

    #[test]
    fn years_past_an_era_and_days_before_it_are_refused() {
        for s in [
            "平成32年1月1日",
            "H32.1.1",
            "昭和65年1月1日",
            "大正16年1月1日",
        ] {
            let e = parse_date(s).expect_err(s);
            assert!(e.message.contains("期間外"), "{s}: {}", e.message);
        }
        for s in ["H1/1/7", "S1.12.24", "R1.4.30", "T1.7.29", "M1.10.22"] {
            let e = parse_date(s).expect_err(s);
            assert!(e.message.contains("期間外"), "{s}: {}", e.message);
        }
    }

    #[test]
    fn the_first_year_is_written_gannen_and_read_either_way() {
        assert_eq!(format_wareki(date!(1989 - 01 - 08)), "平成元年1月8日");
        assert_eq!(format_wareki(date!(1989 - 12 - 31)), "平成元年12月31日");
        assert_eq!(format_wareki(date!(1990 - 01 - 01)), "平成2年1月1日");
        assert_eq!(format_wareki(date!(1970 - 03 - 12)), "昭和45年3月12日");
        assert_eq!(ok("平成1年12月31日"), ok("平成元年12月31日"));
        assert_eq!(format_wareki(date!(1868 - 10 - 22)), "1868年10月22日");
    }

    #[test]
    fn wareki_display() {
        assert_eq!(format_wareki(date!(2026 - 11 - 22)), "令和8年11月22日");
        assert_eq!(format_wareki(date!(2019 - 05 - 01)), "令和元年5月1日");
        assert_eq!(format_wareki(date!(2019 - 04 - 30)), "平成31年4月30日");
        assert_eq!(format_wareki(date!(1989 - 01 - 07)), "昭和64年1月7日");
        assert_eq!(format_wareki(date!(1926 - 12 - 25)), "昭和元年12月25日");
        assert_eq!(format_wareki(date!(1912 - 07 - 30)), "大正元年7月30日");
        assert_eq!(format_wareki(date!(1900 - 01 - 01)), "明治33年1月1日");
        for d in [
            date!(1950 - 06 - 15),
            date!(2000 - 02 - 29),
            date!(2026 - 11 - 22),
        ] {
            assert_eq!(ok(&format_wareki(d)), d);
        }
    }

    #[test]
    fn adding_years_keeps_leap_days_in_range() {
        assert_eq!(add_years(date!(2024 - 02 - 29), 5), date!(2029 - 02 - 28));
        assert_eq!(add_years(date!(2026 - 11 - 21), 5), date!(2031 - 11 - 21));
    }
}
