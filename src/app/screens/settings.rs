//! Staff settings: the facility passcode first, then the configuration as a form.

use egui::{RichText, TextEdit, Ui};

use super::{big_button, keypad, masked, passcode_refusal, small_button, staff_title};
use crate::app::settings::SettingsForm;
use crate::app::state::{Action, SettingsScreen};
use crate::app::theme;
use crate::domain::expiry::GraceEnd;

pub fn show(
    ui: &mut Ui,
    s: &SettingsScreen,
    view: u64,
    wait: Option<u64>,
    actions: &mut Vec<Action>,
) {
    if s.confirming {
        super::framed(
            ui,
            "settings-confirm",
            view,
            false,
            actions,
            |ui, actions| {
                super::button_row(ui, 600.0, |ui| {
                    if big_button(ui, "確かめたので設定を開く", Some(theme::STAFF)) {
                        actions.push(Action::ConfirmSettings);
                    }
                    if small_button(ui, "戻る") {
                        actions.push(Action::Cancel);
                    }
                });
            },
            |ui, _| {
                ui.vertical_centered(|ui| {
                    staff_title(ui, "設定を開きますか", 32.0);
                    ui.label(
                        "設定用パスコードが決められていないため、目視確認と同じ施設パスコードで開こうとしています。\n\
                         接続先や証明書の設定です。患者さんから画面が見えないことを確かめてから開いてください。\n\
                         設定の中で、施設パスコードと別の「設定用パスコード」を決められます。",
                    );
                });
            },
        );
        return;
    }
    if !s.unlocked {
        super::framed(
            ui,
            "settings-passcode",
            view,
            true,
            actions,
            |ui, actions| {
                ui.add_enabled_ui(s.passcode.is_complete() && wait.is_none(), |ui| {
                    if big_button(ui, "設定を開く", Some(theme::INFO)) {
                        actions.push(Action::SubmitPasscode);
                    }
                });
                if small_button(ui, "戻る") {
                    actions.push(Action::Cancel);
                }
            },
            |ui, actions| {
                ui.vertical_centered(|ui| {
                    staff_title(ui, "設定", 30.0);
                    ui.label(
                        "設定用パスコード(決めていなければ施設パスコード、数字4桁)を入力してください。",
                    );
                    passcode_refusal(ui, s.refused, wait);
                    ui.label(RichText::new(masked(s.passcode.len())).size(40.0));
                    keypad(ui, actions);
                });
            },
        );
        return;
    }
    egui::Panel::bottom("settings-actions").show(ui, |ui| {
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let label = if s.saving.is_some() {
                "保存しています…"
            } else {
                "保存"
            };
            if big_button(ui, label, Some(theme::VALID)) && s.saving.is_none() {
                actions.push(Action::SaveSettings);
            }
            if small_button(ui, "閉じる") {
                actions.push(Action::Cancel);
            }
        });
        ui.add_space(6.0);
    });
    let mut f: SettingsForm = s.form.clone();
    egui::ScrollArea::vertical()
        .id_salt(("settings", view))
        .show(ui, |ui| {
            staff_title(ui, "設定", 30.0);
            ui.label(format!("設定ファイル: {}", f.path.display()));
            match &s.form.outcome {
                Some(Ok(note)) => {
                    ui.label(RichText::new(note).color(theme::VALID).size(22.0));
                }
                Some(Err(problem)) => {
                    // Every problem, one per line, brought into view once after the save.
                    let response = ui.label(RichText::new(problem).color(theme::BAD).size(22.0));
                    let lines: Vec<(&'static str, String)> = problem
                        .lines()
                        .map(|l| ("settings", l.to_owned()))
                        .collect();
                    if super::new_problems(ui, "settings", &lines) {
                        response.scroll_to_me(Some(egui::Align::TOP));
                    }
                }
                None => {}
            }
            egui::Grid::new("settings")
                .num_columns(2)
                .spacing(egui::vec2(16.0, 8.0))
                .show(ui, |ui| {
                    let row = |ui: &mut Ui, label: &str, value: &mut String, password: bool| {
                        ui.label(RichText::new(label).size(20.0));
                        ui.add_sized(
                            [520.0, 44.0],
                            TextEdit::singleline(value)
                                .id_salt(("settings", label.to_owned()))
                                .password(password),
                        );
                        ui.end_row();
                    };
                    row(ui, "医療機関コード(10桁)", &mut f.facility_code, false);
                    row(ui, "医療機関名", &mut f.facility_name, false);
                    row(ui, "資格確認の接続先(https://)", &mut f.url, false);
                    row(ui, "サーバーCA証明書(PEM)", &mut f.ca, false);
                    row(
                        ui,
                        "クライアント証明書(PEM)",
                        &mut f.client_certificate,
                        false,
                    );
                    row(ui, "クライアント秘密鍵(PEM)", &mut f.client_key, false);
                    row(
                        ui,
                        "接続タイムアウト(ミリ秒)",
                        &mut f.connect_timeout_ms,
                        false,
                    );
                    row(ui, "応答タイムアウト(ミリ秒)", &mut f.timeout_ms, false);
                    row(ui, "カードリーダー(名前の先頭)", &mut f.reader, false);
                    row(ui, "プリンタ(CUPSのキュー名)", &mut f.printer, false);
                    row(ui, "文字の大きさ(0.8〜2.0)", &mut f.scale, false);
                    row(
                        ui,
                        "結果を自動で閉じるまで(秒)",
                        &mut f.result_timeout_s,
                        false,
                    );
                    row(
                        ui,
                        "新しい施設パスコード(変更時のみ)",
                        &mut f.new_passcode,
                        true,
                    );
                    row(
                        ui,
                        "新しい設定用パスコード(変更時のみ)",
                        &mut f.new_settings_passcode,
                        true,
                    );
                    row(
                        ui,
                        "お客様用画面の位置(例 1920, 0)",
                        &mut f.patient_display_position,
                        false,
                    );
                    row(
                        ui,
                        "レセコン連携フォルダ(req・res・face を置く共有フォルダ)",
                        &mut f.interop_folder,
                        false,
                    );
                });
            ui.checkbox(
                &mut f.interop_enabled,
                RichText::new("レセコン連携を使う(結果ファイルをレセコンに渡す。再起動後から)")
                    .size(20.0),
            );
            ui.checkbox(
                &mut f.interop_utf8,
                RichText::new("結果ファイルを UTF-8 で書く(通常は Shift_JIS)").size(20.0),
            );
            ui.checkbox(
                &mut f.patient_display,
                RichText::new(
                    "お客様用画面を使う(2台目のディスプレイに暗証番号の入力画面を出す。再起動後から)",
                )
                .size(20.0),
            );
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new("証明書期限切れ後の猶予の終わり").size(20.0));
                ui.selectable_value(
                    &mut f.grace_end,
                    GraceEnd::EndOfMonth,
                    "期限月の末日から3か月",
                );
                ui.selectable_value(
                    &mut f.grace_end,
                    GraceEnd::FromExpiryDate,
                    "期限日から3か月",
                );
            });
        });
    if f != s.form {
        actions.push(Action::EditSettings(Box::new(f)));
    }
}
