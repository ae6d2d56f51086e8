//! Waiting for the card or the service, with a way out.

use egui::{RichText, Spinner, Ui};

use super::small_button;
use crate::app::state::Action;

pub fn reading(ui: &mut Ui, reader: &str, actions: &mut Vec<Action>) {
    ui.vertical_centered(|ui| {
        ui.add_space(80.0);
        ui.add(Spinner::new().size(64.0));
        ui.label(
            RichText::new("カードを読み取っています。カードを動かさないでください。").size(30.0),
        );
        ui.label(RichText::new(reader).size(18.0).weak());
        ui.add_space(30.0);
        if small_button(ui, "中止") {
            actions.push(Action::Cancel);
        }
    });
}

pub fn show(ui: &mut Ui, by_card: bool, actions: &mut Vec<Action>) {
    ui.vertical_centered(|ui| {
        ui.add_space(80.0);
        ui.add(Spinner::new().size(64.0));
        ui.label(RichText::new("資格を確認しています…").size(32.0));
        if by_card {
            ui.label("カードはそのまま置いておいてください。");
        }
        ui.add_space(30.0);
        if small_button(ui, "中止") {
            actions.push(Action::Cancel);
        }
    });
}
