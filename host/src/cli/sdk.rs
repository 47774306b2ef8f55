//! The WIT package and both guest SDKs travel inside the binary, so a plugin author needs
//! nothing but `openclone`: `plugins new` and `plugins build` write them out once per
//! binary into the SDK folder (`$OPENCLONE_SDK`, else
//! `${XDG_DATA_HOME:-~/.local/share}/openclone/sdk/<version>-<content hash>`):
//!
//! - `wit/`: `openclone:capture` and the WASI WIT it uses;
//! - `guest-sdk/` (the Rust crate `openclone-guest`) and `vault/` (`openclone-vault`,
//!   which its native test harness checks events with), their `Cargo.toml`s made
//!   stand-alone: the workspace's inherited keys (`version.workspace = true`, a
//!   dependency's `workspace = true`) are filled in from the workspace's own table;
//! - `guest-sdk-python/`: the Python package `openclone_guest` with its `pyproject.toml`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use include_dir::{Dir, include_dir};
use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, Item, Table};

static WIT: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../wit");
static GUEST_SRC: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../guest-sdk/src");
static VAULT_SRC: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../vault/src");
static VAULT_RULES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../vault/rules");
static PYTHON_SDK: Dir<'_> =
    include_dir!("$CARGO_MANIFEST_DIR/../guest-sdk-python/openclone_guest");
const GUEST_TOML: &str = include_str!("../../../guest-sdk/Cargo.toml");
const VAULT_TOML: &str = include_str!("../../../vault/Cargo.toml");
const WORKSPACE_TOML: &str = include_str!("../../../Cargo.toml");
const PYPROJECT: &str = include_str!("../../../guest-sdk-python/pyproject.toml");
const PYTHON_README: &str = include_str!("../../../guest-sdk-python/README.md");

/// The SDK folder's layout, once written.
pub struct Sdk {
    /// The folder.
    pub root: PathBuf,
}

impl Sdk {
    /// The WIT package folder (`componentize-py -d`).
    pub fn wit(&self) -> PathBuf {
        self.root.join("wit")
    }

    /// The Rust crate `openclone-guest`.
    pub fn rust(&self) -> PathBuf {
        self.root.join("guest-sdk")
    }

    /// The Python package's folder (holding `openclone_guest/` and `pyproject.toml`).
    pub fn python(&self) -> PathBuf {
        self.root.join("guest-sdk-python")
    }
}

/// Every embedded file under its path in the SDK folder, manifests made stand-alone.
/// Errors: an embedded manifest does not parse (a bug of this binary's build).
fn files() -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    for (dir, under) in [
        (&WIT, "wit"),
        (&GUEST_SRC, "guest-sdk/src"),
        (&VAULT_SRC, "vault/src"),
        (&VAULT_RULES, "vault/rules"),
        (&PYTHON_SDK, "guest-sdk-python/openclone_guest"),
    ] {
        collect(dir, Path::new(under), &mut out);
    }
    let workspace: DocumentMut = WORKSPACE_TOML.parse().context("the workspace Cargo.toml")?;
    let guest = standalone(GUEST_TOML, &workspace, false)?;
    let vault = standalone(VAULT_TOML, &workspace, true)?;
    out.push(("guest-sdk/Cargo.toml".into(), guest.into_bytes()));
    out.push(("vault/Cargo.toml".into(), vault.into_bytes()));
    out.push(("guest-sdk-python/pyproject.toml".into(), PYPROJECT.into()));
    out.push(("guest-sdk-python/README.md".into(), PYTHON_README.into()));
    Ok(out)
}

fn collect(dir: &Dir<'_>, under: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for f in dir.files() {
        if f.path()
            .components()
            .any(|c| c.as_os_str() == "__pycache__")
        {
            continue;
        }
        out.push((under.join(f.path()), f.contents().to_vec()));
    }
    for d in dir.dirs() {
        collect(d, under, out);
    }
}

/// `manifest` with every key it inherits from `workspace` filled in, its lints inlined, and
/// (for `bare`) no benches, tests or dev-dependencies: a crate that builds on its own next
/// to the other SDK crates (`openclone-vault` is `../vault`).
fn standalone(manifest: &str, workspace: &DocumentMut, bare: bool) -> anyhow::Result<String> {
    let mut doc: DocumentMut = manifest.parse().context("an SDK Cargo.toml")?;
    let ws = workspace["workspace"].as_table().context("[workspace]")?;
    if let Some(package) = doc["package"].as_table_mut() {
        for (key, value) in package.iter_mut() {
            if is_inherited(value) {
                *value = ws["package"][key.get()].clone();
            }
        }
    }
    let deps = ws["dependencies"]
        .as_table()
        .context("[workspace.dependencies]")?;
    fill_deps(doc.as_table_mut(), deps);
    if let Some(targets) = doc.get_mut("target").and_then(Item::as_table_mut) {
        for (_, t) in targets.iter_mut() {
            if let Some(t) = t.as_table_mut() {
                fill_deps(t, deps);
            }
        }
    }
    doc["lints"] = ws["lints"].clone();
    if bare {
        doc.remove("bench");
        doc.remove("dev-dependencies");
    }
    doc["workspace"] = Item::Table(Table::new());
    Ok(doc.to_string())
}

fn is_inherited(item: &Item) -> bool {
    item.get("workspace").and_then(Item::as_bool) == Some(true)
}

/// Replaces each `x.workspace = true` in the dependency tables of `table` by the
/// workspace's entry for `x` (keeping the entry's own keys, such as `features`).
fn fill_deps(table: &mut Table, ws_deps: &Table) {
    for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(deps) = table.get_mut(kind).and_then(Item::as_table_like_mut) else {
            continue;
        };
        for (name, dep) in deps.iter_mut() {
            if !is_inherited(dep) {
                continue;
            }
            let mut filled = toml_edit::InlineTable::new();
            match &ws_deps[name.get()] {
                Item::Value(toml_edit::Value::String(v)) => {
                    filled.insert("version", v.value().as_str().into());
                }
                other => {
                    if let Some(t) = other.as_table_like() {
                        for (k, v) in t.iter() {
                            if let Some(v) = v.as_value() {
                                filled.insert(k, v.clone());
                            }
                        }
                    }
                }
            }
            if name.get() == "openclone-vault" {
                filled.insert("path", "../vault".into());
            }
            if let Some(own) = dep.as_table_like() {
                for (k, v) in own.iter() {
                    if k != "workspace"
                        && let Some(v) = v.as_value()
                    {
                        filled.insert(k, v.clone());
                    }
                }
            }
            *dep = Item::Value(toml_edit::Value::InlineTable(filled));
        }
    }
}

/// Writes the SDK folder if this binary has not yet (into a temporary sibling, renamed
/// into place whole, so a cut-off write is never used) and returns it. Errors: no home
/// folder to put it in, or the folder cannot be written.
pub fn materialize() -> anyhow::Result<Sdk> {
    let files = files()?;
    let root = match std::env::var_os("OPENCLONE_SDK") {
        Some(p) => PathBuf::from(p),
        None => {
            let base = std::env::var_os("XDG_DATA_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))
                .context(
                    "no $HOME or $XDG_DATA_HOME to keep the plugin SDK in; set OPENCLONE_SDK",
                )?;
            let mut h = Sha256::new();
            for (path, bytes) in &files {
                h.update(path.to_string_lossy().as_bytes());
                h.update([0]);
                h.update(bytes);
            }
            let hash = hex::encode(&h.finalize()[..4]);
            base.join("openclone/sdk")
                .join(format!("{}-{hash}", env!("CARGO_PKG_VERSION")))
        }
    };
    let sdk = Sdk { root };
    if sdk.root.join(".complete").is_file() {
        return Ok(sdk);
    }
    let parent = sdk.root.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = parent.join(format!(".sdk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    for (path, bytes) in &files {
        let to = tmp.join(path);
        if let Some(d) = to.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(&to, bytes).with_context(|| format!("writing {}", to.display()))?;
    }
    std::fs::write(tmp.join(".complete"), env!("CARGO_PKG_VERSION"))?;
    let _ = std::fs::remove_dir_all(&sdk.root);
    match std::fs::rename(&tmp, &sdk.root) {
        Ok(()) => Ok(sdk),
        // Another process wrote it first.
        Err(_) if sdk.root.join(".complete").is_file() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(sdk)
        }
        Err(e) => Err(e).with_context(|| format!("writing {}", sdk.root.display())),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sdk_manifests_stand_alone() {
        let files = super::files().expect("embedded files");
        let get = |p: &str| {
            files
                .iter()
                .find(|(path, _)| path == std::path::Path::new(p))
                .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_else(|| panic!("{p}"))
        };
        for p in ["guest-sdk/Cargo.toml", "vault/Cargo.toml"] {
            let text = get(p);
            assert!(!text.contains("workspace = true"), "{p}:\n{text}");
            let doc: toml_edit::DocumentMut = text.parse().expect("valid TOML");
            assert!(doc["package"]["version"].as_str().is_some(), "{p}");
        }
        assert!(get("guest-sdk/Cargo.toml").contains("path = \"../vault\""));
        assert!(!get("vault/Cargo.toml").contains("[[bench]]"));
        assert!(get("wit/capture.wit").contains("package openclone:capture@"));
        assert!(
            files
                .iter()
                .any(|(p, _)| p.ends_with("openclone_guest/__init__.py"))
        );
    }
}
