//! `openclone plugins new NAME --source-type T --lang python`: a Python plugin on the Python
//! guest SDK (`guest-sdk-python/`) that passes its own test under the SDK's harness and
//! emits one sample event, ready for `openclone plugins build <folder>` and
//! `openclone capture`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use openclone_vault::SourceType;
use openclone_vault::validate::plugin_id_ok;
use serde_json::{Map, Value, json};

/// `value` as a Python literal (JSON text is one, but for `null`, `true` and `false`).
fn py_literal(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(_) | Value::String(_) => value.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_literal).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), py_literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The keyword of a `data` field in the SDK's typed builders (`from` is a Python keyword).
fn py_keyword(field: &str) -> String {
    if field == "from" {
        "from_".to_owned()
    } else {
        field.to_owned()
    }
}

/// True if `field` can be a keyword argument: `[a-z_][a-z0-9_]*`.
fn is_keyword(field: &str) -> bool {
    let mut chars = field.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The plugin's class name: the id in CamelCase + `Plugin` (`my-notes` → `MyNotesPlugin`),
/// after a `P` when the id starts with a digit.
fn class_name(name: &str) -> String {
    let camel: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let prefix = if camel.starts_with(|c: char| c.is_ascii_digit()) {
        "P"
    } else {
        ""
    };
    format!("{prefix}{camel}Plugin")
}

/// The `{Builder}(field=value, …)` call that makes `data` a typed event of `source`.
fn builder_call(source: SourceType, data: &Map<String, Value>) -> String {
    let args: String = data
        .iter()
        .map(|(k, v)| format!("            {}={},\n", py_keyword(k), py_literal(v)))
        .collect();
    format!("events.{source:?}(\n{args}        )")
}

/// Writes the plugin into `root` (plugin.json, app.py, tests/test_plugin.py, README.md),
/// its sample event being `data` (the typed fields of `source`) through the SDK's builder.
/// Errors: a bad name, a `data` field that is not a Python keyword argument, `root` exists,
/// the SDK is not at `sdk_python`, a file cannot be written.
///
/// With `screen`, the plugin reads the focused window's text instead of emitting a sample
/// ([`super::scaffold_screen::python_app`]).
pub fn run(
    name: &str,
    source: SourceType,
    data: &Map<String, Value>,
    screen: bool,
    root: &Path,
    sdk_python: &Path,
) -> anyhow::Result<()> {
    if !plugin_id_ok(name) {
        bail!("{name:?} is not a plugin id: kebab-case, at most 64 chars (e.g. my-notes)");
    }
    if let Some(field) = data.keys().find(|k| !is_keyword(k)) {
        bail!("the sample field {field:?} is not a Python keyword argument");
    }
    if root.exists() {
        bail!("{} already exists", root.display());
    }
    let sdk = std::fs::canonicalize(sdk_python).with_context(|| {
        format!(
            "the Python guest SDK (guest-sdk-python) is not at {}",
            sdk_python.display()
        )
    })?;
    let class = class_name(name);
    let member = source.as_str().to_uppercase();
    let files: [(PathBuf, String); 4] = [
        (
            root.join("plugin.json"),
            serde_json::to_string_pretty(&json!({
                "id": name, "name": name, "version": "0.1.0", "platform": ["any"],
                "source_types": [source.as_str()], "sensitivity": source.sensitivity().as_str(),
                "requires_permissions": [if screen { "screen" } else { "fs-read" }],
                "config_schema": {},
            }))? + "\n",
        ),
        (
            root.join("app.py"),
            if screen {
                super::scaffold_screen::python_app(name, &class)
            } else {
                format!(
                    r#""""`{name}`: an OpenClone capture plugin (scaffolded by `openclone plugins new --lang python`).

Replace the sample in `capture` with your own: read the granted folders
(`ctx.changed_files()`), emit what is new, and let `raw_ref` make reruns harmless.
"""

from openclone_guest import Ctx, Plugin, SourceType, clock, events, export


class {class}(Plugin):
    """The plugin; `id`, `version` and `source_types` match plugin.json."""

    id = "{name}"
    version = "0.1.0"
    source_types = (SourceType.{member},)

    def capture(self, ctx: Ctx) -> None:
        """Emits one sample event; its `raw_ref` makes every later pass store nothing."""
        sample = {call}
        ctx.emit(sample.at(clock.now()).raw_ref("{name}-sample"))


WitWorld = export({class})
"#,
                    call = builder_call(source, data),
                )
            },
        ),
        (
            root.join("tests/test_plugin.py"),
            if screen {
                super::scaffold_screen::python_test(name, &class)
            } else {
                format!(
                    r#""""`{name}` against the Python guest SDK's in-memory host (see README.md)."""

import json
import sys
import unittest
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PLUGIN))

from app import {class}  # noqa: E402
from openclone_guest.testing import Harness  # noqa: E402


class Sample(unittest.TestCase):
    def test_emits_its_sample_once(self) -> None:
        with Harness() as host:
            self.assertEqual(host.capture({class}).stored, 1)
            self.assertEqual(host.capture({class}).stored, 0, "a rerun is skipped by raw_ref")
            self.assertEqual(host.events()[0].raw_ref, "{name}-sample")

    def test_matches_plugin_json(self) -> None:
        manifest = json.loads((PLUGIN / "plugin.json").read_text(encoding="utf-8"))
        self.assertEqual(manifest["id"], {class}.id)
        self.assertEqual(manifest["version"], {class}.version)
        self.assertEqual(manifest["source_types"], [s.value for s in {class}.source_types])


if __name__ == "__main__":
    unittest.main()
"#
                )
            },
        ),
        (
            root.join("README.md"),
            format!(
                "# {name}\n\nAn OpenClone capture plugin in Python emitting `{source}` events.\n\n- test (from this folder): `PYTHONPATH={sdk} python3 -m unittest discover -s tests`; the harness checks events with the host's `openclone` binary (on PATH, or set `OPENCLONE_BIN`)\n- build the component into this folder: `openclone plugins build {root}` (it installs componentize-py 0.25.1 into a virtualenv of its own, once, or uses `$COMPONENTIZE_PY`)\n- or install the SDK: `pip install {sdk}`\n- install: put this folder (plugin.json + plugin.wasm) into the host's plugins folder\n- try it: `openclone capture --plugin {name}`\n",
                sdk = sdk.display(),
                root = root.display(),
            ),
        ),
    ];
    for (path, text) in files {
        std::fs::create_dir_all(path.parent().unwrap_or(root))?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "Created {} (Python, {} plugin, source type {source}).",
        root.display(),
        source.sensitivity().as_str()
    );
    println!(
        "Next: cd {} && PYTHONPATH={} python3 -m unittest discover -s tests; then openclone plugins build {} to build plugin.wasm in place.",
        root.display(),
        sdk.display(),
        root.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{builder_call, class_name, py_literal};
    use openclone_vault::SourceType;
    use serde_json::json;

    #[test]
    fn python_literals_names_and_the_builder_call() {
        assert_eq!(
            py_literal(&json!({"a": [1, "x\"y", null, true, false, 2.5]})),
            r#"{"a": [1, "x\"y", None, True, False, 2.5]}"#
        );
        assert_eq!(class_name("my-notes"), "MyNotesPlugin");
        assert_eq!(class_name("3d-scans"), "P3dScansPlugin");
        let data = json!({"subject": "Hi", "from": "ann@example.com", "to": ["bo"]});
        let call = builder_call(SourceType::Email, data.as_object().expect("an object"));
        assert_eq!(
            call,
            "events.Email(\n            from_=\"ann@example.com\",\n            subject=\"Hi\",\n            to=[\"bo\"],\n        )"
        );
    }
}
