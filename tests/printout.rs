//! The printed 被保険者資格申立書, read back the way a person or a scanner would: text through
//! poppler's `pdftotext`, the QR code through `pdftoppm` and the `rqrr` decoder.
//! Needs poppler-utils (installed by `scripts/test`).

use std::path::{Path, PathBuf};
use std::process::Command;

use onshi_desk::domain::claim::declaration::{
    Facility, InsuranceKind, Relationship, SelfDeclaration, Sex,
};
use onshi_desk::domain::ratio::Ratio;
use onshi_desk::print::{declaration_qr_payload, render_declaration, restore_from_qr_payload};
use time::macros::date;

fn full() -> SelfDeclaration {
    SelfDeclaration {
        facility: Facility {
            name: "さくら内科クリニック".into(),
            code: "1312345678".into(),
        },
        date: date!(2026 - 11 - 22),
        name: Some("山田 太郎".into()),
        name_kana: Some("ヤマダ タロウ".into()),
        birthdate: Some(date!(1980 - 04 - 02)),
        sex: Some(Sex::Male),
        address: Some("東京都千代田区霞が関1-2-2".into()),
        phone: Some("03-1234-5678".into()),
        insurance_kind: Some(InsuranceKind::National),
        insurer_name: Some("千代田区".into()),
        employer: Some("株式会社サンプル商事".into()),
        symbol: Some("千代田12".into()),
        number: Some("345678".into()),
        relationship: Some(Relationship::Dependant),
        ratio: Some(Ratio::THREE),
    }
}

fn blank() -> SelfDeclaration {
    SelfDeclaration {
        facility: Facility {
            name: "みどり薬局".into(),
            code: "1340000001".into(),
        },
        date: date!(2026 - 1 - 5),
        name: None,
        name_kana: None,
        birthdate: None,
        sex: None,
        address: None,
        phone: None,
        insurance_kind: None,
        insurer_name: None,
        employer: None,
        symbol: None,
        number: None,
        relationship: None,
        ratio: None,
    }
}

/// Writes the PDF under target/ (kept for a look by eye) and returns its path.
fn write_pdf(name: &str, pdf: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("printout");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, pdf).unwrap();
    path
}

fn pdftotext(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed: scripts/test installs it");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Text without the spaces and line breaks layout adds.
fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Every way the unknown-receipt placeholders could show.
fn assert_no_sevens(text: &str) {
    let s = squeezed(text);
    assert!(
        !s.contains("77777777") && !s.contains("７７７７７７７７"),
        "{text}"
    );
}

#[test]
fn every_entered_field_the_facility_the_date_and_the_explanation_are_printed() {
    let d = full();
    let pdf = render_declaration(&d).unwrap();
    assert!(pdf.len() < 150 * 1024, "{} bytes", pdf.len());
    let path = write_pdf("full.pdf", &pdf);
    let text = pdftotext(&path);
    let s = squeezed(&text);
    for expected in [
        "被保険者資格申立書",
        "さくら内科クリニック",
        "1312345678",
        "2026年11月22日",
        "山田太郎",
        "ヤマダタロウ",
        // The birth date in 和暦 (issue 13), as receipt computers show it.
        "昭和55年4月2日",
        "■男",
        "□女",
        "東京都千代田区霞が関1-2-2",
        "03-1234-5678",
        "□被用者保険",
        "■国民健康保険",
        "□後期高齢者医療",
        "□わからない",
        "千代田区",
        "株式会社サンプル商事",
        "千代田12",
        "345678",
        "□本人",
        "■家族",
        "3割",
        "署名",
        "負担割合（3割）です",
        "マイナポータル",
        "受付にお知らせください",
        "診療報酬の請求が済むまでさくら内科クリニックで保管します",
    ] {
        assert!(s.contains(expected), "{expected:?} missing from:\n{text}");
    }
    assert_no_sevens(&text);
    assert!(
        !s.contains('〓'),
        "a character is missing from the font:\n{text}"
    );
}

#[test]
fn a_blank_form_renders_with_boxes_to_fill_in() {
    let pdf = render_declaration(&blank()).unwrap();
    assert!(pdf.len() < 150 * 1024);
    let text = pdftotext(&write_pdf("blank.pdf", &pdf));
    let s = squeezed(&text);
    for expected in [
        "みどり薬局",
        "2026年1月5日",
        "氏名",
        "フリガナ",
        "生年月日",
        "年月日",
        "□男",
        "□女",
        "□わからない",
        "□本人",
        "□家族",
        "割",
        "年齢に応じた負担割合",
    ] {
        assert!(s.contains(expected), "{expected:?} missing from:\n{text}");
    }
    // Nothing was asked yet: no box is ticked for the patient.
    assert!(!s.contains('■'), "{text}");
}

#[test]
fn the_unknown_receipt_sevens_never_appear() {
    let mut d = full();
    d.symbol = Some("77777777".into());
    d.number = Some("777777777".into());
    d.insurer_name = Some("７７７７７７７７".into());
    let pdf = render_declaration(&d).unwrap();
    let text = pdftotext(&write_pdf("sevens.pdf", &pdf));
    assert_no_sevens(&text);
    assert!(squeezed(&text).contains("山田太郎"));
    let payload = declaration_qr_payload(&d);
    assert!(!payload.contains("7777777"));
}

#[test]
fn hostile_long_values_stay_on_the_page() {
    let mut d = full();
    d.name = Some("寿限無".repeat(200));
    d.address = Some("東京都千代田区".repeat(300));
    d.employer = Some("W".repeat(2000));
    d.facility.name = "とても長い名前の医療法人社団".repeat(40);
    d.symbol = Some("\u{202e}\u{1F600}<script>".into());
    let pdf = render_declaration(&d).unwrap();
    assert!(pdf.len() < 150 * 1024, "{} bytes", pdf.len());
    let text = pdftotext(&write_pdf("hostile.pdf", &pdf));
    let s = squeezed(&text);
    assert!(s.contains("省略"), "{text}");
    assert!(s.contains("寿限無寿限無"), "{text}");
    // Too long for a QR code: the page says so instead of failing.
    assert!(s.contains("省略しました"), "{text}");
    // One page only.
    let info = Command::new("pdfinfo")
        .arg(write_pdf("hostile.pdf", &pdf))
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let pages = info
        .lines()
        .find(|l| l.starts_with("Pages:"))
        .unwrap_or_default();
    assert_eq!(pages.split_whitespace().nth(1), Some("1"), "{info}");
}

/// Rasterises the QR area of the page (300 dpi, grey) and decodes it.
fn decode_qr_from_page(pdf_path: &Path) -> String {
    let out_base = pdf_path.with_extension("qr");
    let mm = |v: f64| ((v / 25.4) * 300.0).round().to_string();
    let status = Command::new("pdftoppm")
        .args(["-r", "300", "-gray", "-f", "1", "-l", "1", "-singlefile"])
        .args([
            "-x",
            &mm(130.0),
            "-y",
            &mm(180.0),
            "-W",
            &mm(80.0),
            "-H",
            &mm(110.0),
        ])
        .arg(pdf_path)
        .arg(&out_base)
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(status.success());
    let pgm = std::fs::read(out_base.with_extension("qr.pgm")).unwrap();
    let (w, h, pixels) = parse_pgm(&pgm);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code expected in the crop");
    let (_meta, content) = grids[0].decode().expect("QR decodes");
    content
}

/// A binary PGM (P5, maxval 255) as written by pdftoppm.
fn parse_pgm(data: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while data[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !data[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = data[i + 1..].to_vec();
    assert_eq!(pixels.len(), w * h);
    (w, h, pixels)
}

#[test]
fn the_qr_code_on_paper_restores_the_record() {
    let d = full();
    let path = write_pdf("qr.pdf", &render_declaration(&d).unwrap());
    let content = decode_qr_from_page(&path);
    assert_eq!(content, declaration_qr_payload(&d));
    assert_eq!(restore_from_qr_payload(&content).unwrap(), d);

    let b = blank();
    let path = write_pdf("qr-blank.pdf", &render_declaration(&b).unwrap());
    assert_eq!(
        restore_from_qr_payload(&decode_qr_from_page(&path)).unwrap(),
        b
    );
}
