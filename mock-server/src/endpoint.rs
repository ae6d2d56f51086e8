//! The mock online-qualification server (オンライン資格確認), speaking `docs/online-api.md`.
//!
//! The real service is reachable only from a facility's closed network with a certificate
//! issued to the facility, so the desk is developed and tested against this double. It is
//! meant to be *strict* where the contract is precise (so a client bug shows up here rather
//! than in a clinic) and *configurable* where a client must cope with the unexpected (faults).
//!
//! - transport: TLS 1.2/1.3 with a **required** client certificate chaining to the configured
//!   facility CA, HTTP/1.1 keep-alive, HTTP/2 when the client offers it by ALPN;
//! - `POST /online-qualification/v1/login` (the facility certificate is the credential; the
//!   answer carries the `idToken` the other endpoints require in `Authorization`),
//!   `POST /online-qualification/v1/challenge` and
//!   `POST /online-qualification/v1/qualification-confirmation`, answered from
//!   [`crate::fixtures`]; the login and the search also at the paths public code of the real
//!   web API uses ([`PUBLIC_LOGIN_PATH`], [`PUBLIC_SEARCH_PATH`]);
//! - one task per connection: a failed handshake or a garbage request only ends its own
//!   connection.
//!
//! Start it with [`serve`] inside a tokio runtime, or with [`spawn`] from synchronous code
//! (tests, the desk's demo mode), which runs its own runtime on a thread.

mod api;
mod card_certificate;
mod challenge;
pub mod codes;
mod config;
mod message;
mod request;
mod server;
mod token;

pub use config::{
    load_certificates, load_private_key, ServerConfig, ServerFiles, ServerStats, DEFAULT_TOKEN_TTL,
};
pub use server::{serve, spawn, spawn_on, RunningServer};

pub use crate::fixtures::{Faults, Fixtures};
pub use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Path of the login endpoint (project path).
pub const LOGIN_PATH: &str = "/online-qualification/v1/login";
/// The login path public code of the real web API posts to; served as an alias of
/// [`LOGIN_PATH`] so a desk configured with either works.
pub const PUBLIC_LOGIN_PATH: &str = "/oqs-api-pro/MSA12020/ILI12020SV01/auth";
/// The search path public code of the real web API posts to; an alias of
/// [`CONFIRMATION_PATH`].
pub const PUBLIC_SEARCH_PATH: &str = "/oqs-api-pro/MSA01030/ILI01030SV01/search";
/// Path of the challenge endpoint.
pub const CHALLENGE_PATH: &str = "/online-qualification/v1/challenge";
/// Path of the qualification-confirmation endpoint.
pub const CONFIRMATION_PATH: &str = "/online-qualification/v1/qualification-confirmation";
/// Largest request body accepted (the contract's 64 KiB); larger gets 413 PH4130.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Errors starting or running the server. Errors about single requests or connections are
/// answered or logged, never returned here.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: std::path::PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A PEM file does not hold what it should.
    #[error("{path}: {reason}")]
    Pem {
        /// The file concerned.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A JPKI CA certificate cannot serve as a trust anchor.
    #[error("JPKI CA certificate #{index}: {reason}")]
    JpkiCa {
        /// Position in the configured list (0-based).
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the certificate, key or configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built (e.g. no usable client CA).
    #[error("client CA: {0}")]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),
    /// The fixtures did not load.
    #[error(transparent)]
    Fixtures(#[from] crate::fixtures::FixtureError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The runtime or the server thread could not be started, or the socket not set up.
    #[error("server runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The server thread panicked.
    #[error("the server thread panicked")]
    Panicked,
}

#[cfg(test)]
mod tests;
