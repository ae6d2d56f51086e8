//! The problem screen: a card or reader problem the desk must see, and the way back; drawn by
//! `screens::problem`.

use super::{Desk, Screen};
use crate::card::CardError;

/// A problem the desk must see, with where to go from it: the problem screen's content
/// (not a form field's parse problem, which is `domain::claim::input::Problem`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScreenProblem {
    pub title: String,
    pub message: String,
    /// Precise English detail for the log (written by [`Desk::problem`]); never drawn, the
    /// desk reads Japanese only.
    pub detail: String,
}

impl Desk {
    pub(super) fn card_problem(&mut self, e: &CardError) {
        let title = match e {
            CardError::NotMyNumberCard(_) => "マイナンバーカードではありません",
            CardError::CardRemoved => "カードが取り外されました",
            CardError::NoCard => "カードがありません",
            CardError::ServiceUnavailable(_) => "カードリーダーのサービスが止まっています",
            _ => "カードを読み取れませんでした",
        };
        self.problem(ScreenProblem {
            title: title.into(),
            message: e.desk_message(),
            detail: e.to_string(),
        });
    }

    /// Shows `p` and logs its English detail (the screen shows only the Japanese).
    pub(super) fn problem(&mut self, p: ScreenProblem) {
        tracing::warn!(title = %p.title, detail = %p.detail, "problem shown at the desk");
        self.screen = Screen::Problem(p);
    }
}
