//! Printouts: the PDF layer, the 被保険者資格申立書 form, and sending a PDF to the printer.
//!
//! - [`pdf`]: A4 layout in millimetres over `krilla`, the bundled font subset-embedded;
//! - [`declaration`]: the self-declaration form and its QR payload;
//! - [`printer`]: the system printer (CUPS `lp`; on Windows the configured or default printer
//!   through GDI, the PDF rasterised here: [`win`]), and where the printed PDFs are kept.
//!
//! Errors carry two faces like the card layer's: `Display` is the precise English detail for
//! the log, [`PrintError::desk_message`] the Japanese sentence for the desk.

pub mod declaration;
pub mod pdf;
pub mod printer;
pub mod win;

pub use self::declaration::{
    declaration_qr_payload, japanese_date, render_declaration, restore_from_qr_payload,
    QrRestoreError,
};
pub use self::printer::{default_printouts_dir, keep_pdf, PrintJob, Printer};

/// Anything that can go wrong while making or printing a printout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    /// The PDF could not be written (font or writer failure).
    #[error(transparent)]
    Pdf(#[from] pdf::PdfError),
    /// `lp` (CUPS) is not installed, or not on `PATH`.
    #[error("no print command: {0}")]
    NoPrintCommand(String),
    /// No printer queue was named and the system has no default destination.
    #[error("no default printer destination: {0}")]
    NoDefaultPrinter(String),
    /// The queue (Windows: printer) named in the configuration does not exist.
    #[error("unknown printer queue {queue:?}: {detail}")]
    UnknownQueue { queue: String, detail: String },
    /// The print command ran and failed; `detail` holds its standard error.
    #[error("print command failed ({status}): {detail}")]
    PrintFailed { status: String, detail: String },
    /// The printer is offline, unavailable or paused (Windows: the job would only wait in the
    /// queue); nothing was sent.
    #[error("printer {printer:?} is not ready: {detail}")]
    PrinterOffline { printer: String, detail: String },
    /// The kept PDF could not be rasterised for the printer (Windows).
    #[error("cannot rasterise the PDF for printing: {0}")]
    Render(String),
    /// The print command did not finish in time and was stopped (Windows: given up on; the
    /// job may still come out later).
    #[error("printing did not finish within {0:?}")]
    Timeout(std::time::Duration),
    /// The PDF to print or to keep could not be read or written.
    #[error("printout file {path}: {detail}")]
    File { path: String, detail: String },
}

impl PrintError {
    /// The calm Japanese sentence for the reception desk. The PDF is always kept, so every
    /// printer message says it can be printed again.
    pub fn desk_message(&self) -> &'static str {
        match self {
            PrintError::Pdf(_) => {
                "申立書のPDFを作成できませんでした。手書きの申立書をご利用ください。（システム管理者に連絡してください）"
            }
            PrintError::NoPrintCommand(_) => {
                "印刷の仕組みが見つかりません（プリンタが設定されていません）。PDFは保存済みです。プリンタを設定してから再印刷してください。"
            }
            PrintError::NoDefaultPrinter(_) => {
                "使用するプリンタが決まっていません。通常使うプリンタを設定するか、設定ファイルでプリンタ名を指定してから再印刷してください。PDFは保存済みです。"
            }
            PrintError::UnknownQueue { .. } => {
                "設定されたプリンタが見つかりません。プリンタ名を確認してから再印刷してください。PDFは保存済みです。"
            }
            PrintError::PrintFailed { .. } => {
                "印刷できませんでした。プリンタの電源・用紙・接続を確認してから再印刷してください。PDFは保存済みです。"
            }
            PrintError::PrinterOffline { .. } => {
                "プリンタがオフラインまたは一時停止中です。プリンタの電源とケーブル・ネットワークを確認し、一時停止やオフライン使用を解除してから再印刷してください。PDFは保存済みです。"
            }
            PrintError::Render(_) => {
                "PDFを印刷用に変換できませんでした。PDFは保存済みです。保存先フォルダのPDFを別の方法で印刷するか、システム管理者に連絡してください。"
            }
            // Windows cannot stop a job that a driver call holds: it may still come out.
            #[cfg(windows)]
            PrintError::Timeout(_) => {
                "プリンタが応答しません。少し待っても印刷されない場合は、プリンタを確認してから再印刷してください。PDFは保存済みです。"
            }
            #[cfg(not(windows))]
            PrintError::Timeout(_) => {
                "プリンタが応答しません。プリンタを確認してから再印刷してください。PDFは保存済みです。"
            }
            PrintError::File { .. } => {
                "印刷用のファイルを保存または読み込みできませんでした。保存先の空き容量と権限を確認してください。"
            }
        }
    }

    /// A stable snake_case name for JSON output and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            PrintError::Pdf(_) => "pdf",
            PrintError::NoPrintCommand(_) => "no_print_command",
            PrintError::NoDefaultPrinter(_) => "no_default_printer",
            PrintError::UnknownQueue { .. } => "unknown_queue",
            PrintError::PrintFailed { .. } => "print_failed",
            PrintError::PrinterOffline { .. } => "printer_offline",
            PrintError::Render(_) => "render",
            PrintError::Timeout(_) => "timeout",
            PrintError::File { .. } => "file",
        }
    }
}
