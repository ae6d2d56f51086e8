//! Shared helpers: a tiny persona (4 RSA keys) and a fake vpcd listener.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::OnceLock;

use onshi_mock::pki::{self, CaKind, CertificateAuthority};
use onshi_mock::Persona;

pub const SELECT_JPKI: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
];

pub fn persona() -> Persona {
    static PERSONA: OnceLock<Persona> = OnceLock::new();
    PERSONA
        .get_or_init(|| {
            let as_of = time::macros::date!(2026 - 11 - 21);
            let mut rng = rand::thread_rng();
            let auth = CertificateAuthority::generate(CaKind::UserAuthentication, as_of, &mut rng)
                .expect("auth CA");
            let sign = CertificateAuthority::generate(CaKind::DigitalSignature, as_of, &mut rng)
                .expect("sign CA");
            let specs = pki::standard_persona_specs(as_of, &mut rng).expect("specs");
            let data = pki::issue_persona(&auth, &sign, &specs[0], &mut rng).expect("persona");
            Persona::from_data(data).expect("valid")
        })
        .clone()
}

/// The vpcd side of the socket, as the test sees it.
pub struct FakeVpcd {
    pub stream: TcpStream,
}

pub fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

impl FakeVpcd {
    pub fn accept(listener: &TcpListener) -> FakeVpcd {
        let (stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
        FakeVpcd { stream }
    }

    /// Accepts, giving up after `timeout` (so a child that died does not hang the test).
    pub fn accept_within(listener: &TcpListener, timeout: std::time::Duration) -> Option<FakeVpcd> {
        listener.set_nonblocking(true).ok()?;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).ok()?;
                    stream
                        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                        .ok()?;
                    return Some(FakeVpcd { stream });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if std::time::Instant::now() > deadline {
                        return None;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(_) => return None,
            }
        }
    }

    pub fn send(&mut self, payload: &[u8]) {
        let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(payload);
        self.stream.write_all(&frame).expect("send");
    }

    /// Next message, `None` on EOF.
    pub fn receive(&mut self) -> Option<Vec<u8>> {
        let mut len = [0u8; 2];
        self.stream.read_exact(&mut len).ok()?;
        let mut payload = vec![0u8; u16::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut payload).ok()?;
        Some(payload)
    }

    pub fn transmit(&mut self, apdu: &[u8]) -> Option<Vec<u8>> {
        self.send(apdu);
        self.receive()
    }
}
