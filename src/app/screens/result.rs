//! The verdict: colour and wording by outcome, the numbers to claim with, what to charge,
//! and the next step for anything but valid.

use egui::{RichText, Ui};

use super::{big_button, small_button};
use crate::app::state::{Action, ResultScreen};
use crate::app::theme;
use crate::domain::dates::format_wareki;
use crate::domain::expiry::CertificateExpiry;
use crate::domain::limit::limit_category;
use crate::domain::public_expense::table::BenefitTable;
use crate::domain::text::{has_gaiji, GAIJI_EXPLANATION};
use crate::domain::verdict::{Qualification, VerdictKind};
use crate::domain::IdentityMethod;

pub fn show(
    ui: &mut Ui,
    r: &ResultScreen,
    table: Option<&BenefitTable>,
    view: u64,
    actions: &mut Vec<Action>,
) {
    // What to do next stays on screen however long the records are; each new verdict opens
    // at the top, its banner and the ratio in view.
    super::framed(
        ui,
        "result",
        view,
        false,
        actions,
        |ui, actions| buttons(ui, r, actions),
        |ui, actions| details(ui, r, table, actions),
    );
}

/// The result's actions: 受付完了 when there is a qualification to claim with; otherwise
/// 再照会 (the service failed), the new qualification, or the claim path.
fn buttons(ui: &mut Ui, r: &ResultScreen, actions: &mut Vec<Action>) {
    let v = &r.verdict;
    let chosen = v.kind == VerdictKind::Several && r.choice.is_some();
    if v.kind == VerdictKind::Valid || v.kind == VerdictKind::CertificateExpiredGrace || chosen {
        if big_button(ui, "受付完了", Some(theme::VALID)) {
            actions.push(Action::Done);
        }
    } else if v.newer_qualification().is_some() {
        // The answer carries the new qualification: finish with it (its ratio is the one
        // shown), or confirm its numbers first.
        ui.horizontal_wrapped(|ui| {
            if big_button(ui, "新しい資格で受付完了", Some(theme::VALID)) {
                actions.push(Action::Done);
            }
            if big_button(ui, "新しい番号で照会", Some(theme::INFO)) {
                actions.push(Action::CheckNewerNumbers);
            }
            if small_button(ui, "他の方法で資格を確認") {
                actions.push(Action::OpenClaim);
            }
            if small_button(ui, "はじめに戻る") {
                actions.push(Action::Cancel);
            }
        });
    } else {
        let wide = if r.can_requery() { 900.0 } else { 600.0 };
        super::button_row(ui, wide, |ui| {
            // The service failed: asking again is the first thing to try.
            if r.can_requery() && big_button(ui, "再照会", Some(theme::VALID)) {
                actions.push(Action::Requery);
            }
            if big_button(ui, "他の方法で資格を確認", Some(theme::INFO)) {
                actions.push(Action::OpenClaim);
            }
            if big_button(ui, "はじめに戻る", None) {
                actions.push(Action::Cancel);
            }
        });
    }
}

/// The verdict, what to charge, the qualifications (and, for 複数該当, the choice).
fn details(ui: &mut Ui, r: &ResultScreen, table: Option<&BenefitTable>, actions: &mut Vec<Action>) {
    let v = &r.verdict;
    let charge = r.charge(table);
    let colour = theme::verdict_colour(v.kind);
    {
        ui.vertical_centered(|ui| {
            ui.add_space(8.0);
            egui::Frame::new()
                .fill(colour)
                .corner_radius(8.0)
                .inner_margin(egui::Margin::symmetric(32, 14))
                .show(ui, |ui| {
                    ui.label(
                        RichText::new(headline(v.kind))
                            .size(40.0)
                            .strong()
                            .color(egui::Color32::WHITE),
                    );
                });
            ui.add_space(6.0);
            ui.label(RichText::new(v.desk_message()).size(22.0));
            if let Some((expiry, method)) = &r.card {
                card_notes(ui, expiry, *method);
            }
            match &r.recorded {
                Ok(id) => {
                    ui.label(RichText::new(format!("記録しました(受付記録 #{id})")).size(18.0));
                }
                Err(why) => {
                    ui.label(
                        RichText::new(super::not_recorded(why))
                            .size(22.0)
                            .color(theme::BAD),
                    );
                }
            }
            if let Some(note) = &v.note {
                ui.label(
                    RichText::new(format!("{}: {}", note.code, note.message))
                        .size(18.0)
                        .color(theme::INFO),
                );
            }
        });
        ui.add_space(10.0);
        // With a 公費 that applies today, what the patient pays replaces the bare ratio.
        // 複数該当 before a candidate is chosen: no ratio is known, so no amount either.
        let undecided = v.kind == VerdictKind::Several && r.choice.is_none();
        let today = super::public_expense::today_line(charge.as_ref()).filter(|_| !undecided);
        if let Some(today) = today {
            ui.vertical_centered(|ui| {
                ui.label(RichText::new(today).size(40.0).strong());
                if let Some(ratio) = r.ratio() {
                    ui.label(
                        RichText::new(format!("(保険の負担割合 {})", ratio.label()))
                            .size(20.0)
                            .weak(),
                    );
                }
            });
        } else if let Some(ratio) = r.ratio() {
            ui.vertical_centered(|ui| {
                ui.label(
                    RichText::new(format!("窓口負担 {}", ratio.label()))
                        .size(44.0)
                        .strong(),
                );
            });
        }
        let can_add = !v.kind.is_system_failure();
        if super::public_expense::has_block(r) {
            super::public_expense::block(ui, r, charge.as_ref(), can_add, actions);
        }
        if v.kind == VerdictKind::Several {
            choice_status(ui, r);
        }
        for (i, q) in v.qualifications.iter().enumerate() {
            let chosen = r.choice.as_ref().is_some_and(|c| c.index == i);
            let title = match (v.kind, i) {
                (VerdictKind::InvalidNewExists, 0) => "新しい資格".to_owned(),
                (VerdictKind::InvalidNewExists, _) => "以前の資格(無効)".to_owned(),
                (VerdictKind::Several, n) if chosen => format!("候補 {}(この資格で受付)", n + 1),
                (VerdictKind::Several, n) => format!("候補 {}", n + 1),
                _ => "資格情報".to_owned(),
            };
            qualification(ui, &title, q);
            if r.can_choose(i) && !chosen {
                ui.vertical_centered(|ui| {
                    if big_button(ui, &format!("候補 {} で受付", i + 1), Some(theme::INFO)) {
                        actions.push(Action::ChooseQualification(i));
                    }
                });
            }
        }
        if can_add && !super::public_expense::has_block(r) {
            super::public_expense::add_button(ui, actions);
        }
    }
}

/// 複数該当: what to do, or which candidate was chosen and whether it is recorded.
fn choice_status(ui: &mut Ui, r: &ResultScreen) {
    let (text, colour) = match &r.choice {
        None => (
            "患者さんと一緒に正しい資格を選び、「候補 … で受付」を押してください。".to_owned(),
            theme::INFO,
        ),
        Some(c) => match &c.recorded {
            None => (
                format!("候補 {} を記録しています…", c.index + 1),
                theme::INFO,
            ),
            Some(Ok(())) => (
                format!("候補 {} で受付し、記録しました。", c.index + 1),
                theme::VALID,
            ),
            Some(Err(why)) => (
                format!(
                    "候補 {} を選びましたが記録できませんでした。内容を控えてください。{why}",
                    c.index + 1
                ),
                theme::BAD,
            ),
        },
    };
    ui.vertical_centered(|ui| {
        ui.label(RichText::new(text).size(22.0).strong().color(colour));
    });
}

fn headline(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::Valid => "資格確認: 有効",
        VerdictKind::CertificateExpiredGrace => "有効(資格情報のみ)",
        VerdictKind::Invalid => "資格: 無効",
        VerdictKind::InvalidNewExists => "新しい資格があります",
        VerdictKind::NoRecord => "資格情報なし",
        VerdictKind::Several => "複数の資格が該当",
        VerdictKind::CertificateExpired => "電子証明書の期限切れ",
        VerdictKind::NotRegistered => "保険証の利用登録なし",
        VerdictKind::RegistrationCancelled => "利用登録が解除されています",
        VerdictKind::CardReturned => "返納されたカードです",
        VerdictKind::CertificateRevoked => "電子証明書の失効",
        VerdictKind::ServerError => "システムエラー",
        VerdictKind::Unreachable => "システムに接続できません",
        VerdictKind::Timeout => "応答がありません",
        VerdictKind::AnswerMismatch => "照会と異なる方の回答",
    }
}

fn card_notes(ui: &mut Ui, expiry: &CertificateExpiry, method: IdentityMethod) {
    let method = match method {
        IdentityMethod::Pin => "本人確認: 暗証番号",
        IdentityMethod::Face => "本人確認: 顔認証",
        IdentityMethod::Visual => "本人確認: 目視確認(職員)",
    };
    ui.label(RichText::new(method).size(18.0));
    match expiry {
        CertificateExpiry::ExpiringSoon { expires_on } => {
            ui.label(
                RichText::new(format!(
                    "電子証明書の有効期限 {}: 市区町村での更新をご案内ください。",
                    format_wareki(*expires_on)
                ))
                .color(theme::WARN),
            );
        }
        CertificateExpiry::ExpiredGrace { grace_until, .. } => {
            ui.label(
                RichText::new(format!(
                    "電子証明書は期限切れ(猶予期間 {} まで)。更新をご案内ください。",
                    format_wareki(*grace_until)
                ))
                .color(theme::WARN),
            );
        }
        _ => {}
    }
}

fn qualification(ui: &mut Ui, title: &str, q: &Qualification) {
    egui::Frame::group(ui.style())
        .inner_margin(egui::Margin::same(14))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            // Read-only rows: no need for touch-sized row height.
            ui.spacing_mut().interact_size.y = 30.0;
            ui.label(RichText::new(title).size(24.0).strong());
            egui::Grid::new(("qualification", title))
                .num_columns(2)
                .spacing(egui::vec2(24.0, 6.0))
                .show(ui, |ui| {
                    let mut row = |label: &str, value: Option<String>| {
                        if let Some(value) = value.filter(|v| !v.is_empty()) {
                            ui.label(RichText::new(label).weak());
                            ui.label(RichText::new(value).size(24.0));
                            ui.end_row();
                        }
                    };
                    row("氏名", q.name.clone());
                    row("カナ", q.name_kana.clone());
                    row("生年月日", q.birthdate.map(format_wareki));
                    row(
                        "保険者",
                        Some(format!(
                            "{} {}",
                            q.insurer_number
                                .as_ref()
                                .map(|n| n.as_str().to_owned())
                                .unwrap_or_default(),
                            q.insurer_name.clone().unwrap_or_default()
                        )),
                    );
                    row(
                        "記号・番号・枝番",
                        Some(format!(
                            "{} ・ {} ・ {}",
                            q.symbol.as_deref().unwrap_or("(なし)"),
                            q.number.as_deref().unwrap_or("-"),
                            q.branch.as_deref().unwrap_or("-")
                        )),
                    );
                    row(
                        "本人・家族",
                        q.personal_family.as_deref().map(|p| {
                            match p {
                                "1" => "本人",
                                "2" => "家族",
                                other => other,
                            }
                            .to_owned()
                        }),
                    );
                    row("資格取得日", q.qualification_date.map(format_wareki));
                    row("資格喪失日", q.disqualification_date.map(format_wareki));
                    if let Some(e) = &q.elderly {
                        row(
                            "高齢受給者",
                            Some(format!(
                                "{} ({}〜{})",
                                e.ratio.map(|r| r.label()).unwrap_or_default(),
                                e.valid_from.map(format_wareki).unwrap_or_default(),
                                e.valid_until.map(format_wareki).unwrap_or_default()
                            )),
                        );
                    }
                    if let Some(r) = q.partial_contribution_ratio {
                        row("負担割合(資格情報の記載)", Some(r.label()));
                    }
                    if let Some(l) = &q.limit {
                        limit_row(ui, l);
                    }
                });
            if q.name.as_deref().is_some_and(has_gaiji) {
                ui.label(
                    RichText::new(GAIJI_EXPLANATION)
                        .size(18.0)
                        .color(theme::INFO),
                );
            }
        });
}

/// 限度額 by its meaning: 「区分ウ」 large, the income band and the code as received below it
/// (the code table is unconfirmed, see `domain::limit`, so the code stays in view).
fn limit_row(ui: &mut Ui, l: &crate::domain::verdict::LimitInfo) {
    ui.label(RichText::new("限度額適用区分").weak());
    ui.vertical(|ui| {
        let category = limit_category(&l.classification);
        let label = crate::domain::limit::limit_label(&l.classification);
        let shown = ui.label(RichText::new(&label).size(24.0));
        let period = match (l.valid_from, l.valid_until) {
            (None, None) => String::new(),
            (from, until) => format!(
                "、有効 {}〜{}",
                from.map(format_wareki).unwrap_or_default(),
                until.map(format_wareki).unwrap_or_default()
            ),
        };
        if let Some(c) = category {
            shown.on_hover_text(c.meaning);
            ui.label(
                RichText::new(format!("{} (コード {}{period})", c.meaning, c.code))
                    .size(16.0)
                    .weak(),
            );
        } else if !period.is_empty() {
            ui.label(
                RichText::new(period.trim_start_matches('、'))
                    .size(16.0)
                    .weak(),
            );
        }
    });
    ui.end_row();
}
