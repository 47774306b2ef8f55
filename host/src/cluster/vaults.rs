//! A writer's vaults: opened, with their search indexers and tenant locks, when the writer
//! takes a partition; closed when it gives it up; kept within `[retention]`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use openclone_cluster::wire;
use openclone_cluster::writer::Vaults;
use openclone_ingest::clock::unix_now;
use openclone_ingest::config::Config;
use openclone_ingest::guard::no_panic;
use openclone_ingest::service::Refused;
use openclone_ingest::store::{Done, store_in};
use openclone_recall::Feed;
use openclone_vault::{OnWritten, Rules, Selection, SourceType, Vault, validate_value};

use crate::app::{open_vault, search_index};
use crate::lock::DataLock;

/// `[retention]` on a writer: each tenant's vault forgets what is older than each source
/// type's retention (no tombstones, as in the single process) when the writer opens it
/// ([`Vaults::open`]) and then every [`crate::forget::RETENTION_EVERY`]; later passes look
/// from a day before the last bound. Runs until `stop` turns true.
pub(super) async fn retain(
    vaults: Arc<WriterVaults>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let rules = vaults.cfg.retention();
    if rules.is_empty() {
        return;
    }
    let mut done_to: HashMap<(String, usize), jiff::Timestamp> = HashMap::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(crate::forget::RETENTION_EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let (v, r, from) = (vaults.clone(), rules.clone(), done_to.clone());
        if let Ok(bounds) = tokio::task::spawn_blocking(move || v.retain_once(&r, &from)).await {
            done_to = bounds;
        }
    }
}

/// The vaults of the partitions a writer holds, opened when it takes a partition and
/// closed when it gives it up.
pub(super) struct WriterVaults {
    cfg: Config,
    /// How long to wait for a tenant's lock held by a writer still closing it.
    patience: Duration,
    open: Mutex<HashMap<String, OpenTenant>>,
}

struct OpenTenant {
    vault: Arc<Vault>,
    /// The tenant's search indexer (`[search] enabled`), fed by the vault's writes, so
    /// `openclone search` and `mcp` on the writers' folder read a current index.
    feed: Option<Arc<Feed>>,
    earliest: f64,
    _lock: DataLock,
}

impl WriterVaults {
    /// The vaults of `cfg`'s tenants, none open yet; `patience` is how long to wait for a
    /// tenant's lock held by a writer still closing it.
    pub(super) fn new(cfg: Config, patience: Duration) -> Self {
        Self {
            cfg,
            patience,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Tenant `id`'s lock: `openclone.lock` in its state folder, held while its vault is
    /// open, so two writers on one machine or one shared folder never write it together,
    /// even if a lease were wrong. Waits up to `patience` for a writer still closing it.
    fn lock_tenant(&self, id: &str) -> anyhow::Result<DataLock> {
        let dir = self.cfg.data_dir().join("state").join(id);
        let until = Instant::now() + self.patience;
        loop {
            match DataLock::acquire(&dir) {
                Ok(l) => return Ok(l),
                Err(e) if Instant::now() >= until => {
                    return Err(e).with_context(|| format!("tenant {id}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl WriterVaults {
    /// One retention pass over the open tenants; returns each (tenant, rule)'s new bound.
    fn retain_once(
        &self,
        rules: &[(SourceType, jiff::SignedDuration)],
        done_to: &HashMap<(String, usize), jiff::Timestamp>,
    ) -> HashMap<(String, usize), jiff::Timestamp> {
        let open: Vec<(String, Arc<Vault>)> = match self.open.lock() {
            Ok(open) => open
                .iter()
                .map(|(id, t)| (id.clone(), t.vault.clone()))
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut out = done_to.clone();
        for (id, vault) in open {
            retain_tenant(&id, &vault, rules, done_to, &mut out);
        }
        out
    }
}

/// Tenant `id`'s retention pass: for each rule, forget what is older than it, from a day
/// before the bound in `done_to` (the whole vault the first time); new bounds go to `out`.
fn retain_tenant(
    id: &str,
    vault: &Vault,
    rules: &[(SourceType, jiff::SignedDuration)],
    done_to: &HashMap<(String, usize), jiff::Timestamp>,
    out: &mut HashMap<(String, usize), jiff::Timestamp>,
) {
    let now = jiff::Timestamp::now();
    for (ri, &(source, keep)) in rules.iter().enumerate() {
        let Ok(to) = now.checked_sub(keep) else {
            continue;
        };
        let slot = (id.to_owned(), ri);
        let from = done_to
            .get(&slot)
            .and_then(|d| d.checked_sub(jiff::SignedDuration::from_hours(24)).ok())
            .unwrap_or(jiff::Timestamp::MIN);
        let sel = Selection {
            from,
            to,
            source: Some(source),
            plugin: None,
            tombstone: false,
        };
        match vault.forget(sel, false) {
            Ok(o) => {
                if o.entries > 0 {
                    tracing::info!(tenant = %id, source = %source, entries = o.entries, files = o.files.len(), "retention: forgot what is older than the source type's retention");
                }
                out.insert(slot, to);
            }
            Err(e) => {
                tracing::warn!(tenant = %id, source = %source, error = %e, "retention pass failed; retried at the next");
            }
        }
    }
}

impl Vaults for WriterVaults {
    fn open(&self, p: u32, partitions: u32) -> anyhow::Result<()> {
        for t in self
            .cfg
            .tenants
            .iter()
            .filter(|t| wire::partition(&t.id, partitions) == p)
        {
            let lock = self.lock_tenant(&t.id)?;
            let feed = match self.cfg.search.enabled {
                true => {
                    let path = search_index(&self.cfg, &t.id);
                    openclone_vault::durable::private_database(&path)
                        .with_context(|| format!("tenant {}: creating {}", t.id, path.display()))?;
                    let feed = Feed::start(path.clone(), self.cfg.vault_root(t))
                        .with_context(|| format!("tenant {}: opening {}", t.id, path.display()))?;
                    Some(Arc::new(feed))
                }
                false => None,
            };
            let listener = feed
                .clone()
                .map(|feed| OnWritten(Arc::new(move |files: Vec<String>| feed.written(files))));
            let vault = Arc::new(open_vault(&self.cfg, t, listener)?);
            retain_tenant(
                &t.id,
                &vault,
                &self.cfg.retention(),
                &HashMap::new(),
                &mut HashMap::new(),
            );
            let tenant = OpenTenant {
                vault,
                feed,
                earliest: t.earliest(),
                _lock: lock,
            };
            if let Ok(mut open) = self.open.lock() {
                open.insert(t.id.clone(), tenant);
            }
        }
        Ok(())
    }

    fn close(&self, p: u32, partitions: u32) {
        let closing: Vec<OpenTenant> = match self.open.lock() {
            Ok(mut open) => {
                let ids: Vec<String> = open
                    .keys()
                    .filter(|id| wire::partition(id, partitions) == p)
                    .cloned()
                    .collect();
                ids.iter().filter_map(|id| open.remove(id)).collect()
            }
            Err(_) => Vec::new(),
        };
        for t in closing {
            t.vault.close();
            if let Some(f) = &t.feed {
                f.close();
            }
        }
    }

    fn store(&self, tenant: &str, body: &[u8], done: Done) {
        let found = self
            .open
            .lock()
            .ok()
            .and_then(|open| open.get(tenant).map(|t| (t.vault.clone(), t.earliest)));
        let Some((vault, earliest)) = found else {
            return done(Err(Refused::Unavailable(format!(
                "this writer keeps no vault of tenant {tenant:?}: add it to the writers' openclone.toml"
            ))));
        };
        let rules = Rules {
            now: unix_now(),
            earliest,
        };
        let checked = no_panic("ingest", || {
            let (batch, keys) = wire::decode(body)?;
            Ok((validate_value(batch, &rules)?, keys))
        });
        match checked {
            Ok(Ok((batch, keys))) => store_in(&vault, batch, keys, done),
            Ok(Err(errs)) => done(Err(Refused::Invalid(errs))),
            Err(m) => done(Err(Refused::Internal(m))),
        }
    }
}
