//! The domain: rules of online qualification at the desk, pure and free of I/O.
//!
//! Everything here is tested by plain `#[test]`s; nothing reads a clock, a file or a card.
//! Dates come in as arguments (the check date is the visit date in Japan).

pub mod expiry;

pub use self::expiry::{CertificateExpiry, GraceEnd};
