//! The check by insurer numbers (保険証・資格確認書の番号で確認): the form and its submit;
//! drawn by `screens::numbers`.

use super::{Desk, Screen};
use crate::domain::numbers::{parse_birth_date, InsuranceNumbers};
use crate::domain::search::NumberSearch;

/// The form for a check by insurer numbers (保険証・資格確認書の番号で確認).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NumbersForm {
    pub insurer: String,
    pub symbol: String,
    pub number: String,
    pub branch: String,
    pub birth: String,
    /// Problems of the last submit, per field, in Japanese.
    pub problems: Vec<(&'static str, String)>,
}

impl Desk {
    pub(super) fn submit_numbers(&mut self) {
        let today = self.today();
        let Screen::Numbers(form) = &mut self.screen else {
            return;
        };
        let mut problems = Vec::new();
        let numbers = InsuranceNumbers::parse_form(
            &form.insurer,
            &form.symbol,
            &form.number,
            &form.branch,
            &mut problems,
        );
        let birth = parse_birth_date(&form.birth, today)
            .map_err(|e| problems.push(("birth", e.message)))
            .ok();
        form.problems = problems;
        let (Some(numbers), Some(birthdate)) = (numbers, birth) else {
            return;
        };
        let InsuranceNumbers {
            insurer_number: insurer,
            symbol,
            number,
            branch,
        } = numbers;
        if !form.problems.is_empty() {
            return;
        }
        self.query_by_numbers(Box::new(NumberSearch {
            insurer,
            symbol,
            number,
            branch,
            birthdate,
            limit_consent: false,
        }));
    }
}
