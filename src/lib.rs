//! onshi-desk: reception-desk health-insurance eligibility confirmation (オンライン資格確認).
//!
//! Where things live:
//! - [`card`]: the IC-card reader and the My Number card (PC/SC, JPKI);
//! - [`domain`]: the pure rules (certificate expiry, numbers, payment ratios, verdicts);
//! - [`online`]: the online qualification service: messages, HTTPS client, interpretation;
//! - [`check`]: one check by card, end to end (card → identity → service → verdict);
//! - [`config`]: the configuration file;
//! - [`print`](mod@print): printouts: the A4 PDF layer, the 被保険者資格申立書 form, the system printer;
//! - [`import`]: reading what the patient brings, e.g. the マイナポータル qualification PDF;
//! - [`journal`]: the reception journal (SQLite): every check recorded, the outage queue and
//!   事後確認, month-end reports;
//! - [`interop`]: the receipt computer's folders (`req` → `res`, `face`): results as `XmlMsg`
//!   files;
//! - [`assets`]: files built into the binary (the Japanese font);
//! - [`app`]: the reception-desk UI (eframe/egui): state, workers, screens, demo mode;
//! - [`cli`]: the command line, the automation and diagnostics face of the app;
//! - [`clock`]: the one clock every piece of work reads its date from (Japan time).

#[cfg(feature = "desk")]
pub mod app;
pub mod assets;
pub mod card;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod import;
pub mod interop;
pub mod journal;
pub mod online;
pub mod print;
