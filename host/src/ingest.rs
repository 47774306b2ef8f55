//! The one ingest service (issue 10): every way in — `POST /api/v1/ingest`, a plugin's
//! `emit`, and each later one — hands its batch here, and only here are host policy
//! (registration, permission), validation, the vault, metrics (events, and latency per
//! origin), per-plugin counters and the log done. A new way in is a caller of
//! [`Ingest::check_body`] or [`Ingest::check_events`] and [`Ingest::submit`], nothing more.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use openclone_vault::{
    Batch, FieldError, Platform, RawEvent, Receipt, Rules, SourceType, Vault, envelope_ids,
    validate_events, validate_value,
};

use crate::guard::no_panic;
use crate::http::unix_now;
use crate::metrics::Metrics;
use crate::plugins::manifest::PluginKind;
use crate::plugins::registry::Registry;
use crate::runtime::context::PluginContext;

/// Where a batch came from: the `origin` label of the latency metric, and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `POST /api/v1/ingest`.
    Http,
    /// A WebAssembly plugin's `emit`.
    Emit,
    /// A session of an ActivityWatch watcher ([`crate::activitywatch`]).
    ActivityWatch,
}

impl Origin {
    /// The metric label: `http`, `emit`, `activitywatch`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Emit => "emit",
            Self::ActivityWatch => "activitywatch",
        }
    }
}

/// Why a batch was not stored; each way in maps it to its own answer (422/500, the WIT
/// `emit-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Field violations, each naming its field (CONTRACT.md: 422).
    Invalid(Vec<FieldError>),
    /// The plugin may not emit this source type.
    NotPermitted(String),
    /// The vault failed (CONTRACT.md: 500 `storage_failed`).
    Storage(String),
    /// A bug in the host, caught and logged (500 `internal_error`).
    Internal(String),
}

/// The envelope of typed events, built by the host (CONTRACT.md's envelope fields; the
/// plugin id must be kebab-case, the version semver, the device id `[A-Za-z0-9._:-]`).
pub struct Envelope<'a> {
    /// The batch's source type.
    pub source_type: SourceType,
    /// The capturing platform.
    pub platform: Platform,
    /// The capturing device.
    pub device_id: &'a str,
    /// Who captured it.
    pub plugin_id: &'a str,
    /// Its version.
    pub plugin_version: &'a str,
}

/// One tenant's side of the service.
pub struct Sink {
    /// Tenant id.
    pub id: String,
    /// Its vault.
    pub vault: Arc<Vault>,
    /// `require_registered_plugins`.
    pub require_registered: bool,
    /// The lower timestamp bound, Unix seconds (`accept_since`, default 2020-01-01).
    pub earliest: f64,
}

impl Sink {
    fn rules(&self) -> Rules {
        Rules {
            now: unix_now(),
            earliest: self.earliest,
        }
    }
}

/// The service. One per host, shared by every way in.
pub struct Ingest {
    tenants: Vec<Sink>,
    registry: Arc<RwLock<Arc<Registry>>>,
    metrics: Arc<Metrics>,
}

impl Ingest {
    /// The service over `tenants` (in config order), the live plugin registry and the
    /// host's metrics.
    pub fn new(
        tenants: Vec<Sink>,
        registry: Arc<RwLock<Arc<Registry>>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            tenants,
            registry,
            metrics,
        }
    }

    fn registry(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Parses and checks an HTTP body for tenant number `tenant`: the contract's field rules
    /// and, in the same list of violations, host policy — the `plugin_id` of a registered
    /// WebAssembly plugin is its own (CONTRACT.md: no client posts under it, so none forges
    /// its entries or takes its `raw_ref`s first); a registered remote plugin must declare
    /// the batch's source type and be enabled; an unregistered one is refused when the
    /// tenant requires registered plugins.
    ///
    /// Errors: [`Refused::Invalid`] with every violation; [`Refused::Internal`] on a bug.
    pub fn check_body(&self, tenant: usize, body: &[u8]) -> Result<Batch, Refused> {
        let sink = &self.tenants[tenant];
        let rules = sink.rules();
        no_panic("ingest", || {
            let value = match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(v) => v,
                Err(e) => {
                    return Err(vec![FieldError::new(
                        "body",
                        format!("not valid JSON: {e}"),
                    )]);
                }
            };
            let policy = match envelope_ids(&value) {
                (Some(st), Some(pid)) => self.policy(sink, st, pid),
                _ => None,
            };
            match (validate_value(value, &rules), policy) {
                (Ok(batch), None) => Ok(batch),
                (Ok(_), Some(p)) => Err(vec![p]),
                (Err(mut errs), p) => {
                    errs.extend(p);
                    Err(errs)
                }
            }
        })
        .map_err(Refused::Internal)?
        .map_err(Refused::Invalid)
    }

    /// Host policy for plugin `pid` sending `st` to `sink`, as one field error.
    fn policy(&self, sink: &Sink, st: SourceType, pid: &str) -> Option<FieldError> {
        let registry = self.registry();
        match registry.get(&sink.id, pid) {
            Some((m, _)) if matches!(m.kind, PluginKind::Wasm { .. }) => Some(FieldError::new(
                "plugin_id",
                format!(
                    "{pid} is a WebAssembly plugin of this host: its events come only from its own passes; post under a plugin_id of your own"
                ),
            )),
            Some((m, _)) if !m.source_types.contains(&st) => Some(FieldError::new(
                "source_type",
                format!("plugin {pid} does not declare {st} in its plugin.json source_types"),
            )),
            Some((_, e)) if !e.settings.enabled => Some(FieldError::new(
                "plugin_id",
                format!(
                    "plugin {pid} is disabled on this host; set enabled = true under [plugins.{pid}] in openclone.toml"
                ),
            )),
            None if sink.require_registered => Some(FieldError::new(
                "plugin_id",
                format!(
                    "plugin {pid} is not registered on this host and the tenant requires registered plugins"
                ),
            )),
            _ => None,
        }
    }

    /// Checks one `emit` call of `plugin`: the source type must be one its manifest
    /// declares; the events follow the contract's rules. The envelope comes from the
    /// manifest and the host (plugin id and version, platform, device id).
    ///
    /// Errors: [`Refused::NotPermitted`], [`Refused::Invalid`], [`Refused::Internal`].
    pub fn check_events(
        &self,
        plugin: &PluginContext,
        source_type: SourceType,
        events: &[RawEvent<'_>],
    ) -> Result<Batch, Refused> {
        if !plugin.grants.emit.source_types.contains(&source_type) {
            return Err(Refused::NotPermitted(format!(
                "{} emits {source_type}, but its plugin.json source_types are [{}]",
                plugin.id,
                plugin
                    .grants
                    .emit
                    .source_types
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let envelope = Envelope {
            source_type,
            platform: plugin.platform,
            device_id: &plugin.device_id,
            plugin_id: &plugin.id,
            plugin_version: &plugin.version,
        };
        self.check_typed(plugin.tenant_index, &envelope, events)
    }

    /// Checks typed events from a way in whose envelope the host builds itself (an `emit`
    /// after its permission check, an ActivityWatch session) for tenant number `tenant`:
    /// the contract's field rules, with the tenant's lower timestamp bound.
    ///
    /// Errors: [`Refused::Invalid`] with every violation, [`Refused::Internal`].
    pub fn check_typed(
        &self,
        tenant: usize,
        envelope: &Envelope<'_>,
        events: &[RawEvent<'_>],
    ) -> Result<Batch, Refused> {
        let rules = self.tenants[tenant].rules();
        let now = rules.now;
        let events = no_panic(&format!("events of {}", envelope.plugin_id), || {
            validate_events(events, &rules)
        })
        .map_err(Refused::Internal)?
        .map_err(Refused::Invalid)?;
        Ok(Batch {
            source_type: envelope.source_type,
            platform: envelope.platform,
            device_id: envelope.device_id.to_owned(),
            plugin_id: envelope.plugin_id.to_owned(),
            plugin_version: envelope.plugin_version.to_owned(),
            timestamp: now,
            events,
        })
    }

    /// The tenant number of tenant `id`.
    pub fn tenant_index(&self, id: &str) -> Option<usize> {
        self.tenants.iter().position(|t| t.id == id)
    }

    /// Sanitizes, renders and stores a checked `batch` for tenant number `tenant`, then
    /// counts it (events by tenant and source type, latency by origin since `started`, the
    /// plugin's counters), logs it and calls `done` — on the vault's writer thread, after
    /// the fsync.
    pub fn submit(
        self: &Arc<Self>,
        origin: Origin,
        tenant: usize,
        batch: Batch,
        started: Instant,
        done: impl FnOnce(Result<Receipt, Refused>) + Send + 'static,
    ) {
        let sink = &self.tenants[tenant];
        let (plugin_id, source_type) = (batch.plugin_id.clone(), batch.source_type);
        let prepared = match no_panic("prepare", || sink.vault.prepare(batch)) {
            Ok(p) => p,
            Err(m) => return done(Err(Refused::Internal(m))),
        };
        let me = self.clone();
        sink.vault.submit(
            prepared,
            Box::new(move |result| {
                let t = &me.tenants[tenant];
                me.metrics.ingest_latency(origin.label(), started.elapsed());
                let result = match result {
                    Ok(r) => {
                        me.metrics
                            .events(&t.id, source_type.as_str(), r.stored, r.skipped);
                        if let Some((_, entry)) = me.registry().get(&t.id, &plugin_id) {
                            entry.counters.record(r.stored, r.skipped, unix_now());
                        }
                        tracing::debug!(tenant = %t.id, plugin = %plugin_id, origin = origin.label(), stored = r.stored, skipped = r.skipped, "batch stored");
                        Ok(r)
                    }
                    Err(e) => {
                        tracing::error!(tenant = %t.id, plugin = %plugin_id, origin = origin.label(), error = %e, "batch not stored");
                        Err(Refused::Storage(e.to_string()))
                    }
                };
                done(result);
            }),
        );
    }

    /// [`Ingest::submit`] and wait for the answer (async callers).
    pub async fn store(
        self: &Arc<Self>,
        origin: Origin,
        tenant: usize,
        batch: Batch,
        started: Instant,
    ) -> Result<Receipt, Refused> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(origin, tenant, batch, started, move |r| drop(tx.send(r)));
        rx.await.unwrap_or_else(|_| writer_gone())
    }

    /// [`Ingest::submit`] and block until the answer (a plugin's thread).
    pub fn store_blocking(
        self: &Arc<Self>,
        origin: Origin,
        tenant: usize,
        batch: Batch,
        started: Instant,
    ) -> Result<Receipt, Refused> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.submit(origin, tenant, batch, started, move |r| drop(tx.send(r)));
        rx.recv().unwrap_or_else(|_| writer_gone())
    }
}

/// The answer when the vault's writer stopped before answering (the host is stopping).
fn writer_gone() -> Result<Receipt, Refused> {
    Err(Refused::Storage("the vault writer has stopped".into()))
}
