//! The single writer: one thread owning the write connection, fed by a channel.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::query::JournalReader;
use super::{schema, CheckId, CheckNumbers, CheckStatus, JournalError, NewCheck};
use crate::domain::claim::plan::ClaimStep;
use crate::domain::claim::receipt::ReceiptHeader;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// How to open the journal. `Default` is what the desk uses.
#[derive(Clone, Debug)]
pub struct JournalOptions {
    /// How long a write waits for another process holding the file (e.g. a CLI purge).
    pub busy_timeout: Duration,
    /// Test hook: caps the file at this many pages (`PRAGMA max_page_count`) to simulate a
    /// full disk.
    #[doc(hidden)]
    pub max_page_count: Option<u32>,
    /// Test hook: refuses every write (`PRAGMA query_only`), like a read-only medium.
    #[doc(hidden)]
    pub query_only: bool,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions {
            busy_timeout: Duration::from_secs(5),
            max_page_count: None,
            query_only: false,
        }
    }
}

struct Inner {
    tx: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    path: PathBuf,
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

pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Opens a connection with the journal's settings.
pub(crate) fn connect(
    path: &Path,
    flags: OpenFlags,
    options: &JournalOptions,
) -> Result<Connection, JournalError> {
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| match JournalError::from(e) {
            JournalError::Other(detail) => JournalError::CannotOpen {
                path: path.to_owned(),
                detail,
            },
            other => other,
        })?;
    conn.busy_timeout(options.busy_timeout)?;
    Ok(conn)
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` with the desk's settings.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        Journal::open_with(path, JournalOptions::default())
    }

    /// Opens the journal: creates the folder and file, sets WAL and `synchronous = FULL`,
    /// migrates the schema, and starts the writer thread.
    pub fn open_with(path: &Path, options: JournalOptions) -> Result<Journal, JournalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| JournalError::CannotOpen {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        }
        let mut conn = connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            &options,
        )?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(JournalError::Other(format!(
                "journal_mode is {mode}, WAL refused"
            )));
        }
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        schema::migrate(&mut conn)?;
        if let Some(pages) = options.max_page_count {
            let _: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                r.get(0)
            })?;
        }
        if options.query_only {
            conn.execute_batch("PRAGMA query_only = 1")?;
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || {
                let mut conn = conn;
                for job in rx {
                    job(&mut conn);
                }
                // A clean close checkpoints the WAL into the main file.
                let _ = conn.close();
            })
            .map_err(|e| JournalError::Other(format!("cannot start the writer thread: {e}")))?;
        Ok(Journal {
            inner: Arc::new(Inner {
                tx: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
                path: path.to_owned(),
            }),
        })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A new read-only connection for queries and reports (one per thread that reads).
    pub fn reader(&self) -> Result<JournalReader, JournalError> {
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
        let job: Job = Box::new(move |conn| {
            let _ = reply.send(f(conn));
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
    /// path). An unknown receipt (7s) queues the check for 事後確認.
    pub fn set_claim(
        &self,
        id: CheckId,
        step: ClaimStep,
        receipt: &ReceiptHeader,
    ) -> Result<(), JournalError> {
        let json = serde_json::to_string(receipt)?;
        let insurer = receipt.insurer_number.clone();
        let unknown = super::is_unknown_insurer(&insurer);
        let step = step_text(step)?;
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE checks SET claim_step = ?2, receipt_json = ?3, receipt_insurer = ?4,
                     status = CASE WHEN ?5 AND status = 'done' THEN 'queued' ELSE status END
                 WHERE id = ?1",
                params![id.0, step, json, insurer, unknown],
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
                     birthdate = ?6, status = 'queued', attempts = 0, next_attempt_at = NULL,
                     conflict_detail = NULL
                 WHERE id = ?1 AND status IN ('queued', 'conflict', 'done')",
                params![
                    id.0,
                    numbers.insurer_number,
                    numbers.symbol,
                    numbers.number,
                    numbers.branch,
                    birthdate.to_string()
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
            let status: Option<String> = tx
                .query_row("SELECT status FROM checks WHERE id = ?1", [id.0], |r| {
                    r.get(0)
                })
                .optional()?;
            match status.as_deref() {
                None => return Err(JournalError::NotFound(id.0)),
                Some("queued" | "conflict") => {}
                Some(_) => return Err(JournalError::NotOpen(id.0)),
            }
            tx.execute(
                "UPDATE checks SET status = 'done', certificate_serial = NULL,
                     certificate_der = NULL, next_attempt_at = NULL, last_attempt_detail = ?2
                 WHERE id = ?1",
                params![id.0, note],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Deletes the records checked before `date`, except those still queued or in conflict
    /// (the claim needs them). Returns how many were deleted.
    pub fn purge_before(&self, date: Date) -> Result<usize, JournalError> {
        let date = date.to_string();
        self.call(move |conn| {
            Ok(conn.execute(
                "DELETE FROM checks WHERE check_date < ?1 AND status NOT IN ('queued', 'conflict')",
                [date],
            )?)
        })
    }

    /// Clears the certificate serial and DER of every check dated before `before` and of
    /// every check no longer queued (the retention rule). Returns how many were cleared.
    pub fn purge_certificates(&self, before: Date) -> Result<usize, JournalError> {
        let before = before.to_string();
        self.call(move |conn| {
            Ok(conn.execute(
                "UPDATE checks SET certificate_serial = NULL, certificate_der = NULL
                 WHERE (certificate_der IS NOT NULL OR certificate_serial IS NOT NULL)
                   AND (check_date < ?1 OR status <> 'queued')",
                [before],
            )?)
        })
    }
}

fn found(n: usize, id: CheckId) -> Result<(), JournalError> {
    if n == 0 {
        Err(JournalError::NotFound(id.0))
    } else {
        Ok(())
    }
}

pub(crate) fn step_text(step: ClaimStep) -> Result<String, JournalError> {
    match serde_json::to_value(step)? {
        serde_json::Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

fn enum_text<T: serde::Serialize>(value: &T) -> Result<String, JournalError> {
    match serde_json::to_value(value)? {
        serde_json::Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

fn insert(conn: &mut Connection, c: &NewCheck) -> Result<CheckId, JournalError> {
    let status = c.derived_status();
    let identity = c.identity.as_ref().map(enum_text).transpose()?;
    let verdict = c.verdict.as_ref().map(enum_text).transpose()?;
    let step = c.claim_step.map(step_text).transpose()?;
    let receipt = c.receipt.as_ref().map(serde_json::to_string).transpose()?;
    let printouts: Vec<String> = c
        .printouts
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    // The certificate is kept only for a check that waits for re-confirmation.
    let cert = c
        .certificate
        .as_ref()
        .filter(|_| status == CheckStatus::Queued);
    let n = c.numbers.as_ref();
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO checks (recorded_at, check_date, kind, identity, verdict, validity,
             insurer_number, symbol, number, branch, name, name_kana, birthdate, claim_step,
             receipt_json, receipt_insurer, printouts_json, status, certificate_serial,
             certificate_der)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20)",
        params![
            timestamp(c.at),
            c.check_date.to_string(),
            c.kind.as_str(),
            identity,
            verdict,
            c.validity,
            n.map(|n| n.insurer_number.as_str()),
            n.and_then(|n| n.symbol.as_deref()),
            n.map(|n| n.number.as_str()),
            n.and_then(|n| n.branch.as_deref()),
            c.name,
            c.name_kana,
            c.birthdate.map(|d| d.to_string()),
            step,
            receipt,
            c.receipt_insurer(),
            serde_json::to_string(&printouts)?,
            status.as_str(),
            cert.map(|c| c.serial_hex.as_str()),
            cert.map(|c| c.der.as_slice()),
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(CheckId(id))
}
