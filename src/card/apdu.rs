//! Command and response APDUs (ISO/IEC 7816-4, short form only).
//!
//! The My Number card speaks short APDUs only, so extended lengths are not modelled. Status
//! words are turned into a typed [`Status`] here, once; the applications (`jpki`,
//! `card_info`) decide what each status means for the operation at hand.

use std::fmt;

/// A short command APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    /// Command data (at most 255 bytes for a short APDU).
    pub data: Vec<u8>,
    /// Expected response length; `Some(256)` is encoded as `00`.
    pub le: Option<u16>,
    /// The command carries a secret (VERIFY): never print its data.
    pub secret: bool,
}

impl Command {
    /// SELECT by DF name (AID), no FCI wanted (P2 = 0C), as the card expects.
    pub fn select_aid(aid: &[u8]) -> Self {
        Self::new(0x00, 0xA4, 0x04, 0x0C, aid.to_vec(), None)
    }

    /// SELECT EF by its two-byte identifier under the selected application.
    pub fn select_ef(id: [u8; 2]) -> Self {
        Self::new(0x00, 0xA4, 0x02, 0x0C, id.to_vec(), None)
    }

    /// READ BINARY at `offset` (15 bits) for `le` bytes (1..=256).
    pub fn read_binary(offset: u16, le: u16) -> Self {
        let [hi, lo] = (offset & 0x7FFF).to_be_bytes();
        Self::new(0x00, 0xB0, hi, lo, Vec::new(), Some(le.clamp(1, 256)))
    }

    /// VERIFY without data: asks the retry counter without consuming a try.
    pub fn verify_status() -> Self {
        Self::new(0x00, 0x20, 0x00, 0x80, Vec::new(), None)
    }

    /// VERIFY with the PIN bytes.
    pub fn verify(pin: &[u8]) -> Self {
        let mut c = Self::new(0x00, 0x20, 0x00, 0x80, pin.to_vec(), None);
        c.secret = true;
        c
    }

    /// JPKI's proprietary COMPUTE DIGITAL SIGNATURE over a DigestInfo.
    pub fn sign(digest_info: &[u8]) -> Self {
        Self::new(0x80, 0x2A, 0x00, 0x80, digest_info.to_vec(), Some(256))
    }

    /// GET RESPONSE for the `n` bytes a `61 xx` announced.
    pub fn get_response(n: u8) -> Self {
        Self::new(
            0x00,
            0xC0,
            0x00,
            0x00,
            Vec::new(),
            Some(if n == 0 { 256 } else { n.into() }),
        )
    }

    fn new(cla: u8, ins: u8, p1: u8, p2: u8, data: Vec<u8>, le: Option<u16>) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
            secret: false,
        }
    }

    /// The same command asking for exactly `le` bytes (the answer to a `6C xx`).
    pub fn with_le(&self, le: u16) -> Self {
        let mut c = self.clone();
        c.le = Some(le);
        c
    }

    /// Encodes the command. Data longer than 255 bytes is truncated by contract: every
    /// constructor here builds commands that fit.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.data.len() + 1);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if !self.data.is_empty() {
            let n = self.data.len().min(255);
            out.push(n as u8);
            out.extend_from_slice(&self.data[..n]);
        }
        if let Some(le) = self.le {
            out.push(if le >= 256 { 0 } else { le as u8 });
        }
        out
    }
}

impl Drop for Command {
    /// A VERIFY command's data is the PIN: wiped when the command is dropped, so no copy of
    /// the digits outlives the exchange (clones made for a `6C xx` resend are wiped too).
    fn drop(&mut self) {
        if self.secret {
            zeroize::Zeroize::zeroize(&mut self.data);
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02X} {:02X} {:02X} {:02X}",
            self.cla, self.ins, self.p1, self.p2
        )?;
        if !self.data.is_empty() {
            if self.secret {
                write!(f, " Lc={} <secret>", self.data.len())?;
            } else {
                write!(f, " Lc={} {}", self.data.len(), hex_upper(&self.data))?;
            }
        }
        if let Some(le) = self.le {
            write!(f, " Le={le}")?;
        }
        Ok(())
    }
}

/// The two status bytes at the end of every response.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u8, pub u8);

impl StatusWord {
    pub fn as_u16(self) -> u16 {
        u16::from_be_bytes([self.0, self.1])
    }

    /// The status word as a typed value; the one mapping in the crate.
    pub fn status(self) -> Status {
        match (self.0, self.1) {
            (0x90, 0x00) => Status::Ok,
            (0x61, n) => Status::MoreData(n),
            (0x6C, n) => Status::WrongLe(n),
            (0x62, 0x82) => Status::EndOfFile,
            (0x63, 0xC0) => Status::AuthBlocked,
            (0x63, x) if x & 0xF0 == 0xC0 => Status::RetriesLeft(x & 0x0F),
            (0x69, 0x84) => Status::AuthBlocked,
            (0x69, 0x82) => Status::SecurityNotSatisfied,
            (0x69, 0x81) => Status::IncompatibleFile,
            (0x69, 0x86) => Status::NoCurrentEf,
            (0x6A, 0x82) => Status::NotFound,
            (0x6A, 0x86) => Status::IncorrectParameters,
            (0x6B, 0x00) => Status::OffsetOutOfRange,
            (0x67, 0x00) => Status::WrongLength,
            (0x6D, 0x00) => Status::InsNotSupported,
            (0x6E, 0x00) => Status::ClaNotSupported,
            _ => Status::Other(self),
        }
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}{:02X}", self.0, self.1)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What a status word says, independent of the command that produced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// `90 00`.
    Ok,
    /// `61 xx`: xx more bytes wait for GET RESPONSE (some readers and T=0 cards).
    MoreData(u8),
    /// `6C xx`: wrong Le, resend with Le = xx.
    WrongLe(u8),
    /// `62 82`: end of file reached before Le bytes (the data is still valid).
    EndOfFile,
    /// `63 Cx` with x ≥ 1: verification failed or asked, x tries left.
    RetriesLeft(u8),
    /// `63 C0` or `69 84`: the PIN is blocked (or not set, on a face-auth card).
    AuthBlocked,
    /// `69 82`: a PIN must be verified first.
    SecurityNotSatisfied,
    /// `69 81`: the command does not fit the selected file (e.g. READ on a key).
    IncompatibleFile,
    /// `69 86`: no current EF.
    NoCurrentEf,
    /// `6A 82`: application or file not found.
    NotFound,
    /// `6A 86`: P1/P2 wrong.
    IncorrectParameters,
    /// `6B 00`: offset beyond the end of the file.
    OffsetOutOfRange,
    /// `67 00`: wrong length.
    WrongLength,
    /// `6D 00`: instruction not supported.
    InsNotSupported,
    /// `6E 00`: class not supported.
    ClaNotSupported,
    /// Anything else, kept raw for the log.
    Other(StatusWord),
}

/// A response APDU split into data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: StatusWord,
}

impl Response {
    /// Splits raw response bytes; `None` when fewer than the two status bytes arrived.
    pub fn parse(raw: &[u8]) -> Option<Self> {
        let n = raw.len().checked_sub(2)?;
        Some(Self {
            data: raw[..n].to_vec(),
            sw: StatusWord(raw[n], raw[n + 1]),
        })
    }

    pub fn status(&self) -> Status {
        self.sw.status()
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes SW={}", self.data.len(), self.sw)
    }
}

/// Uppercase hex without separators, as the desk and the logs show serials and APDUs.
pub fn hex_upper(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_commands_of_the_domain_primer() {
        assert_eq!(
            Command::select_aid(&[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01])
                .to_bytes(),
            [
                0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00,
                0x01
            ]
        );
        assert_eq!(
            Command::select_ef([0x00, 0x0A]).to_bytes(),
            [0, 0xA4, 2, 0x0C, 2, 0, 0x0A]
        );
        assert_eq!(
            Command::read_binary(0x0100, 256).to_bytes(),
            [0, 0xB0, 1, 0, 0]
        );
        assert_eq!(
            Command::read_binary(0x0400, 0x1C).to_bytes(),
            [0, 0xB0, 4, 0, 0x1C]
        );
        assert_eq!(Command::verify_status().to_bytes(), [0, 0x20, 0, 0x80]);
        assert_eq!(
            Command::verify(b"1234").to_bytes(),
            [0, 0x20, 0, 0x80, 4, b'1', b'2', b'3', b'4']
        );
        let sign = Command::sign(&[1, 2, 3]).to_bytes();
        assert_eq!(sign, [0x80, 0x2A, 0, 0x80, 3, 1, 2, 3, 0]);
        assert_eq!(
            Command::get_response(0x10).to_bytes(),
            [0, 0xC0, 0, 0, 0x10]
        );
    }

    #[test]
    fn read_binary_keeps_the_offset_to_fifteen_bits() {
        assert_eq!(Command::read_binary(0xFFFF, 1).to_bytes()[2], 0x7F);
    }

    #[test]
    fn a_verify_command_never_prints_the_pin() {
        let shown = format!("{:?}", Command::verify(b"1234"));
        assert!(!shown.contains("31323334"), "{shown}");
        assert!(shown.contains("<secret>"));
    }

    #[test]
    fn maps_status_words() {
        let cases = [
            ((0x90, 0x00), Status::Ok),
            ((0x61, 0x20), Status::MoreData(0x20)),
            ((0x6C, 0x1C), Status::WrongLe(0x1C)),
            ((0x62, 0x82), Status::EndOfFile),
            ((0x63, 0xC2), Status::RetriesLeft(2)),
            ((0x63, 0xC1), Status::RetriesLeft(1)),
            ((0x63, 0xC0), Status::AuthBlocked),
            ((0x69, 0x84), Status::AuthBlocked),
            ((0x69, 0x82), Status::SecurityNotSatisfied),
            ((0x6A, 0x82), Status::NotFound),
            ((0x6B, 0x00), Status::OffsetOutOfRange),
            ((0x6D, 0x00), Status::InsNotSupported),
        ];
        for ((a, b), want) in cases {
            assert_eq!(StatusWord(a, b).status(), want, "{a:02X}{b:02X}");
        }
        assert_eq!(
            StatusWord(0x6F, 0x00).status(),
            Status::Other(StatusWord(0x6F, 0x00))
        );
    }

    #[test]
    fn parses_responses() {
        let r = Response::parse(&[1, 2, 0x90, 0x00]).expect("two bytes of status");
        assert_eq!(r.data, [1, 2]);
        assert_eq!(r.status(), Status::Ok);
        assert!(Response::parse(&[0x90]).is_none());
        assert!(Response::parse(&[]).is_none());
    }
}
