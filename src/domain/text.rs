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
}
