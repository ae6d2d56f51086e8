//! Opening the journal's SQLite connections, in one place: the open flags, the busy timeout,
//! WAL with `synchronous = FULL`, the soundness check and the schema migration for the writer,
//! read-only for readers; and the typing of SQLite failures with the OS reason behind them.
//!
//! Why one module: the writer, the readers and `journal recover` must open the file the same
//! way (a reader opened without the busy timeout, or a writer without `synchronous = FULL`,
//! would silently weaken what the journal promises).

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{schema, JournalError};

/// How to open the journal. `Default` is what the desk uses.
#[derive(Clone, Debug)]
pub struct JournalOptions {
    /// How long a write waits for another process holding the file (e.g. a CLI purge).
    pub busy_timeout: Duration,
    /// Test hook: caps the file at this many pages (`PRAGMA max_page_count`) to simulate a
    /// full disk.
    #[doc(hidden)]
    pub max_page_count: Option<u32>,
    /// Test hook: refuses every write (`PRAGMA query_only`), like a read-only medium.
    #[doc(hidden)]
    pub query_only: bool,
    /// The facility's shared journal the writer forwards to (`[journal] url`), if any.
    pub shared: Option<crate::config::SharedJournalConfig>,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions {
            busy_timeout: Duration::from_secs(5),
            max_page_count: None,
            query_only: false,
            shared: None,
        }
    }
}

pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Opens a connection with the journal's settings.
pub(crate) fn connect(
    path: &Path,
    flags: OpenFlags,
    options: &JournalOptions,
) -> Result<Connection, JournalError> {
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| match JournalError::from(e) {
            JournalError::Other(detail) => JournalError::CannotOpen {
                path: path.to_owned(),
                detail,
            },
            other => other,
        })?;
    conn.busy_timeout(options.busy_timeout)
        .map_err(|e| sqlite_error(&conn, e))?;
    Ok(conn)
}

/// The operating system's error behind the connection's last failure, if SQLite kept one.
fn os_error(conn: &Connection) -> Option<std::io::Error> {
    // SAFETY: `handle` is the live connection's own pointer, used for one read-only call on
    // this thread while `conn` is borrowed; it is neither stored nor closed here.
    let errno = unsafe { rusqlite::ffi::sqlite3_system_errno(conn.handle()) };
    (errno != 0).then(|| std::io::Error::from_raw_os_error(errno))
}

/// A SQLite failure on `conn`, typed with the OS reason behind it (see
/// [`JournalError::from_sqlite`]).
pub(crate) fn sqlite_error(conn: &Connection, e: rusqlite::Error) -> JournalError {
    JournalError::from_sqlite(e, os_error(conn))
}

/// A failure from a job: an I/O error is retyped with the OS reason the connection kept, so
/// a full disk met while growing the WAL says "full", not "I/O error".
pub(crate) fn refine(conn: &Connection, e: JournalError) -> JournalError {
    match e {
        JournalError::Io(detail) => match os_error(conn) {
            Some(os) => match JournalError::from_io(Path::new(""), &os) {
                JournalError::CannotOpen { .. } => JournalError::Io(detail),
                typed => retitle(typed, format!("{detail} ({os})")),
            },
            None => JournalError::Io(detail),
        },
        other => other,
    }
}

/// `typed` with `detail` as its English detail.
fn retitle(typed: JournalError, detail: String) -> JournalError {
    match typed {
        JournalError::Full(_) => JournalError::Full(detail),
        JournalError::ReadOnly(_) => JournalError::ReadOnly(detail),
        JournalError::PermissionDenied(_) => JournalError::PermissionDenied(detail),
        JournalError::Io(_) => JournalError::Io(detail),
        other => other,
    }
}

/// Journal mode WAL and `synchronous = FULL` on a fresh connection (see the module
/// documentation of [`super`] for why).
pub(crate) fn configure(conn: &Connection) -> Result<(), JournalError> {
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| sqlite_error(conn, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(JournalError::Other(format!(
            "journal_mode is {mode}, WAL refused"
        )));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(|e| sqlite_error(conn, e))
}

/// What opening the writer's connection found.
pub(crate) enum Opened {
    /// Sound, in WAL with `synchronous = FULL`, migrated: ready for the writer.
    Sound(Connection),
    /// `PRAGMA quick_check` found damage (what it said). The connection was closed without
    /// a checkpoint: not one page more went into the file.
    Damaged(String),
}

/// The writer's connection to a file already prepared (`files.rs`): checks it is sound
/// (`PRAGMA quick_check`), sets WAL and `synchronous = FULL`, migrates the schema and applies
/// the test hooks.
pub(crate) fn open_writer(path: &Path, options: &JournalOptions) -> Result<Opened, JournalError> {
    let mut conn = connect(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        options,
    )?;
    if let Some(problem) = quick_check(&conn)? {
        // Not one page more goes into the damaged file, not even a checkpoint.
        let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true);
        drop(conn);
        return Ok(Opened::Damaged(problem));
    }
    configure(&conn)?;
    schema::migrate(&mut conn).map_err(|e| refine(&conn, e))?;
    if let Some(pages) = options.max_page_count {
        let _: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
            r.get(0)
        })?;
    }
    if options.query_only {
        conn.execute_batch("PRAGMA query_only = 1")?;
    }
    Ok(Opened::Sound(conn))
}

/// The most of `quick_check`'s findings kept in the error's detail.
const MAX_PROBLEM_CHARS: usize = 400;

/// `PRAGMA quick_check` on `conn`: `Some(what is wrong)` when the file is damaged (or not a
/// database at all), `None` when sound; an `Err` is a failure to check (busy, I/O), which is
/// not taken for damage.
pub(crate) fn quick_check(conn: &Connection) -> Result<Option<String>, JournalError> {
    let lines = conn.prepare("PRAGMA quick_check").and_then(|mut stmt| {
        stmt.query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()
    });
    match lines {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Ok(None),
        Ok(lines) => Ok(Some(
            lines
                .join("\n")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
                .chars()
                .take(MAX_PROBLEM_CHARS)
                .collect(),
        )),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
            ) =>
        {
            Ok(Some(e.to_string()))
        }
        Err(e) => Err(sqlite_error(conn, e)),
    }
}

/// A read-only connection to an existing journal, for queries and reports.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, JournalError> {
    connect(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        &JournalOptions::default(),
    )
}

/// A new, empty journal at `path` (an empty file just created): WAL, the schema, closed
/// cleanly so the file is whole before it is given its name.
pub(crate) fn initialise(path: &Path, options: &JournalOptions) -> Result<(), JournalError> {
    let mut conn = connect(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        options,
    )?;
    configure(&conn)?;
    schema::migrate(&mut conn).map_err(|e| refine(&conn, e))?;
    conn.close().map_err(|(conn, e)| sqlite_error(&conn, e))
}
