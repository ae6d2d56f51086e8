//! Files built into the binary, so the desk needs nothing installed beside it.
//!
//! The Japanese font is embedded once, here, for the printouts (`crate::print`) and for the
//! desk UI later: one copy in the binary, one place to change it. See `assets/README.md`.

/// IPAexGothic (IPAexゴシック) 004.01, a plain TrueType (glyf) font covering JIS X 0213
/// kanji, kana and Latin; IPA Font License v1.0 (`assets/fonts/IPA_Font_License_Agreement_v1.0.txt`).
///
/// Why this font: free to embed and redistribute, every character a Japanese name or address
/// needs, and TrueType outlines that both the PDF writer (which subsets it) and a UI toolkit
/// read directly.
pub static JAPANESE_FONT_TTF: &[u8] = include_bytes!("../assets/fonts/ipaexg.ttf");

/// The font's name, for UIs that register fonts by family.
pub const JAPANESE_FONT_NAME: &str = "IPAexGothic";
