//! Sessions become vault entries (issue 10). An event of a bucket is a session; the
//! session writer writes it through the ingest service when it closes — a later event
//! exists (the data changed or the gap passed pulsetime), or no heartbeat has arrived for
//! pulsetime plus `session_grace_s` of wall-clock time (so a queue of old heartbeats a
//! watcher replays after a reconnect is merged before anything is written) — and, while
//! it stays open, writes what it has so far at local midnight and once it has waited
//! `session_max_s` of wall-clock time (so a session still going is never further behind
//! in the vault; a replay of past heartbeats that arrives within seconds is not cut). What a heartbeat adds after a stretch was
//! written becomes a short continuation entry; the vault is never rewritten.
//!
//! Each stretch is written exactly once: its end is journalled before the write
//! ([`Db::begin_write`](super::store::Db::begin_write)) and redone after a crash with the
//! same `raw_ref`, which the vault's dedup then skips.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use openclone_vault::{Platform, RawEvent, SourceType};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::store::{AwError, Store, Unwritten};
use crate::ingest::{Envelope, Ingest, Origin, Refused};

/// How often the writer looks for sessions to write.
const TICK: Duration = Duration::from_secs(1);

/// What the writer needs.
pub struct Writer {
    /// The journal.
    pub store: Arc<Store>,
    /// The ingest service.
    pub ingest: Arc<Ingest>,
    /// The tenant number in the ingest service.
    pub tenant: usize,
    /// The tenant's zone (local midnight).
    pub tz: TimeZone,
    /// `[activitywatch] session_grace_s`.
    pub grace: Duration,
    /// `[activitywatch] session_max_s`.
    pub max: Duration,
    /// The host's device id, for buckets whose host name is not a valid device id.
    pub device_id: String,
    /// Since when each open event's unwritten stretch has waited (event id → instant).
    pub waiting: HashMap<i64, Instant>,
}

impl Writer {
    /// Writes due sessions every second until `stop` resolves, then once more.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            self.pass().await;
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                () = &mut stop => break,
            }
        }
        self.pass().await;
    }

    /// One look: every due stretch is written; a failure is logged and retried next time.
    pub async fn pass(&mut self) {
        let due = match self.store.call(|db| db.unwritten()).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = ?e, "ActivityWatch sessions could not be read; retrying");
                return;
            }
        };
        let seen = Instant::now();
        self.waiting
            .retain(|id, _| due.iter().any(|u| u.event.id == Some(*id)));
        for u in due {
            let since = *self
                .waiting
                .entry(u.event.id.unwrap_or_default())
                .or_insert(seen);
            let overdue = seen.duration_since(since) >= self.max;
            if let Err(e) = self.write(&u, overdue).await {
                tracing::warn!(bucket = %u.bucket.id, error = ?e, "an ActivityWatch session was not written; retrying");
                return;
            }
        }
    }

    /// Writes the due stretch of `u`, if any; `overdue`: it has waited `session_max_s`.
    async fn write(&mut self, u: &Unwritten, overdue: bool) -> Result<(), AwError> {
        let id = u.event.id.unwrap_or_default();
        let from = u.written_ns.unwrap_or(u.event.start_ns);
        let to = match u.pending_ns {
            Some(p) => p,
            None => match self.due(u, from, overdue) {
                Some(to) => {
                    self.store.call(move |db| db.begin_write(id, to)).await?;
                    to
                }
                None if u.written_ns == Some(u.event.end_ns()) => {
                    return self.store.call(move |db| db.written(id, from)).await;
                }
                None => return Ok(()),
            },
        };
        let continued = u.written_ns.is_some();
        if let Some((source_type, data)) = entry(u, from, to, continued) {
            let raw_ref = raw_ref(&u.bucket.id, from, to, &u.event.data);
            match self
                .store_entry(u, source_type, from, &data, &raw_ref)
                .await
            {
                Ok(()) => {}
                Err(Refused::Invalid(errs)) => {
                    tracing::warn!(bucket = %u.bucket.id, field = %errs[0].field, rule = %errs[0].message, "an ActivityWatch session was refused by the contract and is kept only in the ActivityWatch journal");
                }
                Err(e) => return Err(AwError::Storage(format!("{e:?}"))),
            }
        }
        self.store.call(move |db| db.written(id, to)).await?;
        self.waiting.insert(id, Instant::now());
        Ok(())
    }

    /// Where the stretch from `from` ends if it is due now: the session's end when it is
    /// closed or `overdue`, always cut at local midnight.
    fn due(&self, u: &Unwritten, from: i64, overdue: bool) -> Option<i64> {
        let end = u.event.end_ns();
        let midnight = next_midnight(from, &self.tz);
        if end >= midnight {
            return Some(midnight);
        }
        let idle = Duration::from_nanos(u64::try_from(u.pulsetime_ns).unwrap_or(0)) + self.grace;
        let closed = u.superseded || u.quiet >= idle;
        let nothing_new = u.written_ns.is_some_and(|w| w >= end);
        if closed && !nothing_new {
            return Some(end);
        }
        (overdue && end > from).then_some(end)
    }

    async fn store_entry(
        &self,
        u: &Unwritten,
        source_type: SourceType,
        from: i64,
        data: &Map<String, Value>,
        raw_ref: &str,
    ) -> Result<(), Refused> {
        let text = Value::Object(data.clone()).to_string();
        let device = device_id(&u.bucket.hostname).unwrap_or(&self.device_id);
        let plugin = plugin_id(&u.bucket.client);
        let envelope = Envelope {
            source_type,
            platform: Platform::Linux,
            device_id: device,
            plugin_id: &plugin,
            plugin_version: env!("CARGO_PKG_VERSION"),
        };
        let events = [RawEvent {
            timestamp: from as f64 / 1e9,
            data: &text,
            raw_ref: Some(raw_ref),
        }];
        let batch = self.ingest.check_typed(self.tenant, &envelope, &events)?;
        self.ingest
            .store(Origin::ActivityWatch, self.tenant, batch, Instant::now())
            .await
            .map(|_| ())
    }
}

/// The vault entry for the stretch `[from, to]` of `u`'s session: its source type and data.
/// `None` for what is not written: incognito tabs, and bucket types the host does not know
/// (they stay in the ActivityWatch journal for clients to read).
///
/// - `currentwindow` (aw-watcher-window) → `activity` {app_name, title};
/// - `afkstatus` (aw-watcher-afk) → `activity` {status: `afk`/`not-afk`};
/// - `app.editor.activity` (aw-watcher-vscode and others) → `activity` {app_name, title =
///   the file, project, language};
/// - `web.tab.current` (aw-watcher-web) → `web_browsing` {url, title, domain};
///
/// each with `duration` (seconds), `start` and `end` (Unix seconds), and `continued: true`
/// on a stretch after the first.
pub fn entry(
    u: &Unwritten,
    from: i64,
    to: i64,
    continued: bool,
) -> Option<(SourceType, Map<String, Value>)> {
    let d = &u.event.data;
    let text = |k: &str| d.get(k).filter(|v| !v.is_null()).cloned();
    let mut out = Map::new();
    let source_type = match u.bucket.kind.as_str() {
        "currentwindow" => {
            out.insert("app_name".into(), text("app").unwrap_or(json!("unknown")));
            out.extend(text("title").map(|t| ("title".into(), t)));
            SourceType::Activity
        }
        "afkstatus" => {
            out.insert("status".into(), text("status").unwrap_or(json!("unknown")));
            SourceType::Activity
        }
        "app.editor.activity" => {
            let editor = text("editor").unwrap_or_else(|| json!(u.bucket.client));
            out.insert("app_name".into(), editor);
            out.extend(text("file").map(|t| ("title".into(), t)));
            for k in ["project", "language"] {
                out.extend(text(k).map(|v| (k.into(), v)));
            }
            SourceType::Activity
        }
        "web.tab.current" => {
            if d.get("incognito").and_then(Value::as_bool) == Some(true) {
                return None;
            }
            let url = d.get("url").and_then(Value::as_str).unwrap_or_default();
            out.insert("url".into(), json!(url));
            out.extend(text("title").map(|t| ("title".into(), t)));
            if let Some(domain) = url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
            {
                out.insert("domain".into(), json!(domain));
            }
            SourceType::WebBrowsing
        }
        _ => return None,
    };
    out.insert(
        "duration".into(),
        json!(((to - from) as f64 / 1e6).round() / 1e3),
    );
    out.insert("start".into(), json!(from as f64 / 1e9));
    out.insert("end".into(), json!(to as f64 / 1e9));
    if continued {
        out.insert("continued".into(), json!(true));
    }
    Some((source_type, out))
}

/// The stable `raw_ref` of a stretch: `aw/<start ns>-<end ns>/<32 hex>`, the hex a SHA-256
/// of the bucket id and the event's data, so a redo after a crash is skipped by dedup.
pub fn raw_ref(bucket: &str, from: i64, to: i64, data: &Map<String, Value>) -> String {
    let mut h = Sha256::new();
    h.update(bucket.as_bytes());
    h.update([0]);
    h.update(Value::Object(data.clone()).to_string().as_bytes());
    format!("aw/{from}-{to}/{}", &hex::encode(h.finalize())[..32])
}

/// The watcher's client name as a plugin id (CONTRACT.md: kebab-case `[a-z0-9-]`, at most
/// 64): `aw-watcher-window` stays, anything else is lowered and dashed; `activitywatch`
/// when nothing is left.
pub fn plugin_id(client: &str) -> String {
    let mut id = String::new();
    for c in client.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            id.push(c);
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    id.truncate(64);
    while id.ends_with('-') {
        id.pop();
    }
    if id.is_empty() {
        "activitywatch".into()
    } else {
        id
    }
}

/// The bucket's host name as a device id, when it is one (CONTRACT.md rule).
fn device_id(hostname: &str) -> Option<&str> {
    openclone_vault::validate::device_id_ok(hostname).then_some(hostname)
}

/// The first local midnight after `ns` in `tz`, Unix nanoseconds.
fn next_midnight(ns: i64, tz: &TimeZone) -> i64 {
    let t = jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    t.to_zoned(tz.clone())
        .date()
        .tomorrow()
        .ok()
        .and_then(|d| d.to_zoned(tz.clone()).ok())
        .map_or(i64::MAX, |z| z.timestamp().as_nanosecond() as i64)
}
