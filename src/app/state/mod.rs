//! The desk's state, apart from drawing: which screen, what is known, what to ask the workers.
//!
//! Everything here is plain data and plain functions. The screens (`super::screens`) read a
//! [`Desk`] and report what the clerk or patient did as [`Action`]s; the workers
//! (`super::backend`) report what happened as [`Event`]s (see `super::messages`); both go
//! through [`Desk::act`] and [`Desk::handle`], which change the screen and queue [`Request`]s
//! for the workers. No egui, no threads; the date comes from the injected clock and is read
//! when each request is made. Tests drive it directly, and the UI tests drive it through egui.
//!
//! One module per screen (as `super::screens`): `waiting` (idle and the readers), `identity`,
//! `result`, `numbers`, `claim`, `history`, `settings`, `problem`. This module
//! keeps the [`Screen`] and [`Action`] enums, the [`Desk`] and its two entry points.
//!
//! Jobs carry an id. Cancelling a query does not stop the network call (the client's own
//! timeout bounds it); the desk simply stops waiting, and a late answer for an old job is
//! ignored, so a cancelled or abandoned check can never overwrite the current patient's screen.

mod claim;
mod history;
mod identity;
mod numbers;
mod passcode;
mod problem;
mod result;
mod settings;
mod waiting;

use time::Date;

pub use self::history::{HistoryScreen, HISTORY_PAGE};
pub use self::identity::{IdentityMode, IdentityScreen};
pub use self::numbers::NumbersForm;
pub use self::passcode::{PasscodeGuard, PasscodeOutcome};
pub use self::problem::ScreenProblem;
pub use self::result::ResultScreen;
pub use self::settings::SettingsScreen;
use super::claim_flow::{ClaimFlow, ClaimStage, DeclarationForm, EvidenceForm};
use super::messages::{Digits, JobId};
use super::messages::{Event, Request};
use super::settings::SettingsForm;
use crate::card::ReaderInfo;
use crate::check::CardRead;
use crate::clock::SharedClock;
use crate::domain::claim::declaration::Facility;
use crate::journal::CheckId;

#[derive(Clone, Debug)]
pub enum Screen {
    /// Waiting for a card: 「マイナ保険証をカードリーダーに置いてください」.
    Idle,
    /// Reading the certificate and the PIN counter.
    Reading {
        job: JobId,
        reader: String,
    },
    Identity(Box<IdentityScreen>),
    /// Asking the service; by card, the card read (to go back to the keypad when the card
    /// refuses the PIN) and whether a PIN was used.
    Querying {
        job: JobId,
        card: Option<Box<CardRead>>,
        pin: bool,
    },
    Result(Box<ResultScreen>),
    Numbers(NumbersForm),
    /// The claim path (請求の経路) when the online check gave no usable answer.
    Claim(Box<ClaimFlow>),
    /// Something went wrong with the card or the reader; back to idle from here.
    Problem(ScreenProblem),
    /// Staff settings, behind the settings passcode (or the facility passcode and a
    /// confirmation).
    Settings(Box<SettingsScreen>),
    /// The journal: today's checks, search, the card-use report (受付記録).
    History(Box<HistoryScreen>),
}

/// What the clerk or patient did on screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    KeypadDigit(char),
    KeypadBackspace,
    KeypadClear,
    /// Send the PIN to the card.
    SubmitPin,
    /// Use the last PIN try after the warning.
    UseLastTry,
    /// Staff: switch to visual check (asks for the facility passcode).
    StartVisualCheck,
    /// Staff: the patient window cannot be used (a display off or unplugged): the PIN keypad
    /// moves to the clerk's window for this card.
    PinKeypadHere,
    SubmitPasscode,
    /// Staff confirmed the patient against the card's photo.
    ConfirmVisual,
    /// Leave the current step (cancel a query, abandon the card, close a result).
    Cancel,
    /// Back to the waiting screen.
    Done,
    OpenNumbers,
    EditNumbers(NumbersForm),
    SubmitNumbers,
    /// Check the card on `reader` again (the demo and a "retry" button).
    ReadCard(String),
    /// Open the claim path: after the result shown, or without a card.
    OpenClaim,
    EditEvidence(EvidenceForm),
    AddEvidence,
    /// Re-check the evidence's numbers online by number (個別照会).
    Reconfirm,
    /// Step ③: open the self-declaration form.
    StartDeclaration,
    EditDeclaration(DeclarationForm),
    /// Check the declaration and show the preview.
    PreviewDeclaration,
    /// Back from the preview to the form.
    BackToDeclaration,
    /// Write the PDF, keep it, print it.
    PrintDeclaration,
    /// Print the kept PDF again.
    Reprint,
    /// Steps ①/②: the claim numbers are settled; show the receipt header.
    FinishClaim,
    /// Read the マイナポータル PDF at this path into the evidence form.
    ImportPortalPdf(std::path::PathBuf),
    EditPdfPath(String),
    /// Staff: open the settings (asks for the settings passcode first).
    OpenSettings,
    /// Staff: open the settings after the facility passcode, when no separate settings
    /// passcode is set (the confirmation step).
    ConfirmSettings,
    EditSettings(Box<SettingsForm>),
    SaveSettings,
    /// Staff: the journal (受付記録).
    OpenHistory,
    EditHistoryQuery(String),
    SearchHistory,
    /// Load the next page of the same search (さらに表示).
    MoreHistory,
    SelectRecord(CheckId),
    /// Print a recorded printout again.
    ReprintRecord(std::path::PathBuf),
    /// Continue the claim path of a recorded check.
    ReopenRecord(CheckId),
    /// Staff: the conflict of a recorded check was settled (対応済みにする).
    ResolveRecord(CheckId),
    /// Staff: save the month-end reports (unknown / open checks of this month, the card-use
    /// rate) as CSV files for the claim run.
    ExportReports {
        year: i32,
        month: time::Month,
    },
}

/// Checks the facility passcode typed for visual-check mode (stored hashed, see config).
pub trait PasscodeCheck: Send {
    fn matches(&self, typed: &str) -> bool;
}

impl<F: Fn(&str) -> bool + Send> PasscodeCheck for F {
    fn matches(&self, typed: &str) -> bool {
        self(typed)
    }
}

/// The whole desk state.
pub struct Desk {
    pub screen: Screen,
    /// Where the date comes from: read when each piece of work starts, never kept.
    clock: SharedClock,
    /// Each reader source's last report.
    sources: std::collections::BTreeMap<usize, Result<Vec<ReaderInfo>, String>>,
    /// The reader to use when several have cards (configured), else the first with a card.
    pub preferred_reader: Option<String>,
    /// The facility printed on the self-declaration.
    pub facility: Facility,
    /// The configuration in use (prefills the settings), and where settings are saved.
    pub config: Option<crate::config::Config>,
    pub config_path: std::path::PathBuf,
    passcode: Box<dyn PasscodeCheck>,
    /// Wrong staff passcodes in a row and the wait they cost, for every passcode keypad.
    passcode_guard: PasscodeGuard,
    /// A patient window (お客様用画面) shows the PIN keypad: the clerk's identity screen then
    /// shows only how many digits were typed (`[desk] patient_display`).
    pub patient_display: bool,
    /// The clerk moved the PIN keypad to their window for the card being checked.
    keypad_here: bool,
    outbox: Vec<Request>,
    next_job: JobId,
}

impl Desk {
    pub fn new(clock: SharedClock, passcode: Box<dyn PasscodeCheck>) -> Desk {
        Desk {
            screen: Screen::Idle,
            clock,
            sources: Default::default(),
            preferred_reader: None,
            facility: Facility {
                name: String::new(),
                code: String::new(),
            },
            config: None,
            config_path: crate::config::default_path(),
            passcode,
            passcode_guard: PasscodeGuard::default(),
            patient_display: false,
            keypad_here: false,
            outbox: Vec::new(),
            next_job: 1,
        }
    }

    /// The day the checks are for now (the visit date in Japan), read from the clock.
    pub fn today(&self) -> Date {
        self.clock.today_jst()
    }

    /// The whole seconds left before a staff passcode may be tried again, after wrong tries
    /// (「あと N 秒お待ちください」); read from the clock.
    pub fn passcode_wait(&self) -> Option<u64> {
        self.passcode_guard.wait(self.clock.now())
    }

    /// The waits after wrong staff passcodes (`[desk] passcode_delays_s`); the count so far
    /// starts again.
    pub fn set_passcode_delays(&mut self, delays_s: Vec<u32>) {
        self.passcode_guard = PasscodeGuard::new(delays_s);
    }

    /// Whether the PIN keypad is on the patient window (and not on the clerk's): a patient
    /// window is configured and the clerk has not moved the keypad for this card.
    pub fn pin_on_patient_window(&self) -> bool {
        self.patient_display && !self.keypad_here
    }

    /// The requests queued since the last call.
    pub fn take_requests(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.outbox)
    }

    /// Whether the desk is waiting for a worker (the UI shows progress, nothing else moves).
    pub fn busy(&self) -> bool {
        match &self.screen {
            Screen::Reading { .. } | Screen::Querying { .. } => true,
            Screen::Claim(flow) => {
                flow.reconfirming.is_some() || matches!(flow.stage, ClaimStage::Printing { .. })
            }
            _ => false,
        }
    }

    fn job(&mut self) -> JobId {
        let id = self.next_job;
        self.next_job += 1;
        id
    }

    /// A worker's report.
    pub fn handle(&mut self, event: Event) {
        match event {
            Event::Readers { source, readers } => {
                self.sources.insert(source, readers);
            }
            Event::Reader(e) => self.reader_event(e),
            Event::CardRead { job, result } => {
                if !matches!(&self.screen, Screen::Reading { job: j, .. } if *j == job) {
                    return;
                }
                match result {
                    Ok((read, pin)) => self.identity_screen(read, pin),
                    Err(e) => self.card_problem(&e),
                }
            }
            Event::Confirmed {
                job,
                on,
                expiry,
                result,
                recorded,
            } => {
                if !self.waiting_for(job) {
                    return;
                }
                let Screen::Querying { card, pin, .. } =
                    std::mem::replace(&mut self.screen, Screen::Idle)
                else {
                    return;
                };
                match result {
                    Ok((method, verdict)) => {
                        self.screen = Screen::Result(Box::new(ResultScreen {
                            verdict,
                            card: card.map(|_| (expiry, method)),
                            checked_on: on,
                            recorded,
                        }));
                    }
                    Err(e) => match card {
                        Some(read) if pin => self.pin_refused(*read, e),
                        _ => self.card_problem(&e),
                    },
                }
            }
            Event::Printed {
                job,
                pdf,
                print_problem,
                recorded,
            } => self.printed(job, pdf, print_problem, recorded),
            Event::ClaimRecorded { .. } => self.claim_event(event),
            Event::HistoryLoaded { .. }
            | Event::ReportsExported { .. }
            | Event::RecordResolved { .. } => self.history_event(event),
            Event::PortalPdfRead { .. } => self.claim_event(event),
            Event::SettingsSaved { job, result } => self.settings_saved(job, result),
            Event::NumbersConfirmed {
                job,
                on,
                verdict,
                recorded,
            } => {
                if let Screen::Claim(flow) = &mut self.screen {
                    if flow.reconfirming == Some(job) {
                        flow.reconfirmed(&verdict);
                    }
                    return;
                }
                if !self.waiting_for(job) {
                    return;
                }
                self.screen = Screen::Result(Box::new(ResultScreen {
                    verdict,
                    card: None,
                    checked_on: on,
                    recorded,
                }));
            }
        }
    }

    fn waiting_for(&self, job: JobId) -> bool {
        matches!(&self.screen, Screen::Querying { job: j, .. } if *j == job)
    }

    /// What the clerk or patient did.
    pub fn act(&mut self, action: Action) {
        match action {
            // A card still on the reader is the next patient's only when placed again.
            Action::Done | Action::Cancel => self.screen = Screen::Idle,
            Action::ReadCard(reader) => {
                if !self.busy() {
                    self.read_card(reader);
                }
            }
            Action::OpenNumbers => {
                if !self.busy() {
                    self.screen = Screen::Numbers(NumbersForm::default());
                }
            }
            Action::EditNumbers(form) => {
                if let Screen::Numbers(current) = &mut self.screen {
                    *current = form;
                }
            }
            Action::SubmitNumbers => self.submit_numbers(),
            Action::OpenClaim => {
                let (verdict, check) = match &self.screen {
                    Screen::Result(r) => (Some(r.verdict.clone()), r.recorded.clone().ok()),
                    _ => (None, None),
                };
                if !self.busy() {
                    let mut flow =
                        ClaimFlow::new(self.today(), verdict.as_ref(), self.facility.clone());
                    flow.check = check;
                    self.screen = Screen::Claim(Box::new(flow));
                }
            }
            Action::OpenHistory
            | Action::EditHistoryQuery(_)
            | Action::SearchHistory
            | Action::MoreHistory
            | Action::SelectRecord(_)
            | Action::ReprintRecord(_)
            | Action::ExportReports { .. }
            | Action::ResolveRecord(_)
            | Action::ReopenRecord(_) => self.history_action(action),
            Action::OpenSettings
            | Action::ConfirmSettings
            | Action::EditSettings(_)
            | Action::SaveSettings => self.settings_action(action),
            Action::EditEvidence(_)
            | Action::AddEvidence
            | Action::Reconfirm
            | Action::StartDeclaration
            | Action::EditDeclaration(_)
            | Action::PreviewDeclaration
            | Action::BackToDeclaration
            | Action::PrintDeclaration
            | Action::Reprint
            | Action::FinishClaim
            | Action::ImportPortalPdf(_)
            | Action::EditPdfPath(_) => self.claim_action(action),
            other if matches!(self.screen, Screen::Settings(_)) => self.settings_keypad(other),
            other => self.identity_action(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::{CardError, ReaderEvent};

    fn desk() -> Desk {
        Desk::new(
            std::sync::Arc::new(crate::clock::FixedClock::on(time::macros::date!(
                2026 - 11 - 21
            ))),
            Box::new(|_: &str| false),
        )
    }

    #[test]
    fn a_card_placed_while_waiting_starts_a_read_on_its_reader() {
        let mut d = desk();
        d.handle(Event::Reader(ReaderEvent::CardInserted {
            reader: "R1".into(),
        }));
        assert!(matches!(&d.screen, Screen::Reading { reader, .. } if reader == "R1"));
        assert!(matches!(
            d.take_requests().as_slice(),
            [Request::ReadCard { reader, .. }] if reader == "R1"
        ));
    }

    /// Regression: pcscd not running (demo mode without a PC/SC reader) reported its loss while
    /// the demo reader's card was being read, and the desk gave up on the demo card.
    #[test]
    fn another_sources_lost_service_does_not_interrupt_the_card_in_use() {
        let mut d = desk();
        d.handle(Event::Reader(ReaderEvent::CardInserted {
            reader: "Demo".into(),
        }));
        d.handle(Event::Reader(ReaderEvent::ServiceLost(
            "The Smart card resource manager is not running".into(),
        )));
        assert!(matches!(d.screen, Screen::Reading { .. }), "{:?}", d.screen);
        d.handle(Event::Reader(ReaderEvent::CardRemoved {
            reader: "Demo".into(),
        }));
        assert!(matches!(d.screen, Screen::Problem(_)), "{:?}", d.screen);
    }

    #[test]
    fn a_late_answer_for_an_abandoned_read_is_ignored() {
        let mut d = desk();
        d.handle(Event::Reader(ReaderEvent::CardInserted {
            reader: "R1".into(),
        }));
        let Screen::Reading { job, .. } = d.screen else {
            panic!("{:?}", d.screen)
        };
        d.act(Action::Cancel);
        d.handle(Event::CardRead {
            job,
            result: Err(CardError::CardRemoved),
        });
        assert!(matches!(d.screen, Screen::Idle));
    }

    #[test]
    fn a_card_placed_on_a_problem_screen_is_read_without_a_tap() {
        let mut d = desk();
        d.screen = Screen::Problem(ScreenProblem {
            title: "t".into(),
            message: "m".into(),
            detail: "d".into(),
        });
        d.handle(Event::Reader(ReaderEvent::CardInserted {
            reader: "R1".into(),
        }));
        assert!(matches!(d.screen, Screen::Reading { .. }));
    }

    #[test]
    fn a_preferred_reader_ignores_cards_elsewhere() {
        let mut d = desk();
        d.preferred_reader = Some("Demo".into());
        d.handle(Event::Reader(ReaderEvent::CardInserted {
            reader: "Other".into(),
        }));
        assert!(matches!(d.screen, Screen::Idle));
    }

    /// A desk left running past midnight: each request carries the date read when it is made,
    /// and a claim path begun before midnight keeps its visit date for what it asks.
    #[test]
    fn each_request_carries_the_date_it_was_made_on() {
        use time::macros::{date, datetime};
        let clock = crate::clock::FixedClock::shared_at(datetime!(2026-11-21 23:59 +9));
        let mut d = Desk::new(clock.clone(), Box::new(|_: &str| false));
        d.act(Action::OpenClaim);
        let visit = match &d.screen {
            Screen::Claim(flow) => flow.on,
            other => panic!("{other:?}"),
        };
        assert_eq!(visit, date!(2026 - 11 - 21));
        clock.set(datetime!(2026-11-22 00:01 +9));
        assert_eq!(d.today(), date!(2026 - 11 - 22));
        assert!(matches!(&d.screen, Screen::Claim(flow) if flow.on == visit));
        d.act(Action::Done);
        d.handle(Event::Reader(ReaderEvent::CardInserted {
            reader: "R1".into(),
        }));
        assert!(matches!(
            d.take_requests().as_slice(),
            [Request::ReadCard { on, .. }] if *on == date!(2026 - 11 - 22)
        ));
    }
}
