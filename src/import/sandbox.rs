//! Reading an untrusted PDF in a child process, so that a crash, a hang or a memory blow-up
//! in the PDF parser can never take the desk down.
//!
//! A stack overflow aborts a process and `catch_unwind` cannot catch it; a runaway allocation
//! or loop is not a panic at all. So the desk and the CLI hand the bytes to a child — this same
//! program, started with the hidden subcommand [`WORKER_SUBCOMMAND`] — on its standard input.
//! The child limits itself (address space [`WORKER_MEMORY_LIMIT`], CPU time, no core file) on
//! Linux and other Unix systems, parses on a thread with a generous stack, and answers one
//! line of JSON ([`WorkerAnswer`]) on standard output. The parent gives it an empty
//! environment (no proxy settings, no tokens, no configuration path), kills it after
//! [`PdfSandbox::time_limit`], and maps every outcome to a typed [`ImportError`]. What the
//! child writes on standard error is only logged, escaped, never shown at the desk.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::portal_pdf::{extract_portal_fields, precheck, ImportError, PortalFields, MAX_BYTES};
use crate::domain::text::for_display_limited;

/// The hidden subcommand of `onshi-desk` that reads one PDF from standard input.
pub const WORKER_SUBCOMMAND: &str = "internal-pdf-worker";
/// How long the child may take (a real portal PDF takes well under a second).
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(5);
/// Address space the child may use (a portal PDF needs a few tens of MB).
pub const WORKER_MEMORY_LIMIT: u64 = 512 * 1024 * 1024;
/// CPU seconds the child may use, should the parent's kill not come (the parent is gone).
pub const WORKER_CPU_SECONDS: u64 = 10;
/// Stack of the parsing thread: room for legitimate nesting; runaway recursion is refused
/// before it starts (see `guard`) and overflows into a contained abort at worst.
pub const WORKER_STACK: usize = 64 * 1024 * 1024;
/// The child's answer is one line of JSON; more than this is nonsense.
const MAX_ANSWER: u64 = 1024 * 1024;
/// How long the output pipes are waited for once the child has ended.
const PIPE_GRACE: Duration = Duration::from_secs(2);
/// What of the child's standard error is kept for the log.
const MAX_STDERR: u64 = 16 * 1024;

/// The child's answer on standard output.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WorkerAnswer {
    /// The printed fields (the typed ones are derived again by the parent).
    Fields(Box<PortalFields>),
    /// Why the file was refused.
    Error { kind: String, detail: String },
}

/// Why a PDF file could not be read from disk.
#[derive(Debug, thiserror::Error)]
pub enum PdfFileError {
    /// Too big to be a portal PDF.
    #[error(transparent)]
    Import(ImportError),
    /// Missing, not a regular file (a FIFO, a device), no permission.
    #[error(transparent)]
    Unreadable(onshi_files::ReadError),
}

/// Reads a PDF the patient brought: a regular file of at most [`MAX_BYTES`] (a FIFO or a
/// device is refused instead of blocking the desk).
pub fn read_pdf_file(path: &std::path::Path) -> Result<Vec<u8>, PdfFileError> {
    onshi_files::read_limited(path, MAX_BYTES as u64).map_err(|e| match e {
        onshi_files::ReadError::TooLarge { .. } => PdfFileError::Import(ImportError::TooLarge {
            bytes: std::fs::metadata(path).map_or(MAX_BYTES + 1, |m| m.len() as usize),
            limit: MAX_BYTES,
        }),
        other => PdfFileError::Unreadable(other),
    })
}

/// The reader program for this process, when it is not this executable.
static READER_PROGRAM: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes [`PdfSandbox::this_program`] start `program` instead of this executable, for the rest
/// of the process (the first call wins). Only for tests of the desk, whose executable is the
/// test harness (they pass the built `onshi-desk`); the desk and the CLI never call it.
pub fn use_reader_program(program: impl Into<PathBuf>) {
    let _ = READER_PROGRAM.set(program.into());
}

/// How to start the reader process.
#[derive(Debug, Clone)]
pub struct PdfSandbox {
    /// The program (normally this very executable).
    pub program: PathBuf,
    /// Its arguments (normally just [`WORKER_SUBCOMMAND`]).
    pub args: Vec<OsString>,
    /// Killed after this long.
    pub time_limit: Duration,
}

impl PdfSandbox {
    /// The reader is `program` with the worker subcommand (tests pass the built
    /// `onshi-desk` binary, whose path they know, since their own executable is the test).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: vec![WORKER_SUBCOMMAND.into()],
            time_limit: DEFAULT_TIME_LIMIT,
        }
    }

    /// The reader is this running executable: what the desk app and the CLI use (or the
    /// program set by [`use_reader_program`]).
    pub fn this_program() -> Result<Self, ImportError> {
        if let Some(program) = READER_PROGRAM.get() {
            return Ok(Self::new(program));
        }
        std::env::current_exe()
            .map(Self::new)
            .map_err(|e| ImportError::Unavailable(format!("cannot find this executable: {e}")))
    }

    /// Reads `bytes` in the child process; every outcome is a typed result.
    pub fn extract(&self, bytes: &[u8]) -> Result<PortalFields, ImportError> {
        precheck(bytes)?;
        let started = Instant::now();
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Windows programs misbehave without it; it names a folder, no secret.
        #[cfg(windows)]
        if let Some(root) = std::env::var_os("SystemRoot") {
            command.env("SystemRoot", root);
        }
        let mut child = command.spawn().map_err(|e| {
            ImportError::Unavailable(format!("cannot start {}: {e}", self.program.display()))
        })?;
        // Feed and drain on threads: a child that stops reading or floods its output must not
        // block the parent past the time limit. The feeder is left to end by itself (all
        // written, or a broken pipe once the child is gone).
        if let Some(mut stdin) = child.stdin.take() {
            let bytes = bytes.to_vec();
            let fed = std::thread::Builder::new()
                .name("pdf-reader-input".into())
                .spawn(move || {
                    let _ = stdin.write_all(&bytes);
                });
            if let Err(e) = fed {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ImportError::Unavailable(format!(
                    "cannot start a thread to feed the reader: {e}"
                )));
            }
        }
        let stdout = child.stdout.take().and_then(|out| drain(out, MAX_ANSWER));
        let stderr = child.stderr.take().and_then(|err| drain(err, MAX_STDERR));
        let status = wait_until(&mut child, started + self.time_limit);
        // Once the child is gone its pipes close, unless something it started still holds
        // them: then what was read so far is all there is.
        let collect = |pipe: Option<Receiver<Vec<u8>>>| {
            pipe.and_then(|rx| rx.recv_timeout(PIPE_GRACE).ok())
                .unwrap_or_default()
        };
        let stdout = collect(stdout);
        let stderr = collect(stderr);
        let stderr = String::from_utf8_lossy(&stderr);
        let outcome = interpret(status, &stdout, &stderr, self.time_limit);
        if let Err(e) = &outcome {
            tracing::warn!(
                error = %e,
                stderr = %for_display_limited(stderr.trim(), 2_000),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "portal PDF reader refused the file"
            );
        }
        outcome
    }
}

/// Reads at most `limit` bytes (then keeps draining, so the child never blocks on a full pipe);
/// what was kept arrives on the channel at end of file. `None` if no thread could be started
/// (the output is then lost and the answer treated as missing).
fn drain(mut pipe: impl Read + Send + 'static, limit: u64) -> Option<Receiver<Vec<u8>>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("pdf-reader-output".into())
        .spawn(move || {
            let mut kept = Vec::new();
            let _ = (&mut pipe).take(limit).read_to_end(&mut kept);
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
            let _ = tx.send(kept);
        })
        .ok()?;
    Some(rx)
}

/// The child's exit status, or `None` once it was killed at the deadline.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Maps how the child ended to the result.
fn interpret(
    status: Option<ExitStatus>,
    stdout: &[u8],
    stderr: &str,
    time_limit: Duration,
) -> Result<PortalFields, ImportError> {
    let Some(status) = status else {
        return Err(ImportError::TooComplex(format!(
            "reading took longer than {} s (the reader was stopped)",
            time_limit.as_secs_f64()
        )));
    };
    if status.success() {
        let answer: WorkerAnswer = serde_json::from_slice(stdout).map_err(|e| {
            ImportError::Unavailable(format!("the reader's answer is not understood: {e}"))
        })?;
        return match answer {
            WorkerAnswer::Fields(fields) => Ok((*fields).with_parsed()),
            WorkerAnswer::Error { kind, detail } => Err(error_of(&kind, &detail)),
        };
    }
    // A Rust abort says why on standard error; the signal says how it ended.
    if stderr.contains("has overflowed its stack") {
        return Err(ImportError::TooComplex(
            "the reader ran out of stack (nesting too deep)".into(),
        ));
    }
    if stderr.contains("memory allocation of") || stderr.contains("capacity overflow") {
        return Err(ImportError::TooMuchContent(format!(
            "the reader ran out of its {} MiB of memory",
            WORKER_MEMORY_LIMIT / (1024 * 1024)
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            if signal == libc::SIGXCPU || signal == libc::SIGKILL {
                return Err(ImportError::TooComplex(format!(
                    "the reader used up its CPU time (signal {signal})"
                )));
            }
            return Err(ImportError::Malformed(format!(
                "the PDF reader crashed on this file (signal {signal})"
            )));
        }
    }
    Err(ImportError::Malformed(format!(
        "the PDF reader stopped on this file ({status})"
    )))
}

/// The error the child named, rebuilt here (its detail escaped, its kind checked).
fn error_of(kind: &str, detail: &str) -> ImportError {
    let detail = for_display_limited(detail, 500).into_owned();
    match kind {
        "not_pdf" => ImportError::NotPdf,
        "encrypted" => ImportError::Encrypted,
        "malformed" => ImportError::Malformed(detail),
        "no_text" => ImportError::NoText,
        "no_labels" => ImportError::NoLabels,
        "too_complex" => ImportError::TooComplex(detail),
        "too_much_content" => ImportError::TooMuchContent(detail),
        "too_large" => ImportError::TooLarge {
            bytes: MAX_BYTES + 1,
            limit: MAX_BYTES,
        },
        other => ImportError::Unavailable(format!(
            "the reader answered an unknown error kind {:?}",
            for_display_limited(other, 40)
        )),
    }
}

/// The child: `onshi-desk internal-pdf-worker`. Limits itself, reads the PDF from standard
/// input, answers on standard output. Exit 0 whenever it could answer.
pub fn run_worker() -> std::process::ExitCode {
    limit_this_process();
    let mut bytes = Vec::new();
    let answer = match std::io::stdin()
        .lock()
        .take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
    {
        Err(e) => WorkerAnswer::Error {
            kind: "malformed".into(),
            detail: format!("cannot read the PDF from standard input: {e}"),
        },
        Ok(_) => {
            let parse = std::thread::Builder::new()
                .name("pdf-worker".into())
                .stack_size(WORKER_STACK)
                .spawn(move || extract_portal_fields(&bytes));
            match parse.map(|t| t.join()) {
                Ok(Ok(Ok(fields))) => WorkerAnswer::Fields(Box::new(fields)),
                Ok(Ok(Err(e))) => WorkerAnswer::Error {
                    kind: e.kind().into(),
                    // The parent rebuilds the error from its kind: only the inner detail.
                    detail: match e {
                        ImportError::Malformed(d)
                        | ImportError::TooComplex(d)
                        | ImportError::TooMuchContent(d)
                        | ImportError::Unavailable(d) => d,
                        other => other.to_string(),
                    },
                },
                Ok(Err(_)) => WorkerAnswer::Error {
                    kind: "malformed".into(),
                    detail: "the PDF parser gave up on this file".into(),
                },
                Err(e) => WorkerAnswer::Error {
                    kind: "too_much_content".into(),
                    detail: format!("cannot start the parsing thread: {e}"),
                },
            }
        }
    };
    let line = serde_json::to_string(&answer).unwrap_or_else(|_| {
        r#"{"error":{"kind":"malformed","detail":"unanswerable"}}"#.to_string()
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    std::process::ExitCode::SUCCESS
}

/// Address space, CPU time and no core file (patient data must not land on disk).
#[cfg(unix)]
fn limit_this_process() {
    let set = |resource, value: u64| {
        let limit = libc::rlimit {
            rlim_cur: value as libc::rlim_t,
            rlim_max: value as libc::rlim_t,
        };
        // SAFETY: setrlimit only reads the struct passed by reference.
        let rc = unsafe { libc::setrlimit(resource, &limit) };
        if rc != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "PDF reader could not limit itself"
            );
        }
    };
    set(libc::RLIMIT_CORE, 0);
    set(libc::RLIMIT_CPU, WORKER_CPU_SECONDS);
    set(libc::RLIMIT_AS, WORKER_MEMORY_LIMIT);
}

/// Elsewhere only the parent's time limit applies.
#[cfg(not(unix))]
fn limit_this_process() {}
