//! `openclone pause [--for 30m]` and `openclone resume` (CONTRACT.md, "Pause"): through the
//! running host's control socket ([`crate::control`]); with no host running, the pause file
//! is written here and the next `serve` starts paused.

use std::path::PathBuf;

use anyhow::Context as _;
use openclone_ingest::config::Config;
use openclone_ingest::pause::{Pause, Paused};

use crate::control::{self, Answer, Call};
use crate::lock::DataLock;

/// The longest pause `--for` takes: a year.
const MAX_FOR_S: f64 = 366.0 * 86_400.0;

/// `--for`'s span in seconds: a friendly or ISO 8601 duration (`30m`, `2h 30m`, `1d`,
/// `PT90S`, jiff's syntax), more than 0 and at most a year. Errors: names the flag and the
/// rule.
pub fn seconds(arg: &str) -> anyhow::Result<f64> {
    let span: jiff::Span = arg.parse().map_err(|e| {
        anyhow::anyhow!("--for {arg:?}: not a duration such as 30m, 2h or 1d ({e})")
    })?;
    let now = jiff::Zoned::now();
    let s = span
        .total((jiff::Unit::Second, &now))
        .map_err(|e| anyhow::anyhow!("--for {arg:?}: {e}"))?;
    if !(s > 0.0 && s <= MAX_FOR_S) {
        anyhow::bail!("--for {arg:?}: must be more than 0 and at most a year");
    }
    Ok(s)
}

/// Runs `openclone pause` (`resume` false, with `--for` as `span`) or `openclone resume`.
///
/// Errors: a bad `--for`; a host runs on the data folder but cannot be reached; the
/// pause file cannot be written.
pub fn run(config: Option<PathBuf>, resume: bool, span: Option<&str>) -> anyhow::Result<()> {
    let cfg = Config::load(config.as_deref())?;
    let seconds = span.map(seconds).transpose()?;
    let call = if resume {
        Call::Resume
    } else {
        Call::Pause { seconds }
    };
    let data = cfg.data_dir();
    let answer = match control::call(&data, &call)? {
        Some(a) => a,
        None => {
            // No host listens: unless one holds the data folder, change the file it reads.
            let _lock = DataLock::acquire(&data)
                .context("a host holds the data folder but its control socket cannot be reached")?;
            let pause = Pause::open(&data);
            match call {
                Call::Resume => Answer::Resumed(pause.resume()?),
                _ => Answer::Paused(pause.pause(seconds)?),
            }
        }
    };
    match answer {
        Answer::Paused(p) => println!("recording paused {}", until(&p)),
        Answer::Resumed(Some(p)) => {
            println!("recording resumed (it was paused since {})", at(p.since))
        }
        Answer::Resumed(None) => println!("recording was not paused"),
        Answer::Error(e) => anyhow::bail!("the running host: {e}"),
        Answer::Forgot(_) => anyhow::bail!("the running host answered another call"),
    }
    Ok(())
}

fn at(secs: f64) -> String {
    jiff::Timestamp::from_millisecond((secs * 1000.0) as i64).map_or_else(
        |_| format!("{secs}"),
        |t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        },
    )
}

/// `until 2026-12-07 10:30:00 CET (openclone resume ends it sooner)` or `until openclone resume`.
fn until(p: &Paused) -> String {
    match p.until {
        Some(u) => format!("until {} (`openclone resume` ends it sooner)", at(u)),
        None => "until `openclone resume`".to_owned(),
    }
}
