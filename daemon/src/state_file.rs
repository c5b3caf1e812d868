//! Small state files under /var/lib/mbimd, replaced atomically: a crash
//! leaves either the old file or the new one, never a mix.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The temporary file a write goes to before it replaces `path`: in the
/// same directory, so the rename cannot cross file systems.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Replaces `path` with `bytes`: written to [`temp_path`], flushed to
/// disk, renamed over `path`, and the directory flushed so the rename
/// itself survives a power cut. On failure, the path that could not be
/// written (the temporary file, the file or its directory) with the cause.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), (PathBuf, io::Error)> {
    let temp = temp_path(path);
    write_temp(&temp, bytes).map_err(|error| (temp.clone(), error))?;
    fs::rename(&temp, path).map_err(|error| (path.to_owned(), error))?;
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|error| (dir.to_path_buf(), error))?;
    }
    Ok(())
}

/// Writes and flushes the temporary file (truncating one a crash left).
pub fn write_temp(temp: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(temp)?;
    file.write_all(bytes)?;
    file.sync_all()
}
