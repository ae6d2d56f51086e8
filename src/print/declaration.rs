//! The printed 被保険者資格申立書 (self-declaration, claim path ③) and its QR code.
//!
//! The official template was not found (**unconfirmed**), so this is our own clean A4 design
//! with every field listed in `docs/domain.md#self-declaration`: what is known is printed,
//! what is `None` is an empty box for the patient's handwriting. The explanation for the
//! patient is on the sheet itself, because the desk hands over a copy and keeps the original
//! until the claim is paid.
//!
//! Two rules the form enforces whatever the input says:
//! - the unknown-receipt placeholders (`77777777`, `777777777`, 不詳レセプト) belong to the
//!   claim, never to what the patient signs: a value holding a run of eight 7s is printed as a
//!   blank to fill in, and left out of the QR code too;
//! - the page never overflows: long values wrap, then shrink, then are cut with `…` and a
//!   note on the page says so (the QR code still carries the whole value when it fits).

use serde::{Deserialize, Serialize};
use time::Date;

use super::pdf::{self, A4Page, A4_WIDTH_MM};
use super::PrintError;
use crate::domain::claim::declaration::{InsuranceKind, Relationship, SelfDeclaration, Sex};
use crate::domain::text::normalize_width;

/// The format tag at the head of the QR payload, so a scan of some other code is refused.
pub const QR_FORMAT: &str = "onshi-desk/self-declaration";
/// The payload version this build writes and reads.
pub const QR_VERSION: u32 = 1;

/// Page title, also the PDF's metadata title.
const TITLE: &str = "被保険者資格申立書";

const LEFT: f32 = 15.0;
const RIGHT: f32 = A4_WIDTH_MM - 15.0;
const LABEL_W: f32 = 38.0;
const PAD: f32 = 2.0;
const LABEL_PT: f32 = 9.5;
const VALUE_SIZES: [f32; 5] = [12.0, 10.5, 9.0, 7.5, 6.5];

/// The envelope that goes into the QR code: the format tag and version, then the record.
#[derive(Serialize, Deserialize)]
struct QrEnvelope {
    f: String,
    v: u32,
    d: SelfDeclaration,
}

/// Why a scanned QR payload could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrRestoreError {
    /// Not JSON, or JSON without our format tag: some other QR code.
    #[error("not an onshi-desk self-declaration code: {0}")]
    NotOurs(String),
    /// Our format, a version this build does not read.
    #[error("self-declaration code version {0} is not supported (this build reads {QR_VERSION})")]
    Version(u32),
    /// Our format and version, but the record does not parse.
    #[error("self-declaration code is damaged: {0}")]
    Damaged(String),
}

impl QrRestoreError {
    /// The Japanese sentence for the desk.
    pub fn desk_message(&self) -> &'static str {
        match self {
            QrRestoreError::NotOurs(_) => "このQRコードは被保険者資格申立書のものではありません。",
            QrRestoreError::Version(_) => {
                "この申立書のQRコードは別の版のシステムで作られたため読み込めません。手入力してください。"
            }
            QrRestoreError::Damaged(_) => {
                "QRコードの内容が壊れています。もう一度読み取るか、手入力してください。"
            }
        }
    }
}

/// True when `value` holds the unknown-receipt placeholder (a run of eight or more 7s after
/// width normalisation): such a value never reaches the patient's form.
fn holds_unknown_receipt_sevens(value: &str) -> bool {
    normalize_width(value).contains("77777777")
}

fn scrub(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .filter(|v| !holds_unknown_receipt_sevens(v) && !v.trim().is_empty())
        .cloned()
}

/// The declaration as the form shows it: the unknown-receipt 7s removed (see module doc).
fn for_the_form(d: &SelfDeclaration) -> SelfDeclaration {
    let mut out = d.clone();
    if holds_unknown_receipt_sevens(&out.facility.name) {
        out.facility.name.clear();
    }
    if holds_unknown_receipt_sevens(&out.facility.code) {
        out.facility.code.clear();
    }
    out.name = scrub(&d.name);
    out.name_kana = scrub(&d.name_kana);
    out.address = scrub(&d.address);
    out.phone = scrub(&d.phone);
    out.insurer_name = scrub(&d.insurer_name);
    out.employer = scrub(&d.employer);
    out.symbol = scrub(&d.symbol);
    out.number = scrub(&d.number);
    out
}

/// The QR code's content: compact JSON `{"f":"onshi-desk/self-declaration","v":1,"d":{…}}`
/// with the record in its serde form, so a later scan restores it exactly
/// ([`restore_from_qr_payload`]). Values holding the unknown-receipt 7s are left out, as on
/// the printed form.
pub fn declaration_qr_payload(declaration: &SelfDeclaration) -> String {
    let envelope = QrEnvelope {
        f: QR_FORMAT.to_string(),
        v: QR_VERSION,
        d: for_the_form(declaration),
    };
    // Serialising plain strings, dates and enums cannot fail; fall back to an empty object
    // rather than panic, which restore then refuses as not ours.
    serde_json::to_string(&envelope).unwrap_or_else(|_| "{}".to_string())
}

/// Restores the record from a scanned QR payload (the inverse of [`declaration_qr_payload`]).
/// The record is checked as one typed at the desk and must be in the form the desk writes:
/// a QR code can be made by anyone, so a forged one is [`QrRestoreError::Damaged`].
pub fn restore_from_qr_payload(payload: &str) -> Result<SelfDeclaration, QrRestoreError> {
    let value: serde_json::Value =
        serde_json::from_str(payload.trim()).map_err(|e| QrRestoreError::NotOurs(e.to_string()))?;
    if value.get("f").and_then(|f| f.as_str()) != Some(QR_FORMAT) {
        return Err(QrRestoreError::NotOurs(
            "format tag missing or different".into(),
        ));
    }
    match value.get("v").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(QR_VERSION) => {}
        Some(v) => {
            return Err(QrRestoreError::Version(
                u32::try_from(v).unwrap_or(u32::MAX),
            ))
        }
        None => return Err(QrRestoreError::Damaged("version missing".into())),
    }
    let envelope: QrEnvelope =
        serde_json::from_value(value).map_err(|e| QrRestoreError::Damaged(e.to_string()))?;
    // Anyone can print a QR code: the record goes through the same checks as one typed at
    // the desk (lengths, characters, dates; the birth date as of the declaration's date).
    let json =
        serde_json::to_string(&envelope.d).map_err(|e| QrRestoreError::Damaged(e.to_string()))?;
    let mut checked = crate::domain::claim::input::parse_declaration(&json, envelope.d.date)
        .map_err(|problems| QrRestoreError::Damaged(problems.to_string()))?;
    // The parser charges 3割 when no ratio is given; a code without one had none.
    checked.ratio = envelope.d.ratio;
    // A code the desk printed holds values already in the parser's form; anything else
    // (full-width digits, stray spaces) was not written by onshi-desk.
    if checked != envelope.d {
        return Err(QrRestoreError::Damaged(
            "values not in the form onshi-desk writes".into(),
        ));
    }
    Ok(envelope.d)
}

/// `2026年11月22日` (西暦, no leading zeros), the way the form writes its own date; the
/// patient's birth date is written in 和暦 ([`crate::domain::dates::format_wareki`]).
pub fn japanese_date(date: Date) -> String {
    format!(
        "{}年{}月{}日",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// "■" for the chosen option, "□" for the others: plain characters, so the choice survives
/// text extraction (and a photocopy) as well as ink.
fn checkbox(chosen: bool, label: &str) -> String {
    format!("{} {label}", if chosen { "■" } else { "□" })
}

/// Lays out one form.
struct Form {
    page: A4Page,
    truncated: bool,
}

impl Form {
    /// Fits `text` into the box (`x`, `top`, `w`, `h`), vertically centred; shrinks, then
    /// cuts (and remembers that it cut).
    fn fit_in(&mut self, text: &str, x: f32, top: f32, w: f32, h: f32, sizes: &[f32]) {
        let line_h = |size: f32| size * 1.35 * 25.4 / 72.0;
        let mut chosen = None;
        for &size in sizes {
            let lines = pdf::wrap(text, w, size);
            let max_lines = (((h - 1.0) / line_h(size)).floor() as usize).max(1);
            if lines.len() <= max_lines {
                chosen = Some(pdf::Fitted {
                    lines,
                    size_pt: size,
                    truncated: false,
                });
                break;
            }
        }
        let fitted = chosen.unwrap_or_else(|| {
            let smallest = sizes.last().copied().unwrap_or(7.0);
            let max_lines = (((h - 1.0) / line_h(smallest)).floor() as usize).max(1);
            pdf::fit(text, w, max_lines, &[smallest])
        });
        self.truncated |= fitted.truncated;
        let total = fitted.lines.len() as f32 * line_h(fitted.size_pt);
        let start = top + ((h - total) / 2.0).max(0.0);
        self.page
            .text_lines(x, start, fitted.size_pt, &fitted.lines);
    }

    /// A table row: the label cell and the value cell (box outlines), the value if known.
    fn row(&mut self, top: f32, h: f32, label: &str, value: Option<&str>) {
        self.label_cell(LEFT, top, LABEL_W, h, label);
        self.page
            .rect(LEFT + LABEL_W, top, RIGHT - LEFT - LABEL_W, h, 0.6);
        if let Some(v) = value {
            let w = RIGHT - LEFT - LABEL_W - 2.0 * PAD;
            self.fit_in(v, LEFT + LABEL_W + PAD, top, w, h, &VALUE_SIZES);
        }
    }

    fn label_cell(&mut self, x: f32, top: f32, w: f32, h: f32, label: &str) {
        self.page.rect(x, top, w, h, 0.6);
        self.fit_in(label, x + PAD, top, w - 2.0 * PAD, h, &[LABEL_PT, 8.0, 7.0]);
    }

    fn value_cell(&mut self, x: f32, top: f32, w: f32, h: f32, value: Option<&str>) {
        self.page.rect(x, top, w, h, 0.6);
        if let Some(v) = value {
            self.fit_in(v, x + PAD, top, w - 2.0 * PAD, h, &VALUE_SIZES);
        }
    }
}

/// Renders the 被保険者資格申立書 as a one-page A4 PDF (the font subset embedded, text
/// extractable). `None` fields become blank boxes to fill in by hand. About 65–75 KB (the
/// font subset is most of it).
pub fn render_declaration(declaration: &SelfDeclaration) -> Result<Vec<u8>, PrintError> {
    let d = for_the_form(declaration);
    let mut f = Form {
        page: A4Page::new(),
        truncated: false,
    };
    let center = A4_WIDTH_MM / 2.0;

    // Header: title, facility, date.
    f.page.text_centered(center, 22.0, 20.0, TITLE);
    f.page.text_centered(
        center,
        29.0,
        9.0,
        "（マイナ保険証などで、加入している医療保険を確認できなかった方の申立て）",
    );
    f.page.text(LEFT, 40.0, LABEL_PT, "医療機関名");
    // One line on the label's baseline: shrink, then cut.
    let facility_name = pdf::fit(&d.facility.name, 105.0, 1, &[11.0, 9.0, 7.5, 6.5]);
    f.truncated |= facility_name.truncated;
    if let Some(line) = facility_name.lines.first() {
        f.page.text(LEFT + 24.0, 40.0, facility_name.size_pt, line);
    }
    f.page.text(LEFT, 47.0, LABEL_PT, "医療機関コード");
    f.page.text(LEFT + 24.0, 47.0, 11.0, &d.facility.code);
    f.page.text_right(RIGHT, 40.0, LABEL_PT, "申立日");
    f.page.text_right(RIGHT, 47.0, 12.0, &japanese_date(d.date));
    f.page.line(LEFT, 51.0, RIGHT, 51.0, 1.0);
    f.page.text(
        LEFT,
        57.5,
        9.0,
        "次の欄をご記入ください。わからない欄は空欄のままで構いません。あてはまる□に印を付けてください。",
    );

    // The table.
    let mid = LEFT + LABEL_W + 75.0; // start of the right-hand label cell in split rows
    let small_label_w = 20.0;
    let mut top = 61.0;

    f.row(top, 10.0, "フリガナ", d.name_kana.as_deref());
    top += 10.0;
    f.row(top, 14.0, "氏名", d.name.as_deref());
    top += 14.0;

    // The birth date in 和暦, as the patient and the receipt computer write it.
    let birth = d.birthdate.map(crate::domain::dates::format_wareki);
    f.label_cell(LEFT, top, LABEL_W, 11.0, "生年月日");
    f.value_cell(
        LEFT + LABEL_W,
        top,
        mid - LEFT - LABEL_W,
        11.0,
        birth.as_deref(),
    );
    if birth.is_none() {
        f.page.text(
            LEFT + LABEL_W + 22.0,
            top + 7.0,
            10.0,
            "年　　　　月　　　　日",
        );
    }
    f.label_cell(mid, top, small_label_w, 11.0, "性別");
    let sex = format!(
        "{}　　{}",
        checkbox(d.sex == Some(Sex::Male), "男"),
        checkbox(d.sex == Some(Sex::Female), "女")
    );
    f.value_cell(
        mid + small_label_w,
        top,
        RIGHT - mid - small_label_w,
        11.0,
        Some(&sex),
    );
    top += 11.0;

    f.row(top, 18.0, "住所", d.address.as_deref());
    top += 18.0;
    f.row(top, 10.0, "電話番号", d.phone.as_deref());
    top += 10.0;

    f.label_cell(LEFT, top, LABEL_W, 11.0, "保険の種類");
    f.page
        .rect(LEFT + LABEL_W, top, RIGHT - LEFT - LABEL_W, 11.0, 0.6);
    let kinds = [
        (InsuranceKind::Employee, "被用者保険"),
        (InsuranceKind::National, "国民健康保険"),
        (InsuranceKind::LateElderly, "後期高齢者医療"),
        (InsuranceKind::Unknown, "わからない"),
    ];
    for (i, (kind, label)) in kinds.iter().enumerate() {
        let x = LEFT + LABEL_W + PAD + i as f32 * 35.0;
        f.page.text(
            x,
            top + 7.0,
            10.0,
            &checkbox(d.insurance_kind == Some(*kind), label),
        );
    }
    top += 11.0;

    f.row(top, 11.0, "保険者名", d.insurer_name.as_deref());
    top += 11.0;
    f.row(top, 11.0, "事業所名（勤務先）", d.employer.as_deref());
    top += 11.0;

    let value_w = RIGHT - LEFT - LABEL_W;
    f.label_cell(LEFT, top, LABEL_W, 11.0, "記号・番号");
    f.label_cell(LEFT + LABEL_W, top, 12.0, 11.0, "記号");
    let half = (value_w - 24.0) / 2.0;
    f.value_cell(LEFT + LABEL_W + 12.0, top, half, 11.0, d.symbol.as_deref());
    f.label_cell(LEFT + LABEL_W + 12.0 + half, top, 12.0, 11.0, "番号");
    f.value_cell(
        LEFT + LABEL_W + 24.0 + half,
        top,
        half,
        11.0,
        d.number.as_deref(),
    );
    top += 11.0;

    f.label_cell(LEFT, top, LABEL_W, 11.0, "本人・家族");
    let rel = format!(
        "{}　　{}",
        checkbox(d.relationship == Some(Relationship::Insured), "本人"),
        checkbox(d.relationship == Some(Relationship::Dependant), "家族"),
    );
    f.value_cell(LEFT + LABEL_W, top, mid - LEFT - LABEL_W, 11.0, Some(&rel));
    f.label_cell(mid, top, small_label_w, 11.0, "負担割合");
    let ratio = d.ratio.map(|r| r.label());
    f.value_cell(
        mid + small_label_w,
        top,
        RIGHT - mid - small_label_w,
        11.0,
        ratio.as_deref(),
    );
    if ratio.is_none() {
        f.page
            .text(mid + small_label_w + 20.0, top + 7.0, 10.0, "割");
    }
    top += 11.0;

    // Declaration and signature.
    top += 8.0;
    f.page.text(
        LEFT,
        top,
        10.5,
        "上記のとおり、加入している医療保険について申し立てます。",
    );
    top += 12.0;
    f.page.text(LEFT, top, 10.5, "署名");
    f.page
        .line(LEFT + 12.0, top + 1.0, LEFT + 110.0, top + 1.0, 0.6);
    f.page
        .text(LEFT + 114.0, top, 7.5, "（代筆の場合は代筆者の氏名と続柄）");

    // The explanation for the patient, and the QR code for the desk.
    let box_top = top + 9.0;
    let qr_size = 42.0;
    let text_w = RIGHT - LEFT - qr_size - 6.0;
    let facility = if d.facility.name.trim().is_empty() {
        "当院".to_string()
    } else {
        d.facility.name.clone()
    };
    let pay = match d.ratio {
        Some(r) => format!(
            "本日の窓口でのお支払いは、いつもと同じ負担割合（{}）です。",
            r.label()
        ),
        None => "本日の窓口でのお支払いは、いつもと同じ、年齢に応じた負担割合です。".to_string(),
    };
    let notes = [
        "本日は、加入している医療保険をマイナ保険証などで確認できませんでした。".to_string(),
        pay,
        "保険者番号や記号・番号がわかりましたら、受付にお知らせください。加入している保険者（勤務先の健康保険組合・協会けんぽ、市区町村の窓口など）やマイナポータルで確かめられます。".to_string(),
        format!("この申立書は、診療報酬の請求が済むまで{facility}で保管します。"),
    ];
    f.page.text(LEFT + PAD, box_top + 6.0, 11.0, "患者さまへ");
    let mut y = box_top + 8.5;
    for note in &notes {
        let fitted = pdf::fit(
            &format!("・{note}"),
            text_w - 2.0 * PAD,
            4,
            &[9.5, 8.5, 7.5],
        );
        f.truncated |= fitted.truncated;
        y = f
            .page
            .text_lines(LEFT + PAD, y, fitted.size_pt, &fitted.lines)
            + 0.8;
    }
    f.page
        .rect(LEFT, box_top, text_w, (y - box_top + 1.5).max(qr_size), 0.8);

    let qr_x = RIGHT - qr_size;
    let payload = declaration_qr_payload(declaration);
    match f.page.qr(qr_x, box_top, qr_size, payload.as_bytes()) {
        Ok(_) => {
            f.page.text_centered(
                qr_x + qr_size / 2.0,
                box_top + qr_size + 3.5,
                7.0,
                "職員用：記入内容のQRコード",
            );
        }
        Err(pdf::PdfError::QrTooLong { .. }) => {
            f.page.rect(qr_x, box_top, qr_size, qr_size, 0.4);
            f.fit_in(
                "記入内容が長すぎるためQRコードを省略しました",
                qr_x + PAD,
                box_top,
                qr_size - 2.0 * PAD,
                qr_size,
                &[8.0, 7.0],
            );
        }
        Err(e) => return Err(e.into()),
    }

    if f.truncated {
        f.page.text(
            LEFT,
            285.0,
            7.5,
            "※長すぎる記入内容は一部を省略して印刷しています（…の部分）。",
        );
    }
    Ok(f.page.finish(TITLE)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::claim::declaration::Facility;
    use crate::domain::ratio::Ratio;
    use time::macros::date;

    pub(crate) fn sample() -> SelfDeclaration {
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
            insurance_kind: Some(InsuranceKind::Employee),
            insurer_name: Some("全国健康保険協会 東京支部".into()),
            employer: Some("株式会社サンプル".into()),
            symbol: Some("1234".into()),
            number: Some("56".into()),
            relationship: Some(Relationship::Insured),
            ratio: Some(Ratio::THREE),
        }
    }

    fn sample_with(change: impl FnOnce(&mut SelfDeclaration)) -> SelfDeclaration {
        let mut d = sample();
        change(&mut d);
        d
    }

    #[test]
    fn dates_are_western_with_kanji_units() {
        assert_eq!(japanese_date(date!(2026 - 11 - 22)), "2026年11月22日");
        assert_eq!(japanese_date(date!(1980 - 04 - 02)), "1980年4月2日");
    }

    #[test]
    fn qr_payload_round_trips_and_is_tagged() {
        let d = sample();
        let payload = declaration_qr_payload(&d);
        assert!(payload.starts_with(r#"{"f":"onshi-desk/self-declaration","v":1,"#));
        assert_eq!(restore_from_qr_payload(&payload).expect("restores"), d);
    }

    #[test]
    fn foreign_or_future_payloads_are_refused() {
        assert!(matches!(
            restore_from_qr_payload("https://example.jp/"),
            Err(QrRestoreError::NotOurs(_))
        ));
        assert!(matches!(
            restore_from_qr_payload(r#"{"f":"other","v":1}"#),
            Err(QrRestoreError::NotOurs(_))
        ));
        let future = declaration_qr_payload(&sample()).replace(r#""v":1"#, r#""v":2"#);
        assert_eq!(
            restore_from_qr_payload(&future),
            Err(QrRestoreError::Version(2))
        );
        let damaged = r#"{"f":"onshi-desk/self-declaration","v":1,"d":{"name":3}}"#;
        assert!(matches!(
            restore_from_qr_payload(damaged),
            Err(QrRestoreError::Damaged(_))
        ));
        // Well-formed but not what the desk would have accepted: a forged code.
        for forged in [
            sample_with(|d| d.name = Some("あ".repeat(500))),
            sample_with(|d| d.birthdate = Some(date!(2030 - 01 - 01))),
            sample_with(|d| d.phone = Some("075\u{0007}222".into())),
            sample_with(|d| d.name_kana = Some("山田".into())),
            sample_with(|d| d.symbol = Some("１２３４".into())),
        ] {
            assert!(
                matches!(
                    restore_from_qr_payload(&declaration_qr_payload(&forged)),
                    Err(QrRestoreError::Damaged(_))
                ),
                "{forged:?}"
            );
        }
    }

    #[test]
    fn a_record_typed_loosely_at_the_desk_still_restores_from_its_code() {
        // Full-width digits and spaces, ひらがな, 和暦: what the parser makes of them is what
        // the code holds, and the stricter restore takes it back unchanged.
        let typed = crate::domain::claim::parse_declaration(
            r#"{
              "facility": {"name": "ﾃｽﾄ　診療所", "code": "１３１２３４５６７８"},
              "name": " 山田　花子 ", "name_kana": "やまだ　はなこ",
              "birthdate": "昭和55年4月1日", "sex": "女",
              "address": "東京都千代田区霞が関１－２－２", "phone": "０３－１２３４－５６７８",
              "insurance_kind": "社保", "employer": "霞が関商事", "relationship": "本人",
              "symbol": "１２３", "number": "４５"
            }"#,
            date!(2026 - 11 - 22),
        )
        .expect("valid");
        let restored = restore_from_qr_payload(&declaration_qr_payload(&typed));
        assert_eq!(restored.as_ref(), Ok(&typed));
    }

    #[test]
    fn unknown_receipt_sevens_never_reach_the_form() {
        let mut d = sample();
        d.symbol = Some("77777777".into());
        d.number = Some("７７７７７７７７７".into());
        let payload = declaration_qr_payload(&d);
        assert!(!payload.contains("7777777"), "{payload}");
        let restored = restore_from_qr_payload(&payload).expect("restores");
        assert_eq!((restored.symbol, restored.number), (None, None));
    }
}
