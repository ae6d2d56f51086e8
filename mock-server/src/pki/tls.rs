//! The TLS test PKI of the mock online-qualification server.
//!
//! The real interface runs over mutual TLS: the facility presents a client certificate issued
//! to its 医療機関コード. Tests need both halves, and also the broken variants a client must
//! refuse (an expired server certificate, one from an unknown CA) or a server must refuse (a
//! client certificate from an unknown CA). Two separate CAs are made so that a server
//! certificate can never pass as a facility certificate and vice versa.
//!
//! Unlike the JPKI half ([`crate::pki`]), nothing here imitates a real DN layout, so `rcgen`
//! is used. Keys are ECDSA P-256 (fast to make, cheap handshakes); everything is PEM, keys
//! PKCS#8.
//!
//! TLS stacks check validity against the *wall clock*, not against the JST reference date the
//! JPKI personas are dated from, so [`Validity::around`] covers both "now" and `as_of`.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

use super::{create_dir, read, write, PkiError};
use onshi_files::Access::{Private, Shared};

/// The facility code (医療機関コード) of the standard facility client certificate.
pub const FACILITY_CODE: &str = "1312345678";

/// The organisation name in the standard facility certificate (fake).
pub const FACILITY_NAME: &str = "医療法人 模擬会 オンシ内科クリニック";

/// Names the server certificate is valid for: a loopback server reached by name or address.
pub const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A certificate validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// First instant of validity.
    pub not_before: OffsetDateTime,
    /// Last instant of validity.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// Valid from a day before the earlier of now and `as_of` until five years after the later
    /// of the two, so the certificate works both today and on the PKI's reference date.
    pub fn around(as_of: Date) -> Validity {
        let now = OffsetDateTime::now_utc();
        let as_of = PrimitiveDateTime::new(as_of, Time::MIDNIGHT).assume_utc();
        Validity {
            not_before: now.min(as_of) - Duration::days(1),
            not_after: now.max(as_of) + Duration::days(5 * 365),
        }
    }

    /// Expired yesterday (by the wall clock), after a year of validity.
    pub fn expired() -> Validity {
        let now = OffsetDateTime::now_utc();
        Validity {
            not_before: now - Duration::days(366),
            not_after: now - Duration::days(1),
        }
    }
}

/// A certificate with its private key, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCert {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// Its private key, PKCS#8 PEM.
    pub private_key_pem: String,
}

impl IssuedCert {
    /// Writes the certificate and the key to the two paths.
    pub fn write(&self, certificate: &Path, private_key: &Path) -> Result<(), PkiError> {
        write(certificate, &self.certificate_pem, Shared)?;
        write(private_key, &self.private_key_pem, Private)
    }
}

/// A TLS CA able to issue server and facility (client) certificates.
pub struct TlsCa {
    issuer: Issuer<'static, KeyPair>,
    certificate_pem: String,
}

impl std::fmt::Debug for TlsCa {
    // Hand-written so the private key never ends up in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsCa").finish_non_exhaustive()
    }
}

impl TlsCa {
    /// Makes a new self-signed CA with this common name.
    pub fn generate(common_name: &str, validity: Validity) -> Result<TlsCa, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CountryName, "JP");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "onshi-desk test PKI");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let key = KeyPair::generate()?;
        let certificate = params.self_signed(&key)?;
        Ok(TlsCa {
            certificate_pem: certificate.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads a CA written by [`generate`] (`server-ca.pem` + `server-ca-key.pem`, or the
    /// client pair), so tests can issue more certificates under it.
    pub fn load(certificate: &Path, private_key: &Path) -> Result<TlsCa, PkiError> {
        let certificate_pem = read(certificate)?;
        let key = KeyPair::from_pem(&read(private_key)?)?;
        let issuer = Issuer::from_ca_cert_pem(&certificate_pem, key)?;
        Ok(TlsCa {
            issuer,
            certificate_pem,
        })
    }

    /// The CA certificate, PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The CA key, PKCS#8 PEM.
    pub fn private_key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// A server certificate for [`SERVER_NAMES`] (serverAuth).
    pub fn issue_server(&self, validity: Validity) -> Result<IssuedCert, PkiError> {
        let mut params = CertificateParams::new(
            SERVER_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, validity)
    }

    /// A facility client certificate: `CN` = the facility code, `O` = the facility's name
    /// (clientAuth).
    pub fn issue_client(
        &self,
        facility_code: &str,
        organization: &str,
        validity: Validity,
    ) -> Result<IssuedCert, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CountryName, "JP");
        params.distinguished_name.push(
            DnType::OrganizationName,
            DnValue::Utf8String(organization.to_string()),
        );
        params
            .distinguished_name
            .push(DnType::CommonName, facility_code);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, validity)
    }

    fn issue(
        &self,
        mut params: CertificateParams,
        validity: Validity,
    ) -> Result<IssuedCert, PkiError> {
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        let key = KeyPair::generate()?;
        let certificate = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCert {
            certificate_pem: certificate.pem(),
            private_key_pem: key.serialize_pem(),
        })
    }
}

/// Common name of the standard server CA.
pub const SERVER_CA_NAME: &str = "onshi-mock server CA (TEST)";
/// Common name of the standard facility client CA.
pub const CLIENT_CA_NAME: &str = "onshi-mock facility client CA (TEST)";

/// The files of the TLS half of a test PKI directory (`DIR/tls/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// `tls/server-ca.pem`: what clients trust.
    pub server_ca_certificate: PathBuf,
    /// `tls/server-ca-key.pem`.
    pub server_ca_private_key: PathBuf,
    /// `tls/server.pem`: the mock server's certificate.
    pub server_certificate: PathBuf,
    /// `tls/server-key.pem`.
    pub server_private_key: PathBuf,
    /// `tls/client-ca.pem`: what the server requires facility certificates to chain to.
    pub client_ca_certificate: PathBuf,
    /// `tls/client-ca-key.pem`.
    pub client_ca_private_key: PathBuf,
    /// `tls/facility.pem`: the facility's client certificate (CN = [`FACILITY_CODE`]).
    pub facility_certificate: PathBuf,
    /// `tls/facility-key.pem`.
    pub facility_private_key: PathBuf,
}

impl TlsFiles {
    /// The paths under a PKI directory, whether or not they exist yet.
    pub fn in_dir(dir: &Path) -> TlsFiles {
        let tls = dir.join("tls");
        TlsFiles {
            server_ca_certificate: tls.join("server-ca.pem"),
            server_ca_private_key: tls.join("server-ca-key.pem"),
            server_certificate: tls.join("server.pem"),
            server_private_key: tls.join("server-key.pem"),
            client_ca_certificate: tls.join("client-ca.pem"),
            client_ca_private_key: tls.join("client-ca-key.pem"),
            facility_certificate: tls.join("facility.pem"),
            facility_private_key: tls.join("facility-key.pem"),
        }
    }

    /// Loads the server CA back.
    pub fn load_server_ca(&self) -> Result<TlsCa, PkiError> {
        TlsCa::load(&self.server_ca_certificate, &self.server_ca_private_key)
    }

    /// Loads the facility client CA back.
    pub fn load_client_ca(&self) -> Result<TlsCa, PkiError> {
        TlsCa::load(&self.client_ca_certificate, &self.client_ca_private_key)
    }
}

/// Writes the TLS PKI under `dir/tls/`: the server CA and the server certificate, the client
/// CA and the facility certificate, valid around `as_of` (see [`Validity::around`]).
///
/// Existing files are overwritten. Takes milliseconds (P-256 keys).
pub fn generate(dir: &Path, as_of: Date) -> Result<TlsFiles, PkiError> {
    let files = TlsFiles::in_dir(dir);
    let tls_dir = dir.join("tls");
    create_dir(&tls_dir)?;
    let validity = Validity::around(as_of);
    let server_ca = TlsCa::generate(SERVER_CA_NAME, validity)?;
    let client_ca = TlsCa::generate(CLIENT_CA_NAME, validity)?;
    write(
        &files.server_ca_certificate,
        server_ca.certificate_pem(),
        Shared,
    )?;
    write(
        &files.server_ca_private_key,
        &server_ca.private_key_pem(),
        Private,
    )?;
    write(
        &files.client_ca_certificate,
        client_ca.certificate_pem(),
        Shared,
    )?;
    write(
        &files.client_ca_private_key,
        &client_ca.private_key_pem(),
        Private,
    )?;
    server_ca
        .issue_server(validity)?
        .write(&files.server_certificate, &files.server_private_key)?;
    client_ca
        .issue_client(FACILITY_CODE, FACILITY_NAME, validity)?
        .write(&files.facility_certificate, &files.facility_private_key)?;
    Ok(files)
}

/// A server certificate under `ca` that expired yesterday (wall clock): clients must refuse it.
pub fn expired_server_cert(ca: &TlsCa) -> Result<IssuedCert, PkiError> {
    ca.issue_server(Validity::expired())
}

/// A fresh CA nobody trusts and a server certificate under it: clients must refuse it.
pub fn foreign_server_cert(as_of: Date) -> Result<(TlsCa, IssuedCert), PkiError> {
    let validity = Validity::around(as_of);
    let ca = TlsCa::generate("Some other server CA (TEST)", validity)?;
    let cert = ca.issue_server(validity)?;
    Ok((ca, cert))
}

/// A fresh CA the server does not trust and a facility certificate under it (same CN and O as
/// the standard one): the server must refuse the handshake.
pub fn foreign_client_cert(as_of: Date) -> Result<(TlsCa, IssuedCert), PkiError> {
    let validity = Validity::around(as_of);
    let ca = TlsCa::generate("Some other client CA (TEST)", validity)?;
    let cert = ca.issue_client(FACILITY_CODE, FACILITY_NAME, validity)?;
    Ok((ca, cert))
}
