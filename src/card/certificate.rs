//! The user-authentication certificate (利用者証明用電子証明書), parsed once at the edge.
//!
//! The online system identifies the insured person by this certificate, so what the rest of
//! the app needs from it is its serial number, its validity and its issuer. Parsing uses
//! `x509-parser` (rusticata): a hand-written DER walker would be one more place for a
//! malformed card to crash the desk.

use std::fmt;

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::apdu::hex_upper;
use super::error::CardError;

/// A certificate serial number: a small positive integer on real cards (4 bytes).
///
/// The raw DER bytes are kept without the sign-padding `00` that DER adds when the top bit of
/// the first byte is set: that byte is not part of the number, and a desk that compared
/// serials with it would see two numbers for one certificate.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CertificateSerial {
    magnitude: Vec<u8>,
}

impl CertificateSerial {
    /// From the INTEGER content octets as found in the certificate.
    pub fn from_der_content(content: &[u8]) -> Result<Self, CardError> {
        if content.is_empty() {
            return Err(CardError::MalformedCertificate(
                "empty serial number".into(),
            ));
        }
        if content[0] & 0x80 != 0 {
            return Err(CardError::MalformedCertificate(
                "negative serial number".into(),
            ));
        }
        let first_nonzero = content
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(content.len() - 1);
        Ok(Self {
            magnitude: content[first_nonzero..].to_vec(),
        })
    }

    /// Uppercase hex without separators or sign padding, e.g. `0705D990`.
    pub fn hex(&self) -> String {
        hex_upper(&self.magnitude)
    }

    /// The unsigned decimal value, whatever its length.
    pub fn decimal(&self) -> String {
        x509_parser::num_bigint::BigUint::from_bytes_be(&self.magnitude).to_string()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.magnitude
    }
}

impl fmt::Debug for CertificateSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertificateSerial({})", self.hex())
    }
}

impl fmt::Display for CertificateSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// A parsed user-authentication certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAuthCertificate {
    der: Vec<u8>,
    pub serial: CertificateSerial,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Issuer in RFC 4514 form as `x509-parser` prints it.
    pub issuer: String,
    /// The subject's common name: an opaque id, never the holder's name.
    pub subject_cn: String,
}

impl UserAuthCertificate {
    /// Parses a DER certificate. Trailing bytes are an error: the reader must have cut the
    /// file at the length the DER header announced.
    pub fn from_der(der: &[u8]) -> Result<Self, CardError> {
        let malformed = |m: String| CardError::MalformedCertificate(m);
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| malformed(format!("X.509: {e}")))?;
        if !rest.is_empty() {
            return Err(malformed(format!(
                "{} bytes after the certificate",
                rest.len()
            )));
        }
        let serial = CertificateSerial::from_der_content(cert.raw_serial())?;
        let validity = cert.validity();
        let subject_cn = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(Self {
            der: der.to_vec(),
            serial,
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            issuer: cert.issuer().to_string(),
            subject_cn,
        })
    }

    /// The certificate as read from the card.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

/// Total length of a DER element from its first bytes: tag, then a short or long-form length.
///
/// The card file holds the certificate followed by `FF` filler, so the header is the only way
/// to know where to stop reading. Indefinite lengths and lengths over 4 bytes cannot be a JPKI
/// certificate and are rejected.
pub fn der_total_length(header: &[u8]) -> Result<usize, CardError> {
    let malformed = |m: &str| CardError::MalformedCertificate(m.to_owned());
    let (&tag, rest) = header
        .split_first()
        .ok_or_else(|| malformed("empty file"))?;
    if tag != 0x30 {
        return Err(CardError::MalformedCertificate(format!(
            "file does not start with a DER SEQUENCE (tag {tag:02X})"
        )));
    }
    let (&first, rest) = rest
        .split_first()
        .ok_or_else(|| malformed("truncated length"))?;
    if first < 0x80 {
        return Ok(2 + usize::from(first));
    }
    let n = usize::from(first & 0x7F);
    if n == 0 || n > 4 {
        return Err(malformed("unsupported DER length form"));
    }
    let bytes = rest.get(..n).ok_or_else(|| malformed("truncated length"))?;
    let len = bytes
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Ok(2 + n + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_in_every_form() {
        assert_eq!(der_total_length(&[0x30, 0x05]).ok(), Some(7));
        assert_eq!(der_total_length(&[0x30, 0x81, 0xC8]).ok(), Some(3 + 200));
        assert_eq!(
            der_total_length(&[0x30, 0x82, 0x04, 0xB0]).ok(),
            Some(4 + 1200)
        );
        assert_eq!(
            der_total_length(&[0x30, 0x83, 0x00, 0x04, 0xB0]).ok(),
            Some(5 + 1200)
        );
    }

    #[test]
    fn rejects_what_cannot_be_a_certificate() {
        for bad in [
            &[][..],
            &[0xFF, 0xFF],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x82, 0x01],
            &[0x30, 0x85, 1, 2, 3, 4, 5],
        ] {
            assert!(
                matches!(
                    der_total_length(bad),
                    Err(CardError::MalformedCertificate(_))
                ),
                "{bad:02X?}"
            );
        }
    }

    #[test]
    fn a_top_bit_serial_keeps_no_sign_padding() {
        let s = CertificateSerial::from_der_content(&[0x00, 0x85, 0xAB, 0xCD, 0xEF]).expect("ok");
        assert_eq!(s.hex(), "85ABCDEF");
        assert_eq!(s.decimal(), "2242629103");
    }

    #[test]
    fn a_small_serial_reads_in_hex_and_decimal() {
        let s = CertificateSerial::from_der_content(&[0x07, 0x05, 0xD9, 0x90]).expect("ok");
        assert_eq!(s.hex(), "0705D990");
        assert_eq!(s.decimal(), "117823888");
        let zero = CertificateSerial::from_der_content(&[0x00]).expect("ok");
        assert_eq!((zero.hex().as_str(), zero.decimal().as_str()), ("00", "0"));
    }

    #[test]
    fn long_serials_still_convert_to_decimal() {
        let s = CertificateSerial::from_der_content(&[0x7F; 20]).expect("ok");
        assert_eq!(s.decimal().len(), 48);
    }

    #[test]
    fn negative_or_empty_serials_are_malformed() {
        assert!(CertificateSerial::from_der_content(&[0x85]).is_err());
        assert!(CertificateSerial::from_der_content(&[]).is_err());
    }

    #[test]
    fn garbage_and_truncated_der_are_malformed_not_a_panic() {
        let mut fake = vec![0x30, 0x82, 0x01, 0x00];
        fake.extend(std::iter::repeat_n(0xFF, 0x100));
        for bad in [&fake[..], &fake[..10], &[0x30, 0x00][..], &[][..]] {
            assert!(matches!(
                UserAuthCertificate::from_der(bad),
                Err(CardError::MalformedCertificate(_))
            ));
        }
    }
}
