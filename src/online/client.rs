//! The HTTPS client of the online qualification service.
//!
//! reqwest (blocking: the desk calls it from worker threads, never from the UI thread) over
//! rustls with the **ring** provider, configured by hand: the only trusted root is the CA in
//! the configuration (no system or web roots: the service is a closed network), and the
//! facility's certificate is presented for mutual TLS. ring rather than aws-lc-rs: it builds
//! in a fraction of the time on the desk PCs' and CI's two cores and covers every algorithm
//! the service uses. One client is kept per desk, so connections are reused (keep-alive).
//!
//! Every failure becomes a [`Verdict`] (unreachable, timeout, server error) with a precise
//! `detail` for the log: the desk always gets an answer it can act on, within the timeout.
//!
//! The service is not trusted beyond its certificate:
//! - `endpoint.timeout` bounds the whole exchange, answer body included (a server that drips
//!   its answer a byte at a time is a timeout, not a wait of minutes);
//! - redirects are never followed (a 3xx would re-send the patient's numbers wherever the
//!   server points, even to plain `http://`): they are server errors;
//! - anything the server wrote that reaches a detail, a note, a log line or stdout goes through
//!   [`for_display`] first;
//! - the answer must be about the patient asked for ([`super::interpret`]).
//!
//! **Login and token.** Public code of the real web API logs in first (`POST …/auth`, the
//! facility certificate being the credential), then sends the `idToken` it got, raw, in the
//! `Authorization` header of each search. The client does the same: it logs in lazily on the
//! first request, keeps the token until its expiry (what the answer says, else
//! `endpoint.token_lifetime_s`), and when the service answers 401 `PH4010` (token refused) it
//! logs in again once and repeats the request once — both requests are safe to repeat (a
//! search changes nothing; a refused challenge was never issued). One login runs at a time:
//! the desk's workers share the client, and the others wait for that login's outcome, a
//! failed login being their verdict too. Login and request together stay within
//! `endpoint.timeout_ms`. The token never reaches a log line or a verdict's detail.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use time::Date;

use super::interpret::{interpret, Asked};
use super::message::{
    ChallengeEnvelope, ErrorEnvelope, LoginEnvelope, LoginRequest, RequestBody, RequestEnvelope,
    RequestHeader, RequestMsg, ResponseEnvelope, SearchInfo,
};
use crate::config::{Config, ConfigError};
use crate::domain::search::{Challenge, Search};
use crate::domain::text::{for_display, for_display_limited, has_unsafe_chars};
use crate::domain::verdict::{NextStep, Verdict, VerdictKind};
use crate::domain::FacilityCode;

/// Largest answer the desk reads; a real one is a few kilobytes.
const MAX_ANSWER: u64 = 1 << 20;

/// Characters of a non-JSON error body kept in a detail (enough to recognise a proxy's page).
const BODY_SNIPPET_CHARS: usize = 120;

/// Longest `idToken` accepted (a JWT of the real service is about a kilobyte).
const MAX_TOKEN_CHARS: usize = 8192;

/// Longest token lifetime believed from a login answer: a day.
const MAX_TOKEN_LIFETIME_S: u64 = 86_400;

/// `status` of a successful login (unconfirmed: public code does not show the values).
const LOGIN_OK: &str = "0";

/// Error code of a refused token (401): log in again.
const TOKEN_REFUSED: &str = "PH4010";

/// The client; cheap to share between threads.
pub struct OnlineClient {
    http: reqwest::blocking::Client,
    login_url: String,
    challenge_url: String,
    confirm_url: String,
    facility: FacilityCode,
    /// Prefix of `ArbitraryFileIdentifier`: this desk process.
    desk_id: String,
    sequence: AtomicU64,
    /// `endpoint.timeout`: the bound on one whole exchange, headers and body.
    timeout: Duration,
    /// `endpoint.token_lifetime_s`: how long a token is used when the login does not say.
    token_lifetime: Duration,
    session: Session,
}

/// A login token. Its text is wiped when the last copy goes, and never printed.
#[derive(Clone)]
struct Token {
    value: Arc<zeroize::Zeroizing<String>>,
    /// Used until then; a little before the service's own expiry.
    renew_at: Instant,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    fn same(&self, other: &Token) -> bool {
        Arc::ptr_eq(&self.value, &other.value)
    }
}

/// The login state shared by the threads using one client.
#[derive(Default)]
struct Session {
    state: Mutex<SessionState>,
    changed: Condvar,
}

#[derive(Default)]
struct SessionState {
    token: Option<Token>,
    /// A thread is logging in; the others wait for it.
    logging_in: bool,
    /// Logins finished, so a waiting thread knows the one it waited for is over.
    round: u64,
    /// The outcome of the last login when it failed: the verdict of the threads that waited.
    last_failure: Option<Verdict>,
}

impl Session {
    fn lock(&self) -> MutexGuard<'_, SessionState> {
        // Every update is a few assignments: a poisoned state is still consistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Clears `logging_in` and wakes the waiters however the login ends.
struct LoginTurn<'a> {
    session: &'a Session,
    outcome: Option<Result<Token, Verdict>>,
}

impl Drop for LoginTurn<'_> {
    fn drop(&mut self) {
        let mut state = self.session.lock();
        state.logging_in = false;
        state.round = state.round.wrapping_add(1);
        match self.outcome.take() {
            Some(Ok(token)) => {
                state.token = Some(token);
                state.last_failure = None;
            }
            Some(Err(verdict)) => state.last_failure = Some(verdict),
            None => {
                state.last_failure = Some(failure(
                    VerdictKind::ServerError,
                    "login: abandoned".to_owned(),
                ))
            }
        }
        self.session.changed.notify_all();
    }
}

/// What came back from one POST: status, the `Location` of a redirect, the body.
struct Answer {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
}

fn invalid(field: &'static str, detail: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        field,
        detail: detail.to_string(),
    }
}

/// The rustls client configuration from the configured CA, certificate chain and key.
///
/// Each file is read bounded and only if it is a regular file
/// ([`read_pem_setting`](crate::config::read_pem_setting)), then parsed from memory: a setting
/// naming `/dev/zero`, `/dev/urandom` or a FIFO is refused at once with the setting's name
/// instead of exhausting memory or waiting forever.
fn tls_config(config: &Config) -> Result<rustls::ClientConfig, ConfigError> {
    let e = &config.endpoint;
    let mut roots = rustls::RootCertStore::empty();
    let ca_pem = crate::config::read_pem_setting("endpoint.ca", &e.ca)?;
    let cas = CertificateDer::pem_slice_iter(&ca_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| invalid("endpoint.ca", format!("{}: {err}", e.ca.display())))?;
    if cas.is_empty() {
        return Err(invalid(
            "endpoint.ca",
            format!("{}: no certificate", e.ca.display()),
        ));
    }
    for ca in cas {
        roots.add(ca).map_err(|err| invalid("endpoint.ca", err))?;
    }
    let chain_pem =
        crate::config::read_pem_setting("endpoint.client_certificate", &e.client_certificate)?;
    let chain = CertificateDer::pem_slice_iter(&chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| {
            invalid(
                "endpoint.client_certificate",
                format!("{}: {err}", e.client_certificate.display()),
            )
        })?;
    // The key's PEM text is wiped once parsed; the parsed key lives on in rustls.
    let key_pem = zeroize::Zeroizing::new(crate::config::read_pem_setting(
        "endpoint.client_key",
        &e.client_key,
    )?);
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|err| {
        invalid(
            "endpoint.client_key",
            format!("{}: {err}", e.client_key.display()),
        )
    })?;
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|err| invalid("endpoint", err))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|err| invalid("endpoint.client_key", err))
}

impl OnlineClient {
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let tls = tls_config(config)?;
        let http = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(config.endpoint.connect_timeout)
            .timeout(config.endpoint.timeout)
            // Never follow: a redirect would re-send the patient's numbers elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("onshi-desk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| invalid("endpoint", err))?;
        let e = &config.endpoint;
        // The base URL ends in `/`; the paths start with one.
        let url = |path: &str| format!("{}{}", e.url, path.trim_start_matches('/'));
        Ok(Self {
            http,
            login_url: url(&e.login_path),
            challenge_url: url(&e.challenge_path),
            confirm_url: url(&e.search_path),
            facility: config.facility_code.clone(),
            desk_id: format!("desk{}", std::process::id()),
            sequence: AtomicU64::new(1),
            timeout: e.timeout,
            token_lifetime: e.token_lifetime,
            session: Session::default(),
        })
    }

    /// Asks for a challenge for the PIN method.
    pub fn challenge(&self) -> Result<Challenge, Verdict> {
        let deadline = Instant::now() + self.timeout;
        let (answer, used) =
            self.authorized_post(&self.challenge_url, &serde_json::json!({}), deadline)?;
        if answer.status != 200 {
            return Err(redacted(http_error(&answer), &used));
        }
        let c: ChallengeEnvelope = serde_json::from_slice(&answer.body).map_err(|e| {
            failure(
                VerdictKind::ServerError,
                format!("challenge answer: {}", for_display(&e.to_string())),
            )
        })?;
        let id = &c.challenge_response.challenge_id;
        if id.is_empty() || id.chars().count() > 200 || has_unsafe_chars(id) {
            return Err(failure(
                VerdictKind::ServerError,
                format!("challenge id refused: {:?}", for_display_limited(id, 60)),
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(c.challenge_response.challenge.as_bytes())
            .map_err(|e| {
                failure(
                    VerdictKind::ServerError,
                    format!("challenge is not base64: {e}"),
                )
            })?;
        if bytes.len() < 16 {
            return Err(failure(
                VerdictKind::ServerError,
                format!("challenge of {} bytes", bytes.len()),
            ));
        }
        Ok(Challenge {
            id: c.challenge_response.challenge_id,
            bytes,
        })
    }

    /// Runs one qualification confirmation checked on `on`; always returns a verdict.
    pub fn confirm(&self, search: &Search, on: Date) -> Verdict {
        let asked = Asked {
            file_id: format!(
                "{}-{}",
                self.desk_id,
                self.sequence.fetch_add(1, Ordering::Relaxed)
            ),
            facility_code: self.facility.as_str().to_owned(),
            date: crate::domain::dates::compact(on),
            reference: match search {
                Search::Card(_) => "1",
                Search::Numbers(_) => "2",
            },
            numbers: match search {
                Search::Card(_) => None,
                Search::Numbers(n) => Some(n.clone()),
            },
        };
        let request = RequestEnvelope {
            xml_msg: RequestMsg {
                message_header: RequestHeader {
                    qualification_confirmation_date: asked.date.clone(),
                    medical_institution_code: asked.facility_code.clone(),
                    arbitrary_file_identifier: asked.file_id.clone(),
                },
                message_body: RequestBody {
                    qualification_confirm_search_info: search_info(search),
                },
            },
        };
        let deadline = Instant::now() + self.timeout;
        let (answer, used) = match self.authorized_post(&self.confirm_url, &request, deadline) {
            Ok(r) => r,
            Err(v) => return v,
        };
        let verdict = if answer.status != 200 {
            http_error(&answer)
        } else {
            match serde_json::from_slice::<ResponseEnvelope>(&answer.body) {
                Ok(answer) => interpret(answer.xml_msg, &asked, on),
                Err(e) => failure(
                    VerdictKind::ServerError,
                    format!("malformed answer: {}", for_display(&e.to_string())),
                ),
            }
        };
        redacted(verdict, &used)
    }

    /// POSTs with the session's token (logging in first when there is none), and once more
    /// with a new token when the service refuses the first one (401 `PH4010`). Returns the
    /// answer and the tokens used, so whatever the server echoed of them can be redacted.
    fn authorized_post(
        &self,
        url: &str,
        body: &impl Serialize,
        deadline: Instant,
    ) -> Result<(Answer, Vec<Token>), Verdict> {
        let token = self.token(deadline)?;
        let answer = self
            .post(url, body, Some(&token), deadline)
            .map_err(|v| redacted(v, std::slice::from_ref(&token)))?;
        if !token_refused(&answer) {
            return Ok((answer, vec![token]));
        }
        tracing::info!(
            "the online service refused the login token ({TOKEN_REFUSED}); logging in again"
        );
        self.forget(&token);
        let fresh = self.token(deadline)?;
        let used = vec![token, fresh.clone()];
        let answer = self
            .post(url, body, Some(&fresh), deadline)
            .map_err(|v| redacted(v, &used))?;
        if token_refused(&answer) {
            // Refused twice: the answer is the verdict, and the next request logs in afresh.
            self.forget(&fresh);
        }
        Ok((answer, used))
    }

    /// The session's token while it is fresh; else a new login, by this thread or by the one
    /// already logging in (whose failure is then this thread's verdict too).
    fn token(&self, deadline: Instant) -> Result<Token, Verdict> {
        let mut state = self.session.lock();
        let waited_from = state.round;
        loop {
            if let Some(token) = &state.token {
                if Instant::now() < token.renew_at {
                    return Ok(token.clone());
                }
                state.token = None;
            }
            if !state.logging_in {
                if state.round != waited_from {
                    if let Some(failed) = &state.last_failure {
                        return Err(failed.clone());
                    }
                }
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(failure(
                    VerdictKind::Timeout,
                    "login: another request's login did not finish within the timeout".to_owned(),
                ));
            }
            state = self
                .session
                .changed
                .wait_timeout(state, left)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
        state.logging_in = true;
        drop(state);
        let mut turn = LoginTurn {
            session: &self.session,
            outcome: None,
        };
        let outcome = self.log_in(deadline);
        turn.outcome = Some(outcome.clone());
        drop(turn);
        outcome
    }

    /// Drops `used` from the session unless another thread already replaced it.
    fn forget(&self, used: &Token) {
        let mut state = self.session.lock();
        if state.token.as_ref().is_some_and(|t| t.same(used)) {
            state.token = None;
        }
    }

    /// One login: `POST endpoint.login_path` with the facility certificate (the TLS layer
    /// presents it); every failure is a verdict with a detail starting `login:`.
    fn log_in(&self, deadline: Instant) -> Result<Token, Verdict> {
        let request = LoginRequest {
            desk_id: self.desk_id.clone(),
        };
        let prefixed = |mut v: Verdict| {
            v.detail = Some(format!("login: {}", v.detail.unwrap_or_default()));
            tracing::warn!(
                "login to the online service failed: {}",
                v.detail.as_deref().unwrap_or_default()
            );
            v
        };
        let answer = self
            .post(&self.login_url, &request, None, deadline)
            .map_err(prefixed)?;
        let token = login_token(&answer, self.token_lifetime).map_err(prefixed)?;
        tracing::info!(
            "logged in to the online service; the token is used for {} s",
            token
                .renew_at
                .saturating_duration_since(Instant::now())
                .as_secs()
        );
        Ok(token)
    }

    /// One POST by `deadline` in all: the header phase gets the time left (reqwest's own
    /// timeout), the body is read against the same deadline.
    fn post(
        &self,
        url: &str,
        body: &impl Serialize,
        token: Option<&Token>,
        deadline: Instant,
    ) -> Result<Answer, Verdict> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(failure(
                VerdictKind::Timeout,
                "no time left within the timeout to send the request".to_owned(),
            ));
        }
        let mut request = self.http.post(url).json(body).timeout(left);
        if let Some(token) = token {
            // Checked to be visible ASCII on arrival; marked sensitive so no layer logs it.
            let mut value =
                reqwest::header::HeaderValue::from_str(token.value.as_str()).map_err(|_| {
                    failure(
                        VerdictKind::ServerError,
                        "login token is not a valid header value".to_owned(),
                    )
                })?;
            value.set_sensitive(true);
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let response = request.send().map_err(|e| transport_failure(&e))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| for_display_limited(&String::from_utf8_lossy(l.as_bytes()), 200).into_owned());
        let body = read_body(response, deadline)?;
        Ok(Answer {
            status,
            location,
            body,
        })
    }
}

/// Reads an answer body by `deadline`, at most [`MAX_ANSWER`] bytes.
///
/// reqwest's blocking reader bounds each read, not the whole body: a server sending a byte
/// every half second would never trip it. So the body is read on a helper thread that hands
/// over chunks, and this thread waits for them only until the deadline. On a timeout the
/// helper stops at its next chunk (the receiver is gone) or at reqwest's per-read timeout.
fn read_body(response: reqwest::blocking::Response, deadline: Instant) -> Result<Vec<u8>, Verdict> {
    let (tx, rx) = mpsc::channel::<std::io::Result<Vec<u8>>>();
    let spawned = std::thread::Builder::new()
        .name("online-answer".into())
        .spawn(move || {
            let mut reader = response.take(MAX_ANSWER);
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let chunk = buf.get(..n).map(<[u8]>::to_vec).unwrap_or_default();
                        if tx.send(Ok(chunk)).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
    if let Err(e) = spawned {
        return Err(failure(
            VerdictKind::ServerError,
            format!("cannot start the answer reader: {e}"),
        ));
    }
    let mut bytes = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(Err(e)) => return Err(read_failure(&e)),
            // The reader finished: the whole body is here.
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(bytes),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(failure(
                    VerdictKind::Timeout,
                    format!(
                        "answer not complete within the timeout ({} bytes received)",
                        bytes.len()
                    ),
                ));
            }
        }
    }
}

/// Classifies an error reading the answer body: a timeout, or a server that cut it off.
///
/// reqwest's own timer ends a body with `io::ErrorKind::Other` wrapping its error, whose source
/// is "operation timed out"; whether it or this thread's deadline fires first is a race (it
/// was reqwest's under Wine in CI, once), and either way the desk must be told "timeout".
fn read_failure(e: &std::io::Error) -> Verdict {
    let chain = for_display(&error_chain(e)).into_owned();
    if timed_out(e, &chain) {
        return failure(VerdictKind::Timeout, format!("reading the answer: {chain}"));
    }
    failure(VerdictKind::ServerError, format!("answer cut off: {chain}"))
}

/// The one rule for "this transport error is a timeout": reqwest says so (its own check walks
/// the sources for its timer and for I/O `TimedOut`), the error is an I/O `TimedOut` or wraps
/// such a reqwest error (the blocking body reader's shape), or its chain (`chain`, from
/// [`error_chain`]) says "timed out" (a timeout some layer reported only in words).
fn timed_out(e: &(dyn std::error::Error + 'static), chain: &str) -> bool {
    let reqwest = |e: &(dyn std::error::Error + 'static)| {
        e.downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
    };
    let io = e.downcast_ref::<std::io::Error>().is_some_and(|io| {
        io.kind() == std::io::ErrorKind::TimedOut
            || io.get_ref().is_some_and(|inner| reqwest(inner))
    });
    reqwest(e) || io || chain.contains("timed out")
}

fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

fn search_info(search: &Search) -> SearchInfo {
    match search {
        Search::Numbers(n) => SearchInfo {
            insurer_number: Some(n.insurer.wire()),
            insured_card_symbol: n.symbol.clone(),
            insured_identification_number: Some(n.number.clone()),
            insured_branch_number: n.branch.clone(),
            birthdate: Some(crate::domain::dates::compact(n.birthdate)),
            limit_application_certificate_related_cons_flg: flag(n.limit_consent),
            ..Default::default()
        },
        Search::Card(c) => {
            let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
            SearchInfo {
                ext_user_auth_certificate: Some(b64(&c.certificate_der)),
                ext_identity_confirmation_method: Some(c.method.code().to_owned()),
                ext_challenge_id: c.signed_challenge.as_ref().map(|(id, _)| id.clone()),
                ext_challenge_signature: c.signed_challenge.as_ref().map(|(_, s)| b64(s)),
                limit_application_certificate_related_cons_flg: flag(c.limit_consent),
                ..Default::default()
            }
        }
    }
}

fn failure(kind: VerdictKind, detail: String) -> Verdict {
    let mut v = Verdict::bare(kind, NextStep::RetryOrDocuments);
    v.detail = Some(detail);
    v
}

/// Whether the service refused the token: 401 with the error code `PH4010`.
fn token_refused(answer: &Answer) -> bool {
    answer.status == 401
        && serde_json::from_slice::<ErrorEnvelope>(&answer.body)
            .ok()
            .and_then(|e| e.error.code)
            .is_some_and(|code| code == TOKEN_REFUSED)
}

/// `verdict` with every token in `used` replaced by `<token>` in its detail and note: a
/// server that echoes the token back must not get it into a log.
fn redacted(mut verdict: Verdict, used: &[Token]) -> Verdict {
    let scrub = |text: &mut String| {
        for token in used {
            let value = token.value.as_str();
            if !value.is_empty() && text.contains(value) {
                *text = text.replace(value, "<token>");
            }
        }
    };
    if let Some(detail) = verdict.detail.as_mut() {
        scrub(detail);
    }
    if let Some(note) = verdict.note.as_mut() {
        scrub(&mut note.code);
        scrub(&mut note.message);
    }
    verdict
}

/// The token of a login answer, checked: 200, `status` `"0"`, an `idToken` of visible ASCII
/// (it goes into a header), an expiry in seconds if given. The details never quote the token
/// nor serde's error text (which can quote values).
fn login_token(answer: &Answer, default_lifetime: Duration) -> Result<Token, Verdict> {
    let envelope = serde_json::from_slice::<LoginEnvelope>(&answer.body).ok();
    if answer.status != 200 {
        if let Some(LoginEnvelope {
            status: Some(status),
            msg,
            ..
        }) = &envelope
        {
            let mut v = failure(
                VerdictKind::ServerError,
                format!(
                    "HTTP {}: refused (status {:?}: {})",
                    answer.status,
                    for_display_limited(status, 20),
                    for_display_limited(msg.as_deref().unwrap_or_default(), 200)
                ),
            );
            if (400..500).contains(&answer.status) {
                v.next_step = NextStep::ConfirmByDocuments;
            }
            return Err(v);
        }
        return Err(http_error(answer));
    }
    let malformed = |what: &str| failure(VerdictKind::ServerError, format!("answer {what}"));
    let Some(envelope) = envelope else {
        return Err(
            match serde_json::from_slice::<serde_json::Value>(&answer.body) {
                Err(e) => malformed(&format!(
                    "is not JSON (line {} column {})",
                    e.line(),
                    e.column()
                )),
                Ok(_) => malformed("is not the login answer's shape"),
            },
        );
    };
    let status = envelope.status.as_deref().unwrap_or_default();
    if status != LOGIN_OK {
        return Err(failure(
            VerdictKind::ServerError,
            format!(
                "refused (status {:?}: {})",
                for_display_limited(status, 20),
                for_display_limited(envelope.msg.as_deref().unwrap_or_default(), 200)
            ),
        ));
    }
    let result = envelope.result.ok_or_else(|| malformed("has no result"))?;
    let token = zeroize::Zeroizing::new(result.id_token.unwrap_or_default());
    if token.is_empty() {
        return Err(malformed("has no idToken"));
    }
    if token.len() > MAX_TOKEN_CHARS || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(malformed(&format!(
            "has an idToken of {} bytes that is not up to {MAX_TOKEN_CHARS} visible ASCII characters",
            token.len()
        )));
    }
    let lifetime = match result.ext_expires_in.as_deref() {
        None => default_lifetime,
        Some(s) => match s.parse::<u64>() {
            Ok(n)
                if (1..=MAX_TOKEN_LIFETIME_S).contains(&n)
                    && s.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Duration::from_secs(n)
            }
            _ => {
                return Err(malformed(&format!(
                    "has extExpiresIn {:?}, not 1 to {MAX_TOKEN_LIFETIME_S} seconds",
                    for_display_limited(s, 20)
                )))
            }
        },
    };
    // Renewed a little early, so a token does not expire between check and use.
    let margin = (lifetime / 10).min(Duration::from_secs(30));
    Ok(Token {
        value: Arc::new(token),
        renew_at: Instant::now() + lifetime.saturating_sub(margin),
    })
}

/// A non-200 answer: the server's coded error when it gave one, a refused redirect, or a
/// snippet of whatever else it sent; every piece of server text escaped for display.
fn http_error(answer: &Answer) -> Verdict {
    let status = answer.status;
    let error = serde_json::from_slice::<ErrorEnvelope>(&answer.body)
        .ok()
        .map(|e| e.error);
    let said = match (&error, (300..400).contains(&status)) {
        (_, true) => format!(
            ": redirect not followed (Location {})",
            answer.location.as_deref().unwrap_or("absent")
        ),
        (Some(e), false) => e
            .detail
            .as_deref()
            .map(|d| format!(": {}", for_display_limited(d, 200)))
            .unwrap_or_default(),
        (None, false) if answer.body.is_empty() => String::new(),
        (None, false) => format!(
            ": {:?}",
            for_display_limited(&String::from_utf8_lossy(&answer.body), BODY_SNIPPET_CHARS)
        ),
    };
    let mut v = failure(VerdictKind::ServerError, format!("HTTP {status}{said}"));
    if (400..500).contains(&status) {
        // Our request or our card was refused: retrying the same thing will not help.
        v.next_step = NextStep::ConfirmByDocuments;
    }
    v.note = error.and_then(|e| super::interpret::note(e.code, e.message));
    v
}

/// Classifies a transport error: timeout, TLS trust, connection, or a server that dropped us.
fn transport_failure(e: &reqwest::Error) -> Verdict {
    let chain = for_display(&error_chain(e)).into_owned();
    if timed_out(e, &chain) {
        return failure(VerdictKind::Timeout, chain);
    }
    if let Some(tls) = rustls_error(e) {
        return failure(
            VerdictKind::Unreachable,
            format!("TLS: {}", for_display(&tls)),
        );
    }
    if e.is_connect() {
        return failure(VerdictKind::Unreachable, chain);
    }
    failure(
        VerdictKind::ServerError,
        format!("connection dropped: {chain}"),
    )
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}

/// The TLS failure behind a transport error, if that is what it was. The connector wraps
/// rustls's error in boxed and io errors (and io::Error::source skips its inner error), so
/// besides the downcast the chain's text is matched against rustls's own messages.
fn rustls_error(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    downcast_rustls(e).or_else(|| {
        let chain = error_chain(e);
        const TLS_MESSAGES: [&str; 5] = [
            "invalid peer certificate",
            "peer sent no certificates",
            "received fatal alert",
            "peer is incompatible",
            "peer misbehaved",
        ];
        TLS_MESSAGES
            .iter()
            .any(|m| chain.contains(m))
            .then_some(chain)
    })
}

fn downcast_rustls(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(tls) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls.to_string());
        }
        current = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::numbers::InsurerNumber;
    use crate::domain::search::{CardSearch, NumberSearch};
    use crate::domain::IdentityMethod;

    /// reqwest's body error as its blocking reader hands it over when its own timer fires.
    #[derive(Debug)]
    struct BodyError(std::io::Error);
    impl std::fmt::Display for BodyError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("request or response body error")
        }
    }
    impl std::error::Error for BodyError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_body_ended_by_the_clients_own_timer_is_a_timeout_not_a_cut_off_answer() {
        // Regression: under Wine, reqwest's timer beat the deadline and the desk said
        // "server error" for what was a timeout (tests/online_hostile.rs, shared timeout).
        let timed_out =
            std::io::Error::other(BodyError(std::io::Error::other("operation timed out")));
        let v = read_failure(&timed_out);
        assert_eq!(v.kind, VerdictKind::Timeout, "{:?}", v.detail);
        let v = read_failure(&std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert_eq!(v.kind, VerdictKind::Timeout);
        let cut = std::io::Error::other(BodyError(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        let v = read_failure(&cut);
        assert_eq!(v.kind, VerdictKind::ServerError, "{:?}", v.detail);
    }

    #[test]
    fn card_searches_carry_the_extension_elements() {
        let s = Search::Card(CardSearch {
            certificate_der: vec![0x30, 0x03, 1, 2, 3],
            method: IdentityMethod::Pin,
            signed_challenge: Some(("c-1".into(), vec![9; 4])),
            limit_consent: true,
        });
        let json = serde_json::to_value(search_info(&s)).expect("json");
        assert_eq!(json["ExtUserAuthCertificate"], "MAMBAgM=");
        assert_eq!(json["ExtIdentityConfirmationMethod"], "1");
        assert_eq!(json["ExtChallengeId"], "c-1");
        assert_eq!(json["ExtChallengeSignature"], "CQkJCQ==");
        assert_eq!(json["LimitApplicationCertificateRelatedConsFlg"], "1");
        assert!(json.get("InsurerNumber").is_none());
    }

    #[test]
    fn number_searches_pad_national_health_insurance_numbers() {
        let s = Search::Numbers(NumberSearch {
            insurer: InsurerNumber::parse("138057").expect("valid"),
            symbol: None,
            number: "0012".into(),
            branch: Some("01".into()),
            birthdate: time::macros::date!(1980 - 04 - 01),
            limit_consent: false,
        });
        let json = serde_json::to_value(search_info(&s)).expect("json");
        assert_eq!(json["InsurerNumber"], "  138057");
        assert_eq!(json["InsuredIdentificationNumber"], "0012");
        assert_eq!(json["Birthdate"], "19800401");
        assert!(json.get("InsuredCardSymbol").is_none());
    }

    fn answer(status: u16, body: &[u8]) -> Answer {
        Answer {
            status,
            location: None,
            body: body.to_vec(),
        }
    }

    #[test]
    fn login_answers_are_checked_and_give_a_lifetime() {
        let lifetime = Duration::from_secs(1800);
        let ok = br#"{"status":"0","msg":"","result":{"accessToken":"a","refreshToken":"r","idToken":"it-1","linkSysCharCd":"0","extExpiresIn":"100"}}"#;
        let before = Instant::now();
        let token = login_token(&answer(200, ok), lifetime).expect("token");
        assert_eq!(token.value.as_str(), "it-1");
        // 100 s less a tenth (the margin) = 90 s.
        let used_for = token.renew_at.saturating_duration_since(before);
        assert!(
            used_for >= Duration::from_secs(90) && used_for < Duration::from_secs(91),
            "{used_for:?}"
        );
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        let no_expiry = br#"{"status":"0","result":{"idToken":"it-1"}}"#;
        let token = login_token(&answer(200, no_expiry), lifetime).expect("token");
        let used_for = token.renew_at.saturating_duration_since(before);
        assert!(used_for > Duration::from_secs(1700), "{used_for:?}");

        for (body, needle) in [
            (&br#"{"status":"1","msg":"x","result":null}"#[..], "refused"),
            (br#"{"status":"0","result":{}}"#, "no idToken"),
            (br#"{"status":"0"}"#, "no result"),
            (br#"{"status":"0","result":{"idToken":"a b"}}"#, "idToken"),
            (
                br#"{"status":"0","result":{"idToken":"t","extExpiresIn":"0"}}"#,
                "extExpiresIn",
            ),
            (
                br#"{"status":"0","result":{"idToken":"t","extExpiresIn":"+5"}}"#,
                "extExpiresIn",
            ),
            (br#"{"status":"0","result":{"idToken":7}}"#, "shape"),
            (b"not json", "not JSON"),
        ] {
            let v = login_token(&answer(200, body), lifetime).expect_err(needle);
            assert_eq!(v.kind, VerdictKind::ServerError);
            let detail = v.detail.unwrap_or_default();
            assert!(detail.contains(needle), "{needle}: {detail}");
        }
        let refused = login_token(
            &answer(403, br#"{"status":"1","msg":"\u001b[2J","result":null}"#),
            lifetime,
        )
        .expect_err("refused");
        assert_eq!(refused.next_step, NextStep::ConfirmByDocuments);
        let detail = refused.detail.unwrap_or_default();
        assert!(detail.starts_with("HTTP 403: refused"), "{detail}");
        assert!(!has_unsafe_chars(&detail), "{detail:?}");
    }

    #[test]
    fn a_token_the_server_echoes_is_redacted() {
        let token = Token {
            value: Arc::new(zeroize::Zeroizing::new("it-secret".to_owned())),
            renew_at: Instant::now(),
        };
        let body = br#"{"Error":{"Code":"PH4010","Message":"it-secret?","Detail":"token it-secret refused"}}"#;
        let v = redacted(http_error(&answer(401, body)), &[token]);
        let detail = v.detail.unwrap_or_default();
        assert!(!detail.contains("it-secret"), "{detail}");
        assert!(detail.contains("token <token> refused"), "{detail}");
        assert!(!v.note.expect("note").message.contains("it-secret"));
        assert!(token_refused(&answer(401, body)));
        assert!(!token_refused(&answer(403, body)));
        assert!(!token_refused(&answer(401, b"{}")));
    }

    #[test]
    fn coded_http_errors_keep_the_servers_code() {
        let body =
            br#"{"Error": {"Code": "PH4030", "Message": "m", "Detail": "not a JPKI certificate"}}"#;
        let v = http_error(&answer(403, body));
        assert_eq!(v.kind, VerdictKind::ServerError);
        assert_eq!(v.note.map(|n| n.code), Some("PH4030".into()));
        assert_eq!(v.next_step, NextStep::ConfirmByDocuments);
        let v = http_error(&answer(503, b"<html>busy</html>"));
        assert_eq!(v.next_step, NextStep::RetryOrDocuments);
        assert!(v.detail.unwrap_or_default().contains("503"));
    }

    #[test]
    fn server_text_in_http_errors_is_escaped() {
        let body = r#"{"Error": {"Code": "PH\u001b[2J", "Message": "\u202e\u001b]0;x\u0007", "Detail": "a\u001b[31mred\nforged log line"}}"#;
        let v = http_error(&answer(400, body.as_bytes()));
        let detail = v.detail.clone().unwrap_or_default();
        let note = v.note.clone().expect("the coded error");
        for text in [&detail, &note.code, &note.message] {
            assert!(!has_unsafe_chars(text), "{text:?}");
        }
        assert!(
            detail.contains("forged log line"),
            "kept, escaped: {detail}"
        );
        let v = http_error(&answer(502, b"\x1b[31m<html>proxy\r\nX: y</html>"));
        let detail = v.detail.unwrap_or_default();
        assert!(
            !has_unsafe_chars(&detail) && detail.contains("proxy"),
            "{detail}"
        );
        let mut redirect = answer(307, b"");
        redirect.location = Some("http://127.0.0.1:9/".into());
        let detail = http_error(&redirect).detail.unwrap_or_default();
        assert!(detail.contains("redirect not followed"), "{detail}");
        assert!(detail.contains("http://127.0.0.1:9/"), "{detail}");
    }
}
