//! Puts a [`VirtualCard`] on a virtual reader through vsmartcard's vpcd driver.
//!
//! vpcd (Debian `vsmartcard-vpcd`, loaded by pcscd) *listens* on TCP, one port per reader
//! slot (default 127.0.0.1:35963); the virtual card *connects* to it, which pcscd sees as a
//! card inserted into that reader. Closing the socket is a removal. Every message both ways is
//! a 2-byte big-endian length followed by the payload:
//!
//! - a 1-byte payload from vpcd is a control message: `00` power off, `01` power on,
//!   `02` reset, `04` get ATR (answered with the length-prefixed ATR); others are ignored;
//! - any longer payload is a command APDU, answered with the length-prefixed response.
//!
//! This lets tests drive the real PC/SC stack (pcscd, the `pcsc` crate, OpenSC) against a
//! card whose counters and faults they control.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::vcard::VirtualCard;

/// vpcd's default address (first slot of the first reader).
pub const DEFAULT_VPCD: &str = "127.0.0.1:35963";

/// How long to wait between connection attempts while vpcd is not listening yet.
const RETRY_INTERVAL: Duration = Duration::from_millis(50);

const CTRL_OFF: u8 = 0x00;
const CTRL_ON: u8 = 0x01;
const CTRL_RESET: u8 = 0x02;
const CTRL_ATR: u8 = 0x04;

/// A virtual card sitting on a vpcd reader, served from a background thread.
#[derive(Debug)]
pub struct InsertedCard {
    stream: TcpStream,
    card: Arc<Mutex<VirtualCard>>,
    apdus: Arc<AtomicU32>,
    present: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl InsertedCard {
    /// Connects (retrying connection-refused every 50 ms up to `connect_timeout`) and serves
    /// on a thread.
    ///
    /// Retrying matters because pcscd loads vpcd, and so opens the port, a moment after it
    /// starts; tests start both at once.
    pub fn insert(
        vpcd: SocketAddr,
        card: VirtualCard,
        connect_timeout: Duration,
    ) -> io::Result<InsertedCard> {
        let deadline = Instant::now() + connect_timeout;
        let stream = loop {
            match TcpStream::connect(vpcd) {
                Ok(stream) => break stream,
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    if Instant::now() >= deadline {
                        return Err(e);
                    }
                    std::thread::sleep(RETRY_INTERVAL);
                }
                Err(e) => return Err(e),
            }
        };
        // Each APDU is one small write answered by one small write: Nagle would only add
        // latency to every round trip.
        stream.set_nodelay(true)?;
        let reader = stream.try_clone()?;
        let card = Arc::new(Mutex::new(card));
        let apdus = Arc::new(AtomicU32::new(0));
        let present = Arc::new(AtomicBool::new(true));
        let thread = std::thread::Builder::new()
            .name("onshi-vcard".to_string())
            .spawn({
                let (card, apdus, present) = (card.clone(), apdus.clone(), present.clone());
                move || {
                    serve(reader, &card, &apdus);
                    present.store(false, Ordering::SeqCst);
                }
            })?;
        Ok(InsertedCard {
            stream,
            card,
            apdus,
            present,
            thread: Some(thread),
        })
    }

    /// APDUs answered since insertion (control messages not counted).
    pub fn apdu_count(&self) -> u32 {
        self.apdus.load(Ordering::SeqCst)
    }

    /// False once a fault removed the card or vpcd closed the connection.
    pub fn is_present(&self) -> bool {
        self.present.load(Ordering::SeqCst)
    }

    /// Looks at the card while it is inserted (retry counters, verified state, ...).
    pub fn with_card<T>(&self, f: impl FnOnce(&VirtualCard) -> T) -> T {
        f(&lock(&self.card))
    }

    /// Shuts the socket down (vpcd sees a removal), joins the thread and hands the card back
    /// with its counters, so a test can insert it again.
    pub fn remove(mut self) -> VirtualCard {
        let _ = self.stream.shutdown(Shutdown::Both);
        self.take_card()
    }

    /// Waits until the card is gone on its own (vpcd closed, or a removal fault), then hands
    /// it back.
    pub fn wait(mut self) -> VirtualCard {
        self.take_card()
    }

    fn take_card(&mut self) -> VirtualCard {
        if let Some(thread) = self.thread.take() {
            // The thread cannot panic short of a bug; its card is recovered either way.
            let _ = thread.join();
        }
        lock(&self.card).clone()
    }
}

impl Drop for InsertedCard {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = self.stream.shutdown(Shutdown::Both);
            let _ = thread.join();
        }
    }
}

/// A poisoned lock only means a panic elsewhere; the card state is still the best we have.
fn lock(card: &Mutex<VirtualCard>) -> MutexGuard<'_, VirtualCard> {
    card.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads one length-prefixed message; `None` when the connection is gone.
fn read_message(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    ack_at_once(stream);
    stream.read_exact(&mut len).ok()?;
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
    ack_at_once(stream);
    stream.read_exact(&mut payload).ok()?;
    Some(payload)
}

/// Debian's vpcd sends the 2-byte length and the payload as two writes without TCP_NODELAY:
/// Nagle holds the payload back until the length is acknowledged, and Linux delays that ACK
/// by up to 40 ms — every APDU would take 40 ms longer than the card. Quick-ACK mode is not
/// sticky (the kernel leaves it on its own), so it is re-armed before every read.
#[cfg(target_os = "linux")]
fn ack_at_once(stream: &TcpStream) {
    // Only a latency hint: failing to set it changes nothing but speed.
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

#[cfg(not(target_os = "linux"))]
fn ack_at_once(_stream: &TcpStream) {}

fn write_message(stream: &mut TcpStream, payload: &[u8]) -> Option<()> {
    let len = u16::try_from(payload.len()).ok()?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame).ok()
}

/// Serves vpcd until the connection ends or a removal fault fires. Never panics: any socket
/// error just ends the loop, which vpcd sees as the card leaving the reader.
fn serve(mut stream: TcpStream, card: &Mutex<VirtualCard>, apdus: &AtomicU32) {
    let (remove_after, delay) = {
        let card = lock(card);
        (
            card.options().remove_after_apdus,
            card.options().delay_per_apdu,
        )
    };
    let mut answered: u32 = 0;
    while let Some(message) = read_message(&mut stream) {
        match message.as_slice() {
            [] => {}
            [CTRL_OFF] => lock(card).power_off(),
            [CTRL_ON] => lock(card).power_on(),
            [CTRL_RESET] => lock(card).reset(),
            [CTRL_ATR] => {
                let atr = lock(card).atr().to_vec();
                if write_message(&mut stream, &atr).is_none() {
                    break;
                }
            }
            [_] => {}
            command => {
                if remove_after.is_some_and(|limit| answered >= limit) {
                    // The card slid off the antenna mid-command: no answer, just gone.
                    break;
                }
                if !delay.is_zero() {
                    std::thread::sleep(delay);
                }
                let response = lock(card).process(command);
                // Counted before the answer leaves, so that whoever got the answer also
                // sees the count that includes it.
                answered = answered.saturating_add(1);
                apdus.store(answered, Ordering::SeqCst);
                if write_message(&mut stream, &response).is_none() {
                    break;
                }
            }
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}
