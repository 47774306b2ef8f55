//! [`Ctx`]: what a plugin's `init` and `capture` work with.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::events::Emit;
use crate::host::{EmitError, HostApi, StateOp, WireEvent};
use crate::{Error, Level, Result, SourceType};

/// Most events per `emit` call (the ingest contract's batch limit).
pub const MAX_BATCH_EVENTS: usize = 500;
/// The SDK flushes a batch once its `data` reaches this many bytes (the host's default
/// per-emit limit is 1 MiB).
pub const MAX_BATCH_BYTES: usize = 512 * 1024;
/// Waits on `rate-limited` before giving up.
const RATE_LIMIT_RETRIES: u32 = 20;

/// What one pass did; the host shows it in `openclone capture` and the registry.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Events handed to the host.
    pub emitted: u32,
    /// Of those, stored in the vault.
    pub stored: u32,
    /// Of those, already there.
    pub skipped: u32,
    /// Inputs that could not be used, one line each.
    pub problems: Vec<String>,
    /// Records skipped inside files that were otherwise read ([`Ctx::skipped_records`]).
    pub skipped_records: u32,
}

/// The plugin's view of the host during one call.
pub struct Ctx {
    host: Box<dyn HostApi>,
    pending: Vec<(SourceType, Vec<WireEvent>, usize)>,
    report: Report,
}

impl Ctx {
    pub(crate) fn new(host: Box<dyn HostApi>) -> Self {
        Self {
            host,
            pending: Vec::new(),
            report: Report::default(),
        }
    }

    /// The host, for the SDK's modules that extend `Ctx` ([`crate::http`]).
    pub(crate) fn host_mut(&mut self) -> &mut dyn HostApi {
        &mut *self.host
    }

    /// Queues an event; batches go to the host at 500 events or 512 KiB, and at the end
    /// of the pass. Errors: the host refused a full batch (see [`Error`]).
    pub fn emit(&mut self, event: impl Into<Emit>) -> Result<()> {
        let e: Emit = event.into();
        let data = serde_json::to_string(&e.data)?;
        let idx = match self.pending.iter().position(|(s, _, _)| *s == e.source) {
            Some(i) => i,
            None => {
                self.pending.push((e.source, Vec::new(), 0));
                self.pending.len() - 1
            }
        };
        let slot = &mut self.pending[idx];
        slot.2 += data.len();
        slot.1.push(WireEvent {
            timestamp: e.timestamp,
            data,
            raw_ref: e.raw_ref,
        });
        self.report.emitted += 1;
        if slot.1.len() >= MAX_BATCH_EVENTS || slot.2 >= MAX_BATCH_BYTES {
            let (source, events, _) = self.pending.swap_remove(idx);
            self.send(source, events)?;
        }
        Ok(())
    }

    /// Sends every queued event now.
    pub fn flush(&mut self) -> Result<()> {
        for (source, events, _) in std::mem::take(&mut self.pending) {
            self.send(source, events)?;
        }
        Ok(())
    }

    fn send(&mut self, source: SourceType, events: Vec<WireEvent>) -> Result<()> {
        let mut retries = 0;
        loop {
            match self.host.emit(source, &events) {
                Ok(r) => {
                    self.report.stored += r.stored;
                    self.report.skipped += r.skipped;
                    return Ok(());
                }
                Err(EmitError::RateLimited(ms)) if retries < RATE_LIMIT_RETRIES => {
                    retries += 1;
                    std::thread::sleep(Duration::from_millis(u64::from(ms.max(10))));
                }
                Err(EmitError::RateLimited(_)) => return Err(Error::RateLimited),
                Err(EmitError::TooLarge(_)) if events.len() > 1 => {
                    let mut events = events;
                    let second = events.split_off(events.len() / 2);
                    self.send(source, events)?;
                    return self.send(source, second);
                }
                Err(EmitError::TooLarge(limit)) => return Err(Error::TooLarge(limit)),
                Err(EmitError::Invalid(d)) => return Err(Error::Invalid(d)),
                Err(EmitError::NotPermitted(m)) => return Err(Error::NotPermitted(m)),
                Err(EmitError::Storage(m)) => return Err(Error::Storage(m)),
            }
        }
    }

    /// The plugin's config value for `key` (config over `config_schema` default).
    /// Errors: the value is not a `T`.
    pub fn config<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.host.config(key) {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| Error::Config(format!("{key}: {e}"))),
        }
    }

    /// Like [`Ctx::config`], with a fallback when the key is not set at all.
    pub fn config_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T> {
        Ok(self.config(key)?.unwrap_or(default))
    }

    /// The earliest timestamp the host accepts for this plugin, Unix seconds: the
    /// contract's 2020-01-01, or the tenant's `accept_since` (or `openclone capture
    /// --since`), which the host passes as the config key `accept_since` (`YYYY-MM-DD`).
    pub fn earliest(&self) -> f64 {
        crate::time::earliest_from(self.host.config("accept_since").as_deref())
    }

    /// True if the host will accept an event at `ts` ([`Ctx::earliest`] to 23 h ahead).
    pub fn accepted(&self, ts: f64) -> bool {
        crate::time::accepted_since(ts, self.earliest())
    }

    /// `base`, or `base@since=<Unix seconds>` when [`Ctx::earliest`] is not the contract's
    /// default: a state namespace for cursors that must start over when the bound is
    /// lowered (a history import re-reads what was held back; dedup skips the rest).
    pub fn bound_namespace(&self, base: &str) -> String {
        let earliest = self.earliest();
        if earliest == crate::time::EARLIEST {
            base.to_owned()
        } else {
            format!("{base}@since={earliest}")
        }
    }

    /// The keyed store `namespace` (persisted by the host, private to this plugin).
    pub fn state(&mut self, namespace: &str) -> State<'_> {
        State {
            ctx: self,
            namespace: namespace.to_owned(),
        }
    }

    /// The folders the user granted (`fs-read`), as paths to read with `std::fs`.
    pub fn inputs(&self) -> Vec<PathBuf> {
        self.host.inputs()
    }

    /// Writes to the host's log, tagged with the plugin id.
    pub fn log(&mut self, level: Level, message: &str) {
        self.host.log(level, message);
    }

    /// Records an input that could not be used (logged as a warning, listed in the report),
    /// so the pass goes on with the rest.
    pub fn problem(&mut self, message: impl Into<String>) {
        let message = message.into();
        self.host.log(Level::Warn, &message);
        self.report.problems.push(message);
    }

    /// Records that `count` records of `file` could not be read and were skipped while the
    /// rest of it was captured (recover per record, not per file): one warning
    /// and one line in the report's problems per file, naming the first `reason`; the
    /// count goes to the report's `skipped_records`. Nothing for a `count` of 0.
    pub fn skipped_records(&mut self, file: &str, count: usize, reason: &str) {
        if count == 0 {
            return;
        }
        self.problem(format!(
            "{file}: {count} record(s) skipped, the rest read; first: {reason}"
        ));
        self.report.skipped_records = self
            .report
            .skipped_records
            .saturating_add(u32::try_from(count).unwrap_or(u32::MAX));
    }

    /// The files under every granted folder that `keep` accepts (`hidden` files too, if
    /// asked) and that are new or changed since [`Ctx::done`] recorded them, sorted. This
    /// is the usual start of a pass: unchanged files are not even read.
    /// Errors: a file cannot be stat'ed, or state failed.
    pub fn changed_files(
        &mut self,
        hidden: bool,
        keep: impl Fn(&std::path::Path) -> bool,
    ) -> Result<Vec<InputFile>> {
        let mut out = Vec::new();
        for dir in self.inputs() {
            let all = if hidden {
                crate::fs::files_including_hidden(&dir)
            } else {
                crate::fs::files(&dir, &[])
            };
            for path in all.into_iter().filter(|p| keep(p)) {
                if let Some(stamp) = self.file_changed(&path)? {
                    let rel = path
                        .strip_prefix(&dir)
                        .unwrap_or(&path)
                        .display()
                        .to_string();
                    out.push(InputFile { path, rel, stamp });
                }
            }
        }
        Ok(out)
    }

    /// The file's text, or `None` (reported in one log line and marked done) when it is
    /// not UTF-8. Errors: it cannot be read.
    pub fn read_text(&mut self, file: &InputFile) -> Result<Option<String>> {
        match String::from_utf8(std::fs::read(&file.path)?) {
            Ok(text) => Ok(Some(text)),
            Err(_) => self.skip(file, "not UTF-8 text").map(|()| None),
        }
    }

    /// Reports a file that cannot be used (one log line: `<file>: <why>; skipped`) and
    /// marks it done, so it is not retried until it changes.
    pub fn skip(&mut self, file: &InputFile, why: &str) -> Result<()> {
        self.problem(format!("{}: {why}; skipped", file.rel));
        self.done(file)
    }

    /// Marks a file read at its stamp (after flushing what it emitted).
    pub fn done(&mut self, file: &InputFile) -> Result<()> {
        self.remember_file(&file.path, file.stamp)
    }

    /// The file's stamp if it is new or changed since [`Ctx::remember_file`] recorded it
    /// (state namespace `files`, or its [`Ctx::bound_namespace`] when the bound is
    /// lowered), `None` if it is unchanged. Errors: stat or state failed.
    pub fn file_changed(&mut self, path: &std::path::Path) -> Result<Option<crate::fs::Stamp>> {
        let stamp = crate::fs::Stamp::of(path)?;
        let namespace = self.bound_namespace("files");
        let seen: Option<crate::fs::Stamp> =
            self.state(&namespace).get(&path.display().to_string())?;
        Ok((seen != Some(stamp)).then_some(stamp))
    }

    /// Records that `path` was read at `stamp` (after its events were emitted).
    pub fn remember_file(&mut self, path: &std::path::Path, stamp: crate::fs::Stamp) -> Result<()> {
        self.flush()?;
        let namespace = self.bound_namespace("files");
        self.state(&namespace)
            .set(&path.display().to_string(), &stamp)
    }

    /// What the pass did so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    pub(crate) fn finish(mut self) -> Result<Report> {
        self.flush()?;
        Ok(self.report)
    }
}

/// A granted file for this pass: where it is, its path relative to its granted folder (for
/// messages and `raw_ref`s), and its stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The path to read.
    pub path: std::path::PathBuf,
    /// Relative to the granted folder.
    pub rel: String,
    /// Length and modification time.
    pub stamp: crate::fs::Stamp,
}

/// A keyed store namespace; values are JSON. Cursors and seen-sets live here.
pub struct State<'a> {
    ctx: &'a mut Ctx,
    namespace: String,
}

impl State<'_> {
    fn op(&mut self, key: &str, op: StateOp<'_>) -> Result<Option<String>> {
        self.ctx
            .host
            .state(&self.namespace, key, op)
            .map_err(Error::State)
    }

    /// The value of `key`, if present and not expired.
    pub fn get<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>> {
        match self.op(key, StateOp::Lookup)? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    /// Sets `key` to `value`.
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<()> {
        let json = serde_json::to_string(value)?;
        self.op(
            key,
            StateOp::Register {
                value: &json,
                ttl_ms: None,
            },
        )
        .map(drop)
    }

    /// Sets `key` to `value`, expiring after `ttl`.
    pub fn set_for<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<()> {
        let json = serde_json::to_string(value)?;
        let ttl_ms = Some(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        self.op(
            key,
            StateOp::Register {
                value: &json,
                ttl_ms,
            },
        )
        .map(drop)
    }

    /// Sets `key` only if absent, atomically; true if this call set it ("first time seen").
    pub fn insert_new<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<bool> {
        let json = serde_json::to_string(value)?;
        Ok(self
            .op(
                key,
                StateOp::RegisterIfAbsent {
                    value: &json,
                    ttl_ms: None,
                },
            )?
            .is_some())
    }

    /// Removes `key`, returning its value.
    pub fn take<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>> {
        match self.op(key, StateOp::Consume)? {
            Some(json) => Ok(Some(serde_json::from_str(&json)?)),
            None => Ok(None),
        }
    }

    /// Removes every key of the namespace.
    pub fn clear(&mut self) -> Result<()> {
        let ns = self.namespace.clone();
        self.ctx.host.state_clear(&ns).map_err(Error::State)
    }
}
