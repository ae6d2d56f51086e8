//! The qualification PDF a patient downloads from マイナポータル (資格情報の画面のPDF), read at
//! the desk for claim path ① (current numbers from evidence shown with the card).
//!
//! The real layout is **unconfirmed**, so nothing here depends on positions on the page:
//! fields are found by their labels (保険者番号, 記号, 氏名 …), and a label's value is the
//! text right of it on the same line, or the text below it in the same column (a table),
//! or the rest of the label's own text after a colon. Text comes from the PDF's text layer
//! (`pdf-extract` over `lopdf`, which honours ToUnicode maps of CID fonts); a scanned,
//! image-only PDF has none and is refused with its own error.
//!
//! Hostile files are bounded: at most [`MAX_BYTES`], [`MAX_PAGES`] pages and
//! [`MAX_CHARS`] characters are looked at; before the parser runs, [`super::guard`] measures
//! every stream with a bounded decoder and walks the object graph the way the parser will
//! (form cycles, nesting, fan-out, huge ToUnicode ranges are refused); a panic inside the
//! parser is caught and reported as a malformed file. The desk and the CLI do not call this
//! in their own process: they go through [`super::sandbox::PdfSandbox`], a child process with
//! time and memory limits, so that what these checks do not foresee still cannot take the
//! desk down.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};
use time::{Date, Month};

use crate::domain::claim::declaration::Relationship;
use crate::domain::numbers::RawInsuranceNumbers;
use crate::domain::text::normalize_width;
use crate::domain::InsurerNumber;

/// The largest file accepted (a portal PDF is a page or two, well under 1 MB).
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Pages read from the start of the file.
pub const MAX_PAGES: u32 = 10;
/// Characters of text collected at most.
pub const MAX_CHARS: usize = 200_000;

/// Why a PDF could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Bigger than [`MAX_BYTES`].
    #[error("file of {bytes} bytes is larger than the {limit}-byte limit")]
    TooLarge { bytes: usize, limit: usize },
    /// No `%PDF-` header: some other kind of file.
    #[error("not a PDF file (no %PDF- header in the first 1024 bytes)")]
    NotPdf,
    /// Encrypted with a password we do not have.
    #[error("the PDF is encrypted")]
    Encrypted,
    /// A PDF the parser could not read (truncated, damaged).
    #[error("malformed PDF: {0}")]
    Malformed(String),
    /// A PDF without a text layer (a scan or a photo).
    #[error("the PDF has no text layer (image-only)")]
    NoText,
    /// Text, but none of the qualification labels.
    #[error("none of the qualification labels (保険者番号, 記号, 番号, 氏名 …) found in the text")]
    NoLabels,
    /// A structure that would make the reader recurse, loop or run too long: forms that draw
    /// themselves or nest too deep, too many form redraws, huge ToUnicode ranges, or a reader
    /// that ran out of time or stack.
    #[error("PDF too complex to read safely: {0}")]
    TooComplex(String),
    /// Content that decodes to more than the reader may hold (a compression bomb), or a reader
    /// that ran out of memory. [`ImportError::TooLarge`] is the file itself being too big.
    #[error("PDF content too large to read safely: {0}")]
    TooMuchContent(String),
    /// The separate reader process could not be started or answered nonsense.
    #[error("the PDF reader process failed: {0}")]
    Unavailable(String),
}

impl ImportError {
    /// The Japanese sentence for the desk.
    pub fn desk_message(&self) -> &'static str {
        match self {
            ImportError::TooLarge { .. } => {
                "ファイルが大きすぎます。マイナポータルからダウンロードした資格情報のPDFを選んでください。"
            }
            ImportError::NotPdf => {
                "PDFファイルではありません。マイナポータルからダウンロードした資格情報のPDFを選んでください。"
            }
            ImportError::Encrypted => {
                "パスワード付きのPDFは読み込めません。画面を見ながら手入力してください。"
            }
            ImportError::Malformed(_) => {
                "PDFファイルが壊れているため読み込めません。もう一度ダウンロードしていただくか、手入力してください。"
            }
            ImportError::NoText => {
                "このPDFは画像だけで文字情報がないため読み込めません。画面を見ながら手入力してください。"
            }
            ImportError::NoLabels => {
                "このPDFには資格情報（保険者番号・記号・番号など）が見つかりません。別のファイルか、手入力をご利用ください。"
            }
            ImportError::TooComplex(_) => {
                "このPDFは構造が複雑すぎるため、安全のため読み込みを中止しました。マイナポータルからダウンロードした資格情報のPDFか確かめるか、画面を見ながら手入力してください。"
            }
            ImportError::TooMuchContent(_) => {
                "このPDFは中身が大きすぎるため、安全のため読み込みを中止しました。マイナポータルからダウンロードした資格情報のPDFか確かめるか、画面を見ながら手入力してください。"
            }
            ImportError::Unavailable(_) => {
                "PDFを読み込む処理を開始できませんでした。画面を見ながら手入力してください。"
            }
        }
    }

    /// A stable snake_case name for JSON output and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            ImportError::TooLarge { .. } => "too_large",
            ImportError::NotPdf => "not_pdf",
            ImportError::Encrypted => "encrypted",
            ImportError::Malformed(_) => "malformed",
            ImportError::NoText => "no_text",
            ImportError::NoLabels => "no_labels",
            ImportError::TooComplex(_) => "too_complex",
            ImportError::TooMuchContent(_) => "too_much_content",
            ImportError::Unavailable(_) => "unavailable",
        }
    }
}

/// The fields found, as printed (width-normalised, trimmed), and typed where they parse.
///
/// Deserialising reads only the printed strings (the answer of the reader process): the typed
/// values are derived again on this side by [`PortalFields::with_parsed`], never taken on trust.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortalFields {
    /// 保険者番号
    pub insurer_number: Option<String>,
    /// 保険者名
    pub insurer_name: Option<String>,
    /// 記号
    pub symbol: Option<String>,
    /// 番号
    pub number: Option<String>,
    /// 枝番
    pub branch: Option<String>,
    /// 氏名 (the patient)
    pub name: Option<String>,
    /// 生年月日
    pub birthdate: Option<String>,
    /// 資格取得年月日
    pub acquired_on: Option<String>,
    /// 被保険者氏名 (employee insurance) or 世帯主氏名 (国保): see `head_name_label`.
    pub head_name: Option<String>,
    /// Which of the two labels `head_name` was found under.
    pub head_name_label: Option<String>,
    /// 本人・家族
    pub relationship: Option<String>,
    /// The same, typed, where the raw value parses.
    #[serde(skip_deserializing)]
    pub parsed: ParsedPortalFields,
}

/// Typed values of [`PortalFields`]; `None` where absent or not parseable (the raw string is
/// then for a person to read).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ParsedPortalFields {
    pub insurer_number: Option<InsurerNumber>,
    pub symbol: Option<String>,
    pub number: Option<String>,
    pub branch: Option<String>,
    pub birthdate: Option<Date>,
    pub acquired_on: Option<Date>,
    pub relationship: Option<Relationship>,
}

/// Which field a label names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    InsurerNumber,
    InsurerName,
    Symbol,
    Number,
    Branch,
    SymbolNumber,
    Name,
    Birthdate,
    AcquiredOn,
    InsuredName,
    HouseholdHeadName,
    Relationship,
}

/// Labels and their variants, longest first within overlapping ones so that 保険者番号 wins
/// over 番号 and 被保険者氏名 over 氏名.
const LABELS: &[(&str, Field)] = &[
    ("記号・番号・枝番", Field::SymbolNumber),
    ("記号・番号", Field::SymbolNumber),
    ("資格取得年月日", Field::AcquiredOn),
    ("被保険者氏名", Field::InsuredName),
    ("世帯主氏名", Field::HouseholdHeadName),
    ("保険者番号", Field::InsurerNumber),
    ("保険者名称", Field::InsurerName),
    ("保険者名", Field::InsurerName),
    ("資格取得日", Field::AcquiredOn),
    ("本人・家族", Field::Relationship),
    ("本人/家族", Field::Relationship),
    ("本人家族", Field::Relationship),
    ("生年月日", Field::Birthdate),
    ("枝番", Field::Branch),
    ("記号", Field::Symbol),
    ("番号", Field::Number),
    ("氏名", Field::Name),
];

/// One glyph as placed on the page (top-down coordinates, in points).
#[derive(Debug, Clone)]
struct Glyph {
    x: f64,
    end: f64,
    y: f64,
    size: f64,
    text: String,
}

/// Collects glyph positions from pdf-extract.
#[derive(Default)]
struct Collector {
    page_offset: f64,
    page_height: f64,
    glyphs: Vec<Glyph>,
    chars: usize,
}

impl OutputDev for Collector {
    fn begin_page(
        &mut self,
        _page_num: u32,
        media_box: &MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        // Pages are stacked top to bottom, so "below" keeps its meaning across pages.
        self.page_offset += self.page_height;
        self.page_height = (media_box.ury - media_box.lly).abs() + 1000.0;
        Ok(())
    }
    fn end_page(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        text: &str,
    ) -> Result<(), OutputError> {
        if self.chars >= MAX_CHARS {
            return Ok(());
        }
        // The font size in page space, as pdf-extract's own text output computes it.
        let vx = font_size * (trm.m11 + trm.m21);
        let vy = font_size * (trm.m12 + trm.m22);
        let size = (vx * vy).abs().sqrt();
        if !size.is_finite() || !trm.m31.is_finite() || !trm.m32.is_finite() {
            return Ok(());
        }
        self.chars += text.chars().count();
        self.glyphs.push(Glyph {
            x: trm.m31,
            end: trm.m31 + width * size,
            y: self.page_offset - trm.m32,
            size: size.max(1.0),
            text: text.to_string(),
        });
        Ok(())
    }
    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// A run of text: glyphs on one line with no wide gap between them (one table cell, one
/// label, one value).
#[derive(Debug, Clone, PartialEq)]
struct Run {
    text: String,
    x0: f64,
    x1: f64,
    y: f64,
    size: f64,
    line: usize,
}

/// Groups glyphs into lines (by baseline) and lines into runs (split at gaps wider than one
/// em; a smaller gap is a space inside the run).
fn runs(mut glyphs: Vec<Glyph>) -> Vec<Run> {
    glyphs.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x.total_cmp(&b.x)));
    let mut lines: Vec<Vec<Glyph>> = Vec::new();
    for g in glyphs {
        match lines.last_mut() {
            Some(line) if (g.y - line[0].y).abs() < 0.5 * g.size.min(line[0].size) => line.push(g),
            _ => lines.push(vec![g]),
        }
    }
    let mut out = Vec::new();
    for (index, mut line) in lines.into_iter().enumerate() {
        line.sort_by(|a, b| a.x.total_cmp(&b.x));
        let mut current: Option<Run> = None;
        for g in line {
            match current.as_mut() {
                Some(run) if g.x - run.x1 <= g.size => {
                    if g.x - run.x1 > 0.15 * g.size && !g.text.trim().is_empty() {
                        run.text.push(' ');
                    }
                    run.text.push_str(&g.text);
                    run.x1 = run.x1.max(g.end);
                }
                _ => {
                    if let Some(run) = current.take() {
                        out.push(run);
                    }
                    current = Some(Run {
                        text: g.text.clone(),
                        x0: g.x,
                        x1: g.end,
                        y: g.y,
                        size: g.size,
                        line: index,
                    });
                }
            }
        }
        out.extend(current);
    }
    for run in &mut out {
        run.text = normalize_width(&run.text);
    }
    out.retain(|r| !r.text.is_empty());
    out
}

/// If `text` starts with a label (spaces inside the label allowed: 「氏　名」), the field and
/// what follows the label on the same run (after a `:`/`：`), if anything. A label must end
/// the run or be followed by a separator, so a value such as 「番号案内」 is not a label.
fn label_of(text: &str) -> Option<(Field, Option<String>)> {
    for &(label, field) in LABELS {
        let mut rest = text.char_indices().peekable();
        let mut end = 0;
        let mut matched = true;
        for want in label.chars() {
            // Skip layout spaces inside the label.
            while let Some(&(_, c)) = rest.peek() {
                if c.is_whitespace() {
                    rest.next();
                } else {
                    break;
                }
            }
            match rest.next() {
                Some((i, c)) if c == want => end = i + c.len_utf8(),
                _ => {
                    matched = false;
                    break;
                }
            }
        }
        if !matched {
            continue;
        }
        let after = &text[end..];
        let value = after
            .trim_start()
            .trim_start_matches([':', '：'])
            .trim()
            .to_string();
        let separated = after.is_empty()
            || after.starts_with(char::is_whitespace)
            || after.starts_with([':', '：']);
        if separated {
            return Some((field, (!value.is_empty()).then_some(value)));
        }
    }
    None
}

/// The value of the label run `runs[i]`: right of it on its line, else below it in its column.
fn value_for(runs: &[Run], i: usize) -> Option<String> {
    let label = &runs[i];
    // Right on the same line: the next run, unless it is another label.
    if let Some(next) = runs.get(i + 1).filter(|r| r.line == label.line) {
        if label_of(&next.text).is_none() {
            return Some(next.text.clone());
        }
    }
    // Below, in the same column: the nearest line below with a run overlapping the label's
    // horizontal extent, within a few lines' distance.
    let below = runs
        .iter()
        .filter(|r| r.line > label.line && r.y - label.y <= 4.0 * label.size)
        .filter(|r| r.x0 < label.x1 + 0.5 * label.size && r.x1 > label.x0 - 0.5 * label.size)
        .min_by(|a, b| a.y.total_cmp(&b.y).then(a.x0.total_cmp(&b.x0)))?;
    label_of(&below.text).is_none().then(|| below.text.clone())
}

/// A date as such PDFs print them: 西暦 (`1980年4月2日`, `1980/04/02`, `1980-04-02`,
/// `19800402`) or 和暦 (`昭和55年4月2日`, `令和元年5月1日`, also `S55.4.2`).
pub fn parse_printed_date(raw: &str) -> Option<Date> {
    let s: String = normalize_width(raw)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let eras = [
        ("令和", 2018),
        ("平成", 1988),
        ("昭和", 1925),
        ("大正", 1911),
        ("明治", 1867),
        ("R", 2018),
        ("H", 1988),
        ("S", 1925),
        ("T", 1911),
        ("M", 1867),
    ];
    let (offset, body) = eras
        .iter()
        .find_map(|(era, offset)| s.strip_prefix(era).map(|b| (*offset, b)))
        .unwrap_or((0, s.as_str()));
    let body = body.replacen('元', "1", 1);
    let parts: Vec<&str> = body
        .split(['年', '月', '日', '/', '-', '.'])
        .filter(|p| !p.is_empty())
        .collect();
    let (y, m, d) = match parts.as_slice() {
        [ymd] if offset == 0 && ymd.len() == 8 => (&ymd[..4], &ymd[4..6], &ymd[6..]),
        [y, m, d] => (*y, *m, *d),
        _ => return None,
    };
    let year = y.parse::<i32>().ok()? + offset;
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year, month, d.parse().ok()?).ok()
}

/// The checks that need no parsing: size and the `%PDF-` header (also done by the sandbox's
/// parent before it starts a process for nothing).
pub(crate) fn precheck(bytes: &[u8]) -> Result<(), ImportError> {
    if bytes.len() > MAX_BYTES {
        return Err(ImportError::TooLarge {
            bytes: bytes.len(),
            limit: MAX_BYTES,
        });
    }
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(ImportError::NotPdf);
    }
    Ok(())
}

/// Reads the text layer and finds the qualification fields by label, in this process.
///
/// Hardened against hostile files (see the module documentation), and the entry point of the
/// fuzz target; the desk and the CLI call it through [`super::sandbox::PdfSandbox`] instead.
pub fn extract_portal_fields(bytes: &[u8]) -> Result<PortalFields, ImportError> {
    precheck(bytes)?;
    let glyphs = catch_unwind(AssertUnwindSafe(|| collect_glyphs(bytes)))
        .map_err(|_| ImportError::Malformed("the PDF parser gave up on this file".into()))??;
    if glyphs.iter().all(|g| g.text.trim().is_empty()) {
        return Err(ImportError::NoText);
    }
    let fields = fields_from_runs(&runs(glyphs));
    if fields == PortalFields::default() {
        return Err(ImportError::NoLabels);
    }
    Ok(fields)
}

fn collect_glyphs(bytes: &[u8]) -> Result<Vec<Glyph>, ImportError> {
    let doc = super::guard::load_checked(bytes)?;
    // lopdf opens a PDF that has only an owner password (print/copy restrictions, no password
    // to open) by itself; one that is still encrypted after loading needs a user password.
    if doc.is_encrypted() {
        return Err(ImportError::Encrypted);
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(ImportError::Malformed("no pages".into()));
    }
    super::guard::check_graph(&doc)?;
    let mut collector = Collector::default();
    for &page in pages.keys().take(MAX_PAGES as usize) {
        pdf_extract::output_doc_page(&doc, &mut collector, page)
            .map_err(|e| ImportError::Malformed(format!("{e:?}")))?;
    }
    Ok(collector.glyphs)
}

fn fields_from_runs(runs: &[Run]) -> PortalFields {
    let mut f = PortalFields::default();
    for (i, run) in runs.iter().enumerate() {
        let Some((field, inline)) = label_of(&run.text) else {
            continue;
        };
        let Some(value) = inline.or_else(|| value_for(runs, i)) else {
            continue;
        };
        let set = |slot: &mut Option<String>, v: String| {
            if slot.is_none() {
                *slot = Some(v);
            }
        };
        match field {
            Field::InsurerNumber => set(&mut f.insurer_number, value),
            Field::InsurerName => set(&mut f.insurer_name, value),
            Field::Symbol => set(&mut f.symbol, value),
            Field::Number => set(&mut f.number, value),
            Field::Branch => set(&mut f.branch, value),
            Field::SymbolNumber => {
                // 「1234・5678・00」 or 「1234 5678 (枝番)00」: split on the separators.
                let parts: Vec<String> = value
                    .split(['・', ' ', '-'])
                    .map(|p| p.trim_start_matches("(枝番)").trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect();
                let mut parts = parts.into_iter();
                if let Some(p) = parts.next() {
                    set(&mut f.symbol, p);
                }
                if let Some(p) = parts.next() {
                    set(&mut f.number, p);
                }
                if let Some(p) = parts.next() {
                    set(&mut f.branch, p);
                }
            }
            Field::Name => set(&mut f.name, value),
            Field::Birthdate => set(&mut f.birthdate, value),
            Field::AcquiredOn => set(&mut f.acquired_on, value),
            Field::InsuredName | Field::HouseholdHeadName => {
                if f.head_name.is_none() {
                    f.head_name = Some(value);
                    f.head_name_label = Some(
                        if field == Field::InsuredName {
                            "被保険者氏名"
                        } else {
                            "世帯主氏名"
                        }
                        .to_string(),
                    );
                }
            }
            Field::Relationship => set(&mut f.relationship, value),
        }
    }
    f.with_parsed()
}

impl PortalFields {
    /// The typed values derived from the printed strings (replacing any already there).
    pub fn with_parsed(mut self) -> Self {
        let f = &self;
        let numbers = RawInsuranceNumbers {
            insurer_number: f.insurer_number.as_deref(),
            symbol: f.symbol.as_deref(),
            number: f.number.as_deref(),
            branch: f.branch.as_deref(),
        }
        .parse_fields();
        let parsed = ParsedPortalFields {
            insurer_number: numbers.insurer_number.ok().flatten(),
            symbol: numbers.symbol.ok().flatten(),
            number: numbers.number.ok().flatten(),
            branch: numbers.branch.ok().flatten(),
            birthdate: f.birthdate.as_deref().and_then(parse_printed_date),
            acquired_on: f.acquired_on.as_deref().and_then(parse_printed_date),
            relationship: f.relationship.as_deref().and_then(|s| {
                if s.contains("本人") {
                    Some(Relationship::Insured)
                } else if s.contains("家族") || s.contains("被扶養者") {
                    Some(Relationship::Dependant)
                } else {
                    None
                }
            }),
        };
        self.parsed = parsed;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn labels_are_found_by_their_longest_name_and_need_a_separator() {
        assert_eq!(label_of("保険者番号"), Some((Field::InsurerNumber, None)));
        assert_eq!(
            label_of("保険者番号：06010391"),
            Some((Field::InsurerNumber, Some("06010391".into())))
        );
        assert_eq!(label_of("氏 名"), Some((Field::Name, None)));
        assert_eq!(label_of("被保険者氏名"), Some((Field::InsuredName, None)));
        assert_eq!(label_of("番号案内"), None);
        assert_eq!(label_of("山田 太郎"), None);
    }

    #[test]
    fn printed_dates_in_both_calendars() {
        assert_eq!(
            parse_printed_date("1980年4月2日"),
            Some(date!(1980 - 04 - 02))
        );
        assert_eq!(
            parse_printed_date("昭和55年4月2日"),
            Some(date!(1980 - 04 - 02))
        );
        assert_eq!(
            parse_printed_date("令和元年5月1日"),
            Some(date!(2019 - 05 - 01))
        );
        assert_eq!(
            parse_printed_date("Ｈ３１．４．３０"),
            Some(date!(2019 - 04 - 30))
        );
        assert_eq!(
            parse_printed_date("2020/04/01"),
            Some(date!(2020 - 04 - 01))
        );
        assert_eq!(parse_printed_date("20200401"), Some(date!(2020 - 04 - 01)));
        assert_eq!(parse_printed_date("2020年2月30日"), None);
        assert_eq!(parse_printed_date("不明"), None);
    }

    #[test]
    fn refuses_what_is_not_a_pdf_before_parsing() {
        assert_eq!(extract_portal_fields(b"hello"), Err(ImportError::NotPdf));
        assert_eq!(extract_portal_fields(b""), Err(ImportError::NotPdf));
        let big = vec![b' '; MAX_BYTES + 1];
        assert_eq!(extract_portal_fields(&big).unwrap_err().kind(), "too_large");
    }

    #[test]
    fn garbage_after_a_pdf_header_is_malformed_not_a_panic() {
        let err =
            extract_portal_fields(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n%%EOF").unwrap_err();
        assert_eq!(err.kind(), "malformed", "{err:?}");
    }
}
