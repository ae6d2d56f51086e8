//! The names of the files exchanged with the receipt computer.
//!
//! Confirmed by public receipt-computer code: a single check (個別照会) is requested as
//! `OQSsiquc01req_<id>.xml` in `req` and answered as `OQSsiquc01res_<id>.xml` in `res`; a
//! batch (一括照会) request is `OQSmuquc01req_<id>.xml`. **Unconfirmed** (our choices, see
//! `docs/receipt-computer.md`): the batch answer's name `OQSmuquc01res_<id>.xml` (the real
//! system answers in two steps) and the name of a `face` file ([`face_name`], its prefix a
//! setting).
//!
//! The `<id>` part comes from another program and becomes part of a path and of the journal:
//! only [`is_safe_id`] ids are answered, anything else is rejected.

use time::OffsetDateTime;

use crate::domain::expiry::JST;

/// A single check's request (個別照会).
pub const SINGLE_REQUEST_PREFIX: &str = "OQSsiquc01req_";
/// A single check's result.
pub const SINGLE_RESULT_PREFIX: &str = "OQSsiquc01res_";
/// A batch request (一括照会).
pub const BULK_REQUEST_PREFIX: &str = "OQSmuquc01req_";
/// A batch result (one-step answer: the project's choice, unconfirmed).
pub const BULK_RESULT_PREFIX: &str = "OQSmuquc01res_";
/// The default prefix of a `face` file (unconfirmed: `[interop] face_prefix`).
pub const DEFAULT_FACE_PREFIX: &str = "OQSsiquc01res_face_";
/// The extension of every file.
pub const EXTENSION: &str = ".xml";
/// The longest id answered.
pub const MAX_ID_CHARS: usize = 64;

/// Which job a request file asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// 個別照会: one patient.
    Single,
    /// 一括照会: several patients.
    Bulk,
}

/// A request file's name, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestName {
    pub job: Job,
    /// The `<id>` part, known to be [`is_safe_id`].
    pub id: String,
}

impl RequestName {
    /// The name of the result file that answers this request.
    pub fn result_name(&self) -> String {
        let prefix = match self.job {
            Job::Single => SINGLE_RESULT_PREFIX,
            Job::Bulk => BULK_RESULT_PREFIX,
        };
        format!("{prefix}{}{EXTENSION}", self.id)
    }
}

/// Whether an id may be part of a file name and the journal: letters, digits, `-` and `_`
/// (ASCII), 1 to [`MAX_ID_CHARS`] characters. Nothing that walks folders (`..`, `/`, `\`),
/// names a drive or a device, or hides in a terminal.
pub fn is_safe_id(id: &str) -> bool {
    crate::config::is_safe_file_token(id)
}

/// The job a file name asks for by its prefix and extension (`.xml`, any case, as Windows
/// shares do not keep case reliably), whatever its id: `None` for a file that is not a
/// request.
pub fn job_of(file_name: &str) -> Option<Job> {
    let has_extension = file_name
        .get(file_name.len().saturating_sub(EXTENSION.len())..)
        .is_some_and(|e| e.eq_ignore_ascii_case(EXTENSION));
    if !has_extension {
        return None;
    }
    if file_name.starts_with(SINGLE_REQUEST_PREFIX) {
        Some(Job::Single)
    } else if file_name.starts_with(BULK_REQUEST_PREFIX) {
        Some(Job::Bulk)
    } else {
        None
    }
}

/// Reads a request file's name; `Err` is a precise English reason to reject the file.
pub fn parse_request_name(file_name: &str) -> Result<RequestName, String> {
    let job = job_of(file_name).ok_or_else(|| {
        format!(
            "not a request file name (expected {SINGLE_REQUEST_PREFIX}<id>{EXTENSION} or {BULK_REQUEST_PREFIX}<id>{EXTENSION})"
        )
    })?;
    let prefix = match job {
        Job::Single => SINGLE_REQUEST_PREFIX,
        Job::Bulk => BULK_REQUEST_PREFIX,
    };
    let id = &file_name[prefix.len()..file_name.len() - EXTENSION.len()];
    if !is_safe_id(id) {
        return Err(format!(
            "unsafe id in the file name: only ASCII letters, digits, '-' and '_', 1 to {MAX_ID_CHARS} characters"
        ));
    }
    Ok(RequestName {
        job,
        id: id.to_owned(),
    })
}

/// `YYYYMMDDHHmmss` in Japan time, the form of `ProcessExecutionTime`.
pub fn execution_time(at: OffsetDateTime) -> String {
    let t = at.to_offset(JST);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The id of a `face` file (its `ArbitraryFileIdentifier` and the middle of its name):
/// `<desk id>_<YYYYMMDDHHmmss>_<check id>`, unique per desk and check, sortable by time.
pub fn face_id(desk_id: &str, at: OffsetDateTime, check_id: i64) -> String {
    format!("{desk_id}_{}_{check_id}", execution_time(at))
}

/// The name of a `face` file: `<prefix><face id>.xml`. **Unconfirmed** (public code watches
/// `OQSsiquc01res_face_*.xml`, the exact naming is not public): the prefix is a setting.
pub fn face_name(prefix: &str, face_id: &str) -> String {
    format!("{prefix}{face_id}{EXTENSION}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn request_names_are_read_and_unsafe_ids_refused() {
        let single = parse_request_name("OQSsiquc01req_A-1_b.xml").expect("name");
        assert_eq!(single.job, Job::Single);
        assert_eq!(single.result_name(), "OQSsiquc01res_A-1_b.xml");
        let bulk = parse_request_name("OQSmuquc01req_0001.XML").expect("name");
        assert_eq!(bulk.result_name(), "OQSmuquc01res_0001.xml");
        for bad in [
            "OQSsiquc01req_..%2f.xml",
            "OQSsiquc01req_../../etc/passwd.xml",
            "OQSsiquc01req_a\\b.xml",
            "OQSsiquc01req_.xml",
            "OQSsiquc01req_a b.xml",
            "OQSsiquc01req_ａ.xml",
            &format!("OQSsiquc01req_{}.xml", "a".repeat(65)),
        ] {
            assert!(parse_request_name(bad).is_err(), "{bad}");
        }
        assert_eq!(job_of("OQSsiquc01res_1.xml"), None);
        assert_eq!(job_of("OQSsiquc01req_1.xml.tmp"), None);
        assert!(is_safe_id(&"a".repeat(64)));
    }

    #[test]
    fn face_names_carry_desk_time_and_check() {
        let at = datetime!(2026-12-03 01:02:03 UTC);
        let id = face_id("desk1", at, 42);
        assert_eq!(id, "desk1_20261203100203_42");
        assert_eq!(
            face_name(DEFAULT_FACE_PREFIX, &id),
            "OQSsiquc01res_face_desk1_20261203100203_42.xml"
        );
    }
}
