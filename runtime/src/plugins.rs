//! The live plugin registry, shared by the supervisor, the HTTP listing and the ingest
//! service, for which it is the [`PluginPolicy`] (CONTRACT.md, "Plugin registration").

use std::sync::{Arc, RwLock};

use openclone_ingest::service::{PluginPolicy, Refused, Sender, Tenant};
use openclone_vault::{FieldError, SourceType, Tally};

use crate::manifest::PluginKind;
use crate::registry::Registry;

/// The registry in force; replaced as a whole when the plugins folder changes.
#[derive(Default)]
pub struct Plugins {
    current: RwLock<Arc<Registry>>,
}

impl Plugins {
    /// Starts with `registry`.
    pub fn new(registry: Registry) -> Self {
        Self {
            current: RwLock::new(Arc::new(registry)),
        }
    }

    /// The registry in force.
    pub fn get(&self) -> Arc<Registry> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Puts `registry` in force (after a rescan of the plugins folder).
    pub fn set(&self, registry: Registry) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(registry);
    }
}

impl PluginPolicy for Plugins {
    /// - A plugin's own `emit`: it must be a registered WebAssembly plugin of the tenant
    ///   whose plugin.json declares the source type.
    /// - A client's envelope: the `plugin_id` of a registered WebAssembly plugin is its own
    ///   (CONTRACT.md: no client posts under it, so none forges its entries or takes its
    ///   `raw_ref`s first); a registered remote plugin must declare the source type and be
    ///   enabled; an unregistered one is refused when the tenant requires registered
    ///   plugins.
    /// - An envelope the host built (ActivityWatch): it may not take a WebAssembly
    ///   plugin's id either.
    fn admit(
        &self,
        tenant: &Tenant,
        sender: Sender,
        st: SourceType,
        pid: &str,
    ) -> Result<(), Refused> {
        let registry = self.get();
        let found = registry.get(&tenant.id, pid);
        let wasm = found.is_some_and(|(m, _)| matches!(m.kind, PluginKind::Wasm { .. }));
        let invalid = |field: &str, message: String| {
            Err(Refused::Invalid(vec![FieldError::new(field, message)]))
        };
        match (sender, found) {
            (Sender::Plugin, Some((m, _))) if wasm => {
                if m.source_types.contains(&st) {
                    Ok(())
                } else {
                    let declared: Vec<&str> = m.source_types.iter().map(|s| s.as_str()).collect();
                    Err(Refused::NotPermitted(format!(
                        "{pid} emits {st}, but its plugin.json source_types are [{}]",
                        declared.join(", ")
                    )))
                }
            }
            (Sender::Plugin, _) => Err(Refused::NotPermitted(format!(
                "{pid} is not a WebAssembly plugin registered for tenant {}",
                tenant.id
            ))),
            (Sender::Client | Sender::Host, Some(_)) if wasm => invalid(
                "plugin_id",
                format!(
                    "{pid} is a WebAssembly plugin of this host: its events come only from its own passes; post under a plugin_id of your own"
                ),
            ),
            (Sender::Host, _) => Ok(()),
            (Sender::Client, Some((m, _))) if !m.source_types.contains(&st) => invalid(
                "source_type",
                format!("plugin {pid} does not declare {st} in its plugin.json source_types"),
            ),
            (Sender::Client, Some((_, e))) if !e.settings.enabled => invalid(
                "plugin_id",
                format!(
                    "plugin {pid} is disabled on this host; set enabled = true under [plugins.{pid}] in openclone.toml"
                ),
            ),
            (Sender::Client, None) if tenant.require_registered => invalid(
                "plugin_id",
                format!(
                    "plugin {pid} is not registered on this host and the tenant requires registered plugins"
                ),
            ),
            (Sender::Client, _) => Ok(()),
        }
    }

    fn stored(&self, tenant: &str, plugin_id: &str, tally: Tally, now: f64) {
        if let Some((_, entry)) = self.get().get(tenant, plugin_id) {
            entry.counters.record(tally, now);
        }
    }
}
