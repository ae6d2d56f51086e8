//! After-the-fact confirmation (事後確認) of queued checks, once the service answers again.
//!
//! A check is queued when the service was unreachable, timed out or answered with a server
//! error, or when its claim is an unknown receipt (不詳レセプト). The [`Reconfirmer`] asks the
//! service again **for the visit date**:
//! - by number (個別照会) when the numbers and birth date are known (numbers the desk used,
//!   or numbers attached later with [`Journal::attach_numbers`]);
//! - by card certificate only when the check held the certificate **and** staff had confirmed
//!   identity visually (目視確認) at the visit: the re-confirmation then states what really
//!   happened. A PIN check that never reached the service proved nothing to it (the
//!   challenge was never signed), so it is not replayed as a visual check; it waits for
//!   numbers.
//!
//! Once a check is settled with a real verdict, it is announced to the receipt computer
//! ([`ResultSink`], `face`) when the desk did not announce it: a check whose verdict at the
//! desk was an outage (see `super::announce`). A check queued for another reason (an unknown
//! receipt after 該当なし) was announced at the desk and is not announced twice. In the desk app
//! the announcing is handed to the desk's [`Announcer`] (a share that hangs then holds up
//! neither re-confirmation nor closing the desk, which waits for this thread); `onshi-desk
//! journal reconfirm` announces on its own thread before it reports.
//!
//! Outcomes: a valid answer that agrees with what was recorded → `reconfirmed`, and an unknown
//! receipt becomes a claim with the confirmed numbers (step ①); anything else (無効, 該当なし,
//! 複数該当, other numbers, another birth date or name) → `conflict`, for staff. The update is
//! conditional on the record still being `queued`, so two re-confirmers (a background one and
//! `onshi-desk journal reconfirm`) never apply twice, and nothing is ever inserted: running it
//! again is harmless. While the service is still down, each record's next attempt is put off
//! with exponential backoff (30 s doubling up to 1 h) and the round stops at the first
//! failure, so the outage is not hammered.

use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use super::record::holds_certificate;
use super::{
    announce, Announcer, CheckRecorder, Finished, FinishedCheck, NoSink, QualificationService,
    ResultSink,
};
use crate::domain::claim::plan::ClaimStep;
use crate::domain::claim::receipt::ReceiptHeader;
use crate::domain::numbers::InsuranceNumbers;
use crate::domain::numbers::InsurerNumber;
use crate::domain::search::{CardSearch, NumberSearch, Search};
use crate::domain::verdict::{Verdict, VerdictKind};
use crate::domain::IdentityMethod;
use crate::journal::{
    is_outage, is_unknown_insurer, CheckId, CheckKind, CheckNumbers, CheckRecord, Journal,
    JournalError, ReconfirmOutcome, Settlement,
};

/// What one round did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReconfirmReport {
    /// Queued checks asked about.
    pub attempted: usize,
    pub reconfirmed: usize,
    pub conflicts: usize,
    /// Queued checks with nothing to ask by (no numbers, no usable certificate).
    pub waiting_for_numbers: usize,
    /// Already settled by another re-confirmer meanwhile.
    pub already_settled: usize,
    /// The service is still not answering; the round stopped.
    pub endpoint_down: bool,
    /// With a shared journal: another desk leads the facility's 事後確認 now, so this one did
    /// nothing (see [`crate::journal::shared`]).
    pub led_elsewhere: bool,
}

/// Where a round reads the queued checks and settles them: this desk's journal, or — with a
/// shared journal, while this desk leads — the facility's.
trait RoundStore {
    fn due(
        &self,
        now: OffsetDateTime,
        ignore_backoff: bool,
    ) -> Result<Vec<CheckRecord>, JournalError>;
    fn certificate(&self, id: CheckId) -> Result<Option<Vec<u8>>, JournalError>;
    fn note_attempt(
        &self,
        id: CheckId,
        next: OffsetDateTime,
        detail: String,
    ) -> Result<(), JournalError>;
    fn settle(&self, id: CheckId, settlement: Settlement) -> Result<bool, JournalError>;
    /// Where the names of result files written for settled checks are recorded.
    fn recorder(&self) -> &dyn CheckRecorder;
    /// Whether the records are the facility's (ids of the shared journal): the desk's own
    /// announcing thread records names in its own journal, so it is not used for them.
    fn is_facility(&self) -> bool;
}

impl RoundStore for Journal {
    fn due(
        &self,
        now: OffsetDateTime,
        ignore_backoff: bool,
    ) -> Result<Vec<CheckRecord>, JournalError> {
        self.local_reader()?.due(now, ignore_backoff)
    }
    fn certificate(&self, id: CheckId) -> Result<Option<Vec<u8>>, JournalError> {
        self.local_reader()?.certificate(id)
    }
    fn note_attempt(
        &self,
        id: CheckId,
        next: OffsetDateTime,
        detail: String,
    ) -> Result<(), JournalError> {
        Journal::note_attempt(self, id, next, detail)
    }
    fn settle(&self, id: CheckId, settlement: Settlement) -> Result<bool, JournalError> {
        Journal::settle(self, id, settlement)
    }
    fn recorder(&self) -> &dyn CheckRecorder {
        self
    }
    fn is_facility(&self) -> bool {
        false
    }
}

#[cfg(feature = "shared-journal")]
impl RoundStore for crate::journal::shared::facility::FacilityJournal {
    fn due(
        &self,
        now: OffsetDateTime,
        ignore_backoff: bool,
    ) -> Result<Vec<CheckRecord>, JournalError> {
        self.due(now, ignore_backoff)
    }
    fn certificate(&self, id: CheckId) -> Result<Option<Vec<u8>>, JournalError> {
        self.certificate(id)
    }
    fn note_attempt(
        &self,
        id: CheckId,
        next: OffsetDateTime,
        detail: String,
    ) -> Result<(), JournalError> {
        self.note_attempt(id, next, detail)
    }
    fn settle(&self, id: CheckId, settlement: Settlement) -> Result<bool, JournalError> {
        self.settle(id, settlement)
    }
    fn recorder(&self) -> &dyn CheckRecorder {
        self
    }
    fn is_facility(&self) -> bool {
        true
    }
}

/// Re-confirms queued checks. Cheap to build; see [`Reconfirmer::spawn`] for the background
/// loop and [`Reconfirmer::run_once`] for one round.
pub struct Reconfirmer<C> {
    journal: Journal,
    confirm: C,
    base_delay: Duration,
    max_delay: Duration,
    retention_days: Option<u32>,
    /// Told of each check settled here that the desk did not announce.
    announce_to: AnnounceTo,
}

/// How settled checks are announced.
enum AnnounceTo {
    /// On the re-confirmer's thread, before the round goes on.
    Now(Arc<dyn ResultSink>),
    /// Handed over to an announcing thread.
    Queue(Arc<Announcer>),
}

/// The background re-confirmer; stops (after its current request) when dropped.
pub struct ReconfirmerHandle {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for ReconfirmerHandle {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn same(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            crate::domain::text::normalize_width(a.trim())
                == crate::domain::text::normalize_width(b.trim())
        }
        _ => true,
    }
}

fn insurer_key(s: &str) -> String {
    InsurerNumber::parse(s)
        .map(|i| i.as_str().to_owned())
        .unwrap_or_else(|_| s.trim().to_owned())
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

impl<C: QualificationService> Reconfirmer<C> {
    pub fn new(journal: Journal, confirm: C) -> Self {
        Reconfirmer {
            journal,
            confirm,
            base_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
            retention_days: None,
            announce_to: AnnounceTo::Now(Arc::new(NoSink)),
        }
    }

    /// Announces the checks it settles to `sink` (the receipt computer's `face` folder), on
    /// the thread that runs the round.
    pub fn with_sink(mut self, sink: Arc<dyn ResultSink>) -> Self {
        self.announce_to = AnnounceTo::Now(sink);
        self
    }

    /// Hands the checks it settles to `announcer` (the desk's announcing thread) instead.
    pub fn with_announcer(mut self, announcer: Arc<Announcer>) -> Self {
        self.announce_to = AnnounceTo::Queue(announcer);
        self
    }

    /// Changes the backoff (first delay, longest delay).
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max;
        self
    }

    /// Also purges certificates older than `days` on each background round.
    pub fn with_retention_days(mut self, days: u32) -> Self {
        self.retention_days = Some(days);
        self
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32.checked_shl(attempts.min(20)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    fn search_for(
        &self,
        store: &dyn RoundStore,
        record: &CheckRecord,
    ) -> Result<Option<Search>, JournalError> {
        if let (Some(n), Some(birthdate)) = (&record.numbers, record.birthdate) {
            if let Ok(insurer) = InsurerNumber::parse(&n.insurer_number) {
                if !is_unknown_insurer(insurer.as_str()) {
                    return Ok(Some(Search::Numbers(NumberSearch {
                        insurer,
                        symbol: n.symbol.clone(),
                        number: n.number.clone(),
                        branch: n.branch.clone(),
                        birthdate,
                        limit_consent: false,
                    })));
                }
            }
        }
        // A certificate is held only for a check that may be re-asked by card; the method
        // is checked again so a record written otherwise is never replayed as visual.
        let by_card = record
            .identity
            .zip(record.verdict)
            .is_some_and(|(method, verdict)| holds_certificate(method, verdict));
        if by_card && record.certificate_held {
            if let Some(der) = store.certificate(record.id)? {
                return Ok(Some(Search::Card(CardSearch {
                    certificate_der: der,
                    method: IdentityMethod::Visual,
                    signed_challenge: None,
                    limit_consent: false,
                })));
            }
        }
        Ok(None)
    }

    fn decide(record: &CheckRecord, verdict: &Verdict) -> ReconfirmOutcome {
        let kind = verdict.kind;
        if !matches!(
            kind,
            VerdictKind::Valid | VerdictKind::CertificateExpiredGrace
        ) {
            return ReconfirmOutcome::Conflict(format!(
                "事後確認の結果が受付時と異なります: {}",
                verdict.desk_message()
            ));
        }
        let Some(q) = verdict.primary() else {
            return ReconfirmOutcome::Conflict("事後確認で資格情報が返されませんでした。".into());
        };
        let answered = match (&q.insurer_number, &q.number) {
            (Some(i), Some(n)) => Some(CheckNumbers {
                insurer_number: i.as_str().to_owned(),
                symbol: q.symbol.clone(),
                number: n.clone(),
                branch: q.branch.clone(),
            }),
            _ => None,
        };
        if let (Some(rec), Some(ans)) = (&record.numbers, &answered) {
            let differs = insurer_key(&rec.insurer_number) != insurer_key(&ans.insurer_number)
                || !same(&Some(rec.number.clone()), &Some(ans.number.clone()))
                || !same(&rec.symbol, &ans.symbol)
                || !same(&rec.branch, &ans.branch);
            if differs && !is_unknown_insurer(&rec.insurer_number) {
                return ReconfirmOutcome::Conflict(format!(
                    "事後確認の番号が受付時と異なります: 受付 {} {} {} {} / 確認 {} {} {} {}",
                    rec.insurer_number,
                    rec.symbol.as_deref().unwrap_or("-"),
                    rec.number,
                    rec.branch.as_deref().unwrap_or("-"),
                    ans.insurer_number,
                    ans.symbol.as_deref().unwrap_or("-"),
                    ans.number,
                    ans.branch.as_deref().unwrap_or("-"),
                ));
            }
        }
        if let (Some(a), Some(b)) = (record.birthdate, q.birthdate) {
            if a != b {
                // In 和暦, as staff compare it with the patient's documents.
                return ReconfirmOutcome::Conflict(format!(
                    "事後確認の生年月日が受付時と異なります: 受付 {} / 確認 {}",
                    crate::domain::dates::format_wareki(a),
                    crate::domain::dates::format_wareki(b)
                ));
            }
        }
        if let (Some(a), Some(b)) = (&record.name, &q.name) {
            if compact(a) != compact(b) {
                return ReconfirmOutcome::Conflict(format!(
                    "事後確認の氏名が受付時と異なります: 受付 {a} / 確認 {b}"
                ));
            }
        }
        // An unknown receipt (or a self-declaration) becomes a claim with the confirmed numbers.
        let unknown = record.receipt_insurer().is_some_and(is_unknown_insurer)
            || record.claim_step == Some(ClaimStep::SelfDeclaration);
        let mut receipt = None;
        if unknown {
            if let (Some(insurer), Some(number)) = (&q.insurer_number, &q.number) {
                let header = ReceiptHeader::with_numbers(
                    ClaimStep::CurrentNumbers,
                    &InsuranceNumbers {
                        insurer_number: insurer.clone(),
                        symbol: q.symbol.clone(),
                        number: number.clone(),
                        branch: q.branch.clone(),
                    },
                );
                receipt = Some(Box::new((ClaimStep::CurrentNumbers, header)));
            }
        }
        ReconfirmOutcome::Confirmed {
            numbers: answered,
            name: q.name.clone(),
            name_kana: q.name_kana.clone(),
            birthdate: q.birthdate,
            receipt,
        }
    }

    /// One round: every queued check that is due (all queued ones with `ignore_backoff`, as
    /// `onshi-desk journal reconfirm` does) is asked about once; stops at the first outage.
    /// Blocks on the network: run it on a worker thread.
    ///
    /// With a shared journal the round is the facility's: it runs only while this desk holds
    /// the database's advisory lock (another desk leading → `led_elsewhere`), over every desk's
    /// queued checks, and the database unreachable is an error (nothing is re-confirmed until
    /// it is back: the facility's records are there).
    pub fn run_once(
        &self,
        now: OffsetDateTime,
        ignore_backoff: bool,
    ) -> Result<ReconfirmReport, JournalError> {
        #[cfg(feature = "shared-journal")]
        if let Some(shared) = self.journal.shared_config() {
            use crate::journal::shared::facility::Leadership;
            let Some(lead) = Leadership::try_take(shared)? else {
                return Ok(ReconfirmReport {
                    led_elsewhere: true,
                    ..ReconfirmReport::default()
                });
            };
            let report = self.round(lead.journal(), now, ignore_backoff)?;
            if let Some(days) = self.retention_days {
                lead.journal()
                    .purge_certificates(retention_cutoff(now, days))?;
            }
            return Ok(report);
        }
        self.round(&self.journal, now, ignore_backoff)
    }

    fn round(
        &self,
        store: &dyn RoundStore,
        now: OffsetDateTime,
        ignore_backoff: bool,
    ) -> Result<ReconfirmReport, JournalError> {
        let mut report = ReconfirmReport::default();
        let due = store.due(now, ignore_backoff)?;
        for record in due {
            let Some(search) = self.search_for(store, &record)? else {
                report.waiting_for_numbers += 1;
                continue;
            };
            report.attempted += 1;
            let verdict = self.confirm.confirm(&search, record.check_date);
            let id = record.id;
            if is_outage(verdict.kind) {
                let detail = verdict
                    .detail
                    .clone()
                    .unwrap_or_else(|| format!("{:?}", verdict.kind));
                store.note_attempt(id, now + self.backoff(record.attempts), detail)?;
                report.endpoint_down = true;
                break;
            }
            let outcome = Self::decide(&record, &verdict);
            let conflict = matches!(outcome, ReconfirmOutcome::Conflict(_));
            let applied = store.settle(
                id,
                Settlement {
                    at: now,
                    verdict: verdict.kind,
                    validity: verdict.validity,
                    outcome,
                },
            )?;
            if applied {
                self.announce_settled(store, &record, &verdict, now);
            }
            match (applied, conflict) {
                (false, _) => report.already_settled += 1,
                (true, true) => report.conflicts += 1,
                (true, false) => report.reconfirmed += 1,
            }
        }
        Ok(report)
    }
    /// Announces a check just settled with `verdict`, if the desk did not announce it (its
    /// verdict there was an outage): as the original check was, by card or by numbers, for its
    /// visit date.
    fn announce_settled(
        &self,
        store: &dyn RoundStore,
        record: &CheckRecord,
        verdict: &Verdict,
        now: OffsetDateTime,
    ) {
        if !record.verdict.is_some_and(is_outage) {
            return;
        }
        let by_card = record.kind == CheckKind::Card;
        let now_to = |sink: &dyn ResultSink| {
            announce(
                sink,
                store.recorder(),
                &FinishedCheck {
                    id: record.id,
                    by_card,
                    on: record.check_date,
                    at: now,
                    verdict,
                },
            );
        };
        match &self.announce_to {
            // The desk's announcing thread names files in the desk's own journal: a record of
            // the facility is announced here, its name recorded in the shared journal.
            AnnounceTo::Queue(announcer) if store.is_facility() => now_to(announcer.sink()),
            AnnounceTo::Now(sink) => now_to(sink.as_ref()),
            AnnounceTo::Queue(announcer) => announcer.hand_over(Finished {
                id: record.id,
                by_card,
                on: record.check_date,
                at: now,
                verdict: verdict.clone(),
            }),
        }
    }

    /// Runs rounds on a background thread every `poll` until the handle is dropped. Errors
    /// are logged (the journal error is also what the next `record` would report).
    pub fn spawn(self, poll: Duration) -> Result<ReconfirmerHandle, JournalError>
    where
        C: 'static,
    {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("journal-reconfirm".into())
            .spawn(move || loop {
                let now = OffsetDateTime::now_utc();
                match self.run_once(now, false) {
                    Ok(r) if r.attempted > 0 => tracing::info!(?r, "re-confirmation round"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "re-confirmation round failed"),
                }
                if let Some(days) = self.retention_days {
                    // This desk's own copies too (with a shared journal, the facility's are
                    // purged by the round's leader).
                    if let Err(e) = self.journal.purge_certificates(retention_cutoff(now, days)) {
                        tracing::warn!(error = %e, "certificate purge failed");
                    }
                }
                match stopped.recv_timeout(poll) {
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    _ => break,
                }
            })
            .map_err(|e| JournalError::Other(format!("cannot start the re-confirmer: {e}")))?;
        Ok(ReconfirmerHandle {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// The first check date whose certificates are kept, `days` before today (JST).
fn retention_cutoff(now: OffsetDateTime, days: u32) -> time::Date {
    crate::domain::expiry::jst_date(now) - time::Duration::days(i64::from(days))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use time::macros::date;

    use time::Date;

    use super::*;
    use crate::domain::search::Challenge;
    use crate::domain::verdict::{NextStep, Qualification};
    use crate::journal::{CheckKind, CheckStatus, NewCheck};

    /// Answers every search with the next canned verdict (the last one repeated).
    struct Fake {
        answers: Mutex<Vec<Verdict>>,
        calls: AtomicUsize,
    }

    impl Fake {
        fn new(answers: Vec<Verdict>) -> Self {
            Fake {
                answers: Mutex::new(answers),
                calls: AtomicUsize::new(0),
            }
        }
    }

    impl QualificationService for Fake {
        fn challenge(&self) -> Result<Challenge, Verdict> {
            Err(Verdict::bare(
                VerdictKind::Unreachable,
                NextStep::RetryOrDocuments,
            ))
        }

        fn confirm(&self, _search: &Search, _on: Date) -> Verdict {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let mut a = self.answers.lock().expect("lock");
            if a.len() > 1 {
                a.remove(0)
            } else {
                a[0].clone()
            }
        }
    }

    fn valid(name: &str, birth: Date) -> Verdict {
        let mut v = Verdict::bare(VerdictKind::Valid, NextStep::ClaimNormally);
        v.validity = Some(1);
        v.qualifications = vec![Qualification {
            insurer_number: InsurerNumber::parse("01130012").ok(),
            symbol: Some("5012345".into()),
            number: Some("1024".into()),
            branch: Some("00".into()),
            name: Some(name.into()),
            birthdate: Some(birth),
            ..Qualification::default()
        }];
        v
    }

    fn queued(journal: &Journal, name: Option<&str>) -> crate::journal::CheckId {
        let mut c = NewCheck::empty(CheckKind::Numbers, date!(2026 - 11 - 21));
        c.verdict = Some(VerdictKind::Timeout);
        c.numbers = Some(CheckNumbers {
            insurer_number: "01130012".into(),
            symbol: Some("5012345".into()),
            number: "1024".into(),
            branch: Some("00".into()),
        });
        c.birthdate = Some(date!(1980 - 04 - 01));
        c.name = name.map(str::to_owned);
        journal.record(c).expect("record")
    }

    fn journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().expect("tmp");
        let j = Journal::open(&dir.path().join("j.sqlite3")).expect("open");
        (dir, j)
    }

    #[test]
    fn a_different_name_birth_date_or_answer_is_a_conflict_for_staff() {
        let (_dir, j) = journal();
        let same = queued(&j, Some("山田　花子"));
        let other_name = queued(&j, Some("山田 太郎"));
        let other_birth = queued(&j, None);
        let several = queued(&j, None);
        let fake = Fake::new(vec![
            valid("山田 花子", date!(1980 - 04 - 01)),
            valid("山田 花子", date!(1980 - 04 - 01)),
            valid("山田 花子", date!(1981 - 04 - 01)),
            Verdict::bare(VerdictKind::Several, NextStep::ChooseWithPatient),
        ]);
        let r = Reconfirmer::new(j.clone(), fake)
            .run_once(OffsetDateTime::now_utc(), false)
            .expect("round");
        assert_eq!((r.reconfirmed, r.conflicts), (1, 3), "{r:?}");
        let reader = j.reader().expect("reader");
        assert_eq!(
            reader.get(same).expect("get").status,
            CheckStatus::Reconfirmed
        );
        for id in [other_name, other_birth, several] {
            let rec = reader.get(id).expect("get");
            assert_eq!(rec.status, CheckStatus::Conflict, "{id}");
            assert!(rec.conflict_detail.is_some());
        }
        // Birth dates in 和暦, as staff compare them with the patient's documents.
        assert_eq!(
            reader
                .get(other_birth)
                .expect("get")
                .conflict_detail
                .as_deref(),
            Some(
                "事後確認の生年月日が受付時と異なります: 受付 昭和55年4月1日 / 確認 昭和56年4月1日"
            )
        );
    }

    #[test]
    fn an_outage_backs_off_exponentially_and_a_pin_card_check_waits_for_numbers() {
        let (_dir, j) = journal();
        let id = queued(&j, None);
        let mut pin = NewCheck::empty(CheckKind::Card, date!(2026 - 11 - 21));
        pin.verdict = Some(VerdictKind::Unreachable);
        pin.identity = Some(IdentityMethod::Pin);
        j.record(pin.hold_certificate("01", &[1, 2]))
            .expect("record");
        let fake = std::sync::Arc::new(Fake::new(vec![Verdict::bare(
            VerdictKind::Unreachable,
            NextStep::RetryOrDocuments,
        )]));
        let rc = Reconfirmer::new(j.clone(), fake.clone())
            .with_backoff(Duration::from_secs(10), Duration::from_secs(60));
        let t0 = OffsetDateTime::now_utc();
        let r = rc.run_once(t0, false).expect("round");
        assert!(r.endpoint_down);
        assert_eq!(r.attempted, 1);
        // Not due 5 s later; due 11 s later; the next delay is 20 s, capped at 60 s.
        let r = rc
            .run_once(t0 + time::Duration::seconds(5), false)
            .expect("round");
        assert_eq!(r.attempted, 0);
        assert_eq!(
            r.waiting_for_numbers, 1,
            "the PIN card check is not replayed"
        );
        rc.run_once(t0 + time::Duration::seconds(11), false)
            .expect("round");
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        assert_eq!(rc.backoff(1), Duration::from_secs(20));
        assert_eq!(rc.backoff(30), Duration::from_secs(60));
        let rec = j.reader().expect("reader").get(id).expect("get");
        assert_eq!(rec.attempts, 2);
        assert_eq!(rec.status, CheckStatus::Queued);
    }

    #[test]
    fn a_visual_check_queued_in_an_outage_is_asked_again_by_card_and_its_certificate_dropped() {
        let (_dir, j) = journal();
        let on = date!(2026 - 11 - 21);
        let certificate = crate::check::fakes::certificate(on);
        let id = j
            .record(crate::check::card_record(
                &certificate,
                IdentityMethod::Visual,
                &crate::check::fakes::unreachable(),
                on,
                false,
            ))
            .expect("record");
        assert!(
            j.reader()
                .expect("reader")
                .get(id)
                .expect("get")
                .certificate_held
        );
        let service = crate::check::fakes::Service::answering(crate::check::fakes::valid());
        let r = Reconfirmer::new(j.clone(), &service)
            .run_once(OffsetDateTime::now_utc(), false)
            .expect("round");
        assert_eq!(r.reconfirmed, 1, "{r:?}");
        let asked = service.asked();
        let [(Search::Card(search), asked_on)] = asked.as_slice() else {
            panic!("not one search by card: {asked:?}")
        };
        assert_eq!(*asked_on, on, "asked for the visit date");
        assert_eq!(search.method, IdentityMethod::Visual);
        assert_eq!(search.certificate_der, certificate.der());
        let rec = j.reader().expect("reader").get(id).expect("get");
        assert_eq!(rec.status, CheckStatus::Reconfirmed);
        assert!(!rec.certificate_held, "dropped once settled");
        assert_eq!(rec.reconfirmed_verdict, Some(VerdictKind::Valid));
    }

    #[test]
    fn an_outage_check_is_announced_once_settled_by_card_as_it_was_made() {
        use crate::check::fakes::{self, RecordingSink};
        let (_dir, j) = journal();
        let on = date!(2026 - 11 - 21);
        let certificate = fakes::certificate(on);
        let by_card = j
            .record(crate::check::card_record(
                &certificate,
                IdentityMethod::Visual,
                &fakes::unreachable(),
                on,
                false,
            ))
            .expect("record");
        let by_numbers = queued(&j, None);
        // Queued for its unknown receipt after 該当なし: announced at the desk already.
        let mut no_record = NewCheck::empty(CheckKind::Numbers, on);
        no_record.verdict = Some(VerdictKind::NoRecord);
        no_record.status = Some(CheckStatus::Queued);
        no_record.numbers = Some(CheckNumbers {
            insurer_number: "01130012".into(),
            symbol: Some("5012345".into()),
            number: "1024".into(),
            branch: Some("00".into()),
        });
        no_record.birthdate = Some(date!(1980 - 04 - 01));
        let announced_at_desk = j.record(no_record).expect("record");

        let sink = Arc::new(RecordingSink::default());
        // Still down: nothing settled, nothing announced.
        let down = Reconfirmer::new(j.clone(), Fake::new(vec![fakes::unreachable()]))
            .with_sink(sink.clone());
        let r = down
            .run_once(OffsetDateTime::now_utc(), true)
            .expect("round");
        assert!(r.endpoint_down);
        assert!(sink.seen().is_empty(), "an outage is not announced");

        let service = fakes::Service::answering(fakes::valid());
        let r = Reconfirmer::new(j.clone(), &service)
            .with_sink(sink.clone())
            .run_once(OffsetDateTime::now_utc(), true)
            .expect("round");
        assert_eq!(r.reconfirmed, 3, "{r:?}");
        let seen = sink.seen();
        let mut announced: Vec<(i64, bool, Date, VerdictKind)> = seen
            .iter()
            .map(|s| (s.id, s.by_card, s.on, s.verdict))
            .collect();
        announced.sort_by_key(|a| a.0);
        assert_eq!(
            announced,
            vec![
                (by_card.0, true, on, VerdictKind::Valid),
                (
                    by_numbers.0,
                    false,
                    date!(2026 - 11 - 21),
                    VerdictKind::Valid
                ),
            ]
        );
        let reader = j.reader().expect("reader");
        for id in [by_card, by_numbers] {
            assert_eq!(
                reader.get(id).expect("get").interop_file,
                Some(format!("face-{}.xml", id.0))
            );
        }
        assert_eq!(
            reader.get(announced_at_desk).expect("get").interop_file,
            None
        );

        // Never the certificate, though the check was asked again by it.
        let serial = certificate.serial.hex();
        let der_hex: String = certificate
            .der()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        for s in &seen {
            let text = s.text.to_lowercase();
            assert!(!text.contains(&serial.to_lowercase()), "{text}");
            assert!(!text.contains(&der_hex[..64]), "{text}");
            assert!(!text.contains("certificate_der"), "{text}");
            let der_list = format!("{:?}", &certificate.der()[..24]);
            assert!(!text.contains(der_list.trim_matches(['[', ']'])), "{text}");
        }

        // Settled already: running again announces nothing more.
        Reconfirmer::new(j.clone(), &service)
            .with_sink(sink.clone())
            .run_once(OffsetDateTime::now_utc(), true)
            .expect("round");
        assert_eq!(sink.seen().len(), 2);
    }

    /// A share that hangs: the round settles and returns; the file follows once it answers.
    #[test]
    fn a_round_handing_over_to_the_announcer_never_waits_on_the_share() {
        use crate::check::fakes::{self, RecordingSink};

        struct Gated(Mutex<mpsc::Receiver<()>>, RecordingSink);
        impl ResultSink for Gated {
            fn announce(&self, check: &FinishedCheck<'_>) -> Result<Option<String>, String> {
                let _ = self.0.lock().map_err(|e| e.to_string())?.recv();
                self.1.announce(check)
            }
        }

        let (_dir, j) = journal();
        let id = queued(&j, None);
        let (release, gate) = mpsc::channel();
        let sink = Arc::new(Gated(Mutex::new(gate), RecordingSink::default()));
        let announcer = Arc::new(Announcer::spawn(sink.clone(), Arc::new(j.clone())));
        let service = fakes::Service::answering(fakes::valid());
        let r = Reconfirmer::new(j.clone(), &service)
            .with_announcer(announcer)
            .run_once(OffsetDateTime::now_utc(), true)
            .expect("round");
        assert_eq!(r.reconfirmed, 1, "{r:?}");
        assert!(sink.1.seen().is_empty(), "the share still hangs");
        release.send(()).expect("release");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while j
            .reader()
            .expect("reader")
            .get(id)
            .expect("get")
            .interop_file
            .is_none()
        {
            assert!(std::time::Instant::now() < deadline, "never announced");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.1.seen().len(), 1);
    }
}
