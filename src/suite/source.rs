//! Reading suite and mock files as text, within limits.

use std::path::Path;

/// The largest suite or mock file read (the YAML budget refuses more anyway;
/// this refuses it before reading it into memory).
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a suite or mock file as text: at most [`MAX_SOURCE_BYTES`], UTF-8.
pub fn read_source(file: &Path) -> Result<String, String> {
    let size = std::fs::metadata(file)
        .map_err(|e| format!("cannot read the file: {e}"))?
        .len();
    if size > MAX_SOURCE_BYTES {
        return Err(format!(
            "the file is {} MiB; suites and mock definitions are limited to {} MiB",
            size / (1024 * 1024),
            MAX_SOURCE_BYTES / (1024 * 1024)
        ));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read the file: {e}"))?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "the file is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}
