//! One eligibility check by card, end to end: read the card, confirm identity, ask the service.
//!
//! This is the desk's main flow, shared by the CLI and the UI (which runs it on a worker
//! thread). Card problems come back as [`CardError`]s (the desk must act: PIN, card); anything
//! the service says — or fails to say — comes back as a [`Verdict`].

use sha2::{Digest, Sha256};
use time::Date;

use crate::card::{self, CardError, Pcsc, Pin, UserAuthCertificate};
use crate::domain::expiry::{jst_date, CertificateExpiry, GraceEnd};
use crate::domain::{IdentityMethod, Verdict};
use crate::online::{CardSearch, OnlineClient, Search};

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

/// Reads the card on `reader`, confirms identity, and asks the service, checked on `on`.
pub fn check_by_card(
    pcsc: &Pcsc,
    reader: &str,
    identity: Identity,
    client: &OnlineClient,
    on: Date,
    grace: GraceEnd,
    limit_consent: bool,
) -> Result<CardCheck, CardError> {
    let certificate = card::read_certificate(pcsc, reader)?.certificate;
    let expiry = CertificateExpiry::on(jst_date(certificate.not_after), on, grace);
    let (method, signed_challenge) = match identity {
        Identity::Visual => (IdentityMethod::Visual, None),
        Identity::Pin(pin) => {
            let challenge = match client.challenge() {
                Ok(c) => c,
                Err(verdict) => {
                    return Ok(CardCheck {
                        certificate,
                        expiry,
                        method: IdentityMethod::Pin,
                        verdict,
                    })
                }
            };
            let digest: [u8; 32] = Sha256::digest(&challenge.bytes).into();
            let signature = card::verify_and_sign(pcsc, reader, &pin, &digest)?;
            (IdentityMethod::Pin, Some((challenge.id, signature)))
        }
    };
    let search = Search::Card(CardSearch {
        certificate_der: certificate.der().to_vec(),
        method,
        signed_challenge,
        limit_consent,
    });
    let verdict = client.confirm(&search, on);
    Ok(CardCheck {
        certificate,
        expiry,
        method,
        verdict,
    })
}
