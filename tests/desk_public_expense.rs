//! 公費・医療費助成 at the desk, through its UI (egui_kittest, the demo backends): the result
//! screen's 「本日のお支払い」 and 公費 block for verdicts carrying 公費 (set on the verdict
//! here: the mock answers carry none yet), a paper 受給者証 typed in (refused with the parser's
//! message, or added and journaled), and a rule table that could not be read.

mod common;
mod desk_harness;

use desk_harness::*;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use onshi_desk::app::state::{Action, PaperExpenseForm, ResultScreen, Screen, PAPER_ADDED};
use onshi_desk::app::DeskApp;
use onshi_desk::domain::public_expense::table::TableError;
use onshi_desk::domain::public_expense::{PublicExpense, PublicExpenseSource};
use onshi_desk::domain::VerdictKind;
use time::macros::date;
use time::Date;

/// The 乳幼児 persona's 医療証 (pe-common numbers).
fn infant() -> PublicExpense {
    common::infant_expense(PublicExpenseSource::Online)
}

/// The 難病 persona's 受給者証.
fn intractable() -> PublicExpense {
    common::intractable_expense(PublicExpenseSource::Online)
}

/// The check's journal record, as stored.
fn stored(
    h: &Harness<'_, DeskApp>,
    id: onshi_desk::journal::CheckId,
) -> onshi_desk::journal::CheckRecord {
    let journal = h
        .state()
        .running()
        .and_then(|r| r.demo.as_ref())
        .expect("demo")
        .journal
        .clone();
    onshi_desk::journal::JournalReader::open(&journal)
        .expect("reader")
        .get(id)
        .expect("record")
}

fn result_mut<'a>(h: &'a mut Harness<'_, DeskApp>) -> &'a mut ResultScreen {
    match &mut h.state_mut().running_mut().expect("running").desk.screen {
        Screen::Result(r) => r,
        other => panic!("not a result: {other:?}"),
    }
}

fn result<'a>(h: &'a Harness<'_, DeskApp>) -> &'a ResultScreen {
    match screen(h) {
        Screen::Result(r) => r,
        other => panic!("not a result: {other:?}"),
    }
}

/// A valid check of the demo card, then the answer's 公費 and the patient's birth date as
/// the persona's.
fn checked_with(h: &mut Harness<'_, DeskApp>, expenses: Vec<PublicExpense>, birth: Date) {
    check_visually(h, "valid");
    assert_eq!(verdict(screen(h)), Some(VerdictKind::Valid));
    let r = result_mut(h);
    r.verdict.public_expenses = expenses;
    for q in &mut r.verdict.qualifications {
        q.birthdate = Some(birth);
    }
    h.step();
    h.step();
}

fn shows(h: &Harness<'_, DeskApp>, text: &str) -> bool {
    h.query_by_label_contains(text).is_some()
}

#[test]
fn an_infant_with_a_municipal_certificate_pays_nothing_today() {
    let mut h = harness();
    checked_with(&mut h, vec![infant()], date!(2023 - 05 - 05));
    assert!(shows(&h, "本日のお支払い: 0円(公費負担)"));
    assert!(!shows(&h, "窓口負担"), "the bare ratio is replaced");
    assert!(shows(&h, "公費・医療費助成"));
    assert!(shows(&h, "第1公費: 乳幼児医療費助成(例)"));
    assert!(shows(&h, "88132014"));
    assert!(shows(&h, "1234566"));
    assert!(shows(&h, "オンライン(PMH)"));
    assert!(shows(&h, "自己負担なし(0円)"));
}

#[test]
fn an_intractable_disease_certificate_shows_the_reduced_ratio_and_the_monthly_cap() {
    let mut h = harness();
    checked_with(&mut h, vec![intractable()], date!(1980 - 05 - 05));
    assert!(shows(&h, "本日のお支払い: 2割・月上限10,000円"));
    assert!(shows(&h, "2割負担・月上限10,000円"));
    assert!(shows(&h, "一般所得Ⅰ"));
}

#[test]
fn a_certificate_not_valid_today_is_a_warning_and_the_ratio_stays() {
    let mut h = harness();
    let mut old = infant();
    old.valid_until = Some(date!(2026 - 03 - 31));
    checked_with(&mut h, vec![old], date!(2023 - 05 - 05));
    assert!(!shows(&h, "本日のお支払い"));
    assert!(shows(&h, "窓口負担"));
    assert!(shows(&h, "適用なし: 乳幼児医療費助成"));
    assert!(shows(&h, "有効期間外(本日は適用しません)"));
}

#[test]
fn a_paper_certificate_with_a_wrong_check_digit_is_refused_and_a_right_one_is_added_and_journaled()
{
    let dir = test_dir();
    let mut h = harness_in(&dir);
    checked_with(&mut h, vec![], date!(1980 - 05 - 05));
    let id = result(&h).recorded.clone().expect("recorded");
    assert!(!shows(&h, "公費・医療費助成"), "no block without 公費");
    tap(&mut h, "紙の受給者証を追加");
    assert!(result(&h).paper.form.is_some());
    let mut form = PaperExpenseForm {
        payer: "５４１３００１９".into(), // the check digit should be 8
        recipient: "３４５６７８８".into(),
        valid_from: "R8.7.1".into(),
        valid_until: "R9.6.30".into(),
        income_category: "一般所得Ⅰ".into(),
        monthly_cap: "10,000".into(),
        problems: vec![],
    };
    act(&mut h, Action::EditPaperExpense(Box::new(form.clone())));
    tap(&mut h, "受給者証を追加する");
    assert!(shows(
        &h,
        "公費負担者番号の検証番号(最後の1桁)が合いません。"
    ));
    assert!(result(&h).paper.added.is_empty());
    assert!(result(&h).paper.pending.is_none());
    assert!(shows(&h, "窓口負担"), "nothing changed");

    form.payer = "５４１３００１８".into();
    act(&mut h, Action::EditPaperExpense(Box::new(form)));
    tap(&mut h, "受給者証を追加する");
    until(
        &mut h,
        "the paper certificate recorded",
        |s| matches!(s, Screen::Result(r) if r.paper.notice.is_some()),
    );
    assert_eq!(
        result(&h).paper.notice,
        Some(Ok(PAPER_ADDED.to_owned())),
        "recorded"
    );
    assert!(shows(&h, PAPER_ADDED));
    assert!(shows(&h, "本日のお支払い: 2割・月上限10,000円"));
    assert!(h.query_by_label("紙の受給者証").is_some(), "its source");
    let record = stored(&h, id);
    assert_eq!(record.public_expenses.len(), 1);
    let paper = &record.public_expenses[0];
    assert_eq!(paper.payer.as_str(), "54130018");
    assert_eq!(paper.source, PublicExpenseSource::Paper);
    assert_eq!(paper.monthly_cap_yen, Some(10_000));
    assert_eq!(paper.valid_until, Some(date!(2027 - 06 - 30)));
    // The history shows it with the record.
    tap(&mut h, "受付完了");
    act(&mut h, Action::OpenHistory);
    until(&mut h, "the history", |s| {
        history(s).is_some_and(|h| h.loading.is_none() && !h.records.is_empty())
    });
    act(&mut h, Action::SelectRecord(id));
    h.step();
    assert!(shows(&h, "公費: 54130018 3456788"), "in the history");
}

#[test]
fn an_unreadable_rule_table_is_said_on_the_waiting_screen_and_no_charge_is_computed() {
    let mut h = harness();
    let broken = TableError {
        problems: vec!["public_expense.toml: line 3: unknown share \"free\"".into()],
    };
    let message = broken.desk_message();
    h.state_mut()
        .running_mut()
        .expect("running")
        .desk
        .set_public_expense_table(Err(broken));
    h.step();
    h.step();
    assert!(shows(&h, message));
    checked_with(&mut h, vec![infant()], date!(2023 - 05 - 05));
    assert!(!shows(&h, "本日のお支払い"));
    assert!(shows(&h, "窓口負担"));
    assert!(shows(&h, "負担ルール表を読み込めないため"));
    assert!(shows(&h, "88132014"));
}

/// 複数該当: no amount before the candidate is chosen (no ratio is known), then the charge
/// with the chosen one's ratio.
#[test]
fn several_qualifications_show_the_amount_only_once_one_is_chosen() {
    let mut h = harness();
    check_visually(&mut h, "face-auth");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Several));
    result_mut(&mut h).verdict.public_expenses = vec![intractable()];
    h.step();
    h.step();
    assert!(!shows(&h, "本日のお支払い"));
    assert!(shows(&h, "第1公費: 難病(特定医療費)"));
    act(&mut h, Action::ChooseQualification(0));
    until(
        &mut h,
        "the choice recorded",
        |s| matches!(s, Screen::Result(r) if r.choice.as_ref().is_some_and(|c| c.recorded.is_some())),
    );
    let r = result(&h);
    let ratio = r
        .ratio()
        .expect("the chosen one's ratio")
        .min(onshi_desk::domain::Ratio::TWO);
    assert!(shows(
        &h,
        &format!("本日のお支払い: {}・月上限10,000円", ratio.label())
    ));
}

/// Regression: the 公費 of a check (the answer's and the paper ones) did not reach the claim
/// path, so a ② or ③ receipt lost its KO records.
#[test]
fn the_claim_path_puts_the_patients_public_expenses_on_the_receipt_as_ko_records() {
    use onshi_desk::app::claim_flow::ClaimStage;
    use onshi_desk::domain::claim::ClaimStep;
    let dir = test_dir();
    let mut h = harness_in(&dir);
    check_visually(&mut h, "small-cert");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Invalid));
    // A municipal 医療証 from the answer, and a 難病 受給者証 typed in on paper.
    let mut paper = intractable();
    paper.source = PublicExpenseSource::Paper;
    result_mut(&mut h).verdict.public_expenses = vec![infant()];
    result_mut(&mut h).paper.added.push(paper);
    h.step();
    act(&mut h, Action::OpenClaim);
    let flow = claim(screen(&h)).expect("the claim path");
    assert_eq!(flow.plan.step, ClaimStep::OldNumbers);
    assert_eq!(flow.public_expenses.len(), 2);
    tap(&mut h, "この番号で請求する");
    until(&mut h, "the claim record", |s| {
        matches!(claim(s).map(|f| &f.stage),
            Some(ClaimStage::Finished(d)) if d.recorded.is_some())
    });
    let receipt = match claim(screen(&h)).map(|f| &f.stage) {
        Some(ClaimStage::Finished(d)) => d.receipt.clone().expect("a receipt"),
        other => panic!("{other:?}"),
    };
    // National (難病) before municipal, whatever order they were given in; the 11-year-old is
    // past the 乳幼児 age, so the shipped table's 子ども rule (法別 88, 200円/visit) applies.
    let ko: Vec<String> = receipt
        .records()
        .into_iter()
        .filter(|l| l.starts_with("KO,"))
        .collect();
    assert_eq!(ko.len(), 2, "{ko:?}");
    assert!(ko[0].starts_with("KO,54130018,3456788,"), "{ko:?}");
    assert!(ko[1].starts_with("KO,88132014,1234566,"), "{ko:?}");
    assert!(shows(&h, "第1公費"));
    assert!(shows(&h, "第2公費"));
    assert!(shows(&h, "本日のお支払い: 1回200円・月上限10,000円"));
}

/// The whole path with the mock's 公費: the demo's こども医療証 card (persona `pe-infant`,
/// a 3-year-old with a PMH-linked 乳幼児医療費助成) checked at the desk over the demo's real
/// service: the answer's 公費 reach the screen and the journal.
#[test]
fn the_infant_card_of_the_demo_pays_nothing_through_the_real_answer() {
    let dir = test_dir();
    let mut h = harness_in(&dir);
    check_visually(&mut h, "pe-infant");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
    let r = result(&h);
    assert_eq!(r.verdict.public_expenses.len(), 1);
    assert_eq!(r.verdict.public_expenses[0].payer.as_str(), "88132014");
    assert_eq!(
        r.verdict.public_expenses[0].source,
        PublicExpenseSource::Online
    );
    assert!(shows(&h, "本日のお支払い: 0円(公費負担)"));
    assert!(shows(&h, "第1公費: 乳幼児医療費助成(例)"));
    let id = result(&h).recorded.clone().expect("recorded");
    let record = stored(&h, id);
    assert_eq!(record.public_expenses.len(), 1);
    assert_eq!(record.public_expenses[0].payer.as_str(), "88132014");
    assert_eq!(
        record.public_expenses[0].source,
        PublicExpenseSource::Online
    );
}
