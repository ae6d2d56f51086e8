//! Where the program's log goes, and (on Windows) the console window of the desk.
//!
//! `onshi-desk.exe` is one program for the desk window and for the command line, so it is built
//! as a console program: from a command prompt or a script, its output and exit code work as
//! they do on Linux. Started from the Start menu or Explorer, though, Windows opens a console
//! window for it alone: an empty black window behind the desk, which a clerk may close —
//! closing it ends the desk. So the desk window, when it finds itself the only process on its
//! console, detaches from it (the window closes) and writes its log to a file instead:
//! `%LOCALAPPDATA%\onshi-desk\logs\onshi-desk.log`, where the clinic's IT person finds it.
//! Everywhere else (Linux, the command line, a console shared with a prompt) the log goes to
//! standard error as before.

use std::path::PathBuf;

/// Where log lines go.
pub(crate) enum LogTarget {
    Stderr,
    /// A file (the desk window started on Windows without a console of its own).
    File(PathBuf),
}

/// Largest log file before it is moved to `onshi-desk.log.old` at the next start.
#[cfg_attr(not(windows), allow(dead_code))]
const MAX_LOG_BYTES: u64 = 10 * 1024 * 1024;

/// Decides where the log goes for a run; `desk_window` is true when the desk window (no
/// command) is about to open. On Windows this may detach the process from its console.
pub(crate) fn log_target(desk_window: bool) -> LogTarget {
    if desk_window && detach_own_console() {
        if let Some(dir) = dirs::data_local_dir().map(|d| d.join("onshi-desk").join("logs")) {
            return LogTarget::File(dir.join("onshi-desk.log"));
        }
    }
    LogTarget::Stderr
}

/// Opens the log file for appending, moving a file over [`MAX_LOG_BYTES`] aside first (one
/// old file is kept). `None` when it cannot be opened: the log is then dropped, never the desk.
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) fn open_log_file(path: &std::path::Path) -> Option<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ok()?;
    }
    if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_LOG_BYTES) {
        let _ = std::fs::rename(path, path.with_extension("log.old"));
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ok()
}

/// True when this process had a console window of its own and has now left it.
#[cfg(windows)]
fn detach_own_console() -> bool {
    use windows_sys::Win32::System::Console::{FreeConsole, GetConsoleProcessList};
    let mut pids = [0u32; 2];
    // SAFETY: the buffer is valid for its length; the call writes at most that many ids.
    let attached = unsafe { GetConsoleProcessList(pids.as_mut_ptr(), pids.len() as u32) };
    // 0: no console at all (nothing to hide); 2 or more: a prompt or script shares it.
    if attached != 1 {
        return false;
    }
    // SAFETY: no arguments; leaving the console only closes handles this process holds.
    unsafe { FreeConsole() != 0 }
}

#[cfg(not(windows))]
fn detach_own_console() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_and_linux_log_to_stderr() {
        assert!(matches!(log_target(false), LogTarget::Stderr));
        #[cfg(not(windows))]
        assert!(matches!(log_target(true), LogTarget::Stderr));
    }

    #[test]
    fn a_log_file_over_its_size_is_moved_aside() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("logs").join("onshi-desk.log");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
        std::fs::write(&path, vec![b'x'; MAX_LOG_BYTES as usize + 1]).expect("big");
        let file = open_log_file(&path);
        assert!(file.is_some());
        assert_eq!(std::fs::metadata(&path).expect("new").len(), 0);
        assert!(path.with_extension("log.old").is_file());
    }
}
