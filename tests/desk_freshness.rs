//! Issue 13, "never miss the verdict, never see the last patient; everything fits the
//! screen": the desk driven through its UI (egui_kittest) at the reception PC's window sizes —
//! 1366×698 (a 1366×768 screen less its taskbar) and 1024×768.

mod common;
mod desk_harness;

use desk_harness::*;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use onshi_desk::app::state::{IdentityMode, Screen};
use onshi_desk::app::DeskApp;
use onshi_desk::domain::VerdictKind;

/// The window sizes every screen must fit.
const SIZES: [egui::Vec2; 2] = [egui::vec2(1366.0, 698.0), egui::vec2(1024.0, 768.0)];

fn resize(h: &mut Harness<'_, DeskApp>, size: egui::Vec2) {
    h.set_size(size);
    h.step();
    h.step();
}

/// Each of `labels` is a widget lying wholly inside the window (not scrolled away, not cut).
fn inside(h: &Harness<'_, DeskApp>, size: egui::Vec2, what: &str, labels: &[&str]) {
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, size);
    for label in labels {
        let rect = h.get_by_label(label).rect();
        assert!(
            window.contains_rect(rect),
            "{what} at {}×{}: 「{label}」 at {rect:?} is outside the window",
            size.x,
            size.y
        );
    }
}

/// The verdict banner and the ratio in view, above the button panel.
fn verdict_in_view(h: &Harness<'_, DeskApp>, size: egui::Vec2, banner: &str, done: &str) {
    let banner = h.get_by_label(banner).rect();
    let ratio = h.get_by_label("窓口負担 3割").rect();
    let button = h.get_by_label(done).rect();
    assert!(
        banner.top() > 30.0 && ratio.bottom() <= button.top(),
        "at {size:?}: banner {banner:?}, ratio {ratio:?}, button {button:?}"
    );
}

fn valid_result_by_pin(h: &mut Harness<'_, DeskApp>) {
    place(h, "valid");
    until(h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    type_digits(h, "1234");
    tap(h, "決定");
    until(h, "the verdict", |s| verdict(s).is_some());
    assert_eq!(verdict(screen(h)), Some(VerdictKind::Valid));
}

/// egui keeps a scroll area's offset by its id: the last patient's result scrolled down made
/// the next patient's open scrolled down too, its verdict banner out of view.
#[test]
fn the_next_patients_result_opens_at_the_top_with_the_verdict_and_the_ratio() {
    for size in SIZES {
        let mut h = harness();
        resize(&mut h, size);
        valid_result_by_pin(&mut h);
        verdict_in_view(&h, size, "資格確認: 有効", "受付完了");
        // The clerk scrolls down to the numbers.
        let top = h.get_by_label("資格確認: 有効").rect().top();
        for _ in 0..6 {
            h.get_by_label("資格情報").scroll_down();
            h.step();
        }
        h.step();
        let scrolled = h.get_by_label("資格確認: 有効").rect().top();
        assert!(scrolled < top - 50.0, "at {size:?}: {top} → {scrolled}");
        tap(&mut h, "受付完了");
        // The next patient (here the same card, placed again).
        valid_result_by_pin(&mut h);
        verdict_in_view(&h, size, "資格確認: 有効", "受付完了");
    }
}

#[test]
fn a_card_placed_while_a_result_is_shown_is_read_as_the_next_patient() {
    let mut h = harness();
    valid_result_by_pin(&mut h);
    h.get_by_label("山田 花子");
    place(&mut h, "pin-blocked");
    until(&mut h, "the new card's identity step", |s| {
        identity_mode(s).is_some()
    });
    // The desk says so, and the last patient's result is gone.
    h.get_by_label(onshi_desk::app::state::NEXT_PATIENT);
    assert!(h.query_by_label("山田 花子").is_none());
    assert!(h.query_by_label("資格確認: 有効").is_none());
    assert!(matches!(
        identity_mode(screen(&h)),
        Some(IdentityMode::PinUnavailable)
    ));
}

#[test]
fn after_done_a_card_placed_meanwhile_is_read_and_the_finished_one_is_asked_for() {
    let mut h = harness();
    // The finished patient's card stays on the reader: asked for, not read again.
    valid_result_by_pin(&mut h);
    tap(&mut h, "受付完了");
    for _ in 0..5 {
        h.step();
    }
    assert!(matches!(screen(&h), Screen::Idle), "{:?}", screen(&h));
    h.get_by_label("カードをお取りください");
    h.state()
        .running()
        .and_then(|r| r.demo.as_ref())
        .expect("demo")
        .reader
        .remove();
    until(&mut h, "the card taken", |s| matches!(s, Screen::Idle));
    for _ in 0..5 {
        h.step();
    }
    h.get_by_label("マイナ保険証をカードリーダーに置いてください");
    // A patient without a card at the counter; the next one places theirs meanwhile.
    tap(&mut h, "資格確認書・お知らせ等");
    place(&mut h, "valid");
    for _ in 0..10 {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        claim(screen(&h)).is_some(),
        "the claim path is not interrupted"
    );
    tap(&mut h, "やめる");
    until(&mut h, "the waiting card read", |s| {
        identity_mode(s).is_some()
    });
}

#[test]
fn an_unattended_result_returns_to_waiting_after_the_configured_time() {
    use onshi_desk::clock::{Clock, FixedClock};
    let clock = FixedClock::shared_at(time::macros::datetime!(2026-11-21 10:00 +9));
    let mut h = harness_with_clock(&test_dir(), clock.clone(), |_| {});
    let timeout = h
        .state()
        .running()
        .map(|r| r.desk.result_timeout)
        .expect("running");
    assert_eq!(timeout, std::time::Duration::from_secs(60), "the default");
    valid_result_by_pin(&mut h);
    let shown = clock.now();
    clock.set(shown + time::Duration::seconds(59));
    h.step();
    assert!(verdict(screen(&h)).is_some(), "still shown after 59 s");
    clock.set(shown + time::Duration::seconds(60));
    h.step();
    h.step();
    assert!(matches!(screen(&h), Screen::Idle), "{:?}", screen(&h));
    // No patient data on the unattended screen; the card left behind is asked for.
    assert!(h.query_by_label("山田 花子").is_none());
    assert!(h.query_by_label("窓口負担 3割").is_none());
    h.get_by_label("カードをお取りください");
}

/// The primary buttons of each main screen lie inside a 1366×698 and a 1024×768 window
/// (the demo card panel beside them, as in demo mode).
#[test]
fn every_main_screen_keeps_its_primary_buttons_in_the_window() {
    use onshi_desk::app::state::Action;
    let mut h = harness();
    let check = |h: &mut Harness<'_, DeskApp>, what: &str, labels: &[&str]| {
        for size in SIZES {
            resize(h, size);
            inside(h, size, what, labels);
        }
    };
    check(
        &mut h,
        "waiting",
        &[
            "資格確認書・お知らせ等",
            "保険証番号で確認",
            "受付記録",
            "設定(職員用)",
        ],
    );
    // The PIN keypad after a wrong PIN: the notice, the keypad and every way out in view.
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| identity_mode(s).is_some());
    type_digits(&mut h, "9999");
    tap(&mut h, "決定");
    until(
        &mut h,
        "the keypad again",
        |s| matches!(screen_notice(s), Some(n) if n.contains("あと2回")),
    );
    check(
        &mut h,
        "the PIN keypad after a wrong PIN",
        &[
            "暗証番号が違います。あと2回間違えるとロックされます。",
            "1",
            "0",
            "決定",
            "暗証番号を忘れた・顔認証カード",
            "やめる",
        ],
    );
    type_digits(&mut h, "8888");
    tap(&mut h, "決定");
    until(&mut h, "the last-try warning", |s| {
        matches!(identity_mode(s), Some(IdentityMode::LastTryWarning))
    });
    check(
        &mut h,
        "the last-try warning",
        &["職員が目視で確認する", "最後の1回を入力する", "やめる"],
    );
    tap(&mut h, "職員が目視で確認する");
    check(
        &mut h,
        "the facility passcode",
        &["1", "0", "目視確認へ進む", "やめる"],
    );
    type_digits(&mut h, "0000");
    tap(&mut h, "目視確認へ進む");
    check(
        &mut h,
        "the visual check",
        &["本人と確認しました", "確認できない・やめる"],
    );
    tap(&mut h, "本人と確認しました");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    check(&mut h, "a valid result", &["資格確認: 有効", "受付完了"]);
    tap(&mut h, "受付完了");
    check_visually(&mut h, "small-cert");
    check(
        &mut h,
        "an invalid result",
        &["資格: 無効", "他の方法で資格を確認", "はじめに戻る"],
    );
    tap(&mut h, "他の方法で資格を確認");
    check(&mut h, "the claim path", &["この番号で請求する", "やめる"]);
    tap(&mut h, "やめる");
    act(&mut h, Action::OpenNumbers);
    tap(&mut h, "オンラインで確認");
    check(
        &mut h,
        "the numbers form with problems",
        &["オンラインで確認", "戻る"],
    );
    tap(&mut h, "戻る");
    tap(&mut h, "設定(職員用)");
    check(
        &mut h,
        "the settings passcode",
        &["1", "0", "設定を開く", "戻る"],
    );
    type_digits(&mut h, "0000");
    tap(&mut h, "設定を開く");
    check(
        &mut h,
        "the settings confirmation",
        &["確かめたので設定を開く", "戻る"],
    );
    tap(&mut h, "確かめたので設定を開く");
    check(&mut h, "the settings", &["保存", "閉じる"]);
    tap(&mut h, "閉じる");
    tap(&mut h, "受付記録");
    until(&mut h, "the history", |s| {
        history(s).is_some_and(|h| h.loading.is_none())
    });
    check(&mut h, "the history", &["閉じる"]);
}

/// A form with problems: each under its field, inside the window, the first in view.
#[test]
fn numbers_problems_appear_under_their_fields_and_the_first_is_in_view() {
    use onshi_desk::app::state::{Action, NumbersForm};
    for size in SIZES {
        let mut h = harness();
        resize(&mut h, size);
        act(&mut h, Action::OpenNumbers);
        // Panels are sized on the first frame, laid out on the next.
        h.step();
        let button = h.get_by_label("オンラインで確認").rect();
        // Only the birth date (the last field) is wrong.
        act(
            &mut h,
            Action::EditNumbers(NumbersForm {
                insurer: "01130012".into(),
                symbol: "5012345".into(),
                number: "1024".into(),
                branch: "00".into(),
                birth: "あした".into(),
                problems: Vec::new(),
            }),
        );
        tap(&mut h, "オンラインで確認");
        // The problems are drawn, the first is scrolled to, the scroll shows.
        for _ in 0..3 {
            h.step();
        }
        let problem = match screen(&h) {
            Screen::Numbers(f) => f.problems.first().cloned().expect("a problem"),
            other => panic!("{other:?}"),
        };
        assert_eq!(problem.0, "birth");
        let window = egui::Rect::from_min_size(egui::Pos2::ZERO, size);
        let message = h.get_by_label(&problem.1).rect();
        let field = h.get_by_label("生年月日(例 19800401 / S55.4.1)").rect();
        assert!(
            window.contains_rect(message) && message.bottom() <= button.top(),
            "at {size:?}: the problem at {message:?}, the button at {button:?}"
        );
        assert!(message.top() > field.bottom(), "under its field");
        assert_eq!(
            h.get_by_label("オンラインで確認").rect(),
            button,
            "the button did not move"
        );
    }
}

/// The common case, counted: a valid card with its PIN, from the card placed to 受付完了.
#[test]
fn the_common_case_takes_six_taps_after_the_card_is_placed() {
    let mut h = harness();
    let mut taps = 0;
    let mut tap_counted = |h: &mut Harness<'_, DeskApp>, label: &str| {
        taps += 1;
        tap(h, label);
    };
    place(&mut h, "valid");
    until(&mut h, "the PIN keypad", |s| identity_mode(s).is_some());
    for d in ["1", "2", "3", "4"] {
        tap_counted(&mut h, d);
    }
    tap_counted(&mut h, "決定");
    until(&mut h, "the verdict", |s| verdict(s).is_some());
    tap_counted(&mut h, "受付完了");
    assert!(matches!(screen(&h), Screen::Idle));
    assert_eq!(taps, 6);
}

/// The self-declaration form at 1024×768: a problem under its field, in the window, in view.
#[test]
fn declaration_problems_appear_under_their_fields_inside_the_window() {
    use onshi_desk::app::claim_flow::{ClaimStage, DeclarationForm};
    use onshi_desk::app::state::Action;
    let size = egui::vec2(1024.0, 768.0);
    let mut h = harness();
    resize(&mut h, size);
    check_visually(&mut h, "pin-blocked");
    tap(&mut h, "他の方法で資格を確認");
    tap(&mut h, "申立書を記入する");
    act(
        &mut h,
        Action::EditDeclaration(DeclarationForm {
            name: "中村 由美".into(),
            phone: "075-abc".into(),
            ..DeclarationForm::default()
        }),
    );
    h.step();
    let button = h.get_by_label("確認画面へ").rect();
    tap(&mut h, "確認画面へ");
    for _ in 0..3 {
        h.step();
    }
    let message = match claim(screen(&h)).map(|f| &f.stage) {
        Some(ClaimStage::Declaration(f)) => f
            .problems
            .iter()
            .find(|(field, _)| field == "phone")
            .map(|(_, m)| m.clone())
            .expect("a phone problem"),
        other => panic!("{other:?}"),
    };
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, size);
    let problem = h.get_by_label(&message).rect();
    let label = h.get_by_label("電話番号").rect();
    assert!(
        window.contains_rect(problem) && problem.bottom() <= button.top(),
        "the problem at {problem:?}, the button at {button:?}"
    );
    assert!(problem.top() > label.bottom(), "under its field");
    assert_eq!(
        h.get_by_label("確認画面へ").rect(),
        button,
        "the button stays"
    );
}

/// Settings with several mistakes: every problem at once, in Japanese words, in view.
#[test]
fn settings_list_every_problem_at_once_in_view() {
    use onshi_desk::app::state::Action;
    let size = egui::vec2(1024.0, 768.0);
    let dir = tempfile::tempdir().expect("tmp");
    let mut h = harness_in(dir.path());
    resize(&mut h, size);
    tap(&mut h, "設定(職員用)");
    type_digits(&mut h, "0000");
    tap(&mut h, "設定を開く");
    // The demo has no settings passcode of its own: the facility passcode, then a confirmation.
    tap(&mut h, "確かめたので設定を開く");
    let mut form = match screen(&h) {
        Screen::Settings(s) => s.form.clone(),
        other => panic!("{other:?}"),
    };
    form.url = "http://127.0.0.1:9/".into();
    form.timeout_ms = "0".into();
    form.scale = "5".into();
    form.result_timeout_s = "5".into();
    act(&mut h, Action::EditSettings(Box::new(form)));
    // The clerk is at the bottom of the form when saving.
    for _ in 0..8 {
        h.get_by_label("新しい施設パスコード(変更時のみ)")
            .scroll_down();
        h.step();
    }
    tap(&mut h, "保存");
    for _ in 0..3 {
        h.step();
    }
    let problems = match screen(&h) {
        Screen::Settings(s) => match &s.form.outcome {
            Some(Err(p)) => p.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert_eq!(problems.lines().count(), 4, "{problems}");
    for key in ["endpoint", "timeout_ms", "desk.", "result_timeout"] {
        assert!(!problems.contains(key), "{key}: {problems}");
    }
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, size);
    let shown = h.get_by_label(&problems).rect();
    let save = h.get_by_label("保存").rect();
    assert!(
        window.contains_rect(shown) && shown.bottom() <= save.top(),
        "the problems at {shown:?}, 保存 at {save:?}"
    );
}
