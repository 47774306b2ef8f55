//! `openclone plugins new NAME --source-type T`: a plugin crate on the guest SDK that
//! builds, passes its own test and emits one sample event, ready for
//! `openclone plugins build <folder>` and `openclone capture`. With `--capability screen`
//! it reads the focused window's text instead ([`super::scaffold_screen`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use openclone_vault::SourceType;
use openclone_vault::validate::plugin_id_ok;
use serde_json::{Map, Value, json};

/// A sample value for a typical field (the scaffold's event).
fn sample(field: &str, name: &str) -> Value {
    match field {
        "duration" | "confidence" | "steps" | "heart_rate" | "sleep_hours" | "accuracy"
        | "reading_time" => json!(1),
        "lat" => json!(52.52),
        "lon" => json!(13.405),
        "start" | "end" | "timestamp" => json!(1_708_258_800),
        "attendees" | "tags" | "to" => json!([format!("sample {field}")]),
        _ => json!(format!("Sample {field} from {name}")),
    }
}

/// The sample event's `data`: a value for each typical field of `st`.
fn sample_data(st: SourceType, name: &str) -> Map<String, Value> {
    st.typical_fields()
        .iter()
        .map(|f| ((*f).to_owned(), sample(f, name)))
        .collect()
}

fn camel(name: &str) -> String {
    name.split('-')
        .map(|p| p[..1].to_uppercase() + &p[1..])
        .collect()
}

/// What a scaffolded plugin reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Capability {
    /// Granted folders (`fs-read`): emits a sample event to replace with your own.
    FsRead,
    /// The focused window's text (`screen`): emits it as `screen_ocr` when it changed.
    Screen,
}

/// The language of a scaffolded plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A crate on the Rust guest SDK.
    Rust,
    /// An `app.py` on the Python guest SDK.
    Python,
}

/// Writes the plugin into `dir/<name>` on the guest SDK at `sdk` (the crate for Rust, the
/// package folder for Python). Errors: a bad name or type, the folder exists.
///
/// With [`Capability::Screen`] the source type is `screen_ocr` (the default); another is
/// refused.
pub fn run(
    name: &str,
    source: Option<&str>,
    capability: Capability,
    dir: &Path,
    lang: Lang,
    sdk: &Path,
) -> anyhow::Result<()> {
    if !plugin_id_ok(name) {
        bail!("{name:?} is not a plugin id: kebab-case, at most 64 chars (e.g. my-notes)");
    }
    let source = match (capability, source) {
        (Capability::Screen, None | Some("screen_ocr")) => "screen_ocr",
        (Capability::Screen, Some(other)) => bail!(
            "--capability screen scaffolds a screen_ocr plugin; --source-type {other} is for --capability fs-read"
        ),
        (Capability::FsRead, Some(s)) => s,
        (Capability::FsRead, None) => bail!("--source-type is required (e.g. braindump)"),
    };
    let st: SourceType = source
        .parse()
        .map_err(|()| anyhow::anyhow!("{source:?} is not one of the 15 source types"))?;
    let root = dir.join(name);
    if root.exists() {
        bail!("{} already exists", root.display());
    }
    if lang == Lang::Python {
        let screen = capability == Capability::Screen;
        return super::scaffold_python::run(name, st, &sample_data(st, name), screen, &root, sdk);
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        bail!("{name:?}: a Rust plugin's id is its crate name, which cannot start with a digit");
    }
    let sdk = std::fs::canonicalize(sdk)
        .with_context(|| format!("the guest SDK is not at {}; pass --sdk PATH", sdk.display()))?;
    let variant = format!("{st:?}");
    let data = sample_data(st, name);
    let camel_name = camel(name);
    let crate_name = name.replace('-', "_");
    let (permission, lib, test) = match capability {
        Capability::Screen => (
            "screen",
            super::scaffold_screen::lib(name, &camel_name),
            super::scaffold_screen::test(name, &crate_name, &camel_name),
        ),
        Capability::FsRead => (
            "fs-read",
            format!(
                r#"//! `{name}`: an OpenClone capture plugin (scaffolded by `openclone plugins new`).
//!
//! Replace the sample in `capture` with your own: read the granted folders
//! (`ctx.changed_files`), emit what is new, and let `raw_ref` make reruns harmless.

use openclone_guest::prelude::*;
use openclone_guest::serde_json::json;

/// The plugin.
pub struct {camel};

impl Plugin for {camel} {{
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::{variant}];

    fn capture(ctx: &mut Ctx) -> Result<()> {{
        let sample = json!({data});
        ctx.emit(Emit::new(SourceType::{variant}, openclone_guest::time::now(), sample).raw_ref("{name}-sample"))?;
        Ok(())
    }}
}}

openclone_guest::export_plugin!({camel});
"#,
                camel = camel_name,
                data = Value::Object(data.clone()),
            ),
            format!(
                "//! `{name}` against the SDK's in-memory host.\n\nuse openclone_guest::testing::Harness;\n\n#[test]\nfn emits_its_sample_once() -> openclone_guest::Result<()> {{\n    let mut host = Harness::new();\n    assert_eq!(host.capture::<{crate_name}::{camel}>()?.stored, 1);\n    assert_eq!(host.capture::<{crate_name}::{camel}>()?.stored, 0, \"a rerun is skipped by raw_ref\");\n    Ok(())\n}}\n",
                camel = camel_name,
            ),
        ),
    };
    let files: [(PathBuf, String); 5] = [
        (
            root.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n[dependencies]\nopenclone-guest = {{ path = {:?} }}\n\n[profile.release]\nopt-level = \"s\"\nstrip = true\n\n# A crate of its own, not part of an enclosing workspace.\n[workspace]\n",
                sdk.display().to_string()
            ),
        ),
        (
            root.join("plugin.json"),
            serde_json::to_string_pretty(&json!({
                "id": name, "name": name, "version": "0.1.0", "platform": ["any"],
                "source_types": [st.as_str()], "sensitivity": st.sensitivity().as_str(),
                "requires_permissions": [permission], "config_schema": {},
            }))? + "\n",
        ),
        (root.join("src/lib.rs"), lib),
        (root.join("tests/plugin.rs"), test),
        (
            root.join("README.md"),
            format!(
                "# {name}\n\nAn OpenClone capture plugin emitting `{st}` events.\n\n- test: `cargo test`\n- build the component into this folder: `openclone plugins build {}`\n- install: put this folder (plugin.json + plugin.wasm) into the host's plugins folder\n- try it: `openclone capture --plugin {name}`\n",
                root.display()
            ),
        ),
    ];
    for (path, text) in files {
        std::fs::create_dir_all(path.parent().unwrap_or(&root))?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "Created {} ({} plugin, source type {st}).",
        root.display(),
        st.sensitivity().as_str()
    );
    println!(
        "Next: cd {} && cargo test; then openclone plugins build {} to build plugin.wasm in place.",
        root.display(),
        root.display()
    );
    Ok(())
}
