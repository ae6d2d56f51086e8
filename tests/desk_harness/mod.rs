//! The desk app driven through its UI (egui_kittest, no display) for the UI tests: a desk on the
//! demo backends (the in-process demo reader with virtual cards, the mock service over mutual
//! TLS on loopback) with its journal and printouts in a folder of the test's own, and the
//! clerk's gestures (place a card, tap a label, type digits) and views of the screen.
//!
//! A test file that uses it declares `mod common;` and `mod desk_harness;`.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use onshi_desk::app::demo::{DemoCard, DemoEnv, DEMO_CARDS, DEMO_READER};
use onshi_desk::app::state::{IdentityMode, Screen};
use onshi_desk::app::{AppOptions, DeskApp};
use onshi_desk::domain::VerdictKind;

pub fn card(persona: &str) -> &'static DemoCard {
    DEMO_CARDS
        .iter()
        .find(|c| c.persona == Some(persona))
        .expect("demo card")
}

pub fn harness() -> Harness<'static, DeskApp> {
    harness_in(&test_dir())
}

/// A folder of this test's own (journal, printouts), kept under cargo's target tmp dir.
pub fn test_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("app-flows")
        .join(format!("{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test dir");
    dir
}

/// A desk whose printouts and journal go under `dir`, printing to a queue that does not exist
/// (with or without CUPS installed, printing fails and the desk must say so and keep the PDF).
pub fn harness_in(dir: &std::path::Path) -> Harness<'static, DeskApp> {
    harness_with(dir, |_| {})
}

pub fn harness_with(
    dir: &std::path::Path,
    adjust: impl FnOnce(&mut DemoEnv),
) -> Harness<'static, DeskApp> {
    let clock = std::sync::Arc::new(onshi_desk::clock::FixedClock::on(crate::common::AS_OF));
    harness_with_clock(dir, clock, adjust)
}

/// Like [`harness_with`], the desk reading its dates from `clock`.
pub fn harness_with_clock(
    dir: &std::path::Path,
    clock: onshi_desk::clock::SharedClock,
    adjust: impl FnOnce(&mut DemoEnv),
) -> Harness<'static, DeskApp> {
    // The desk reads PDFs in a child process of its own executable; here that is the harness.
    onshi_desk::import::sandbox::use_reader_program(env!("CARGO_BIN_EXE_onshi-desk"));
    let mut env =
        DemoEnv::start_with_pki(&crate::common::pki_dir(), dir).expect("demo environment");
    env.printer = Some("onshi-test-no-such-queue".into());
    adjust(&mut env);
    let mut running = DeskApp::demo_running(&egui::Context::default(), env, clock);
    // Cards other tests put on the PC/SC test readers are not this desk's patients.
    running.desk.preferred_reader = Some(DEMO_READER.to_owned());
    let app = DeskApp::from_running(
        running,
        AppOptions {
            fixed_today: Some(crate::common::AS_OF),
            ..Default::default()
        },
    );
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 1400.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.show(ui), app);
    h.step();
    h
}

pub fn screen<'a>(h: &'a Harness<'_, DeskApp>) -> &'a Screen {
    &h.state().running().expect("running").desk.screen
}

/// Steps the UI until `done` holds (the workers answer asynchronously), at most 30 s.
pub fn until(h: &mut Harness<'_, DeskApp>, what: &str, done: impl Fn(&Screen) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(screen(h)) {
        assert!(
            Instant::now() < deadline,
            "waited in vain for {what}; screen is {:?}",
            screen(h)
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.step();
}

pub fn place(h: &mut Harness<'_, DeskApp>, persona: &str) {
    let demo = h.state().running().and_then(|r| r.demo.as_ref());
    demo.expect("demo env").place(card(persona)).expect("place");
}

pub fn tap(h: &mut Harness<'_, DeskApp>, label: &str) {
    h.get_by_label(label).click();
    h.step();
    h.step();
}

pub fn type_digits(h: &mut Harness<'_, DeskApp>, digits: &str) {
    for d in digits.chars() {
        tap(h, &d.to_string());
    }
}

pub fn identity_mode(s: &Screen) -> Option<&IdentityMode> {
    match s {
        Screen::Identity(i) => Some(&i.mode),
        _ => None,
    }
}

pub fn verdict(s: &Screen) -> Option<VerdictKind> {
    match s {
        Screen::Result(r) => Some(r.verdict.kind),
        _ => None,
    }
}

pub fn act(h: &mut Harness<'_, DeskApp>, action: onshi_desk::app::state::Action) {
    if let Some(r) = h.state_mut().running_mut() {
        r.desk.act(action);
    }
    h.step();
}

pub fn claim(s: &Screen) -> Option<&onshi_desk::app::claim_flow::ClaimFlow> {
    match s {
        Screen::Claim(flow) => Some(flow),
        _ => None,
    }
}

/// Visual check with the demo passcode, up to the verdict.
pub fn check_visually(h: &mut Harness<'_, DeskApp>, persona: &str) {
    place(h, persona);
    until(h, "the identity screen", |s| identity_mode(s).is_some());
    let to_visual = match identity_mode(screen(h)) {
        Some(IdentityMode::Pin { .. }) => "暗証番号を忘れた・顔認証カード",
        _ => "職員が目視で確認する",
    };
    tap(h, to_visual);
    type_digits(h, "0000");
    tap(h, "目視確認へ進む");
    tap(h, "本人と確認しました");
    until(h, "the verdict", |s| verdict(s).is_some());
}

pub fn place_again(
    h: &mut Harness<'_, DeskApp>,
    persona: &str,
    how: impl FnOnce(&mut Harness<'_, DeskApp>),
) {
    how(h);
    until(h, "the removal notice", |s| matches!(s, Screen::Problem(_)));
    tap(h, "はじめに戻る");
    place(h, persona);
    until(h, "the PIN keypad", |s| identity_mode(s).is_some());
}

pub fn screen_notice(s: &Screen) -> Option<&str> {
    match s {
        Screen::Identity(i) => i.notice.as_deref(),
        _ => None,
    }
}

pub fn history(s: &Screen) -> Option<&onshi_desk::app::state::HistoryScreen> {
    match s {
        Screen::History(h) => Some(h),
        _ => None,
    }
}

pub fn history_names(h: &Harness<'_, DeskApp>) -> Vec<String> {
    history(screen(h))
        .map(|h| h.records.iter().filter_map(|r| r.name.clone()).collect())
        .unwrap_or_default()
}

/// Searches the history as the clerk would: type, tap 検索, wait for the answer.
pub fn search_history(h: &mut Harness<'_, DeskApp>, text: &str) {
    act(
        h,
        onshi_desk::app::state::Action::EditHistoryQuery(text.into()),
    );
    tap(h, "検索");
    until(h, "the search", |s| {
        history(s).is_some_and(|h| h.loading.is_none())
    });
}
