//! `screen`: the focused window's metadata and its text, read by the host
//! (`openclone-screen`: X11, exclusion rules, content hash, Tesseract). Requested in
//! plugin.json `requires_permissions` as `screen`, granted only by `[plugins.<id>] screen =
//! true`. The host checks, in order, before any pixel is read: the grant, the pause
//! (`openclone pause`), the read budget of the pass, the `[screen]` exclusions. A read
//! whose content hash equals this plugin's last read of the same target answers
//! `unchanged` without OCR; the last hashes are kept in the host's state store (namespace
//! `screen:<plugin id>`, which no plugin can name), so they hold across restarts.

use std::sync::Arc;
use std::time::Instant;

use openclone_screen::{Grab, Screen, ScreenError, Settings, Target};
use wasmtime::component::{HasSelf, Linker};

use super::{AfterPass, Capability, Configure, SettingsError};
use crate::sandbox::bindings::openclone::capture::screen as wit;
use crate::sandbox::context::PluginState;
use crate::sandbox::state_store::{Put, StateLimits};

/// The `screen` capability.
pub struct ScreenCapability;

/// Refusal lines kept per pass.
const MAX_LINES: usize = 10;

/// Metadata calls (`active-window`, `idle-ms`) one pass may make: each is a round trip
/// to the X server, so a plugin spinning on them is stopped, not the display.
pub const CALLS_PER_PASS: u32 = 1000;

/// What a plugin may read.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// plugin.json requests `screen`.
    pub requested: bool,
    /// The reader, when both the manifest requests and `[plugins.<id>] screen = true`
    /// grants it; with the host's `[screen]` settings.
    pub screen: Option<Arc<Screen>>,
    /// Reads (`read-active-window`, `read-monitor`) one pass may make;
    /// `screen_reads_per_pass`, default 10.
    pub reads_per_pass: u32,
    /// The plugin id.
    pub plugin: String,
}

/// One pass's use of the screen.
#[derive(Debug, Default)]
pub struct Instance {
    calls: u32,
    reads: u32,
    unchanged: u32,
    ocr: u32,
    ocr_ms: u64,
    excluded: u32,
    refused: u32,
    lines: Vec<String>,
}

impl Capability for ScreenCapability {
    const NAME: &'static str = "screen";
    const REQUESTED: bool = true;
    const KEYS: &'static [&'static str] = &["screen", "screen_reads_per_pass"];
    type Grant = Grant;
    type Instance = Instance;

    /// Errors: `screen` is not a boolean, `screen_reads_per_pass` not a positive number,
    /// or (when granted) a `[screen]` key that breaks a rule, named under this plugin.
    fn configure(c: &Configure<'_>) -> Result<Grant, SettingsError> {
        let granted = match c.table.get("screen") {
            None => false,
            Some(toml::Value::Boolean(b)) => *b,
            Some(_) => return Err(c.err("screen", "must be true or false")),
        };
        let requested = c.requested(Self::NAME);
        let screen = if requested && granted {
            let settings =
                Settings::from_table(&c.cfg.screen).map_err(|e| c.err("screen", e.to_string()))?;
            Some(Arc::new(Screen::new(settings)))
        } else {
            None
        };
        Ok(Grant {
            requested,
            screen,
            reads_per_pass: c.positive_u32("screen_reads_per_pass", 10)?,
            plugin: c.manifest.id.clone(),
        })
    }

    fn link(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
        wit::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
        Ok(())
    }

    fn describe(g: &Grant) -> String {
        match (&g.screen, g.requested) {
            (Some(_), _) => format!(
                "screen: granted ([plugins.{}] screen = true): window metadata and OCR text, {} reads a pass, [screen] exclusions applied",
                g.plugin, g.reads_per_pass
            ),
            (None, true) => format!(
                "screen: requested, not granted (add `screen = true` to [plugins.{}])",
                g.plugin
            ),
            (None, false) => "screen: not requested".into(),
        }
    }

    fn missing(g: &Grant) -> Option<String> {
        (g.requested && g.screen.is_none()).then(|| {
            format!(
                "screen: requested but not granted: add `screen = true` to [plugins.{}]",
                g.plugin
            )
        })
    }

    fn after_pass(i: &Instance) -> AfterPass {
        let notes = if i.reads > 0 {
            vec![format!(
                "screen: {} reads, {} unchanged, {} OCR, {} excluded ({} ms of OCR)",
                i.reads, i.unchanged, i.ocr, i.excluded, i.ocr_ms
            )]
        } else {
            Vec::new()
        };
        AfterPass {
            count: i.refused,
            lines: i.lines.clone(),
            notes,
        }
    }
}

fn rect(r: openclone_screen::Rect) -> wit::Rect {
    wit::Rect {
        x: r.x,
        y: r.y,
        width: r.width,
        height: r.height,
    }
}

fn window(w: &openclone_screen::Window) -> wit::Window {
    wit::Window {
        app: w.app.clone(),
        title: w.title.clone(),
        pid: w.pid,
        monitor: w.monitor,
        bounds: rect(w.rect),
        excluded: w.excluded.clone(),
    }
}

fn failure(e: ScreenError) -> wit::ScreenError {
    match e {
        ScreenError::Unsupported(why) => wit::ScreenError::Unsupported(why),
        ScreenError::NoWindow => wit::ScreenError::NoWindow,
        ScreenError::Excluded(rule) => wit::ScreenError::Excluded(rule),
        other => wit::ScreenError::Failed(other.to_string()),
    }
}

impl PluginState {
    /// The reader, or the refusal: no grant, paused.
    fn screen(&mut self) -> Result<Arc<Screen>, wit::ScreenError> {
        let g = &self.plugin.grants.screen;
        let Some(screen) = g.screen.clone() else {
            let why = if g.requested {
                format!(
                    "the screen is not granted: add `screen = true` to [plugins.{}] in openclone.toml",
                    g.plugin
                )
            } else {
                "plugin.json does not request `screen` in requires_permissions".to_owned()
            };
            self.refuse(&why);
            return Err(wit::ScreenError::Denied(why));
        };
        if self.plugin.ingest.pause().current().is_some() {
            return Err(wit::ScreenError::Paused);
        }
        Ok(screen)
    }

    /// The reader for a metadata call, within [`CALLS_PER_PASS`].
    fn metadata_call(&mut self) -> Result<Arc<Screen>, wit::ScreenError> {
        let screen = self.screen()?;
        if self.instances.screen.calls >= CALLS_PER_PASS {
            return Err(wit::ScreenError::Budget(CALLS_PER_PASS));
        }
        self.instances.screen.calls += 1;
        Ok(screen)
    }

    fn refuse(&mut self, why: &str) {
        let i = &mut self.instances.screen;
        i.refused += 1;
        if i.lines.len() < MAX_LINES {
            i.lines.push(format!("screen: {why}"));
        }
        tracing::warn!(plugin = %self.plugin.id, "screen: {why}");
    }

    /// The host's own state-store owner for this plugin's screen reads: `screen:<id>`,
    /// which no plugin id can be (ids are kebab-case).
    fn screen_owner(&self) -> String {
        format!("screen:{}", self.plugin.id)
    }

    /// The last content hash this plugin read of `target`.
    fn last_hash(&self, target: &str) -> Option<String> {
        self.plugin
            .state
            .lookup(&self.screen_owner(), "last-hash", target, false)
            .ok()
            .flatten()
    }

    /// Keeps `hash` as this plugin's last read of `target`.
    fn keep_hash(&self, target: &str, hash: &str) {
        let put = Put {
            value: hash,
            ttl_ms: None,
            only_if_absent: false,
        };
        if let Err(e) = self.plugin.state.register(
            &self.screen_owner(),
            "last-hash",
            target,
            put,
            StateLimits::default(),
        ) {
            tracing::warn!(plugin = %self.plugin.id, "screen: keeping the last hash: {e:?}");
        }
    }

    /// One read: checks, grab, hash against the last, OCR.
    fn read(&mut self, target: Target) -> Result<wit::Reading, wit::ScreenError> {
        let screen = self.screen()?;
        let limit = self.plugin.grants.screen.reads_per_pass;
        if self.instances.screen.reads >= limit {
            return Err(wit::ScreenError::Budget(limit));
        }
        self.instances.screen.reads += 1;
        let grab: Grab = match screen.grab(target) {
            Ok(g) => g,
            Err(e) => {
                if matches!(e, ScreenError::Excluded(_)) {
                    self.instances.screen.excluded += 1;
                }
                return Err(failure(e));
            }
        };
        let key = match target {
            Target::ActiveWindow => "active-window".to_owned(),
            Target::Monitor(n) => format!("monitor-{n}"),
        };
        if self.last_hash(&key).as_deref() == Some(grab.hash.as_str()) {
            self.instances.screen.unchanged += 1;
            return Ok(wit::Reading::Unchanged((window(&grab.window), grab.hash)));
        }
        let started = Instant::now();
        let lines = screen.ocr(&grab).map_err(failure)?;
        let ms = started.elapsed().as_millis() as u64;
        self.instances.screen.ocr += 1;
        self.instances.screen.ocr_ms += ms;
        self.keep_hash(&key, &grab.hash);
        Ok(wit::Reading::Text(wit::Frame {
            window: window(&grab.window),
            area: rect(grab.area),
            content_hash: grab.hash,
            lines: lines
                .into_iter()
                .map(|l| wit::TextLine {
                    text: l.text,
                    confidence: l.confidence,
                    bounds: rect(l.rect),
                })
                .collect(),
            masked: grab.masked,
            ocr_ms: ms.min(u64::from(u32::MAX)) as u32,
        }))
    }
}

impl wit::Host for PluginState {
    fn active_window(&mut self) -> Result<wit::Window, wit::ScreenError> {
        let screen = self.metadata_call()?;
        screen.active_window().map(|w| window(&w)).map_err(failure)
    }

    fn idle_ms(&mut self) -> Result<u64, wit::ScreenError> {
        let screen = self.metadata_call()?;
        screen.idle_ms().map_err(failure)
    }

    fn read_active_window(&mut self) -> Result<wit::Reading, wit::ScreenError> {
        self.read(Target::ActiveWindow)
    }

    fn read_monitor(&mut self, monitor: u32) -> Result<wit::Reading, wit::ScreenError> {
        self.read(Target::Monitor(monitor))
    }
}
