//! Tombstones: the dedup keys of forgotten entries ([`crate::forget`]), one file per tenant
//! beside its dedup index (`tombstones`), so a resend of a forgotten event is skipped even
//! after the index is rebuilt from a vault that no longer holds its marker.
//!
//! The file is the keys' 32 bytes each, back to back, appended and fsynced before any daily
//! file is changed. A tail shorter than a key (a torn append) is ignored when read; the
//! forget journal says how long the file was before each forget, so an interrupted append
//! is cut back and made again. Hand-written: a file of fixed-size records needs no format
//! crate.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use crate::dedup::DedupKey;
use crate::error::StoreError;

/// Bytes per tombstone.
pub const SIZE: u64 = 32;

/// The name under which the dedup index accounts for the tombstone file's length, as it
/// does for daily files: it cannot be a vault path (those are `Folder/YYYY-MM-DD.md`).
pub const INDEX_NAME: &str = "<tombstones>";

fn err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::io(&path.display().to_string(), e)
}

/// The file's length in bytes (0 when there is none). Errors: it cannot be read.
pub fn len(path: &Path) -> Result<u64, StoreError> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(err(path, e)),
    }
}

/// Appends `keys` and fsyncs (the folder too when the file is new; mode 0600).
/// Errors: it cannot be written or synced.
pub fn append(path: &Path, keys: &[DedupKey]) -> Result<(), StoreError> {
    let new = !path.exists();
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(crate::durable::NEW_FILE_MODE)
        .open(path)
        .map_err(|e| err(path, e))?;
    let bytes: Vec<u8> = keys.iter().flat_map(|k| k.0).collect();
    file.write_all(&bytes)
        .and_then(|()| file.sync_data())
        .map_err(|e| err(path, e))?;
    if new {
        crate::durable::sync_dir(path.parent().unwrap_or(Path::new(".")))
            .map_err(|e| err(path, e))?;
    }
    Ok(())
}

/// Cuts the file back to `len` bytes (an append a stop interrupted) and fsyncs it.
/// Errors: it cannot be cut.
pub fn cut(path: &Path, len: u64) -> Result<(), StoreError> {
    let file = match OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(err(path, e)),
    };
    file.set_len(len)
        .and_then(|()| file.sync_data())
        .map_err(|e| err(path, e))
}

/// Every whole key in the file (none when there is no file). Errors: it cannot be read.
pub fn read(path: &Path) -> Result<Vec<DedupKey>, StoreError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(err(path, e)),
    };
    Ok(bytes
        .chunks_exact(SIZE as usize)
        .filter_map(|c| <[u8; 32]>::try_from(c).ok().map(DedupKey))
        .collect())
}
