//! `window-activity`: which application and window had focus, and for how long, from the
//! host alone (no ActivityWatch). Every pass (`interval_s`, default 5) asks the host's
//! `screen` capability for the focused window's metadata (no pixel is read). While the
//! same window keeps focus its session grows; when another window takes focus, the
//! session ends and becomes one `activity` event (`app_name`, `title`, `duration`,
//! `start`, `end`), which the vault heads `## 09:12:03–09:47:10 · firefox`, like the
//! ActivityWatch entries.
//!
//! - A session ends at the pass that saw the new window (durations are right to within
//!   one `interval_s`).
//! - A window seen again after more than `max_gap_s` (the host was paused, asleep or
//!   stopped) starts a new session; the old one ends where it was last seen.
//! - An excluded window (password manager, private browser window) is recorded by
//!   application alone: the host withholds its title.
//! - No window with focus ends the session; paused recording is a quiet pass.
//! - `raw_ref` is `window:<start>:<app>`: a session is one entry.

use openclone_guest::prelude::*;
use openclone_guest::screen::{ScreenError, Window};
use serde::{Deserialize, Serialize};

/// The plugin.
pub struct WindowActivity;

/// The open session, kept in state between passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The application.
    pub app: String,
    /// The window title (empty for an excluded window).
    pub title: String,
    /// First seen, Unix seconds.
    pub start: f64,
    /// Last seen, Unix seconds.
    pub last: f64,
}

impl Session {
    fn same(&self, w: &Window) -> bool {
        self.app == w.app && self.title == w.title
    }

    /// The session as an `activity` event ending at `end`.
    pub fn event(&self, end: f64) -> Emit {
        let end = end.max(self.start);
        let mut e = Emit::new(
            SourceType::Activity,
            self.start,
            serde_json::json!({
                "app_name": if self.app.is_empty() { "unknown" } else { &self.app },
                "duration": ((end - self.start) * 1000.0).round() / 1000.0,
                "start": self.start,
                "end": end,
            }),
        )
        .raw_ref(format!(
            "window:{:.3}:{}",
            self.start,
            self.app.chars().take(64).collect::<String>()
        ));
        if !self.title.is_empty() {
            e = e.field("title", self.title.clone());
        }
        e
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// One pass at time `at` with the focused window `w` (or none): the ended session's event,
/// if one ended, and the session to keep.
pub fn step(
    open: Option<Session>,
    w: Option<&Window>,
    at: f64,
    max_gap: f64,
) -> (Option<Emit>, Option<Session>) {
    let fresh = |w: &Window| Session {
        app: w.app.clone(),
        title: w.title.clone(),
        start: at,
        last: at,
    };
    match (open, w) {
        (Some(mut s), Some(w)) if s.same(w) && at - s.last <= max_gap => {
            s.last = at;
            (None, Some(s))
        }
        (Some(s), w) => {
            let end = if at - s.last <= max_gap { at } else { s.last };
            (Some(s.event(end)), w.map(fresh))
        }
        (None, w) => (None, w.map(fresh)),
    }
}

impl Plugin for WindowActivity {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Activity];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let max_gap: f64 = ctx.config_or("max_gap_s", 60.0)?;
        let window = match ctx.active_window() {
            Ok(w) => Some(w),
            Err(Error::Screen(ScreenError::NoWindow)) => None,
            Err(Error::Screen(ScreenError::Paused)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let open: Option<Session> = ctx.state("session").get("open")?;
        let (ended, keep) = step(open, window.as_ref(), now(), max_gap);
        if let Some(e) = ended {
            ctx.emit(e)?;
            ctx.flush()?;
        }
        match keep {
            Some(s) => ctx.state("session").set("open", &s),
            None => ctx.state("session").take::<Session>("open").map(drop),
        }
    }
}

openclone_guest::export_plugin!(WindowActivity);

#[cfg(test)]
mod tests {
    use super::*;
    use openclone_guest::testing::frame;

    fn w(app: &str, title: &str) -> Window {
        frame(app, title, &[]).window
    }

    #[test]
    fn a_session_ends_when_another_window_takes_focus() {
        let (a, b) = (w("XTerm", "plan"), w("firefox", "mail"));
        let (e, s) = step(None, Some(&a), 100.0, 60.0);
        assert!(e.is_none());
        let (e, s) = step(s, Some(&a), 105.0, 60.0);
        assert!(e.is_none());
        let (e, s) = step(s, Some(&b), 110.0, 60.0);
        let e = e.expect("ended");
        assert_eq!(e.timestamp, 100.0);
        assert_eq!(e.data["duration"], 10.0);
        assert_eq!(e.data["app_name"], "XTerm");
        assert_eq!(e.data["title"], "plan");
        assert_eq!(s.expect("open").app, "firefox");
    }

    #[test]
    fn a_gap_ends_the_session_where_it_was_last_seen() {
        let a = w("XTerm", "plan");
        let (_, s) = step(None, Some(&a), 100.0, 60.0);
        let (_, s) = step(s, Some(&a), 130.0, 60.0);
        let (e, s) = step(s, Some(&a), 1000.0, 60.0);
        assert_eq!(e.expect("ended").data["duration"], 30.0);
        assert_eq!(s.as_ref().expect("open").start, 1000.0);
        let (e, s) = step(s, None, 1004.0, 60.0);
        assert_eq!(e.expect("ended").data["end"], 1004.0);
        assert!(s.is_none());
    }
}
