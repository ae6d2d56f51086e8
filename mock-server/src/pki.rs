//! The project's own fake JPKI (公的個人認証サービス) test PKI.
//!
//! Real JPKI certificates can only come from real cards, so tests need a PKI that looks like
//! the real one in every way the software depends on: the issuer DN with its two `OU`
//! attributes in the real order, small 4-byte serial numbers (one with the top bit set),
//! `notAfter` at 23:59:59 JST, RSA-2048 with sha256WithRSAEncryption, and certificates of
//! the sizes a reader must cope with. Everything here is fake: the URIs end in `.invalid`.
//!
//! Certificates are built field by field with RustCrypto's `x509-cert` types rather than
//! `rcgen`, because `rcgen`'s `DistinguishedName` keeps one value per attribute type and so
//! cannot express the CA's two `OU`s.

use std::path::{Path, PathBuf};

use rand::{CryptoRng, RngCore};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::der::asn1::{
    Any, BitString, GeneralizedTime, Ia5String, OctetString, PrintableString, SetOfVec, UtcTime,
};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::certpolicy::{PolicyInformation, PolicyQualifierInfo};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName, OtherName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::time::Validity;
use x509_cert::{Certificate, TbsCertificate, Version};

use crate::persona::{
    data_to_toml, BasicInfo, Persona, PersonaData, PersonaError, PersonaPem, AUTH_PIN_MAX_RETRIES,
    CARD_INFO_PIN_MAX_RETRIES, SIGNING_PASSWORD_MAX_RETRIES,
};

const OID_SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
const OID_LOCALITY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.7");
const OID_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_ORG_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_QT_CPS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.2.1");
const OID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
/// Certificate policy of user-auth certificates; mirrors the real JPKI arc (test use only).
const OID_POLICY_USER_AUTH: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.3.30");
/// Certificate policy of signing certificates; mirrors the real JPKI arc (test use only).
const OID_POLICY_SIGNATURE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.1.10");
/// otherName type for the holder's name in the signing certificate's subjectAltName.
/// Placeholder in the JPKI arc **(unconfirmed)**: nothing in this project reads it.
const OID_SAN_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.1");

/// The `OU` that names the agency running JPKI (地方公共団体情報システム機構, J-LIS).
pub const JLIS_OU: &str = "Japan Agency for Local Authority Information Systems";

/// Size of the RSA keys on the card and of the CAs: the card signs 256-byte blocks.
pub const RSA_BITS: usize = 2048;

/// The JST offset; JPKI dates are JST calendar dates.
const JST: UtcOffset = time::macros::offset!(+9);

/// Errors of the test PKI.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// RSA key generation or signing failed.
    #[error("RSA: {0}")]
    Rsa(#[from] rsa::Error),
    /// A key could not be encoded or decoded as PKCS#8.
    #[error("PKCS#8: {0}")]
    Pkcs8(#[from] rsa::pkcs8::Error),
    /// A public key could not be encoded as SubjectPublicKeyInfo.
    #[error("SubjectPublicKeyInfo: {0}")]
    Spki(#[from] rsa::pkcs8::spki::Error),
    /// PEM armour could not be read or written.
    #[error("PEM: {0}")]
    Pem(x509_cert::der::pem::Error),
    /// ASN.1 DER encoding or decoding failed.
    #[error("DER: {0}")]
    Der(#[from] x509_cert::der::Error),
    /// Signing the certificate failed.
    #[error("signature: {0}")]
    Signature(#[from] rsa::signature::Error),
    /// A date fell outside what the calendar or X.509 time types can hold.
    #[error("date out of range: {0}")]
    Date(String),
    /// The requested certificate size cannot be reached.
    #[error("cannot build a {target}-byte certificate: the smallest possible is {minimum} bytes")]
    TargetSize {
        /// The size asked for.
        target: usize,
        /// The unpadded size of the certificate.
        minimum: usize,
    },
    /// A key-generation thread died.
    #[error("RSA key generation thread failed")]
    KeyGeneration,
    /// A persona made from the issued material did not validate.
    #[error(transparent)]
    Persona(#[from] PersonaError),
    /// `rcgen` could not make or load a TLS certificate or key.
    #[error("TLS certificate: {0}")]
    Tls(#[from] rcgen::Error),
}

// Hand-written because the PEM error type does not implement `std::error::Error`, which
// `#[from]` would need for `source()`.
impl From<x509_cert::der::pem::Error> for PkiError {
    fn from(e: x509_cert::der::pem::Error) -> PkiError {
        PkiError::Pem(e)
    }
}

/// Which of the two JPKI CAs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaKind {
    /// 利用者証明用電子証明書 CA.
    UserAuthentication,
    /// 署名用電子証明書 CA.
    DigitalSignature,
}

impl CaKind {
    /// The third RDN of the CA's DN.
    pub fn unit(self) -> &'static str {
        match self {
            CaKind::UserAuthentication => "JPKI for user authentication",
            CaKind::DigitalSignature => "JPKI for digital signature",
        }
    }

    fn file_stem(self) -> &'static str {
        match self {
            CaKind::UserAuthentication => "auth-ca",
            CaKind::DigitalSignature => "sign-ca",
        }
    }
}

/// The issuer DN of JPKI certificates, in DER RDN order:
/// `C=JP`, `O=JPKI`, `OU=<kind>`, `OU=Japan Agency for Local Authority Information Systems`.
pub fn jpki_ca_name(kind: CaKind) -> Result<Name, PkiError> {
    Ok(RdnSequence(vec![
        printable_rdn(OID_COUNTRY, "JP")?,
        printable_rdn(OID_ORGANIZATION, "JPKI")?,
        printable_rdn(OID_ORG_UNIT, kind.unit())?,
        printable_rdn(OID_ORG_UNIT, JLIS_OU)?,
    ]))
}

fn printable_rdn(
    oid: ObjectIdentifier,
    value: &str,
) -> Result<RelativeDistinguishedName, PkiError> {
    let value = Any::encode_from(&PrintableString::new(value)?)?;
    rdn(oid, value)
}

fn rdn(oid: ObjectIdentifier, value: Any) -> Result<RelativeDistinguishedName, PkiError> {
    let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }])?;
    Ok(RelativeDistinguishedName(set))
}

/// A CA that can issue certificates: its key, name and certificate.
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    kind: CaKind,
    name: Name,
    key: RsaPrivateKey,
    key_id: Vec<u8>,
    certificate: Vec<u8>,
}

impl CertificateAuthority {
    /// Makes a new self-signed JPKI-style CA valid from ten years before `as_of` to ten
    /// years after it (long enough that no test date falls outside).
    pub fn generate<R: CryptoRng + RngCore>(
        kind: CaKind,
        as_of: Date,
        rng: &mut R,
    ) -> Result<CertificateAuthority, PkiError> {
        let key = RsaPrivateKey::new(rng, RSA_BITS)?;
        CertificateAuthority::from_key(kind, as_of, key)
    }

    /// Like [`CertificateAuthority::generate`] with a key made beforehand.
    pub fn from_key(
        kind: CaKind,
        as_of: Date,
        key: RsaPrivateKey,
    ) -> Result<CertificateAuthority, PkiError> {
        let name = jpki_ca_name(kind)?;
        let spki = spki_of(&key.to_public_key())?;
        let key_id = key_identifier(&spki);
        let not_before = at_utc(add_months(as_of, -120)?, Time::MIDNIGHT);
        let not_after = jst_end_of_day(add_months(as_of, 120)?)?;
        let serial = match kind {
            CaKind::UserAuthentication => 1,
            CaKind::DigitalSignature => 2,
        };
        let extensions = vec![
            extension(
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
                true,
            )?,
            extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign), true)?,
            extension(
                &SubjectKeyIdentifier(OctetString::new(key_id.clone())?),
                false,
            )?,
        ];
        let tbs = tbs(
            serial,
            name.clone(),
            name.clone(),
            not_before,
            not_after,
            spki,
            extensions,
        )?;
        let certificate = sign_tbs(tbs, &key)?;
        Ok(CertificateAuthority {
            kind,
            name,
            key,
            key_id,
            certificate,
        })
    }

    /// Loads a CA written by [`generate_jpki`] (`auth-ca.pem` + `auth-ca-key.pem`), so tests
    /// can issue odd certificates under the same CA as the standard personas.
    pub fn load(
        kind: CaKind,
        cert_pem: &Path,
        key_pem: &Path,
    ) -> Result<CertificateAuthority, PkiError> {
        let cert_text = read(cert_pem)?;
        let (_, certificate) = x509_cert::der::pem::decode_vec(cert_text.as_bytes())?;
        let parsed = Certificate::from_der(&certificate)?;
        let key = RsaPrivateKey::from_pkcs8_pem(&read(key_pem)?)?;
        let key_id = key_identifier(&parsed.tbs_certificate.subject_public_key_info);
        Ok(CertificateAuthority {
            kind,
            name: parsed.tbs_certificate.subject,
            key,
            key_id,
            certificate,
        })
    }

    /// Which CA this is.
    pub fn kind(&self) -> CaKind {
        self.kind
    }

    /// The CA's DN (issuer of what it signs).
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The CA certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    /// The CA certificate, PEM.
    pub fn certificate_pem(&self) -> Result<String, PkiError> {
        cert_pem(&self.certificate)
    }

    /// The CA key, PKCS#8 PEM.
    pub fn private_key_pem(&self) -> Result<String, PkiError> {
        Ok(self.key.to_pkcs8_pem(LineEnding::LF)?.to_string())
    }

    /// The CA key.
    pub fn private_key(&self) -> &RsaPrivateKey {
        &self.key
    }
}

/// How much a leaf certificate carries beyond the mandatory fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertShape {
    /// Only key usage: the smallest certificate a JPKI-style issuer would make.
    Minimal,
    /// Key usage, certificate policy with CPS URI, CRL distribution point, OCSP access,
    /// authority and subject key ids (about 1.1 KB for a user-auth certificate).
    Standard,
    /// [`CertShape::Standard`] padded to exactly this many DER bytes by lengthening the CPS
    /// URI (or as close below as DER length octets allow).
    PaddedTo(usize),
}

/// Parameters of a user-auth certificate (利用者証明用電子証明書).
#[derive(Debug, Clone)]
pub struct UserAuthCertParams {
    /// Serial number; real ones are small 4-byte positive integers.
    pub serial: u64,
    /// The subject `CN`: an opaque alphanumeric id, never a name.
    pub subject_id: String,
    /// Issuance instant.
    pub not_before: OffsetDateTime,
    /// Expiry instant; JPKI uses 14:59:59Z (see [`jst_end_of_day`]).
    pub not_after: OffsetDateTime,
    /// Extensions and size.
    pub shape: CertShape,
}

/// Parameters of a signing certificate (署名用電子証明書).
#[derive(Debug, Clone)]
pub struct SigningCertParams {
    /// Serial number.
    pub serial: u64,
    /// The subject `CN` (opaque id).
    pub subject_id: String,
    /// The holder's name, carried in subjectAltName like the real certificate's 基本4情報.
    pub holder_name: String,
    /// Issuance instant.
    pub not_before: OffsetDateTime,
    /// Expiry instant.
    pub not_after: OffsetDateTime,
}

/// Issues a user-auth certificate for `subject_key` under `ca`; returns the DER.
///
/// Subject is `C=JP, CN=<subject_id>` in that DER order, as on the real card.
pub fn issue_user_auth_cert(
    ca: &CertificateAuthority,
    subject_key: &RsaPublicKey,
    params: &UserAuthCertParams,
) -> Result<Vec<u8>, PkiError> {
    let subject = RdnSequence(vec![
        printable_rdn(OID_COUNTRY, "JP")?,
        printable_rdn(OID_COMMON_NAME, &params.subject_id)?,
    ]);
    let spki = spki_of(subject_key)?;
    let build = |cps_padding: usize| -> Result<TbsCertificate, PkiError> {
        let extensions = match params.shape {
            CertShape::Minimal => vec![extension(
                &KeyUsage(KeyUsages::DigitalSignature.into()),
                true,
            )?],
            CertShape::Standard | CertShape::PaddedTo(_) => {
                leaf_extensions(ca, &spki, CaKind::UserAuthentication, cps_padding)?
            }
        };
        tbs(
            params.serial,
            ca.name.clone(),
            subject.clone(),
            params.not_before,
            params.not_after,
            spki.clone(),
            extensions,
        )
    };
    let tbs = match params.shape {
        CertShape::PaddedTo(target) => pad_to(target, build)?,
        _ => build(0)?,
    };
    sign_tbs(tbs, &ca.key)
}

/// Issues a signing certificate for `subject_key` under `ca`; returns the DER.
pub fn issue_signing_cert(
    ca: &CertificateAuthority,
    subject_key: &RsaPublicKey,
    params: &SigningCertParams,
) -> Result<Vec<u8>, PkiError> {
    let subject = RdnSequence(vec![
        printable_rdn(OID_COUNTRY, "JP")?,
        printable_rdn(OID_LOCALITY, "Tokyo-to")?,
        printable_rdn(OID_COMMON_NAME, &params.subject_id)?,
    ]);
    let spki = spki_of(subject_key)?;
    let mut extensions = leaf_extensions(ca, &spki, CaKind::DigitalSignature, 0)?;
    let holder = OtherName {
        type_id: OID_SAN_NAME,
        value: Any::encode_from(&params.holder_name)?,
    };
    extensions.push(extension(
        &SubjectAltName(vec![GeneralName::OtherName(holder)]),
        false,
    )?);
    let tbs = tbs(
        params.serial,
        ca.name.clone(),
        subject,
        params.not_before,
        params.not_after,
        spki,
        extensions,
    )?;
    sign_tbs(tbs, &ca.key)
}

/// Finds the CPS padding that makes the certificate exactly `target` bytes.
///
/// The certificate size grows by one byte per padding byte except where a DER length crosses
/// 128 or 256 and gains an octet, so a few corrections converge; if a boundary makes the
/// exact size impossible the largest size below it is used.
fn pad_to(
    target: usize,
    build: impl Fn(usize) -> Result<TbsCertificate, PkiError>,
) -> Result<TbsCertificate, PkiError> {
    let minimum = certificate_len(&build(0)?)?;
    if minimum > target {
        return Err(PkiError::TargetSize { target, minimum });
    }
    let mut padding = target - minimum;
    let mut best = (minimum, 0usize);
    for _ in 0..16 {
        let size = certificate_len(&build(padding)?)?;
        if size == target {
            return build(padding);
        }
        if size < target && size > best.0 {
            best = (size, padding);
        }
        padding = if size > target {
            padding.saturating_sub(size - target)
        } else {
            padding + (target - size)
        };
    }
    build(best.1)
}

/// The DER length of the certificate a TBS would give (signature size is fixed for RSA-2048).
fn certificate_len(tbs: &TbsCertificate) -> Result<usize, PkiError> {
    let cert = Certificate {
        tbs_certificate: tbs.clone(),
        signature_algorithm: sha256_with_rsa(),
        signature: BitString::from_bytes(&[0u8; RSA_BITS / 8])?,
    };
    Ok(usize::try_from(cert.encoded_len()?)?)
}

fn leaf_extensions(
    ca: &CertificateAuthority,
    spki: &SubjectPublicKeyInfoOwned,
    kind: CaKind,
    cps_padding: usize,
) -> Result<Vec<Extension>, PkiError> {
    let (usage, policy, path) = match kind {
        CaKind::UserAuthentication => (
            KeyUsage(KeyUsages::DigitalSignature.into()),
            OID_POLICY_USER_AUTH,
            "auth",
        ),
        CaKind::DigitalSignature => (
            KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
            OID_POLICY_SIGNATURE,
            "sign",
        ),
    };
    let mut cps = format!("http://www.jpki.invalid/cps/{path}/cps.html");
    if cps_padding > 0 {
        cps.push_str("?pad=");
        cps.extend(
            "0123456789abcdefghijklmnopqrstuvwxyz"
                .chars()
                .cycle()
                .take(cps_padding),
        );
    }
    let policies = CertificatePolicies(vec![PolicyInformation {
        policy_identifier: policy,
        policy_qualifiers: Some(vec![PolicyQualifierInfo {
            policy_qualifier_id: OID_QT_CPS,
            qualifier: Some(Any::encode_from(&Ia5String::new(&cps)?)?),
        }]),
    }]);
    let crl = CrlDistributionPoints(vec![uri_distribution_point(&format!(
        "http://crl.jpki.invalid/{path}/crl/jpki-{path}-ca.crl"
    ))?]);
    let aia = AuthorityInfoAccessSyntax(vec![AccessDescription {
        access_method: OID_AD_OCSP,
        access_location: GeneralName::UniformResourceIdentifier(Ia5String::new(&format!(
            "http://ocsp.jpki.invalid/{path}"
        ))?),
    }]);
    Ok(vec![
        extension(&usage, true)?,
        extension(&policies, true)?,
        extension(&crl, false)?,
        extension(&aia, false)?,
        extension(
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(ca.key_id.clone())?),
                ..Default::default()
            },
            false,
        )?,
        extension(
            &SubjectKeyIdentifier(OctetString::new(key_identifier(spki))?),
            false,
        )?,
    ])
}

fn uri_distribution_point(uri: &str) -> Result<DistributionPoint, PkiError> {
    Ok(DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![
            GeneralName::UniformResourceIdentifier(Ia5String::new(uri)?),
        ])),
        reasons: None,
        crl_issuer: None,
    })
}

fn extension<T>(value: &T, critical: bool) -> Result<Extension, PkiError>
where
    T: Encode + x509_cert::der::oid::AssociatedOid,
{
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn sha256_with_rsa() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: OID_SHA256_WITH_RSA,
        parameters: Some(Any::null()),
    }
}

fn spki_of(key: &RsaPublicKey) -> Result<SubjectPublicKeyInfoOwned, PkiError> {
    let der = key.to_public_key_der()?;
    Ok(SubjectPublicKeyInfoOwned::from_der(der.as_bytes())?)
}

/// Key identifier: the first 20 bytes of SHA-256 over the public key bits (RFC 7093 §2 (1)),
/// so that AKI/SKI chains match without pulling SHA-1 in.
fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    let digest = Sha256::digest(spki.subject_public_key.raw_bytes());
    digest[..20].to_vec()
}

fn x509_time(t: OffsetDateTime) -> Result<x509_cert::time::Time, PkiError> {
    let t = t.to_offset(UtcOffset::UTC);
    let year = u16::try_from(t.year()).map_err(|_| PkiError::Date(t.to_string()))?;
    let dt = x509_cert::der::DateTime::new(
        year,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )?;
    // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
    if year < 2050 {
        Ok(x509_cert::time::Time::UtcTime(UtcTime::from_date_time(dt)?))
    } else {
        Ok(x509_cert::time::Time::GeneralTime(
            GeneralizedTime::from_date_time(dt),
        ))
    }
}

#[allow(clippy::too_many_arguments)]
fn tbs(
    serial: u64,
    issuer: Name,
    subject: Name,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    spki: SubjectPublicKeyInfoOwned,
    extensions: Vec<Extension>,
) -> Result<TbsCertificate, PkiError> {
    let serial_bytes = serial.to_be_bytes();
    let first = serial_bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(serial_bytes.len() - 1);
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial_bytes[first..])?,
        signature: sha256_with_rsa(),
        issuer,
        validity: Validity {
            not_before: x509_time(not_before)?,
            not_after: x509_time(not_after)?,
        },
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: if extensions.is_empty() {
            None
        } else {
            Some(extensions)
        },
    })
}

fn sign_tbs(tbs: TbsCertificate, key: &RsaPrivateKey) -> Result<Vec<u8>, PkiError> {
    let tbs_der = tbs.to_der()?;
    let signer = SigningKey::<Sha256>::new(key.clone());
    let signature = signer.try_sign(&tbs_der)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: sha256_with_rsa(),
        signature: BitString::from_bytes(&signature.to_bytes())?,
    };
    Ok(cert.to_der()?)
}

fn cert_pem(der: &[u8]) -> Result<String, PkiError> {
    Ok(x509_cert::der::pem::encode_string(
        "CERTIFICATE",
        LineEnding::LF,
        der,
    )?)
}

/// Largest PEM or persona file the mock reads: real ones are a few kilobytes.
pub(crate) const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Reads a file bounded and only if it is a regular file ([`onshi_files::read_limited`]), as
/// an I/O error without the path (the caller's error names it): a path naming `/dev/zero` or a
/// FIFO is refused at once instead of exhausting memory or waiting forever.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    onshi_files::read_limited(path, limit).map_err(onshi_files::ReadError::into_io_error)
}

/// [`read_bounded`] as UTF-8 text.
pub(crate) fn read_bounded_text(path: &Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read_bounded(path, limit)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn read(path: &Path) -> Result<String, PkiError> {
    read_bounded_text(path, MAX_PEM_BYTES).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a PKI file atomically: private keys and personas (which hold the card's keys)
/// [`Access::Private`](onshi_files::Access::Private), certificates
/// [`Access::Shared`](onshi_files::Access::Shared). Even test keys stay owner-only: a demo
/// installation's keys are what its desk trusts.
fn write(path: &Path, contents: &str, access: onshi_files::Access) -> Result<(), PkiError> {
    onshi_files::write_atomic(path, contents.as_bytes(), access).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A folder for PKI files: made owner-only when new (it holds private keys).
fn create_dir(dir: &Path) -> Result<(), PkiError> {
    onshi_files::create_private_dir_all(dir).map_err(|source| PkiError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// 23:59:59 JST on the JST calendar date `date` (= 14:59:59Z), JPKI's expiry instant.
pub fn jst_end_of_day(date: Date) -> Result<OffsetDateTime, PkiError> {
    Ok(PrimitiveDateTime::new(date, time::macros::time!(23:59:59))
        .assume_offset(JST)
        .to_offset(UtcOffset::UTC))
}

fn at_utc(date: Date, time: Time) -> OffsetDateTime {
    PrimitiveDateTime::new(date, time).assume_utc()
}

/// Adds calendar months, clamping the day to the month's end (Jan 31 + 1 month = Feb 28/29).
pub fn add_months(date: Date, months: i32) -> Result<Date, PkiError> {
    let index = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + months;
    let year = index.div_euclid(12);
    let month_number = u8::try_from(index.rem_euclid(12) + 1)
        .map_err(|_| PkiError::Date(format!("{date} + {months} months")))?;
    let month =
        Month::try_from(month_number).map_err(|e| PkiError::Date(format!("{date}: {e}")))?;
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day)
        .map_err(|e| PkiError::Date(format!("{date} + {months} months: {e}")))
}

fn add_days(date: Date, days: i64) -> Result<Date, PkiError> {
    date.checked_add(Duration::days(days))
        .ok_or_else(|| PkiError::Date(format!("{date} + {days} days")))
}

/// Everything needed to issue one persona.
#[derive(Debug, Clone)]
pub struct PersonaSpec {
    /// Persona id and file stem.
    pub id: String,
    /// What the persona is for.
    pub description: String,
    /// User-auth PIN, `None` for a face-auth card.
    pub pin: Option<String>,
    /// Tries left on the user-auth PIN.
    pub pin_retries: u8,
    /// Signing password.
    pub signing_password: String,
    /// Tries left on the signing password.
    pub signing_password_retries: u8,
    /// Tries left on the card-info AP PIN.
    pub card_info_pin_retries: u8,
    /// 基本4情報.
    pub basic: BasicInfo,
    /// The user-auth certificate; its validity is reused for the signing certificate.
    pub auth: UserAuthCertParams,
    /// Serial of the signing certificate.
    pub sign_serial: u64,
    /// Subject id of the signing certificate.
    pub sign_subject_id: String,
}

/// Generates both key pairs of a persona, issues its certificates and returns the data of its
/// persona file (validated).
pub fn issue_persona<R: CryptoRng + RngCore>(
    auth_ca: &CertificateAuthority,
    sign_ca: &CertificateAuthority,
    spec: &PersonaSpec,
    rng: &mut R,
) -> Result<PersonaData, PkiError> {
    let auth_key = RsaPrivateKey::new(rng, RSA_BITS)?;
    let sign_key = RsaPrivateKey::new(rng, RSA_BITS)?;
    issue_persona_with_keys(auth_ca, sign_ca, spec, auth_key, sign_key)
}

/// Like [`issue_persona`] with keys made beforehand (see [`generate_keys`]).
pub fn issue_persona_with_keys(
    auth_ca: &CertificateAuthority,
    sign_ca: &CertificateAuthority,
    spec: &PersonaSpec,
    auth_key: RsaPrivateKey,
    sign_key: RsaPrivateKey,
) -> Result<PersonaData, PkiError> {
    let auth_cert = issue_user_auth_cert(auth_ca, &auth_key.to_public_key(), &spec.auth)?;
    let sign_cert = issue_signing_cert(
        sign_ca,
        &sign_key.to_public_key(),
        &SigningCertParams {
            serial: spec.sign_serial,
            subject_id: spec.sign_subject_id.clone(),
            holder_name: spec.basic.name.clone(),
            not_before: spec.auth.not_before,
            not_after: spec.auth.not_after,
        },
    )?;
    let data = PersonaData {
        id: spec.id.clone(),
        description: spec.description.clone(),
        pin: spec.pin.clone(),
        pin_retries: spec.pin_retries,
        signing_password: spec.signing_password.clone(),
        signing_password_retries: spec.signing_password_retries,
        card_info_pin_retries: spec.card_info_pin_retries,
        basic: spec.basic.clone(),
        pem: PersonaPem {
            auth_certificate: cert_pem(&auth_cert)?,
            auth_private_key: auth_key.to_pkcs8_pem(LineEnding::LF)?.to_string(),
            auth_ca_certificate: auth_ca.certificate_pem()?,
            sign_certificate: cert_pem(&sign_cert)?,
            sign_private_key: sign_key.to_pkcs8_pem(LineEnding::LF)?.to_string(),
            sign_ca_certificate: sign_ca.certificate_pem()?,
        },
    };
    // Validate now so that a generator bug surfaces here rather than in a card test.
    Persona::from_data(data.clone())?;
    Ok(data)
}

/// Serial of the `valid` persona's user-auth certificate (a realistic 4-byte serial).
pub const VALID_SERIAL: u64 = 0x0705_D990;
/// Serial of the `top-bit-serial` persona: DER encodes it as `00 85 AB CD EF`.
pub const TOP_BIT_SERIAL: u64 = 0x85AB_CDEF;
/// DER size of the `valid` persona's user-auth certificate.
pub const VALID_CERT_SIZE: usize = 1200;
/// DER size of the `large-cert` persona's user-auth certificate (between 1900 and 2048).
pub const LARGE_CERT_SIZE: usize = 2000;

/// The standard persona set, all dates relative to `as_of` (a JST calendar date).
///
/// Subject ids are random so that two generated PKIs never share a certificate by accident.
pub fn standard_persona_specs<R: RngCore>(
    as_of: Date,
    rng: &mut R,
) -> Result<Vec<PersonaSpec>, PkiError> {
    struct Row {
        id: &'static str,
        description: &'static str,
        serial: u64,
        expiry: Expiry,
        shape: CertShape,
        pin: Option<&'static str>,
        pin_retries: u8,
        password: &'static str,
        name: &'static str,
        address: &'static str,
        birth_date: &'static str,
        sex: &'static str,
    }
    enum Expiry {
        Months(i32),
        Days(i64),
    }
    let rows = [
        Row {
            id: "valid",
            description: "有効な利用者証明用電子証明書 (あと3年)",
            serial: VALID_SERIAL,
            expiry: Expiry::Months(36),
            shape: CertShape::PaddedTo(VALID_CERT_SIZE),
            pin: Some("1234"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "ABC123",
            name: "山田 花子",
            address: "東京都千代田区霞が関1-2-2",
            birth_date: "19800401",
            sex: "2",
        },
        Row {
            id: "expiring-soon",
            description: "有効期限まで45日 (更新の案内が必要)",
            serial: 0x0705_D991,
            expiry: Expiry::Days(45),
            shape: CertShape::Standard,
            pin: Some("2345"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "KOUSHIN45",
            name: "佐藤 太郎",
            address: "大阪府大阪市北区中之島1-3-20",
            birth_date: "19550615",
            sex: "1",
        },
        Row {
            id: "expired-grace",
            description: "20日前に期限切れ (猶予期間内: 資格確認のみ可)",
            serial: 0x0705_D992,
            expiry: Expiry::Days(-20),
            shape: CertShape::Standard,
            pin: Some("3456"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "GRACE2026",
            name: "鈴木 一郎",
            address: "愛知県名古屋市中区三の丸3-1-1",
            birth_date: "19620210",
            sex: "1",
        },
        Row {
            id: "expired",
            description: "8か月前に期限切れ (猶予期間も経過)",
            serial: 0x0705_D993,
            expiry: Expiry::Months(-8),
            shape: CertShape::Standard,
            pin: Some("4567"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "EXPIRED8",
            name: "高橋 美咲",
            address: "北海道札幌市中央区北3条西6丁目",
            birth_date: "19901122",
            sex: "2",
        },
        Row {
            id: "top-bit-serial",
            description: "シリアル番号の最上位ビットが1 (DERで先頭に00)",
            serial: TOP_BIT_SERIAL,
            expiry: Expiry::Months(36),
            shape: CertShape::Standard,
            pin: Some("5678"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "SERIAL85",
            name: "田中 健太",
            address: "福岡県福岡市博多区東公園7-7",
            // 77 years old: the fixtures make this card a 後期高齢者 (75+).
            birth_date: "19490303",
            sex: "1",
        },
        Row {
            id: "small-cert",
            description: "拡張の少ない小さな証明書",
            serial: 0x0705_D994,
            expiry: Expiry::Months(30),
            shape: CertShape::Minimal,
            pin: Some("6789"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "SMALL1",
            name: "伊藤 さくら",
            address: "宮城県仙台市青葉区本町3-8-1",
            birth_date: "20150505",
            sex: "2",
        },
        Row {
            id: "large-cert",
            description: "2048バイト近い大きな証明書 (読み出し8回)",
            serial: 0x0705_D995,
            expiry: Expiry::Months(40),
            shape: CertShape::PaddedTo(LARGE_CERT_SIZE),
            pin: Some("7890"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "LARGE2048",
            name: "渡辺 ●介",
            address: "広島県広島市中区基町10-52",
            birth_date: "19480808",
            sex: "1",
        },
        Row {
            id: "pin-one-left",
            description: "暗証番号の残り回数1 (次に間違えるとロック)",
            serial: 0x0705_D996,
            expiry: Expiry::Months(24),
            shape: CertShape::Standard,
            pin: Some("1111"),
            pin_retries: 1,
            password: "ONELEFT1",
            name: "山本 直樹",
            address: "神奈川県横浜市中区日本大通1",
            birth_date: "19751231",
            sex: "9",
        },
        Row {
            id: "pin-blocked",
            description: "暗証番号ロック (市区町村で解除が必要)",
            serial: 0x0705_D997,
            expiry: Expiry::Months(24),
            shape: CertShape::Standard,
            pin: Some("2222"),
            pin_retries: 0,
            password: "BLOCKED0",
            name: "中村 由美",
            address: "京都府京都市上京区下立売通新町西入薮ノ内町",
            birth_date: "19680420",
            sex: "2",
        },
        Row {
            id: "face-auth",
            description: "顔認証マイナンバーカード (暗証番号なし)",
            serial: 0x0705_D998,
            expiry: Expiry::Months(48),
            shape: CertShape::Standard,
            pin: None,
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "FACE1234",
            name: "小林 翼",
            address: "沖縄県那覇市泉崎1-2-2",
            birth_date: "19400101",
            sex: "1",
        },
        // The personas below exist so that every online outcome has its own card; their
        // certificates are ordinary, the outcome comes from the mock server's fixtures.
        Row {
            id: "not-registered",
            description: "健康保険証としての利用登録なし (オンラインでPH1001)",
            serial: 0x0705_D999,
            expiry: Expiry::Months(34),
            shape: CertShape::Standard,
            pin: Some("3141"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "NOREG314",
            name: "加藤 大輔",
            address: "埼玉県さいたま市浦和区高砂3-15-1",
            birth_date: "19850914",
            sex: "1",
        },
        Row {
            id: "registration-cancelled",
            description: "利用登録を解除済み (オンラインでPH1002)",
            serial: 0x0705_D99A,
            expiry: Expiry::Months(29),
            shape: CertShape::Standard,
            pin: Some("2718"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "KAIJO271",
            name: "吉田 恵子",
            address: "千葉県千葉市中央区市場町1-1",
            birth_date: "19780227",
            sex: "2",
        },
        Row {
            id: "card-returned",
            description: "返納されたカード (オンラインでPH1003)",
            serial: 0x0705_D99B,
            expiry: Expiry::Months(26),
            shape: CertShape::Standard,
            pin: Some("1618"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "HENNOU16",
            name: "山口 修",
            address: "兵庫県神戸市中央区下山手通5-10-1",
            birth_date: "19591018",
            sex: "1",
        },
        Row {
            id: "revoked",
            description: "失効した電子証明書 (オンラインでPH1004)",
            serial: 0x0705_D99C,
            expiry: Expiry::Months(38),
            shape: CertShape::Standard,
            pin: Some("1414"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "SHIKKOU14",
            name: "松本 彩",
            address: "静岡県静岡市葵区追手町9-6",
            birth_date: "19930705",
            sex: "2",
        },
        Row {
            id: "system-error",
            description: "照会するとシステムエラー (オンラインでPH9001)",
            serial: 0x0705_D99D,
            expiry: Expiry::Months(44),
            shape: CertShape::Standard,
            pin: Some("1732"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "SYSERR17",
            name: "井上 誠",
            address: "新潟県新潟市中央区新光町4-1",
            birth_date: "19821111",
            sex: "1",
        },
        Row {
            id: "elderly",
            description: "72歳 高齢受給者 2割 (国民健康保険)",
            serial: 0x0705_D99E,
            expiry: Expiry::Months(20),
            shape: CertShape::Standard,
            pin: Some("2236"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "KOUREI72",
            name: "木村 和子",
            address: "大阪府堺市堺区南瓦町3-1",
            birth_date: "19540310",
            sex: "2",
        },
        Row {
            id: "kokuho",
            description: "国民健康保険 (保険者番号6桁)",
            serial: 0x0705_D99F,
            expiry: Expiry::Months(42),
            shape: CertShape::Standard,
            pin: Some("3606"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "KOKUHO138",
            name: "林 陽介",
            address: "東京都世田谷区世田谷4-21-27",
            birth_date: "19880620",
            sex: "1",
        },
        // 公費 / 医療費助成 linked to the card (PMH): the fixtures answer each with its 公費
        // entry next to the insurance (docs/online-api.md, "公費 (project)").
        Row {
            id: "pe-infant",
            description: "乳幼児医療費助成 3歳 (0円)",
            serial: 0x0705_D9A0,
            expiry: Expiry::Months(50),
            shape: CertShape::Standard,
            pin: Some("8801"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "NYUYOJI3",
            name: "佐々木 陽向",
            address: "東京都新宿区西新宿2-8-1",
            birth_date: "20230510",
            sex: "1",
        },
        Row {
            id: "pe-child",
            description: "子ども医療費助成 10歳 (1回200円)",
            serial: 0x0705_D9A1,
            expiry: Expiry::Months(30),
            shape: CertShape::Standard,
            pin: Some("8802"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "KODOMO10",
            name: "岡田 結衣",
            address: "東京都練馬区豊玉北6-12-1",
            birth_date: "20160615",
            sex: "2",
        },
        Row {
            id: "pe-nanbyo",
            description: "難病 特定医療費 (2割・月上限10,000円)",
            serial: 0x0705_D9A2,
            expiry: Expiry::Months(33),
            shape: CertShape::Standard,
            pin: Some("5401"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "NANBYO54",
            name: "森 真理子",
            address: "東京都港区芝公園4-2-8",
            birth_date: "19750909",
            sex: "2",
        },
        Row {
            id: "pe-welfare",
            description: "生活保護 医療扶助 (健康保険と併用, 0円)",
            serial: 0x0705_D9A3,
            expiry: Expiry::Months(27),
            shape: CertShape::Standard,
            pin: Some("1201"),
            pin_retries: AUTH_PIN_MAX_RETRIES,
            password: "SEIHO1213",
            name: "石川 浩二",
            address: "東京都足立区中央本町1-17-1",
            birth_date: "19700214",
            sex: "1",
        },
    ];
    rows.iter()
        .enumerate()
        .map(|(index, row)| {
            let expiry_date = match row.expiry {
                Expiry::Months(m) => add_months(as_of, m)?,
                Expiry::Days(d) => add_days(as_of, d)?,
            };
            let not_after = jst_end_of_day(expiry_date)?;
            // Issued a little under five years before expiry, at 10:30 JST, as a municipal
            // counter would (the real term runs to the 5th birthday after issue).
            let issued = add_days(add_months(expiry_date, -60)?, 30 + index as i64)?;
            let not_before = at_utc(issued, time::macros::time!(01:30));
            Ok(PersonaSpec {
                id: row.id.to_string(),
                description: row.description.to_string(),
                pin: row.pin.map(str::to_string),
                pin_retries: row.pin_retries,
                signing_password: row.password.to_string(),
                signing_password_retries: SIGNING_PASSWORD_MAX_RETRIES,
                card_info_pin_retries: CARD_INFO_PIN_MAX_RETRIES,
                basic: BasicInfo {
                    name: row.name.to_string(),
                    address: row.address.to_string(),
                    birth_date: row.birth_date.to_string(),
                    sex: row.sex.to_string(),
                },
                auth: UserAuthCertParams {
                    serial: row.serial,
                    subject_id: opaque_id(rng),
                    not_before,
                    not_after,
                    shape: row.shape,
                },
                // Signing serials live in their own (fake) range so no two certs share one.
                sign_serial: 0x0A10_0000 + index as u64,
                sign_subject_id: opaque_id(rng),
            })
        })
        .collect()
}

/// A 16-character opaque id like `12345ABCDE67890F` (digits and upper-case letters).
pub fn opaque_id<R: RngCore>(rng: &mut R) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..16)
        .map(|_| char::from(ALPHABET[(rng.next_u32() % ALPHABET.len() as u32) as usize]))
        .collect()
}

/// A persona file written by [`generate_jpki`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedPersona {
    /// Persona id (`valid`, `expired`, ...).
    pub id: String,
    /// Path of its TOML file.
    pub path: PathBuf,
}

/// What [`generate_jpki`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedPki {
    /// `jpki/auth-ca.pem`.
    pub auth_ca_certificate: PathBuf,
    /// `jpki/auth-ca-key.pem`.
    pub auth_ca_private_key: PathBuf,
    /// `jpki/sign-ca.pem`.
    pub sign_ca_certificate: PathBuf,
    /// `jpki/sign-ca-key.pem`.
    pub sign_ca_private_key: PathBuf,
    /// One entry per persona, in the order of [`standard_persona_specs`].
    pub personas: Vec<GeneratedPersona>,
}

impl GeneratedPki {
    /// Path of the persona file with this id.
    pub fn persona_path(&self, id: &str) -> Option<&Path> {
        self.personas
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.path.as_path())
    }

    /// Loads both CAs back, to issue further certificates under them.
    pub fn load_cas(&self) -> Result<(CertificateAuthority, CertificateAuthority), PkiError> {
        Ok((
            CertificateAuthority::load(
                CaKind::UserAuthentication,
                &self.auth_ca_certificate,
                &self.auth_ca_private_key,
            )?,
            CertificateAuthority::load(
                CaKind::DigitalSignature,
                &self.sign_ca_certificate,
                &self.sign_ca_private_key,
            )?,
        ))
    }
}

/// Writes the fake JPKI: both CAs under `dir/jpki/` and the standard personas under
/// `dir/personas/<id>.toml`, all dated relative to the JST date `as_of`.
///
/// Existing files are overwritten. Takes about 6 s on two cores in a debug build (44 RSA keys;
/// the workspace optimises `rsa` and `num-bigint-dig` even in the dev profile).
pub fn generate_jpki(dir: &Path, as_of: Date) -> Result<GeneratedPki, PkiError> {
    let jpki_dir = dir.join("jpki");
    let persona_dir = dir.join("personas");
    for d in [&jpki_dir, &persona_dir] {
        create_dir(d)?;
    }
    let specs = standard_persona_specs(as_of, &mut rand::thread_rng())?;

    let mut keys = generate_keys(2 + 2 * specs.len())?.into_iter();
    let mut next_key = || keys.next().ok_or(PkiError::KeyGeneration);
    let auth_ca = CertificateAuthority::from_key(CaKind::UserAuthentication, as_of, next_key()?)?;
    let sign_ca = CertificateAuthority::from_key(CaKind::DigitalSignature, as_of, next_key()?)?;

    let mut generated = GeneratedPki {
        auth_ca_certificate: jpki_dir.join(format!("{}.pem", auth_ca.kind.file_stem())),
        auth_ca_private_key: jpki_dir.join(format!("{}-key.pem", auth_ca.kind.file_stem())),
        sign_ca_certificate: jpki_dir.join(format!("{}.pem", sign_ca.kind.file_stem())),
        sign_ca_private_key: jpki_dir.join(format!("{}-key.pem", sign_ca.kind.file_stem())),
        personas: Vec::new(),
    };
    use onshi_files::Access::{Private, Shared};
    write(
        &generated.auth_ca_certificate,
        &auth_ca.certificate_pem()?,
        Shared,
    )?;
    write(
        &generated.auth_ca_private_key,
        &auth_ca.private_key_pem()?,
        Private,
    )?;
    write(
        &generated.sign_ca_certificate,
        &sign_ca.certificate_pem()?,
        Shared,
    )?;
    write(
        &generated.sign_ca_private_key,
        &sign_ca.private_key_pem()?,
        Private,
    )?;

    for spec in &specs {
        let data = issue_persona_with_keys(&auth_ca, &sign_ca, spec, next_key()?, next_key()?)?;
        let path = persona_dir.join(format!("{}.toml", data.id));
        write(&path, &data_to_toml(&data)?, Private)?;
        generated
            .personas
            .push(GeneratedPersona { id: data.id, path });
    }
    Ok(generated)
}

/// Generates `count` RSA-2048 keys on as many threads as the machine has cores.
///
/// Key generation is nearly all of the run time of [`generate_jpki`] (36 keys); each thread
/// draws from its own `thread_rng`, a CSPRNG seeded by the OS.
pub fn generate_keys(count: usize) -> Result<Vec<RsaPrivateKey>, PkiError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, count.max(1));
    let per_thread: Vec<usize> = (0..threads)
        .map(|t| count / threads + usize::from(t < count % threads))
        .collect();
    let results: Vec<Result<Vec<RsaPrivateKey>, PkiError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = per_thread
            .iter()
            .map(|&n| {
                scope.spawn(move || -> Result<Vec<RsaPrivateKey>, PkiError> {
                    let mut rng = rand::thread_rng();
                    (0..n)
                        .map(|_| Ok(RsaPrivateKey::new(&mut rng, RSA_BITS)?))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(PkiError::KeyGeneration)))
            .collect()
    });
    let mut keys = Vec::with_capacity(count);
    for result in results {
        keys.extend(result?);
    }
    Ok(keys)
}

/// Today's date in Japan, the default reference date of generated PKIs.
pub fn today_jst() -> Date {
    OffsetDateTime::now_utc().to_offset(JST).date()
}

pub mod tls;

#[cfg(test)]
mod tests;

/// Personas shared by the unit tests; the RSA keys are made once per test binary and reused
/// across personas because key generation is the slow part.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::sync::OnceLock;

    use super::*;

    pub(crate) struct Fixtures {
        pub(crate) valid: Persona,
        pub(crate) face_auth: Persona,
        pub(crate) large: Persona,
        pub(crate) auth_ca: CertificateAuthority,
    }

    pub(crate) fn as_of() -> Date {
        time::macros::date!(2026 - 11 - 21)
    }

    pub(crate) fn fixtures() -> &'static Fixtures {
        static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
        FIXTURES.get_or_init(|| {
            let keys = generate_keys(4).expect("keys");
            let auth_ca = CertificateAuthority::from_key(
                CaKind::UserAuthentication,
                as_of(),
                keys[0].clone(),
            )
            .expect("auth CA");
            let sign_ca =
                CertificateAuthority::from_key(CaKind::DigitalSignature, as_of(), keys[1].clone())
                    .expect("sign CA");
            let specs = standard_persona_specs(as_of(), &mut rand::thread_rng()).expect("specs");
            let make = |id: &str| {
                let spec = specs.iter().find(|s| s.id == id).expect("spec");
                let data = issue_persona_with_keys(
                    &auth_ca,
                    &sign_ca,
                    spec,
                    keys[2].clone(),
                    keys[3].clone(),
                )
                .expect("persona");
                Persona::from_data(data).expect("valid persona")
            };
            Fixtures {
                valid: make("valid"),
                face_auth: make("face-auth"),
                large: make("large-cert"),
                auth_ca,
            }
        })
    }
}
