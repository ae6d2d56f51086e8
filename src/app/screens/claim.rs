//! The claim-path wizard (請求の経路): which step applies and why, the evidence the patient
//! shows, the re-check by number, the self-declaration with its preview and printout, and the
//! receipt header to claim with.

use egui::{RichText, TextEdit, Ui};

use super::{big_button, job_button, small_button};
use crate::app::claim_flow::{ClaimFlow, ClaimStage, DeclarationForm, EvidenceForm, Finished};
use crate::app::state::Action;
use crate::app::theme;
use crate::domain::claim::{Circumstance, ClaimStep, EvidenceKind, SelfDeclaration};

pub fn show(ui: &mut Ui, flow: &ClaimFlow, view: u64, actions: &mut Vec<Action>) {
    ui.vertical_centered(|ui| {
        ui.label(
            RichText::new("請求の経路(オンラインで確認できないとき)")
                .size(30.0)
                .strong(),
        );
    });
    if let Some(notice) = &flow.notice {
        ui.label(RichText::new(notice).color(theme::BAD).size(22.0));
    }
    // The step's buttons stay on screen however long the form is.
    egui::Panel::bottom("claim-actions").show(ui, |ui| {
        ui.add_space(6.0);
        ui.horizontal(|ui| action_bar(ui, flow, actions));
        ui.add_space(6.0);
    });
    // Each stage opens at the top (the scroll area is keyed by the view).
    egui::ScrollArea::vertical()
        .id_salt(("claim", view))
        .show(ui, |ui| match &flow.stage {
            ClaimStage::Plan => plan(ui, flow, actions),
            ClaimStage::Declaration(form) => declaration_form(ui, form, actions),
            ClaimStage::Preview(d) => preview(ui, d),
            ClaimStage::Printing { .. } => {
                ui.vertical_centered(|ui| {
                    ui.add(egui::Spinner::new().size(48.0));
                    ui.label(RichText::new("申立書を作成して印刷しています…").size(26.0));
                });
            }
            ClaimStage::Finished(done) => finished(ui, flow, done),
        });
}

/// The buttons of the current stage.
fn action_bar(ui: &mut Ui, flow: &ClaimFlow, actions: &mut Vec<Action>) {
    match &flow.stage {
        ClaimStage::Plan => {
            if flow.plan.reconfirm.is_some() {
                let label = if flow.reconfirming.is_some() {
                    "照会しています…"
                } else {
                    "オンラインで再確認(個別照会)"
                };
                if big_button(ui, label, Some(theme::INFO)) && flow.reconfirming.is_none() {
                    actions.push(Action::Reconfirm);
                }
            }
            match flow.plan.step {
                ClaimStep::SelfDeclaration => {
                    if big_button(ui, "申立書を記入する", Some(theme::INFO)) {
                        actions.push(Action::StartDeclaration);
                    }
                }
                ClaimStep::CurrentNumbers | ClaimStep::OldNumbers => {
                    if big_button(ui, "この番号で請求する", Some(theme::VALID)) {
                        actions.push(Action::FinishClaim);
                    }
                }
                ClaimStep::BringCertificate => {
                    if big_button(ui, "案内して受付を終える", Some(theme::VALID)) {
                        actions.push(Action::FinishClaim);
                    }
                }
                ClaimStep::Online => {}
            }
            if small_button(ui, "やめる") {
                actions.push(Action::Cancel);
            }
        }
        ClaimStage::Declaration(_) => {
            if big_button(ui, "確認画面へ", Some(theme::INFO)) {
                actions.push(Action::PreviewDeclaration);
            }
            if small_button(ui, "やめる") {
                actions.push(Action::Cancel);
            }
        }
        ClaimStage::Preview(_) => {
            if big_button(ui, "印刷する", Some(theme::VALID)) {
                actions.push(Action::PrintDeclaration);
            }
            if small_button(ui, "修正する") {
                actions.push(Action::BackToDeclaration);
            }
        }
        ClaimStage::Printing { .. } => {}
        ClaimStage::Finished(done) => {
            let busy = flow.reprinting.is_some().then_some("印刷しています…");
            match (&done.pdf, &done.print_problem) {
                // Not printed: printing again is the way on, not 受付完了 (the patient has
                // not signed anything yet).
                (Some(pdf), Some(_)) => {
                    let label = busy.unwrap_or("再印刷");
                    if big_button(ui, label, Some(theme::VALID)) && busy.is_none() {
                        actions.push(Action::Reprint);
                    }
                    folder_button(ui, pdf, actions);
                    if small_button(ui, "印刷せずに終える") {
                        actions.push(Action::Done);
                    }
                }
                (pdf, _) => {
                    if big_button(ui, "受付完了", Some(theme::VALID)) {
                        actions.push(Action::Done);
                    }
                    if pdf.is_some() && job_button(ui, "再印刷", busy) {
                        actions.push(Action::Reprint);
                    }
                }
            }
        }
    }
}

/// 保存先フォルダを開く: the folder of a kept PDF, in the OS's file manager.
fn folder_button(ui: &mut Ui, pdf: &std::path::Path, actions: &mut Vec<Action>) {
    if let Some(dir) = pdf.parent() {
        if small_button(ui, "保存先フォルダを開く") {
            actions.push(Action::OpenFolder(dir.to_owned()));
        }
    }
}

fn step_title(step: ClaimStep) -> &'static str {
    match step {
        ClaimStep::Online => "オンラインの結果で受付できます",
        ClaimStep::CurrentNumbers => "① 現在の資格情報で請求",
        ClaimStep::OldNumbers => "② 以前の資格情報で請求(旧資格請求)",
        ClaimStep::SelfDeclaration => "③ 被保険者資格申立書で受付(不詳レセプト)",
        ClaimStep::BringCertificate => "資格確認書をお持ちいただくよう案内",
    }
}

fn plan(ui: &mut Ui, flow: &ClaimFlow, actions: &mut Vec<Action>) {
    let p = &flow.plan;
    egui::Frame::group(ui.style())
        .inner_margin(egui::Margin::same(14))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new(step_title(p.step))
                    .size(30.0)
                    .strong()
                    .color(theme::INFO),
            );
            ui.label(RichText::new(&p.reason_ja).size(22.0));
            for note in &p.notes {
                ui.label(RichText::new(&note.ja).color(theme::WARN));
            }
            for r in &p.rejected {
                ui.label(
                    RichText::new(format!(
                        "使えない書類: {} — {}",
                        r.kind.label(),
                        r.reason_ja
                    ))
                    .color(theme::BAD),
                );
            }
            if let Some(n) = &p.numbers {
                ui.label(
                    RichText::new(format!(
                        "請求する番号: {} ・ 記号 {} ・ 番号 {} ・ 枝番 {}",
                        n.insurer_number.as_str(),
                        n.symbol.as_deref().unwrap_or("なし"),
                        n.number,
                        n.branch.as_deref().unwrap_or("-")
                    ))
                    .size(22.0),
                );
            }
            if let Some(ratio) = p.ratio {
                ui.label(
                    RichText::new(format!("窓口負担 {}", ratio.label()))
                        .size(30.0)
                        .strong(),
                );
            }
            if let Some(r) = &p.reconfirmation {
                ui.label(RichText::new(&r.reason_ja).color(if r.applied {
                    theme::VALID
                } else {
                    theme::WARN
                }));
            }
        });
    circumstance(ui, flow, actions);
    ui.separator();
    evidence_entry(ui, flow, actions);
}

/// What no verdict shows and the staff knows (DV, 日雇特例): the rules then say that the
/// 資格確認書 (or 受給資格者票) is the way.
fn circumstance(ui: &mut Ui, flow: &ClaimFlow, actions: &mut Vec<Action>) {
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("患者さんの事情").size(20.0));
        let mut chosen = flow.circumstance;
        ui.selectable_value(&mut chosen, None, RichText::new("特になし").size(20.0));
        for (_, c) in Circumstance::ALL {
            ui.selectable_value(&mut chosen, Some(c), RichText::new(c.label()).size(20.0));
        }
        if chosen != flow.circumstance {
            actions.push(Action::SetCircumstance(chosen));
        }
    });
}

const KINDS: [EvidenceKind; 6] = [
    EvidenceKind::QualificationCertificate,
    EvidenceKind::QualificationNotice,
    EvidenceKind::MynaPortal,
    EvidenceKind::MynaPortalPdf,
    EvidenceKind::PastRecord,
    EvidenceKind::InsuranceCard,
];

fn evidence_entry(ui: &mut Ui, flow: &ClaimFlow, actions: &mut Vec<Action>) {
    ui.label(RichText::new("患者さんがお持ちの書類").size(24.0).strong());
    for e in &flow.evidence {
        ui.label(format!(
            "・{}: {} {} {}",
            e.kind.label(),
            e.numbers.insurer_number.as_str(),
            e.numbers.symbol.as_deref().unwrap_or(""),
            e.numbers.number
        ));
    }
    let mut form: EvidenceForm = flow.form.clone();
    ui.horizontal_wrapped(|ui| {
        for kind in KINDS {
            ui.selectable_value(&mut form.kind, kind, RichText::new(kind.label()).size(20.0));
        }
    });
    // Label above, problem under each field: inside the window however narrow; a check with
    // problems brings the first into view once.
    let mut scroll = super::new_problems(ui, "evidence", &flow.form.problems);
    ui.vertical(|ui| {
        field(
            ui,
            "保険者番号",
            "insurer",
            &mut form.insurer,
            &flow.form.problems,
            &mut scroll,
        );
        field(
            ui,
            "記号",
            "symbol",
            &mut form.symbol,
            &flow.form.problems,
            &mut scroll,
        );
        field(
            ui,
            "番号",
            "number",
            &mut form.number,
            &flow.form.problems,
            &mut scroll,
        );
        field(
            ui,
            "枝番",
            "branch",
            &mut form.branch,
            &flow.form.problems,
            &mut scroll,
        );
        field(
            ui,
            "生年月日(書類の記載)",
            "birthdate",
            &mut form.birthdate,
            &flow.form.problems,
            &mut scroll,
        );
        field(
            ui,
            if form.kind == EvidenceKind::QualificationCertificate {
                "有効期限(資格確認書に記載、必須)"
            } else {
                "有効期限(保険証)"
            },
            "valid_until",
            &mut form.valid_until,
            &flow.form.problems,
            &mut scroll,
        );
    });
    ui.checkbox(&mut form.with_card, "マイナンバーカードと一緒に提示された");
    if form.kind == EvidenceKind::PastRecord {
        ui.checkbox(
            &mut form.unchanged,
            "保険が変わっていないと患者さんが確認した",
        );
    }
    if form.kind.asks_not_lost() {
        ui.checkbox(
            &mut form.not_lost_confirmed,
            "その後に資格を失っていない(転職・退職・転居などがない)と患者さんが確認した",
        );
    }
    if form != flow.form {
        actions.push(Action::EditEvidence(form));
    }
    if small_button(ui, "書類を追加して判定") {
        actions.push(Action::AddEvidence);
    }
    ui.add_space(8.0);
    ui.label(RichText::new("マイナポータルのPDFから読み込む").size(20.0));
    ui.horizontal(|ui| {
        let mut path = flow.pdf_path.clone();
        ui.add_sized(
            [520.0, 44.0],
            TextEdit::singleline(&mut path)
                .id_salt("portal-pdf")
                .hint_text("PDFファイルの場所(例: /media/usb/資格情報.pdf)"),
        );
        if path != flow.pdf_path {
            actions.push(Action::EditPdfPath(path.clone()));
        }
        if job_button(
            ui,
            "PDFを読み込む",
            flow.importing.is_some().then_some("読み込み中…"),
        ) && !path.trim().is_empty()
        {
            actions.push(Action::ImportPortalPdf(path.trim().into()));
        }
    });
}

fn field(
    ui: &mut Ui,
    label: &str,
    key: &str,
    value: &mut String,
    problems: &[(&'static str, String)],
    scroll: &mut bool,
) {
    let problem = problems
        .iter()
        .find(|(f, _)| *f == key)
        .map(|(_, m)| m.as_str());
    super::form_field(ui, label, ("claim", key), value, problem, *scroll);
    *scroll &= problem.is_none();
}

fn declaration_form(ui: &mut Ui, form: &DeclarationForm, actions: &mut Vec<Action>) {
    ui.label(
        RichText::new(
            "被保険者資格申立書: 患者さんにうかがって入力してください(わからない欄は空欄のまま)",
        )
        .size(22.0),
    );
    let mut f = form.clone();
    let problem = |key: &str| {
        form.problems
            .iter()
            .filter(|(field, _)| field == key)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let problems: Vec<(&'static str, String)> = form
        .problems
        .iter()
        .map(|(_, m)| ("declaration", m.clone()))
        .collect();
    let mut scroll = super::new_problems(ui, "declaration", &problems);
    ui.vertical(|ui| {
        let mut text = |ui: &mut Ui, label: &str, key: &str, value: &mut String| {
            let problem = problem(key);
            let problem = (!problem.is_empty()).then_some(problem.as_str());
            super::form_field(ui, label, ("declaration", key), value, problem, scroll);
            scroll &= problem.is_none();
        };
        text(ui, "氏名", "name", &mut f.name);
        text(ui, "フリガナ", "name_kana", &mut f.name_kana);
        text(ui, "生年月日(例 S55.4.1)", "birthdate", &mut f.birthdate);
        text(ui, "住所", "address", &mut f.address);
        text(ui, "電話番号", "phone", &mut f.phone);
        text(ui, "保険者名", "insurer_name", &mut f.insurer_name);
        text(ui, "勤務先(事業所名)", "employer", &mut f.employer);
        text(ui, "記号(わかれば)", "symbol", &mut f.symbol);
        text(ui, "番号(わかれば)", "number", &mut f.number);
    });
    let choice = |ui: &mut Ui, label: &str, value: &mut String, options: &[(&str, &str)]| {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(label).size(20.0));
            for (code, text) in options {
                ui.selectable_value(value, (*code).to_owned(), RichText::new(*text).size(20.0));
            }
        });
    };
    choice(ui, "性別", &mut f.sex, &[("male", "男"), ("female", "女")]);
    choice(
        ui,
        "保険の種類",
        &mut f.insurance_kind,
        &[
            ("employee", "被用者保険(社保)"),
            ("national", "国民健康保険"),
            ("late_elderly", "後期高齢者医療"),
            ("unknown", "わからない"),
        ],
    );
    choice(
        ui,
        "本人・家族",
        &mut f.relationship,
        &[("insured", "本人"), ("dependant", "家族")],
    );
    let other = form
        .problems
        .iter()
        .filter(|(field, _)| {
            ![
                "name",
                "name_kana",
                "birthdate",
                "address",
                "phone",
                "insurer_name",
                "employer",
                "symbol",
                "number",
            ]
            .contains(&field.as_str())
        })
        .map(|(field, m)| format!("{field}: {m}"))
        .collect::<Vec<_>>();
    for m in other {
        ui.label(RichText::new(m).color(theme::BAD));
    }
    if f != *form {
        actions.push(Action::EditDeclaration(f));
    }
}

/// What the printout will say, laid out like the form, before paper is used.
fn preview(ui: &mut Ui, d: &SelfDeclaration) {
    ui.label(RichText::new("印刷内容の確認").size(24.0).strong());
    egui::Frame::new()
        .fill(egui::Color32::WHITE)
        .stroke(egui::Stroke::new(1.0, egui::Color32::GRAY))
        .inner_margin(egui::Margin::same(20))
        .show(ui, |ui| {
            ui.set_width(ui.available_width().min(760.0));
            ui.vertical_centered(|ui| {
                ui.label(RichText::new("被保険者資格申立書").size(28.0).strong());
            });
            ui.label(format!(
                "{}(医療機関コード {})   {}",
                d.facility.name,
                d.facility.code,
                crate::domain::dates::format_wareki(d.date)
            ));
            let blank = "(手書き)".to_owned();
            let v = |s: &Option<String>| s.clone().unwrap_or_else(|| blank.clone());
            egui::Grid::new("preview").num_columns(2).show(ui, |ui| {
                let mut row = |label: &str, value: String| {
                    ui.label(RichText::new(label).weak());
                    ui.label(value);
                    ui.end_row();
                };
                row("氏名", v(&d.name));
                row("フリガナ", v(&d.name_kana));
                row(
                    "生年月日",
                    d.birthdate
                        .map(crate::domain::dates::format_wareki)
                        .unwrap_or(blank.clone()),
                );
                row("住所", v(&d.address));
                row("電話番号", v(&d.phone));
                row("保険者名", v(&d.insurer_name));
                row("事業所名", v(&d.employer));
                row(
                    "記号・番号",
                    format!("{} ・ {}", v(&d.symbol), v(&d.number)),
                );
                row(
                    "負担割合",
                    d.ratio.map(|r| r.label()).unwrap_or(blank.clone()),
                );
            });
        });
}

fn finished(ui: &mut Ui, flow: &ClaimFlow, done: &Finished) {
    ui.label(
        RichText::new(step_title(flow.plan.step))
            .size(28.0)
            .strong()
            .color(theme::VALID),
    );
    if flow.plan.step == ClaimStep::BringCertificate {
        ui.label(RichText::new(&flow.plan.reason_ja).size(22.0));
    }
    match &done.recorded {
        None => {
            ui.label("記録しています…");
        }
        Some(Ok(id)) => {
            ui.label(format!("記録しました(受付記録 #{id})"));
        }
        Some(Err(why)) => {
            ui.label(
                RichText::new(super::not_recorded(why))
                    .color(theme::BAD)
                    .size(22.0),
            );
        }
    }
    if let Some(pdf) = &done.pdf {
        match &done.print_problem {
            None => {
                ui.label(
                    RichText::new("印刷しました。患者さんに署名をお願いしてください。").size(22.0),
                );
            }
            // The printer's message says what to check and that the PDF is kept.
            Some(problem) => {
                ui.label(RichText::new(problem).color(theme::BAD).size(22.0));
            }
        }
        // The file's name, not its path: the folder opens with 保存先フォルダを開く.
        let name = pdf
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        ui.label(format!("保存したPDF: {name}"));
    }
    match &done.receipt {
        Some(r) => {
            ui.label(RichText::new("レセプトに記載する内容").size(24.0).strong());
            egui::Grid::new("receipt").num_columns(2).show(ui, |ui| {
                let mut row = |label: &str, value: String| {
                    ui.label(RichText::new(label).weak());
                    ui.label(RichText::new(value).size(24.0));
                    ui.end_row();
                };
                row("保険者番号", r.insurer_number().to_owned());
                row("記号", r.symbol().unwrap_or("(記載なし)").to_owned());
                row("番号", r.number().to_owned());
                row("枝番", r.branch().unwrap_or("-").to_owned());
                for remark in &r.remarks {
                    row("摘要", remark.clone());
                }
                for (i, e) in r.public_expenses.iter().enumerate() {
                    row(
                        &format!("第{}公費", i + 1),
                        format!(
                            "{} / {}",
                            e.payer.as_str(),
                            e.recipient.as_ref().map_or("-", |n| n.as_str())
                        ),
                    );
                }
            });
            for line in r.records() {
                ui.label(RichText::new(line).monospace().size(18.0));
            }
        }
        None => {
            ui.label("請求に使う番号はまだ決まっていません。");
        }
    }
    if let Some(problem) = flow.public_expense_problem() {
        ui.label(RichText::new(problem).color(theme::BAD).size(22.0));
    }
    match flow.public_expense_charge() {
        Some(charge) if charge.applying().next().is_some() => {
            ui.label(
                RichText::new(format!("本日のお支払い: {}", charge.today_ja()))
                    .size(30.0)
                    .strong(),
            );
        }
        _ => {
            if let Some(ratio) = flow.plan.ratio {
                ui.label(
                    RichText::new(format!("窓口負担 {}", ratio.label()))
                        .size(30.0)
                        .strong(),
                );
            }
        }
    }
}
