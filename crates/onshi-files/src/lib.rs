//! Reading and writing files that matter: the configuration and its keys, patient printouts,
//! the journal, the test PKI.
//!
//! Why a crate of its own: both the desk (`onshi-desk`) and its test doubles (`onshi-mock`,
//! which writes the test PKI's private keys) need the same rules, and the mock must not depend
//! on the desk. The rules:
//!
//! - **Reads are bounded and only of regular files.** A path in a configuration that names
//!   `/dev/zero`, `/dev/urandom` or a FIFO must not make the desk allocate gigabytes or wait
//!   forever: [`read_limited`] opens without blocking, checks the opened handle is a regular
//!   file and reads at most `limit` bytes.
//! - **Writes are atomic and owner-only.** A receipt computer or a printer spooler polling a
//!   folder must never see half a file, and a planted link must never redirect a write:
//!   [`write_atomic`] creates a fresh temporary file exclusively (`O_CREAT|O_EXCL`, no link
//!   followed), writes, `fsync`s, renames over the target and `fsync`s the folder. On Unix the
//!   file is created `0600` ([`Access::Private`]) and folders made by [`create_private_dir_all`]
//!   `0700`: private keys, patient names and the journal are readable by the desk's user only.
//!   On Windows, files under the user's profile inherit its owner-only ACL.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A device, FIFO, socket or folder where a file was expected.
    #[error("{path}: not a regular file")]
    NotRegular { path: PathBuf },
    /// More than the limit for this kind of file.
    #[error("{path}: larger than the {limit}-byte limit for this file")]
    TooLarge { path: PathBuf, limit: u64 },
    /// The operating system refused (missing, permission, I/O).
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl ReadError {
    /// As an I/O error without the path, for callers whose own error names the file:
    /// "not a regular file", "larger than the limit", or the operating system's error.
    pub fn into_io_error(self) -> io::Error {
        match self {
            ReadError::Io { source, .. } => source,
            ReadError::NotRegular { .. } => io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file (a device, FIFO, socket or folder)",
            ),
            ReadError::TooLarge { limit, .. } => io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than the {limit}-byte limit for this file"),
            ),
        }
    }

    /// The underlying I/O error kind, for callers that word "not found" differently.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            ReadError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

/// Reads a regular file of at most `limit` bytes.
///
/// Links are followed (a configuration may point at a linked certificate), but what is finally
/// opened must be a regular file; the open itself never blocks (a FIFO is refused, not waited
/// on) and no more than `limit + 1` bytes are ever read, whatever the file claims its size is.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = open_for_reading(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

/// [`read_limited`], as UTF-8 text.
pub fn read_limited_to_string(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_limited(path, limit)?;
    String::from_utf8(bytes).map_err(|e| ReadError::Io {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    })
}

#[cfg(unix)]
fn open_for_reading(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
    // It changes nothing for a regular file, the only kind we go on to read.
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_for_reading(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Who may read a file written by [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The desk's user only (0600 on Unix): keys, patient data, the journal.
    Private,
    /// Also others, as the umask allows (0644 usually): files meant for other programs
    /// running as another user, such as public certificates.
    Shared,
}

#[cfg(unix)]
fn mode_of(access: Access) -> u32 {
    match access {
        Access::Private => 0o600,
        Access::Shared => 0o644,
    }
}

/// Creates `path` exclusively for writing: fails if anything (a file, a link) is already
/// there, so no planted link is ever followed. Owner-only with [`Access::Private`].
pub fn create_new(path: &Path, access: Access) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(mode_of(access))
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    }
    #[cfg(not(unix))]
    let _ = access;
    options.open(path)
}

/// Writes `bytes` to `path` atomically: a reader sees the old file or the whole new one.
///
/// The temporary file is a fresh name beside the target (same folder, so the rename stays on
/// one file system), created with [`create_new`]; it is `fsync`ed before the rename and the
/// folder after it, so a power cut leaves either the old file or the new one. On failure the
/// temporary file is removed and the target is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    write_atomic_with(path, access, |f| f.write_all(bytes))
}

/// [`write_atomic`] with the content produced by `write` into the temporary file.
pub fn write_atomic_with(
    path: &Path,
    access: Access,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let (tmp, mut file) = create_temporary_beside(path, access)?;
    let result = write(&mut file)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp, path)
        });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_parent(path);
    Ok(())
}

/// The temporary file's name: hidden, beside the target, unique to this process and call,
/// ending in `.partial` so a folder watcher can tell it is not a finished file.
pub fn temporary_name(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}-{n}.partial", std::process::id()))
}

fn create_temporary_beside(path: &Path, access: Access) -> io::Result<(PathBuf, File)> {
    // A name can only be taken if a stale or planted file sits there: try a few others.
    let mut last = None;
    for _ in 0..16 {
        let tmp = temporary_name(path);
        match create_new(&tmp, access) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

#[cfg(unix)]
fn sync_parent(path: &Path) {
    // Makes the rename itself durable. Best effort: some file systems (SMB) refuse it.
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(parent) {
        let _ = dir.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_parent(_path: &Path) {}

/// Creates a folder and its missing parents; those it creates are owner-only (0700) on Unix.
/// Folders that already exist keep their permissions (a shared printout folder stays shared).
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Narrows an existing file to owner-only (0600) on Unix; nothing elsewhere.
pub fn make_private(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_file_and_refuses_a_large_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.pem");
        std::fs::write(&p, b"12345").expect("write");
        assert_eq!(read_limited(&p, 5).expect("read"), b"12345");
        assert!(matches!(
            read_limited(&p, 4),
            Err(ReadError::TooLarge { limit: 4, .. })
        ));
    }

    #[test]
    fn missing_file_is_an_io_error_with_its_kind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = read_limited(&dir.path().join("none"), 10).expect_err("missing");
        assert_eq!(e.io_kind(), Some(io::ErrorKind::NotFound));
    }

    #[test]
    fn a_folder_is_not_a_regular_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            read_limited(dir.path(), 10),
            Err(ReadError::NotRegular { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_refused_without_reading_them() {
        for dev in ["/dev/zero", "/dev/urandom", "/dev/null"] {
            assert!(
                matches!(
                    read_limited(Path::new(dev), 1 << 20),
                    Err(ReadError::NotRegular { .. })
                ),
                "{dev}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_writer_is_refused_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("fifo");
        let c = std::ffi::CString::new(p.to_str().expect("utf-8")).expect("cstring");
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system entry.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_limited(&p, 100),
            Err(ReadError::NotRegular { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_is_private_and_leaves_no_temporary() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("key.pem");
        write_atomic(&p, b"secret", Access::Private).expect("write");
        assert_eq!(std::fs::read(&p).expect("read"), b"secret");
        let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        write_atomic(&p, b"again", Access::Private).expect("overwrite");
        assert_eq!(std::fs::read(&p).expect("read"), b"again");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("key.pem")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_link_is_never_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").expect("write");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        assert_eq!(
            create_new(&link, Access::Private)
                .expect_err("must not open through a link")
                .kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(std::fs::read(&victim).expect("read"), b"keep");
    }

    #[cfg(unix)]
    #[test]
    fn private_folders_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a/b");
        create_private_dir_all(&p).expect("mkdir");
        for d in [dir.path().join("a"), p] {
            let mode = std::fs::metadata(&d).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", d.display());
        }
    }
}
