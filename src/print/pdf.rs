//! A small A4 page-layout helper over `krilla`: text at millimetre positions, lines, boxes and
//! a vector QR code, in the bundled Japanese font.
//!
//! Why a helper and not krilla directly: the forms think in millimetres from the top-left
//! corner of the sheet (as a designer measures paper), and need to know how wide a string is
//! to wrap or shrink it. krilla embeds only the glyphs used (a subset of the 6 MB font, so a
//! page stays small) and writes a ToUnicode map, so `pdftotext` and our own import read the
//! text back.
//!
//! Drawing is recorded first and rendered in [`A4Page::finish`]; that keeps the page an owned
//! value the form code can pass around, instead of krilla's borrowed page/surface pair.

use std::sync::OnceLock;

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::Document;
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

use crate::assets::JAPANESE_FONT_TTF;

/// A4 width in millimetres.
pub const A4_WIDTH_MM: f32 = 210.0;
/// A4 height in millimetres.
pub const A4_HEIGHT_MM: f32 = 297.0;

/// Points per millimetre (PDF user space is in 1/72 inch).
const PT_PER_MM: f32 = 72.0 / 25.4;

/// Printed instead of a character the font does not have: 〓 (ゲタ) is the conventional
/// Japanese placeholder for a missing character, and it keeps the text extractable, where the
/// font's empty `.notdef` box would silently drop the character.
pub const MISSING_GLYPH: char = '〓';

/// What can go wrong while writing a PDF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// The bundled font could not be read (a broken build, never user input).
    #[error("bundled font unreadable: {0}")]
    Font(String),
    /// krilla refused to write the document.
    #[error("PDF writer failed: {0}")]
    Write(String),
    /// The data is too long for the largest QR code.
    #[error("QR payload of {bytes} bytes does not fit in a QR code")]
    QrTooLong { bytes: usize },
}

/// One recorded drawing operation, in millimetres from the top-left corner.
#[derive(Debug, Clone)]
enum Op {
    Text {
        x: f32,
        baseline: f32,
        size_pt: f32,
        text: String,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width_pt: f32,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        width_pt: f32,
    },
    /// Filled black rectangles (QR modules), one path so the page stays small.
    Fill { rects: Vec<(f32, f32, f32, f32)> },
}

/// Advance widths of the bundled font, read once.
struct Metrics {
    font: FontRef<'static>,
    units_per_em: f32,
}

fn metrics() -> Result<&'static Metrics, PdfError> {
    static METRICS: OnceLock<Result<Metrics, PdfError>> = OnceLock::new();
    METRICS
        .get_or_init(|| {
            let font =
                FontRef::new(JAPANESE_FONT_TTF).map_err(|e| PdfError::Font(e.to_string()))?;
            let units_per_em = f32::from(
                font.metrics(Size::unscaled(), LocationRef::default())
                    .units_per_em,
            );
            Ok(Metrics { font, units_per_em })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The text as it will be drawn: control characters dropped, characters the font lacks
/// replaced by [`MISSING_GLYPH`].
pub fn printable(text: &str) -> String {
    let Ok(m) = metrics() else {
        return text.chars().filter(|c| !c.is_control()).collect();
    };
    let charmap = m.font.charmap();
    text.chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if charmap.map(c).is_some() {
                c
            } else {
                MISSING_GLYPH
            }
        })
        .collect()
}

/// Width in millimetres of `text` at `size_pt`, from the font's advance widths (no kerning:
/// IPAexGothic's Japanese glyphs have none, and a slight overestimate only wraps earlier).
pub fn text_width_mm(text: &str, size_pt: f32) -> f32 {
    let Ok(m) = metrics() else {
        // Every glyph one em wide: the widest the font draws, so nothing overflows.
        return text.chars().count() as f32 * size_pt / PT_PER_MM;
    };
    let charmap = m.font.charmap();
    let glyphs = m
        .font
        .glyph_metrics(Size::unscaled(), LocationRef::default());
    let units: f32 = text
        .chars()
        .map(|c| {
            charmap
                .map(c)
                .or_else(|| charmap.map(MISSING_GLYPH))
                .and_then(|g| glyphs.advance_width(g))
                .unwrap_or(m.units_per_em)
        })
        .sum();
    units / m.units_per_em * size_pt / PT_PER_MM
}

/// Breaks `text` into lines no wider than `max_width_mm` at `size_pt`. Japanese has no spaces
/// to break at, so lines break between any two characters, except that a line never starts
/// with a space (it is dropped).
pub fn wrap(text: &str, max_width_mm: f32, size_pt: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    // Widths add up character by character (no kerning), so the line width is kept as a
    // running sum: linear in the text length even for hostile input.
    let mut width = 0.0;
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let w = text_width_mm(c.encode_utf8(&mut buf), size_pt);
        if !current.is_empty() && width + w > max_width_mm {
            lines.push(std::mem::take(&mut current));
            width = 0.0;
            if !c.is_whitespace() {
                current.push(c);
                width = w;
            }
        } else if !(current.is_empty() && c.is_whitespace() && !lines.is_empty()) {
            current.push(c);
            width += w;
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// A text fitted into a box: the lines, the size chosen, and whether anything was cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub lines: Vec<String>,
    pub size_pt: f32,
    /// True when even the smallest size could not hold it all and the end was cut (marked …).
    pub truncated: bool,
}

/// Fits `text` into at most `max_lines` lines of `max_width_mm`, trying each size of `sizes`
/// (largest first). When the smallest size still overflows, the text is cut and ends in `…`:
/// a form must stay on its page, and the caller says on the page that something was cut.
pub fn fit(text: &str, max_width_mm: f32, max_lines: usize, sizes: &[f32]) -> Fitted {
    let max_lines = max_lines.max(1);
    let smallest = sizes.last().copied().unwrap_or(9.0);
    for &size_pt in sizes {
        let lines = wrap(text, max_width_mm, size_pt);
        if lines.len() <= max_lines {
            return Fitted {
                lines,
                size_pt,
                truncated: false,
            };
        }
    }
    let mut lines = wrap(text, max_width_mm, smallest);
    lines.truncate(max_lines);
    if let Some(last) = lines.last_mut() {
        loop {
            let with_mark = format!("{last}…");
            if text_width_mm(&with_mark, smallest) <= max_width_mm || last.is_empty() {
                *last = with_mark;
                break;
            }
            last.pop();
        }
    }
    Fitted {
        lines,
        size_pt: smallest,
        truncated: true,
    }
}

/// One A4 portrait page being laid out. Coordinates are millimetres from the top-left corner
/// of the sheet; text is placed by its baseline.
#[derive(Debug, Clone, Default)]
pub struct A4Page {
    ops: Vec<Op>,
}

impl A4Page {
    pub fn new() -> Self {
        A4Page::default()
    }

    /// Text starting at `x`, baseline at `baseline`, in one line (no wrapping here).
    pub fn text(&mut self, x: f32, baseline: f32, size_pt: f32, text: &str) {
        let text = printable(text);
        if text.trim().is_empty() {
            return;
        }
        self.ops.push(Op::Text {
            x,
            baseline,
            size_pt,
            text,
        });
    }

    /// Text centred on `center_x`.
    pub fn text_centered(&mut self, center_x: f32, baseline: f32, size_pt: f32, text: &str) {
        let x = center_x - text_width_mm(&printable(text), size_pt) / 2.0;
        self.text(x, baseline, size_pt, text);
    }

    /// Text ending at `right_x`.
    pub fn text_right(&mut self, right_x: f32, baseline: f32, size_pt: f32, text: &str) {
        let x = right_x - text_width_mm(&printable(text), size_pt);
        self.text(x, baseline, size_pt, text);
    }

    /// Lines of text from `top`, one under the other (line height 1.35 × size).
    /// Returns the y just below the last line.
    pub fn text_lines(&mut self, x: f32, top: f32, size_pt: f32, lines: &[String]) -> f32 {
        let step = size_pt * 1.35 / PT_PER_MM;
        let mut baseline = top + size_pt / PT_PER_MM;
        for line in lines {
            self.text(x, baseline, size_pt, line);
            baseline += step;
        }
        baseline - size_pt / PT_PER_MM + (step - size_pt / PT_PER_MM)
    }

    /// A straight line `width_pt` thick.
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width_pt: f32) {
        self.ops.push(Op::Line {
            x1,
            y1,
            x2,
            y2,
            width_pt,
        });
    }

    /// A rectangle outline (a box to write in).
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width_pt: f32) {
        self.ops.push(Op::Rect {
            x,
            y,
            w,
            h,
            width_pt,
        });
    }

    /// A QR code of `payload` (error correction M, or L when M cannot hold it) as vector
    /// squares, `size_mm` wide including a quiet zone of 4 modules, top-left at (`x`, `y`).
    /// Returns the module size in millimetres (below about 0.25 mm a printout scans badly).
    pub fn qr(&mut self, x: f32, y: f32, size_mm: f32, payload: &[u8]) -> Result<f32, PdfError> {
        use qrcode::{Color, EcLevel, QrCode};
        let code = QrCode::with_error_correction_level(payload, EcLevel::M)
            .or_else(|_| QrCode::with_error_correction_level(payload, EcLevel::L))
            .map_err(|_| PdfError::QrTooLong {
                bytes: payload.len(),
            })?;
        let width = code.width();
        let module = size_mm / (width + 8) as f32;
        let colors = code.to_colors();
        let mut rects = Vec::new();
        for row in 0..width {
            // Runs of dark modules along a row become one rectangle: fewer path operators.
            let mut col = 0;
            while col < width {
                if colors[row * width + col] == Color::Dark {
                    let start = col;
                    while col < width && colors[row * width + col] == Color::Dark {
                        col += 1;
                    }
                    rects.push((
                        x + (start + 4) as f32 * module,
                        y + (row + 4) as f32 * module,
                        (col - start) as f32 * module,
                        module,
                    ));
                } else {
                    col += 1;
                }
            }
        }
        self.ops.push(Op::Fill { rects });
        Ok(module)
    }

    /// Renders the page to PDF bytes, the font subset embedded; `title` goes in the metadata.
    pub fn finish(self, title: &str) -> Result<Vec<u8>, PdfError> {
        let font = Font::new(krilla::Data::from(JAPANESE_FONT_TTF), 0)
            .ok_or_else(|| PdfError::Font("krilla cannot read the bundled font".into()))?;
        let mut document = Document::new();
        document.set_metadata(
            Metadata::new()
                .title(title.to_string())
                .language("ja".to_string())
                .creator("onshi-desk".to_string()),
        );
        let settings = PageSettings::from_wh(A4_WIDTH_MM * PT_PER_MM, A4_HEIGHT_MM * PT_PER_MM)
            .ok_or_else(|| PdfError::Write("invalid page size".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        let black_fill = Fill {
            paint: luma::Color::black().into(),
            opacity: NormalizedF32::ONE,
            rule: Default::default(),
        };
        for op in self.ops {
            match op {
                Op::Text {
                    x,
                    baseline,
                    size_pt,
                    text,
                } => {
                    surface.set_stroke(None);
                    surface.set_fill(Some(black_fill.clone()));
                    surface.draw_text(
                        Point::from_xy(x * PT_PER_MM, baseline * PT_PER_MM),
                        font.clone(),
                        size_pt,
                        &text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Line {
                    x1,
                    y1,
                    x2,
                    y2,
                    width_pt,
                } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(x1 * PT_PER_MM, y1 * PT_PER_MM);
                    pb.line_to(x2 * PT_PER_MM, y2 * PT_PER_MM);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(stroke(width_pt)));
                        surface.draw_path(&path);
                    }
                }
                Op::Rect {
                    x,
                    y,
                    w,
                    h,
                    width_pt,
                } => {
                    let mut pb = PathBuilder::new();
                    if let Some(rect) =
                        Rect::from_xywh(x * PT_PER_MM, y * PT_PER_MM, w * PT_PER_MM, h * PT_PER_MM)
                    {
                        pb.push_rect(rect);
                    }
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(stroke(width_pt)));
                        surface.draw_path(&path);
                    }
                }
                Op::Fill { rects } => {
                    let mut pb = PathBuilder::new();
                    for (x, y, w, h) in rects {
                        if let Some(rect) = Rect::from_xywh(
                            x * PT_PER_MM,
                            y * PT_PER_MM,
                            w * PT_PER_MM,
                            h * PT_PER_MM,
                        ) {
                            pb.push_rect(rect);
                        }
                    }
                    if let Some(path) = pb.finish() {
                        surface.set_stroke(None);
                        surface.set_fill(Some(black_fill.clone()));
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
        document
            .finish()
            .map_err(|e| PdfError::Write(format!("{e:?}")))
    }
}

fn stroke(width_pt: f32) -> Stroke {
    Stroke {
        paint: luma::Color::black().into(),
        width: width_pt,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_text_is_one_em_per_character() {
        // 10 pt = 3.528 mm per full-width character.
        let w = text_width_mm("申立書", 10.0);
        assert!((w - 3.0 * 10.0 / PT_PER_MM).abs() < 0.01, "{w}");
        assert!(text_width_mm("abc", 10.0) < w);
    }

    #[test]
    fn wrap_keeps_every_character_and_respects_the_width() {
        let text = "東京都千代田区霞が関一丁目二番二号 中央合同庁舎第五号館 別館";
        let lines = wrap(text, 40.0, 10.0);
        assert!(lines.len() > 1);
        for l in &lines {
            assert!(text_width_mm(l, 10.0) <= 40.0, "{l}");
        }
        let joined: String = lines.concat();
        assert_eq!(joined.replace(' ', ""), text.replace(' ', ""));
    }

    #[test]
    fn fit_shrinks_then_cuts_with_a_mark() {
        let short = fit("山田太郎", 50.0, 1, &[12.0, 9.0]);
        assert_eq!((short.size_pt, short.truncated), (12.0, false));
        let long = "あ".repeat(400);
        let cut = fit(&long, 50.0, 2, &[12.0, 9.0]);
        assert!(cut.truncated);
        assert_eq!(cut.lines.len(), 2);
        assert!(cut.lines[1].ends_with('…'));
        assert!(text_width_mm(&cut.lines[1], 9.0) <= 50.0);
    }

    #[test]
    fn characters_missing_from_the_font_become_geta() {
        assert_eq!(printable("A\u{1F600}B\u{7}"), "A〓B");
    }

    #[test]
    fn a_page_renders_to_a_small_pdf() {
        let mut page = A4Page::new();
        page.text(20.0, 30.0, 12.0, "被保険者資格申立書");
        page.rect(20.0, 40.0, 50.0, 10.0, 0.5);
        page.line(20.0, 60.0, 100.0, 60.0, 0.5);
        page.qr(120.0, 40.0, 40.0, b"hello").expect("qr");
        let pdf = page.finish("test").expect("pdf");
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 60_000, "{} bytes", pdf.len());
    }
}
