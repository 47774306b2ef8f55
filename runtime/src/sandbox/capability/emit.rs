//! `emit`: hands events to the one ingest service (validation, sanitization, dedup, the
//! vault), within the plugin's declared source types, bytes per call and events per
//! minute (DESIGN.md, "Running plugins").

use std::time::Instant;

use openclone_vault::{FieldError as VaultFieldError, RawEvent, SourceType, Tally};
use wasmtime::component::{HasSelf, Linker};

use super::{Capability, Configure};
use openclone_ingest::guard::no_panic;
use openclone_ingest::service::{Envelope, Input, Origin, Refused};

/// The way in of a plugin's `emit`: the host builds the envelope from the manifest, and the
/// registry admits only the plugin's own declared source types.
pub const EMIT: Origin = Origin::plugin("emit");
use crate::sandbox::bindings::openclone::capture::{emit, types};
use crate::sandbox::bindings::{EmitError, Event, FieldError, Receipt, source_type};
use crate::sandbox::capability::SettingsError;
use crate::sandbox::context::PluginState;

/// The `emit` capability: every plugin of the world has it.
pub struct Emit;

/// What `emit` accepts from one plugin.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The manifest's `source_types`: the only ones `emit` stores.
    pub source_types: Vec<SourceType>,
    /// Bytes of events one call may carry; `emit_max_bytes`, default 1 MiB (as HTTP).
    pub max_bytes: u64,
    /// Events per minute (token bucket); `events_per_minute`, default 120,000.
    pub events_per_minute: u32,
}

impl Default for Grant {
    fn default() -> Self {
        Self {
            source_types: Vec::new(),
            max_bytes: 1 << 20,
            events_per_minute: 120_000,
        }
    }
}

impl Capability for Emit {
    const NAME: &'static str = "emit";
    const REQUESTED: bool = false;
    const KEYS: &'static [&'static str] = &["emit_max_bytes", "events_per_minute"];
    type Grant = Grant;
    type Instance = ();

    fn configure(c: &Configure<'_>) -> Result<Grant, SettingsError> {
        let d = Grant::default();
        Ok(Grant {
            source_types: c.manifest.source_types.clone(),
            max_bytes: c.positive("emit_max_bytes", d.max_bytes)?,
            events_per_minute: c.positive_u32("events_per_minute", d.events_per_minute)?,
        })
    }

    fn link(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
        types::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
        emit::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
        Ok(())
    }

    fn describe(g: &Grant) -> String {
        let types: Vec<&str> = g.source_types.iter().map(|s| s.as_str()).collect();
        format!(
            "emit: {} only, at most {} bytes per call and {} events a minute",
            types.join(", "),
            g.max_bytes,
            g.events_per_minute
        )
    }
}

impl types::Host for PluginState {}

impl emit::Host for PluginState {
    /// Validates, sanitizes, dedups and stores through the same `vault` crate as HTTP
    /// ingest. The envelope fields come from the manifest and the host.
    fn emit(
        &mut self,
        source: types::SourceType,
        events: Vec<Event>,
    ) -> Result<Receipt, EmitError> {
        self.plugin
            .emitted
            .fetch_add(events.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let result = no_panic(&format!("emit of {}", self.plugin.id), || {
            self.emit_inner(source, events)
        })
        .unwrap_or_else(|m| {
            Err(EmitError::Storage(format!(
                "internal error in the host: {m}"
            )))
        });
        match &result {
            Ok(r) => self.tally += Tally::new(u64::from(r.stored), u64::from(r.skipped)),
            Err(e) => {
                self.tally.refused += 1;
                tracing::warn!(plugin = %self.plugin.id, error = ?e, "emit refused");
            }
        }
        result
    }
}

impl PluginState {
    /// The plugin's own limits (bytes per call, events per minute), then the one ingest
    /// service: permission, validation, the vault, metrics and counters.
    fn emit_inner(
        &mut self,
        source: types::SourceType,
        events: Vec<Event>,
    ) -> Result<Receipt, EmitError> {
        if self.describing {
            return Err(EmitError::NotPermitted(
                "emit during describe: describe has no side effects".into(),
            ));
        }
        let started = Instant::now();
        let p = &self.plugin;
        let grant = &p.grants.emit;
        let bytes: u64 = events
            .iter()
            .map(|e| (e.data.len() + e.raw_ref.as_ref().map_or(0, String::len) + 16) as u64)
            .sum();
        if bytes > grant.max_bytes {
            return Err(EmitError::TooLarge(grant.max_bytes));
        }
        p.budget
            .take(events.len())
            .map_err(EmitError::RateLimited)?;
        let raw: Vec<RawEvent<'_>> = events
            .iter()
            .map(|e| RawEvent {
                timestamp: e.timestamp,
                data: &e.data,
                raw_ref: e.raw_ref.as_deref(),
            })
            .collect();
        let envelope = Envelope {
            source_type: source_type(source),
            platform: p.platform,
            device_id: &p.device_id,
            plugin_id: &p.id,
            plugin_version: &p.version,
        };
        let stored = p
            .ingest
            .check(EMIT, p.tenant_index, Input::Typed(&envelope, &raw))
            .and_then(|checked| p.ingest.store_blocking(checked, started));
        match stored {
            Ok(r) => Ok(Receipt {
                stored: saturating_u32(r.tally.stored),
                skipped: saturating_u32(r.tally.skipped),
                files: r.files,
            }),
            Err(Refused::Invalid(errs)) => Err(invalid(errs)),
            Err(Refused::NotPermitted(m)) => Err(EmitError::NotPermitted(m)),
            Err(Refused::Storage(m) | Refused::Unavailable(m) | Refused::Internal(m)) => {
                Err(EmitError::Storage(m))
            }
        }
    }
}

fn invalid(errs: Vec<VaultFieldError>) -> EmitError {
    EmitError::Invalid(
        errs.into_iter()
            .map(|e| FieldError {
                field: e.field,
                message: e.message,
            })
            .collect(),
    )
}

/// `n` as the WIT's `u32`, at most `u32::MAX` (a batch holds at most 500 events).
fn saturating_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
