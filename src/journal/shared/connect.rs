//! Connecting to the shared journal, in one place: TLS always (rustls, the server's
//! certificate checked against `[journal] ca` and its name against the URL's host), the
//! password from the configuration or its file, bounded waits, synchronous commit.
//!
//! Why bounded waits everywhere: the desk's writer thread forwards to the database before it
//! tells the desk a check is done; a database host that vanished (switched off, cable pulled)
//! must turn into "working offline" within seconds, never into a desk that hangs.

use std::sync::Arc;
use std::time::Duration;

use postgres::config::SslMode;
use postgres::{Client, Config};
use rustls::pki_types::{pem::PemObject, CertificateDer};

use crate::config::{SharedJournalConfig, SharedPassword};
use crate::journal::JournalError;

/// How long connecting (TCP + TLS + login) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a statement may run, and unacknowledged data may wait on the socket, before the
/// connection is given up (the server's `statement_timeout`, the socket's TCP user timeout).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest password file read.
const MAX_PASSWORD_BYTES: u64 = 4096;

/// A new connection to the shared journal. Errors are typed as
/// [`JournalError::SharedUnavailable`] (the database cannot be reached or refused the login)
/// or a configuration problem; neither ever holds the password.
pub fn connect(shared: &SharedJournalConfig) -> Result<Client, JournalError> {
    let mut config: Config = shared
        .url
        .parse()
        .map_err(|e| JournalError::Invalid(format!("journal.url {}: {e}", shared.redacted())))?;
    if let Some(password) = password(shared)? {
        config.password(password.as_bytes());
    }
    config
        .ssl_mode(SslMode::Require)
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_user_timeout(STATEMENT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .application_name(&format!("onshi-desk {}", shared.desk_id))
        .options(&format!(
            "-c synchronous_commit=on -c statement_timeout={} -c lock_timeout={}",
            STATEMENT_TIMEOUT.as_millis(),
            STATEMENT_TIMEOUT.as_millis()
        ));
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(shared)?);
    config.connect(tls).map_err(|e| {
        JournalError::SharedUnavailable(format!("{}: {}", shared.redacted(), describe(&e)))
    })
}

/// The password, read now from its file when it has one.
fn password(
    shared: &SharedJournalConfig,
) -> Result<Option<zeroize::Zeroizing<String>>, JournalError> {
    match &shared.password {
        None => Ok(None),
        Some(SharedPassword::Inline(p)) => Ok(Some(p.clone())),
        Some(SharedPassword::File(path)) => {
            let bytes = zeroize::Zeroizing::new(
                onshi_files::read_limited(path, MAX_PASSWORD_BYTES).map_err(|e| {
                    JournalError::Invalid(format!(
                        "journal.password_file {}: {}",
                        path.display(),
                        e.into_io_error()
                    ))
                })?,
            );
            let text = std::str::from_utf8(&bytes).map_err(|_| {
                JournalError::Invalid(format!(
                    "journal.password_file {}: not UTF-8 text",
                    path.display()
                ))
            })?;
            // One line: the trailing newline an editor adds is not part of the password.
            Ok(Some(zeroize::Zeroizing::new(
                text.trim_end_matches(['\r', '\n']).to_owned(),
            )))
        }
    }
}

/// The TLS client configuration: only the configured CA is trusted.
fn tls_config(shared: &SharedJournalConfig) -> Result<rustls::ClientConfig, JournalError> {
    let invalid = |detail: String| {
        JournalError::Invalid(format!("journal.ca {}: {detail}", shared.ca.display()))
    };
    let pem = crate::config::read_pem_setting("journal.ca", &shared.ca)
        .map_err(|e| JournalError::Invalid(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    let cas = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    if cas.is_empty() {
        return Err(invalid("no certificate".into()));
    }
    for ca in cas {
        roots.add(ca).map_err(|e| invalid(e.to_string()))?;
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| invalid(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// A client error with its cause (the TLS or socket error behind "error connecting").
pub(crate) fn describe(e: &postgres::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

impl From<postgres::Error> for JournalError {
    /// A failure on an open connection: the database's own refusals (a constraint, a
    /// permission) are errors of the journal; a lost connection, a timeout or a server shut
    /// down means the database is unavailable (the desk goes on offline).
    fn from(e: postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) if !is_unavailability(db.code()) => {
                JournalError::Other(format!("shared journal: {}", describe(&e)))
            }
            _ => JournalError::SharedUnavailable(describe(&e)),
        }
    }
}

/// Server errors that mean "not available now" rather than "this request is wrong".
fn is_unavailability(code: &postgres::error::SqlState) -> bool {
    use postgres::error::SqlState;
    [
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::QUERY_CANCELED,
        SqlState::LOCK_NOT_AVAILABLE,
        SqlState::TOO_MANY_CONNECTIONS,
        SqlState::INVALID_PASSWORD,
        SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
        SqlState::READ_ONLY_SQL_TRANSACTION,
        SqlState::DISK_FULL,
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
    ]
    .contains(code)
}
