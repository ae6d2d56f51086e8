//! `onshi-desk card …`: readers, certificate, PIN and card-info diagnostics.

use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::{bounded, find_card, parse_date, print_json, seconds, Failure};
use crate::card::error::SERVICE_NAME;
use crate::card::{self, CardError, Pcsc, Pin, PinStatus, ReaderEvent, ReaderWatcher};
use crate::clock::{Clock, SystemClock};
use crate::domain::expiry::{CertificateExpiry, GraceEnd};

#[derive(Subcommand, Debug)]
pub enum CardCommand {
    /// List readers and whether a card is on each (リーダー一覧).
    Readers {
        #[arg(long)]
        json: bool,
    },
    /// Wait for a card and read its user-authentication certificate (no PIN needed).
    Read {
        #[command(flatten)]
        target: Target,
        /// Check date for the expiry state, YYYY-MM-DD (default: today in Japan).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
        /// How the grace period after expiry ends.
        #[arg(long, default_value = "end-of-month", value_parser = parse_grace)]
        grace_end: GraceEnd,
    },
    /// Tries left on the user-authentication PIN (spends none).
    PinStatus {
        #[command(flatten)]
        target: Target,
    },
    /// Verify the PIN, read from standard input (never from arguments or logs).
    VerifyPin {
        #[command(flatten)]
        target: Target,
        /// Allow the last try. Without it, a card with one try left is not touched, so a
        /// mistyped PIN cannot lock it (staff can switch to visual check instead).
        #[arg(long)]
        last_try: bool,
    },
    /// Read the basic four items (基本4情報) after the PIN from standard input.
    BasicInfo {
        #[command(flatten)]
        target: Target,
    },
    /// Print reader and card events as they happen (diagnostics).
    Watch {
        /// Stop after this many seconds (default: run until interrupted).
        #[arg(long = "for")]
        duration: Option<f64>,
        #[arg(long)]
        json: bool,
    },
}

/// Which reader, how long to wait for a card, and the output form.
#[derive(Args, Debug)]
pub struct Target {
    /// Reader name (exact, or the start of it). Default: the first reader with a card.
    #[arg(long)]
    pub(crate) reader: Option<String>,
    /// Seconds to wait for a card to be placed (default 0: it must already be there).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) wait: f64,
    /// Seconds the card may take to answer once found; a card or driver that stops
    /// answering is reported instead of hanging the desk.
    #[arg(long, default_value_t = 30.0)]
    pub(crate) timeout: f64,
    /// Print JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub fn run(command: CardCommand) -> Result<(), Failure> {
    match command {
        CardCommand::Readers { json } => readers(json).map_err(|f| f.json(json)),
        CardCommand::Read {
            target,
            as_of,
            grace_end,
        } => {
            let json = target.json;
            read(target, as_of, grace_end).map_err(|f| f.json(json))
        }
        CardCommand::PinStatus { target } => {
            let json = target.json;
            pin_status(target).map_err(|f| f.json(json))
        }
        CardCommand::VerifyPin { target, last_try } => {
            let json = target.json;
            verify_pin(target, last_try).map_err(|f| f.json(json))
        }
        CardCommand::BasicInfo { target } => {
            let json = target.json;
            basic_info(target).map_err(|f| f.json(json))
        }
        CardCommand::Watch { duration, json } => watch(duration, json),
    }
}

fn readers(json: bool) -> Result<(), Failure> {
    let readers = Pcsc::establish()?.readers()?;
    if json {
        return print_json(&serde_json::json!({ "readers": readers }));
    }
    if readers.is_empty() {
        println!("カードリーダーが接続されていません。");
    }
    for r in readers {
        let state = if r.card_present {
            "カードあり"
        } else {
            "カードなし"
        };
        println!("{}\t{state}", r.name);
    }
    Ok(())
}

#[derive(Serialize)]
struct ReadOutput {
    reader: String,
    serial_hex: String,
    serial_dec: String,
    not_before: String,
    not_after: String,
    issuer: String,
    subject_cn: String,
    expiry: &'static str,
    expiry_detail: CertificateExpiry,
    as_of: String,
    apdu_count: u32,
    elapsed_ms: f64,
}

fn read(target: Target, as_of: Option<Date>, grace: GraceEnd) -> Result<(), Failure> {
    let reader = find_card(target.reader.as_deref(), target.wait)?;
    let read = bounded(target.timeout, move || {
        card::read_certificate(&Pcsc::establish()?, &reader)
    })?;
    let cert = &read.certificate;
    let today = as_of.unwrap_or_else(|| SystemClock.today_jst());
    let expiry = crate::check::rate_expiry(cert, today, grace);
    let out = ReadOutput {
        reader: read.reader.clone(),
        serial_hex: cert.serial.hex(),
        serial_dec: cert.serial.decimal(),
        not_before: rfc3339(cert.not_before)?,
        not_after: rfc3339(cert.not_after)?,
        issuer: cert.issuer.clone(),
        subject_cn: cert.subject_cn.clone(),
        expiry: expiry.name(),
        expiry_detail: expiry,
        as_of: today.to_string(),
        apdu_count: read.apdu_count,
        elapsed_ms: read.elapsed.as_secs_f64() * 1000.0,
    };
    if target.json {
        return print_json(&out);
    }
    println!("リーダー\t{}", out.reader);
    println!("シリアル番号\t{} ({})", out.serial_hex, out.serial_dec);
    println!("有効期間\t{} 〜 {}", out.not_before, out.not_after);
    println!("発行者\t{}", out.issuer);
    println!("主体CN\t{}", out.subject_cn);
    println!("状態\t{}", expiry.desk_message());
    println!("APDU\t{} 回, {:.1} ms", out.apdu_count, out.elapsed_ms);
    Ok(())
}

fn rfc3339(t: OffsetDateTime) -> Result<String, Failure> {
    t.format(&Rfc3339).map_err(|e| {
        Failure::new(
            "malformed_certificate",
            CardError::MalformedCertificate(String::new()).desk_message(),
            e.to_string(),
            1,
        )
    })
}

fn pin_status(target: Target) -> Result<(), Failure> {
    let reader = find_card(target.reader.as_deref(), target.wait)?;
    let r = reader.clone();
    let status = bounded(target.timeout, move || {
        card::pin_status(&Pcsc::establish()?, &r)
    })?;
    if target.json {
        return print_json(&serde_json::json!({ "reader": reader, "pin": status }));
    }
    match status {
        PinStatus::Remaining(n) => println!("暗証番号の残り回数: {n}回"),
        PinStatus::Blocked => println!("{}", CardError::PinBlocked.desk_message()),
    }
    Ok(())
}

/// The longest PIN line read from standard input: four digits (full-width ones are three
/// bytes each), spaces and a line ending fit; anything longer is not a PIN.
const MAX_PIN_LINE: usize = 64;

/// Reads the PIN from standard input: one line, nothing echoed, nothing logged.
///
/// Before anything is read, core dumps are disabled ([`forbid_core_dumps`]). The line is read
/// byte by byte straight from the file descriptor, not through the standard library's
/// process-wide stdin buffer (which would keep a copy of the digits for the life of the
/// process), into a buffer that is wiped when dropped; at most [`MAX_PIN_LINE`] bytes are
/// read, so `< /dev/zero` is refused instead of filling memory.
///
/// [`forbid_core_dumps`]: crate::card::hardening::forbid_core_dumps
pub(crate) fn read_pin_from_stdin() -> Result<Pin, Failure> {
    crate::card::hardening::forbid_core_dumps();
    let failure = |detail: String| {
        Failure::new(
            "invalid_input",
            "暗証番号を標準入力から読めませんでした。",
            detail,
            2,
        )
    };
    let line = read_secret_line(MAX_PIN_LINE).map_err(|e| failure(e.to_string()))?;
    let text =
        std::str::from_utf8(&line).map_err(|_| failure("the PIN line is not UTF-8".to_owned()))?;
    Ok(Pin::parse(text)?)
}

/// One line (without its ending) from standard input, unbuffered, in a wiped buffer; an
/// error when no line ending comes within `limit` bytes.
fn read_secret_line(limit: usize) -> std::io::Result<zeroize::Zeroizing<Vec<u8>>> {
    use std::io::Read;
    let mut line = zeroize::Zeroizing::new(Vec::with_capacity(limit));
    let mut input = raw_stdin();
    // The byte read last is wiped too when this returns.
    let mut byte = zeroize::Zeroizing::new([0u8; 1]);
    loop {
        let n = match input.read(&mut byte[..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 || byte[0] == b'\n' {
            break;
        }
        if line.len() == limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("no line ending within {limit} bytes: not a PIN"),
            ));
        }
        line.push(byte[0]);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

/// Standard input without the standard library's buffer (which would keep what it read).
#[cfg(unix)]
fn raw_stdin() -> std::mem::ManuallyDrop<std::fs::File> {
    use std::os::unix::io::FromRawFd;
    // SAFETY: fd 0 is open for the life of the process; ManuallyDrop keeps it from being
    // closed when this handle goes away.
    std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(0) })
}

/// Standard input. Windows: through the standard library's handle (its buffer may keep a copy
/// of the line; untested here, as the rest of the Windows support).
#[cfg(not(unix))]
fn raw_stdin() -> std::io::Stdin {
    std::io::stdin()
}

fn verify_pin(target: Target, last_try: bool) -> Result<(), Failure> {
    let pin = read_pin_from_stdin()?;
    let reader = find_card(target.reader.as_deref(), target.wait)?;
    let r = reader.clone();
    let status = bounded(target.timeout, move || {
        card::pin_status(&Pcsc::establish()?, &r)
    })?;
    match status {
        PinStatus::Blocked => return Err(CardError::PinBlocked.into()),
        PinStatus::Remaining(1) if !last_try => {
            return Err(Failure::new(
                "last_try_protected",
                "暗証番号の残り回数が1回のため、照合しませんでした。職員による目視確認に切り替えてください(最後の1回を使う場合は --last-try)。",
                "one try left and --last-try not given",
                3,
            ))
        }
        PinStatus::Remaining(_) => {}
    }
    let r = reader.clone();
    bounded(target.timeout, move || {
        card::verify_pin(&Pcsc::establish()?, &r, &pin)
    })?;
    if target.json {
        return print_json(&serde_json::json!({ "reader": reader, "verified": true }));
    }
    println!("暗証番号を確認しました。");
    Ok(())
}

fn basic_info(target: Target) -> Result<(), Failure> {
    let pin = read_pin_from_stdin()?;
    let reader = find_card(target.reader.as_deref(), target.wait)?;
    let r = reader.clone();
    let info = bounded(target.timeout, move || {
        card::read_basic_info(&Pcsc::establish()?, &r, &pin)
    })?;
    if target.json {
        return print_json(&serde_json::json!({ "reader": reader, "basic_info": info }));
    }
    println!("氏名\t{}", info.name);
    println!("住所\t{}", info.address);
    println!("生年月日\t{}", info.birth_date);
    println!("性別\t{:?}", info.sex);
    Ok(())
}

fn watch(duration: Option<f64>, json: bool) -> Result<(), Failure> {
    let deadline = duration
        .map(seconds)
        .transpose()?
        .map(|d| Instant::now() + d);
    let mut watcher = ReaderWatcher::new();
    loop {
        let step = match deadline {
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(1)),
            None => Duration::from_secs(1),
        };
        for event in watcher.wait(step) {
            print_event(&event, json)?;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(());
        }
    }
}

fn print_event(event: &ReaderEvent, json: bool) -> Result<(), Failure> {
    let (kind, reader, text) = match event {
        ReaderEvent::ServiceRestored => (
            "service_restored",
            None,
            format!("{SERVICE_NAME} に再接続しました"),
        ),
        ReaderEvent::ServiceLost(why) => (
            "service_lost",
            None,
            format!("{SERVICE_NAME} に接続できません: {why}"),
        ),
        ReaderEvent::ReaderAdded(r) => ("reader_added", Some(r), format!("リーダー接続: {r}")),
        ReaderEvent::ReaderRemoved(r) => ("reader_removed", Some(r), format!("リーダー切断: {r}")),
        ReaderEvent::CardInserted { reader } => (
            "card_inserted",
            Some(reader),
            format!("カード検出: {reader}"),
        ),
        ReaderEvent::CardRemoved { reader } => (
            "card_removed",
            Some(reader),
            format!("カード取り外し: {reader}"),
        ),
    };
    if json {
        return print_json(&serde_json::json!({ "event": kind, "reader": reader }));
    }
    println!("{text}");
    Ok(())
}

fn parse_grace(s: &str) -> Result<GraceEnd, String> {
    s.parse()
}
