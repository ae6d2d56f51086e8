//! The desk's workers: card I/O and the network never run on the UI thread.
//!
//! Reader watchers (one thread per [`ReaderSource`]) block in their own waits and report
//! changes; each [`Request`] runs on a thread of its own (one per patient step, so a slow
//! query that was cancelled never holds up the next patient). Every report goes through one
//! channel and is followed by a repaint request: the UI sleeps until something happens.
//!
//! Every online check, once recorded, is handed to the [`Announcer`] for the receipt computer
//! (`face`) before its verdict is reported: the announcing runs on a thread of its own, so a
//! share that hangs never holds up the verdict on the screen (see `crate::check::announce`).

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::messages::{Digits, Event, History, Request};
use crate::card::{
    CardAccess, CardError, CertificateRead, Pcsc, Pin, PinStatus, ReaderEvent, ReaderInfo,
    ReaderWatcher,
};
use crate::check::{
    card_record, confirm_by_card, rate_expiry, read_card, Announcer, Finished, Identity,
};
use crate::domain::expiry::GraceEnd;
use crate::domain::search::Search;
use crate::domain::verdict::{NextStep, Verdict, VerdictKind};
use crate::journal::{CheckId, Filter, Journal, NewCheck};
use crate::online::OnlineClient;

/// Where reader and card events come from (PC/SC, or the demo reader).
pub trait ReaderSource: Send {
    /// The readers now, or why they cannot be listed.
    fn snapshot(&mut self) -> Result<Vec<ReaderInfo>, String>;
    /// Waits at most `timeout` for changes.
    fn wait(&mut self, timeout: Duration) -> Vec<ReaderEvent>;
}

/// PC/SC readers through pcscd.
#[derive(Default)]
pub struct PcscReaders {
    watcher: ReaderWatcher,
}

impl ReaderSource for PcscReaders {
    fn snapshot(&mut self) -> Result<Vec<ReaderInfo>, String> {
        match self.watcher.service_error() {
            Some(why) => Err(why.to_owned()),
            None => Ok(self.watcher.readers()),
        }
    }

    fn wait(&mut self, timeout: Duration) -> Vec<ReaderEvent> {
        self.watcher.wait(timeout)
    }
}

/// Card access through pcscd, with a fresh context per operation: a pcscd that restarted
/// between two patients is simply reached again.
pub struct PcscAccess;

impl CardAccess for PcscAccess {
    fn read_certificate(&self, reader: &str) -> Result<CertificateRead, CardError> {
        Pcsc::establish()?.read_certificate(reader)
    }

    fn pin_status(&self, reader: &str) -> Result<PinStatus, CardError> {
        Pcsc::establish()?.pin_status(reader)
    }

    fn verify_and_sign(
        &self,
        reader: &str,
        pin: &Pin,
        sha256: &[u8; 32],
    ) -> Result<Vec<u8>, CardError> {
        Pcsc::establish()?.verify_and_sign(reader, pin, sha256)
    }
}

/// What the workers need to do their jobs.
pub struct Services {
    pub cards: Arc<dyn CardAccess>,
    /// `None` when the configuration could not be loaded: every query then answers
    /// "unreachable" with the reason, and the desk goes on with the claim path.
    pub client: Result<Arc<OnlineClient>, String>,
    pub grace: GraceEnd,
    pub limit_consent: bool,
    /// The encoding of the month-end CSV files (`[journal] csv_encoding`).
    pub csv_encoding: crate::domain::text::TextEncoding,
    /// Where printouts are kept (always, printed or not).
    pub printouts: std::path::PathBuf,
    /// CUPS queue; `None` = the system default.
    pub printer: Option<String>,
    /// The program that opens a folder in the file manager (`super::folder`).
    pub folder_opener: std::path::PathBuf,
    /// The reception journal; `Err` says why it could not be opened (every check then tells
    /// the desk it was not recorded).
    pub journal: Result<Journal, String>,
    /// Announces every check made at the desk once it is recorded (the receipt computer's
    /// `face` folder), on its own thread; `None` without a journal (nothing is recorded, so
    /// there is no check to announce).
    pub announcer: Option<Arc<Announcer>>,
}

/// The UI's handle on its workers.
pub struct Backend {
    services: Arc<Services>,
    events_tx: Sender<Event>,
    events: Receiver<Event>,
    repaint: Arc<dyn Fn() + Send + Sync>,
    /// Watchers hold a weak reference and stop once the backend is gone.
    alive: Arc<()>,
}

/// How long a watcher waits before looking whether the app is still there.
const WATCH_SLICE: Duration = Duration::from_millis(500);

impl Backend {
    pub fn new(services: Services, repaint: Arc<dyn Fn() + Send + Sync>) -> Backend {
        let (events_tx, events) = mpsc::channel();
        Backend {
            services: Arc::new(services),
            events_tx,
            events,
            repaint,
            alive: Arc::new(()),
        }
    }

    /// Starts a watcher thread for `source` (numbered `id` in its reports); it ends when the
    /// backend is dropped.
    pub fn watch(&self, id: usize, mut source: Box<dyn ReaderSource>) {
        let tx = self.events_tx.clone();
        let repaint = self.repaint.clone();
        let alive = Arc::downgrade(&self.alive);
        let spawned = std::thread::Builder::new()
            .name("onshi-reader-watch".into())
            .spawn(move || {
                let snapshot = |source: &mut Box<dyn ReaderSource>| Event::Readers {
                    source: id,
                    readers: source.snapshot(),
                };
                let _ = tx.send(snapshot(&mut source));
                // Cards already on a reader at start are reported as insertions.
                for e in source.wait(Duration::ZERO) {
                    if tx.send(Event::Reader(e)).is_err() {
                        return;
                    }
                }
                let _ = tx.send(snapshot(&mut source));
                repaint();
                while alive.upgrade().is_some() {
                    let events = source.wait(WATCH_SLICE);
                    if events.is_empty() {
                        continue;
                    }
                    for e in events {
                        if tx.send(Event::Reader(e)).is_err() {
                            return;
                        }
                    }
                    let _ = tx.send(snapshot(&mut source));
                    repaint();
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the reader watcher: {e}");
        }
    }

    /// Reports so far, without waiting.
    pub fn poll(&self) -> Vec<Event> {
        self.events.try_iter().collect()
    }

    /// Waits up to `timeout` for at least one report (tests and the smoke run).
    pub fn wait(&self, timeout: Duration) -> Vec<Event> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        if let Ok(e) = self
            .events
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            out.push(e);
        }
        out.extend(self.events.try_iter());
        out
    }

    /// Runs `request` on a worker thread.
    pub fn submit(&self, request: Request) {
        let services = self.services.clone();
        let tx = self.events_tx.clone();
        let repaint = self.repaint.clone();
        let spawned = std::thread::Builder::new()
            .name("onshi-desk-job".into())
            .spawn(move || {
                let event = run(&services, request);
                let _ = tx.send(event);
                repaint();
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a worker: {e}");
        }
    }
}

/// Hands a recorded check over to be announced (see `crate::check::announce` for which are).
fn hand_over(
    announcer: Option<&Announcer>,
    recorded: &Result<CheckId, String>,
    by_card: bool,
    on: time::Date,
    at: time::OffsetDateTime,
    verdict: &Verdict,
) {
    if let (Some(announcer), Ok(id)) = (announcer, recorded) {
        announcer.hand_over(Finished {
            id: *id,
            by_card,
            on,
            at,
            verdict: verdict.clone(),
        });
    }
}

fn run(s: &Services, request: Request) -> Event {
    let announcer = s.announcer.as_deref();
    match request {
        Request::ReadCard { job, reader, on } => {
            let result = read_card(s.cards.as_ref(), &reader, on, s.grace).map(|read| {
                let pin = s.cards.pin_status(&read.reader);
                (read, pin)
            });
            if let Err(e) = &result {
                tracing::warn!(reader, error = %e, "card read failed");
            }
            Event::CardRead { job, result }
        }
        Request::ConfirmByCard { job, read, pin, on } => {
            // Rated again on the check's date: the card may have been read before midnight.
            let expiry = rate_expiry(&read.certificate, on, s.grace);
            let result = match &s.client {
                Err(why) => Ok((method_of(&pin), no_service(why))),
                Ok(client) => {
                    let identity = match pin {
                        Some(digits) => match Pin::parse(digits.reveal()) {
                            Ok(pin) => Identity::Pin(pin),
                            Err(e) => {
                                return Event::Confirmed {
                                    job,
                                    on,
                                    expiry,
                                    result: Err(e),
                                    recorded: Err(String::new()),
                                }
                            }
                        },
                        None => Identity::Visual,
                    };
                    confirm_by_card(
                        s.cards.as_ref(),
                        &read,
                        identity,
                        client,
                        on,
                        s.limit_consent,
                    )
                }
            };
            let at = time::OffsetDateTime::now_utc();
            match &result {
                Ok((_, v)) => {
                    tracing::info!(verdict = ?v.kind, detail = ?v.detail, "check by card")
                }
                Err(e) => tracing::warn!(error = %e, "check by card failed"),
            }
            let recorded = match &result {
                Ok((method, verdict)) => record(
                    s,
                    card_record(&read.certificate, *method, verdict, on, s.limit_consent),
                ),
                // The card refused or left: no check was made, nothing to record.
                Err(_) => Err(String::new()),
            };
            if let Ok((_, verdict)) = &result {
                hand_over(announcer, &recorded, true, on, at, verdict);
            }
            Event::Confirmed {
                job,
                on,
                expiry,
                result,
                recorded,
            }
        }
        Request::PrintDeclaration {
            job,
            declaration,
            check,
            on,
        } => {
            let unix = time::OffsetDateTime::now_utc().unix_timestamp();
            let path = s.printouts.join(format!(
                "self-declaration-{}-{unix}-{}-{job}.pdf",
                declaration.date,
                std::process::id()
            ));
            let kept = crate::print::declaration::render_declaration(&declaration)
                .and_then(|pdf| crate::print::printer::keep_pdf(&path, &pdf));
            match kept {
                Err(e) => {
                    tracing::error!(error = %e, "self-declaration not written");
                    Event::Printed {
                        job,
                        pdf: Err(e.desk_message().to_owned()),
                        print_problem: None,
                        recorded: None,
                    }
                }
                Ok(()) => {
                    tracing::info!(pdf = %path.display(), "self-declaration written");
                    let receipt = crate::domain::claim::receipt::ReceiptHeader::from_declaration(
                        &declaration,
                        crate::domain::claim::receipt::UnknownInsurer::Plain,
                    );
                    // Recorded before printing: the claim is on disk whatever the printer does.
                    let recorded = record_claim(
                        s,
                        check,
                        crate::domain::claim::ClaimStep::SelfDeclaration,
                        &receipt,
                        Some(&path),
                        on,
                    )
                    .and_then(|id| record_declarant(s, id, &declaration));
                    Event::Printed {
                        job,
                        print_problem: print(s, &path),
                        pdf: Ok(path),
                        recorded: Some(recorded),
                    }
                }
            }
        }
        Request::ImportPortalPdf { job, path } => Event::PortalPdfRead {
            job,
            result: read_portal_pdf(&path),
        },
        Request::SaveSettings { job, path, text } => Event::SettingsSaved {
            job,
            result: super::settings::save(&path, &text),
        },
        Request::AbandonCheck { id } => {
            match s.journal.as_ref().map(|j| j.abandon(id)) {
                Ok(Ok(_)) => tracing::info!(check = %id, "check left unfinished"),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, check = %id, "unfinished check not marked")
                }
                Err(why) => tracing::warn!(check = %id, why, "no journal to mark"),
            }
            Event::CheckAbandoned
        }
        Request::RecordChoice { job, id, chosen } => Event::ChoiceRecorded {
            job,
            result: match &s.journal {
                Err(why) => Err(why.clone()),
                Ok(journal) => journal.choose_qualification(id, &chosen).map_err(|e| {
                    tracing::error!(error = %e, check = %id, "chosen qualification not recorded");
                    e.desk_message()
                }),
            },
        },
        Request::RecordPublicExpenses { job, id, expenses } => Event::PublicExpensesRecorded {
            job,
            result: match &s.journal {
                Err(why) => Err(why.clone()),
                Ok(journal) => journal.set_public_expenses(id, &expenses).map_err(|e| {
                    tracing::error!(error = %e, check = %id, "public expenses not recorded");
                    e.desk_message()
                }),
            },
        },
        Request::OpenFolder { job, dir } => Event::FolderOpened {
            job,
            result: super::folder::open_folder(&s.folder_opener, &dir),
        },
        Request::Reprint { job, pdf } => Event::Printed {
            job,
            print_problem: print(s, &pdf),
            pdf: Ok(pdf),
            recorded: None,
        },
        Request::ConfirmByNumbers { job, search, on } => {
            let search = Search::Numbers(*search);
            let verdict = match &s.client {
                Err(why) => no_service(why),
                Ok(client) => client.confirm(&search, on),
            };
            let at = time::OffsetDateTime::now_utc();
            tracing::info!(verdict = ?verdict.kind, detail = ?verdict.detail, "check by numbers");
            let recorded = record(s, NewCheck::from_online(&search, on, &verdict));
            hand_over(announcer, &recorded, false, on, at, &verdict);
            Event::NumbersConfirmed {
                job,
                on,
                verdict,
                recorded,
            }
        }
        Request::RecordClaim {
            job,
            check,
            step,
            receipt,
            birthdate,
            on,
        } => Event::ClaimRecorded {
            job,
            recorded: record_claim(s, check, step, &receipt, None, on).and_then(|id| {
                // Current numbers for a check that had none (an outage, no record, an
                // unknown receipt): queued so the background re-confirmation confirms them.
                let (Some(_), Some(birthdate), crate::domain::claim::ClaimStep::CurrentNumbers) =
                    (check, birthdate, step)
                else {
                    return Ok(id);
                };
                let numbers = crate::journal::CheckNumbers {
                    insurer_number: receipt.insurer_number().to_owned(),
                    symbol: receipt.symbol().map(str::to_owned),
                    number: receipt.number().to_owned(),
                    branch: receipt.branch().map(str::to_owned),
                };
                let journal = s.journal.as_ref().map_err(Clone::clone)?;
                journal
                    .attach_numbers(id, numbers, birthdate)
                    .map(|()| id)
                    .map_err(|e| e.desk_message())
            }),
        },
        Request::RecordCase {
            job,
            check,
            step,
            birthdate,
            on,
        } => Event::ClaimRecorded {
            job,
            // The check that led here is recorded already; else the case is a record of its
            // own (a claim path without a receipt).
            recorded: match check {
                Some(id) => Ok(id),
                None => record(
                    s,
                    NewCheck {
                        claim_step: Some(step),
                        birthdate,
                        ..NewCheck::empty(crate::journal::CheckKind::ClaimPath, on)
                    },
                ),
            },
        },
        Request::ExportReports { job, year, month } => Event::ReportsExported {
            job,
            result: export_reports(s, year, month),
        },
        Request::ResolveRecord { job, id, at } => Event::RecordResolved {
            job,
            result: s.journal.as_ref().map_err(Clone::clone).and_then(|j| {
                j.resolve(id, at).map(|()| id).map_err(|e| {
                    tracing::warn!(error = %e, %id, "record not closed");
                    e.desk_message()
                })
            }),
        },
        Request::LoadHistory { job, filter } => Event::HistoryLoaded {
            job,
            result: load_history(s, &filter).map(Box::new),
        },
    }
}

/// Writes `check` to the journal and waits for the commit: the desk is told "done" only for
/// what is on disk. The error is the desk message (logged with its detail).
fn record(s: &Services, check: NewCheck) -> Result<CheckId, String> {
    let journal = s.journal.as_ref().map_err(Clone::clone)?;
    journal.record(check).map_err(|e| {
        tracing::error!(error = %e, "check not recorded");
        e.desk_message()
    })
}

/// ③: the declared name, kana, birth date and phone on the check's record, so staff find
/// it by name and match the signed paper.
fn record_declarant(
    s: &Services,
    id: CheckId,
    d: &crate::domain::claim::SelfDeclaration,
) -> Result<CheckId, String> {
    let journal = s.journal.as_ref().map_err(Clone::clone)?;
    journal
        .set_declarant(
            id,
            d.name.clone(),
            d.name_kana.clone(),
            d.birthdate,
            d.phone.clone(),
        )
        .map(|()| id)
        .map_err(|e| {
            tracing::error!(error = %e, check = %id, "declared patient not recorded");
            e.desk_message()
        })
}

/// Records the claim step: on the check it continues when there is one, else as a record of
/// its own for the claim path's visit date `on`; with the printout when one was made.
fn record_claim(
    s: &Services,
    check: Option<CheckId>,
    step: crate::domain::claim::ClaimStep,
    receipt: &crate::domain::claim::receipt::ReceiptHeader,
    printout: Option<&std::path::Path>,
    on: time::Date,
) -> Result<CheckId, String> {
    let journal = s.journal.as_ref().map_err(Clone::clone)?;
    let fail = |e: crate::journal::JournalError| {
        tracing::error!(error = %e, "claim step not recorded");
        e.desk_message()
    };
    let id = match check {
        Some(id) => {
            journal.set_claim(id, step, receipt).map_err(fail)?;
            id
        }
        None => record(s, NewCheck::claim_path(on, step, receipt))?,
    };
    if let Some(pdf) = printout {
        journal.add_printout(id, pdf).map_err(fail)?;
    }
    Ok(id)
}

fn load_history(s: &Services, filter: &Filter) -> Result<History, String> {
    let journal = s.journal.as_ref().map_err(Clone::clone)?;
    let fail = |e: crate::journal::JournalError| {
        tracing::warn!(error = %e, "history");
        e.desk_message()
    };
    let reader = journal.reader().map_err(fail)?;
    Ok(History {
        records: reader.list(filter).map_err(fail)?,
        usage: reader.usage().map_err(fail)?,
        scope: reader.scope().clone(),
        desk_id: journal.shared_config().map(|c| c.desk_id.clone()),
    })
}

/// Reads a portal PDF (at most the importer's limit) and extracts its labelled fields in a
/// limited child process, so a hostile file can neither crash nor hang the desk.
fn read_portal_pdf(
    path: &std::path::Path,
) -> Result<Box<crate::import::portal_pdf::PortalFields>, String> {
    let bytes = crate::import::sandbox::read_pdf_file(path).map_err(|e| {
        tracing::warn!(path = %path.display(), error = %e, "portal PDF not readable");
        match e {
            crate::import::sandbox::PdfFileError::Import(e) => e.desk_message().to_owned(),
            crate::import::sandbox::PdfFileError::Unreadable(e) => {
                crate::config::unreadable_file_message(&e, path)
            }
        }
    })?;
    crate::import::PdfSandbox::this_program()
        .and_then(|sandbox| sandbox.extract(&bytes))
        .map(Box::new)
        .map_err(|e| {
            tracing::warn!(path = %path.display(), error = %e, "portal PDF");
            e.desk_message().to_owned()
        })
}

/// Writes a file holding patient data (a report) owner-only and atomically, making its folder
/// owner-only when it is new: a receipt computer polling `reports/` never sees half a file,
/// other users of the PC never see patient names, and a planted link is never followed.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        onshi_files::create_private_dir_all(dir)?;
    }
    onshi_files::write_atomic(path, bytes, onshi_files::Access::Private)
}

/// Writes the month's open checks (`unresolved-YYYY-MM.csv`, as `journal unresolved --csv`)
/// and the card-use rate (`usage.csv`, as `journal usage --csv`); the desk message says where
/// and how many.
fn export_reports(s: &Services, year: i32, month: time::Month) -> Result<String, String> {
    let journal = s.journal.as_ref().map_err(Clone::clone)?;
    let fail = |e: crate::journal::JournalError| {
        tracing::warn!(error = %e, "month-end reports");
        e.desk_message()
    };
    let reader = journal.reader().map_err(fail)?;
    let open = reader.unresolved(year, month).map_err(fail)?;
    let usage = reader.usage().map_err(fail)?;
    let open_csv = crate::journal::csv_bytes(s.csv_encoding, |out| {
        crate::journal::write_records_csv(out, &open)
    })
    .map_err(fail)?;
    let usage_csv = crate::journal::csv_bytes(s.csv_encoding, |out| {
        crate::journal::write_usage_csv(out, &usage)
    })
    .map_err(fail)?;
    // `reports/` beside the printouts folder.
    let dir = s.printouts.with_file_name("reports");
    let open_path = dir.join(format!("unresolved-{year:04}-{:02}.csv", u8::from(month)));
    let usage_path = dir.join("usage.csv");
    for (path, bytes) in [(&open_path, &open_csv), (&usage_path, &usage_csv)] {
        write_private(path, bytes).map_err(|e| {
            tracing::error!(path = %path.display(), error = %e, "report not saved");
            // The OS error is English: logged above, not shown.
            format!(
                "報告を保存できませんでした。保存先({})に書き込めるかご確認ください。",
                path.display()
            )
        })?;
    }
    tracing::info!(dir = %dir.display(), open = open.len(), "month-end reports saved");
    let mut said = format!(
        "{year}年{}月の未確定 {} 件と利用率を保存しました: {}",
        u8::from(month),
        open.len(),
        dir.display()
    );
    // Saved from this desk's records only: said, so nobody takes it for the facility's.
    if let Some(notice) = reader.scope().desk_notice() {
        said.push_str(notice);
    }
    Ok(said)
}

/// Prints a kept PDF; the desk message when it did not print.
fn print(s: &Services, pdf: &std::path::Path) -> Option<String> {
    let printer = crate::print::printer::Printer::with_queue(s.printer.as_deref());
    match printer.print_file(pdf) {
        Ok(job) => {
            tracing::info!(request = ?job.request_id, pdf = %pdf.display(), "printed");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, pdf = %pdf.display(), "not printed");
            Some(e.desk_message().to_owned())
        }
    }
}

fn method_of(pin: &Option<Digits>) -> crate::domain::IdentityMethod {
    match pin {
        Some(_) => crate::domain::IdentityMethod::Pin,
        None => crate::domain::IdentityMethod::Visual,
    }
}

/// The verdict when the desk has no working connection settings.
fn no_service(why: &str) -> Verdict {
    let mut v = Verdict::bare(VerdictKind::Unreachable, NextStep::RetryOrDocuments);
    v.detail = Some(format!("no usable endpoint configuration: {why}"));
    v
}
