//! The JPKI application (公的個人認証AP): the user-authentication certificate, its PIN and key.
//!
//! Every function takes a [`Channel`] so the same code runs on a PC/SC reader, on the
//! in-process virtual card in unit tests, and on anything else that can transmit an APDU.
//! Selecting the application is also how a My Number card is recognised: ATRs differ from
//! reader to reader (contactless readers make them up), the AID does not.

use std::fmt;

use super::apdu::{Command, Status};
use super::certificate::{der_total_length, UserAuthCertificate};
use super::ef;
use super::error::CardError;
use super::transport::{Channel, Transmit};

/// AID of the JPKI application.
pub const AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];

/// Elementary files of the JPKI application used by the desk.
pub mod files {
    /// User-authentication certificate (readable without PIN).
    pub const AUTH_CERTIFICATE: [u8; 2] = [0x00, 0x0A];
    /// The CA certificate that issued it.
    pub const AUTH_CA_CERTIFICATE: [u8; 2] = [0x00, 0x0B];
    /// User-authentication PIN (4 digits, 3 tries).
    pub const AUTH_PIN: [u8; 2] = [0x00, 0x18];
    /// User-authentication private key.
    pub const AUTH_KEY: [u8; 2] = [0x00, 0x17];
}

/// The 4-digit user-authentication PIN (利用者証明用暗証番号).
///
/// Built only by [`Pin::parse`], so nothing but four ASCII digits ever reaches the card: a
/// typo must not cost the patient one of their three tries. Full-width digits, which a
/// Japanese IME produces, are accepted and sent as ASCII. The digits never appear in `Debug`
/// output and are wiped when the value is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin([u8; 4]);

impl Pin {
    pub fn parse(input: &str) -> Result<Self, CardError> {
        // The digits are gathered in a buffer that is wiped whatever the outcome; sized so
        // it never reallocates (each character gives at most one byte), leaving no copy.
        let input = input.trim();
        let mut digits = zeroize::Zeroizing::new(Vec::with_capacity(input.len()));
        for c in input.chars() {
            digits.push(match c {
                '0'..='9' => c as u8,
                '０'..='９' => b'0' + (c as u32 - '０' as u32) as u8,
                _ => {
                    return Err(CardError::PinFormat(
                        "a character that is not a digit".into(),
                    ))
                }
            });
        }
        let pin: [u8; 4] = digits
            .as_slice()
            .try_into()
            .map_err(|_| CardError::PinFormat(format!("{} digits instead of 4", digits.len())))?;
        Ok(Pin(pin))
    }

    pub(crate) fn ascii(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(****)")
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        // Volatile writes so the optimiser cannot drop the wipe of a value about to die.
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference into our own array.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

/// What the card says about a PIN without spending a try.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "retries_left")]
pub enum PinStatus {
    /// Tries left before the PIN locks (3 when untouched).
    Remaining(u8),
    /// Locked after three failures, or no PIN at all (face-auth card).
    Blocked,
}

/// Selects the JPKI application; any refusal means this is not a My Number card.
pub fn select(ch: &mut Channel<impl Transmit>) -> Result<(), CardError> {
    let r = ch.exchange(&Command::select_aid(&AID))?;
    match r.status() {
        Status::Ok => Ok(()),
        _ => Err(CardError::NotMyNumberCard(r.sw)),
    }
}

/// Reads the user-authentication certificate: 2 SELECTs and ceil(length / 256) READs.
pub fn read_auth_certificate(
    ch: &mut Channel<impl Transmit>,
) -> Result<UserAuthCertificate, CardError> {
    let der = read_certificate_file(ch, files::AUTH_CERTIFICATE)?;
    UserAuthCertificate::from_der(&der)
}

/// Reads a certificate EF (DER then `FF` filler) of the JPKI application, raw.
pub fn read_certificate_file(
    ch: &mut Channel<impl Transmit>,
    file: [u8; 2],
) -> Result<Vec<u8>, CardError> {
    select(ch)?;
    ef::select(ch, file)?.ok_or_else(|| {
        CardError::MalformedCertificate(format!("certificate file {file:02X?} not on the card"))
    })?;
    ef::read_sized(
        ch,
        "READ BINARY certificate",
        der_total_length,
        CardError::MalformedCertificate,
    )
}

/// Asks how many PIN tries are left, without consuming one (VERIFY with no data).
pub fn pin_status(ch: &mut Channel<impl Transmit>) -> Result<PinStatus, CardError> {
    select_pin(ch)?;
    let r = ch.exchange(&Command::verify_status())?;
    match r.status() {
        Status::RetriesLeft(n) => Ok(PinStatus::Remaining(n)),
        Status::AuthBlocked => Ok(PinStatus::Blocked),
        // Some cards answer 9000 while the PIN is verified in this session.
        Status::Ok => Ok(PinStatus::Remaining(3)),
        _ => Err(CardError::UnexpectedStatus {
            operation: "VERIFY (status)",
            sw: r.sw,
        }),
    }
}

/// Verifies the user-authentication PIN. On success the card allows [`sign`] until it is
/// reset or removed.
pub fn verify_pin(ch: &mut Channel<impl Transmit>, pin: &Pin) -> Result<(), CardError> {
    select_pin(ch)?;
    verify_selected(ch, pin)
}

/// VERIFY against the PIN EF already selected; the status mapping every 4-digit PIN shares.
pub(crate) fn verify_selected(ch: &mut Channel<impl Transmit>, pin: &Pin) -> Result<(), CardError> {
    let r = ch.exchange(&Command::verify(pin.ascii()))?;
    match r.status() {
        Status::Ok => Ok(()),
        Status::RetriesLeft(n) => Err(CardError::PinWrong { retries_left: n }),
        Status::AuthBlocked => Err(CardError::PinBlocked),
        Status::WrongLength => Err(CardError::PinFormat("card refused the PIN length".into())),
        _ => Err(CardError::UnexpectedStatus {
            operation: "VERIFY",
            sw: r.sw,
        }),
    }
}

fn select_pin(ch: &mut Channel<impl Transmit>) -> Result<(), CardError> {
    select(ch)?;
    ef::select(ch, files::AUTH_PIN)?.ok_or(CardError::UnexpectedStatus {
        operation: "SELECT PIN EF",
        sw: super::apdu::StatusWord(0x6A, 0x82),
    })
}

/// DER prefix of a SHA-256 DigestInfo (RFC 8017, section 9.2): the card pads and signs what
/// it is given, so the caller supplies the full DigestInfo.
const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Signs a SHA-256 digest with the user-authentication key (RSA PKCS#1 v1.5, 256 bytes).
/// The PIN must have been verified on this card since it was last reset.
pub fn sign(ch: &mut Channel<impl Transmit>, sha256: &[u8; 32]) -> Result<Vec<u8>, CardError> {
    ef::select(ch, files::AUTH_KEY)?.ok_or(CardError::UnexpectedStatus {
        operation: "SELECT key EF",
        sw: super::apdu::StatusWord(0x6A, 0x82),
    })?;
    let mut digest_info = SHA256_DIGEST_INFO_PREFIX.to_vec();
    digest_info.extend_from_slice(sha256);
    let r = ch.exchange(&Command::sign(&digest_info))?;
    match r.status() {
        Status::Ok if r.data.len() == 256 => Ok(r.data),
        Status::Ok => Err(CardError::Transport(format!(
            "signature of {} bytes instead of 256",
            r.data.len()
        ))),
        Status::SecurityNotSatisfied => Err(CardError::PinRequired("SIGN")),
        _ => Err(CardError::UnexpectedStatus {
            operation: "SIGN",
            sw: r.sw,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::apdu::hex_upper;
    use super::*;

    /// The ATR a My Number card shows on a contactless reader.
    const MY_NUMBER_ATR: [u8; 9] = [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14];
    /// ATRs a reader may make up for a card (FeliCa-style, short, none at all).
    const OTHER_ATRS: [&[u8]; 3] = [
        &[
            0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00, 0x03, 0x06,
        ],
        &[0x3B, 0x80, 0x80, 0x01, 0x01],
        &[],
    ];

    /// A card that answers by AID only: the JPKI application with its user-authentication
    /// certificate (or no JPKI at all). Its ATR is the reader's business: nothing an
    /// application sends or receives through [`Transmit`] carries it.
    struct CardByAid {
        jpki: bool,
        certificate: Vec<u8>,
        in_jpki: bool,
        ef: bool,
        sent: Vec<Vec<u8>>,
    }

    impl CardByAid {
        fn new(jpki: bool, der: &[u8]) -> Self {
            let mut certificate = der.to_vec();
            certificate.resize(der.len().div_ceil(256) * 256 + 256, 0xFF);
            Self {
                jpki,
                certificate,
                in_jpki: false,
                ef: false,
                sent: Vec::new(),
            }
        }
    }

    impl Transmit for CardByAid {
        fn transmit(&mut self, c: &[u8]) -> Result<Vec<u8>, CardError> {
            self.sent.push(c.to_vec());
            let ok = |mut data: Vec<u8>| {
                data.extend([0x90, 0x00]);
                Ok(data)
            };
            match c {
                [0x00, 0xA4, 0x04, _, n, aid @ ..] if aid.len() == usize::from(*n) => {
                    self.in_jpki = self.jpki && aid == AID;
                    self.ef = false;
                    if self.in_jpki {
                        ok(Vec::new())
                    } else {
                        Ok(vec![0x6A, 0x82])
                    }
                }
                [0x00, 0xA4, 0x02, _, 2, a, b] if self.in_jpki => {
                    self.ef = [*a, *b] == files::AUTH_CERTIFICATE;
                    if self.ef {
                        ok(Vec::new())
                    } else {
                        Ok(vec![0x6A, 0x82])
                    }
                }
                [0x00, 0xB0, hi, lo, le] if self.ef => {
                    let offset = usize::from(u16::from_be_bytes([*hi, *lo]));
                    let le = if *le == 0 { 256 } else { usize::from(*le) };
                    let file = &self.certificate;
                    match file.get(offset..) {
                        Some(rest) if !rest.is_empty() => ok(rest[..le.min(rest.len())].to_vec()),
                        _ => Ok(vec![0x6B, 0x00]),
                    }
                }
                _ => Ok(vec![0x6D, 0x00]),
            }
        }
    }

    /// The mock's stand-in for a card that is not a My Number card.
    struct Mock(onshi_mock::VirtualCard);

    impl Transmit for Mock {
        fn transmit(&mut self, c: &[u8]) -> Result<Vec<u8>, CardError> {
            Ok(self.0.process(c))
        }
    }

    #[test]
    fn a_my_number_card_reads_fine_whatever_atr_its_reader_shows() {
        let certificate = crate::check::fakes::certificate(time::macros::date!(2026 - 12 - 03));
        for atr in OTHER_ATRS.into_iter().chain([&MY_NUMBER_ATR[..]]) {
            let mut ch = Channel::new(CardByAid::new(true, certificate.der()));
            let read = read_auth_certificate(&mut ch)
                .unwrap_or_else(|e| panic!("ATR {}: {e}", hex_upper(atr)));
            assert_eq!(read.der(), certificate.der());
            let sent = ch.into_inner().sent;
            assert_eq!(
                sent[0],
                Command::select_aid(&AID).to_bytes(),
                "selected by AID"
            );
        }
    }

    #[test]
    fn a_card_whose_jpki_select_fails_is_not_a_my_number_card_whatever_its_atr() {
        // Even with the very ATR of a My Number card.
        for atr in OTHER_ATRS.into_iter().chain([&MY_NUMBER_ATR[..]]) {
            let card = onshi_mock::VirtualCard::not_jpki_with(onshi_mock::CardOptions {
                atr: Some(atr.to_vec()),
                ..Default::default()
            });
            assert_eq!(card.atr(), atr);
            let mut ch = Channel::new(Mock(card));
            assert!(
                matches!(
                    read_auth_certificate(&mut ch),
                    Err(CardError::NotMyNumberCard(_))
                ),
                "ATR {}",
                hex_upper(atr)
            );
            assert!(matches!(
                pin_status(&mut ch),
                Err(CardError::NotMyNumberCard(_))
            ));
            assert_eq!(ch.apdu_count(), 2, "one SELECT each, nothing after it");

            let mut ch = Channel::new(CardByAid::new(false, &[]));
            let refused = read_auth_certificate(&mut ch).expect_err("no JPKI");
            assert_eq!(refused.kind(), "not_my_number_card");
            assert!(refused
                .desk_message()
                .contains("マイナンバーカードではない"));
        }
    }

    #[test]
    fn a_pin_is_exactly_four_digits() {
        assert_eq!(Pin::parse("1234").expect("ok").ascii(), b"1234");
        assert_eq!(Pin::parse(" 0000\n").expect("trimmed").ascii(), b"0000");
        assert_eq!(Pin::parse("１２３４").expect("full-width").ascii(), b"1234");
        for bad in [
            "",
            "123",
            "12345",
            "12a4",
            "12 34",
            "一二三四",
            "-123",
            "+123",
        ] {
            assert!(
                matches!(Pin::parse(bad), Err(CardError::PinFormat(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_pin_never_shows_in_debug_output() {
        let pin = Pin::parse("9876").expect("ok");
        assert_eq!(format!("{pin:?}"), "Pin(****)");
    }

    #[test]
    fn the_digest_info_prefix_is_sha256() {
        // SEQUENCE { SEQUENCE { OID 2.16.840.1.101.3.4.2.1, NULL }, OCTET STRING (32) }
        assert_eq!(SHA256_DIGEST_INFO_PREFIX.len() + 32, 0x31 + 2);
        assert_eq!(
            &SHA256_DIGEST_INFO_PREFIX[6..15],
            &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01]
        );
    }
}
