//! The card layer: from a PC/SC reader to a parsed certificate, a verified PIN, a signature.
//!
//! Layers, bottom up (after myna-card / jpki-rs):
//! - [`apdu`]: command/response APDUs and the one status-word mapping;
//! - [`transport`]: the [`Transmit`] trait and the [`Channel`] that handles `61xx`/`6Cxx`;
//! - [`pcsc`]: the real reader (transactions, LeaveCard, reset recovery) and
//!   [`watcher`]: reader/card events without polling;
//! - the card applications: [`jpki`] (公的個人認証AP) and [`card_info`] (券面事項入力補助AP);
//! - [`certificate`]: parsing the certificate the JPKI application hands out.
//!
//! The functions below are what the desk does with a card on a given reader; each runs in one
//! PC/SC transaction.

// The closures passed to `transaction` look redundant, but a bare generic fn cannot satisfy
// the channel's higher-ranked lifetime (`for<'a> FnMut(&mut Channel<&'a mut dyn Transmit>)`).
#![allow(clippy::redundant_closure)]

pub mod access;
pub mod apdu;
pub mod card_info;
pub mod certificate;
mod ef;
pub mod error;
pub mod hardening;
pub mod jpki;
pub mod pcsc;
pub mod transport;
pub mod watcher;

use std::time::{Duration, Instant};

pub use self::access::CardAccess;
pub use self::card_info::BasicInfo;
pub use self::certificate::{CertificateSerial, UserAuthCertificate};
pub use self::error::CardError;
pub use self::jpki::{Pin, PinStatus};
pub use self::pcsc::{Pcsc, ReaderInfo};
pub use self::transport::{Channel, Transmit};
pub use self::watcher::{ReaderEvent, ReaderWatcher};

/// The outcome of reading a card's certificate, with what it cost.
#[derive(Clone, Debug)]
pub struct CertificateRead {
    pub reader: String,
    pub certificate: UserAuthCertificate,
    pub apdu_count: u32,
    /// From connecting to the card to the parsed certificate.
    pub elapsed: Duration,
}

/// Reads and parses the user-authentication certificate on `reader` (no PIN needed).
pub fn read_certificate(pcsc: &Pcsc, reader: &str) -> Result<CertificateRead, CardError> {
    let start = Instant::now();
    let mut card = pcsc.connect(reader)?;
    let (certificate, apdu_count) = card.transaction(true, |ch| jpki::read_auth_certificate(ch))?;
    Ok(CertificateRead {
        reader: card.reader(),
        certificate,
        apdu_count,
        elapsed: start.elapsed(),
    })
}

/// Asks the PIN retry counter without spending a try.
pub fn pin_status(pcsc: &Pcsc, reader: &str) -> Result<PinStatus, CardError> {
    let mut card = pcsc.connect(reader)?;
    Ok(card.transaction(true, |ch| jpki::pin_status(ch))?.0)
}

/// Verifies the PIN (one try is spent if it is wrong).
pub fn verify_pin(pcsc: &Pcsc, reader: &str, pin: &Pin) -> Result<(), CardError> {
    let mut card = pcsc.connect(reader)?;
    card.transaction(false, |ch| jpki::verify_pin(ch, pin))
        .map(|_| ())
}

/// Verifies the PIN and signs `sha256` with the user-authentication key, in one transaction
/// so nothing can reset the card between the two. This is the PIN path of identity
/// confirmation: the signature over a server challenge proves the card and its PIN.
pub fn verify_and_sign(
    pcsc: &Pcsc,
    reader: &str,
    pin: &Pin,
    sha256: &[u8; 32],
) -> Result<Vec<u8>, CardError> {
    let mut card = pcsc.connect(reader)?;
    let (signature, _) = card.transaction(false, |ch| {
        jpki::verify_pin(ch, pin)?;
        jpki::sign(ch, sha256)
    })?;
    Ok(signature)
}

/// Reads the basic four items (基本4情報) after the card-info PIN.
pub fn read_basic_info(pcsc: &Pcsc, reader: &str, pin: &Pin) -> Result<BasicInfo, CardError> {
    let mut card = pcsc.connect(reader)?;
    Ok(card
        .transaction(false, |ch| card_info::read_basic_info(ch, pin))?
        .0)
}
