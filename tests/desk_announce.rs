//! The desk announces every check (issue 14, "face"): each check made at the desk — by card
//! (PIN or visual) or by numbers, valid or not — is handed to the result sink once it is
//! recorded, and the file the sink names is recorded on the check; an outage is announced only
//! when 事後確認 settles it; a failing or hanging sink never changes what the desk shows or
//! records. Driven through the UI on the demo backends (virtual cards, the mock service over
//! mutual TLS on loopback) with a recording sink in place of the receipt computer's writer.

mod common;
mod desk_harness;

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use desk_harness::*;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use onshi_desk::app::state::{Action, Asked, IdentityMode, NumbersForm, Screen};
use onshi_desk::app::{AppOptions, DeskApp, RunningBuilder};
use onshi_desk::check::{FinishedCheck, QualificationService, Reconfirmer, ResultSink};
use onshi_desk::domain::search::{Challenge, Search};
use onshi_desk::domain::verdict::{NextStep, Qualification, Verdict};
use onshi_desk::domain::{InsurerNumber, VerdictKind};
use onshi_desk::journal::{CheckId, JournalReader};
use time::Date;

/// What the sink was given for one check, with everything it was given written out.
#[derive(Clone, Debug)]
struct Seen {
    id: CheckId,
    by_card: bool,
    on: Date,
    verdict: VerdictKind,
    text: String,
}

/// Keeps what it is given and names `face-<id>.xml`; or fails; or waits to be released.
#[derive(Default)]
struct Recording {
    seen: Mutex<Vec<Seen>>,
    fail: bool,
    gate: Option<Mutex<mpsc::Receiver<()>>>,
}

impl Recording {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    fn ids(&self) -> Vec<CheckId> {
        self.seen().iter().map(|s| s.id).collect()
    }
}

impl ResultSink for Recording {
    fn announce(&self, check: &FinishedCheck<'_>) -> Result<Option<String>, String> {
        if let Some(gate) = &self.gate {
            let _ = gate.lock().expect("lock").recv();
        }
        let text = format!(
            "{check:?}\n{}",
            serde_json::to_string(check.verdict).expect("JSON")
        );
        self.seen.lock().expect("lock").push(Seen {
            id: check.id,
            by_card: check.by_card,
            on: check.on,
            verdict: check.verdict.kind,
            text,
        });
        if self.fail {
            return Err("test: the share is not reachable".into());
        }
        Ok(Some(format!("face-{}.xml", check.id.0)))
    }
}

/// A desk on the demo backends (journal and printouts under `dir`) announcing to `sink`.
fn desk_with(dir: &std::path::Path, sink: Arc<dyn ResultSink>) -> Harness<'static, DeskApp> {
    onshi_desk::import::sandbox::use_reader_program(env!("CARGO_BIN_EXE_onshi-desk"));
    let mut env = onshi_desk::app::demo::DemoEnv::start_with_pki(&common::pki_dir(), dir)
        .expect("demo environment");
    env.printer = Some("onshi-test-no-such-queue".into());
    let clock = Arc::new(onshi_desk::clock::FixedClock::on(common::AS_OF));
    let mut running = RunningBuilder::demo(clock, env)
        .with_sink(sink)
        .build(&egui::Context::default());
    running.desk.preferred_reader = Some(onshi_desk::app::demo::DEMO_READER.to_owned());
    let app = DeskApp::from_running(
        running,
        AppOptions {
            fixed_today: Some(common::AS_OF),
            ..Default::default()
        },
    );
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 1400.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.show(ui), app);
    h.step();
    h
}

fn journal_path(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("journal.sqlite3")
}

fn recorded(h: &Harness<'_, DeskApp>) -> CheckId {
    match screen(h) {
        Screen::Result(r) => r.recorded.clone().expect("recorded"),
        other => panic!("{other:?}"),
    }
}

/// Waits (at most 30 s) until `done` holds.
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "waited in vain for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The result file recorded on check `id`.
fn interop_file(dir: &std::path::Path, id: CheckId) -> Option<String> {
    JournalReader::open(&journal_path(dir))
        .and_then(|r| r.get(id))
        .expect("the check's record")
        .interop_file
}

/// Waits until check `id` was announced and its file recorded; returns what the sink saw.
fn announced(dir: &std::path::Path, sink: &Recording, id: CheckId) -> Seen {
    wait_for("the result file recorded", || {
        interop_file(dir, id).is_some()
    });
    assert_eq!(interop_file(dir, id), Some(format!("face-{}.xml", id.0)));
    let seen: Vec<Seen> = sink.seen().into_iter().filter(|s| s.id == id).collect();
    assert_eq!(seen.len(), 1, "announced once: {seen:?}");
    seen.into_iter().next().expect("one")
}

/// The card's certificate never reaches the sink (its serial, its DER bytes in hex or as a
/// list), nor anything named like it.
fn assert_no_certificate(h: &Harness<'_, DeskApp>, seen: &Seen) {
    let Screen::Result(r) = screen(h) else {
        panic!("{:?}", screen(h))
    };
    let Some(Asked::Card { read, .. }) = &r.asked else {
        panic!("not by card: {:?}", r.asked)
    };
    let text = seen.text.to_lowercase();
    let serial = read.certificate.serial.hex().to_lowercase();
    assert!(!text.contains(&serial), "serial {serial} in {text}");
    let der = read.certificate.der();
    let hex: String = der[..32].iter().map(|b| format!("{b:02x}")).collect();
    assert!(!text.contains(&hex), "{text}");
    let list = format!("{:?}", &der[..24]);
    assert!(!text.contains(list.trim_matches(['[', ']'])), "{text}");
    assert!(!text.contains("certificate"), "{text}");
}

fn check_by_pin(h: &mut Harness<'_, DeskApp>, persona: &str, pin: &str) {
    place(h, persona);
    until(h, "the PIN keypad", |s| {
        matches!(identity_mode(s), Some(IdentityMode::Pin { .. }))
    });
    type_digits(h, pin);
    tap(h, "決定");
    until(h, "the verdict", |s| verdict(s).is_some());
}

fn check_by_numbers(h: &mut Harness<'_, DeskApp>, number: &str, birth: &str) {
    tap(h, "保険証番号で確認");
    act(
        h,
        Action::EditNumbers(NumbersForm {
            insurer: "01130012".into(),
            symbol: "5012345".into(),
            number: number.into(),
            branch: "00".into(),
            birth: birth.into(),
            problems: Vec::new(),
        }),
    );
    tap(h, "オンラインで確認");
    until(h, "the verdict", |s| verdict(s).is_some());
}

/// One card check through the UI: announced once, by card, for the visit date, with the
/// verdict the desk shows; its file recorded; never the certificate.
fn card_check_is_announced(how: impl FnOnce(&mut Harness<'_, DeskApp>), expected: VerdictKind) {
    let dir = test_dir();
    let sink = Arc::new(Recording::default());
    let mut h = desk_with(&dir, sink.clone());
    how(&mut h);
    assert_eq!(verdict(screen(&h)), Some(expected));
    let id = recorded(&h);
    let seen = announced(&dir, &sink, id);
    assert!(seen.by_card);
    assert_eq!(seen.on, common::AS_OF);
    assert_eq!(seen.verdict, expected);
    assert_no_certificate(&h, &seen);
}

#[test]
fn a_visual_card_check_is_announced_and_its_file_recorded() {
    card_check_is_announced(|h| check_visually(h, "valid"), VerdictKind::Valid);
}

#[test]
fn a_pin_card_check_is_announced_without_the_certificate() {
    // The valid card's PIN (mock-server's persona table).
    card_check_is_announced(|h| check_by_pin(h, "valid", "1234"), VerdictKind::Valid);
}

/// 無効 is announced like a valid answer: the receipt computer hears of every patient checked.
#[test]
fn an_invalid_card_is_announced() {
    card_check_is_announced(|h| check_visually(h, "small-cert"), VerdictKind::Invalid);
}

/// 該当なし too.
#[test]
fn no_record_is_announced() {
    card_check_is_announced(|h| check_visually(h, "pin-blocked"), VerdictKind::NoRecord);
}

#[test]
fn a_check_by_numbers_is_announced_as_not_by_card() {
    let dir = test_dir();
    let sink = Arc::new(Recording::default());
    let mut h = desk_with(&dir, sink.clone());
    check_by_numbers(&mut h, "1024", "1980-04-01");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
    let seen = announced(&dir, &sink, recorded(&h));
    assert!(!seen.by_card);
    assert_eq!(seen.on, common::AS_OF);
    assert_eq!(seen.verdict, VerdictKind::Valid);
}

/// The service answering as valid for whoever is asked about (the outage is over).
struct BackUp;

impl QualificationService for BackUp {
    fn challenge(&self) -> Result<Challenge, Verdict> {
        Err(Verdict::bare(
            VerdictKind::Unreachable,
            NextStep::RetryOrDocuments,
        ))
    }

    fn confirm(&self, _search: &Search, _on: Date) -> Verdict {
        let mut v = Verdict::bare(VerdictKind::Valid, NextStep::ClaimNormally);
        v.validity = Some(1);
        v.qualifications = vec![Qualification {
            insurer_number: InsurerNumber::parse("01130012").ok(),
            symbol: Some("5012345".into()),
            number: Some("1024".into()),
            branch: Some("00".into()),
            ..Qualification::default()
        }];
        v
    }
}

/// システムエラー at the desk: nothing for the receipt computer then (a check announced later
/// arrives alone: the announcements keep their order); announced, by card, once 事後確認
/// settles it.
#[test]
fn an_outage_is_announced_only_when_reconfirmation_settles_it() {
    let dir = test_dir();
    let sink = Arc::new(Recording::default());
    let mut h = desk_with(&dir, sink.clone());
    check_visually(&mut h, "system-error");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::ServerError));
    let outage = recorded(&h);
    tap(&mut h, "はじめに戻る");
    check_by_numbers(&mut h, "1024", "1980-04-01");
    let next = recorded(&h);
    announced(&dir, &sink, next);
    assert_eq!(sink.ids(), vec![next], "the outage was not announced");
    assert_eq!(interop_file(&dir, outage), None);

    let journal = onshi_desk::journal::Journal::open(&journal_path(&dir)).expect("journal");
    let report = Reconfirmer::new(journal, BackUp)
        .with_sink(sink.clone())
        .run_once(time::OffsetDateTime::now_utc(), true)
        .expect("round");
    assert_eq!(report.reconfirmed + report.conflicts, 1, "{report:?}");
    let seen = announced(&dir, &sink, outage);
    assert!(seen.by_card, "as the check was made");
    assert_eq!(seen.on, common::AS_OF, "for the visit date");
    assert_eq!(seen.verdict, VerdictKind::Valid);
    assert!(!seen.text.contains("certificate"), "{}", seen.text);
    assert_eq!(sink.ids(), vec![next, outage]);
}

/// 複数該当: the check is announced (with every candidate, as the service answered); staff's
/// choice is journaled, not announced again.
#[test]
fn several_qualifications_are_announced_once_whatever_is_chosen() {
    let dir = test_dir();
    let sink = Arc::new(Recording::default());
    let mut h = desk_with(&dir, sink.clone());
    check_visually(&mut h, "face-auth");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Several));
    let several = recorded(&h);
    let seen = announced(&dir, &sink, several);
    assert_eq!(seen.verdict, VerdictKind::Several);
    tap(&mut h, "候補 2 で受付");
    until(
        &mut h,
        "the choice recorded",
        |s| matches!(s, Screen::Result(r) if r.choice.as_ref().is_some_and(|c| c.recorded.is_some())),
    );
    tap(&mut h, "受付完了");
    check_by_numbers(&mut h, "1024", "1980-04-01");
    let next = recorded(&h);
    announced(&dir, &sink, next);
    assert_eq!(sink.ids(), vec![several, next]);
}

/// Log lines written while this test binary runs (the announcing thread logs its failures).
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .try_init();
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A receipt computer that cannot be reached: the check is recorded and shown as usual, the
/// failure logged, and the record names no result file.
#[test]
fn a_failing_sink_leaves_the_check_recorded_and_shown_without_a_file() {
    let logs = logs();
    let dir = test_dir();
    let sink = Arc::new(Recording {
        fail: true,
        ..Recording::default()
    });
    let mut h = desk_with(&dir, sink.clone());
    check_visually(&mut h, "valid");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
    h.get_by_label("窓口負担 3割");
    let id = recorded(&h);
    wait_for("the failure logged", || {
        String::from_utf8_lossy(&logs.lock().expect("lock"))
            .lines()
            .any(|l| {
                l.contains("check not announced to the receipt computer")
                    && l.contains("test: the share is not reachable")
            })
    });
    assert_eq!(sink.ids(), vec![id], "it was tried");
    assert_eq!(interop_file(&dir, id), None);
    let record = JournalReader::open(&journal_path(&dir))
        .and_then(|r| r.get(id))
        .expect("recorded");
    assert_eq!(record.verdict, Some(VerdictKind::Valid));
}

/// A share that hangs: the verdict reaches the screen while the sink is still blocked, and the
/// file is recorded once the share answers.
#[test]
fn a_hanging_sink_does_not_hold_up_the_verdict() {
    let dir = test_dir();
    let (release, gate) = mpsc::channel();
    let sink = Arc::new(Recording {
        gate: Some(Mutex::new(gate)),
        ..Recording::default()
    });
    let mut h = desk_with(&dir, sink.clone());
    check_visually(&mut h, "valid");
    assert_eq!(verdict(screen(&h)), Some(VerdictKind::Valid));
    let id = recorded(&h);
    assert!(sink.seen().is_empty(), "the sink is still blocked");
    assert_eq!(interop_file(&dir, id), None);
    release.send(()).expect("release");
    let seen = announced(&dir, &sink, id);
    assert_eq!(seen.verdict, VerdictKind::Valid);
}
