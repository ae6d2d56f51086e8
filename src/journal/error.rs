//! What can go wrong with the journal, told to the desk in Japanese and logged in English.
//!
//! One place maps SQLite's result codes and the operating system's errors to a
//! [`JournalError`] ([`JournalError::from_sqlite`], [`JournalError::from_io`]): a read-only
//! medium, a full disk, a refused permission, a damaged file and a failing disk each get their
//! own variant, so the desk is told **that the check is not recorded and why**, not a generic
//! "error" that leaves staff guessing whether the record exists.

use std::io;
use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// A journal failure. When [`super::Journal::record`] returns one, the check is **not** on
/// disk: the desk must not say it was recorded.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLITE_FULL or an I/O error writing: the disk (or the database's size limit) is full.
    #[error("journal full: {0}")]
    Full(String),
    /// The file or its folder cannot be written: a read-only medium or mount.
    #[error("journal is read-only: {0}")]
    ReadOnly(String),
    /// The operating system refused access to the file or its folder (owner, mode, ACL,
    /// security module).
    #[error("journal permission denied: {0}")]
    PermissionDenied(String),
    /// The disk failed a read or write (SQLITE_IOERR not explained by a full disk or a
    /// read-only medium).
    #[error("journal disk I/O error: {0}")]
    Io(String),
    /// Damage found while working (SQLITE_CORRUPT / SQLITE_NOTADB after the open-time check).
    #[error("journal is corrupt: {0}")]
    Corrupt(String),
    /// Damage found when the journal was opened: the file failed the integrity check (or is
    /// empty) and was set aside under `set_aside` (never deleted, never written to); or it
    /// was set aside earlier and staff have not yet started a new journal
    /// (`onshi-desk journal recover`). Nothing is recorded until then.
    #[error("journal {path} is damaged ({detail}); set aside as {}", set_aside.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "-".into()))]
    Damaged {
        path: PathBuf,
        set_aside: Option<PathBuf>,
        detail: String,
    },
    /// Another process kept the file locked beyond the busy timeout.
    #[error("journal busy: {0}")]
    Busy(String),
    /// The file cannot be opened or created.
    #[error("cannot open the journal {path}: {detail}")]
    CannotOpen { path: PathBuf, detail: String },
    /// The file was written by a newer onshi-desk.
    #[error("journal schema version {found} is newer than this program's {supported}")]
    TooNew { found: i64, supported: i64 },
    /// The writer thread is gone (it stopped after a panic or the journal was closed).
    #[error("journal writer stopped")]
    WriterGone,
    /// No record with this id.
    #[error("no check {0}")]
    NotFound(i64),
    /// The check is not waiting for anything (neither queued, in conflict nor left
    /// unfinished): nothing to close.
    #[error("check {0} is neither queued, in conflict nor abandoned")]
    NotOpen(i64),
    /// The request itself is unusable (e.g. a search text too long).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The facility's shared journal (PostgreSQL) cannot be reached or refused the login. The
    /// desk's own journal still records: this is said, not a check lost.
    #[error("shared journal unavailable: {0}")]
    SharedUnavailable(String),
    /// The shared journal already holds another check under this desk's id and number: two
    /// desk files forward as one desk (a replaced PC or a restored backup kept the old
    /// `desk_id`). Nothing is overwritten; this desk keeps its records and stops forwarding
    /// until staff give it a `desk_id` of its own.
    #[error("shared journal holds another check as desk {desk:?} number {id}: two desk files share one desk_id")]
    SharedIdClash { desk: String, id: i64 },
    /// Any other SQLite or I/O error.
    #[error("journal error: {0}")]
    Other(String),
}

impl JournalError {
    /// A short machine-readable kind, for `--json` and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            JournalError::Full(_) => "journal_full",
            JournalError::ReadOnly(_) => "journal_read_only",
            JournalError::PermissionDenied(_) => "journal_permission",
            JournalError::Io(_) => "journal_io",
            JournalError::Corrupt(_) => "journal_corrupt",
            JournalError::Damaged { .. } => "journal_damaged",
            JournalError::Busy(_) => "journal_busy",
            JournalError::CannotOpen { .. } => "journal_cannot_open",
            JournalError::TooNew { .. } => "journal_too_new",
            JournalError::WriterGone => "journal_writer_gone",
            JournalError::NotFound(_) => "not_found",
            JournalError::NotOpen(_) => "not_open",
            JournalError::Invalid(_) => "invalid_input",
            JournalError::SharedUnavailable(_) => "journal_shared_unavailable",
            JournalError::SharedIdClash { .. } => "journal_shared_id_clash",
            JournalError::Other(_) => "journal_error",
        }
    }

    /// What the desk is told, in Japanese.
    pub fn desk_message(&self) -> String {
        match self {
            JournalError::Full(_) => "ディスクの空きがないため受付記録を保存できませんでした。この確認は記録されていません。システム担当者に連絡し、紙に控えてください。".into(),
            JournalError::ReadOnly(_) => "受付記録のファイルに書き込めません(読み取り専用)。この確認は記録されていません。システム担当者に連絡し、紙に控えてください。".into(),
            JournalError::PermissionDenied(_) => "受付記録のファイルに書き込む権限がありません。この確認は記録されていません。システム担当者に連絡し、紙に控えてください。".into(),
            JournalError::Io(_) => "ディスクの読み書きに失敗したため受付記録を保存できませんでした。この確認は記録されていません。システム担当者に連絡し、紙に控えてください。".into(),
            JournalError::Corrupt(_) => "受付記録のファイルが壊れています。この確認は記録されていません。システム担当者に連絡してください。".into(),
            JournalError::Damaged { set_aside, .. } => format!(
                "受付記録のファイルが壊れています。この確認は記録されていません。{}システム担当者に連絡し、確認結果は紙に控えてください。新しい受付記録は担当者が「onshi-desk journal recover」で開始します。",
                set_aside
                    .as_ref()
                    .map(|p| format!("壊れたファイルは消さずに {} として保管しました。", p.display()))
                    .unwrap_or_default()
            ),
            JournalError::Busy(_) => "受付記録が他の処理で使用中のため保存できませんでした。もう一度お試しください。".into(),
            JournalError::CannotOpen { path, .. } => format!(
                "受付記録のファイルを開けません({})。この確認は記録されていません。システム担当者に連絡し、紙に控えてください。",
                path.display()
            ),
            JournalError::TooNew { .. } => "受付記録は新しいバージョンのソフトで作成されています。ソフトを更新してください。".into(),
            JournalError::WriterGone => "受付記録の保存処理が停止しています。アプリを再起動してください。この確認は記録されていません。".into(),
            JournalError::NotFound(id) => format!("受付記録 {id} はありません。"),
            JournalError::NotOpen(id) => format!("受付記録 {id} は事後確認待ち・要確認・中断のいずれでもないため、対応済みにできません。"),
            JournalError::Invalid(_) => "検索・入力の内容が正しくありません。".into(),
            JournalError::SharedUnavailable(_) => "共有の受付記録(データベース)に接続できません。ネットワークとデータベースの状態をシステム担当者に確認してください。".into(),
            JournalError::SharedIdClash { desk, .. } => format!("共有の受付記録に、この端末と同じ端末名({desk})の別の記録があります。この端末の記録は残っていますが共有されません。システム担当者に端末名(desk_id)の変更を依頼してください。"),
            JournalError::Other(_) => "受付記録の処理でエラーが発生しました。確認の途中であれば、この確認は記録されていません。システム担当者に連絡してください。".into(),
        }
    }
}

impl JournalError {
    /// The one mapping of a SQLite failure. `os` is the operating system's error behind it
    /// when the connection knows one (`sqlite3_system_errno`): SQLite reports a full disk met
    /// while growing the WAL index, or a read-only medium met while opening, only as a generic
    /// I/O or open error, and the errno tells which.
    pub fn from_sqlite(e: rusqlite::Error, os: Option<io::Error>) -> JournalError {
        let detail = match &os {
            Some(os) => format!("{e} ({os})"),
            None => e.to_string(),
        };
        let code = e.sqlite_error_code();
        // Whatever SQLite called it, a known OS reason says it best.
        if matches!(
            code,
            Some(ErrorCode::SystemIoFailure | ErrorCode::CannotOpen | ErrorCode::ReadOnly)
        ) {
            if let Some(typed) = os.as_ref().and_then(|os| by_os_kind(os, &detail)) {
                return typed;
            }
        }
        match code {
            Some(ErrorCode::DiskFull) => JournalError::Full(detail),
            Some(ErrorCode::ReadOnly) => JournalError::ReadOnly(detail),
            Some(ErrorCode::PermissionDenied) => JournalError::PermissionDenied(detail),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                JournalError::Corrupt(detail)
            }
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => JournalError::Busy(detail),
            Some(ErrorCode::SystemIoFailure) => JournalError::Io(detail),
            _ => JournalError::Other(detail),
        }
    }

    /// The one mapping of an operating-system error met on the journal's file or folder.
    pub fn from_io(path: &Path, e: &io::Error) -> JournalError {
        let detail = format!("{}: {e}", path.display());
        by_os_kind(e, &detail).unwrap_or(JournalError::CannotOpen {
            path: path.to_owned(),
            detail: e.to_string(),
        })
    }
}

/// The variants an OS error kind decides; `None` for the others.
fn by_os_kind(e: &io::Error, detail: &str) -> Option<JournalError> {
    Some(match e.kind() {
        io::ErrorKind::ReadOnlyFilesystem => JournalError::ReadOnly(detail.to_owned()),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            JournalError::Full(detail.to_owned())
        }
        io::ErrorKind::PermissionDenied => JournalError::PermissionDenied(detail.to_owned()),
        _ if is_disk_failure(e) => JournalError::Io(detail.to_owned()),
        _ => return None,
    })
}

/// EIO: the disk itself failed.
#[cfg(unix)]
fn is_disk_failure(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EIO)
}

#[cfg(not(unix))]
fn is_disk_failure(_e: &io::Error) -> bool {
    false
}

impl From<rusqlite::Error> for JournalError {
    fn from(e: rusqlite::Error) -> Self {
        JournalError::from_sqlite(e, None)
    }
}

impl From<serde_json::Error> for JournalError {
    fn from(e: serde_json::Error) -> Self {
        JournalError::Other(format!("JSON: {e}"))
    }
}
