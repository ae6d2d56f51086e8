//! The card operations the desk's flows need, behind one trait.
//!
//! The flows (`crate::check`) and the desk UI ask for "the certificate on reader R" or "verify
//! and sign on reader R" without caring what answers: PC/SC ([`Pcsc`]) at a real desk, the
//! in-process demo reader in demo mode. Each call is one PC/SC transaction, as before.

use super::{CardError, CertificateRead, Pcsc, Pin, PinStatus};

/// A source of My Number cards on named readers.
pub trait CardAccess: Send + Sync {
    /// Reads and parses the user-authentication certificate (no PIN needed).
    fn read_certificate(&self, reader: &str) -> Result<CertificateRead, CardError>;
    /// The PIN retry counter, without spending a try.
    fn pin_status(&self, reader: &str) -> Result<PinStatus, CardError>;
    /// Verifies the PIN and signs `sha256` with the user-authentication key, in one go.
    fn verify_and_sign(
        &self,
        reader: &str,
        pin: &Pin,
        sha256: &[u8; 32],
    ) -> Result<Vec<u8>, CardError>;
}

impl CardAccess for Pcsc {
    fn read_certificate(&self, reader: &str) -> Result<CertificateRead, CardError> {
        super::read_certificate(self, reader)
    }

    fn pin_status(&self, reader: &str) -> Result<PinStatus, CardError> {
        super::pin_status(self, reader)
    }

    fn verify_and_sign(
        &self,
        reader: &str,
        pin: &Pin,
        sha256: &[u8; 32],
    ) -> Result<Vec<u8>, CardError> {
        super::verify_and_sign(self, reader, pin, sha256)
    }
}
