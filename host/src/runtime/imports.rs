//! The `openclone:capture` imports: `emit` (into the one vault pipeline), `log`, `config`
//! and `state`.

use std::time::Instant;

use openclone_vault::{FieldError as VaultFieldError, RawEvent};
use serde_json::Value;

use super::bindings::openclone::capture::{config, emit, log, state, types};
use super::bindings::{EmitError, Event, FieldError, Receipt, SourceType, source_type};
use super::context::PluginState;
use super::state_store::{Put, StateError};
use crate::guard::no_panic;
use crate::ingest::{Origin, Refused};

impl types::Host for PluginState {}

impl emit::Host for PluginState {
    /// Validates, sanitizes, dedups and stores through the same `vault` crate as HTTP
    /// ingest. The envelope fields come from the manifest and the host.
    fn emit(&mut self, source: SourceType, events: Vec<Event>) -> Result<Receipt, EmitError> {
        self.tally.calls += 1;
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
            Ok(r) => {
                self.tally.stored += r.stored;
                self.tally.skipped += r.skipped;
            }
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
    fn emit_inner(&mut self, source: SourceType, events: Vec<Event>) -> Result<Receipt, EmitError> {
        let started = Instant::now();
        let p = &self.plugin;
        let bytes: u64 = events
            .iter()
            .map(|e| (e.data.len() + e.raw_ref.as_ref().map_or(0, String::len) + 16) as u64)
            .sum();
        if bytes > p.limits.emit_max_bytes {
            return Err(EmitError::TooLarge(p.limits.emit_max_bytes));
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
        let stored = p
            .ingest
            .check_events(p, source_type(source), &raw)
            .and_then(|batch| {
                p.ingest
                    .store_blocking(Origin::Emit, p.tenant_index, batch, started)
            });
        match stored {
            Ok(r) => Ok(Receipt {
                stored: r.stored,
                skipped: r.skipped,
                files: r.files,
            }),
            Err(Refused::Invalid(errs)) => Err(invalid(errs)),
            Err(Refused::NotPermitted(m)) => Err(EmitError::NotPermitted(m)),
            Err(Refused::Storage(m) | Refused::Internal(m)) => Err(EmitError::Storage(m)),
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

/// Longest log line kept from a guest, bytes.
const MAX_LOG_BYTES: usize = 4096;

/// A guest's text made safe for the host's log: control characters shown escaped, capped.
pub fn clean_log_text(message: &str) -> String {
    let mut end = message.len().min(MAX_LOG_BYTES);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message[..end]
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

impl log::Host for PluginState {
    fn log(&mut self, level: log::Level, message: String) {
        if self.plugin.log_budget.take(1).is_err() {
            self.tally.logs_suppressed += 1;
            return;
        }
        let plugin = &self.plugin.id;
        let message = clean_log_text(&message);
        match level {
            log::Level::Trace => tracing::trace!(plugin = %plugin, "{message}"),
            log::Level::Debug => tracing::debug!(plugin = %plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin = %plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin = %plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin = %plugin, "{message}"),
        }
    }
}

impl config::Host for PluginState {
    fn get(&mut self, key: String) -> Option<String> {
        self.plugin.config.get(&key).map(Value::to_string)
    }
}

fn state_err(e: StateError) -> state::StateError {
    match e {
        StateError::ValueTooLarge(n) => state::StateError::ValueTooLarge(n),
        StateError::Full(n) => state::StateError::Full(n),
        StateError::InvalidKey(m) => state::StateError::InvalidKey(m),
        StateError::Storage(m) => state::StateError::Storage(m),
    }
}

impl PluginState {
    /// `lookup` and (with `consume`) `consume`, in the plugin's own rows.
    fn get(
        &self,
        namespace: &str,
        key: &str,
        consume: bool,
    ) -> Result<Option<String>, state::StateError> {
        self.plugin
            .state
            .lookup(&self.plugin.id, namespace, key, consume)
            .map_err(state_err)
    }

    /// `register` and `register-if-absent`: stores `value` under the plugin's own id.
    fn put(&self, namespace: &str, key: &str, put: Put<'_>) -> Result<bool, state::StateError> {
        let p = &self.plugin;
        p.state
            .register(&p.id, namespace, key, put, p.limits.state)
            .map_err(state_err)
    }
}

impl state::Host for PluginState {
    fn register(
        &mut self,
        namespace: String,
        key: String,
        value: String,
        ttl_ms: Option<u64>,
    ) -> Result<(), state::StateError> {
        self.put(
            &namespace,
            &key,
            Put {
                value: &value,
                ttl_ms,
                only_if_absent: false,
            },
        )
        .map(drop)
    }

    fn register_if_absent(
        &mut self,
        namespace: String,
        key: String,
        value: String,
        ttl_ms: Option<u64>,
    ) -> Result<bool, state::StateError> {
        self.put(
            &namespace,
            &key,
            Put {
                value: &value,
                ttl_ms,
                only_if_absent: true,
            },
        )
    }

    fn lookup(
        &mut self,
        namespace: String,
        key: String,
    ) -> Result<Option<String>, state::StateError> {
        self.get(&namespace, &key, false)
    }

    fn consume(
        &mut self,
        namespace: String,
        key: String,
    ) -> Result<Option<String>, state::StateError> {
        self.get(&namespace, &key, true)
    }

    fn clear(&mut self, namespace: String) -> Result<(), state::StateError> {
        self.plugin
            .state
            .clear(&self.plugin.id, &namespace)
            .map_err(state_err)
    }
}
