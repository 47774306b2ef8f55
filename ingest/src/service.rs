//! The one ingest service: every way in (`POST /api/v1/ingest`, a plugin's `emit`, an
//! ActivityWatch session, OwnTracks, each later one) hands its batch here, and only here
//! are host policy, validation, the vault, metrics (events, and latency per origin),
//! per-plugin counters and the log done.
//!
//! A way in calls [`Ingest::check`] with its [`Origin`] and then [`Ingest::submit`] (or
//! [`Ingest::store`]) with the [`Checked`] batch it got: a batch can only be stored after
//! the check, and the check always asks the [`PluginPolicy`], whatever the input's shape.

use std::sync::Arc;
use std::time::Instant;

use openclone_vault::{
    Batch, FieldError, Platform, RawEvent, Receipt, Rules, SourceType, Tally, envelope_ids,
    validate_events, validate_value,
};

use crate::clock::unix_now;
use crate::guard::no_panic;
use crate::metrics::Metrics;
use crate::pause::Pause;
pub use crate::store::Refused;
use crate::store::Store;

/// Who built a batch's envelope: what the [`PluginPolicy`] holds it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// A client posted the envelope (HTTP ingest, OwnTracks): its `plugin_id` is a claim.
    Client,
    /// A WebAssembly plugin's own `emit`: the host built the envelope from its manifest.
    Plugin,
    /// The host built it for a watcher it speaks for (ActivityWatch sessions).
    Host,
}

/// Where a batch came from: the `origin` label of the latency metric and the log, and who
/// built its envelope. A way in is one constant of this type (`Origin::client("http")`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The metric label (`http`, `emit`, `activitywatch`, `owntracks`, …).
    pub label: &'static str,
    /// Who built the envelope.
    pub sender: Sender,
}

impl Origin {
    /// A way in whose clients post their own envelope.
    pub const fn client(label: &'static str) -> Self {
        Self {
            label,
            sender: Sender::Client,
        }
    }

    /// A plugin's `emit`.
    pub const fn plugin(label: &'static str) -> Self {
        Self {
            label,
            sender: Sender::Plugin,
        }
    }

    /// A way in whose envelope the host builds for the client.
    pub const fn host(label: &'static str) -> Self {
        Self {
            label,
            sender: Sender::Host,
        }
    }
}

/// Host policy over plugin ids, asked for every batch by [`Ingest::check`] (implemented
/// by the runtime's plugin registry; CONTRACT.md, "Plugin registration").
pub trait PluginPolicy: Send + Sync {
    /// May `plugin_id`, sending through a way in of `sender`, store `source_type` in
    /// `tenant`? Errors: [`Refused::Invalid`] naming the field (a client's claim),
    /// [`Refused::NotPermitted`] (a plugin's own emit).
    fn admit(
        &self,
        tenant: &Tenant,
        sender: Sender,
        source_type: SourceType,
        plugin_id: &str,
    ) -> Result<(), Refused>;

    /// Counts a stored batch of `plugin_id` in `tenant` at Unix second `now`.
    fn stored(&self, tenant: &str, plugin_id: &str, tally: Tally, now: f64);
}

/// One tenant: an id, its vault's folder and its rules (CONTRACT.md, "Tenant isolation").
/// Its open vault belongs to the [`Store`].
pub struct Tenant {
    /// Tenant id.
    pub id: String,
    /// The vault's root folder (on a cluster frontend, where a writer keeps it).
    pub root: std::path::PathBuf,
    /// `require_registered_plugins`: refuse unregistered plugin ids.
    pub require_registered: bool,
    /// The lower timestamp bound, Unix seconds (`accept_since`, default 2020-01-01).
    pub earliest: f64,
}

impl Tenant {
    fn rules(&self) -> Rules {
        Rules {
            now: unix_now(),
            earliest: self.earliest,
        }
    }
}

/// What a way in hands to [`Ingest::check`].
pub enum Input<'a> {
    /// A JSON body with its own envelope (CONTRACT.md's batch).
    Body(&'a [u8]),
    /// Typed events under an envelope the way in built.
    Typed(&'a Envelope<'a>, &'a [RawEvent<'a>]),
}

/// A batch that passed [`Ingest::check`]: the only thing [`Ingest::submit`] takes.
pub struct Checked {
    origin: Origin,
    tenant: usize,
    batch: Batch,
}

impl Checked {
    /// The checked batch.
    pub fn batch(&self) -> &Batch {
        &self.batch
    }
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

/// The service. One per host, shared by every way in.
pub struct Ingest {
    tenants: Vec<Arc<Tenant>>,
    store: Arc<dyn Store>,
    policy: Arc<dyn PluginPolicy>,
    metrics: Arc<Metrics>,
    pause: Arc<Pause>,
}

impl Ingest {
    /// The service over `tenants` (in config order) and their `store`, the host's plugin
    /// `policy`, its metrics and its pause state.
    pub fn new(
        tenants: Vec<Arc<Tenant>>,
        store: Arc<dyn Store>,
        policy: Arc<dyn PluginPolicy>,
        metrics: Arc<Metrics>,
        pause: Arc<Pause>,
    ) -> Self {
        Self {
            tenants,
            store,
            policy,
            metrics,
            pause,
        }
    }

    /// The host's pause state ([`crate::pause`]).
    pub fn pause(&self) -> &Arc<Pause> {
        &self.pause
    }

    /// The tenants, in config order (their index is the tenant number).
    pub fn tenants(&self) -> &[Arc<Tenant>] {
        &self.tenants
    }

    /// The tenant number of tenant `id`.
    pub fn tenant_index(&self, id: &str) -> Option<usize> {
        self.tenants.iter().position(|t| t.id == id)
    }

    /// Checks `input` from `origin` for tenant number `tenant`: the contract's field rules
    /// (with the tenant's lower timestamp bound) and host policy ([`PluginPolicy::admit`]
    /// for the batch's plugin id and source type, whatever the input's shape). A body's
    /// policy violation joins its field violations in one list.
    ///
    /// Errors: [`Refused::Invalid`] with every violation, [`Refused::NotPermitted`],
    /// [`Refused::Internal`] on a bug (caught, logged).
    pub fn check(
        &self,
        origin: Origin,
        tenant: usize,
        input: Input<'_>,
    ) -> Result<Checked, Refused> {
        let t = &self.tenants[tenant];
        let batch = match input {
            Input::Body(body) => self.check_body(origin, t, body)?,
            Input::Typed(envelope, events) => {
                self.policy
                    .admit(t, origin.sender, envelope.source_type, envelope.plugin_id)?;
                check_typed(t, envelope, events)?
            }
        };
        Ok(Checked {
            origin,
            tenant,
            batch,
        })
    }

    fn check_body(&self, origin: Origin, t: &Tenant, body: &[u8]) -> Result<Batch, Refused> {
        let rules = t.rules();
        no_panic("ingest", || {
            let value = match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(v) => v,
                Err(e) => {
                    return Err(Refused::Invalid(vec![FieldError::new(
                        "body",
                        format!("not valid JSON: {e}"),
                    )]));
                }
            };
            let policy = match envelope_ids(&value) {
                (Some(st), Some(pid)) => self.policy.admit(t, origin.sender, st, pid).err(),
                _ => None,
            };
            match (validate_value(value, &rules), policy) {
                (Ok(batch), None) => Ok(batch),
                (Ok(_), Some(p)) => Err(p),
                (Err(mut errs), Some(Refused::Invalid(p))) => {
                    errs.extend(p);
                    Err(Refused::Invalid(errs))
                }
                (Err(errs), _) => Err(Refused::Invalid(errs)),
            }
        })
        .map_err(Refused::Internal)?
    }

    /// Hands a `checked` batch to the [`Store`] (which sanitizes, renders and stores it),
    /// then counts it (events by tenant and source type, latency by origin since `started`,
    /// the plugin's counters through [`PluginPolicy::stored`]), logs it and calls `done` —
    /// after the vault's fsync. While recording is paused, events of a client or the host
    /// timed at or after the pause began are not stored and count as skipped
    /// ([`crate::pause`]).
    pub fn submit(
        self: &Arc<Self>,
        checked: Checked,
        started: Instant,
        done: impl FnOnce(Result<Receipt, Refused>) + Send + 'static,
    ) {
        let Checked {
            origin,
            tenant,
            mut batch,
        } = checked;
        let t = self.tenants[tenant].clone();
        let (plugin_id, source_type) = (batch.plugin_id.clone(), batch.source_type);
        // A plugin's pass never starts while paused; one running as the pause began
        // finishes whole (what it read may be the person's own files).
        let paused = match origin.sender {
            Sender::Plugin => None,
            Sender::Client | Sender::Host => self.pause.current(),
        };
        let held = match paused {
            Some(p) => {
                let before = batch.events.len();
                batch.events.retain(|e| e.timestamp < p.since);
                (before - batch.events.len()) as u64
            }
            None => 0,
        };
        let me = self.clone();
        self.store.store(
            tenant,
            batch,
            Box::new(move |result| {
                me.metrics.ingest_latency(origin.label, started.elapsed());
                let result = match result {
                    Ok(mut r) => {
                        r.tally.skipped += held;
                        me.metrics.events(&t.id, source_type.as_str(), r.tally);
                        me.metrics.paused(&t.id, source_type.as_str(), held);
                        me.policy.stored(&t.id, &plugin_id, r.tally, unix_now());
                        tracing::debug!(tenant = %t.id, plugin = %plugin_id, origin = origin.label, stored = r.tally.stored, skipped = r.tally.skipped, "batch stored");
                        Ok(r)
                    }
                    Err(e) => {
                        tracing::error!(tenant = %t.id, plugin = %plugin_id, origin = origin.label, error = ?e, "batch not stored");
                        Err(e)
                    }
                };
                done(result);
            }),
        );
    }

    /// [`Ingest::submit`] and wait for the answer (async callers).
    pub async fn store(
        self: &Arc<Self>,
        checked: Checked,
        started: Instant,
    ) -> Result<Receipt, Refused> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(checked, started, move |r| drop(tx.send(r)));
        rx.await.unwrap_or_else(|_| writer_gone())
    }

    /// [`Ingest::submit`] and block until the answer (a plugin's thread).
    pub fn store_blocking(
        self: &Arc<Self>,
        checked: Checked,
        started: Instant,
    ) -> Result<Receipt, Refused> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.submit(checked, started, move |r| drop(tx.send(r)));
        rx.recv().unwrap_or_else(|_| writer_gone())
    }
}

/// The contract's field rules over typed events under `envelope`, with `t`'s bound.
fn check_typed(
    t: &Tenant,
    envelope: &Envelope<'_>,
    events: &[RawEvent<'_>],
) -> Result<Batch, Refused> {
    let rules = t.rules();
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

/// The answer when the vault's writer stopped before answering (the host is stopping).
fn writer_gone() -> Result<Receipt, Refused> {
    Err(Refused::Storage("the vault writer has stopped".into()))
}
