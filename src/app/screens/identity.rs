//! Identity confirmation (本人確認): the PIN on the keypad, or staff visual check (目視確認).

use egui::{RichText, Ui};

use super::{big_button, keypad, masked, passcode_refusal, small_button, staff_title};
use crate::app::state::{Action, Desk, IdentityMode, IdentityScreen};
use crate::app::theme;
use crate::card::PinStatus;
use crate::domain::expiry::CertificateExpiry;

pub fn show(ui: &mut Ui, s: &IdentityScreen, desk: &Desk, actions: &mut Vec<Action>) {
    ui.vertical_centered(|ui| {
        ui.add_space(12.0);
        expiry_banner(ui, &s.read.expiry);
        if let Some(notice) = &s.notice {
            ui.label(RichText::new(notice).size(24.0).color(theme::BAD).strong());
        }
        match &s.mode {
            // The PIN is the patient's: with a patient window the keypad is there, and the
            // clerk sees how far the patient is, never a key.
            IdentityMode::Pin { entered } if desk.pin_on_patient_window() => {
                ui.label(
                    RichText::new("お客様用画面で暗証番号を入力しています")
                        .size(32.0)
                        .strong(),
                );
                if let Some(PinStatus::Remaining(n)) = s.pin {
                    ui.label(format!("入力できる残り回数: {n}回"));
                }
                ui.label(RichText::new(masked(entered.len())).size(48.0));
                ui.add_space(20.0);
                if big_button(ui, "職員が目視で確認する", Some(theme::INFO)) {
                    actions.push(Action::StartVisualCheck);
                }
                if small_button(ui, "やめる") {
                    actions.push(Action::Cancel);
                }
                keypad_here_button(ui, actions);
            }
            IdentityMode::LastTryWarning if desk.pin_on_patient_window() => {
                ui.label(
                    RichText::new("暗証番号の入力はあと1回です")
                        .size(34.0)
                        .strong()
                        .color(theme::WARN),
                );
                ui.label("お客様用画面で、最後の1回を入力するか、職員の目視確認にするかを選んでいただいています。");
                ui.add_space(20.0);
                if big_button(ui, "職員が目視で確認する", Some(theme::INFO)) {
                    actions.push(Action::StartVisualCheck);
                }
                if small_button(ui, "やめる") {
                    actions.push(Action::Cancel);
                }
                keypad_here_button(ui, actions);
            }
            IdentityMode::Pin { entered } => {
                ui.label(
                    RichText::new("暗証番号(数字4桁)を入力してください")
                        .size(32.0)
                        .strong(),
                );
                if let Some(PinStatus::Remaining(n)) = s.pin {
                    ui.label(format!("入力できる残り回数: {n}回"));
                }
                ui.label(RichText::new(masked(entered.len())).size(48.0));
                keypad(ui, actions);
                ui.add_space(8.0);
                let ok = entered.is_complete();
                ui.add_enabled_ui(ok, |ui| {
                    if big_button(ui, "決定", Some(theme::VALID)) {
                        actions.push(Action::SubmitPin);
                    }
                });
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    ui.add_space((ui.available_width() - 560.0).max(0.0) / 2.0);
                    if small_button(ui, "暗証番号を忘れた・顔認証カード") {
                        actions.push(Action::StartVisualCheck);
                    }
                    if small_button(ui, "やめる") {
                        actions.push(Action::Cancel);
                    }
                });
            }
            IdentityMode::LastTryWarning => {
                ui.label(
                    RichText::new("暗証番号の入力はあと1回です")
                        .size(34.0)
                        .strong()
                        .color(theme::WARN),
                );
                ui.label(
                    "次に間違えるとロックされ、解除には市区町村の窓口での手続きが必要です。\n\
                     自信がなければ、職員が目視で本人確認します。職員にお声がけください。",
                );
                ui.add_space(20.0);
                if big_button(ui, "職員が目視で確認する", Some(theme::INFO)) {
                    actions.push(Action::StartVisualCheck);
                }
                if big_button(ui, "最後の1回を入力する", None) {
                    actions.push(Action::UseLastTry);
                }
                if small_button(ui, "やめる") {
                    actions.push(Action::Cancel);
                }
            }
            IdentityMode::PinUnavailable => {
                ui.label(
                    RichText::new("暗証番号は使えません")
                        .size(34.0)
                        .strong()
                        .color(theme::WARN),
                );
                ui.label(
                    "暗証番号がロックされているか、暗証番号のないカード(顔認証マイナンバーカード)です。\n\
                     職員が目視で本人確認します。ロックの解除は市区町村の窓口でできます。",
                );
                ui.add_space(20.0);
                if big_button(ui, "職員が目視で確認する", Some(theme::INFO)) {
                    actions.push(Action::StartVisualCheck);
                }
                if small_button(ui, "やめる") {
                    actions.push(Action::Cancel);
                }
            }
            IdentityMode::Passcode { entered, refused } => {
                let wait = desk.passcode_wait();
                staff_title(ui, "目視確認モード", 32.0);
                ui.label("施設のパスコード(数字4桁)を入力してください。");
                passcode_refusal(ui, *refused, wait);
                ui.label(RichText::new(masked(entered.len())).size(48.0));
                keypad(ui, actions);
                ui.add_enabled_ui(entered.is_complete() && wait.is_none(), |ui| {
                    if big_button(ui, "目視確認へ進む", Some(theme::INFO)) {
                        actions.push(Action::SubmitPasscode);
                    }
                });
                if small_button(ui, "やめる") {
                    actions.push(Action::Cancel);
                }
            }
            IdentityMode::VisualCheck => {
                staff_title(ui, "目視で本人確認してください", 34.0);
                ui.label(
                    "カードの顔写真とご本人を見比べてください。\n\
                     確認できたら「本人と確認しました」を押してください。",
                );
                ui.add_space(30.0);
                if big_button(ui, "本人と確認しました", Some(theme::VALID)) {
                    actions.push(Action::ConfirmVisual);
                }
                if small_button(ui, "確認できない・やめる") {
                    actions.push(Action::Cancel);
                }
            }
        }
    });
}

/// The way out when the patient window cannot be seen (its display off or unplugged): the
/// keypad comes to this window for this card.
fn keypad_here_button(ui: &mut Ui, actions: &mut Vec<Action>) {
    ui.add_space(12.0);
    ui.label(RichText::new("お客様用画面が見えないとき").size(18.0));
    if small_button(ui, "この画面で暗証番号を入力する") {
        actions.push(Action::PinKeypadHere);
    }
}

/// Certificate expiry news the patient should hear before the check.
fn expiry_banner(ui: &mut Ui, expiry: &CertificateExpiry) {
    let text = match expiry {
        CertificateExpiry::Valid => return,
        CertificateExpiry::ExpiringSoon { expires_on } => format!(
            "電子証明書の有効期限が近づいています({expires_on})。市区町村で更新してください。"
        ),
        CertificateExpiry::ExpiredGrace { grace_until, .. } => {
            format!("電子証明書の有効期限が切れています。{grace_until}までは資格確認のみできます。")
        }
        CertificateExpiry::Expired { .. } => {
            "電子証明書の有効期限が切れています。オンラインでは確認できない見込みです。".to_owned()
        }
    };
    ui.label(RichText::new(text).size(22.0).color(theme::WARN));
}
