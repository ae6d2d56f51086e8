//! The card layer end to end: pcscd + vpcd + the virtual My Number card.

// `transaction(|ch| jpki::f(ch))` is not redundant: see the note in `src/card/mod.rs`.
#![allow(clippy::redundant_closure)]

mod common;

use common::{card, card_with, expected_certificate, persona, reader, AS_OF};
use onshi_desk::card::{self, jpki, CardError, Pcsc, Pin, PinStatus};
use onshi_desk::domain::expiry::{jst_date, CertificateExpiry, GraceEnd};
use onshi_mock::vcard::{CardOptions, VirtualCard};
use rsa::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};

fn pcsc() -> Pcsc {
    Pcsc::establish().expect("pcscd is running")
}

/// The fewest round trips: SELECT AP, SELECT EF, then one READ per 256 bytes.
fn minimum_apdus(der_len: usize) -> u32 {
    2 + der_len.div_ceil(256) as u32
}

#[test]
fn every_persona_reads_with_its_serial_and_expiry_state() {
    let r = reader();
    let cases = [
        ("valid", "valid"),
        ("expiring-soon", "expiring_soon"),
        ("expired-grace", "expired_grace"),
        ("expired", "expired"),
        ("top-bit-serial", "valid"),
        ("small-cert", "valid"),
        ("large-cert", "valid"),
        ("pin-one-left", "valid"),
        ("pin-blocked", "valid"),
        ("face-auth", "valid"),
    ];
    for (id, expiry) in cases {
        let want = expected_certificate(id);
        let on_reader = r.insert(card(id));
        let read = card::read_certificate(&pcsc(), &r.name).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(read.certificate, want, "{id}: certificate read intact");
        let state = CertificateExpiry::on(
            jst_date(read.certificate.not_after),
            AS_OF,
            GraceEnd::EndOfMonth,
        );
        assert_eq!(state.name(), expiry, "{id}");
        assert_eq!(
            read.apdu_count,
            minimum_apdus(want.der().len()),
            "{id}: APDUs"
        );
        assert_eq!(
            on_reader.apdu_count(),
            read.apdu_count,
            "{id}: the card counted the same"
        );
        r.remove(on_reader);
    }
}

#[test]
fn a_top_bit_serial_is_read_without_sign_padding() {
    let r = reader();
    let inserted = r.insert(card("top-bit-serial"));
    let read = card::read_certificate(&pcsc(), &r.name).expect("read");
    assert_eq!(read.certificate.serial.hex(), "85ABCDEF");
    assert_eq!(read.certificate.serial.decimal(), "2242629103");
    r.remove(inserted);
}

#[test]
fn certificates_from_the_smallest_possible_to_2_kb_read_intact() {
    let r = reader();
    let mut sizes = Vec::new();
    for id in ["small-cert", "valid", "large-cert"] {
        let inserted = r.insert(card(id));
        let read = card::read_certificate(&pcsc(), &r.name).expect("read");
        assert_eq!(read.certificate.der(), persona(id).auth_certificate_der());
        sizes.push(read.certificate.der().len());
        r.remove(inserted);
    }
    // ~830 bytes is the floor for an RSA-2048 certificate under the real JPKI issuer DN
    // (133-byte issuer, 294-byte key, 256-byte signature): the smallest a card can carry.
    assert!(sizes[0] <= 840, "small cert is {} bytes", sizes[0]);
    assert!(
        (1900..=2048).contains(&sizes[2]),
        "large cert is {} bytes",
        sizes[2]
    );
}

#[test]
fn a_card_pulled_after_any_apdu_of_the_read_is_a_clear_error_and_the_next_card_reads() {
    let r = reader();
    let total = minimum_apdus(persona("valid").auth_certificate_der().len());
    for after in 0..total {
        let options = CardOptions {
            remove_after_apdus: Some(after),
            ..CardOptions::default()
        };
        let inserted = r.insert(card_with("valid", options));
        let err = card::read_certificate(&pcsc(), &r.name).expect_err("the card left mid-read");
        assert!(
            matches!(err, CardError::CardRemoved | CardError::NoCard),
            "pulled after {after} APDUs: {err:?}"
        );
        assert!(
            err.desk_message().contains("カード"),
            "{}",
            err.desk_message()
        );
        drop(inserted);
        r.wait_empty();
        let next = r.insert(card("valid"));
        let read = card::read_certificate(&pcsc(), &r.name).expect("the next card reads");
        assert_eq!(read.certificate.serial.hex(), "0705D990");
        r.remove(next);
    }
}

#[test]
fn a_card_without_the_jpki_application_is_not_a_my_number_card() {
    let r = reader();
    let inserted = r.insert(VirtualCard::not_jpki());
    let err = card::read_certificate(&pcsc(), &r.name).expect_err("not JPKI");
    assert!(matches!(err, CardError::NotMyNumberCard(_)), "{err:?}");
    assert!(err.desk_message().contains("マイナンバーカードではない"));
    r.remove(inserted);
}

#[test]
fn wrong_pins_count_down_to_blocked_and_a_blocked_card_costs_nothing() {
    let r = reader();
    let p = pcsc();
    let inserted = r.insert(card("valid"));
    let wrong = Pin::parse("9999").expect("pin");
    assert_eq!(card::pin_status(&p, &r.name), Ok(PinStatus::Remaining(3)));
    assert_eq!(
        card::verify_pin(&p, &r.name, &wrong),
        Err(CardError::PinWrong { retries_left: 2 })
    );
    assert_eq!(card::pin_status(&p, &r.name), Ok(PinStatus::Remaining(2)));
    assert_eq!(
        card::verify_pin(&p, &r.name, &wrong),
        Err(CardError::PinWrong { retries_left: 1 })
    );
    // The counter lives on the card: taking it off and back on changes nothing.
    let card = r.remove(inserted);
    let inserted = r.insert(card);
    assert_eq!(card::pin_status(&p, &r.name), Ok(PinStatus::Remaining(1)));
    assert_eq!(
        card::verify_pin(&p, &r.name, &wrong),
        Err(CardError::PinBlocked)
    );
    assert_eq!(card::pin_status(&p, &r.name), Ok(PinStatus::Blocked));
    let right = Pin::parse("1234").expect("pin");
    assert_eq!(
        card::verify_pin(&p, &r.name, &right),
        Err(CardError::PinBlocked)
    );
    assert_eq!(card::pin_status(&p, &r.name), Ok(PinStatus::Blocked));
    r.remove(inserted);
}

#[test]
fn a_right_pin_resets_the_counter() {
    let r = reader();
    let p = pcsc();
    let inserted = r.insert(card("pin-one-left"));
    assert_eq!(card::pin_status(&p, &r.name), Ok(PinStatus::Remaining(1)));
    let right = Pin::parse(persona("pin-one-left").pin().expect("has a PIN")).expect("pin");
    card::verify_pin(&p, &r.name, &right).expect("right PIN");
    assert_eq!(card::pin_status(&p, &r.name), Ok(PinStatus::Remaining(3)));
    r.remove(inserted);
}

#[test]
fn blocked_and_pinless_cards_refuse_without_consuming() {
    let r = reader();
    let p = pcsc();
    for id in ["pin-blocked", "face-auth"] {
        let inserted = r.insert(card(id));
        assert_eq!(
            card::pin_status(&p, &r.name),
            Ok(PinStatus::Blocked),
            "{id}"
        );
        let err = card::verify_pin(&p, &r.name, &Pin::parse("1234").expect("pin"));
        assert_eq!(err, Err(CardError::PinBlocked), "{id}");
        r.remove(inserted);
    }
    let forced = CardOptions {
        pin_blocked: true,
        ..CardOptions::default()
    };
    let inserted = r.insert(card_with("valid", forced));
    assert_eq!(card::pin_status(&p, &r.name), Ok(PinStatus::Blocked));
    r.remove(inserted);
}

fn verify_signature(id: &str, digest: &[u8; 32], signature: &[u8]) {
    let cert = persona(id);
    let (_, x509) = x509_parser::parse_x509_certificate(cert.auth_certificate_der()).expect("cert");
    let key = rsa::RsaPublicKey::from_public_key_der(x509.public_key().raw).expect("RSA key");
    key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), digest, signature)
        .expect("signature verifies");
}

#[test]
fn the_auth_key_signs_a_digest_after_the_pin() {
    let r = reader();
    let inserted = r.insert(card("valid"));
    let digest: [u8; 32] = Sha256::digest(b"server challenge 0001").into();
    let pin = Pin::parse("1234").expect("pin");
    let signature = card::verify_and_sign(&pcsc(), &r.name, &pin, &digest).expect("signed");
    assert_eq!(signature.len(), 256);
    verify_signature("valid", &digest, &signature);
    r.remove(inserted);
}

#[test]
fn signing_without_the_pin_is_refused() {
    let r = reader();
    let inserted = r.insert(card("valid"));
    let mut c = pcsc().connect(&r.name).expect("connect");
    let err = c.transaction(false, |ch| {
        jpki::select(ch)?;
        jpki::sign(ch, &[0; 32])
    });
    assert_eq!(err.map(|(s, _)| s), Err(CardError::PinRequired("SIGN")));
    drop(c);
    r.remove(inserted);
}

#[test]
fn readers_that_answer_61xx_or_6cxx_still_read_and_sign() {
    let r = reader();
    for options in [
        CardOptions {
            get_response: true,
            ..CardOptions::default()
        },
        CardOptions {
            wrong_le_6c: true,
            ..CardOptions::default()
        },
    ] {
        let inserted = r.insert(card_with("valid", options.clone()));
        let read = card::read_certificate(&pcsc(), &r.name).expect("read");
        assert_eq!(read.certificate, expected_certificate("valid"));
        let digest = [7u8; 32];
        let pin = Pin::parse("1234").expect("pin");
        let signature = card::verify_and_sign(&pcsc(), &r.name, &pin, &digest).expect("signed");
        verify_signature("valid", &digest, &signature);
        r.remove(inserted);
    }
}

#[test]
fn the_basic_four_items_read_after_the_pin() {
    let r = reader();
    let inserted = r.insert(card("valid"));
    let pin = Pin::parse("1234").expect("pin");
    let info = card::read_basic_info(&pcsc(), &r.name, &pin).expect("basic info");
    let want = persona("valid");
    assert_eq!(info.name, want.basic().name);
    assert_eq!(info.address, want.basic().address);
    assert_eq!(
        info.birth_date.to_string().replace('-', ""),
        want.basic().birth_date
    );
    let wrong = Pin::parse("0000").expect("pin");
    assert_eq!(
        card::read_basic_info(&pcsc(), &r.name, &wrong),
        Err(CardError::PinWrong { retries_left: 2 })
    );
    r.remove(inserted);
}

#[test]
fn a_reset_by_another_program_is_survived_by_reads_and_reported_to_verify() {
    let r = reader();
    let inserted = r.insert(card("valid"));
    let p = pcsc();
    let mut ours = p.connect(&r.name).expect("connect");
    let first = ours
        .transaction(true, |ch| jpki::read_auth_certificate(ch))
        .expect("read");
    // Another program resets the card (pcsc-lite ignores a reset-on-disconnect while others
    // share the card, but honours SCardReconnect with reset).
    let other = pcsc();
    let reset_by_other = || {
        let mut theirs = other.connect(&r.name).expect("second handle");
        theirs.reset().expect("reset");
    };
    reset_by_other();
    let (again, _) = ours
        .transaction(true, |ch| jpki::read_auth_certificate(ch))
        .expect("read after reset");
    assert_eq!(again, first.0);
    reset_by_other();
    let pin = Pin::parse("1234").expect("pin");
    let verify = ours.transaction(false, |ch| jpki::verify_pin(ch, &pin));
    assert_eq!(verify.map(|_| ()), Err(CardError::CardReset));
    // The counter was not touched by the interrupted attempt.
    let (status, _) = ours
        .transaction(true, |ch| jpki::pin_status(ch))
        .expect("status");
    assert_eq!(status, PinStatus::Remaining(3));
    drop(ours);
    r.remove(inserted);
}

#[test]
fn opensc_lists_the_virtual_cards_certificates() {
    let r = reader();
    let inserted = r.insert(card("valid"));
    let out = std::process::Command::new("pkcs15-tool")
        .args(["--reader", &r.name, "--list-certificates"])
        .output()
        .expect("pkcs15-tool is installed by scripts/test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("User Authentication Certificate"), "{text}");
    assert!(
        text.contains("User Authentication Certificate CA"),
        "{text}"
    );
    r.remove(inserted);
}
