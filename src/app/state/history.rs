//! The history screen (受付記録): the journal's records, search, reprints, month-end reports;
//! drawn by `screens::history`.

use super::{Action, Desk, Event, JobId, Request, Screen};
use crate::app::claim_flow::ClaimFlow;
use crate::journal::{CheckId, CheckRecord, Filter, MonthlyUsage};

/// How many records the history screen loads at a time, newest first.
pub const HISTORY_PAGE: usize = 100;

/// Said when the clerk asks to close or continue another desk's record (read from the
/// facility's shared journal): that desk's journal holds it.
pub const OTHER_DESK: &str =
    "別の端末の受付記録です。対応済みにする・請求の経路を続ける操作は、記録した端末で行ってください。";

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
    /// Whose records are shown: the facility's shared journal, or only this desk's.
    pub scope: crate::journal::ReadScope,
    /// This desk's id in the shared journal (`None` without one).
    pub desk_id: Option<String>,
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

    /// The record shown as `id`, as this desk's journal numbers it: `None` for another desk's
    /// record (this desk neither closes nor continues it).
    pub fn own_record(&self, id: CheckId) -> Option<CheckRecord> {
        let r = self.records.iter().find(|r| r.id == id)?;
        let local = r.local_id(self.desk_id.as_deref())?;
        let mut own = r.clone();
        own.id = local;
        Some(own)
    }
}

impl Desk {
    /// The history screen when `job` is the work its `slot` waits for (the slot is then
    /// cleared); `None` for a late answer the screen no longer waits for.
    pub(super) fn history_answer(
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
    pub(super) fn history_job(
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
    pub(super) fn load_history(&mut self) {
        let job = self.next_job;
        let today = self.today();
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

    /// The history screen's actions (search, more, select, reprint, reports, close, reopen).
    pub(super) fn history_action(&mut self, action: Action) {
        match action {
            Action::OpenHistory if !self.busy() => {
                self.screen = Screen::History(Box::default());
                self.load_history();
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
            Action::ResolveRecord(shown) => {
                // What the desk writes goes to its own journal, by its own number.
                let Some(id) = self.own_history_record(shown).map(|r| r.id) else {
                    return;
                };
                let at = self.clock.now();
                self.history_job(
                    |h| &mut h.resolving,
                    |job| Request::ResolveRecord { job, id, at },
                );
            }
            Action::ReopenRecord(shown) => {
                if let Some(record) = self.own_history_record(shown) {
                    // The claim path of that visit: judged on the visit's date, not today's.
                    let mut flow =
                        ClaimFlow::from_record(record.check_date, &record, self.facility.clone());
                    flow.public_expense_table = self.public_expense_table().cloned();
                    self.screen = Screen::Claim(Box::new(flow));
                }
            }
            _ => {}
        }
    }

    /// The history record shown as `shown`, numbered as this desk's journal numbers it; for
    /// another desk's record (read from the shared journal) `None`, and the screen says why.
    fn own_history_record(&mut self, shown: CheckId) -> Option<CheckRecord> {
        let Screen::History(h) = &mut self.screen else {
            return None;
        };
        let own = h.own_record(shown);
        if own.is_none() && h.records.iter().any(|r| r.id == shown) {
            h.notice = Some(OTHER_DESK.to_owned());
        }
        own
    }

    /// The workers' answers for the history screen.
    pub(super) fn history_event(&mut self, event: Event) {
        match event {
            Event::HistoryLoaded { job, result } => {
                if let Some(h) = self.history_answer(job, |h| &mut h.loading) {
                    match result {
                        Ok(found) => {
                            let found = *found;
                            (h.records, h.usage) = (found.records, found.usage);
                            (h.scope, h.desk_id) = (found.scope, found.desk_id);
                        }
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
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::messages::History;
    use crate::journal::{CheckKind, CheckStatus, ReadScope};
    use time::macros::{date, datetime};

    fn desk() -> Desk {
        Desk::new(
            std::sync::Arc::new(crate::clock::FixedClock::on(date!(2026 - 11 - 21))),
            Box::new(|_: &str| false),
        )
    }

    /// A conflict read from the shared journal: facility number `id`, made at `desk` as its
    /// number `n`.
    fn shared(id: i64, desk: &str, n: i64) -> CheckRecord {
        CheckRecord {
            id: CheckId(id),
            desk: Some(desk.into()),
            desk_check_id: Some(n),
            recorded_at: datetime!(2026-11-21 01:00 UTC),
            check_date: date!(2026 - 11 - 21),
            kind: CheckKind::Card,
            identity: None,
            verdict: None,
            validity: None,
            numbers: None,
            name: Some("山田 花子".into()),
            name_kana: None,
            birthdate: None,
            claim_step: None,
            receipt: None,
            printouts: Vec::new(),
            status: CheckStatus::Conflict,
            certificate_held: false,
            attempts: 0,
            last_attempt_detail: None,
            reconfirmed_at: None,
            reconfirmed_verdict: None,
            reconfirmed_validity: None,
            conflict_detail: None,
            phone: None,
            interop_file: None,
            public_expenses: Vec::new(),
        }
    }

    /// The history screen showing `history` (the answer to its first load).
    fn showing(history: History) -> Desk {
        let mut d = desk();
        d.act(Action::OpenHistory);
        let job = match d.take_requests().as_slice() {
            [Request::LoadHistory { job, .. }] => *job,
            other => panic!("{other:?}"),
        };
        d.handle(Event::HistoryLoaded {
            job,
            result: Ok(Box::new(history)),
        });
        d
    }

    #[test]
    fn shared_records_are_closed_and_continued_only_by_their_desk_under_its_own_number() {
        let mut d = showing(History {
            records: vec![shared(41, "front-1", 7), shared(42, "front-2", 7)],
            scope: ReadScope::Facility,
            desk_id: Some("front-1".into()),
            ..History::default()
        });
        // Another desk's record: nothing written, the screen says why.
        d.act(Action::ResolveRecord(CheckId(42)));
        assert!(d.take_requests().is_empty());
        let Screen::History(h) = &d.screen else {
            panic!("{:?}", d.screen);
        };
        assert_eq!(h.notice.as_deref(), Some(OTHER_DESK));
        assert_eq!(h.scope, ReadScope::Facility);
        assert_eq!(h.scope.desk_notice(), None);
        // This desk's own: closed in its journal under the desk's number.
        d.act(Action::ResolveRecord(CheckId(41)));
        match d.take_requests().as_slice() {
            [Request::ResolveRecord { id, .. }] => assert_eq!(*id, CheckId(7)),
            other => panic!("{other:?}"),
        }
        // Continuing the claim path of another desk's record: refused; of its own: by its
        // own number.
        d.act(Action::ReopenRecord(CheckId(42)));
        assert!(matches!(d.screen, Screen::History(_)));
        d.act(Action::ReopenRecord(CheckId(41)));
        match &d.screen {
            Screen::Claim(flow) => assert_eq!(flow.check, Some(CheckId(7))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_fallback_to_this_desks_records_is_said_on_the_screen() {
        let d = showing(History {
            scope: ReadScope::ThisDeskOnly {
                reason: "shared journal unavailable: connection refused".into(),
            },
            desk_id: Some("front-1".into()),
            ..History::default()
        });
        let Screen::History(h) = &d.screen else {
            panic!("{:?}", d.screen);
        };
        assert_eq!(
            h.scope.desk_notice(),
            Some("この端末の記録のみ表示しています(共有の受付記録に接続できません)。")
        );
    }
}
