//! Reading documents the patient brings to the desk.
//!
//! - [`portal_pdf`]: the qualification PDF downloaded from マイナポータル (claim path ①).

pub mod portal_pdf;

pub use self::portal_pdf::{extract_portal_fields, ImportError, PortalFields};
