//! `openclone search QUERY`: the search index of a tenant, read-only, beside a running host
//! or without one (an index not made yet is made from the vault first).

use std::path::PathBuf;

use anyhow::Context;
use openclone_ingest::config::Config;
use openclone_recall::query::{self, Query};

/// What to search, and how to print it.
pub struct Args {
    /// The config file.
    pub config: Option<PathBuf>,
    /// The tenant; default the first.
    pub tenant: Option<String>,
    /// The query's words.
    pub query: Query,
    /// Print JSON instead of lines.
    pub json: bool,
}

/// A tenant's search index, for reading.
pub struct Index {
    /// The tenant's id.
    pub tenant: String,
    /// The index file.
    pub path: PathBuf,
    /// The vault's folder name (Obsidian's name for it).
    pub vault: String,
}

/// The index of `tenant` (default the first) under `config`, made from the vault first
/// when there is none (no host has run yet). Errors: no such tenant, the index cannot be
/// made.
pub fn index(config: Option<&std::path::Path>, tenant: Option<&str>) -> anyhow::Result<Index> {
    let cfg = Config::load(config)?;
    if !cfg.search.enabled {
        anyhow::bail!("search is off in this configuration ([search] enabled = false)");
    }
    let t = match tenant {
        Some(id) => cfg
            .tenants
            .iter()
            .find(|t| t.id == id)
            .with_context(|| format!("no tenant {id:?} in the configuration"))?,
        None => cfg
            .tenants
            .first()
            .context("no tenant in the configuration")?,
    };
    let path = crate::app::search_index(&cfg, &t.id);
    let root = cfg.vault_root(t);
    if !path.is_file() {
        eprintln!("indexing the vault at {} …", root.display());
        openclone_vault::durable::private_database(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        let mut conn = openclone_recall::schema::open(&path)?;
        openclone_recall::sync::all(&mut conn, &root)?;
    }
    Ok(Index {
        tenant: t.id.clone(),
        path,
        vault: root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    })
}

/// Runs a search. Errors: no such tenant, a field breaks its rule, the index cannot be
/// made or read.
pub fn run(args: Args) -> anyhow::Result<()> {
    let Index {
        tenant,
        path,
        vault,
    } = index(args.config.as_deref(), args.tenant.as_deref())?;
    let conn = openclone_recall::schema::open_read(&path)?;
    let hits = query::search(&conn, &args.query)?;
    if args.json {
        let hits: Vec<_> = hits
            .iter()
            .map(|h| {
                let mut v = serde_json::json!(h);
                v["obsidian"] = serde_json::json!(query::obsidian_link(&vault, &h.file));
                v
            })
            .collect();
        println!("{}", serde_json::json!({ "tenant": tenant, "hits": hits }));
        return Ok(());
    }
    if hits.is_empty() {
        println!("no entry matches");
    }
    for h in &hits {
        let who = if h.source.is_empty() {
            "your text".to_owned()
        } else {
            format!("{} · {}", h.source, h.plugin)
        };
        println!("{} {}  {who}  {}:{}", h.day, h.time, h.file, h.line);
        println!("    {}", h.snippet.replace('\n', " "));
    }
    Ok(())
}
