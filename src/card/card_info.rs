//! The card-info input-support application (券面事項入力補助AP): the basic four items.
//!
//! After the patient gives their 4-digit PIN, the desk can read name, address, birth date and
//! sex (基本4情報) from the card instead of retyping them into a self-declaration form. The
//! record is a `FF 20` TLV holding `DF21` (offsets, ignored) and `DF22`–`DF25`.

use serde::Serialize;

use super::apdu::{Command, Status, StatusWord};
use super::ef;
use super::error::CardError;
use super::jpki::{verify_selected, Pin};
use super::transport::{Channel, Transmit};

/// AID of the card-info input-support application.
pub const AID: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];
/// Its PIN (same digits as the user-authentication PIN, its own counter of 3).
pub const PIN_FILE: [u8; 2] = [0x00, 0x11];
/// The basic-four-items record.
pub const BASIC_INFO_FILE: [u8; 2] = [0x00, 0x02];

/// 性別 as the card encodes it (the self-declaration form asks its own
/// [`Sex`](crate::domain::claim::declaration::Sex), without 適用不能).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardSex {
    /// `1` 男性
    Male,
    /// `2` 女性
    Female,
    /// `9` 適用不能 (not applicable)
    NotApplicable,
}

/// 基本4情報: the printed basics of the holder, as stored on the card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BasicInfo {
    /// 氏名 (may contain `●` for characters the card cannot hold).
    pub name: String,
    /// 住所
    pub address: String,
    /// 生年月日
    pub birth_date: time::Date,
    /// 性別
    pub sex: CardSex,
}

/// Verifies the card-info PIN and reads the basic four items.
pub fn read_basic_info(ch: &mut Channel<impl Transmit>, pin: &Pin) -> Result<BasicInfo, CardError> {
    let r = ch.exchange(&Command::select_aid(&AID))?;
    if r.status() != Status::Ok {
        return Err(CardError::NotMyNumberCard(r.sw));
    }
    let missing = |operation| CardError::UnexpectedStatus {
        operation,
        sw: StatusWord(0x6A, 0x82),
    };
    ef::select(ch, PIN_FILE)?.ok_or(missing("SELECT card-info PIN"))?;
    verify_selected(ch, pin)?;
    ef::select(ch, BASIC_INFO_FILE)?.ok_or(missing("SELECT basic info"))?;
    let record = ef::read_sized(
        ch,
        "READ BINARY basic info",
        tlv_total_length,
        CardError::MalformedCardInfo,
    )?;
    parse_basic_info(&record)
}

/// Reads a BER length at the start of `bytes`: (length, bytes used).
fn ber_length(bytes: &[u8]) -> Result<(usize, usize), CardError> {
    let bad = |m: &str| CardError::MalformedCardInfo(m.to_owned());
    let (&first, rest) = bytes.split_first().ok_or_else(|| bad("truncated length"))?;
    if first < 0x80 {
        return Ok((usize::from(first), 1));
    }
    let n = usize::from(first & 0x7F);
    if n == 0 || n > 2 {
        return Err(bad("unsupported length form"));
    }
    let len_bytes = rest.get(..n).ok_or_else(|| bad("truncated length"))?;
    Ok((
        len_bytes
            .iter()
            .fold(0usize, |a, &b| (a << 8) | usize::from(b)),
        1 + n,
    ))
}

fn tlv_total_length(head: &[u8]) -> Result<usize, CardError> {
    if head.get(..2) != Some(&[0xFF, 0x20][..]) {
        return Err(CardError::MalformedCardInfo(
            "record does not start with FF 20".into(),
        ));
    }
    let (len, used) = ber_length(&head[2..])?;
    Ok(2 + used + len)
}

/// Parses the `FF 20` record into typed values.
pub fn parse_basic_info(record: &[u8]) -> Result<BasicInfo, CardError> {
    let bad = |m: String| CardError::MalformedCardInfo(m);
    tlv_total_length(record)?;
    let (len, used) = ber_length(&record[2..])?;
    let body = record
        .get(2 + used..2 + used + len)
        .ok_or_else(|| bad("record shorter than its length".into()))?;

    let (mut name, mut address, mut birth, mut sex) = (None, None, None, None);
    let mut rest = body;
    while !rest.is_empty() {
        let tag = rest.get(..2).ok_or_else(|| bad("truncated tag".into()))?;
        let (len, used) = ber_length(&rest[2..])?;
        let start = 2 + used;
        let value = rest
            .get(start..start + len)
            .ok_or_else(|| bad("truncated value".into()))?;
        let text = || {
            String::from_utf8(value.to_vec()).map_err(|_| bad(format!("{tag:02X?} is not UTF-8")))
        };
        match tag {
            [0xDF, 0x22] => name = Some(text()?),
            [0xDF, 0x23] => address = Some(text()?),
            [0xDF, 0x24] => birth = Some(text()?),
            [0xDF, 0x25] => sex = Some(text()?),
            _ => {}
        }
        rest = &rest[start + len..];
    }
    let birth = birth.ok_or_else(|| bad("no birth date (DF24)".into()))?;
    let birth_date = time::Date::parse(
        &birth,
        time::macros::format_description!("[year][month][day]"),
    )
    .map_err(|e| bad(format!("birth date {birth:?}: {e}")))?;
    let sex = match sex.as_deref() {
        Some("1") => CardSex::Male,
        Some("2") => CardSex::Female,
        Some("9") => CardSex::NotApplicable,
        other => return Err(bad(format!("sex code {other:?}"))),
    };
    Ok(BasicInfo {
        name: name.ok_or_else(|| bad("no name (DF22)".into()))?,
        address: address.ok_or_else(|| bad("no address (DF23)".into()))?,
        birth_date,
        sex,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: [u8; 2], value: &[u8]) -> Vec<u8> {
        let mut v = tag.to_vec();
        if value.len() < 0x80 {
            v.push(value.len() as u8);
        } else {
            v.extend_from_slice(&[0x81, value.len() as u8]);
        }
        v.extend_from_slice(value);
        v
    }

    fn record(items: &[([u8; 2], &[u8])]) -> Vec<u8> {
        let body: Vec<u8> = items.iter().flat_map(|(t, v)| tlv(*t, v)).collect();
        let mut r = vec![0xFF, 0x20];
        if body.len() < 0x80 {
            r.push(body.len() as u8);
        } else {
            r.extend_from_slice(&[0x82, (body.len() >> 8) as u8, body.len() as u8]);
        }
        r.extend(body);
        r.extend_from_slice(&[0xFF; 40]);
        r
    }

    #[test]
    fn parses_the_four_items_and_ignores_the_offsets() {
        let address = "東京都千代田区霞が関1-2-2 中央合同庁舎第5号館".repeat(2);
        let r = record(&[
            ([0xDF, 0x21], &[0, 1, 0, 2, 0, 3, 0, 4]),
            ([0xDF, 0x22], "山田 ●子".as_bytes()),
            ([0xDF, 0x23], address.as_bytes()),
            ([0xDF, 0x24], b"19800401"),
            ([0xDF, 0x25], b"2"),
        ]);
        let info = parse_basic_info(&r).expect("parses");
        assert_eq!(info.name, "山田 ●子");
        assert_eq!(info.address, address);
        assert_eq!(info.birth_date, time::macros::date!(1980 - 04 - 01));
        assert_eq!(info.sex, CardSex::Female);
    }

    #[test]
    fn malformed_records_are_errors_not_panics() {
        let good = record(&[
            ([0xDF, 0x22], "名".as_bytes()),
            ([0xDF, 0x23], "住所".as_bytes()),
            ([0xDF, 0x24], b"19800401"),
            ([0xDF, 0x25], b"1"),
        ]);
        for cut in 0..good.len() - 40 {
            assert!(parse_basic_info(&good[..cut]).is_err(), "cut at {cut}");
        }
        let bad_date = record(&[
            ([0xDF, 0x22], b"a"),
            ([0xDF, 0x23], b"b"),
            ([0xDF, 0x24], b"19801301"),
            ([0xDF, 0x25], b"1"),
        ]);
        assert!(matches!(
            parse_basic_info(&bad_date),
            Err(CardError::MalformedCardInfo(_))
        ));
        let bad_utf8 = record(&[([0xDF, 0x22], &[0xFF, 0xFE])]);
        assert!(parse_basic_info(&bad_utf8).is_err());
    }
}
