//! The domain: rules of online qualification at the desk, pure and free of I/O.
//!
//! Everything here is tested by plain `#[test]`s; nothing reads a clock, a file or a card.
//! Dates come in as arguments (the check date is the visit date in Japan).

pub mod claim;
pub mod dates;
pub mod expiry;
pub mod facility;
pub mod limit;
pub mod numbers;
pub mod public_expense;
pub mod ratio;
pub mod search;
pub mod text;
pub mod verdict;

pub use self::expiry::{CertificateExpiry, GraceEnd};
pub use self::facility::FacilityCode;
pub use self::numbers::{InsuranceNumbers, InsurerNumber};
pub use self::ratio::Ratio;
pub use self::verdict::{NextStep, Qualification, Verdict, VerdictKind};

/// How the patient's identity was confirmed before the check (本人確認の方法).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityMethod {
    /// 暗証番号: verified by the card, proven to the server by a signature.
    Pin,
    /// 顔認証: done by a certified face-auth reader (not by this desk's plain reader).
    Face,
    /// 目視確認: staff compared the patient with the card's photo.
    Visual,
}

impl IdentityMethod {
    /// `ExtIdentityConfirmationMethod` on the wire.
    pub fn code(self) -> &'static str {
        match self {
            IdentityMethod::Pin => "1",
            IdentityMethod::Face => "2",
            IdentityMethod::Visual => "3",
        }
    }
}
