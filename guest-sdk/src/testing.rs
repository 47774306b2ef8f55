//! A native test harness: run a plugin's `init` and `capture` against an in-memory host,
//! with real folders as inputs, without building a component or starting the host.
//!
//! The in-memory host keeps state across passes (so incremental behaviour is testable),
//! and checks and keys every emitted event with the host's own code (`openclone-vault`:
//! `validate_events` and `DedupKey::of`), so a plugin that passes here is accepted by the
//! host, and one the host refuses fails here with the same field errors.
//!
//! Outgoing HTTP is served from canned responses ([`Harness::http`]); every request is
//! recorded ([`Harness::requests`]) with its headers, so conditional fetches are testable.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::Serialize;
use serde_json::Value;

use crate::ctx::{Ctx, Report};
use crate::events::source_name;
use crate::host::{EmitError, HostApi, Receipt, StateOp, WireEvent};
use crate::http::{DENIED, Response};
use crate::screen::{Frame, Reading, Rect, ScreenError, Target, TextLine, Window};
use crate::{Level, Plugin, Result, SourceType};
use openclone_vault::{DedupKey, RawEvent, Rules, validate_events};

/// The plugin id the harness keys events with (keys are only compared within one harness).
const HARNESS_PLUGIN_ID: &str = "harness";

/// An event the plugin emitted and the in-memory host stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    /// Its source type.
    pub source: SourceType,
    /// Unix seconds.
    pub timestamp: f64,
    /// The `data` object.
    pub data: Value,
    /// Its `raw_ref`.
    pub raw_ref: Option<String>,
}

#[derive(Default)]
struct Memory {
    events: Vec<Emitted>,
    seen: HashSet<String>,
    config: HashMap<String, String>,
    state: HashMap<(String, String), String>,
    inputs: Vec<PathBuf>,
    logs: Vec<(Level, String)>,
    responses: HashMap<String, Response>,
    requests: Vec<Request>,
    screen: CannedScreen,
}

/// The harness's screen: canned frames shown in turn, the last one staying on screen.
#[derive(Default)]
struct CannedScreen {
    queue: std::collections::VecDeque<Frame>,
    current: Option<Frame>,
    error: Option<ScreenError>,
    last_hash: HashMap<Target, String>,
    idle_ms: u64,
    reads: u32,
    ocr: u32,
}

/// A canned frame for [`Harness::frame`]: `app`'s window titled `title` showing `lines`
/// (confidence 90, one 20-pixel row each), its content hash the sha256 of all three.
pub fn frame(app: &str, title: &str, lines: &[&str]) -> Frame {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [app, title].iter().chain(lines) {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let rect = |y: i32, height: u32| Rect {
        x: 0,
        y,
        width: 800,
        height,
    };
    Frame {
        window: Window {
            app: app.to_owned(),
            title: title.to_owned(),
            pid: None,
            monitor: 0,
            bounds: rect(0, 600),
            excluded: None,
        },
        area: rect(0, 600),
        content_hash: digest[..16].iter().map(|b| format!("{b:02x}")).collect(),
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, t)| TextLine {
                text: (*t).to_owned(),
                confidence: 90.0,
                bounds: rect(i as i32 * 20, 20),
            })
            .collect(),
        masked: 0,
        ocr_ms: 0,
    }
}

/// An HTTP request the plugin made (answered or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The URL, as the plugin passed it.
    pub url: String,
    /// The request headers (name, value), in the order sent.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The value of the first header named `name` (case-insensitive), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The in-memory host. Cheap to clone: clones share one memory.
#[derive(Clone, Default)]
pub struct Harness {
    mem: Rc<RefCell<Memory>>,
}

impl Harness {
    /// An empty host: no inputs, no config, no state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants a folder (what `/input/N` is under the real host).
    pub fn input(self, dir: impl AsRef<Path>) -> Self {
        self.mem
            .borrow_mut()
            .inputs
            .push(dir.as_ref().to_path_buf());
        self
    }

    /// Sets a config value (what `[plugins.<id>] key = …` is under the real host).
    pub fn config(self, key: &str, value: impl Serialize) -> Self {
        let json = serde_json::to_string(&value).unwrap_or_else(|_| "null".into());
        self.mem.borrow_mut().config.insert(key.to_owned(), json);
        self
    }

    /// Serves a GET of exactly `url` with `status`, `headers` (name, value) and `body`,
    /// replacing what was served there before (call it on a clone between passes to
    /// change a resource). A request whose `If-None-Match` equals the `ETag` given here
    /// (or, without `If-None-Match`, whose `If-Modified-Since` equals the
    /// `Last-Modified`) is answered 304 with no body, if `status` is 200. A URL with no
    /// canned response is refused as the host refuses one not in `allowed_hosts`.
    pub fn http(
        self,
        url: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Self {
        let response = Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.into(),
        };
        self.mem
            .borrow_mut()
            .responses
            .insert(url.to_owned(), response);
        self
    }

    /// Queues a canned frame ([`frame`]): each screen read shows the next one, and the
    /// last stays on screen. A read of the same content hash as the last read of its
    /// target is `Unchanged` and counts no OCR, as on the host.
    pub fn frame(self, frame: Frame) -> Self {
        self.mem.borrow_mut().screen.queue.push_back(frame);
        self
    }

    /// `idle_ms` answers `ms` from now on (0 until set: someone is typing).
    pub fn idle(self, ms: u64) -> Self {
        self.mem.borrow_mut().screen.idle_ms = ms;
        self
    }

    /// Every screen call answers `error` (`ScreenError::Paused`, `Denied`, …) from now on.
    pub fn screen_error(self, error: ScreenError) -> Self {
        self.mem.borrow_mut().screen.error = Some(error);
        self
    }

    /// Screen reads so far, and how many of them ran OCR (were not unchanged).
    pub fn screen_counts(&self) -> (u32, u32) {
        let m = self.mem.borrow();
        (m.screen.reads, m.screen.ocr)
    }

    /// Every HTTP request made so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.mem.borrow().requests.clone()
    }

    /// Runs `init` then `capture`, as the host does for each pass.
    pub fn capture<P: Plugin>(&mut self) -> Result<Report> {
        P::init(&mut Ctx::new(Box::new(self.clone())))?;
        let mut ctx = Ctx::new(Box::new(self.clone()));
        let outcome = P::capture(&mut ctx);
        let report = ctx.finish()?;
        outcome.map(|()| report)
    }

    /// Every event stored so far, in order.
    pub fn events(&self) -> Vec<Emitted> {
        self.mem.borrow().events.clone()
    }

    /// Every log line so far (`"warn: message"`).
    pub fn logs(&self) -> Vec<String> {
        self.mem
            .borrow()
            .logs
            .iter()
            .map(|(l, m)| format!("{}: {m}", level_name(*l)))
            .collect()
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

impl HostApi for Harness {
    fn emit(
        &mut self,
        source: SourceType,
        events: &[WireEvent],
    ) -> std::result::Result<Receipt, EmitError> {
        let raw: Vec<RawEvent<'_>> = events
            .iter()
            .map(|e| RawEvent {
                timestamp: e.timestamp,
                data: &e.data,
                raw_ref: e.raw_ref.as_deref(),
            })
            .collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let earliest = crate::time::earliest_from(HostApi::config(self, "accept_since").as_deref());
        let checked = validate_events(&raw, &Rules { now, earliest }).map_err(|errs| {
            EmitError::Invalid(errs.into_iter().map(|f| (f.field, f.message)).collect())
        })?;
        let vault_source: openclone_vault::SourceType =
            source_name(source).parse().map_err(|()| {
                EmitError::NotPermitted(format!("unknown source type {}", source_name(source)))
            })?;
        let mut mem = self.mem.borrow_mut();
        let (mut stored, mut skipped) = (0, 0);
        for event in checked {
            let key = DedupKey::of(vault_source, HARNESS_PLUGIN_ID, &event).to_hex();
            if mem.seen.insert(key) {
                stored += 1;
                mem.events.push(Emitted {
                    source,
                    timestamp: event.timestamp,
                    data: Value::Object(event.data),
                    raw_ref: event.raw_ref,
                });
            } else {
                skipped += 1;
            }
        }
        Ok(Receipt { stored, skipped })
    }

    fn log(&mut self, level: Level, message: &str) {
        self.mem.borrow_mut().logs.push((level, message.to_owned()));
    }

    fn config(&self, key: &str) -> Option<String> {
        self.mem.borrow().config.get(key).cloned()
    }

    fn state(
        &mut self,
        namespace: &str,
        key: &str,
        op: StateOp<'_>,
    ) -> std::result::Result<Option<String>, String> {
        let mut mem = self.mem.borrow_mut();
        let k = (namespace.to_owned(), key.to_owned());
        Ok(match op {
            StateOp::Register { value, .. } => {
                mem.state.insert(k, value.to_owned());
                None
            }
            StateOp::RegisterIfAbsent { value, .. } => match mem.state.entry(k) {
                std::collections::hash_map::Entry::Occupied(_) => None,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(value.to_owned());
                    Some(String::new())
                }
            },
            StateOp::Lookup => mem.state.get(&k).cloned(),
            StateOp::Consume => mem.state.remove(&k),
        })
    }

    fn state_clear(&mut self, namespace: &str) -> std::result::Result<(), String> {
        self.mem
            .borrow_mut()
            .state
            .retain(|(ns, _), _| ns != namespace);
        Ok(())
    }

    fn inputs(&self) -> Vec<PathBuf> {
        self.mem.borrow().inputs.clone()
    }

    fn active_window(&mut self) -> std::result::Result<Window, ScreenError> {
        let m = self.mem.borrow();
        if let Some(e) = &m.screen.error {
            return Err(e.clone());
        }
        m.screen
            .queue
            .front()
            .or(m.screen.current.as_ref())
            .map(|f| f.window.clone())
            .ok_or(ScreenError::NoWindow)
    }

    fn idle_ms(&mut self) -> std::result::Result<u64, ScreenError> {
        let m = self.mem.borrow();
        match &m.screen.error {
            Some(e) => Err(e.clone()),
            None => Ok(m.screen.idle_ms),
        }
    }

    fn read_screen(&mut self, target: Target) -> std::result::Result<Reading, ScreenError> {
        let mut m = self.mem.borrow_mut();
        let s = &mut m.screen;
        if let Some(e) = &s.error {
            return Err(e.clone());
        }
        if let Some(next) = s.queue.pop_front() {
            s.current = Some(next);
        }
        let f = s.current.clone().ok_or(ScreenError::NoWindow)?;
        s.reads += 1;
        if s.last_hash.get(&target) == Some(&f.content_hash) {
            return Ok(Reading::Unchanged((f.window, f.content_hash)));
        }
        s.ocr += 1;
        s.last_hash.insert(target, f.content_hash.clone());
        Ok(Reading::Text(f))
    }

    fn http_get(
        &mut self,
        url: &str,
        headers: &[(String, String)],
    ) -> std::result::Result<Response, String> {
        crate::http::target(url)?;
        let request = Request {
            url: url.to_owned(),
            headers: headers.to_vec(),
        };
        let mut mem = self.mem.borrow_mut();
        let canned = mem.responses.get(url).cloned();
        let unchanged = canned.as_ref().is_some_and(|c| {
            c.status == 200
                && match request.header("if-none-match") {
                    Some(tag) => c.header("etag") == Some(tag),
                    None => request
                        .header("if-modified-since")
                        .is_some_and(|date| c.header("last-modified") == Some(date)),
                }
        });
        mem.requests.push(request);
        let canned = canned.ok_or_else(|| DENIED.to_owned())?;
        Ok(if unchanged {
            Response {
                status: 304,
                body: Vec::new(),
                ..canned
            }
        } else {
            canned
        })
    }
}
