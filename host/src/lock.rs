//! One host per data folder: `serve`, `capture` and `vault reindex` each hold an
//! exclusive advisory lock (`flock`, through `std::fs::File::try_lock`) on
//! `<data>/openclone.lock` for as long as they have the vaults open, so a second process
//! never dedups against an index another one is clearing, or cuts bytes another one is
//! still writing. The file holds the holder's pid and command line, for the refusal.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data folder.
pub const LOCK_FILE: &str = "openclone.lock";

/// The held lock; released when dropped (or when the process dies, however it dies).
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

/// Why the data folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "the data folder {dir} is in use by another openclone process (pid {pid}: {command}); \
         only one host may write a vault at a time. Stop that process first (`kill {pid}`; a \
         running `openclone serve` already runs every plugin on its schedule and keeps the \
         index in line), or give this command another data_dir"
    )]
    Held {
        /// The data folder.
        dir: PathBuf,
        /// The holder's pid, as it wrote it ("unknown" if unreadable).
        pid: String,
        /// The holder's command line.
        command: String,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl DataLock {
    /// Takes the lock on `data_dir` (creating the folder, mode 0700, if needed) without
    /// waiting. Errors: [`LockError::Held`] naming the holder's pid and command line.
    pub fn acquire(data_dir: &Path) -> Result<Self, LockError> {
        Self::take(data_dir, false)
    }

    /// A shared hold on `data_dir`: cluster writers share their data folder with each other
    /// (each tenant's vault is held by one of them at a time, [`DataLock::acquire`] on its
    /// state folder), never with a single-process `serve`, `capture` or `vault reindex`.
    /// Errors: [`LockError::Held`] when one of those holds it.
    pub fn acquire_shared(data_dir: &Path) -> Result<Self, LockError> {
        Self::take(data_dir, true)
    }

    fn take(data_dir: &Path, shared: bool) -> Result<Self, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        openclone_vault::durable::create_dir_all(data_dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let taken = match shared {
            true => file.try_lock_shared(),
            false => file.try_lock(),
        };
        match taken {
            Ok(()) if shared => return Ok(Self { _file: file }),
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let mut lines = text.lines();
                let pid = lines.next().unwrap_or("unknown").trim().to_owned();
                let command = lines.next().unwrap_or("openclone").trim().to_owned();
                return Err(LockError::Held {
                    dir: data_dir.to_path_buf(),
                    pid,
                    command,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let command: Vec<String> = std::env::args().collect();
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}\n{}", std::process::id(), command.join(" ")).map_err(io)?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = DataLock::acquire(dir.path()).expect("first lock");
        let err = DataLock::acquire(dir.path()).expect_err("second lock refused");
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        DataLock::acquire(dir.path()).expect("free again after drop");
    }
}
