//! What the server is started with, and loading it from the test PKI's files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;

use super::card_certificate::JpkiTrust;
use super::token::TokenStore;
use super::ServerError;
use crate::fixtures::{Faults, Fixtures};
use crate::pki::tls::TlsFiles;

/// How long an issued challenge stays usable (the contract's 60 seconds).
pub const DEFAULT_CHALLENGE_TTL: Duration = Duration::from_secs(60);
/// How long a login token stays usable. The real service's token lifetime is not public
/// (unconfirmed); 30 minutes is a common choice for such tokens.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);
/// How long a graceful shutdown waits for requests in flight before cutting connections.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Connections served at once; more wait in the listen backlog.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Everything the server needs, validated and pre-parsed once so the request path does no
/// certificate parsing of its own trust anchors.
#[derive(Clone)]
pub struct ServerConfig {
    pub(crate) tls: Arc<rustls::ServerConfig>,
    pub(crate) jpki: Arc<JpkiTrust>,
    pub(crate) fixtures: Arc<Fixtures>,
    pub(crate) faults: Faults,
    pub(crate) challenge_ttl: Duration,
    pub(crate) shutdown_grace: Duration,
    pub(crate) max_connections: usize,
    pub(crate) tokens: Arc<TokenStore>,
    pub(crate) login_refused: bool,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("jpki_cas", &self.jpki.len())
            .field("fixtures", &self.fixtures.entries().len())
            .field("faults", &self.faults)
            .field("challenge_ttl", &self.challenge_ttl)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("max_connections", &self.max_connections)
            .field("token_ttl", &self.tokens.ttl())
            .field("token_max_uses", &self.tokens.max_uses())
            .field("login_refused", &self.login_refused)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Builds the configuration from DER material.
    ///
    /// - `server_chain`, `server_key`: the server's certificate (then any intermediates) and
    ///   key;
    /// - `client_cas`: facility client certificates must chain to one of these (required:
    ///   a connection without a client certificate is refused during the handshake);
    /// - `jpki_cas`: user-authentication CA certificates; a card certificate must be issued
    ///   by one of them (issuer name and RSA signature);
    /// - `fixtures`: the data set.
    pub fn new(
        server_chain: Vec<CertificateDer<'static>>,
        server_key: PrivateKeyDer<'static>,
        client_cas: Vec<CertificateDer<'static>>,
        jpki_cas: &[CertificateDer<'static>],
        fixtures: Fixtures,
    ) -> Result<ServerConfig, ServerError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for ca in client_cas {
            roots.add(ca)?;
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()?;
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(server_chain, server_key)?;
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(ServerConfig {
            tls: Arc::new(tls),
            jpki: Arc::new(JpkiTrust::new(jpki_cas)?),
            fixtures: Arc::new(fixtures),
            faults: Faults::NONE,
            challenge_ttl: DEFAULT_CHALLENGE_TTL,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            tokens: Arc::new(TokenStore::new(DEFAULT_TOKEN_TTL, None)),
            login_refused: false,
        })
    }

    /// Loads the PEM files and the fixtures named in `files`.
    pub fn load(files: &ServerFiles) -> Result<ServerConfig, ServerError> {
        let server_chain = load_certificates(&files.server_certificate)?;
        let server_key = load_private_key(&files.server_private_key)?;
        let client_cas = load_certificates(&files.client_ca_certificate)?;
        let mut jpki_cas = Vec::new();
        for path in &files.jpki_ca_certificates {
            jpki_cas.extend(load_certificates(path)?);
        }
        let fixtures = match &files.fixtures {
            Some(path) => Fixtures::load(path)?,
            None => Fixtures::builtin()?,
        };
        ServerConfig::new(server_chain, server_key, client_cas, &jpki_cas, fixtures)
    }

    /// Faults added to every answer (see [`Faults`]).
    pub fn with_faults(mut self, faults: Faults) -> ServerConfig {
        self.faults = faults;
        self
    }

    /// Challenge lifetime; 60 s by contract, shorter only to test expiry quickly.
    pub fn with_challenge_ttl(mut self, ttl: Duration) -> ServerConfig {
        self.challenge_ttl = ttl;
        self
    }

    /// How long shutdown waits for requests in flight (default 5 s).
    pub fn with_shutdown_grace(mut self, grace: Duration) -> ServerConfig {
        self.shutdown_grace = grace;
        self
    }

    /// Connections served at once (default 1024, at least 1).
    pub fn with_max_connections(mut self, max: usize) -> ServerConfig {
        self.max_connections = max.max(1);
        self
    }

    /// Login token lifetime (default 30 min); tests shorten it to see expiry.
    pub fn with_token_ttl(mut self, ttl: Duration) -> ServerConfig {
        self.tokens = Arc::new(TokenStore::new(ttl, self.tokens.max_uses()));
        self
    }

    /// Fault: every token expires after `uses` authenticated requests (`None`: never), so a
    /// test sees a token expire mid-session without waiting for the TTL.
    pub fn with_token_uses(mut self, uses: Option<u32>) -> ServerConfig {
        self.tokens = Arc::new(TokenStore::new(self.tokens.ttl(), uses));
        self
    }

    /// Fault: every login is refused (403, `status` `"1"`), as for a facility whose
    /// certificate the service no longer accepts.
    pub fn with_login_refused(mut self, refused: bool) -> ServerConfig {
        self.login_refused = refused;
        self
    }

    /// Counters of the server started with this configuration (shared by its clones).
    pub fn stats(&self) -> ServerStats {
        ServerStats {
            tokens: self.tokens.clone(),
        }
    }

    /// The data set served.
    pub fn fixtures(&self) -> &Fixtures {
        &self.fixtures
    }

    /// The global faults.
    pub fn faults(&self) -> Faults {
        self.faults
    }
}

/// The files a server is loaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFiles {
    /// Server certificate chain, PEM.
    pub server_certificate: PathBuf,
    /// Server key, PEM (PKCS#8, SEC1 or PKCS#1).
    pub server_private_key: PathBuf,
    /// Facility client CA certificate(s), PEM.
    pub client_ca_certificate: PathBuf,
    /// JPKI user-auth CA certificate files, PEM (each may hold several certificates).
    pub jpki_ca_certificates: Vec<PathBuf>,
    /// Fixture file; `None` = the built-in default data set.
    pub fixtures: Option<PathBuf>,
}

impl ServerFiles {
    /// The layout `onshi-mock pki init DIR` writes: `DIR/tls/server.pem`,
    /// `DIR/tls/server-key.pem`, `DIR/tls/client-ca.pem`, `DIR/jpki/auth-ca.pem`; built-in
    /// fixtures.
    pub fn from_pki_dir(dir: &Path) -> ServerFiles {
        let tls = TlsFiles::in_dir(dir);
        ServerFiles {
            server_certificate: tls.server_certificate,
            server_private_key: tls.server_private_key,
            client_ca_certificate: tls.client_ca_certificate,
            jpki_ca_certificates: vec![dir.join("jpki").join("auth-ca.pem")],
            fixtures: None,
        }
    }
}

/// Every certificate in a PEM file (at least one).
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, ServerError> {
    let bytes = read_file(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServerError::Pem {
            path: path.to_path_buf(),
            reason: format!("not PEM certificates: {e}"),
        })?;
    if certs.is_empty() {
        return Err(ServerError::Pem {
            path: path.to_path_buf(),
            reason: "no CERTIFICATE block".to_string(),
        });
    }
    Ok(certs)
}

/// The first private key in a PEM file.
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, ServerError> {
    let bytes = read_file(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| ServerError::Pem {
        path: path.to_path_buf(),
        reason: format!("no usable private key: {e}"),
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, ServerError> {
    crate::pki::read_bounded(path, crate::pki::MAX_PEM_BYTES).map_err(|source| ServerError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// What a running server counts about logins, for tests and the load benchmark.
#[derive(Clone)]
pub struct ServerStats {
    tokens: Arc<TokenStore>,
}

impl std::fmt::Debug for ServerStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the tokens themselves.
        f.debug_struct("ServerStats")
            .field("logins", &self.logins())
            .field("refused_tokens", &self.refused_tokens())
            .finish()
    }
}

impl ServerStats {
    /// Successful logins so far.
    pub fn logins(&self) -> u64 {
        self.tokens.logins()
    }

    /// Requests refused with 401 PH4010 so far.
    pub fn refused_tokens(&self) -> u64 {
        self.tokens.refused()
    }

    /// The last 64 `idToken`s issued, oldest first: a test hook, so a test can look for a
    /// token where it must never appear (a log line, a verdict's detail).
    pub fn issued_id_tokens(&self) -> Vec<String> {
        self.tokens.remembered()
    }
}
