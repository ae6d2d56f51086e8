//! No dead ends (issue 13, "No dead ends, and the journal tells the truth"): each outcome the
//! desk can reach offers the clerk a way on — 再照会 after a system failure, the new
//! qualification of an 無効(新しい資格あり), a choice among several qualifications, the printer
//! to check after a failed printout — driven through the UI on the demo backends.

mod common;
mod desk_harness;

use desk_harness::*;
use egui_kittest::kittest::Queryable;
use onshi_desk::app::state::{Action, IdentityMode, NumbersForm, Screen};
use onshi_desk::domain::VerdictKind;

/// The PIN of the demo card `system-error` (mock-server's persona table).
const SYSTEM_ERROR_PIN: &str = "1732";

fn recorded(
    h: &egui_kittest::Harness<'_, onshi_desk::app::DeskApp>,
) -> onshi_desk::journal::CheckId {
    match screen(h) {
        Screen::Result(r) => r.recorded.clone().expect("recorded"),
        other => panic!("{other:?}"),
    }
}

/// システムエラー by PIN: 再照会 asks for the PIN again and says why (the service's challenge
/// must be signed anew), then asks the service again with the card already read.
#[test]
fn a_system_error_by_pin_is_asked_again_after_the_pin_is_typed_again() {
    let mut h = harness();
    place(&mut h, "system-error");
    until(&mut h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    type_digits(&mut h, SYSTEM_ERROR_PIN);
    tap(&mut h, "決定");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::ServerError));
    let first = recorded(&h);
    tap(&mut h, "再照会");
    assert!(
        matches!(identity_mode(screen(&h)), Some(IdentityMode::Pin { .. })),
        "{:?}",
        screen(&h)
    );
    h.get_by_label(onshi_desk::app::state::PIN_AGAIN_FOR_REQUERY);
    type_digits(&mut h, SYSTEM_ERROR_PIN);
    tap(&mut h, "決定");
    until(&mut h, "the second verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::ServerError));
    assert_ne!(recorded(&h), first, "a second query, recorded as such");
}

/// システムエラー after a visual check: 再照会 asks the service again at once (no signature,
/// nothing to type).
#[test]
fn a_system_error_after_a_visual_check_is_asked_again_at_once() {
    let mut h = harness();
    check_visually(&mut h, "system-error");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::ServerError));
    let first = recorded(&h);
    tap(&mut h, "再照会");
    // The answer may already be in by the time the tap's frames are drawn.
    if let Screen::Querying { card, .. } = screen(&h) {
        assert!(card.is_some(), "with the card already read");
    } else {
        assert!(verdict(screen(&h)).is_some(), "{:?}", screen(&h));
    }
    until(&mut h, "the second verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::ServerError));
    assert_ne!(recorded(&h), first);
}

/// システムエラー by numbers: 再照会 sends the same numbers again.
#[test]
fn a_system_error_by_numbers_is_asked_again_with_the_same_numbers() {
    let mut h = harness();
    tap(&mut h, "保険証番号で確認");
    act(
        &mut h,
        Action::EditNumbers(NumbersForm {
            insurer: "01150010".into(),
            symbol: "1509876".into(),
            number: "1732".into(),
            branch: "00".into(),
            birth: "1982-11-11".into(),
            problems: Vec::new(),
        }),
    );
    tap(&mut h, "オンラインで確認");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::ServerError));
    let first = recorded(&h);
    tap(&mut h, "再照会");
    match screen(&h) {
        Screen::Querying {
            card: None,
            search: Some(s),
            ..
        } => assert_eq!(s.number, "1732"),
        // Already answered: the new record below shows it was asked again.
        Screen::Result(_) => {}
        other => panic!("{other:?}"),
    }
    until(&mut h, "the second verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::ServerError));
    assert_ne!(recorded(&h), first);
}

/// 再照会 is for a service that gave no answer; an answer (無効 here) is not asked again.
#[test]
fn an_answer_is_not_offered_a_requery() {
    let mut h = harness();
    check_visually(&mut h, "small-cert");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Invalid));
    assert!(h.query_by_label("再照会").is_none());
}

/// The history's record of check `id` (opens 受付記録 and waits for it).
fn journal_record(
    h: &mut egui_kittest::Harness<'_, onshi_desk::app::DeskApp>,
    id: onshi_desk::journal::CheckId,
) -> onshi_desk::journal::CheckRecord {
    act(h, Action::OpenHistory);
    until(h, "the history", |s| {
        history(s).is_some_and(|h| h.loading.is_none() && !h.records.is_empty())
    });
    history(screen(h))
        .and_then(|hist| hist.records.iter().find(|r| r.id == id).cloned())
        .expect("the check in the history")
}

/// 無効(新しい資格あり) with the new qualification in the answer: the desk finishes with it —
/// its ratio shown, its numbers recorded — instead of leaving only 戻る/やめる.
#[test]
fn an_invalid_card_with_a_new_qualification_finishes_with_the_new_one() {
    let mut h = harness();
    check_visually(&mut h, "pin-one-left");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::InvalidNewExists));
    h.get_by_label("窓口負担 3割");
    let id = recorded(&h);
    tap(&mut h, "新しい資格で受付完了");
    assert!(matches!(screen(&h), Screen::Idle), "{:?}", screen(&h));
    let record = journal_record(&mut h, id);
    let numbers = record.numbers.expect("numbers recorded");
    assert_eq!(
        numbers.insurer_number, "06140230",
        "the new qualification's"
    );
    assert_eq!(numbers.number, "10203");
}

/// … or checks the new numbers by number (個別照会) in one tap, and gets 有効.
#[test]
fn an_invalid_card_with_a_new_qualification_checks_the_new_numbers() {
    let mut h = harness();
    check_visually(&mut h, "pin-one-left");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::InvalidNewExists));
    tap(&mut h, "新しい番号で照会");
    // The answer may already be in by the time the tap's frames are drawn.
    if let Screen::Querying { card, search, .. } = screen(&h) {
        assert!(card.is_none(), "by number, not by card");
        let s = search.as_ref().expect("the numbers asked for");
        assert_eq!(s.insurer.as_str(), "06140230");
        assert_eq!(s.number, "10203");
    }
    until(&mut h, "the verdict by number", |s| {
        verdict(s).is_some_and(|v| v != VerdictKind::InvalidNewExists)
    });
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
    let Screen::Result(r) = screen(&h) else {
        panic!("{:?}", screen(&h))
    };
    let q = &r.verdict.qualifications[0];
    assert_eq!(
        q.insurer_number.as_ref().map(|n| n.as_str()),
        Some("06140230")
    );
    assert_eq!(q.number.as_deref(), Some("10203"));
    h.get_by_label("資格確認: 有効");
    h.get_by_label("窓口負担 3割");
}

/// From a card with no record to the self-declaration (③) sent to the printer, which fails
/// (the harness prints to a queue that does not exist).
fn declaration_not_printed(h: &mut egui_kittest::Harness<'_, onshi_desk::app::DeskApp>) {
    use onshi_desk::app::claim_flow::{ClaimStage, DeclarationForm};
    check_visually(h, "pin-blocked");
    assert_eq!(verdict(screen(h)), Some(VerdictKind::NoRecord));
    tap(h, "他の方法で資格を確認");
    tap(h, "申立書を記入する");
    let form = match claim(screen(h)).map(|f| &f.stage) {
        Some(ClaimStage::Declaration(form)) => (**form).clone(),
        other => panic!("{other:?}"),
    };
    let form = DeclarationForm {
        name: "中村 由美".into(),
        name_kana: "なかむら ゆみ".into(),
        address: "京都府京都市上京区下立売通新町西入薮ノ内町".into(),
        phone: "075-222-3333".into(),
        birthdate: "S58.3.3".into(),
        employer: "薮ノ内工務店".into(),
        insurance_kind: "employee".into(),
        ..form
    };
    act(h, Action::EditDeclaration(form));
    tap(h, "確認画面へ");
    tap(h, "印刷する");
    until(h, "the printout", |s| {
        matches!(claim(s).map(|f| &f.stage), Some(ClaimStage::Finished(_)))
    });
}

/// A printout that failed: the main button is 再印刷, not 受付完了; the PDF is shown by its
/// name with a button that opens its folder, and a file manager that cannot start is said.
#[test]
fn a_failed_printout_offers_the_reprint_and_the_folder_not_done() {
    use onshi_desk::app::claim_flow::ClaimStage;
    let dir = test_dir();
    let mut h = harness_with(&dir, |env| env.folder_opener = Some("false".into()));
    declaration_not_printed(&mut h);
    let pdf = match claim(screen(&h)).map(|f| &f.stage) {
        Some(ClaimStage::Finished(done)) => {
            assert!(done.print_problem.is_some(), "{done:?}");
            done.pdf.clone().expect("kept")
        }
        other => panic!("{other:?}"),
    };
    assert!(
        h.query_by_label("受付完了").is_none(),
        "no 受付完了 while unprinted"
    );
    h.get_by_label("再印刷");
    // The file's name, never the raw path.
    let name = pdf
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    h.get_by_label(&format!("保存したPDF: {name}"));
    assert!(h
        .query_by_label_contains(&pdf.display().to_string())
        .is_none());
    tap(&mut h, "保存先フォルダを開く");
    until(&mut h, "the file manager's failure", |s| {
        claim(s).is_some_and(|f| f.notice.is_some())
    });
    let notice = claim(screen(&h)).and_then(|f| f.notice.clone());
    assert!(
        notice
            .as_deref()
            .is_some_and(|n| n.contains("フォルダを開けませんでした")),
        "{notice:?}"
    );
    tap(&mut h, "印刷せずに終える");
    assert!(matches!(screen(&h), Screen::Idle));
}

/// The folder opens with the OS's file manager (here a stand-in that succeeds): no notice.
#[test]
fn the_folder_of_a_kept_printout_opens() {
    let dir = test_dir();
    let mut h = harness_with(&dir, |env| env.folder_opener = Some("true".into()));
    declaration_not_printed(&mut h);
    tap(&mut h, "保存先フォルダを開く");
    // The worker answers; nothing to say.
    for _ in 0..50 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(claim(screen(&h)).and_then(|f| f.notice.clone()), None);
}

/// A certificate expired beyond grace is said as soon as the card is read — no PIN asked —
/// with the next step: the numbers of a 資格確認書, or the claim path.
#[test]
fn an_expired_certificate_is_said_before_any_pin_with_the_next_step() {
    let mut h = harness();
    place(&mut h, "expired");
    until(&mut h, "the identity screen", |s| {
        identity_mode(s).is_some()
    });
    assert_eq!(
        identity_mode(screen(&h)),
        Some(&IdentityMode::CertificateExpired)
    );
    h.get_by_label("電子証明書の有効期限切れ");
    assert!(h
        .query_by_label("暗証番号(数字4桁)を入力してください")
        .is_none());
    assert!(h.query_by_label("決定").is_none());
    h.get_by_label("資格確認書の番号で確認");
    tap(&mut h, "他の方法で資格を確認");
    let flow = claim(screen(&h)).expect("the claim path");
    assert_ne!(
        flow.plan.step,
        onshi_desk::domain::claim::ClaimStep::Online,
        "{:?}",
        flow.plan
    );
    // The numbers of a 資格確認書 are the other way on.
    let mut h = harness();
    place(&mut h, "expired");
    until(&mut h, "the identity screen", |s| {
        identity_mode(s).is_some()
    });
    tap(&mut h, "資格確認書の番号で確認");
    assert!(matches!(screen(&h), Screen::Numbers(_)), "{:?}", screen(&h));
}

/// 複数該当: staff choose the qualification with the patient from the candidates (each with
/// insurer and numbers); the chosen one is what is charged and what the journal records.
#[test]
fn several_qualifications_are_chosen_charged_and_recorded() {
    let mut h = harness();
    check_visually(&mut h, "face-auth");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Several));
    let id = recorded(&h);
    // Nothing to charge and nothing to finish until one is chosen.
    assert!(h.query_by_label_contains("窓口負担").is_none());
    assert!(h.query_by_label("受付完了").is_none());
    h.get_by_label("候補 1 で受付");
    tap(&mut h, "候補 2 で受付");
    until(
        &mut h,
        "the choice recorded",
        |s| matches!(s, Screen::Result(r) if r.choice.as_ref().is_some_and(|c| c.recorded.is_some())),
    );
    match screen(&h) {
        Screen::Result(r) => {
            let c = r.choice.as_ref().expect("chosen");
            assert_eq!(c.index, 1);
            assert_eq!(c.recorded, Some(Ok(())));
        }
        other => panic!("{other:?}"),
    }
    h.get_by_label("候補 2(この資格で受付)");
    h.get_by_label("窓口負担 1割");
    h.get_by_label("候補 2 で受付し、記録しました。");
    tap(&mut h, "受付完了");
    assert!(matches!(screen(&h), Screen::Idle));
    let record = journal_record(&mut h, id);
    let numbers = record.numbers.expect("the chosen numbers");
    assert_eq!(numbers.insurer_number, "39130059", "candidate 2's (東京)");
    assert_eq!(numbers.number, "33334444");
    assert_eq!(record.name.as_deref(), Some("小林 翼"));
}

/// ③ whose printout failed: not 完了 — its real state (an unknown receipt waiting for
/// 事後確認) on the month-end unresolved list — and the record keeps the declared name, kana,
/// birth date and phone, so staff find it by name and match the signed paper.
#[test]
fn an_unprinted_declaration_is_unresolved_and_found_by_the_declared_name() {
    use onshi_desk::app::claim_flow::ClaimStage;
    let dir = test_dir();
    let mut h = harness_in(&dir);
    declaration_not_printed(&mut h);
    let id = match claim(screen(&h)).map(|f| &f.stage) {
        Some(ClaimStage::Finished(done)) => {
            assert!(done.print_problem.is_some());
            done.recorded.clone().expect("answered").expect("recorded")
        }
        other => panic!("{other:?}"),
    };
    tap(&mut h, "印刷せずに終える");
    tap(&mut h, "受付記録");
    search_history(&mut h, "中村");
    let record = history(screen(&h))
        .and_then(|hist| hist.records.iter().find(|r| r.id == id).cloned())
        .expect("found by the declared name");
    assert_eq!(record.name.as_deref(), Some("中村 由美"));
    assert_eq!(record.name_kana.as_deref(), Some("ナカムラ ユミ"));
    assert_eq!(record.birthdate, Some(time::macros::date!(1983 - 03 - 03)));
    assert_eq!(record.phone.as_deref(), Some("075-222-3333"));
    assert_ne!(record.status, onshi_desk::journal::CheckStatus::Done);
    let reader =
        onshi_desk::journal::JournalReader::open(&dir.join("journal.sqlite3")).expect("journal");
    let open = reader
        .unresolved(2026, time::Month::November)
        .expect("unresolved");
    assert!(open.iter().any(|r| r.id == id), "{open:?}");
}

/// A check whose result is left with はじめに戻る (no qualification to claim with), and one
/// whose claim path is left half way: recorded as 中断, not 完了, and on the month-end
/// unresolved list.
#[test]
fn a_result_or_a_claim_path_left_unfinished_is_recorded_as_such() {
    use onshi_desk::journal::CheckStatus;
    let dir = test_dir();
    let mut h = harness_in(&dir);
    check_visually(&mut h, "pin-blocked");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::NoRecord));
    let left = recorded(&h);
    tap(&mut h, "はじめに戻る");
    check_visually(&mut h, "small-cert");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Invalid));
    let half_way = recorded(&h);
    tap(&mut h, "他の方法で資格を確認");
    tap(&mut h, "やめる");
    // A valid check closed with 受付完了 is 完了.
    check_visually(&mut h, "expired-grace");
    let done = recorded(&h);
    tap(&mut h, "受付完了");
    assert!(matches!(screen(&h), Screen::Idle));
    let reader =
        onshi_desk::journal::JournalReader::open(&dir.join("journal.sqlite3")).expect("journal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = |id| reader.get(id).expect("record").status;
    while status(half_way) != CheckStatus::Abandoned && std::time::Instant::now() < deadline {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(status(left), CheckStatus::Abandoned);
    assert_eq!(status(half_way), CheckStatus::Abandoned);
    assert_eq!(status(done), CheckStatus::Done);
    let open: Vec<_> = reader
        .unresolved(2026, time::Month::November)
        .expect("unresolved")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(open.contains(&left) && open.contains(&half_way), "{open:?}");
    assert!(!open.contains(&done));
    // The history says so.
    tap(&mut h, "受付記録");
    until(&mut h, "the history", |s| {
        history(s).is_some_and(|h| h.loading.is_none() && !h.records.is_empty())
    });
    assert!(!h
        .query_all_by_label("中断(未完了)")
        .collect::<Vec<_>>()
        .is_empty());
}
