//! Sending a kept PDF to the system printer, and where printouts are kept.
//!
//! The PDF is always written to disk first ([`keep_pdf`]) and printed from there: a printer
//! that is off, out of paper or missing never loses the form, and a reprint is the same file
//! printed again ([`Printer::print_file`] once more).
//!
//! - Linux (and other Unix): CUPS `lp [-d QUEUE] FILE`; no queue means the default
//!   destination. `lp` only queues the job, so it returns at once; a timeout guards against a
//!   hung CUPS scheduler all the same. It runs with `LC_ALL=C` so its messages can be
//!   classified.
//! - Windows: the configured printer, else the Windows default printer, through GDI: the PDF
//!   is rasterised here (hayro) at the printer's resolution (at most 300 dpi) and drawn page by
//!   page, so no PDF application is needed ([`super::win`]). An offline or paused printer is
//!   refused rather than queued. The job runs on a worker thread and is given up on after the
//!   timeout (a blocked driver call cannot be stopped; the job may still come out later).

use std::path::{Path, PathBuf};
use std::time::Duration;
#[cfg(not(windows))]
use std::{
    io::Read,
    process::{Command, Stdio},
    time::Instant,
};

use super::PrintError;

/// The default time a print command may take before it is stopped.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// The folder for kept printouts: `~/.local/share/onshi-desk/printouts` on Linux (beside the
/// journal), `Documents\onshi-desk\printouts` on Windows, where a clerk looks for a form to
/// reprint or attach and where the clinic's backup of user files already reaches. `None` when
/// the platform has no such folder (no home directory).
pub fn default_printouts_dir() -> Option<PathBuf> {
    #[cfg(windows)]
    let base = dirs::document_dir();
    #[cfg(not(windows))]
    let base = dirs::data_dir();
    base.map(|d| d.join("onshi-desk").join("printouts"))
}

/// Writes `pdf` to `path`, creating the folder.
///
/// A printout carries the patient's name, birth date and insurance numbers, so it is
/// owner-only (0600) and a folder made for it 0700; an existing folder keeps its permissions.
/// Written through a fresh temporary file created exclusively beside it (a link planted there
/// is never followed), `fsync`ed and renamed, so a crash never leaves a half-written form that
/// a reprint would send.
pub fn keep_pdf(path: &Path, pdf: &[u8]) -> Result<(), PrintError> {
    let file_error = |e: std::io::Error| PrintError::File {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        onshi_files::create_private_dir_all(dir).map_err(file_error)?;
    }
    onshi_files::write_atomic(path, pdf, onshi_files::Access::Private).map_err(file_error)
}

/// A printer: a CUPS queue name, on Windows a printer name (`None` = the system's default
/// destination / the Windows default printer), and how long printing may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printer {
    /// CUPS queue (`lp -d`); on Windows the printer's name as Windows shows it (e.g.
    /// `Brother HL-L2375DW` or `\\server\受付`). `None` for the default destination or the
    /// Windows default printer.
    pub queue: Option<String>,
    /// How long the print command (Windows: rasterising and spooling) may run before it is
    /// stopped or given up on.
    pub timeout: Duration,
}

impl Default for Printer {
    fn default() -> Self {
        Printer {
            queue: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// What the print system said when it accepted the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJob {
    /// The CUPS request id (`Q-12`), when `lp` printed one; on Windows the printer's name and
    /// the spooler's job id (`Brother HL-L2375DW-17`).
    pub request_id: Option<String>,
}

impl Printer {
    /// The default destination.
    pub fn system_default() -> Self {
        Printer::default()
    }

    /// A named queue (`None` or an empty name = the default destination).
    pub fn with_queue(queue: Option<&str>) -> Self {
        Printer {
            queue: queue
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(str::to_string),
            ..Printer::default()
        }
    }

    /// Prints the PDF at `path` (already kept on disk). Call again with the same path to
    /// reprint. Never panics; never waits longer than [`Printer::timeout`].
    pub fn print_file(&self, path: &Path) -> Result<PrintJob, PrintError> {
        if !path.is_file() {
            return Err(PrintError::File {
                path: path.display().to_string(),
                detail: "no such file to print".into(),
            });
        }
        self.print_platform(path)
    }

    #[cfg(not(windows))]
    fn print_platform(&self, path: &Path) -> Result<PrintJob, PrintError> {
        let mut command = Command::new("lp");
        if let Some(queue) = &self.queue {
            // A queue name starting with '-' would be read as an option.
            if queue.starts_with('-') {
                return Err(PrintError::UnknownQueue {
                    queue: queue.clone(),
                    detail: "a queue name cannot start with '-'".into(),
                });
            }
            command.arg("-d").arg(queue);
        }
        // "--" so a file name starting with '-' is still a file.
        command.arg("--").arg(path).env("LC_ALL", "C");
        let out = run_with_timeout(command, self.timeout).map_err(|e| match e {
            RunError::NotFound(detail) => PrintError::NoPrintCommand(format!(
                "`lp` (CUPS client) not found on PATH: {detail}"
            )),
            RunError::Other(detail) => PrintError::PrintFailed {
                status: "not started".into(),
                detail,
            },
            RunError::Timeout => PrintError::Timeout(self.timeout),
        })?;
        if out.success {
            let request_id = out
                .stdout
                .split_once("request id is ")
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .map(str::to_string);
            return Ok(PrintJob { request_id });
        }
        Err(classify_lp_failure(self.queue.as_deref(), &out))
    }

    #[cfg(windows)]
    fn print_platform(&self, path: &Path) -> Result<PrintJob, PrintError> {
        let pdf =
            onshi_files::read_limited(path, MAX_PRINT_BYTES).map_err(|e| PrintError::File {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
        let printer = self.queue.clone();
        // The queue (visible to others on a shared printer) shows the file's name, not its
        // folder; the desk names its printouts by date and number, never by patient.
        let doc_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "onshi-desk".into());
        super::win::run_bounded(self.timeout, move || {
            super::win::gdi::print_pdf(pdf, printer, &doc_name)
        })
    }
}

/// The largest PDF sent to a Windows printer (ours are tens of kilobytes).
#[cfg(windows)]
const MAX_PRINT_BYTES: u64 = 64 * 1024 * 1024;

/// Sorts a failed `lp` run by its (C-locale) message.
#[cfg(not(windows))]
fn classify_lp_failure(queue: Option<&str>, out: &Output) -> PrintError {
    let detail = if out.stderr.trim().is_empty() {
        out.stdout.trim().to_string()
    } else {
        out.stderr.trim().to_string()
    };
    let lower = detail.to_ascii_lowercase();
    if lower.contains("no default destination") {
        return PrintError::NoDefaultPrinter(detail);
    }
    if let Some(queue) = queue {
        if lower.contains("does not exist") || lower.contains("not found") {
            return PrintError::UnknownQueue {
                queue: queue.to_string(),
                detail,
            };
        }
    }
    PrintError::PrintFailed {
        status: out.status.clone(),
        detail,
    }
}

#[cfg(not(windows))]
struct Output {
    success: bool,
    status: String,
    stdout: String,
    stderr: String,
}

#[cfg(not(windows))]
enum RunError {
    NotFound(String),
    Other(String),
    Timeout,
}

#[cfg(not(windows))]
/// Runs `command` with its output captured, killing it after `timeout`. The pipes are drained
/// on threads so a chatty child cannot block on a full pipe while we wait.
fn run_with_timeout(mut command: Command, timeout: Duration) -> Result<Output, RunError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => RunError::NotFound(e.to_string()),
        _ => RunError::Other(e.to_string()),
    })?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                // Bounded: a print command has nothing long to say.
                let _ = p.by_ref().take(64 * 1024).read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::Timeout);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                let _ = child.kill();
                return Err(RunError::Other(e.to_string()));
            }
        }
    };
    Ok(Output {
        success: status.success(),
        status: status.to_string(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(windows))]
    fn failed(stderr: &str) -> Output {
        Output {
            success: false,
            status: "exit status: 1".into(),
            stdout: String::new(),
            stderr: stderr.into(),
        }
    }

    #[test]
    #[cfg(not(windows))]
    fn lp_messages_are_classified() {
        assert_eq!(
            classify_lp_failure(None, &failed("lp: Error - No default destination.")).kind(),
            "no_default_printer"
        );
        assert_eq!(
            classify_lp_failure(
                Some("desk"),
                &failed("lp: The printer or class does not exist.")
            )
            .kind(),
            "unknown_queue"
        );
        let other = classify_lp_failure(None, &failed("lp: Unable to connect to server"));
        assert_eq!(other.kind(), "print_failed");
        assert!(other.to_string().contains("Unable to connect"));
    }

    #[test]
    fn queue_names_are_trimmed_and_empty_means_default() {
        assert_eq!(Printer::with_queue(Some("  ")).queue, None);
        assert_eq!(
            Printer::with_queue(Some(" desk ")).queue.as_deref(),
            Some("desk")
        );
    }

    #[test]
    fn keep_pdf_creates_the_folder_and_replaces_atomically() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("a/b/form.pdf");
        keep_pdf(&path, b"%PDF-1.7 one").expect("kept");
        keep_pdf(&path, b"%PDF-1.7 two").expect("kept");
        assert_eq!(std::fs::read(&path).expect("read"), b"%PDF-1.7 two");
        assert!(!dir.path().join("a/b/form.pdf.partial").exists());
    }

    #[test]
    fn printing_a_missing_file_is_a_file_error() {
        let err = Printer::default()
            .print_file(Path::new("/nonexistent/form.pdf"))
            .unwrap_err();
        assert_eq!(err.kind(), "file");
    }
}
