//! The seam between card applications and the reader.
//!
//! [`Transmit`] sends one APDU and nothing more; PC/SC implements it for real readers and tests
//! implement it in process. [`Channel`] adds what every reader needs regardless of the card
//! application: `61 xx` (GET RESPONSE) and `6C xx` (resend with the right Le) handling, and an
//! APDU counter so the fewest-round-trips promise can be measured.

use super::apdu::{Command, Response, Status};
use super::error::CardError;

/// Sends one command APDU and returns the raw response (data followed by SW1 SW2).
pub trait Transmit {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError>;
}

impl<T: Transmit + ?Sized> Transmit for &mut T {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        (**self).transmit(command)
    }
}

impl<T: Transmit + ?Sized> Transmit for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        (**self).transmit(command)
    }
}

/// How many GET RESPONSE rounds one command may take before the card is called broken.
/// A 256-byte signature needs at most two; this only stops a misbehaving card looping forever.
const MAX_GET_RESPONSE_ROUNDS: usize = 16;

/// A transport plus the reader-level response handling and an APDU count.
pub struct Channel<T: Transmit> {
    transport: T,
    apdus: u32,
}

impl<T: Transmit> Channel<T> {
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            apdus: 0,
        }
    }

    /// APDUs sent so far, GET RESPONSE and resends included.
    pub fn apdu_count(&self) -> u32 {
        self.apdus
    }

    pub fn into_inner(self) -> T {
        self.transport
    }

    /// Sends `command` and returns the final response: `61 xx` chains are collected with GET
    /// RESPONSE, and a `6C xx` is answered by resending once with Le = xx.
    pub fn exchange(&mut self, command: &Command) -> Result<Response, CardError> {
        let mut response = self.send(command)?;
        if let Status::WrongLe(n) = response.status() {
            let le = if n == 0 { 256 } else { u16::from(n) };
            response = self.send(&command.with_le(le))?;
        }
        let mut data = std::mem::take(&mut response.data);
        let mut rounds = 0;
        while let Status::MoreData(n) = response.status() {
            rounds += 1;
            if rounds > MAX_GET_RESPONSE_ROUNDS {
                return Err(CardError::UnexpectedStatus {
                    operation: "GET RESPONSE",
                    sw: response.sw,
                });
            }
            response = self.send(&Command::get_response(n))?;
            data.append(&mut response.data);
        }
        Ok(Response {
            data,
            sw: response.sw,
        })
    }

    fn send(&mut self, command: &Command) -> Result<Response, CardError> {
        self.apdus += 1;
        // The encoded command of a VERIFY holds the PIN: wiped as soon as it is sent.
        let encoded = zeroize::Zeroizing::new(command.to_bytes());
        let raw = self.transport.transmit(&encoded)?;
        let response = Response::parse(&raw).ok_or_else(|| {
            CardError::Transport(format!(
                "response of {} bytes has no status word",
                raw.len()
            ))
        })?;
        tracing::trace!(command = ?command, response = ?response, "apdu");
        Ok(response)
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! A scripted in-process card for unit tests of the reader-level logic.
    use super::*;
    use std::collections::VecDeque;

    /// Answers each transmit with the next scripted response and records the commands.
    #[derive(Default)]
    pub struct Scripted {
        pub answers: VecDeque<Result<Vec<u8>, CardError>>,
        pub sent: Vec<Vec<u8>>,
    }

    impl Scripted {
        pub fn new(answers: impl IntoIterator<Item = Vec<u8>>) -> Self {
            Self {
                answers: answers.into_iter().map(Ok).collect(),
                sent: Vec::new(),
            }
        }
    }

    impl Transmit for Scripted {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
            self.sent.push(command.to_vec());
            self.answers
                .pop_front()
                .unwrap_or(Err(CardError::CardRemoved))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::Scripted;
    use super::*;

    #[test]
    fn collects_61xx_with_get_response() {
        let mut ch = Channel::new(Scripted::new([
            vec![0x61, 0x03],
            vec![1, 2, 3, 0x61, 0x02],
            vec![4, 5, 0x90, 0x00],
        ]));
        let r = ch.exchange(&Command::sign(&[0; 51])).expect("collected");
        assert_eq!(r.data, [1, 2, 3, 4, 5]);
        assert_eq!(r.status(), Status::Ok);
        assert_eq!(ch.apdu_count(), 3);
        let sent = ch.into_inner().sent;
        assert_eq!(sent[1], [0x00, 0xC0, 0x00, 0x00, 0x03]);
        assert_eq!(sent[2], [0x00, 0xC0, 0x00, 0x00, 0x02]);
    }

    #[test]
    fn resends_once_with_the_le_a_6cxx_asks_for() {
        let mut ch = Channel::new(Scripted::new([vec![0x6C, 0x1C], vec![7; 0x1C + 2]]));
        let mut last = ch
            .exchange(&Command::read_binary(0x400, 256))
            .expect("resent");
        last.data.truncate(0x1C);
        assert_eq!(ch.apdu_count(), 2);
        assert_eq!(ch.into_inner().sent[1], [0x00, 0xB0, 0x04, 0x00, 0x1C]);
    }

    #[test]
    fn a_card_that_never_stops_saying_61xx_is_an_error_not_a_hang() {
        let answers = std::iter::repeat_n(vec![0x61, 0x01], 100);
        let mut ch = Channel::new(Scripted::new(answers));
        assert!(matches!(
            ch.exchange(&Command::sign(&[0; 51])),
            Err(CardError::UnexpectedStatus { .. })
        ));
    }

    #[test]
    fn a_response_without_status_word_is_a_transport_error() {
        let mut ch = Channel::new(Scripted::new([vec![0x90]]));
        assert!(matches!(
            ch.exchange(&Command::verify_status()),
            Err(CardError::Transport(_))
        ));
    }
}
