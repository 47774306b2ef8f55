//! The compiled-component cache: `<cache>/<sha256 of the .wasm>-<engine hash>.cwasm`, so
//! a restart (or another plugin folder with the same component) never recompiles.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Component;

/// A hash of everything in the engine's configuration that compiled code depends on.
fn engine_hash(engine: &Engine) -> String {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The component for `bytes`, from the cache when present (second value `true`), else
/// compiled and written to the cache (atomically: temp file, then rename).
pub fn load_or_compile(
    engine: &Engine,
    dir: &Path,
    bytes: &[u8],
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
    let compiled = engine.precompile_component(bytes)?;
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, &compiled)
        .and_then(|()| std::fs::rename(&tmp, &file))
        .is_err()
    {
        let _ = std::fs::remove_file(&tmp);
        tracing::warn!(file = %file.display(), "could not write the compiled cache entry");
    }
    // SAFETY: `compiled` was produced just now by `precompile_component` of this engine.
    #[allow(unsafe_code)]
    let component = unsafe { Component::deserialize(engine, &compiled)? };
    Ok((component, false))
}
