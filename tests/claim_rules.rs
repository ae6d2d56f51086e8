//! The claim-path rules of issue 15 walked through the desk's wizard (egui_kittest, no
//! display): no card and nothing to show → bring the 資格確認書; a past record the patient
//! cannot confirm → ②; the お知らせ asks that the qualification was not lost since; a
//! 資格確認書 needs its printed 有効期限; the staff's circumstance (日雇特例) is answered.

mod common;
mod desk_harness;

use desk_harness::*;
use egui_kittest::kittest::Queryable;
use onshi_desk::app::claim_flow::{ClaimStage, EvidenceForm};
use onshi_desk::app::state::{Action, Screen};
use onshi_desk::domain::claim::plan::NumbersSource;
use onshi_desk::domain::claim::{ClaimStep, EvidenceKind};
use onshi_desk::domain::VerdictKind;

/// Presses `label` through accessibility (a click that reaches a widget the harness's window
/// does not show: the form grows with its questions and problems, below the action bar).
fn press(h: &mut egui_kittest::Harness<'_, onshi_desk::app::DeskApp>, label: &str) {
    h.get_by_label(label).click_accesskit();
    h.step();
    h.step();
}

/// The numbers of a form, its kind as chosen on screen.
fn with_numbers(h: &egui_kittest::Harness<'_, onshi_desk::app::DeskApp>) -> EvidenceForm {
    let form = claim(screen(h)).map(|f| f.form.clone()).unwrap_or_default();
    EvidenceForm {
        insurer: "01130012".into(),
        symbol: "5012345".into(),
        number: "1024".into(),
        branch: "00".into(),
        birthdate: "昭和55年4月1日".into(),
        ..form
    }
}

#[test]
fn no_card_and_no_document_asks_for_the_certificate_without_a_declaration() {
    let dir = test_dir();
    let mut h = harness_in(&dir);
    tap(&mut h, "資格確認書・お知らせ等");
    let flow = claim(screen(&h)).expect("claim path");
    assert_eq!(
        flow.plan.step,
        ClaimStep::BringCertificate,
        "{:?}",
        flow.plan
    );
    h.get_by_label("資格確認書をお持ちいただくよう案内");
    assert!(h.query_by_label("申立書を記入する").is_none());
    tap(&mut h, "案内して受付を終える");
    // The case is recorded, without a receipt.
    until(&mut h, "the record", |s| {
        matches!(claim(s).map(|f| &f.stage),
            Some(ClaimStage::Finished(d)) if d.recorded.is_some())
    });
    let id = match claim(screen(&h)).map(|f| &f.stage) {
        Some(ClaimStage::Finished(done)) => {
            assert!(done.receipt.is_none(), "{done:?}");
            done.recorded.clone().expect("answered").expect("recorded")
        }
        other => panic!("{other:?}"),
    };
    let reader =
        onshi_desk::journal::JournalReader::open(&dir.join("journal.sqlite3")).expect("journal");
    let record = reader.get(id).expect("record");
    assert_eq!(record.claim_step, Some(ClaimStep::BringCertificate));
    assert!(record.numbers.is_none());
    tap(&mut h, "受付完了");
    assert!(matches!(screen(&h), Screen::Idle));
}

#[test]
fn a_past_record_the_patient_cannot_confirm_is_claimed_as_step_two() {
    let mut h = harness();
    check_visually(&mut h, "pin-blocked");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::NoRecord));
    tap(&mut h, "他の方法で資格を確認");
    tap(&mut h, "以前の受診時の資格情報");
    let form = with_numbers(&h);
    assert_eq!(form.kind, EvidenceKind::PastRecord);
    assert!(!form.unchanged);
    act(&mut h, Action::EditEvidence(form));
    press(&mut h, "書類を追加して判定");
    let flow = claim(screen(&h)).expect("claim path");
    assert_eq!(
        flow.plan.step,
        ClaimStep::OldNumbers,
        "{:?} {:?} {:?}",
        flow.plan,
        flow.form,
        flow.evidence
    );
    assert_eq!(flow.plan.numbers_source, Some(NumbersSource::PastRecord));
    h.get_by_label("② 以前の資格情報で請求(旧資格請求)");
    tap(&mut h, "この番号で請求する");
    match claim(screen(&h)).map(|f| &f.stage) {
        Some(ClaimStage::Finished(done)) => {
            let r = done.receipt.as_ref().expect("receipt");
            assert_eq!(r.step, ClaimStep::OldNumbers);
            assert_eq!(r.insurer_number(), "01130012");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_notice_asks_that_the_qualification_was_not_lost() {
    let mut h = harness();
    check_visually(&mut h, "pin-blocked");
    tap(&mut h, "他の方法で資格を確認");
    tap(&mut h, "資格情報のお知らせ");
    let question = "その後に資格を失っていない(転職・退職・転居などがない)と患者さんが確認した";
    h.get_by_label(question);
    let form = with_numbers(&h);
    act(&mut h, Action::EditEvidence(form));
    // Not asked: the notice does not count, and the desk says why.
    press(&mut h, "書類を追加して判定");
    let flow = claim(screen(&h)).expect("claim path");
    assert_eq!(
        flow.plan.step,
        ClaimStep::SelfDeclaration,
        "{:?}",
        flow.plan
    );
    assert!(
        flow.plan.rejected[0].reason_ja.contains("口頭で確認"),
        "{:?}",
        flow.plan.rejected
    );
    // Asked and confirmed: ①.
    let form = with_numbers(&h);
    act(&mut h, Action::EditEvidence(form));
    press(&mut h, question);
    assert!(claim(screen(&h)).is_some_and(|f| f.form.not_lost_confirmed));
    press(&mut h, "書類を追加して判定");
    let flow = claim(screen(&h)).expect("claim path");
    assert_eq!(flow.plan.step, ClaimStep::CurrentNumbers, "{:?}", flow.plan);
    assert_eq!(
        flow.plan.numbers_source,
        Some(NumbersSource::Evidence(EvidenceKind::QualificationNotice))
    );
}

#[test]
fn a_certificate_needs_its_printed_expiry() {
    let mut h = harness();
    tap(&mut h, "資格確認書・お知らせ等");
    tap(&mut h, "資格確認書");
    let form = with_numbers(&h);
    assert_eq!(form.kind, EvidenceKind::QualificationCertificate);
    act(&mut h, Action::EditEvidence(form));
    press(&mut h, "書類を追加して判定");
    let flow = claim(screen(&h)).expect("claim path");
    assert!(flow.evidence.is_empty());
    assert!(
        flow.form.problems.iter().any(|(f, _)| *f == "valid_until"),
        "{:?}",
        flow.form.problems
    );
    let form = EvidenceForm {
        valid_until: "R10.3.31".into(),
        ..with_numbers(&h)
    };
    act(&mut h, Action::EditEvidence(form));
    press(&mut h, "書類を追加して判定");
    let flow = claim(screen(&h)).expect("claim path");
    assert_eq!(flow.plan.step, ClaimStep::CurrentNumbers, "{:?}", flow.plan);
}

#[test]
fn a_day_labourer_is_told_the_recipient_certificate_is_the_way() {
    let mut h = harness();
    tap(&mut h, "資格確認書・お知らせ等");
    press(&mut h, "日雇特例被保険者");
    let flow = claim(screen(&h)).expect("claim path");
    assert!(
        flow.plan
            .notes
            .first()
            .is_some_and(|n| n.ja.contains("受給資格者票")),
        "{:?}",
        flow.plan.notes
    );
    press(&mut h, "特になし");
    assert!(claim(screen(&h)).is_some_and(|f| f.circumstance.is_none()));
}
