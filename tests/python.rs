//! Python plugins: the Python guest SDK's and journal-jrnl's own tests against
//! the host's rules, componentize-py components in the real host, byte-identical vault
//! entries from a Python and a Rust plugin, and `plugins new --lang python` end to end.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{built_plugins, capture, install_plugin, stored_of, vault_files};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A host folder whose compiled components are cached in one folder shared by the tests
/// (a Python component takes seconds to compile; entries are keyed by content).
fn host_dir(settings: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = root().join("target/e2e-component-cache");
    std::fs::write(
        dir.path().join("openclone.toml"),
        format!(
            "component_cache = {:?}\n\n[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\n\n{settings}\n",
            cache.display().to_string()
        ),
    )
    .expect("config");
    dir
}

/// Runs `python3 -m unittest discover -s TESTS` with `pythonpath`, the host binary as the
/// harness's checker; (success, output).
fn unittest(tests: &Path, pythonpath: &[PathBuf]) -> (bool, String) {
    let joined = std::env::join_paths(pythonpath).expect("PYTHONPATH");
    let out = Command::new("python3")
        .args(["-B", "-m", "unittest", "discover", "-s"])
        .arg(tests)
        .env("PYTHONPATH", joined)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("OPENCLONE_BIN", env!("CARGO_BIN_EXE_openclone"))
        .output()
        .expect("python3 runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_python_sdk_and_plugins_pass_their_own_tests_under_the_hosts_rules() {
    let sdk = root().join("guest-sdk-python");
    let (ok, out) = unittest(&sdk.join("tests"), std::slice::from_ref(&sdk));
    assert!(ok, "guest-sdk-python tests:\n{out}");
    let jrnl = root().join("plugins/journal-jrnl");
    let (ok, out) = unittest(&jrnl.join("tests"), &[sdk.clone(), jrnl.clone()]);
    assert!(ok, "journal-jrnl tests:\n{out}");
    let probe = root().join("tests/plugins/net-probe-python");
    let (ok, out) = unittest(&probe.join("tests"), &[sdk, probe.clone()]);
    assert!(ok, "net-probe-python tests:\n{out}");
}

#[test]
fn the_python_journal_component_fills_the_vault_in_the_real_host() {
    let fixtures = root().join("plugins/journal-jrnl/tests/fixtures");
    let dir = host_dir(&format!(
        "[plugins.journal-jrnl]\nenabled = true\npaths = [{:?}]\n",
        fixtures.display().to_string()
    ));
    install_plugin(&dir.path().join("plugins"), "journal-jrnl");
    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "{out}");
    let stored = stored_of(&out, "journal-jrnl").unwrap_or(0);
    assert!(stored >= 5, "{out}");
    let files = vault_files(&dir.path().join("data/vaults/default"));
    assert!(
        files.iter().all(|(rel, _)| rel.starts_with("Journal/")),
        "{files:?}"
    );
    let text: String = files.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        text.matches("· journal-jrnl").count() as u64,
        stored,
        "{text}"
    );
    let (ok, again) = capture(dir.path(), &[]);
    assert!(ok, "{again}");
    assert_eq!(stored_of(&again, "journal-jrnl"), Some(0), "{again}");
    let log = std::fs::read_to_string(dir.path().join("host.log")).unwrap_or_default();
    assert!(
        log.contains("from_cache=true"),
        "the second run loads the compiled Python component from the cache:\n{log}"
    );
}

#[test]
fn a_python_and_a_rust_plugin_emitting_the_same_events_write_byte_identical_entries() {
    let run = |dropin: &str| {
        let dir = host_dir("[plugins.twin]\nenabled = true\n");
        std::fs::create_dir_all(dir.path().join("data")).expect("data");
        std::fs::write(
            dir.path().join("data/device-id"),
            "0f2c6a1e-9b3d-4c5e-8f7a-1b2c3d4e5f60",
        )
        .expect("device id");
        // Both drop-ins are the plugin `twin`: its folder must be named so.
        let to = dir.path().join("plugins/twin");
        std::fs::create_dir_all(&to).expect("plugin folder");
        for f in ["plugin.json", "plugin.wasm"] {
            std::fs::copy(built_plugins().join(dropin).join(f), to.join(f)).expect("copy");
        }
        let (ok, out) = capture(dir.path(), &[]);
        assert!(ok, "{dropin}: {out}");
        assert_eq!(stored_of(&out, "twin"), Some(15), "{dropin}: {out}");
        vault_files(&dir.path().join("data/vaults/default"))
    };
    let rust = run("twin-rust");
    let python = run("twin-python");
    assert_eq!(rust.len(), python.len());
    for ((rel_r, text_r), (rel_p, text_p)) in rust.iter().zip(&python) {
        assert_eq!(rel_r, rel_p);
        assert_eq!(text_r, text_p, "{rel_r} differs between Rust and Python");
    }
}
