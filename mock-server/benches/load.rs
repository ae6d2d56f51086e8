//! Load benchmark of the mock online-qualification server over mTLS with keep-alive.
//!
//! ```sh
//! cargo bench -p onshi-mock --bench load                       # 32 connections, 10 s per scenario
//! cargo bench -p onshi-mock --bench load -- --connections 64 --seconds 5 --mode visual
//! ```
//!
//! Scenarios: `visual` posts a precomputed card search (visual check, so no challenge round
//! trip); `pin` does the whole PIN flow per request: challenge, sign SHA-256(challenge) with
//! the card's key (ring, standing in for the card), confirm. Each connection sends its next
//! request as soon as the answer is in (closed loop); load generator and server share the
//! machine, both on loopback. Stops by itself after `--seconds` or `--requests` per scenario.
//!
//! Without `--bench` (as under `cargo test --all-targets`) it runs a tiny smoke round only.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use hyper::StatusCode;
use onshi_mock::endpoint::{self, Fixtures, ServerConfig, CONFIRMATION_PATH};
use onshi_mock::pki::{self, CaKind, CertificateAuthority};
use onshi_mock::Persona;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rsa::pkcs8::EncodePrivateKey;
use serde_json::json;

use support::{b64, certs_from_pem, envelope, header, key_from_pem, Connection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Visual,
    Pin,
}

struct Options {
    connections: usize,
    duration: Duration,
    requests: Option<usize>,
    modes: Vec<Mode>,
    smoke: bool,
}

fn options() -> Result<Options, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = !args.iter().any(|a| a == "--bench");
    let mut o = Options {
        connections: 32,
        duration: Duration::from_secs(10),
        requests: None,
        modes: vec![Mode::Visual, Mode::Pin],
        smoke,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--connections" => o.connections = value()?.parse().map_err(|e| format!("{e}"))?,
            "--seconds" => {
                o.duration = Duration::from_secs_f64(value()?.parse().map_err(|e| format!("{e}"))?)
            }
            "--requests" => o.requests = Some(value()?.parse().map_err(|e| format!("{e}"))?),
            "--mode" => {
                o.modes = match value()?.as_str() {
                    "visual" => vec![Mode::Visual],
                    "pin" => vec![Mode::Pin],
                    "both" => vec![Mode::Visual, Mode::Pin],
                    other => return Err(format!("--mode {other}: visual, pin or both")),
                }
            }
            // Flags cargo or libtest-style runners may pass (`cargo test -- --skip x` reaches
            // every target, this one included).
            "--bench" | "--nocapture" | "--quiet" | "-q" | "--exact" | "--include-ignored" => {}
            "--skip" | "--test-threads" | "--color" | "--format" => {
                value()?;
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            _ => {} // a name filter: ignored
        }
    }
    if o.smoke {
        o.connections = 2;
        o.requests = Some(20);
    }
    o.connections = o.connections.max(1);
    Ok(o)
}

/// The test PKI the benchmark needs: the TLS half and the `valid` persona (4 RSA keys only).
struct Setup {
    _dir: tempfile::TempDir,
    config: ServerConfig,
    client: Arc<rustls::ClientConfig>,
    persona: Persona,
}

fn setup() -> Result<Setup, support::Error> {
    let as_of = pki::today_jst();
    let dir = tempfile::tempdir()?;
    let tls = pki::tls::generate(dir.path(), as_of)?;
    let mut keys = pki::generate_keys(4)?.into_iter();
    let mut key = || keys.next().ok_or("key generation");
    let auth_ca = CertificateAuthority::from_key(CaKind::UserAuthentication, as_of, key()?)?;
    let sign_ca = CertificateAuthority::from_key(CaKind::DigitalSignature, as_of, key()?)?;
    let specs = pki::standard_persona_specs(as_of, &mut rand::thread_rng())?;
    let spec = specs.iter().find(|s| s.id == "valid").ok_or("valid spec")?;
    let persona = Persona::from_data(pki::issue_persona_with_keys(
        &auth_ca,
        &sign_ca,
        spec,
        key()?,
        key()?,
    )?)?;
    let config = ServerConfig::new(
        endpoint::load_certificates(&tls.server_certificate)?,
        endpoint::load_private_key(&tls.server_private_key)?,
        endpoint::load_certificates(&tls.client_ca_certificate)?,
        &certs_from_pem(&auth_ca.certificate_pem()?),
        Fixtures::builtin()?,
    )?;
    let identity = (
        endpoint::load_certificates(&tls.facility_certificate)?,
        key_from_pem(&std::fs::read_to_string(&tls.facility_private_key)?),
    );
    let client =
        support::client_config_with_roots(&tls.server_ca_certificate, Some(identity), false);
    Ok(Setup {
        _dir: dir,
        config,
        client,
        persona,
    })
}

struct Outcome {
    latencies_us: Vec<u32>,
    errors: usize,
}

/// One keep-alive connection's closed loop.
async fn drive(
    mut conn: Connection,
    mode: Mode,
    visual_body: Bytes,
    persona: Arc<(Vec<u8>, RsaKeyPair)>,
    deadline: Instant,
    count: Option<usize>,
) -> Outcome {
    let mut out = Outcome {
        latencies_us: Vec::with_capacity(32 * 1024),
        errors: 0,
    };
    let rng = ring::rand::SystemRandom::new();
    let mut signature = vec![0u8; persona.1.public().modulus_len()];
    loop {
        if count.is_some_and(|n| out.latencies_us.len() + out.errors >= n)
            || (count.is_none() && Instant::now() >= deadline)
        {
            break;
        }
        let start = Instant::now();
        let result = match mode {
            Mode::Visual => conn.post(CONFIRMATION_PATH, visual_body.to_vec()).await,
            Mode::Pin => {
                async {
                    let (id, challenge) = conn.challenge().await?;
                    persona
                        .1
                        .sign(&RSA_PKCS1_SHA256, &rng, &challenge, &mut signature)
                        .map_err(|_| "sign")?;
                    let search = json!({
                        "ExtUserAuthCertificate": b64(&persona.0),
                        "ExtIdentityConfirmationMethod": "1",
                        "ExtChallengeId": id,
                        "ExtChallengeSignature": b64(&signature),
                        "LimitApplicationCertificateRelatedConsFlg": "1",
                    });
                    conn.post(
                        CONFIRMATION_PATH,
                        serde_json::to_vec(&envelope(header("bench"), search))?,
                    )
                    .await
                }
                .await
            }
        };
        match result {
            Ok((StatusCode::OK, body)) if body.len() > 100 => {
                out.latencies_us
                    .push(u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            Ok((status, body)) => {
                out.errors += 1;
                if out.errors <= 3 {
                    eprintln!(
                        "unexpected answer {status}: {}",
                        String::from_utf8_lossy(&body)
                    );
                }
            }
            Err(e) => {
                out.errors += 1;
                eprintln!("request failed: {e}");
                break;
            }
        }
    }
    out
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), support::Error> {
    let options = options()?;
    let setup = setup()?;
    let server = endpoint::spawn(setup.config)?;
    let addr = server.addr();

    // The visual-method request is built once: the hot path under test is the server's.
    let visual_body = Bytes::from(serde_json::to_vec(&envelope(
        header("bench"),
        support::card_search(setup.persona.auth_certificate_der(), "3"),
    ))?);
    let pkcs8 = setup.persona.auth_private_key().to_pkcs8_der()?;
    let key_pair = RsaKeyPair::from_pkcs8(pkcs8.as_bytes()).map_err(|e| format!("{e}"))?;
    let persona = Arc::new((setup.persona.auth_certificate_der().to_vec(), key_pair));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!(
        "onshi-mock load: {} keep-alive mTLS connections, {}, server and client on {} cores{}",
        options.connections,
        match options.requests {
            Some(n) => format!("{n} requests per connection"),
            None => format!("{:.0} s per scenario", options.duration.as_secs_f64()),
        },
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        if options.smoke {
            " (smoke run; use `cargo bench` for figures)"
        } else {
            ""
        }
    );
    let mut failed = false;
    for mode in &options.modes {
        let mode = *mode;
        let (elapsed, outcomes) = runtime.block_on(async {
            // Handshakes happen before the measured window.
            let mut connections = Vec::new();
            for _ in 0..options.connections {
                connections.push(Connection::open(addr, setup.client.clone()).await?);
            }
            let start = Instant::now();
            let deadline = start + options.duration;
            let tasks: Vec<_> = connections
                .into_iter()
                .map(|conn| {
                    tokio::spawn(drive(
                        conn,
                        mode,
                        visual_body.clone(),
                        persona.clone(),
                        deadline,
                        options.requests,
                    ))
                })
                .collect();
            let mut outcomes = Vec::new();
            for task in tasks {
                outcomes.push(task.await);
            }
            Ok::<_, support::Error>((start.elapsed(), outcomes))
        })?;
        let mut latencies = Vec::new();
        let mut errors = 0;
        for outcome in outcomes {
            let outcome = outcome?;
            latencies.extend(outcome.latencies_us);
            errors += outcome.errors;
        }
        latencies.sort_unstable();
        let rate = latencies.len() as f64 / elapsed.as_secs_f64();
        println!(
            "{:<7} {:>8} ok {:>4} errors {:>9.0} req/s   p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms",
            match mode {
                Mode::Visual => "visual",
                Mode::Pin => "pin",
            },
            latencies.len(),
            errors,
            rate,
            percentile(&latencies, 50.0),
            percentile(&latencies, 90.0),
            percentile(&latencies, 99.0),
            percentile(&latencies, 100.0),
        );
        failed |= errors > 0 || latencies.is_empty();
    }
    server.shutdown()?;
    if failed {
        return Err("some requests failed".into());
    }
    Ok(())
}
