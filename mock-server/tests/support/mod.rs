//! Shared by the server tests and the load benchmark: the test PKI (made once per process),
//! a small mTLS HTTP client on hyper + tokio-rustls, and request builders that play the card.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use onshi_mock::endpoint::{
    load_certificates, load_private_key, ServerConfig, ServerFiles, CHALLENGE_PATH,
    CONFIRMATION_PATH, LOGIN_PATH,
};
use onshi_mock::pki::{self, tls::TlsFiles};
use onshi_mock::Persona;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The reference date of the test PKI; requests use it as `QualificationConfirmationDate`.
pub const AS_OF: ::time::Date = ::time::macros::date!(2026 - 11 - 21);
pub const AS_OF_TEXT: &str = "20261121";

pub struct TestPki {
    _dir: tempfile::TempDir,
    pub dir: PathBuf,
    pub tls: TlsFiles,
    pub generated: pki::GeneratedPki,
}

/// The full test PKI (JPKI + personas + TLS), generated once per test process.
pub fn test_pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_path_buf();
        let generated = pki::generate_jpki(&path, AS_OF).expect("JPKI");
        let tls = pki::tls::generate(&path, AS_OF).expect("TLS PKI");
        TestPki {
            _dir: dir,
            dir: path,
            tls,
            generated,
        }
    })
}

pub fn persona(id: &str) -> Persona {
    let pki = test_pki();
    Persona::load(pki.generated.persona_path(id).expect("persona id")).expect("persona")
}

/// The standard server configuration over the test PKI and the built-in fixtures.
pub fn server_config() -> ServerConfig {
    ServerConfig::load(&ServerFiles::from_pki_dir(&test_pki().dir)).expect("server config")
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub fn certs_from_pem(pem: &str) -> Vec<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM certificates")
}

pub fn key_from_pem(pem: &str) -> PrivateKeyDer<'static> {
    use rustls::pki_types::pem::PemObject;
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).expect("PEM key")
}

/// Client identity: certificate chain and key.
pub type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// The standard facility identity.
pub fn facility_identity() -> Identity {
    let tls = &test_pki().tls;
    (
        load_certificates(&tls.facility_certificate).expect("facility cert"),
        load_private_key(&tls.facility_private_key).expect("facility key"),
    )
}

/// A client configuration trusting the test server CA, with this identity (or none).
pub fn client_config(identity: Option<Identity>, alpn_h2: bool) -> Arc<rustls::ClientConfig> {
    client_config_with_roots(&test_pki().tls.server_ca_certificate, identity, alpn_h2)
}

pub fn client_config_with_roots(
    server_ca: &Path,
    identity: Option<Identity>,
    alpn_h2: bool,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in load_certificates(server_ca).expect("server CA") {
        roots.add(cert).expect("root");
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .expect("client cert"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = if alpn_h2 {
        vec![b"h2".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Arc::new(config)
}

/// An HTTP/1.1 keep-alive connection over mTLS. Like the desk, it logs in before its first
/// request to another path and sends the `idToken` on each request after that (unless made
/// with [`Connection::without_login`]).
pub struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    /// The `Authorization` value sent; `None` until logged in.
    pub token: Option<String>,
    auto_login: bool,
}

pub async fn tls_connect(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from("localhost")?;
    Ok(TlsConnector::from(config).connect(name, tcp).await?)
}

impl Connection {
    pub async fn open(
        addr: SocketAddr,
        config: Arc<rustls::ClientConfig>,
    ) -> Result<Connection, Error> {
        let tls = tls_connect(addr, config).await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Connection {
            sender,
            token: None,
            auto_login: true,
        })
    }

    /// This connection never logs in by itself (to see what a request without a token gets).
    pub fn without_login(mut self) -> Connection {
        self.auto_login = false;
        self
    }

    /// `POST path` (a login path) with `body`; on 200 keeps the `idToken` for the requests
    /// that follow and returns the whole answer.
    pub async fn login_at(
        &mut self,
        path: &str,
        body: &[u8],
    ) -> Result<(StatusCode, Value), Error> {
        let (status, _, bytes) = self
            .send(hyper::Method::POST, path, body.to_vec(), None)
            .await?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "login answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })?;
        if status == StatusCode::OK {
            if let Some(token) = value["result"]["idToken"].as_str() {
                self.token = Some(token.to_owned());
            }
        }
        Ok((status, value))
    }

    /// Logs in at the project's path with `{}`.
    pub async fn login(&mut self) -> Result<(StatusCode, Value), Error> {
        self.login_at(LOGIN_PATH, b"{}").await
    }

    /// With the standard facility certificate.
    pub async fn facility(addr: SocketAddr) -> Result<Connection, Error> {
        Connection::open(addr, client_config(Some(facility_identity()), false)).await
    }

    /// One request; logs in first when this connection has no token yet (a refused login is
    /// not an error here: the request then goes without a token and gets the server's answer).
    pub async fn request(
        &mut self,
        method: hyper::Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, hyper::HeaderMap, Vec<u8>), Error> {
        if self.auto_login && self.token.is_none() && path != LOGIN_PATH {
            let (status, _, bytes) = self
                .send(hyper::Method::POST, LOGIN_PATH, b"{}".to_vec(), None)
                .await?;
            if status == StatusCode::OK {
                let value: Value = serde_json::from_slice(&bytes)?;
                self.token = value["result"]["idToken"].as_str().map(str::to_owned);
            }
        }
        let token = self.token.clone();
        self.send(method, path, body, token.as_deref()).await
    }

    /// One request with this `Authorization` value (or none), nothing else added.
    pub async fn send(
        &mut self,
        method: hyper::Method,
        path: &str,
        body: Vec<u8>,
        authorization: Option<&str>,
    ) -> Result<(StatusCode, hyper::HeaderMap, Vec<u8>), Error> {
        self.sender.ready().await?;
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, "localhost")
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if let Some(token) = authorization {
            request = request.header(hyper::header::AUTHORIZATION, token);
        }
        let request = request.body(Full::new(Bytes::from(body)))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes().to_vec();
        Ok((status, headers, body))
    }

    pub async fn post(
        &mut self,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Vec<u8>), Error> {
        let (status, _, body) = self.request(hyper::Method::POST, path, body).await?;
        Ok((status, body))
    }

    /// POSTs JSON and parses the JSON answer.
    pub async fn post_json(
        &mut self,
        path: &str,
        body: &Value,
    ) -> Result<(StatusCode, Value), Error> {
        let (status, bytes) = self.post(path, serde_json::to_vec(body)?).await?;
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })?;
        Ok((status, value))
    }

    pub async fn confirm(&mut self, body: &Value) -> Result<(StatusCode, Value), Error> {
        self.post_json(CONFIRMATION_PATH, body).await
    }

    /// A fresh challenge: (id, bytes).
    pub async fn challenge(&mut self) -> Result<(String, Vec<u8>), Error> {
        let (status, value) = self.post_json(CHALLENGE_PATH, &json!({})).await?;
        if status != StatusCode::OK {
            return Err(format!("challenge: {status} {value}").into());
        }
        let response = &value["ChallengeResponse"];
        let id = response["ChallengeId"]
            .as_str()
            .ok_or("ChallengeId")?
            .to_string();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(response["Challenge"].as_str().ok_or("Challenge")?)?;
        Ok((id, bytes))
    }
}

pub fn header(file_id: &str) -> Value {
    json!({
        "QualificationConfirmationDate": AS_OF_TEXT,
        "MedicalInstitutionCode": "1312345678",
        "ArbitraryFileIdentifier": file_id,
    })
}

pub fn envelope(header: Value, search: Value) -> Value {
    json!({"XmlMsg": {"MessageHeader": header, "MessageBody": {"QualificationConfirmSearchInfo": search}}})
}

/// 個別照会; `None` leaves the element out.
pub fn numbers_search(
    insurer: &str,
    symbol: Option<&str>,
    number: &str,
    branch: Option<&str>,
    birthdate: &str,
) -> Value {
    let mut search = json!({
        "InsurerNumber": insurer,
        "InsuredIdentificationNumber": number,
        "Birthdate": birthdate,
        "LimitApplicationCertificateRelatedConsFlg": "1",
    });
    if let Some(symbol) = symbol {
        search["InsuredCardSymbol"] = json!(symbol);
    }
    if let Some(branch) = branch {
        search["InsuredBranchNumber"] = json!(branch);
    }
    search
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What the card does for the PIN method: PKCS#1 v1.5 signature over SHA-256(challenge).
pub fn card_sign(persona: &Persona, challenge: &[u8]) -> Vec<u8> {
    SigningKey::<Sha256>::new(persona.auth_private_key().clone())
        .sign(challenge)
        .to_vec()
}

/// Search by card, visual or face method (no challenge).
pub fn card_search(certificate: &[u8], method: &str) -> Value {
    json!({
        "ExtUserAuthCertificate": b64(certificate),
        "ExtIdentityConfirmationMethod": method,
        "LimitApplicationCertificateRelatedConsFlg": "1",
    })
}

/// Search by card, PIN method, with the challenge signed by the persona's key.
pub fn pin_search(persona: &Persona, challenge_id: &str, challenge: &[u8]) -> Value {
    json!({
        "ExtUserAuthCertificate": b64(persona.auth_certificate_der()),
        "ExtIdentityConfirmationMethod": "1",
        "ExtChallengeId": challenge_id,
        "ExtChallengeSignature": b64(&card_sign(persona, challenge)),
        "LimitApplicationCertificateRelatedConsFlg": "1",
    })
}
