//! `openclone plugins enable | disable`: flips `[plugins.<id>] enabled` in the config file
//! in place, keeping every comment and the layout (toml_edit); enabling a HIGH or CRITICAL
//! plugin, or one that requests the screen, says what it will capture and asks (or takes
//! `--yes`). Enabling a plugin that requests `screen` also grants it (`screen = true`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use toml_edit::{DocumentMut, Item, Table, value};

use openclone_ingest::config::Config;
use openclone_runtime::registry::Registry;

/// The config file to edit: `--config`, else `./openclone.toml` (created if missing).
fn config_path(config: Option<PathBuf>) -> PathBuf {
    config.unwrap_or_else(|| PathBuf::from("openclone.toml"))
}

/// Sets `[plugins.<id>] enabled = on` in `path`, creating the table if needed, keeping the
/// rest of the file byte for byte (a trailing comment on the line included).
pub fn set_enabled(path: &Path, id: &str, on: bool) -> anyhow::Result<()> {
    set_bool(path, id, "enabled", on)
}

/// Sets `[plugins.<id>] <key> = on` in `path` as [`set_enabled`] does.
pub fn set_bool(path: &Path, id: &str, key: &str, on: bool) -> anyhow::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut doc: DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let plugins = doc.entry("plugins").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let Some(plugins) = plugins.as_table_like_mut() else {
        bail!("{}: `plugins` is not a table", path.display())
    };
    let entry = plugins.entry(id).or_insert(Item::Table(Table::new()));
    let Some(table) = entry.as_table_like_mut() else {
        bail!("{}: `plugins.{id}` is not a table", path.display())
    };
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(v) => {
            let decor = v.decor().clone();
            *v = on.into();
            *v.decor_mut() = decor;
        }
        None => {
            table.insert(key, value(on));
        }
    }
    openclone_vault::durable::write(path, doc.to_string().as_bytes())
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// `openclone plugins enable|disable ID`.
pub fn run(config: Option<PathBuf>, id: &str, on: bool, yes: bool) -> anyhow::Result<()> {
    let path = config_path(config);
    let cfg = Config::load(path.exists().then_some(path.as_path()))?;
    let registry = Registry::scan(&cfg);
    let Some(m) = registry
        .entries()
        .iter()
        .find_map(|e| e.manifest.as_ref().ok().filter(|m| m.id == id))
    else {
        bail!(
            "no valid plugin {id:?} under {}; `openclone plugins list` shows what is there",
            cfg.plugins_dir().display()
        );
    };
    let screen = m.requests("screen");
    if on && m.needs_opt_in() && !yes {
        let types: Vec<&str> = m.source_types.iter().map(|s| s.as_str()).collect();
        println!(
            "{} ({id}) is {}: it captures {} into your vault.",
            m.name,
            m.sensitivity.as_str(),
            types.join(", ")
        );
        if !m.permissions.is_empty() {
            println!("It asks for: {}.", m.permissions.join(", "));
        }
        if screen {
            println!(
                "With `screen` the host reads the window that has focus (its application and title, and for OCR plugins its text) at every pass. Windows matched by [screen] exclude_apps / exclude_titles (password managers and private browser windows by default) are never read, and `openclone pause` stops it. Enabling grants it: `screen = true`."
            );
        }
        let what = if screen {
            "plugin that reads the screen".to_owned()
        } else {
            format!("{} plugin", m.sensitivity.as_str())
        };
        let refusal =
            format!("enabling a {what} needs confirmation: run it in a terminal, or add --yes");
        if !super::ask::confirm("Enable it?", &refusal)? {
            bail!("not enabled");
        }
    }
    set_enabled(&path, id, on)?;
    if on && screen {
        set_bool(&path, id, "screen", true)?;
    }
    println!(
        "{id} {} in {} (a running host picks it up on restart)",
        if on { "enabled" } else { "disabled" },
        path.display()
    );
    Ok(())
}
