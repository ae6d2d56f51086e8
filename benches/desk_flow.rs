//! Card on the reader → verdict on the desk, through the app's own state and workers.
//!
//! Run with `cargo bench --bench desk_flow` (release). Under `cargo test --all-targets` it
//! does one round as a smoke test. The demo reader (virtual card in process) and the embedded
//! mock service over mutual TLS on loopback stand in for the hardware and the network, so the
//! figure is the desk's own cost: reading the certificate and the PIN counter, the TLS
//! round trip(s), interpreting the answer, and the state changes that put it on screen (the
//! frame that draws it adds a few milliseconds, see the README). Reported: the visual-check
//! path (read → confirm → verdict) and the PIN path (read → challenge → VERIFY + SIGN on the
//! card → confirm → verdict), each from the card being placed.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use onshi_desk::app::demo::{DemoEnv, DEMO_CARDS, DEMO_READER};
use onshi_desk::app::state::{Action, Screen};
use onshi_desk::app::DeskApp;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let rounds = if bench { 200 } else { 1 };
    let dir = std::env::temp_dir();
    let env = DemoEnv::start_with_pki(&common::pki_dir(), &dir).expect("demo environment");
    let clock = std::sync::Arc::new(onshi_desk::clock::FixedClock::on(common::AS_OF));
    let mut running = DeskApp::demo_running(&egui::Context::default(), env, clock);
    running.desk.preferred_reader = Some(DEMO_READER.to_owned());
    let card = DEMO_CARDS
        .iter()
        .find(|c| c.persona == Some("valid"))
        .expect("valid card");

    let pump = |running: &mut onshi_desk::app::Running, until: &dyn Fn(&Screen) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !until(&running.desk.screen) {
            assert!(
                Instant::now() < deadline,
                "stuck at {:?}",
                running.desk.screen
            );
            for e in running.backend.wait(Duration::from_millis(50)) {
                running.desk.handle(e);
            }
            for r in running.desk.take_requests() {
                running.backend.submit(r);
            }
        }
    };
    let identity = |s: &Screen| matches!(s, Screen::Identity(_));
    let result = |s: &Screen| matches!(s, Screen::Result(_));

    let mut visual = Vec::new();
    let mut pin = Vec::new();
    for _ in 0..rounds {
        for with_pin in [false, true] {
            let demo = running.demo.as_ref().expect("demo");
            demo.reader.remove();
            pump(&mut running, &|s| matches!(s, Screen::Idle));
            let started = Instant::now();
            running
                .demo
                .as_ref()
                .expect("demo")
                .place(card)
                .expect("place");
            pump(&mut running, &identity);
            if with_pin {
                for d in "1234".chars() {
                    running.desk.act(Action::KeypadDigit(d));
                }
                running.desk.act(Action::SubmitPin);
            } else {
                // Staff confirm at once; the passcode is typed before the card in practice.
                running.desk.act(Action::StartVisualCheck);
                for d in "0000".chars() {
                    running.desk.act(Action::KeypadDigit(d));
                }
                running.desk.act(Action::SubmitPasscode);
                running.desk.act(Action::ConfirmVisual);
            }
            for r in running.desk.take_requests() {
                running.backend.submit(r);
            }
            pump(&mut running, &result);
            let elapsed = started.elapsed();
            if let Screen::Result(r) = &running.desk.screen {
                assert_eq!(r.verdict.kind, onshi_desk::domain::VerdictKind::Valid);
            }
            if with_pin { &mut pin } else { &mut visual }.push(elapsed);
            running.desk.act(Action::Done);
        }
    }
    let report = |name: &str, t: &mut Vec<Duration>| {
        t.sort();
        let at = |p: f64| t[((t.len() as f64 - 1.0) * p).round() as usize];
        println!(
            "{name:<28} median {:>7.2} ms   p90 {:>7.2} ms   max {:>7.2} ms",
            at(0.5).as_secs_f64() * 1e3,
            at(0.9).as_secs_f64() * 1e3,
            at(1.0).as_secs_f64() * 1e3
        );
    };
    println!(
        "card placed → verdict on the desk, {rounds} rounds{}",
        if bench {
            ""
        } else {
            " (smoke run; use `cargo bench`)"
        }
    );
    report("visual check", &mut visual);
    report("PIN (VERIFY + SIGN on card)", &mut pin);
}
