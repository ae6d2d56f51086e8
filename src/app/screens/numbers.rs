//! Check by insurer numbers (個別照会), typed from a 資格確認書, the お知らせ or a portal screen.

use egui::{RichText, Ui};

use super::{big_button, form_field, small_button};
use crate::app::state::{Action, NumbersForm};
use crate::app::theme;

pub fn show(ui: &mut Ui, form: &NumbersForm, view: u64, actions: &mut Vec<Action>) {
    super::framed(
        ui,
        "numbers",
        view,
        false,
        actions,
        |ui, actions| {
            super::button_row(ui, 460.0, |ui| {
                if big_button(ui, "オンラインで確認", Some(theme::VALID)) {
                    actions.push(Action::SubmitNumbers);
                }
                if small_button(ui, "戻る") {
                    actions.push(Action::Cancel);
                }
            });
        },
        |ui, actions| fields(ui, form, actions),
    );
}

fn fields(ui: &mut Ui, form: &NumbersForm, actions: &mut Vec<Action>) {
    let mut edited = form.clone();
    ui.vertical_centered(|ui| {
        ui.label(RichText::new("保険の番号で資格を確認").size(30.0).strong());
        ui.label("資格確認書・資格情報のお知らせ・マイナポータルの画面の番号を入力してください。");
    });
    ui.add_space(10.0);
    // A submit with problems brings the first one into view, once.
    let mut scroll = super::new_problems(ui, "numbers", &form.problems);
    let mut field = |ui: &mut Ui, label: &str, key: &'static str, value: &mut String| {
        let problem = form
            .problems
            .iter()
            .find(|(f, _)| *f == key)
            .map(|(_, m)| m.as_str());
        form_field(ui, label, ("numbers", key), value, problem, scroll);
        scroll &= problem.is_none();
    };
    field(ui, "保険者番号", "insurer", &mut edited.insurer);
    field(ui, "記号(ない場合は空欄)", "symbol", &mut edited.symbol);
    field(ui, "番号", "number", &mut edited.number);
    field(ui, "枝番", "branch", &mut edited.branch);
    field(
        ui,
        "生年月日(例 19800401 / S55.4.1)",
        "birth",
        &mut edited.birth,
    );
    if edited != *form {
        actions.push(Action::EditNumbers(edited));
    }
}
