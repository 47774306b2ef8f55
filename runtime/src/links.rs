//! What the supervisor is fed by the binary: the configuration, the live registry, and
//! what a plugin is linked to when it runs (the ingest service, its tenant's state store,
//! the host's device id).

use std::sync::Arc;

use anyhow::Context;
use openclone_ingest::config::Config;
use openclone_ingest::ratelimit::PerMinute;
use openclone_ingest::service::Ingest;
use openclone_vault::Platform;

use crate::manifest::Manifest;
use crate::plugins::Plugins;
use crate::registry::Entry;
use crate::sandbox::capability::log::LINES_PER_MINUTE;
use crate::sandbox::context::PluginContext;
use crate::sandbox::state_store::StateStore;

/// The supervisor's view of the host.
pub struct Links {
    /// The configuration the host started with.
    pub config: Config,
    /// The live registry.
    pub plugins: Arc<Plugins>,
    /// The one ingest service `emit` hands its batches to.
    pub ingest: Arc<Ingest>,
    /// Each tenant's plugin state store, by tenant number.
    pub states: Vec<Arc<StateStore>>,
    /// This host's stable device id (`device_id` of what its plugins emit).
    pub device_id: String,
}

impl Links {
    /// Links a WebAssembly plugin to its tenant's vault and state, with its config and
    /// limits (the tenant's `accept_since` joins its config). Errors: the plugin names a
    /// tenant that does not exist.
    pub fn plugin_context(
        &self,
        entry: &Entry,
        manifest: &Manifest,
    ) -> anyhow::Result<Arc<PluginContext>> {
        let index = self.ingest.tenant_index(&entry.tenant).with_context(|| {
            format!(
                "[plugins.{}] tenant = {:?} is not a configured tenant",
                manifest.id, entry.tenant
            )
        })?;
        let mut grants = entry.settings.grants.clone();
        if let Some(since) = self
            .config
            .tenants
            .iter()
            .find(|c| c.id == entry.tenant)
            .and_then(|c| c.accept_since.clone())
        {
            grants
                .config
                .insert("accept_since".into(), serde_json::Value::String(since));
        }
        Ok(Arc::new(PluginContext {
            id: manifest.id.clone(),
            version: manifest.version.clone(),
            tenant: entry.tenant.clone(),
            tenant_index: index,
            ingest: self.ingest.clone(),
            state: self.states[index].clone(),
            limits: entry.settings.limits,
            grants,
            device_id: self.device_id.clone(),
            platform: Platform::Linux,
            budget: PerMinute::new(entry.settings.grants.emit.events_per_minute),
            log_budget: PerMinute::new(LINES_PER_MINUTE),
            emitted: Default::default(),
            denials: Default::default(),
        }))
    }
}
