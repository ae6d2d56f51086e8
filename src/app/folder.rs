//! Opening a folder in the OS's file manager, so a clerk reaches a kept printout (the PDF of
//! a declaration that did not print) by a tap instead of a path to copy.
//!
//! The file manager is started and left to run: `xdg-open` on Linux, `explorer` on Windows,
//! `open` on macOS. It runs on a worker thread (never the UI's). On Linux and macOS the
//! opener exits at once after handing the folder over, so its exit status says whether it
//! worked; `explorer` exits with 1 even when it opened the window, so on Windows only a
//! failure to start counts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The program that opens a folder on this OS.
pub fn default_opener() -> PathBuf {
    if cfg!(windows) {
        PathBuf::from("explorer")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("open")
    } else {
        PathBuf::from("xdg-open")
    }
}

/// How long the opener may take to hand the folder over before it is left running and taken
/// as done (a file manager started in the foreground).
const HANDOVER: Duration = Duration::from_secs(5);

/// Opens `dir` with `opener`; `Err` is the desk message, in Japanese, why not.
pub fn open_folder(opener: &Path, dir: &Path) -> Result<(), String> {
    let cannot = "フォルダを開けませんでした。ファイルマネージャーを起動できません。";
    if !dir.is_dir() {
        tracing::warn!(dir = %dir.display(), "folder to open does not exist");
        return Err("フォルダが見つかりません。".to_owned());
    }
    let mut child = match Command::new(opener)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            tracing::warn!(opener = %opener.display(), error = %e, "cannot start the file manager");
            return Err(cannot.to_owned());
        }
    };
    if cfg!(windows) {
        // explorer's exit status means nothing; reap it off the worker.
        std::thread::spawn(move || child.wait());
        return Ok(());
    }
    let deadline = Instant::now() + HANDOVER;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                tracing::warn!(opener = %opener.display(), %status, "the file manager failed");
                return Err(cannot.to_owned());
            }
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(None) => {
                // Still running: a file manager in the foreground. Reap it when it ends.
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(opener = %opener.display(), error = %e, "file manager status unknown");
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn an_opener_that_fails_or_is_missing_is_said_in_japanese() {
        let dir = tempfile::tempdir().expect("tmp");
        assert_eq!(open_folder(Path::new("true"), dir.path()), Ok(()));
        let failed = open_folder(Path::new("false"), dir.path()).expect_err("fails");
        assert!(failed.contains("フォルダを開けませんでした"), "{failed}");
        let missing = open_folder(Path::new("/nonexistent/xdg-open"), dir.path());
        assert!(missing.is_err());
        let gone = open_folder(Path::new("true"), &dir.path().join("gone"));
        assert_eq!(gone, Err("フォルダが見つかりません。".to_owned()));
    }
}
