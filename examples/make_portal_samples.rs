//! Writes the synthetic マイナポータル qualification PDFs in `tests/fixtures/portal/`.
//!
//! The real portal layout is unconfirmed; these samples are made by this project with its own
//! PDF layer (`onshi_desk::print::pdf`) to exercise label-based import on two layouts, plus
//! files that must be refused. All people, numbers and insurers are fictitious.
//!
//! ```sh
//! cargo run --example make_portal_samples            # writes into tests/fixtures/portal/
//! qpdf --encrypt secret owner 256 -- tests/fixtures/portal/inline.pdf \
//!     tests/fixtures/portal/encrypted.pdf              # the encrypted sample (Debian: qpdf)
//! qpdf --encrypt "" owner 256 --modify=none -- tests/fixtures/portal/inline.pdf \
//!     tests/fixtures/portal/owner-restricted.pdf       # restrictions only, opens without password
//! ```

use std::path::Path;

use onshi_desk::print::pdf::A4Page;

fn header(page: &mut A4Page, title: &str) {
    page.text(20.0, 25.0, 16.0, title);
    page.text(
        20.0,
        33.0,
        8.0,
        "マイナポータル 健康保険証の資格情報（サンプル・架空のデータ）",
    );
    page.line(20.0, 36.0, 190.0, 36.0, 0.8);
}

/// Layout 1: one field per line, label on the left, value further right; two fields use a
/// colon inside one text run instead.
fn inline() -> A4Page {
    let mut page = A4Page::new();
    header(&mut page, "資格情報");
    let rows: &[(&str, &str)] = &[
        ("氏名", "山田 花子"),
        ("生年月日", "1985年6月15日"),
        ("保険者番号", "06010391"),
        ("保険者名", "サンプル商事健康保険組合"),
        ("記号", "１２３４"),
        ("番号", "5678"),
        ("枝番", "01"),
        ("本人・家族", "家族"),
        ("被保険者氏名", "山田 太郎"),
    ];
    let mut y = 50.0;
    for (label, value) in rows {
        page.text(25.0, y, 10.5, label);
        page.text(70.0, y, 10.5, value);
        page.line(25.0, y + 2.5, 185.0, y + 2.5, 0.3);
        y += 10.0;
    }
    page.text(25.0, y, 10.5, "資格取得年月日：2020年4月1日");
    y += 10.0;
    page.text(
        25.0,
        y,
        10.5,
        "照会番号：A-0001（この行は資格情報ではありません）",
    );
    page
}

/// Layout 2: a table, labels in header cells with their values below them; 国保 (6-digit
/// insurer number, 世帯主氏名), 和暦 dates, a label spaced out as 「氏　名」.
fn table() -> A4Page {
    let mut page = A4Page::new();
    header(&mut page, "資格確認情報");
    let rows: &[&[(&str, &str)]] = &[
        &[
            ("保険者番号", "138057"),
            ("保険者名", "千代田区国民健康保険"),
        ],
        &[("記号", "千代田あ"), ("番号", "0012345"), ("枝番", "00")],
        &[
            ("氏　名", "鈴木 一郎"),
            ("生年月日", "昭和55年4月2日"),
            ("本人・家族", "本人"),
        ],
        &[
            ("世帯主氏名", "鈴木 一郎"),
            ("資格取得年月日", "令和2年10月1日"),
        ],
    ];
    let mut top = 45.0;
    for row in rows {
        let w = 170.0 / row.len() as f32;
        for (i, (label, value)) in row.iter().enumerate() {
            let x = 20.0 + i as f32 * w;
            page.rect(x, top, w, 8.0, 0.5);
            page.rect(x, top + 8.0, w, 10.0, 0.5);
            page.text(x + 2.0, top + 5.5, 9.0, label);
            page.text(x + 2.0, top + 15.0, 11.0, value);
        }
        top += 24.0;
    }
    page
}

/// Text, but nothing the import looks for.
fn no_labels() -> A4Page {
    let mut page = A4Page::new();
    header(&mut page, "お知らせ");
    page.text(20.0, 50.0, 10.5, "この文書には資格情報は含まれていません。");
    page
}

/// No text layer at all: only drawing (what a scan looks like to text extraction).
fn no_text() -> A4Page {
    let mut page = A4Page::new();
    page.rect(20.0, 20.0, 170.0, 100.0, 1.0);
    page.line(20.0, 20.0, 190.0, 120.0, 1.0);
    page
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/portal");
    std::fs::create_dir_all(&dir)?;
    for (name, page) in [
        ("inline.pdf", inline()),
        ("table.pdf", table()),
        ("no-labels.pdf", no_labels()),
        ("no-text.pdf", no_text()),
    ] {
        let pdf = page.finish("資格情報（サンプル）")?;
        std::fs::write(dir.join(name), &pdf)?;
        println!("{name}: {} bytes", pdf.len());
    }
    Ok(())
}
