//! `window-activity`: which application and window had focus, and for how long, and when
//! the person was away, from the host alone (no ActivityWatch). Every pass (`interval_s`,
//! default 5) asks the host's `screen` capability for the focused window's metadata and
//! the input idle time (no pixel is read). While the same window keeps focus its session
//! grows; when another window takes focus, the session ends and becomes one `activity`
//! event (`app_name`, `title`, `duration`, `start`, `end`), which the vault heads
//! `## 09:12:03–09:47:10 · firefox`, like the ActivityWatch entries.
//!
//! - A session ends at the pass that saw the new window (durations are right to within
//!   one `interval_s`).
//! - **Away**: with no keyboard or pointer input for `afk_after_s` (default 180, as
//!   ActivityWatch's), the window's session ends when the input stopped and an away
//!   session (`status: "afk"`, headed `Away`) begins there; it ends at the last input
//!   when the person is back. Idle time comes from the X server's MIT-SCREEN-SAVER
//!   extension; without it nobody is ever away.
//! - A window seen again after more than `max_gap_s` (the host was paused, asleep or
//!   stopped) starts a new session; the old one ends where it was last seen.
//! - An excluded window (password manager, private browser window) is recorded by
//!   application alone: the host withholds its title.
//! - No window with focus ends the session; paused recording is a quiet pass.
//! - `raw_ref` is `window:<start>:<app>` (`away:<start>`): a session is one entry.

use openclone_guest::prelude::*;
use openclone_guest::screen::{ScreenError, Window};
use serde::{Deserialize, Serialize};

/// The plugin.
pub struct WindowActivity;

/// The open session, kept in state between passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The application (empty when away).
    pub app: String,
    /// The window title (empty for an excluded window, or when away).
    pub title: String,
    /// The person was away (no input).
    #[serde(default)]
    pub away: bool,
    /// First seen, Unix seconds.
    pub start: f64,
    /// Last seen, Unix seconds.
    pub last: f64,
}

/// What one pass saw.
#[derive(Debug, Clone, Copy)]
pub enum Seen<'a> {
    /// This window had focus, with input within `afk_after_s`.
    Window(&'a Window),
    /// No input for at least `afk_after_s`.
    Away,
    /// No window had focus.
    Nothing,
}

impl Session {
    fn same(&self, seen: Seen<'_>) -> bool {
        match seen {
            Seen::Window(w) => !self.away && self.app == w.app && self.title == w.title,
            Seen::Away => self.away,
            Seen::Nothing => false,
        }
    }

    /// The session as an `activity` event ending at `end`.
    pub fn event(&self, end: f64) -> Emit {
        let end = end.max(self.start);
        let duration = ((end - self.start) * 1000.0).round() / 1000.0;
        if self.away {
            return Emit::new(
                SourceType::Activity,
                self.start,
                serde_json::json!({"status": "afk", "duration": duration, "start": self.start, "end": end}),
            )
            .raw_ref(format!("away:{:.3}", self.start));
        }
        let mut e = Emit::new(
            SourceType::Activity,
            self.start,
            serde_json::json!({
                "app_name": if self.app.is_empty() { "unknown" } else { &self.app },
                "duration": duration,
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

/// One pass at time `at` that saw `seen`: the ended session's event, if one ended, and the
/// session to keep. A change ends the open session at `at`, or where the input stopped
/// when going away, or at the last input when coming back; a gap over `max_gap` ends it
/// where it was last seen.
pub fn step(
    open: Option<Session>,
    seen: Seen<'_>,
    at: f64,
    idle: f64,
    max_gap: f64,
) -> (Option<Emit>, Option<Session>) {
    let fresh = |start: f64| match seen {
        Seen::Window(w) => Some(Session {
            app: w.app.clone(),
            title: w.title.clone(),
            away: false,
            start,
            last: at,
        }),
        Seen::Away => Some(Session {
            app: String::new(),
            title: String::new(),
            away: true,
            start,
            last: at,
        }),
        Seen::Nothing => None,
    };
    match open {
        Some(mut s) if s.same(seen) && at - s.last <= max_gap => {
            s.last = at;
            (None, Some(s))
        }
        Some(s) if at - s.last > max_gap => (Some(s.event(s.last)), fresh(at)),
        Some(s) => {
            // Going away: when the input stopped. Coming back: at the last input.
            let change = if s.away || matches!(seen, Seen::Away) {
                (at - idle.max(0.0)).clamp(s.start, at)
            } else {
                at
            };
            (Some(s.event(change)), fresh(change))
        }
        None => (None, fresh(at)),
    }
}

impl Plugin for WindowActivity {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Activity];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let max_gap: f64 = ctx.config_or("max_gap_s", 60.0)?;
        let afk_after: f64 = ctx.config_or("afk_after_s", 180.0)?;
        let window = match ctx.active_window() {
            Ok(w) => Some(w),
            Err(Error::Screen(ScreenError::NoWindow)) => None,
            Err(Error::Screen(ScreenError::Paused)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let idle = match ctx.idle_ms() {
            Ok(ms) => ms as f64 / 1000.0,
            Err(Error::Screen(ScreenError::Unsupported(_))) => 0.0,
            Err(Error::Screen(ScreenError::Paused)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let seen = match &window {
            _ if idle >= afk_after => Seen::Away,
            Some(w) => Seen::Window(w),
            None => Seen::Nothing,
        };
        let open: Option<Session> = ctx.state("session").get("open")?;
        let (ended, keep) = step(open, seen, now(), idle, max_gap);
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
        let (e, s) = step(None, Seen::Window(&a), 100.0, 0.0, 60.0);
        assert!(e.is_none());
        let (e, s) = step(s, Seen::Window(&a), 105.0, 0.0, 60.0);
        assert!(e.is_none());
        let (e, s) = step(s, Seen::Window(&b), 110.0, 0.0, 60.0);
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
        let (_, s) = step(None, Seen::Window(&a), 100.0, 0.0, 60.0);
        let (_, s) = step(s, Seen::Window(&a), 130.0, 0.0, 60.0);
        let (e, s) = step(s, Seen::Window(&a), 1000.0, 0.0, 60.0);
        assert_eq!(e.expect("ended").data["duration"], 30.0);
        assert_eq!(s.as_ref().expect("open").start, 1000.0);
        let (e, s) = step(s, Seen::Nothing, 1004.0, 0.0, 60.0);
        assert_eq!(e.expect("ended").data["end"], 1004.0);
        assert!(s.is_none());
    }

    #[test]
    fn away_begins_when_the_input_stopped_and_ends_at_the_last_input() {
        let a = w("XTerm", "plan");
        let (_, s) = step(None, Seen::Window(&a), 100.0, 0.0, 60.0);
        let (_, s) = step(s, Seen::Window(&a), 150.0, 40.0, 60.0);
        // No input since 110: the window's session ends there, away from there.
        let (e, s) = step(s, Seen::Away, 200.0, 90.0, 60.0);
        let e = e.expect("window ended");
        assert_eq!(e.data["end"], 110.0);
        assert_eq!(e.data["duration"], 10.0);
        let away = s.expect("away");
        assert!(away.away);
        assert_eq!(away.start, 110.0);
        let (_, s) = step(Some(away), Seen::Away, 250.0, 140.0, 60.0);
        // Back: the last input was 3 s before this pass.
        let (e, s) = step(s, Seen::Window(&a), 300.0, 3.0, 60.0);
        let e = e.expect("away ended");
        assert_eq!(e.data["status"], "afk");
        assert_eq!(e.data["start"], 110.0);
        assert_eq!(e.data["end"], 297.0);
        assert!(e.data.get("app_name").is_none());
        assert_eq!(s.expect("window").start, 297.0);
    }
}
