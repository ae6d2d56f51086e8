//! Check by insurer numbers (個別照会), typed from a 資格確認書, the お知らせ or a portal screen.

use egui::{RichText, TextEdit, Ui};

use super::{big_button, small_button};
use crate::app::state::{Action, NumbersForm};
use crate::app::theme;

pub fn show(ui: &mut Ui, form: &NumbersForm, actions: &mut Vec<Action>) {
    let mut edited = form.clone();
    ui.vertical_centered(|ui| {
        ui.label(RichText::new("保険の番号で資格を確認").size(32.0).strong());
        ui.label("資格確認書・資格情報のお知らせ・マイナポータルの画面の番号を入力してください。");
    });
    ui.add_space(10.0);
    egui::Grid::new("numbers-form")
        .num_columns(3)
        .spacing(egui::vec2(16.0, 12.0))
        .show(ui, |ui| {
            field(ui, "保険者番号", "insurer", &mut edited.insurer, form);
            field(
                ui,
                "記号(ない場合は空欄)",
                "symbol",
                &mut edited.symbol,
                form,
            );
            field(ui, "番号", "number", &mut edited.number, form);
            field(ui, "枝番", "branch", &mut edited.branch, form);
            field(
                ui,
                "生年月日(例 19800401 / S55.4.1)",
                "birth",
                &mut edited.birth,
                form,
            );
        });
    if edited != *form {
        actions.push(Action::EditNumbers(edited));
    }
    ui.add_space(16.0);
    ui.vertical_centered(|ui| {
        if big_button(ui, "オンラインで確認", Some(theme::VALID)) {
            actions.push(Action::SubmitNumbers);
        }
        if small_button(ui, "戻る") {
            actions.push(Action::Cancel);
        }
    });
}

fn field(ui: &mut Ui, label: &str, key: &str, value: &mut String, form: &NumbersForm) {
    ui.label(RichText::new(label).size(22.0));
    ui.add_sized(
        [360.0, 56.0],
        TextEdit::singleline(value)
            .id_salt(key)
            .font(egui::TextStyle::Heading),
    );
    match form.problems.iter().find(|(f, _)| *f == key) {
        Some((_, message)) => ui.label(RichText::new(message).color(theme::BAD)),
        None => ui.label(""),
    };
    ui.end_row();
}
