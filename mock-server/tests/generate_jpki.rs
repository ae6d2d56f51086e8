//! `pki::generate_jpki` end to end: files, persona set, dates, sizes, serials.

use ::time::macros::date;
use ::time::{Date, Month};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};
use x509_parser::prelude::*;

use onshi_mock::pki::{self, add_months};
use onshi_mock::vcard::Secret;
use onshi_mock::{CardOptions, Persona, VirtualCard};

fn parse(der: &[u8]) -> X509Certificate<'_> {
    X509Certificate::from_der(der).expect("cert").1
}

/// JST calendar date of a certificate's notAfter.
fn expiry_jst(cert: &X509Certificate<'_>) -> Date {
    cert.validity()
        .not_after
        .to_datetime()
        .to_offset(::time::macros::offset!(+9))
        .date()
}

/// Default grace end: end of the expiry month + 3 months.
fn grace_end(expiry: Date) -> Date {
    let month_end = Date::from_calendar_date(
        expiry.year(),
        expiry.month(),
        expiry.month().length(expiry.year()),
    )
    .expect("date");
    let later = add_months(month_end.replace_day(1).expect("day"), 3).expect("date");
    Date::from_calendar_date(
        later.year(),
        later.month(),
        later.month().length(later.year()),
    )
    .expect("date")
}

#[test]
fn standard_personas() {
    let as_of = date!(2026 - 11 - 21);
    let dir = tempfile::tempdir().expect("tempdir");
    let generated = pki::generate_jpki(dir.path(), as_of).expect("generate");
    for path in [
        &generated.auth_ca_certificate,
        &generated.auth_ca_private_key,
        &generated.sign_ca_certificate,
        &generated.sign_ca_private_key,
    ] {
        assert!(path.is_file(), "{}", path.display());
    }
    assert!(generated.auth_ca_certificate.ends_with("jpki/auth-ca.pem"));
    let ids: Vec<&str> = generated.personas.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "valid",
            "expiring-soon",
            "expired-grace",
            "expired",
            "top-bit-serial",
            "small-cert",
            "large-cert",
            "pin-one-left",
            "pin-blocked",
            "face-auth"
        ]
    );

    let load = |id: &str| Persona::load(generated.persona_path(id).expect("path")).expect("load");
    let mut serials = Vec::new();
    let mut names = Vec::new();
    for p in &generated.personas {
        assert!(p.path.ends_with(format!("personas/{}.toml", p.id)));
        let persona = Persona::load(&p.path).expect("load");
        let auth = parse(persona.auth_certificate_der());
        let sign = parse(persona.sign_certificate_der());
        serials.push(auth.raw_serial().to_vec());
        serials.push(sign.raw_serial().to_vec());
        names.push(persona.basic().name.clone());
        let not_after = auth.validity().not_after.to_datetime();
        assert_eq!(
            (not_after.hour(), not_after.minute(), not_after.second()),
            (14, 59, 59)
        );
        assert!(auth.validity().not_before.to_datetime().date() <= as_of);
        // Chains: auth under the auth CA, sign under the sign CA.
        for (leaf, ca_der) in [
            (&auth, persona.auth_ca_certificate_der()),
            (&sign, persona.sign_ca_certificate_der()),
        ] {
            let ca = parse(ca_der);
            assert_eq!(leaf.issuer(), ca.subject());
            RsaPublicKey::from_public_key_der(ca.public_key().raw)
                .expect("ca key")
                .verify(
                    Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(leaf.tbs_certificate.as_ref()),
                    &leaf.signature_value.data,
                )
                .expect("chain");
        }
        let pw = persona.signing_password();
        assert!((6..=16).contains(&pw.len()));
        println!(
            "{:16} auth {:4} B  sign {:4} B  serial {}  notAfter(JST) {}",
            p.id,
            persona.auth_certificate_der().len(),
            persona.sign_certificate_der().len(),
            auth.raw_serial_as_string(),
            expiry_jst(&auth)
        );
    }
    let n = serials.len();
    serials.sort();
    serials.dedup();
    assert_eq!(serials.len(), n, "serials distinct");
    assert!(names.iter().any(|n| n.contains('●')));

    let valid = load("valid");
    assert_eq!(valid.auth_certificate_der().len(), pki::VALID_CERT_SIZE);
    assert_eq!(
        parse(valid.auth_certificate_der()).raw_serial(),
        [0x07, 0x05, 0xD9, 0x90]
    );
    assert_eq!(valid.pin(), Some("1234"));
    assert_eq!(
        expiry_jst(&parse(valid.auth_certificate_der())),
        date!(2029 - 11 - 21)
    );

    let soon = expiry_jst(&parse(load("expiring-soon").auth_certificate_der()));
    assert_eq!(soon, date!(2027 - 01 - 05));
    assert!(soon <= add_months(as_of, 3).expect("date"));

    let grace = expiry_jst(&parse(load("expired-grace").auth_certificate_der()));
    assert_eq!(grace, date!(2026 - 11 - 01));
    assert!(grace < as_of && as_of <= grace_end(grace));

    let expired = expiry_jst(&parse(load("expired").auth_certificate_der()));
    assert_eq!(expired, date!(2026 - 03 - 21));
    assert!(grace_end(expired) < as_of);
    assert_eq!(grace_end(expired).month(), Month::June);

    let top = load("top-bit-serial");
    assert_eq!(
        parse(top.auth_certificate_der()).raw_serial(),
        [0x00, 0x85, 0xAB, 0xCD, 0xEF]
    );
    let small = load("small-cert").auth_certificate_der().len();
    let large = load("large-cert").auth_certificate_der().len();
    assert!(small < 900, "small-cert is {small} bytes");
    assert!(
        (1900..=2048).contains(&large),
        "large-cert is {large} bytes"
    );

    let card = |id: &str| VirtualCard::new(load(id), CardOptions::default());
    assert_eq!(card("pin-one-left").retries(Secret::UserAuthPin), Some(1));
    assert_eq!(card("pin-blocked").retries(Secret::UserAuthPin), Some(0));
    assert_eq!(card("face-auth").retries(Secret::UserAuthPin), None);
    assert_eq!(load("face-auth").pin(), None);

    // The CA files load back and can issue more certificates.
    let (auth_ca, _) = generated.load_cas().expect("load CAs");
    let extra = pki::issue_user_auth_cert(
        &auth_ca,
        &valid.auth_private_key().to_public_key(),
        &pki::UserAuthCertParams {
            serial: 0x0123_4567,
            subject_id: "ODD0CERT0000001X".to_string(),
            not_before: pki::jst_end_of_day(date!(2026 - 01 - 01)).expect("date"),
            not_after: pki::jst_end_of_day(date!(2026 - 12 - 31)).expect("date"),
            shape: pki::CertShape::PaddedTo(1500),
        },
    )
    .expect("extra cert");
    assert_eq!(extra.len(), 1500);
    assert_eq!(
        parse(&extra).issuer(),
        parse(valid.auth_certificate_der()).issuer()
    );
}
