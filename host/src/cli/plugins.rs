//! `openclone plugins list | inspect | validate | enable | disable | new`: what is installed, and a plugin folder
//! checked as the host would check it, without installing it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::app::App;
use openclone_ingest::config::Config;
use openclone_runtime::last_pass;
use openclone_runtime::manifest::{self, PluginKind};
use openclone_runtime::registry::{Entry, Registry};
use openclone_runtime::sandbox::capability;
use openclone_runtime::sandbox::{Runtime, pass};
use openclone_runtime::settings::{Settings, settings};

/// `openclone plugins …`
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// The installed plugins: id, version, kind, enabled, status, source types,
    /// sensitivity, the entries each has in the vault, and the records its last pass
    /// skipped inside files it otherwise read.
    List {
        /// The config file; default ./openclone.toml if present, else built-in defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Enable a plugin in the config file (comments and layout kept). HIGH and CRITICAL
    /// plugins say what they capture and ask first.
    Enable {
        /// The plugin id.
        id: String,
        /// The config file; default ./openclone.toml (created if missing).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Disable a plugin in the config file (comments and layout kept).
    Disable {
        /// The plugin id.
        id: String,
        /// The config file; default ./openclone.toml (created if missing).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Scaffold a plugin crate on the guest SDK that builds and passes its own test.
    New {
        /// The plugin id (kebab-case), also the crate and folder name.
        name: String,
        /// The source type it emits (e.g. braindump); with `--capability screen`,
        /// `screen_ocr` (the default there).
        #[arg(long = "source-type")]
        source_type: Option<String>,
        /// What it reads: `fs-read` (granted folders; emits a sample to replace) or
        /// `screen` (the focused window's text, through the host's screen capability).
        #[arg(long, value_enum, default_value = "fs-read")]
        capability: super::scaffold::Capability,
        /// The folder to create it in; default the config's plugins folder.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The language: `rust` (a crate on openclone-guest) or `python` (an `app.py` on
        /// the Python guest SDK, built with componentize-py).
        #[arg(long, value_enum, default_value = "rust")]
        lang: super::scaffold::Lang,
        /// The guest SDK crate (openclone-guest) to depend on; default the copy this binary
        /// carries, written out once ([`super::sdk`]).
        #[arg(long)]
        sdk: Option<PathBuf>,
        /// The Python guest SDK folder (`guest-sdk-python`) its tests use; default the copy
        /// this binary carries.
        #[arg(long)]
        sdk_python: Option<PathBuf>,
        /// The config file (for its plugins folder).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// One plugin in detail: manifest, requested vs granted permissions, config with
    /// defaults, limits, problems, and the component's imports and exports.
    Inspect {
        /// The plugin id.
        id: String,
        /// The config file; default ./openclone.toml if present, else built-in defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// For guest SDK test harnesses: validate and key events with the host's own rules,
    /// one JSON request per stdin line, one JSON answer per stdout line.
    CheckEvents,
    /// Build plugin folders' components: a crate (its Cargo.toml) with cargo for
    /// `wasm32-wasip2` (one cargo call per workspace), an `app.py` with componentize-py
    /// 0.25.1 for the world its permissions need. In place (`DIR/plugin.wasm`, then
    /// validated), or with `--out` as drop-in folders `OUT/<id>/`.
    Build {
        /// The plugin folders; default the current one.
        dirs: Vec<PathBuf>,
        /// The cargo profile of Rust plugins.
        #[arg(long, default_value = "release")]
        profile: String,
        /// cargo's target folder; default cargo's own.
        #[arg(long)]
        target_dir: Option<PathBuf>,
        /// Write drop-in folders here (`OUT/<id>/plugin.json` and `plugin.wasm`, one more
        /// per `DIR/dropins/<name>/plugin.json`) instead of building in place; they are
        /// checked when a host loads them (`plugins validate OUT/<id>` checks one now).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The virtualenv componentize-py runs from (made and given componentize-py
        /// 0.25.1 from PyPI when it lacks it); default one in the SDK folder.
        /// `$COMPONENTIZE_PY` names the program itself instead.
        #[arg(long)]
        python_venv: Option<PathBuf>,
    },
    /// Check a plugin folder as the host would (manifest, config schema, component world
    /// and version, sha256, `describe`) without installing it; exits non-zero on a problem.
    Validate {
        /// The plugin folder (holding plugin.json).
        dir: PathBuf,
    },
}

/// Runs a `plugins` subcommand.
pub fn run(cmd: PluginsCommand) -> anyhow::Result<()> {
    match cmd {
        PluginsCommand::List { config, json } => list(config, json),
        PluginsCommand::Validate { dir } => validate(&dir),
        PluginsCommand::Build {
            mut dirs,
            profile,
            target_dir,
            out,
            python_venv,
        } => {
            if dirs.is_empty() {
                dirs.push(PathBuf::from("."));
            }
            let opts = super::build::Options {
                profile,
                target_dir,
                out,
                python_venv,
            };
            for dir in super::build::run(&dirs, &opts)? {
                validate(&dir)?;
            }
            Ok(())
        }
        PluginsCommand::CheckEvents => super::check_events::run(),
        PluginsCommand::Inspect { id, config } => inspect(config, &id),
        PluginsCommand::New {
            name,
            source_type,
            capability,
            dir,
            lang,
            sdk,
            sdk_python,
            config,
        } => {
            let dir = match dir {
                Some(d) => d,
                None => Config::load(config.as_deref())?.plugins_dir(),
            };
            let chosen = match lang {
                super::scaffold::Lang::Rust => sdk,
                super::scaffold::Lang::Python => sdk_python,
            };
            let sdk = match chosen {
                Some(p) => p,
                None => {
                    let embedded = super::sdk::materialize()?;
                    match lang {
                        super::scaffold::Lang::Rust => embedded.rust(),
                        super::scaffold::Lang::Python => embedded.python(),
                    }
                }
            };
            super::scaffold::run(&name, source_type.as_deref(), capability, &dir, lang, &sdk)
        }
        PluginsCommand::Enable { id, config, yes } => super::edit::run(config, &id, true, yes),
        PluginsCommand::Disable { id, config } => super::edit::run(config, &id, false, true),
    }
}

fn list(config: Option<PathBuf>, as_json: bool) -> anyhow::Result<()> {
    let cfg = Config::load(config.as_deref())?;
    let registry = Registry::scan(&cfg);
    let mut last_passes = std::collections::HashMap::new();
    let mut rows = Vec::new();
    for e in registry.entries() {
        let root = cfg
            .tenants
            .iter()
            .find(|t| t.id == e.tenant)
            .map(|t| cfg.vault_root(t));
        let stored = root
            .map(|r| openclone_vault::stats::count_by_plugin(&r))
            .transpose()
            .with_context(|| format!("reading the vault of tenant {}", e.tenant))?
            .and_then(|c| c.get(&e.id()).copied())
            .unwrap_or(0);
        let status = match &e.manifest {
            Err(_) => "error",
            Ok(_) if !e.settings.enabled => "disabled",
            Ok(_) => "ready",
        };
        let last = last_passes
            .entry(e.tenant.clone())
            .or_insert_with(|| last_pass::read(&cfg.data_dir(), &e.tenant))
            .remove(&e.id());
        let mut row = json!({
            "id": e.id(), "tenant": e.tenant, "enabled": e.enabled(), "status": status, "entries_in_vault": stored,
            "last_pass": last,
        });
        match &e.manifest {
            Ok(m) => {
                row["version"] = json!(m.version);
                row["kind"] = json!(m.kind.as_str());
                row["source_types"] = json!(
                    m.source_types
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                );
                row["sensitivity"] = json!(m.sensitivity.as_str());
            }
            Err(err) => row["error"] = json!(err.to_string()),
        }
        rows.push(row);
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&Value::Array(rows))?);
        return Ok(());
    }
    println!(
        "{:<22} {:<8} {:<7} {:<8} {:<9} {:<9} {:>8} {:>8}  source types",
        "id", "version", "kind", "enabled", "status", "sens.", "entries", "bad rec."
    );
    for r in &rows {
        let s = |k: &str| r[k].as_str().unwrap_or("-").to_owned();
        let types: Vec<&str> = r["source_types"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let bad = r["last_pass"]["skipped_records"]
            .as_u64()
            .map_or_else(|| "-".to_owned(), |n| n.to_string());
        println!(
            "{:<22} {:<8} {:<7} {:<8} {:<9} {:<9} {:>8} {:>8}  {}",
            s("id"),
            s("version"),
            s("kind"),
            r["enabled"],
            s("status"),
            s("sensitivity"),
            r["entries_in_vault"],
            bad,
            if types.is_empty() {
                s("error")
            } else {
                types.join(", ")
            }
        );
    }
    if rows.is_empty() {
        println!("no plugins under {}", cfg.plugins_dir().display());
    }
    Ok(())
}

fn validate(dir: &Path) -> anyhow::Result<()> {
    let mut ok = true;
    let manifest = openclone_runtime::registry::load_manifest(dir);
    report(
        &mut ok,
        "manifest",
        manifest
            .as_ref()
            .map(|m| {
                format!(
                    "{} {} ({}, {})",
                    m.id,
                    m.version,
                    m.sensitivity.as_str(),
                    m.kind.as_str()
                )
            })
            .map_err(|e| format!("{e}; fix the field in plugin.json")),
    );
    let Ok(m) = manifest else {
        anyhow::bail!("{} is not a valid plugin", dir.display())
    };
    let (scratch, cfg) = scratch()?;
    let plugin_settings = settings(&cfg, &m);
    report(
        &mut ok,
        "config schema",
        plugin_settings
            .as_ref()
            .map(|s| format!("{} setting(s) with defaults", s.grants.config.len()))
            .map_err(|e| e.message.clone()),
    );
    if let Ok(s) = &plugin_settings {
        let lines = grant_lines(&m, s);
        report(
            &mut ok,
            "capabilities (with an empty config)",
            Ok(lines.join("; ")),
        );
    }
    let rt = Runtime::new(&scratch.path().join("cache"), false)?;
    for (what, outcome) in check_component(&rt, &m) {
        report(&mut ok, what, outcome);
    }
    if !ok {
        anyhow::bail!("{} has problems (see FAIL lines)", dir.display());
    }
    println!("{} is a valid plugin", dir.display());
    Ok(())
}

/// The capability grants of a plugin, one line each (`plugins inspect`, `doctor`), then
/// any other `requires_permissions` entry as a platform permission without effect here.
pub(crate) fn grant_lines(m: &manifest::Manifest, s: &Settings) -> Vec<String> {
    let mut lines: Vec<String> = s.grants.describe().into_iter().map(|(_, l)| l).collect();
    lines.extend(
        m.permissions
            .iter()
            .filter(|p| !capability::is_requestable(p))
            .map(|p| {
                format!(
                    "{p}: a platform permission this host does not grant (no effect in the sandbox)"
                )
            }),
    );
    lines
}

fn inspect(config: Option<PathBuf>, id: &str) -> anyhow::Result<()> {
    let cfg = Config::load(config.as_deref())?;
    let registry = Registry::scan(&cfg);
    let Some(e) = registry.entries().iter().find(|e| e.id() == id) else {
        anyhow::bail!(
            "no plugin {id:?} under {}; `openclone plugins list` shows what is there",
            cfg.plugins_dir().display()
        );
    };
    println!("plugin {id} in {} (tenant {})", e.dir.display(), e.tenant);
    let m = match &e.manifest {
        Ok(m) => m,
        Err(err) => {
            println!("status: error — {err}");
            anyhow::bail!("{id} cannot be loaded");
        }
    };
    println!(
        "status: {}",
        if e.settings.enabled {
            "enabled"
        } else {
            "disabled (HIGH and CRITICAL plugins start disabled: `openclone plugins enable`)"
        }
    );
    println!(
        "\nmanifest:\n{}",
        serde_json::to_string_pretty(&Value::Object(m.raw.clone()))?
    );
    println!("\ncapabilities:");
    println!("  always: clocks, random; no environment, arguments, stdin or sockets");
    for line in grant_lines(m, &e.settings) {
        println!("  {line}");
    }
    println!(
        "\nconfig (defaults applied):\n{}",
        serde_json::to_string_pretty(&Value::Object(e.settings.grants.config.clone()))?
    );
    let l = e.settings.limits;
    println!(
        "\nlimits: every {} s, timeout {} s, memory {} MiB, parked after {} failures",
        e.settings.interval.as_secs(),
        l.timeout.as_secs(),
        l.memory_bytes >> 20,
        l.max_failures,
    );
    if let PluginKind::Wasm { component } = &m.kind {
        let rt = Runtime::new(&cfg.component_cache(), false)?;
        match rt.load(component, m.raw.get("sha256").and_then(Value::as_str)) {
            Ok(loaded) => {
                println!(
                    "\ncomponent: {} (sha256 {})",
                    component.display(),
                    loaded.sha256
                );
                println!("  imports: {}", loaded.imports.join(", "));
                println!("  exports: {}", loaded.exports.join(", "));
            }
            Err(err) => println!("\ncomponent: cannot be loaded — {err:#}"),
        }
    } else {
        println!("\ncomponent: none (a remote plugin, fed over HTTP)");
    }
    println!(
        "\nlast errors: a running host shows live status, counters and the last error at GET /api/v1/plugins"
    );
    Ok(())
}

/// Checks a plugin's component as the host loads it (sha256 pin, compiled, WIT world and
/// version) and its `describe` against the manifest; one (what, outcome) per check.
pub(crate) fn check_component(
    rt: &Runtime,
    m: &manifest::Manifest,
) -> Vec<(&'static str, Result<String, String>)> {
    let PluginKind::Wasm { component } = &m.kind else {
        return vec![(
            "component",
            Ok("none: a remote plugin (posts over HTTP)".into()),
        )];
    };
    let sha = m.raw.get("sha256").and_then(Value::as_str);
    match rt.load(component, sha) {
        Ok(loaded) => vec![
            (
                "component",
                Ok(format!(
                    "{} (sha256 {}…), openclone:capture@0.{} world",
                    component.display(),
                    &loaded.sha256[..16],
                    loaded.pre.minor()
                )),
            ),
            ("describe", describe(m, rt, &loaded)),
        ],
        Err(e) => vec![("component", Err(format!("{e:#}")))],
    }
}

/// Prints one checked item (`ok` or `FAIL`); a FAIL clears `ok`.
pub(crate) fn report(ok: &mut bool, what: &str, outcome: Result<String, String>) {
    match outcome {
        Ok(detail) => println!("ok    {what}: {detail}"),
        Err(problem) => {
            *ok = false;
            println!("FAIL  {what}: {problem}");
        }
    }
}

/// A scratch host (a temporary data folder and one tenant, `validate`), so checking a
/// component never touches a real vault, key or state.
fn scratch() -> anyhow::Result<(tempfile::TempDir, Config)> {
    let dir = tempfile::tempdir()?;
    let text = format!(
        "data_dir = {:?}\nplugins_dir = \"none\"\n[[tenants]]\nid = \"validate\"\napi_key_sha256 = [\"{}\"]\n",
        dir.path().display().to_string(),
        "0".repeat(64)
    );
    let cfg = Config::parse(&text, dir.path(), "validate")?;
    Ok((dir, cfg))
}

/// Instantiates the component in a scratch host and compares its `describe` with the
/// manifest.
fn describe(
    m: &manifest::Manifest,
    rt: &Runtime,
    loaded: &openclone_runtime::sandbox::Loaded,
) -> Result<String, String> {
    let (_dir, cfg) = scratch().map_err(|e| e.to_string())?;
    let app = Arc::new(App::open(&cfg).map_err(|e| e.to_string())?);
    let entry = Entry {
        dir: PathBuf::new(),
        tenant: "validate".into(),
        manifest: Ok(m.clone()),
        settings: settings(&cfg, m).unwrap_or_default(),
        counters: Default::default(),
        status: Default::default(),
    };
    let ctx = app
        .links
        .plugin_context(&entry, m)
        .map_err(|e| e.to_string())?;
    let checked = pass::describe(rt, loaded, &ctx).and_then(|info| pass::check_describe(m, &info));
    app.close();
    checked
}
