//! A card or reader problem: what happened and what to do, then back to waiting.

use egui::{RichText, Ui};

use super::big_button;
use crate::app::state::{Action, ScreenProblem};
use crate::app::theme;

pub fn show(ui: &mut Ui, p: &ScreenProblem, actions: &mut Vec<Action>) {
    ui.vertical_centered(|ui| {
        ui.add_space(60.0);
        ui.label(
            RichText::new(&p.title)
                .size(36.0)
                .strong()
                .color(theme::BAD),
        );
        ui.add_space(20.0);
        ui.label(RichText::new(&p.message).size(24.0));
        ui.add_space(40.0);
        if big_button(ui, "はじめに戻る", Some(theme::INFO)) {
            actions.push(Action::Done);
        }
        // `p.detail` is English for the log (written when the problem arose), never shown.
    });
}
