//! What a plugin's store carries: WASI context, limits, and the plugin's link to its
//! tenant's vault, state and config.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use openclone_vault::Platform;
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::capability::{Grants, Instances};
use super::state_store::StateStore;
use crate::plugins::settings::Limits;

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
    pub ingest: Arc<crate::ingest::Ingest>,
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
    pub budget: EventBudget,
    /// The log-lines-per-minute budget ([`super::capability::log::LINES_PER_MINUTE`]).
    pub log_budget: EventBudget,
    /// The last pass's denied requests (`net-http`): how many, and the last one kept
    /// (scheme, host and port, and why), on success and failure alike.
    pub denials: Mutex<(u32, Option<String>)>,
    /// Events handed to `emit` so far (for progress displays).
    pub emitted: std::sync::atomic::AtomicU64,
}

/// A token bucket of events per minute (DESIGN.md: events per minute per plugin).
pub struct EventBudget {
    per_minute: f64,
    state: Mutex<(f64, Instant)>,
}

impl EventBudget {
    /// A full bucket of `per_minute` events, refilled continuously.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute),
            state: Mutex::new((f64::from(per_minute), Instant::now())),
        }
    }

    /// Takes `n` events. Errors: milliseconds until enough have refilled. A call larger
    /// than the whole bucket passes once the bucket is full (and empties it).
    pub fn take(&self, n: usize) -> Result<(), u32> {
        let per_ms = self.per_minute / 60_000.0;
        let mut b = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() * 1000.0 * per_ms).min(self.per_minute);
        b.1 = now;
        let need = (n as f64).min(self.per_minute);
        if b.0 >= need {
            b.0 -= n as f64;
            Ok(())
        } else {
            Err(((need - b.0) / per_ms).ceil().clamp(1.0, 60_000.0) as u32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EventBudget;

    #[test]
    fn budget_refuses_past_its_rate_and_says_how_long_to_wait() {
        let b = EventBudget::new(600);
        assert_eq!(b.take(500), Ok(()));
        assert_eq!(b.take(100), Ok(()));
        let wait = b.take(500).expect_err("spent");
        assert!(
            (49_000..=50_000).contains(&wait),
            "500 events at 10/s: {wait} ms"
        );
        let big = EventBudget::new(100);
        assert_eq!(
            big.take(500),
            Ok(()),
            "a call larger than the bucket passes when it is full"
        );
        assert!(big.take(1).is_err());
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
    /// `log` lines held back by the plugin's log rate limit.
    pub logs_suppressed: u32,
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
    /// This pass's tally.
    pub tally: Tally,
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
