//! The `openclone:capture` imports: `emit` (into the one vault pipeline), `log`, `config`
//! and `state`.

use openclone_vault::{FieldError as VaultFieldError, Registered, Rules, validate_value};
use serde_json::{Value, json};

use super::bindings::openclone::capture::{config, emit, log, state, types};
use super::bindings::{EmitError, Event, FieldError, Receipt, SourceType, source_type};
use super::context::PluginState;
use super::state_store::{Put, StateError};
use crate::guard::no_panic;
use crate::http::unix_now;

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
    fn emit_inner(&mut self, source: SourceType, events: Vec<Event>) -> Result<Receipt, EmitError> {
        let p = &self.plugin;
        let st = source_type(source);
        if !p.source_types.contains(&st) {
            return Err(EmitError::NotPermitted(format!(
                "{} emits {st}, but its plugin.json source_types are [{}]",
                p.id,
                p.source_types
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
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
        let mut errs = Vec::new();
        let items: Vec<Value> = events
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let data = serde_json::from_str::<Value>(&e.data).unwrap_or_else(|err| {
                    errs.push(VaultFieldError::new(
                        format!("events[{i}].data"),
                        format!("not valid JSON: {err}"),
                    ));
                    Value::Null
                });
                json!({ "timestamp": e.timestamp, "data": data, "raw_ref": e.raw_ref })
            })
            .collect();
        let now = unix_now();
        let envelope = json!({
            "source_type": st.as_str(), "platform": p.platform.as_str(), "device_id": p.device_id,
            "plugin_id": p.id, "plugin_version": p.version, "timestamp": now, "events": items,
        });
        let registered = Registered {
            source_types: p.source_types.clone(),
            enabled: true,
        };
        let registration = move |_: &str| Some(registered.clone());
        let rules = Rules {
            now,
            registration: &registration,
            require_registered: false,
        };
        let batch = match validate_value(envelope, &rules) {
            Ok(b) if errs.is_empty() => b,
            Ok(_) => return Err(invalid(errs)),
            Err(more) => {
                let fresh: Vec<_> = more
                    .into_iter()
                    .filter(|e| !errs.iter().any(|x| x.field == e.field))
                    .collect();
                errs.extend(fresh);
                return Err(invalid(errs));
            }
        };
        match p.vault.ingest(batch) {
            Ok(r) => {
                p.metrics
                    .events(&p.tenant, st.as_str(), r.stored, r.skipped);
                Ok(Receipt {
                    stored: r.stored,
                    skipped: r.skipped,
                    files: r.files,
                })
            }
            Err(e) => Err(EmitError::Storage(e.to_string())),
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
