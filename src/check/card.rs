//! One eligibility check by card: read the card, confirm identity, ask the service.
//!
//! This is the desk's main flow, shared by the CLI and the UI (which runs it on a worker
//! thread). It comes in two halves because the desk pauses between them: [`read_card`] reads
//! the certificate (no PIN) so the screen can show its expiry and the PIN tries left, then —
//! once the patient typed the PIN or staff checked the photo — [`confirm_by_card`] proves
//! identity and asks the service. [`check_by_card`] runs both for the CLI.
//!
//! Card problems come back as [`CardError`]s (the desk must act: PIN, card); anything the
//! service says — or fails to say — comes back as a [`Verdict`].

use sha2::{Digest, Sha256};
use time::Date;

use crate::card::{CardAccess, CardError, Pin, UserAuthCertificate};
use crate::domain::expiry::{jst_date, CertificateExpiry, GraceEnd};
use crate::domain::search::{CardSearch, Search};
use crate::domain::{IdentityMethod, Verdict};

use super::QualificationService;

/// How identity is confirmed for this check.
#[derive(Debug)]
pub enum Identity {
    /// The patient's PIN: verified by the card, which then signs the server's challenge.
    Pin(Pin),
    /// Staff checked the photo (目視確認).
    Visual,
}

/// The outcome of a card check.
#[derive(Clone, Debug)]
pub struct CardCheck {
    pub certificate: UserAuthCertificate,
    pub expiry: CertificateExpiry,
    pub method: IdentityMethod,
    pub verdict: Verdict,
}

/// What the desk knows once the card was read, before identity is confirmed.
#[derive(Clone, Debug)]
pub struct CardRead {
    pub reader: String,
    pub certificate: UserAuthCertificate,
    pub expiry: CertificateExpiry,
}

/// How the card's certificate stands on `on` (its expiry, in Japan time, and the grace).
///
/// The one place a certificate read from a card is rated: the reading itself, the check made
/// later (maybe after midnight) and `onshi-desk card read` all call it.
pub fn rate_expiry(
    certificate: &UserAuthCertificate,
    on: Date,
    grace: GraceEnd,
) -> CertificateExpiry {
    CertificateExpiry::on(jst_date(certificate.not_after), on, grace)
}

/// Reads the certificate on `reader` and rates its expiry on `on`.
pub fn read_card(
    cards: &dyn CardAccess,
    reader: &str,
    on: Date,
    grace: GraceEnd,
) -> Result<CardRead, CardError> {
    let read = cards.read_certificate(reader)?;
    let expiry = rate_expiry(&read.certificate, on, grace);
    Ok(CardRead {
        reader: read.reader,
        certificate: read.certificate,
        expiry,
    })
}

/// Confirms identity for the card already read and asks the service, checked on `on`.
///
/// With a PIN the server's challenge is signed by the card; a refused PIN is a
/// [`CardError`] and nothing is sent. A service that cannot give a challenge is a verdict.
pub fn confirm_by_card(
    cards: &dyn CardAccess,
    read: &CardRead,
    identity: Identity,
    client: &dyn QualificationService,
    on: Date,
    limit_consent: bool,
) -> Result<(IdentityMethod, Verdict), CardError> {
    let (method, signed_challenge) = match identity {
        Identity::Visual => (IdentityMethod::Visual, None),
        Identity::Pin(pin) => {
            let challenge = match client.challenge() {
                Ok(c) => c,
                Err(verdict) => return Ok((IdentityMethod::Pin, verdict)),
            };
            let digest: [u8; 32] = Sha256::digest(&challenge.bytes).into();
            let signature = cards.verify_and_sign(&read.reader, &pin, &digest)?;
            (IdentityMethod::Pin, Some((challenge.id, signature)))
        }
    };
    let search = Search::Card(CardSearch {
        certificate_der: read.certificate.der().to_vec(),
        method,
        signed_challenge,
        limit_consent,
    });
    Ok((method, client.confirm(&search, on)))
}

/// Reads the card on `reader`, confirms identity, and asks the service, checked on `on`.
pub fn check_by_card(
    cards: &dyn CardAccess,
    reader: &str,
    identity: Identity,
    client: &dyn QualificationService,
    on: Date,
    grace: GraceEnd,
    limit_consent: bool,
) -> Result<CardCheck, CardError> {
    let read = read_card(cards, reader, on, grace)?;
    let (method, verdict) = confirm_by_card(cards, &read, identity, client, on, limit_consent)?;
    Ok(CardCheck {
        certificate: read.certificate,
        expiry: read.expiry,
        method,
        verdict,
    })
}
