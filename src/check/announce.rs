//! Announcing finished checks to other programs (the receipt computer's `face` folder), decided
//! once for the desk app, `onshi-desk check` and 事後確認.
//!
//! The rule ([`announce`]):
//! - a check is announced **after** it is recorded (a file must never name a check the journal
//!   does not have), and the file the sink names is recorded on the check
//!   (`interop_file`);
//! - every verdict the service gave is announced, valid or not (有効, 無効, 該当なし, 複数該当,
//!   利用登録なし, 証明書失効, …): the receipt computer learns of every patient who was checked,
//!   as it does from the official 資格確認端末;
//! - a system failure (the service did not answer: unreachable, timeout, server error, an
//!   answer about somebody else) is **not** announced at the desk — the receipt computer would
//!   get nothing usable — it is announced when 事後確認 settles the check with a real verdict
//!   (`super::reconfirm`);
//! - a card that refused the PIN (or left the reader) made no check: nothing is recorded, so
//!   nothing is announced;
//! - each query is a check of its own: a 再照会 that got an answer is announced like the first
//!   query would have been;
//! - 複数該当 is announced once, as the service answered it (every candidate): staff's choice
//!   with the patient is journaled, not announced again, because a second file for the same
//!   check would reach the receipt computer as a second patient checked. How a receipt
//!   computer takes several candidates from `face` is unconfirmed by public sources; it is
//!   what the official terminal would hand over for the same answer.
//! - a sink that fails is logged and changes nothing else: the check is done and recorded
//!   whether or not the receipt computer got its file, and the missing file shows as an empty
//!   `interop_file`.
//!
//! The sink is given only the verdict ([`FinishedCheck`]): never the PIN, never the card's
//! certificate.
//!
//! At the desk the announcement must never hold up the screen: a sink writing to an SMB share
//! that went away can block for as long as the OS retries. [`Announcer`] therefore announces
//! on a thread of its own, in the order checks finished; the desk's worker hands the check over
//! and reports the verdict at once. With a share that answers, the file is written within
//! milliseconds of the verdict.

use std::sync::mpsc::{self, Sender};
use std::sync::Arc;

use time::{Date, OffsetDateTime};

use super::{CheckRecorder, FinishedCheck, ResultSink};
use crate::domain::Verdict;
use crate::journal::CheckId;

/// What [`announce`] did with one finished check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Announced {
    /// A system failure: not announced now; 事後確認 announces the check once it settles it.
    Deferred,
    /// The sink announces nothing (no receipt computer, or the interface is off).
    Off,
    /// The sink wrote this file; `recorded` says whether its name is on the check's record.
    File { name: String, recorded: bool },
    /// The sink failed (logged); the check stays recorded without a file.
    Failed,
}

impl Announced {
    /// The file written, if any.
    pub fn file(&self) -> Option<&str> {
        match self {
            Announced::File { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// Announces a check that is recorded (see the module's rule) and records the file's name on
/// it. Never fails: what went wrong is logged, and the check stays what it is.
pub fn announce(
    sink: &dyn ResultSink,
    journal: &dyn CheckRecorder,
    check: &FinishedCheck<'_>,
) -> Announced {
    let kind = check.verdict.kind;
    if kind.is_system_failure() {
        tracing::debug!(check = %check.id, verdict = ?kind, "system failure not announced; 事後確認 announces it");
        return Announced::Deferred;
    }
    match sink.announce(check) {
        Ok(None) => Announced::Off,
        Ok(Some(name)) => {
            let recorded = match journal.set_interop_file(check.id, &name) {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(check = %check.id, file = %name, error = %e, "result file written for the receipt computer but its name not recorded in the journal");
                    false
                }
            };
            tracing::info!(check = %check.id, file = %name, verdict = ?kind, "check announced to the receipt computer");
            Announced::File { name, recorded }
        }
        Err(why) => {
            tracing::error!(check = %check.id, verdict = ?kind, error = %why, "check not announced to the receipt computer; it stays recorded without a result file");
            Announced::Failed
        }
    }
}

/// A finished check owned, to be announced on another thread.
#[derive(Clone, Debug)]
pub struct Finished {
    pub id: CheckId,
    pub by_card: bool,
    pub on: Date,
    pub at: OffsetDateTime,
    pub verdict: Verdict,
}

impl Finished {
    /// The borrowed view the sink is given.
    pub fn view(&self) -> FinishedCheck<'_> {
        FinishedCheck {
            id: self.id,
            by_card: self.by_card,
            on: self.on,
            at: self.at,
            verdict: &self.verdict,
        }
    }
}

/// Announces checks on a thread of its own, one after the other in the order they were handed
/// over, so a sink that blocks (a dead share) never holds up the desk.
///
/// Dropping it lets the thread announce what was already handed over and end; checks still
/// queued when the program exits are not announced (their `interop_file` stays empty, as for a
/// failed write).
pub struct Announcer {
    queue: Option<Sender<Finished>>,
    sink: Arc<dyn ResultSink>,
    journal: Arc<dyn CheckRecorder>,
}

impl Announcer {
    /// Starts the announcing thread for `sink`, recording file names in `journal`. A thread
    /// that cannot be started is logged, and checks are then announced on the thread that
    /// hands them over (late rather than never).
    pub fn spawn(sink: Arc<dyn ResultSink>, journal: Arc<dyn CheckRecorder>) -> Announcer {
        let (queue, jobs) = mpsc::channel::<Finished>();
        let (thread_sink, thread_journal) = (sink.clone(), journal.clone());
        let spawned = std::thread::Builder::new()
            .name("onshi-announce".into())
            .spawn(move || {
                for job in jobs {
                    announce(thread_sink.as_ref(), thread_journal.as_ref(), &job.view());
                }
            });
        let queue = match spawned {
            Ok(_) => Some(queue),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the announcing thread; checks are announced by the desk's workers");
                None
            }
        };
        Announcer {
            queue,
            sink,
            journal,
        }
    }

    /// Where this announcer writes (for a check that must be announced with another recorder).
    pub fn sink(&self) -> &dyn ResultSink {
        self.sink.as_ref()
    }

    /// Hands `check` over to be announced; returns at once.
    pub fn hand_over(&self, check: Finished) {
        let check = match &self.queue {
            Some(queue) => match queue.send(check) {
                Ok(()) => return,
                Err(mpsc::SendError(check)) => {
                    tracing::error!(check = %check.id, "announcing thread gone; announcing on this thread");
                    check
                }
            },
            None => check,
        };
        announce(self.sink.as_ref(), self.journal.as_ref(), &check.view());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use time::macros::{date, datetime};

    use super::*;
    use crate::check::fakes::{self, Recorder, RecordingSink};
    use crate::check::NoSink;
    use crate::domain::verdict::NextStep;
    use crate::domain::VerdictKind;

    fn finished(verdict: &Verdict) -> FinishedCheck<'_> {
        FinishedCheck {
            id: CheckId(7),
            by_card: true,
            on: date!(2026 - 12 - 02),
            at: datetime!(2026-12-02 01:00 UTC),
            verdict,
        }
    }

    #[test]
    fn every_answer_is_announced_and_its_file_recorded_valid_or_not() {
        for kind in VerdictKind::ALL
            .into_iter()
            .filter(|k| !k.is_system_failure())
        {
            let sink = RecordingSink::default();
            let journal = Recorder::default();
            let verdict = Verdict::bare(kind, NextStep::ClaimNormally);
            let done = announce(&sink, &journal, &finished(&verdict));
            assert_eq!(done.file(), Some("face-7.xml"), "{kind:?}");
            assert_eq!(sink.seen().len(), 1, "{kind:?}");
            assert_eq!(
                *journal.files.lock().expect("lock"),
                vec![(CheckId(7), "face-7.xml".to_owned())]
            );
        }
    }

    #[test]
    fn a_system_failure_is_left_for_reconfirmation() {
        for kind in VerdictKind::ALL
            .into_iter()
            .filter(|k| k.is_system_failure())
        {
            let sink = RecordingSink::default();
            let journal = Recorder::default();
            let verdict = Verdict::bare(kind, NextStep::RetryOrDocuments);
            assert_eq!(
                announce(&sink, &journal, &finished(&verdict)),
                Announced::Deferred
            );
            assert!(sink.seen().is_empty(), "{kind:?}");
            assert!(journal.files.lock().expect("lock").is_empty());
        }
    }

    #[test]
    fn a_failing_sink_or_none_changes_nothing_recorded() {
        let journal = Recorder::default();
        let verdict = fakes::valid();
        let failing = RecordingSink::failing();
        assert_eq!(
            announce(&failing, &journal, &finished(&verdict)),
            Announced::Failed
        );
        assert_eq!(failing.seen().len(), 1, "it was asked");
        assert_eq!(
            announce(&NoSink, &journal, &finished(&verdict)),
            Announced::Off
        );
        assert!(journal.files.lock().expect("lock").is_empty());

        // A journal that cannot take the name: the file is still reported as written.
        let refusing = Recorder {
            refuse: true,
            ..Recorder::default()
        };
        let done = announce(&RecordingSink::default(), &refusing, &finished(&verdict));
        assert_eq!(
            done,
            Announced::File {
                name: "face-7.xml".into(),
                recorded: false
            }
        );
    }

    /// A sink that blocks until released.
    struct Blocking {
        release: Mutex<mpsc::Receiver<()>>,
        inner: RecordingSink,
    }

    impl ResultSink for Blocking {
        fn announce(&self, check: &FinishedCheck<'_>) -> Result<Option<String>, String> {
            let _ = self.release.lock().map_err(|e| e.to_string())?.recv();
            self.inner.announce(check)
        }
    }

    #[test]
    fn the_announcer_returns_at_once_and_announces_in_order() {
        let (release, released) = mpsc::channel();
        let sink = Arc::new(Blocking {
            release: Mutex::new(released),
            inner: RecordingSink::default(),
        });
        let journal = Arc::new(Recorder::default());
        let announcer = Announcer::spawn(sink.clone(), journal.clone());
        for id in 1..=3 {
            // Returns although the sink is blocked.
            announcer.hand_over(Finished {
                id: CheckId(id),
                by_card: false,
                on: date!(2026 - 12 - 02),
                at: datetime!(2026-12-02 01:00 UTC),
                verdict: fakes::valid(),
            });
        }
        assert!(sink.inner.seen().is_empty(), "the sink is still blocked");
        for _ in 0..3 {
            release.send(()).expect("release");
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while journal.files.lock().expect("lock").len() < 3 {
            assert!(std::time::Instant::now() < deadline, "never announced");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let ids: Vec<i64> = sink.inner.seen().iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
    }
}
