//! Sessions become vault entries. An event of a bucket is a session; the
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

use super::store::{Store, Unwritten};
use openclone_ingest::service::{Envelope, Ingest, Input, Origin, Refused};

/// ActivityWatch sessions as a way in: the host builds their envelope for the watcher.
pub const ORIGIN: Origin = Origin::host("activitywatch");

/// How often the writer looks for sessions to write.
const TICK: Duration = Duration::from_secs(1);

/// One stretch of a session to write in this pass.
struct Stretch {
    id: i64,
    from: i64,
    to: i64,
    entry: Option<(SourceType, Map<String, Value>)>,
    raw_ref: String,
    plugin: String,
    device: String,
    bucket: String,
}

/// Entries that go in one batch: source type, watcher (plugin id), device id.
type BatchKey = (SourceType, String, String);

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
    /// The journal's change count when a pass last found nothing unwritten: until it
    /// moves, an idle host's writer does not even look.
    pub settled_at: Option<u64>,
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

    /// One look: every due stretch is journalled as begun, written through the ingest
    /// service in batches (one per source type, watcher and device, up to 500 entries),
    /// then marked written — three synced steps for the whole pass, not three per session.
    /// A failure is logged; what was not marked is redone next time with the same
    /// `raw_ref`.
    pub async fn pass(&mut self) {
        let store = self.store.clone();
        let _pass = store.passes().lock().await;
        let changes = self.store.changes();
        if self.settled_at == Some(changes) {
            return;
        }
        let due = match self.store.call(|db| db.unwritten()).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = ?e, "ActivityWatch sessions could not be read; retrying");
                return;
            }
        };
        self.settled_at = due.is_empty().then_some(changes);
        let seen = Instant::now();
        let open: std::collections::HashSet<i64> = due.iter().filter_map(|u| u.event.id).collect();
        self.waiting.retain(|id, _| open.contains(id));
        let (mut stretches, mut settled, mut begun) = (Vec::new(), Vec::new(), Vec::new());
        for u in &due {
            let id = u.event.id.unwrap_or_default();
            let since = *self.waiting.entry(id).or_insert(seen);
            let overdue = seen.duration_since(since) >= self.max;
            let from = u.written_ns.unwrap_or(u.event.start_ns);
            let to = match u.pending_ns {
                Some(p) => p,
                None => match self.due(u, from, overdue) {
                    Some(to) => {
                        begun.push((id, to));
                        to
                    }
                    None if u.written_ns == Some(u.event.end_ns()) => {
                        settled.push((id, from));
                        continue;
                    }
                    None => continue,
                },
            };
            stretches.push(self.stretch(u, from, to));
        }
        if begun.is_empty() && settled.is_empty() && stretches.is_empty() {
            return;
        }
        let journalled = self
            .store
            .call(move |db| {
                for (id, end) in settled {
                    db.written(id, end)?;
                }
                for (id, end) in begun {
                    db.begin_write(id, end)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = journalled {
            tracing::warn!(error = ?e, "ActivityWatch sessions could not be journalled; retrying");
            return;
        }
        let stored = self.store_all(stretches).await;
        let ids: Vec<i64> = stored.iter().map(|(id, _)| *id).collect();
        match self
            .store
            .call(move |db| {
                stored
                    .into_iter()
                    .try_for_each(|(id, end)| db.written(id, end))
            })
            .await
        {
            Ok(()) => {
                let now = Instant::now();
                for id in ids {
                    self.waiting.insert(id, now);
                }
            }
            Err(e) => {
                tracing::warn!(error = ?e, "written ActivityWatch sessions could not be marked; they are redone (and skipped by dedup)");
            }
        }
    }

    /// The stretch `[from, to]` of `u`, with its entry (if it is written at all).
    fn stretch(&self, u: &Unwritten, from: i64, to: i64) -> Stretch {
        let continued = u.written_ns.is_some();
        Stretch {
            id: u.event.id.unwrap_or_default(),
            to,
            from,
            entry: entry(u, from, to, continued),
            raw_ref: raw_ref(&u.bucket.id, from, to, &u.event.data),
            plugin: plugin_id(&u.bucket.client),
            device: device_id(&u.bucket.hostname)
                .unwrap_or(&self.device_id)
                .to_owned(),
            bucket: u.bucket.id.clone(),
        }
    }

    /// Stores the entries of `stretches` in batches; returns `(event id, end)` of every
    /// stretch that is done: stored, already there, not written by design, or refused by
    /// the contract (logged, kept in the journal only). A batch the vault could not store
    /// is left out, to be redone.
    async fn store_all(&self, stretches: Vec<Stretch>) -> Vec<(i64, i64)> {
        let mut done = Vec::new();
        let mut groups: Vec<(BatchKey, Vec<(Stretch, String)>)> = Vec::new();
        for s in stretches {
            let Some((source_type, data)) = &s.entry else {
                done.push((s.id, s.to));
                continue;
            };
            let key = (*source_type, s.plugin.clone(), s.device.clone());
            let text = Value::Object(data.clone()).to_string();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push((s, text)),
                None => groups.push((key, vec![(s, text)])),
            }
        }
        for ((source_type, plugin, device), list) in &groups {
            for chunk in list.chunks(500) {
                match self.store_batch(*source_type, plugin, device, chunk).await {
                    Ok(()) => done.extend(chunk.iter().map(|(s, _)| (s.id, s.to))),
                    Err(Refused::Invalid(_)) if chunk.len() > 1 => {
                        for one in chunk {
                            let single = std::slice::from_ref(one);
                            match self.store_batch(*source_type, plugin, device, single).await {
                                Ok(()) => done.push((one.0.id, one.0.to)),
                                Err(e) => self.not_stored(&one.0, &e, &mut done),
                            }
                        }
                    }
                    Err(e) => {
                        for (s, _) in chunk {
                            self.not_stored(s, &e, &mut done);
                        }
                    }
                }
            }
        }
        done
    }

    /// Logs why `s` was not stored; a contract refusal is final (the stretch is done),
    /// anything else is retried.
    fn not_stored(&self, s: &Stretch, e: &Refused, done: &mut Vec<(i64, i64)>) {
        match e {
            Refused::Invalid(errs) => {
                tracing::warn!(bucket = %s.bucket, field = %errs[0].field, rule = %errs[0].message, "an ActivityWatch session was refused by the contract and is kept only in the ActivityWatch journal");
                done.push((s.id, s.to));
            }
            other => {
                tracing::warn!(bucket = %s.bucket, error = ?other, "an ActivityWatch session was not written; retrying");
            }
        }
    }

    /// One batch through the ingest service.
    async fn store_batch(
        &self,
        source_type: SourceType,
        plugin: &str,
        device: &str,
        entries: &[(Stretch, String)],
    ) -> Result<(), Refused> {
        let envelope = Envelope {
            source_type,
            platform: Platform::Linux,
            device_id: device,
            plugin_id: plugin,
            plugin_version: env!("CARGO_PKG_VERSION"),
        };
        let events: Vec<RawEvent<'_>> = entries
            .iter()
            .map(|(s, text)| RawEvent {
                timestamp: s.from as f64 / 1e9,
                data: text,
                raw_ref: Some(&s.raw_ref),
            })
            .collect();
        let checked = self
            .ingest
            .check(ORIGIN, self.tenant, Input::Typed(&envelope, &events))?;
        self.ingest.store(checked, Instant::now()).await.map(|_| ())
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
    let source_type = bucket_source(&u.bucket.kind)?;
    match u.bucket.kind.as_str() {
        "currentwindow" => {
            out.insert("app_name".into(), text("app").unwrap_or(json!("unknown")));
            out.extend(text("title").map(|t| ("title".into(), t)));
        }
        "afkstatus" => {
            out.insert("status".into(), text("status").unwrap_or(json!("unknown")));
        }
        "app.editor.activity" => {
            let editor = text("editor").unwrap_or_else(|| json!(u.bucket.client));
            out.insert("app_name".into(), editor);
            out.extend(text("file").map(|t| ("title".into(), t)));
            for k in ["project", "language"] {
                out.extend(text(k).map(|v| (k.into(), v)));
            }
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
        }
        _ => return None,
    }
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

/// The source type a bucket's sessions go to the vault as (`currentwindow`, `afkstatus`,
/// `app.editor.activity` → `activity`; `web.tab.current` → `web_browsing`); `None` for a
/// kind that is only journalled.
pub fn bucket_source(kind: &str) -> Option<SourceType> {
    match kind {
        "currentwindow" | "afkstatus" | "app.editor.activity" => Some(SourceType::Activity),
        "web.tab.current" => Some(SourceType::WebBrowsing),
        _ => None,
    }
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

/// The first local midnight after `ns` in `tz`, Unix nanoseconds (`i64::MAX` past the
/// representable range). Always later than `ns`, also where a DST change repeats the
/// hour before midnight.
fn next_midnight(ns: i64, tz: &TimeZone) -> i64 {
    let t = jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut day = t.to_zoned(tz.clone()).date();
    for _ in 0..3 {
        let Ok(next) = day.tomorrow() else {
            return i64::MAX;
        };
        let start = next
            .to_zoned(tz.clone())
            .ok()
            .and_then(|z| i64::try_from(z.timestamp().as_nanosecond()).ok())
            .unwrap_or(i64::MAX);
        if start > ns {
            return start;
        }
        day = next;
    }
    i64::MAX
}
