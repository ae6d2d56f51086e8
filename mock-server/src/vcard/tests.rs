use rsa::pkcs8::DecodePublicKey;
use rsa::RsaPublicKey;
use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode};

use super::*;
use crate::pki::fixtures::fixtures;

const SELECT_JPKI: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
];
const SELECT_CARD_INFO: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08,
];
/// SHA-256 DigestInfo prefix.
const SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

fn card() -> VirtualCard {
    card_with(CardOptions::default())
}

fn card_with(options: CardOptions) -> VirtualCard {
    let mut card = VirtualCard::new(fixtures().valid.clone(), options);
    card.power_on();
    card
}

fn sw_of(response: &[u8]) -> u16 {
    let n = response.len();
    assert!(n >= 2, "response too short: {response:02X?}");
    u16::from_be_bytes([response[n - 2], response[n - 1]])
}

fn data_of(response: &[u8]) -> &[u8] {
    &response[..response.len() - 2]
}

fn select_ef(card: &mut VirtualCard, id: u16) -> u16 {
    let [hi, lo] = id.to_be_bytes();
    sw_of(&card.process(&[0x00, 0xA4, 0x02, 0x0C, 0x02, hi, lo]))
}

fn read(card: &mut VirtualCard, offset: u16, le: u8) -> Vec<u8> {
    let [hi, lo] = offset.to_be_bytes();
    card.process(&[0x00, 0xB0, hi, lo, le])
}

fn verify(card: &mut VirtualCard, pin: &[u8]) -> u16 {
    let mut cmd = vec![0x00, 0x20, 0x00, 0x80];
    if !pin.is_empty() {
        cmd.push(pin.len() as u8);
        cmd.extend_from_slice(pin);
    }
    sw_of(&card.process(&cmd))
}

fn sign_cmd(digest_info: &[u8]) -> Vec<u8> {
    let mut cmd = vec![0x80, 0x2A, 0x00, 0x80, digest_info.len() as u8];
    cmd.extend_from_slice(digest_info);
    cmd.push(0x00);
    cmd
}

fn digest_info(message: &[u8]) -> Vec<u8> {
    let mut di = SHA256_PREFIX.to_vec();
    di.extend_from_slice(&Sha256::digest(message));
    di
}

/// Reads a whole EF in 256-byte chunks until 6282/6B00, as a careless reader would.
fn read_all(card: &mut VirtualCard) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let r = read(card, out.len() as u16, 0x00);
        match sw_of(&r) {
            sw::OK => out.extend_from_slice(data_of(&r)),
            sw::END_OF_FILE => {
                out.extend_from_slice(data_of(&r));
                return out;
            }
            sw::WRONG_OFFSET => return out,
            other => panic!("unexpected SW {other:04X}"),
        }
    }
}

fn public_key_of(cert_der: &[u8]) -> RsaPublicKey {
    let cert = x509_cert::Certificate::from_der(cert_der).expect("cert");
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .expect("spki");
    RsaPublicKey::from_public_key_der(&spki).expect("rsa key")
}

#[test]
fn atrs() {
    assert_eq!(card().atr(), DEFAULT_ATR);
    assert_eq!(VirtualCard::not_jpki().atr(), NOT_JPKI_ATR);
    let custom = card_with(CardOptions {
        atr: Some(vec![0x3B, 0x00]),
        ..CardOptions::default()
    });
    assert_eq!(custom.atr(), [0x3B, 0x00]);
}

#[test]
fn select_applications() {
    let mut c = card();
    assert_eq!(sw_of(&c.process(&SELECT_JPKI)), sw::OK);
    assert_eq!(c.selection(), (Some(Application::Jpki), None));
    assert_eq!(sw_of(&c.process(&SELECT_CARD_INFO)), sw::OK);
    assert_eq!(c.selection().0, Some(Application::CardInfo));

    // P2=00 is accepted but returns no FCI.
    let mut p2_00 = SELECT_JPKI;
    p2_00[3] = 0x00;
    assert_eq!(c.process(&p2_00), [0x90, 0x00]);

    let mut other = SELECT_JPKI;
    other[14] = 0x02;
    assert_eq!(c.process(&other), [0x6A, 0x82]);
    // A failed SELECT keeps the current application.
    assert_eq!(c.selection().0, Some(Application::Jpki));

    let mut bad_p2 = SELECT_JPKI;
    bad_p2[3] = 0x04;
    assert_eq!(sw_of(&c.process(&bad_p2)), sw::WRONG_P1P2);
    let mut bad_p1 = SELECT_JPKI;
    bad_p1[2] = 0x01;
    assert_eq!(sw_of(&c.process(&bad_p1)), sw::WRONG_P1P2);
    // Case 4 form (Le present) is fine too.
    let mut with_le = SELECT_JPKI.to_vec();
    with_le.push(0x00);
    assert_eq!(sw_of(&c.process(&with_le)), sw::OK);
}

#[test]
fn header_errors() {
    let mut c = card();
    assert_eq!(c.process(&[0x84, 0xA4, 0x04, 0x0C]), [0x6E, 0x00]);
    assert_eq!(c.process(&[0x00, 0xCA, 0x00, 0x00, 0x00]), [0x6D, 0x00]);
    assert_eq!(c.process(&[0x00, 0xC0, 0x00, 0x00, 0x10]), [0x6D, 0x00]);
    assert_eq!(c.process(&[0x00, 0xA4, 0x04]), [0x67, 0x00]);
    assert_eq!(c.process(&[]), [0x67, 0x00]);
    // Lc says 10, 9 bytes follow.
    assert_eq!(c.process(&SELECT_JPKI[..14]), [0x67, 0x00]);
    // Lc says 10, 12 bytes follow.
    let mut long = SELECT_JPKI.to_vec();
    long.extend_from_slice(&[0x00, 0x00]);
    assert_eq!(c.process(&long), [0x67, 0x00]);
    // Extended length is not supported.
    assert_eq!(
        c.process(&[0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00]),
        [0x67, 0x00]
    );
}

#[test]
fn select_ef_rules() {
    let mut c = card();
    assert_eq!(select_ef(&mut c, EF_AUTH_CERT), sw::NOT_FOUND, "no AP");
    c.process(&SELECT_JPKI);
    assert_eq!(select_ef(&mut c, 0x0099), sw::NOT_FOUND);
    assert_eq!(
        select_ef(&mut c, EF_CARD_INFO_PIN),
        sw::NOT_FOUND,
        "other AP's EF"
    );
    for id in [
        EF_AUTH_CERT,
        EF_AUTH_CA_CERT,
        EF_SIGN_CERT,
        EF_SIGN_CA_CERT,
        EF_TOKEN_INFO,
        EF_AUTH_KEY,
        EF_AUTH_PIN,
        EF_SIGN_KEY,
        EF_SIGN_PIN,
    ] {
        assert_eq!(select_ef(&mut c, id), sw::OK, "EF {id:04X}");
    }
    assert_eq!(
        sw_of(&c.process(&[0x00, 0xA4, 0x02, 0x0C, 0x01, 0x0A])),
        sw::WRONG_LENGTH
    );
    // Selecting an application drops the current EF.
    select_ef(&mut c, EF_AUTH_CERT);
    c.process(&SELECT_JPKI);
    assert_eq!(sw_of(&read(&mut c, 0, 4)), sw::NO_CURRENT_EF);
}

#[test]
fn read_user_auth_certificate() {
    let f = fixtures();
    let der = f.valid.auth_certificate_der();
    assert_eq!(der.len(), crate::pki::VALID_CERT_SIZE);
    let mut c = card();
    c.process(&SELECT_JPKI);
    assert_eq!(select_ef(&mut c, EF_AUTH_CERT), sw::OK);

    // OpenSC sizes the EF from the first 4 bytes.
    let head = read(&mut c, 0, 4);
    assert_eq!(sw_of(&head), sw::OK);
    assert_eq!(data_of(&head)[..2], [0x30, 0x82]);
    let len = usize::from(u16::from_be_bytes([head[2], head[3]])) + 4;
    assert_eq!(len, der.len());

    let ef = read_all(&mut c);
    assert_eq!(ef.len(), 2048);
    assert_eq!(&ef[..der.len()], der);
    assert!(ef[der.len()..].iter().all(|b| *b == 0xFF));
}

#[test]
fn read_boundaries() {
    let mut c = card();
    c.process(&SELECT_JPKI);
    select_ef(&mut c, EF_AUTH_CERT);
    // Last full chunk: 0x0700..0x0800.
    let r = read(&mut c, 0x0700, 0x00);
    assert_eq!((sw_of(&r), data_of(&r).len()), (sw::OK, 256));
    // Le past the end: short read + 6282.
    let r = read(&mut c, 0x0780, 0x00);
    assert_eq!((sw_of(&r), data_of(&r).len()), (sw::END_OF_FILE, 128));
    // Exactly to the end is a normal read.
    let r = read(&mut c, 0x07FF, 0x01);
    assert_eq!((sw_of(&r), data_of(&r).len()), (sw::OK, 1));
    let r = read(&mut c, 0x07FF, 0x02);
    assert_eq!((sw_of(&r), data_of(&r).len()), (sw::END_OF_FILE, 1));
    // At or past the end.
    assert_eq!(read(&mut c, 0x0800, 0x01), [0x6B, 0x00]);
    assert_eq!(read(&mut c, 0x7FFF, 0x01), [0x6B, 0x00]);
    // P1 bit 8 set.
    assert_eq!(read(&mut c, 0x8000, 0x01), [0x6A, 0x86]);
    // Missing Le, or data given.
    assert_eq!(c.process(&[0x00, 0xB0, 0x00, 0x00]), [0x67, 0x00]);
    assert_eq!(
        c.process(&[0x00, 0xB0, 0x00, 0x00, 0x01, 0x00]),
        [0x67, 0x00]
    );
}

#[test]
fn cert_ef_sizes() {
    assert_eq!(certificate_ef(&[0x30; 700]).len(), 2048);
    assert_eq!(certificate_ef(&[0x30; 2048]).len(), 2048);
    assert_eq!(certificate_ef(&[0x30; 2049]).len(), 2304);
    let large = fixtures().large.auth_certificate_der();
    assert_eq!(large.len(), crate::pki::LARGE_CERT_SIZE);
    let mut c = VirtualCard::new(fixtures().large.clone(), CardOptions::default());
    c.process(&SELECT_JPKI);
    select_ef(&mut c, EF_AUTH_CERT);
    let ef = read_all(&mut c);
    assert_eq!(ef.len(), 2048);
    assert_eq!(&ef[..large.len()], large);
}

#[test]
fn read_access_rules() {
    let p = &fixtures().valid;
    let mut c = card();
    assert_eq!(read(&mut c, 0, 1), [0x69, 0x86], "nothing selected");
    c.process(&SELECT_JPKI);
    assert_eq!(read(&mut c, 0, 1), [0x69, 0x86], "no EF selected");
    for id in [EF_AUTH_PIN, EF_SIGN_PIN, EF_AUTH_KEY, EF_SIGN_KEY] {
        select_ef(&mut c, id);
        assert_eq!(read(&mut c, 0, 1), [0x69, 0x81], "EF {id:04X}");
    }
    select_ef(&mut c, EF_SIGN_CERT);
    assert_eq!(read(&mut c, 0, 4), [0x69, 0x82]);
    select_ef(&mut c, EF_AUTH_CA_CERT);
    let r = read(&mut c, 0, 0);
    assert_eq!(data_of(&r), &p.auth_ca_certificate_der()[..256]);
    select_ef(&mut c, EF_SIGN_CA_CERT);
    let r = read(&mut c, 0, 0);
    assert_eq!(data_of(&r), &p.sign_ca_certificate_der()[..256]);

    select_ef(&mut c, EF_SIGN_PIN);
    assert_eq!(verify(&mut c, b"ABC123"), sw::OK);
    select_ef(&mut c, EF_SIGN_CERT);
    let ef = read_all(&mut c);
    assert_eq!(
        &ef[..p.sign_certificate_der().len()],
        p.sign_certificate_der()
    );

    select_ef(&mut c, EF_TOKEN_INFO);
    let r = read(&mut c, 0, 0);
    assert_eq!(sw_of(&r), sw::END_OF_FILE);
    assert_eq!(data_of(&r), TOKEN_INFO);
    assert_eq!(
        read(&mut c, 0, 32),
        with_status(TOKEN_INFO.to_vec(), sw::OK)
    );
}

#[test]
fn verify_counts_and_blocks() {
    let mut c = card();
    c.process(&SELECT_JPKI);
    assert_eq!(verify(&mut c, b""), sw::NO_CURRENT_EF, "no EF");
    select_ef(&mut c, EF_AUTH_CERT);
    assert_eq!(verify(&mut c, b"1234"), sw::NO_CURRENT_EF, "not a PIN EF");
    select_ef(&mut c, EF_AUTH_PIN);
    assert_eq!(sw_of(&c.process(&[0x00, 0x20, 0x00, 0x81])), sw::WRONG_P1P2);

    assert_eq!(verify(&mut c, b""), 0x63C3);
    assert_eq!(verify(&mut c, b""), 0x63C3, "status never consumes");
    assert_eq!(verify(&mut c, b"9999"), 0x63C2);
    assert_eq!(verify(&mut c, b""), 0x63C2);
    assert_eq!(verify(&mut c, b"12345"), sw::WRONG_LENGTH);
    assert_eq!(verify(&mut c, b"123"), sw::WRONG_LENGTH);
    assert_eq!(
        c.retries(Secret::UserAuthPin),
        Some(2),
        "wrong length costs nothing"
    );
    assert_eq!(verify(&mut c, b"1234"), sw::OK);
    assert!(c.is_verified(Secret::UserAuthPin));
    assert_eq!(
        verify(&mut c, b""),
        0x63C3,
        "correct PIN restores the counter"
    );

    assert_eq!(verify(&mut c, b"0000"), 0x63C2);
    assert!(
        !c.is_verified(Secret::UserAuthPin),
        "a wrong try drops the verified state"
    );
    assert_eq!(verify(&mut c, b"0000"), 0x63C1);
    assert_eq!(verify(&mut c, b"0000"), 0x63C0);
    assert_eq!(verify(&mut c, b""), sw::BLOCKED);
    assert_eq!(
        verify(&mut c, b"1234"),
        sw::BLOCKED,
        "correct PIN cannot unblock"
    );
    assert_eq!(
        verify(&mut c, b"12"),
        sw::BLOCKED,
        "blocked wins over length"
    );
    assert_eq!(c.retries(Secret::UserAuthPin), Some(0));
    // The other counters are untouched.
    assert_eq!(c.retries(Secret::SigningPassword), Some(5));
    assert_eq!(c.retries(Secret::CardInfoPin), Some(3));
}

#[test]
fn signing_password_counter() {
    let mut c = card();
    c.process(&SELECT_JPKI);
    select_ef(&mut c, EF_SIGN_PIN);
    assert_eq!(verify(&mut c, b""), 0x63C5);
    // No fixed length: any mismatch is a wrong try.
    assert_eq!(verify(&mut c, b"ABC12"), 0x63C4);
    assert_eq!(verify(&mut c, b"abc123"), 0x63C3, "case matters");
    assert_eq!(verify(&mut c, b"ABC123"), sw::OK);
    assert_eq!(verify(&mut c, b""), 0x63C5);
}

#[test]
fn counters_survive_reset_but_verification_does_not() {
    let mut c = card();
    c.process(&SELECT_JPKI);
    select_ef(&mut c, EF_AUTH_PIN);
    assert_eq!(verify(&mut c, b"0000"), 0x63C2);
    select_ef(&mut c, EF_SIGN_PIN);
    assert_eq!(verify(&mut c, b"WRONG1"), 0x63C4);
    assert_eq!(verify(&mut c, b"ABC123"), sw::OK);
    c.reset();
    assert_eq!(c.selection(), (None, None));
    assert!(!c.is_verified(Secret::SigningPassword));
    c.process(&SELECT_JPKI);
    select_ef(&mut c, EF_AUTH_PIN);
    assert_eq!(verify(&mut c, b""), 0x63C2);
    select_ef(&mut c, EF_SIGN_CERT);
    assert_eq!(
        read(&mut c, 0, 4),
        [0x69, 0x82],
        "password must be given again"
    );

    select_ef(&mut c, EF_AUTH_PIN);
    assert_eq!(verify(&mut c, b"1234"), sw::OK);
    c.power_off();
    c.power_on();
    c.process(&SELECT_JPKI);
    select_ef(&mut c, EF_AUTH_KEY);
    assert_eq!(sw_of(&c.process(&sign_cmd(&digest_info(b"x")))), 0x6982);
}

#[test]
fn sign_with_user_auth_key() {
    let p = &fixtures().valid;
    let mut c = card();
    c.process(&SELECT_JPKI);
    let di = digest_info(b"challenge from the server");
    assert_eq!(c.process(&sign_cmd(&di)), [0x69, 0x86], "no key EF");
    select_ef(&mut c, EF_AUTH_KEY);
    assert_eq!(c.process(&sign_cmd(&di)), [0x69, 0x82], "PIN not verified");
    select_ef(&mut c, EF_AUTH_PIN);
    assert_eq!(verify(&mut c, b"1234"), sw::OK);
    select_ef(&mut c, EF_AUTH_KEY);
    // The signing password does not open the user-auth key, and vice versa.
    let r = c.process(&sign_cmd(&di));
    assert_eq!(sw_of(&r), sw::OK);
    let signature = data_of(&r);
    assert_eq!(signature.len(), 256);
    let key = public_key_of(p.auth_certificate_der());
    key.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(b"challenge from the server"),
        signature,
    )
    .expect("signature verifies with the certificate's key");

    // Case 3 form (no Le) is accepted.
    let mut no_le = sign_cmd(&di);
    no_le.pop();
    assert_eq!(sw_of(&c.process(&no_le)), sw::OK);

    assert_eq!(c.process(&sign_cmd(&[0x00; 245]))[256..], [0x90, 0x00]);
    assert_eq!(c.process(&sign_cmd(&[0x00; 246])), [0x67, 0x00]);
    assert_eq!(
        c.process(&[0x80, 0x2A, 0x00, 0x80, 0x00]),
        [0x67, 0x00],
        "no data"
    );
    let mut bad_p2 = sign_cmd(&di);
    bad_p2[3] = 0x81;
    assert_eq!(c.process(&bad_p2), [0x6A, 0x86]);

    select_ef(&mut c, EF_SIGN_KEY);
    assert_eq!(c.process(&sign_cmd(&di)), [0x69, 0x82]);
}

#[test]
fn sign_with_signing_key() {
    let p = &fixtures().valid;
    let mut c = card();
    c.process(&SELECT_JPKI);
    select_ef(&mut c, EF_SIGN_PIN);
    assert_eq!(verify(&mut c, b"ABC123"), sw::OK);
    select_ef(&mut c, EF_AUTH_KEY);
    let di = digest_info(b"document");
    assert_eq!(c.process(&sign_cmd(&di)), [0x69, 0x82]);
    select_ef(&mut c, EF_SIGN_KEY);
    let r = c.process(&sign_cmd(&di));
    assert_eq!(sw_of(&r), sw::OK);
    public_key_of(p.sign_certificate_der())
        .verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(b"document"),
            data_of(&r),
        )
        .expect("signature verifies");
}

#[test]
fn face_auth_card_has_no_pin() {
    let mut c = VirtualCard::new(fixtures().face_auth.clone(), CardOptions::default());
    c.power_on();
    assert_eq!(c.retries(Secret::UserAuthPin), None);
    c.process(&SELECT_JPKI);
    select_ef(&mut c, EF_AUTH_PIN);
    assert_eq!(verify(&mut c, b""), sw::BLOCKED);
    assert_eq!(verify(&mut c, b"1234"), sw::BLOCKED);
    select_ef(&mut c, EF_AUTH_KEY);
    assert_eq!(c.process(&sign_cmd(&digest_info(b"x"))), [0x69, 0x82]);
    // The certificate is still readable: face auth happens outside the card.
    select_ef(&mut c, EF_AUTH_CERT);
    assert_eq!(sw_of(&read(&mut c, 0, 4)), sw::OK);
    c.process(&SELECT_CARD_INFO);
    select_ef(&mut c, EF_CARD_INFO_PIN);
    assert_eq!(verify(&mut c, b""), sw::BLOCKED);
}

#[test]
fn pin_blocked_option() {
    let mut c = card_with(CardOptions {
        pin_blocked: true,
        ..CardOptions::default()
    });
    assert_eq!(c.retries(Secret::UserAuthPin), Some(0));
    c.process(&SELECT_JPKI);
    select_ef(&mut c, EF_AUTH_PIN);
    assert_eq!(verify(&mut c, b""), sw::BLOCKED);
    assert_eq!(verify(&mut c, b"1234"), sw::BLOCKED);
    select_ef(&mut c, EF_SIGN_PIN);
    assert_eq!(verify(&mut c, b""), 0x63C5);
}

#[test]
fn card_info_basic_four() {
    let p = &fixtures().valid;
    let mut c = card();
    c.process(&SELECT_CARD_INFO);
    assert_eq!(select_ef(&mut c, EF_AUTH_CERT), sw::NOT_FOUND);
    assert_eq!(select_ef(&mut c, EF_CARD_INFO_BASIC), sw::OK);
    assert_eq!(read(&mut c, 0, 0), [0x69, 0x82]);
    select_ef(&mut c, EF_CARD_INFO_PIN);
    assert_eq!(verify(&mut c, b""), 0x63C3);
    assert_eq!(verify(&mut c, b"0000"), 0x63C2);
    assert_eq!(verify(&mut c, b"1234"), sw::OK);
    // Its counter is its own: the user-auth PIN was not touched.
    assert_eq!(c.retries(Secret::UserAuthPin), Some(3));
    assert!(!c.is_verified(Secret::UserAuthPin));

    select_ef(&mut c, EF_CARD_INFO_BASIC);
    let ef = read_all(&mut c);
    assert_eq!(ef.len(), 512);
    let tlv = p.basic_info_tlv();
    assert_eq!(&ef[..tlv.len()], tlv);
    assert!(ef[tlv.len()..].iter().all(|b| *b == 0xFF));
    assert_eq!(&ef[..2], [0xFF, 0x20]);
    // Walk DF21's offsets to the name and sex.
    let header = if ef[2] == 0x81 { 4 } else { 3 };
    let offset = |i: usize| {
        usize::from(u16::from_be_bytes([
            ef[header + 3 + 2 * i],
            ef[header + 4 + 2 * i],
        ]))
    };
    let name_at = offset(0);
    assert_eq!(&ef[name_at..name_at + 2], [0xDF, 0x22]);
    let name_len = usize::from(ef[name_at + 2]);
    assert_eq!(
        std::str::from_utf8(&ef[name_at + 3..name_at + 3 + name_len]).ok(),
        Some("山田 花子")
    );
    let birth_at = offset(2);
    assert_eq!(&ef[birth_at..birth_at + 11], b"\xDF\x24\x0819800401");
    let sex_at = offset(3);
    assert_eq!(&ef[sex_at..sex_at + 4], b"\xDF\x25\x012");

    // The JPKI AP's verified state is separate too.
    c.process(&SELECT_JPKI);
    select_ef(&mut c, EF_AUTH_KEY);
    assert_eq!(c.process(&sign_cmd(&digest_info(b"x"))), [0x69, 0x82]);
}

#[test]
fn get_response_quirk() {
    let p = &fixtures().valid;
    let mut c = card_with(CardOptions {
        get_response: true,
        ..CardOptions::default()
    });
    // Status-only answers are unchanged.
    assert_eq!(c.process(&SELECT_JPKI), [0x90, 0x00]);
    assert_eq!(select_ef(&mut c, EF_AUTH_CERT), sw::OK);
    assert_eq!(
        c.process(&[0x00, 0xC0, 0x00, 0x00, 0x10]),
        [0x69, 0x85],
        "nothing pending"
    );

    assert_eq!(read(&mut c, 0, 0), [0x61, 0x00]);
    let r = c.process(&[0x00, 0xC0, 0x00, 0x00, 0x00]);
    assert_eq!(sw_of(&r), sw::OK);
    assert_eq!(data_of(&r), &p.auth_certificate_der()[..256]);
    assert_eq!(
        c.process(&[0x00, 0xC0, 0x00, 0x00, 0x00]),
        [0x69, 0x85],
        "consumed"
    );

    // Partial fetches.
    assert_eq!(read(&mut c, 0, 4), [0x61, 0x04]);
    let r = c.process(&[0x00, 0xC0, 0x00, 0x00, 0x02]);
    assert_eq!(r, [0x30, 0x82, 0x61, 0x02]);
    let r = c.process(&[0x00, 0xC0, 0x00, 0x00, 0x02]);
    assert_eq!(sw_of(&r), sw::OK);
    assert_eq!(data_of(&r), &p.auth_certificate_der()[2..4]);

    // A short read keeps its 6282 after GET RESPONSE.
    assert_eq!(read(&mut c, 0x07F0, 0), [0x61, 0x10]);
    let r = c.process(&[0x00, 0xC0, 0x00, 0x00, 0x10]);
    assert_eq!((sw_of(&r), data_of(&r).len()), (sw::END_OF_FILE, 16));

    // Any other command drops pending data.
    assert_eq!(read(&mut c, 0, 4), [0x61, 0x04]);
    c.process(&SELECT_JPKI);
    assert_eq!(c.process(&[0x00, 0xC0, 0x00, 0x00, 0x04]), [0x69, 0x85]);

    // SIGN's 256 bytes come as 61 00.
    select_ef(&mut c, EF_AUTH_PIN);
    assert_eq!(verify(&mut c, b"1234"), sw::OK);
    select_ef(&mut c, EF_AUTH_KEY);
    assert_eq!(c.process(&sign_cmd(&digest_info(b"x"))), [0x61, 0x00]);
    let r = c.process(&[0x00, 0xC0, 0x00, 0x00, 0x00]);
    assert_eq!((sw_of(&r), data_of(&r).len()), (sw::OK, 256));
}

#[test]
fn wrong_le_quirk() {
    let mut c = card_with(CardOptions {
        wrong_le_6c: true,
        ..CardOptions::default()
    });
    c.process(&SELECT_JPKI);
    select_ef(&mut c, EF_AUTH_CERT);
    assert_eq!(read(&mut c, 0x0780, 0x00), [0x6C, 0x80]);
    let r = read(&mut c, 0x0780, 0x80);
    assert_eq!((sw_of(&r), data_of(&r).len()), (sw::OK, 0x80));
    // Reads that fit are unaffected.
    assert_eq!(sw_of(&read(&mut c, 0, 0)), sw::OK);
    select_ef(&mut c, EF_TOKEN_INFO);
    assert_eq!(read(&mut c, 0, 0), [0x6C, 0x20]);
}

#[test]
fn apdu_counter() {
    let mut c = card();
    assert_eq!(c.apdu_count(), 0);
    c.process(&SELECT_JPKI);
    c.process(&[0x00]);
    c.reset();
    c.process(&[0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(c.apdu_count(), 3);
}

#[test]
fn not_jpki_card() {
    let mut c = VirtualCard::not_jpki();
    c.power_on();
    assert!(!c.is_jpki());
    assert_eq!(c.process(&SELECT_JPKI), [0x6A, 0x82]);
    assert_eq!(c.process(&SELECT_CARD_INFO), [0x6A, 0x82]);
    assert_eq!(
        c.process(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A]),
        [0x6A, 0x82]
    );
    assert_eq!(c.process(&[0x00, 0xB0, 0x00, 0x00, 0x04]), [0x69, 0x86]);
    assert_eq!(c.process(&[0x00, 0x20, 0x00, 0x80]), [0x6D, 0x00]);
    assert_eq!(c.process(&sign_cmd(&[0; 51])), [0x6D, 0x00]);
    assert_eq!(c.retries(Secret::UserAuthPin), None);
    assert_eq!(c.apdu_count(), 6);
}
