//! The claim-path wizard's state (請求の経路): what the patient showed, what the rules say,
//! the re-check by number, the self-declaration and the receipt header. No egui, no I/O.
//!
//! Every change re-runs the pure rules ([`crate::domain::claim::plan`]) so the screen always
//! shows which step applies and why. Typed values go through the same parsers as the command
//! line (numbers, 和暦 dates, the self-declaration document), so the desk and the CLI accept
//! and refuse exactly the same input.

use time::Date;

use crate::domain::claim::declaration::Facility;
use crate::domain::claim::receipt::{
    ReceiptHeader, TooManyPublicExpenses, UnknownInsurer, MAX_PUBLIC_EXPENSES,
};
use crate::domain::claim::{
    apply_reconfirmation, parse_declaration, plan, CardOutcome, Circumstance, ClaimPlan, ClaimStep,
    Evidence, EvidenceKind, SelfDeclaration, Situation,
};
use crate::domain::dates::parse_date as parse_any_date;
use crate::domain::numbers::{InsuranceNumbers, InsurerNumber};
use crate::domain::public_expense::charge::DeskCharge;
use crate::domain::public_expense::table::BenefitTable;
use crate::domain::public_expense::PublicExpense;
use crate::domain::search::NumberSearch;
use crate::domain::{Verdict, VerdictKind};

/// The evidence being typed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceForm {
    pub kind: EvidenceKind,
    pub insurer: String,
    pub symbol: String,
    pub number: String,
    pub branch: String,
    /// 有効期限 (資格確認書, 保険証), as typed.
    pub valid_until: String,
    /// 生年月日 as printed on it (needed for a re-check by number when the card gave none).
    pub birthdate: String,
    /// Shown together with the My Number card.
    pub with_card: bool,
    /// Past record: the patient says nothing changed.
    pub unchanged: bool,
    /// お知らせ / portal: the patient says the qualification has not been lost since.
    pub not_lost_confirmed: bool,
    pub problems: Vec<(&'static str, String)>,
}

impl Default for EvidenceForm {
    fn default() -> Self {
        EvidenceForm {
            kind: EvidenceKind::QualificationCertificate,
            insurer: String::new(),
            symbol: String::new(),
            number: String::new(),
            branch: String::new(),
            valid_until: String::new(),
            birthdate: String::new(),
            with_card: true,
            unchanged: false,
            not_lost_confirmed: false,
            problems: Vec::new(),
        }
    }
}

/// The self-declaration being filled in on screen; strings as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeclarationForm {
    pub name: String,
    pub name_kana: String,
    pub birthdate: String,
    /// `male`, `female` or empty.
    pub sex: String,
    pub address: String,
    pub phone: String,
    /// `employee`, `national`, `late_elderly`, `unknown` or empty.
    pub insurance_kind: String,
    pub insurer_name: String,
    pub employer: String,
    pub symbol: String,
    pub number: String,
    /// `insured`, `dependant` or empty.
    pub relationship: String,
    /// Every problem of the last attempt, with its field.
    pub problems: Vec<(String, String)>,
}

/// Where the wizard is.
#[derive(Clone, Debug)]
pub enum ClaimStage {
    /// The rules' verdict and the evidence entry.
    Plan,
    /// Filling in the self-declaration.
    Declaration(Box<DeclarationForm>),
    /// The declaration checked: the on-screen preview before printing.
    Preview(Box<SelfDeclaration>),
    /// Writing and printing on a worker.
    Printing {
        job: u64,
        declaration: Box<SelfDeclaration>,
    },
    /// Done: the receipt header, where the PDF is, whether it printed.
    Finished(Box<Finished>),
}

/// The end of the claim path.
#[derive(Clone, Debug)]
pub struct Finished {
    /// `None` when the rules gave no claim numbers (nothing to claim with yet).
    pub receipt: Option<ReceiptHeader>,
    /// The kept PDF of the self-declaration (step ③).
    pub pdf: Option<std::path::PathBuf>,
    /// `None` printed; `Some(message)` the printer's problem, for the desk.
    pub print_problem: Option<String>,
    /// The journal record of the claim: `None` while it is being written, then its id or the
    /// desk message why it is not recorded.
    pub recorded: Option<Result<crate::journal::CheckId, String>>,
}

/// The wizard.
#[derive(Clone, Debug)]
pub struct ClaimFlow {
    pub on: Date,
    pub outcome: CardOutcome,
    /// From the card's answer or the patient.
    pub birthdate: Option<Date>,
    /// The lost qualification of an 無効 answer (step ②).
    pub old_numbers: Option<InsuranceNumbers>,
    /// Name from the answer (prefills the declaration).
    pub name: Option<String>,
    pub evidence: Vec<Evidence>,
    /// A circumstance chosen by the staff (DV, 日雇特例).
    pub circumstance: Option<Circumstance>,
    pub form: EvidenceForm,
    pub plan: ClaimPlan,
    pub stage: ClaimStage,
    /// A re-check by number under way.
    pub reconfirming: Option<u64>,
    /// A reprint under way.
    pub reprinting: Option<u64>,
    /// The journal record this claim path continues (the check that led to it), if any.
    pub check: Option<crate::journal::CheckId>,
    /// The claim step being recorded.
    pub recording: Option<u64>,
    /// A portal PDF being read.
    pub importing: Option<u64>,
    /// The path typed for a portal PDF.
    pub pdf_path: String,
    /// Something the desk must read (a PDF that could not be written, …).
    pub notice: Option<String>,
    /// The declaration as last typed (kept when going back from the preview).
    declaration_form: Option<DeclarationForm>,
    /// The facility printed on the declaration.
    pub facility: Facility,
    /// The patient's 公費 / 医療費助成 entitlements (the answer's and the paper ones typed on
    /// the result screen): they go on the receipt as KO records, in priority order.
    pub public_expenses: Vec<PublicExpense>,
    /// The facility's 公費 rule table (`None` when it could not be read: then no KO record is
    /// made rather than one in a guessed order, and the finished screen says so).
    pub public_expense_table: Option<BenefitTable>,
}

impl ClaimFlow {
    /// Starts the claim path after `verdict` (or with `None`: no card at all).
    pub fn new(on: Date, verdict: Option<&Verdict>, facility: Facility) -> ClaimFlow {
        let outcome = match verdict {
            Some(v) => CardOutcome::Checked(v.kind),
            None => CardOutcome::NoCard,
        };
        let primary = verdict.and_then(|v| v.primary());
        let old_numbers = match (verdict.map(|v| v.kind), primary) {
            (Some(VerdictKind::Invalid), Some(q)) => Some(InsuranceNumbers {
                insurer_number: match &q.insurer_number {
                    Some(n) => n.clone(),
                    None => return Self::without_old(on, outcome, primary, facility),
                },
                symbol: q.symbol.clone(),
                number: q.number.clone().unwrap_or_default(),
                branch: q.branch.clone(),
            })
            .filter(|n| !n.number.is_empty()),
            _ => None,
        };
        let mut flow = Self::without_old(on, outcome, primary, facility);
        flow.old_numbers = old_numbers;
        flow.public_expenses = verdict
            .map(|v| v.public_expenses.clone())
            .unwrap_or_default();
        flow.replan();
        flow
    }

    fn without_old(
        on: Date,
        outcome: CardOutcome,
        primary: Option<&crate::domain::Qualification>,
        facility: Facility,
    ) -> ClaimFlow {
        let situation = Situation {
            on,
            outcome,
            birthdate: primary.and_then(|q| q.birthdate),
            high_income: false,
            old_numbers: None,
            evidence: Vec::new(),
            circumstance: None,
        };
        ClaimFlow {
            on,
            outcome,
            birthdate: situation.birthdate,
            old_numbers: None,
            name: primary.and_then(|q| q.name.clone()),
            evidence: Vec::new(),
            circumstance: None,
            form: EvidenceForm::default(),
            plan: plan(&situation),
            stage: ClaimStage::Plan,
            reconfirming: None,
            reprinting: None,
            check: None,
            recording: None,
            importing: None,
            pdf_path: String::new(),
            notice: None,
            declaration_form: None,
            facility,
            public_expenses: Vec::new(),
            public_expense_table: Some(BenefitTable::builtin()),
        }
    }

    /// Continues the claim path of a recorded check (from the history screen).
    pub fn from_record(
        on: Date,
        record: &crate::journal::CheckRecord,
        facility: Facility,
    ) -> ClaimFlow {
        let outcome = record
            .verdict
            .map_or(CardOutcome::NoCard, CardOutcome::Checked);
        let mut flow = Self::without_old(on, outcome, None, facility);
        flow.check = Some(record.id);
        flow.birthdate = record.birthdate;
        flow.public_expenses = record.public_expenses.clone();
        flow.name = record.name.clone();
        if outcome == CardOutcome::Checked(VerdictKind::Invalid) {
            flow.old_numbers = record.numbers.as_ref().and_then(|n| {
                Some(InsuranceNumbers {
                    insurer_number: InsurerNumber::from_wire(&n.insurer_number)?,
                    symbol: n.symbol.clone(),
                    number: n.number.clone(),
                    branch: n.branch.clone(),
                })
            });
        }
        flow.replan();
        flow
    }

    /// The patient's birth date as far as known: from the answer, else from the evidence.
    pub fn patient_birthdate(&self) -> Option<Date> {
        self.birthdate
            .or_else(|| self.plan.reconfirm.as_ref().map(|r| r.birthdate))
            .or_else(|| self.evidence.iter().find_map(|e| e.birthdate))
    }

    /// Re-runs the rules on what is known now.
    pub fn replan(&mut self) {
        self.plan = plan(&Situation {
            on: self.on,
            outcome: self.outcome,
            birthdate: self.birthdate,
            high_income: false,
            old_numbers: self.old_numbers.clone(),
            evidence: self.evidence.clone(),
            circumstance: self.circumstance,
        });
    }

    /// Parses the evidence form; on success the evidence is added and the rules re-run.
    pub fn add_evidence(&mut self) {
        let f = &mut self.form;
        let mut problems = Vec::new();
        let numbers = InsuranceNumbers::parse_form(
            &f.insurer,
            &f.symbol,
            &f.number,
            &f.branch,
            &mut problems,
        );
        let valid_until = (!f.valid_until.trim().is_empty())
            .then(|| {
                parse_any_date(&f.valid_until)
                    .map_err(|e| problems.push(("valid_until", e.message)))
                    .ok()
            })
            .flatten();
        let birthdate = (!f.birthdate.trim().is_empty())
            .then(|| {
                crate::domain::numbers::parse_birth_date(&f.birthdate, self.on)
                    .map_err(|e| problems.push(("birthdate", e.message)))
                    .ok()
            })
            .flatten();
        // A 資格確認書's expiry is the insurer's: never assumed, always asked.
        if f.kind == EvidenceKind::QualificationCertificate && f.valid_until.trim().is_empty() {
            problems.push((
                "valid_until",
                "資格確認書の有効期限を確認して入力してください。".to_owned(),
            ));
        }
        f.problems = problems;
        let Some(numbers) = numbers else {
            return;
        };
        if !f.problems.is_empty() {
            return;
        }
        self.evidence.push(Evidence {
            kind: f.kind,
            numbers,
            name: self.name.clone(),
            birthdate: birthdate.or(self.birthdate),
            with_card: f.with_card,
            valid_until,
            ratio: None,
            ratio_period_from: None,
            unchanged: f.unchanged && f.kind == EvidenceKind::PastRecord,
            not_lost_confirmed: f.not_lost_confirmed && f.kind.asks_not_lost(),
        });
        self.form = EvidenceForm {
            kind: f.kind,
            ..EvidenceForm::default()
        };
        self.replan();
    }

    /// The fields of a マイナポータル PDF fill the evidence form (kind: portal PDF), to be
    /// checked by the clerk and added like typed evidence.
    pub fn imported(
        &mut self,
        result: Result<Box<crate::import::portal_pdf::PortalFields>, String>,
    ) {
        self.importing = None;
        match result {
            Ok(fields) => {
                let text = |v: &Option<String>| v.clone().unwrap_or_default();
                self.form = EvidenceForm {
                    kind: EvidenceKind::MynaPortalPdf,
                    insurer: text(&fields.insurer_number),
                    symbol: text(&fields.symbol),
                    number: text(&fields.number),
                    branch: text(&fields.branch),
                    birthdate: text(&fields.birthdate),
                    ..EvidenceForm::default()
                };
                if self.name.is_none() {
                    self.name = fields.name.clone();
                }
                self.notice = None;
            }
            Err(why) => self.notice = Some(why),
        }
    }

    /// The search for a re-check by number, when the rules offer one.
    pub fn reconfirm_search(&self) -> Option<NumberSearch> {
        let r = self.plan.reconfirm.as_ref()?;
        Some(NumberSearch {
            insurer: r.numbers.insurer_number.clone(),
            symbol: r.numbers.symbol.clone(),
            number: r.numbers.number.clone(),
            branch: r.numbers.branch.clone(),
            birthdate: r.birthdate,
            limit_consent: false,
        })
    }

    /// The answer of the re-check by number.
    pub fn reconfirmed(&mut self, verdict: &Verdict) {
        self.reconfirming = None;
        self.plan = apply_reconfirmation(self.plan.clone(), verdict, self.on);
    }

    /// Opens the self-declaration, prefilled with what is known.
    pub fn start_declaration(&mut self) {
        let form = self
            .declaration_form
            .clone()
            .unwrap_or_else(|| DeclarationForm {
                name: self.name.clone().unwrap_or_default(),
                // In 和暦, as the patient writes it and checks it (the form reads both).
                birthdate: self
                    .birthdate
                    .map(crate::domain::dates::format_wareki)
                    .unwrap_or_default(),
                ..DeclarationForm::default()
            });
        self.stage = ClaimStage::Declaration(Box::new(form));
    }

    /// From the preview back to the form, as it was typed.
    pub fn back_to_declaration(&mut self) {
        self.start_declaration();
    }

    /// Checks the declaration as the command line does; on success shows the preview.
    pub fn check_declaration(&mut self) {
        let ClaimStage::Declaration(form) = &mut self.stage else {
            return;
        };
        let text = declaration_document(form, &self.facility, self.on);
        match parse_declaration(&text, self.on) {
            Ok(declaration) => {
                let mut kept = (**form).clone();
                kept.problems.clear();
                self.declaration_form = Some(kept);
                self.stage = ClaimStage::Preview(Box::new(declaration));
            }
            Err(problems) => {
                form.problems = problems
                    .0
                    .into_iter()
                    .map(|p| (p.field, p.message))
                    .collect();
            }
        }
    }

    /// The receipt header the claim is made with, for the step the rules chose, with the
    /// 公費 that apply on the visit date as KO records (第1〜第4公費, in priority order).
    pub fn receipt(&self, declaration: Option<&SelfDeclaration>) -> Option<ReceiptHeader> {
        let header = match (self.plan.step, &self.plan.numbers, declaration) {
            (ClaimStep::CurrentNumbers | ClaimStep::OldNumbers, Some(n), _) => {
                ReceiptHeader::with_numbers(self.plan.step, n)
            }
            (ClaimStep::SelfDeclaration, _, Some(d)) => {
                ReceiptHeader::from_declaration(d, UnknownInsurer::Plain)
            }
            _ => return None,
        };
        match self.public_expense_charge() {
            Some(charge) => match header.clone().with_public_expenses(&charge) {
                Ok(with_ko) => Some(with_ko),
                Err(e) => {
                    // More than four 公費 at once: the receipt computer must choose; the
                    // header keeps the insurance records and the finished screen says why.
                    tracing::warn!(error = %e, "public expenses left off the receipt");
                    Some(header)
                }
            },
            None => Some(header),
        }
    }

    /// Today's charge with the patient's 公費, when there are any and the table is readable.
    pub fn public_expense_charge(&self) -> Option<DeskCharge> {
        if self.public_expenses.is_empty() {
            return None;
        }
        let table = self.public_expense_table.as_ref()?;
        Some(DeskCharge::assess(
            self.plan.ratio,
            &self.public_expenses,
            table,
            self.patient_birthdate(),
            self.on,
        ))
    }

    /// Why the 公費 are not on the receipt, for the finished screen (`None` when they are,
    /// or when there are none).
    pub fn public_expense_problem(&self) -> Option<String> {
        if self.public_expenses.is_empty() {
            return None;
        }
        let Some(charge) = self.public_expense_charge() else {
            return Some(
                "公費の負担ルール表を読み込めないため、公費(KO)はレセプトに入れていません。レセコンで入力してください。"
                    .into(),
            );
        };
        let count = charge.applying().count();
        (count > MAX_PUBLIC_EXPENSES).then(|| TooManyPublicExpenses { count }.message())
    }
}

/// The form as the self-declaration input document (the same JSON the CLI reads).
fn declaration_document(form: &DeclarationForm, facility: &Facility, on: Date) -> String {
    let opt = |s: &str| {
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_owned())
    };
    serde_json::json!({
        "facility": { "name": facility.name, "code": facility.code },
        "date": on.to_string(),
        "name": opt(&form.name),
        "name_kana": opt(&form.name_kana),
        "birthdate": opt(&form.birthdate),
        "sex": opt(&form.sex),
        "address": opt(&form.address),
        "phone": opt(&form.phone),
        "insurance_kind": opt(&form.insurance_kind),
        "insurer_name": opt(&form.insurer_name),
        "employer": opt(&form.employer),
        "symbol": opt(&form.symbol),
        "number": opt(&form.number),
        "relationship": opt(&form.relationship),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::verdict::NextStep;
    use time::macros::date;

    #[test]
    fn the_declaration_is_prefilled_with_the_birth_date_in_wareki() {
        let mut v = Verdict::bare(VerdictKind::NoRecord, NextStep::ConfirmByDocuments);
        v.qualifications.push(crate::domain::Qualification {
            name: Some("山田 花子".into()),
            birthdate: Some(date!(1980 - 04 - 01)),
            ..Default::default()
        });
        let facility = Facility {
            name: "さくら内科".into(),
            code: "1312345678".into(),
        };
        let mut flow = ClaimFlow::new(date!(2026 - 11 - 21), Some(&v), facility);
        flow.start_declaration();
        match &flow.stage {
            ClaimStage::Declaration(form) => {
                assert_eq!(form.birthdate, "昭和55年4月1日");
                assert_eq!(form.name, "山田 花子");
            }
            other => panic!("{other:?}"),
        }
    }
}
