//! The desk's check flows, in one place: a check by card ([`card`]), a check by numbers
//! ([`numbers`]), what each records in the journal ([`record`]), and the after-the-fact
//! confirmation of queued checks ([`reconfirm`], 事後確認).
//!
//! Data flows one way: card reader → check → verdict → journal → screen. The flows depend on
//! the outside only through traits, so they are unit-tested with in-process fakes (no reader,
//! no network, no disk):
//! - the card: [`CardAccess`](crate::card::CardAccess) (PC/SC at the desk, the demo reader);
//! - the online qualification service: [`QualificationService`] (a challenge for the PIN
//!   method and the confirmation itself), implemented by [`OnlineClient`];
//! - the journal: [`CheckRecorder`], implemented by [`Journal`];
//! - other programs told of finished checks (the receipt computer's `face` folder):
//!   [`ResultSink`], announced by [`announce`] (the one rule, see [`announce`](mod@announce)).
//!
//! The CLI command `onshi-desk check` (`crate::cli::check_command`) and the desk app's workers are
//! thin callers of these flows.

pub mod announce;
pub mod card;
pub mod numbers;
pub mod reconfirm;
pub mod record;

use std::sync::Arc;

use time::{Date, OffsetDateTime};

use crate::domain::search::{Challenge, Search};
use crate::domain::Verdict;
use crate::journal::{CheckId, Journal, JournalError, NewCheck};
use crate::online::OnlineClient;

pub use self::announce::{announce, Announced, Announcer, Finished};
pub use self::card::{
    check_by_card, confirm_by_card, rate_expiry, read_card, CardCheck, CardRead, Identity,
};
pub use self::numbers::check_by_numbers;
pub use self::reconfirm::{ReconfirmReport, Reconfirmer, ReconfirmerHandle};
pub use self::record::{card_record, holds_certificate};

/// The online qualification service (オンライン資格確認) as the flows need it.
///
/// Every failure is a [`Verdict`] (unreachable, timeout, server error, …), never a panic or
/// an error the flow must interpret: the desk always has something to show.
pub trait QualificationService: Send + Sync {
    /// A challenge for the PIN method; a service that cannot give one answers with the
    /// verdict that says why.
    fn challenge(&self) -> Result<Challenge, Verdict>;
    /// One confirmation, checked on `on` (the visit date in Japan).
    fn confirm(&self, search: &Search, on: Date) -> Verdict;
}

impl QualificationService for OnlineClient {
    fn challenge(&self) -> Result<Challenge, Verdict> {
        OnlineClient::challenge(self)
    }

    fn confirm(&self, search: &Search, on: Date) -> Verdict {
        OnlineClient::confirm(self, search, on)
    }
}

impl<T: QualificationService + ?Sized> QualificationService for Arc<T> {
    fn challenge(&self) -> Result<Challenge, Verdict> {
        (**self).challenge()
    }

    fn confirm(&self, search: &Search, on: Date) -> Verdict {
        (**self).confirm(search, on)
    }
}

impl<T: QualificationService + ?Sized> QualificationService for &T {
    fn challenge(&self) -> Result<Challenge, Verdict> {
        (**self).challenge()
    }

    fn confirm(&self, search: &Search, on: Date) -> Verdict {
        (**self).confirm(search, on)
    }
}

/// Where a finished check is recorded (受付記録): durable before this returns `Ok`, so the
/// desk is told "recorded" only for what is on disk.
pub trait CheckRecorder: Send + Sync {
    fn record(&self, check: NewCheck) -> Result<CheckId, JournalError>;

    /// Names the result file written for the receipt computer for a recorded check
    /// (`interop_file`). The default keeps no names (a recorder that is not the journal).
    fn set_interop_file(&self, id: CheckId, file: &str) -> Result<(), JournalError> {
        Err(JournalError::Other(format!(
            "this recorder keeps no result file names (check {id}, file {file})"
        )))
    }
}

impl CheckRecorder for Journal {
    fn record(&self, check: NewCheck) -> Result<CheckId, JournalError> {
        Journal::record(self, check)
    }

    fn set_interop_file(&self, id: CheckId, file: &str) -> Result<(), JournalError> {
        Journal::set_interop_file(self, id, file)
    }
}

/// The facility's shared journal names the result files of the records it settled (事後確認
/// led by this desk); it records no new checks (a desk records through its own journal).
#[cfg(feature = "shared-journal")]
impl CheckRecorder for crate::journal::shared::facility::FacilityJournal {
    fn record(&self, _check: NewCheck) -> Result<CheckId, JournalError> {
        Err(JournalError::Other(
            "checks are recorded through the desk's journal, not the facility's".into(),
        ))
    }

    fn set_interop_file(&self, id: CheckId, file: &str) -> Result<(), JournalError> {
        crate::journal::shared::facility::FacilityJournal::set_interop_file(self, id, file)
    }
}

/// A check that is finished (recorded, with a verdict the desk acts on), as it is announced to
/// other programs.
#[derive(Clone, Copy, Debug)]
pub struct FinishedCheck<'a> {
    /// Its record in the journal.
    pub id: CheckId,
    /// By card (照会区分 1) or by numbers (照会区分 2).
    pub by_card: bool,
    /// The visit date it was confirmed for (JST).
    pub on: Date,
    /// When the verdict arrived.
    pub at: OffsetDateTime,
    pub verdict: &'a Verdict,
}

/// Where finished checks are announced to other programs: the receipt computer's `face`
/// folder (`crate::interop`). Called after the check is recorded, for every check made at the
/// desk (by card or by numbers, valid or not), and for a queued check when 事後確認 settles it.
/// Never given the PIN or the card certificate.
pub trait ResultSink: Send + Sync {
    /// Announces `check`; `Ok(Some(name))` names the file written (recorded in the journal),
    /// `Ok(None)` when announcing is off; `Err` is a precise English reason for the log.
    fn announce(&self, check: &FinishedCheck<'_>) -> Result<Option<String>, String>;
}

/// Announces nothing (no receipt computer).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSink;

impl ResultSink for NoSink {
    fn announce(&self, _check: &FinishedCheck<'_>) -> Result<Option<String>, String> {
        Ok(None)
    }
}

#[cfg(test)]
pub(crate) mod fakes;

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};
    use time::macros::date;

    use super::fakes::{self, Cards, Recorder, Service};
    use super::*;
    use crate::card::{CardError, Pin};
    use crate::domain::expiry::GraceEnd;
    use crate::domain::search::NumberSearch;
    use crate::domain::{IdentityMethod, InsurerNumber, VerdictKind};
    use crate::journal::CheckKind;

    const ON: Date = date!(2026 - 12 - 02);

    fn pin(digits: &str) -> Identity {
        Identity::Pin(Pin::parse(digits).expect("PIN"))
    }

    #[test]
    fn a_pin_check_signs_the_challenge_and_asks_for_the_visit_date() {
        let cards = Cards::new(fakes::certificate(ON));
        let service = Service::answering(fakes::valid());
        let check = check_by_card(
            &cards,
            "R1",
            pin("1234"),
            &service,
            ON,
            GraceEnd::default(),
            true,
        )
        .expect("checked");
        assert_eq!(check.verdict.kind, VerdictKind::Valid);
        assert_eq!(check.method, IdentityMethod::Pin);
        let expected: [u8; 32] = Sha256::digest([7u8; 32]).into();
        assert_eq!(*cards.signed.lock().expect("lock"), vec![expected]);
        let asked = service.asked();
        assert_eq!(asked.len(), 1);
        let (Search::Card(search), on) = &asked[0] else {
            panic!("asked by numbers: {asked:?}")
        };
        assert_eq!(*on, ON);
        assert_eq!(search.method, IdentityMethod::Pin);
        assert!(search.limit_consent);
        assert_eq!(search.certificate_der, cards.certificate.der());
        assert_eq!(
            search.signed_challenge.as_ref().map(|(id, _)| id.as_str()),
            Some("challenge-1")
        );
    }

    #[test]
    fn a_refused_pin_sends_nothing_and_a_missing_challenge_touches_no_card() {
        let cards = Cards::new(fakes::certificate(ON));
        let service = Service::answering(fakes::valid());
        let refused = check_by_card(
            &cards,
            "R1",
            pin("9999"),
            &service,
            ON,
            GraceEnd::default(),
            false,
        );
        assert!(
            matches!(refused, Err(CardError::PinWrong { retries_left: 2 })),
            "{refused:?}"
        );
        assert!(
            service.asked().is_empty(),
            "nothing sent after a refused PIN"
        );

        let mut down = Service::answering(fakes::valid());
        down.challenge = Err(fakes::unreachable());
        let check = check_by_card(
            &cards,
            "R1",
            pin("1234"),
            &down,
            ON,
            GraceEnd::default(),
            false,
        )
        .expect("a verdict, not a card error");
        assert_eq!(check.verdict.kind, VerdictKind::Unreachable);
        assert!(cards.signed.lock().expect("lock").is_empty());
        assert!(down.asked().is_empty());
    }

    #[test]
    fn only_a_visual_check_that_met_an_outage_keeps_its_certificate() {
        let certificate = fakes::certificate(ON);
        let record =
            |method, verdict: &Verdict| card_record(&certificate, method, verdict, ON, false);
        let kept = record(IdentityMethod::Visual, &fakes::unreachable());
        assert_eq!(
            kept.certificate.as_ref().map(|c| c.der.as_slice()),
            Some(certificate.der())
        );
        assert_eq!(kept.kind, CheckKind::Card);
        assert_eq!(kept.identity, Some(IdentityMethod::Visual));
        assert_eq!(kept.check_date, ON);
        assert!(record(IdentityMethod::Visual, &fakes::valid())
            .certificate
            .is_none());
        assert!(record(IdentityMethod::Pin, &fakes::unreachable())
            .certificate
            .is_none());
        let valid = record(IdentityMethod::Pin, &fakes::valid());
        assert_eq!(
            valid.numbers.as_ref().map(|n| n.number.as_str()),
            Some("1024"),
            "the answer's numbers are recorded"
        );
    }

    #[test]
    fn a_check_by_numbers_is_asked_for_the_visit_date_and_recorded() {
        let search = NumberSearch {
            insurer: InsurerNumber::parse("01130012").expect("insurer"),
            symbol: Some("5012345".into()),
            number: "1024".into(),
            branch: Some("00".into()),
            birthdate: date!(1980 - 04 - 01),
            limit_consent: false,
        };
        let service = Service::answering(fakes::unreachable());
        let journal = Recorder::default();
        let (verdict, recorded) = check_by_numbers(&service, &journal, search.clone(), ON);
        assert_eq!(verdict.kind, VerdictKind::Unreachable);
        assert_eq!(recorded.expect("recorded"), CheckId(1));
        assert_eq!(service.asked()[0].1, ON);
        let records = journal.records.lock().expect("lock");
        assert_eq!(records[0].kind, CheckKind::Numbers);
        assert_eq!(records[0].check_date, ON);
        assert_eq!(records[0].birthdate, Some(date!(1980 - 04 - 01)));
        assert_eq!(
            records[0].derived_status(),
            crate::journal::CheckStatus::Queued,
            "an outage waits for 事後確認"
        );
        drop(records);

        // A journal that refuses the write still leaves the verdict for the desk.
        let full = Recorder {
            refuse: true,
            ..Recorder::default()
        };
        let (verdict, recorded) =
            check_by_numbers(&Service::answering(fakes::valid()), &full, search, ON);
        assert_eq!(verdict.kind, VerdictKind::Valid);
        assert!(matches!(recorded, Err(JournalError::Full(_))));
    }
}
