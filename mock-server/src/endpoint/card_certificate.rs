//! Checking a card's user-authentication certificate: issued by a configured JPKI CA, and how
//! its expiry stands on the confirmation date.
//!
//! The trust anchors are parsed once, at start-up, into the two things a check needs (the
//! subject DN bytes and the RSA key), so the request path only parses the card's own
//! certificate. Signatures are verified with `ring`, the same implementation rustls uses.

use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use rustls::pki_types::CertificateDer;
use time::{Date, Duration, UtcOffset};
use x509_parser::oid_registry::{OID_PKCS1_RSAENCRYPTION, OID_PKCS1_SHA256WITHRSA};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::ServerError;
use crate::pki::add_months;

const JST: UtcOffset = time::macros::offset!(+9);

struct TrustedCa {
    subject: Vec<u8>,
    key: UnparsedPublicKey<Vec<u8>>,
}

/// The configured JPKI user-auth CAs.
pub(crate) struct JpkiTrust {
    cas: Vec<TrustedCa>,
}

/// Why a card certificate is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CardCertError {
    /// Not a DER X.509 certificate at all (400 PH4000).
    Malformed(String),
    /// Well-formed but not issued by a configured CA (403 PH4030).
    Untrusted(String),
}

/// A card certificate that chains to a configured CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CardCertificate {
    /// Serial as encoded (may start with the DER sign byte `00`).
    pub serial: Vec<u8>,
    /// JST calendar date of `notAfter`.
    pub expiry: Date,
    /// The card's RSA public key (PKCS#1 `RSAPublicKey` DER), for the challenge signature.
    pub public_key: Vec<u8>,
}

impl JpkiTrust {
    pub(crate) fn new(cas: &[CertificateDer<'_>]) -> Result<JpkiTrust, ServerError> {
        let cas = cas
            .iter()
            .enumerate()
            .map(|(index, der)| {
                let fail = |reason: String| ServerError::JpkiCa { index, reason };
                let (_, cert) = X509Certificate::from_der(der.as_ref())
                    .map_err(|e| fail(format!("not an X.509 certificate: {e}")))?;
                let spki = cert.public_key();
                if spki.algorithm.algorithm != OID_PKCS1_RSAENCRYPTION {
                    return Err(fail("the key is not RSA".to_string()));
                }
                Ok(TrustedCa {
                    subject: cert.subject().as_raw().to_vec(),
                    key: UnparsedPublicKey::new(
                        &RSA_PKCS1_2048_8192_SHA256,
                        spki.subject_public_key.data.to_vec(),
                    ),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(JpkiTrust { cas })
    }

    pub(crate) fn len(&self) -> usize {
        self.cas.len()
    }

    /// Parses the card certificate and checks it was issued by a configured CA: issuer DN
    /// byte-equal to the CA's subject, sha256WithRSAEncryption, signature valid under the
    /// CA's key. Validity dates are not checked here (see [`expiry_state`]).
    pub(crate) fn verify(&self, der: &[u8]) -> Result<CardCertificate, CardCertError> {
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| CardCertError::Malformed(format!("not a DER X.509 certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(CardCertError::Malformed(format!(
                "{} bytes after the certificate",
                rest.len()
            )));
        }
        let issuer = cert.issuer().as_raw();
        let Some(ca) = self.cas.iter().find(|ca| ca.subject == issuer) else {
            return Err(CardCertError::Untrusted(format!(
                "issuer {} is not a configured JPKI user-authentication CA",
                cert.issuer()
            )));
        };
        if cert.signature_algorithm.algorithm != OID_PKCS1_SHA256WITHRSA {
            return Err(CardCertError::Untrusted(format!(
                "signature algorithm {} is not sha256WithRSAEncryption",
                cert.signature_algorithm.algorithm
            )));
        }
        ca.key
            .verify(cert.tbs_certificate.as_ref(), &cert.signature_value.data)
            .map_err(|_| {
                CardCertError::Untrusted(
                    "certificate signature does not verify under the CA with the same name"
                        .to_string(),
                )
            })?;
        let spki = cert.public_key();
        if spki.algorithm.algorithm != OID_PKCS1_RSAENCRYPTION {
            return Err(CardCertError::Untrusted(
                "the certificate's key is not RSA".to_string(),
            ));
        }
        Ok(CardCertificate {
            serial: cert.raw_serial().to_vec(),
            expiry: cert
                .validity()
                .not_after
                .to_datetime()
                .to_offset(JST)
                .date(),
            public_key: spki.subject_public_key.data.to_vec(),
        })
    }
}

/// Verifies the card's PKCS#1 v1.5 signature over SHA-256(`challenge`), i.e. what the card
/// returns when asked to sign the DigestInfo of the challenge's SHA-256.
pub(crate) fn verify_challenge_signature(
    public_key: &[u8],
    challenge: &[u8],
    signature: &[u8],
) -> bool {
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key)
        .verify(challenge, signature)
        .is_ok()
}

/// Where a certificate's expiry stands on the confirmation date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpiryState {
    /// Valid for more than 3 months.
    Valid,
    /// Valid, expires within 3 months (note PH0102).
    ExpiringSoon,
    /// Expired, within the grace period (note PH0101).
    InGrace,
    /// Expired beyond grace (PH1005).
    Expired,
}

/// The expiry state of a certificate whose `notAfter` falls on the JST date `expiry`, judged
/// on the JST date `on`. The grace period ends on the last day of the third month after the
/// expiry month (the contract's rule; `docs/domain.md#certificate-expiry` notes the sources
/// disagree).
pub(crate) fn expiry_state(expiry: Date, on: Date) -> ExpiryState {
    if on <= expiry {
        match add_months(on, 3) {
            Ok(limit) if expiry > limit => ExpiryState::Valid,
            _ => ExpiryState::ExpiringSoon,
        }
    } else if grace_end(expiry).is_some_and(|end| on <= end) {
        ExpiryState::InGrace
    } else {
        ExpiryState::Expired
    }
}

/// Last day of the grace period: end of the expiry month + 3 months.
pub(crate) fn grace_end(expiry: Date) -> Option<Date> {
    let first = expiry.replace_day(1).ok()?;
    let after = add_months(first, 4).ok()?;
    after.checked_sub(Duration::days(1))
}
