//! Import of マイナポータル qualification PDFs by label, on the synthetic samples in
//! tests/fixtures/portal/ (see its README for how they were made), and refusal of bad files.

use onshi_desk::domain::claim::declaration::Relationship;
use onshi_desk::import::{extract_portal_fields, ImportError};
use time::macros::date;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/portal/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn label_and_value_on_one_line() {
    let f = extract_portal_fields(&fixture("inline.pdf")).unwrap();
    assert_eq!(f.name.as_deref(), Some("山田 花子"));
    assert_eq!(f.birthdate.as_deref(), Some("1985年6月15日"));
    assert_eq!(f.insurer_number.as_deref(), Some("06010391"));
    assert_eq!(f.insurer_name.as_deref(), Some("サンプル商事健康保険組合"));
    assert_eq!(
        f.symbol.as_deref(),
        Some("1234"),
        "full-width digits are normalised"
    );
    assert_eq!(f.number.as_deref(), Some("5678"));
    assert_eq!(f.branch.as_deref(), Some("01"));
    assert_eq!(f.relationship.as_deref(), Some("家族"));
    assert_eq!(f.head_name.as_deref(), Some("山田 太郎"));
    assert_eq!(f.head_name_label.as_deref(), Some("被保険者氏名"));
    assert_eq!(f.acquired_on.as_deref(), Some("2020年4月1日"));

    let p = &f.parsed;
    assert_eq!(
        p.insurer_number.as_ref().map(|n| n.as_str()),
        Some("06010391")
    );
    assert_eq!(p.symbol.as_deref(), Some("1234"));
    assert_eq!(p.number.as_deref(), Some("5678"));
    assert_eq!(p.branch.as_deref(), Some("01"));
    assert_eq!(p.birthdate, Some(date!(1985 - 06 - 15)));
    assert_eq!(p.acquired_on, Some(date!(2020 - 04 - 01)));
    assert_eq!(p.relationship, Some(Relationship::Dependant));
}

#[test]
fn a_pdf_with_only_an_owner_password_is_read() {
    // Restrictions (no printing, no copying) but no password to open: readable.
    let f = extract_portal_fields(&fixture("owner-restricted.pdf")).unwrap();
    assert_eq!(f.insurer_number.as_deref(), Some("06010391"));
    assert_eq!(f.name.as_deref(), Some("山田 花子"));
}

#[test]
fn label_above_value_in_a_table() {
    let f = extract_portal_fields(&fixture("table.pdf")).unwrap();
    assert_eq!(f.insurer_number.as_deref(), Some("138057"));
    assert_eq!(f.insurer_name.as_deref(), Some("千代田区国民健康保険"));
    assert_eq!(f.symbol.as_deref(), Some("千代田あ"));
    assert_eq!(f.number.as_deref(), Some("0012345"));
    assert_eq!(f.branch.as_deref(), Some("00"));
    assert_eq!(f.name.as_deref(), Some("鈴木 一郎"));
    assert_eq!(f.birthdate.as_deref(), Some("昭和55年4月2日"));
    assert_eq!(f.relationship.as_deref(), Some("本人"));
    assert_eq!(f.head_name.as_deref(), Some("鈴木 一郎"));
    assert_eq!(f.head_name_label.as_deref(), Some("世帯主氏名"));
    assert_eq!(f.acquired_on.as_deref(), Some("令和2年10月1日"));

    let p = &f.parsed;
    assert_eq!(
        p.insurer_number.as_ref().map(|n| n.as_str()),
        Some("138057")
    );
    assert_eq!(p.number.as_deref(), Some("0012345"), "leading zeros kept");
    assert_eq!(p.birthdate, Some(date!(1980 - 04 - 02)));
    assert_eq!(p.acquired_on, Some(date!(2020 - 10 - 01)));
    assert_eq!(p.relationship, Some(Relationship::Insured));
}

fn err(bytes: &[u8]) -> ImportError {
    extract_portal_fields(bytes).expect_err("must be refused")
}

#[test]
fn malformed_inputs_get_their_own_errors() {
    assert_eq!(err(b"GIF89a not a pdf"), ImportError::NotPdf);
    assert_eq!(err(&fixture("encrypted.pdf")), ImportError::Encrypted);
    assert_eq!(err(&fixture("no-text.pdf")), ImportError::NoText);
    assert_eq!(err(&fixture("no-labels.pdf")), ImportError::NoLabels);

    let whole = fixture("inline.pdf");
    for cut in [20, whole.len() / 4, whole.len() / 2, whole.len() - 40] {
        let e = err(&whole[..cut]);
        assert!(
            matches!(e, ImportError::Malformed(_) | ImportError::NoText),
            "cut at {cut}: {e:?}"
        );
    }
    for e in [
        ImportError::NotPdf,
        ImportError::Encrypted,
        ImportError::NoText,
    ] {
        assert!(!e.desk_message().is_empty() && !e.to_string().is_empty());
    }
}

#[test]
fn the_printed_declaration_reads_back_through_the_same_extractor() {
    // Our own writer's CID font + ToUnicode must be readable by the import's extractor.
    use onshi_desk::domain::claim::declaration::{Facility, SelfDeclaration};
    let d = SelfDeclaration {
        facility: Facility {
            name: "さくら内科クリニック".into(),
            code: "1312345678".into(),
        },
        date: date!(2026 - 11 - 22),
        name: Some("山田 太郎".into()),
        name_kana: None,
        birthdate: Some(date!(1980 - 04 - 02)),
        sex: None,
        address: None,
        phone: None,
        insurance_kind: None,
        insurer_name: None,
        employer: None,
        symbol: Some("1234".into()),
        number: Some("5678".into()),
        relationship: None,
        ratio: None,
    };
    let pdf = onshi_desk::print::render_declaration(&d).unwrap();
    let f = extract_portal_fields(&pdf).unwrap();
    assert_eq!(f.name.as_deref(), Some("山田 太郎"));
    assert_eq!(f.parsed.birthdate, Some(date!(1980 - 04 - 02)));
}
