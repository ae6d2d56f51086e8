//! The desk's state, apart from drawing: which screen, what is known, what to ask the workers.
//!
//! Everything here is plain data and plain functions. The screens (`super::screens`) read a
//! [`Desk`] and report what the clerk or patient did as [`Action`]s; the workers
//! (`super::backend`) report what happened as [`Event`]s; both go through [`Desk::act`] and
//! [`Desk::handle`], which change the screen and queue [`Request`]s for the workers. No egui,
//! no threads, no clock: tests drive it directly, and the UI tests drive it through egui.
//!
//! Jobs carry an id. Cancelling a query does not stop the network call (the client's own
//! timeout bounds it); the desk simply stops waiting, and a late answer for an old job is
//! ignored, so a cancelled or abandoned check can never overwrite the current patient's screen.

use time::Date;

use super::claim_flow::{ClaimFlow, ClaimStage, DeclarationForm, EvidenceForm, Finished};
use super::settings::SettingsForm;
use crate::card::{CardError, PinStatus, ReaderEvent, ReaderInfo};
use crate::check::CardRead;
use crate::domain::claim::declaration::Facility;
use crate::domain::claim::SelfDeclaration;
use crate::domain::expiry::CertificateExpiry;
use crate::domain::numbers::{
    parse_birth_date, parse_branch, parse_symbol_or_number, InsurerNumber,
};
use crate::domain::{IdentityMethod, Verdict};
use crate::journal::{CheckId, CheckRecord, Filter, MonthlyUsage};
use crate::online::NumberSearch;

/// Identifies one piece of work handed to the workers.
pub type JobId = u64;

/// A 4-digit entry on the on-screen keypad (PIN or facility passcode); never logged.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Digits(String);

impl std::fmt::Debug for Digits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digits({} entered)", self.0.len())
    }
}

impl Digits {
    pub const LEN: usize = 4;

    pub fn push(&mut self, d: char) {
        if d.is_ascii_digit() && self.0.len() < Self::LEN {
            self.0.push(d);
        }
    }

    pub fn backspace(&mut self) {
        self.0.pop();
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_complete(&self) -> bool {
        self.0.len() == Self::LEN
    }

    /// The digits, for the card or the passcode check only.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

/// How the patient's identity is being confirmed on the identity screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityMode {
    /// The patient types the PIN on the keypad.
    Pin { entered: Digits },
    /// One try left: the keypad stays closed until the patient chooses to use the last try.
    LastTryWarning,
    /// The PIN is blocked or the card has none (顔認証マイナンバーカード): visual check only.
    PinUnavailable,
    /// Staff type the facility passcode to enter visual-check mode.
    Passcode { entered: Digits, refused: bool },
    /// Staff compare the patient with the card's photo, then confirm.
    VisualCheck,
}

/// The identity screen: the card is read, identity is not yet confirmed.
#[derive(Clone, Debug)]
pub struct IdentityScreen {
    pub read: CardRead,
    pub pin: Option<PinStatus>,
    pub mode: IdentityMode,
    /// Shown above the keypad (a refused PIN, …).
    pub notice: Option<String>,
}

/// What the last check found, as the result screen shows it.
#[derive(Clone, Debug)]
pub struct ResultScreen {
    pub verdict: Verdict,
    /// By card: the certificate's expiry and how identity was confirmed.
    pub card: Option<(CertificateExpiry, IdentityMethod)>,
    pub checked_on: Date,
    /// The journal record of this check, or the desk message why it is not recorded.
    pub recorded: Result<CheckId, String>,
}

/// The form for a check by insurer numbers (保険証・資格確認書の番号で確認).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NumbersForm {
    pub insurer: String,
    pub symbol: String,
    pub number: String,
    pub branch: String,
    pub birth: String,
    /// Problems of the last submit, per field, in Japanese.
    pub problems: Vec<(&'static str, String)>,
}

/// A problem the desk must see, with where to go from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub title: String,
    pub message: String,
    /// Precise English detail (also logged).
    pub detail: String,
}

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
    Problem(Problem),
    /// Staff settings, behind the facility passcode.
    Settings(Box<SettingsScreen>),
    /// The journal: today's checks, search, the card-use report (受付記録).
    History(Box<HistoryScreen>),
}

/// How many records the history screen loads at a time, newest first.
pub const HISTORY_PAGE: usize = 100;

/// The history screen.
#[derive(Clone, Debug, Default)]
pub struct HistoryScreen {
    /// Search text: a date, a number, or the start of a name or kana.
    pub query: String,
    /// A load under way.
    pub loading: Option<JobId>,
    pub records: Vec<CheckRecord>,
    pub usage: Vec<MonthlyUsage>,
    pub selected: Option<CheckId>,
    /// A reprint under way.
    pub reprinting: Option<JobId>,
    /// A record being closed (対応済み) under way.
    pub resolving: Option<JobId>,
    /// The month-end reports being saved.
    pub exporting: Option<JobId>,
    /// Pages of [`HISTORY_PAGE`] records asked for beyond the first (さらに表示).
    pub more: usize,
    /// What the desk must read (a load that failed, a printer problem).
    pub notice: Option<String>,
}

impl HistoryScreen {
    /// How many records the current search asks for.
    pub fn limit(&self) -> usize {
        HISTORY_PAGE.saturating_mul(self.more.saturating_add(1))
    }

    /// Whether the search filled its limit, so older records may be left to show.
    pub fn may_have_more(&self) -> bool {
        self.records.len() >= self.limit()
    }
}

/// The settings screen: locked until the facility passcode is typed.
#[derive(Clone, Debug)]
pub struct SettingsScreen {
    pub unlocked: bool,
    pub passcode: Digits,
    pub refused: bool,
    pub form: SettingsForm,
    /// A save under way.
    pub saving: Option<JobId>,
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
    /// Staff: open the settings (asks for the facility passcode first).
    OpenSettings,
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

/// What the workers reported.
#[derive(Clone, Debug)]
pub enum Event {
    /// The readers of one source (PC/SC, the demo reader) as they are now, or why they
    /// cannot be listed (pcscd unreachable).
    Readers {
        source: usize,
        readers: Result<Vec<ReaderInfo>, String>,
    },
    /// A change at a reader.
    Reader(ReaderEvent),
    CardRead {
        job: JobId,
        result: Result<(CardRead, Result<PinStatus, CardError>), CardError>,
    },
    Confirmed {
        job: JobId,
        result: Result<(IdentityMethod, Verdict), CardError>,
        /// The journal record, or why not recorded.
        recorded: Result<CheckId, String>,
    },
    NumbersConfirmed {
        job: JobId,
        verdict: Verdict,
        recorded: Result<CheckId, String>,
    },
    /// A claim step (①/②) was recorded, or why not.
    ClaimRecorded {
        job: JobId,
        recorded: Result<CheckId, String>,
    },
    /// The history screen's records and the card-use report, or why not.
    HistoryLoaded {
        job: JobId,
        result: Result<Box<super::backend::History>, String>,
    },
    /// The month-end reports were saved: what to tell the desk (where, how many), or why
    /// not.
    ReportsExported {
        job: JobId,
        result: Result<String, String>,
    },
    /// A record was closed by staff, or the desk message why not.
    RecordResolved {
        job: JobId,
        result: Result<CheckId, String>,
    },
    /// A マイナポータル PDF was read: its fields, or the desk message why not.
    PortalPdfRead {
        job: JobId,
        result: Result<Box<crate::import::portal_pdf::PortalFields>, String>,
    },
    /// The configuration file was written, or why not.
    SettingsSaved {
        job: JobId,
        result: Result<(), String>,
    },
    /// The self-declaration was written (and perhaps printed).
    Printed {
        job: JobId,
        /// Where the PDF was kept, or the desk message why not.
        pdf: Result<std::path::PathBuf, String>,
        /// `None` printed; else the desk message why not.
        print_problem: Option<String>,
        /// The declaration's record (a new printout), `None` for a reprint.
        recorded: Option<Result<CheckId, String>>,
    },
}

/// Work for the workers.
#[derive(Debug)]
pub enum Request {
    ReadCard {
        job: JobId,
        reader: String,
    },
    ConfirmByCard {
        job: JobId,
        read: Box<CardRead>,
        pin: Option<Digits>,
    },
    ConfirmByNumbers {
        job: JobId,
        search: Box<NumberSearch>,
    },
    /// Render the declaration, keep the PDF, record it, send it to the printer.
    PrintDeclaration {
        job: JobId,
        declaration: Box<SelfDeclaration>,
        /// The check the claim path continues, if it was recorded.
        check: Option<CheckId>,
    },
    /// Record a claim step (①/②) with its receipt header.
    RecordClaim {
        job: JobId,
        check: Option<CheckId>,
        step: crate::domain::claim::ClaimStep,
        receipt: Box<crate::domain::claim::receipt::ReceiptHeader>,
        /// The patient's birth date, for re-confirming current numbers afterwards.
        birthdate: Option<Date>,
    },
    /// Load the journal's records and the card-use report.
    LoadHistory {
        job: JobId,
        filter: Filter,
    },
    /// Write the month-end reports (CSV) beside the printouts.
    ExportReports {
        job: JobId,
        year: i32,
        month: time::Month,
    },
    /// Close a conflict (or queued check) in the journal.
    ResolveRecord {
        job: JobId,
        id: CheckId,
    },
    /// Send a kept PDF to the printer again.
    Reprint {
        job: JobId,
        pdf: std::path::PathBuf,
    },
    /// Read the labelled fields of a マイナポータル PDF.
    ImportPortalPdf {
        job: JobId,
        path: std::path::PathBuf,
    },
    /// Write the configuration file (already validated).
    SaveSettings {
        job: JobId,
        path: std::path::PathBuf,
        text: String,
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
    /// The day the checks are for (the visit date in Japan).
    pub today: Date,
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
    outbox: Vec<Request>,
    next_job: JobId,
}

impl Desk {
    pub fn new(today: Date, passcode: Box<dyn PasscodeCheck>) -> Desk {
        Desk {
            screen: Screen::Idle,
            today,
            sources: Default::default(),
            preferred_reader: None,
            facility: Facility {
                name: String::new(),
                code: String::new(),
            },
            config: None,
            config_path: crate::config::default_path(),
            passcode,
            outbox: Vec::new(),
            next_job: 1,
        }
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

    fn read_card(&mut self, reader: String) {
        let job = self.job();
        self.outbox.push(Request::ReadCard {
            job,
            reader: reader.clone(),
        });
        self.screen = Screen::Reading { job, reader };
    }

    /// The reader the current patient's card is on, while the flow needs the card.
    fn reader_in_use(&self) -> Option<&str> {
        match &self.screen {
            Screen::Reading { reader, .. } => Some(reader),
            Screen::Identity(s) => Some(&s.read.reader),
            _ => None,
        }
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
                            card: card.map(|c| (c.expiry, method)),
                            checked_on: self.today,
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
            Event::ClaimRecorded { job, recorded } => {
                if let Screen::Claim(flow) = &mut self.screen {
                    if flow.recording == Some(job) {
                        flow.recording = None;
                        if let ClaimStage::Finished(done) = &mut flow.stage {
                            done.recorded = Some(recorded);
                        }
                    }
                }
            }
            Event::HistoryLoaded { job, result } => {
                if let Some(h) = self.history_answer(job, |h| &mut h.loading) {
                    match result {
                        Ok(found) => (h.records, h.usage) = *found,
                        Err(why) => h.notice = Some(why),
                    }
                }
            }
            Event::ReportsExported { job, result } => {
                if let Some(h) = self.history_answer(job, |h| &mut h.exporting) {
                    h.notice = Some(result.unwrap_or_else(|why| why));
                }
            }
            Event::RecordResolved { job, result } => {
                if let Some(h) = self.history_answer(job, |h| &mut h.resolving) {
                    match result {
                        Ok(id) => {
                            h.notice = Some(format!("受付記録 #{id} を対応済みにしました。"));
                            self.load_history();
                        }
                        Err(why) => h.notice = Some(why),
                    }
                }
            }
            Event::PortalPdfRead { job, result } => {
                if let Screen::Claim(flow) = &mut self.screen {
                    if flow.importing == Some(job) {
                        flow.imported(result);
                    }
                }
            }
            Event::SettingsSaved { job, result } => {
                if let Screen::Settings(s) = &mut self.screen {
                    if s.saving == Some(job) {
                        s.saving = None;
                        s.form.outcome = Some(result.map(|()| {
                            "保存しました。アプリを再起動すると反映されます。".to_owned()
                        }));
                    }
                }
            }
            Event::NumbersConfirmed {
                job,
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
                    checked_on: self.today,
                    recorded,
                }));
            }
        }
    }

    fn printed(
        &mut self,
        job: JobId,
        pdf: Result<std::path::PathBuf, String>,
        problem: Option<String>,
        recorded: Option<Result<CheckId, String>>,
    ) {
        if matches!(self.screen, Screen::History(_)) {
            if let Some(h) = self.history_answer(job, |h| &mut h.reprinting) {
                h.notice = Some(problem.unwrap_or_else(|| "印刷を依頼しました。".to_owned()));
            }
            return;
        }
        let Screen::Claim(flow) = &mut self.screen else {
            return;
        };
        match (&flow.stage, pdf) {
            (
                ClaimStage::Printing {
                    job: j,
                    declaration,
                },
                Ok(pdf),
            ) if *j == job => {
                let receipt = flow.receipt(Some(declaration));
                flow.stage = ClaimStage::Finished(Box::new(Finished {
                    receipt,
                    pdf: Some(pdf),
                    print_problem: problem,
                    recorded,
                }));
            }
            (
                ClaimStage::Printing {
                    job: j,
                    declaration,
                },
                Err(why),
            ) if *j == job => {
                // Nothing was written: back to the preview, with the reason.
                let declaration = declaration.clone();
                flow.stage = ClaimStage::Preview(declaration);
                flow.notice = Some(why);
            }
            (ClaimStage::Finished(done), _) if flow.reprinting == Some(job) => {
                let mut done = done.clone();
                done.print_problem = problem;
                flow.stage = ClaimStage::Finished(done);
                flow.reprinting = None;
            }
            _ => {}
        }
    }

    fn waiting_for(&self, job: JobId) -> bool {
        matches!(&self.screen, Screen::Querying { job: j, .. } if *j == job)
    }

    /// Every reader of every source.
    pub fn readers(&self) -> Vec<&ReaderInfo> {
        self.sources
            .values()
            .filter_map(|s| s.as_ref().ok())
            .flatten()
            .collect()
    }

    /// Why a reader source cannot be reached (pcscd stopped), if one cannot.
    pub fn service_error(&self) -> Option<&str> {
        self.sources
            .values()
            .find_map(|s| s.as_ref().err())
            .map(String::as_str)
    }

    /// Reader lists come with each source's snapshot; events only move the flow.
    fn reader_event(&mut self, event: ReaderEvent) {
        match &event {
            ReaderEvent::CardInserted { reader } => {
                // A card placed while the desk waits starts a check; elsewhere it waits its turn.
                let preferred = self
                    .preferred_reader
                    .as_deref()
                    .is_none_or(|p| reader.starts_with(p));
                // On a problem screen the next card is the way forward: no tap needed.
                if matches!(self.screen, Screen::Idle | Screen::Problem(_)) && preferred {
                    self.read_card(reader.clone());
                }
            }
            ReaderEvent::CardRemoved { reader } => {
                if self.reader_in_use() == Some(reader) {
                    self.screen = Screen::Problem(Problem {
                        title: "カードが取り外されました".into(),
                        message: "確認の途中でカードがリーダーから離れました。もう一度カードを置いてください。".into(),
                        detail: format!("card removed from {reader} during the flow"),
                    });
                }
            }
            ReaderEvent::ReaderAdded(_) | ReaderEvent::ServiceRestored => {}
            ReaderEvent::ReaderRemoved(name) => {
                if self.reader_in_use() == Some(name) {
                    self.screen = Screen::Problem(Problem {
                        title: "カードリーダーが外れました".into(),
                        message:
                            "カードリーダーの接続を確認してください。つながると自動的に戻ります。"
                                .into(),
                        detail: format!("reader {name} removed during the flow"),
                    });
                }
            }
            // A lost pcscd first reports each of its readers and cards gone (handled above,
            // for the reader in use); the service itself says nothing about other sources'
            // readers, such as the demo reader, so it never interrupts their flow.
            ReaderEvent::ServiceLost(why) => {
                tracing::warn!(%why, "reader service lost");
            }
        }
    }

    fn identity_screen(&mut self, read: CardRead, pin: Result<PinStatus, CardError>) {
        let (pin, mode, notice) = match pin {
            Ok(PinStatus::Remaining(1)) => (
                Some(PinStatus::Remaining(1)),
                IdentityMode::LastTryWarning,
                None,
            ),
            Ok(PinStatus::Remaining(n)) => (
                Some(PinStatus::Remaining(n)),
                IdentityMode::Pin {
                    entered: Digits::default(),
                },
                None,
            ),
            Ok(PinStatus::Blocked) => {
                (Some(PinStatus::Blocked), IdentityMode::PinUnavailable, None)
            }
            // The counter could not be read: the PIN is still possible, the card decides.
            Err(e) => (
                None,
                IdentityMode::Pin {
                    entered: Digits::default(),
                },
                Some(format!(
                    "暗証番号の残り回数を確認できませんでした({}).",
                    e.kind()
                )),
            ),
        };
        self.screen = Screen::Identity(Box::new(IdentityScreen {
            read,
            pin,
            mode,
            notice,
        }));
    }

    fn card_problem(&mut self, e: &CardError) {
        let title = match e {
            CardError::NotMyNumberCard(_) => "マイナンバーカードではありません",
            CardError::CardRemoved => "カードが取り外されました",
            CardError::NoCard => "カードがありません",
            _ => "カードを読み取れませんでした",
        };
        self.screen = Screen::Problem(Problem {
            title: title.into(),
            message: e.desk_message(),
            detail: e.to_string(),
        });
    }

    /// A PIN refused by the card goes back to the keypad; anything else is a problem screen.
    fn pin_refused(&mut self, read: CardRead, e: CardError) {
        match e {
            CardError::PinWrong { retries_left } => {
                let mode = if retries_left <= 1 {
                    IdentityMode::LastTryWarning
                } else {
                    IdentityMode::Pin {
                        entered: Digits::default(),
                    }
                };
                self.screen = Screen::Identity(Box::new(IdentityScreen {
                    read,
                    pin: Some(PinStatus::Remaining(retries_left)),
                    mode,
                    notice: Some(format!(
                        "暗証番号が違います。あと{retries_left}回間違えるとロックされます。"
                    )),
                }));
            }
            CardError::PinBlocked => {
                self.screen = Screen::Identity(Box::new(IdentityScreen {
                    read,
                    pin: Some(PinStatus::Blocked),
                    mode: IdentityMode::PinUnavailable,
                    notice: Some("暗証番号がロックされました。".into()),
                }));
            }
            other => self.card_problem(&other),
        }
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
                        ClaimFlow::new(self.today, verdict.as_ref(), self.facility.clone());
                    flow.check = check;
                    self.screen = Screen::Claim(Box::new(flow));
                }
            }
            Action::OpenHistory => {
                if !self.busy() {
                    self.screen = Screen::History(Box::default());
                    self.load_history();
                }
            }
            Action::EditHistoryQuery(q) => {
                if let Screen::History(h) = &mut self.screen {
                    h.query = q;
                }
            }
            Action::SearchHistory => {
                if let Screen::History(h) = &mut self.screen {
                    h.notice = None;
                    h.more = 0;
                }
                self.load_history();
            }
            Action::MoreHistory => {
                let more = match &mut self.screen {
                    Screen::History(h) if h.loading.is_none() && h.may_have_more() => {
                        h.more += 1;
                        true
                    }
                    _ => false,
                };
                if more {
                    self.load_history();
                }
            }
            Action::SelectRecord(id) => {
                if let Screen::History(h) = &mut self.screen {
                    h.selected = Some(id);
                }
            }
            Action::ReprintRecord(pdf) => {
                self.history_job(|h| &mut h.reprinting, |job| Request::Reprint { job, pdf });
            }
            Action::ExportReports { year, month } => {
                self.history_job(
                    |h| &mut h.exporting,
                    |job| Request::ExportReports { job, year, month },
                );
            }
            Action::ResolveRecord(id) => {
                self.history_job(
                    |h| &mut h.resolving,
                    |job| Request::ResolveRecord { job, id },
                );
            }
            Action::ReopenRecord(id) => {
                let record = match &self.screen {
                    Screen::History(h) => h.records.iter().find(|r| r.id == id).cloned(),
                    _ => None,
                };
                if let Some(record) = record {
                    self.screen = Screen::Claim(Box::new(ClaimFlow::from_record(
                        self.today,
                        &record,
                        self.facility.clone(),
                    )));
                }
            }
            Action::OpenSettings => {
                if !self.busy() {
                    let form = match &self.config {
                        Some(c) => SettingsForm::from_config(c),
                        None => SettingsForm::empty(self.config_path.clone()),
                    };
                    self.screen = Screen::Settings(Box::new(SettingsScreen {
                        unlocked: false,
                        passcode: Digits::default(),
                        refused: false,
                        form,
                        saving: None,
                    }));
                }
            }
            Action::EditSettings(form) => {
                if let Screen::Settings(s) = &mut self.screen {
                    if s.unlocked {
                        s.form = *form;
                    }
                }
            }
            Action::SaveSettings => self.save_settings(),
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

    fn identity_action(&mut self, action: Action) {
        let Screen::Identity(screen) = &mut self.screen else {
            return;
        };
        match (&mut screen.mode, action) {
            (
                IdentityMode::Pin { entered } | IdentityMode::Passcode { entered, .. },
                Action::KeypadDigit(d),
            ) => entered.push(d),
            (
                IdentityMode::Pin { entered } | IdentityMode::Passcode { entered, .. },
                Action::KeypadBackspace,
            ) => entered.backspace(),
            (
                IdentityMode::Pin { entered } | IdentityMode::Passcode { entered, .. },
                Action::KeypadClear,
            ) => entered.clear(),
            (IdentityMode::LastTryWarning, Action::UseLastTry) => {
                screen.mode = IdentityMode::Pin {
                    entered: Digits::default(),
                };
            }
            (IdentityMode::Pin { entered }, Action::SubmitPin) if entered.is_complete() => {
                let pin = std::mem::take(entered);
                let read = Box::new(screen.read.clone());
                let job = self.job();
                self.outbox.push(Request::ConfirmByCard {
                    job,
                    read: read.clone(),
                    pin: Some(pin),
                });
                self.screen = Screen::Querying {
                    job,
                    card: Some(read),
                    pin: true,
                };
            }
            (_, Action::StartVisualCheck) => {
                screen.mode = IdentityMode::Passcode {
                    entered: Digits::default(),
                    refused: false,
                };
            }
            (IdentityMode::Passcode { entered, refused }, Action::SubmitPasscode)
                if entered.is_complete() =>
            {
                if self.passcode.matches(entered.reveal()) {
                    screen.mode = IdentityMode::VisualCheck;
                } else {
                    entered.clear();
                    *refused = true;
                }
            }
            (IdentityMode::VisualCheck, Action::ConfirmVisual) => {
                let read = Box::new(screen.read.clone());
                let job = self.job();
                self.outbox.push(Request::ConfirmByCard {
                    job,
                    read: read.clone(),
                    pin: None,
                });
                self.screen = Screen::Querying {
                    job,
                    card: Some(read),
                    pin: false,
                };
            }
            _ => {}
        }
    }

    fn claim_action(&mut self, action: Action) {
        let job = self.next_job;
        let Screen::Claim(flow) = &mut self.screen else {
            return;
        };
        let mut used_job = false;
        match action {
            Action::EditEvidence(form) => flow.form = form,
            Action::EditPdfPath(path) => flow.pdf_path = path,
            Action::AddEvidence => flow.add_evidence(),
            Action::Reconfirm if flow.reconfirming.is_none() => {
                if let Some(search) = flow.reconfirm_search() {
                    flow.reconfirming = Some(job);
                    used_job = true;
                    self.outbox.push(Request::ConfirmByNumbers {
                        job,
                        search: Box::new(search),
                    });
                }
            }
            Action::StartDeclaration => flow.start_declaration(),
            Action::EditDeclaration(form) => {
                if let ClaimStage::Declaration(current) = &mut flow.stage {
                    **current = form;
                }
            }
            Action::PreviewDeclaration => flow.check_declaration(),
            Action::BackToDeclaration => flow.back_to_declaration(),
            Action::PrintDeclaration => {
                if let ClaimStage::Preview(declaration) = &flow.stage {
                    let declaration = declaration.clone();
                    flow.notice = None;
                    used_job = true;
                    self.outbox.push(Request::PrintDeclaration {
                        job,
                        declaration: declaration.clone(),
                        check: flow.check,
                    });
                    flow.stage = ClaimStage::Printing { job, declaration };
                }
            }
            Action::Reprint => {
                if let ClaimStage::Finished(done) = &flow.stage {
                    if let (Some(pdf), None) = (&done.pdf, flow.reprinting) {
                        used_job = true;
                        flow.reprinting = Some(job);
                        self.outbox.push(Request::Reprint {
                            job,
                            pdf: pdf.clone(),
                        });
                    }
                }
            }
            Action::ImportPortalPdf(path) if flow.importing.is_none() => {
                used_job = true;
                flow.importing = Some(job);
                self.outbox.push(Request::ImportPortalPdf { job, path });
            }
            Action::FinishClaim => {
                let receipt = flow.receipt(None);
                let mut recorded = None;
                match &receipt {
                    Some(r) if flow.recording.is_none() => {
                        used_job = true;
                        flow.recording = Some(job);
                        self.outbox.push(Request::RecordClaim {
                            job,
                            check: flow.check,
                            step: flow.plan.step,
                            receipt: Box::new(r.clone()),
                            birthdate: flow.patient_birthdate(),
                        });
                    }
                    Some(_) => {}
                    None => recorded = Some(Err("請求する番号がないため記録していません。".into())),
                }
                flow.stage = ClaimStage::Finished(Box::new(Finished {
                    receipt,
                    pdf: None,
                    print_problem: None,
                    recorded,
                }));
            }
            _ => {}
        }
        if used_job {
            self.next_job += 1;
        }
    }

    /// The history screen when `job` is the work its `slot` waits for (the slot is then
    /// cleared); `None` for a late answer the screen no longer waits for.
    fn history_answer(
        &mut self,
        job: JobId,
        slot: impl FnOnce(&mut HistoryScreen) -> &mut Option<JobId>,
    ) -> Option<&mut HistoryScreen> {
        let Screen::History(h) = &mut self.screen else {
            return None;
        };
        let slot = slot(h);
        if *slot != Some(job) {
            return None;
        }
        *slot = None;
        Some(h)
    }

    /// Starts one kind of history-screen work (a reprint, a report, closing a record) unless
    /// one of that kind is under way: `slot` is where the screen keeps its job.
    fn history_job(
        &mut self,
        slot: impl FnOnce(&mut HistoryScreen) -> &mut Option<JobId>,
        request: impl FnOnce(JobId) -> Request,
    ) {
        let job = self.next_job;
        let Screen::History(h) = &mut self.screen else {
            return;
        };
        let slot = slot(h);
        if slot.is_none() {
            *slot = Some(job);
            self.next_job += 1;
            self.outbox.push(request(job));
        }
    }

    /// Asks the workers for the records matching the history screen's search (today's when
    /// the search is empty).
    fn load_history(&mut self) {
        let job = self.next_job;
        let today = self.today;
        let Screen::History(h) = &mut self.screen else {
            return;
        };
        let query = h.query.trim().to_owned();
        let limit = Some(h.limit());
        let filter = if query.is_empty() {
            Filter {
                date: Some(today),
                limit,
                ..Filter::default()
            }
        } else {
            Filter {
                search: Some(query),
                limit,
                ..Filter::default()
            }
        };
        self.next_job += 1;
        h.loading = Some(job);
        self.outbox.push(Request::LoadHistory { job, filter });
    }

    fn settings_keypad(&mut self, action: Action) {
        let Screen::Settings(s) = &mut self.screen else {
            return;
        };
        if s.unlocked {
            return;
        }
        match action {
            Action::KeypadDigit(d) => s.passcode.push(d),
            Action::KeypadBackspace => s.passcode.backspace(),
            Action::KeypadClear => s.passcode.clear(),
            Action::SubmitPasscode if s.passcode.is_complete() => {
                // No passcode configured yet (first start): the settings are open, so the
                // IT person can set one; the visual-check mode stays closed until then.
                let open = self
                    .config
                    .as_ref()
                    .is_none_or(|c| c.desk.passcode.is_none());
                if open || self.passcode.matches(s.passcode.reveal()) {
                    s.unlocked = true;
                } else {
                    s.refused = true;
                }
                s.passcode.clear();
            }
            _ => {}
        }
    }

    fn save_settings(&mut self) {
        let job = self.next_job;
        let Screen::Settings(s) = &mut self.screen else {
            return;
        };
        if !s.unlocked || s.saving.is_some() {
            return;
        }
        let salt: [u8; 16] = rand::random();
        match s.form.validate(&salt) {
            Ok((text, _)) => {
                self.next_job += 1;
                s.saving = Some(job);
                s.form.outcome = None;
                s.form.new_passcode.clear();
                self.outbox.push(Request::SaveSettings {
                    job,
                    path: s.form.path.clone(),
                    text,
                });
            }
            Err(problem) => s.form.outcome = Some(Err(problem)),
        }
    }

    fn submit_numbers(&mut self) {
        let Screen::Numbers(form) = &mut self.screen else {
            return;
        };
        let mut problems = Vec::new();
        let insurer = InsurerNumber::parse(&form.insurer)
            .map_err(|e| problems.push(("insurer", e.message)))
            .ok();
        let symbol = if form.symbol.trim().is_empty() {
            None
        } else {
            parse_symbol_or_number("symbol", &form.symbol, "記号")
                .map_err(|e| problems.push(("symbol", e.message)))
                .ok()
        };
        let number = parse_symbol_or_number("number", &form.number, "番号")
            .map_err(|e| problems.push(("number", e.message)))
            .ok();
        let branch = if form.branch.trim().is_empty() {
            None
        } else {
            parse_branch(&form.branch)
                .map_err(|e| problems.push(("branch", e.message)))
                .ok()
        };
        let birth = parse_birth_date(&form.birth, self.today)
            .map_err(|e| problems.push(("birth", e.message)))
            .ok();
        form.problems = problems;
        let (Some(insurer), Some(number), Some(birthdate)) = (insurer, number, birth) else {
            return;
        };
        if !form.problems.is_empty() {
            return;
        }
        let job = self.job();
        self.outbox.push(Request::ConfirmByNumbers {
            job,
            search: Box::new(NumberSearch {
                insurer,
                symbol,
                number,
                branch,
                birthdate,
                limit_consent: false,
            }),
        });
        self.screen = Screen::Querying {
            job,
            card: None,
            pin: false,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desk() -> Desk {
        Desk::new(
            time::macros::date!(2026 - 11 - 21),
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
        d.screen = Screen::Problem(Problem {
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

    #[test]
    fn the_pin_is_four_digits_and_never_shown() {
        let mut digits = Digits::default();
        for c in "12a345".chars() {
            digits.push(c);
        }
        assert_eq!(digits.reveal(), "1234");
        assert_eq!(format!("{digits:?}"), "Digits(4 entered)");
        digits.backspace();
        assert!(!digits.is_complete());
    }
}
