//! The `public_expenses` column (schema version 5): the 公費・医療費助成 entitlements known for
//! a check, online and paper, as a JSON array.
//!
//! Written as the domain type serialises (`domain::public_expense::PublicExpense`: numbers as
//! text, dates `YYYY-MM-DD`, `source` `online`/`paper`); read back through the numbers' own
//! parsers, so a record never holds a 公費負担者番号 with a wrong check digit. A text that is
//! not such a list is refused when the row is read (as the enum columns are).

use serde::Deserialize;
use time::Date;

use super::JournalError;
use crate::domain::numbers::{PublicPayerNumber, RecipientNumber};
use crate::domain::public_expense::{PublicExpense, PublicExpenseSource};

/// One entitlement as stored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    payer: String,
    recipient: Option<String>,
    valid_from: Option<String>,
    valid_until: Option<String>,
    income_category: Option<String>,
    monthly_cap_yen: Option<u32>,
    name: Option<String>,
    source: PublicExpenseSource,
}

fn date(s: Option<String>) -> Result<Option<Date>, String> {
    s.map(|s| {
        Date::parse(
            &s,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|e| format!("{s:?} is not a date: {e}"))
    })
    .transpose()
}

impl Stored {
    fn into_expense(self) -> Result<PublicExpense, String> {
        Ok(PublicExpense {
            payer: PublicPayerNumber::parse(&self.payer).map_err(|e| e.detail)?,
            recipient: self
                .recipient
                .map(|r| RecipientNumber::parse(&r).map_err(|e| e.detail))
                .transpose()?,
            valid_from: date(self.valid_from)?,
            valid_until: date(self.valid_until)?,
            income_category: self.income_category,
            monthly_cap_yen: self.monthly_cap_yen,
            name: self.name,
            source: self.source,
        })
    }
}

/// The column's text for `expenses` (`[]` for none).
pub(crate) fn to_json(expenses: &[PublicExpense]) -> Result<String, JournalError> {
    Ok(serde_json::to_string(expenses)?)
}

/// The entitlements stored as `text`, or the English reason it is not such a list.
pub(crate) fn from_json(text: &str) -> Result<Vec<PublicExpense>, String> {
    let stored: Vec<Stored> =
        serde_json::from_str(text).map_err(|e| format!("not a public-expense list: {e}"))?;
    stored.into_iter().map(Stored::into_expense).collect()
}

/// The short form the CSV export shows: `公費負担者番号/受給者番号` joined by `;` (`紙:` before a
/// paper one), e.g. `88132014/1234566;紙:54130018/3456788`.
pub fn short(expenses: &[PublicExpense]) -> String {
    expenses
        .iter()
        .map(|e| {
            let paper = match e.source {
                PublicExpenseSource::Paper => "紙:",
                PublicExpenseSource::Online => "",
            };
            match &e.recipient {
                Some(r) => format!("{paper}{}/{}", e.payer.as_str(), r.as_str()),
                None => format!("{paper}{}", e.payer.as_str()),
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn infant() -> PublicExpense {
        PublicExpense {
            payer: PublicPayerNumber::parse("88132014").expect("payer"),
            recipient: Some(RecipientNumber::parse("1234566").expect("recipient")),
            valid_from: Some(date!(2026 - 04 - 01)),
            valid_until: Some(date!(2027 - 03 - 31)),
            income_category: None,
            monthly_cap_yen: None,
            name: Some("乳幼児医療費助成".into()),
            source: PublicExpenseSource::Online,
        }
    }

    #[test]
    fn a_list_is_read_back_as_written() {
        let mut welfare = infant();
        welfare.payer = PublicPayerNumber::parse("12130019").expect("payer");
        welfare.recipient = None;
        welfare.valid_until = None;
        welfare.source = PublicExpenseSource::Paper;
        let list = vec![infant(), welfare];
        let text = to_json(&list).expect("json");
        assert!(text.contains("\"2026-04-01\""), "{text}");
        assert!(text.contains("\"paper\""), "{text}");
        assert_eq!(from_json(&text), Ok(list.clone()));
        assert_eq!(short(&list), "88132014/1234566;紙:12130019");
        assert_eq!(from_json("[]"), Ok(vec![]));
    }

    #[test]
    fn a_wrong_check_digit_or_other_text_is_refused() {
        let text = to_json(&[infant()])
            .expect("json")
            .replace("88132014", "88132015");
        assert!(from_json(&text).is_err());
        assert!(from_json("not json").is_err());
        assert!(from_json("{}").is_err());
    }
}
