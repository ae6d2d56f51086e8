use std::time::Duration;

use time::macros::date;

use super::card_certificate::{expiry_state, grace_end, ExpiryState};
use super::challenge::ChallengeStore;
use super::message::{self, Outcome, Reference};
use super::request::{self, Method, Search};
use crate::fixtures::Fixtures;

#[test]
fn expiry_states_on_the_confirmation_date() {
    let on = date!(2026 - 11 - 21);
    let cases = [
        (date!(2029 - 11 - 21), ExpiryState::Valid),
        (date!(2027 - 02 - 22), ExpiryState::Valid),
        (date!(2027 - 02 - 21), ExpiryState::ExpiringSoon),
        (date!(2027 - 01 - 05), ExpiryState::ExpiringSoon),
        (date!(2026 - 11 - 21), ExpiryState::ExpiringSoon),
        (date!(2026 - 11 - 20), ExpiryState::InGrace),
        (date!(2026 - 11 - 01), ExpiryState::InGrace),
        (date!(2026 - 08 - 01), ExpiryState::InGrace),
        (date!(2026 - 07 - 31), ExpiryState::Expired),
        (date!(2026 - 03 - 21), ExpiryState::Expired),
    ];
    for (expiry, want) in cases {
        assert_eq!(expiry_state(expiry, on), want, "expiry {expiry}");
    }
    assert_eq!(
        grace_end(date!(2026 - 08 - 31)),
        Some(date!(2026 - 11 - 30))
    );
    assert_eq!(
        grace_end(date!(2026 - 11 - 01)),
        Some(date!(2027 - 02 - 28))
    );
    assert_eq!(
        grace_end(date!(2027 - 11 - 15)),
        Some(date!(2028 - 02 - 29))
    );
    // The last day of grace still confirms; the day after does not.
    assert_eq!(
        expiry_state(date!(2026 - 08 - 31), date!(2026 - 11 - 30)),
        ExpiryState::InGrace
    );
    assert_eq!(
        expiry_state(date!(2026 - 08 - 31), date!(2026 - 12 - 01)),
        ExpiryState::Expired
    );
}

#[test]
fn challenges_are_single_use_and_expire() {
    let store = ChallengeStore::new(Duration::from_secs(60));
    let a = store.issue();
    let b = store.issue();
    assert_ne!(a.id, b.id);
    assert_ne!(a.challenge, b.challenge);
    assert!(a.id.starts_with("c-") && a.id.len() == 34);
    assert_eq!(store.take(&a.id), Some(a.challenge));
    assert_eq!(store.take(&a.id), None);
    assert_eq!(store.take("c-unknown"), None);

    let short = ChallengeStore::new(Duration::from_millis(1));
    let c = short.issue();
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(short.take(&c.id), None);
}

fn numbers_body(search: &str) -> String {
    format!(
        r#"{{"XmlMsg":{{"MessageHeader":{{"QualificationConfirmationDate":"20261121","MedicalInstitutionCode":"1312345678"}},"MessageBody":{{"QualificationConfirmSearchInfo":{{{search}}}}}}}}}"#
    )
}

#[test]
fn request_forms() {
    let numbers = numbers_body(
        r#""InsurerNumber":"  138057","InsuredCardSymbol":"","InsuredIdentificationNumber":"123456","Birthdate":"19880620","LimitApplicationCertificateRelatedConsFlg":"0""#,
    );
    let parsed = request::parse(numbers.as_bytes()).expect("numbers");
    assert_eq!(parsed.header.date, date!(2026 - 11 - 21));
    assert_eq!(parsed.header.file_id, None);
    assert!(!parsed.limit_consent);
    match parsed.search {
        Search::Numbers(n) => {
            assert_eq!(n.insurer_number, "  138057");
            assert_eq!(n.symbol, None, "empty counts as absent");
            assert_eq!(n.branch, None);
        }
        Search::Card(_) => panic!("card"),
    }

    let card = numbers_body(
        r#""ExtUserAuthCertificate":"MAA=","ExtIdentityConfirmationMethod":"1","ExtChallengeId":"c-1","LimitApplicationCertificateRelatedConsFlg":"1""#,
    );
    match request::parse(card.as_bytes()).expect("card").search {
        Search::Card(c) => {
            assert_eq!(c.certificate, [0x30, 0x00]);
            assert_eq!(c.method, Method::Pin);
            assert_eq!(c.challenge_id.as_deref(), Some("c-1"));
            assert_eq!(c.signature_base64, None);
        }
        Search::Numbers(_) => panic!("numbers"),
    }
}

#[test]
fn request_refusals_name_the_element() {
    let ok = r#""InsurerNumber":"01130012","InsuredIdentificationNumber":"1","Birthdate":"19800401","LimitApplicationCertificateRelatedConsFlg":"1""#;
    let cases = [
        (
            ok.replace("19800401", "19800431"),
            "QualificationConfirmSearchInfo/Birthdate",
        ),
        (ok.replace("19800401", "1980041"), "Birthdate"),
        (ok.replace("\"01130012\"", "\"0113001\""), "InsurerNumber"),
        (ok.replace("\"01130012\"", "\"0113001X\""), "InsurerNumber"),
        (
            ok.replace(",\"Birthdate\":\"19800401\"", ""),
            "Birthdate: missing",
        ),
        (
            ok.replace("\"1\",\"Birthdate\"", "[\"1\"],\"Birthdate\""),
            "must be a string, found an array",
        ),
        (
            format!("{ok},\"InsuredBranchNumber\":\"123\""),
            "InsuredBranchNumber",
        ),
        (format!("{ok},\"ExtChallengeId\":\"c\""), "ExtChallengeId"),
        (
            format!("{ok},\"InsuredCardSymbol\":\"a\\u0007\""),
            "InsuredCardSymbol",
        ),
    ];
    for (search, needle) in cases {
        let body = numbers_body(&search);
        let error = request::parse(body.as_bytes()).expect_err(&search);
        assert!(error.0.contains(needle), "{needle}: {}", error.0);
    }
    let header_cases = [
        (
            "\"20261121\"",
            "\"20260229\"",
            "QualificationConfirmationDate",
        ),
        ("\"1312345678\"", "\"131234567X\"", "MedicalInstitutionCode"),
    ];
    for (from, to, needle) in header_cases {
        let body = numbers_body(ok).replace(from, to);
        let error = request::parse(body.as_bytes()).expect_err(to);
        assert!(error.0.contains(needle), "{needle}: {}", error.0);
    }
    let error = request::parse(b"{\"XmlMsg\":{}, \"Extra\":1}").expect_err("extra");
    assert!(error.0.contains("Extra"), "{}", error.0);
}

#[test]
fn response_element_order() {
    let fixtures = Fixtures::builtin().expect("fixtures");
    let request = request::parse(
        numbers_body(
            r#""InsurerNumber":"01130012","InsuredIdentificationNumber":"1","Birthdate":"19800401","LimitApplicationCertificateRelatedConsFlg":"1""#,
        )
        .as_bytes(),
    )
    .expect("request");
    let entry = fixtures.get("valid").expect("valid");
    let text = String::from_utf8(
        message::confirmation(
            &request.header,
            "20261121103012",
            Reference::Numbers,
            Outcome::Qualification { entry, note: None },
            true,
        )
        .expect("serialise"),
    )
    .expect("utf-8");
    let order = [
        "ProcessExecutionTime",
        "QualificationConfirmationDate",
        "MedicalInstitutionCode",
        "ReferenceClassification",
        "SegmentOfResult",
        "CharacterCodeIdentifier",
        "ProcessingResultStatus",
        "QualificationValidity",
        "ResultList",
        "InsuredCardClassification",
        "InsurerNumber",
        "InsuredCardSymbol",
        "InsuredIdentificationNumber",
        "InsuredBranchNumber",
        "PersonalFamilyClassification",
        "InsuredName",
        "\"Name\"",
        "NameKana",
        "Sex1",
        "Birthdate",
        "LimitApplicationCertificateRelatedInfo",
        "SpecificDiseasesCertificateList",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|name| {
            text.find(name)
                .unwrap_or_else(|| panic!("{name} missing: {text}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(
        !text.contains("ArbitraryFileIdentifier"),
        "absent is omitted"
    );

    let none = String::from_utf8(
        message::confirmation(
            &request.header,
            "20261121103012",
            Reference::Card,
            Outcome::NotFound,
            true,
        )
        .expect("serialise"),
    )
    .expect("utf-8");
    assert!(none.contains(r#""QualificationValidity":"4""#), "{none}");
    assert!(!none.contains("ResultList"), "{none}");
}

#[test]
fn tokens_are_bound_checked_and_used_up() {
    use super::token::{ClientIdentity, Refusal, TokenStore};
    let ours = ClientIdentity::of(b"our facility certificate");
    let theirs = ClientIdentity::of(b"their facility certificate");
    let store = TokenStore::new(Duration::from_secs(60), Some(2));
    let issued = store.issue(ours);
    assert!(issued.id_token.starts_with("it-") && issued.id_token.len() == 67);
    assert_ne!(issued.id_token, store.issue(ours).id_token);
    assert_eq!(store.check(None, Some(ours)), Err(Refusal::Missing));
    assert_eq!(store.check(Some("  "), Some(ours)), Err(Refusal::Missing));
    assert_eq!(
        store.check(Some(&issued.access_token), Some(ours)),
        Err(Refusal::Unknown)
    );
    assert_eq!(
        store.check(Some(&issued.id_token), Some(theirs)),
        Err(Refusal::OtherCertificate)
    );
    assert_eq!(
        store.check(Some(&issued.id_token), None),
        Err(Refusal::OtherCertificate)
    );
    assert_eq!(store.check(Some(&issued.id_token), Some(ours)), Ok(()));
    let bearer = format!("bEaReR {}", issued.id_token);
    assert_eq!(store.check(Some(&bearer), Some(ours)), Ok(()));
    assert_eq!(
        store.check(Some(&issued.id_token), Some(ours)),
        Err(Refusal::UsedUp)
    );
    assert_eq!(store.logins(), 2);
    assert_eq!(store.refused(), 6);

    let short = TokenStore::new(Duration::from_millis(1), None);
    let issued = short.issue(ours);
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(
        short.check(Some(&issued.id_token), Some(ours)),
        Err(Refusal::Expired)
    );
}

#[test]
fn public_expense_entries_follow_the_result_list() {
    let fixtures = Fixtures::builtin().expect("fixtures");
    let request = request::parse(
        numbers_body(
            r#""InsurerNumber":"06230155","InsuredIdentificationNumber":"8812","Birthdate":"19750909","LimitApplicationCertificateRelatedConsFlg":"0""#,
        )
        .as_bytes(),
    )
    .expect("request");
    let raw = |id: &str| {
        let entry = fixtures.get(id).expect("entry");
        let bytes = message::confirmation(
            &request.header,
            "20261121103012",
            Reference::Numbers,
            Outcome::Qualification { entry, note: None },
            false,
        )
        .expect("serialise");
        String::from_utf8(bytes).expect("utf-8")
    };
    let answer = |id: &str| serde_json::from_str::<serde_json::Value>(&raw(id)).expect("json");
    let v = answer("pe-nanbyo");
    let body = &v["XmlMsg"]["MessageBody"];
    let list = &body["ExtPublicExpenseInfoList"]["ExtPublicExpenseInfo"];
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{v}");
    let e = &list[0];
    assert_eq!(e["ExtPublicPayerNumber"], "54130018");
    assert_eq!(e["ExtRecipientNumber"], "3456788");
    assert_eq!(e["ExtValidStartDate"], "20260701");
    assert_eq!(e["ExtValidEndDate"], "20270630");
    assert_eq!(e["ExtIncomeCategory"], "一般所得Ⅰ");
    assert_eq!(e["ExtMonthlyCapYen"], "10000");
    // After the insurance, in the body: the 公費 belongs to the person, not to one record.
    let text = raw("pe-nanbyo");
    assert!(
        text.find("ResultList") < text.find("ExtPublicExpenseInfoList"),
        "{text}"
    );
    // 生活保護: no end date is sent at all.
    let v = answer("pe-welfare");
    let e = &v["XmlMsg"]["MessageBody"]["ExtPublicExpenseInfoList"]["ExtPublicExpenseInfo"][0];
    assert_eq!(e["ExtPublicPayerNumber"], "12130019");
    assert!(e.get("ExtValidEndDate").is_none(), "{e}");
    // A person without 公費: no list.
    let v = answer("valid");
    assert!(v["XmlMsg"]["MessageBody"]
        .get("ExtPublicExpenseInfoList")
        .is_none());
}
