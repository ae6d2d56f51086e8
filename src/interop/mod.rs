//! The receipt computer's file interface (レセコン連携): the folders the official 資格確認端末
//! shares with receipt computers, so results flow into the receipt computer without retyping.
//!
//! The receipt computer drops a request file in `req`; onshi-desk answers with a result file of
//! the same identifier in `res`; results of checks made at the desk appear unprompted in
//! `face`. Files are `XmlMsg` documents (the element names of `docs/online-api.md`). The layout,
//! names, encodings and what public sources confirm: `docs/receipt-computer.md`.
//!
//! Data flows one way: check → verdict → journal → files. This module depends on the check
//! flows and the journal; nothing upstream depends on it (the check flows announce finished
//! checks through [`crate::check::ResultSink`]).

pub mod batch;
pub mod document;
pub mod face;
pub mod handler;
pub mod names;
pub mod watch;
pub mod xml;

pub use self::face::FaceWriter;
pub use self::handler::{RequestProcessor, RowOutcome};

/// A result file to put in the `res` folder for one claimed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The result file's name, e.g. `OQSsiquc01res_<id>.xml`.
    pub file_name: String,
    /// The whole file, already encoded (Shift_JIS or UTF-8).
    pub bytes: Vec<u8>,
}

/// Why a request file is moved aside to `rejected` instead of being answered (a file that is
/// not a request at all, or one so broken that no result file can name it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Precise English reason, written next to the file and logged.
    pub reason: String,
}

/// What answers the requests the folder watcher claims.
///
/// The watcher owns the folders (claiming by atomic rename, writing the answer by temporary
/// name + rename, moving rejects aside, surviving a vanished share); the handler owns the
/// meaning (parse, ask the service, journal, build the result file). A handler answers every
/// request it can name, even when the service is down (an error result, `SegmentOfResult` 9),
/// and rejects only what it cannot answer at all.
pub trait RequestHandler: Send + Sync {
    /// Whether a file name in `req` is a request this handler takes (by its job prefix).
    fn accepts(&self, file_name: &str) -> bool;
    /// Answers one claimed request file. The request is journaled before this returns `Ok`.
    fn handle(&self, file_name: &str, bytes: &[u8]) -> Result<Answer, Rejection>;
}
