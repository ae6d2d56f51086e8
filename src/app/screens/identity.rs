//! Identity confirmation (本人確認): the PIN on the keypad, or staff visual check (目視確認).

use egui::{RichText, Ui};

use super::{big_button, keypad, masked, passcode_refusal, small_button, staff_title};
use crate::app::state::{Action, Desk, IdentityMode, IdentityScreen};
use crate::app::theme;
use crate::card::PinStatus;
use crate::domain::dates::format_wareki;
use crate::domain::expiry::CertificateExpiry;

pub fn show(ui: &mut Ui, s: &IdentityScreen, desk: &Desk, actions: &mut Vec<Action>) {
    let view = desk.view();
    // With a patient window (お客様用画面) the PIN keypad is there: the clerk's screen shows
    // how far the patient is, never a key.
    let on_patient = desk.pin_on_patient_window();
    // The keypad screens keep their buttons beside the keypad when the window is wide, so
    // the keypad, 暗証番号を忘れた and やめる all stay in view on a 1366×698 window.
    let beside = !on_patient
        && matches!(
            s.mode,
            IdentityMode::Pin { .. } | IdentityMode::Passcode { .. }
        );
    // One panel per set of buttons: each remembers its own height.
    let id = match s.mode {
        IdentityMode::Pin { .. } => "identity-pin",
        IdentityMode::LastTryWarning => "identity-last-try",
        IdentityMode::PinUnavailable => "identity-no-pin",
        IdentityMode::Passcode { .. } => "identity-passcode",
        IdentityMode::VisualCheck => "identity-visual",
        IdentityMode::CertificateExpired => "identity-expired",
    };
    super::framed(
        ui,
        id,
        view,
        beside,
        actions,
        |ui, actions| buttons(ui, s, desk, actions),
        |ui, actions| content(ui, s, desk, actions),
    );
}

/// What to read and the keypad.
fn content(ui: &mut Ui, s: &IdentityScreen, desk: &Desk, actions: &mut Vec<Action>) {
    ui.vertical_centered(|ui| {
        ui.add_space(8.0);
        if s.mode != IdentityMode::CertificateExpired {
            expiry_banner(ui, &s.read.expiry);
        }
        if let Some(notice) = &s.notice {
            ui.label(RichText::new(notice).size(24.0).color(theme::BAD).strong());
        }
        match &s.mode {
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
            }
            IdentityMode::LastTryWarning if desk.pin_on_patient_window() => {
                ui.label(
                    RichText::new("暗証番号の入力はあと1回です")
                        .size(34.0)
                        .strong()
                        .color(theme::WARN),
                );
                ui.label("お客様用画面で、最後の1回を入力するか、職員の目視確認にするかを選んでいただいています。");
            }
            IdentityMode::Pin { entered } => {
                ui.label(
                    RichText::new("暗証番号(数字4桁)を入力してください")
                        .size(30.0)
                        .strong(),
                );
                if let Some(PinStatus::Remaining(n)) = s.pin {
                    ui.label(format!("入力できる残り回数: {n}回"));
                }
                ui.label(RichText::new(masked(entered.len())).size(40.0));
                keypad(ui, actions);
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
            }
            IdentityMode::PinUnavailable => {
                // A face-auth card (顔認証マイナンバーカード) has no PIN and reads exactly like
                // a locked one: the words fit both and never ask a face-auth patient about a
                // PIN they never had (a lock found here is said in the notice above).
                ui.label(
                    RichText::new("このカードは職員が本人確認します")
                        .size(34.0)
                        .strong()
                        .color(theme::WARN),
                );
                ui.label(
                    "顔認証マイナンバーカードの方、カードがロックされている方は、\n\
                     職員がカードの顔写真とご本人を見比べます。職員にお声がけください。",
                );
            }
            IdentityMode::Passcode { entered, refused } => {
                staff_title(ui, "目視確認モード", 30.0);
                ui.label("施設のパスコード(数字4桁)を入力してください。");
                passcode_refusal(ui, *refused, desk.passcode_wait());
                ui.label(RichText::new(masked(entered.len())).size(40.0));
                keypad(ui, actions);
            }
            IdentityMode::CertificateExpired => {
                ui.label(
                    RichText::new("電子証明書の有効期限切れ")
                        .size(34.0)
                        .strong()
                        .color(theme::BAD),
                );
                ui.label(RichText::new(s.read.expiry.desk_message()).size(24.0));
                ui.label(
                    RichText::new(
                        "暗証番号の入力は不要です。カードの更新は市区町村の窓口でできます。",
                    )
                    .size(22.0),
                );
            }
            IdentityMode::VisualCheck => {
                staff_title(ui, "目視で本人確認してください", 34.0);
                ui.label(
                    "カードの顔写真とご本人を見比べてください。\n\
                     確認できたら「本人と確認しました」を押してください。",
                );
            }
        }
    });
}

/// The step's buttons, in the panel that never scrolls.
fn buttons(ui: &mut Ui, s: &IdentityScreen, desk: &Desk, actions: &mut Vec<Action>) {
    match &s.mode {
        IdentityMode::Pin { .. } | IdentityMode::LastTryWarning if desk.pin_on_patient_window() => {
            super::button_row(ui, 600.0, |ui| {
                if big_button(ui, "職員が目視で確認する", Some(theme::INFO)) {
                    actions.push(Action::StartVisualCheck);
                }
                if small_button(ui, "やめる") {
                    actions.push(Action::Cancel);
                }
            });
            keypad_here_button(ui, actions);
        }
        IdentityMode::Pin { entered } => {
            ui.add_enabled_ui(entered.is_complete(), |ui| {
                if big_button(ui, "決定", Some(theme::VALID)) {
                    actions.push(Action::SubmitPin);
                }
            });
            super::button_row(ui, 560.0, |ui| {
                if small_button(ui, "暗証番号を忘れた・顔認証カード") {
                    actions.push(Action::StartVisualCheck);
                }
                if small_button(ui, "やめる") {
                    actions.push(Action::Cancel);
                }
            });
        }
        IdentityMode::LastTryWarning => {
            super::button_row(ui, 600.0, |ui| {
                if big_button(ui, "職員が目視で確認する", Some(theme::INFO)) {
                    actions.push(Action::StartVisualCheck);
                }
                if big_button(ui, "最後の1回を入力する", None) {
                    actions.push(Action::UseLastTry);
                }
            });
            if small_button(ui, "やめる") {
                actions.push(Action::Cancel);
            }
        }
        IdentityMode::PinUnavailable => {
            if big_button(ui, "職員が目視で確認する", Some(theme::INFO)) {
                actions.push(Action::StartVisualCheck);
            }
            if small_button(ui, "やめる") {
                actions.push(Action::Cancel);
            }
        }
        IdentityMode::Passcode { entered, .. } => {
            // A code typed during the wait after wrong tries is not checked.
            let wait = desk.passcode_wait();
            ui.add_enabled_ui(entered.is_complete() && wait.is_none(), |ui| {
                if big_button(ui, "目視確認へ進む", Some(theme::INFO)) {
                    actions.push(Action::SubmitPasscode);
                }
            });
            if small_button(ui, "やめる") {
                actions.push(Action::Cancel);
            }
        }
        IdentityMode::CertificateExpired => {
            super::button_row(ui, 600.0, |ui| {
                if big_button(ui, "資格確認書の番号で確認", Some(theme::INFO)) {
                    actions.push(Action::OpenNumbers);
                }
                if big_button(ui, "他の方法で資格を確認", None) {
                    actions.push(Action::OpenClaim);
                }
            });
            if small_button(ui, "はじめに戻る") {
                actions.push(Action::Cancel);
            }
        }
        IdentityMode::VisualCheck => {
            if big_button(ui, "本人と確認しました", Some(theme::VALID)) {
                actions.push(Action::ConfirmVisual);
            }
            if small_button(ui, "確認できない・やめる") {
                actions.push(Action::Cancel);
            }
        }
    }
}

/// Certificate expiry news the patient should hear before the check.
fn expiry_banner(ui: &mut Ui, expiry: &CertificateExpiry) {
    let text = match expiry {
        CertificateExpiry::Valid => return,
        CertificateExpiry::ExpiringSoon { expires_on } => format!(
            "電子証明書の有効期限が近づいています({})。市区町村で更新してください。",
            format_wareki(*expires_on)
        ),
        CertificateExpiry::ExpiredGrace { grace_until, .. } => format!(
            "電子証明書の有効期限が切れています。{}までは資格確認のみできます。",
            format_wareki(*grace_until)
        ),
        CertificateExpiry::Expired { .. } => {
            "電子証明書の有効期限が切れています。オンラインでは確認できない見込みです。".to_owned()
        }
    };
    ui.label(RichText::new(text).size(22.0).color(theme::WARN));
}

/// The way out when the patient window cannot be seen (its display off or unplugged): the
/// keypad comes to this window for this card.
fn keypad_here_button(ui: &mut Ui, actions: &mut Vec<Action>) {
    ui.add_space(8.0);
    ui.label(RichText::new("お客様用画面が見えないとき").size(18.0));
    if small_button(ui, "この画面で暗証番号を入力する") {
        actions.push(Action::PinKeypadHere);
    }
}
