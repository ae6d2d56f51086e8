//! What can go wrong with the journal, told to the desk in Japanese and logged in English.

use std::path::PathBuf;

use rusqlite::ErrorCode;

/// A journal failure. When [`super::Journal::record`] returns one, the check is **not** on
/// disk: the desk must not say it was recorded.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLITE_FULL or an I/O error writing: the disk (or the database's size limit) is full.
    #[error("journal full: {0}")]
    Full(String),
    /// The file or its folder cannot be written.
    #[error("journal is read-only: {0}")]
    ReadOnly(String),
    /// The file is damaged or not a journal.
    #[error("journal is corrupt: {0}")]
    Corrupt(String),
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
    /// The check is not waiting for anything (neither queued nor in conflict): nothing to
    /// close.
    #[error("check {0} is neither queued nor in conflict")]
    NotOpen(i64),
    /// The request itself is unusable (e.g. a search text too long).
    #[error("invalid request: {0}")]
    Invalid(String),
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
            JournalError::Corrupt(_) => "journal_corrupt",
            JournalError::Busy(_) => "journal_busy",
            JournalError::CannotOpen { .. } => "journal_cannot_open",
            JournalError::TooNew { .. } => "journal_too_new",
            JournalError::WriterGone => "journal_writer_gone",
            JournalError::NotFound(_) => "not_found",
            JournalError::NotOpen(_) => "not_open",
            JournalError::Invalid(_) => "invalid_input",
            JournalError::Other(_) => "journal_error",
        }
    }

    /// What the desk is told, in Japanese.
    pub fn desk_message(&self) -> String {
        match self {
            JournalError::Full(_) => "ディスクの空きがないため受付記録を保存できませんでした。この確認は記録されていません。システム担当者に連絡し、紙に控えてください。".into(),
            JournalError::ReadOnly(_) => "受付記録のファイルに書き込めません(読み取り専用)。この確認は記録されていません。システム担当者に連絡し、紙に控えてください。".into(),
            JournalError::Corrupt(_) => "受付記録のファイルが壊れています。この確認は記録されていません。システム担当者に連絡してください。".into(),
            JournalError::Busy(_) => "受付記録が他の処理で使用中のため保存できませんでした。もう一度お試しください。".into(),
            JournalError::CannotOpen { path, .. } => format!(
                "受付記録のファイルを開けません({})。システム担当者に連絡してください。",
                path.display()
            ),
            JournalError::TooNew { .. } => "受付記録は新しいバージョンのソフトで作成されています。ソフトを更新してください。".into(),
            JournalError::WriterGone => "受付記録の保存処理が停止しています。アプリを再起動してください。この確認は記録されていません。".into(),
            JournalError::NotFound(id) => format!("受付記録 {id} はありません。"),
            JournalError::NotOpen(id) => format!("受付記録 {id} は事後確認待ち・要確認のどちらでもないため、対応済みにできません。"),
            JournalError::Invalid(_) => "検索・入力の内容が正しくありません。".into(),
            JournalError::Other(_) => "受付記録の処理でエラーが発生しました。システム担当者に連絡してください。".into(),
        }
    }
}

impl From<rusqlite::Error> for JournalError {
    fn from(e: rusqlite::Error) -> Self {
        let detail = e.to_string();
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => JournalError::Full(detail),
            Some(ErrorCode::ReadOnly) => JournalError::ReadOnly(detail),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                JournalError::Corrupt(detail)
            }
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => JournalError::Busy(detail),
            Some(ErrorCode::SystemIoFailure) if detail.contains("No space") => {
                JournalError::Full(detail)
            }
            _ => JournalError::Other(detail),
        }
    }
}

impl From<serde_json::Error> for JournalError {
    fn from(e: serde_json::Error) -> Self {
        JournalError::Other(format!("JSON: {e}"))
    }
}
