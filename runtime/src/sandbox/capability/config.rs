//! `config`: the plugin's own settings, its keys of `[plugins.<id>]` checked against the
//! manifest's `config_schema`, with the schema's defaults applied.

use serde_json::{Map, Value};
use wasmtime::component::{HasSelf, Linker};

use super::{Capability, Configure, KEYS};
use super::{HOST_KEYS, SettingsError};
use crate::manifest::json_is_type;
use crate::sandbox::bindings::openclone::capture::config;
use crate::sandbox::context::PluginState;

/// The `config` capability: every plugin of the world has it.
pub struct PluginConfig;

impl Capability for PluginConfig {
    const NAME: &'static str = "config";
    const REQUESTED: bool = false;
    const KEYS: &'static [&'static str] = &[];
    /// Setting → JSON value, defaults applied.
    type Grant = Map<String, Value>;
    type Instance = ();

    /// Errors: a key that is neither the host's nor in `config_schema`, or a value of the
    /// wrong type (CONTRACT.md, `config_schema`).
    fn configure(c: &Configure<'_>) -> Result<Map<String, Value>, SettingsError> {
        let schema = c
            .manifest
            .raw
            .get("config_schema")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut config = Map::new();
        for (key, spec) in &schema {
            if let Some(default) = spec.get("default") {
                config.insert(key.clone(), default.clone());
            }
        }
        let host_key = |k: &str| HOST_KEYS.contains(&k) || KEYS.iter().any(|ks| ks.contains(&k));
        for (key, value) in c.table.iter().filter(|(k, _)| !host_key(k)) {
            let Some(spec) = schema.get(key) else {
                let known: Vec<&str> = schema.keys().map(String::as_str).collect();
                return Err(c.err(
                    key,
                    format!(
                        "is not a setting of this plugin; its config_schema has: {}",
                        if known.is_empty() {
                            "(none)".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            };
            let ty = spec.get("type").and_then(Value::as_str).unwrap_or_default();
            let json = serde_json::to_value(value).map_err(|e| c.err(key, e.to_string()))?;
            if !json_is_type(&json, ty) {
                return Err(c.err(
                    key,
                    format!("must be of type {ty} (config_schema), got {value}"),
                ));
            }
            config.insert(key.clone(), json);
        }
        Ok(config)
    }

    fn link(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
        config::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
        Ok(())
    }

    fn describe(g: &Map<String, Value>) -> String {
        format!(
            "config: {} setting(s) of its config_schema, defaults applied",
            g.len()
        )
    }
}

impl config::Host for PluginState {
    fn get(&mut self, key: String) -> Option<String> {
        self.plugin.grants.config.get(&key).map(Value::to_string)
    }
}
