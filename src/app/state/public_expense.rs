//! 公費・医療費助成 at the desk: the facility's rule table as loaded at start, today's charge on
//! the result screen, and paper 受給者証 typed in there (紙の受給者証を追加); drawn by
//! `screens::result`.
//!
//! The entitlements of a check are the answer's (`Verdict::public_expenses`) followed by the
//! paper ones accepted at the desk. A paper one is written to the journal with the whole list
//! (`Journal::set_public_expenses`) and the screen says it was added only once that commit is
//! done (or says it could not be recorded, as for a 複数該当 choice: the charge still counts
//! it, the clerk notes it down).

use time::Date;

use super::{Desk, JobId, Request, ResultScreen, Screen};
use crate::domain::dates::{format_wareki, parse_date};
use crate::domain::numbers::{PublicPayerNumber, RecipientNumber};
use crate::domain::public_expense::charge::{yen, DeskCharge};
use crate::domain::public_expense::table::{BenefitTable, TableError};
use crate::domain::public_expense::{PublicExpense, PublicExpenseSource};
use crate::domain::text::normalize_width;

/// The form 「紙の受給者証を追加」: what the clerk types from the certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaperExpenseForm {
    /// 公費負担者番号 (8 digits).
    pub payer: String,
    /// 受給者番号 (7 digits; empty where the certificate prints none).
    pub recipient: String,
    /// 有効期間 開始.
    pub valid_from: String,
    /// 有効期間 終了 (empty: not stated, e.g. 生活保護).
    pub valid_until: String,
    /// 所得区分 as printed (optional).
    pub income_category: String,
    /// 自己負担上限額(月額) in yen (optional).
    pub monthly_cap: String,
    /// Problems of the last submit, per field, in Japanese.
    pub problems: Vec<(&'static str, String)>,
}

/// Longest 所得区分 kept (a certificate prints a few characters).
const MAX_INCOME_CATEGORY_CHARS: usize = 20;

impl PaperExpenseForm {
    /// The entitlement the form describes, valid on `today`, or the problems per field (the
    /// parsers' Japanese messages). `known` are the check's entitlements so far: the same
    /// certificate is not added twice.
    pub fn parse(
        &self,
        today: Date,
        known: &[PublicExpense],
    ) -> Result<PublicExpense, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let payer = PublicPayerNumber::parse(&self.payer)
            .map_err(|e| problems.push(("payer", e.message)))
            .ok();
        let recipient = if normalize_width(&self.recipient).is_empty() {
            None
        } else {
            RecipientNumber::parse(&self.recipient)
                .map_err(|e| problems.push(("recipient", e.message)))
                .ok()
        };
        let from = if normalize_width(&self.valid_from).is_empty() {
            problems.push((
                "valid_from",
                "有効期間の開始日を入力してください。".to_owned(),
            ));
            None
        } else {
            parse_date(&self.valid_from)
                .map_err(|e| problems.push(("valid_from", e.message)))
                .ok()
        };
        let until = if normalize_width(&self.valid_until).is_empty() {
            None
        } else {
            parse_date(&self.valid_until)
                .map_err(|e| problems.push(("valid_until", e.message)))
                .ok()
        };
        if let (Some(f), Some(u)) = (from, until) {
            if u < f {
                problems.push((
                    "valid_until",
                    "有効期間の終了日が開始日より前です。".to_owned(),
                ));
            }
        }
        if let Some(u) = until.filter(|u| *u < today) {
            problems.push((
                "valid_until",
                format!(
                    "この受給者証は有効期間が終了しています({}まで)。新しい受給者証をご確認ください。",
                    format_wareki(u)
                ),
            ));
        }
        let income: String = normalize_width(&self.income_category);
        if income.chars().count() > MAX_INCOME_CATEGORY_CHARS {
            problems.push((
                "income_category",
                format!("所得区分は{MAX_INCOME_CATEGORY_CHARS}文字までです。"),
            ));
        }
        let cap_text: String = normalize_width(&self.monthly_cap)
            .chars()
            .filter(|c| !matches!(c, ',' | '、' | '円' | ' '))
            .collect();
        let cap = if cap_text.is_empty() {
            None
        } else {
            match cap_text.parse::<u32>() {
                Ok(y) if y <= 1_000_000 => Some(y),
                _ => {
                    problems.push((
                        "monthly_cap",
                        "月額上限は円の金額を数字で入力してください(例 10000)。".to_owned(),
                    ));
                    None
                }
            }
        };
        if let Some(p) = &payer {
            if known
                .iter()
                .any(|k| &k.payer == p && k.recipient == recipient)
            {
                problems.push(("payer", "この受給者証はすでに登録されています。".to_owned()));
            }
        }
        match (payer, problems.is_empty()) {
            (Some(payer), true) => Ok(PublicExpense {
                payer,
                recipient,
                valid_from: from,
                valid_until: until,
                income_category: Some(income).filter(|s| !s.is_empty()),
                monthly_cap_yen: cap,
                name: None,
                source: PublicExpenseSource::Paper,
            }),
            _ => Err(problems),
        }
    }
}

/// The paper 受給者証 of the check on screen.
#[derive(Clone, Debug, Default)]
pub struct PaperExpenses {
    /// Accepted (recorded, or shown though not recorded), in the order typed.
    pub added: Vec<PublicExpense>,
    /// The form, while open.
    pub form: Option<PaperExpenseForm>,
    /// An accepted entry being written to the journal.
    pub pending: Option<(JobId, PublicExpense)>,
    /// The last entry's outcome: `Ok` what to say, `Err` the desk message why not recorded.
    pub notice: Option<Result<String, String>>,
}

/// Said once a paper entry is on disk.
pub const PAPER_ADDED: &str = "紙の受給者証を追加し、記録しました。";

impl ResultScreen {
    /// The check's entitlements: the answer's, then the paper ones.
    pub fn public_expenses(&self) -> Vec<PublicExpense> {
        let mut all = self.verdict.public_expenses.clone();
        all.extend(self.paper.added.iter().cloned());
        all
    }

    /// The patient's birth date (the answer's, or the chosen candidate's for 複数該当).
    fn birthdate(&self) -> Option<Date> {
        match &self.choice {
            Some(c) => self
                .verdict
                .qualifications
                .get(c.index)
                .and_then(|q| q.birthdate),
            None => self.verdict.primary().and_then(|q| q.birthdate),
        }
    }

    /// Today's charge with the 公費, when there are any and the table could be read.
    pub fn charge(&self, table: Option<&BenefitTable>) -> Option<DeskCharge> {
        let expenses = self.public_expenses();
        if expenses.is_empty() {
            return None;
        }
        Some(DeskCharge::assess(
            self.ratio(),
            &expenses,
            table?,
            self.birthdate(),
            self.checked_on,
        ))
    }
}

/// 「2026年4月1日〜2027年3月31日」 (in 和暦), or what is not stated.
pub fn validity_ja(e: &PublicExpense) -> String {
    match (e.valid_from, e.valid_until) {
        (None, None) => "記載なし".to_owned(),
        (from, until) => format!(
            "{}〜{}",
            from.map(format_wareki).unwrap_or_default(),
            until
                .map(format_wareki)
                .unwrap_or_else(|| "(終了日なし)".into())
        ),
    }
}

/// The monthly cap as printed, for the entitlement's row.
pub fn printed_cap_ja(e: &PublicExpense) -> Option<String> {
    e.monthly_cap_yen.map(|c| format!("{}円", yen(c)))
}

impl Desk {
    /// The facility's 公費 rule table, read at start: `Err` the problems (logged here once;
    /// the waiting screen shows [`TableError::desk_message`], 公費 are then shown without a
    /// charge).
    pub fn set_public_expense_table(&mut self, table: Result<BenefitTable, TableError>) {
        if let Err(e) = &table {
            for p in &e.problems {
                tracing::error!(problem = %p, "public-expense rule table not loaded");
            }
        }
        self.public_expense_table = table;
    }

    /// The rule table, if it could be read.
    pub fn public_expense_table(&self) -> Option<&BenefitTable> {
        self.public_expense_table.as_ref().ok()
    }

    /// The desk message about a rule table that could not be read (for the waiting screen).
    pub fn public_expense_table_problem(&self) -> Option<&'static str> {
        self.public_expense_table
            .as_ref()
            .err()
            .map(TableError::desk_message)
    }

    pub(super) fn paper_expense_action(&mut self, action: super::Action) {
        use super::Action;
        let today = self.today();
        let job = self.job();
        // The clerk is typing from the certificate: the result is attended, its unattended
        // timer (`[desk] result_timeout_s`, 60 s by default) starts again at each step.
        self.view.2 = self.clock.now();
        let Screen::Result(r) = &mut self.screen else {
            return;
        };
        match action {
            Action::OpenPaperExpense if r.paper.pending.is_none() => {
                r.paper.form = Some(PaperExpenseForm::default());
                r.paper.notice = None;
            }
            Action::EditPaperExpense(form) => {
                if let Some(current) = &mut r.paper.form {
                    *current = *form;
                }
            }
            Action::CancelPaperExpense => r.paper.form = None,
            Action::SubmitPaperExpense => {
                let Some(form) = &mut r.paper.form else {
                    return;
                };
                let known = {
                    let mut all = r.verdict.public_expenses.clone();
                    all.extend(r.paper.added.iter().cloned());
                    all
                };
                match form.parse(today, &known) {
                    Err(problems) => form.problems = problems,
                    Ok(expense) => {
                        r.paper.form = None;
                        match &r.recorded {
                            Ok(id) => {
                                let mut all = known;
                                all.push(expense.clone());
                                self.outbox.push(Request::RecordPublicExpenses {
                                    job,
                                    id: *id,
                                    expenses: all,
                                });
                                r.paper.pending = Some((job, expense));
                                r.paper.notice = None;
                            }
                            Err(why) => {
                                r.paper.added.push(expense);
                                r.paper.notice = Some(Err(why.clone()));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The journal wrote (or refused) the list with a paper entry.
    pub(super) fn public_expenses_recorded(&mut self, job: JobId, result: Result<(), String>) {
        let Screen::Result(r) = &mut self.screen else {
            return;
        };
        let Some((pending_job, expense)) = r.paper.pending.take() else {
            return;
        };
        if pending_job != job {
            r.paper.pending = Some((pending_job, expense));
            return;
        }
        r.paper.added.push(expense);
        r.paper.notice = Some(result.map(|()| PAPER_ADDED.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 12 - 03);

    fn form() -> PaperExpenseForm {
        PaperExpenseForm {
            payer: "５４１３００１８".into(),
            recipient: "3456788".into(),
            valid_from: "R8.7.1".into(),
            valid_until: "2027-06-30".into(),
            income_category: "一般所得Ⅰ".into(),
            monthly_cap: "１０，０００".into(),
            problems: vec![],
        }
    }

    fn problems(f: &PaperExpenseForm) -> Vec<&'static str> {
        f.parse(TODAY, &[])
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    #[test]
    fn a_certificate_typed_in_full_width_is_read() {
        let e = form().parse(TODAY, &[]).expect("valid");
        assert_eq!(e.payer.as_str(), "54130018");
        assert_eq!(e.recipient.as_ref().map(|r| r.as_str()), Some("3456788"));
        assert_eq!(e.valid_from, Some(date!(2026 - 07 - 01)));
        assert_eq!(e.valid_until, Some(date!(2027 - 06 - 30)));
        assert_eq!(e.monthly_cap_yen, Some(10_000));
        assert_eq!(e.income_category.as_deref(), Some("一般所得Ⅰ"));
        assert_eq!(e.source, PublicExpenseSource::Paper);
        // The same certificate twice is refused.
        assert!(form().parse(TODAY, &[e]).is_err());
    }

    #[test]
    fn each_field_is_checked_with_its_message() {
        let mut f = form();
        f.payer = "54130019".into();
        let p = f.parse(TODAY, &[]).expect_err("check digit");
        assert!(p[0].1.contains("検証番号"), "{p:?}");
        let mut f = form();
        f.recipient = "345678".into();
        assert_eq!(problems(&f), vec!["recipient"]);
        let mut f = form();
        f.valid_until = "2026-06-30".into();
        assert!(problems(&f).contains(&"valid_until"));
        f.monthly_cap = "たくさん".into();
        assert!(problems(&f).contains(&"monthly_cap"));
        let mut f = form();
        f.valid_from = String::new();
        assert_eq!(problems(&f), vec!["valid_from"]);
    }

    /// The last day of the certificate is still valid; the day after it is refused.
    #[test]
    fn a_certificate_ending_today_is_accepted_and_one_ended_yesterday_is_not() {
        let mut f = form();
        f.valid_from = "2026-04-01".into();
        f.valid_until = "2026-12-03".into();
        assert!(f.parse(TODAY, &[]).is_ok());
        f.valid_until = "2026-12-02".into();
        let p = f.parse(TODAY, &[]).expect_err("expired");
        assert!(p[0].1.contains("有効期間が終了"), "{p:?}");
        // Starting later is accepted (shown as not valid today by the charge).
        let mut f = form();
        f.valid_from = "2026-12-04".into();
        assert!(f.parse(TODAY, &[]).is_ok());
    }

    fn desk_with_result(recorded: Result<crate::journal::CheckId, String>) -> Desk {
        use crate::domain::verdict::{NextStep, Verdict, VerdictKind};
        let clock = std::sync::Arc::new(crate::clock::FixedClock::on(TODAY));
        let mut d = Desk::new(clock, Box::new(|_: &str| false));
        d.screen = Screen::Result(Box::new(ResultScreen {
            verdict: Verdict::bare(VerdictKind::Valid, NextStep::ClaimNormally),
            card: None,
            checked_on: TODAY,
            recorded,
            asked: None,
            choice: None,
            paper: PaperExpenses::default(),
        }));
        d
    }

    fn paper(d: &Desk) -> &PaperExpenses {
        match &d.screen {
            Screen::Result(r) => &r.paper,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_paper_entry_is_said_added_only_once_the_journal_committed_it() {
        use super::super::Action;
        let mut d = desk_with_result(Ok(crate::journal::CheckId(7)));
        d.act(Action::OpenPaperExpense);
        d.act(Action::EditPaperExpense(Box::new(form())));
        d.act(Action::SubmitPaperExpense);
        let job = match d.take_requests().as_slice() {
            [Request::RecordPublicExpenses { job, id, expenses }] => {
                assert_eq!(*id, crate::journal::CheckId(7));
                assert_eq!(expenses.len(), 1);
                *job
            }
            other => panic!("{other:?}"),
        };
        assert!(paper(&d).added.is_empty(), "not yet on disk");
        assert!(paper(&d).pending.is_some());
        // Another job's answer changes nothing.
        d.handle(super::super::Event::PublicExpensesRecorded {
            job: job + 100,
            result: Ok(()),
        });
        assert!(paper(&d).added.is_empty());
        d.handle(super::super::Event::PublicExpensesRecorded {
            job,
            result: Ok(()),
        });
        assert_eq!(paper(&d).added.len(), 1);
        assert_eq!(paper(&d).notice, Some(Ok(PAPER_ADDED.to_owned())));
        // The charge now counts it (難病: 2割, the certificate's cap).
        let Screen::Result(r) = &d.screen else {
            panic!()
        };
        let charge = r.charge(Some(&BenefitTable::builtin())).expect("a charge");
        assert_eq!(charge.lines.len(), 1);
    }

    #[test]
    fn a_paper_entry_on_a_check_not_recorded_is_counted_and_said_not_recorded() {
        use super::super::Action;
        let mut d = desk_with_result(Err("ディスクがいっぱいです".into()));
        d.act(Action::OpenPaperExpense);
        d.act(Action::EditPaperExpense(Box::new(form())));
        d.act(Action::SubmitPaperExpense);
        assert!(d.take_requests().is_empty());
        assert_eq!(paper(&d).added.len(), 1);
        assert!(matches!(paper(&d).notice, Some(Err(_))));
        // A refused entry adds nothing and keeps the form open with its problem.
        d.act(Action::OpenPaperExpense);
        let mut bad = form();
        bad.payer = "54130019".into();
        d.act(Action::EditPaperExpense(Box::new(bad)));
        d.act(Action::SubmitPaperExpense);
        assert_eq!(paper(&d).added.len(), 1);
        assert!(paper(&d)
            .form
            .as_ref()
            .is_some_and(|f| f.problems.iter().any(|(k, _)| *k == "payer")));
    }

    /// Regression: the result's unattended timeout closed it while the clerk was typing a
    /// paper 受給者証 (a minute goes by quickly with a certificate in hand).
    #[test]
    fn typing_a_paper_certificate_keeps_the_result_open() {
        use super::super::Action;
        use time::macros::datetime;
        let clock = crate::clock::FixedClock::shared_at(datetime!(2026-12-03 10:00 +9));
        let mut d = Desk::new(clock.clone(), Box::new(|_: &str| false));
        d.result_timeout = std::time::Duration::from_secs(60);
        d.screen = desk_with_result(Ok(crate::journal::CheckId(1))).screen;
        d.act(Action::Cancel); // a new view, then the result again
        d.screen = desk_with_result(Ok(crate::journal::CheckId(1))).screen;
        d.act(Action::OpenPaperExpense);
        clock.set(datetime!(2026-12-03 10:00:50 +9));
        d.act(Action::EditPaperExpense(Box::new(form())));
        clock.set(datetime!(2026-12-03 10:01:40 +9));
        d.tick();
        assert!(matches!(d.screen, Screen::Result(_)), "{:?}", d.screen);
        // Left alone, it closes as any result.
        clock.set(datetime!(2026-12-03 10:01:51 +9));
        d.tick();
        assert!(matches!(d.screen, Screen::Idle), "{:?}", d.screen);
    }

    #[test]
    fn welfare_without_recipient_or_end_is_accepted() {
        let f = PaperExpenseForm {
            payer: "12130019".into(),
            valid_from: "2026-04-01".into(),
            ..Default::default()
        };
        let e = f.parse(TODAY, &[]).expect("valid");
        assert_eq!(e.recipient, None);
        assert_eq!(e.valid_until, None);
    }
}
