//! Text rules in one place: what people type brought to one form, and text from outside made
//! safe to show.
//!
//! - **Width** ([`normalize_width`]): patients and staff type through a Japanese IME that
//!   produces full-width digits and letters (`０６１３…`, `ＡＢ`) and the ideographic space;
//!   every typed number, date and search is brought to half-width first, so `０１` and `01`
//!   are the same value everywhere.
//! - **Kana** ([`to_halfwidth_katakana`], [`hiragana_to_katakana`]): the service gives
//!   `NameKana` (カナ氏名) in **half-width katakana** (`ﾔﾏﾀﾞ ﾊﾅｺ`); a clerk types ひらがな or
//!   full-width カタカナ. To find a patient by kana, the typed text is brought to the service's
//!   form rather than the stored names to the typed one: the journal then compares against
//!   its index as it is.
//! - **Display** ([`for_display`]): text that came from outside (a server's answer or error, a
//!   file a patient brought) is never passed through raw. An escape sequence in a server's
//!   error detail can rewrite a clerk's terminal or a log viewer; a bidi override (U+202E)
//!   makes `1234` read as `4321`; a newline forges a second log line. [`for_display`] replaces
//!   every control and bidi character by a visible `\u{…}` escape and caps the length.

use std::borrow::Cow;

// ---- 外字 --------------------------------------------------------------------------------

/// The mark the online qualification service puts in a name for each character its system
/// cannot store or show (外字: rare kanji of family names). Source: S12 of `docs/domain.md`
/// (the 外字 row of the answer's table there); since the service began (2021-10-20), until
/// further notice. Names are shown as received, mark included.
pub const GAIJI_MARK: char = '●';

/// Said wherever a name with [`GAIJI_MARK`] is shown, so a clerk does not take the mark for
/// a damaged answer and copies the real character from the patient's documents.
pub const GAIJI_EXPLANATION: &str =
    "●は外字(システムで表示できない文字)です。正しい字は資格確認書などでご確認ください。";

/// Whether `name` holds a character the service could not store ([`GAIJI_MARK`]).
pub fn has_gaiji(name: &str) -> bool {
    name.contains(GAIJI_MARK)
}

// ---- Files for spreadsheets ---------------------------------------------------------------

/// How text files for staff (the month-end CSV reports) are encoded. Japanese Excel opens a
/// CSV as Shift_JIS (CP932) unless it starts with a UTF-8 byte order mark, so a plain UTF-8
/// file shows 山田 as mojibake: UTF-8 **with** BOM is the default (Excel 2016 and later, and
/// every other program, read it); Shift_JIS is offered for older Excel and receipt computers
/// that read only Shift_JIS; plain UTF-8 for scripts.
///
/// The Shift_JIS written is the WHATWG one of `encoding_rs` (Windows-31J / CP932, what
/// Japanese Windows and Excel mean by Shift_JIS). Source: Microsoft's documentation of the
/// text import (「CSV UTF-8」 since Excel 2016); until further notice. **Unconfirmed** which
/// one a given receipt computer needs: a setting (`[journal] csv_encoding`) and a CLI flag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 starting with the byte order mark `EF BB BF`.
    #[default]
    Utf8Bom,
    /// Shift_JIS (CP932); characters it lacks are written as [`GAIJI_MARK`].
    ShiftJis,
    /// UTF-8 without a byte order mark.
    Utf8,
}

impl TextEncoding {
    /// Every encoding with the name the configuration and the CLI use.
    pub const ALL: [(TextEncoding, &'static str); 3] = [
        (TextEncoding::Utf8Bom, "utf-8-bom"),
        (TextEncoding::ShiftJis, "shift_jis"),
        (TextEncoding::Utf8, "utf-8"),
    ];

    /// The name in the configuration and on the command line (`utf-8-bom`, `shift_jis`,
    /// `utf-8`).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(e, _)| *e == self)
            .map_or("utf-8-bom", |(_, n)| n)
    }

    /// Reads a name (case and `-`/`_` ignored; `sjis`, `cp932` accepted for Shift_JIS).
    pub fn from_name(name: &str) -> Option<TextEncoding> {
        let n = name.trim().to_ascii_lowercase().replace('_', "-");
        match n.as_str() {
            "utf-8-bom" | "utf8-bom" => Some(TextEncoding::Utf8Bom),
            "shift-jis" | "sjis" | "cp932" | "windows-31j" => Some(TextEncoding::ShiftJis),
            "utf-8" | "utf8" => Some(TextEncoding::Utf8),
            _ => None,
        }
    }
}

/// Text encoded for a file: the bytes, and the characters that had no place in the encoding
/// and were written as [`GAIJI_MARK`] (for the log: never silently lost).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedText {
    pub bytes: Vec<u8>,
    pub replaced: Vec<char>,
}

/// `text` in `encoding`. UTF-8 keeps every character; Shift_JIS writes each character it lacks
/// (外字 the service sent, emoji, rare kanji) as `●`, the mark the service itself uses for a
/// character it cannot show, so a reader of the report knows a character is missing there.
pub fn encode_text(text: &str, encoding: TextEncoding) -> EncodedText {
    match encoding {
        TextEncoding::Utf8Bom => {
            let mut bytes = Vec::with_capacity(text.len() + 3);
            bytes.extend_from_slice(b"\xEF\xBB\xBF");
            bytes.extend_from_slice(text.as_bytes());
            EncodedText {
                bytes,
                replaced: Vec::new(),
            }
        }
        TextEncoding::Utf8 => EncodedText {
            bytes: text.as_bytes().to_vec(),
            replaced: Vec::new(),
        },
        TextEncoding::ShiftJis => {
            let sjis = encoding_rs::SHIFT_JIS;
            let (mark, _, _) = sjis.encode("●");
            let mut bytes = Vec::with_capacity(text.len());
            let mut replaced = Vec::new();
            let mut buf = [0u8; 4];
            for c in text.chars() {
                let (encoded, _, unmappable) = sjis.encode(c.encode_utf8(&mut buf));
                if unmappable {
                    bytes.extend_from_slice(&mark);
                    replaced.push(c);
                } else {
                    bytes.extend_from_slice(&encoded);
                }
            }
            EncodedText { bytes, replaced }
        }
    }
}

// ---- Width -------------------------------------------------------------------------------

/// Full-width ASCII (`！`–`～`) to half-width and the ideographic space to a space; trims.
pub fn normalize_width(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

// ---- Kana (カナ) ------------------------------------------------------------------------------

/// Full-width katakana whose half-width form is one character, aligned with [`HALF`].
const FULL: &str = "ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン・ヮヰヱヵヶ";
/// Their half-width forms (ヮヰヱヵヶ have none of their own: the plain kana stands in).
const HALF: &str = "ｦｧｨｩｪｫｬｭｮｯｰｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝ･ﾜｲｴｶｹ";

/// Voiced (濁音) katakana and the half-width kana they are written with before `ﾞ`.
const VOICED: &str = "ガギグゲゴザジズゼゾダヂヅデドバビブベボヴヷ";
const VOICED_BASE: &str = "ｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾊﾋﾌﾍﾎｳﾜ";
/// Semi-voiced (半濁音) katakana and their bases before `ﾟ`.
const SEMI_VOICED: &str = "パピプペポ";
const SEMI_VOICED_BASE: &str = "ﾊﾋﾌﾍﾎ";

/// The half-width form of `ch` in `table`/`halves`, if `ch` is in the table.
fn lookup(ch: char, table: &str, halves: &str) -> Option<char> {
    let i = table.chars().position(|f| f == ch)?;
    halves.chars().nth(i)
}

/// One full-width katakana (hiragana already lifted) in half-width; `false` if not kana.
fn push_half(ch: char, out: &mut String) -> bool {
    if let Some(h) = lookup(ch, FULL, HALF) {
        out.push(h);
    } else if let Some(h) = lookup(ch, VOICED, VOICED_BASE) {
        out.push(h);
        out.push('ﾞ');
    } else if let Some(h) = lookup(ch, SEMI_VOICED, SEMI_VOICED_BASE) {
        out.push(h);
        out.push('ﾟ');
    } else {
        return false;
    }
    true
}

/// ひらがな (ぁ–ゖ, ゔ included) as the same kana in full-width カタカナ; any other character as
/// it is.
pub fn hiragana_to_katakana(ch: char) -> char {
    match ch {
        'ぁ'..='ゖ' => char::from_u32(ch as u32 + 0x60).unwrap_or(ch),
        _ => ch,
    }
}

/// The text in half-width katakana, as the service writes `NameKana`; `None` when it holds
/// anything but kana, spaces (half- or full-width) and `ー`/`・`. ひらがな, full-width and
/// half-width katakana are all taken; a full-width space becomes a half-width one.
pub fn to_halfwidth_katakana(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        let ch = hiragana_to_katakana(ch);
        match ch {
            ' ' | '\u{3000}' => out.push(' '),
            '\u{FF65}'..='\u{FF9F}' => out.push(ch),
            _ => {
                if !push_half(ch, &mut out) {
                    return None;
                }
            }
        }
    }
    Some(out)
}

// ---- Display -----------------------------------------------------------------------------

/// Characters kept when text is shown, before the rest is cut off with `…`.
pub const DISPLAY_LIMIT: usize = 500;

/// Whether `c` must never reach a screen or a log as is: C0 and C1 controls, DEL, and the
/// Unicode formatting characters that reorder or hide text (bidi embeddings, overrides,
/// isolates and marks, zero-width joiners and the BOM).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Whether `s` holds any [`is_unsafe_char`].
pub fn has_unsafe_chars(s: &str) -> bool {
    s.chars().any(is_unsafe_char)
}

/// `s` with every unsafe character written as `\u{…}` and at most [`DISPLAY_LIMIT`]
/// characters kept. Borrowed when nothing had to change.
pub fn for_display(s: &str) -> Cow<'_, str> {
    for_display_limited(s, DISPLAY_LIMIT)
}

/// [`for_display`] with another length limit (in characters).
pub fn for_display_limited(s: &str, limit: usize) -> Cow<'_, str> {
    let long = s.chars().nth(limit).is_some();
    if !long && !has_unsafe_chars(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(limit * 4) + 8);
    for c in s.chars().take(limit) {
        if is_unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    if long {
        out.push('…');
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_japanese_passes_unchanged_and_borrowed() {
        let s = "資格喪失 ﾔﾏﾀﾞ ﾀﾛｳ 保険者番号06139999";
        assert!(matches!(for_display(s), Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_newlines_and_terminal_sequences_and_bidi_overrides() {
        assert_eq!(
            for_display("a\nb\x1b[2Jc\u{202E}1234"),
            "a\\u{a}b\\u{1b}[2Jc\\u{202e}1234"
        );
        assert!(has_unsafe_chars("\u{2066}x"));
        assert!(!has_unsafe_chars("ｱｲｳ　全角スペース"));
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let s = "あ".repeat(10);
        assert_eq!(for_display_limited(&s, 3), "あああ…");
        assert_eq!(for_display_limited("abc", 3), "abc");
    }

    #[test]
    fn full_width_ascii_and_the_ideographic_space_become_half_width() {
        assert_eq!(normalize_width("ＡＢ１２"), "AB12");
        assert_eq!(normalize_width("　０６０１０３９１ "), "06010391");
    }

    #[test]
    fn hiragana_full_and_half_width_katakana_meet_in_the_service_form() {
        for typed in ["やまだ　はなこ", "ヤマダ ハナコ", "ﾔﾏﾀﾞ ﾊﾅｺ", "やまダ ﾊなコ"]
        {
            assert_eq!(
                to_halfwidth_katakana(typed).as_deref(),
                Some("ﾔﾏﾀﾞ ﾊﾅｺ"),
                "{typed}"
            );
        }
    }

    #[test]
    fn voiced_semi_voiced_small_and_long_marks() {
        assert_eq!(
            to_halfwidth_katakana("ガギグゲゴザジズゼゾダヂヅデドバビブベボ").as_deref(),
            Some("ｶﾞｷﾞｸﾞｹﾞｺﾞｻﾞｼﾞｽﾞｾﾞｿﾞﾀﾞﾁﾞﾂﾞﾃﾞﾄﾞﾊﾞﾋﾞﾌﾞﾍﾞﾎﾞ")
        );
        assert_eq!(
            to_halfwidth_katakana("パピプペポ").as_deref(),
            Some("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ")
        );
        assert_eq!(
            to_halfwidth_katakana("きょうこ・ゔぃくとりあ・ちぇーん").as_deref(),
            Some("ｷｮｳｺ･ｳﾞｨｸﾄﾘｱ･ﾁｪｰﾝ")
        );
        assert_eq!(to_halfwidth_katakana("ッヲン").as_deref(), Some("ｯｦﾝ"));
    }

    #[test]
    fn anything_else_is_not_kana() {
        for other in ["山田", "yamada", "やまだ1", "ヤマダ-"] {
            assert_eq!(to_halfwidth_katakana(other), None, "{other}");
        }
        assert_eq!(to_halfwidth_katakana("").as_deref(), Some(""));
    }

    #[test]
    fn files_for_excel_start_with_a_bom_or_are_shift_jis_with_marks() {
        let text = "氏名,カナ\r\n山田 花子,ﾔﾏﾀﾞ ﾊﾅｺ\r\n渡辺 𠮷介😀,\r\n";
        let bom = encode_text(text, TextEncoding::default());
        assert_eq!(&bom.bytes[..3], b"\xEF\xBB\xBF");
        assert_eq!(std::str::from_utf8(&bom.bytes[3..]), Ok(text));
        // As Excel reads it: the BOM says UTF-8.
        let (read, had_bom) = encoding_rs::Encoding::for_bom(&bom.bytes).expect("a BOM");
        assert_eq!((read, had_bom), (encoding_rs::UTF_8, 3));

        let sjis = encode_text(text, TextEncoding::ShiftJis);
        assert!(encoding_rs::Encoding::for_bom(&sjis.bytes).is_none());
        let (back, _, errors) = encoding_rs::SHIFT_JIS.decode(&sjis.bytes);
        assert!(!errors);
        assert_eq!(back, "氏名,カナ\r\n山田 花子,ﾔﾏﾀﾞ ﾊﾅｺ\r\n渡辺 ●介●,\r\n");
        assert_eq!(sjis.replaced, vec!['𠮷', '😀']);
        // 髙 and ① are in CP932 (what Japanese Excel means by Shift_JIS), kept as they are.
        let cp932 = encode_text("髙橋①", TextEncoding::ShiftJis);
        assert!(cp932.replaced.is_empty());
        assert_eq!(encoding_rs::SHIFT_JIS.decode(&cp932.bytes).0, "髙橋①");

        let plain = encode_text(text, TextEncoding::Utf8);
        assert_eq!(plain.bytes, text.as_bytes());
    }

    #[test]
    fn encodings_by_name() {
        for (e, name) in TextEncoding::ALL {
            assert_eq!(TextEncoding::from_name(name), Some(e));
            assert_eq!(e.name(), name);
        }
        assert_eq!(
            TextEncoding::from_name("SJIS"),
            Some(TextEncoding::ShiftJis)
        );
        assert_eq!(
            TextEncoding::from_name("Shift-JIS"),
            Some(TextEncoding::ShiftJis)
        );
        assert_eq!(TextEncoding::from_name("latin1"), None);
    }

    #[test]
    fn gaiji_is_found() {
        assert!(has_gaiji("渡辺 ●介"));
        assert!(!has_gaiji("山田 花子"));
    }
}
