//! The patient window (お客様用画面): what the patient in front of the reader needs, on a
//! second display facing them, as reception desks with a customer display have.
//!
//! The PIN is the patient's; the facility passcode, the settings and the visual check are the
//! staff's. So this window shows where to put the card, the PIN keypad and the patient's own
//! choice on the last try, that the check runs, and that it is done (受付できました /
//! カードをお取りください) — never the verdict's details (numbers, ratio, name), the staff
//! screens or a passcode keypad. It is a function of the desk state alone: the app draws it in
//! its second viewport, tests draw it into a harness of their own.

use egui::{RichText, Spinner, Ui};

use super::{big_button, keypad, masked, small_button};
use crate::app::state::{Action, Desk, IdentityMode, Screen};
use crate::app::theme;
use crate::card::PinStatus;
use crate::domain::expiry::CertificateExpiry;
use crate::domain::VerdictKind;

/// Draws the patient window for the desk as it is; taps become `actions`, as on the clerk's.
pub fn show(ui: &mut Ui, desk: &Desk, actions: &mut Vec<Action>) {
    ui.vertical_centered(|ui| {
        // The keypad needs the height; the other screens have room to breathe.
        let top = if matches!(desk.screen, Screen::Identity(_)) {
            8.0
        } else {
            40.0
        };
        ui.add_space(top);
        match &desk.screen {
            Screen::Idle => title(ui, "マイナ保険証をカードリーダーに置いてください"),
            Screen::Reading { .. } => {
                ui.add(Spinner::new().size(64.0));
                title(ui, "カードを読み取っています");
                ui.label(RichText::new("カードを動かさないでください。").size(28.0));
            }
            Screen::Identity(s) => {
                if let Some(text) = expiry_note(&s.read.expiry) {
                    ui.label(RichText::new(text).size(24.0).color(theme::WARN));
                }
                match &s.mode {
                    IdentityMode::Pin { .. } | IdentityMode::LastTryWarning
                        if !desk.pin_on_patient_window() =>
                    {
                        title(ui, "職員の画面で暗証番号を入力してください");
                    }
                    IdentityMode::Pin { entered } => {
                        if let Some(notice) = &s.notice {
                            ui.label(RichText::new(notice).size(26.0).color(theme::BAD).strong());
                        }
                        title(ui, "暗証番号(数字4桁)を入力してください");
                        if let Some(PinStatus::Remaining(n)) = s.pin {
                            ui.label(format!("入力できる残り回数: {n}回"));
                        }
                        ui.label(RichText::new(masked(entered.len())).size(48.0));
                        keypad(ui, actions);
                        ui.add_space(8.0);
                        // Side by side: the keypad after a wrong PIN still fits 1024×768.
                        ui.horizontal(|ui| {
                            ui.add_space((ui.available_width() - 760.0).max(0.0) / 2.0);
                            ui.add_enabled_ui(entered.is_complete(), |ui| {
                                if big_button(ui, "決定", Some(theme::VALID)) {
                                    actions.push(Action::SubmitPin);
                                }
                            });
                            if small_button(ui, "暗証番号がわからない(職員が確認します)") {
                                actions.push(Action::StartVisualCheck);
                            }
                        });
                    }
                    IdentityMode::LastTryWarning => {
                        if let Some(notice) = &s.notice {
                            ui.label(RichText::new(notice).size(26.0).color(theme::BAD).strong());
                        }
                        title(ui, "暗証番号の入力はあと1回です");
                        ui.label(
                            "次に間違えるとロックされ、解除には市区町村の窓口での手続きが必要です。\n\
                             自信がなければ、職員が目視で本人確認します。",
                        );
                        ui.add_space(20.0);
                        if big_button(ui, "職員に確認してもらう", Some(theme::INFO)) {
                            actions.push(Action::StartVisualCheck);
                        }
                        if big_button(ui, "最後の1回を入力する", None) {
                            actions.push(Action::UseLastTry);
                        }
                    }
                    IdentityMode::PinUnavailable => {
                        // The words fit a face-auth card (no PIN) and a locked one alike.
                        title(ui, "このカードは職員が本人確認します");
                        ui.label(
                            RichText::new("職員がご本人の確認をします。そのままお待ちください。")
                                .size(28.0),
                        );
                    }
                    IdentityMode::CertificateExpired => {
                        title(ui, "カードの電子証明書の有効期限が切れています");
                        ui.label(
                            RichText::new("暗証番号の入力は不要です。職員がご案内します。")
                                .size(28.0),
                        );
                    }
                    IdentityMode::Passcode { .. } | IdentityMode::VisualCheck => {
                        title(ui, "職員がご本人の確認をしています");
                        ui.label(RichText::new("そのままお待ちください。").size(28.0));
                    }
                }
            }
            Screen::Querying { card, .. } => {
                ui.add(Spinner::new().size(64.0));
                title(ui, "確認中です");
                if card.is_some() {
                    ui.label(
                        RichText::new("カードはそのまま置いておいてください。").size(28.0),
                    );
                }
            }
            Screen::Result(r) => {
                let accepted = matches!(
                    r.verdict.kind,
                    VerdictKind::Valid | VerdictKind::CertificateExpiredGrace
                );
                if accepted {
                    title(ui, "受付できました");
                } else {
                    title(ui, "確認が終わりました");
                    ui.label(RichText::new("職員がご案内します。").size(28.0));
                }
                if r.card.is_some() {
                    ui.label(
                        RichText::new("カードをお取りください")
                            .size(36.0)
                            .strong()
                            .color(theme::INFO),
                    );
                }
            }
            Screen::Problem(p) => {
                title(ui, &p.title);
                ui.label(RichText::new("職員がご案内します。").size(28.0));
            }
            Screen::Numbers(_)
            | Screen::Claim(_)
            | Screen::Settings(_)
            | Screen::History(_) => {
                title(ui, "しばらくお待ちください");
            }
        }
    });
}

fn title(ui: &mut Ui, text: &str) {
    ui.label(RichText::new(text).size(40.0).strong());
}

/// The patient's own certificate news (their card, their errand at the city office).
fn expiry_note(expiry: &CertificateExpiry) -> Option<String> {
    match expiry {
        CertificateExpiry::Valid => None,
        CertificateExpiry::ExpiringSoon { expires_on } => Some(format!(
            "電子証明書の有効期限が近づいています({expires_on})。市区町村で更新してください。"
        )),
        CertificateExpiry::ExpiredGrace { .. } | CertificateExpiry::Expired { .. } => {
            Some("電子証明書の有効期限が切れています。市区町村で更新してください。".to_owned())
        }
    }
}
