//! The result screen: what the last check found; drawn by `screens::result`.

use time::Date;

use crate::domain::expiry::CertificateExpiry;
use crate::domain::{IdentityMethod, Verdict};
use crate::journal::CheckId;

/// What the last check found, as the result screen shows it.
#[derive(Clone, Debug)]
pub struct ResultScreen {
    pub verdict: Verdict,
    /// By card: the certificate's expiry and how identity was confirmed.
    pub card: Option<(CertificateExpiry, IdentityMethod)>,
    /// The date the check was made for: its request's date, read from the clock when the
    /// check started (after midnight, the new day).
    pub checked_on: Date,
    /// The journal record of this check, or the desk message why it is not recorded.
    pub recorded: Result<CheckId, String>,
}
