//! Helpers for the end-to-end tests: the test PKI, a reader from the vpcd pool, virtual cards.
//!
//! The card tests run through the real stack: pcscd, the vpcd driver, and the project's
//! virtual My Number card on the vpcd socket. `scripts/test` starts pcscd with a pool of vpcd
//! readers and lists them in `ONSHI_TEST_READERS` (`name=port,…`). Each test takes a reader
//! for itself with a file lock, so cargo's parallel test threads and separate test binaries
//! never share one.
#![allow(dead_code)]

/// The shared journal's test databases (PostgreSQL, `ONSHI_TEST_PG_*`).
#[cfg(feature = "shared-journal")]
pub mod postgres;

use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use onshi_desk::card::{Pcsc, ReaderWatcher};
use onshi_mock::persona::Persona;
use onshi_mock::vcard::{CardOptions, VirtualCard};
use onshi_mock::vpcd::InsertedCard;
use time::macros::date;
use time::Date;

/// The check date every card test uses, so expiry states do not depend on the real clock.
pub const AS_OF: Date = date!(2026 - 11 - 21);

/// How long any wait for pcscd in a test may take before the test fails (never hangs).
pub const PCSCD_WAIT: Duration = Duration::from_secs(15);

fn work_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("onshi-test");
    fs::create_dir_all(&dir).expect("create test work dir");
    dir
}

/// The test PKI (fake JPKI CA and personas), generated once and shared by all test processes.
pub fn pki_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = work_dir();
        let lock = File::create(root.join("pki.lock")).expect("pki lock file");
        lock.lock().expect("lock pki");
        // Bump the version when the generator changes: the folder is reused across runs.
        let dir = root.join(format!("pki-v3-{AS_OF}"));
        let done = dir.join(".complete");
        if !done.exists() {
            let _ = fs::remove_dir_all(&dir);
            onshi_mock::pki::generate_jpki(&dir, AS_OF).expect("generate test PKI");
            onshi_mock::pki::tls::generate(&dir, AS_OF).expect("generate test TLS PKI");
            fs::write(&done, b"").expect("mark PKI complete");
        }
        dir
    })
    .clone()
}

pub fn persona_path(id: &str) -> PathBuf {
    pki_dir().join("personas").join(format!("{id}.toml"))
}

pub fn persona(id: &str) -> Persona {
    Persona::load(persona_path(id)).unwrap_or_else(|e| panic!("persona {id}: {e}"))
}

pub fn card(id: &str) -> VirtualCard {
    VirtualCard::new(persona(id), CardOptions::default())
}

pub fn card_with(id: &str, options: CardOptions) -> VirtualCard {
    VirtualCard::new(persona(id), options)
}

/// A vpcd reader of the pool, held by this test until dropped.
pub struct TestReader {
    pub name: String,
    pub port: u16,
    _lock: File,
}

impl TestReader {
    pub fn vpcd(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Places `card` on this reader and waits until pcscd reports it present.
    pub fn insert(&self, card: VirtualCard) -> InsertedCard {
        let inserted =
            InsertedCard::insert(self.vpcd(), card, PCSCD_WAIT).expect("connect to vpcd");
        ReaderWatcher::new()
            .wait_for_card(Some(&self.name), PCSCD_WAIT)
            .unwrap_or_else(|e| panic!("pcscd never saw the card on {}: {e}", self.name));
        inserted
    }

    /// Takes the card off and waits until pcscd reports the reader empty.
    pub fn remove(&self, inserted: InsertedCard) -> VirtualCard {
        let card = inserted.remove();
        self.wait_empty();
        card
    }

    pub fn wait_empty(&self) {
        let deadline = Instant::now() + PCSCD_WAIT;
        while Instant::now() < deadline {
            let present = Pcsc::establish()
                .and_then(|p| p.readers())
                .map(|rs| rs.iter().any(|r| r.name == self.name && r.card_present))
                .unwrap_or(true);
            if !present {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} still shows a card", self.name);
    }
}

/// Takes a free reader from the pool that `scripts/test` set up.
pub fn reader() -> TestReader {
    let pool = std::env::var("ONSHI_TEST_READERS").unwrap_or_else(|_| {
        panic!("ONSHI_TEST_READERS is not set: run the suite with `bash scripts/test`, which starts pcscd with the virtual readers")
    });
    let readers: Vec<(String, u16)> = pool
        .split(',')
        .filter_map(|e| e.rsplit_once('='))
        .map(|(n, p)| (n.to_owned(), p.parse().expect("port")))
        .collect();
    let locks = work_dir().join("reader-locks");
    fs::create_dir_all(&locks).expect("lock dir");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        for (name, port) in &readers {
            let file = File::create(locks.join(format!("{port}.lock"))).expect("lock file");
            if file.try_lock().is_ok() {
                let r = TestReader {
                    name: name.clone(),
                    port: *port,
                    _lock: file,
                };
                r.wait_empty();
                return r;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no free test reader for 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The certificate the persona's card holds, parsed the app's way.
pub fn expected_certificate(id: &str) -> onshi_desk::card::UserAuthCertificate {
    onshi_desk::card::UserAuthCertificate::from_der(persona(id).auth_certificate_der())
        .expect("persona cert parses")
}

/// A binary of another workspace package (cargo only names its own package's binaries to
/// tests): it sits beside the test executable's `deps/` folder after `cargo test --workspace`.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{} not built: run `cargo test --workspace` (or `bash scripts/test`)",
        bin.display()
    );
    bin
}

/// The mock online qualification service, run as its own process (`onshi-mock serve`) over
/// mutual TLS on loopback; stopped when dropped.
pub struct MockService {
    child: std::process::Child,
    pub addr: String,
}

impl MockService {
    /// Starts the service on the test PKI and the default fixtures, plus `extra` arguments.
    pub fn start(extra: &[&str]) -> MockService {
        use std::io::BufRead;
        let fixtures =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("mock-server/fixtures/default.toml");
        let pki = pki_dir();
        let mut child = std::process::Command::new(workspace_bin("onshi-mock"))
            .arg("serve")
            .arg("--pki")
            .arg(&pki)
            .arg("--fixtures")
            .arg(&fixtures)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start onshi-mock serve");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufReader::new(out)
                .read_line(&mut line)
                .expect("read the listening line");
        }
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(addr.contains(':'), "onshi-mock serve printed {line:?}");
        MockService { child, addr }
    }

    /// A desk configuration for this service, written into `dir`; `edit` may change the text.
    pub fn config(&self, dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
        let tls = pki_dir().join("tls");
        let text = format!(
            "facility_code = \"1312345678\"\n\n[endpoint]\nurl = \"https://{}/\"\nca = \"{}\"\nclient_certificate = \"{}\"\nclient_key = \"{}\"\nconnect_timeout_ms = 2000\ntimeout_ms = 5000\n\n[journal]\npath = \"{}\"\n",
            self.addr,
            tls.join("server-ca.pem").display(),
            tls.join("facility.pem").display(),
            tls.join("facility-key.pem").display(),
            dir.join("journal.sqlite3").display(),
        );
        let path = dir.join("config.toml");
        fs::write(&path, edit(text)).expect("write config");
        path
    }
}

impl Drop for MockService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `onshi-desk` program the CLI tests run: this build's binary, or, for the Windows build
/// under Wine (`scripts/test-windows`), the installed `ONSHI_DESK_EXE` started through
/// `ONSHI_DESK_RUNNER` (wine). The tests are the same; only the program differs.
pub fn desk_command() -> std::process::Command {
    use std::process::Command;
    let Some(exe) = std::env::var_os("ONSHI_DESK_EXE") else {
        return Command::new(env!("CARGO_BIN_EXE_onshi-desk"));
    };
    match std::env::var_os("ONSHI_DESK_RUNNER") {
        Some(runner) => {
            let mut cmd = Command::new(runner);
            cmd.arg(exe);
            cmd
        }
        None => Command::new(exe),
    }
}

/// True when the tests drive the Windows exe under Wine (`ONSHI_DESK_EXE`): a test of what only
/// exists on Linux (CUPS `lp`, a pcscd card, Unix permissions) returns early there, saying so.
pub fn on_windows_exe(what: &str) -> bool {
    let windows = std::env::var_os("ONSHI_DESK_EXE").is_some();
    if windows {
        eprintln!("skipped for the Windows exe under Wine: {what}");
    }
    windows
}

/// `path` as the tested program sees it, for its configuration files and arguments: unchanged
/// for this build; for the Windows exe under Wine a real Windows path on Wine's `Z:` drive (the
/// Linux root), `Z:\tmp\…\OQS`, so the tests exercise drive letters and backslashes.
pub fn exe_path(path: &Path) -> String {
    if std::env::var_os("ONSHI_DESK_EXE").is_none() {
        return path.display().to_string();
    }
    format!("Z:{}", path.display()).replace('/', "\\")
}

/// A path the tested program printed, as this (Linux) test process opens it: the inverse of
/// [`exe_path`] (`Z:\tmp\x` → `/tmp/x` under Wine; unchanged otherwise).
pub fn host_path(printed: &str) -> std::path::PathBuf {
    if std::env::var_os("ONSHI_DESK_EXE").is_none() {
        return std::path::PathBuf::from(printed);
    }
    // A path given as `/tmp/x` comes back joined the Windows way: `/tmp/x\out\y.csv`.
    let rest = printed
        .strip_prefix("Z:")
        .or_else(|| printed.strip_prefix("z:"))
        .unwrap_or(printed);
    std::path::PathBuf::from(rest.replace('\\', "/"))
}

/// `onshi-desk [--config CONFIG] ARGS` with `stdin` piped in, as a clinic's script runs it: no
/// configuration unless one is given (`ONSHI_CONFIG` points nowhere), no log filter inherited.
pub fn run_desk(config: Option<&Path>, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut cmd = desk_command();
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    cmd.args(args)
        .env("ONSHI_CONFIG", "/nonexistent/onshi-config.toml")
        .env_remove("ONSHI_LOG");
    output_with_stdin(cmd, stdin)
}

/// Runs `cmd` with `stdin` piped in and both output streams captured.
pub fn output_with_stdin(mut cmd: std::process::Command, stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run onshi-desk");
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(stdin);
    }
    child.wait_with_output().expect("finished")
}

/// `onshi-desk --config CONFIG check ARGS --as-of AS_OF --json` with `stdin` piped in: a
/// check run as a clinic's script runs it, on the card tests' fixed date.
pub fn run_check(config: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    let as_of = AS_OF.to_string();
    let args: Vec<&str> = ["check"]
        .into_iter()
        .chain(args.iter().copied())
        .chain(["--as-of", &as_of, "--json"])
        .collect();
    run_desk(Some(config), &args, stdin.as_bytes())
}

/// The JSON a command printed on stdout; on anything else the test fails showing both streams.
pub fn stdout_json(out: &std::process::Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The 乳幼児医療費助成 of the mock's `pe-infant` persona (the numbers of
/// `mock-server/fixtures/default.toml`), as the answer carries it.
pub fn infant_expense(
    source: onshi_desk::domain::public_expense::PublicExpenseSource,
) -> onshi_desk::domain::public_expense::PublicExpense {
    use onshi_desk::domain::numbers::{PublicPayerNumber, RecipientNumber};
    onshi_desk::domain::public_expense::PublicExpense {
        payer: PublicPayerNumber::parse("88132014").expect("payer"),
        recipient: Some(RecipientNumber::parse("1234566").expect("recipient")),
        valid_from: Some(date!(2026 - 04 - 01)),
        valid_until: Some(date!(2027 - 03 - 31)),
        income_category: None,
        monthly_cap_yen: None,
        name: Some("乳幼児医療費助成".into()),
        source,
    }
}

/// The 難病 受給者証 of the mock's `pe-nanbyo` persona (一般所得Ⅰ, 10,000円 a month).
pub fn intractable_expense(
    source: onshi_desk::domain::public_expense::PublicExpenseSource,
) -> onshi_desk::domain::public_expense::PublicExpense {
    use onshi_desk::domain::numbers::{PublicPayerNumber, RecipientNumber};
    onshi_desk::domain::public_expense::PublicExpense {
        payer: PublicPayerNumber::parse("54130018").expect("payer"),
        recipient: Some(RecipientNumber::parse("3456788").expect("recipient")),
        valid_from: Some(date!(2026 - 07 - 01)),
        valid_until: Some(date!(2027 - 06 - 30)),
        income_category: Some("一般所得Ⅰ".into()),
        monthly_cap_yen: Some(10_000),
        name: None,
        source,
    }
}
