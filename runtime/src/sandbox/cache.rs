//! The compiled-component cache: `<cache>/<sha256 of the .wasm>-<engine hash>.cwasm`, so
//! a restart (or another plugin folder with the same component) never recompiles.
//!
//! Hashing a 2 MB component costs more than loading its compiled code, so the sha256 of a
//! component file is remembered too, in `<cache>/stat-<hash of path, device, inode,
//! length, mtime, ctime>`, as git's index judges a file unchanged. The change time is
//! what makes the memo hold against a rewrite: a program can set a file's mtime back
//! (`touch -d`), but not its ctime, which every write and every `utimensat` moves to the
//! present. A component whose plugin.json pins a sha256 is always read and hashed: the
//! pin is a promise about the bytes, and no memo stands in for them.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use sha2::{Digest, Sha256};

use wasmtime::Engine;
use wasmtime::component::Component;

/// A hash of everything in the engine's configuration that compiled code depends on.
fn engine_hash(engine: &Engine) -> String {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The sha256 (hex) of the component at `path`, and its bytes when they had to be read:
/// always when `pinned` (plugin.json names a sha256), otherwise only when the file's
/// memo (path, device, inode, length, mtime and ctime) is missing.
///
/// Errors: the file cannot be read.
pub fn sha256_of(
    dir: &Path,
    path: &Path,
    pinned: bool,
) -> std::io::Result<(String, Option<Vec<u8>>)> {
    let memo = memo_file(dir, path)?;
    if !pinned
        && let Ok(sha) = std::fs::read_to_string(&memo)
        && sha.len() == 64
    {
        return Ok((sha, None));
    }
    let bytes = std::fs::read(path)?;
    let sha = hex::encode(Sha256::digest(&bytes));
    let _ = openclone_vault::durable::write(&memo, sha.as_bytes());
    Ok((sha, Some(bytes)))
}

/// `<dir>/stat-<32 hex digits>`: the memo of the file at `path` as it stands now.
fn memo_file(dir: &Path, path: &Path) -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    let canonical = std::fs::canonicalize(path)?;
    let stat = format!(
        "{}\0{}\0{}\0{}\0{}.{}\0{}.{}",
        canonical.display(),
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    );
    let key = hex::encode(&Sha256::digest(stat.as_bytes())[..16]);
    Ok(dir.join(format!("stat-{key}")))
}

/// The component for the file at `path` (whose sha256 is `sha256`; `bytes` if already
/// read), from the cache when present (second value `true`), else compiled and written to
/// the cache durably ([`openclone_vault::durable::write`]: a power cut never leaves a torn
/// entry for `deserialize_file` to trust).
pub fn load_or_compile(
    engine: &Engine,
    dir: &Path,
    path: &Path,
    bytes: Option<Vec<u8>>,
    sha256: &str,
) -> anyhow::Result<(Component, bool)> {
    let file = dir.join(format!("{sha256}-{}.cwasm", engine_hash(engine)));
    if file.is_file() {
        // SAFETY: the file was written by `precompile_component` of an engine with this
        // compatibility hash into the host's own data folder, under a name that binds it
        // to the source's sha256; wasmtime also checks the header and engine settings.
        #[allow(unsafe_code)]
        match unsafe { Component::deserialize_file(engine, &file) } {
            Ok(c) => return Ok((c, true)),
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "compiled cache entry unusable; recompiling")
            }
        }
    }
    let bytes = match bytes {
        Some(b) => b,
        None => std::fs::read(path)?,
    };
    let compiled = engine.precompile_component(&bytes)?;
    if openclone_vault::durable::write(&file, &compiled).is_err() {
        tracing::warn!(file = %file.display(), "could not write the compiled cache entry");
    }
    // SAFETY: `compiled` was produced just now by `precompile_component` of this engine.
    #[allow(unsafe_code)]
    let component = unsafe { Component::deserialize(engine, &compiled)? };
    Ok((component, false))
}
