//! What a plugin's store carries: WASI context, limits, and the plugin's link to its
//! tenant's vault, state and config.

use std::sync::{Arc, Mutex};

use openclone_ingest::ratelimit::PerMinute;
use openclone_vault::{Platform, Tally};
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::capability::{Grants, Instances};
use super::state_store::StateStore;
use std::time::Duration;

/// Per-instance limits (DESIGN.md: all configurable, sane defaults); each capability
/// keeps its own in its grant.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall time one call may take before its epoch deadline stops it; `timeout_s`, default 30.
    pub timeout: Duration,
    /// Linear memory, bytes; `memory_mb`, default 64.
    pub memory_bytes: usize,
    /// Consecutive failed passes before the plugin is parked as `error`; default 5.
    pub max_failures: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            memory_bytes: 64 << 20,
            max_failures: 5,
        }
    }
}

/// Everything about a plugin that outlives one pass.
pub struct PluginContext {
    /// Plugin id (from plugin.json).
    pub id: String,
    /// Plugin version (from plugin.json).
    pub version: String,
    /// The tenant it writes for.
    pub tenant: String,
    /// That tenant's number in the ingest service.
    pub tenant_index: usize,
    /// The one ingest service `emit` hands its batches to.
    pub ingest: Arc<openclone_ingest::service::Ingest>,
    /// That tenant's plugin state store.
    pub state: Arc<StateStore>,
    /// Its per-instance limits.
    pub limits: Limits,
    /// What each capability grants it; `grants.config` carries the tenant's `accept_since`.
    pub grants: Grants,
    /// The host's stable device id (fills `device_id` of emitted batches).
    pub device_id: String,
    /// The host's platform.
    pub platform: Platform,
    /// The events-per-minute budget.
    pub budget: PerMinute,
    /// The log-lines-per-minute budget ([`super::capability::log::LINES_PER_MINUTE`]).
    pub log_budget: PerMinute,
    /// The last pass's denied requests (`net-http`): how many, and the last one kept
    /// (scheme, host and port, and why), on success and failure alike.
    pub denials: Mutex<(u32, Option<String>)>,
    /// Events handed to `emit` so far (for progress displays).
    pub emitted: std::sync::atomic::AtomicU64,
}

/// The store's resource limiter: wasmtime's `StoreLimits`, plus the peak linear memory
/// the instance reached (for the registry and `/metrics`).
pub struct Limiter {
    inner: StoreLimits,
    /// Largest linear memory granted, bytes.
    pub peak_memory: usize,
}

impl Limiter {
    /// Wraps `limits`.
    pub fn new(limits: StoreLimits) -> Self {
        Self {
            inner: limits,
            peak_memory: 0,
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum);
        if matches!(allowed, Ok(true)) {
            self.peak_memory = self.peak_memory.max(desired);
        }
        allowed
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// The `T` of a plugin's `Store<T>`.
pub struct PluginState {
    /// WASI: preopens, clocks, random; no env, args, sockets or stdin.
    pub wasi: WasiCtx,
    /// WASI resources.
    pub table: ResourceTable,
    /// Memory and instance limits.
    pub limits: Limiter,
    /// The plugin.
    pub plugin: Arc<PluginContext>,
    /// This pass's events, as the host counted its `emit` calls (not the guest's own
    /// report): stored, skipped, and `refused` calls (invalid, not permitted, too large,
    /// rate limited, storage).
    pub tally: Tally,
    /// `log` calls held back by the plugin's log rate limit in this pass.
    pub logs_suppressed: u32,
    /// Each capability's state in this instance.
    pub instances: Instances,
    /// The instance answers `describe` only: `emit` and state writes are refused (WIT:
    /// "no side effects").
    pub describing: bool,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
