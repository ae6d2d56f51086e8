//! The desk app driven through its UI (egui_kittest, no display): the demo backends — the
//! in-process demo reader with virtual cards and the mock service over mutual TLS on
//! loopback — behind the real app state, workers and screens.

mod common;
mod desk_harness;

use desk_harness::*;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use onshi_desk::app::demo::DEMO_CARDS;
use onshi_desk::app::state::{IdentityMode, Screen};
use onshi_desk::app::{AppOptions, DeskApp};
use onshi_desk::domain::VerdictKind;

#[test]
fn a_valid_card_with_its_pin() {
    let mut h = harness();
    h.get_by_label("マイナ保険証をカードリーダーに置いてください");
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    h.get_by_label("入力できる残り回数: 3回");
    type_digits(&mut h, "1234");
    tap(&mut h, "決定");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
    h.get_by_label("資格確認: 有効");
    h.get_by_label("窓口負担 3割");
    h.get_by_label("本人確認: 暗証番号");
    // Recorded before the desk is told it is done.
    let id = match screen(&h) {
        Screen::Result(r) => r.recorded.clone().expect("recorded"),
        other => panic!("{other:?}"),
    };
    h.get_by_label(&format!("記録しました(受付記録 #{id})"));
    tap(&mut h, "受付完了");
    assert!(matches!(screen(&h), Screen::Idle));
    // Today's history lists it.
    tap(&mut h, "受付記録");
    until(
        &mut h,
        "the history",
        |s| matches!(s, Screen::History(h) if h.loading.is_none() && !h.records.is_empty()),
    );
    match screen(&h) {
        Screen::History(hist) => {
            let r = hist.records.iter().find(|r| r.id == id).expect("the check");
            assert_eq!(r.name.as_deref(), Some("山田 花子"));
            assert_eq!(
                r.identity
                    .map(|v| onshi_desk::journal::stored_name(&v))
                    .as_deref(),
                Some("pin")
            );
            assert_eq!(hist.usage.first().map(|u| u.card_checks), Some(1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_journal_that_cannot_be_written_is_said_on_the_result() {
    let dir = test_dir();
    let mut h = harness_with(&dir, |env| {
        // A journal file whose folder is a file: it cannot be created.
        std::fs::write(dir.join("not-a-folder"), b"x").expect("file");
        env.journal = dir.join("not-a-folder").join("journal.sqlite3");
    });
    check_visually(&mut h, "valid");
    match screen(&h) {
        Screen::Result(r) => assert!(r.recorded.is_err(), "{:?}", r.recorded),
        other => panic!("{other:?}"),
    }
    // Issue 13: the journal's own message alone, which says the check is not recorded and
    // what to do (a general sentence before it said the same thing twice).
    let text = match screen(&h) {
        Screen::Result(r) => r.recorded.clone().err().unwrap_or_default(),
        _ => unreachable!(),
    };
    assert!(text.contains("この確認は記録されていません"), "{text}");
    h.get_by_label(&text);
}

#[test]
fn a_wrong_pin_twice_then_the_right_one_on_the_last_try() {
    let mut h = harness();
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| identity_mode(s).is_some());
    type_digits(&mut h, "9999");
    tap(&mut h, "決定");
    until(&mut h, "the keypad again", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    h.get_by_label("暗証番号が違います。あと2回間違えるとロックされます。");
    type_digits(&mut h, "8888");
    tap(&mut h, "決定");
    // One try left: the keypad stays closed until the patient chooses the last try.
    until(&mut h, "the last-try warning", |s| {
        matches!(identity_mode(s), Some(IdentityMode::LastTryWarning))
    });
    h.get_by_label("暗証番号の入力はあと1回です");
    tap(&mut h, "最後の1回を入力する");
    type_digits(&mut h, "1234");
    tap(&mut h, "決定");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
}

#[test]
fn a_blocked_pin_goes_to_visual_check_behind_the_facility_passcode() {
    let mut h = harness();
    place(&mut h, "pin-blocked");
    until(&mut h, "the blocked-PIN advice", |s| {
        matches!(identity_mode(s), Some(IdentityMode::PinUnavailable))
    });
    // Issue 13: the same screen serves a face-auth card, so it no longer speaks of a PIN.
    h.get_by_label("このカードは職員が本人確認します");
    tap(&mut h, "職員が目視で確認する");
    type_digits(&mut h, "9876");
    tap(&mut h, "目視確認へ進む");
    h.get_by_label("パスコードが違います。");
    type_digits(&mut h, "0000");
    tap(&mut h, "目視確認へ進む");
    assert!(matches!(
        identity_mode(screen(&h)),
        Some(IdentityMode::VisualCheck)
    ));
    tap(&mut h, "本人と確認しました");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    // This persona's qualification is not registered yet (転職直後): 資格情報なし.
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::NoRecord));
    h.get_by_label("本人確認: 目視確認(職員)");
    h.get_by_label("他の方法で資格を確認");
}

#[test]
fn a_face_auth_card_reaches_visual_check_in_one_tap() {
    let mut h = harness();
    place(&mut h, "face-auth");
    until(&mut h, "the identity screen", |s| {
        identity_mode(s).is_some()
    });
    tap(&mut h, "職員が目視で確認する");
    assert!(matches!(
        identity_mode(screen(&h)),
        Some(IdentityMode::Passcode { .. })
    ));
}

#[test]
fn the_card_taken_off_mid_flow_is_said_and_the_desk_goes_back() {
    let mut h = harness();
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| identity_mode(s).is_some());
    h.state()
        .running()
        .and_then(|r| r.demo.as_ref())
        .expect("demo")
        .reader
        .remove();
    until(&mut h, "the removal notice", |s| {
        matches!(s, Screen::Problem(_))
    });
    h.get_by_label("カードが取り外されました");
    tap(&mut h, "はじめに戻る");
    assert!(matches!(screen(&h), Screen::Idle));
}

#[test]
fn a_card_that_is_not_a_my_number_card() {
    let mut h = harness();
    let demo = h.state().running().and_then(|r| r.demo.as_ref());
    let other = DEMO_CARDS
        .iter()
        .find(|c| c.persona.is_none())
        .expect("non-JPKI card");
    demo.expect("demo").place(other).expect("place");
    until(&mut h, "the problem", |s| matches!(s, Screen::Problem(_)));
    h.get_by_label("マイナンバーカードではありません");
}

#[test]
fn each_card_outcome_shows_its_verdict() {
    let mut h = harness();
    for (persona, expected) in [
        ("small-cert", VerdictKind::Invalid),
        ("face-auth", VerdictKind::Several),
        ("not-registered", VerdictKind::NotRegistered),
        ("revoked", VerdictKind::CertificateRevoked),
        ("expired-grace", VerdictKind::CertificateExpiredGrace),
        ("system-error", VerdictKind::ServerError),
    ] {
        check_visually(&mut h, persona);
        assert_eq!(verdict(screen(&h)), Some(expected), "{persona}");
        let done = if matches!(
            expected,
            VerdictKind::CertificateExpiredGrace | VerdictKind::Valid
        ) {
            "受付完了"
        } else {
            "はじめに戻る"
        };
        tap(&mut h, done);
        assert!(matches!(screen(&h), Screen::Idle), "{persona}");
    }
}

#[test]
fn numbers_typed_full_width_are_checked_and_bad_ones_listed() {
    let mut h = harness();
    tap(&mut h, "保険証番号で確認");
    assert!(matches!(screen(&h), Screen::Numbers(_)));
    tap(&mut h, "オンラインで確認");
    match screen(&h) {
        Screen::Numbers(form) => {
            let fields: Vec<_> = form.problems.iter().map(|(f, _)| *f).collect();
            assert_eq!(fields, ["insurer", "number", "birth"]);
        }
        other => panic!("{other:?}"),
    }
    // The same as typed with a Japanese IME: full-width digits, a 和暦 birth date.
    let form = onshi_desk::app::state::NumbersForm {
        insurer: "０１１３００１２".into(),
        symbol: "５０１２３４５".into(),
        number: "１０２４".into(),
        branch: "00".into(),
        birth: "S55.4.1".into(),
        problems: Vec::new(),
    };
    if let Some(r) = h.state_mut().running_mut() {
        r.desk
            .act(onshi_desk::app::state::Action::EditNumbers(form));
    }
    tap(&mut h, "オンラインで確認");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
}

#[test]
fn an_invalid_answer_leads_to_a_claim_with_the_old_numbers() {
    use onshi_desk::domain::claim::ClaimStep;
    let mut h = harness();
    check_visually(&mut h, "small-cert");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Invalid));
    tap(&mut h, "他の方法で資格を確認");
    let flow = claim(screen(&h)).expect("claim path");
    assert_eq!(flow.plan.step, ClaimStep::OldNumbers);
    h.get_by_label("② 以前の資格情報で請求(旧資格請求)");
    tap(&mut h, "この番号で請求する");
    h.get_by_label("レセプトに記載する内容");
    let flow = claim(screen(&h)).expect("claim path");
    match &flow.stage {
        onshi_desk::app::claim_flow::ClaimStage::Finished(done) => {
            let r = done.receipt.as_ref().expect("receipt");
            assert_eq!(r.step, ClaimStep::OldNumbers);
            assert!(!r.insurer_number().starts_with("7777"), "{r:?}");
        }
        other => panic!("{other:?}"),
    }
    tap(&mut h, "受付完了");
    assert!(matches!(screen(&h), Screen::Idle));
}

#[test]
fn no_record_then_a_self_declaration_printed_with_an_unknown_receipt() {
    use onshi_desk::app::claim_flow::{ClaimStage, DeclarationForm};
    use onshi_desk::app::state::Action;
    use onshi_desk::domain::claim::ClaimStep;
    let dir = tempfile::tempdir().expect("tmp");
    let mut h = harness_in(dir.path());
    check_visually(&mut h, "pin-blocked");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::NoRecord));
    tap(&mut h, "他の方法で資格を確認");
    assert_eq!(
        claim(screen(&h)).map(|f| f.plan.step),
        Some(ClaimStep::SelfDeclaration)
    );
    tap(&mut h, "申立書を記入する");
    // A phone number with letters is refused, with its field, and nothing is printed.
    let mut form = match claim(screen(&h)).map(|f| &f.stage) {
        Some(ClaimStage::Declaration(form)) => (**form).clone(),
        other => panic!("{other:?}"),
    };
    form = DeclarationForm {
        name: "中村 由美".into(),
        name_kana: "なかむら ゆみ".into(),
        address: "京都府京都市上京区下立売通新町西入薮ノ内町".into(),
        phone: "075-abc".into(),
        employer: "薮ノ内工務店".into(),
        insurance_kind: "employee".into(),
        ..form
    };
    act(&mut h, Action::EditDeclaration(form.clone()));
    tap(&mut h, "確認画面へ");
    match claim(screen(&h)).map(|f| &f.stage) {
        Some(ClaimStage::Declaration(f)) => {
            assert!(
                f.problems.iter().any(|(field, _)| field == "phone"),
                "{f:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    form.phone = "075-222-3333".into();
    form.problems.clear();
    act(&mut h, Action::EditDeclaration(form));
    tap(&mut h, "確認画面へ");
    assert!(
        matches!(
            claim(screen(&h)).map(|f| &f.stage),
            Some(ClaimStage::Preview(_))
        ),
        "{:?}",
        claim(screen(&h)).map(|f| &f.stage)
    );
    h.get_by_label("印刷内容の確認");
    tap(&mut h, "印刷する");
    until(&mut h, "the printout", |s| {
        matches!(claim(s).map(|f| &f.stage), Some(ClaimStage::Finished(_)))
    });
    let Some(ClaimStage::Finished(done)) = claim(screen(&h)).map(|f| &f.stage) else {
        unreachable!()
    };
    // No such printer: the desk is told, and the PDF is kept for a reprint.
    assert!(done.print_problem.is_some(), "{done:?}");
    let pdf = done.pdf.clone().expect("pdf kept");
    assert!(pdf.starts_with(dir.path()), "{}", pdf.display());
    let text = std::process::Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("中村 由美") && text.contains("ナカムラ ユミ"),
        "{text}"
    );
    assert!(!text.contains("7777777"), "{text}");
    let recorded = done
        .recorded
        .clone()
        .expect("record written")
        .expect("recorded");
    let receipt = done.receipt.clone().expect("unknown receipt");
    assert_eq!(receipt.insurer_number(), "77777777");
    assert_eq!(receipt.number(), "777777777");
    assert!(receipt.remarks[0].starts_with("不詳"), "{receipt:?}");
    tap(&mut h, "再印刷");
    // Still not printed (issue 13: the way on is 再印刷, not 受付完了).
    tap(&mut h, "印刷せずに終える");
    assert!(matches!(screen(&h), Screen::Idle));
    // The check and its unknown receipt are one record, queued for 事後確認, with the PDF.
    tap(&mut h, "受付記録");
    until(
        &mut h,
        "the history",
        |s| matches!(s, Screen::History(h) if h.loading.is_none() && !h.records.is_empty()),
    );
    let Screen::History(hist) = screen(&h) else {
        unreachable!()
    };
    let r = hist
        .records
        .iter()
        .find(|r| r.id == recorded)
        .expect("the check");
    assert_eq!(r.status, onshi_desk::journal::CheckStatus::Queued);
    assert_eq!(
        r.verdict
            .map(|v| onshi_desk::journal::stored_name(&v))
            .as_deref(),
        Some("no_record")
    );
    assert_eq!(r.printouts, vec![pdf.clone()]);
    act(
        &mut h,
        onshi_desk::app::state::Action::SelectRecord(recorded),
    );
    tap(&mut h, "請求の経路を続ける");
    assert!(claim(screen(&h)).is_some_and(|f| f.check == Some(recorded)));
}

#[test]
fn evidence_shown_with_the_card_is_reconfirmed_by_number() {
    use onshi_desk::app::claim_flow::EvidenceForm;
    use onshi_desk::app::state::Action;
    use onshi_desk::domain::claim::{ClaimStep, EvidenceKind};
    let dir = test_dir();
    let mut h = harness_in(&dir);
    check_visually(&mut h, "pin-blocked");
    tap(&mut h, "他の方法で資格を確認");
    // The patient shows a 資格確認書 (full-width digits, as typed with an IME).
    act(
        &mut h,
        Action::EditEvidence(EvidenceForm {
            kind: EvidenceKind::QualificationCertificate,
            insurer: "０１１３００１２".into(),
            symbol: "5012345".into(),
            number: "1024".into(),
            branch: "00".into(),
            valid_until: "R10.3.31".into(),
            birthdate: "昭和55年4月1日".into(),
            with_card: true,
            ..EvidenceForm::default()
        }),
    );
    tap(&mut h, "書類を追加して判定");
    let flow = claim(screen(&h)).expect("claim");
    assert_eq!(flow.plan.step, ClaimStep::CurrentNumbers, "{:?}", flow.plan);
    assert!(flow.plan.reconfirm.is_some());
    tap(&mut h, "オンラインで再確認(個別照会)");
    until(&mut h, "the re-check", |s| {
        claim(s).is_some_and(|f| f.plan.reconfirmation.is_some())
    });
    let flow = claim(screen(&h)).expect("claim");
    assert!(
        flow.plan.reconfirmation.as_ref().is_some_and(|r| r.applied),
        "{:?}",
        flow.plan
    );
    let check = flow.check.expect("the 該当なし check was recorded");
    tap(&mut h, "この番号で請求する");
    until(&mut h, "the claim record", |s| {
        matches!(claim(s).map(|f| &f.stage),
            Some(onshi_desk::app::claim_flow::ClaimStage::Finished(d)) if d.recorded.is_some())
    });
    // The same record now carries the claim and the numbers, queued for 事後確認.
    let reader =
        onshi_desk::journal::JournalReader::open(&dir.join("journal.sqlite3")).expect("journal");
    let r = reader.get(check).expect("record");
    assert_eq!(
        r.claim_step
            .map(|v| onshi_desk::journal::stored_name(&v))
            .as_deref(),
        Some("current_numbers")
    );
    assert_eq!(r.receipt_insurer(), Some("01130012"));
    assert_eq!(r.numbers.as_ref().map(|n| n.number.as_str()), Some("1024"));
}

#[test]
fn settings_open_with_the_passcode_and_save_only_what_the_app_would_start_on() {
    use onshi_desk::app::state::Action;
    let dir = tempfile::tempdir().expect("tmp");
    let mut h = harness_in(dir.path());
    tap(&mut h, "設定(職員用)");
    type_digits(&mut h, "1111");
    tap(&mut h, "設定を開く");
    h.get_by_label("パスコードが違います。");
    type_digits(&mut h, "0000");
    tap(&mut h, "設定を開く");
    // The demo has no settings passcode of its own: the facility passcode, then a confirmation.
    tap(&mut h, "確かめたので設定を開く");
    let settings = |h: &Harness<'_, DeskApp>| match screen(h) {
        Screen::Settings(s) => (**s).clone(),
        other => panic!("{other:?}"),
    };
    assert!(settings(&h).unlocked);
    // Plain http is refused: nothing is written.
    let mut form = settings(&h).form;
    let url = form.url.clone();
    form.url = "http://127.0.0.1:9/".into();
    form.printer = "reception-a4".into();
    act(&mut h, Action::EditSettings(Box::new(form.clone())));
    tap(&mut h, "保存");
    let outcome = settings(&h).form.outcome;
    assert!(
        matches!(&outcome, Some(Err(e)) if e.contains("https://")),
        "{outcome:?}"
    );
    assert!(!form.path.exists());
    // Corrected, it is saved, and the file is one the app starts on.
    form.url = url;
    act(&mut h, Action::EditSettings(Box::new(form.clone())));
    tap(&mut h, "保存");
    until(
        &mut h,
        "the save",
        |s| matches!(s, Screen::Settings(s) if s.saving.is_none() && s.form.outcome.is_some()),
    );
    assert!(matches!(settings(&h).form.outcome, Some(Ok(_))));
    let saved = onshi_desk::config::Config::load(Some(&form.path)).expect("saved config loads");
    assert_eq!(saved.desk.printer.as_deref(), Some("reception-a4"));
    assert!(saved.desk.passcode.is_some_and(|p| p.matches("0000")));
}

#[test]
fn the_card_lifted_while_it_signs_the_challenge_is_said_and_costs_no_pin_try() {
    let mut h = harness();
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| identity_mode(s).is_some());
    type_digits(&mut h, "1234");
    h.state()
        .running()
        .and_then(|r| r.demo.as_ref())
        .expect("demo")
        .reader
        .slide_off_at_next_command();
    tap(&mut h, "決定");
    until(&mut h, "the removal notice", |s| {
        matches!(s, Screen::Problem(_))
    });
    h.get_by_label("カードが取り外されました");
    tap(&mut h, "はじめに戻る");
    // Placed again, the card still has its three tries: the PIN never reached it.
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| identity_mode(s).is_some());
    h.get_by_label("入力できる残り回数: 3回");
}

#[test]
fn a_card_taken_off_and_placed_again_keeps_its_spent_pin_tries() {
    let mut h = harness();
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| identity_mode(s).is_some());
    type_digits(&mut h, "9999");
    tap(&mut h, "決定");
    until(
        &mut h,
        "the keypad again",
        |s| matches!(screen_notice(s), Some(n) if n.contains("あと2回")),
    );
    place_again(&mut h, "valid", |h| {
        h.state()
            .running()
            .and_then(|r| r.demo.as_ref())
            .expect("demo")
            .reader
            .remove()
    });
    h.get_by_label("入力できる残り回数: 2回");
    // The demo panel starts the cards over: placed again, it is a fresh card.
    place_again(&mut h, "valid", |h| tap(h, "カードを新品に戻す"));
    h.get_by_label("入力できる残り回数: 3回");
}

/// Takes the card off the reader (`how`), goes back to the start and places it again.
#[test]
fn a_portal_pdf_fills_the_evidence_and_a_wrong_file_is_said() {
    use onshi_desk::app::state::Action;
    use onshi_desk::domain::claim::{ClaimStep, EvidenceKind};
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/portal");
    let mut h = harness();
    check_visually(&mut h, "pin-blocked");
    tap(&mut h, "他の方法で資格を確認");
    act(&mut h, Action::ImportPortalPdf(samples.join("README.md")));
    until(&mut h, "the refusal", |s| {
        claim(s).is_some_and(|f| f.importing.is_none() && f.notice.is_some())
    });
    h.get_by_label(
        "PDFファイルではありません。マイナポータルからダウンロードした資格情報のPDFを選んでください。",
    );
    act(&mut h, Action::ImportPortalPdf(samples.join("table.pdf")));
    until(&mut h, "the import", |s| {
        claim(s).is_some_and(|f| f.importing.is_none() && !f.form.insurer.is_empty())
    });
    let flow = claim(screen(&h)).expect("claim");
    assert_eq!(flow.form.kind, EvidenceKind::MynaPortalPdf);
    assert_eq!(flow.form.insurer, "138057");
    assert!(flow.notice.is_none());
    // The portal shows the qualification as it was: the desk asks it was not lost since.
    let question = "その後に資格を失っていない(転職・退職・転居などがない)と患者さんが確認した";
    tap(&mut h, question);
    assert!(claim(screen(&h)).is_some_and(|f| f.form.not_lost_confirmed));
    // The question moved the button below the harness's window: pressed by accessibility.
    h.get_by_label("書類を追加して判定").click_accesskit();
    h.step();
    h.step();
    let flow = claim(screen(&h)).expect("claim");
    assert_eq!(flow.plan.step, ClaimStep::CurrentNumbers, "{:?}", flow.plan);
}

#[test]
fn a_desk_without_configuration_says_so_and_still_opens() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = DeskApp::start(
        &egui::Context::default(),
        AppOptions {
            config: Some(dir.path().join("missing.toml")),
            fixed_today: Some(common::AS_OF),
            ..Default::default()
        },
    );
    // Cards other tests put on the PC/SC test readers are not this desk's patients.
    if let Some(r) = app.running_mut() {
        r.desk.preferred_reader = Some("no such reader".into());
    }
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 1400.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.show(ui), app);
    h.step();
    h.step();
    h.get_by_label(
        "資格確認の接続先が設定されていません。職員の方は「設定(職員用)」から設定してください。",
    );
    h.get_by_label("マイナ保険証をカードリーダーに置いてください");
}

#[test]
fn the_history_searches_reprints_saves_the_month_end_reports_and_closes_a_conflict() {
    use onshi_desk::app::state::Action;
    use onshi_desk::journal::{CheckKind, CheckNumbers, CheckStatus, Journal, NewCheck};
    let dir = test_dir();
    let pdf = dir.join("kept-declaration.pdf");
    std::fs::write(&pdf, b"%PDF-1.7\n%%EOF\n").expect("pdf");
    let (mut earlier, mut conflict) = (None, None);
    let mut h = harness_with(&dir, |env| {
        let journal = Journal::open(&env.journal).expect("journal");
        let mut c = NewCheck::empty(CheckKind::Numbers, common::AS_OF - time::Duration::days(3));
        c.verdict = Some(VerdictKind::Valid);
        c.name = Some("鈴木 一郎".into());
        c.name_kana = Some("ｽｽﾞｷ ｲﾁﾛｳ".into());
        c.numbers = Some(CheckNumbers {
            insurer_number: "06139999".into(),
            symbol: Some("12".into()),
            number: "4242".into(),
            branch: None,
        });
        earlier = Some(journal.record(c).expect("record"));
        let mut c = NewCheck::empty(CheckKind::Card, common::AS_OF);
        c.verdict = Some(VerdictKind::Unreachable);
        c.name = Some("高橋 次郎".into());
        c.status = Some(CheckStatus::Conflict);
        let id = journal.record(c).expect("record");
        journal.add_printout(id, &pdf).expect("printout");
        conflict = Some(id);
    });
    let (earlier, conflict) = (earlier.expect("id"), conflict.expect("id"));
    tap(&mut h, "受付記録");
    until(&mut h, "today's checks", |s| {
        history(s).is_some_and(|h| h.loading.is_none())
    });
    assert_eq!(history_names(&h), vec!["高橋 次郎".to_owned()]);
    h.get_by_label("要確認(相違あり)");
    // By name (start), by number typed full-width, by date: each finds the earlier check.
    let day = (common::AS_OF - time::Duration::days(3)).to_string();
    for query in ["鈴木", "４２４２", day.as_str()] {
        search_history(&mut h, query);
        assert_eq!(history_names(&h), vec!["鈴木 一郎".to_owned()], "{query}");
    }
    assert_eq!(history(screen(&h)).map(|h| h.records[0].id), Some(earlier));
    // Kana through the IME into the search field (composition, then commit), as the desk
    // types it: ひらがな finds the answer's half-width カナ.
    act(&mut h, Action::EditHistoryQuery(String::new()));
    h.get_by_role(egui::accesskit::Role::TextInput).focus();
    h.step();
    h.event(egui::Event::Ime(egui::ImeEvent::Preedit {
        text: "すずき".into(),
        active_range_chars: None,
    }));
    h.step();
    h.event(egui::Event::Ime(egui::ImeEvent::Commit("すずき".into())));
    h.step();
    h.step();
    assert_eq!(
        history(screen(&h)).map(|h| h.query.as_str()),
        Some("すずき")
    );
    tap(&mut h, "検索");
    until(&mut h, "the kana search", |s| {
        history(s).is_some_and(|h| h.loading.is_none())
    });
    assert_eq!(history_names(&h), vec!["鈴木 一郎".to_owned()]);
    search_history(&mut h, "該当なし");
    h.get_by_label("該当する記録はありません。");
    // Back to today's: reprint its declaration (no such printer: said, the PDF kept).
    search_history(&mut h, "");
    act(&mut h, Action::SelectRecord(conflict));
    tap(&mut h, "申立書を再印刷");
    until(&mut h, "the reprint", |s| {
        history(s).is_some_and(|h| h.reprinting.is_none())
    });
    let notice = history(screen(&h)).and_then(|h| h.notice.clone());
    assert!(
        notice
            .as_deref()
            .is_some_and(|n| n != "印刷を依頼しました。"),
        "{notice:?}"
    );
    assert!(pdf.is_file());
    // The month-end reports: this month's open checks (the conflict) and the card-use rate,
    // as CSV files beside the printouts.
    tap(&mut h, "今月分を保存");
    until(&mut h, "the reports", |s| {
        history(s).is_some_and(|h| h.exporting.is_none())
    });
    let reports = dir.join("reports");
    h.get_by_label(&format!(
        "2026年11月の未確定 1 件と利用率を保存しました: {}",
        reports.display()
    ));
    let open = std::fs::read_to_string(reports.join("unresolved-2026-11.csv")).expect("csv");
    assert!(
        open.contains("高橋 次郎") && !open.contains("鈴木"),
        "{open}"
    );
    let usage = std::fs::read_to_string(reports.join("usage.csv")).expect("csv");
    assert!(usage.contains("2026-11,1,1,0.5000"), "{usage}");
    tap(&mut h, "先月分を保存");
    until(&mut h, "the reports", |s| {
        history(s).is_some_and(|h| h.exporting.is_none())
    });
    assert!(reports.join("unresolved-2026-10.csv").is_file());
    // Staff settle the conflict: it is done, and the list says so.
    tap(&mut h, "相違を確認して対応済みにする");
    until(&mut h, "the record closed", |s| {
        history(s).is_some_and(|h| {
            h.resolving.is_none()
                && h.loading.is_none()
                && h.records.iter().any(|r| r.status == CheckStatus::Done)
        })
    });
    h.get_by_label(&format!("受付記録 #{conflict} を対応済みにしました。"));
    h.get_by_label("完了");
    assert!(h.query_by_label("相違を確認して対応済みにする").is_none());
}

#[test]
fn a_busy_day_shows_the_newest_hundred_then_more_on_request() {
    use onshi_desk::journal::{CheckKind, Journal, NewCheck};
    let dir = test_dir();
    let mut h = harness_with(&dir, |env| {
        let journal = Journal::open(&env.journal).expect("journal");
        for i in 0..130 {
            let mut c = NewCheck::empty(CheckKind::Numbers, common::AS_OF);
            c.verdict = Some(VerdictKind::Valid);
            c.name = Some(format!("患者 {i:03}"));
            journal.record(c).expect("record");
        }
    });
    tap(&mut h, "受付記録");
    until(&mut h, "today's checks", |s| {
        history(s).is_some_and(|h| h.loading.is_none() && !h.records.is_empty())
    });
    let names = history_names(&h);
    assert_eq!(names.len(), 100);
    assert_eq!(
        names.first().map(String::as_str),
        Some("患者 129"),
        "newest first"
    );
    tap(&mut h, "さらに表示(古い記録)");
    until(&mut h, "the next page", |s| {
        history(s).is_some_and(|h| h.loading.is_none() && h.records.len() > 100)
    });
    let names = history_names(&h);
    assert_eq!(names.len(), 130);
    assert_eq!(names.last().map(String::as_str), Some("患者 000"));
    assert!(
        h.query_by_label("さらに表示(古い記録)").is_none(),
        "all shown"
    );
}

/// A desk left running past midnight (hospitals, 24-hour pharmacies): the header, each check
/// sent and recorded, and today's history follow the clock; a claim path begun before
/// midnight keeps its own visit date.
#[test]
fn a_desk_left_running_past_midnight_works_for_the_new_day() {
    use onshi_desk::app::claim_flow::{ClaimStage, EvidenceForm};
    use onshi_desk::app::state::Action;
    use onshi_desk::clock::{Clock, FixedClock};
    use onshi_desk::domain::claim::EvidenceKind;
    use onshi_desk::domain::dates::format_wareki;
    let evening = common::AS_OF;
    let morning = evening.next_day().expect("a next day");
    let dir = test_dir();
    let clock = FixedClock::shared_at(time::macros::datetime!(2026-11-21 23:58 +9));
    assert_eq!(clock.today_jst(), evening);
    let mut h = harness_with_clock(&dir, clock.clone(), |_| {});
    h.get_by_label(&format!("受付日 {}", format_wareki(evening)));

    // Before midnight: a patient without a card, the claim path opened with a 資格確認書.
    act(&mut h, Action::OpenClaim);
    act(
        &mut h,
        Action::EditEvidence(EvidenceForm {
            kind: EvidenceKind::QualificationCertificate,
            insurer: "01130012".into(),
            symbol: "5012345".into(),
            number: "1024".into(),
            branch: "00".into(),
            valid_until: "R10.3.31".into(),
            birthdate: "昭和55年4月1日".into(),
            ..EvidenceForm::default()
        }),
    );
    tap(&mut h, "書類を追加して判定");
    assert_eq!(claim(screen(&h)).map(|f| f.on), Some(evening));

    // Midnight passes while the desk stays open.
    clock.set(time::macros::datetime!(2026-11-22 00:02 +9));
    h.step();
    h.step();
    h.get_by_label(&format!("受付日 {}", format_wareki(morning)));

    // The claim path begun before midnight keeps its visit date, and is recorded for it.
    assert_eq!(claim(screen(&h)).map(|f| f.on), Some(evening));
    tap(&mut h, "この番号で請求する");
    until(&mut h, "the claim record", |s| {
        matches!(claim(s).map(|f| &f.stage),
            Some(ClaimStage::Finished(d)) if d.recorded.is_some())
    });
    let claimed = match claim(screen(&h)).map(|f| &f.stage) {
        Some(ClaimStage::Finished(d)) => d
            .recorded
            .clone()
            .expect("answered")
            .expect("claim recorded"),
        other => panic!("{other:?}"),
    };
    tap(&mut h, "受付完了");

    // The next patient, after midnight: checked, sent and recorded for the new day (the
    // client refuses an answer whose QualificationConfirmationDate differs from the one it
    // sent, so a valid verdict means the service was asked for this day).
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    type_digits(&mut h, "1234");
    tap(&mut h, "決定");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
    let checked = match screen(&h) {
        Screen::Result(r) => {
            assert_eq!(r.checked_on, morning);
            r.recorded.clone().expect("recorded")
        }
        other => panic!("{other:?}"),
    };
    let reader =
        onshi_desk::journal::JournalReader::open(&dir.join("journal.sqlite3")).expect("journal");
    assert_eq!(reader.get(checked).expect("check").check_date, morning);
    assert_eq!(reader.get(claimed).expect("claim").check_date, evening);
    tap(&mut h, "受付完了");

    // Today's history is the new day's.
    tap(&mut h, "受付記録");
    until(
        &mut h,
        "the history",
        |s| matches!(s, Screen::History(h) if h.loading.is_none() && !h.records.is_empty()),
    );
    let ids: Vec<_> = history(screen(&h))
        .expect("history")
        .records
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec![checked]);
}

/// A card read just before midnight and confirmed just after: the result rates the
/// certificate on the check's date, not on the day the card was read (here the certificate
/// expires at midnight, between the two).
#[test]
fn a_certificate_is_rated_on_the_date_of_the_check() {
    use onshi_desk::clock::FixedClock;
    use onshi_desk::domain::expiry::CertificateExpiry;
    use time::macros::{offset, time};
    // The `expiring-soon` card's certificate is valid through this day (Japan time).
    let last_day = common::AS_OF + time::Duration::days(45);
    let next_day = last_day.next_day().expect("a next day");
    let clock = FixedClock::shared_at(last_day.with_time(time!(23:59)).assume_offset(offset!(+9)));
    let mut h = harness_with_clock(&test_dir(), clock.clone(), |_| {});
    place(&mut h, "expiring-soon");
    until(&mut h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    match screen(&h) {
        Screen::Identity(i) => assert!(
            matches!(i.read.expiry, CertificateExpiry::ExpiringSoon { expires_on } if expires_on == last_day),
            "{:?}",
            i.read.expiry
        ),
        other => panic!("{other:?}"),
    }
    clock.set(next_day.with_time(time!(00:01)).assume_offset(offset!(+9)));
    type_digits(&mut h, "2345");
    tap(&mut h, "決定");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    match screen(&h) {
        Screen::Result(r) => {
            assert_eq!(r.checked_on, next_day);
            assert!(
                matches!(
                    r.card,
                    Some((CertificateExpiry::ExpiredGrace { expired_on, .. }, _))
                        if expired_on == last_day
                ),
                "{:?}",
                r.card
            );
        }
        other => panic!("{other:?}"),
    }
}

/// The claim path of a check recorded the day before, continued from the history: it is
/// that visit's claim path, with that visit's date (evidence, re-checks and the declaration
/// are judged on it), not the day staff happen to continue it.
#[test]
fn a_claim_path_continued_from_the_history_keeps_the_visit_date() {
    use onshi_desk::app::state::Action;
    use onshi_desk::clock::FixedClock;
    use time::macros::{offset, time};
    let visit = common::AS_OF;
    let next_day = visit.next_day().expect("a next day");
    let clock = FixedClock::shared_at(visit.with_time(time!(18:00)).assume_offset(offset!(+9)));
    let mut h = harness_with_clock(&test_dir(), clock.clone(), |_| {});
    check_visually(&mut h, "pin-blocked");
    let id = match screen(&h) {
        Screen::Result(r) => r.recorded.clone().expect("recorded"),
        other => panic!("{other:?}"),
    };
    act(&mut h, Action::Done);
    clock.set(next_day.with_time(time!(9:00)).assume_offset(offset!(+9)));
    tap(&mut h, "受付記録");
    until(&mut h, "today's checks", |s| {
        history(s).is_some_and(|h| h.loading.is_none())
    });
    search_history(&mut h, &visit.to_string());
    assert!(history(screen(&h)).is_some_and(|h| h.records.iter().any(|r| r.id == id)));
    act(&mut h, Action::SelectRecord(id));
    tap(&mut h, "請求の経路を続ける");
    let flow = claim(screen(&h)).expect("claim path");
    assert_eq!(flow.check, Some(id));
    assert_eq!(flow.on, visit);
}
