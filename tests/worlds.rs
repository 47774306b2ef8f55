//! Every world version the host shipped still loads: `braindump-inbox` as built for
//! `openclone:capture@0.1.0` (before `capture-report` grew `skipped-records`) and for
//! 0.2.0, both committed under `tests/fixtures/components/` (NOTICE.md says how they were
//! built), each captures an inbox file in the real host.

use crate::support::{capture, fixtures, stored_of, vault_files};

/// Installs the committed `braindump-inbox` of world `version` over an inbox of three
/// paragraphs and runs `capture` twice: (first output, second output, vault text).
fn capture_with(version: &str) -> (String, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    std::fs::write(
        inbox.join("inbox.md"),
        "Call the plumber about the boiler.\n\nIdea: a map of every bakery we liked.\n\nBuy a birthday card for Mia.\n",
    )
    .expect("inbox file");
    let to = dir.path().join("plugins/braindump-inbox");
    std::fs::create_dir_all(&to).expect("plugin folder");
    let from = fixtures()
        .join("components")
        .join(version)
        .join("braindump-inbox");
    for f in ["plugin.json", "plugin.wasm"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap_or_else(|e| panic!("{version}/{f}: {e}"));
    }
    let i = inbox.display().to_string();
    std::fs::write(
        dir.path().join("openclone.toml"),
        format!("[plugins.braindump-inbox]\npaths = [{i:?}]\n"),
    )
    .expect("config");
    let (ok, first) = capture(dir.path(), &[]);
    assert!(ok, "{version}: {first}");
    let (ok, second) = capture(dir.path(), &[]);
    assert!(ok, "{version}: {second}");
    let text: String = vault_files(&dir.path().join("data/vaults/default"))
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    (first, second, text)
}

#[test]
fn components_built_for_0_1_0_and_0_2_0_load_and_capture() {
    for version in ["0.1.0", "0.2.0"] {
        let (first, second, text) = capture_with(version);
        assert_eq!(
            stored_of(&first, "braindump-inbox"),
            Some(3),
            "{version}: {first}"
        );
        assert_eq!(
            stored_of(&second, "braindump-inbox"),
            Some(0),
            "{version}: {second}"
        );
        for p in [
            "Call the plumber",
            "bakery we liked",
            "birthday card for Mia",
        ] {
            assert!(text.contains(p), "{version}: {p}\n{text}");
        }
    }
}
