//! What the desk's online client adds over the raw HTTPS round trip.
//!
//! Run with `cargo bench --bench client_overhead` (release build). Under
//! `cargo test --all-targets` (no `--bench` argument) it does a few rounds as a smoke test.
//!
//! Both sides talk to the same in-process mock server over mutual TLS on loopback, each on its
//! own kept-alive connection, alternating request by request so both see the same machine
//! load:
//! - **raw**: a bare reqwest client POSTs a prepared search-by-numbers body with the token of
//!   one login made beforehand, and reads the answer's bytes — the round trip no desk can
//!   avoid;
//! - **client**: `OnlineClient::confirm` for the same search — building and serialising the
//!   request, the round trip, parsing the answer, checking it against the request and turning
//!   it into a `Verdict` with its ratio (its one login happens in the warm-up rounds).
//!
//! The difference of the medians is the client's own cost (target: under 2 ms).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onshi_desk::config::Config;
use onshi_desk::domain::numbers::InsurerNumber;
use onshi_desk::domain::search::{NumberSearch, Search};
use onshi_desk::domain::VerdictKind;
use onshi_desk::online::OnlineClient;
use onshi_mock::endpoint::{self, ServerConfig, ServerFiles};
use onshi_mock::pki;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

type Error = Box<dyn std::error::Error>;

/// The 有効 fixture searched by numbers (協会けんぽ 本人).
const INSURER: &str = "01130012";
const SYMBOL: &str = "5012345";
const NUMBER: &str = "1024";
const BIRTH: &str = "19800401";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("client_overhead: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let bench = std::env::args().any(|a| a == "--bench");
    let (warmup, rounds) = if bench { (200, 3000) } else { (2, 10) };
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
    let client = OnlineClient::new(&config)?;
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
    let raw = raw_client(
        &tls.server_ca_certificate,
        &tls.facility_certificate,
        &tls.facility_private_key,
    )?;
    let url = format!(
        "{}/online-qualification/v1/qualification-confirmation",
        server.base_url()
    );
    let body = raw_body(as_of);
    let token = raw_login(
        &raw,
        &format!("{}/online-qualification/v1/login", server.base_url()),
    )?;

    let mut raw_times = Vec::with_capacity(rounds);
    let mut client_times = Vec::with_capacity(rounds);
    for i in 0..warmup + rounds {
        let started = Instant::now();
        let mut answer = Vec::new();
        raw.post(&url)
            .header("content-type", "application/json")
            .header("authorization", &token)
            .body(body.clone())
            .send()?
            .read_to_end(&mut answer)?;
        let raw_elapsed = started.elapsed();

        let started = Instant::now();
        let verdict = client.confirm(&search, as_of);
        let client_elapsed = started.elapsed();
        if verdict.kind != VerdictKind::Valid {
            return Err(format!("expected valid, got {verdict:?}").into());
        }
        if i >= warmup {
            raw_times.push(raw_elapsed);
            client_times.push(client_elapsed);
        }
    }
    raw_times.sort();
    client_times.sort();
    let (raw_p50, client_p50) = (pct(&raw_times, 0.5), pct(&client_times, 0.5));
    println!(
        "onshi-desk client overhead: {rounds} searches by numbers each, mTLS keep-alive, \
         loopback{}",
        if bench {
            ""
        } else {
            " (smoke run; use `cargo bench` for figures)"
        }
    );
    for (name, t) in [("raw", &raw_times), ("client", &client_times)] {
        println!(
            "{name:<7} p50 {:>7.3} ms  p90 {:>7.3} ms  p99 {:>7.3} ms",
            ms(pct(t, 0.5)),
            ms(pct(t, 0.9)),
            ms(pct(t, 0.99))
        );
    }
    println!(
        "added by the client (difference of medians): {:.3} ms",
        ms(client_p50.saturating_sub(raw_p50))
    );
    server.shutdown()?;
    Ok(())
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The same search the client sends, prepared once.
fn raw_body(on: time::Date) -> Vec<u8> {
    let date = format!("{:04}{:02}{:02}", on.year(), u8::from(on.month()), on.day());
    serde_json::json!({"XmlMsg": {
        "MessageHeader": {
            "QualificationConfirmationDate": date,
            "MedicalInstitutionCode": "1312345678",
            "ArbitraryFileIdentifier": "raw-1",
        },
        "MessageBody": {"QualificationConfirmSearchInfo": {
            "InsurerNumber": INSURER,
            "InsuredCardSymbol": SYMBOL,
            "InsuredIdentificationNumber": NUMBER,
            "Birthdate": BIRTH,
            "LimitApplicationCertificateRelatedConsFlg": "0",
        }},
    }})
    .to_string()
    .into_bytes()
}

/// The `idToken` of one login.
fn raw_login(raw: &reqwest::blocking::Client, url: &str) -> Result<String, Error> {
    let mut answer = Vec::new();
    raw.post(url)
        .header("content-type", "application/json")
        .body("{}")
        .send()?
        .read_to_end(&mut answer)?;
    let value: serde_json::Value = serde_json::from_slice(&answer)?;
    value["result"]["idToken"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("login answer without idToken: {value}").into())
}

/// A bare reqwest client with the same trust and identity as the desk's.
fn raw_client(ca: &Path, cert: &Path, key: &Path) -> Result<reqwest::blocking::Client, Error> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca)? {
        roots.add(c?)?;
    }
    let chain = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)?;
    Ok(reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()?)
}
