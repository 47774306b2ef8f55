//! The 15 source types are defined once, in the vault crate (`openclone_vault::SourceType`:
//! wire name, folder, sensitivity and typical fields; CONTRACT.md, "The 15 source types").
//! Both SDKs' typed builders are checked against it here: the Rust SDK's through
//! `events::BUILDERS`, the Python SDK's by asking Python for each builder's wire fields.

use std::collections::BTreeSet;

use openclone_guest::events::{BUILDERS, source_name};
use openclone_vault::SourceType;

/// Fields a builder has beyond the contract's typical ones (an SDK addition the vault
/// keeps as an extra field): the command line of a shell `activity`.
const EXTRAS: &[(&str, &[&str])] = &[("activity", &["text"])];

/// What a builder of `source` must have: the vault's typical fields and the extras.
fn expected(source: &str) -> BTreeSet<String> {
    let st: SourceType = source.parse().unwrap_or_else(|()| panic!("{source}"));
    let extras = EXTRAS
        .iter()
        .find(|(s, _)| *s == source)
        .map_or(&[][..], |(_, e)| e);
    st.typical_fields()
        .iter()
        .chain(extras)
        .map(|f| (*f).to_owned())
        .collect()
}

fn all_names() -> BTreeSet<String> {
    SourceType::ALL
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect()
}

#[test]
fn the_rust_builders_match_the_vaults_source_types() {
    let names: BTreeSet<String> = BUILDERS
        .iter()
        .map(|(s, _)| source_name(*s).to_owned())
        .collect();
    assert_eq!(names, all_names(), "one builder per source type");
    for (source, fields) in BUILDERS {
        let name = source_name(*source);
        let got: BTreeSet<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        assert_eq!(got, expected(name), "{name}");
    }
}

#[test]
fn the_python_builders_match_the_vaults_source_types() {
    let sdk = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk-python");
    let script = r#"
import dataclasses, json, openclone_guest.events as ev
out = {}
for name in dir(ev):
    cls = getattr(ev, name)
    if isinstance(cls, type) and issubclass(cls, ev._Typed) and cls is not ev._Typed:
        out[cls.SOURCE.value] = [f.metadata.get("wire") or f.name for f in dataclasses.fields(cls)]
print(json.dumps(out))
"#;
    let out = std::process::Command::new("python3")
        .args(["-B", "-c", script])
        .env("PYTHONPATH", &sdk)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let builders: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&out.stdout).expect("JSON from Python");
    assert_eq!(
        builders.keys().cloned().collect::<BTreeSet<_>>(),
        all_names(),
        "one builder per source type"
    );
    for (name, fields) in builders {
        let got: BTreeSet<String> = fields.into_iter().collect();
        assert_eq!(got, expected(&name), "{name}");
    }
}
