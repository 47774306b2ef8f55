//! The `screen` capability's host side (CONTRACT.md, "The screen capability").
//!
//! - [`x11`]: which window has focus (`_NET_ACTIVE_WINDOW`, `WM_CLASS`, `_NET_WM_NAME`,
//!   `_NET_WM_PID`), the stack of visible windows, and pixel grabs (`GetImage`);
//! - [`rules`]: `[screen] exclude_apps` / `exclude_titles`, applied to window metadata
//!   before any pixel is read;
//! - [`image`]: a grab in memory, masking, and the content hash of a downscaled copy;
//! - [`ocr`]: Tesseract 5 through its CLI, with a timeout, its TSV output read into lines
//!   with confidence and boxes;
//! - [`settings`]: the `[screen]` table of openclone.toml;
//! - [`check`]: what `openclone doctor` says about the display and the OCR engine.
//!
//! [`Screen`] puts them together. Pixels never leave this crate: callers get metadata, text
//! lines and a hash.

pub mod check;
pub mod image;
pub mod ocr;
pub mod rules;
pub mod settings;
pub mod x11;

use std::time::{Duration, Instant};

pub use self::image::Image;
pub use self::ocr::Line;
pub use self::settings::{Settings, SettingsError};

/// A rectangle in screen pixels (root-window coordinates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Rect {
    /// The overlap of two rectangles, if they overlap.
    pub fn intersect(&self, o: &Rect) -> Option<Rect> {
        let x0 = self.x.max(o.x);
        let y0 = self.y.max(o.y);
        let x1 =
            (i64::from(self.x) + i64::from(self.width)).min(i64::from(o.x) + i64::from(o.width));
        let y1 =
            (i64::from(self.y) + i64::from(self.height)).min(i64::from(o.y) + i64::from(o.height));
        (x1 > i64::from(x0) && y1 > i64::from(y0)).then(|| Rect {
            x: x0,
            y: y0,
            width: (x1 - i64::from(x0)) as u32,
            height: (y1 - i64::from(y0)) as u32,
        })
    }

    /// True if the point lies inside.
    pub fn contains(&self, px: i64, py: i64) -> bool {
        px >= i64::from(self.x)
            && py >= i64::from(self.y)
            && px < i64::from(self.x) + i64::from(self.width)
            && py < i64::from(self.y) + i64::from(self.height)
    }
}

/// A top-level window as the window manager describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Window {
    /// The application: `WM_CLASS`'s class part (`KeePassXC`, `firefox`), or its instance
    /// part when the class is empty.
    pub app: String,
    /// `WM_CLASS`'s instance part.
    pub instance: String,
    /// `_NET_WM_NAME` (UTF-8), else `WM_NAME`; empty when the window is excluded.
    pub title: String,
    /// `_NET_WM_PID`, when the client sets it.
    pub pid: Option<u32>,
    /// The monitor (RandR order, from 0) holding the window's centre.
    pub monitor: u32,
    /// Where it is on the screen.
    pub rect: Rect,
    /// The X11 window id.
    pub id: u32,
    /// The exclusion rule it matched (`exclude_apps: keepassxc`), if any.
    pub excluded: Option<String>,
}

/// Why the screen could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ScreenError {
    /// No backend on this session (no display, Wayland without a portal): the reason.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// No window has focus.
    #[error("no window has focus")]
    NoWindow,
    /// The window matched an exclusion rule; nothing was read. The rule.
    #[error("excluded by {0}")]
    Excluded(String),
    /// The display refused or broke a request.
    #[error("display: {0}")]
    Display(String),
    /// OCR failed or timed out.
    #[error("ocr: {0}")]
    Ocr(String),
    /// No such monitor (the count).
    #[error("no monitor {0}: this display has {1}")]
    NoMonitor(u32, u32),
}

/// What to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The focused window, as far as it is on screen.
    ActiveWindow,
    /// One monitor, whole (excluded windows on it masked).
    Monitor(u32),
}

/// One grab, before OCR: where, what was masked, and its content hash.
pub struct Grab {
    /// The focused window (for a monitor grab too: what had focus then).
    pub window: Window,
    /// The area read, screen coordinates.
    pub area: Rect,
    /// Excluded windows blacked out before the hash and OCR.
    pub masked: u32,
    /// sha256 (hex, 32 digits) of a 1/8-scale grey copy quantised to 64 levels: a
    /// blinking caret or a clock's second changes it only if it changes a block's level.
    pub hash: String,
    /// The pixels (kept in the host).
    pub image: Image,
    /// Time to read and hash the pixels.
    pub elapsed: Duration,
}

/// The screen of this session, with its rules and OCR engine.
#[derive(Debug, Clone)]
pub struct Screen {
    settings: Settings,
}

impl Screen {
    /// A screen reader with `settings` (see [`Settings::from_table`]).
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }

    /// Its settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The focused window's metadata, its title emptied and `excluded` set when it matches
    /// a rule. Errors: [`ScreenError::Unsupported`] without an X11 display,
    /// [`ScreenError::NoWindow`], [`ScreenError::Display`].
    pub fn active_window(&self) -> Result<Window, ScreenError> {
        let x = x11::Display::open()?;
        let mut w = x.active_window()?;
        self.settings.rules.apply(&mut w);
        Ok(w)
    }

    /// Milliseconds since the last keyboard or pointer input. Errors: as
    /// [`Self::active_window`], or [`ScreenError::Unsupported`] without MIT-SCREEN-SAVER.
    pub fn idle_ms(&self) -> Result<u64, ScreenError> {
        x11::Display::open()?.idle_ms()
    }

    /// Grabs `target`: the rules are checked on window metadata first, so an excluded
    /// focused window is refused before any pixel is read, and excluded windows above the
    /// target (for a monitor: anywhere on it) are blacked out before the hash.
    ///
    /// Errors: as [`Self::active_window`], [`ScreenError::Excluded`] naming the rule,
    /// [`ScreenError::NoMonitor`].
    pub fn grab(&self, target: Target) -> Result<Grab, ScreenError> {
        let started = Instant::now();
        let x = x11::Display::open()?;
        let mut window = x.active_window()?;
        self.settings.rules.apply(&mut window);
        let stack = x.stack()?;
        let (area, above_from) = match target {
            Target::ActiveWindow => {
                if let Some(rule) = &window.excluded {
                    return Err(ScreenError::Excluded(rule.clone()));
                }
                let at = stack.iter().position(|s| s.contains(window.id));
                (window.rect, at.map_or(0, |i| i + 1))
            }
            Target::Monitor(n) => {
                let monitors = x.monitors()?;
                let count = monitors.len() as u32;
                let m = *monitors
                    .get(n as usize)
                    .ok_or(ScreenError::NoMonitor(n, count))?;
                (m, 0)
            }
        };
        let area = x
            .screen_rect()
            .intersect(&area)
            .ok_or_else(|| ScreenError::Display("the window is off screen".into()))?;
        let mut masks = Vec::new();
        for s in stack.iter().skip(above_from) {
            if let Some(client) = &s.client {
                let mut c = client.clone();
                self.settings.rules.apply(&mut c);
                if c.excluded.is_some()
                    && let Some(r) = s.frame.intersect(&area)
                {
                    masks.push(r);
                }
            }
        }
        let mut image = x.grab(area)?;
        for r in &masks {
            image.fill(Rect {
                x: r.x - area.x,
                y: r.y - area.y,
                ..*r
            });
        }
        let hash = image.content_hash();
        Ok(Grab {
            window,
            area,
            masked: masks.len() as u32,
            hash,
            image,
            elapsed: started.elapsed(),
        })
    }

    /// OCR of a grab: its text lines in screen coordinates, best first by position (top to
    /// bottom). Errors: [`ScreenError::Ocr`] (no engine, timeout, bad output).
    pub fn ocr(&self, grab: &Grab) -> Result<Vec<Line>, ScreenError> {
        let mut lines = self.settings.ocr.run(&grab.image)?;
        for l in &mut lines {
            l.rect.x += grab.area.x;
            l.rect.y += grab.area.y;
        }
        Ok(lines)
    }
}
