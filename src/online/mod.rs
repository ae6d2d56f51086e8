//! The online qualification service (オンライン資格確認): its messages, the HTTPS client, and the
//! interpretation of answers into a [`Verdict`](crate::domain::Verdict).
//!
//! The wire contract is `docs/online-api.md`; the mock that serves it is `mock-server/`. What
//! is asked ([`Search`](crate::domain::search::Search)) is domain data; this module only
//! carries it over the wire and reads the answer.

pub mod client;
pub mod interpret;
pub mod message;

pub use self::client::OnlineClient;
