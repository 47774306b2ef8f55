//! `openclone plugins build [DIR]`: a plugin folder's component, built where it is, with
//! the host's own parsers deciding how: `plugin.json` through the registry's checks, the
//! crate name from `Cargo.toml` (`toml`), the world from the requested capabilities.
//!
//! - A Rust plugin (a `Cargo.toml`): `cargo build --target wasm32-wasip2` (the target is
//!   added with rustup when missing), into `$CARGO_TARGET_DIR` or `DIR/target`; the
//!   crate's `.wasm` becomes `DIR/plugin.wasm`.
//! - A Python plugin (an `app.py`): componentize-py 0.25.1 (`$COMPONENTIZE_PY`, else a
//!   virtualenv it installs into the SDK folder from PyPI, once) against the WIT this
//!   binary carries, world `capture-plugin`, or `capture-plugin-http` when plugin.json
//!   requests `net-http`. The app's files (not `tests/`, `dropins/`, `__pycache__`, old
//!   `.wasm`) and the SDK are staged in a scratch folder first, so no `__pycache__` is
//!   written into the author's folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The componentize-py release the Python SDK is built and tested with.
const COMPONENTIZE_PY: &str = "0.25.1";

/// Builds `dir`'s component into `dir/plugin.wasm` (a Rust plugin with cargo `profile`).
/// Errors: plugin.json breaks a rule (named), the folder holds neither a crate nor an
/// `app.py`, the toolchain is missing or the build fails (its output is shown).
pub fn run(dir: &Path, profile: &str) -> anyhow::Result<()> {
    let manifest =
        openclone_runtime::registry::load_manifest(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let out = dir.join("plugin.wasm");
    if dir.join("Cargo.toml").is_file() {
        build_rust(dir, profile, &out)?;
    } else if dir.join("app.py").is_file() {
        let world = if manifest.permissions.iter().any(|p| p == "net-http") {
            "capture-plugin-http"
        } else {
            "capture-plugin"
        };
        build_python(dir, world, &out)?;
    } else {
        bail!(
            "{} holds neither a Cargo.toml (a Rust plugin) nor an app.py (a Python plugin)",
            dir.display()
        );
    }
    println!("built {}", out.display());
    Ok(())
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

fn build_rust(dir: &Path, profile: &str, out: &Path) -> anyhow::Result<()> {
    let name = crate_name(dir)?;
    ensure_wasm_target()?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("target"));
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--profile",
            profile,
        ])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .status()
        .context("running cargo (install Rust from rustup.rs)")?;
    if !status.success() {
        bail!(
            "cargo build of {} failed (its errors are above)",
            dir.display()
        );
    }
    let folder = if profile == "dev" { "debug" } else { profile };
    let built = target_dir
        .join("wasm32-wasip2")
        .join(folder)
        .join(format!("{}.wasm", name.replace('-', "_")));
    std::fs::copy(&built, out)
        .with_context(|| format!("copying {} to {}", built.display(), out.display()))?;
    Ok(())
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

fn build_python(dir: &Path, world: &str, out: &Path) -> anyhow::Result<()> {
    let sdk = super::sdk::materialize()?;
    let tool = componentize_py(&sdk.root)?;
    let stage = tempfile::tempdir().context("a scratch folder")?;
    copy_tree(dir, &stage.path().join("app"), true)?;
    copy_tree(&sdk.python(), &stage.path().join("sdk"), false)?;
    let tmp = out.with_extension("wasm.tmp");
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
    std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

/// `$COMPONENTIZE_PY`, else the one in `<sdk>/python-venv`, installed there from PyPI when
/// it is not the pinned release. Errors: no `python3`, or pip failed.
fn componentize_py(sdk: &Path) -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("COMPONENTIZE_PY") {
        return Ok(PathBuf::from(p));
    }
    let venv = sdk.join("python-venv");
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

/// Copies `from` into `to`; for an app (`app`), without `tests/`, `dropins/` and built
/// components. `__pycache__` is never copied.
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
