//! Nobody writes as somebody else: an HTTP client cannot post under a WebAssembly
//! plugin's id nor take another event's dedup key with a chosen `raw_ref`, and a component
//! rewritten in place (same length, mtime set back) is not taken for the one its
//! plugin.json pins.

use std::path::Path;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{Host, batch, built_plugins, install_plugin, openclone};

#[test]
fn an_http_client_cannot_post_as_a_webassembly_plugin() {
    let host = Host::prepared("", |dir| {
        install_plugin(&dir.join("plugins"), "notes-markdown");
    });
    let mut forged = batch(
        "notes",
        vec![
            json!({"timestamp": 1708258800.0, "data": {"title": "Forged", "text": "not mine"}, "raw_ref": "n/forged.md"}),
        ],
    );
    forged["plugin_id"] = json!("notes-markdown");
    let r = host.post(&forged);
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(r.json["details"][0]["field"], "plugin_id", "{}", r.json);
    assert!(
        r.json["details"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("WebAssembly plugin")),
        "{}",
        r.json
    );
    forged["plugin_id"] = json!("my-notes-sync");
    assert_eq!(
        host.post(&forged).status,
        200,
        "another id is the client's own"
    );
}

#[test]
fn a_chosen_raw_ref_does_not_pre_empt_an_event_without_one() {
    let host = Host::start();
    let mut content = b"t:1708258800.0\0".to_vec();
    content.extend_from_slice(br#"{"text":"Hello!"}"#);
    let forged = String::from_utf8(content).expect("utf-8");
    let first = host.post(&batch(
        "braindump",
        vec![json!({"timestamp": 1708258800.0, "data": {"text": "decoy"}, "raw_ref": forged})],
    ));
    assert_eq!(first.json["stored"], 1, "{}", first.json);
    let real = host.post(&batch(
        "braindump",
        vec![json!({"timestamp": 1708258800.0, "data": {"text": "Hello!"}})],
    ));
    assert_eq!(
        (real.json["stored"].clone(), real.json["skipped"].clone()),
        (json!(1), json!(0)),
        "{}",
        real.json
    );
}

/// Rewrites `file` in place with `edit` applied to its bytes, same length, and sets its
/// modification time back to what it was.
fn rewrite_keeping_mtime(file: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let mtime = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .expect("mtime");
    let mut bytes = std::fs::read(file).expect("read");
    let len = bytes.len();
    edit(&mut bytes);
    assert_eq!(bytes.len(), len);
    std::fs::write(file, &bytes).expect("rewrite");
    std::fs::File::options()
        .write(true)
        .open(file)
        .and_then(|f| f.set_modified(mtime))
        .expect("set the mtime back");
}

fn copy_plugin(id: &str, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for f in ["plugin.json", "plugin.wasm"] {
        std::fs::copy(built_plugins().join(id).join(f), to.join(f)).expect("copy");
    }
}

#[test]
fn a_component_rewritten_with_its_mtime_set_back_is_hashed_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pinned = dir.path().join("pinned");
    copy_plugin("calendar-ics", &pinned);
    let wasm = pinned.join("plugin.wasm");
    let sha = hex::encode(Sha256::digest(std::fs::read(&wasm).expect("wasm")));
    let manifest = std::fs::read_to_string(pinned.join("plugin.json")).expect("manifest");
    std::fs::write(
        pinned.join("plugin.json"),
        manifest.replacen('{', &format!("{{\n  \"sha256\": \"{sha}\","), 1),
    )
    .expect("pin");
    let validate = |p: &Path| {
        let (ok, out, err) = openclone(
            dir.path(),
            &["plugins", "validate", p.to_str().expect("utf-8")],
        );
        (ok, format!("{out}{err}"))
    };
    let (ok, out) = validate(&pinned);
    assert!(ok, "the pinned component as built: {out}");
    rewrite_keeping_mtime(&wasm, |b| {
        let mid = b.len() / 2;
        b[mid] ^= 0x55;
    });
    let (ok, out) = validate(&pinned);
    assert!(
        !ok && out.contains("but plugin.json pins"),
        "a same-length rewrite with its mtime set back fails the pin:\n{out}"
    );

    let plain = dir.path().join("plain");
    copy_plugin("calendar-ics", &plain);
    let (ok, out) = validate(&plain);
    assert!(ok, "{out}");
    rewrite_keeping_mtime(&plain.join("plugin.wasm"), |b| b[..8].fill(0));
    let (ok, out) = validate(&plain);
    assert!(
        !ok && out.contains("not a loadable WebAssembly component"),
        "an unpinned component is read again, not taken from the memo:\n{out}"
    );
}
