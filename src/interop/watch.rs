//! The request-folder watcher (依頼フォルダの監視): takes each request file a receipt computer
//! drops in `req` exactly once, hands it to a [`RequestHandler`], and puts the answer in `res`
//! or the file aside in `rejected`.
//!
//! It knows folders, not XML: what a request means and what its answer says is the handler's.
//! What it guarantees, and why:
//!
//! - **Never half a file.** A receipt computer may write straight into `req` without a
//!   temporary name, so a file is taken only once its size and modification time have stayed
//!   the same for [`WatchOptions::settle`]. Hidden files and `*.partial` files (the temporary
//!   names of `onshi_files::write_atomic`) are never taken.
//! - **Exactly once, even with several desks on one folder.** A request is claimed by renaming
//!   it into `req/.claimed/<desk_id>/` (inside `req`, so the rename never crosses file systems
//!   even when `req` is its own share). The rename is atomic: the watcher whose rename fails
//!   with "not found" lost the race and leaves the request alone.
//! - **A claim whose owner died is taken back.** Right after claiming, the claimer sets the
//!   claimed file's modification time to "now" and refreshes it while it retries an answer, so
//!   that time is the claim's heartbeat. A claimed file of another desk whose time is older than
//!   [`WatchOptions::stale_claim`] is renamed into this desk's claim folder (the same atomic
//!   race) and handled. A restart of the same desk handles its own leftover claims at once: they
//!   were never answered, since the claim is removed right after the answer is written.
//! - **The handler is called once per request.** It journals the request, so an answer that
//!   cannot be written (disk full, share gone) is kept in memory with the claim and retried
//!   with backoff; the handler is not asked again. A handler that panics does not stop the
//!   watcher: the request is moved to `rejected` with the panic's message.
//! - **A vanished share is waited for.** Events do not cross SMB shares, so the folder is
//!   polled every [`WatchOptions::poll`] whatever happens; file-system events (the `notify`
//!   crate) only wake the loop early. A missing `req` is logged once, shown in
//!   [`WatchStatus`], and polled for at the same pace until it is back.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use onshi_files::{Access, ReadError};

use super::{Answer, RequestHandler};

/// The folder of requests a receipt computer drops (依頼), under the watched root.
pub const REQUEST_DIR: &str = "req";
/// The folder of answers the receipt computer picks up (結果), under the watched root.
pub const RESULT_DIR: &str = "res";
/// Where request files that get no answer are moved, each with a `.reason.txt` beside it.
pub const REJECTED_DIR: &str = "rejected";
/// The claim folder inside `req`: hidden, so receipt computers and other watchers skip it.
pub const CLAIM_DIR: &str = ".claimed";
/// The suffix of the note beside a rejected file.
pub const REASON_SUFFIX: &str = ".reason.txt";

/// The Japanese line for staff in every rejection note.
const REJECTED_NOTE_JA: &str =
    "この依頼ファイルは処理できませんでした。内容を確認し、レセコンから依頼し直してください。";

/// How the watcher behaves. The defaults suit a clinic's SMB share; tests shorten them.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// How often the folder is listed even without file-system events (SMB carries none).
    pub poll: Duration,
    /// How long a request's size and modification time must stay unchanged before it is taken:
    /// a receipt computer may write straight into `req` without a temporary name.
    pub settle: Duration,
    /// Larger request files are rejected unread (a request is a few kilobytes; a batch of a
    /// day's appointments well under a megabyte).
    pub max_bytes: u64,
    /// This watcher's name among the desks sharing the folder: its claim folder. Must be
    /// unique among watchers running at once on one folder; one path component, not hidden.
    pub desk_id: String,
    /// A claim of another desk untouched this long is taken back (its owner died). Must be well
    /// above [`Self::retry_max`], since a live owner refreshes its claims when it retries.
    pub stale_claim: Duration,
    /// First wait before retrying an answer that could not be written.
    pub retry_initial: Duration,
    /// Longest wait between retries (the wait doubles up to this).
    pub retry_max: Duration,
    /// Whether to listen to file-system events at all (polling runs regardless).
    pub events: bool,
    /// Where the watcher reports its state for the desk.
    pub status: StatusBoard,
}

impl WatchOptions {
    /// The options `[interop]` sets (the rest are the defaults).
    pub fn from_config(config: &crate::config::InteropConfig) -> WatchOptions {
        WatchOptions {
            poll: config.poll,
            settle: config.settle,
            max_bytes: config.max_request_bytes as u64,
            desk_id: config.desk_id.clone(),
            stale_claim: config.stale_claim,
            ..WatchOptions::default()
        }
    }
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(500),
            settle: Duration::from_millis(200),
            max_bytes: 4 * 1024 * 1024,
            desk_id: crate::config::default_desk_id(),
            stale_claim: Duration::from_secs(10 * 60),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            events: true,
            status: StatusBoard::default(),
        }
    }
}

/// Why the watcher could not start. Once running it never fails: every trouble is logged,
/// shown in [`WatchStatus`] and retried.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The desk id cannot name a claim folder.
    #[error("desk id {0:?} is not a single visible path component")]
    InvalidDeskId(String),
    /// A zero poll or retry interval would spin the CPU.
    #[error("{0} must be longer than zero")]
    ZeroInterval(&'static str),
    /// The watcher thread could not be started.
    #[error("cannot start the watcher thread: {0}")]
    Thread(io::Error),
    /// The watcher thread panicked (a bug; the watcher itself has no panicking paths).
    #[error("the watcher thread panicked")]
    Panicked,
}

/// Stops a running watcher. Clones share one signal; [`Shutdown::trigger`] wakes the loop at
/// once, whatever it is waiting for.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    signal: Arc<Signal>,
}

#[derive(Debug, Default)]
struct Signal {
    state: Mutex<SignalState>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct SignalState {
    stopped: bool,
    /// Bumped by every file-system event; the loop compares it with the value it last saw.
    nudges: u64,
}

impl Shutdown {
    /// A signal not yet triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every watcher using this signal to stop, and wakes them.
    pub fn trigger(&self) {
        self.signal.lock().stopped = true;
        self.signal.wake.notify_all();
    }

    /// Whether [`Self::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        self.signal.lock().stopped
    }
}

impl Signal {
    fn lock(&self) -> MutexGuard<'_, SignalState> {
        // A poisoned lock only means a panic elsewhere while holding two plain fields.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn nudge(&self) {
        let mut s = self.lock();
        s.nudges = s.nudges.wrapping_add(1);
        drop(s);
        self.wake.notify_all();
    }

    fn nudges(&self) -> u64 {
        self.lock().nudges
    }

    /// Waits until stopped, nudged since `seen`, or `timeout` passed. Returns whether stopped.
    fn wait(&self, seen: u64, timeout: Duration) -> bool {
        // A deadline past what `Instant` can hold is as good as none: a year.
        let now = Instant::now();
        let deadline = now
            .checked_add(timeout)
            .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600)))
            .unwrap_or(now);
        let mut s = self.lock();
        loop {
            if s.stopped {
                return true;
            }
            if s.nudges != seen {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            s = match self.wake.wait_timeout(s, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

/// What the watcher is doing, for the desk's status line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum WatchState {
    /// Not yet looked at the folder.
    #[default]
    Starting,
    /// `req` is there and watched.
    Watching,
    /// `req` is missing or unreadable (an unmounted share) since this time.
    FolderMissing { since: SystemTime },
    /// Stopped by its [`Shutdown`].
    Stopped,
}

/// The watcher's state and counts, as the desk shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchStatus {
    pub state: WatchState,
    /// Whether file-system events are active (else polling only).
    pub events: bool,
    /// Requests handed to the handler.
    pub handled: u64,
    /// Answers written to `res`.
    pub answered: u64,
    /// Requests moved to `rejected`.
    pub rejected: u64,
    /// Answers kept in memory because `res` could not be written; retried.
    pub pending: usize,
    /// Failed attempts to write an answer or move a reject.
    pub write_failures: u64,
    /// Looks at the folder so far (polls and event wake-ups), for support: a share that
    /// vanished is still being polled.
    pub passes: u64,
    /// The last trouble, in precise English (for the log and the support line).
    pub last_error: Option<String>,
    pub last_error_at: Option<SystemTime>,
}

impl WatchStatus {
    /// One line for the desk, in Japanese (the time of a missing folder is the app's to show).
    pub fn summary_ja(&self) -> String {
        let state = match self.state {
            WatchState::Starting => "開始中",
            WatchState::Watching if self.pending > 0 => "結果を書き込めません（再試行中）",
            WatchState::Watching => "監視中",
            WatchState::FolderMissing { .. } => "共有フォルダが見つかりません（待機中）",
            WatchState::Stopped => "停止",
        };
        format!(
            "レセコン連携: {state}（回答 {} 件・除外 {} 件・保留 {} 件）",
            self.answered, self.rejected, self.pending
        )
    }
}

/// A shared view of one watcher's [`WatchStatus`]: the watcher writes, the desk reads.
#[derive(Clone, Debug, Default)]
pub struct StatusBoard(Arc<Mutex<WatchStatus>>);

impl StatusBoard {
    /// A copy of the current status.
    pub fn snapshot(&self) -> WatchStatus {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, WatchStatus> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut WatchStatus)) {
        f(&mut self.lock());
    }

    fn error(&self, message: String) {
        self.update(|s| {
            s.last_error = Some(message);
            s.last_error_at = Some(SystemTime::now());
        });
    }
}

/// A watcher running on its own thread. Dropping it (or [`WatchHandle::stop`]) stops the
/// watcher and waits for its thread.
#[derive(Debug)]
pub struct WatchHandle {
    shutdown: Shutdown,
    status: StatusBoard,
    thread: Option<JoinHandle<Result<(), WatchError>>>,
}

impl WatchHandle {
    /// The watcher's state for the desk.
    pub fn status(&self) -> WatchStatus {
        self.status.snapshot()
    }

    /// The board the watcher writes to (to hand to the desk).
    pub fn status_board(&self) -> StatusBoard {
        self.status.clone()
    }

    /// Stops the watcher and waits for its thread; returns what [`serve`] returned.
    pub fn stop(mut self) -> Result<(), WatchError> {
        self.join()
    }

    fn join(&mut self) -> Result<(), WatchError> {
        self.shutdown.trigger();
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| WatchError::Panicked)?,
            None => Ok(()),
        }
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        if let Err(e) = self.join() {
            tracing::error!(error = %e, "request-folder watcher ended with an error");
        }
    }
}

/// Runs [`serve`] on a thread of its own.
pub fn spawn(
    folder: &Path,
    handler: Arc<dyn RequestHandler>,
    options: WatchOptions,
) -> Result<WatchHandle, WatchError> {
    validate(&options)?;
    let shutdown = Shutdown::new();
    let status = options.status.clone();
    let folder = folder.to_path_buf();
    let stop = shutdown.clone();
    let thread = std::thread::Builder::new()
        .name("interop-watch".to_owned())
        .spawn(move || serve(&folder, handler, &options, &stop))
        .map_err(WatchError::Thread)?;
    Ok(WatchHandle {
        shutdown,
        status,
        thread: Some(thread),
    })
}

fn validate(options: &WatchOptions) -> Result<(), WatchError> {
    let id = options.desk_id.as_str();
    let bad = id.is_empty()
        || id.starts_with('.')
        || id.len() > 128
        || id
            .chars()
            .any(|c| matches!(c, '/' | '\\' | ':') || c.is_control());
    if bad {
        return Err(WatchError::InvalidDeskId(options.desk_id.clone()));
    }
    if options.poll.is_zero() {
        return Err(WatchError::ZeroInterval("poll"));
    }
    if options.retry_initial.is_zero() {
        return Err(WatchError::ZeroInterval("retry_initial"));
    }
    Ok(())
}

/// Watches `folder` (the root holding `req`, `res` and `rejected`) until `shutdown` is
/// triggered, answering requests with `handler`.
///
/// Missing `req`, `res` and `rejected` are created at start when `folder` exists. After that
/// `req` is never created: a missing `req` means the share is gone (an unmounted share leaves an
/// empty mount point, and folders made there would be hidden under the share once it is back),
/// so the watcher waits for it. Returns an error only for invalid options.
pub fn serve(
    folder: &Path,
    handler: Arc<dyn RequestHandler>,
    options: &WatchOptions,
    shutdown: &Shutdown,
) -> Result<(), WatchError> {
    validate(options)?;
    let mut watcher = Watcher::new(folder, handler, options, shutdown);
    watcher.create_folders_at_start();
    loop {
        let seen = shutdown.signal.nudges();
        watcher.pass();
        if shutdown.is_triggered() {
            break;
        }
        let wait = watcher.next_wait();
        if shutdown.signal.wait(seen, wait) {
            break;
        }
    }
    options.status.update(|s| s.state = WatchState::Stopped);
    tracing::info!(folder = %folder.display(), "request-folder watcher stopped");
    Ok(())
}

/// An answer or a rejection that could not be put in place yet, with its claimed file.
struct Pending {
    claimed: PathBuf,
    outcome: Outcome,
    attempts: u32,
    next_try: Instant,
}

enum Outcome {
    Answer(Answer),
    Reject(String),
}

/// What one sighting of a request file looked like, to tell when it has settled.
struct Sighting {
    len: u64,
    modified: Option<SystemTime>,
    since: Instant,
}

struct Watcher<'a> {
    root: PathBuf,
    req: PathBuf,
    res: PathBuf,
    rejected: PathBuf,
    claims: PathBuf,
    own_claims: PathBuf,
    handler: Arc<dyn RequestHandler>,
    options: &'a WatchOptions,
    shutdown: &'a Shutdown,
    sightings: HashMap<String, Sighting>,
    /// Keyed by the request's file name (its name in the claim folder).
    pending: HashMap<String, Pending>,
    /// Claimed files answered whose removal failed: removed again, never handled again.
    unremoved: HashSet<String>,
    events: Option<notify::RecommendedWatcher>,
    events_failed: bool,
    missing: bool,
    last_trouble: RefCell<Option<String>>,
}

impl<'a> Watcher<'a> {
    fn new(
        folder: &Path,
        handler: Arc<dyn RequestHandler>,
        options: &'a WatchOptions,
        shutdown: &'a Shutdown,
    ) -> Self {
        let req = folder.join(REQUEST_DIR);
        let claims = req.join(CLAIM_DIR);
        Self {
            root: folder.to_path_buf(),
            res: folder.join(RESULT_DIR),
            rejected: folder.join(REJECTED_DIR),
            own_claims: claims.join(&options.desk_id),
            claims,
            req,
            handler,
            options,
            shutdown,
            sightings: HashMap::new(),
            pending: HashMap::new(),
            unremoved: HashSet::new(),
            events: None,
            events_failed: false,
            missing: false,
            last_trouble: RefCell::new(None),
        }
    }

    fn create_folders_at_start(&self) {
        if !self.root.is_dir() {
            return; // Waited for in `pass`, like a share that vanished later.
        }
        for dir in [&self.req, &self.res, &self.rejected] {
            if let Err(e) = std::fs::create_dir_all(dir) {
                self.trouble(format!("cannot create {}: {e}", dir.display()));
            }
        }
    }

    /// How long the loop may sleep: the poll interval, or less when a request settles or a
    /// retry falls due sooner.
    fn next_wait(&self) -> Duration {
        let now = Instant::now();
        let mut wait = self.options.poll;
        for s in self.sightings.values() {
            let due = s.since + self.options.settle;
            wait = wait.min(due.saturating_duration_since(now));
        }
        for p in self.pending.values() {
            wait = wait.min(p.next_try.saturating_duration_since(now));
        }
        // Never a busy loop, even when something is already due.
        wait.max(Duration::from_millis(5))
    }

    fn pass(&mut self) {
        self.options.status.update(|s| s.passes += 1);
        if !self.req_present() {
            return;
        }
        self.retry_pending();
        self.remove_unremoved();
        if let Err(e) = std::fs::create_dir_all(&self.own_claims) {
            self.trouble(format!(
                "cannot create the claim folder {}: {e}",
                self.own_claims.display()
            ));
            return;
        }
        self.handle_own_leftovers();
        self.take_back_stale_claims();
        self.take_settled_requests();
    }

    /// Whether `req` is there; logs the change once when it vanishes or comes back.
    fn req_present(&mut self) -> bool {
        let present = self.req.is_dir();
        if present && self.missing {
            self.missing = false;
            *self.last_trouble.borrow_mut() = None;
            tracing::info!(folder = %self.req.display(), "request folder is back; watching again");
        }
        if !present {
            if !self.missing {
                self.missing = true;
                self.events = None;
                self.sightings.clear();
                tracing::warn!(
                    folder = %self.req.display(),
                    "request folder is missing (share unmounted?); polling until it is back"
                );
                let since = SystemTime::now();
                self.options.status.update(|s| {
                    s.state = WatchState::FolderMissing { since };
                    s.events = false;
                    s.last_error = Some(format!("{} is missing", self.req.display()));
                    s.last_error_at = Some(since);
                });
            }
            return false;
        }
        if self.events.is_none() && self.options.events && !self.events_failed {
            self.start_events();
        }
        let events = self.events.is_some();
        self.options.status.update(|s| {
            s.state = WatchState::Watching;
            s.events = events;
        });
        true
    }

    fn start_events(&mut self) {
        use notify::Watcher as _;
        let signal = Arc::clone(&self.shutdown.signal);
        let made = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                if wakes(&event) {
                    signal.nudge();
                }
            }
        });
        let started = made.and_then(|mut w| {
            w.watch(&self.req, notify::RecursiveMode::NonRecursive)
                .map(|()| w)
        });
        match started {
            Ok(w) => self.events = Some(w),
            Err(e) => {
                // Out of inotify watches, or a file system without events: polling does it all.
                self.events_failed = true;
                tracing::warn!(folder = %self.req.display(), error = %e, "no file-system events; polling only");
            }
        }
    }

    /// Files of this desk's claim folder not being retried: claims of an earlier run of this
    /// desk that never got an answer, or claims whose reading failed last time.
    fn handle_own_leftovers(&mut self) {
        for name in self.list_files(&self.own_claims.clone()) {
            if self.shutdown.is_triggered() {
                return;
            }
            if self.pending.contains_key(&name) || self.unremoved.contains(&name) {
                continue;
            }
            tracing::info!(file = %name, "handling a claim left unanswered by an earlier run");
            self.process(&name);
        }
    }

    fn take_back_stale_claims(&mut self) {
        let Ok(desks) = std::fs::read_dir(&self.claims) else {
            return;
        };
        let now = SystemTime::now();
        for desk in desks.flatten() {
            let dir = desk.path();
            if dir == self.own_claims || !dir.is_dir() {
                continue;
            }
            for name in self.list_files(&dir) {
                let from = dir.join(&name);
                let Ok(modified) = std::fs::symlink_metadata(&from).and_then(|m| m.modified())
                else {
                    continue;
                };
                let stale = now
                    .duration_since(modified)
                    .is_ok_and(|age| age >= self.options.stale_claim);
                if !stale || self.pending.contains_key(&name) {
                    continue;
                }
                if self.claim(&from, &name) {
                    tracing::warn!(
                        file = %name,
                        owner = %desk.file_name().to_string_lossy(),
                        "took back a stale claim of another desk"
                    );
                    self.process(&name);
                }
            }
        }
    }

    fn take_settled_requests(&mut self) {
        let entries = match std::fs::read_dir(&self.req) {
            Ok(entries) => entries,
            // Vanished since the check: the next pass notices.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => {
                self.trouble(format!("cannot list {}: {e}", self.req.display()));
                return;
            }
        };
        let now = Instant::now();
        let mut present = HashSet::new();
        let mut ready = Vec::new();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if ignored(&name) || !self.handler.accepts(&name) {
                continue;
            }
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                continue;
            }
            present.insert(name.clone());
            let (len, modified) = (meta.len(), meta.modified().ok());
            match self.sightings.get_mut(&name) {
                Some(s) if s.len == len && s.modified == modified => {
                    if now.duration_since(s.since) >= self.options.settle {
                        ready.push((modified, name));
                    }
                }
                Some(s) => {
                    *s = Sighting {
                        len,
                        modified,
                        since: now,
                    }
                }
                None => {
                    self.sightings.insert(
                        name,
                        Sighting {
                            len,
                            modified,
                            since: now,
                        },
                    );
                }
            }
        }
        self.sightings.retain(|name, _| present.contains(name));
        // Oldest first, so a burst is answered in the order the receipt computer wrote it.
        ready.sort();
        for (_, name) in ready {
            if self.shutdown.is_triggered() {
                return;
            }
            // The same name again before the last one was answered waits for that answer.
            let busy = self.pending.contains_key(&name) || self.unremoved.contains(&name);
            if !busy && self.claim(&self.req.join(&name), &name) {
                self.sightings.remove(&name);
                self.process(&name);
            } else if let Some(s) = self.sightings.get_mut(&name) {
                // Not taken now (or taken by another watcher: then gone by the next pass).
                // Look again at the poll's pace, not the settle's: no busy loop with settle 0.
                let now = Instant::now();
                s.since = now.checked_add(self.options.poll).unwrap_or(now);
            }
        }
    }

    /// Renames `from` into this desk's claim folder. False when another watcher was first.
    fn claim(&mut self, from: &Path, name: &str) -> bool {
        let to = self.own_claims.join(name);
        match std::fs::rename(from, &to) {
            Ok(()) => {
                touch(&to);
                true
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::debug!(file = %name, "request taken by another watcher");
                false
            }
            Err(e) => {
                self.trouble(format!("cannot claim {}: {e}", from.display()));
                false
            }
        }
    }

    /// Reads a claimed request, asks the handler, and puts the outcome in place.
    fn process(&mut self, name: &str) {
        let claimed = self.own_claims.join(name);
        let outcome = match self.read_claimed(&claimed) {
            Ok(bytes) => self.ask_handler(name, &bytes),
            Err(Some(reason)) => Outcome::Reject(reason),
            Err(None) => return,
        };
        let pending = Pending {
            claimed,
            outcome,
            attempts: 0,
            next_try: Instant::now(),
        };
        self.settle_outcome(name.to_owned(), pending);
    }

    /// The claimed file's bytes; `Err(Some(reason))` to reject it, `Err(None)` when it cannot
    /// be read now (tried again on a later pass, or gone: taken back by another desk).
    fn read_claimed(&self, claimed: &Path) -> Result<Vec<u8>, Option<String>> {
        match std::fs::symlink_metadata(claimed) {
            Ok(m) if !m.is_file() => {
                return Err(Some(
                    "not a regular file (a link, device or FIFO)".to_owned(),
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(None),
            Err(e) => {
                self.trouble(format!("cannot read {}: {e}", claimed.display()));
                return Err(None);
            }
        }
        match onshi_files::read_limited(claimed, self.options.max_bytes) {
            Ok(bytes) => Ok(bytes),
            Err(e @ (ReadError::TooLarge { .. } | ReadError::NotRegular { .. })) => {
                Err(Some(e.into_io_error().to_string()))
            }
            Err(e) if e.io_kind() == Some(io::ErrorKind::NotFound) => Err(None),
            Err(e) => {
                self.trouble(format!("cannot read {e}"));
                Err(None)
            }
        }
    }

    fn ask_handler(&self, name: &str, bytes: &[u8]) -> Outcome {
        self.options.status.update(|s| s.handled += 1);
        let handler = &self.handler;
        match catch_unwind(AssertUnwindSafe(|| handler.handle(name, bytes))) {
            Ok(Ok(answer)) if safe_result_name(&answer.file_name) => Outcome::Answer(answer),
            Ok(Ok(answer)) => Outcome::Reject(format!(
                "the handler named its result {:?}, which is not a plain file name",
                answer.file_name
            )),
            Ok(Err(rejection)) => Outcome::Reject(rejection.reason),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                tracing::error!(file = %name, panic = %message, "request handler panicked");
                Outcome::Reject(format!("the request handler panicked: {message}"))
            }
        }
    }

    /// Writes the answer (or moves the reject); on failure keeps it for a retry with backoff.
    fn settle_outcome(&mut self, name: String, mut pending: Pending) {
        let result = match &pending.outcome {
            Outcome::Answer(answer) => self.write_answer(&pending.claimed, answer),
            Outcome::Reject(reason) => self.move_to_rejected(&pending.claimed, &name, reason),
        };
        match result {
            Ok(()) => {
                match &pending.outcome {
                    Outcome::Answer(a) => {
                        tracing::info!(request = %name, result = %a.file_name, "request answered");
                        self.options.status.update(|s| s.answered += 1);
                    }
                    Outcome::Reject(reason) => {
                        tracing::warn!(request = %name, reason = %reason, "request rejected");
                        self.options.status.update(|s| s.rejected += 1);
                    }
                }
                self.pending.remove(&name);
            }
            Err(e) => {
                pending.attempts = pending.attempts.saturating_add(1);
                let wait = backoff(
                    self.options.retry_initial,
                    self.options.retry_max,
                    pending.attempts,
                );
                pending.next_try = Instant::now() + wait;
                tracing::warn!(
                    request = %name,
                    attempt = pending.attempts,
                    retry_in_ms = wait.as_millis() as u64,
                    error = %e,
                    "outcome not written; kept in memory and retried"
                );
                self.options.status.update(|s| {
                    s.write_failures += 1;
                    s.last_error = Some(format!("{name}: {e}"));
                    s.last_error_at = Some(SystemTime::now());
                });
                self.pending.insert(name, pending);
            }
        }
        let count = self.pending.len();
        self.options.status.update(|s| s.pending = count);
    }

    fn write_answer(&mut self, claimed: &Path, answer: &Answer) -> io::Result<()> {
        if std::fs::symlink_metadata(&self.res).is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
        {
            // `req` is there, so the share is: a missing `res` was never made or was removed.
            std::fs::create_dir_all(&self.res)?;
        }
        let target = self.res.join(&answer.file_name);
        onshi_files::write_atomic(&target, &answer.bytes, Access::Shared)?;
        self.remove_claim(claimed);
        Ok(())
    }

    fn move_to_rejected(&mut self, claimed: &Path, name: &str, reason: &str) -> io::Result<()> {
        std::fs::create_dir_all(&self.rejected)?;
        let target = free_name(&self.rejected, name);
        std::fs::rename(claimed, &target)?;
        let note_path = PathBuf::from(format!("{}{REASON_SUFFIX}", target.display()));
        let note = rejection_note(name, &self.options.desk_id, reason);
        if let Err(e) = onshi_files::write_atomic(&note_path, note.as_bytes(), Access::Shared) {
            // The request is already aside; the reason is in the log and the status.
            self.trouble(format!("cannot write {}: {e}", note_path.display()));
        }
        Ok(())
    }

    fn remove_claim(&mut self, claimed: &Path) {
        match std::fs::remove_file(claimed) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                self.trouble(format!(
                    "answered, but cannot remove the claim {}: {e}",
                    claimed.display()
                ));
                if let Some(name) = claimed.file_name() {
                    self.unremoved.insert(name.to_string_lossy().into_owned());
                }
            }
        }
    }

    fn remove_unremoved(&mut self) {
        let names: Vec<String> = self.unremoved.iter().cloned().collect();
        for name in names {
            let path = self.own_claims.join(&name);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {}
                _ => {
                    self.unremoved.remove(&name);
                }
            }
        }
    }

    fn retry_pending(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.next_try <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            let Some(pending) = self.pending.remove(&name) else {
                continue;
            };
            // The claim is the heartbeat: refreshed while retrying, so no other desk takes it
            // back. If it is gone, another desk took it back and answers it.
            if !touch(&pending.claimed) && !pending.claimed.exists() && self.req.is_dir() {
                tracing::warn!(request = %name, "claim taken back by another desk; dropping this desk's answer");
                continue;
            }
            self.settle_outcome(name, pending);
        }
        let count = self.pending.len();
        self.options.status.update(|s| s.pending = count);
    }

    /// Names of the regular, non-hidden files in `dir`.
    fn list_files(&self, dir: &Path) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !ignored(n))
            .collect();
        names.sort();
        names
    }

    /// Logs a trouble once while it lasts (the same message on every pass would flood the
    /// log of a desk whose share is misconfigured) and shows it in the status.
    fn trouble(&self, message: String) {
        let mut last = self.last_trouble.borrow_mut();
        if last.as_deref() == Some(message.as_str()) {
            tracing::debug!(folder = %self.root.display(), "{message}");
        } else {
            tracing::warn!(folder = %self.root.display(), "{message}");
            *last = Some(message.clone());
        }
        self.options.status.error(message);
    }
}

/// Hidden files and `.partial` files are never requests: temporary names of writers (ours
/// and a receipt computer's) and the claim folder.
fn ignored(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(".partial")
}

/// Which file-system events may mean a new or finished request (not removals or renames out:
/// those are mostly this watcher's own claims).
fn wakes(event: &notify::Event) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
    let kind = matches!(
        event.kind,
        EventKind::Create(_)
            | EventKind::Any
            | EventKind::Other
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    ) || matches!(event.kind, EventKind::Modify(m) if m != ModifyKind::Name(RenameMode::From));
    kind && event.paths.iter().any(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| !ignored(n))
    })
}

/// A result name the handler may use: one visible path component.
fn safe_result_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with(".partial")
        && !name
            .chars()
            .any(|c| matches!(c, '/' | '\\') || c.is_control())
}

/// Sets a file's modification time to now; false if it could not.
fn touch(path: &Path) -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()))
        .is_ok()
}

/// The wait before retry number `attempts` (1-based): doubling from `initial`, at most `max`.
fn backoff(initial: Duration, max: Duration, attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(16);
    initial.saturating_mul(factor).min(max.max(initial))
}

/// `dir/name`, or `dir/name.1`, `.2`… when a rejected file of that name is already there
/// (a receipt computer may reuse an identifier; the earlier evidence is kept).
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if std::fs::symlink_metadata(&first).is_err() {
        return first;
    }
    (1u32..)
        .map(|n| dir.join(format!("{name}.{n}")))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .unwrap_or(first)
}

/// The note written beside a rejected request: the precise reason in English, then a line for
/// staff in Japanese.
fn rejection_note(name: &str, desk_id: &str, reason: &str) -> String {
    let at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    format!(
        "request: {name}\nrejected by: onshi-desk on desk {desk_id} at {at}\nreason: {reason}\n\n\
         {REJECTED_NOTE_JA}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_and_partial_names_are_ignored() {
        assert!(ignored(".OQSsiquc01req_1.xml"));
        assert!(ignored(".OQSsiquc01req_1.xml.123-0.partial"));
        assert!(ignored("OQSsiquc01req_1.xml.partial"));
        assert!(ignored(CLAIM_DIR));
        assert!(!ignored("OQSsiquc01req_1.xml"));
    }

    #[test]
    fn only_arrivals_of_visible_files_wake_the_loop() {
        use notify::event::{CreateKind, EventKind, ModifyKind, RemoveKind, RenameMode};
        let event = |kind, name: &str| {
            notify::Event::new(kind).add_path(PathBuf::from("/oqs/req").join(name))
        };
        let visible = "OQSsiquc01req_1.xml";
        assert!(wakes(&event(EventKind::Create(CreateKind::File), visible)));
        assert!(wakes(&event(
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            visible
        )));
        assert!(wakes(&event(EventKind::Modify(ModifyKind::Any), visible)));
        // A claim renames the request out of `req`; a result removes nothing there.
        assert!(!wakes(&event(
            EventKind::Modify(ModifyKind::Name(RenameMode::From)),
            visible
        )));
        assert!(!wakes(&event(EventKind::Remove(RemoveKind::File), visible)));
        // A writer's temporary file and the claim folder itself.
        assert!(!wakes(&event(
            EventKind::Create(CreateKind::File),
            ".OQSsiquc01req_1.xml.7-0.partial"
        )));
        assert!(!wakes(&event(
            EventKind::Modify(ModifyKind::Any),
            CLAIM_DIR
        )));
    }

    #[test]
    fn result_names_must_be_one_visible_component() {
        assert!(safe_result_name("OQSsiquc01res_1.xml"));
        for bad in [
            "",
            "../x.xml",
            "a/b.xml",
            "a\\b.xml",
            ".hidden",
            "x.partial",
        ] {
            assert!(!safe_result_name(bad), "{bad}");
        }
    }

    #[test]
    fn desk_ids_name_one_visible_folder() {
        let with = |id: &str| WatchOptions {
            desk_id: id.to_owned(),
            ..WatchOptions::default()
        };
        assert!(validate(&with("reception-1")).is_ok());
        for bad in ["", ".", "..", ".x", "a/b", "a\\b", "c:", "a\nb"] {
            assert!(
                matches!(validate(&with(bad)), Err(WatchError::InvalidDeskId(_))),
                "{bad:?}"
            );
        }
        assert!(!crate::config::default_desk_id().is_empty());
        assert!(validate(&with(&crate::config::default_desk_id())).is_ok());
    }

    #[test]
    fn zero_intervals_are_refused() {
        let options = WatchOptions {
            poll: Duration::ZERO,
            ..WatchOptions::default()
        };
        assert!(matches!(
            validate(&options),
            Err(WatchError::ZeroInterval("poll"))
        ));
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let (i, m) = (Duration::from_secs(1), Duration::from_secs(60));
        let waits: Vec<u64> = (1..=8).map(|a| backoff(i, m, a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(i, m, u32::MAX), m);
    }

    #[test]
    fn rejected_names_never_overwrite_earlier_evidence() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(free_name(dir.path(), "a.xml"), dir.path().join("a.xml"));
        std::fs::write(dir.path().join("a.xml"), b"1").expect("write");
        std::fs::write(dir.path().join("a.xml.1"), b"2").expect("write");
        assert_eq!(free_name(dir.path(), "a.xml"), dir.path().join("a.xml.2"));
    }

    #[test]
    fn the_note_gives_the_reason_and_a_line_for_staff() {
        let note = rejection_note("OQSsiquc01req_1.xml", "desk-a", "not XML");
        assert!(note.contains("reason: not XML"));
        assert!(note.contains("desk-a"));
        assert!(note.contains(REJECTED_NOTE_JA));
    }

    #[test]
    fn a_trigger_wakes_a_long_wait() {
        let shutdown = Shutdown::new();
        let other = shutdown.clone();
        let t = std::thread::spawn(move || other.signal.wait(0, Duration::from_secs(3600)));
        shutdown.trigger();
        assert!(t.join().expect("join"));
        assert!(shutdown.is_triggered());
    }

    #[test]
    fn a_nudge_ends_a_wait_without_stopping() {
        let shutdown = Shutdown::new();
        let seen = shutdown.signal.nudges();
        shutdown.signal.nudge();
        assert!(!shutdown.signal.wait(seen, Duration::from_secs(3600)));
    }

    #[test]
    fn the_desk_line_is_japanese() {
        let status = WatchStatus {
            state: WatchState::Watching,
            answered: 3,
            ..WatchStatus::default()
        };
        assert_eq!(
            status.summary_ja(),
            "レセコン連携: 監視中（回答 3 件・除外 0 件・保留 0 件）"
        );
    }
}
