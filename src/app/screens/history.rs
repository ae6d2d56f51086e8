//! The journal at the desk (受付記録): today's checks or a search, one record in full (reprint,
//! continue its claim path), and the monthly card-use rate.

use egui::{RichText, TextEdit, Ui};

use super::{big_button, job_button, small_button};
use crate::app::state::{Action, HistoryScreen};
use crate::app::theme;
use crate::domain::claim::ClaimStep;
use crate::domain::{IdentityMethod, VerdictKind};
use crate::journal::{CheckKind, CheckRecord, CheckStatus};

fn verdict_label(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::Valid => "有効",
        VerdictKind::CertificateExpiredGrace => "有効(資格情報のみ)",
        VerdictKind::Invalid => "無効",
        VerdictKind::InvalidNewExists => "新しい資格あり",
        VerdictKind::NoRecord => "資格情報なし",
        VerdictKind::Several => "複数該当",
        VerdictKind::CertificateExpired => "証明書期限切れ",
        VerdictKind::NotRegistered => "利用登録なし",
        VerdictKind::RegistrationCancelled => "利用登録解除",
        VerdictKind::CardReturned => "返納カード",
        VerdictKind::CertificateRevoked => "証明書失効",
        VerdictKind::ServerError => "システムエラー",
        VerdictKind::Unreachable => "接続できず",
        VerdictKind::Timeout => "応答なし",
        VerdictKind::AnswerMismatch => "別人の回答",
    }
}

/// What the check found, or how it was made when it asked nothing (a claim-path step).
fn outcome(r: &CheckRecord) -> String {
    match r.verdict {
        Some(k) => verdict_label(k).to_owned(),
        None => match r.kind {
            CheckKind::Card => "カード".into(),
            CheckKind::Numbers => "番号で照会".into(),
            CheckKind::ClaimPath => "請求の経路".into(),
        },
    }
}

fn identity_label(method: IdentityMethod) -> String {
    match method {
        IdentityMethod::Pin => "暗証番号".into(),
        IdentityMethod::Face => "顔認証".into(),
        IdentityMethod::Visual => "目視確認(職員)".into(),
    }
}

fn step_label(step: ClaimStep) -> String {
    match step {
        ClaimStep::Online => "オンライン資格確認の結果で請求".into(),
        ClaimStep::CurrentNumbers => "① 現在の資格情報で請求".into(),
        ClaimStep::OldNumbers => "② 旧資格で請求".into(),
        ClaimStep::SelfDeclaration => "③ 申立書(不詳レセプト)".into(),
        ClaimStep::BringCertificate => "資格確認書の持参を案内".into(),
    }
}

fn status_label(s: CheckStatus) -> (&'static str, egui::Color32) {
    match s {
        CheckStatus::Done => ("完了", theme::VALID),
        CheckStatus::Queued => ("事後確認待ち", theme::WARN),
        CheckStatus::Reconfirmed => ("事後確認済み", theme::INFO),
        CheckStatus::Conflict => ("要確認(相違あり)", theme::BAD),
        CheckStatus::Abandoned => ("中断(未完了)", theme::WARN),
    }
}

pub fn show(
    ui: &mut Ui,
    h: &HistoryScreen,
    today: time::Date,
    view: u64,
    actions: &mut Vec<Action>,
) {
    egui::Panel::bottom("history-actions").show(ui, |ui| {
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if small_button(ui, "閉じる") {
                actions.push(Action::Cancel);
            }
            // Beside 閉じる rather than under a long list: always in reach on a touch screen.
            let busy = h.loading.is_some().then_some("読み込み中…");
            if h.may_have_more() && job_button(ui, "さらに表示(古い記録)", busy) {
                actions.push(Action::MoreHistory);
            }
        });
        ui.add_space(6.0);
    });
    ui.label(RichText::new("受付記録").size(30.0).strong());
    ui.horizontal(|ui| {
        let mut q = h.query.clone();
        ui.add_sized(
            [420.0, 44.0],
            TextEdit::singleline(&mut q)
                .id_salt("history-query")
                .hint_text("氏名・カナ・番号・日付"),
        );
        if q != h.query {
            actions.push(Action::EditHistoryQuery(q));
        }
        if job_button(ui, "検索", h.loading.is_some().then_some("検索中…")) {
            actions.push(Action::SearchHistory);
        }
    });
    if let Some(n) = &h.notice {
        ui.label(RichText::new(n).color(theme::WARN).size(20.0));
    }
    // The shared journal could not be read: only this desk's records are listed.
    if let Some(n) = h.scope.desk_notice() {
        ui.label(RichText::new(n).color(theme::WARN).size(20.0));
    }
    egui::ScrollArea::vertical()
        .id_salt(("history", view))
        .show(ui, |ui| {
            if h.records.is_empty() && h.loading.is_none() {
                ui.label("該当する記録はありません。");
            }
            for r in &h.records {
                let (status, colour) = status_label(r.status);
                // The desk that made the check and its number there (what that desk said when
                // it recorded it), when read from the facility's shared journal.
                let id = match (&r.desk, r.desk_check_id) {
                    (Some(desk), Some(n)) => format!("#{} [{desk} #{n}]", r.id),
                    (Some(desk), None) => format!("#{} [{desk}]", r.id),
                    (None, _) => format!("#{}", r.id),
                };
                let line = format!(
                    "{}  {}  {}  {}  {}",
                    id,
                    r.check_date,
                    r.name.as_deref().unwrap_or("(氏名なし)"),
                    outcome(r),
                    r.numbers
                        .as_ref()
                        .map(|n| format!("{} {}", n.insurer_number, n.number))
                        .unwrap_or_default()
                );
                ui.horizontal(|ui| {
                    ui.label(RichText::new(status).color(colour).strong());
                    if ui
                        .selectable_label(h.selected == Some(r.id), RichText::new(line).size(20.0))
                        .clicked()
                    {
                        actions.push(Action::SelectRecord(r.id));
                    }
                });
                if h.selected == Some(r.id) {
                    details(ui, r, h, actions);
                }
            }
            if h.records.iter().any(|r| {
                r.name
                    .as_deref()
                    .is_some_and(crate::domain::text::has_gaiji)
            }) {
                ui.label(
                    RichText::new(crate::domain::text::GAIJI_EXPLANATION)
                        .size(18.0)
                        .color(theme::INFO),
                );
            }
            ui.separator();
            month_end(ui, h, today, actions);
            if !h.usage.is_empty() {
                ui.separator();
                ui.label(
                    RichText::new("マイナ保険証の利用率(月別)")
                        .size(24.0)
                        .strong(),
                );
                egui::Grid::new("usage").num_columns(4).show(ui, |ui| {
                    for head in ["月", "カード", "番号", "利用率"] {
                        ui.label(RichText::new(head).weak());
                    }
                    ui.end_row();
                    for m in &h.usage {
                        ui.label(&m.month);
                        ui.label(m.card_checks.to_string());
                        ui.label(m.number_checks.to_string());
                        ui.label(
                            m.card_rate
                                .map(|r| format!("{:.1} %", r * 100.0))
                                .unwrap_or_else(|| "-".into()),
                        );
                        ui.end_row();
                    }
                });
            }
        });
}

/// The month-end reports for the claim run (レセプト請求): last month's while it is being
/// claimed (up to the 10th), this month's any time.
fn month_end(ui: &mut Ui, h: &HistoryScreen, today: time::Date, actions: &mut Vec<Action>) {
    ui.label(RichText::new("月末の報告(CSV)").size(24.0).strong());
    ui.label(
        "未確定(事後確認待ち・要確認・中断・不詳レセプト)の一覧と、マイナ保険証の利用率を保存します。",
    );
    let this = (today.year(), today.month());
    let last = match today.month() {
        time::Month::January => (today.year() - 1, time::Month::December),
        m => (today.year(), m.previous()),
    };
    ui.horizontal_wrapped(|ui| {
        for (label, (year, month)) in [("先月分を保存", last), ("今月分を保存", this)] {
            let label = if h.exporting.is_some() {
                "保存中…"
            } else {
                label
            };
            if small_button(ui, label) && h.exporting.is_none() {
                actions.push(Action::ExportReports { year, month });
            }
        }
    });
}

fn details(ui: &mut Ui, r: &CheckRecord, h: &HistoryScreen, actions: &mut Vec<Action>) {
    egui::Frame::group(ui.style())
        .inner_margin(egui::Margin::same(12))
        .show(ui, |ui| {
            let at = r.recorded_at.to_offset(crate::domain::expiry::JST);
            ui.label(format!(
                "記録 #{} ・ {} {:02}:{:02} ・ 本人確認 {}",
                r.id,
                at.date(),
                at.hour(),
                at.minute(),
                r.identity.map_or_else(|| "-".into(), identity_label)
            ));
            if let (Some(desk), Some(n)) = (&r.desk, r.desk_check_id) {
                ui.label(format!("記録した端末: {desk}(端末の記録 #{n})"));
            }
            if let Some(step) = r.claim_step {
                ui.label(format!("請求の経路: {}", step_label(step)));
            }
            // ③: the declared phone, to reach the patient and match the signed paper.
            if let Some(phone) = &r.phone {
                ui.label(format!("申立書の電話番号: {phone}"));
            }
            // 公費 recorded with the check (the answer's and paper ones), in the order kept.
            for e in &r.public_expenses {
                ui.label(format!(
                    "公費: {} {} ・ 有効期間 {} ・ {}",
                    e.payer.as_str(),
                    e.recipient.as_ref().map_or("-", |n| n.as_str()),
                    crate::app::state::validity_ja(e),
                    e.source.label()
                ));
            }
            if let Some(kind) = r.reconfirmed_verdict {
                ui.label(format!("事後確認の結果: {}", verdict_label(kind)));
            }
            if let Some(c) = &r.conflict_detail {
                ui.label(RichText::new(format!("相違: {c}")).color(theme::BAD));
            }
            // Another desk's record: that desk closes or continues it.
            let own = r.local_id(h.desk_id.as_deref()).is_some();
            if !own {
                ui.label(
                    RichText::new(crate::app::state::OTHER_DESK)
                        .size(18.0)
                        .color(theme::INFO),
                );
            }
            ui.horizontal_wrapped(|ui| {
                // The printouts are files on the desk that made them.
                for pdf in r.printouts.iter().filter(|_| own) {
                    if job_button(
                        ui,
                        "申立書を再印刷",
                        h.reprinting.is_some().then_some("印刷中…"),
                    ) {
                        actions.push(Action::ReprintRecord(pdf.clone()));
                    }
                }
                let busy = h.resolving.is_some().then_some("処理中…");
                if own
                    && r.status == CheckStatus::Conflict
                    && job_button(ui, "相違を確認して対応済みにする", busy)
                {
                    actions.push(Action::ResolveRecord(r.id));
                }
                if own
                    && r.status == CheckStatus::Abandoned
                    && job_button(ui, "対応済みにする", busy)
                {
                    actions.push(Action::ResolveRecord(r.id));
                }
                // A check that answered 有効 and is done has no claim path to continue.
                let settled = r.status == CheckStatus::Done
                    && r.verdict.is_some_and(|k| {
                        matches!(k, VerdictKind::Valid | VerdictKind::CertificateExpiredGrace)
                    });
                let open =
                    own && !settled && (r.status != CheckStatus::Done || r.claim_step.is_none());
                if open && big_button(ui, "請求の経路を続ける", Some(theme::INFO)) {
                    actions.push(Action::ReopenRecord(r.id));
                }
            });
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::kittest::Queryable;
    use time::macros::{date, datetime};

    fn record(id: i64, desk: Option<&str>, n: Option<i64>) -> CheckRecord {
        CheckRecord {
            id: crate::journal::CheckId(id),
            desk: desk.map(str::to_owned),
            desk_check_id: n,
            recorded_at: datetime!(2026-11-21 01:00 UTC),
            check_date: date!(2026 - 11 - 21),
            kind: CheckKind::Card,
            identity: None,
            verdict: Some(VerdictKind::Valid),
            validity: None,
            numbers: None,
            name: Some("山田 花子".into()),
            name_kana: None,
            birthdate: None,
            claim_step: None,
            receipt: None,
            printouts: Vec::new(),
            status: CheckStatus::Conflict,
            certificate_held: false,
            attempts: 0,
            last_attempt_detail: None,
            reconfirmed_at: None,
            reconfirmed_verdict: None,
            reconfirmed_validity: None,
            conflict_detail: None,
            phone: None,
            interop_file: None,
            public_expenses: Vec::new(),
        }
    }

    /// The labels of the history screen drawn for `h`.
    fn drawn(h: HistoryScreen) -> egui_kittest::Harness<'static, HistoryScreen> {
        // As the app: the Japanese font first, drawn from the next pass on.
        let mut styled = false;
        let mut harness = egui_kittest::Harness::builder()
            .with_size(egui::vec2(1280.0, 1000.0))
            .build_ui_state(
                move |ui, h: &mut HistoryScreen| {
                    if !styled {
                        crate::app::theme::install(ui.ctx(), 1.0);
                        styled = true;
                        return;
                    }
                    let mut actions = Vec::new();
                    show(ui, h, date!(2026 - 11 - 21), 0, &mut actions);
                },
                h,
            );
        harness.step();
        harness.step();
        harness
    }

    #[test]
    fn shared_records_show_their_desk_and_another_desks_record_offers_no_closing() {
        let h = drawn(HistoryScreen {
            records: vec![record(41, Some("front-2"), Some(7))],
            selected: Some(crate::journal::CheckId(41)),
            scope: crate::journal::ReadScope::Facility,
            desk_id: Some("front-1".into()),
            ..HistoryScreen::default()
        });
        assert!(h.query_by_label_contains("#41 [front-2 #7]").is_some());
        assert!(h
            .query_by_label_contains("記録した端末: front-2(端末の記録 #7)")
            .is_some());
        assert!(h
            .query_by_label_contains("別の端末の受付記録です")
            .is_some());
        assert!(h
            .query_by_label_contains("相違を確認して対応済みにする")
            .is_none());
        assert!(h.query_by_label_contains("この端末の記録のみ").is_none());
    }

    #[test]
    fn a_desks_own_records_read_alone_say_so_and_keep_their_actions() {
        let h = drawn(HistoryScreen {
            records: vec![record(7, None, None)],
            selected: Some(crate::journal::CheckId(7)),
            scope: crate::journal::ReadScope::ThisDeskOnly {
                reason: "down".into(),
            },
            desk_id: Some("front-1".into()),
            ..HistoryScreen::default()
        });
        assert!(h
            .query_by_label_contains(
                "この端末の記録のみ表示しています(共有の受付記録に接続できません)"
            )
            .is_some());
        assert!(h.query_by_label_contains("#7  2026-11-21").is_some());
        assert!(h
            .query_by_label_contains("相違を確認して対応済みにする")
            .is_some());
        assert!(h.query_by_label_contains("別の端末").is_none());
    }
}
