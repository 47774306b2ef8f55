//! Writes that survive a power cut, not only a killed process. A file's data is on disk
//! only after `fsync` of the file; its name (a create, a rename) only after `fsync` of the
//! folder holding it (POSIX `fsync(2)`; ext4 and XFS lose both otherwise, and LazyFS drops
//! the first on command). Every small file the host keeps — device id, key hashes, config
//! edits, last passes, compiled-component cache entries, the index manifest — goes through
//! [`write`]; every folder it makes through [`create_dir_all`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The mode of a file [`write`] creates: the data folder is private (owner only).
pub const NEW_FILE_MODE: u32 = 0o600;

/// The mode of a folder [`create_dir_all`] creates (before the umask).
pub const NEW_DIR_MODE: u32 = 0o700;

/// Replaces `path` with `bytes` so that after a power cut at any moment it holds either
/// the old bytes or all the new ones: writes a temporary file beside it, fsyncs it, renames
/// it over `path` and fsyncs the folder. Missing folders are made with [`create_dir_all`].
/// An existing file keeps its permissions; a new one gets [`NEW_FILE_MODE`].
///
/// Errors: any step's I/O error; the temporary file is removed then and `path` untouched.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent(path);
    create_dir_all(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a path with no file name"))?;
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let mode = fs::metadata(path).map_or(NEW_FILE_MODE, |m| m.permissions().mode() & 0o7777);
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// Whether file name `name` is one of [`write`]'s temporary files (`.<name>.tmp-<pid>-<n>`),
/// which a crash before its rename leaves behind.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.')
        && name.rsplit_once(".tmp-").is_some_and(|(_, id)| {
            id.split('-')
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Creates `path` and its missing ancestors like [`fs::create_dir_all`] (mode
/// [`NEW_DIR_MODE`]), fsyncing the folder that holds each new one so the new entries
/// survive a power cut. Folders that already exist are left as they are.
///
/// Errors: a component cannot be made or synced, or exists and is not a folder.
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    if path.as_os_str().is_empty() || path.is_dir() {
        return Ok(());
    }
    create_dir_all(parent(path))?;
    match fs::DirBuilder::new().mode(NEW_DIR_MODE).create(path) {
        Ok(()) => sync_dir(parent(path)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes the SQLite database at `path` private before SQLite opens it: creates the file
/// (mode 0600, its folder made with [`create_dir_all`]) when missing, and sets 0600 on it
/// and on its `-wal` and `-shm` files when they exist with wider modes. SQLite gives the
/// files it creates later the database file's mode.
///
/// Errors: the folder or file cannot be made or its mode set.
pub fn private_database(path: &Path) -> io::Result<()> {
    create_dir_all(parent(path))?;
    if !path.exists() {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(NEW_FILE_MODE)
            .open(path)?
            .sync_all()?;
        sync_dir(parent(path))?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = Path::new(&name);
        if let Ok(meta) = fs::metadata(file)
            && meta.permissions().mode() & 0o077 != 0
        {
            fs::set_permissions(file, fs::Permissions::from_mode(NEW_FILE_MODE))?;
        }
    }
    Ok(())
}

/// Fsyncs the folder `dir`, making the names in it (creates, renames) durable.
///
/// Errors: the folder cannot be opened or synced.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The folder holding `path` (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_keeps_its_mode_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/c.txt");
        write(&path, b"one").expect("first write");
        assert_eq!(fs::read(&path).expect("read"), b"one");
        assert_eq!(
            fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            NEW_FILE_MODE
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        write(&path, b"two").expect("second write");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        assert_eq!(
            fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o644
        );
        let names: Vec<_> = fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["c.txt"]);
    }

    #[test]
    fn a_database_is_made_private_and_an_existing_one_narrowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("state/t/a.sqlite");
        private_database(&db).expect("new");
        assert_eq!(
            fs::metadata(&db).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(db.parent().expect("parent"))
                .expect("meta")
                .permissions()
                .mode()
                & 0o077,
            0
        );
        let wal = dir.path().join("state/t/a.sqlite-wal");
        fs::write(&wal, b"").expect("wal");
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).expect("chmod");
        fs::set_permissions(&wal, fs::Permissions::from_mode(0o644)).expect("chmod");
        private_database(&db).expect("existing");
        for f in [&db, &wal] {
            assert_eq!(
                fs::metadata(f).expect("meta").permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn a_file_in_the_way_of_a_folder_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("f"), b"x").expect("file");
        assert!(create_dir_all(&dir.path().join("f/g")).is_err());
        assert!(write(&dir.path().join("f/g/h"), b"x").is_err());
    }
}
