//! The mock online-qualification server end to end: a real mTLS client (hyper + tokio-rustls)
//! against the real server on 127.0.0.1:0, every fixture outcome, every refusal, faults.

mod support;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hyper::StatusCode;
use onshi_mock::endpoint::{
    self, Faults, RunningServer, CHALLENGE_PATH, CONFIRMATION_PATH, MAX_BODY_BYTES,
};
use onshi_mock::pki::{self, CaKind, CertificateAuthority, UserAuthCertParams};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::*;

/// The standard server, shared by the tests that need no special configuration.
fn server() -> &'static RunningServer {
    static SERVER: OnceLock<RunningServer> = OnceLock::new();
    SERVER.get_or_init(|| endpoint::spawn(server_config()).expect("server"))
}

fn addr() -> std::net::SocketAddr {
    server().addr()
}

fn body(v: &Value) -> &Value {
    &v["XmlMsg"]["MessageBody"]
}

fn head(v: &Value) -> &Value {
    &v["XmlMsg"]["MessageHeader"]
}

fn records(v: &Value) -> Vec<Value> {
    body(v)["ResultList"]["ResultOfQualificationConfirmation"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Confirms by card as the desk would: PIN (challenge signed) unless the card has no usable
/// PIN (face-auth: face method; pin-blocked: visual check).
async fn confirm_card(conn: &mut Connection, id: &str) -> Value {
    let persona = persona(id);
    let search = match id {
        "face-auth" => card_search(persona.auth_certificate_der(), "2"),
        "pin-blocked" => card_search(persona.auth_certificate_der(), "3"),
        _ => {
            let (challenge_id, challenge) = conn.challenge().await.expect("challenge");
            pin_search(&persona, &challenge_id, &challenge)
        }
    };
    let (status, answer) = conn
        .confirm(&envelope(header(&format!("card-{id}")), search))
        .await
        .expect("confirm");
    assert_eq!(status, StatusCode::OK, "{id}: {answer}");
    answer
}

/// (SegmentOfResult, ProcessingResultStatus, QualificationValidity, ProcessingResultCode).
type Summary = (String, String, String, String);

fn summary(v: &Value) -> Summary {
    let s = |x: &Value| x.as_str().unwrap_or("-").to_string();
    (
        s(&head(v)["SegmentOfResult"]),
        s(&body(v)["ProcessingResultStatus"]),
        s(&body(v)["QualificationValidity"]),
        s(&body(v)["ProcessingResultCode"]),
    )
}

fn t(seg: &str, status: &str, validity: &str, code: &str) -> Summary {
    (seg.into(), status.into(), validity.into(), code.into())
}

#[tokio::test]
async fn every_card_outcome() {
    let mut conn = Connection::facility(addr()).await.expect("connect");
    let expected = [
        ("valid", t("1", "1", "1", "-")),
        ("expiring-soon", t("1", "1", "1", "PH0102")),
        ("expired-grace", t("1", "1", "1", "PH0101")),
        ("expired", t("1", "2", "-", "PH1005")),
        ("top-bit-serial", t("1", "1", "1", "-")),
        ("small-cert", t("1", "1", "2", "-")),
        ("large-cert", t("1", "1", "1", "-")),
        ("pin-one-left", t("1", "1", "3", "-")),
        ("pin-blocked", t("1", "1", "4", "-")),
        ("face-auth", t("1", "1", "5", "-")),
        ("not-registered", t("1", "2", "-", "PH1001")),
        ("registration-cancelled", t("1", "2", "-", "PH1002")),
        ("card-returned", t("1", "2", "-", "PH1003")),
        ("revoked", t("1", "2", "-", "PH1004")),
        ("system-error", t("9", "2", "-", "-")),
        ("elderly", t("1", "1", "1", "-")),
        ("kokuho", t("1", "1", "1", "-")),
    ];
    for (id, want) in expected {
        let answer = confirm_card(&mut conn, id).await;
        assert_eq!(summary(&answer), want, "{id}: {answer}");
        let h = head(&answer);
        assert_eq!(h["ReferenceClassification"], "1", "{id}");
        assert_eq!(h["ArbitraryFileIdentifier"], format!("card-{id}"), "{id}");
        assert_eq!(h["QualificationConfirmationDate"], AS_OF_TEXT);
        assert_eq!(h["MedicalInstitutionCode"], "1312345678");
        assert_eq!(h["CharacterCodeIdentifier"], "0");
        let count = records(&answer).len();
        match want.2.as_str() {
            "1" | "2" => assert_eq!(count, 1, "{id}"),
            "3" | "5" => assert_eq!(count, 2, "{id}"),
            _ => assert!(body(&answer).get("ResultList").is_none(), "{id}: {answer}"),
        }
        if want.1 == "2" && want.0 == "1" {
            let message = body(&answer)["ProcessingResultMessage"]
                .as_str()
                .expect("message");
            assert!(!message.is_empty());
        }
    }
}

#[tokio::test]
async fn card_record_details() {
    let mut conn = Connection::facility(addr()).await.expect("connect");

    let valid = confirm_card(&mut conn, "valid").await;
    let r = &records(&valid)[0];
    assert_eq!(r["InsurerNumber"], "01130012");
    assert_eq!(r["InsuredPartialContributionRatio"], "030");
    assert_eq!(r["PersonalFamilyClassification"], "1");
    assert_eq!(
        r["LimitApplicationCertificateRelatedInfo"]["LimitApplicationCertificateClassification"],
        "A03"
    );
    assert_eq!(r["InsuredCardExpirationDate"], "");
    assert_eq!(r["SpecificDiseasesCertificateList"], json!([]));
    let time = head(&valid)["ProcessExecutionTime"].as_str().expect("time");
    assert_eq!(time.len(), 14);
    let jst_now = ::time::OffsetDateTime::now_utc().to_offset(::time::macros::offset!(+9));
    assert!(
        time.starts_with(&format!("{:04}", jst_now.year())),
        "{time}"
    );

    let top = confirm_card(&mut conn, "top-bit-serial").await;
    let r = &records(&top)[0];
    assert!(r["InsurerNumber"]
        .as_str()
        .expect("insurer")
        .starts_with("39"));
    assert!(r.get("InsuredCardSymbol").is_none());
    assert_eq!(
        r["InsuredIdentificationNumber"].as_str().map(str::len),
        Some(8)
    );
    assert_eq!(r["InsuredPartialContributionRatio"], "010");

    let small = confirm_card(&mut conn, "small-cert").await;
    let r = &records(&small)[0];
    assert_eq!(r["ReasonOfLoss"], "03");
    assert!(r["DisqualificationDate"].as_str().is_some());

    let moved = confirm_card(&mut conn, "pin-one-left").await;
    let rs = records(&moved);
    assert!(rs.iter().any(|r| r.get("DisqualificationDate").is_some()));
    assert!(rs.iter().any(|r| r.get("DisqualificationDate").is_none()));

    let large = confirm_card(&mut conn, "large-cert").await;
    let r = &records(&large)[0];
    assert!(r["Name"].as_str().expect("name").contains('●'));
    assert_eq!(r["NameKana"], "ﾜﾀﾅﾍﾞ ｹｲｽｹ");

    let kokuho = confirm_card(&mut conn, "kokuho").await;
    assert_eq!(records(&kokuho)[0]["InsurerNumber"], "  138057");

    let elderly = confirm_card(&mut conn, "elderly").await;
    assert_eq!(
        records(&elderly)[0]["ElderlyRecipientCertificateInfo"]
            ["ElderlyRecipientContributionRatio"],
        "020"
    );

    let error = confirm_card(&mut conn, "system-error").await;
    assert_eq!(head(&error)["ErrorCode"], "PH9001");
    assert!(head(&error)["ErrorMessage"].as_str().is_some());
    assert_eq!(body(&error), &json!({"ProcessingResultStatus": "2"}));
}

#[tokio::test]
async fn limit_info_needs_consent() {
    let mut conn = Connection::facility(addr()).await.expect("connect");
    let persona = persona("valid");
    let mut search = card_search(persona.auth_certificate_der(), "3");
    search["LimitApplicationCertificateRelatedConsFlg"] = json!("0");
    let (status, answer) = conn
        .confirm(&envelope(header("c0"), search))
        .await
        .expect("confirm");
    assert_eq!(status, StatusCode::OK);
    let r = &records(&answer)[0];
    assert!(
        r.get("LimitApplicationCertificateRelatedInfo").is_none(),
        "{r}"
    );
    assert_eq!(r["InsurerNumber"], "01130012");
}

#[tokio::test]
async fn every_numbers_outcome() {
    let mut conn = Connection::facility(addr()).await.expect("connect");
    let cases: [(&str, Value, Summary); 13] = [
        (
            "valid",
            numbers_search("01130012", Some("5012345"), "1024", Some("00"), "19800401"),
            t("1", "1", "1", "-"),
        ),
        (
            "valid, no branch",
            numbers_search("01130012", Some("5012345"), "1024", None, "19800401"),
            t("1", "1", "1", "-"),
        ),
        (
            "valid, wrong birthdate",
            numbers_search("01130012", Some("5012345"), "1024", Some("00"), "19800402"),
            t("1", "1", "4", "-"),
        ),
        (
            "unknown number",
            numbers_search("01130012", Some("5012345"), "9999", Some("00"), "19800401"),
            t("1", "1", "4", "-"),
        ),
        (
            "expired card, numbers fine",
            numbers_search("32010019", Some("道職"), "88012", Some("00"), "19901122"),
            t("1", "1", "1", "-"),
        ),
        (
            "not registered",
            numbers_search("01110014", Some("1100456"), "31", Some("00"), "19850914"),
            t("1", "1", "1", "-"),
        ),
        (
            "old numbers",
            numbers_search("01140011", Some("1401234"), "77", Some("00"), "19751231"),
            t("1", "1", "3", "-"),
        ),
        (
            "new numbers",
            numbers_search("06140230", Some("5"), "10203", Some("00"), "19751231"),
            t("1", "1", "1", "-"),
        ),
        (
            "後期, no symbol",
            numbers_search("39402011", None, "12345678", None, "19490303"),
            t("1", "1", "1", "-"),
        ),
        (
            "後期, symbol sent",
            numbers_search("39402011", Some("1"), "12345678", None, "19490303"),
            t("1", "1", "4", "-"),
        ),
        (
            "国保",
            numbers_search("  138057", Some("世01"), "123456", Some("01"), "19880620"),
            t("1", "1", "1", "-"),
        ),
        (
            "system error",
            numbers_search("01150010", Some("1509876"), "1732", Some("00"), "19821111"),
            t("9", "2", "-", "-"),
        ),
        (
            "small-cert lost",
            numbers_search("06040125", Some("22"), "3344", Some("02"), "20150505"),
            t("1", "1", "2", "-"),
        ),
    ];
    for (what, search, want) in cases {
        let (status, answer) = conn
            .confirm(&envelope(header("n"), search))
            .await
            .expect("confirm");
        assert_eq!(status, StatusCode::OK, "{what}: {answer}");
        assert_eq!(summary(&answer), want, "{what}: {answer}");
        assert_eq!(head(&answer)["ReferenceClassification"], "2", "{what}");
    }
    // The new numbers give only the current qualification.
    let (_, answer) = conn
        .confirm(&envelope(
            header("n"),
            numbers_search("06140230", Some("5"), "10203", Some("00"), "19751231"),
        ))
        .await
        .expect("confirm");
    assert_eq!(records(&answer).len(), 1);
}

#[tokio::test]
async fn file_identifier_is_optional_and_echoed() {
    let mut conn = Connection::facility(addr()).await.expect("connect");
    let search = numbers_search("01130012", Some("5012345"), "1024", Some("00"), "19800401");
    let mut h = header("desk1-000123");
    let (_, answer) = conn
        .confirm(&envelope(h.clone(), search.clone()))
        .await
        .expect("confirm");
    assert_eq!(head(&answer)["ArbitraryFileIdentifier"], "desk1-000123");
    h.as_object_mut()
        .expect("object")
        .remove("ArbitraryFileIdentifier");
    let (status, answer) = conn.confirm(&envelope(h, search)).await.expect("confirm");
    assert_eq!(status, StatusCode::OK);
    assert!(head(&answer).get("ArbitraryFileIdentifier").is_none());
}

#[tokio::test]
async fn challenge_shape() {
    let mut conn = Connection::facility(addr()).await.expect("connect");
    let (status, answer) = conn
        .post_json(CHALLENGE_PATH, &json!({}))
        .await
        .expect("post");
    assert_eq!(status, StatusCode::OK);
    let r = &answer["ChallengeResponse"];
    assert!(r["ChallengeId"].as_str().expect("id").starts_with("c-"));
    let bytes = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        r["Challenge"].as_str().expect("challenge"),
    )
    .expect("base64");
    assert_eq!(bytes.len(), 32);
    let until = r["ValidUntil"].as_str().expect("until");
    assert_eq!(until.len(), 14);
    let (status, answer) = conn
        .post_json(CHALLENGE_PATH, &json!({"X": "1"}))
        .await
        .expect("post");
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["Error"]["Code"], "PH4000");
}

#[tokio::test]
async fn tls_requires_a_facility_certificate() {
    // No client certificate at all: the server refuses during the handshake. With TLS 1.3
    // the client learns it on its first read, so the first request must fail.
    let anonymous = client_config(None, false);
    match Connection::open(addr(), anonymous).await {
        Err(_) => {}
        Ok(mut conn) => {
            let result = conn.post(CHALLENGE_PATH, b"{}".to_vec()).await;
            assert!(
                result.is_err(),
                "served without a client certificate: {result:?}"
            );
        }
    }
    // A facility certificate from a CA the server does not trust.
    let (_, foreign) = pki::tls::foreign_client_cert(AS_OF).expect("foreign cert");
    let identity = (
        certs_from_pem(&foreign.certificate_pem),
        key_from_pem(&foreign.private_key_pem),
    );
    match Connection::open(addr(), client_config(Some(identity), false)).await {
        Err(_) => {}
        Ok(mut conn) => {
            let result = conn.post(CHALLENGE_PATH, b"{}".to_vec()).await;
            assert!(
                result.is_err(),
                "served a foreign client certificate: {result:?}"
            );
        }
    }
    // And the server still serves the real facility.
    let mut conn = Connection::facility(addr()).await.expect("connect");
    conn.challenge().await.expect("challenge");
}

#[tokio::test]
async fn clients_refuse_bad_server_certificates() {
    let tls = &test_pki().tls;
    let server_ca = tls.load_server_ca().expect("server CA");
    let expired = pki::tls::expired_server_cert(&server_ca).expect("expired");
    let (_, foreign) = pki::tls::foreign_server_cert(AS_OF).expect("foreign");
    for (what, cert) in [("expired", expired), ("foreign CA", foreign)] {
        let config = endpoint::ServerConfig::new(
            certs_from_pem(&cert.certificate_pem),
            key_from_pem(&cert.private_key_pem),
            endpoint::load_certificates(&tls.client_ca_certificate).expect("client CA"),
            &endpoint::load_certificates(&test_pki().generated.auth_ca_certificate).expect("jpki"),
            endpoint::Fixtures::builtin().expect("fixtures"),
        )
        .expect("config");
        let server = endpoint::spawn(config).expect("spawn");
        let result = tls_connect(
            server.addr(),
            client_config(Some(facility_identity()), false),
        )
        .await;
        let error = result
            .err()
            .unwrap_or_else(|| panic!("{what}: the client accepted it"));
        println!("{what}: {error}");
        server.shutdown().expect("shutdown");
    }
}

#[tokio::test]
async fn jpki_certificate_from_another_ca_is_refused() {
    let mut conn = Connection::facility(addr()).await.expect("connect");
    let valid = persona("valid");
    // Same DN as the real CA, different key: only the signature tells them apart.
    let impostor =
        CertificateAuthority::generate(CaKind::UserAuthentication, AS_OF, &mut rand::thread_rng())
            .expect("CA");
    let params = UserAuthCertParams {
        serial: pki::VALID_SERIAL,
        subject_id: "IMPOSTOR00000001".to_string(),
        not_before: pki::jst_end_of_day(pki::add_months(AS_OF, -12).expect("date")).expect("date"),
        not_after: pki::jst_end_of_day(pki::add_months(AS_OF, 36).expect("date")).expect("date"),
        shape: pki::CertShape::Standard,
    };
    let forged = pki::issue_user_auth_cert(
        &impostor,
        &valid.auth_private_key().to_public_key(),
        &params,
    )
    .expect("cert");
    // And the persona's signing certificate: issued by the signing CA, not the user-auth CA.
    for (what, der) in [
        ("forged", forged),
        ("signing cert", valid.sign_certificate_der().to_vec()),
    ] {
        let (status, answer) = conn
            .confirm(&envelope(header("x"), card_search(&der, "3")))
            .await
            .expect("confirm");
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {answer}");
        assert_eq!(answer["Error"]["Code"], "PH4030", "{what}");
        assert!(answer["Error"]["Detail"].as_str().is_some());
    }
}

#[tokio::test]
async fn pin_method_signature_and_challenge() {
    let mut conn = Connection::facility(addr()).await.expect("connect");
    let valid = persona("valid");
    let other = persona("kokuho");
    let code = |a: &Value| a["Error"]["Code"].as_str().unwrap_or("-").to_string();

    // Signed by another card's key.
    let (id, challenge) = conn.challenge().await.expect("challenge");
    let mut search = pin_search(&valid, &id, &challenge);
    search["ExtChallengeSignature"] = json!(b64(&card_sign(&other, &challenge)));
    let (status, answer) = conn
        .confirm(&envelope(header("x"), search))
        .await
        .expect("confirm");
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "PH4031".into()),
        "{answer}"
    );

    // The challenge was used by that failed attempt: single use whatever the outcome.
    let (status, answer) = conn
        .confirm(&envelope(header("x"), pin_search(&valid, &id, &challenge)))
        .await
        .expect("confirm");
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "PH4032".into()),
        "{answer}"
    );

    // Signature over other bytes; missing signature; signature not base64.
    for (what, value) in [
        (
            "wrong bytes",
            Some(json!(b64(&card_sign(&valid, b"not the challenge")))),
        ),
        ("missing", None),
        ("not base64", Some(json!("***"))),
    ] {
        let (id, challenge) = conn.challenge().await.expect("challenge");
        let mut search = pin_search(&valid, &id, &challenge);
        match value {
            Some(v) => search["ExtChallengeSignature"] = v,
            None => {
                search
                    .as_object_mut()
                    .expect("object")
                    .remove("ExtChallengeSignature");
            }
        }
        let (status, answer) = conn
            .confirm(&envelope(header("x"), search))
            .await
            .expect("confirm");
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::FORBIDDEN, "PH4031".into()),
            "{what}: {answer}"
        );
    }

    // Reuse after success.
    let (id, challenge) = conn.challenge().await.expect("challenge");
    let (status, _) = conn
        .confirm(&envelope(header("x"), pin_search(&valid, &id, &challenge)))
        .await
        .expect("confirm");
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = conn
        .confirm(&envelope(header("x"), pin_search(&valid, &id, &challenge)))
        .await
        .expect("confirm");
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "PH4032".into()),
        "reuse: {answer}"
    );

    // Unknown id; missing id.
    let (_, challenge) = conn.challenge().await.expect("challenge");
    let (status, answer) = conn
        .confirm(&envelope(
            header("x"),
            pin_search(&valid, "c-00000000000000000000000000000000", &challenge),
        ))
        .await
        .expect("confirm");
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "PH4032".into()),
        "unknown: {answer}"
    );
    let mut search = pin_search(&valid, "x", &challenge);
    search
        .as_object_mut()
        .expect("object")
        .remove("ExtChallengeId");
    let (status, answer) = conn
        .confirm(&envelope(header("x"), search))
        .await
        .expect("confirm");
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "PH4032".into()),
        "missing id: {answer}"
    );
}

#[tokio::test]
async fn expired_challenge_is_refused() {
    let server = endpoint::spawn(server_config().with_challenge_ttl(Duration::from_millis(300)))
        .expect("server");
    let mut conn = Connection::facility(server.addr()).await.expect("connect");
    let valid = persona("valid");
    let (id, challenge) = conn.challenge().await.expect("challenge");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, answer) = conn
        .confirm(&envelope(header("x"), pin_search(&valid, &id, &challenge)))
        .await
        .expect("confirm");
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["Error"]["Code"], "PH4032");
    // A fresh one used at once still works.
    let (id, challenge) = conn.challenge().await.expect("challenge");
    let (status, _) = conn
        .confirm(&envelope(header("x"), pin_search(&valid, &id, &challenge)))
        .await
        .expect("confirm");
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_requests_name_the_element() {
    let mut conn = Connection::facility(addr()).await.expect("connect");
    let good = || {
        envelope(
            header("x"),
            numbers_search("01130012", Some("5012345"), "1024", Some("00"), "19800401"),
        )
    };
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    let mut v = good();
    v["XmlMsg"]["MessageBody"]["QualificationConfirmSearchInfo"]
        .as_object_mut()
        .expect("o")
        .remove("Birthdate");
    cases.push(("missing Birthdate", v, "Birthdate"));
    let mut v = good();
    v["XmlMsg"]["MessageHeader"]["QualificationConfirmationDate"] = json!("20261131");
    cases.push(("31 November", v, "QualificationConfirmationDate"));
    let mut v = good();
    v["XmlMsg"]["MessageHeader"]["QualificationConfirmationDate"] = json!("2026-11-21");
    cases.push(("dashed date", v, "QualificationConfirmationDate"));
    let mut v = good();
    v["XmlMsg"]["MessageHeader"]["MedicalInstitutionCode"] = json!("131234567");
    cases.push(("9-digit facility", v, "MedicalInstitutionCode"));
    let mut v = good();
    v["XmlMsg"]["MessageBody"]["QualificationConfirmSearchInfo"]["Birthdate"] = json!(19800401);
    cases.push(("number leaf", v, "Birthdate"));
    let mut v = good();
    v["XmlMsg"]["MessageBody"]["QualificationConfirmSearchInfo"]["InsurerNumber"] = json!("138057");
    cases.push(("unpadded 国保", v, "InsurerNumber"));
    let mut v = good();
    v["XmlMsg"]["MessageBody"]["QualificationConfirmSearchInfo"]["InsuredBranchNumber"] =
        json!("0");
    cases.push(("1-digit branch", v, "InsuredBranchNumber"));
    let mut v = good();
    v["XmlMsg"]["MessageBody"]["QualificationConfirmSearchInfo"]
        ["LimitApplicationCertificateRelatedConsFlg"] = json!("2");
    cases.push(("consent 2", v, "LimitApplicationCertificateRelatedConsFlg"));
    let mut v = good();
    v["XmlMsg"]["MessageBody"]["QualificationConfirmSearchInfo"]["InsurerNumbr"] = json!("1");
    cases.push(("typo", v, "InsurerNumbr"));
    let mut v = good();
    v["XmlMsg"]
        .as_object_mut()
        .expect("o")
        .remove("MessageHeader");
    cases.push(("no header", v, "MessageHeader"));
    let valid = persona("valid");
    let mut search = card_search(valid.auth_certificate_der(), "3");
    search["ExtChallengeId"] = json!("c-1");
    cases.push((
        "challenge with visual",
        envelope(header("x"), search),
        "ExtChallengeId",
    ));
    let mut search = card_search(valid.auth_certificate_der(), "3");
    search["ExtIdentityConfirmationMethod"] = json!("4");
    cases.push((
        "method 4",
        envelope(header("x"), search),
        "ExtIdentityConfirmationMethod",
    ));
    let mut search = card_search(valid.auth_certificate_der(), "3");
    search["ExtUserAuthCertificate"] = json!("%%%");
    cases.push((
        "cert not base64",
        envelope(header("x"), search),
        "ExtUserAuthCertificate",
    ));
    let mut search = card_search(valid.auth_certificate_der(), "3");
    search["ExtUserAuthCertificate"] = json!(b64(b"not DER"));
    cases.push((
        "cert not DER",
        envelope(header("x"), search),
        "ExtUserAuthCertificate",
    ));
    let mut search = card_search(valid.auth_certificate_der(), "3");
    search["InsurerNumber"] = json!("01130012");
    cases.push((
        "mixed forms",
        envelope(header("x"), search),
        "InsurerNumber",
    ));

    for (what, request, element) in cases {
        let (status, answer) = conn.confirm(&request).await.expect("confirm");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert_eq!(answer["Error"]["Code"], "PH4000", "{what}");
        let detail = answer["Error"]["Detail"].as_str().expect("detail");
        assert!(detail.contains(element), "{what}: {detail}");
        assert!(!answer["Error"]["Message"]
            .as_str()
            .expect("message")
            .is_empty());
    }

    for raw in [&b"{not json"[..], b"", b"[]", b"null"] {
        let (status, bytes) = conn
            .post(CONFIRMATION_PATH, raw.to_vec())
            .await
            .expect("post");
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{}",
            String::from_utf8_lossy(raw)
        );
        let answer: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(answer["Error"]["Code"], "PH4000");
    }
    // The connection survived all of that.
    conn.challenge().await.expect("still usable");
}

#[tokio::test]
async fn oversized_body_unknown_path_wrong_method() {
    let mut conn = Connection::facility(addr()).await.expect("connect");
    let mut big = b"{\"pad\":\"".to_vec();
    big.resize(MAX_BODY_BYTES + 10, b'a');
    big.extend_from_slice(b"\"}");
    let (status, bytes) = conn.post(CONFIRMATION_PATH, big).await.expect("post");
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let answer: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(answer["Error"]["Code"], "PH4130");

    // Exactly at the limit is processed (and refused as JSON, not as size).
    let mut edge = vec![b' '; MAX_BODY_BYTES - 2];
    edge.extend_from_slice(b"{}");
    let (status, _) = conn.post(CONFIRMATION_PATH, edge).await.expect("post");
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let mut conn = Connection::facility(addr()).await.expect("connect");
    let (status, bytes) = conn
        .post("/online-qualification/v2/nothing", b"{}".to_vec())
        .await
        .expect("post");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        serde_json::from_slice::<Value>(&bytes).expect("json")["Error"]["Code"],
        "PH4040"
    );
    let (status, headers, bytes) = conn
        .request(hyper::Method::GET, CONFIRMATION_PATH, Vec::new())
        .await
        .expect("get");
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        headers.get(hyper::header::ALLOW).map(|v| v.as_bytes()),
        Some(&b"POST"[..])
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&bytes).expect("json")["Error"]["Code"],
        "PH4050"
    );
}

#[tokio::test]
async fn http2_by_alpn() {
    let tls = tls_connect(addr(), client_config(Some(facility_identity()), true))
        .await
        .expect("connect");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .expect("h2 handshake");
    tokio::spawn(conn);
    // The token of a login over another connection with the same facility certificate.
    let mut login = Connection::facility(addr()).await.expect("connect");
    login.login().await.expect("login");
    let token = login.token.expect("token");
    let request = hyper::Request::post(format!("https://localhost{CHALLENGE_PATH}"))
        .header(hyper::header::AUTHORIZATION, token)
        .body(http_body_util::Full::new(hyper::body::Bytes::from_static(
            b"{}",
        )))
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), hyper::Version::HTTP_2);
}

/// Garbage on some connections (plain TCP junk, junk inside TLS, a silent peer, a half
/// request) while well-behaved clients keep getting correct answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_does_not_disturb_other_clients() {
    let addr = addr();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut good = Vec::new();
    for n in 0..4 {
        let stop = stop.clone();
        good.push(tokio::spawn(async move {
            let mut conn = Connection::facility(addr).await.expect("connect");
            let search =
                numbers_search("01130012", Some("5012345"), "1024", Some("00"), "19800401");
            let mut done = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || done < 20 {
                let (status, answer) = conn
                    .confirm(&envelope(
                        header(&format!("good-{n}-{done}")),
                        search.clone(),
                    ))
                    .await
                    .expect("good client failed");
                assert_eq!(status, StatusCode::OK);
                assert_eq!(
                    head(&answer)["ArbitraryFileIdentifier"],
                    format!("good-{n}-{done}")
                );
                assert_eq!(body(&answer)["QualificationValidity"], "1");
                done += 1;
            }
            done
        }));
    }
    let mut bad = Vec::new();
    // Plain TCP junk instead of a ClientHello.
    bad.push(tokio::spawn(async move {
        for _ in 0..20 {
            if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
                let _ = s
                    .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff garbage")
                    .await;
                let mut buf = [0u8; 64];
                let _ = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await;
            }
        }
    }));
    // Junk inside an authenticated TLS session.
    bad.push(tokio::spawn(async move {
        for i in 0..20 {
            let config = client_config(Some(facility_identity()), false);
            if let Ok(mut tls) = tls_connect(addr, config).await {
                let junk: &[u8] = match i % 3 {
                    0 => b"\x00\x01\x02 not http at all\r\n\r\n",
                    1 => b"POST /online-qualification/v1/challenge HTTP/1.1\r\nContent-Length: banana\r\n\r\n",
                    _ => b"POST /online-qualification/v1/challenge HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"half",
                };
                let _ = tls.write_all(junk).await;
                if i % 3 == 2 {
                    // Vanish mid-body.
                    drop(tls);
                    continue;
                }
                let mut buf = vec![0u8; 1024];
                let _ = tokio::time::timeout(Duration::from_secs(2), tls.read(&mut buf)).await;
            }
        }
    }));
    // Silent peers holding connections open without a handshake.
    let mut silent = Vec::new();
    for _ in 0..8 {
        if let Ok(s) = tokio::net::TcpStream::connect(addr).await {
            silent.push(s);
        }
    }
    for task in bad {
        task.await.expect("bad client task");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in good {
        let done = task.await.expect("good client");
        assert!(done >= 20, "{done}");
    }
    drop(silent);
}

/// A server whose numbers-addressed fault entries are exercised one by one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_faults() {
    let addr = addr();
    let fault = |number: &str| {
        envelope(
            header("fault"),
            numbers_search("06139992", Some("FAULT"), number, None, "19700101"),
        )
    };

    let mut conn = Connection::facility(addr).await.expect("connect");
    let start = Instant::now();
    let (status, answer) = conn.confirm(&fault("DELAY3000")).await.expect("delayed");
    assert!(
        start.elapsed() >= Duration::from_millis(3000),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body(&answer)["QualificationValidity"], "1");

    for (number, want) in [("HTTP500", 500u16), ("HTTP503", 503)] {
        let (status, headers, bytes) = conn
            .request(
                hyper::Method::POST,
                CONFIRMATION_PATH,
                serde_json::to_vec(&fault(number)).expect("json"),
            )
            .await
            .expect("post");
        assert_eq!(status.as_u16(), want);
        assert!(serde_json::from_slice::<Value>(&bytes).is_err());
        if want == 503 {
            assert!(headers.contains_key(hyper::header::RETRY_AFTER));
        }
    }

    let (status, bytes) = conn
        .post(
            CONFIRMATION_PATH,
            serde_json::to_vec(&fault("MALFORMED")).expect("json"),
        )
        .await
        .expect("post");
    assert_eq!(status, StatusCode::OK);
    assert!(!bytes.is_empty());
    assert!(
        serde_json::from_slice::<Value>(&bytes).is_err(),
        "{}",
        String::from_utf8_lossy(&bytes)
    );

    let result = conn
        .post(
            CONFIRMATION_PATH,
            serde_json::to_vec(&fault("DROP")).expect("json"),
        )
        .await;
    assert!(result.is_err(), "dropped connection answered: {result:?}");

    // The server itself is fine.
    let mut conn = Connection::facility(addr).await.expect("connect");
    conn.challenge().await.expect("challenge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_faults() {
    let search = envelope(
        header("g"),
        numbers_search("01130012", Some("5012345"), "1024", Some("00"), "19800401"),
    );
    let with =
        |faults: Faults| endpoint::spawn(server_config().with_faults(faults)).expect("server");

    let server = with(Faults {
        delay_ms: 300,
        ..Faults::NONE
    });
    let mut conn = Connection::facility(server.addr()).await.expect("connect");
    let start = Instant::now();
    conn.challenge().await.expect("challenge");
    assert!(start.elapsed() >= Duration::from_millis(300));
    let (status, _) = conn.confirm(&search).await.expect("confirm");
    assert_eq!(status, StatusCode::OK);
    drop(server);

    let server = with(Faults {
        status: Some(503),
        ..Faults::NONE
    });
    let mut conn = Connection::facility(server.addr()).await.expect("connect");
    let (status, _) = conn
        .post(CHALLENGE_PATH, b"{}".to_vec())
        .await
        .expect("post");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = conn
        .post(
            CONFIRMATION_PATH,
            serde_json::to_vec(&search).expect("json"),
        )
        .await
        .expect("post");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    drop(server);

    let server = with(Faults {
        malformed: true,
        ..Faults::NONE
    });
    let mut conn = Connection::facility(server.addr()).await.expect("connect");
    let (status, bytes) = conn
        .post(
            CONFIRMATION_PATH,
            serde_json::to_vec(&search).expect("json"),
        )
        .await
        .expect("post");
    assert_eq!(status, StatusCode::OK);
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());
    drop(server);

    let server = with(Faults {
        drop: true,
        ..Faults::NONE
    });
    let mut conn = Connection::facility(server.addr()).await.expect("connect");
    assert!(conn.post(CHALLENGE_PATH, b"{}".to_vec()).await.is_err());
    server.shutdown().expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let server = endpoint::spawn(server_config()).expect("server");
    let addr = server.addr();
    let mut conn = Connection::facility(addr).await.expect("connect");
    let in_flight = tokio::spawn(async move {
        let search = envelope(
            header("late"),
            numbers_search("06139992", Some("FAULT"), "DELAY3000", None, "19700101"),
        );
        conn.confirm(&search).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = tokio::task::spawn_blocking(move || server.shutdown());
    let (status, answer) = in_flight
        .await
        .expect("task")
        .expect("answered during shutdown");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(head(&answer)["ArbitraryFileIdentifier"], "late");
    stopped.await.expect("join").expect("shutdown");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
}
