//! Answers the receipt computer's requests: [`RequestProcessor`], the
//! [`RequestHandler`] the folder watcher calls for each claimed file.
//!
//! A request it can name (a safe `<id>`) is always answered, even when it cannot be checked:
//! an unreadable file, a bad field, a request by card, a service that is down, a journal that
//! refuses — each is a result with `SegmentOfResult` 9, its code and a Japanese message (see
//! [`ErrorResult`]). Only a file it cannot name is rejected.
//!
//! A check is recorded in the journal, with the result file's name, **before** the answer is
//! returned; a check the journal refused is answered as not recorded, never with its verdict:
//! the receipt computer must not bill on a check the facility has no record of.

use std::sync::Arc;

use time::{Date, OffsetDateTime};

use super::document::{
    bulk_result, error_result, parse_search, result_of_check, BulkUnit, ErrorResult, HeaderContext,
    RequestMsg, SearchInfo,
};
use super::names::{parse_request_name, Job, RequestName};
use super::xml::{read_document, write_document, DocumentEncoding, ReadLimits};
use super::{Answer, Rejection, RequestHandler};
use crate::check::{CheckRecorder, FinishedCheck, QualificationService};
use crate::clock::SharedClock;
use crate::domain::search::{NumberSearch, Search};
use crate::domain::{FacilityCode, Verdict};
use crate::journal::{CheckId, NewCheck};

/// Answers request files by asking the service and recording every check.
pub struct RequestProcessor {
    service: Arc<dyn QualificationService>,
    journal: Arc<dyn CheckRecorder>,
    facility: FacilityCode,
    encoding: DocumentEncoding,
    limits: ReadLimits,
    clock: SharedClock,
}

/// What became of one patient of a batch.
#[derive(Clone, Debug)]
pub enum RowOutcome {
    /// Checked and journaled (a system failure is a verdict too).
    Checked { verdict: Box<Verdict>, id: CheckId },
    /// Not checked (a bad field) or not recorded; the message is Japanese.
    Failed { error: ErrorResult, message: String },
}

/// One patient's check made for a request: the verdict and its journal id.
struct Checked {
    verdict: Verdict,
    id: CheckId,
    on: Date,
    at: OffsetDateTime,
}

impl RequestProcessor {
    pub fn new(
        service: Arc<dyn QualificationService>,
        journal: Arc<dyn CheckRecorder>,
        facility: FacilityCode,
        encoding: DocumentEncoding,
        limits: ReadLimits,
        clock: SharedClock,
    ) -> RequestProcessor {
        RequestProcessor {
            service,
            journal,
            facility,
            encoding,
            limits,
            clock,
        }
    }

    /// The processor `config` describes (facility code, result encoding, request size cap), for
    /// the desk app's watcher, `onshi-desk interop serve` and `interop batch` alike.
    pub fn for_config(
        config: &crate::config::Config,
        service: Arc<dyn QualificationService>,
        journal: Arc<dyn CheckRecorder>,
        clock: SharedClock,
    ) -> RequestProcessor {
        RequestProcessor::new(
            service,
            journal,
            config.facility_code.clone(),
            DocumentEncoding::from_setting(config.interop.encoding),
            ReadLimits {
                max_bytes: config.interop.max_request_bytes,
                ..ReadLimits::default()
            },
            clock,
        )
    }

    fn context<'a>(&'a self, name: &'a RequestName) -> HeaderContext<'a> {
        HeaderContext {
            facility: &self.facility,
            file_id: &name.id,
            encoding: self.encoding,
        }
    }

    /// Asks the service for `search` on today's date and records the check with the result
    /// file's name. `Err` is the journal's refusal (logged here).
    fn check(&self, search: NumberSearch, result_file: &str) -> Result<Checked, ErrorResult> {
        let on = self.clock.today_jst();
        let search = Search::Numbers(search);
        let verdict = self.service.confirm(&search, on);
        let at = self.clock.now();
        let mut record = NewCheck::from_online(&search, on, &verdict);
        record.at = at;
        record.interop_file = Some(result_file.to_owned());
        match self.journal.record(record) {
            Ok(id) => Ok(Checked {
                verdict,
                id,
                on,
                at,
            }),
            Err(e) => {
                tracing::error!(
                    file = result_file,
                    kind = e.kind(),
                    error = %e,
                    "the check for a receipt-computer request was not recorded; answering with an error result"
                );
                Err(ErrorResult::NotRecorded)
            }
        }
    }

    /// An error result for a request that is not checked.
    fn refuse(&self, name: &RequestName, error: ErrorResult, message: Option<String>) -> Vec<u8> {
        let ctx = self.context(name);
        self.encode(
            &name.result_name(),
            &error_result(&ctx, self.clock.now(), None, error, message),
        )
    }

    /// What the header's `ReferenceClassification` allows: `None` to go on (by numbers), or
    /// the error result. A request by card cannot be answered from a file (the card is at
    /// the desk's reader): unconfirmed choice, see `docs/receipt-computer.md`.
    fn refuse_classification(&self, name: &RequestName, request: &RequestMsg) -> Option<Vec<u8>> {
        match request
            .message_header
            .reference_classification
            .as_deref()
            .map(str::trim)
        {
            None | Some("") | Some("2") => None,
            Some("1") => {
                tracing::info!(
                    file = %name.result_name(),
                    "request by card answered with an error result: card checks are made at the desk's reader"
                );
                Some(self.refuse(name, ErrorResult::CardRequest, None))
            }
            Some(_) => Some(self.refuse(
                name,
                ErrorResult::BadField,
                Some("照会区分(ReferenceClassification)が正しくありません。".into()),
            )),
        }
    }

    fn single(&self, name: &RequestName, request: &RequestMsg) -> Vec<u8> {
        let ctx = self.context(name);
        let result_file = name.result_name();
        let fail = |error: ErrorResult, message: Option<String>| self.refuse(name, error, message);
        let infos = &request.message_body.qualification_confirm_search_info;
        let [info] = infos.as_slice() else {
            tracing::warn!(file = %result_file, count = infos.len(), "a single request must hold exactly one QualificationConfirmSearchInfo");
            return fail(
                ErrorResult::BadField,
                Some("照会条件(QualificationConfirmSearchInfo)は1件だけ指定してください。".into()),
            );
        };
        let search = match parse_search(info, self.clock.today_jst()) {
            Ok(s) => s,
            Err(problem) => {
                tracing::warn!(file = %result_file, detail = %problem.detail, "request with bad fields");
                return fail(ErrorResult::BadField, Some(problem.message));
            }
        };
        match self.check(search, &result_file) {
            Ok(c) => {
                let finished = FinishedCheck {
                    id: c.id,
                    by_card: false,
                    on: c.on,
                    at: c.at,
                    verdict: &c.verdict,
                };
                self.encode(&result_file, &result_of_check(&finished, &ctx))
            }
            Err(error) => self.encode(
                &result_file,
                &error_result(&ctx, self.clock.now(), None, error, None),
            ),
        }
    }

    fn bulk(&self, name: &RequestName, request: &RequestMsg) -> Vec<u8> {
        let (bytes, _) = self.answer_batch(
            name,
            &request.message_body.qualification_confirm_search_info,
        );
        bytes
    }

    /// Answers a batch of searches as the result file `name.result_name()`: each patient
    /// checked and journaled in order, a bad row an error unit. Returns the file's bytes and
    /// each row's outcome (for the CSV of `onshi-desk interop batch`).
    pub fn answer_batch(
        &self,
        name: &RequestName,
        infos: &[SearchInfo],
    ) -> (Vec<u8>, Vec<RowOutcome>) {
        let ctx = self.context(name);
        let result_file = name.result_name();
        let mut units = Vec::with_capacity(infos.len());
        let mut outcomes = Vec::with_capacity(infos.len());
        for info in infos {
            let asked = info.echoed();
            let outcome = self.row(info, &result_file);
            units.push(match &outcome {
                RowOutcome::Checked { verdict, .. } => BulkUnit::of_verdict(asked, verdict),
                RowOutcome::Failed { error, message } => {
                    BulkUnit::error(asked, *error, Some(message.clone()))
                }
            });
            outcomes.push(outcome);
        }
        let bytes = self.encode(&result_file, &bulk_result(&ctx, self.clock.now(), units));
        (bytes, outcomes)
    }

    /// One patient of a batch: a bad row is an error, never the end of the batch.
    fn row(&self, info: &SearchInfo, result_file: &str) -> RowOutcome {
        let search = match parse_search(info, self.clock.today_jst()) {
            Ok(s) => s,
            Err(problem) => {
                tracing::warn!(file = result_file, detail = %problem.detail, "batch row with bad fields");
                return RowOutcome::Failed {
                    error: ErrorResult::BadField,
                    message: problem.message,
                };
            }
        };
        match self.check(search, result_file) {
            Ok(c) => RowOutcome::Checked {
                verdict: Box::new(c.verdict),
                id: c.id,
            },
            Err(error) => RowOutcome::Failed {
                error,
                message: error.message().to_owned(),
            },
        }
    }

    /// The file's bytes; characters the encoding lacks are logged by element and count.
    fn encode<T: serde::Serialize>(&self, file: &str, document: &T) -> Vec<u8> {
        match write_document(document, self.encoding) {
            Ok(encoded) => {
                for r in &encoded.replaced {
                    tracing::info!(
                        file,
                        element = %r.element,
                        count = r.count,
                        "characters not in Shift_JIS were written as ●"
                    );
                }
                encoded.bytes
            }
            Err(e) => {
                // Our own types always serialize; should one not, the receipt computer still
                // gets an answer rather than silence.
                tracing::error!(file, error = %e, "result document could not be serialized");
                fallback_error(self.encoding)
            }
        }
    }
}

/// A minimal abnormal-end document, written without serde (only if serializing ever fails).
fn fallback_error(encoding: DocumentEncoding) -> Vec<u8> {
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"{}\" standalone=\"no\"?>\n<XmlMsg><MessageHeader><SegmentOfResult>9</SegmentOfResult><ErrorCode>{}</ErrorCode><CharacterCodeIdentifier>{}</CharacterCodeIdentifier></MessageHeader></XmlMsg>\n",
        encoding.declared_name(),
        ErrorResult::ServerError.code(),
        encoding.character_code()
    );
    text.into_bytes()
}

impl RequestHandler for RequestProcessor {
    fn accepts(&self, file_name: &str) -> bool {
        super::names::job_of(file_name).is_some()
    }

    fn handle(&self, file_name: &str, bytes: &[u8]) -> Result<Answer, Rejection> {
        let name = parse_request_name(file_name).map_err(|reason| {
            tracing::warn!(reason = %reason, "request file rejected");
            Rejection { reason }
        })?;
        let result_file = name.result_name();
        let request = match read_document::<RequestMsg>(bytes, &self.limits) {
            Ok((request, _)) => request,
            Err(e) => {
                tracing::warn!(file = %result_file, error = %e, "unreadable request answered with an error result");
                let ctx = self.context(&name);
                let doc = error_result(
                    &ctx,
                    self.clock.now(),
                    None,
                    ErrorResult::UnreadableRequest,
                    None,
                );
                return Ok(Answer {
                    bytes: self.encode(&result_file, &doc),
                    file_name: result_file,
                });
            }
        };
        let infos = &request.message_body.qualification_confirm_search_info;
        let bytes = if let Some(refused) = self.refuse_classification(&name, &request) {
            refused
        } else if infos.is_empty() {
            self.refuse(
                &name,
                ErrorResult::BadField,
                Some("照会条件(QualificationConfirmSearchInfo)がありません。".into()),
            )
        } else {
            match name.job {
                Job::Single => self.single(&name, &request),
                Job::Bulk => self.bulk(&name, &request),
            }
        };
        Ok(Answer {
            file_name: result_file,
            bytes,
        })
    }
}
