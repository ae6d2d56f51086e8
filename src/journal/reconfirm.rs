//! After-the-fact confirmation (事後確認) of queued checks, once the service answers again.
//!
//! A check is queued when the service was unreachable, timed out or answered with a server
//! error, or when its claim is an unknown receipt (不詳レセプト). The [`Reconfirmer`] asks the
//! service again **for the visit date**:
//! - by number (個別照会) when the numbers and birth date are known (numbers the desk used,
//!   or numbers attached later with [`super::Journal::attach_numbers`]);
//! - by card certificate only when the check held the certificate **and** staff had confirmed
//!   identity visually (目視確認) at the visit: the re-confirmation then states what really
//!   happened. A PIN check that never reached the service proved nothing to it (the
//!   challenge was never signed), so it is not replayed as a visual check; it waits for
//!   numbers.
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
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::params;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::writer::{step_text, timestamp};
use super::{is_outage, is_unknown_insurer, CheckNumbers, CheckRecord, Journal, JournalError};
use crate::domain::claim::evidence::ClaimNumbers;
use crate::domain::claim::plan::ClaimStep;
use crate::domain::claim::receipt::ReceiptHeader;
use crate::domain::numbers::InsurerNumber;
use crate::domain::verdict::{Verdict, VerdictKind};
use crate::domain::IdentityMethod;
use crate::online::client::{CardSearch, NumberSearch, OnlineClient, Search};

/// Asks the online qualification service; [`OnlineClient`] in the desk, a fake in tests.
pub trait Confirm: Send + Sync {
    /// One confirmation checked on `on`; always a verdict (failures included).
    fn confirm(&self, search: &Search, on: Date) -> Verdict;
}

impl Confirm for OnlineClient {
    fn confirm(&self, search: &Search, on: Date) -> Verdict {
        OnlineClient::confirm(self, search, on)
    }
}

impl<T: Confirm + ?Sized> Confirm for std::sync::Arc<T> {
    fn confirm(&self, search: &Search, on: Date) -> Verdict {
        (**self).confirm(search, on)
    }
}

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
}

/// Re-confirms queued checks. Cheap to build; see [`Reconfirmer::spawn`] for the background
/// loop and [`Reconfirmer::run_once`] for one round.
pub struct Reconfirmer<C> {
    journal: Journal,
    confirm: C,
    base_delay: Duration,
    max_delay: Duration,
    retention_days: Option<u32>,
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

enum Decision {
    Confirmed {
        numbers: Option<CheckNumbers>,
        name: Option<String>,
        name_kana: Option<String>,
        birthdate: Option<Date>,
        receipt: Option<(String, String, String)>,
    },
    Conflict(String),
}

fn same(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            crate::domain::numbers::normalize_width(a.trim())
                == crate::domain::numbers::normalize_width(b.trim())
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

impl<C: Confirm> Reconfirmer<C> {
    pub fn new(journal: Journal, confirm: C) -> Self {
        Reconfirmer {
            journal,
            confirm,
            base_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
            retention_days: None,
        }
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

    fn search_for(&self, record: &CheckRecord) -> Result<Option<Search>, JournalError> {
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
        if record.identity.as_deref() == Some("visual") && record.certificate_held {
            if let Some(der) = self.journal.reader()?.certificate(record.id)? {
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

    fn decide(record: &CheckRecord, verdict: &Verdict) -> Decision {
        let kind = verdict.kind;
        if !matches!(
            kind,
            VerdictKind::Valid | VerdictKind::CertificateExpiredGrace
        ) {
            return Decision::Conflict(format!(
                "事後確認の結果が受付時と異なります: {}",
                verdict.desk_message()
            ));
        }
        let Some(q) = verdict.primary() else {
            return Decision::Conflict("事後確認で資格情報が返されませんでした。".into());
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
                return Decision::Conflict(format!(
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
                return Decision::Conflict(format!(
                    "事後確認の生年月日が受付時と異なります: 受付 {a} / 確認 {b}"
                ));
            }
        }
        if let (Some(a), Some(b)) = (&record.name, &q.name) {
            if compact(a) != compact(b) {
                return Decision::Conflict(format!(
                    "事後確認の氏名が受付時と異なります: 受付 {a} / 確認 {b}"
                ));
            }
        }
        // An unknown receipt (or a self-declaration) becomes a claim with the confirmed numbers.
        let unknown = record.receipt_insurer().is_some_and(is_unknown_insurer)
            || record.claim_step.as_deref() == Some("self_declaration");
        let mut receipt = None;
        if unknown {
            if let (Some(insurer), Some(number)) = (&q.insurer_number, &q.number) {
                let header = ReceiptHeader::with_numbers(
                    ClaimStep::CurrentNumbers,
                    &ClaimNumbers {
                        insurer_number: insurer.clone(),
                        symbol: q.symbol.clone(),
                        number: number.clone(),
                        branch: q.branch.clone(),
                    },
                );
                match (
                    serde_json::to_string(&header),
                    step_text(ClaimStep::CurrentNumbers),
                ) {
                    (Ok(json), Ok(step)) => {
                        receipt = Some((step, json, header.insurer_number.clone()))
                    }
                    _ => return Decision::Conflict("受付記録の更新に失敗しました。".into()),
                }
            }
        }
        Decision::Confirmed {
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
    pub fn run_once(
        &self,
        now: OffsetDateTime,
        ignore_backoff: bool,
    ) -> Result<ReconfirmReport, JournalError> {
        let mut report = ReconfirmReport::default();
        let due = self.journal.reader()?.due(now, ignore_backoff)?;
        for record in due {
            let Some(search) = self.search_for(&record)? else {
                report.waiting_for_numbers += 1;
                continue;
            };
            report.attempted += 1;
            let verdict = self.confirm.confirm(&search, record.check_date);
            let id = record.id;
            let at = timestamp(now);
            if is_outage(verdict.kind) {
                let next = timestamp(now + self.backoff(record.attempts));
                let detail = verdict
                    .detail
                    .clone()
                    .unwrap_or_else(|| format!("{:?}", verdict.kind));
                self.journal.call(move |conn| {
                    conn.execute(
                        "UPDATE checks SET attempts = attempts + 1, next_attempt_at = ?2,
                             last_attempt_detail = ?3 WHERE id = ?1 AND status = 'queued'",
                        params![id.0, next, detail],
                    )?;
                    Ok(())
                })?;
                report.endpoint_down = true;
                break;
            }
            let kind = serde_json::to_value(verdict.kind)?
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let validity = verdict.validity;
            let changed = match Self::decide(&record, &verdict) {
                Decision::Conflict(detail) => {
                    let n = self.journal.call(move |conn| {
                        Ok(conn.execute(
                            "UPDATE checks SET status = 'conflict', conflict_detail = ?2,
                                 reconfirmed_at = ?3, reconfirmed_verdict = ?4,
                                 reconfirmed_validity = ?5, attempts = attempts + 1,
                                 certificate_serial = NULL, certificate_der = NULL
                             WHERE id = ?1 AND status = 'queued'",
                            params![id.0, detail, at, kind, validity],
                        )?)
                    })?;
                    if n > 0 {
                        report.conflicts += 1;
                    }
                    n
                }
                Decision::Confirmed {
                    numbers,
                    name,
                    name_kana,
                    birthdate,
                    receipt,
                } => {
                    let n = self.journal.call(move |conn| {
                        let tx = conn.transaction()?;
                        let n = tx.execute(
                            "UPDATE checks SET status = 'reconfirmed', reconfirmed_at = ?2,
                                 reconfirmed_verdict = ?3, reconfirmed_validity = ?4,
                                 attempts = attempts + 1, conflict_detail = NULL,
                                 certificate_serial = NULL, certificate_der = NULL,
                                 name = coalesce(name, ?5), name_kana = coalesce(name_kana, ?6),
                                 birthdate = coalesce(birthdate, ?7)
                             WHERE id = ?1 AND status = 'queued'",
                            params![
                                id.0,
                                at,
                                kind,
                                validity,
                                name,
                                name_kana,
                                birthdate.map(|d| d.to_string())
                            ],
                        )?;
                        if n > 0 {
                            if let Some(nums) = &numbers {
                                tx.execute(
                                    "UPDATE checks SET insurer_number = ?2, symbol = ?3,
                                         number = ?4, branch = ?5 WHERE id = ?1",
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
                                tx.execute(
                                    "UPDATE checks SET claim_step = ?2, receipt_json = ?3,
                                         receipt_insurer = ?4 WHERE id = ?1",
                                    params![id.0, step, json, insurer],
                                )?;
                            }
                        }
                        tx.commit()?;
                        Ok(n)
                    })?;
                    if n > 0 {
                        report.reconfirmed += 1;
                    }
                    n
                }
            };
            if changed == 0 {
                report.already_settled += 1;
            }
        }
        Ok(report)
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
                    let today = crate::domain::expiry::jst_date(now);
                    let before = today - time::Duration::days(i64::from(days));
                    if let Err(e) = self.journal.purge_certificates(before) {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use time::macros::date;

    use super::*;
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

    impl Confirm for Fake {
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
}
