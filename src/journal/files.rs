//! The journal's files on disk: created owner-only and whole, checked sound before anything
//! is written, and set aside — never deleted, never overwritten — when damaged.
//!
//! # Owner-only
//!
//! The journal holds patients' names, numbers and birth dates: the folders created for it are
//! `0700` and the database `0600` on Unix. SQLite gives the `-wal` and `-shm` files the mode
//! of the database, and an existing journal left readable by others is narrowed when opened.
//!
//! # Created whole
//!
//! A new journal is built under a hidden temporary name (WAL mode, current schema) and only
//! then linked to its name, so an empty or half-made file at the journal's place is never one
//! this program left (a full disk at the first open leaves nothing behind). An existing empty
//! file is therefore damage, not a journal to start over silently.
//!
//! # Damage
//!
//! `PRAGMA quick_check` runs at every open (in `connection.rs`; about 0.5 s warm and a few
//! seconds cold for a million records; the full `integrity_check`, which also checks the
//! indexes' contents, is `onshi-desk journal check`). A damaged file is renamed
//! `<name>.damaged-YYYYMMDD-HHMMSS` (JST; `-1`, `-2`… if taken, with its `-wal` and `-shm`
//! beside it), and a note `<name>.needs-recover` left: until staff run
//! `onshi-desk journal recover` ([`super::Journal::start_anew`]), opening the journal fails
//! with [`JournalError::Damaged`], and every check tells the desk it is not recorded. Why not
//! start a fresh journal by itself: the records of the month are in the damaged file, and a
//! desk that carries on silently would make the damage visible only at the month-end claim.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use time::{OffsetDateTime, UtcOffset};

use super::connection::{self, JournalOptions};
use super::JournalError;

/// `path` with `suffix` appended to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// The note left at the journal's place when its file was set aside.
pub(crate) fn note_path(path: &Path) -> PathBuf {
    beside(path, ".needs-recover")
}

/// Everything before SQLite opens `path` for writing: the folder, a new journal when there is
/// none (unless one was set aside and staff have not started a new one), owner-only modes,
/// and the refusal of anything that is not a non-empty regular file.
pub(crate) fn prepare(path: &Path, options: &JournalOptions) -> Result<(), JournalError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        onshi_files::create_private_dir_all(dir).map_err(|e| JournalError::from_io(dir, &e))?;
    }
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(earlier) = set_aside_earlier(path) {
                return Err(JournalError::Damaged {
                    path: path.to_owned(),
                    set_aside: Some(earlier),
                    detail: "set aside earlier; `onshi-desk journal recover` starts a new journal"
                        .into(),
                });
            }
            create_fresh(path, options)?;
        }
        Err(e) => return Err(JournalError::from_io(path, &e)),
        Ok(meta) if !meta.is_file() => {
            return Err(JournalError::CannotOpen {
                path: path.to_owned(),
                detail: "not a regular file".into(),
            })
        }
        Ok(_) => {}
    }
    let file = open_existing(path)?;
    let len = file
        .metadata()
        .map_err(|e| JournalError::from_io(path, &e))?
        .len();
    narrow(&file, path)?;
    drop(file);
    narrow_side_files(path);
    if len == 0 {
        return Err(set_aside(path, "empty file (0 bytes) where a journal was"));
    }
    Ok(())
}

/// Opens an existing journal file for reading and writing, without blocking on a FIFO and
/// refusing anything but a regular file: the OS's refusal (read-only medium, permission) is
/// typed here, before SQLite would call it "unable to open".
fn open_existing(path: &Path) -> Result<std::fs::File, JournalError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC);
    }
    let file = options
        .open(path)
        .map_err(|e| JournalError::from_io(path, &e))?;
    let meta = file
        .metadata()
        .map_err(|e| JournalError::from_io(path, &e))?;
    if !meta.is_file() {
        return Err(JournalError::CannotOpen {
            path: path.to_owned(),
            detail: "not a regular file".into(),
        });
    }
    Ok(file)
}

/// Owner-only (0600) on the open handle: no window where a replaced name is changed instead.
fn narrow(file: &std::fs::File, path: &Path) -> Result<(), JournalError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file
            .metadata()
            .map_err(|e| JournalError::from_io(path, &e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| JournalError::from_io(path, &e))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (file, path);
    Ok(())
}

/// Narrows the `-wal` and `-shm` files left by an earlier version (best effort: SQLite
/// recreates them with the database's mode anyway).
pub(crate) fn narrow_side_files(path: &Path) {
    for suffix in ["-wal", "-shm"] {
        let side = beside(path, suffix);
        if std::fs::symlink_metadata(&side).is_ok_and(|m| m.is_file()) {
            if let Err(e) = onshi_files::make_private(&side) {
                tracing::warn!(file = %side.display(), error = %e, "journal file not narrowed to owner-only");
            }
        }
    }
}

/// The file named by the note of an earlier set-aside, if staff have not started anew since.
fn set_aside_earlier(path: &Path) -> Option<PathBuf> {
    let note = note_path(path);
    match onshi_files::read_limited_to_string(&note, 64 * 1024) {
        Ok(text) => Some(PathBuf::from(text.lines().next().unwrap_or_default())),
        Err(e) if e.io_kind() == Some(io::ErrorKind::NotFound) => None,
        // A note that cannot be read still says something was set aside.
        Err(_) => Some(note),
    }
}

/// Builds a new, empty journal under a temporary name and links it to `path`; a journal
/// that appeared there meanwhile (another process) is kept, not replaced.
fn create_fresh(path: &Path, options: &JournalOptions) -> Result<(), JournalError> {
    let tmp = onshi_files::temporary_name(path);
    let built = onshi_files::create_new(&tmp, onshi_files::Access::Private)
        .map_err(|e| JournalError::from_io(path, &e))
        .and_then(|file| {
            drop(file);
            connection::initialise(&tmp, options)?;
            link_new(&tmp, path)
        });
    for leftover in [beside(&tmp, "-wal"), beside(&tmp, "-shm"), tmp] {
        let _ = std::fs::remove_file(leftover);
    }
    built
}

/// Gives `from` the name `to` unless `to` exists. `Ok(())` also when another process made
/// `to` first: theirs is the journal.
fn link_new(from: &Path, to: &Path) -> Result<(), JournalError> {
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        // A file system without hard links (FAT, some network shares): rename when free.
        Err(_) if !to.exists() => {
            std::fs::rename(from, to).map_err(|e| JournalError::from_io(to, &e))
        }
        Err(_) => Ok(()),
    }
}

/// Renames the damaged journal (and its `-wal`, `-shm`) out of the way under a dated name
/// never used before, leaves the note, and returns the [`JournalError::Damaged`] to report.
/// Nothing is deleted; if the rename itself fails the file stays where it is and the error
/// says so (the journal still refuses to write into it at the next open).
pub(crate) fn set_aside(path: &Path, problem: &str) -> JournalError {
    let jst = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    let now = OffsetDateTime::now_utc().to_offset(jst);
    let stamp = format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let damaged = |set_aside: Option<PathBuf>, detail: String| JournalError::Damaged {
        path: path.to_owned(),
        set_aside,
        detail,
    };
    let mut target = None;
    for n in 0..1000 {
        let candidate = if n == 0 {
            beside(path, &format!(".damaged-{stamp}"))
        } else {
            beside(path, &format!(".damaged-{stamp}-{n}"))
        };
        match move_without_replacing(path, &candidate) {
            Ok(()) => {
                target = Some(candidate);
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return damaged(None, format!("{problem}; could not be set aside: {e}")),
        }
    }
    let Some(target) = target else {
        return damaged(None, format!("{problem}; no free name to set it aside"));
    };
    for suffix in ["-wal", "-shm"] {
        let side = beside(path, suffix);
        if side.exists() {
            if let Err(e) = move_without_replacing(&side, &beside(&target, suffix)) {
                tracing::warn!(file = %side.display(), error = %e, "journal side file not set aside");
            }
        }
    }
    let note = format!(
        "{}\n\nThe journal {} was damaged ({problem}) and set aside as the file above.\n\
         受付記録のファイルが壊れていたため、上のファイル名で保管しました。\n\
         Start a new journal with: onshi-desk journal recover\n",
        target.display(),
        path.display()
    );
    if let Err(e) = onshi_files::write_atomic(
        &note_path(path),
        note.as_bytes(),
        onshi_files::Access::Private,
    ) {
        tracing::warn!(error = %e, "journal set-aside note not written");
    }
    tracing::error!(journal = %path.display(), set_aside = %target.display(), problem, "damaged journal set aside");
    damaged(Some(target), problem.to_owned())
}

/// Moves `from` to `to`, failing with `AlreadyExists` rather than replacing anything at `to`.
fn move_without_replacing(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) => std::fs::remove_file(from),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(e) => {
            if to.exists() {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, e));
            }
            std::fs::rename(from, to)
        }
    }
}

/// Starts a new, empty journal at `path` after a damaged one was set aside (or sets a
/// damaged one aside first). A sound journal is never replaced: [`JournalError::Invalid`].
pub(crate) fn start_anew(path: &Path, options: &JournalOptions) -> Result<(), JournalError> {
    if std::fs::symlink_metadata(path).is_ok() {
        match super::Journal::open_with(path, options.clone()) {
            Ok(_) => {
                return Err(JournalError::Invalid(format!(
                    "{} is sound: nothing to start anew",
                    path.display()
                )))
            }
            // Set aside just now: go on.
            Err(JournalError::Damaged {
                set_aside: Some(_), ..
            }) => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        onshi_files::create_private_dir_all(dir).map_err(|e| JournalError::from_io(dir, &e))?;
    }
    create_fresh(path, options)?;
    match std::fs::remove_file(note_path(path)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(JournalError::from_io(&note_path(path), &e))
        }
        _ => Ok(()),
    }
}

/// The files set aside beside `path` (`<name>.damaged-…`, not their `-wal`/`-shm`), oldest
/// name first.
pub fn set_aside_files(path: &Path) -> Vec<PathBuf> {
    let prefix = format!(
        "{}.damaged-",
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_owned(),
        None => PathBuf::from("."),
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with(&prefix) && !n.ends_with("-wal") && !n.ends_with("-shm")
            })
        })
        .collect();
    found.sort();
    found
}
