//! The patient side and the staff side of the desk (issue 13): the patient window (お客様用
//! 画面) that shows only what the patient needs, the 職員用 marks on one shared screen, and the
//! staff passcodes (the wait after wrong tries, the settings behind a code of their own or a
//! confirmation).
//!
//! kittest opens no second native window: the patient window is drawn into a harness of its
//! own from the desk as it is ([`onshi_desk::app::patient_view`]), and what is tapped there is
//! handed to the desk, as the app does with its second viewport.

mod common;
mod desk_harness;

use desk_harness::*;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use onshi_desk::app::state::{Action, IdentityMode, Screen};
use onshi_desk::app::DeskApp;
use onshi_desk::domain::VerdictKind;

/// Draws the patient window for the desk as it is now, lets `f` look at it and tap it, then
/// hands what was tapped to the desk.
fn with_patient<R>(
    h: &mut Harness<'static, DeskApp>,
    f: impl FnOnce(&mut Harness<'_, Vec<Action>>) -> R,
) -> R {
    let (out, actions) = {
        let desk = &h.state().running().expect("running").desk;
        // As the app: the Japanese font first, drawn from the next pass on.
        let mut styled = false;
        let mut p = Harness::builder()
            .with_size(egui::vec2(1024.0, 768.0))
            .build_ui_state(
                move |ui, actions: &mut Vec<Action>| {
                    if !styled {
                        onshi_desk::app::theme::install(ui.ctx(), 1.0);
                        styled = true;
                        return;
                    }
                    actions.extend(onshi_desk::app::patient_view(ui, desk))
                },
                Vec::new(),
            );
        p.step();
        p.step();
        p.state_mut().clear();
        let out = f(&mut p);
        (out, std::mem::take(p.state_mut()))
    };
    for action in actions {
        act(h, action);
    }
    h.step();
    out
}

fn patient_tap(p: &mut Harness<'_, Vec<Action>>, label: &str) {
    p.get_by_label(label).click();
    p.step();
}

/// A desk with a patient window, as `[desk] patient_display = true` makes it.
fn desk_with_patient_window() -> Harness<'static, DeskApp> {
    let mut h = harness();
    if let Some(r) = h.state_mut().running_mut() {
        r.desk.patient_display = true;
    }
    h.step();
    h
}

#[test]
fn the_patient_types_the_pin_on_the_patient_window_and_the_clerk_sees_no_keys() {
    let mut h = desk_with_patient_window();
    with_patient(&mut h, |p| {
        p.get_by_label("マイナ保険証をカードリーダーに置いてください");
    });
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    // The clerk's window: where the patient is, no keypad.
    h.get_by_label("お客様用画面で暗証番号を入力しています");
    assert!(h
        .query_by_label("暗証番号(数字4桁)を入力してください")
        .is_none());
    for key in ["1", "5", "0", "訂正", "決定"] {
        assert!(
            h.query_by_label(key).is_none(),
            "{key} on the clerk's window"
        );
    }
    // The patient's window: the keypad.
    with_patient(&mut h, |p| {
        p.get_by_label("暗証番号(数字4桁)を入力してください");
        p.get_by_label("入力できる残り回数: 3回");
        for d in ["1", "2", "3", "4"] {
            patient_tap(p, d);
        }
        assert!(p.query_by_label("パスコード").is_none());
    });
    // The clerk sees how many digits, not which.
    h.get_by_label("●●●●");
    with_patient(&mut h, |p| patient_tap(p, "決定"));
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
    h.get_by_label("資格確認: 有効");
    // The patient hears that it is done, and nothing of the verdict.
    with_patient(&mut h, |p| {
        p.get_by_label("受付できました");
        p.get_by_label("カードをお取りください");
        for detail in ["有効", "3割", "山田", "記録", "受付記録", "受付完了"] {
            assert!(
                p.query_by_label_contains(detail).is_none(),
                "{detail} on the patient's window"
            );
        }
    });
}

#[test]
fn the_patient_window_never_shows_the_passcode_keypad_or_staff_screens() {
    let mut h = desk_with_patient_window();
    place(&mut h, "pin-blocked");
    until(&mut h, "the blocked-PIN advice", |s| {
        matches!(identity_mode(s), Some(IdentityMode::PinUnavailable))
    });
    with_patient(&mut h, |p| {
        p.get_by_label("このカードは職員が本人確認します");
        assert!(p.query_by_label("職員が目視で確認する").is_none());
    });
    tap(&mut h, "職員が目視で確認する");
    assert!(matches!(
        identity_mode(screen(&h)),
        Some(IdentityMode::Passcode { .. })
    ));
    // The clerk types the passcode on the clerk's window; the patient sees none of it.
    h.get_by_label("0");
    with_patient(&mut h, |p| {
        p.get_by_label("職員がご本人の確認をしています");
        assert!(p.query_by_label_contains("職員用").is_none());
        for key in ["0", "1", "目視確認へ進む"] {
            assert!(
                p.query_by_label(key).is_none(),
                "{key} on the patient's window"
            );
        }
    });
    type_digits(&mut h, "0000");
    tap(&mut h, "目視確認へ進む");
    with_patient(&mut h, |p| {
        p.get_by_label("職員がご本人の確認をしています");
        assert!(p.query_by_label("本人と確認しました").is_none());
    });
    tap(&mut h, "本人と確認しました");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    with_patient(&mut h, |p| {
        p.get_by_label("確認が終わりました");
        p.get_by_label("職員がご案内します。");
        assert!(p.query_by_label_contains("資格").is_none());
    });
    // Staff screens are "please wait" on the patient's side.
    act(&mut h, Action::Done);
    tap(&mut h, "設定(職員用)");
    with_patient(&mut h, |p| {
        p.get_by_label("しばらくお待ちください");
        assert!(p.query_by_label("0").is_none());
    });
}

#[test]
fn the_patient_chooses_on_the_last_try_from_the_patient_window() {
    let mut h = desk_with_patient_window();
    place(&mut h, "pin-one-left");
    until(&mut h, "the last-try warning", |s| {
        matches!(identity_mode(s), Some(IdentityMode::LastTryWarning))
    });
    assert!(h.query_by_label("最後の1回を入力する").is_none());
    with_patient(&mut h, |p| patient_tap(p, "最後の1回を入力する"));
    assert!(matches!(
        identity_mode(screen(&h)),
        Some(IdentityMode::Pin { .. })
    ));
}

#[test]
fn on_one_window_the_staff_steps_are_marked_and_the_pin_keypad_is_not() {
    let mut h = harness();
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    // One window (the default): the keypad is here, and it is the patient's.
    h.get_by_label("暗証番号(数字4桁)を入力してください");
    assert!(h.query_by_label_contains("職員用").is_none());
    tap(&mut h, "暗証番号を忘れた・顔認証カード");
    h.get_by_label(" 職員用 目視確認モード");
    type_digits(&mut h, "0000");
    tap(&mut h, "目視確認へ進む");
    h.get_by_label(" 職員用 目視で本人確認してください");
    tap(&mut h, "確認できない・やめる");
    tap(&mut h, "設定(職員用)");
    h.get_by_label(" 職員用 設定");
}

#[test]
fn wrong_facility_passcodes_make_the_next_try_wait_on_the_clock() {
    use time::macros::datetime;
    let clock = onshi_desk::clock::FixedClock::shared_at(datetime!(2026-11-21 10:00 +9));
    let mut h = harness_with_clock(&test_dir(), clock.clone(), |_| {});
    place(&mut h, "pin-blocked");
    until(&mut h, "the blocked-PIN advice", |s| {
        matches!(identity_mode(s), Some(IdentityMode::PinUnavailable))
    });
    tap(&mut h, "職員が目視で確認する");
    for wrong in ["1111", "2222"] {
        type_digits(&mut h, wrong);
        tap(&mut h, "目視確認へ進む");
        h.get_by_label("パスコードが違います。");
    }
    type_digits(&mut h, "3333");
    tap(&mut h, "目視確認へ進む");
    h.get_by_label("パスコードが違います。あと5秒お待ちください。");
    // While it waits, the right code does not open visual check.
    type_digits(&mut h, "0000");
    tap(&mut h, "目視確認へ進む");
    assert!(matches!(
        identity_mode(screen(&h)),
        Some(IdentityMode::Passcode { .. })
    ));
    clock.set(datetime!(2026-11-21 10:00:03 +9));
    h.step();
    h.get_by_label("パスコードが違います。あと2秒お待ちください。");
    clock.set(datetime!(2026-11-21 10:00:05 +9));
    h.step();
    h.get_by_label("パスコードが違います。");
    type_digits(&mut h, "0000");
    tap(&mut h, "目視確認へ進む");
    assert!(matches!(
        identity_mode(screen(&h)),
        Some(IdentityMode::VisualCheck)
    ));
}

#[test]
fn the_facility_passcode_opens_the_settings_only_after_a_confirmation() {
    let mut h = harness();
    tap(&mut h, "設定(職員用)");
    type_digits(&mut h, "0000");
    tap(&mut h, "設定を開く");
    // The demo sets no settings passcode: the code typed for visual check asks once more.
    h.get_by_label(" 職員用 設定を開きますか");
    assert!(matches!(screen(&h), Screen::Settings(s) if !s.unlocked && s.confirming));
    assert!(h.query_by_label("保存").is_none());
    tap(&mut h, "確かめたので設定を開く");
    assert!(matches!(screen(&h), Screen::Settings(s) if s.unlocked));
    h.get_by_label("保存");
}

#[test]
fn a_settings_passcode_of_its_own_opens_the_settings_and_the_visual_check_code_does_not() {
    let mut h = harness();
    if let Some(r) = h.state_mut().running_mut() {
        let config = r.desk.config.as_mut().expect("demo config");
        config.desk.settings_passcode =
            Some(onshi_desk::config::PasscodeHash::new("8642", b"01234567").expect("4 digits"));
    }
    tap(&mut h, "設定(職員用)");
    type_digits(&mut h, "0000");
    tap(&mut h, "設定を開く");
    h.get_by_label("パスコードが違います。");
    assert!(matches!(screen(&h), Screen::Settings(s) if !s.unlocked && !s.confirming));
    type_digits(&mut h, "8642");
    tap(&mut h, "設定を開く");
    assert!(matches!(screen(&h), Screen::Settings(s) if s.unlocked));
}

#[test]
fn a_patient_window_out_of_sight_is_no_dead_end_the_keypad_comes_to_the_clerk() {
    let mut h = desk_with_patient_window();
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    tap(&mut h, "この画面で暗証番号を入力する");
    h.get_by_label("暗証番号(数字4桁)を入力してください");
    with_patient(&mut h, |p| {
        p.get_by_label("職員の画面で暗証番号を入力してください");
        assert!(p.query_by_label("1").is_none());
    });
    type_digits(&mut h, "1234");
    tap(&mut h, "決定");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
    // The next card is typed on the patient window again.
    tap(&mut h, "受付完了");
    if let Some(demo) = h.state().running().and_then(|r| r.demo.as_ref()) {
        demo.reader.remove();
    }
    h.step();
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    h.get_by_label("お客様用画面で暗証番号を入力しています");
    assert!(h.query_by_label("1").is_none());
}

#[test]
fn the_patient_keypad_after_a_wrong_pin_fits_a_1024_by_768_display() {
    let mut h = desk_with_patient_window();
    place(&mut h, "expiring-soon");
    until(&mut h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    with_patient(&mut h, |p| {
        for d in ["9", "9", "9", "9"] {
            patient_tap(p, d);
        }
    });
    with_patient(&mut h, |p| patient_tap(p, "決定"));
    until(
        &mut h,
        "the keypad again",
        |s| matches!(s, Screen::Identity(i) if i.notice.is_some()),
    );
    with_patient(&mut h, |p| {
        p.get_by_label("暗証番号が違います。あと2回間違えるとロックされます。");
        for label in ["決定", "暗証番号がわからない(職員が確認します)", "0"] {
            let bottom = p.get_by_label(label).rect().max.y;
            assert!(bottom <= 768.0, "{label} ends at {bottom}, below 768");
        }
    });
}

#[test]
fn the_configured_patient_window_reaches_the_desk_and_one_window_stays_without_native_windows() {
    // The desk is built from `[desk] patient_display = true`.
    let dir = test_dir();
    let mut env = onshi_desk::app::demo::DemoEnv::start_with_pki(&common::pki_dir(), &dir)
        .expect("demo environment");
    env.config.desk.patient_display = true;
    let clock = std::sync::Arc::new(onshi_desk::clock::FixedClock::on(common::AS_OF));
    let running = DeskApp::demo_running(&egui::Context::default(), env, clock);
    assert!(running.desk.patient_display);
    assert!(running.desk.pin_on_patient_window());
    // kittest, like a backend that cannot open a second native window, would embed it in the
    // clerk's window: the desk keeps one window, with the keypad on it.
    let app = DeskApp::from_running(
        running,
        onshi_desk::app::AppOptions {
            fixed_today: Some(common::AS_OF),
            ..Default::default()
        },
    );
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 1400.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.show(ui), app);
    h.step();
    h.step();
    assert!(!h.state().running().expect("running").desk.patient_display);
}
