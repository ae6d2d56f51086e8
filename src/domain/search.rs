//! What the desk asks the online qualification service (照会): a search by card or by numbers,
//! and the challenge the service gives for the PIN method.
//!
//! Pure data, shared by the check flows (`crate::check`), the HTTPS client (`crate::online`)
//! and the journal (`crate::journal`, which records what was asked): it lives in the domain so
//! none of them has to depend on another for it.

use time::Date;

use super::numbers::InsurerNumber;
use super::IdentityMethod;

/// A search by card (the project's card-search extension).
#[derive(Clone, Debug)]
pub struct CardSearch {
    pub certificate_der: Vec<u8>,
    pub method: IdentityMethod,
    /// PIN method: the challenge id and the card's signature over SHA-256(challenge).
    pub signed_challenge: Option<(String, Vec<u8>)>,
    /// Consent to share 限度額 information.
    pub limit_consent: bool,
}

/// A search by numbers (個別照会).
#[derive(Clone, Debug)]
pub struct NumberSearch {
    pub insurer: InsurerNumber,
    pub symbol: Option<String>,
    pub number: String,
    pub branch: Option<String>,
    pub birthdate: Date,
    pub limit_consent: bool,
}

/// One search: by card or by numbers.
#[derive(Clone, Debug)]
pub enum Search {
    Card(CardSearch),
    Numbers(NumberSearch),
}

/// A challenge for the PIN method: the card signs SHA-256 of `bytes`.
#[derive(Clone, Debug)]
pub struct Challenge {
    pub id: String,
    pub bytes: Vec<u8>,
}
