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
            "face-auth",
            "not-registered",
            "registration-cancelled",
            "card-returned",
            "revoked",
            "system-error",
            "elderly",
            "kokuho",
            "pe-infant",
            "pe-child",
            "pe-nanbyo",
            "pe-welfare"
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

    // The personas added for the online outcomes: serials continue 07 05 D9 99, 9A, ...
    for (i, id) in [
        "not-registered",
        "registration-cancelled",
        "card-returned",
        "revoked",
        "system-error",
        "elderly",
        "kokuho",
        "pe-infant",
        "pe-child",
        "pe-nanbyo",
        "pe-welfare",
    ]
    .iter()
    .enumerate()
    {
        let persona = load(id);
        let cert = parse(persona.auth_certificate_der());
        assert_eq!(
            cert.raw_serial(),
            [0x07, 0x05, 0xD9, 0x99 + i as u8],
            "{id}"
        );
        assert!(
            expiry_jst(&cert) > add_months(as_of, 3).expect("date"),
            "{id}"
        );
        assert!(persona.pin().is_some(), "{id}");
    }
    assert_eq!(load("elderly").basic().birth_date, "19540310");

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

#[test]
fn tls_pki() {
    use onshi_mock::pki::tls::{self, FACILITY_CODE};

    let dir = tempfile::tempdir().expect("tempdir");
    let files = tls::generate(dir.path(), date!(2026 - 11 - 21)).expect("generate");
    for path in [
        &files.server_ca_certificate,
        &files.server_ca_private_key,
        &files.server_certificate,
        &files.server_private_key,
        &files.client_ca_certificate,
        &files.client_ca_private_key,
        &files.facility_certificate,
        &files.facility_private_key,
    ] {
        assert!(path.is_file(), "{}", path.display());
        assert!(path.starts_with(dir.path().join("tls")));
    }
    for key in [&files.server_private_key, &files.facility_private_key] {
        let text = std::fs::read_to_string(key).expect("key");
        assert!(
            text.starts_with("-----BEGIN PRIVATE KEY-----"),
            "PKCS#8: {text}"
        );
    }
    let pem_der = |path: &std::path::Path| {
        let text = std::fs::read(path).expect("read");
        let (_, pem) = x509_parser::pem::parse_x509_pem(&text).expect("pem");
        pem.contents
    };
    let server_der = pem_der(&files.server_certificate);
    let server = parse(&server_der);
    let san = server
        .subject_alternative_name()
        .expect("san ext")
        .expect("san");
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(name) => name.to_string(),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => std::net::IpAddr::from(<[u8; 4]>::try_from(*bytes).expect("v4")).to_string(),
                _ => std::net::IpAddr::from(<[u8; 16]>::try_from(*bytes).expect("v6")).to_string(),
            },
            other => other.to_string(),
        })
        .collect();
    assert_eq!(names, ["localhost", "127.0.0.1", "::1"]);
    assert_eq!(
        server.public_key().algorithm.algorithm.to_id_string(),
        "1.2.840.10045.2.1",
        "ECDSA"
    );
    let server_ca_der = pem_der(&files.server_ca_certificate);
    assert_eq!(server.issuer(), parse(&server_ca_der).subject());

    let facility_der = pem_der(&files.facility_certificate);
    let facility = parse(&facility_der);
    let cn = facility
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    assert_eq!(cn.as_deref(), Some(FACILITY_CODE));
    let org = facility
        .subject()
        .iter_organization()
        .next()
        .and_then(|o| o.as_str().ok())
        .map(str::to_string);
    assert_eq!(org.as_deref(), Some(tls::FACILITY_NAME));
    let client_ca_der = pem_der(&files.client_ca_certificate);
    assert_eq!(facility.issuer(), parse(&client_ca_der).subject());
    assert_ne!(
        parse(&client_ca_der).subject(),
        parse(&server_ca_der).subject()
    );

    // The CAs load back and issue the odd certificates.
    let server_ca = files.load_server_ca().expect("load server CA");
    let expired = tls::expired_server_cert(&server_ca).expect("expired");
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(expired.certificate_pem.as_bytes()).expect("pem");
    let expired = parse(&pem.contents);
    assert!(!expired.validity().is_valid());
    assert_eq!(expired.issuer(), parse(&server_ca_der).subject());
    let client_ca = files.load_client_ca().expect("load client CA");
    client_ca
        .issue_client(
            "1399999999",
            "別の医院",
            tls::Validity::around(date!(2026 - 11 - 21)),
        )
        .expect("another facility");
    let (other_ca, other) = tls::foreign_client_cert(date!(2026 - 11 - 21)).expect("foreign");
    let (_, pem) = x509_parser::pem::parse_x509_pem(other.certificate_pem.as_bytes()).expect("pem");
    let (_, ca_pem) =
        x509_parser::pem::parse_x509_pem(other_ca.certificate_pem().as_bytes()).expect("pem");
    assert_eq!(
        parse(&pem.contents).issuer(),
        parse(&ca_pem.contents).subject()
    );
    assert_ne!(
        parse(&pem.contents).issuer(),
        parse(&client_ca_der).subject()
    );
}
