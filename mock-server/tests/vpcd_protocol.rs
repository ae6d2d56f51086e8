//! The vpcd socket protocol, against a fake vpcd listener.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{listen, persona, FakeVpcd, SELECT_JPKI};
use onshi_mock::vcard::{CardOptions, Secret, VirtualCard, DEFAULT_ATR, NOT_JPKI_ATR};
use onshi_mock::InsertedCard;

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn control_messages_and_apdus() {
    let (listener, addr) = listen();
    let card = VirtualCard::new(persona(), CardOptions::default());
    let inserted = InsertedCard::insert(addr, card, Duration::from_secs(2)).expect("insert");
    let mut vpcd = FakeVpcd::accept(&listener);

    vpcd.send(&[0x04]);
    assert_eq!(vpcd.receive().as_deref(), Some(&DEFAULT_ATR[..]));
    vpcd.send(&[0x01]);
    vpcd.send(&[0x07]); // unknown control byte: ignored
    assert_eq!(
        vpcd.transmit(&SELECT_JPKI).as_deref(),
        Some(&[0x90, 0x00][..])
    );
    assert_eq!(
        vpcd.transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18])
            .as_deref(),
        Some(&[0x90, 0x00][..])
    );
    assert_eq!(
        vpcd.transmit(&[0x00, 0x20, 0x00, 0x80, 0x04, b'0', b'0', b'0', b'0'])
            .as_deref(),
        Some(&[0x63, 0xC2][..])
    );
    // A reset drops the selection: VERIFY has no current EF any more.
    vpcd.send(&[0x02]);
    assert_eq!(
        vpcd.transmit(&[0x00, 0x20, 0x00, 0x80]).as_deref(),
        Some(&[0x69, 0x86][..])
    );
    assert_eq!(inserted.apdu_count(), 4);
    assert!(inserted.is_present());
    assert_eq!(
        inserted.with_card(|c| c.retries(Secret::UserAuthPin)),
        Some(2)
    );

    let card = inserted.remove();
    assert_eq!(vpcd.receive(), None, "vpcd sees the removal");
    assert_eq!(card.retries(Secret::UserAuthPin), Some(2));

    // Counters travel with the card into the next insertion.
    let inserted = InsertedCard::insert(addr, card, Duration::from_secs(2)).expect("reinsert");
    let mut vpcd = FakeVpcd::accept(&listener);
    vpcd.send(&[0x01]);
    vpcd.transmit(&SELECT_JPKI);
    vpcd.transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18]);
    assert_eq!(
        vpcd.transmit(&[0x00, 0x20, 0x00, 0x80]).as_deref(),
        Some(&[0x63, 0xC2][..])
    );
    assert_eq!(inserted.apdu_count(), 3, "counted per insertion");
    drop(inserted);
}

#[test]
fn vpcd_closing_is_a_removal() {
    let (listener, addr) = listen();
    let inserted = InsertedCard::insert(addr, VirtualCard::not_jpki(), Duration::from_secs(2))
        .expect("insert");
    let mut vpcd = FakeVpcd::accept(&listener);
    vpcd.send(&[0x04]);
    assert_eq!(vpcd.receive().as_deref(), Some(&NOT_JPKI_ATR[..]));
    assert_eq!(
        vpcd.transmit(&SELECT_JPKI).as_deref(),
        Some(&[0x6A, 0x82][..])
    );
    drop(vpcd);
    wait_until("removal", || !inserted.is_present());
    let card = inserted.wait();
    assert_eq!(card.apdu_count(), 1);
}

#[test]
fn removal_fault_mid_command() {
    let (listener, addr) = listen();
    let card = VirtualCard::new(
        persona(),
        CardOptions {
            remove_after_apdus: Some(2),
            ..CardOptions::default()
        },
    );
    let inserted = InsertedCard::insert(addr, card, Duration::from_secs(2)).expect("insert");
    let mut vpcd = FakeVpcd::accept(&listener);
    vpcd.send(&[0x01]);
    assert!(vpcd.transmit(&SELECT_JPKI).is_some());
    assert!(vpcd
        .transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A])
        .is_some());
    // Control messages do not count towards the fault.
    vpcd.send(&[0x04]);
    assert!(vpcd.receive().is_some());
    assert_eq!(
        vpcd.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x04]),
        None,
        "no answer, socket closed"
    );
    wait_until("removal", || !inserted.is_present());
    assert_eq!(inserted.apdu_count(), 2);
    let card = inserted.wait();
    assert_eq!(
        card.apdu_count(),
        2,
        "the third APDU never reached the card"
    );
}

#[test]
fn delay_per_apdu() {
    let (listener, addr) = listen();
    let card = VirtualCard::not_jpki_with(CardOptions {
        delay_per_apdu: Duration::from_millis(150),
        ..CardOptions::default()
    });
    let inserted = InsertedCard::insert(addr, card, Duration::from_secs(2)).expect("insert");
    let mut vpcd = FakeVpcd::accept(&listener);
    let start = Instant::now();
    vpcd.send(&[0x04]);
    vpcd.receive();
    assert!(
        start.elapsed() < Duration::from_millis(150),
        "control messages are not delayed"
    );
    let start = Instant::now();
    vpcd.transmit(&SELECT_JPKI);
    assert!(start.elapsed() >= Duration::from_millis(150));
    inserted.remove();
}

#[test]
fn connect_retries_until_vpcd_listens() {
    // Find a free port, then start listening on it a little later.
    let addr = listen().1;
    let server = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let listener = TcpListener::bind(addr).expect("rebind");
        let mut vpcd = FakeVpcd::accept(&listener);
        vpcd.send(&[0x04]);
        vpcd.receive()
    });
    let inserted = InsertedCard::insert(addr, VirtualCard::not_jpki(), Duration::from_secs(5))
        .expect("insert");
    assert_eq!(
        server.join().expect("server").as_deref(),
        Some(&NOT_JPKI_ATR[..])
    );
    inserted.remove();
}

#[test]
fn connect_gives_up_after_timeout() {
    let addr = listen().1; // listener dropped: nothing listens there
    let start = Instant::now();
    let result = InsertedCard::insert(addr, VirtualCard::not_jpki(), Duration::from_millis(200));
    let err = result.expect_err("no vpcd");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert!(start.elapsed() < Duration::from_secs(2));
}
