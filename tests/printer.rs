//! Printing through a stub `lp` placed first on PATH: the arguments it gets, and the errors
//! when `lp` is missing or fails. The stub records its arguments in a file and answers like
//! CUPS; no real printer or cupsd is involved.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use onshi_desk::print::{keep_pdf, PrintError, Printer};

/// PATH is process-wide: the tests that change it take turns.
static PATH_LOCK: Mutex<()> = Mutex::new(());

/// A bin folder holding an `lp` script with `body`, and a file the script records into.
fn stub_lp(dir: &Path, body: &str) -> (PathBuf, PathBuf) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let record = dir.join("lp-args");
    let script = format!(
        "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\necho \"LC_ALL=$LC_ALL\" >> '{}'\n{body}\n",
        record.display(),
        record.display()
    );
    let lp = bin.join("lp");
    std::fs::write(&lp, script).unwrap();
    std::fs::set_permissions(&lp, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, record)
}

/// Runs `f` with PATH set to `path` only, then restores it.
fn with_path<T>(path: &Path, f: impl FnOnce() -> T) -> T {
    let _guard = PATH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let old = std::env::var_os("PATH");
    // SAFETY: PATH_LOCK serialises every test in this file that reads or writes PATH.
    unsafe { std::env::set_var("PATH", path) };
    let result = f();
    match old {
        Some(old) => unsafe { std::env::set_var("PATH", old) },
        None => unsafe { std::env::remove_var("PATH") },
    }
    result
}

fn kept_pdf(dir: &Path) -> PathBuf {
    let path = dir.join("printouts/申立書 2026-11-22.pdf");
    keep_pdf(&path, b"%PDF-1.7\n%stub\n").unwrap();
    path
}

#[test]
fn lp_gets_the_queue_and_the_file_and_reprint_sends_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let (bin, record) = stub_lp(dir.path(), "echo 'request id is desk-42 (1 file(s))'");
    let pdf = kept_pdf(dir.path());
    let printer = Printer::with_queue(Some("reception"));
    let job = with_path(&bin, || printer.print_file(&pdf)).unwrap();
    assert_eq!(job.request_id.as_deref(), Some("desk-42"));
    let args = std::fs::read_to_string(&record).unwrap();
    let expected = format!("-d\nreception\n--\n{}\nLC_ALL=C\n", pdf.display());
    assert_eq!(args, expected);

    std::fs::remove_file(&record).unwrap();
    with_path(&bin, || printer.print_file(&pdf)).unwrap();
    assert_eq!(std::fs::read_to_string(&record).unwrap(), expected);
}

#[test]
fn no_queue_means_the_default_destination() {
    let dir = tempfile::tempdir().unwrap();
    let (bin, record) = stub_lp(dir.path(), "exit 0");
    let pdf = kept_pdf(dir.path());
    let job = with_path(&bin, || Printer::system_default().print_file(&pdf)).unwrap();
    assert_eq!(job.request_id, None);
    let args = std::fs::read_to_string(&record).unwrap();
    assert_eq!(args, format!("--\n{}\nLC_ALL=C\n", pdf.display()));
}

#[test]
fn no_lp_installed_is_its_own_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let pdf = kept_pdf(dir.path());
    let err = with_path(&empty, || Printer::system_default().print_file(&pdf)).unwrap_err();
    assert!(matches!(err, PrintError::NoPrintCommand(_)), "{err:?}");
    assert!(err.to_string().contains("`lp`"), "{err}");
    assert!(err.desk_message().contains("PDFは保存済み"));
    assert!(pdf.exists(), "the kept PDF survives a failed print");
}

#[test]
fn lp_failing_gives_its_stderr_in_the_detail() {
    let dir = tempfile::tempdir().unwrap();
    let (bin, _) = stub_lp(
        dir.path(),
        "echo 'lp: Unable to connect to server' >&2; exit 3",
    );
    let pdf = kept_pdf(dir.path());
    let err = with_path(&bin, || Printer::system_default().print_file(&pdf)).unwrap_err();
    match &err {
        PrintError::PrintFailed { status, detail } => {
            assert!(status.contains('3'), "{status}");
            assert_eq!(detail, "lp: Unable to connect to server");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.desk_message().contains("再印刷"));
}

#[test]
fn cups_messages_become_no_default_and_unknown_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (bin, _) = stub_lp(
        dir.path(),
        "case \"$1\" in -d) echo 'lp: The printer or class does not exist.' >&2;; \
         *) echo 'lp: Error - No default destination.' >&2;; esac; exit 1",
    );
    let pdf = kept_pdf(dir.path());
    let err = with_path(&bin, || Printer::system_default().print_file(&pdf)).unwrap_err();
    assert_eq!(err.kind(), "no_default_printer", "{err:?}");
    let err = with_path(&bin, || Printer::with_queue(Some("nope")).print_file(&pdf)).unwrap_err();
    assert!(
        matches!(&err, PrintError::UnknownQueue { queue, .. } if queue == "nope"),
        "{err:?}"
    );
}

#[test]
fn a_hanging_lp_is_stopped_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (bin, _) = stub_lp(dir.path(), "exec sleep 30");
    let pdf = kept_pdf(dir.path());
    let printer = Printer {
        queue: None,
        timeout: Duration::from_millis(300),
    };
    let started = std::time::Instant::now();
    // The stub calls `sleep` from the system: give it the real PATH after our bin.
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let err = with_path(Path::new(&path), || printer.print_file(&pdf)).unwrap_err();
    assert_eq!(err, PrintError::Timeout(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(5));
}
