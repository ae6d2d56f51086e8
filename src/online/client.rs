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

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use time::Date;

use super::interpret::{interpret, Asked};
use super::message::{
    ChallengeEnvelope, ErrorEnvelope, RequestBody, RequestEnvelope, RequestHeader, RequestMsg,
    ResponseEnvelope, SearchInfo,
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

/// The client; cheap to share between threads.
pub struct OnlineClient {
    http: reqwest::blocking::Client,
    challenge_url: String,
    confirm_url: String,
    facility: FacilityCode,
    /// Prefix of `ArbitraryFileIdentifier`: this desk process.
    desk_id: String,
    sequence: AtomicU64,
    /// `endpoint.timeout`: the bound on one whole exchange, headers and body.
    timeout: Duration,
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
        let base = &config.endpoint.url;
        Ok(Self {
            http,
            challenge_url: format!("{base}online-qualification/v1/challenge"),
            confirm_url: format!("{base}online-qualification/v1/qualification-confirmation"),
            facility: config.facility_code.clone(),
            desk_id: format!("desk{}", std::process::id()),
            sequence: AtomicU64::new(1),
            timeout: config.endpoint.timeout,
        })
    }

    /// Asks for a challenge for the PIN method.
    pub fn challenge(&self) -> Result<Challenge, Verdict> {
        let answer = self.post(&self.challenge_url, &serde_json::json!({}))?;
        if answer.status != 200 {
            return Err(http_error(&answer));
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
            date: yyyymmdd(on),
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
        let answer = match self.post(&self.confirm_url, &request) {
            Ok(r) => r,
            Err(v) => return v,
        };
        if answer.status != 200 {
            return http_error(&answer);
        }
        match serde_json::from_slice::<ResponseEnvelope>(&answer.body) {
            Ok(answer) => interpret(answer.xml_msg, &asked, on),
            Err(e) => failure(
                VerdictKind::ServerError,
                format!("malformed answer: {}", for_display(&e.to_string())),
            ),
        }
    }

    /// One POST within `self.timeout` in all: the header phase gets the time left (reqwest's
    /// own timeout), the body is read against the same deadline.
    fn post(&self, url: &str, body: &impl Serialize) -> Result<Answer, Verdict> {
        let deadline = Instant::now() + self.timeout;
        let response = self
            .http
            .post(url)
            .json(body)
            .timeout(self.timeout)
            .send()
            .map_err(|e| transport_failure(&e))?;
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
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Err(failure(
                    VerdictKind::Timeout,
                    format!("reading the answer: {}", for_display(&e.to_string())),
                ));
            }
            Ok(Err(e)) => {
                return Err(failure(
                    VerdictKind::ServerError,
                    format!("answer cut off: {}", for_display(&e.to_string())),
                ));
            }
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

fn yyyymmdd(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
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
            birthdate: Some(yyyymmdd(n.birthdate)),
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
    if e.is_timeout() || chain.contains("timed out") {
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
