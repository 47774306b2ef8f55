//! Forget and retention for the host (CONTRACT.md, "Forget and retention"): one forget
//! removes the selected entries of a tenant from the ActivityWatch journal, from its
//! vault's daily files ([`openclone_vault::forget`], with tombstones) and from its search
//! index (read again, its log checkpointed, before the forget answers).
//! `[retention]` runs the same, without tombstones, every [`RETENTION_EVERY`] and at start.

use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;
use openclone_vault::{Forgotten, Selection, SourceType};
use serde::{Deserialize, Serialize};

use crate::app::App;

/// How often `serve` applies `[retention]`.
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// A forget, as the command line sends it to a running host (or runs it itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// The tenant id; `None` for the first.
    pub tenant: Option<String>,
    /// What to forget.
    pub selection: Selection,
    /// Only say what would be forgotten.
    pub dry_run: bool,
}

/// What a forget did (or would do).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// The tenant id.
    pub tenant: String,
    /// The vault's part: entries, files, bytes rewritten, tombstones.
    pub vault: Forgotten,
    /// ActivityWatch journal events removed (or that would be).
    pub activitywatch: u64,
}

/// Runs `req` on `app`: the ActivityWatch journal and then the vault, with the session
/// writer held off between them, then the search index. Blocks; call off the async
/// runtime.
///
/// Errors: no such tenant; a file, the index or the journal could not be changed (what
/// was done stays done; an interrupted vault forget is finished at the next start).
pub fn forget(app: &App, req: &Request) -> anyhow::Result<Outcome> {
    let i = match &req.tenant {
        Some(id) => app
            .tenants
            .iter()
            .position(|t| &t.id == id)
            .with_context(|| format!("no tenant {id:?} in the configuration"))?,
        None => 0,
    };
    let t = &app.tenants[i];
    let sel = &req.selection;
    let v = app.vault(i)?;
    let (activitywatch, vault) = crate::activitywatch::forget(app, i, sel, req.dry_run, || {
        v.forget(sel.clone(), req.dry_run)
            .with_context(|| format!("tenant {}: the vault", t.id))
    })?;
    if !req.dry_run
        && !vault.files.is_empty()
        && let Some(feed) = app.recall.get(i).and_then(Option::as_ref)
    {
        let files = vault.files.iter().map(|f| f.path.clone()).collect();
        feed.sync(files)
            .map_err(|e| anyhow::anyhow!("tenant {}: the search index: {e}", t.id))?;
    }
    Ok(Outcome {
        tenant: t.id.clone(),
        vault,
        activitywatch,
    })
}

/// `[retention]` on a schedule: each pass forgets, for every tenant and every listed source
/// type, what is older than its retention. The first pass looks at the whole vault, later
/// ones only from a day before the last pass's bound. Runs until `stop` turns true; not at
/// all on a cluster frontend, which holds no vault.
pub async fn retain(app: std::sync::Arc<App>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let rules = app.config.retention();
    if rules.is_empty() || app.vaults.is_empty() {
        return;
    }
    let mut done_to: Vec<Option<Timestamp>> = vec![None; rules.len() * app.tenants.len()];
    loop {
        let (a, r, from) = (app.clone(), rules.clone(), done_to.clone());
        let pass = tokio::task::spawn_blocking(move || retain_once(&a, &r, &from));
        if let Ok(bounds) = pass.await {
            done_to = bounds;
        }
        tokio::select! {
            () = tokio::time::sleep(RETENTION_EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// One retention pass; returns each (tenant, rule)'s new bound (kept when it failed).
fn retain_once(
    app: &App,
    rules: &[(SourceType, jiff::SignedDuration)],
    done_to: &[Option<Timestamp>],
) -> Vec<Option<Timestamp>> {
    let now = Timestamp::now();
    let mut out = done_to.to_vec();
    for (ti, t) in app.tenants.iter().enumerate() {
        for (ri, &(source, keep)) in rules.iter().enumerate() {
            let slot = ti * rules.len() + ri;
            let Ok(to) = now.checked_sub(keep) else {
                continue;
            };
            let from = done_to
                .get(slot)
                .copied()
                .flatten()
                .and_then(|d| d.checked_sub(jiff::SignedDuration::from_hours(24)).ok())
                .unwrap_or(Timestamp::MIN);
            let req = Request {
                tenant: Some(t.id.clone()),
                selection: Selection {
                    from,
                    to,
                    source: Some(source),
                    plugin: None,
                    tombstone: false,
                },
                dry_run: false,
            };
            match forget(app, &req) {
                Ok(o) => {
                    if o.vault.entries > 0 || o.activitywatch > 0 {
                        tracing::info!(tenant = %t.id, source = %source, entries = o.vault.entries, files = o.vault.files.len(), activitywatch = o.activitywatch, "retention: forgot what is older than the source type's retention");
                    }
                    if let Some(s) = out.get_mut(slot) {
                        *s = Some(to);
                    }
                }
                Err(e) => {
                    tracing::warn!(tenant = %t.id, source = %source, error = format!("{e:#}"), "retention pass failed; retried at the next");
                }
            }
        }
    }
    out
}
