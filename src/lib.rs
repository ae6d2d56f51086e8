//! onshi-desk: reception-desk health-insurance eligibility confirmation (オンライン資格確認).
//!
//! Where things live:
//! - [`card`]: the IC-card reader and the My Number card (PC/SC, JPKI);
//! - [`domain`]: the pure rules (certificate expiry, numbers, payment ratios, verdicts);
//! - [`online`]: the online qualification service: messages, HTTPS client, interpretation;
//! - [`check`]: one check by card, end to end (card → identity → service → verdict);
//! - [`config`]: the configuration file;
//! - [`cli`]: the command line, the automation and diagnostics face of the app.

pub mod card;
pub mod check;
pub mod cli;
pub mod config;
pub mod domain;
pub mod online;
