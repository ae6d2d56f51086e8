//! What a check records in the journal, decided once for the CLI and the desk app.
//!
//! The retention rule for the card's certificate (personal data): it is kept only for a check
//! that can be re-confirmed by card later, i.e. one made with staff's visual confirmation
//! (目視確認) while the service was down. [`holds_certificate`] decides that; the journal then
//! stores it only while the check is queued and drops it when the check is settled, resolved
//! or past retention (see `crate::journal`).

use time::Date;

use crate::card::UserAuthCertificate;
use crate::domain::search::{CardSearch, Search};
use crate::domain::{IdentityMethod, Verdict, VerdictKind};
use crate::journal::NewCheck;

/// Whether a card check keeps its certificate for re-confirmation by card (事後確認).
///
/// Only a visual check that met an outage: re-asking by certificate then states what really
/// happened at the desk. A PIN check that never reached the service proved nothing to it
/// (its challenge was never signed), so it is never replayed as a visual one.
pub fn holds_certificate(method: IdentityMethod, verdict: VerdictKind) -> bool {
    method == IdentityMethod::Visual && crate::journal::is_outage(verdict)
}

/// The record of a card check of `certificate` made on `on` with `method` that got `verdict`.
pub fn card_record(
    certificate: &UserAuthCertificate,
    method: IdentityMethod,
    verdict: &Verdict,
    on: Date,
    limit_consent: bool,
) -> NewCheck {
    let search = Search::Card(CardSearch {
        certificate_der: certificate.der().to_vec(),
        method,
        signed_challenge: None,
        limit_consent,
    });
    let check = NewCheck::from_online(&search, on, verdict);
    if holds_certificate(method, verdict.kind) {
        check.hold_certificate(&certificate.serial.hex(), certificate.der())
    } else {
        check
    }
}
