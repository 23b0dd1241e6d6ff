//! Reading suite and mock files as text, within limits.

use std::path::Path;

/// The largest suite or mock file read (the YAML budget refuses more anyway;
/// this refuses it before reading it into memory).
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a suite or mock file could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Unreadable(#[from] std::io::Error),
    /// The file is over [`MAX_SOURCE_BYTES`].
    #[error(
        "the file is {} MiB; suites and mock definitions are limited to {} MiB",
        .0 / (1024 * 1024),
        MAX_SOURCE_BYTES / (1024 * 1024)
    )]
    TooLarge(u64),
    /// The file is not UTF-8.
    #[error("the file is not UTF-8 text (invalid byte at offset {0})")]
    NotUtf8(usize),
}

/// Reads a suite or mock file as text: at most [`MAX_SOURCE_BYTES`], UTF-8.
pub fn read_source(file: &Path) -> Result<String, SourceError> {
    let size = std::fs::metadata(file)?.len();
    if size > MAX_SOURCE_BYTES {
        return Err(SourceError::TooLarge(size));
    }
    let bytes = std::fs::read(file)?;
    String::from_utf8(bytes).map_err(|e| SourceError::NotUtf8(e.utf8_error().valid_up_to()))
}
