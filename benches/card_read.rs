//! Card-present → certificate serial over the real stack (pcscd + vpcd + virtual card).
//!
//! Run with `bash scripts/bench-card` (release build, pcscd started for it). Under
//! `cargo test --all-targets` (no `--bench` argument) it does one round as a smoke test.
//! Reports the median and p90 of connect + read + parse for the ~1.2 KB `valid` persona, the
//! APDUs we used against the minimum (2 SELECT + ceil(len/256) READ), and how many APDUs
//! OpenSC's own JPKI driver needs to read the same certificate.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::Duration;

use onshi_desk::card::{self, Pcsc};

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let rounds = if bench { 500 } else { 1 };
    let r = common::reader();
    let der_len = common::persona("valid").auth_certificate_der().len();
    let minimum = 2 + der_len.div_ceil(256) as u32;

    let inserted = r.insert(common::card("valid"));
    let pcsc = Pcsc::establish().expect("pcscd");
    let mut times: Vec<Duration> = Vec::with_capacity(rounds);
    let mut apdus = 0;
    for _ in 0..rounds {
        let read = card::read_certificate(&pcsc, &r.name).expect("read");
        assert_eq!(read.certificate.serial.hex(), "0705D990");
        apdus = read.apdu_count;
        times.push(read.elapsed);
    }
    let before_opensc = inserted.apdu_count();
    let opensc = Command::new("pkcs15-tool")
        .args(["--reader", &r.name, "--read-certificate", "1"])
        .output();
    let opensc_apdus = match opensc {
        Ok(out) if out.status.success() => Some(inserted.apdu_count() - before_opensc),
        _ => None,
    };
    r.remove(inserted);

    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times[times.len() / 2];
    let p90 = times[(times.len() * 9 / 10).min(times.len() - 1)];
    println!("card_read: certificate {der_len} bytes, {rounds} rounds");
    println!(
        "  card-present → serial: median {:.2} ms, p90 {:.2} ms, min {:.2} ms",
        ms(median),
        ms(p90),
        ms(times[0])
    );
    println!("  APDUs: onshi-desk {apdus} (minimum {minimum})");
    match opensc_apdus {
        Some(n) => println!("  APDUs: OpenSC pkcs15-tool --read-certificate 1: {n} (whole run, including card detection)"),
        None => println!("  APDUs: OpenSC not available"),
    }
    assert_eq!(apdus, minimum, "the read must use the fewest APDUs");
}
