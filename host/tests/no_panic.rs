//! Fuzzing (proptest) of what a person or a plugin author writes: `plugin.json` and
//! `openclone.toml` (every manifest and config gets an answer, never a panic).
//!
//! Cases per property: `PROPTEST_CASES` (default 2,000 here).

use std::path::Path;

use openclone_ingest::config::Config;
use openclone_runtime::manifest;
use proptest::prelude::*;
use serde_json::{Value, json};

/// `PROPTEST_CASES`, default 2,000.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// A value a manifest field could wrongly hold: a string, a list of strings, an object of
/// them, a number, a boolean or null.
fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::String),
        "[a-z0-9\\-./*é€]{0,12}".prop_map(Value::String),
        prop::collection::vec("[a-z\\-*]{0,8}", 0..3).prop_map(|v| json!(v)),
        prop::collection::btree_map("[a-z_]{0,6}", "[a-z]{0,6}", 0..3).prop_map(|m| json!(m)),
        any::<f64>().prop_map(|f| json!(f)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

const MANIFEST_FIELDS: &[&str] = &[
    "id",
    "name",
    "version",
    "platform",
    "source_types",
    "sensitivity",
    "requires_permissions",
    "config_schema",
    "component",
    "sha256",
    "allowed_hosts",
];

fn manifest_text() -> impl Strategy<Value = String> {
    let good = json!({
        "id": "fuzz", "name": "Fuzz", "version": "1.0.0", "platform": ["any"],
        "source_types": ["braindump"], "sensitivity": "LOW", "requires_permissions": [],
        "config_schema": {"mode": {"type": "string", "default": "x"}}
    });
    prop_oneof![
        any::<String>(),
        prop::collection::vec((prop::sample::select(MANIFEST_FIELDS), field_value()), 0..6)
            .prop_map(move |changes| {
                let mut m = good.clone();
                for (k, v) in changes {
                    m[k] = v;
                }
                m.to_string()
            }),
    ]
}

const CONFIG_LINES: &[&str] = &[
    "listen = \"127.0.0.1:0\"",
    "listen = \"[::1]:99999\"",
    "data_dir = \"\"",
    "[[tenants]]",
    "id = \"a\"",
    "id = \"€\"",
    "timezone = \"Mars/Base\"",
    "vault = \"/\"",
    "api_key_sha256 = [\"zz\"]",
    "[ingest]",
    "rate_per_s = nan",
    "rate_burst = -1",
    "[http]",
    "max_connections = 0",
    "header_read_timeout_s = 18446744073709551615",
    "[plugins.x]",
    "paths = [1, \"~\"]",
    "timeout_s = 0",
    "memory_mb = 99999999999",
    "= broken",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_manifest_gets_an_answer(text in manifest_text()) {
        if let Ok(m) = manifest::parse(Path::new("/plugins/fuzz"), &text) {
            let _ = openclone_runtime::sandbox::capability::check_manifest(&m.raw);
        }
    }

    #[test]
    fn any_config_gets_an_answer(
        lines in prop::collection::vec(prop::sample::select(CONFIG_LINES), 0..12),
        noise in any::<String>(),
    ) {
        let _ = Config::parse(&lines.join("\n"), Path::new("/tmp"), "openclone.toml");
        let _ = Config::parse(&noise, Path::new("/tmp"), "openclone.toml");
    }
}
