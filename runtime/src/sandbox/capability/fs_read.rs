//! `fs-read`: the folders granted in `[plugins.<id>] paths`, mounted read-only as WASI
//! preopens `/input/0`, `/input/1`, … when the manifest requests `fs-read`.

use std::path::{Path, PathBuf};

use wasmtime::component::Linker;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::{Capability, Configure};
use crate::sandbox::capability::SettingsError;
use crate::sandbox::context::PluginState;
use crate::sandbox::pass::PassError;
use openclone_ingest::config::Config;

/// The `fs-read` capability.
pub struct FsRead;

/// The folders a plugin reads.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// The manifest requests `fs-read`.
    pub requested: bool,
    /// `paths`, resolved against the config file's folder (granted only if requested).
    pub paths: Vec<PathBuf>,
}

impl Grant {
    /// The folders mounted in an instance: `paths` if requested, else none.
    pub fn mounted(&self) -> &[PathBuf] {
        if self.requested { &self.paths } else { &[] }
    }
}

impl Capability for FsRead {
    const NAME: &'static str = "fs-read";
    const REQUESTED: bool = true;
    const KEYS: &'static [&'static str] = &["paths"];
    type Grant = Grant;
    type Instance = ();

    /// Errors: `paths` is not an array of strings, or grants the host's own output.
    fn configure(c: &Configure<'_>) -> Result<Grant, SettingsError> {
        let bad = || c.err("paths", "must be an array of folder paths");
        let paths: Vec<PathBuf> = match c.table.get("paths") {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(|s| c.cfg.resolve(Path::new(s)))
                        .ok_or_else(bad)
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad()),
        };
        refuse_own_output(c, &paths)?;
        Ok(Grant {
            requested: c.requested(Self::NAME),
            paths,
        })
    }

    /// WASI's filesystem interfaces are linked with the rest of WASI p2; the grant is the
    /// preopens.
    fn link(_: &mut Linker<PluginState>) -> anyhow::Result<()> {
        Ok(())
    }

    fn prepare(g: &Grant, _plugin: &str, wasi: &mut WasiCtxBuilder) -> Result<(), PassError> {
        for (i, p) in g.mounted().iter().enumerate() {
            wasi.preopened_dir(p, format!("/input/{i}"), FsPerms::ReadOnly)
                .map_err(|e| {
                    PassError::Setup(format!(
                        "granted path {} cannot be opened: {e}",
                        p.display()
                    ))
                })?;
        }
        Ok(())
    }

    fn watch_paths(g: &Grant) -> Vec<PathBuf> {
        g.mounted().to_vec()
    }

    fn missing(g: &Grant) -> Option<String> {
        (g.requested && g.paths.is_empty()).then(|| {
            "requests fs-read, but its `paths` are empty: it sees no files; add `paths = [\"~/…\"]`".into()
        })
    }

    fn describe(g: &Grant) -> String {
        match (g.requested, g.paths.is_empty()) {
            (false, true) => "fs-read: not requested; it sees no files".into(),
            (false, false) => format!(
                "fs-read: not requested by plugin.json, so its {} granted path(s) are not mounted",
                g.paths.len()
            ),
            (true, true) => {
                "fs-read: requested, NOT granted (no `paths` in its settings): it sees no files"
                    .into()
            }
            (true, false) => {
                let mounts: Vec<String> = g
                    .paths
                    .iter()
                    .enumerate()
                    .map(|(i, p)| format!("/input/{i} ← {} (read-only)", p.display()))
                    .collect();
                format!("fs-read: granted — {}", mounts.join(", "))
            }
        }
    }
}

/// The host's own output (the data folder, every tenant's vault) must not be granted to a
/// plugin: each append would come back as a changed file, in a loop. A granted
/// path that contains one of them, or lies inside one, is refused naming both paths.
fn refuse_own_output(c: &Configure<'_>, paths: &[PathBuf]) -> Result<(), SettingsError> {
    let cfg: &Config = c.cfg;
    let own = std::iter::once(("the data folder", cfg.data_dir()))
        .chain(cfg.tenants.iter().map(|t| ("a vault", cfg.vault_root(t))));
    for (what, folder) in own {
        let folder_real = real(&folder);
        for p in paths {
            let p_real = real(p);
            let relation = if p_real.starts_with(&folder_real) {
                "lies inside"
            } else if folder_real.starts_with(&p_real) {
                "contains"
            } else {
                continue;
            };
            return Err(c.err(
                "paths",
                format!(
                    "{} {relation} {what} ({}); the host would capture its own output; grant a folder outside it",
                    p.display(),
                    folder.display()
                ),
            ));
        }
    }
    Ok(())
}

/// `path` with symbolic links resolved as far as it exists (a folder not yet created is
/// compared as written below its nearest existing parent).
fn real(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut cur = path;
    loop {
        if let Ok(r) = std::fs::canonicalize(cur) {
            return missing.iter().rev().fold(r, |acc, part| acc.join(part));
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_owned());
                cur = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}
