//! `onshi-mock`: the test-double toolbox: test PKI generation and the mock online-qualification
//! server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use onshi_mock::endpoint::{self, Faults, ServerConfig, ServerFiles};
use onshi_mock::pki;
use time::Date;

/// Test doubles for onshi-desk.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The fake JPKI test PKI and the TLS certificates of the mock server.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Run the mock online-qualification server (HTTPS, client certificate required).
    ///
    /// Prints `listening on ADDR` as the first line on stdout, then serves until SIGINT or
    /// SIGTERM (requests in flight get up to 5 s to finish).
    Serve(ServeArgs),
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Write both JPKI CAs (DIR/jpki/), the standard personas (DIR/personas/<id>.toml) and
    /// the TLS CAs and certificates (DIR/tls/).
    Init {
        /// Output directory (created if missing; existing files are overwritten).
        dir: PathBuf,
        /// Reference date (JST) the personas' expiry dates are relative to; default today.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        as_of: Option<Date>,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Test PKI directory written by `pki init`; the certificate paths default to its layout.
    #[arg(long, value_name = "DIR")]
    pki: PathBuf,
    /// Fixture file; default: the built-in data set (mock-server/fixtures/default.toml).
    #[arg(long, value_name = "FILE")]
    fixtures: Option<PathBuf>,
    /// Address to listen on (port 0 = any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// JPKI user-auth CA certificate (PEM); repeatable; default DIR/jpki/auth-ca.pem.
    #[arg(long = "jpki-ca", value_name = "FILE")]
    jpki_ca: Vec<PathBuf>,
    /// Server certificate chain (PEM); default DIR/tls/server.pem.
    #[arg(long, value_name = "FILE")]
    server_cert: Option<PathBuf>,
    /// Server key (PEM); default DIR/tls/server-key.pem.
    #[arg(long, value_name = "FILE")]
    server_key: Option<PathBuf>,
    /// CA that facility client certificates must chain to (PEM); default DIR/tls/client-ca.pem.
    #[arg(long, value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// Fault on every request: wait this many milliseconds before answering.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    fault_delay_ms: u64,
    /// Fault on every request: answer with this HTTP status (400-599) instead.
    #[arg(long, value_name = "CODE", value_parser = clap::value_parser!(u16).range(400..=599))]
    fault_status: Option<u16>,
    /// Fault on every request: answer 200 with the JSON cut off halfway.
    #[arg(long)]
    fault_malformed: bool,
    /// Fault on every request: close the connection without answering.
    #[arg(long)]
    fault_drop: bool,
    /// Fault on every request: announce the whole body but send half of it, then close.
    #[arg(long)]
    fault_truncated: bool,
    /// Fault on every request: echo a different ArbitraryFileIdentifier (a lying server).
    #[arg(long)]
    fault_wrong_file_id: bool,
    /// Lifetime of a login token, in seconds (default 1800).
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    token_ttl_s: Option<u64>,
    /// Fault: every login token expires after this many authenticated requests.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    fault_token_uses: Option<u32>,
    /// Fault: refuse every login (403, status "1").
    #[arg(long)]
    fault_login_refused: bool,
}

fn parse_date(text: &str) -> Result<Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).map_err(|e| format!("{text:?} is not YYYY-MM-DD: {e}"))
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Pki {
            command: PkiCommand::Init { dir, as_of },
        } => pki_init(dir, as_of),
        Command::Serve(args) => serve(args),
    }
}

fn pki_init(dir: PathBuf, as_of: Option<Date>) -> ExitCode {
    let as_of = as_of.unwrap_or_else(pki::today_jst);
    let result = pki::generate_jpki(&dir, as_of)
        .and_then(|generated| Ok((generated, pki::tls::generate(&dir, as_of)?)));
    match result {
        Ok((generated, tls)) => {
            for persona in &generated.personas {
                println!("{}", persona.path.display());
            }
            for path in [
                &tls.server_ca_certificate,
                &tls.server_certificate,
                &tls.client_ca_certificate,
                &tls.facility_certificate,
            ] {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("onshi-mock: pki init {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("onshi_mock=info")),
        )
        .init();
    let mut files = ServerFiles::from_pki_dir(&args.pki);
    if let Some(path) = args.server_cert {
        files.server_certificate = path;
    }
    if let Some(path) = args.server_key {
        files.server_private_key = path;
    }
    if let Some(path) = args.client_ca {
        files.client_ca_certificate = path;
    }
    if !args.jpki_ca.is_empty() {
        files.jpki_ca_certificates = args.jpki_ca;
    }
    files.fixtures = args.fixtures;
    let faults = Faults {
        delay_ms: args.fault_delay_ms,
        status: args.fault_status,
        malformed: args.fault_malformed,
        drop: args.fault_drop,
        truncated: args.fault_truncated,
        wrong_file_id: args.fault_wrong_file_id,
    };
    let config = match ServerConfig::load(&files) {
        Ok(config) => {
            let config = config
                .with_faults(faults)
                .with_token_uses(args.fault_token_uses)
                .with_login_refused(args.fault_login_refused);
            match args.token_ttl_s {
                Some(s) => config.with_token_ttl(std::time::Duration::from_secs(s)),
                None => config,
            }
        }
        Err(e) => {
            eprintln!("onshi-mock: serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("onshi-mock: serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|source| endpoint::ServerError::Bind {
                addr: args.listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(endpoint::ServerError::Runtime)?;
        // The first stdout line is the contract with scripts that start us on port 0.
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "listening on {addr}");
        let _ = stdout.flush();
        if !faults.is_none() {
            tracing::info!("global faults: {faults:?}");
        }
        endpoint::serve(listener, config, termination()).await
    });
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("onshi-mock: serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down");
}
