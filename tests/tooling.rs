//! `openclone plugins list` and `openclone plugins validate`, as a plugin author runs them.

use std::path::Path;
use std::process::Command;

use crate::support::{KEY, built_plugins, capture, install_plugin};

fn openclone(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_openclone"))
        .args(args)
        .current_dir(dir)
        .env("API_KEY", KEY)
        .env_remove("OPENCLONE_DATA")
        .env("RUST_LOG", "error")
        .output()
        .expect("openclone runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn copy_plugin(id: &str, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for f in ["plugin.json", "plugin.wasm"] {
        let from = built_plugins().join(id).join(f);
        if from.exists() {
            std::fs::copy(from, to.join(f)).expect("copy");
        }
    }
}

#[test]
fn validate_accepts_a_good_plugin_and_names_each_problem_with_its_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("calendar-ics");
    copy_plugin("calendar-ics", &good);
    let (ok, out) = openclone(
        dir.path(),
        &["plugins", "validate", good.to_str().expect("utf-8")],
    );
    assert!(
        ok && out.contains("ok    describe: calendar-ics@0.1.0 emitting [calendar]")
            && out.contains("is a valid plugin"),
        "{out}"
    );

    let future = dir.path().join("future-world");
    copy_plugin("future-world", &future);
    let (ok, out) = openclone(
        dir.path(),
        &["plugins", "validate", future.to_str().expect("utf-8")],
    );
    assert!(
        !ok && out.contains("FAIL  component")
            && out.contains("built for openclone:capture@1.0.0")
            && out.contains("rebuild it"),
        "{out}"
    );

    let pinned = dir.path().join("pinned");
    copy_plugin("calendar-ics", &pinned);
    let manifest = std::fs::read_to_string(pinned.join("plugin.json")).expect("manifest");
    std::fs::write(
        pinned.join("plugin.json"),
        manifest.replacen(
            '{',
            &format!("{{\n  \"sha256\": \"{}\",", "ab".repeat(32)),
            1,
        ),
    )
    .expect("pin");
    let (ok, out) = openclone(
        dir.path(),
        &["plugins", "validate", pinned.to_str().expect("utf-8")],
    );
    assert!(
        !ok && out.contains("but plugin.json pins") && out.contains("update its sha256"),
        "{out}"
    );

    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).expect("dir");
    std::fs::write(bad.join("plugin.json"), r#"{"id":"bad","name":"Bad","version":"1","platform":["linux"],"source_types":["notes"],"sensitivity":"LOW"}"#).expect("manifest");
    let (ok, out) = openclone(
        dir.path(),
        &["plugins", "validate", bad.to_str().expect("utf-8")],
    );
    assert!(
        !ok && out.contains("FAIL  manifest")
            && out.contains("version")
            && out.contains("semantic version"),
        "{out}"
    );

    std::fs::write(
        bad.join("plugin.json"),
        r#"{"id":"bad","name":"Bad","version":"1.0.0","platform":["linux"],"source_types":["notes"],"sensitivity":"LOW","config_schema":{"n":{"type":"integer","default":"ten"}}}"#,
    )
    .expect("manifest");
    let (ok, out) = openclone(
        dir.path(),
        &["plugins", "validate", bad.to_str().expect("utf-8")],
    );
    assert!(
        !ok && out.contains("config_schema.n.default") && out.contains("must be of type integer"),
        "{out}"
    );
}

#[test]
fn list_shows_what_is_installed_and_what_it_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cals = dir.path().join("calendars");
    std::fs::create_dir_all(&cals).expect("calendars");
    std::fs::copy(
        crate::support::fixtures().join("ics/sabre_test.ics"),
        cals.join("x.ics"),
    )
    .expect("ics");
    std::fs::write(
        dir.path().join("openclone.toml"),
        "[plugins.calendar-ics]\npaths = [\"calendars\"]\nfrom = \"2020-01-01\"\n",
    )
    .expect("config");
    for id in ["calendar-ics", "email-headers"] {
        install_plugin(&dir.path().join("plugins"), id);
    }
    assert!(capture(dir.path(), &[]).0);
    let (ok, out) = openclone(dir.path(), &["plugins", "list", "--json"]);
    assert!(ok, "{out}");
    let rows: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let cal = rows
        .as_array()
        .and_then(|r| r.iter().find(|p| p["id"] == "calendar-ics"))
        .expect("listed");
    assert_eq!(
        (
            cal["kind"].as_str(),
            cal["enabled"].as_bool(),
            cal["entries_in_vault"].as_u64()
        ),
        (Some("wasm"), Some(true), Some(3))
    );
    let mail = rows
        .as_array()
        .and_then(|r| r.iter().find(|p| p["id"] == "email-headers"))
        .expect("listed");
    assert_eq!(
        (mail["status"].as_str(), mail["sensitivity"].as_str()),
        (Some("disabled"), Some("CRITICAL"))
    );
    let (ok, table) = openclone(dir.path(), &["plugins", "list"]);
    assert!(
        ok && table
            .lines()
            .any(|l| l.starts_with("calendar-ics") && l.contains("calendar")),
        "{table}"
    );
}

#[test]
fn enable_and_disable_keep_the_config_file_byte_for_byte_and_high_plugins_ask() {
    let dir = tempfile::tempdir().expect("tempdir");
    for id in ["calendar-ics", "email-headers"] {
        install_plugin(&dir.path().join("plugins"), id);
    }
    let original = "# My OpenClone host\nlisten = \"127.0.0.1:8000\"   # local only\n\n[plugins.calendar-ics]\n# keep me\nenabled = false   # for now\npaths = [ \"cal\" ]\n\n[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"   # from .env\n";
    let file = dir.path().join("openclone.toml");
    std::fs::write(&file, original).expect("config");
    let read = || std::fs::read_to_string(&file).expect("config");

    let (ok, out) = openclone(dir.path(), &["plugins", "enable", "calendar-ics"]);
    assert!(ok, "{out}");
    assert_eq!(
        read(),
        original.replace("enabled = false   # for now", "enabled = true   # for now"),
        "only the value changed"
    );

    let before = read();
    let (ok, out) = openclone(dir.path(), &["plugins", "enable", "email-headers"]);
    assert!(
        !ok && out.contains("CRITICAL") && out.contains("captures email") && out.contains("--yes"),
        "{out}"
    );
    assert_eq!(read(), before, "nothing written without confirmation");
    let (ok, out) = openclone(dir.path(), &["plugins", "enable", "email-headers", "--yes"]);
    assert!(ok, "{out}");
    let after = read();
    let expected = before.replacen(
        "\n\n[[tenants]]",
        "\n\n[plugins.email-headers]\nenabled = true\n\n[[tenants]]",
        1,
    );
    assert_eq!(
        after, expected,
        "the new table joins the other plugin tables; every other byte is kept"
    );

    let (ok, out) = openclone(dir.path(), &["plugins", "disable", "calendar-ics"]);
    assert!(ok, "{out}");
    assert_eq!(
        read(),
        after.replace("enabled = true   # for now", "enabled = false   # for now")
    );
    let (ok, out) = openclone(dir.path(), &["plugins", "list", "--json"]);
    assert!(ok && out.contains("\"status\": \"disabled\""), "{out}");
}

#[test]
fn init_then_serve_then_the_printed_curl_line_stores_an_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("memory");
    let out = Command::new(env!("CARGO_BIN_EXE_openclone"))
        .args(["init", "memory"])
        .current_dir(dir.path())
        .output()
        .expect("init");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let config = std::fs::read_to_string(folder.join("openclone.toml")).expect("config written");
    assert!(folder.join("data").is_dir() && folder.join("plugins").is_dir());
    let curl = text
        .lines()
        .find(|l| l.starts_with("curl "))
        .expect("a curl line")
        .to_owned();
    let key = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("oc_"))
        .expect("the key");
    assert!(!config.contains(key), "only the hash is stored");
    assert!(
        config.contains(&hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            key.as_bytes()
        )))
    );

    let mut serve = Command::new(env!("CARGO_BIN_EXE_openclone"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(&folder)
        .env_remove("API_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
        serve.stdout.take().expect("stdout"),
    ));
    let base = lines
        .find_map(|l| {
            l.ok()?
                .strip_prefix("openclone: listening on ")
                .map(str::to_owned)
        })
        .expect("address");
    let sent = Command::new("sh")
        .arg("-c")
        .arg(curl.replace("http://127.0.0.1:8000", &base) + " -s")
        .output()
        .expect("curl runs");
    let _ = serve.kill();
    let _ = serve.wait();
    let answer = String::from_utf8_lossy(&sent.stdout);
    assert!(answer.contains("\"stored\":1"), "{answer}");
    let vault = crate::support::vault_files(&folder.join("data/vaults/default"));
    assert!(
        vault
            .iter()
            .any(|(p, t)| p.starts_with("Braindump/") && t.contains("My first memory.")),
        "{vault:?}"
    );

    let again = Command::new(env!("CARGO_BIN_EXE_openclone"))
        .args(["init", "memory"])
        .current_dir(dir.path())
        .output()
        .expect("init");
    assert!(!again.status.success(), "init never overwrites a config");
}

#[test]
fn doctor_names_each_problem_and_its_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugins = dir.path().join("plugins");
    for id in ["calendar-ics", "future-world"] {
        install_plugin(&plugins, id);
    }
    copy_plugin("well-behaved", &plugins.join("well-behaved"));
    let manifest =
        std::fs::read_to_string(plugins.join("well-behaved/plugin.json")).expect("manifest");
    std::fs::write(
        plugins.join("well-behaved/plugin.json"),
        manifest.replacen(
            '{',
            &format!("{{\n  \"sha256\": \"{}\",", "cd".repeat(32)),
            1,
        ),
    )
    .expect("pin");
    std::fs::create_dir_all(plugins.join("broken")).expect("dir");
    std::fs::write(plugins.join("broken/plugin.json"), r#"{"id":"broken","name":"B","version":"1.0.0","platform":["linux"],"source_types":["notes"],"sensitivity":"HIGHEST"}"#).expect("manifest");
    std::fs::write(
        dir.path().join("not-a-folder"),
        "a file where the vault should be",
    )
    .expect("file");
    std::fs::write(
        dir.path().join("openclone.toml"),
        "[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\nvault = \"not-a-folder\"\n\n[plugins.calendar-ics]\npast_days = \"thirty\"\n",
    )
    .expect("config");
    let (ok, out) = openclone(dir.path(), &["doctor"]);
    assert!(!ok, "{out}");
    let fail = |needle: &str| {
        out.lines()
            .any(|l| l.starts_with("FAIL") && l.contains(needle))
    };
    assert!(
        fail("plugin broken") && out.contains("sensitivity") && out.contains("fix:"),
        "a bad manifest field:\n{out}"
    );
    assert!(
        fail("past_days") && out.contains("must be of type integer"),
        "a config value of the wrong type:\n{out}"
    );
    assert!(
        fail("plugin future-world component") && out.contains("built for openclone:capture@1.0.0"),
        "another WIT major version:\n{out}"
    );
    assert!(
        fail("plugin well-behaved component") && out.contains("but plugin.json pins"),
        "a sha256 mismatch:\n{out}"
    );
    assert!(
        fail("tenant default vault")
            && out.contains("not a writable folder")
            && out.contains("fix:"),
        "an unwritable vault:\n{out}"
    );

    let clean = tempfile::tempdir().expect("tempdir");
    install_plugin(&clean.path().join("plugins"), "calendar-ics");
    std::fs::write(
        clean.path().join("openclone.toml"),
        format!(
            "[[tenants]]\nid = \"default\"\napi_key_sha256 = [\"{}\"]\n",
            "ab".repeat(32)
        ),
    )
    .expect("config: a stored key hash (the quick-start key is too short for doctor)");
    let (ok, out) = openclone(clean.path(), &["doctor"]);
    assert!(
        ok && out.contains("all checks passed")
            && out.contains("ok    plugin calendar-ics describe"),
        "{out}"
    );
}

#[test]
fn plugins_build_out_makes_drop_ins_and_reuses_an_unchanged_python_component() {
    // The shared virtualenv is made once, by the run's plugin build: two installs into it
    // at once would remove componentize-py under another test's feet.
    crate::support::built_plugins();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = tempfile::tempdir().expect("tempdir");
    let build = |folder: &str| {
        let o = out.path().display().to_string();
        let venv = root.join("target/python-venv").display().to_string();
        let dir = root.join(folder).display().to_string();
        openclone(
            &root,
            &[
                "plugins",
                "build",
                "--python-venv",
                &venv,
                "--out",
                &o,
                &dir,
            ],
        )
    };
    // twin-python has no plugin.json of its own: each dropins/<name>/plugin.json becomes
    // OUT/<name>/ with the folder's one component.
    let (ok, text) = build("tests/plugins/twin-python");
    assert!(ok, "{text}");
    let first = std::fs::read(out.path().join("twin-python/plugin.wasm")).expect("built");
    // The suite's own build of the same folder, with the same binary, is reused byte for
    // byte: componentize-py is not reproducible, so a rebuild would differ.
    let suite = std::fs::read(built_plugins().join("twin-python/plugin.wasm")).expect("suite's");
    assert!(first == suite, "an unchanged Python plugin was built again");
    // A remote plugin is copied as its manifest alone.
    let (ok, text) = build("plugins/remote-python");
    assert!(ok, "{text}");
    assert!(out.path().join("remote-python/plugin.json").is_file());
    assert!(!out.path().join("remote-python/plugin.wasm").exists());
    // A folder with nothing to build names what it lacks.
    let empty = tempfile::tempdir().expect("tempdir");
    let (ok, text) = build(&empty.path().display().to_string());
    assert!(!ok && text.contains("plugin.json"), "{text}");
}
