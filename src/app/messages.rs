//! What the desk and its workers say to each other: the [`Request`]s the desk queues and the
//! [`Event`]s the workers report. Both sides depend on this module and on nothing of each
//! other: the state (`super::state`) never sees a thread, the workers (`super::backend`) never
//! see a screen.
//!
//! Each request that depends on the day carries its date, read from the clock when the work
//! starts (see [`crate::clock`]), so a desk left running past midnight never checks for
//! yesterday.

use time::Date;

use crate::card::{CardError, PinStatus, ReaderEvent, ReaderInfo};
use crate::check::CardRead;
use crate::domain::claim::SelfDeclaration;
use crate::domain::expiry::CertificateExpiry;
use crate::domain::search::NumberSearch;
use crate::domain::{IdentityMethod, Verdict};
use crate::journal::{CheckId, CheckRecord, Filter, MonthlyUsage};

/// Identifies one piece of work handed to the workers.
pub type JobId = u64;

/// A 4-digit entry on the on-screen keypad (PIN or facility passcode); never logged, and wiped
/// from memory when dropped or cleared (the PIN travels to the card worker inside it).
///
/// The buffer is allocated once with room for every digit, so typing never reallocates and
/// leaves no unwiped copy behind; backspace and clear wipe what they remove.
#[derive(Clone, PartialEq, Eq)]
pub struct Digits(zeroize::Zeroizing<String>);

impl Default for Digits {
    fn default() -> Self {
        Digits(zeroize::Zeroizing::new(String::with_capacity(Self::LEN)))
    }
}

impl std::fmt::Debug for Digits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digits({} entered)", self.0.len())
    }
}

impl Digits {
    pub const LEN: usize = 4;

    pub fn push(&mut self, d: char) {
        if d.is_ascii_digit() && self.0.len() < Self::LEN {
            if self.0.capacity() < Self::LEN {
                // A clone may be tight: move to a full-size buffer ourselves and wipe the old
                // one, rather than let the allocator free it with the digits in it.
                let mut fresh = String::with_capacity(Self::LEN);
                fresh.push_str(&self.0);
                zeroize::Zeroize::zeroize(&mut *self.0);
                *self.0 = fresh;
            }
            self.0.push(d);
        }
    }

    pub fn backspace(&mut self) {
        if self.0.pop().is_some() {
            // The removed digit stays in the spare capacity otherwise: overwrite it (digits are
            // one byte each, and the capacity holds them all, so this never reallocates).
            let len = self.0.len();
            self.0.push('\0');
            self.0.truncate(len);
        }
    }

    pub fn clear(&mut self) {
        zeroize::Zeroize::zeroize(&mut *self.0);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_complete(&self) -> bool {
        self.0.len() == Self::LEN
    }

    /// The digits, for the card or the passcode check only.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

/// What the workers reported.
#[derive(Clone, Debug)]
pub enum Event {
    /// The readers of one source (PC/SC, the demo reader) as they are now, or why they
    /// cannot be listed (pcscd unreachable).
    Readers {
        source: usize,
        readers: Result<Vec<ReaderInfo>, String>,
    },
    /// A change at a reader.
    Reader(ReaderEvent),
    CardRead {
        job: JobId,
        result: Result<(CardRead, Result<PinStatus, CardError>), CardError>,
    },
    Confirmed {
        job: JobId,
        /// The date the check was made for (its request's date).
        on: Date,
        /// The card's certificate rated on `on` (the card may have been read the day before).
        expiry: CertificateExpiry,
        result: Result<(IdentityMethod, Verdict), CardError>,
        /// The journal record, or why not recorded.
        recorded: Result<CheckId, String>,
    },
    NumbersConfirmed {
        job: JobId,
        /// The date the check was made for (its request's date).
        on: Date,
        verdict: Verdict,
        recorded: Result<CheckId, String>,
    },
    /// A claim step (①/②) was recorded, or why not.
    ClaimRecorded {
        job: JobId,
        recorded: Result<CheckId, String>,
    },
    /// The history screen's records and the card-use report, or why not.
    HistoryLoaded {
        job: JobId,
        result: Result<Box<History>, String>,
    },
    /// The month-end reports were saved: what to tell the desk (where, how many), or why
    /// not.
    ReportsExported {
        job: JobId,
        result: Result<String, String>,
    },
    /// A check left unfinished was marked (or the failure was logged): nothing to show.
    CheckAbandoned,
    /// The chosen qualification (複数該当) was recorded, or the desk message why not.
    ChoiceRecorded {
        job: JobId,
        result: Result<(), String>,
    },
    /// The check's 公費 list (with a paper 受給者証 added) was recorded, or the desk message
    /// why not.
    PublicExpensesRecorded {
        job: JobId,
        result: Result<(), String>,
    },
    /// The file manager was started on a folder, or the desk message why not.
    FolderOpened {
        job: JobId,
        result: Result<(), String>,
    },
    /// A record was closed by staff, or the desk message why not.
    RecordResolved {
        job: JobId,
        result: Result<CheckId, String>,
    },
    /// A マイナポータル PDF was read: its fields, or the desk message why not.
    PortalPdfRead {
        job: JobId,
        result: Result<Box<crate::import::portal_pdf::PortalFields>, String>,
    },
    /// The configuration file was written, or why not.
    SettingsSaved {
        job: JobId,
        result: Result<(), String>,
    },
    /// The self-declaration was written (and perhaps printed).
    Printed {
        job: JobId,
        /// Where the PDF was kept, or the desk message why not.
        pdf: Result<std::path::PathBuf, String>,
        /// `None` printed; else the desk message why not.
        print_problem: Option<String>,
        /// The declaration's record (a new printout), `None` for a reprint.
        recorded: Option<Result<CheckId, String>>,
    },
}

/// Work for the workers.
#[derive(Debug)]
pub enum Request {
    /// Read the certificate and the PIN counter; the certificate's expiry is rated on `on`.
    ReadCard {
        job: JobId,
        reader: String,
        on: Date,
    },
    /// Confirm identity with the card and ask the service for the date `on`
    /// (`QualificationConfirmationDate`), then record the check for that date.
    ConfirmByCard {
        job: JobId,
        read: Box<CardRead>,
        pin: Option<Digits>,
        on: Date,
    },
    /// Ask the service by numbers for the date `on`, then record the check for that date.
    ConfirmByNumbers {
        job: JobId,
        search: Box<NumberSearch>,
        on: Date,
    },
    /// Render the declaration, keep the PDF, record it, send it to the printer.
    PrintDeclaration {
        job: JobId,
        declaration: Box<SelfDeclaration>,
        /// The check the claim path continues, if it was recorded.
        check: Option<CheckId>,
        /// The claim path's visit date (kept across midnight).
        on: Date,
    },
    /// Record a claim step (①/②) with its receipt header.
    RecordClaim {
        job: JobId,
        check: Option<CheckId>,
        step: crate::domain::claim::ClaimStep,
        receipt: Box<crate::domain::claim::receipt::ReceiptHeader>,
        /// The patient's birth date, for re-confirming current numbers afterwards.
        birthdate: Option<Date>,
        /// The claim path's visit date (kept across midnight).
        on: Date,
    },
    /// Record a claim-path case that has no receipt (no card, no document: the patient was
    /// asked to bring the 資格確認書): a record of its own, or the check that led to it.
    RecordCase {
        job: JobId,
        check: Option<CheckId>,
        step: crate::domain::claim::ClaimStep,
        birthdate: Option<Date>,
        /// The claim path's visit date (kept across midnight).
        on: Date,
    },
    /// Load the journal's records and the card-use report.
    LoadHistory { job: JobId, filter: Filter },
    /// Write the month-end reports (CSV) beside the printouts.
    ExportReports {
        job: JobId,
        year: i32,
        month: time::Month,
    },
    /// Close a conflict (or queued check) in the journal.
    ResolveRecord {
        job: JobId,
        id: CheckId,
        /// When staff closed it.
        at: time::OffsetDateTime,
    },
    /// Send a kept PDF to the printer again.
    Reprint { job: JobId, pdf: std::path::PathBuf },
    /// The desk left check `id` unfinished: record it as 中断 (never 完了).
    AbandonCheck { id: CheckId },
    /// 複数該当: record the qualification staff chose on check `id`.
    RecordChoice {
        job: JobId,
        id: CheckId,
        chosen: Box<crate::domain::Qualification>,
    },
    /// Record the whole 公費 list of check `id` (the answer's and the paper ones typed in).
    RecordPublicExpenses {
        job: JobId,
        id: CheckId,
        expenses: Vec<crate::domain::public_expense::PublicExpense>,
    },
    /// Open a folder (where a printout is kept) in the OS's file manager.
    OpenFolder { job: JobId, dir: std::path::PathBuf },
    /// Read the labelled fields of a マイナポータル PDF.
    ImportPortalPdf {
        job: JobId,
        path: std::path::PathBuf,
    },
    /// Write the configuration file (already validated).
    SaveSettings {
        job: JobId,
        path: std::path::PathBuf,
        text: String,
    },
}

/// What the history screen shows: the records found and the monthly card-use report, read
/// from the facility's shared journal when there is one.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub records: Vec<CheckRecord>,
    pub usage: Vec<MonthlyUsage>,
    /// Whose records: the facility's, or only this desk's when the shared journal could not be
    /// read (the screen says so).
    pub scope: crate::journal::ReadScope,
    /// This desk's id in the shared journal (`None` without one): its records are the ones it
    /// may close or continue.
    pub desk_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pin_is_four_digits_and_never_shown() {
        let mut digits = Digits::default();
        for c in "12a345".chars() {
            digits.push(c);
        }
        assert_eq!(digits.reveal(), "1234");
        assert_eq!(format!("{digits:?}"), "Digits(4 entered)");
        digits.backspace();
        assert!(!digits.is_complete());
    }

    #[test]
    fn a_digit_taken_back_or_cleared_is_wiped_from_the_buffer() {
        /// The whole buffer, spare capacity included (every byte of it was written above).
        fn buffer(d: &Digits) -> Vec<u8> {
            let s: &String = &d.0;
            assert!(s.capacity() >= Digits::LEN);
            // SAFETY: the allocation is live and its first LEN bytes were all written by the
            // pushes below (backspace and clear only shrink the length).
            unsafe { std::slice::from_raw_parts(s.as_ptr(), Digits::LEN) }.to_vec()
        }
        let mut digits = Digits::default();
        for c in "1234".chars() {
            digits.push(c);
        }
        digits.backspace();
        assert_eq!(buffer(&digits), b"123\0");
        digits.clear();
        assert_eq!(buffer(&digits), [0; 4]);
        // A tight clone grows into a full buffer without leaving the digits behind.
        let mut tight = Digits(zeroize::Zeroizing::new(String::from("12")));
        tight.push('3');
        assert_eq!(tight.reveal(), "123");
    }
}
