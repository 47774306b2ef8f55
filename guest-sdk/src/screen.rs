//! The `screen` capability (world 0.3.0): the focused window's metadata and its text,
//! read by the host. The plugin's `plugin.json` requests `screen` in
//! `requires_permissions`, and the user grants it with `[plugins.<id>] screen = true`.
//!
//! The host grabs the pixels, applies `[screen] exclude_apps` / `exclude_titles` before any
//! pixel is read, runs OCR and answers with text lines, boxes and a content hash; pixels
//! never reach the plugin. A read whose content equals this plugin's last read of the same
//! target is [`Reading::Unchanged`] and costs no OCR.
//!
//! ```
//! use openclone_guest::prelude::*;
//! use openclone_guest::screen::{Reading, Target};
//!
//! /// Emits the focused window's text when it changed.
//! struct Reader;
//!
//! impl Plugin for Reader {
//!     const SOURCE_TYPES: &'static [SourceType] = &[SourceType::ScreenOcr];
//!
//!     fn capture(ctx: &mut Ctx) -> Result<()> {
//!         if let Reading::Text(f) = ctx.read_screen(Target::ActiveWindow)? {
//!             let text: Vec<&str> = f.lines.iter().map(|l| l.text.as_str()).collect();
//!             ctx.emit(ScreenOcr { text: text.join("\n"), app_name: Some(f.window.app.clone()), window_title: Some(f.window.title.clone()), url: None }
//!                 .at(1_708_258_800.0).raw_ref(f.content_hash.clone()))?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # fn main() -> Result<()> {
//! use openclone_guest::testing::{Harness, frame};
//! let mut host = Harness::new().frame(frame("XTerm", "Quarterly plan", &["Revenue up 12%"]));
//! assert_eq!(host.capture::<Reader>()?.stored, 1);
//! assert_eq!(host.capture::<Reader>()?.emitted, 0, "the same screen is unchanged");
//! assert_eq!(host.screen_counts(), (2, 1), "two reads, one OCR");
//! # Ok(())
//! # }
//! ```

pub use crate::bindings::openclone::capture::screen::{
    Frame, Reading, Rect, ScreenError, TextLine, Window,
};
use crate::{Ctx, Error, Result};

/// What to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// The focused window, as far as it is on screen.
    ActiveWindow,
    /// A whole monitor (from 0); excluded windows on it are blacked out by the host.
    Monitor(u32),
}

/// The host's screen refusal in words.
pub fn describe(e: &ScreenError) -> String {
    match e {
        ScreenError::Denied(m) => format!("screen denied: {m}"),
        ScreenError::Paused => "recording is paused".into(),
        ScreenError::Excluded(rule) => format!("window excluded by {rule}"),
        ScreenError::NoWindow => "no window has focus".into(),
        ScreenError::Unsupported(m) => format!("screen unsupported: {m}"),
        ScreenError::Budget(n) => format!("the pass's limit of {n} screen calls is spent"),
        ScreenError::Failed(m) => format!("screen: {m}"),
    }
}

impl Ctx {
    /// The focused window's metadata (no pixel is read). Errors: [`Error::Screen`] with
    /// the host's [`ScreenError`] (`Paused` and `Excluded` are normal answers: match on
    /// them to skip a pass quietly).
    pub fn active_window(&mut self) -> Result<Window> {
        self.host_mut().active_window().map_err(Error::Screen)
    }

    /// Milliseconds since the person last typed or moved the pointer (the X server's
    /// MIT-SCREEN-SAVER extension). Errors: as [`Ctx::active_window`].
    pub fn idle_ms(&mut self) -> Result<u64> {
        self.host_mut().idle_ms().map_err(Error::Screen)
    }

    /// Reads `target`'s text. Errors: as [`Ctx::active_window`].
    pub fn read_screen(&mut self, target: Target) -> Result<Reading> {
        self.host_mut().read_screen(target).map_err(Error::Screen)
    }
}

/// The text of a frame's lines at or above `min_confidence` (0–100), one per line.
pub fn text_of(frame: &Frame, min_confidence: f32) -> String {
    frame
        .lines
        .iter()
        .filter(|l| l.confidence >= min_confidence)
        .map(|l| l.text.trim())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}
