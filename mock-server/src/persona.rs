//! Test personas: everything one fake My Number card (マイナンバーカード) carries.
//!
//! A persona is stored as one TOML file so that a test, a developer at a shell and the
//! `onshi-vcard` binary all start the same card from the same bytes. The file is written by
//! [`crate::pki::generate_jpki`] and can be edited by hand to make odd cards.
//!
//! # File format
//!
//! ```toml
//! id = "valid"
//! description = "有効な利用者証明用電子証明書"
//! pin = "1234"                 # user-auth PIN (利用者証明用パスワード), 4 ASCII digits;
//!                              # omit for a face-auth card (顔認証マイナンバーカード, no PIN)
//! pin_retries = 3              # tries left, 0..=3, 0 = blocked (default 3)
//! signing_password = "ABC123"  # 署名用パスワード, 6–16 ASCII letters/digits
//! signing_password_retries = 5 # 0..=5 (default 5)
//! card_info_pin_retries = 3    # 券面事項入力補助AP PIN: same digits as `pin`, own counter,
//!                              # 0..=3 (default 3)
//!
//! [basic]                      # 基本4情報 (the four printed basics)
//! name = "山田 花子"            # UTF-8; an 外字 the system cannot show is written `●`
//! address = "東京都千代田区霞が関1-2-2"
//! birth_date = "19800401"      # YYYYMMDD
//! sex = "2"                    # "1" male, "2" female, "9" other
//!
//! [pem]
//! auth_certificate = "-----BEGIN CERTIFICATE-----..."   # 利用者証明用電子証明書
//! auth_private_key = "-----BEGIN PRIVATE KEY-----..."   # its key, PKCS#8
//! auth_ca_certificate = "..."
//! sign_certificate = "..."                              # 署名用電子証明書
//! sign_private_key = "..."
//! sign_ca_certificate = "..."
//! ```
//!
//! Unknown keys are rejected so that a typo (`pin_retry = 1`) cannot silently give a card
//! with the default counter.

use std::path::{Path, PathBuf};

use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::{Deserialize, Serialize};
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

/// Maximum tries of the 4-digit user-auth PIN (利用者証明用パスワード).
pub const AUTH_PIN_MAX_RETRIES: u8 = 3;
/// Maximum tries of the signing password (署名用パスワード).
pub const SIGNING_PASSWORD_MAX_RETRIES: u8 = 5;
/// Maximum tries of the card-info input-support AP PIN (券面事項入力補助用暗証番号).
pub const CARD_INFO_PIN_MAX_RETRIES: u8 = 3;

/// Size of the card-info AP's basic-four-items EF; the TLV must fit in it.
pub const BASIC_INFO_EF_SIZE: usize = 512;

/// Errors while reading or validating a persona.
#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    /// The file could not be read or written.
    #[error("persona file {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The text is not TOML of the persona shape (missing key, wrong type, unknown key).
    #[error("persona TOML is malformed: {0}")]
    Toml(#[from] toml::de::Error),
    /// The persona could not be written as TOML.
    #[error("persona could not be serialised: {0}")]
    Serialize(#[from] toml::ser::Error),
    /// A field has a value the card could not hold.
    #[error("persona field `{field}`: {reason}")]
    Invalid {
        /// The TOML key (dotted for nested tables).
        field: &'static str,
        /// Why the value is refused.
        reason: String,
    },
    /// A PEM field does not hold what it should (a certificate or a PKCS#8 RSA key).
    #[error("persona field `pem.{field}`: {reason}")]
    Pem {
        /// The key inside `[pem]`.
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// Wraps any of the above with the file it came from, so a test failure names the file.
    #[error("persona file {path}: {source}")]
    InFile {
        /// The file that failed.
        path: PathBuf,
        /// The underlying problem.
        #[source]
        source: Box<PersonaError>,
    },
}

fn default_pin_retries() -> u8 {
    AUTH_PIN_MAX_RETRIES
}
fn default_signing_password_retries() -> u8 {
    SIGNING_PASSWORD_MAX_RETRIES
}
fn default_card_info_pin_retries() -> u8 {
    CARD_INFO_PIN_MAX_RETRIES
}

/// The four printed basics (基本4情報) held by the card-info input-support AP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicInfo {
    /// 氏名, UTF-8, as printed (may contain `●` for an 外字).
    pub name: String,
    /// 住所.
    pub address: String,
    /// 生年月日 as `YYYYMMDD`.
    pub birth_date: String,
    /// 性別: `1` male, `2` female, `9` other.
    pub sex: String,
}

/// The PEM blobs of a persona: both key pairs and the CA certificates above them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonaPem {
    /// 利用者証明用電子証明書 (EF `000A`).
    pub auth_certificate: String,
    /// Its private key, PKCS#8 (the card's EF `0017`).
    pub auth_private_key: String,
    /// The user-auth CA certificate (EF `000B`).
    pub auth_ca_certificate: String,
    /// 署名用電子証明書 (EF `0001`).
    pub sign_certificate: String,
    /// Its private key, PKCS#8 (EF `001A`).
    pub sign_private_key: String,
    /// The signing CA certificate (EF `0002`).
    pub sign_ca_certificate: String,
}

/// The raw persona file, field for field (see the module documentation for the format).
///
/// Build one of these by hand (or from [`crate::pki::issue_persona`]) and pass it to
/// [`Persona::from_data`] to get a validated persona.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonaData {
    /// Short identifier, also the file stem (`valid`, `pin-blocked`, ...).
    pub id: String,
    /// Free text saying what the persona is for.
    #[serde(default)]
    pub description: String,
    /// The 4-digit user-auth PIN; `None` for a face-auth card that has no PIN at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// Tries left on the user-auth PIN (0 = blocked).
    #[serde(default = "default_pin_retries")]
    pub pin_retries: u8,
    /// 署名用パスワード (6–16 ASCII letters/digits).
    pub signing_password: String,
    /// Tries left on the signing password.
    #[serde(default = "default_signing_password_retries")]
    pub signing_password_retries: u8,
    /// Tries left on the card-info AP PIN.
    #[serde(default = "default_card_info_pin_retries")]
    pub card_info_pin_retries: u8,
    /// 基本4情報.
    pub basic: BasicInfo,
    /// Certificates and keys.
    pub pem: PersonaPem,
}

/// A validated persona: the file's data plus the decoded certificates and keys.
///
/// Validation happens once, here, so that [`crate::vcard::VirtualCard::new`] cannot fail on a
/// bad file in the middle of a test.
#[derive(Debug, Clone)]
pub struct Persona {
    data: PersonaData,
    auth_certificate: Vec<u8>,
    auth_key: RsaPrivateKey,
    auth_ca_certificate: Vec<u8>,
    sign_certificate: Vec<u8>,
    sign_key: RsaPrivateKey,
    sign_ca_certificate: Vec<u8>,
    basic_info_tlv: Vec<u8>,
}

impl Persona {
    /// Reads and validates a persona TOML file.
    pub fn load(path: impl AsRef<Path>) -> Result<Persona, PersonaError> {
        let path = path.as_ref();
        let text =
            crate::pki::read_bounded_text(path, crate::pki::MAX_PEM_BYTES).map_err(|source| {
                PersonaError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        Persona::from_toml_str(&text).map_err(|source| PersonaError::InFile {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    /// Parses and validates persona TOML text.
    pub fn from_toml_str(text: &str) -> Result<Persona, PersonaError> {
        let data: PersonaData = toml::from_str(text)?;
        Persona::from_data(data)
    }

    /// Validates raw persona data (ranges, formats, PEM contents, key/certificate pairing).
    pub fn from_data(data: PersonaData) -> Result<Persona, PersonaError> {
        validate_scalars(&data)?;
        let basic_info_tlv = encode_basic_info(&data.basic);
        if basic_info_tlv.len() > BASIC_INFO_EF_SIZE {
            return Err(PersonaError::Invalid {
                field: "basic",
                reason: format!(
                    "name and address encode to {} bytes, more than the {}-byte EF",
                    basic_info_tlv.len(),
                    BASIC_INFO_EF_SIZE
                ),
            });
        }
        let pem = &data.pem;
        let auth_certificate = decode_certificate("auth_certificate", &pem.auth_certificate)?;
        let auth_key = decode_key("auth_private_key", &pem.auth_private_key)?;
        check_pair("auth_private_key", &auth_certificate, &auth_key)?;
        let auth_ca_certificate =
            decode_certificate("auth_ca_certificate", &pem.auth_ca_certificate)?;
        let sign_certificate = decode_certificate("sign_certificate", &pem.sign_certificate)?;
        let sign_key = decode_key("sign_private_key", &pem.sign_private_key)?;
        check_pair("sign_private_key", &sign_certificate, &sign_key)?;
        let sign_ca_certificate =
            decode_certificate("sign_ca_certificate", &pem.sign_ca_certificate)?;
        Ok(Persona {
            data,
            auth_certificate,
            auth_key,
            auth_ca_certificate,
            sign_certificate,
            sign_key,
            sign_ca_certificate,
            basic_info_tlv,
        })
    }

    /// Writes the persona as TOML (the format documented on this module).
    pub fn to_toml_string(&self) -> Result<String, PersonaError> {
        data_to_toml(&self.data)
    }

    /// The raw data as read from the file.
    pub fn data(&self) -> &PersonaData {
        &self.data
    }

    /// The persona id.
    pub fn id(&self) -> &str {
        &self.data.id
    }

    /// The 4-digit user-auth PIN, `None` for a face-auth card.
    pub fn pin(&self) -> Option<&str> {
        self.data.pin.as_deref()
    }

    /// The signing password.
    pub fn signing_password(&self) -> &str {
        &self.data.signing_password
    }

    /// The four printed basics.
    pub fn basic(&self) -> &BasicInfo {
        &self.data.basic
    }

    /// DER of the user-auth certificate (利用者証明用電子証明書).
    pub fn auth_certificate_der(&self) -> &[u8] {
        &self.auth_certificate
    }

    /// The user-auth private key.
    pub fn auth_private_key(&self) -> &RsaPrivateKey {
        &self.auth_key
    }

    /// DER of the user-auth CA certificate.
    pub fn auth_ca_certificate_der(&self) -> &[u8] {
        &self.auth_ca_certificate
    }

    /// DER of the signing certificate (署名用電子証明書).
    pub fn sign_certificate_der(&self) -> &[u8] {
        &self.sign_certificate
    }

    /// The signing private key.
    pub fn sign_private_key(&self) -> &RsaPrivateKey {
        &self.sign_key
    }

    /// DER of the signing CA certificate.
    pub fn sign_ca_certificate_der(&self) -> &[u8] {
        &self.sign_ca_certificate
    }

    /// The `FF 20` TLV of the card-info AP's EF `0002` (without the `FF` filler).
    pub fn basic_info_tlv(&self) -> &[u8] {
        &self.basic_info_tlv
    }
}

/// Serialises raw persona data, with a header saying what the file is.
pub fn data_to_toml(data: &PersonaData) -> Result<String, PersonaError> {
    let body = toml::to_string(data)?;
    Ok(format!(
        "# onshi-mock test persona: FAKE JPKI data for tests, not a real card.\n\
         # Format: see mock-server/README.md.\n{body}"
    ))
}

fn invalid(field: &'static str, reason: impl Into<String>) -> PersonaError {
    PersonaError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn validate_scalars(data: &PersonaData) -> Result<(), PersonaError> {
    if data.id.is_empty()
        || !data
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            "id",
            format!(
                "{:?} must be non-empty ASCII letters, digits, '-' or '_'",
                data.id
            ),
        ));
    }
    if let Some(pin) = &data.pin {
        if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "pin",
                format!("{pin:?} must be exactly 4 ASCII digits (omit it for a face-auth card)"),
            ));
        }
    }
    if data.pin_retries > AUTH_PIN_MAX_RETRIES {
        return Err(invalid(
            "pin_retries",
            format!(
                "{} is above the maximum {AUTH_PIN_MAX_RETRIES}",
                data.pin_retries
            ),
        ));
    }
    let pw = &data.signing_password;
    if !(6..=16).contains(&pw.len()) || !pw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid(
            "signing_password",
            format!("{pw:?} must be 6 to 16 ASCII letters or digits"),
        ));
    }
    if data.signing_password_retries > SIGNING_PASSWORD_MAX_RETRIES {
        return Err(invalid(
            "signing_password_retries",
            format!(
                "{} is above the maximum {SIGNING_PASSWORD_MAX_RETRIES}",
                data.signing_password_retries
            ),
        ));
    }
    if data.card_info_pin_retries > CARD_INFO_PIN_MAX_RETRIES {
        return Err(invalid(
            "card_info_pin_retries",
            format!(
                "{} is above the maximum {CARD_INFO_PIN_MAX_RETRIES}",
                data.card_info_pin_retries
            ),
        ));
    }
    let b = &data.basic;
    if b.name.is_empty() {
        return Err(invalid("basic.name", "must not be empty"));
    }
    if b.birth_date.len() != 8 || !b.birth_date.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid(
            "basic.birth_date",
            format!("{:?} must be YYYYMMDD", b.birth_date),
        ));
    }
    if !matches!(b.sex.as_str(), "1" | "2" | "9") {
        return Err(invalid(
            "basic.sex",
            format!("{:?} must be \"1\", \"2\" or \"9\"", b.sex),
        ));
    }
    Ok(())
}

fn decode_certificate(field: &'static str, pem: &str) -> Result<Vec<u8>, PersonaError> {
    let (label, der) =
        x509_cert::der::pem::decode_vec(pem.trim().as_bytes()).map_err(|e| PersonaError::Pem {
            field,
            reason: format!("not PEM: {e}"),
        })?;
    if label != "CERTIFICATE" {
        return Err(PersonaError::Pem {
            field,
            reason: format!("PEM label is {label:?}, expected \"CERTIFICATE\""),
        });
    }
    Certificate::from_der(&der).map_err(|e| PersonaError::Pem {
        field,
        reason: format!("not an X.509 certificate: {e}"),
    })?;
    Ok(der)
}

fn decode_key(field: &'static str, pem: &str) -> Result<RsaPrivateKey, PersonaError> {
    let key = RsaPrivateKey::from_pkcs8_pem(pem.trim()).map_err(|e| PersonaError::Pem {
        field,
        reason: format!("not a PKCS#8 RSA private key: {e}"),
    })?;
    // The card's SIGN returns a 256-byte signature; any other modulus would make a card that
    // real JPKI readers could never meet.
    if key.size() != 256 {
        return Err(PersonaError::Pem {
            field,
            reason: format!("RSA key is {} bits, the card holds 2048", key.size() * 8),
        });
    }
    Ok(key)
}

/// Refuses a key that does not belong to its certificate: a card that signs with the wrong
/// key would make signature-check failures look like server bugs.
fn check_pair(
    field: &'static str,
    cert_der: &[u8],
    key: &RsaPrivateKey,
) -> Result<(), PersonaError> {
    let cert = Certificate::from_der(cert_der).map_err(|e| PersonaError::Pem {
        field,
        reason: format!("certificate: {e}"),
    })?;
    let cert_spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| PersonaError::Pem {
            field,
            reason: format!("certificate public key: {e}"),
        })?;
    let key_spki = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| PersonaError::Pem {
            field,
            reason: format!("public key: {e}"),
        })?;
    if cert_spki != key_spki.as_bytes() {
        return Err(PersonaError::Pem {
            field,
            reason: "private key does not match the certificate's public key".to_string(),
        });
    }
    Ok(())
}

/// Appends a BER length (short form below 128, then `81 xx` / `82 xx xx`).
pub(crate) fn push_ber_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xFF {
        out.push(0x81);
        out.push(len as u8);
    } else {
        out.push(0x82);
        out.push((len >> 8) as u8);
        out.push(len as u8);
    }
}

fn ber_len_size(len: usize) -> usize {
    if len < 0x80 {
        1
    } else if len <= 0xFF {
        2
    } else {
        3
    }
}

/// Builds the card-info AP's basic-four TLV:
/// `FF 20 L { DF21 08 <4 offsets> DF22 L name DF23 L address DF24 08 date DF25 01 sex }`.
///
/// The offsets in `DF21` point at the `DF22`..`DF25` tags from the start of the file, which
/// lets a reader jump straight to one item; they depend on the outer length's size, so that
/// is worked out first.
pub(crate) fn encode_basic_info(basic: &BasicInfo) -> Vec<u8> {
    let items: [(u8, &[u8]); 4] = [
        (0x22, basic.name.as_bytes()),
        (0x23, basic.address.as_bytes()),
        (0x24, basic.birth_date.as_bytes()),
        (0x25, basic.sex.as_bytes()),
    ];
    let item_sizes: Vec<usize> = items
        .iter()
        .map(|(_, v)| 2 + ber_len_size(v.len()) + v.len())
        .collect();
    let offsets_tlv = 2 + 1 + 8;
    let inner_len = offsets_tlv + item_sizes.iter().sum::<usize>();
    let header = 2 + ber_len_size(inner_len);

    let mut offsets = Vec::with_capacity(8);
    let mut at = header + offsets_tlv;
    for size in &item_sizes {
        offsets.extend_from_slice(&(at as u16).to_be_bytes());
        at += size;
    }

    let mut out = Vec::with_capacity(header + inner_len);
    out.extend_from_slice(&[0xFF, 0x20]);
    push_ber_len(&mut out, inner_len);
    out.extend_from_slice(&[0xDF, 0x21, 0x08]);
    out.extend_from_slice(&offsets);
    for (tag, value) in items {
        out.extend_from_slice(&[0xDF, tag]);
        push_ber_len(&mut out, value.len());
        out.extend_from_slice(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(name: &str, address: &str) -> BasicInfo {
        BasicInfo {
            name: name.to_string(),
            address: address.to_string(),
            birth_date: "19800401".to_string(),
            sex: "2".to_string(),
        }
    }

    #[test]
    fn basic_info_offsets_point_at_tags() {
        for (name, addr) in [
            ("山田 花子", "東京都千代田区霞が関1-2-2"),
            ("渡辺 ●介", &"長い住所".repeat(20)),
            ("A", &"x".repeat(300)),
        ] {
            let tlv = encode_basic_info(&basic(name, addr));
            assert_eq!(&tlv[..2], &[0xFF, 0x20]);
            let header = match tlv[2] {
                0x81 => 4,
                0x82 => 5,
                _ => 3,
            };
            assert_eq!(&tlv[header..header + 3], &[0xDF, 0x21, 0x08]);
            for (i, tag) in [0x22u8, 0x23, 0x24, 0x25].iter().enumerate() {
                let hi = tlv[header + 3 + 2 * i] as usize;
                let lo = tlv[header + 4 + 2 * i] as usize;
                let off = hi << 8 | lo;
                assert_eq!(&tlv[off..off + 2], &[0xDF, *tag], "offset {i} for {name}");
            }
            // The outer length covers exactly the rest of the TLV.
            let inner = match tlv[2] {
                0x81 => tlv[3] as usize,
                0x82 => (tlv[3] as usize) << 8 | tlv[4] as usize,
                n => n as usize,
            };
            assert_eq!(header + inner, tlv.len());
        }
    }

    #[test]
    fn ber_lengths() {
        let mut v = Vec::new();
        push_ber_len(&mut v, 0x7F);
        push_ber_len(&mut v, 0x80);
        push_ber_len(&mut v, 0x100);
        assert_eq!(v, [0x7F, 0x81, 0x80, 0x82, 0x01, 0x00]);
    }

    fn valid_data() -> PersonaData {
        crate::pki::fixtures::fixtures().valid.data().clone()
    }

    fn error_of(data: PersonaData) -> String {
        Persona::from_data(data)
            .expect_err("must be refused")
            .to_string()
    }

    #[test]
    fn round_trips_through_toml() {
        let persona = &crate::pki::fixtures::fixtures().valid;
        let text = persona.to_toml_string().expect("serialise");
        assert!(text.starts_with("# onshi-mock test persona"));
        let back = Persona::from_toml_str(&text).expect("parse back");
        assert_eq!(back.data(), persona.data());
        assert_eq!(back.auth_certificate_der(), persona.auth_certificate_der());
    }

    #[test]
    fn malformed_toml_gives_clear_errors() {
        let err = Persona::from_toml_str("id = 3")
            .expect_err("bad")
            .to_string();
        assert!(err.contains("malformed"), "{err}");

        let text = toml::to_string(&valid_data()).expect("toml");
        let typo = text.replacen("pin_retries = 3", "pin_retry = 1", 1);
        let err = Persona::from_toml_str(&typo)
            .expect_err("unknown key")
            .to_string();
        assert!(err.contains("pin_retry"), "{err}");

        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.toml");
        let err = Persona::load(&missing).expect_err("missing").to_string();
        assert!(err.contains("missing.toml"), "{err}");

        let broken = dir.path().join("broken.toml");
        std::fs::write(&broken, text.replacen("\"1234\"", "\"12345\"", 1)).expect("write");
        let err = Persona::load(&broken).expect_err("bad pin").to_string();
        assert!(
            err.contains("broken.toml") && err.contains("`pin`"),
            "{err}"
        );
    }

    #[test]
    fn field_validation() {
        let mut d = valid_data();
        d.pin = Some("12a4".to_string());
        assert!(error_of(d).contains("`pin`"));

        let mut d = valid_data();
        d.pin_retries = 4;
        assert!(error_of(d).contains("pin_retries"));

        let mut d = valid_data();
        d.signing_password = "ABC12".to_string();
        assert!(error_of(d).contains("signing_password"));

        let mut d = valid_data();
        d.signing_password_retries = 6;
        assert!(error_of(d).contains("signing_password_retries"));

        let mut d = valid_data();
        d.card_info_pin_retries = 9;
        assert!(error_of(d).contains("card_info_pin_retries"));

        let mut d = valid_data();
        d.basic.sex = "3".to_string();
        assert!(error_of(d).contains("basic.sex"));

        let mut d = valid_data();
        d.basic.birth_date = "1980-04-01".to_string();
        assert!(error_of(d).contains("basic.birth_date"));

        let mut d = valid_data();
        d.basic.address = "長".repeat(200);
        assert!(error_of(d).contains("512-byte"));

        let mut d = valid_data();
        d.id = "has space".to_string();
        assert!(error_of(d).contains("`id`"));

        // A face-auth card simply has no PIN.
        let mut d = valid_data();
        d.pin = None;
        assert!(Persona::from_data(d).is_ok());
    }

    #[test]
    fn pem_validation() {
        let mut d = valid_data();
        d.pem.auth_private_key = d.pem.sign_private_key.clone();
        let err = error_of(d);
        assert!(
            err.contains("auth_private_key") && err.contains("does not match"),
            "{err}"
        );

        let mut d = valid_data();
        d.pem.sign_certificate = d.pem.auth_private_key.clone();
        let err = error_of(d);
        assert!(
            err.contains("sign_certificate") && err.contains("CERTIFICATE"),
            "{err}"
        );

        let mut d = valid_data();
        d.pem.auth_ca_certificate = "not pem".to_string();
        assert!(error_of(d).contains("auth_ca_certificate"));
    }
}
