//! Writing output files (reports, snapshots) whole or not at all.

use std::io::Write;
use std::path::Path;

/// Gives the new file the old one's permissions, or the usual 0644 for a new
/// file (a temporary file is created private).
#[cfg(unix)]
fn keep_permissions(path: &Path, file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode())
        .unwrap_or(0o644);
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn keep_permissions(_: &Path, _: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// A file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct WriteError {
    /// The file.
    pub path: std::path::PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// Writes `bytes` to `path` whole or not at all: a regular file (or a new
/// one) through a temporary file in the same folder and a rename, so a reader
/// never sees a half-written file; through a symlink to the file it names;
/// anything else (a pipe, `/dev/stdout`, a terminal) written to as it is,
/// never replaced.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let fail = |source: std::io::Error| WriteError {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(fail)?;
            return file
                .write_all(bytes)
                .and_then(|()| file.flush())
                .map_err(fail);
        }
        Ok(meta) if meta.is_file() && path.is_symlink() => {
            let target = std::fs::canonicalize(path).map_err(fail)?;
            return replace(&target, bytes).map_err(|e| WriteError {
                path: path.to_path_buf(),
                source: e.source,
            });
        }
        _ => {}
    }
    replace(path, bytes)
}

/// Whether a report can be written at `path`, known before anything is sent:
/// `None` when it can, else why not.
pub(crate) fn unwritable(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Some("is a folder, not a file".into()),
        Ok(meta) if meta.is_file() && meta.permissions().readonly() => {
            return Some("is read-only".into());
        }
        // A pipe or device is written to as it is; opening one to check could block.
        Ok(meta) if !meta.is_file() => return None,
        _ => {}
    }
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let folder = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    if !folder.is_dir() {
        return Some(format!("the folder {} does not exist", folder.display()));
    }
    tempfile::NamedTempFile::new_in(&folder)
        .err()
        .map(|e| format!("the folder {} is not writable: {e}", folder.display()))
}

/// Replaces `path` by a temporary file renamed over it.
fn replace(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fail = |source: std::io::Error| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let mut temp = tempfile::NamedTempFile::new_in(folder).map_err(fail)?;
    temp.write_all(bytes).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    keep_permissions(path, temp.as_file()).map_err(fail)?;
    temp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
