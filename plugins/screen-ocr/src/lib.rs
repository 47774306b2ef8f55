//! `screen-ocr`: every pass (`interval_s`, default 30) reads the focused window's text
//! through the host's `screen` capability and emits it as one `screen_ocr` event.
//!
//! - An unchanged screen costs nothing: the host answers `unchanged` without OCR.
//! - Text it already emitted for the same window within `repeat_minutes` is not emitted
//!   again (a window flipped away and back).
//! - OCR lines below `min_confidence` are dropped; a read with no line left emits nothing.
//! - Paused recording, an excluded window (password managers, private browser windows) and
//!   no focused window are quiet passes; a session the host cannot read (no display,
//!   Wayland) or a failed OCR fails the pass with the host's reason.
//! - `raw_ref` is `screen:<app>:<title hash>:<content hash>`: the same frame of the same
//!   window is one entry however often it is offered.

use openclone_guest::prelude::*;
use openclone_guest::screen::{Frame, Reading, ScreenError, Target, text_of};
use sha2::{Digest, Sha256};

/// The plugin.
pub struct ScreenOcr;

/// The first `http(s)://` address (or `www.` host) a window title shows.
pub fn url_in_title(title: &str) -> Option<String> {
    title
        .split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '|' | '—' | '–'))
        .map(|t| t.trim_end_matches([',', ')', '.', ';']))
        .find_map(|t| {
            if (t.starts_with("https://") || t.starts_with("http://")) && t.len() > 10 {
                Some(t.to_owned())
            } else if t.starts_with("www.") && t.len() > 7 && t[4..].contains('.') {
                Some(format!("https://{t}"))
            } else {
                None
            }
        })
}

fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The event for a read frame, or `None` when no line passes `min_confidence`.
pub fn event(frame: &Frame, min_confidence: f32, at: f64) -> Option<Emit> {
    let text = text_of(frame, min_confidence);
    if text.is_empty() {
        return None;
    }
    let w = &frame.window;
    let app: String = w.app.chars().take(64).collect();
    let raw_ref = format!(
        "screen:{app}:{}:{}",
        short_hash(&[&w.title]),
        frame.content_hash
    );
    Some(
        openclone_guest::events::ScreenOcr {
            text,
            app_name: Some(w.app.clone()).filter(|a| !a.is_empty()),
            window_title: Some(w.title.clone()).filter(|t| !t.is_empty()),
            url: url_in_title(&w.title),
        }
        .at(at)
        .raw_ref(raw_ref),
    )
}

impl Plugin for ScreenOcr {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::ScreenOcr];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let target = match ctx.config_or::<String>("target", "window".into())?.as_str() {
            "window" => Target::ActiveWindow,
            "monitor" => Target::Monitor(ctx.config_or("monitor", 0u32)?),
            other => {
                return Err(Error::Config(format!(
                    "target: {other:?} is neither \"window\" nor \"monitor\""
                )));
            }
        };
        let min_confidence: f32 = ctx.config_or("min_confidence", 60.0)?;
        let repeat_minutes: u64 = ctx.config_or("repeat_minutes", 10)?;
        let frame = match ctx.read_screen(target) {
            Ok(Reading::Text(f)) => f,
            Ok(Reading::Unchanged(_)) => return Ok(()),
            Err(Error::Screen(
                e @ (ScreenError::Paused | ScreenError::NoWindow | ScreenError::Excluded(_)),
            )) => {
                ctx.log(Level::Debug, &openclone_guest::screen::describe(&e));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let Some(event) = event(&frame, min_confidence, now()) else {
            return Ok(());
        };
        let text = event
            .data
            .get("text")
            .and_then(|t| t.as_str())
            .unwrap_or("");
        let seen = short_hash(&[&frame.window.app, &frame.window.title, text]);
        let mut recent = ctx.state("recent");
        if recent.get::<f64>(&seen)?.is_some() {
            return Ok(());
        }
        recent.set_for(
            &seen,
            &now(),
            std::time::Duration::from_secs(repeat_minutes.max(1) * 60),
        )?;
        ctx.emit(event)
    }
}

openclone_guest::export_plugin!(ScreenOcr);

#[cfg(test)]
mod tests {
    use super::*;
    use openclone_guest::testing::{Harness, frame};

    #[test]
    fn emits_changed_text_once_and_skips_unchanged_and_repeated_frames() -> Result<()> {
        let plan = frame(
            "XTerm",
            "Quarterly plan",
            &["Revenue up 12%", "Hire two engineers"],
        );
        let other = frame(
            "firefox",
            "Docs https://example.org/page — Firefox",
            &["Other page"],
        );
        let mut host = Harness::new().frame(plan.clone()).frame(other).frame(plan);
        assert_eq!(host.capture::<ScreenOcr>()?.stored, 1);
        assert_eq!(host.capture::<ScreenOcr>()?.stored, 1);
        assert_eq!(
            host.capture::<ScreenOcr>()?.emitted,
            0,
            "the same text in the same window within repeat_minutes"
        );
        assert_eq!(host.capture::<ScreenOcr>()?.emitted, 0, "unchanged");
        assert_eq!(host.screen_counts(), (4, 3));
        let e = host.events();
        assert_eq!(e[0].data["text"], "Revenue up 12%\nHire two engineers");
        assert_eq!(e[0].data["app_name"], "XTerm");
        assert_eq!(e[0].data["window_title"], "Quarterly plan");
        assert_eq!(e[1].data["url"], "https://example.org/page");
        Ok(())
    }

    #[test]
    fn low_confidence_lines_are_dropped_and_paused_is_quiet() -> Result<()> {
        let mut f = frame("XTerm", "t", &["clear text", "n0!se"]);
        f.lines[1].confidence = 12.0;
        let mut host = Harness::new().frame(f);
        host.capture::<ScreenOcr>()?;
        assert_eq!(host.events()[0].data["text"], "clear text");
        let mut paused = Harness::new().screen_error(ScreenError::Paused);
        assert_eq!(paused.capture::<ScreenOcr>()?.emitted, 0);
        let mut denied =
            Harness::new().screen_error(ScreenError::Denied("add screen = true".into()));
        assert!(denied.capture::<ScreenOcr>().is_err());
        Ok(())
    }

    #[test]
    fn urls_come_only_from_titles_that_show_one() {
        assert_eq!(
            url_in_title("GitHub — https://github.com/x/y, Chromium").as_deref(),
            Some("https://github.com/x/y")
        );
        assert_eq!(
            url_in_title("www.example.org - Firefox").as_deref(),
            Some("https://www.example.org")
        );
        assert_eq!(url_in_title("Quarterly plan"), None);
    }
}
