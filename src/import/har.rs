//! A HAR 1.2 recording as a draft suite (being written).

use std::path::Path;

use super::compact::Seen;
use super::draft::Draft;
use super::principals::PrincipalSet;

/// What `init --har` was asked for, besides the recording.
#[derive(Clone, Debug, Default)]
pub struct HarChoices {
    /// `--host`.
    pub host: Option<String>,
    /// `--name`.
    pub name: Option<String>,
    /// `--base-url`.
    pub base_url: Option<String>,
    /// The recording's file name, for the header comment.
    pub source: String,
    /// `--principals`: that suite's principals instead of those seen in the recording.
    pub principals: Option<PrincipalSet>,
}

/// What a recording made.
pub struct HarMade {
    /// The draft, expectations empty.
    pub draft: Draft,
    /// Its matrix, endpoint × principal.
    pub rows: Vec<Vec<Seen>>,
    /// Warnings for stderr.
    pub notes: Vec<String>,
}

/// Why a recording could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HarError {
    /// Not JSON, or unreadable.
    #[error(transparent)]
    Document(#[from] super::document::DocumentError),
}

/// The draft for the recording in `file`.
pub fn draft(file: &Path, _choices: &HarChoices) -> Result<HarMade, HarError> {
    let _ = super::document::read(file)?;
    Err(HarError::Document(super::document::DocumentError::NotADocument {
        file: file.to_path_buf(),
        message: "HAR import is being written".into(),
    }))
}
