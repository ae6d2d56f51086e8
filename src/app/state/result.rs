//! The result screen: what the last check found; drawn by `screens::result`.

use time::Date;

use super::{Desk, Digits, IdentityMode, IdentityScreen, JobId, NumbersForm, Request, Screen};
use crate::check::CardRead;
use crate::domain::expiry::CertificateExpiry;
use crate::domain::search::NumberSearch;
use crate::domain::{IdentityMethod, Ratio, Verdict, VerdictKind};
use crate::journal::{CheckId, CheckNumbers};

/// What the last check found, as the result screen shows it.
#[derive(Clone, Debug)]
pub struct ResultScreen {
    pub verdict: Verdict,
    /// By card: the certificate's expiry and how identity was confirmed.
    pub card: Option<(CertificateExpiry, IdentityMethod)>,
    /// The date the check was made for: its request's date, read from the clock when the
    /// check started (after midnight, the new day).
    pub checked_on: Date,
    /// The journal record of this check, or the desk message why it is not recorded.
    pub recorded: Result<CheckId, String>,
    /// What was asked, so a system failure can be asked again (再照会) without reading the
    /// card or typing the numbers again.
    pub asked: Option<Asked>,
    /// 複数該当: the candidate staff chose with the patient, and its recording.
    pub choice: Option<Choice>,
    /// Paper 受給者証 typed in at the desk for this check (`public_expense`).
    pub paper: super::PaperExpenses,
}

/// The qualification chosen among several (複数該当).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// Index into the verdict's qualifications.
    pub index: usize,
    job: JobId,
    /// `None` while it is written to the journal, then done or the desk message why not.
    pub recorded: Option<Result<(), String>>,
}

/// A query as it was sent, kept for 再照会.
#[derive(Clone, Debug)]
pub enum Asked {
    /// By card. `pin`: the PIN was used, so the service's one-time challenge was signed with
    /// it; a new query needs a new signature, hence the PIN again (it is never kept).
    Card { read: Box<CardRead>, pin: bool },
    /// By numbers (個別照会).
    Numbers(Box<NumberSearch>),
}

impl ResultScreen {
    /// Whether the check ended with a qualification to claim with: 有効, or the candidate
    /// chosen among several. Anything else left by はじめに戻る is left unfinished (中断).
    pub fn settled(&self) -> bool {
        match self.verdict.kind {
            VerdictKind::Valid | VerdictKind::CertificateExpiredGrace => true,
            VerdictKind::Several => self.choice.is_some(),
            _ => false,
        }
    }

    /// The ratio to charge: the answer's, or for 複数該当 the chosen candidate's (none until
    /// one is chosen: there is no knowing which applies).
    pub fn ratio(&self) -> Option<Ratio> {
        match (self.verdict.kind, &self.choice) {
            (VerdictKind::Several, Some(c)) => self
                .verdict
                .qualifications
                .get(c.index)
                .and_then(|q| q.ratio(self.checked_on))
                .map(|(r, _)| r),
            (VerdictKind::Several, None) => None,
            _ => self.verdict.ratio,
        }
    }

    /// Whether candidate `index` of a 複数該当 can be chosen (it has the numbers to claim with).
    pub fn can_choose(&self, index: usize) -> bool {
        self.verdict.kind == VerdictKind::Several
            && self
                .verdict
                .qualifications
                .get(index)
                .and_then(CheckNumbers::of)
                .is_some()
    }

    /// Whether 再照会 is offered: the service gave no answer (error, unreachable, timeout)
    /// and the query is known. An answer about somebody else is not asked again from the
    /// desk: it is for the system administrator.
    pub fn can_requery(&self) -> bool {
        self.asked.is_some()
            && self.verdict.kind.is_system_failure()
            && self.verdict.kind != VerdictKind::AnswerMismatch
    }
}

/// Said above the keypad when 再照会 by card needs the PIN again.
pub const PIN_AGAIN_FOR_REQUERY: &str =
    "再照会します。照会のたびに新しい電子署名が必要なため、暗証番号をもう一度入力してください。";

impl Desk {
    /// 複数該当: staff chose candidate `index` with the patient; it is charged and recorded
    /// as the check's qualification.
    pub(super) fn choose_qualification(&mut self, index: usize) {
        let job = self.job();
        let Screen::Result(r) = &mut self.screen else {
            return;
        };
        if !r.can_choose(index) {
            return;
        }
        let Some(chosen) = r.verdict.qualifications.get(index).cloned() else {
            return;
        };
        let recorded = match &r.recorded {
            Ok(id) => {
                self.outbox.push(Request::RecordChoice {
                    job,
                    id: *id,
                    chosen: Box::new(chosen),
                });
                None
            }
            Err(why) => Some(Err(why.clone())),
        };
        r.choice = Some(Choice {
            index,
            job,
            recorded,
        });
    }

    pub(super) fn choice_recorded(&mut self, job: JobId, result: Result<(), String>) {
        if let Screen::Result(r) = &mut self.screen {
            if let Some(c) = r.choice.as_mut().filter(|c| c.job == job) {
                c.recorded = Some(result);
            }
        }
    }

    /// 無効(新しい資格あり): checks the new qualification's numbers by number (個別照会), with
    /// the birth date of the answer; without a birth date the numbers form opens filled in.
    pub(super) fn check_newer_numbers(&mut self) {
        let Screen::Result(r) = &self.screen else {
            return;
        };
        let Some(q) = r.verdict.newer_qualification() else {
            return;
        };
        let (Some(insurer), Some(number)) = (q.insurer_number.clone(), q.number.clone()) else {
            return;
        };
        match q.birthdate {
            Some(birthdate) => self.query_by_numbers(Box::new(NumberSearch {
                insurer,
                symbol: q.symbol.clone(),
                number,
                branch: q.branch.clone(),
                birthdate,
                limit_consent: false,
            })),
            None => {
                self.screen = Screen::Numbers(NumbersForm {
                    insurer: insurer.as_str().to_owned(),
                    symbol: q.symbol.clone().unwrap_or_default(),
                    number,
                    branch: q.branch.clone().unwrap_or_default(),
                    ..Default::default()
                })
            }
        }
    }

    /// 再照会: the same query again, with the card already read or the numbers typed. By
    /// PIN the patient types the PIN again (a fresh signature); by visual check or by
    /// numbers the query is sent at once.
    pub(super) fn requery(&mut self) {
        let asked = match &self.screen {
            Screen::Result(r) if r.can_requery() => r.asked.clone(),
            _ => None,
        };
        match asked {
            None => {}
            Some(Asked::Card { read, pin: true }) => {
                self.screen = Screen::Identity(Box::new(IdentityScreen {
                    read: *read,
                    pin: None,
                    mode: IdentityMode::Pin {
                        entered: Digits::default(),
                    },
                    notice: Some(PIN_AGAIN_FOR_REQUERY.to_owned()),
                }));
            }
            Some(Asked::Card { read, pin: false }) => self.query_by_card(read, None),
            Some(Asked::Numbers(search)) => self.query_by_numbers(search),
        }
    }

    /// Sends the check by card (identity confirmed: the PIN typed, or staff's visual check
    /// when `pin` is `None`) and waits for it.
    pub(super) fn query_by_card(&mut self, read: Box<CardRead>, pin: Option<Digits>) {
        let job = self.job();
        let on = self.today();
        let with_pin = pin.is_some();
        self.outbox.push(Request::ConfirmByCard {
            job,
            read: read.clone(),
            pin,
            on,
        });
        self.screen = Screen::Querying {
            job,
            card: Some(read),
            pin: with_pin,
            search: None,
        };
    }

    /// Sends the check by numbers and waits for it.
    pub(super) fn query_by_numbers(&mut self, search: Box<NumberSearch>) {
        let job = self.job();
        self.outbox.push(Request::ConfirmByNumbers {
            job,
            search: search.clone(),
            on: self.today(),
        });
        self.screen = Screen::Querying {
            job,
            card: None,
            pin: false,
            search: Some(search),
        };
    }
}
