use ::time::macros::date;
use x509_parser::prelude::*;

use super::fixtures::{as_of, fixtures};
use super::*;

fn parse(der: &[u8]) -> X509Certificate<'_> {
    let (rest, cert) = X509Certificate::from_der(der).expect("parses");
    assert!(rest.is_empty());
    cert
}

fn rdns(name: &X509Name<'_>) -> Vec<(String, String)> {
    name.iter_rdn()
        .map(|rdn| {
            let attrs: Vec<_> = rdn.iter().collect();
            assert_eq!(attrs.len(), 1, "one attribute per RDN");
            (
                attrs[0].attr_type().to_id_string(),
                attrs[0].as_str().expect("string").to_string(),
            )
        })
        .collect()
}

fn params(shape: CertShape, serial: u64) -> UserAuthCertParams {
    UserAuthCertParams {
        serial,
        subject_id: "12345ABCDE67890F".to_string(),
        not_before: jst_end_of_day(date!(2025 - 01 - 01)).expect("date"),
        not_after: jst_end_of_day(date!(2030 - 01 - 01)).expect("date"),
        shape,
    }
}

fn subject_key() -> RsaPublicKey {
    fixtures().valid.auth_private_key().to_public_key()
}

#[test]
fn ca_dn_has_two_org_units_in_real_order() {
    let f = fixtures();
    let ca = parse(f.auth_ca.certificate_der());
    let expected = vec![
        ("2.5.4.6".to_string(), "JP".to_string()),
        ("2.5.4.10".to_string(), "JPKI".to_string()),
        (
            "2.5.4.11".to_string(),
            "JPKI for user authentication".to_string(),
        ),
        ("2.5.4.11".to_string(), JLIS_OU.to_string()),
    ];
    assert_eq!(rdns(ca.subject()), expected);
    assert_eq!(rdns(ca.issuer()), expected);
    let leaf = parse(f.valid.auth_certificate_der());
    assert_eq!(rdns(leaf.issuer()), expected);
    let sign = parse(f.valid.sign_certificate_der());
    assert_eq!(rdns(sign.issuer())[2].1, "JPKI for digital signature");
}

#[test]
fn user_auth_certificate_shape() {
    let cert_der = fixtures().valid.auth_certificate_der();
    let cert = parse(cert_der);
    assert_eq!(cert.version(), X509Version::V3);
    assert_eq!(cert.raw_serial(), [0x07, 0x05, 0xD9, 0x90]);
    let subject = rdns(cert.subject());
    assert_eq!(subject[0], ("2.5.4.6".to_string(), "JP".to_string()));
    assert_eq!(subject[1].0, "2.5.4.3");
    assert_eq!(subject[1].1.len(), 16);
    assert!(subject[1].1.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        cert.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.113549.1.1.11"
    );
    let not_after = cert.validity().not_after.to_datetime();
    assert_eq!(
        (not_after.hour(), not_after.minute(), not_after.second()),
        (14, 59, 59)
    );
    let key_usage = cert.key_usage().expect("ku").expect("present");
    assert!(key_usage.critical);
    assert!(key_usage.value.digital_signature());
    assert!(!key_usage.value.non_repudiation());
    assert!(cert
        .get_extension_unique(&x509_parser::oid_registry::OID_X509_EXT_CERTIFICATE_POLICIES)
        .expect("policies")
        .is_some_and(|e| e.critical));
    assert!(cert
        .get_extension_unique(&x509_parser::oid_registry::OID_X509_EXT_CRL_DISTRIBUTION_POINTS)
        .expect("crl")
        .is_some());
    assert_eq!(cert_der.len(), VALID_CERT_SIZE);
}

#[test]
fn top_bit_serial_gets_a_leading_zero() {
    let der = issue_user_auth_cert(
        &fixtures().auth_ca,
        &subject_key(),
        &params(CertShape::Standard, TOP_BIT_SERIAL),
    )
    .expect("cert");
    let cert = parse(&der);
    assert_eq!(cert.raw_serial(), [0x00, 0x85, 0xAB, 0xCD, 0xEF]);
    assert_eq!(cert.serial.to_u64_digits(), vec![TOP_BIT_SERIAL]);
}

#[test]
fn padding_hits_exact_sizes() {
    let ca = &fixtures().auth_ca;
    let key = subject_key();
    let minimal = issue_user_auth_cert(ca, &key, &params(CertShape::Minimal, 1)).expect("cert");
    let standard = issue_user_auth_cert(ca, &key, &params(CertShape::Standard, 1)).expect("cert");
    assert!(minimal.len() < standard.len());
    // Around the 1-byte → 2-byte length boundaries of the CPS URI and its wrappers.
    for target in (standard.len()..standard.len() + 300)
        .step_by(7)
        .chain([1200, 1900, 2047, 2048])
    {
        let der = issue_user_auth_cert(ca, &key, &params(CertShape::PaddedTo(target), 2))
            .expect("padded cert");
        assert!(
            der.len() <= target && der.len() + 1 >= target,
            "target {target} got {}",
            der.len()
        );
        parse(&der);
    }
    let too_small = issue_user_auth_cert(ca, &key, &params(CertShape::PaddedTo(900), 3));
    assert!(matches!(
        too_small,
        Err(PkiError::TargetSize { target: 900, .. })
    ));
}

#[test]
fn certificates_chain_to_their_ca() {
    use rsa::pkcs8::DecodePublicKey;
    let f = fixtures();
    for (leaf, ca) in [
        (
            f.valid.auth_certificate_der(),
            f.valid.auth_ca_certificate_der(),
        ),
        (
            f.valid.sign_certificate_der(),
            f.valid.sign_ca_certificate_der(),
        ),
        (
            f.valid.auth_ca_certificate_der(),
            f.valid.auth_ca_certificate_der(),
        ),
    ] {
        let leaf = parse(leaf);
        let ca = parse(ca);
        let key = RsaPublicKey::from_public_key_der(ca.public_key().raw).expect("key");
        key.verify(
            rsa::Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(leaf.tbs_certificate.as_ref()),
            &leaf.signature_value.data,
        )
        .expect("signature verifies");
    }
}

#[test]
fn month_arithmetic() {
    assert_eq!(
        add_months(date!(2026 - 01 - 31), 1).ok(),
        Some(date!(2026 - 02 - 28))
    );
    assert_eq!(
        add_months(date!(2028 - 03 - 31), -1).ok(),
        Some(date!(2028 - 02 - 29))
    );
    assert_eq!(
        add_months(date!(2026 - 11 - 21), -8).ok(),
        Some(date!(2026 - 03 - 21))
    );
    assert_eq!(
        add_months(date!(2026 - 11 - 21), 36).ok(),
        Some(date!(2029 - 11 - 21))
    );
    assert_eq!(
        add_months(date!(2026 - 01 - 15), -13).ok(),
        Some(date!(2024 - 12 - 15))
    );
    let end = jst_end_of_day(date!(2029 - 11 - 21)).expect("date");
    assert_eq!(end.date(), date!(2029 - 11 - 21));
    assert_eq!((end.hour(), end.minute(), end.second()), (14, 59, 59));
    assert_eq!(end.offset(), UtcOffset::UTC);
}

#[test]
fn standard_specs_are_distinct_and_dated() {
    let specs = standard_persona_specs(as_of(), &mut rand::thread_rng()).expect("specs");
    let mut serials: Vec<u64> = specs.iter().map(|s| s.auth.serial).collect();
    serials.extend(specs.iter().map(|s| s.sign_serial));
    let n = serials.len();
    serials.sort_unstable();
    serials.dedup();
    assert_eq!(serials.len(), n, "all serials distinct");
    assert!(specs.iter().any(|s| s.basic.name.contains('●')));
    for spec in &specs {
        assert!(
            spec.auth.not_before.date() <= as_of(),
            "{} issued in the future",
            spec.id
        );
        assert!(spec.auth.serial <= u64::from(u32::MAX));
    }
    assert!(specs.iter().any(|s| s.pin.is_none()));
}

#[test]
fn opaque_ids() {
    let id = opaque_id(&mut rand::thread_rng());
    assert_eq!(id.len(), 16);
    assert!(id
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
}
