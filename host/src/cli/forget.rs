//! `openclone forget`: takes back what was captured in a time range (CONTRACT.md, "Forget
//! and retention"). Through the running host's control socket when `serve` runs
//! ([`crate::control`]), otherwise in this process with the data folder locked. It first
//! says what it would remove, then asks (unless `--yes`).

use std::path::PathBuf;

use anyhow::Context as _;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use openclone_ingest::config::Config;
use openclone_vault::{Selection, SourceType};

use crate::app::App;
use crate::control::{self, Answer, Call};
use crate::forget::{Outcome, Request};

/// The command's arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first instant forgotten: RFC 3339 (`2026-03-01T09:00:00+01:00`) or a day
    /// (`2026-03-01`, its start in the tenant's zone).
    #[arg(long)]
    pub from: String,
    /// The end of the range: RFC 3339 (excluded) or a day (included: up to its end).
    #[arg(long)]
    pub to: String,
    /// Only this source type (notes, screen_ocr, activity, …).
    #[arg(long)]
    pub source: Option<String>,
    /// Only what this plugin id captured.
    #[arg(long)]
    pub plugin: Option<String>,
    /// Only say what would be forgotten.
    #[arg(long)]
    pub dry_run: bool,
    /// Forget without asking.
    #[arg(long)]
    pub yes: bool,
    /// The tenant; default the first.
    #[arg(long)]
    pub tenant: Option<String>,
    /// The config file; default ./openclone.toml if present, else built-in defaults.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

/// Runs `openclone forget`.
///
/// Errors: a bad time, source type or tenant (named); the host or the vault failed.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = Config::load(args.config.as_deref())?;
    let tenant = match &args.tenant {
        Some(id) => cfg
            .tenants
            .iter()
            .find(|t| &t.id == id)
            .with_context(|| format!("no tenant {id:?} in the configuration"))?,
        None => cfg
            .tenants
            .first()
            .context("no tenant in the configuration")?,
    };
    let tz = TimeZone::get(&tenant.timezone)
        .with_context(|| format!("tenant {}: timezone {}", tenant.id, tenant.timezone))?;
    let from = instant(&args.from, &tz, false).context("--from")?;
    let to = instant(&args.to, &tz, true).context("--to")?;
    if from >= to {
        anyhow::bail!("--from ({from}) must be before --to ({to})");
    }
    let source = args
        .source
        .as_deref()
        .map(|s| {
            s.parse::<SourceType>().map_err(|()| {
                anyhow::anyhow!(
                    "--source {s:?} is not a source type; use one of {}",
                    SourceType::ALL.map(SourceType::as_str).join(", ")
                )
            })
        })
        .transpose()?;
    let mut req = Request {
        tenant: Some(tenant.id.clone()),
        selection: Selection {
            from,
            to,
            source,
            plugin: args.plugin.clone(),
            tombstone: true,
        },
        dry_run: true,
    };
    let mut local = None;
    let planned = send(&cfg, &req, &mut local)?;
    print(&planned);
    let nothing = planned.vault.entries == 0 && planned.activitywatch == 0;
    if args.dry_run || nothing {
        return Ok(());
    }
    if !args.yes
        && !super::ask::confirm(
            "Forget this? It cannot be undone.",
            "forgetting needs confirmation: run it in a terminal, or add --yes",
        )?
    {
        anyhow::bail!("nothing was forgotten");
    }
    req.dry_run = false;
    let done = send(&cfg, &req, &mut local)?;
    print(&done);
    if let Some(app) = local {
        app.close();
    }
    Ok(())
}

/// Sends the request to the running host, or runs it on `local` (opened on first use).
fn send(cfg: &Config, req: &Request, local: &mut Option<App>) -> anyhow::Result<Outcome> {
    if local.is_none() {
        match control::call(&cfg.data_dir(), &Call::Forget(req.clone()))? {
            Some(Answer::Forgot(o)) => return Ok(o),
            Some(Answer::Error(e)) => anyhow::bail!("the running host: {e}"),
            Some(Answer::Paused(_) | Answer::Resumed(_)) => {
                anyhow::bail!("the running host answered another call")
            }
            None => *local = Some(App::open(cfg)?),
        }
    }
    let app = local.as_ref().context("the vault is not open")?;
    crate::forget::forget(app, req)
}

/// A time argument: RFC 3339, or a day in `tz` (its start; with `end`, the next day's).
fn instant(arg: &str, tz: &TimeZone, end: bool) -> anyhow::Result<Timestamp> {
    if let Ok(t) = arg.parse::<Timestamp>() {
        return Ok(t);
    }
    let day: Date = arg.parse().map_err(|_| {
        anyhow::anyhow!("{arg:?} is neither RFC 3339 (2026-03-01T09:00:00Z) nor a day (2026-03-01)")
    })?;
    let day = if end { day.tomorrow()? } else { day };
    Ok(day.to_zoned(tz.clone())?.timestamp())
}

fn print(o: &Outcome) {
    let v = &o.vault;
    let verb = if v.dry_run { "would forget" } else { "forgot" };
    println!(
        "tenant {}: {verb} {} entr{} in {} daily file{} and {} ActivityWatch event{}",
        o.tenant,
        v.entries,
        if v.entries == 1 { "y" } else { "ies" },
        v.files.len(),
        if v.files.len() == 1 { "" } else { "s" },
        o.activitywatch,
        if o.activitywatch == 1 { "" } else { "s" },
    );
    for f in &v.files {
        let what = if f.removed {
            "file removed (nothing of yours was in it)".to_owned()
        } else {
            format!("{} → {} bytes", f.bytes_before, f.bytes_after)
        };
        println!(
            "  {}: {} entr{}, {what}",
            f.path,
            f.entries,
            if f.entries == 1 { "y" } else { "ies" }
        );
    }
    if !v.dry_run {
        println!(
            "  {} bytes rewritten; {} tombstone{} recorded (a resend of a forgotten event is skipped); your own text was kept",
            v.bytes_rewritten,
            v.tombstones,
            if v.tombstones == 1 { "" } else { "s" }
        );
    }
}
