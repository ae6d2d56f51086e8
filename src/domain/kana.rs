//! Kana as the desk types it and as the service answers it (カナ氏名).
//!
//! The service gives `NameKana` in **half-width katakana** (`ﾔﾏﾀﾞ ﾊﾅｺ`); a clerk types
//! ひらがな or full-width カタカナ through the IME. To find a patient by kana, the typed text
//! is brought to the service's form rather than the stored names to the typed one: the
//! journal then compares against its index as it is.

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

#[cfg(test)]
mod tests {
    use super::*;

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
