//! Reading transparent EFs whose length is written in their own first bytes.
//!
//! Both the certificate EFs and the card-info record are a TLV followed by filler, and the
//! card does not say how long the TLV is. The fewest round trips are: one 256-byte read that
//! brings the header (and the first 256 bytes), then reads of at most 256 bytes asking for
//! exactly what is left. `6B 00` (offset past the end) and `62 82` (end before Le) both mean
//! end of file.

use super::apdu::{Command, Status};
use super::error::CardError;
use super::transport::{Channel, Transmit};

/// Largest offset READ BINARY can address with P1 bit 8 clear.
const MAX_OFFSET: usize = 0x7FFF;
/// Largest Le of a short APDU.
const CHUNK: usize = 256;

/// Selects `ef` under the current application; `NotFound` comes back as `None` so each
/// application can say what a missing file means for it.
pub fn select(ch: &mut Channel<impl Transmit>, ef: [u8; 2]) -> Result<Option<()>, CardError> {
    let r = ch.exchange(&Command::select_ef(ef))?;
    match r.status() {
        Status::Ok => Ok(Some(())),
        Status::NotFound => Ok(None),
        _ => Err(CardError::UnexpectedStatus {
            operation: "SELECT EF",
            sw: r.sw,
        }),
    }
}

/// Reads the selected EF up to the length its header announces.
///
/// `total_len` gets the first chunk and returns the total length of the TLV; `truncated`
/// builds the error for a file that ends before that length.
pub fn read_sized(
    ch: &mut Channel<impl Transmit>,
    operation: &'static str,
    total_len: impl Fn(&[u8]) -> Result<usize, CardError>,
    truncated: impl Fn(String) -> CardError,
) -> Result<Vec<u8>, CardError> {
    let (mut data, mut eof) = read_chunk(ch, operation, 0, CHUNK)?;
    let total = total_len(&data)?;
    if total > MAX_OFFSET + 1 {
        return Err(truncated(format!(
            "announced length {total} exceeds the card's address space"
        )));
    }
    while data.len() < total && !eof {
        let want = (total - data.len()).min(CHUNK);
        let (mut more, end) = read_chunk(ch, operation, data.len(), want)?;
        eof = end || more.is_empty();
        data.append(&mut more);
    }
    if data.len() < total {
        return Err(truncated(format!(
            "file ends at {} of {total} bytes",
            data.len()
        )));
    }
    data.truncate(total);
    Ok(data)
}

/// One READ BINARY; returns the bytes and whether the end of the file was reached.
fn read_chunk(
    ch: &mut Channel<impl Transmit>,
    operation: &'static str,
    offset: usize,
    le: usize,
) -> Result<(Vec<u8>, bool), CardError> {
    // Both are bounded by the callers: offset ≤ MAX_OFFSET, 1 ≤ le ≤ 256.
    let r = ch.exchange(&Command::read_binary(offset as u16, le as u16))?;
    match r.status() {
        Status::Ok => Ok((r.data, false)),
        Status::EndOfFile => Ok((r.data, true)),
        Status::OffsetOutOfRange => Ok((Vec::new(), true)),
        Status::SecurityNotSatisfied => Err(CardError::PinRequired(operation)),
        _ => Err(CardError::UnexpectedStatus {
            operation,
            sw: r.sw,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::transport::fake::Scripted;
    use super::*;

    fn ok(data: &[u8]) -> Vec<u8> {
        let mut v = data.to_vec();
        v.extend_from_slice(&[0x90, 0x00]);
        v
    }

    fn der_len(d: &[u8]) -> Result<usize, CardError> {
        super::super::certificate::der_total_length(d)
    }

    #[test]
    fn reads_exactly_the_announced_length_in_the_fewest_reads() {
        // 4 + 0x02FC = 768 bytes: three reads of 256, none of the FF filler.
        let mut file = vec![0x30, 0x82, 0x02, 0xFC];
        file.resize(768, 0xAB);
        let mut ch = Channel::new(Scripted::new([
            ok(&file[..256]),
            ok(&file[256..512]),
            ok(&file[512..768]),
        ]));
        let got = read_sized(&mut ch, "t", der_len, CardError::MalformedCertificate).expect("read");
        assert_eq!(got, file);
        assert_eq!(ch.apdu_count(), 3);
        let sent = ch.into_inner().sent;
        assert_eq!(sent[1], [0x00, 0xB0, 0x01, 0x00, 0x00]);
        assert_eq!(sent[2], [0x00, 0xB0, 0x02, 0x00, 0x00]);
    }

    #[test]
    fn the_last_read_asks_only_for_what_is_left() {
        let mut file = vec![0x30, 0x82, 0x01, 0x2C]; // 304 bytes
        file.resize(304, 1);
        let mut ch = Channel::new(Scripted::new([ok(&file[..256]), ok(&file[256..])]));
        read_sized(&mut ch, "t", der_len, CardError::MalformedCertificate).expect("read");
        assert_eq!(ch.into_inner().sent[1], [0x00, 0xB0, 0x01, 0x00, 48]);
    }

    #[test]
    fn a_short_file_answered_with_6282_reads_in_one_apdu() {
        let file = [0x30, 0x03, 1, 2, 3];
        let mut short = file.to_vec();
        short.extend_from_slice(&[0x62, 0x82]);
        let mut ch = Channel::new(Scripted::new([short]));
        let got = read_sized(&mut ch, "t", der_len, CardError::MalformedCertificate).expect("ok");
        assert_eq!(got, file);
    }

    #[test]
    fn a_file_shorter_than_its_header_is_truncated_not_a_hang() {
        let mut head = vec![0x30, 0x82, 0x04, 0x00];
        head.resize(256, 0);
        let mut ch = Channel::new(Scripted::new([ok(&head), vec![0x6B, 0x00]]));
        let err = read_sized(&mut ch, "t", der_len, CardError::MalformedCertificate);
        assert!(
            matches!(err, Err(CardError::MalformedCertificate(m)) if m.contains("256 of 1028"))
        );
    }

    #[test]
    fn a_pin_protected_file_says_so() {
        let mut ch = Channel::new(Scripted::new([vec![0x69, 0x82]]));
        let err = read_sized(
            &mut ch,
            "read signing cert",
            der_len,
            CardError::MalformedCertificate,
        );
        assert_eq!(err, Err(CardError::PinRequired("read signing cert")));
    }
}
