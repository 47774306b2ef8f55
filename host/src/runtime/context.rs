//! What a plugin's store carries: WASI context, limits, and the plugin's link to its
//! tenant's vault, state and config.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use openclone_vault::{Platform, SourceType, Vault};
use serde_json::{Map, Value};
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::state_store::StateStore;
use crate::plugins::settings::Limits;

/// Everything about a plugin that outlives one pass.
pub struct PluginContext {
    /// Plugin id (from plugin.json).
    pub id: String,
    /// Plugin version (from plugin.json).
    pub version: String,
    /// Declared source types: the only ones `emit` accepts.
    pub source_types: Vec<SourceType>,
    /// The tenant it writes for.
    pub tenant: String,
    /// That tenant's vault.
    pub vault: Arc<Vault>,
    /// That tenant's plugin state store.
    pub state: Arc<StateStore>,
    /// The plugin's config, defaults applied.
    pub config: Map<String, Value>,
    /// Its limits.
    pub limits: Limits,
    /// The host's stable device id (fills `device_id` of emitted batches).
    pub device_id: String,
    /// The host's platform.
    pub platform: Platform,
    /// The events-per-minute bucket: (tokens, last refill).
    pub bucket: Mutex<(f64, Instant)>,
}

impl PluginContext {
    /// Takes `n` event tokens. Errors: milliseconds until enough have refilled. A request
    /// larger than the whole bucket passes when the bucket is full.
    pub fn take_events(&self, n: usize) -> Result<(), u32> {
        let cap = f64::from(self.limits.events_per_minute);
        let per_ms = cap / 60_000.0;
        let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() * 1000.0 * per_ms).min(cap);
        b.1 = now;
        let need = (n as f64).min(cap);
        if b.0 >= need {
            b.0 -= n as f64;
            Ok(())
        } else {
            Err(((need - b.0) / per_ms).ceil().clamp(1.0, 60_000.0) as u32)
        }
    }
}

/// What one pass tallied from its `emit` calls (the host's own count, not the guest's).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// `emit` calls.
    pub calls: u32,
    /// Events stored.
    pub stored: u32,
    /// Events skipped as duplicates.
    pub skipped: u32,
    /// Calls refused (invalid, not permitted, too large, rate limited, storage).
    pub refused: u32,
}

/// The `T` of a plugin's `Store<T>`.
pub struct PluginState {
    /// WASI: preopens, clocks, random; no env, args, sockets or stdin.
    pub wasi: WasiCtx,
    /// WASI resources.
    pub table: ResourceTable,
    /// Memory and instance limits.
    pub limits: StoreLimits,
    /// The plugin.
    pub plugin: Arc<PluginContext>,
    /// This pass's tally.
    pub tally: Tally,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
