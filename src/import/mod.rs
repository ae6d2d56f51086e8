//! Reading documents the patient brings to the desk.
//!
//! - [`portal_pdf`]: the qualification PDF downloaded from マイナポータル (claim path ①).
//! - [`sandbox`]: the child process the desk and the CLI read such a PDF in, so that a
//!   hostile file cannot crash, hang or exhaust the desk.
//! - `guard`: the structural checks run before the parser (bounded decoding, form graph,
//!   ToUnicode ranges).

mod guard;
pub mod portal_pdf;
pub mod sandbox;

pub use self::portal_pdf::{extract_portal_fields, ImportError, PortalFields};
pub use self::sandbox::PdfSandbox;
