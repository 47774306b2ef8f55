//! Pausing recording: `openclone pause [--for 30m]` and `openclone resume` (CONTRACT.md,
//! "Pause").
//!
//! A pause is host-wide and kept in `<data>/state/pause.json` (written by
//! [`openclone_vault::durable::write`]), so it holds across a restart or a power cut and a
//! host started while paused starts paused. While paused:
//! - no plugin pass starts (the supervisor asks [`Pause::current`]);
//! - every way in from outside (HTTP ingest, the ActivityWatch API, OwnTracks) answers as
//!   usual but stores no event timed at or after the pause began: such an event is counted as
//!   skipped ([`Pause::covers`]), so a client does not queue and resend it after the pause.
//!   An older event (a phone's backlog) is stored.
//!
//! A pause with an end (`--for`) ends by itself; once it has ended, nothing is held back.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::clock::unix_now;

/// The file, under the data folder.
pub const FILE: &str = "state/pause.json";

/// Now in Unix seconds, whole milliseconds: a time that survives the JSON of the pause
/// file exactly (serde_json parses a number of 13 significant digits without rounding, and
/// not every one of 17).
fn now_ms() -> f64 {
    (unix_now() * 1000.0).round() / 1000.0
}

/// A pause in force.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Paused {
    /// When it began, Unix seconds.
    pub since: f64,
    /// When it ends by itself, Unix seconds; `None` until `openclone resume`.
    pub until: Option<f64>,
}

impl Paused {
    fn over(&self, now: f64) -> bool {
        self.until.is_some_and(|u| now >= u)
    }
}

/// The host's pause state.
#[derive(Debug)]
pub struct Pause {
    file: PathBuf,
    state: Mutex<Option<Paused>>,
}

impl Pause {
    /// The pause state of data folder `data`: the saved one when it is still in force. A
    /// file that cannot be read or parsed is reported and counts as paused from now on,
    /// until `openclone resume`: a person who paused is never recorded because a file was
    /// damaged.
    pub fn open(data: &Path) -> Self {
        let file = data.join(FILE);
        let read = std::fs::read(&file).map_err(|e| (e.kind(), e.to_string()));
        let state = match read.and_then(|bytes| {
            serde_json::from_slice::<Option<Paused>>(&bytes)
                .map_err(|e| (std::io::ErrorKind::InvalidData, e.to_string()))
        }) {
            Ok(p) => p.filter(|p| !p.over(now_ms())),
            Err((std::io::ErrorKind::NotFound, _)) => None,
            Err((_, error)) => {
                tracing::error!(file = %file.display(), %error, "the pause file cannot be read: paused until `openclone resume`");
                Some(Paused {
                    since: now_ms(),
                    until: None,
                })
            }
        };
        Self {
            file,
            state: Mutex::new(state),
        }
    }

    /// The pause in force now, if any.
    pub fn current(&self) -> Option<Paused> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.is_some_and(|p| p.over(now_ms())) {
            *s = None;
        }
        *s
    }

    /// Whether an event timed `at` (Unix seconds) is held back: a pause is in force and
    /// began at or before `at`.
    pub fn covers(&self, at: f64) -> bool {
        self.current().is_some_and(|p| at >= p.since)
    }

    /// Pauses for `seconds` from now, or until [`Pause::resume`] when `None`. A pause
    /// already in force keeps its start and takes the new end. Errors: the state could not
    /// be saved (nothing changes then).
    pub fn pause(&self, seconds: Option<f64>) -> std::io::Result<Paused> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_ms();
        let since = s.filter(|p| !p.over(now)).map_or(now, |p| p.since);
        let next = Paused {
            since,
            until: seconds.map(|d| ((now + d) * 1000.0).round() / 1000.0),
        };
        self.save(Some(next))?;
        *s = Some(next);
        tracing::info!(since, until = ?next.until, "recording paused");
        Ok(next)
    }

    /// Ends the pause; returns the one that was in force. Errors: the state could not be
    /// saved (the pause stays then).
    pub fn resume(&self) -> std::io::Result<Option<Paused>> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let was = s.filter(|p| !p.over(now_ms()));
        self.save(None)?;
        *s = None;
        if was.is_some() {
            tracing::info!("recording resumed");
        }
        Ok(was)
    }

    fn save(&self, state: Option<Paused>) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(&state).map_err(std::io::Error::other)?;
        openclone_vault::durable::write(&self.file, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_holds_across_a_reopen_and_ends_by_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = Pause::open(dir.path());
        assert_eq!(p.current(), None);
        let paused = p.pause(None).expect("pause");
        assert!(p.covers(paused.since + 1.0) && !p.covers(paused.since - 1.0));
        assert_eq!(Pause::open(dir.path()).current(), Some(paused));
        let again = p.pause(Some(3600.0)).expect("pause again");
        assert_eq!(again.since, paused.since, "a second pause keeps the start");
        assert_eq!(p.resume().expect("resume"), Some(again));
        assert_eq!(Pause::open(dir.path()).current(), None);
        p.pause(Some(-1.0)).expect("an ended pause");
        assert_eq!(p.current(), None);
        assert_eq!(Pause::open(dir.path()).current(), None);
    }

    #[test]
    fn a_damaged_file_pauses_until_resume() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("state")).expect("folder");
        std::fs::write(dir.path().join(FILE), b"{not json").expect("write");
        let p = Pause::open(dir.path());
        assert!(p.current().is_some_and(|s| s.until.is_none()));
        p.resume().expect("resume");
        assert_eq!(Pause::open(dir.path()).current(), None);
    }
}
