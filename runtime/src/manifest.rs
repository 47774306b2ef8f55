//! `plugin.json` (CONTRACT.md, "plugin.json"): parsing and every rule of its field table.

use std::path::{Component, Path, PathBuf};

use openclone_vault::validate::plugin_id_ok;
use openclone_vault::{Platform, Sensitivity, SourceType};
use serde_json::{Map, Value};

/// A manifest that passed every rule.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Kebab-case id, unique on the host.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// Declared source types: the only ones the plugin may write.
    pub source_types: Vec<SourceType>,
    /// Declared sensitivity (at least the highest of its source types).
    pub sensitivity: Sensitivity,
    /// `requires_permissions`, as written.
    pub permissions: Vec<String>,
    /// `wasm` with the component's path, or `remote`.
    pub kind: PluginKind,
    /// The whole `plugin.json` object, for the registry listing.
    pub raw: Map<String, Value>,
}

impl Manifest {
    /// True if `requires_permissions` names `permission`.
    pub fn requests(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    /// True if the plugin stays disabled until the user enables it (CONTRACT.md,
    /// plugin.json): its sensitivity is HIGH or CRITICAL, or it requests `screen`.
    pub fn needs_opt_in(&self) -> bool {
        self.sensitivity.needs_opt_in() || self.requests("screen")
    }
}

/// How a plugin reaches the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginKind {
    /// A WebAssembly component in the plugin folder.
    Wasm {
        /// The component file (inside the plugin folder).
        component: PathBuf,
    },
    /// Feeds the host over HTTP; registered for the listing and the `source_types` check.
    Remote,
}

impl PluginKind {
    /// `wasm` or `remote`, as the registry shows it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Wasm { .. } => "wasm",
            Self::Remote => "remote",
        }
    }
}

/// A manifest that breaks a rule: the file, the field and the rule.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}: {field}: {message}")]
pub struct ManifestError {
    /// The `plugin.json` path.
    pub file: String,
    /// The offending field (`body` for the file as a whole).
    pub field: String,
    /// The rule and, where there is one, the fix.
    pub message: String,
}

const CONFIG_TYPES: [&str; 6] = ["string", "integer", "number", "boolean", "array", "object"];

/// Reads and checks `<dir>/plugin.json`.
///
/// Errors: unreadable or non-JSON file, or the first field that breaks a rule of
/// CONTRACT.md's table (id, name, version, platform, source_types, sensitivity,
/// requires_permissions, config_schema, component, sha256).
pub fn load(dir: &Path) -> Result<Manifest, ManifestError> {
    let file = dir.join("plugin.json");
    let text = std::fs::read_to_string(&file).map_err(|e| ManifestError {
        file: file.display().to_string(),
        field: "body".into(),
        message: format!("cannot be read: {e}"),
    })?;
    parse(dir, &text)
}

/// Checks the text of `<dir>/plugin.json` ([`load`] without the read): any text gets an
/// answer, never a panic (fuzzed in `host/tests/no_panic.rs`).
///
/// Errors: as [`load`].
pub fn parse(dir: &Path, text: &str) -> Result<Manifest, ManifestError> {
    let name = dir.join("plugin.json").display().to_string();
    let err = |field: &str, message: String| ManifestError {
        file: name.clone(),
        field: field.to_owned(),
        message,
    };
    let value: Value =
        serde_json::from_str(text).map_err(|e| err("body", format!("is not valid JSON: {e}")))?;
    let Value::Object(raw) = value else {
        return Err(err("body", "must be a JSON object".into()));
    };
    let string = |field: &str| match raw.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(err(field, "must be a string".into())),
        None => Err(err(field, "is required".into())),
    };
    let strings = |field: &str| -> Result<Vec<String>, ManifestError> {
        match raw.get(field) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| err(field, "must be an array of strings".into()))
                })
                .collect(),
            Some(_) => Err(err(field, "must be an array of strings".into())),
            None => Err(err(field, "is required".into())),
        }
    };
    let id = string("id")?;
    if !plugin_id_ok(&id) {
        return Err(err(
            "id",
            format!("{id:?} must be kebab-case, at most 64 chars"),
        ));
    }
    let plugin_name = string("name")?;
    if plugin_name.trim().is_empty() {
        return Err(err("name", "must not be empty".into()));
    }
    let version = string("version")?;
    if semver::Version::parse(&version).is_err() {
        return Err(err(
            "version",
            format!("{version:?} must be a semantic version such as 1.0.0"),
        ));
    }
    let platforms = strings("platform")?;
    if platforms.is_empty() {
        return Err(err("platform", "must name at least one platform".into()));
    }
    if let Some(bad) = platforms
        .iter()
        .find(|p| *p != "any" && p.parse::<Platform>().is_err())
    {
        return Err(err(
            "platform",
            format!("{bad:?} is not one of macos, windows, linux, ios, android, web, any"),
        ));
    }
    let source_types = strings("source_types")?
        .iter()
        .map(|s| {
            s.parse::<SourceType>().map_err(|()| {
                err(
                    "source_types",
                    format!("{s:?} is not one of the 15 source types"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if source_types.is_empty() {
        return Err(err(
            "source_types",
            "must name at least one source type".into(),
        ));
    }
    let sensitivity_s = string("sensitivity")?;
    let sensitivity: Sensitivity = sensitivity_s.parse().map_err(|()| {
        err(
            "sensitivity",
            format!("{sensitivity_s:?} must be LOW, MEDIUM, HIGH or CRITICAL"),
        )
    })?;
    if let Some(top) = source_types
        .iter()
        .max_by_key(|s| s.sensitivity())
        .filter(|s| s.sensitivity() > sensitivity)
    {
        return Err(err(
            "sensitivity",
            format!(
                "{} is lower than {} of source type {}; declare at least {}",
                sensitivity.as_str(),
                top.sensitivity().as_str(),
                top,
                top.sensitivity().as_str()
            ),
        ));
    }
    let permissions = match raw.get("requires_permissions") {
        None => Vec::new(),
        Some(_) => strings("requires_permissions")?,
    };
    check_config_schema(raw.get("config_schema")).map_err(|(f, m)| err(&f, m))?;
    let kind = component(dir, raw.get("component")).map_err(|m| err("component", m))?;
    match raw.get("sha256") {
        None => {}
        Some(Value::String(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {}
        Some(_) => return Err(err("sha256", "must be 64 hex digits".into())),
    }
    if raw
        .get("interval_s")
        .is_some_and(|v| v.as_u64().is_none_or(|n| n == 0))
    {
        return Err(err(
            "interval_s",
            "must be a positive whole number of seconds".into(),
        ));
    }
    Ok(Manifest {
        id,
        name: plugin_name,
        version,
        source_types,
        sensitivity,
        permissions,
        kind,
        raw,
    })
}

fn check_config_schema(schema: Option<&Value>) -> Result<(), (String, String)> {
    let entries = match schema {
        None => return Ok(()),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err((
                "config_schema".into(),
                "must be an object of setting → {type, default, description}".into(),
            ));
        }
    };
    for (key, spec) in entries {
        let field = format!("config_schema.{key}");
        let Value::Object(spec) = spec else {
            return Err((field, "must be an object with a type".into()));
        };
        let ty = spec.get("type").and_then(Value::as_str).unwrap_or_default();
        if !CONFIG_TYPES.contains(&ty) {
            return Err((
                format!("{field}.type"),
                format!("{ty:?} must be one of {}", CONFIG_TYPES.join(", ")),
            ));
        }
        if let Some(default) = spec.get("default")
            && !json_is_type(default, ty)
        {
            return Err((format!("{field}.default"), format!("must be of type {ty}")));
        }
        if spec.get("description").is_some_and(|d| !d.is_string()) {
            return Err((format!("{field}.description"), "must be a string".into()));
        }
    }
    Ok(())
}

/// True if `v` is a JSON value of config type `ty` (`integer` means a whole number).
pub fn json_is_type(v: &Value, ty: &str) -> bool {
    match ty {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

/// CONTRACT.md `component`: a relative path inside the folder, default `plugin.wasm`;
/// named but missing → error; not named and no `plugin.wasm` → a remote plugin.
fn component(dir: &Path, field: Option<&Value>) -> Result<PluginKind, String> {
    let named = match field {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err("must be a string path relative to the plugin folder".into()),
    };
    let rel = Path::new(named.unwrap_or("plugin.wasm"));
    if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!(
            "{:?} must be a relative path inside the plugin folder (no `..`, not absolute)",
            rel.display()
        ));
    }
    let path = dir.join(rel);
    match (path.is_file(), named) {
        (true, _) => Ok(PluginKind::Wasm { component: path }),
        (false, Some(n)) => Err(format!(
            "component missing: {n:?} is not in {}; build it (`openclone plugins build`) or fix the path",
            dir.display()
        )),
        (false, None) => Ok(PluginKind::Remote),
    }
}
