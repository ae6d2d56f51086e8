//! Entry points for the fuzz targets (`fuzz/`) and their replay test (`tests/fuzz_replay.rs`).
//!
//! One function per parser of bytes that come from outside: the fuzzer and the ordinary
//! `cargo test` replay of the kept corpus and crash regressions call the very same code, so a
//! bug found by the fuzzer stays fixed on the stable toolchain without instrumentation.
//!
//! Each function takes arbitrary bytes and walks them the way the desk does (parse, then use
//! what was parsed), discarding the result: the fuzzer looks for panics, aborts, hangs and
//! runaway memory, never for a particular answer. Not an API: hidden from the documentation.

use time::macros::date;
use time::Date;

use crate::domain::claim::receipt::UnknownInsurer;
use crate::domain::claim::{parse_declaration, parse_receipt, parse_situation, plan};
use crate::domain::public_expense::table::BenefitTable;
use crate::online::interpret::{interpret, Asked};
use crate::online::message::ResponseEnvelope;

/// The day the inputs are judged on: fixed, so a finding replays the same way every day.
const TODAY: Date = date!(2026 - 11 - 21);

/// The claim-path documents (`onshi-desk claim plan|receipt|declare --json`): the first byte
/// picks the parser, the rest is the document.
///
/// `p` situation (→ plan), `r` receipt request (→ header and records), `d` self-declaration
/// (自己申告); any other first byte picks one by its value, so every input reaches a parser.
/// Invalid UTF-8 is refused before parsing, as `read_input` in `src/cli/claim.rs` does.
pub fn claim_json(data: &[u8]) {
    let Some((&which, document)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(document) else {
        return;
    };
    match which {
        b'p' => claim_situation(text),
        b'r' => claim_receipt(text),
        b'd' => claim_declaration(text),
        other => match other % 3 {
            0 => claim_situation(text),
            1 => claim_receipt(text),
            _ => claim_declaration(text),
        },
    }
}

fn claim_situation(text: &str) {
    if let Ok(situation) = parse_situation(text, TODAY) {
        let claim_plan = plan(&situation);
        let _ = serde_json::to_vec(&claim_plan);
    }
}

fn claim_receipt(text: &str) {
    if let Ok(request) = parse_receipt(text, TODAY) {
        let table = BenefitTable::builtin();
        for insurer in [UnknownInsurer::Plain, UnknownInsurer::CheckDigit] {
            let header = request.header(insurer);
            let _ = serde_json::to_vec(&header);
            let _ = header.records();
            if let Ok(header) = request.header_with_public_expenses(insurer, &table) {
                let _ = serde_json::to_vec(&header);
                let _ = header.records();
            }
        }
    }
}

fn claim_declaration(text: &str) {
    let _ = parse_declaration(text, TODAY);
}

/// The online qualification service's answer body (`OnlineClient::confirm`): JSON into
/// [`ResponseEnvelope`], then [`interpret`] into a verdict.
///
/// Interpreted twice: once against a fixed question (as the desk would have asked it, so the
/// echo check is exercised) and once against the question the answer itself echoes, so the
/// fuzzer gets past the echo check into the qualification records and payment ratios.
pub fn service_answer(data: &[u8]) {
    let Ok(answer) = serde_json::from_slice::<ResponseEnvelope>(data) else {
        return;
    };
    let fixed = Asked {
        file_id: "desk1-1".into(),
        facility_code: "1312345678".into(),
        date: "20261121".into(),
        reference: "1",
        numbers: None,
    };
    let h = &answer.xml_msg.message_header;
    let echoed = Asked {
        file_id: h.arbitrary_file_identifier.clone().unwrap_or_default(),
        facility_code: h.medical_institution_code.clone().unwrap_or_default(),
        date: h
            .qualification_confirmation_date
            .clone()
            .unwrap_or_default(),
        reference: match h.reference_classification.as_deref() {
            Some("2") => "2",
            _ => "1",
        },
        // The records are compared with the numbers asked elsewhere (unit tests); here the
        // fuzzer is to reach the record parsing behind the echo check.
        numbers: None,
    };
    let verdict = interpret(answer.xml_msg, &echoed, TODAY);
    let _ = serde_json::to_vec(&verdict);
    // The same bytes parse the same way: a second parse stands in for a clone.
    if let Ok(again) = serde_json::from_slice::<ResponseEnvelope>(data) {
        let _ = interpret(again.xml_msg, &fixed, TODAY);
    }
}

/// The マイナポータル qualification PDF the patient brings (`onshi-desk claim import-pdf`).
pub fn portal_pdf(data: &[u8]) {
    if let Ok(fields) = crate::import::extract_portal_fields(data) {
        let _ = serde_json::to_vec(&fields);
    }
}

/// A request file from the receipt computer (`req`, `crate::interop`): the whole handler — the
/// bounded strict reading, the fields, the result document in Shift_JIS or UTF-8 — with a
/// service that answers every search as valid (echoing the numbers, with a name Shift_JIS
/// cannot hold) and a journal that records everything, so the fuzzer reaches the result
/// writing too.
///
/// The first byte picks the job (even: a single check `OQSsiquc01req_`, odd: a batch
/// `OQSmuquc01req_`) and, by its second bit, the result encoding; the rest is the file.
pub fn receipt_request(data: &[u8]) {
    use std::sync::Arc;

    use crate::interop::xml::{DocumentEncoding, ReadLimits};
    use crate::interop::{RequestHandler, RequestProcessor};

    let Some((&which, file)) = data.split_first() else {
        return;
    };
    let encoding = if which & 2 == 0 {
        DocumentEncoding::ShiftJis
    } else {
        DocumentEncoding::Utf8
    };
    let Ok(facility) = crate::domain::FacilityCode::parse("1312345678") else {
        return;
    };
    let processor = RequestProcessor::new(
        Arc::new(fuzz_fakes::AnswersValid),
        Arc::new(fuzz_fakes::RecordsAll::default()),
        facility,
        encoding,
        ReadLimits::default(),
        Arc::new(crate::clock::FixedClock::on(TODAY)),
    );
    let name = if which & 1 == 0 {
        "OQSsiquc01req_fuzz.xml"
    } else {
        "OQSmuquc01req_fuzz.xml"
    };
    let _ = processor.handle(name, file);
}

/// The service and the journal [`receipt_request`] runs against: in process, always answering.
mod fuzz_fakes {
    use std::sync::atomic::{AtomicI64, Ordering};

    use time::Date;

    use crate::check::{CheckRecorder, QualificationService};
    use crate::domain::search::{Challenge, Search};
    use crate::domain::{NextStep, Qualification, Verdict, VerdictKind};
    use crate::journal::{CheckId, JournalError, NewCheck};

    pub struct AnswersValid;

    impl QualificationService for AnswersValid {
        fn challenge(&self) -> Result<Challenge, Verdict> {
            Err(Verdict::bare(
                VerdictKind::Unreachable,
                NextStep::RetryOrDocuments,
            ))
        }

        fn confirm(&self, search: &Search, _on: Date) -> Verdict {
            let mut verdict = Verdict::bare(VerdictKind::Valid, NextStep::ClaimNormally);
            verdict.validity = Some(1);
            if let Search::Numbers(n) = search {
                verdict.qualifications.push(Qualification {
                    insurer_number: Some(n.insurer.clone()),
                    symbol: n.symbol.clone(),
                    number: Some(n.number.clone()),
                    branch: n.branch.clone(),
                    birthdate: Some(n.birthdate),
                    name: Some("𠮷田 髙子".into()),
                    name_kana: Some("ﾖｼﾀﾞ ﾀｶｺ".into()),
                    ..Qualification::default()
                });
            }
            verdict
        }
    }

    #[derive(Default)]
    pub struct RecordsAll(AtomicI64);

    impl CheckRecorder for RecordsAll {
        fn record(&self, _check: NewCheck) -> Result<CheckId, JournalError> {
            Ok(CheckId(self.0.fetch_add(1, Ordering::Relaxed) + 1))
        }
    }
}
