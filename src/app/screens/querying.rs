//! Waiting for the card or the service, with a way out.

use egui::{RichText, Spinner, Ui};

use super::small_button;
use crate::app::state::Action;

pub fn reading(ui: &mut Ui, reader: &str, next_patient: bool, actions: &mut Vec<Action>) {
    ui.vertical_centered(|ui| {
        ui.add_space(40.0);
        if next_patient {
            ui.label(
                RichText::new("新しいカードが置かれました。前の方の結果を閉じて、次の方のカードを読み取っています。")
                    .size(26.0)
                    .strong()
                    .color(crate::app::theme::INFO),
            );
        }
        ui.add_space(40.0);
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
