//! Reading suite and mock files as text, within limits.

use std::path::Path;

/// The largest suite or mock file read (the YAML budget refuses more anyway;
/// this refuses it before reading it into memory).
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Unreadable(#[from] std::io::Error),
    /// A FIFO, a device, a folder: reading it could hang or never end.
    #[error("not a regular file")]
    NotAFile,
    /// The file is over its limit.
    #[error("the file is too large: such files are limited to {} MiB", .0 / (1024 * 1024))]
    TooLarge(u64),
    /// The file is not UTF-8.
    #[error("the file is not UTF-8 text (invalid byte at offset {0})")]
    NotUtf8(usize),
}

impl SourceError {
    /// Why, without the "cannot read the file" a caller names itself.
    pub fn reason(&self) -> String {
        match self {
            SourceError::Unreadable(e) => e.to_string(),
            other => other.to_string(),
        }
    }
}

/// The largest key, certificate or CA file read.
pub const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Reads a regular file of at most `limit` bytes; a FIFO or a device
/// (`/dev/zero`) is refused before it is opened, a file that grows past the
/// limit while it is read is cut off and refused.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, SourceError> {
    use std::io::Read;
    if !std::fs::metadata(path)?.is_file() {
        return Err(SourceError::NotAFile);
    }
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(SourceError::TooLarge(limit));
    }
    Ok(bytes)
}

/// Reads a suite or mock file as text: at most [`MAX_SOURCE_BYTES`], UTF-8.
pub fn read_source(file: &Path) -> Result<String, SourceError> {
    let bytes = read_bytes(file, MAX_SOURCE_BYTES)?;
    String::from_utf8(bytes).map_err(|e| SourceError::NotUtf8(e.utf8_error().valid_up_to()))
}
