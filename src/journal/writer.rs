//! The single writer: one thread owning the write connection, fed by a channel.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OptionalExtension};
use time::{Date, OffsetDateTime};

use super::connection::{self, refine, timestamp, JournalOptions};
use super::query::JournalReader;
use super::{CheckId, CheckNumbers, CheckStatus, JournalError, NewCheck};
use crate::domain::claim::plan::ClaimStep;
use crate::domain::claim::receipt::ReceiptHeader;
use crate::domain::verdict::VerdictKind;

type Job = Box<dyn FnOnce(&mut WriterState) + Send>;

/// What the writer thread owns: the only write connection, and the forwarder to the
/// facility's shared journal when there is one.
struct WriterState {
    conn: Connection,
    #[cfg(feature = "shared-journal")]
    forwarder: Option<super::shared::forward::Forwarder>,
}

impl WriterState {
    /// After a committed job: forward it (a no-op without a shared journal).
    fn after_write(&mut self) {
        #[cfg(feature = "shared-journal")]
        if let Some(f) = &mut self.forwarder {
            f.after_write(&self.conn);
        }
    }

    /// How long the writer may wait for a job before forwarding again (`None`: until a job).
    fn next_wake(&self) -> Option<std::time::Duration> {
        #[cfg(feature = "shared-journal")]
        if let Some(f) = &self.forwarder {
            return f.next_wake();
        }
        None
    }

    /// The forwarding timer went off.
    fn tick(&mut self) {
        #[cfg(feature = "shared-journal")]
        if let Some(f) = &mut self.forwarder {
            f.tick(&self.conn);
        }
    }

    /// The writer's loop: jobs in order, forwarding between them while rows wait.
    fn run(mut self, rx: Receiver<Job>) {
        self.tick();
        loop {
            let job = match self.next_wake() {
                None => match rx.recv() {
                    Ok(job) => job,
                    Err(_) => break,
                },
                Some(wait) => match rx.recv_timeout(wait) {
                    Ok(job) => job,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.tick();
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
            };
            job(&mut self);
        }
        // A clean close checkpoints the WAL into the main file.
        let _ = self.conn.close();
    }
}

struct Inner {
    tx: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    path: PathBuf,
    shared: Option<crate::config::SharedJournalConfig>,
    #[cfg(feature = "shared-journal")]
    shared_status: Option<Arc<Mutex<super::shared::SharedStatus>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the writer after the jobs already queued.
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Ok(mut t) = self.thread.lock() {
            if let Some(t) = t.take() {
                let _ = t.join();
            }
        }
    }
}

/// The journal's write handle: cheap to clone, usable from any thread. Every method blocks
/// the calling thread until its transaction committed (or failed); never call it from the UI
/// thread — use [`Journal::submit`] there.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

/// A check handed to the writer by [`Journal::submit`], not yet known to be on disk.
pub struct Pending {
    rx: Receiver<Result<CheckId, JournalError>>,
}

impl Pending {
    /// The outcome if the writer has finished, without waiting (for a UI frame).
    pub fn try_result(&self) -> Option<Result<CheckId, JournalError>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(JournalError::WriterGone)),
        }
    }

    /// Waits for the outcome.
    pub fn wait(self) -> Result<CheckId, JournalError> {
        self.rx.recv().unwrap_or(Err(JournalError::WriterGone))
    }
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` with the desk's settings.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        Journal::open_with(path, JournalOptions::default())
    }

    /// Opens the journal: creates the folder (owner-only) and, the first time, the file;
    /// narrows the file to owner-only; checks it is sound (`PRAGMA quick_check`, see
    /// [`super::files`]), sets WAL and `synchronous = FULL`, migrates the schema, and starts
    /// the writer thread.
    ///
    /// A damaged file is set aside and [`JournalError::Damaged`] returned: the journal is
    /// never written into a damaged file, and a new one is started only by staff
    /// ([`Journal::start_anew`]).
    pub fn open_with(path: &Path, options: JournalOptions) -> Result<Journal, JournalError> {
        super::files::prepare(path, &options)?;
        let conn = match connection::open_writer(path, &options)? {
            connection::Opened::Sound(conn) => conn,
            connection::Opened::Damaged(problem) => {
                return Err(super::files::set_aside(path, &problem))
            }
        };
        super::files::narrow_side_files(path);
        #[cfg(not(feature = "shared-journal"))]
        if options.shared.is_some() {
            return Err(JournalError::Invalid(
                "journal.url: this build has no shared journal (feature shared-journal)".into(),
            ));
        }
        #[cfg(feature = "shared-journal")]
        let shared_status = options
            .shared
            .as_ref()
            .map(|_| Arc::new(Mutex::new(super::shared::SharedStatus::default())));
        let state = WriterState {
            #[cfg(feature = "shared-journal")]
            forwarder: options
                .shared
                .clone()
                .zip(shared_status.clone())
                .map(|(c, s)| super::shared::forward::Forwarder::new(c, s)),
            conn,
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || state.run(rx))
            .map_err(|e| JournalError::Other(format!("cannot start the writer thread: {e}")))?;
        Ok(Journal {
            inner: Arc::new(Inner {
                tx: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
                path: path.to_owned(),
                shared: options.shared,
                #[cfg(feature = "shared-journal")]
                shared_status,
            }),
        })
    }

    /// Opens the journal the configuration names: its SQLite file, forwarding to the
    /// facility's shared journal when `[journal] url` is set.
    pub fn open_config(config: &crate::config::JournalConfig) -> Result<Journal, JournalError> {
        Journal::open_with(
            &config.path(),
            JournalOptions {
                shared: config.shared.clone(),
                ..JournalOptions::default()
            },
        )
    }

    /// The facility's shared journal this desk forwards to, if any.
    pub fn shared_config(&self) -> Option<&crate::config::SharedJournalConfig> {
        self.inner.shared.as_ref()
    }

    /// Where the desk stands with the shared journal (`None` without one).
    #[cfg(feature = "shared-journal")]
    pub fn shared_status(&self) -> Option<super::shared::SharedStatus> {
        self.inner
            .shared_status
            .as_ref()
            .and_then(|s| s.lock().ok().map(|s| s.clone()))
    }

    /// A cheap handle on [`Journal::shared_status`] for the desk's screens (`None` without a
    /// shared journal).
    #[cfg(feature = "shared-journal")]
    pub fn shared_status_board(&self) -> Option<super::shared::StatusBoard> {
        self.inner
            .shared_status
            .clone()
            .map(super::shared::StatusBoard)
    }

    /// Forwards every local record the shared journal lacks, now, and says how many were sent
    /// (`journal copy-to-shared`, tests). Fails when the shared journal cannot be reached (what
    /// was sent before the failure stays sent).
    #[cfg(feature = "shared-journal")]
    pub fn forward_now(&self) -> Result<u64, JournalError> {
        let (reply, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |state: &mut WriterState| {
            let result = match &mut state.forwarder {
                Some(f) => f.forward_all(&state.conn),
                None => Err(JournalError::Invalid(
                    "no shared journal is set (journal.url)".into(),
                )),
            };
            let _ = reply.send(result);
        });
        self.send(job)?;
        rx.recv().unwrap_or(Err(JournalError::WriterGone))
    }

    /// Staff's way back after a damaged journal was set aside (`onshi-desk journal
    /// recover`): sets a damaged file aside if one is still in place, starts a new, empty
    /// journal and opens it. The set-aside files stay where they are. A sound journal is never
    /// replaced ([`JournalError::Invalid`]).
    pub fn start_anew(path: &Path) -> Result<Journal, JournalError> {
        let options = JournalOptions::default();
        super::files::start_anew(path, &options)?;
        Journal::open_with(path, options)
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A new read-only connection for the history, search and reports (one per thread that
    /// reads): the facility's shared journal when one is set and reachable, else this desk's
    /// file; [`JournalReader::scope`] says which.
    pub fn reader(&self) -> Result<JournalReader, JournalError> {
        JournalReader::open_for(&self.inner.path, self.inner.shared.as_ref())
    }

    /// A new read-only connection to this desk's own file, whatever is shared.
    pub fn local_reader(&self) -> Result<JournalReader, JournalError> {
        JournalReader::open(&self.inner.path)
    }

    fn send(&self, job: Job) -> Result<(), JournalError> {
        let guard = self.inner.tx.lock().map_err(|_| JournalError::WriterGone)?;
        let tx = guard.as_ref().ok_or(JournalError::WriterGone)?;
        tx.send(job).map_err(|_| JournalError::WriterGone)
    }

    fn enqueue<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, JournalError> + Send + 'static,
    ) -> Receiver<Result<R, JournalError>> {
        let (reply, rx): (SyncSender<Result<R, JournalError>>, _) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |state: &mut WriterState| {
            let result = f(&mut state.conn).map_err(|e| refine(&state.conn, e));
            if result.is_ok() {
                // The desk is told "done" after the shared journal has it too (when reachable).
                state.after_write();
            }
            let _ = reply.send(result);
        });
        if let Err(e) = self.send(job) {
            let (reply, rx2) = mpsc::sync_channel(1);
            let _ = reply.send(Err(e));
            return rx2;
        }
        rx
    }

    /// Runs `f` on the writer thread and waits for its result.
    pub(crate) fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, JournalError> + Send + 'static,
    ) -> Result<R, JournalError> {
        self.enqueue(f)
            .recv()
            .unwrap_or(Err(JournalError::WriterGone))
    }

    /// Records one check; returns once the transaction is committed (on disk). On `Err`
    /// nothing was written and the desk must not say the check was recorded.
    pub fn record(&self, check: NewCheck) -> Result<CheckId, JournalError> {
        self.submit(check).wait()
    }

    /// Hands a check to the writer without waiting; poll the [`Pending`] for the commit.
    pub fn submit(&self, check: NewCheck) -> Pending {
        Pending {
            rx: self.enqueue(move |conn| insert(conn, &check)),
        }
    }

    /// Records the claim step and receipt header reached for a check (continuing its claim
    /// path). An unknown receipt (7s) queues the check for 事後確認; a check left unfinished
    /// before (中断) is finished by it (done, or queued for the 7s).
    pub fn set_claim(
        &self,
        id: CheckId,
        step: ClaimStep,
        receipt: &ReceiptHeader,
    ) -> Result<(), JournalError> {
        let json = serde_json::to_string(receipt)?;
        let insurer = receipt.insurer_number().to_owned();
        let unknown = super::is_unknown_insurer(&insurer);
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE checks SET claim_step = ?2, receipt_json = ?3, receipt_insurer = ?4,
                     status = CASE WHEN ?5 AND status IN (?6, ?8) THEN ?7
                                   WHEN status = ?8 THEN ?6 ELSE status END
                 WHERE id = ?1",
                params![
                    id.0,
                    step,
                    json,
                    insurer,
                    unknown,
                    CheckStatus::Done,
                    CheckStatus::Queued,
                    CheckStatus::Abandoned
                ],
            )?;
            found(n, id)
        })
    }

    /// Names the result file written for the receipt computer for a check (a `face` file is
    /// written after the check is recorded, or when 事後確認 settles it).
    pub fn set_interop_file(&self, id: CheckId, file: &str) -> Result<(), JournalError> {
        let file = file.to_owned();
        self.call(move |conn| {
            let n = conn.execute(sql::SET_INTEROP_FILE, params![id.0, file])?;
            found(n, id)
        })
    }

    /// Replaces the 公費・医療費助成 entitlements recorded for a check (the answer's and those
    /// typed in from paper 受給者証), in the order given; returns once committed, so the desk
    /// says a paper entry was added only when it is on disk.
    pub fn set_public_expenses(
        &self,
        id: CheckId,
        expenses: &[crate::domain::public_expense::PublicExpense],
    ) -> Result<(), JournalError> {
        let json = super::public_expenses::to_json(expenses)?;
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE checks SET public_expenses = ?2 WHERE id = ?1",
                params![id.0, json],
            )?;
            found(n, id)
        })
    }

    /// Adds a printout (PDF path) to a check.
    pub fn add_printout(&self, id: CheckId, pdf: &Path) -> Result<(), JournalError> {
        let pdf = pdf.to_string_lossy().into_owned();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let current: Option<String> = tx
                .query_row(
                    "SELECT printouts_json FROM checks WHERE id = ?1",
                    [id.0],
                    |r| r.get(0),
                )
                .optional()?;
            let current = current.ok_or(JournalError::NotFound(id.0))?;
            let mut list: Vec<String> = serde_json::from_str(&current).unwrap_or_default();
            if !list.contains(&pdf) {
                list.push(pdf);
            }
            tx.execute(
                "UPDATE checks SET printouts_json = ?2 WHERE id = ?1",
                params![id.0, serde_json::to_string(&list)?],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// The desk left the check unfinished (the clerk cancelled it, or left its result or its
    /// claim path before settling what to claim with): a `done` record becomes `abandoned`.
    /// A record already open (queued, conflict) keeps its state; it is on the unresolved list
    /// anyway. Returns whether the record changed.
    pub fn abandon(&self, id: CheckId) -> Result<bool, JournalError> {
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE checks SET status = ?2 WHERE id = ?1 AND status = ?3",
                params![id.0, CheckStatus::Abandoned, CheckStatus::Done],
            )?;
            if n == 0 {
                let exists: Option<i64> = conn
                    .query_row("SELECT id FROM checks WHERE id = ?1", [id.0], |r| r.get(0))
                    .optional()?;
                exists.ok_or(JournalError::NotFound(id.0))?;
            }
            Ok(n > 0)
        })
    }

    /// ③: the patient as declared on the self-declaration (被保険者資格申立書), so the record
    /// is found by name in the history and matched with the signed paper. The answer's name,
    /// kana and birth date, when the check had them, are kept; the phone is the declared one.
    pub fn set_declarant(
        &self,
        id: CheckId,
        name: Option<String>,
        name_kana: Option<String>,
        birthdate: Option<Date>,
        phone: Option<String>,
    ) -> Result<(), JournalError> {
        let birthdate = birthdate.map(|d| d.to_string());
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE checks SET name = COALESCE(name, ?2), name_kana = COALESCE(name_kana, ?3),
                     birthdate = COALESCE(birthdate, ?4), phone = COALESCE(?5, phone)
                 WHERE id = ?1",
                params![id.0, name, name_kana, birthdate, phone],
            )?;
            found(n, id)
        })
    }

    /// 複数該当: the qualification staff chose with the patient becomes the record's numbers,
    /// name and birth date (a `several` record has none until then; choosing again replaces
    /// the choice). Only a check whose verdict is `several` takes a choice
    /// ([`JournalError::NotFound`] otherwise): any other check's numbers are the answer's.
    pub fn choose_qualification(
        &self,
        id: CheckId,
        q: &crate::domain::verdict::Qualification,
    ) -> Result<(), JournalError> {
        let numbers = CheckNumbers::of(q)
            .ok_or_else(|| JournalError::Other("the chosen record has no numbers".into()))?;
        let (name, kana, birthdate) = (
            q.name.clone(),
            q.name_kana.clone(),
            q.birthdate.map(|d| d.to_string()),
        );
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE checks SET insurer_number = ?2, symbol = ?3, number = ?4, branch = ?5,
                     name = ?6, name_kana = ?7, birthdate = COALESCE(?8, birthdate)
                 WHERE id = ?1 AND verdict = ?9",
                params![
                    id.0,
                    numbers.insurer_number,
                    numbers.symbol,
                    numbers.number,
                    numbers.branch,
                    name,
                    kana,
                    birthdate,
                    VerdictKind::Several
                ],
            )?;
            found(n, id)
        })
    }

    /// The numbers learned after the visit (the patient brought them, e.g. for an unknown
    /// receipt): stored and the check queued for re-confirmation by number.
    pub fn attach_numbers(
        &self,
        id: CheckId,
        numbers: CheckNumbers,
        birthdate: Date,
    ) -> Result<(), JournalError> {
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE checks SET insurer_number = ?2, symbol = ?3, number = ?4, branch = ?5,
                     birthdate = ?6, status = ?7, attempts = 0, next_attempt_at = NULL,
                     conflict_detail = NULL
                 WHERE id = ?1 AND status IN (?7, ?8, ?9)",
                params![
                    id.0,
                    numbers.insurer_number,
                    numbers.symbol,
                    numbers.number,
                    numbers.branch,
                    birthdate.to_string(),
                    CheckStatus::Queued,
                    CheckStatus::Conflict,
                    CheckStatus::Done
                ],
            )?;
            found(n, id)
        })
    }

    /// Staff resolved a conflict (or closed a queued check by hand, e.g. settled on the
    /// phone with the insurer): marks it done, drops any certificate still held, and notes
    /// when in `last_attempt_detail`. The conflict detail is kept as the trace of what was
    /// decided. Only a queued check or a conflict can be closed ([`JournalError::NotOpen`]).
    pub fn resolve(&self, id: CheckId, at: OffsetDateTime) -> Result<(), JournalError> {
        let note = format!("closed by staff at {}", timestamp(at));
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let status: Option<CheckStatus> = tx
                .query_row("SELECT status FROM checks WHERE id = ?1", [id.0], |r| {
                    r.get(0)
                })
                .optional()?;
            match status {
                None => return Err(JournalError::NotFound(id.0)),
                Some(CheckStatus::Queued | CheckStatus::Conflict | CheckStatus::Abandoned) => {}
                Some(_) => return Err(JournalError::NotOpen(id.0)),
            }
            tx.execute(
                sql::RESOLVE,
                params![
                    id.0,
                    note,
                    CheckStatus::Done,
                    CheckStatus::Queued,
                    CheckStatus::Conflict,
                    CheckStatus::Abandoned
                ],
            )?;
            tx.commit()?;
            Ok(())
        })?;
        // The facility's copy too, when it already took the record over (its status is the
        // facility's then: the desk's forward alone would not close it there).
        #[cfg(feature = "shared-journal")]
        if let Some(shared) = self.shared_config() {
            let closed = super::shared::facility::FacilityJournal::connect(shared)
                .and_then(|f| f.resolve_desk_record(&shared.desk_id, id, at));
            if let Err(e) = closed {
                tracing::warn!(error = %e, %id, "closed on this desk; the shared journal's copy follows with the next forward");
            }
        }
        Ok(())
    }

    /// Deletes the records checked before `date`, except those still queued or in conflict
    /// (the claim needs them). Returns how many were deleted.
    pub fn purge_before(&self, date: Date) -> Result<usize, JournalError> {
        let date = date.to_string();
        self.call(move |conn| {
            Ok(conn.execute(
                "DELETE FROM checks WHERE check_date < ?1 AND status NOT IN (?2, ?3)",
                params![date, CheckStatus::Queued, CheckStatus::Conflict],
            )?)
        })
    }

    /// Clears the certificate serial and DER of every check dated before `before` and of
    /// every check no longer queued (the retention rule). Returns how many were cleared.
    pub fn purge_certificates(&self, before: Date) -> Result<usize, JournalError> {
        let before = before.to_string();
        self.call(move |conn| {
            Ok(conn.execute(
                sql::PURGE_CERTIFICATES,
                params![before, CheckStatus::Queued],
            )?)
        })
    }
    /// The service was still down when a queued check was asked about again: counts the
    /// attempt, notes why and when to try next. Only a check still queued is touched.
    pub fn note_attempt(
        &self,
        id: CheckId,
        next_attempt_at: OffsetDateTime,
        detail: String,
    ) -> Result<(), JournalError> {
        let next = timestamp(next_attempt_at);
        self.call(move |conn| {
            conn.execute(
                sql::NOTE_ATTEMPT,
                params![id.0, next, detail, CheckStatus::Queued],
            )?;
            Ok(())
        })
    }

    /// Stores the outcome of re-confirming a queued check (事後確認), in one transaction, and
    /// drops the certificate held for it (the retention rule). The update is conditional on
    /// the check still being queued, so two re-confirmers never apply twice: `Ok(false)` says
    /// another one settled it meanwhile.
    pub fn settle(&self, id: CheckId, r: Settlement) -> Result<bool, JournalError> {
        let at = timestamp(r.at);
        let (verdict, validity) = (r.verdict, r.validity);
        let receipt = match &r.outcome {
            ReconfirmOutcome::Confirmed {
                receipt: Some(claim),
                ..
            } => Some((
                claim.0,
                serde_json::to_string(&claim.1)?,
                claim.1.insurer_number().to_owned(),
            )),
            _ => None,
        };
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let n = match r.outcome {
                ReconfirmOutcome::Conflict(detail) => tx.execute(
                    sql::SETTLE_CONFLICT,
                    params![
                        id.0,
                        detail,
                        at,
                        verdict,
                        validity,
                        CheckStatus::Conflict,
                        CheckStatus::Queued
                    ],
                )?,
                ReconfirmOutcome::Confirmed {
                    numbers,
                    name,
                    name_kana,
                    birthdate,
                    ..
                } => {
                    let n = tx.execute(
                        sql::SETTLE_CONFIRMED,
                        params![
                            id.0,
                            at,
                            verdict,
                            validity,
                            name,
                            name_kana,
                            birthdate.map(|d| d.to_string()),
                            CheckStatus::Reconfirmed,
                            CheckStatus::Queued
                        ],
                    )?;
                    if n > 0 {
                        if let Some(nums) = &numbers {
                            tx.execute(
                                sql::SETTLE_NUMBERS,
                                params![
                                    id.0,
                                    nums.insurer_number,
                                    nums.symbol,
                                    nums.number,
                                    nums.branch
                                ],
                            )?;
                        }
                        if let Some((step, json, insurer)) = &receipt {
                            tx.execute(sql::SETTLE_RECEIPT, params![id.0, step, json, insurer])?;
                        }
                    }
                    n
                }
            };
            tx.commit()?;
            Ok(n > 0)
        })
    }
}

/// The statements of the writes the facility also makes in the shared journal (事後確認, the
/// retention rule, the receipt-computer file), written once for both stores: `?N`
/// placeholders, rendered `$N` for PostgreSQL (`shared/facility.rs`). The parameters are the
/// same, in the same order, on both.
pub(crate) mod sql {
    /// `?1` id, `?2` next attempt, `?3` detail, `?4` queued.
    pub const NOTE_ATTEMPT: &str = "UPDATE checks SET attempts = attempts + 1,
         next_attempt_at = ?2, last_attempt_detail = ?3 WHERE id = ?1 AND status = ?4";
    /// `?1` id, `?2` detail, `?3` at, `?4` verdict, `?5` validity, `?6` conflict, `?7` queued.
    pub const SETTLE_CONFLICT: &str = "UPDATE checks SET status = ?6, conflict_detail = ?2,
         reconfirmed_at = ?3, reconfirmed_verdict = ?4,
         reconfirmed_validity = ?5, attempts = attempts + 1,
         certificate_serial = NULL, certificate_der = NULL
     WHERE id = ?1 AND status = ?7";
    /// `?1` id, `?2` at, `?3` verdict, `?4` validity, `?5` name, `?6` kana, `?7` birth date,
    /// `?8` reconfirmed, `?9` queued.
    pub const SETTLE_CONFIRMED: &str = "UPDATE checks SET status = ?8, reconfirmed_at = ?2,
         reconfirmed_verdict = ?3, reconfirmed_validity = ?4,
         attempts = attempts + 1, conflict_detail = NULL,
         certificate_serial = NULL, certificate_der = NULL,
         name = coalesce(name, ?5), name_kana = coalesce(name_kana, ?6),
         birthdate = coalesce(birthdate, ?7)
     WHERE id = ?1 AND status = ?9";
    /// `?1` id, `?2`–`?5` 保険者番号, 記号, 番号, 枝番.
    pub const SETTLE_NUMBERS: &str = "UPDATE checks SET insurer_number = ?2, symbol = ?3,
         number = ?4, branch = ?5 WHERE id = ?1";
    /// `?1` id, `?2` claim step, `?3` receipt JSON, `?4` its 保険者番号.
    pub const SETTLE_RECEIPT: &str = "UPDATE checks SET claim_step = ?2, receipt_json = ?3,
         receipt_insurer = ?4 WHERE id = ?1";
    /// `?1` the first check date kept, `?2` queued.
    pub const PURGE_CERTIFICATES: &str =
        "UPDATE checks SET certificate_serial = NULL, certificate_der = NULL
     WHERE (certificate_der IS NOT NULL OR certificate_serial IS NOT NULL)
       AND (check_date < ?1 OR status <> ?2)";
    /// Staff close a record: `?1` id, `?2` note, `?3` done, `?4`–`?6` the open statuses
    /// (queued, conflict, abandoned).
    pub const RESOLVE: &str = "UPDATE checks SET status = ?3, certificate_serial = NULL,
         certificate_der = NULL, next_attempt_at = NULL, last_attempt_detail = ?2
     WHERE id = ?1 AND status IN (?4, ?5, ?6)";
    /// `?1` id, `?2` file name.
    pub const SET_INTEROP_FILE: &str = "UPDATE checks SET interop_file = ?2 WHERE id = ?1";
}

/// How a queued check is settled by re-confirmation (事後確認の結果), for [`Journal::settle`].
#[derive(Clone, Debug)]
pub struct Settlement {
    /// When the service answered.
    pub at: OffsetDateTime,
    pub verdict: VerdictKind,
    /// QualificationValidity of the answer.
    pub validity: Option<u8>,
    pub outcome: ReconfirmOutcome,
}

/// Whether the answer confirms what the desk recorded.
#[derive(Clone, Debug)]
pub enum ReconfirmOutcome {
    /// It agrees: the answer's numbers, name and birth date fill in what the record lacks,
    /// and an unknown receipt becomes a claim with the confirmed numbers.
    Confirmed {
        numbers: Option<CheckNumbers>,
        name: Option<String>,
        name_kana: Option<String>,
        birthdate: Option<Date>,
        /// The claim the check now continues with (boxed: a receipt header is large).
        receipt: Option<Box<(ClaimStep, ReceiptHeader)>>,
    },
    /// It says something else: staff must decide (the Japanese detail says what differs).
    Conflict(String),
}

fn found(n: usize, id: CheckId) -> Result<(), JournalError> {
    if n == 0 {
        Err(JournalError::NotFound(id.0))
    } else {
        Ok(())
    }
}

fn insert(conn: &mut Connection, c: &NewCheck) -> Result<CheckId, JournalError> {
    let status = c.derived_status();
    let receipt = c.receipt.as_ref().map(serde_json::to_string).transpose()?;
    let printouts: Vec<String> = c
        .printouts
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let cert = c.certificate_to_store(status);
    let n = c.numbers.as_ref();
    let tx = conn.transaction()?;
    // Cached: parsed once per connection, not once per check (the desk's busiest statement).
    tx.prepare_cached(
        "INSERT INTO checks (recorded_at, check_date, kind, identity, verdict, validity,
             insurer_number, symbol, number, branch, name, name_kana, birthdate, claim_step,
             receipt_json, receipt_insurer, printouts_json, status, certificate_serial,
             certificate_der, interop_file, public_expenses)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20, ?21, ?22)",
    )?
    .execute(params![
        timestamp(c.at),
        c.check_date.to_string(),
        c.kind,
        c.identity,
        c.verdict,
        c.validity,
        n.map(|n| n.insurer_number.as_str()),
        n.and_then(|n| n.symbol.as_deref()),
        n.map(|n| n.number.as_str()),
        n.and_then(|n| n.branch.as_deref()),
        c.name,
        c.name_kana,
        c.birthdate.map(|d| d.to_string()),
        c.claim_step,
        receipt,
        c.receipt_insurer(),
        serde_json::to_string(&printouts)?,
        status,
        cert.map(|c| c.serial_hex.as_str()),
        cert.map(|c| c.der.as_slice()),
        c.interop_file,
        super::public_expenses::to_json(&c.public_expenses)?,
    ])?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(CheckId(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::verdict::Qualification;
    use crate::domain::InsurerNumber;
    use time::macros::date;

    #[test]
    fn a_check_left_unfinished_is_abandoned_until_its_claim_path_ends() {
        use crate::domain::claim::receipt::ReceiptHeader;
        use crate::domain::InsuranceNumbers;
        let dir = tempfile::tempdir().expect("tmp");
        let journal = Journal::open(&dir.path().join("j.sqlite3")).expect("journal");
        let reader = journal.reader().expect("reader");
        let status = |id| reader.get(id).expect("get").status;
        let mut invalid = NewCheck::empty(super::super::CheckKind::Card, date!(2026 - 11 - 21));
        invalid.verdict = Some(VerdictKind::Invalid);
        let invalid = journal.record(invalid).expect("recorded");
        assert!(journal.abandon(invalid).expect("abandon"));
        assert_eq!(status(invalid), CheckStatus::Abandoned);
        // Taken up again and finished (② with the old numbers): done.
        let numbers = InsuranceNumbers {
            insurer_number: InsurerNumber::parse("06010391").expect("insurer"),
            symbol: Some("12".into()),
            number: "345".into(),
            branch: None,
        };
        journal
            .set_claim(
                invalid,
                ClaimStep::OldNumbers,
                &ReceiptHeader::with_numbers(ClaimStep::OldNumbers, &numbers),
            )
            .expect("claim");
        assert_eq!(status(invalid), CheckStatus::Done);
        // A queued check keeps its state; an unknown id is said.
        let mut outage = NewCheck::empty(super::super::CheckKind::Card, date!(2026 - 11 - 21));
        outage.verdict = Some(VerdictKind::Timeout);
        let outage = journal.record(outage).expect("recorded");
        assert!(!journal.abandon(outage).expect("abandon"));
        assert_eq!(status(outage), CheckStatus::Queued);
        assert!(journal.abandon(CheckId(999)).is_err());
    }

    #[test]
    fn a_choice_among_several_is_recorded_and_only_there() {
        let dir = tempfile::tempdir().expect("tmp");
        let journal = Journal::open(&dir.path().join("j.sqlite3")).expect("journal");
        let mut several = NewCheck::empty(super::super::CheckKind::Card, date!(2026 - 11 - 21));
        several.verdict = Some(VerdictKind::Several);
        let several = journal.record(several).expect("recorded");
        let mut valid = NewCheck::empty(super::super::CheckKind::Card, date!(2026 - 11 - 21));
        valid.verdict = Some(VerdictKind::Valid);
        let valid = journal.record(valid).expect("recorded");
        let chosen = Qualification {
            insurer_number: InsurerNumber::parse("39130059").ok(),
            number: Some("33334444".into()),
            name: Some("小林 翼".into()),
            birthdate: Some(date!(1940 - 01 - 01)),
            ..Default::default()
        };
        journal
            .choose_qualification(several, &chosen)
            .expect("chosen");
        let r = journal.reader().expect("reader").get(several).expect("get");
        assert_eq!(
            r.numbers.map(|n| n.insurer_number).as_deref(),
            Some("39130059")
        );
        assert_eq!(r.name.as_deref(), Some("小林 翼"));
        assert_eq!(r.birthdate, Some(date!(1940 - 01 - 01)));
        // A check that was not 複数該当 keeps the answer's numbers.
        assert!(journal.choose_qualification(valid, &chosen).is_err());
        // A record without numbers is no choice.
        assert!(journal
            .choose_qualification(several, &Qualification::default())
            .is_err());
    }
}
