//! Request file appears in `req` → result file renamed into `res`, through the folder watcher.
//!
//! Run with `cargo bench --bench interop` (release build). Under `cargo test --all-targets`
//! (no `--bench` argument) it does a few requests as a smoke test.
//!
//! A receipt computer is played by the bench: it puts requests in `req` by temporary name and
//! rename, one every [`INTERVAL`] (open loop, so a slow answer does not slow the arrivals), and
//! picks results up from `res`, polling every millisecond and removing each one it sees. The
//! latency of a request is from its rename into `req` to the first sighting of its result.
//!
//! Two rounds over the same mock:
//! - **defaults**: the watcher as a clinic runs it (settle 200 ms, poll 500 ms, events on);
//!   the settle time is most of the figure, deliberately (a receipt computer may write
//!   straight into `req`);
//! - **no settle**: settle 0, what the watcher and the handler add on their own.
//!
//! The handler is the desk's own (`RequestProcessor`): the request parsed, a search by numbers
//! to the mock online service over mutual TLS on loopback, the check journaled, the result
//! document written — see [`handler_under_test`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use onshi_desk::config::Config;
use onshi_desk::interop::watch::{self, WatchOptions};
use onshi_desk::interop::RequestHandler;
use onshi_desk::online::OnlineClient;
use onshi_mock::endpoint::{self, ServerConfig, ServerFiles};
use onshi_mock::pki;

type Error = Box<dyn std::error::Error>;

/// The 有効 fixture searched by numbers (協会けんぽ 本人).
const INSURER: &str = "01130012";
const SYMBOL: &str = "5012345";
const NUMBER: &str = "1024";
const BIRTH: &str = "19800401";

/// Time between two requests of the playing receipt computer.
const INTERVAL: Duration = Duration::from_millis(20);

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("interop: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let bench = std::env::args().any(|a| a == "--bench");
    let (warmup, requests) = if bench { (20, 1000) } else { (2, 10) };
    let as_of = pki::today_jst();
    let dir = tempfile::tempdir()?;
    let tls = pki::tls::generate(dir.path(), as_of)?;
    let mut files = ServerFiles::from_pki_dir(dir.path());
    // Searches by numbers need no JPKI trust (and generating its RSA CA is slow).
    files.jpki_ca_certificates = Vec::new();
    let server = endpoint::spawn(ServerConfig::load(&files)?)?;
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            "facility_code = \"1312345678\"\n[endpoint]\nurl = \"{}/\"\nca = \"{}\"\n\
             client_certificate = \"{}\"\nclient_key = \"{}\"\n",
            server.base_url(),
            tls.server_ca_certificate.display(),
            tls.facility_certificate.display(),
            tls.facility_private_key.display(),
        ),
    )?;
    let config = Config::load(Some(&config_path))?;
    let handler = handler_under_test(&config, dir.path())?;

    println!(
        "onshi-desk interop: request file in req → result file in res, {requests} requests \
         one every {} ms, search by numbers against the mock over mTLS on loopback{}",
        INTERVAL.as_millis(),
        if bench {
            ""
        } else {
            " (smoke run; use `cargo bench` for figures)"
        }
    );
    let rounds = [
        ("defaults", WatchOptions::default().settle),
        ("no settle", Duration::ZERO),
    ];
    for (round, (label, settle)) in rounds.into_iter().enumerate() {
        let folder = dir.path().join(format!("oqs-{round}"));
        let options = WatchOptions {
            settle,
            desk_id: "bench".to_owned(),
            ..WatchOptions::default()
        };
        let mut times = measure(&folder, &handler, options, warmup, requests)?;
        times.sort();
        println!(
            "{label:<10} p50 {:>7.1} ms  p90 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
            ms(pct(&times, 0.5)),
            ms(pct(&times, 0.9)),
            ms(pct(&times, 0.99)),
            ms(times.last().copied().unwrap_or_default()),
        );
    }
    face_round(&config, dir.path(), warmup, requests)?;
    server.shutdown()?;
    Ok(())
}

/// Verdict → face file: for each check, from the verdict in hand to its result file renamed
/// into `face` — the journal commit (fsynced) and the face writer, as the desk's announcing
/// thread does them (`check::announce`). The service round trip comes before the clock starts.
fn face_round(config: &Config, work: &Path, warmup: usize, checks: usize) -> Result<(), Error> {
    use onshi_desk::check::{announce, FinishedCheck};
    use onshi_desk::domain::numbers::InsurerNumber;
    use onshi_desk::domain::search::{NumberSearch, Search};
    use onshi_desk::journal::{Journal, NewCheck};

    let client = OnlineClient::new(config)?;
    let journal = Journal::open(&work.join("face-journal.sqlite"))?;
    let writer = onshi_desk::interop::FaceWriter::new(
        Some(work.join("oqs-face")),
        config.facility_code.clone(),
        onshi_desk::interop::xml::DocumentEncoding::ShiftJis,
        "bench".to_owned(),
        onshi_desk::config::DEFAULT_FACE_PREFIX.to_owned(),
    );
    let search = Search::Numbers(NumberSearch {
        insurer: InsurerNumber::parse(INSURER)?,
        symbol: Some(SYMBOL.to_owned()),
        number: NUMBER.to_owned(),
        branch: None,
        birthdate: time::Date::parse(
            BIRTH,
            time::macros::format_description!("[year][month][day]"),
        )?,
        limit_consent: false,
    });
    let on = pki::today_jst();
    let mut times = Vec::with_capacity(checks);
    for i in 0..warmup + checks {
        let verdict = client.confirm(&search, on);
        let start = Instant::now();
        let check = NewCheck::from_online(&search, on, &verdict);
        let at = check.at;
        let id = journal.record(check)?;
        let announced = announce(
            &writer,
            &journal,
            &FinishedCheck {
                id,
                by_card: false,
                on,
                at,
                verdict: &verdict,
            },
        );
        let took = start.elapsed();
        if !matches!(
            announced,
            onshi_desk::check::Announced::File { recorded: true, .. }
        ) {
            return Err(format!("check {id}: no face file ({announced:?})").into());
        }
        if i >= warmup {
            times.push(took);
        }
    }
    times.sort();
    println!(
        "{:<10} p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  (verdict → journal commit → face file renamed)",
        "face",
        ms(pct(&times, 0.5)),
        ms(pct(&times, 0.9)),
        ms(pct(&times, 0.99)),
        ms(times.last().copied().unwrap_or_default()),
    );
    Ok(())
}

/// One round: a fresh folder and watcher, `warmup + requests` requests, the latencies of the
/// last `requests`.
fn measure(
    folder: &Path,
    handler: &Arc<dyn RequestHandler>,
    options: WatchOptions,
    warmup: usize,
    requests: usize,
) -> Result<Vec<Duration>, Error> {
    let req = folder.join("req");
    let res = folder.join("res");
    std::fs::create_dir_all(&req)?;
    std::fs::create_dir_all(&res)?;
    let watcher = watch::spawn(folder, Arc::clone(handler), options)?;

    let total = warmup + requests;
    let submitted: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let pickup = {
        let (submitted, res) = (Arc::clone(&submitted), res.clone());
        std::thread::spawn(move || pick_up(&res, &submitted, total))
    };
    for i in 0..total {
        let id = format!("{i:05}");
        let path = req.join(format!("OQSsiquc01req_{id}.xml"));
        let body = request_xml(&id);
        // Stamped just before the rename that makes the request visible.
        let at = Instant::now();
        submitted
            .lock()
            .map_err(|_| "lock")?
            .insert(format!("OQSsiquc01res_{id}.xml"), at);
        onshi_files::write_atomic(&path, body.as_bytes(), onshi_files::Access::Shared)?;
        std::thread::sleep(INTERVAL);
    }
    let latencies = pickup.join().map_err(|_| "pick-up thread panicked")??;
    watcher.stop()?;
    let mut by_id: Vec<(String, Duration)> = latencies.into_iter().collect();
    by_id.sort();
    Ok(by_id.into_iter().skip(warmup).map(|(_, d)| d).collect())
}

/// The receipt computer's side: sees results appear, records when, removes them.
fn pick_up(
    res: &Path,
    submitted: &Mutex<HashMap<String, Instant>>,
    total: usize,
) -> Result<HashMap<String, Duration>, String> {
    let mut seen = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    while seen.len() < total {
        if Instant::now() > deadline {
            return Err(format!("only {} of {total} results appeared", seen.len()));
        }
        let entries = std::fs::read_dir(res).map_err(|e| e.to_string())?;
        let now = Instant::now();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let at = submitted.lock().map_err(|_| "lock")?.get(&name).copied();
            if let Some(at) = at {
                seen.insert(name, now.saturating_duration_since(at));
                let _ = std::fs::remove_file(entry.path());
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(seen)
}

/// The desk's real request handler: the request parsed, the service asked over mTLS, the check
/// journaled (fsynced) with its result file's name, the result document written in the
/// configured encoding.
fn handler_under_test(config: &Config, work: &Path) -> Result<Arc<dyn RequestHandler>, Error> {
    let journal = onshi_desk::journal::Journal::open(&work.join("bench-journal.sqlite"))?;
    Ok(Arc::new(onshi_desk::interop::RequestProcessor::for_config(
        config,
        Arc::new(OnlineClient::new(config)?),
        Arc::new(journal),
        onshi_desk::clock::SystemClock::shared(),
    )))
}

/// A single-check request as a receipt computer writes it (UTF-8 variant).
fn request_xml(id: &str) -> String {
    let today = pki::today_jst();
    let date = format!(
        "{:04}{:02}{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<XmlMsg>\
         <MessageHeader><QualificationConfirmationDate>{date}</QualificationConfirmationDate>\
         <MedicalInstitutionCode>1312345678</MedicalInstitutionCode>\
         <ArbitraryFileIdentifier>{id}</ArbitraryFileIdentifier>\
         <ReferenceClassification>2</ReferenceClassification>\
         <CharacterCodeIdentifier>0</CharacterCodeIdentifier></MessageHeader>\
         <MessageBody><QualificationConfirmSearchInfo><InsurerNumber>{INSURER}</InsurerNumber>\
         <InsuredCardSymbol>{SYMBOL}</InsuredCardSymbol>\
         <InsuredIdentificationNumber>{NUMBER}</InsuredIdentificationNumber>\
         <Birthdate>{BIRTH}</Birthdate>\
         <LimitApplicationCertificateRelatedConsFlg>0</LimitApplicationCertificateRelatedConsFlg>\
         </QualificationConfirmSearchInfo></MessageBody></XmlMsg>\n"
    )
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
