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
mod public_expense;
mod result;
mod settings;
mod waiting;

use time::Date;

pub use self::history::{HistoryScreen, HISTORY_PAGE, OTHER_DESK};
pub use self::identity::{IdentityMode, IdentityScreen};
pub use self::numbers::NumbersForm;
pub use self::passcode::{PasscodeGuard, PasscodeOutcome};
pub use self::problem::ScreenProblem;
pub use self::public_expense::{
    printed_cap_ja, validity_ja, PaperExpenseForm, PaperExpenses, PAPER_ADDED,
};
pub use self::result::{Asked, Choice, ResultScreen, PIN_AGAIN_FOR_REQUERY};
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
    /// Reading the certificate and the PIN counter; `next_patient` when the card was placed
    /// while another patient's result was shown (the desk says it closed that result).
    Reading {
        job: JobId,
        reader: String,
        next_patient: bool,
    },
    Identity(Box<IdentityScreen>),
    /// Asking the service; by card, the card read (to go back to the keypad when the card
    /// refuses the PIN) and whether a PIN was used.
    Querying {
        job: JobId,
        card: Option<Box<CardRead>>,
        pin: bool,
        /// By numbers, the search sent (for 再照会).
        search: Option<Box<crate::domain::search::NumberSearch>>,
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
    /// Leave the current step (cancel a query, abandon the card, leave a result or the claim
    /// path unfinished): a recorded check left unfinished is recorded as such (中断).
    Cancel,
    /// 再照会: ask the service again after it failed, with the card already read or the
    /// numbers already typed.
    Requery,
    /// 複数該当: staff chose this candidate (an index into the verdict's records).
    ChooseQualification(usize),
    /// 無効(新しい資格あり): check the new qualification's numbers by number.
    CheckNewerNumbers,
    /// Result screen: open the form 「紙の受給者証を追加」.
    OpenPaperExpense,
    EditPaperExpense(Box<PaperExpenseForm>),
    /// Check the paper 受給者証 typed in and add it to the check (recorded in the journal).
    SubmitPaperExpense,
    CancelPaperExpense,
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
    /// A circumstance no verdict shows (DV, 日雇特例), chosen by the staff; `None` clears it.
    SetCircumstance(Option<crate::domain::claim::Circumstance>),
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
    /// Open the folder where a printout is kept, in the OS's file manager.
    OpenFolder(std::path::PathBuf),
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

/// Said when a card placed while a result was shown is read: the result was another
/// patient's and is closed.
pub const NEXT_PATIENT: &str =
    "新しいカードが置かれました。前の方の結果を閉じて、次の方のカードを読み取りました。";

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
    /// The file manager being started on a printout's folder.
    opening_folder: Option<JobId>,
    /// Queries the clerk cancelled: their late answers are recorded as 中断, never 完了.
    cancelled: Vec<JobId>,
    /// Wrong staff passcodes in a row and the wait they cost, for every passcode keypad.
    passcode_guard: PasscodeGuard,
    /// A patient window (お客様用画面) shows the PIN keypad: the clerk's identity screen then
    /// shows only how many digits were typed (`[desk] patient_display`).
    pub patient_display: bool,
    /// The clerk moved the PIN keypad to their window for the card being checked.
    keypad_here: bool,
    outbox: Vec<Request>,
    next_job: JobId,
    /// How long a result stays on screen unattended (`[desk] result_timeout_s`).
    pub result_timeout: std::time::Duration,
    /// The reader of the card last read (the current or just finished patient's), while the
    /// card is on it.
    card_reader: Option<String>,
    /// A card placed while the desk could not take it (a claim path, the history, another
    /// card in use): read as soon as the desk returns to waiting.
    waiting_card: Option<String>,
    /// The view now shown and since when (see [`Desk::view`]).
    view: (u64, ViewKey, time::OffsetDateTime),
    /// The receipt computer's request-folder watcher, when `[interop]` runs it (its state is
    /// written by the watcher's thread and read when the waiting screen is drawn).
    pub interop: Option<crate::interop::watch::StatusBoard>,
    /// Where the desk stands with the facility's shared journal (`[journal] url`): written by
    /// the journal's writer thread, read when the waiting screen is drawn.
    #[cfg(feature = "shared-journal")]
    pub shared_journal: Option<crate::journal::shared::StatusBoard>,
    /// The facility's 公費 rule table read at start, or why it could not be read
    /// ([`Desk::set_public_expense_table`]); the shipped table until set.
    public_expense_table: Result<
        crate::domain::public_expense::table::BenefitTable,
        crate::domain::public_expense::table::TableError,
    >,
}

/// What makes a view new: another screen, another job, another claim stage or identity step,
/// another verdict.
/// A new view opens at the top (its scroll areas are keyed by [`Desk::view`]) and starts
/// the result's unattended timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ViewKey {
    screen: std::mem::Discriminant<Screen>,
    job: Option<JobId>,
    stage: Option<std::mem::Discriminant<ClaimStage>>,
    mode: Option<std::mem::Discriminant<IdentityMode>>,
    /// The settings' step: (confirming, unlocked).
    settings: Option<(bool, bool)>,
    verdict: Option<(crate::domain::VerdictKind, Option<i64>)>,
}

impl ViewKey {
    fn of(screen: &Screen) -> ViewKey {
        ViewKey {
            screen: std::mem::discriminant(screen),
            job: match screen {
                Screen::Reading { job, .. } | Screen::Querying { job, .. } => Some(*job),
                _ => None,
            },
            stage: match screen {
                Screen::Claim(flow) => Some(std::mem::discriminant(&flow.stage)),
                _ => None,
            },
            mode: match screen {
                Screen::Identity(s) => Some(std::mem::discriminant(&s.mode)),
                _ => None,
            },
            settings: match screen {
                Screen::Settings(s) => Some((s.confirming, s.unlocked)),
                _ => None,
            },
            verdict: match screen {
                Screen::Result(r) => {
                    Some((r.verdict.kind, r.recorded.as_ref().ok().map(|id| id.0)))
                }
                _ => None,
            },
        }
    }
}

impl Desk {
    pub fn new(clock: SharedClock, passcode: Box<dyn PasscodeCheck>) -> Desk {
        Desk {
            screen: Screen::Idle,
            sources: Default::default(),
            preferred_reader: None,
            facility: Facility {
                name: String::new(),
                code: String::new(),
            },
            config: None,
            config_path: crate::config::default_path(),
            passcode,
            opening_folder: None,
            cancelled: Vec::new(),
            passcode_guard: PasscodeGuard::default(),
            patient_display: false,
            keypad_here: false,
            outbox: Vec::new(),
            next_job: 1,
            result_timeout: std::time::Duration::from_secs(crate::config::DEFAULT_RESULT_TIMEOUT_S),
            card_reader: None,
            waiting_card: None,
            view: (0, ViewKey::of(&Screen::Idle), clock.now()),
            clock,
            interop: None,
            #[cfg(feature = "shared-journal")]
            shared_journal: None,
            public_expense_table: Ok(crate::domain::public_expense::table::BenefitTable::builtin()),
        }
    }

    /// The line about the receipt computer's folder on the waiting screen, and whether it is a
    /// trouble staff must see (the share is gone, answers cannot be written): `None` without
    /// a receipt computer.
    pub fn interop_line(&self) -> Option<(String, bool)> {
        use crate::interop::watch::WatchState;
        let status = self.interop.as_ref()?.snapshot();
        let trouble =
            matches!(status.state, WatchState::FolderMissing { .. }) || status.pending > 0;
        Some((status.summary_ja(), trouble))
    }

    /// The line about the facility's shared journal on the waiting screen, while it cannot be
    /// reached or records wait to be sent, and whether it is a trouble (offline) rather than
    /// news (sending): `None` when all is forwarded, or without a shared journal.
    pub fn shared_journal_line(&self) -> Option<(String, bool)> {
        #[cfg(feature = "shared-journal")]
        if let Some(board) = &self.shared_journal {
            let status = board.snapshot();
            return status.desk_message().map(|line| (line, !status.online));
        }
        None
    }

    /// The view shown now: a number that changes with the screen, the patient's job, the
    /// claim stage or the verdict. Screens key their scroll areas by it, so a new screen, a
    /// new patient and a new verdict always open at the top (egui would otherwise keep the
    /// last patient's scroll offset, and the verdict banner could open scrolled out of view).
    pub fn view(&self) -> u64 {
        self.view.0
    }

    /// Notes a change of view after each action and event.
    fn settle_view(&mut self) {
        let key = ViewKey::of(&self.screen);
        if key != self.view.1 {
            self.view = (self.view.0 + 1, key, self.clock.now());
        }
    }

    /// What the clock makes happen (called every frame): an unattended result returns to
    /// waiting after [`Desk::result_timeout`], so patient data does not stay on screen.
    pub fn tick(&mut self) {
        if self.wake_in() == Some(std::time::Duration::ZERO) {
            tracing::info!("result closed after {:?} unattended", self.result_timeout);
            // A result nobody acted on is left unfinished (中断) unless it settled the visit.
            self.leave_unfinished();
            self.settle_view();
        }
    }

    /// How long until [`Desk::tick`] has something to do (the app asks for a repaint then,
    /// so the timeout fires without any input); `None` when nothing is timed.
    pub fn wake_in(&self) -> Option<std::time::Duration> {
        if !matches!(self.screen, Screen::Result(_)) {
            return None;
        }
        let shown = self.clock.now() - self.view.2;
        let left = time::Duration::try_from(self.result_timeout)
            .unwrap_or(time::Duration::MAX)
            .checked_sub(shown)
            .unwrap_or(time::Duration::ZERO);
        Some(std::time::Duration::try_from(left).unwrap_or(std::time::Duration::ZERO))
    }

    /// The finished patient's card still lies on the reader: the waiting screen asks for it
    /// to be taken (カードをお取りください) rather than inviting the next patient.
    pub fn card_to_take(&self) -> Option<&str> {
        match self.screen {
            Screen::Idle => self.card_reader.as_deref(),
            _ => None,
        }
    }

    /// Back to waiting (受付完了, やめる, the result's timeout): a card placed meanwhile by the
    /// next patient is read at once; the finished patient's card, if still there, is asked
    /// for (see [`Desk::card_to_take`]) and never read again by itself.
    fn back_to_waiting(&mut self) {
        self.screen = Screen::Idle;
        if let Some(reader) = self.waiting_card.take() {
            self.read_card(reader);
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
        self.handle_event(event);
        self.settle_view();
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Readers { source, readers } => {
                self.sources.insert(source, readers);
            }
            Event::Reader(e) => self.reader_event(e),
            Event::CardRead { job, result } => {
                let next_patient = match &self.screen {
                    Screen::Reading {
                        job: j,
                        next_patient,
                        ..
                    } if *j == job => *next_patient,
                    _ => return,
                };
                match result {
                    Ok((read, pin)) => {
                        self.identity_screen(read, pin);
                        // The reading screen may pass in a moment: the next step says it too.
                        if let Screen::Identity(s) = &mut self.screen {
                            if next_patient && s.notice.is_none() {
                                s.notice = Some(NEXT_PATIENT.to_owned());
                            }
                        }
                    }
                    Err(e) => self.card_problem(&e),
                }
            }
            Event::Confirmed { job, recorded, .. } if self.was_cancelled(job) => {
                self.abandon_recorded(recorded.ok());
            }
            Event::NumbersConfirmed { job, recorded, .. } if self.was_cancelled(job) => {
                self.abandon_recorded(recorded.ok());
            }
            Event::CheckAbandoned => {}
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
                        let asked = card.clone().map(|read| Asked::Card { read, pin });
                        self.screen = Screen::Result(Box::new(ResultScreen {
                            verdict,
                            card: card.map(|_| (expiry, method)),
                            checked_on: on,
                            recorded,
                            asked,
                            choice: None,
                            paper: PaperExpenses::default(),
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
            Event::FolderOpened { job, result } => self.folder_opened(job, result),
            Event::ChoiceRecorded { job, result } => self.choice_recorded(job, result),
            Event::PublicExpensesRecorded { job, result } => {
                self.public_expenses_recorded(job, result)
            }
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
                let asked = match &self.screen {
                    Screen::Querying { job: j, search, .. } if *j == job => {
                        search.clone().map(Asked::Numbers)
                    }
                    _ => return,
                };
                self.screen = Screen::Result(Box::new(ResultScreen {
                    verdict,
                    card: None,
                    checked_on: on,
                    recorded,
                    asked,
                    choice: None,
                    paper: PaperExpenses::default(),
                }));
            }
        }
    }

    /// Leaves the current screen for the waiting one; a check left unfinished is recorded as
    /// 中断 (`abandoned`): a query cancelled (when its answer comes), a result without a
    /// qualification settled to claim with, a claim path left before its end.
    fn leave_unfinished(&mut self) {
        let unfinished = match &self.screen {
            Screen::Querying { job, .. } => {
                self.cancelled.push(*job);
                None
            }
            Screen::Result(r) if !r.settled() => r.recorded.clone().ok(),
            Screen::Claim(flow) if !matches!(flow.stage, ClaimStage::Finished(_)) => flow.check,
            _ => None,
        };
        self.abandon_recorded(unfinished);
        self.back_to_waiting();
    }

    fn abandon_recorded(&mut self, id: Option<CheckId>) {
        if let Some(id) = id {
            self.outbox.push(Request::AbandonCheck { id });
        }
    }

    /// Whether `job` is a query the clerk cancelled (forgotten once its answer is in).
    fn was_cancelled(&mut self, job: JobId) -> bool {
        let before = self.cancelled.len();
        self.cancelled.retain(|j| *j != job);
        self.cancelled.len() != before
    }

    fn waiting_for(&self, job: JobId) -> bool {
        matches!(&self.screen, Screen::Querying { job: j, .. } if *j == job)
    }

    /// What the clerk or patient did.
    pub fn act(&mut self, action: Action) {
        self.act_on(action);
        self.settle_view();
    }

    fn act_on(&mut self, action: Action) {
        match action {
            // A card still on the reader is the next patient's only when placed again.
            Action::Done => self.back_to_waiting(),
            Action::Cancel => self.leave_unfinished(),
            Action::Requery => self.requery(),
            Action::OpenFolder(dir) => self.open_folder(dir),
            Action::CheckNewerNumbers => self.check_newer_numbers(),
            Action::ChooseQualification(index) => self.choose_qualification(index),
            Action::OpenPaperExpense
            | Action::EditPaperExpense(_)
            | Action::SubmitPaperExpense
            | Action::CancelPaperExpense => self.paper_expense_action(action),
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
                    // With the paper 受給者証 typed on the result: they go on the receipt too.
                    Screen::Result(r) => {
                        let mut v = r.verdict.clone();
                        v.public_expenses = r.public_expenses();
                        (Some(v), r.recorded.clone().ok())
                    }
                    // Said before any query: the claim path starts from what the card showed.
                    Screen::Identity(i) if i.mode == IdentityMode::CertificateExpired => (
                        Some(crate::domain::Verdict::bare(
                            crate::domain::VerdictKind::CertificateExpired,
                            crate::domain::NextStep::ConfirmByDocuments,
                        )),
                        None,
                    ),
                    _ => (None, None),
                };
                if !self.busy() {
                    let mut flow =
                        ClaimFlow::new(self.today(), verdict.as_ref(), self.facility.clone());
                    flow.check = check;
                    flow.public_expense_table = self.public_expense_table().cloned();
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
            | Action::SetCircumstance(_)
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

    #[cfg(feature = "shared-journal")]
    #[test]
    fn the_waiting_screen_says_when_the_shared_journal_is_out_of_reach_and_what_waits() {
        use crate::journal::shared::{SharedStatus, StatusBoard};
        let mut d = desk();
        assert_eq!(d.shared_journal_line(), None, "no shared journal");
        let status = std::sync::Arc::new(std::sync::Mutex::new(SharedStatus::default()));
        d.shared_journal = Some(StatusBoard(status.clone()));
        assert_eq!(d.shared_journal_line(), None, "not tried yet");
        *status.lock().expect("lock") = SharedStatus {
            online: false,
            unforwarded: 4,
            offline_since: Some(time::OffsetDateTime::now_utc()),
            detail: Some("connection refused".into()),
            ..SharedStatus::default()
        };
        let (line, trouble) = d.shared_journal_line().expect("offline said");
        assert!(trouble && line.contains("未送信 4 件"), "{line}");
        *status.lock().expect("lock") = SharedStatus {
            online: true,
            unforwarded: 0,
            ..SharedStatus::default()
        };
        assert_eq!(d.shared_journal_line(), None, "all sent: nothing to say");
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

    /// Windows stops its Smart Card service when the last reader leaves: a read cut short by
    /// that says the service, in the desk's words, not a card failure.
    #[test]
    fn a_read_that_meets_a_stopped_card_service_says_so() {
        let mut d = desk();
        d.handle(Event::Reader(ReaderEvent::CardInserted {
            reader: "R1".into(),
        }));
        let Screen::Reading { job, .. } = d.screen else {
            panic!("{:?}", d.screen)
        };
        d.handle(Event::CardRead {
            job,
            result: Err(CardError::ServiceUnavailable(
                "The Smart Card Resource Manager has shut down.".into(),
            )),
        });
        let Screen::Problem(p) = &d.screen else {
            panic!("{:?}", d.screen)
        };
        assert_eq!(p.title, "カードリーダーのサービスが止まっています");
        assert!(
            p.message.contains(crate::card::error::SERVICE_NAME),
            "{}",
            p.message
        );
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

    /// A query the clerk cancelled is recorded by the worker when its answer comes; the desk
    /// then marks that record 中断 (never 完了) and shows nothing of it.
    #[test]
    fn a_cancelled_query_is_recorded_as_left_unfinished() {
        let mut d = desk();
        d.screen = Screen::Querying {
            job: 7,
            card: None,
            pin: false,
            search: None,
        };
        d.act(Action::Cancel);
        assert!(matches!(d.screen, Screen::Idle));
        d.handle(Event::NumbersConfirmed {
            job: 7,
            on: d.today(),
            verdict: crate::domain::Verdict::bare(
                crate::domain::VerdictKind::Valid,
                crate::domain::NextStep::ClaimNormally,
            ),
            recorded: Ok(CheckId(42)),
        });
        assert!(matches!(d.screen, Screen::Idle));
        assert!(matches!(
            d.take_requests().as_slice(),
            [Request::AbandonCheck { id }] if *id == CheckId(42)
        ));
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

    fn inserted(reader: &str) -> Event {
        Event::Reader(ReaderEvent::CardInserted {
            reader: reader.into(),
        })
    }

    fn removed(reader: &str) -> Event {
        Event::Reader(ReaderEvent::CardRemoved {
            reader: reader.into(),
        })
    }

    /// A valid result for the card read on `reader` (through the states the desk passes).
    fn result_for_card(d: &mut Desk, reader: &str, id: i64) {
        use crate::domain::verdict::{NextStep, Verdict};
        d.handle(inserted(reader));
        let Screen::Reading { job, .. } = d.screen else {
            panic!("{:?}", d.screen)
        };
        d.screen = Screen::Querying {
            job,
            card: None,
            pin: true,
            search: None,
        };
        d.handle(Event::NumbersConfirmed {
            job,
            on: d.today(),
            verdict: Verdict::bare(crate::domain::VerdictKind::Valid, NextStep::ClaimNormally),
            recorded: Ok(CheckId(id)),
        });
        assert!(matches!(d.screen, Screen::Result(_)), "{:?}", d.screen);
    }

    #[test]
    fn a_card_placed_while_a_result_is_shown_is_the_next_patient_and_is_read() {
        let mut d = desk();
        result_for_card(&mut d, "R1", 1);
        d.take_requests();
        // The demo reader (one slot) reports the first card gone, then the new one.
        d.handle(removed("R1"));
        assert!(matches!(d.screen, Screen::Result(_)), "the result stays");
        d.handle(inserted("R1"));
        assert!(
            matches!(
                d.screen,
                Screen::Reading {
                    next_patient: true,
                    ..
                }
            ),
            "{:?}",
            d.screen
        );
        assert!(matches!(
            d.take_requests().as_slice(),
            [Request::ReadCard { .. }]
        ));
    }

    #[test]
    fn after_done_the_finished_card_is_asked_for_and_never_read_again() {
        let mut d = desk();
        result_for_card(&mut d, "R1", 1);
        d.take_requests();
        d.act(Action::Done);
        assert!(matches!(d.screen, Screen::Idle));
        assert_eq!(d.card_to_take(), Some("R1"));
        assert!(d.take_requests().is_empty(), "not read again");
        d.handle(removed("R1"));
        assert_eq!(d.card_to_take(), None);
    }

    #[test]
    fn a_card_placed_during_a_claim_path_is_read_once_the_desk_is_done() {
        let mut d = desk();
        d.act(Action::OpenClaim);
        d.handle(inserted("R1"));
        assert!(
            matches!(d.screen, Screen::Claim(_)),
            "the claim path goes on"
        );
        assert!(d.take_requests().is_empty());
        d.act(Action::Done);
        assert!(matches!(d.screen, Screen::Reading { .. }), "{:?}", d.screen);
        // A card placed and taken off again meanwhile is not waited for.
        let mut d = desk();
        d.act(Action::OpenHistory);
        d.take_requests();
        d.handle(inserted("R1"));
        d.handle(removed("R1"));
        d.act(Action::Cancel);
        assert!(matches!(d.screen, Screen::Idle));
        assert!(d.take_requests().is_empty());
    }

    #[test]
    fn an_unattended_result_returns_to_waiting_after_the_timeout() {
        use time::macros::datetime;
        let clock = crate::clock::FixedClock::shared_at(datetime!(2026-11-21 10:00 +9));
        let mut d = Desk::new(clock.clone(), Box::new(|_: &str| false));
        d.result_timeout = std::time::Duration::from_secs(60);
        assert_eq!(d.wake_in(), None, "nothing timed while waiting");
        result_for_card(&mut d, "R1", 1);
        assert_eq!(d.wake_in(), Some(std::time::Duration::from_secs(60)));
        clock.set(datetime!(2026-11-21 10:00:59 +9));
        d.tick();
        assert!(matches!(d.screen, Screen::Result(_)));
        assert_eq!(d.wake_in(), Some(std::time::Duration::from_secs(1)));
        clock.set(datetime!(2026-11-21 10:01 +9));
        d.tick();
        assert!(matches!(d.screen, Screen::Idle), "{:?}", d.screen);
        assert_eq!(d.card_to_take(), Some("R1"));
    }

    #[test]
    fn each_new_screen_patient_and_verdict_is_a_new_view() {
        let mut d = desk();
        let idle = d.view();
        result_for_card(&mut d, "R1", 1);
        let first = d.view();
        assert_ne!(first, idle);
        d.act(Action::Done);
        result_for_card(&mut d, "R1", 2);
        assert_ne!(d.view(), first, "the next patient's result is a new view");
        // Typing in a form is the same view.
        d.act(Action::OpenNumbers);
        let form = d.view();
        d.act(Action::EditNumbers(NumbersForm {
            insurer: "1".into(),
            ..NumbersForm::default()
        }));
        assert_eq!(d.view(), form);
    }
}
