//! The claim path (請求の経路) as the desk drives it: the wizard's actions and the printouts'
//! answers; the flow itself is `super::super::claim_flow`, drawn by `screens::claim`.

use super::{Action, Desk, Event, JobId, Request, Screen};
use crate::app::claim_flow::{ClaimStage, Finished};
use crate::domain::claim::ClaimStep;
use crate::journal::CheckId;

impl Desk {
    /// Starts the file manager on `dir` (one at a time).
    pub(super) fn open_folder(&mut self, dir: std::path::PathBuf) {
        if self.opening_folder.is_none() {
            let job = self.job();
            self.outbox.push(Request::OpenFolder { job, dir });
            self.opening_folder = Some(job);
        }
    }

    /// The file manager started, or why not: said on the screen that asked.
    pub(super) fn folder_opened(&mut self, job: JobId, result: Result<(), String>) {
        if self.opening_folder != Some(job) {
            return;
        }
        self.opening_folder = None;
        let notice = result.err();
        match &mut self.screen {
            Screen::Claim(flow) => flow.notice = notice,
            Screen::History(h) if notice.is_some() => h.notice = notice,
            _ => {}
        }
    }

    pub(super) fn printed(
        &mut self,
        job: JobId,
        pdf: Result<std::path::PathBuf, String>,
        problem: Option<String>,
        recorded: Option<Result<CheckId, String>>,
    ) {
        if matches!(self.screen, Screen::History(_)) {
            if let Some(h) = self.history_answer(job, |h| &mut h.reprinting) {
                h.notice = Some(problem.unwrap_or_else(|| "印刷を依頼しました。".to_owned()));
            }
            return;
        }
        let Screen::Claim(flow) = &mut self.screen else {
            return;
        };
        match (&flow.stage, pdf) {
            (
                ClaimStage::Printing {
                    job: j,
                    declaration,
                },
                Ok(pdf),
            ) if *j == job => {
                let receipt = flow.receipt(Some(declaration));
                flow.stage = ClaimStage::Finished(Box::new(Finished {
                    receipt,
                    pdf: Some(pdf),
                    print_problem: problem,
                    recorded,
                }));
            }
            (
                ClaimStage::Printing {
                    job: j,
                    declaration,
                },
                Err(why),
            ) if *j == job => {
                // Nothing was written: back to the preview, with the reason.
                let declaration = declaration.clone();
                flow.stage = ClaimStage::Preview(declaration);
                flow.notice = Some(why);
            }
            (ClaimStage::Finished(done), _) if flow.reprinting == Some(job) => {
                let mut done = done.clone();
                done.print_problem = problem;
                flow.stage = ClaimStage::Finished(done);
                flow.reprinting = None;
            }
            _ => {}
        }
    }

    pub(super) fn claim_action(&mut self, action: Action) {
        let job = self.next_job;
        let Screen::Claim(flow) = &mut self.screen else {
            return;
        };
        let mut used_job = false;
        match action {
            Action::EditEvidence(form) => flow.form = form,
            Action::EditPdfPath(path) => flow.pdf_path = path,
            Action::AddEvidence => flow.add_evidence(),
            Action::SetCircumstance(c) => {
                flow.circumstance = c;
                flow.replan();
            }
            Action::Reconfirm if flow.reconfirming.is_none() => {
                if let Some(search) = flow.reconfirm_search() {
                    flow.reconfirming = Some(job);
                    used_job = true;
                    // The re-check is for the claim path's visit, whatever the clock says now.
                    self.outbox.push(Request::ConfirmByNumbers {
                        job,
                        search: Box::new(search),
                        on: flow.on,
                    });
                }
            }
            Action::StartDeclaration => flow.start_declaration(),
            Action::EditDeclaration(form) => {
                if let ClaimStage::Declaration(current) = &mut flow.stage {
                    **current = form;
                }
            }
            Action::PreviewDeclaration => flow.check_declaration(),
            Action::BackToDeclaration => flow.back_to_declaration(),
            Action::PrintDeclaration => {
                if let ClaimStage::Preview(declaration) = &flow.stage {
                    let declaration = declaration.clone();
                    flow.notice = None;
                    used_job = true;
                    self.outbox.push(Request::PrintDeclaration {
                        job,
                        declaration: declaration.clone(),
                        check: flow.check,
                        on: flow.on,
                    });
                    flow.stage = ClaimStage::Printing { job, declaration };
                }
            }
            Action::Reprint => {
                if let ClaimStage::Finished(done) = &flow.stage {
                    if let (Some(pdf), None) = (&done.pdf, flow.reprinting) {
                        used_job = true;
                        flow.reprinting = Some(job);
                        self.outbox.push(Request::Reprint {
                            job,
                            pdf: pdf.clone(),
                        });
                    }
                }
            }
            Action::ImportPortalPdf(path) if flow.importing.is_none() => {
                used_job = true;
                flow.importing = Some(job);
                self.outbox.push(Request::ImportPortalPdf { job, path });
            }
            Action::FinishClaim => {
                let receipt = flow.receipt(None);
                let mut recorded = None;
                match &receipt {
                    Some(r) if flow.recording.is_none() => {
                        used_job = true;
                        flow.recording = Some(job);
                        self.outbox.push(Request::RecordClaim {
                            job,
                            check: flow.check,
                            step: flow.plan.step,
                            receipt: Box::new(r.clone()),
                            birthdate: flow.patient_birthdate(),
                            on: flow.on,
                        });
                    }
                    Some(_) => {}
                    // No card and nothing to show: the case is recorded without a receipt.
                    None if flow.plan.step == ClaimStep::BringCertificate
                        && flow.recording.is_none() =>
                    {
                        used_job = true;
                        flow.recording = Some(job);
                        self.outbox.push(Request::RecordCase {
                            job,
                            check: flow.check,
                            step: flow.plan.step,
                            birthdate: flow.patient_birthdate(),
                            on: flow.on,
                        });
                    }
                    None => recorded = Some(Err("請求する番号がないため記録していません。".into())),
                }
                flow.stage = ClaimStage::Finished(Box::new(Finished {
                    receipt,
                    pdf: None,
                    print_problem: None,
                    recorded,
                }));
            }
            _ => {}
        }
        if used_job {
            self.next_job += 1;
        }
    }

    /// The workers' answers for the claim path (a step recorded, a portal PDF read).
    pub(super) fn claim_event(&mut self, event: Event) {
        match event {
            Event::ClaimRecorded { job, recorded } => {
                if let Screen::Claim(flow) = &mut self.screen {
                    if flow.recording == Some(job) {
                        flow.recording = None;
                        if let ClaimStage::Finished(done) = &mut flow.stage {
                            done.recorded = Some(recorded);
                        }
                    }
                }
            }
            Event::PortalPdfRead { job, result } => {
                if let Screen::Claim(flow) = &mut self.screen {
                    if flow.importing == Some(job) {
                        flow.imported(result);
                    }
                }
            }
            _ => {}
        }
    }
}
