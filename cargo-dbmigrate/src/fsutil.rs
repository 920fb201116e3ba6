//! File writes that never leave a half-written file behind.

use crate::CliError;
use std::io::Write;
use std::path::Path;

/// Writes `contents` to `path` through a temporary file in the same folder and a rename, so a
/// crash or a full disk leaves the old file intact. An existing file keeps its mode; a new one
/// gets what `cargo new` gives (0644 under the usual umask), not the temporary file's 0600.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), CliError> {
    write_atomic_with(path, contents, 0o666)
}

/// [`write_atomic`] for a file only its owner may read (a new one is 0600).
pub fn write_atomic_private(path: &Path, contents: &str) -> Result<(), CliError> {
    write_atomic_with(path, contents, 0o600)
}

fn write_atomic_with(path: &Path, contents: &str, new_mode: u32) -> Result<(), CliError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| CliError::failure(format!("cannot write `{}`: {e}", path.display()));
    let mut builder = tempfile::Builder::new();
    // The mode goes to open(2), so the umask applies as for any new file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(new_mode));
    #[cfg(not(unix))]
    let _ = new_mode;
    let mut tmp = builder.tempfile_in(dir).map_err(fail)?;
    tmp.write_all(contents.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    if let Ok(meta) = std::fs::metadata(path) {
        tmp.as_file().set_permissions(meta.permissions()).map_err(fail)?;
    }
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Creates `path` with `contents`, failing if it exists (never overwrites).
pub fn create_new(path: &Path, contents: &str) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::failure(format!("cannot create `{}`: {e}", path.display()));
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(fail)?;
    file.write_all(contents.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// A path relative to `base` for messages, with forward slashes; the path itself otherwise.
pub fn display_rel(path: impl AsRef<Path>, base: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    path.strip_prefix(base).unwrap_or(path).display().to_string().replace('\\', "/")
}
