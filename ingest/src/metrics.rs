//! Prometheus metrics (`GET /metrics`, text format 0.0.4): requests and events by tenant,
//! status and source type, dedup skips, the ingest latency histogram, and per-plugin
//! passes, failures, restarts, compiles and pass time (from the registry).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use openclone_vault::Tally;

/// Upper bounds of the ingest latency histogram, seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// The host's counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    events: Mutex<BTreeMap<(String, String, &'static str), u64>>,
    /// Ingest latency by origin (`http`, `emit`).
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A label value escaped for the text format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counts an HTTP answer: `route` (the path, or `other`), tenant (`-` before auth), status.
    pub fn request(&self, route: &str, tenant: &str, status: u16) {
        *lock(&self.requests)
            .entry((route.to_owned(), tenant.to_owned(), status))
            .or_default() += 1;
    }

    /// Counts a stored batch's stored and skipped events (HTTP or `emit`).
    pub fn events(&self, tenant: &str, source_type: &str, tally: Tally) {
        let mut e = lock(&self.events);
        *e.entry((tenant.to_owned(), source_type.to_owned(), "stored"))
            .or_default() += tally.stored;
        *e.entry((tenant.to_owned(), source_type.to_owned(), "skipped"))
            .or_default() += tally.skipped;
    }

    /// Counts `n` events of a batch held back by a pause ([`crate::pause`]; also counted
    /// as skipped).
    pub fn paused(&self, tenant: &str, source_type: &str, n: u64) {
        if n > 0 {
            *lock(&self.events)
                .entry((tenant.to_owned(), source_type.to_owned(), "paused"))
                .or_default() += n;
        }
    }

    /// Records how long a batch from `origin` (`http`, `emit`) took, from its first byte
    /// (or the `emit` call) to its answer.
    pub fn ingest_latency(&self, origin: &'static str, d: Duration) {
        let s = d.as_secs_f64();
        let mut all = lock(&self.latency);
        let h = all.entry(origin).or_default();
        for (i, le) in BUCKETS.iter().enumerate() {
            if s <= *le {
                h.counts[i] += 1;
            }
        }
        h.sum += s;
        h.count += 1;
    }

    /// The text exposition of everything, one row per WebAssembly plugin in `plugins`,
    /// and the pause in force (`openclone_paused` 1 or 0, `openclone_paused_since_seconds`).
    pub fn render(&self, plugins: &[PluginRow], paused: Option<crate::pause::Paused>) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "# HELP openclone_paused Whether recording is paused (openclone pause).\n# TYPE openclone_paused gauge\nopenclone_paused {}\n# HELP openclone_paused_since_seconds When the pause in force began, Unix seconds (0: none).\n# TYPE openclone_paused_since_seconds gauge\nopenclone_paused_since_seconds {}",
            u8::from(paused.is_some()),
            paused.map_or(0.0, |p| p.since)
        );
        out.push_str("# HELP openclone_http_requests_total HTTP requests answered, by route, tenant and status.\n# TYPE openclone_http_requests_total counter\n");
        for ((route, tenant, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "openclone_http_requests_total{{route=\"{}\",tenant=\"{}\",status=\"{status}\"}} {n}",
                label(route),
                label(tenant)
            );
        }
        out.push_str("# HELP openclone_events_total Events by tenant, source type and outcome (stored; skipped as a duplicate, as older than retention or held back by a pause; paused, also counted as skipped).\n# TYPE openclone_events_total counter\n");
        for ((tenant, source, outcome), n) in lock(&self.events).iter() {
            let _ = writeln!(
                out,
                "openclone_events_total{{tenant=\"{}\",source_type=\"{}\",outcome=\"{outcome}\"}} {n}",
                label(tenant),
                label(source)
            );
        }
        out.push_str("# HELP openclone_ingest_duration_seconds Time from a batch's arrival to its answer, by origin (http, emit).\n# TYPE openclone_ingest_duration_seconds histogram\n");
        for (origin, h) in lock(&self.latency).iter() {
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "openclone_ingest_duration_seconds_bucket{{origin=\"{origin}\",le=\"{le}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "openclone_ingest_duration_seconds_bucket{{origin=\"{origin}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "openclone_ingest_duration_seconds_sum{{origin=\"{origin}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "openclone_ingest_duration_seconds_count{{origin=\"{origin}\"}} {}",
                h.count
            );
        }
        let mut family = |name: &str, kind: &str, help: &str, value: &dyn Fn(&PluginRow) -> f64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for p in plugins {
                let _ = writeln!(out, "{name}{{plugin=\"{}\"}} {}", label(&p.id), value(p));
            }
        };
        family(
            "openclone_plugin_passes_total",
            "counter",
            "Passes run by a WebAssembly plugin.",
            &|p| p.passes as f64,
        );
        family(
            "openclone_plugin_failed_passes_total",
            "counter",
            "Passes that failed (trap, timeout, limit, error).",
            &|p| p.failed_passes as f64,
        );
        family(
            "openclone_plugin_restarts_total",
            "counter",
            "Passes run after a failed one.",
            &|p| p.restarts as f64,
        );
        family(
            "openclone_plugin_compiles_total",
            "counter",
            "Times the component was compiled, not loaded from the cache.",
            &|p| p.compiles as f64,
        );
        family(
            "openclone_plugin_last_pass_seconds",
            "gauge",
            "Wall time of the last pass.",
            &|p| p.last_pass_s,
        );
        family(
            "openclone_plugin_memory_peak_bytes",
            "gauge",
            "Largest linear memory of the plugin's last successful pass.",
            &|p| p.peak_memory as f64,
        );
        family(
            "openclone_plugin_records_skipped_total",
            "counter",
            "Records a plugin skipped inside files it otherwise read (bad cues, points, lines).",
            &|p| p.records_skipped as f64,
        );
        family(
            "openclone_plugin_events_stored_total",
            "counter",
            "Events a plugin stored.",
            &|p| p.events.stored as f64,
        );
        family(
            "openclone_plugin_events_skipped_total",
            "counter",
            "Events of a plugin skipped as duplicates.",
            &|p| p.events.skipped as f64,
        );
        out
    }
}

/// One WebAssembly plugin's line in each `openclone_plugin_*` family (filled by the
/// runtime's registry; DESIGN.md, "Metrics").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginRow {
    /// The plugin id (its folder name when its manifest was refused).
    pub id: String,
    /// Passes run.
    pub passes: u64,
    /// Passes that failed (trap, timeout, limit, error).
    pub failed_passes: u64,
    /// Passes run after a failed one.
    pub restarts: u64,
    /// Compiles (not cache loads) of its component.
    pub compiles: u64,
    /// Wall time of the last pass, seconds (0 before the first).
    pub last_pass_s: f64,
    /// Largest linear memory of the last successful pass, bytes (0 before the first).
    pub peak_memory: u64,
    /// Records skipped inside files otherwise read.
    pub records_skipped: u64,
    /// Its events stored and skipped as duplicates.
    pub events: Tally,
}
