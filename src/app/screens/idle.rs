//! Waiting for a card: what to do, and whether the reader is ready.

use egui::{RichText, Ui};

use super::{big_button, small_button};
use crate::app::state::{Action, Desk};
use crate::app::theme;

pub fn show(ui: &mut Ui, desk: &Desk, actions: &mut Vec<Action>) {
    ui.vertical_centered(|ui| {
        ui.add_space(40.0);
        // The finished patient's card still on the reader: ask for it, so it is neither
        // forgotten nor read again as the next patient's.
        let title = if desk.card_to_take().is_some() {
            "カードをお取りください"
        } else {
            "マイナ保険証をカードリーダーに置いてください"
        };
        ui.label(RichText::new(title).size(40.0).strong());
        ui.add_space(16.0);
        let (text, colour) = reader_state(desk);
        ui.label(RichText::new(text).size(24.0).color(colour));
        if let Some((line, trouble)) = desk.interop_line() {
            let (size, colour) = if trouble {
                (22.0, theme::BAD)
            } else {
                (16.0, theme::INFO)
            };
            ui.label(RichText::new(line).size(size).color(colour));
        }
        if let Some((line, offline)) = desk.shared_journal_line() {
            let colour = if offline { theme::BAD } else { theme::INFO };
            ui.label(RichText::new(line).size(20.0).color(colour));
        }
        if let Some(problem) = desk.public_expense_table_problem() {
            ui.label(RichText::new(problem).size(20.0).color(theme::BAD));
        }
        if desk.config.is_none() {
            ui.label(
                RichText::new(
                    "資格確認の接続先が設定されていません。職員の方は「設定(職員用)」から設定してください。",
                )
                .size(22.0)
                .color(theme::BAD),
            );
        }
        ui.add_space(40.0);
        ui.label("マイナ保険証をお持ちでない方・読み取れない方");
        ui.horizontal(|ui| {
            let width = 2.0 * 300.0 + 12.0;
            ui.add_space(((ui.available_width() - width) / 2.0).max(0.0));
            if big_button(ui, "資格確認書・お知らせ等", None) {
                actions.push(Action::OpenClaim);
            }
            if big_button(ui, "保険証番号で確認", None) {
                actions.push(Action::OpenNumbers);
            }
        });
        ui.add_space(24.0);
        ui.horizontal(|ui| {
            ui.add_space((ui.available_width() - 340.0).max(0.0) / 2.0);
            if small_button(ui, "受付記録") {
                actions.push(Action::OpenHistory);
            }
            if small_button(ui, "設定(職員用)") {
                actions.push(Action::OpenSettings);
            }
        });
        // A card that is already on a reader can be checked again with one tap.
        if let Some(r) = desk.readers().into_iter().find(|r| r.card_present) {
            ui.add_space(24.0);
            if small_button(ui, "置いてあるカードを読み取る") {
                actions.push(Action::ReadCard(r.name.clone()));
            }
        }
    });
}

fn reader_state(desk: &Desk) -> (String, egui::Color32) {
    let readers = desk.readers();
    if desk.service_error().is_some() && readers.is_empty() {
        return (
            format!(
                "カードリーダーのサービス({})に接続できません",
                crate::card::error::SERVICE_NAME
            ),
            theme::BAD,
        );
    }
    match readers.as_slice() {
        [] => (
            "カードリーダーが見つかりません。接続を確認してください".into(),
            theme::BAD,
        ),
        readers => match readers.iter().find(|r| r.card_present) {
            Some(r) => (format!("カードがあります: {}", r.name), theme::INFO),
            None => (
                format!("準備できています: {}", readers[0].name),
                theme::VALID,
            ),
        },
    }
}
