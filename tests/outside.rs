//! A plugin author outside this repository, with only the `openclone` binary (and the Rust
//! and Python toolchains a plugin is written in): `init`, `plugins new` in Rust and in
//! Python, each plugin's own tests, `plugins build`, `capture` — in an empty folder, with
//! the SDKs and the WIT the binary carries (written under `$HOME`, not read from here).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{built_plugins, stored_of, vault_files};

/// The repository root: only for the shared compile caches, never for sources.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `openclone ARGS` in `dir` as the author runs it: their own `$HOME`.
fn openclone(home: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_openclone"))
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env_remove("OPENCLONE_SDK")
        .env_remove("OPENCLONE_DATA")
        // The compile caches of this test run, so the author's first build is not paid
        // twice here; neither holds a source the plugins are built from.
        .env("CARGO_TARGET_DIR", repo().join("target/scaffold"))
        .envs(
            // The run's componentize-py when the plugin build installed one (it does not
            // when every Python component was reused); else the author's first build
            // installs its own, as it would for them.
            Some(repo().join("target/python-venv/bin/componentize-py"))
                .filter(|p| p.exists())
                .map(|p| ("COMPONENTIZE_PY", p)),
        )
        .output()
        .expect("openclone runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openclone {args:?}:\n{text}");
    text
}

/// `cargo test` of the scaffolded crate in `dir`, with this run's compile cache.
fn cargo_test(dir: &Path, what: &str) {
    let test = Command::new("cargo")
        .args(["test", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", repo().join("target/scaffold"))
        .output()
        .expect("cargo test runs");
    assert!(
        test.status.success(),
        "{what}:\n{}",
        String::from_utf8_lossy(&test.stderr)
    );
}

/// The scaffolded Python plugin's own tests in `dir`, on the SDK at `sdk`.
fn python_test(sdk: &Path, dir: &Path, what: &str) {
    let unittest = Command::new("python3")
        .args(["-B", "-m", "unittest", "discover", "-s"])
        .arg(dir.join("tests"))
        .env(
            "PYTHONPATH",
            std::env::join_paths([sdk, dir]).expect("PYTHONPATH"),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("OPENCLONE_BIN", env!("CARGO_BIN_EXE_openclone"))
        .output()
        .expect("python3 runs");
    assert!(
        unittest.status.success(),
        "{what}:\n{}",
        String::from_utf8_lossy(&unittest.stderr)
    );
}

#[test]
fn an_author_with_only_the_binary_scaffolds_tests_builds_and_captures() {
    built_plugins();
    let work = tempfile::tempdir().expect("tempdir");
    let (home, host) = (work.path().join("home"), work.path().join("memory"));
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&host).expect("host folder");
    openclone(&home, &host, &["init"]);

    openclone(
        &home,
        &host,
        &["plugins", "new", "demo-rust", "--source-type", "braindump"],
    );
    let rust = host.join("plugins/demo-rust");
    let manifest = std::fs::read_to_string(rust.join("Cargo.toml")).expect("Cargo.toml");
    let repo = std::fs::canonicalize(repo()).expect("repo");
    assert!(
        !manifest.contains(&*repo.to_string_lossy()),
        "the crate depends on the SDK the binary wrote out, not on this checkout:\n{manifest}"
    );
    cargo_test(&rust, "the Rust scaffold passes its own test");
    openclone(&home, &host, &["plugins", "build", "plugins/demo-rust"]);
    assert!(rust.join("plugin.wasm").is_file());

    openclone(
        &home,
        &host,
        &["plugins", "new", "demo-screen", "--capability", "screen"],
    );
    let screen = host.join("plugins/demo-screen");
    let plugin_json = std::fs::read_to_string(screen.join("plugin.json")).expect("plugin.json");
    assert!(
        plugin_json.contains("\"screen\"") && plugin_json.contains("screen_ocr"),
        "{plugin_json}"
    );
    cargo_test(
        &screen,
        "the screen scaffold passes its own tests on canned frames",
    );
    openclone(&home, &host, &["plugins", "build", "plugins/demo-screen"]);
    assert!(screen.join("plugin.wasm").is_file());

    let said = openclone(
        &home,
        &host,
        &[
            "plugins",
            "new",
            "demo-py",
            "--lang",
            "python",
            "--source-type",
            "notes",
        ],
    );
    let python = host.join("plugins/demo-py");
    let sdk = said
        .split("PYTHONPATH=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("the next step names the SDK: {said}"));
    assert!(sdk.starts_with(&home), "{}", sdk.display());
    assert!(
        sdk.join("pyproject.toml").is_file(),
        "an installable package"
    );
    python_test(&sdk, &python, "the Python scaffold passes its own test");
    openclone(
        &home,
        &host,
        &[
            "plugins",
            "new",
            "demo-py-screen",
            "--lang",
            "python",
            "--capability",
            "screen",
        ],
    );
    python_test(
        &sdk,
        &host.join("plugins/demo-py-screen"),
        "the Python screen scaffold passes its own tests on canned frames",
    );
    openclone(&home, &host, &["plugins", "build", "plugins/demo-py"]);
    assert!(
        !python.join("__pycache__").exists(),
        "nothing written into the author's folder"
    );

    let out = openclone(&home, &host, &["capture"]);
    assert_eq!(stored_of(&out, "demo-rust"), Some(1), "{out}");
    assert_eq!(stored_of(&out, "demo-py"), Some(1), "{out}");
    let vault = vault_files(&host.join("data/vaults/default"));
    assert!(
        vault
            .iter()
            .any(|(p, t)| p.starts_with("Braindump/") && t.contains("demo-rust")),
        "{vault:?}"
    );
    assert!(
        vault.iter().any(|(p, _)| p.starts_with("Notes/")),
        "{vault:?}"
    );
}
