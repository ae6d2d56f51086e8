//! The result screen's 「公費・医療費助成」 block: each entitlement in priority order with its
//! share today, and the form 「紙の受給者証を追加」.

use egui::{RichText, Ui};

use super::{big_button, form_field, small_button};
use crate::app::state::{printed_cap_ja, validity_ja, Action, PaperExpenseForm, ResultScreen};
use crate::app::theme;
use crate::domain::public_expense::charge::{DeskCharge, ExpenseLine, LineStatus};
use crate::domain::public_expense::PublicExpense;

/// Said where the rule table could not be read.
const NO_TABLE: &str = "負担ルール表を読み込めないため、本日の負担額は計算していません";

/// The prominent line 「本日のお支払い: …」 when a 公費 changes today's charge.
pub fn today_line(charge: Option<&DeskCharge>) -> Option<String> {
    let c = charge?;
    c.applying().next()?;
    Some(format!("本日のお支払い: {}", c.today_ja()))
}

/// Whether the block is shown beside the ratio: the check has 公費, or the clerk is adding
/// one. Otherwise only the button 「紙の受給者証を追加」 is shown, under the qualifications
/// ([`add_button`]), so a result without 公費 keeps its layout.
pub fn has_block(r: &ResultScreen) -> bool {
    !r.public_expenses().is_empty()
        || r.paper.form.is_some()
        || r.paper.pending.is_some()
        || r.paper.notice.is_some()
}

/// 「紙の受給者証を追加」 alone, for a result without 公費.
pub fn add_button(ui: &mut Ui, actions: &mut Vec<Action>) {
    ui.add_space(8.0);
    ui.vertical_centered(|ui| {
        if small_button(ui, "紙の受給者証を追加") {
            actions.push(Action::OpenPaperExpense);
        }
    });
}

/// The block (see [`has_block`]).
pub fn block(
    ui: &mut Ui,
    r: &ResultScreen,
    charge: Option<&DeskCharge>,
    can_add: bool,
    actions: &mut Vec<Action>,
) {
    let expenses = r.public_expenses();
    egui::Frame::group(ui.style())
        .inner_margin(egui::Margin::same(14))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.spacing_mut().interact_size.y = 30.0;
            ui.label(RichText::new("公費・医療費助成").size(24.0).strong());
            match charge {
                Some(c) => {
                    let mut n = 0;
                    for line in &c.lines {
                        let title = if line.status == LineStatus::Applies {
                            n += 1;
                            format!("第{n}公費")
                        } else {
                            "適用なし".to_owned()
                        };
                        entitlement(ui, &title, &line.expense, Some(line));
                    }
                }
                None => {
                    if !expenses.is_empty() {
                        ui.label(RichText::new(NO_TABLE).size(18.0).color(theme::WARN));
                    }
                    for (i, e) in expenses.iter().enumerate() {
                        entitlement(ui, &format!("公費 {}", i + 1), e, None);
                    }
                }
            }
            if expenses.is_empty() {
                ui.label(
                    RichText::new("公費・医療費助成の情報はありません。")
                        .size(18.0)
                        .weak(),
                );
            }
            match &r.paper.notice {
                Some(Ok(said)) => {
                    ui.label(RichText::new(said).size(20.0).color(theme::VALID));
                }
                Some(Err(why)) => {
                    ui.label(
                        RichText::new(format!(
                            "紙の受給者証は本日の負担に含めましたが、{}",
                            super::not_recorded(why)
                        ))
                        .size(20.0)
                        .color(theme::BAD),
                    );
                }
                None => {}
            }
            if r.paper.pending.is_some() {
                ui.label(
                    RichText::new("紙の受給者証を記録しています…")
                        .size(20.0)
                        .color(theme::INFO),
                );
            } else if let Some(form) = &r.paper.form {
                paper_form(ui, form, actions);
            } else if can_add && small_button(ui, "紙の受給者証を追加") {
                actions.push(Action::OpenPaperExpense);
            }
        });
}

fn entitlement(ui: &mut Ui, title: &str, e: &PublicExpense, line: Option<&ExpenseLine>) {
    let warn = line.is_some_and(|l| l.status != LineStatus::Applies);
    let colour = if warn { Some(theme::WARN) } else { None };
    let scheme = line
        .and_then(|l| l.rule_name.clone())
        .or_else(|| e.name.clone())
        .or_else(|| e.law_number().national_scheme().map(str::to_owned))
        .unwrap_or_else(|| format!("法別番号 {:02}", e.law_number().value()));
    ui.add_space(6.0);
    let mut heading = RichText::new(format!("{title}: {scheme}"))
        .size(22.0)
        .strong();
    if let Some(c) = colour {
        heading = heading.color(c);
    }
    ui.label(heading);
    egui::Grid::new(("public-expense", e.payer.as_str(), title))
        .num_columns(2)
        .spacing(egui::vec2(24.0, 4.0))
        .show(ui, |ui| {
            let mut row = |label: &str, value: String, strong: bool| {
                ui.label(RichText::new(label).weak());
                let mut text = RichText::new(value).size(20.0);
                if strong {
                    text = text.strong();
                }
                if let Some(c) = colour {
                    text = text.color(c);
                }
                ui.label(text);
                ui.end_row();
            };
            if let Some(l) = line {
                row("本日の負担", l.share_ja(), true);
            }
            row("公費負担者番号", e.payer.as_str().to_owned(), false);
            row(
                "受給者番号",
                e.recipient
                    .as_ref()
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_else(|| "(記載なし)".into()),
                false,
            );
            row("有効期間", validity_ja(e), false);
            if let Some(i) = &e.income_category {
                row("所得区分", i.clone(), false);
            }
            if let Some(cap) = printed_cap_ja(e) {
                row("自己負担上限額(月額)", cap, false);
            }
            row("確認元", e.source.label().to_owned(), false);
        });
}

fn paper_form(ui: &mut Ui, form: &PaperExpenseForm, actions: &mut Vec<Action>) {
    let mut edited = form.clone();
    ui.add_space(8.0);
    ui.label(RichText::new("紙の受給者証を追加").size(22.0).strong());
    ui.label("受給者証(医療証)の記載のとおり入力してください。全角数字でも入力できます。");
    let mut scroll = super::new_problems(ui, "paper-expense", &form.problems);
    let mut field = |ui: &mut Ui, label: &str, key: &'static str, value: &mut String| {
        let problem = form
            .problems
            .iter()
            .filter(|(f, _)| *f == key)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let problem = Some(problem.as_str()).filter(|p| !p.is_empty());
        form_field(ui, label, ("paper-expense", key), value, problem, scroll);
        scroll &= problem.is_none();
    };
    field(ui, "公費負担者番号(8桁)", "payer", &mut edited.payer);
    field(
        ui,
        "受給者番号(7桁・記載がなければ空欄)",
        "recipient",
        &mut edited.recipient,
    );
    field(
        ui,
        "有効期間 開始(例 20260401 / R8.4.1)",
        "valid_from",
        &mut edited.valid_from,
    );
    field(
        ui,
        "有効期間 終了(記載がなければ空欄)",
        "valid_until",
        &mut edited.valid_until,
    );
    field(
        ui,
        "所得区分(任意)",
        "income_category",
        &mut edited.income_category,
    );
    field(
        ui,
        "自己負担上限額・月額(円、任意)",
        "monthly_cap",
        &mut edited.monthly_cap,
    );
    super::button_row(ui, 600.0, |ui| {
        if big_button(ui, "受給者証を追加する", Some(theme::INFO)) {
            actions.push(Action::SubmitPaperExpense);
        }
        if small_button(ui, "追加をやめる") {
            actions.push(Action::CancelPaperExpense);
        }
    });
    if edited != *form {
        actions.push(Action::EditPaperExpense(Box::new(edited)));
    }
}
