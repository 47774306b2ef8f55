//! The `--capability screen` templates of `openclone plugins new` (Rust and Python): a
//! plugin that reads the focused window's text through the host's `screen` capability and
//! emits it as `screen_ocr` when it changed, and its test on the SDK's canned frames.

/// `src/lib.rs` of plugin `name` (struct `camel`).
pub fn lib(name: &str, camel: &str) -> String {
    format!(
        r#"//! `{name}`: an OpenClone capture plugin reading the screen (scaffolded by
//! `openclone plugins new --capability screen`).
//!
//! Each pass asks the host to read the focused window. The host applies `[screen]`
//! exclusions before any pixel is read, runs OCR, and answers `Unchanged` (no OCR) when the
//! window looks as it did at this plugin's last read. Pixels never reach the plugin.

use openclone_guest::prelude::*;
use openclone_guest::screen::{{Reading, ScreenError, Target, text_of}};

/// The plugin.
pub struct {camel};

impl Plugin for {camel} {{
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::ScreenOcr];

    fn capture(ctx: &mut Ctx) -> Result<()> {{
        let frame = match ctx.read_screen(Target::ActiveWindow) {{
            Ok(Reading::Text(frame)) => frame,
            // Nothing new, recording paused, a password manager or private window in
            // front, or no window: a quiet pass.
            Ok(Reading::Unchanged(_))
            | Err(Error::Screen(ScreenError::Paused | ScreenError::Excluded(_) | ScreenError::NoWindow)) => {{
                return Ok(());
            }}
            Err(e) => return Err(e),
        }};
        let text = text_of(&frame, 60.0);
        if text.is_empty() {{
            return Ok(());
        }}
        let window = frame.window.clone();
        ctx.emit(
            ScreenOcr {{
                text,
                app_name: Some(window.app),
                window_title: Some(window.title),
                url: None,
            }}
            .at(openclone_guest::time::now())
            .raw_ref(format!("{name}:{{}}", frame.content_hash)),
        )
    }}
}}

openclone_guest::export_plugin!({camel});
"#
    )
}

/// `tests/plugin.rs` of plugin `name` (crate `crate_name`, struct `camel`).
pub fn test(name: &str, crate_name: &str, camel: &str) -> String {
    format!(
        r#"//! `{name}` against the SDK's in-memory host and its canned frames.

use openclone_guest::screen::ScreenError;
use openclone_guest::testing::{{Harness, frame}};

#[test]
fn emits_the_windows_text_once_and_skips_an_unchanged_screen() -> openclone_guest::Result<()> {{
    let mut host = Harness::new().frame(frame("XTerm", "Quarterly plan", &["Revenue up 12%"]));
    assert_eq!(host.capture::<{crate_name}::{camel}>()?.stored, 1);
    assert_eq!(host.capture::<{crate_name}::{camel}>()?.emitted, 0, "unchanged: no OCR");
    assert_eq!(host.screen_counts(), (2, 1));
    assert_eq!(host.events()[0].data["text"], "Revenue up 12%");
    Ok(())
}}

#[test]
fn a_paused_host_is_a_quiet_pass() -> openclone_guest::Result<()> {{
    let mut host = Harness::new().screen_error(ScreenError::Paused);
    assert_eq!(host.capture::<{crate_name}::{camel}>()?.emitted, 0);
    Ok(())
}}
"#
    )
}

/// `app.py` of the Python plugin `name` (class `class`).
pub fn python_app(name: &str, class: &str) -> String {
    format!(
        r#""""`{name}`: an OpenClone capture plugin reading the screen (scaffolded by
`openclone plugins new --lang python --capability screen`).

Each pass asks the host to read the focused window. The host applies `[screen]`
exclusions before any pixel is read, runs OCR, and answers `Unchanged` (no OCR) when the
window looks as it did at this plugin's last read. Pixels never reach the plugin.
"""

from openclone_guest import (
    Ctx,
    Frame,
    Plugin,
    ScreenExcluded,
    ScreenNoWindow,
    ScreenPaused,
    SourceType,
    Target,
    clock,
    events,
    export,
    text_of,
)


class {class}(Plugin):
    """The plugin; `id`, `version` and `source_types` match plugin.json."""

    id = "{name}"
    version = "0.1.0"
    source_types = (SourceType.SCREEN_OCR,)

    def capture(self, ctx: Ctx) -> None:
        """Emits the focused window's text when it changed."""
        try:
            reading = ctx.read_screen(Target.ACTIVE_WINDOW)
        except (ScreenPaused, ScreenExcluded, ScreenNoWindow):
            return  # paused, a password manager or private window in front, or no window
        if not isinstance(reading, Frame):
            return  # unchanged: no OCR ran
        text = text_of(reading, 60)
        if text:
            w = reading.window
            event = events.ScreenOcr(text=text, app_name=w.app, window_title=w.title)
            ctx.emit(event.at(clock.now()).raw_ref(f"{name}:{{reading.content_hash}}"))


WitWorld = export({class})
"#
    )
}

/// `tests/test_plugin.py` of the Python plugin `name` (class `class`).
pub fn python_test(name: &str, class: &str) -> String {
    format!(
        r#""""`{name}` against the Python guest SDK's in-memory host and its canned frames."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import {class}  # noqa: E402
from openclone_guest import ScreenPaused  # noqa: E402
from openclone_guest.testing import Harness, frame  # noqa: E402


class Screen(unittest.TestCase):
    def test_emits_the_windows_text_once_and_skips_an_unchanged_screen(self) -> None:
        with Harness() as host:
            host.frame(frame("XTerm", "Quarterly plan", ["Revenue up 12%"]))
            self.assertEqual(host.capture({class}).stored, 1)
            self.assertEqual(host.capture({class}).emitted, 0, "unchanged: no OCR")
            self.assertEqual(host.screen_counts(), (2, 1))
            self.assertEqual(host.events()[0].data["text"], "Revenue up 12%")

    def test_a_paused_host_is_a_quiet_pass(self) -> None:
        with Harness() as host:
            host.screen_error(ScreenPaused())
            self.assertEqual(host.capture({class}).emitted, 0)


if __name__ == "__main__":
    unittest.main()
"#
    )
}
