//! Test doubles for onshi-desk.
//!
//! - [`pki`]: the project's own fake JPKI (公的個人認証) PKI and its test personas;
//! - [`persona`]: the persona file (one fake My Number card per TOML file);
//! - [`vcard`]: the virtual My Number card, a pure APDU state machine;
//! - [`vpcd`]: plugs a virtual card into pcscd through vsmartcard's vpcd driver, so the real
//!   PC/SC stack (and OpenSC) talks to it as to a card on a reader;
//! - [`fixtures`]: the data set of insured persons the mock server answers from;
//! - [`endpoint`]: the mock online-qualification server (HTTPS with client certificates),
//!   speaking the project's wire contract `docs/online-api.md`.

pub mod endpoint;
pub mod fixtures;
pub mod persona;
pub mod pki;
pub mod vcard;
pub mod vpcd;

pub use persona::{Persona, PersonaData, PersonaError};
pub use vcard::{CardOptions, VirtualCard};
pub use vpcd::InsertedCard;
