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

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use time::Date;

use super::interpret::{interpret, Asked};
use super::message::{
    ChallengeEnvelope, ErrorEnvelope, Request, RequestBody, RequestHeader, RequestMsg, Response,
    SearchInfo,
};
use crate::config::{Config, ConfigError, FacilityCode};
use crate::domain::numbers::InsurerNumber;
use crate::domain::verdict::{NextStep, ResultNote, Verdict, VerdictKind};
use crate::domain::IdentityMethod;

/// Largest answer the desk reads; a real one is a few kilobytes.
const MAX_ANSWER: u64 = 1 << 20;

/// A search by card (the project's card-search extension).
#[derive(Clone, Debug)]
pub struct CardSearch {
    pub certificate_der: Vec<u8>,
    pub method: IdentityMethod,
    /// PIN method: the challenge id and the card's signature over SHA-256(challenge).
    pub signed_challenge: Option<(String, Vec<u8>)>,
    /// Consent to share 限度額 information.
    pub limit_consent: bool,
}

/// A search by numbers (個別照会).
#[derive(Clone, Debug)]
pub struct NumberSearch {
    pub insurer: InsurerNumber,
    pub symbol: Option<String>,
    pub number: String,
    pub branch: Option<String>,
    pub birthdate: Date,
    pub limit_consent: bool,
}

#[derive(Clone, Debug)]
pub enum Search {
    Card(CardSearch),
    Numbers(NumberSearch),
}

/// A challenge for the PIN method.
#[derive(Clone, Debug)]
pub struct Challenge {
    pub id: String,
    pub bytes: Vec<u8>,
}

/// The client; cheap to share between threads.
pub struct OnlineClient {
    http: reqwest::blocking::Client,
    challenge_url: String,
    confirm_url: String,
    facility: FacilityCode,
    /// Prefix of `ArbitraryFileIdentifier`: this desk process.
    desk_id: String,
    sequence: AtomicU64,
}

fn invalid(field: &'static str, detail: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        field,
        detail: detail.to_string(),
    }
}

fn tls_config(config: &Config) -> Result<rustls::ClientConfig, ConfigError> {
    let e = &config.endpoint;
    let mut roots = rustls::RootCertStore::empty();
    let cas = CertificateDer::pem_file_iter(&e.ca)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
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
    let chain = CertificateDer::pem_file_iter(&e.client_certificate)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|err| {
            invalid(
                "endpoint.client_certificate",
                format!("{}: {err}", e.client_certificate.display()),
            )
        })?;
    let key = PrivateKeyDer::from_pem_file(&e.client_key).map_err(|err| {
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
        })
    }

    /// Asks for a challenge for the PIN method.
    pub fn challenge(&self) -> Result<Challenge, Verdict> {
        let (status, body) = self.post(&self.challenge_url, &serde_json::json!({}))?;
        if status != 200 {
            return Err(http_error(status, &body));
        }
        let c: ChallengeEnvelope = serde_json::from_slice(&body)
            .map_err(|e| failure(VerdictKind::ServerError, format!("challenge answer: {e}")))?;
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
        };
        let request = Request {
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
        let (status, body) = match self.post(&self.confirm_url, &request) {
            Ok(r) => r,
            Err(v) => return v,
        };
        if status != 200 {
            return http_error(status, &body);
        }
        match serde_json::from_slice::<Response>(&body) {
            Ok(answer) => interpret(answer.xml_msg, &asked, on),
            Err(e) => failure(VerdictKind::ServerError, format!("malformed answer: {e}")),
        }
    }

    fn post(&self, url: &str, body: &impl Serialize) -> Result<(u16, Vec<u8>), Verdict> {
        let response = self
            .http
            .post(url)
            .json(body)
            .send()
            .map_err(|e| transport_failure(&e))?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        response
            .take(MAX_ANSWER)
            .read_to_end(&mut bytes)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::TimedOut => {
                    failure(VerdictKind::Timeout, format!("reading the answer: {e}"))
                }
                _ => failure(VerdictKind::ServerError, format!("answer cut off: {e}")),
            })?;
        Ok((status, bytes))
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

/// A non-200 answer: the server's coded error when it gave one.
fn http_error(status: u16, body: &[u8]) -> Verdict {
    let error = serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .map(|e| e.error);
    let mut v = failure(
        VerdictKind::ServerError,
        format!(
            "HTTP {status}{}",
            error
                .as_ref()
                .and_then(|e| e.detail.as_deref())
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
    );
    if (400..500).contains(&status) {
        // Our request or our card was refused: retrying the same thing will not help.
        v.next_step = NextStep::ConfirmByDocuments;
    }
    v.note = error.and_then(|e| {
        Some(ResultNote {
            code: e.code?,
            message: e.message.unwrap_or_default(),
        })
    });
    v
}

/// Classifies a transport error: timeout, TLS trust, connection, or a server that dropped us.
fn transport_failure(e: &reqwest::Error) -> Verdict {
    let chain = error_chain(e);
    if e.is_timeout() || chain.contains("timed out") {
        return failure(VerdictKind::Timeout, chain);
    }
    if let Some(tls) = rustls_error(e) {
        return failure(VerdictKind::Unreachable, format!("TLS: {tls}"));
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

    #[test]
    fn coded_http_errors_keep_the_servers_code() {
        let body =
            br#"{"Error": {"Code": "PH4030", "Message": "m", "Detail": "not a JPKI certificate"}}"#;
        let v = http_error(403, body);
        assert_eq!(v.kind, VerdictKind::ServerError);
        assert_eq!(v.note.map(|n| n.code), Some("PH4030".into()));
        assert_eq!(v.next_step, NextStep::ConfirmByDocuments);
        let v = http_error(503, b"<html>busy</html>");
        assert_eq!(v.next_step, NextStep::RetryOrDocuments);
        assert!(v.detail.unwrap_or_default().contains("503"));
    }
}
