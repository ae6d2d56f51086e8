//! `onshi-vcard`: puts a virtual My Number card on a vpcd reader until killed or removed.
//!
//! Prints `inserted` on stdout once vpcd accepted the connection (tests wait for that line)
//! and `removed` when the card leaves (vpcd closed the connection or `--remove-after` fired),
//! then exits 0.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use onshi_mock::vcard::{CardOptions, VirtualCard};
use onshi_mock::vpcd::InsertedCard;
use onshi_mock::Persona;

/// Insert a virtual My Number card (JPKI) into a vpcd virtual reader.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Persona TOML file (see mock-server/README.md); optional with --not-jpki.
    #[arg(long, required_unless_present = "not_jpki")]
    persona: Option<PathBuf>,
    /// vpcd address (one port per reader slot).
    #[arg(long, default_value = onshi_mock::vpcd::DEFAULT_VPCD)]
    vpcd: SocketAddr,
    /// Slide off the reader on the APDU after this many answered ones.
    #[arg(long, value_name = "N")]
    remove_after: Option<u32>,
    /// Sleep this long before answering each APDU.
    #[arg(long, value_name = "N", default_value_t = 0)]
    delay_ms: u64,
    /// Be a contactless card that is not a My Number card.
    #[arg(long)]
    not_jpki: bool,
    /// Force the user-auth PIN counter to 0.
    #[arg(long)]
    pin_blocked: bool,
    /// ATR to show, hex (spaces and colons allowed).
    #[arg(long, value_name = "HEX", value_parser = parse_hex)]
    atr: Option<Hex>,
    /// Hand out response data with 61xx + GET RESPONSE.
    #[arg(long)]
    get_response: bool,
    /// Answer over-long READ BINARY with 6Cxx.
    #[arg(long)]
    wrong_le_6c: bool,
    /// How long to keep retrying while vpcd is not listening.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    connect_timeout_ms: u64,
}

/// Bytes given in hex; a newtype because clap reads a bare `Vec` field as "many values".
#[derive(Debug, Clone)]
struct Hex(Vec<u8>);

fn parse_hex(text: &str) -> Result<Hex, String> {
    let digits: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return Err(format!("{text:?} is not an even number of hex digits"));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|e| format!("{text:?} is not hex: {e}"))
        })
        .collect::<Result<Vec<u8>, String>>()
        .map(Hex)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = CardOptions {
        get_response: args.get_response,
        wrong_le_6c: args.wrong_le_6c,
        remove_after_apdus: args.remove_after,
        delay_per_apdu: Duration::from_millis(args.delay_ms),
        pin_blocked: args.pin_blocked,
        atr: args.atr.map(|hex| hex.0),
    };
    let card = if args.not_jpki {
        VirtualCard::not_jpki_with(options)
    } else {
        let Some(path) = args.persona else {
            eprintln!("onshi-vcard: --persona is required unless --not-jpki");
            return ExitCode::from(2);
        };
        match Persona::load(&path) {
            Ok(persona) => VirtualCard::new(persona, options),
            Err(e) => {
                eprintln!("onshi-vcard: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let inserted = match InsertedCard::insert(
        args.vpcd,
        card,
        Duration::from_millis(args.connect_timeout_ms),
    ) {
        Ok(inserted) => inserted,
        Err(e) => {
            eprintln!("onshi-vcard: cannot connect to vpcd at {}: {e}", args.vpcd);
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "inserted");
    let _ = stdout.flush();
    let card = inserted.wait();
    let _ = writeln!(stdout, "removed after {} APDUs", card.apdu_count());
    let _ = stdout.flush();
    ExitCode::SUCCESS
}
