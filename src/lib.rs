//! onshi-desk: reception-desk health-insurance eligibility confirmation (オンライン資格確認).
//!
//! Where things live:
//! - [`card`]: the IC-card reader and the My Number card (PC/SC, JPKI);
//! - [`domain`]: the pure rules (certificate expiry, and later numbers, ratios, claim path);
//! - [`cli`]: the command line, the automation and diagnostics face of the app.

pub mod card;
pub mod cli;
pub mod domain;
