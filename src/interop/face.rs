//! Results of checks made at the desk, announced to the receipt computer unprompted: the
//! `face` folder (named after the face-recognition card readers whose results the national
//! system's terminal drops there).
//!
//! [`FaceWriter`] is the desk's [`ResultSink`]: for every finished check it writes the result
//! document into `<folder>/face` by temporary name and rename, so the receipt computer never
//! reads half a file. The name is the project's choice (**unconfirmed**; the prefix is
//! `[interop] face_prefix`): see [`super::names::face_name`].

use std::path::PathBuf;

use super::document::{result_of_check, HeaderContext};
use super::names::{face_id, face_name};
use super::xml::{write_document, DocumentEncoding};
use crate::check::{FinishedCheck, ResultSink};
use crate::domain::FacilityCode;

/// The sub-folder of the interop folder that receives the desk's results.
pub const FACE_DIR: &str = "face";

/// Writes each finished check's result into `<folder>/face`.
#[derive(Clone, Debug)]
pub struct FaceWriter {
    /// `None`: interop is off, nothing is written.
    folder: Option<PathBuf>,
    facility: FacilityCode,
    encoding: DocumentEncoding,
    desk_id: String,
    prefix: String,
}

impl FaceWriter {
    /// A writer into `folder` (the interop root; `None` when interop is off). `desk_id` and
    /// `prefix` must be safe in a file name (the configuration checks them).
    pub fn new(
        folder: Option<PathBuf>,
        facility: FacilityCode,
        encoding: DocumentEncoding,
        desk_id: String,
        prefix: String,
    ) -> FaceWriter {
        FaceWriter {
            folder,
            facility,
            encoding,
            desk_id,
            prefix,
        }
    }

    /// From the configuration: writes only when `[interop] enabled`.
    pub fn from_config(config: &crate::config::Config) -> FaceWriter {
        let i = &config.interop;
        FaceWriter::new(
            i.enabled.then(|| i.folder.clone()),
            config.facility_code.clone(),
            DocumentEncoding::from_setting(i.encoding),
            i.desk_id.clone(),
            i.face_prefix.clone(),
        )
    }
}

impl ResultSink for FaceWriter {
    fn announce(&self, check: &FinishedCheck<'_>) -> Result<Option<String>, String> {
        let Some(folder) = &self.folder else {
            return Ok(None);
        };
        let id = face_id(&self.desk_id, check.at, check.id.0);
        let name = face_name(&self.prefix, &id);
        let ctx = HeaderContext {
            facility: &self.facility,
            file_id: &id,
            encoding: self.encoding,
        };
        let encoded = write_document(&result_of_check(check, &ctx), self.encoding)
            .map_err(|e| format!("face result for check {}: {e}", check.id))?;
        for r in &encoded.replaced {
            tracing::info!(
                file = %name,
                element = %r.element,
                count = r.count,
                "characters not in Shift_JIS were written as ●"
            );
        }
        let dir = folder.join(FACE_DIR);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let path = dir.join(&name);
        onshi_files::write_atomic(&path, &encoded.bytes, onshi_files::Access::Shared)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(Some(name))
    }
}
