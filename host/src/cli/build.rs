//! `openclone plugins build [DIR]...`: plugin folders' components, with the host's own
//! parsers deciding how: `plugin.json` through the registry's checks, the crate name from
//! `Cargo.toml` (`toml`), the world from the requested capabilities, the built files from
//! cargo's own JSON messages.
//!
//! - A Rust plugin (a `Cargo.toml`): `cargo build --target wasm32-wasip2` (the target is
//!   added with rustup when missing). The crates of one cargo workspace are built by one
//!   cargo call (`-p` each), so a tree of plugins shares its dependencies' builds.
//! - A Python plugin (an `app.py`): componentize-py 0.25.1 (`$COMPONENTIZE_PY`, else the
//!   virtualenv `--python-venv`, else one in the SDK folder; installed from PyPI once)
//!   against the WIT this binary carries, world `capture-plugin`, or `capture-plugin-http`
//!   when a manifest of the folder requests `net-http`. The app's files (not `tests/`,
//!   `dropins/`, `__pycache__`, old `.wasm`) and the SDK are staged in a scratch folder
//!   first, so no `__pycache__` is written into the author's folder. componentize-py's
//!   output is not byte-reproducible and a new sha256 means a new compile in the host, so a
//!   component is kept in the SDK folder under a hash of what went into it and reused
//!   while that is unchanged.
//! - A remote plugin (a `plugin.json` only) has nothing to build.
//!
//! Built in place (the default), a folder gets `DIR/plugin.wasm`. With `--out OUT` every
//! folder becomes drop-ins: `OUT/<id>/plugin.json` and `plugin.wasm`, plus one
//! `OUT/<name>/` per `DIR/dropins/<name>/plugin.json` with the folder's component (how the
//! repository's test plugins serve several ids from one component; those manifests are
//! copied as written, since some are deliberately wrong).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

/// The componentize-py release the Python SDK is built and tested with.
const COMPONENTIZE_PY: &str = "0.25.1";

/// How to build.
pub struct Options {
    /// The cargo profile of Rust plugins (`release`, or the workspace's `plugin`).
    pub profile: String,
    /// cargo's `--target-dir`; cargo's own default when `None`.
    pub target_dir: Option<PathBuf>,
    /// Drop-in folders go here; `None` builds each folder in place.
    pub out: Option<PathBuf>,
    /// The virtualenv componentize-py runs from when `$COMPONENTIZE_PY` is not set.
    pub python_venv: Option<PathBuf>,
}

/// What a plugin folder is built with.
enum Lang {
    /// A crate, by its `[package] name`.
    Rust(String),
    /// An `app.py`, for this world.
    Python(&'static str),
    /// Nothing to build.
    Remote,
}

/// One plugin folder: how it is built and the drop-ins it makes, `(name, plugin.json)`.
struct Folder {
    dir: PathBuf,
    lang: Lang,
    dropins: Vec<(String, PathBuf)>,
}

/// Builds every folder of `dirs` (see the module's docs). Returns the folders built in
/// place, for validation. Errors: a plugin.json breaks a rule (named), a folder holds
/// neither a crate, an `app.py` nor a `plugin.json`, the toolchain is missing or a build
/// fails (its output is shown).
pub fn run(dirs: &[PathBuf], opts: &Options) -> anyhow::Result<Vec<PathBuf>> {
    let folders = dirs
        .iter()
        .map(|d| folder(d, opts.out.is_some()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let rust: Vec<&Folder> = folders
        .iter()
        .filter(|f| matches!(f.lang, Lang::Rust(_)))
        .collect();
    let mut built = build_rust(&rust, opts)?;
    for f in &folders {
        if let Lang::Python(world) = f.lang {
            built.insert(f.dir.clone(), build_python(&f.dir, world, opts)?);
        }
    }
    let mut in_place = Vec::new();
    for f in &folders {
        let component = built.get(&f.dir);
        match &opts.out {
            None => {
                if let Some(c) = component {
                    let to = f.dir.join("plugin.wasm");
                    copy_atomic(c, &to)?;
                    println!("built {}", to.display());
                } else {
                    println!("{}: a remote plugin, nothing to build", f.dir.display());
                }
                in_place.push(f.dir.clone());
            }
            Some(out) => {
                for (name, manifest) in &f.dropins {
                    let dest = out.join(name);
                    let _ = std::fs::remove_dir_all(&dest);
                    std::fs::create_dir_all(&dest)
                        .with_context(|| format!("creating {}", dest.display()))?;
                    std::fs::copy(manifest, dest.join("plugin.json"))
                        .with_context(|| format!("copying {}", manifest.display()))?;
                    if let Some(c) = component {
                        copy_atomic(c, &dest.join("plugin.wasm"))?;
                    }
                }
            }
        }
    }
    if let Some(out) = &opts.out {
        eprintln!("plugins built into {}", out.display());
    }
    Ok(in_place)
}

/// Reads what `dir` holds. Its own plugin.json goes through the registry's checks (it is
/// required when building in place); with `dropins`, `dir/dropins/*/plugin.json` are
/// listed too, by folder name. Errors: a manifest breaks a rule, or there is nothing to
/// build or install.
fn folder(dir: &Path, dropins: bool) -> anyhow::Result<Folder> {
    let own = dir.join("plugin.json");
    let mut list = Vec::new();
    let mut permissions = Vec::new();
    if own.is_file() || !dropins {
        let m =
            openclone_runtime::registry::load_manifest(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
        permissions.extend(m.permissions);
        list.push((m.id, own.clone()));
    }
    if dropins {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join("dropins"))
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.join("plugin.json").is_file())
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        for d in found {
            if let Ok(m) = openclone_runtime::manifest::load(&d) {
                permissions.extend(m.permissions);
            }
            let name = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            list.push((name, d.join("plugin.json")));
        }
        if list.is_empty() {
            bail!(
                "{} holds no plugin.json (nor dropins/*/plugin.json)",
                dir.display()
            );
        }
    }
    let lang = if dir.join("Cargo.toml").is_file() {
        Lang::Rust(crate_name(dir)?)
    } else if dir.join("app.py").is_file() {
        Lang::Python(if permissions.iter().any(|p| p == "net-http") {
            "capture-plugin-http"
        } else {
            "capture-plugin"
        })
    } else if own.is_file() {
        Lang::Remote
    } else {
        bail!(
            "{} holds neither a Cargo.toml (a Rust plugin) nor an app.py (a Python plugin)",
            dir.display()
        );
    };
    Ok(Folder {
        dir: dir.to_path_buf(),
        lang,
        dropins: list,
    })
}

/// The `[package] name` of `dir/Cargo.toml`. Errors: unreadable, not TOML, no name.
fn crate_name(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: toml::Table = toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
    doc.get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned)
        .with_context(|| format!("{}: [package] name is missing", path.display()))
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The `Cargo.toml` of the workspace `dir`'s crate belongs to (its own when it stands
/// alone), as cargo finds it. Errors: cargo cannot run or finds no manifest.
fn workspace_of(dir: &Path) -> anyhow::Result<PathBuf> {
    let out = Command::new(cargo())
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .output()
        .context("running cargo (install Rust from rustup.rs)")?;
    if !out.status.success() {
        bail!(
            "cargo cannot read {}: {}",
            dir.join("Cargo.toml").display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// `path` made absolute with links resolved, for comparing with cargo's paths; as given
/// when it cannot be.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Builds the crates of `folders`, one cargo call per workspace, and returns each folder's
/// `.wasm` as cargo's `compiler-artifact` messages name it.
fn build_rust(folders: &[&Folder], opts: &Options) -> anyhow::Result<BTreeMap<PathBuf, PathBuf>> {
    let mut built = BTreeMap::new();
    if folders.is_empty() {
        return Ok(built);
    }
    ensure_wasm_target()?;
    let mut workspaces: BTreeMap<PathBuf, Vec<&Folder>> = BTreeMap::new();
    for f in folders {
        workspaces.entry(workspace_of(&f.dir)?).or_default().push(f);
    }
    for (workspace, members) in workspaces {
        let mut cmd = Command::new(cargo());
        cmd.args([
            "build",
            "--quiet",
            "--message-format=json-render-diagnostics",
            "--target",
            "wasm32-wasip2",
            "--profile",
            &opts.profile,
        ])
        .arg("--manifest-path")
        .arg(&workspace);
        if let Some(t) = &opts.target_dir {
            cmd.arg("--target-dir").arg(t);
        }
        for f in &members {
            if let Lang::Rust(name) = &f.lang {
                cmd.args(["-p", name]);
            }
        }
        let output = cmd
            .stderr(Stdio::inherit())
            .output()
            .context("running cargo (install Rust from rustup.rs)")?;
        if !output.status.success() {
            bail!(
                "cargo build of {} failed (its errors are above)",
                workspace.display()
            );
        }
        let mut wasm_of = BTreeMap::new();
        for line in output.stdout.split(|b| *b == b'\n') {
            let Ok(msg) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            let file = msg["filenames"].as_array().and_then(|files| {
                files
                    .iter()
                    .filter_map(|f| f.as_str())
                    .find(|f| f.ends_with(".wasm"))
            });
            if msg["reason"] == "compiler-artifact"
                && let (Some(manifest), Some(file)) = (msg["manifest_path"].as_str(), file)
            {
                wasm_of.insert(canonical(Path::new(manifest)), PathBuf::from(file));
            }
        }
        for f in members {
            let wasm = wasm_of
                .get(&canonical(&f.dir.join("Cargo.toml")))
                .with_context(|| {
                    format!(
                        "cargo built no .wasm for {} (its [lib] needs crate-type = [\"cdylib\"])",
                        f.dir.display()
                    )
                })?;
            built.insert(f.dir.clone(), wasm.clone());
        }
    }
    Ok(built)
}

/// Adds the `wasm32-wasip2` target with rustup when it is missing (without rustup, cargo
/// says what is missing itself).
fn ensure_wasm_target() -> anyhow::Result<()> {
    let Ok(list) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        return Ok(());
    };
    if String::from_utf8_lossy(&list.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-wasip2")
    {
        return Ok(());
    }
    let status = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .status()?;
    if !status.success() {
        bail!("rustup target add wasm32-wasip2 failed");
    }
    Ok(())
}

/// The component of the Python plugin `dir` for `world`: the one kept in the SDK folder
/// for this folder when everything that goes into it is unchanged, else a new build that
/// replaces it (so the cache holds one component per plugin folder).
fn build_python(dir: &Path, world: &str, opts: &Options) -> anyhow::Result<PathBuf> {
    let sdk = super::sdk::materialize()?;
    let stage = tempfile::tempdir().context("a scratch folder")?;
    copy_tree(dir, &stage.path().join("app"), true)?;
    copy_tree(&sdk.python(), &stage.path().join("sdk"), false)?;
    let mut inputs = Sha256::new();
    hash_tree(&mut inputs, stage.path(), Path::new(""))?;
    hash_tree(&mut inputs, &sdk.wit(), Path::new("wit"))?;
    inputs.update(format!("{world} componentize-py {COMPONENTIZE_PY}"));
    let inputs = hex::encode(inputs.finalize());
    let cache = sdk.root.join("components");
    let slot = hex::encode(&Sha256::digest(canonical(dir).to_string_lossy().as_bytes())[..8]);
    let (wasm, key) = (
        cache.join(format!("{slot}.wasm")),
        cache.join(format!("{slot}.inputs")),
    );
    if wasm.is_file() && std::fs::read_to_string(&key).is_ok_and(|k| k == inputs) {
        return Ok(wasm);
    }
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let tool = componentize_py(&sdk.root, opts.python_venv.as_deref())?;
    let tmp = wasm.with_extension("wasm.tmp");
    let result = Command::new(&tool)
        .arg("-q")
        .arg("-d")
        .arg(sdk.wit())
        .args(["-w", world, "componentize", "-p"])
        .arg(stage.path().join("app"))
        .arg("-p")
        .arg(stage.path().join("sdk"))
        .args(["app", "-o"])
        .arg(&tmp)
        .output()
        .with_context(|| format!("running {}", tool.display()))?;
    if !result.status.success() {
        let _ = std::fs::remove_file(&tmp);
        bail!(
            "componentize-py failed for {}:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
    }
    std::fs::rename(&tmp, &wasm).with_context(|| format!("writing {}", wasm.display()))?;
    std::fs::write(&key, &inputs).with_context(|| format!("writing {}", key.display()))?;
    Ok(wasm)
}

/// Feeds every file under `root` to `h`, in name order, as its path under `under` and its
/// bytes.
fn hash_tree(h: &mut Sha256, root: &Path, under: &Path) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(root)
        .with_context(|| format!("reading {}", root.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let (path, rel) = (e.path(), under.join(e.file_name()));
        if path.is_dir() {
            hash_tree(h, &path, &rel)?;
        } else {
            h.update(rel.to_string_lossy().as_bytes());
            h.update([0]);
            h.update(std::fs::read(&path)?);
            h.update([0]);
        }
    }
    Ok(())
}

/// `$COMPONENTIZE_PY`, else the one in `venv` (default `<sdk>/python-venv`), installed
/// there from PyPI when it is not the pinned release. Errors: no `python3`, or pip failed.
fn componentize_py(sdk: &Path, venv: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("COMPONENTIZE_PY") {
        return Ok(PathBuf::from(p));
    }
    let venv = venv.map_or_else(|| sdk.join("python-venv"), Path::to_path_buf);
    let tool = venv.join("bin/componentize-py");
    let version = Command::new(&tool).arg("--version").output();
    if version.is_ok_and(|v| {
        String::from_utf8_lossy(&v.stdout).trim() == format!("componentize-py {COMPONENTIZE_PY}")
    }) {
        return Ok(tool);
    }
    eprintln!(
        "installing componentize-py {COMPONENTIZE_PY} into {}",
        venv.display()
    );
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .context("running python3 (a Python plugin is built with componentize-py)")?;
    let pip = venv.join("bin/pip");
    let installed = made.success()
        && Command::new(&pip)
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("componentize-py=={COMPONENTIZE_PY}"))
            .status()
            .is_ok_and(|s| s.success());
    if !installed {
        bail!(
            "installing componentize-py {COMPONENTIZE_PY} into {} failed",
            venv.display()
        );
    }
    Ok(tool)
}

/// Copies `from` to `to` through a temporary sibling renamed into place, so a host
/// watching the folder never loads a half-written component.
fn copy_atomic(from: &Path, to: &Path) -> anyhow::Result<()> {
    let tmp = to.with_extension("wasm.tmp");
    std::fs::copy(from, &tmp)
        .with_context(|| format!("copying {} to {}", from.display(), tmp.display()))?;
    std::fs::rename(&tmp, to).with_context(|| format!("writing {}", to.display()))?;
    Ok(())
}

/// Copies `from` into `to`; for an app (`app`), without `tests/`, `dropins/`, `target/`
/// and built components. `__pycache__` is never copied.
fn copy_tree(from: &Path, to: &Path, app: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let skip = name == "__pycache__"
            || (app
                && (name == "tests"
                    || name == "dropins"
                    || name == "target"
                    || name.ends_with(".wasm")
                    || name.ends_with(".wasm.tmp")));
        if skip {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &to.join(&*name), false)?;
        } else {
            std::fs::copy(&path, to.join(&*name))?;
        }
    }
    Ok(())
}
