//! The reception journal (受付記録): every check made at the desk, durable before the desk is
//! told it is done; the outage queue and the storage of after-the-fact confirmation (事後確認);
//! the month-end reports.
//!
//! The journal is storage only: it depends on the domain and nothing else. The flows that
//! decide what to record and the re-confirmer that asks the service again live in
//! `crate::check`; every write goes through [`Journal`] (the writer), every connection is
//! opened by `connection.rs`, and the enum columns (本人確認の方法, verdict, claim step, kind,
//! status) are stored and read as their types by `columns.rs`.
//!
//! # Storage
//!
//! One SQLite file (default `<local data dir>/onshi-desk/journal.sqlite3`, i.e.
//! `~/.local/share/onshi-desk/journal.sqlite3` on Linux, `%LOCALAPPDATA%\onshi-desk\` on
//! Windows; `[journal] path` in the configuration changes it). WAL journal mode with `synchronous = FULL`: a commit is on disk (the WAL is
//! fsynced) when [`Journal::record`] returns, so a power cut or a `kill -9` never loses a
//! check the desk was told is done. The schema is versioned with `PRAGMA user_version` and
//! migrated forward on open (see [`schema`]).
//!
//! The file and its folder are owner-only; every open checks the file is sound before writing
//! (`PRAGMA quick_check`), and a damaged file is set aside under a dated name, never deleted or
//! written to, until staff start a new journal (`onshi-desk journal recover`): see
//! `files.rs` and `docs/journal.md`. Every failure is typed once ([`JournalError`]) and tells
//! the desk the check is **not** recorded and why.
//!
//! # One writer, many readers
//!
//! All writes go through [`Journal`], a cheap, cloneable, thread-safe handle to **one writer
//! thread** that owns the only write connection and takes jobs from a channel. Why a thread
//! rather than a mutexed connection: a SQLite file has one writer at a time anyway, so a
//! single owner never sees `SQLITE_BUSY` from itself; callers on any thread (the app's
//! workers, the re-confirmer) queue without holding a lock across an fsync; and
//! [`Journal::submit`] lets a thread that must not block (the UI) hand a check over and poll
//! for the commit. Readers ([`JournalReader`]) open their own read-only connections: in WAL
//! mode they never wait for the writer.
//!
//! # What is kept, and for how long (retention rule)
//!
//! Each record holds the time (UTC) and check date (JST), the kind of check, the identity
//! confirmation method, the verdict and QualificationValidity, the numbers used (保険者番号,
//! 記号, 番号, 枝番), name, kana and birth date from the answer, the claim step and receipt
//! header (JSON), the printout PDF paths, the 公費 entitlements (JSON) and the status. **Never the PIN** (no field can
//! hold it).
//!
//! The card's user-authentication certificate (its serial and DER) is personal data that
//! identifies the card holder; it is stored **only on a check queued for re-confirmation by
//! card**, and cleared:
//! - in the same transaction that re-confirms the record or flags it as a conflict;
//! - by [`Journal::purge_certificates`] for checks older than `retention_days` (configuration
//!   `[journal] retention_days`, default 35: past the month-end claim run on the 10th), which
//!   `onshi-desk journal purge` and the re-confirmer's round (`crate::check::Reconfirmer`)
//!   run.
//!
//! Whole records are deleted only on request (`onshi-desk journal purge --before DATE`,
//! [`Journal::purge_before`]); records still queued or in conflict are kept because the claim
//! still needs them.

mod columns;
mod connection;
mod error;
mod files;
pub mod public_expenses;
mod query;
pub mod report;
pub mod schema;
#[cfg(feature = "shared-journal")]
pub mod shared;
mod writer;

use std::path::PathBuf;

use serde::Serialize;
use time::{Date, OffsetDateTime};

pub use self::columns::stored_name;
pub use self::connection::JournalOptions;
pub use self::error::JournalError;
pub use self::files::set_aside_files;
pub use self::query::{
    Filter, JournalReader, ReadScope, INTEGRITY_NOT_APPLICABLE, MAX_SEARCH_CHARS,
};
pub use self::report::{csv_bytes, csv_field, write_records_csv, write_usage_csv, MonthlyUsage};
pub use self::writer::{Journal, Pending, ReconfirmOutcome, Settlement};

use crate::domain::claim::plan::ClaimStep;
use crate::domain::claim::receipt::ReceiptHeader;
use crate::domain::search::Search;
use crate::domain::verdict::{Verdict, VerdictKind};
use crate::domain::IdentityMethod;

/// The id of one recorded check (受付記録番号), stable for the life of the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CheckId(pub i64);

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How the check was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// By My Number card (マイナ保険証).
    Card,
    /// By numbers (個別照会).
    Numbers,
    /// A claim-path step without an online check of its own (①②③ from documents or a
    /// self-declaration).
    ClaimPath,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Card => "card",
            CheckKind::Numbers => "numbers",
            CheckKind::ClaimPath => "claim_path",
        }
    }
}

/// Where the record stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Finished at the desk; nothing left to confirm.
    Done,
    /// Waiting for after-the-fact confirmation (事後確認): the service was down, or the claim
    /// is an unknown receipt (不詳レセプト).
    Queued,
    /// Confirmed afterwards; the claim uses the confirmed numbers.
    Reconfirmed,
    /// The confirmation answered something else than the desk recorded: staff must decide.
    Conflict,
    /// Left unfinished at the desk (中断): the clerk cancelled the check, or left its result
    /// or its claim path before a qualification to claim with was settled. Never 完了: it
    /// stays on the month-end unresolved list until staff settle it (`resolve`).
    Abandoned,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Done => "done",
            CheckStatus::Queued => "queued",
            CheckStatus::Reconfirmed => "reconfirmed",
            CheckStatus::Conflict => "conflict",
            CheckStatus::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "done" => CheckStatus::Done,
            "queued" => CheckStatus::Queued,
            "reconfirmed" => CheckStatus::Reconfirmed,
            "conflict" => CheckStatus::Conflict,
            "abandoned" => CheckStatus::Abandoned,
            _ => return None,
        })
    }
}

/// The numbers a check used or found (保険者番号, 記号, 番号, 枝番), as text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckNumbers {
    /// 保険者番号 (6 or 8 digits as printed).
    pub insurer_number: String,
    /// 記号
    pub symbol: Option<String>,
    /// 番号
    pub number: String,
    /// 枝番
    pub branch: Option<String>,
}

impl CheckNumbers {
    /// The numbers of a qualification record, when it has a 保険者番号 and a 番号.
    pub fn of(q: &crate::domain::verdict::Qualification) -> Option<CheckNumbers> {
        match (&q.insurer_number, &q.number) {
            (Some(insurer), Some(number)) => Some(CheckNumbers {
                insurer_number: insurer.as_str().to_owned(),
                symbol: q.symbol.clone(),
                number: number.clone(),
                branch: q.branch.clone(),
            }),
            _ => None,
        }
    }
}

/// The card's user-authentication certificate, kept only while a check is queued (see the
/// retention rule in the module documentation).
#[derive(Clone, PartialEq, Eq)]
pub struct HeldCertificate {
    /// Serial, uppercase hex.
    pub serial_hex: String,
    pub der: Vec<u8>,
}

impl std::fmt::Debug for HeldCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HeldCertificate({}, {} bytes)",
            self.serial_hex,
            self.der.len()
        )
    }
}

/// One check to record. Build it with [`NewCheck::from_online`] after an online check, or
/// [`NewCheck::claim_path`] for a claim-path step without one, then adjust fields.
#[derive(Clone, Debug)]
pub struct NewCheck {
    /// When the check was made (UTC).
    pub at: OffsetDateTime,
    /// The check date (JST), the visit date the qualification is confirmed for.
    pub check_date: Date,
    pub kind: CheckKind,
    /// 本人確認の方法 (card checks).
    pub identity: Option<IdentityMethod>,
    pub verdict: Option<VerdictKind>,
    /// QualificationValidity (1–5).
    pub validity: Option<u8>,
    pub numbers: Option<CheckNumbers>,
    pub name: Option<String>,
    pub name_kana: Option<String>,
    pub birthdate: Option<Date>,
    pub claim_step: Option<ClaimStep>,
    /// The receipt header (JSON of [`ReceiptHeader`]).
    pub receipt: Option<serde_json::Value>,
    /// Printouts made for this check (PDF paths).
    pub printouts: Vec<PathBuf>,
    /// Only for a card check that must be re-confirmed by card; see the retention rule.
    pub certificate: Option<HeldCertificate>,
    /// Forces the status; `None` derives it (see [`NewCheck::derived_status`]).
    pub status: Option<CheckStatus>,
    /// The result file written for the receipt computer, when known before recording (a
    /// request answered from the `req` folder); a `face` file is named after recording with
    /// [`Journal::set_interop_file`].
    pub interop_file: Option<String>,
    /// 公費・医療費助成 known for the check (the answer's; paper ones are added afterwards
    /// with [`Journal::set_public_expenses`]).
    pub public_expenses: Vec<crate::domain::public_expense::PublicExpense>,
}

/// Whether a verdict means the service did not answer (outage): the check is queued.
pub fn is_outage(kind: VerdictKind) -> bool {
    kind.is_system_failure()
}

/// Whether a receipt's 保険者番号 is the unknown receipt's 7s.
pub fn is_unknown_insurer(insurer: &str) -> bool {
    insurer == crate::domain::claim::receipt::UNKNOWN_INSURER
        || insurer == crate::domain::claim::receipt::UNKNOWN_INSURER_CHECKED
}

impl NewCheck {
    /// A check that asked the service (`search`) on `check_date` and got `verdict`.
    ///
    /// Numbers, name and birth date come from the answer's primary record, else from the
    /// search. The certificate is never taken from the search here: pass it with
    /// [`NewCheck::hold_certificate`] when a queued card check should be re-confirmed by card.
    pub fn from_online(search: &Search, check_date: Date, verdict: &Verdict) -> Self {
        let mut check = NewCheck::empty(
            match search {
                Search::Card(_) => CheckKind::Card,
                Search::Numbers(_) => CheckKind::Numbers,
            },
            check_date,
        );
        check.verdict = Some(verdict.kind);
        check.validity = verdict.validity;
        check.public_expenses = verdict.public_expenses.clone();
        if let Search::Card(c) = search {
            check.identity = Some(c.method);
        }
        if let Search::Numbers(n) = search {
            check.numbers = Some(CheckNumbers {
                insurer_number: n.insurer.as_str().to_owned(),
                symbol: n.symbol.clone(),
                number: n.number.clone(),
                branch: n.branch.clone(),
            });
            check.birthdate = Some(n.birthdate);
        }
        if let Some(q) = verdict.primary() {
            if let Some(numbers) = CheckNumbers::of(q) {
                check.numbers = Some(numbers);
            }
            check.name = q.name.clone();
            check.name_kana = q.name_kana.clone();
            check.birthdate = q.birthdate.or(check.birthdate);
        }
        check
    }

    /// A claim-path step recorded on its own (no online check), e.g. ③ with its receipt.
    pub fn claim_path(check_date: Date, step: ClaimStep, receipt: &ReceiptHeader) -> Self {
        let mut check = NewCheck::empty(CheckKind::ClaimPath, check_date);
        check.claim_step = Some(step);
        check.receipt = serde_json::to_value(receipt).ok();
        if !is_unknown_insurer(receipt.insurer_number()) {
            check.numbers = Some(CheckNumbers {
                insurer_number: receipt.insurer_number().to_owned(),
                symbol: receipt.symbol().map(str::to_owned),
                number: receipt.number().to_owned(),
                branch: receipt.branch().map(str::to_owned),
            });
        }
        check
    }

    /// A record with only its kind and date, made now.
    pub fn empty(kind: CheckKind, check_date: Date) -> Self {
        NewCheck {
            at: OffsetDateTime::now_utc(),
            check_date,
            kind,
            identity: None,
            verdict: None,
            validity: None,
            numbers: None,
            name: None,
            name_kana: None,
            birthdate: None,
            claim_step: None,
            receipt: None,
            printouts: Vec::new(),
            certificate: None,
            status: None,
            interop_file: None,
            public_expenses: Vec::new(),
        }
    }

    /// Keeps the card certificate for re-confirmation by card (only stored if queued).
    pub fn hold_certificate(mut self, serial_hex: &str, der: &[u8]) -> Self {
        self.certificate = Some(HeldCertificate {
            serial_hex: serial_hex.to_owned(),
            der: der.to_vec(),
        });
        self
    }

    /// Sets the claim step and receipt header.
    pub fn with_claim(mut self, step: ClaimStep, receipt: &ReceiptHeader) -> Self {
        self.claim_step = Some(step);
        self.receipt = serde_json::to_value(receipt).ok();
        self
    }

    /// The status a record starts with: queued after an outage or with an unknown receipt,
    /// else done.
    pub fn derived_status(&self) -> CheckStatus {
        if let Some(s) = self.status {
            return s;
        }
        let outage = self.verdict.is_some_and(is_outage);
        let unknown = self
            .receipt_insurer()
            .is_some_and(|i| is_unknown_insurer(&i));
        if outage || unknown {
            CheckStatus::Queued
        } else {
            CheckStatus::Done
        }
    }

    /// The certificate to store with a record of `status`: the one held, only while the
    /// check waits for re-confirmation (the retention rule; every later change of status
    /// drops it in the same transaction).
    pub(crate) fn certificate_to_store(&self, status: CheckStatus) -> Option<&HeldCertificate> {
        self.certificate
            .as_ref()
            .filter(|_| status == CheckStatus::Queued)
    }

    pub(crate) fn receipt_insurer(&self) -> Option<String> {
        self.receipt
            .as_ref()
            .and_then(|r| r.get("insurer_number"))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }
}

/// One recorded check as read back.
#[derive(Clone, Debug, Serialize)]
pub struct CheckRecord {
    /// The record's number: this desk's, or the facility's when read from the shared journal.
    pub id: CheckId,
    /// The desk that made the check (`[journal] desk_id`), when read from the shared journal;
    /// `None` from a desk's own file.
    pub desk: Option<String>,
    /// The record's number at that desk (shared journal only).
    pub desk_check_id: Option<i64>,
    /// RFC 3339, UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub check_date: Date,
    pub kind: CheckKind,
    /// 本人確認の方法 (card checks).
    pub identity: Option<IdentityMethod>,
    /// The verdict at the desk.
    pub verdict: Option<VerdictKind>,
    pub validity: Option<u8>,
    pub numbers: Option<CheckNumbers>,
    pub name: Option<String>,
    pub name_kana: Option<String>,
    pub birthdate: Option<Date>,
    pub claim_step: Option<ClaimStep>,
    pub receipt: Option<serde_json::Value>,
    pub printouts: Vec<PathBuf>,
    pub status: CheckStatus,
    /// Whether a certificate is still held for re-confirmation (never the certificate itself).
    pub certificate_held: bool,
    pub attempts: u32,
    pub last_attempt_detail: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reconfirmed_at: Option<OffsetDateTime>,
    pub reconfirmed_verdict: Option<VerdictKind>,
    pub reconfirmed_validity: Option<u8>,
    pub conflict_detail: Option<String>,
    /// The phone number declared on a self-declaration (③).
    pub phone: Option<String>,
    /// The result file written for the receipt computer (`face`/`res`), if any.
    pub interop_file: Option<String>,
    /// 公費・医療費助成 known for the check, online and paper (schema version 5; empty before).
    pub public_expenses: Vec<crate::domain::public_expense::PublicExpense>,
}

impl CheckRecord {
    /// This record's number in the journal of the desk `own_desk` (`[journal] desk_id`; `None`
    /// without a shared journal), for what that desk writes to it (close, continue the claim
    /// path): its own number for a record read from the desk's file, the desk's number for one
    /// of its records read from the shared journal, `None` for another desk's record.
    pub fn local_id(&self, own_desk: Option<&str>) -> Option<CheckId> {
        match &self.desk {
            None => Some(self.id),
            Some(desk) if Some(desk.as_str()) == own_desk => self.desk_check_id.map(CheckId),
            Some(_) => None,
        }
    }

    /// The receipt's 保険者番号, if a receipt was recorded.
    pub fn receipt_insurer(&self) -> Option<&str> {
        self.receipt
            .as_ref()
            .and_then(|r| r.get("insurer_number"))
            .and_then(|v| v.as_str())
    }
}
