//! The history screen (受付記録): the journal's records, search, reprints, month-end reports;
//! drawn by `screens::history`.

use super::{Action, Desk, Event, JobId, Request, Screen};
use crate::app::claim_flow::ClaimFlow;
use crate::journal::{CheckId, CheckRecord, Filter, MonthlyUsage};

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
            Action::ResolveRecord(id) => {
                let at = self.clock.now();
                self.history_job(
                    |h| &mut h.resolving,
                    |job| Request::ResolveRecord { job, id, at },
                );
            }
            Action::ReopenRecord(id) => {
                let record = match &self.screen {
                    Screen::History(h) => h.records.iter().find(|r| r.id == id).cloned(),
                    _ => None,
                };
                if let Some(record) = record {
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

    /// The workers' answers for the history screen.
    pub(super) fn history_event(&mut self, event: Event) {
        match event {
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
            _ => {}
        }
    }
}
