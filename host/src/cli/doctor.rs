//! `openclone doctor`: checks the configuration, keys, vaults (writable, free space), the
//! compile cache, every plugin (manifest, settings, component), the ActivityWatch port,
//! the cluster's stream and sync setting (`[nats]`)
//! and, for plugin authors, the `wasm32-wasip2` target; prints what is wrong and the fix, exits non-zero on a FAIL.

use std::path::{Path, PathBuf};

use openclone_ingest::config::Config;
use openclone_runtime::registry::Registry;
use openclone_runtime::sandbox::Runtime;

use super::plugins::{check_component, report};

/// Below this much free space in a vault's filesystem, doctor warns.
const LOW_SPACE: u64 = 1 << 30;

fn warn(what: &str, message: &str) {
    println!("WARN  {what}: {message}");
}

/// Whether ActivityWatch's watchers can reach the host: `[activitywatch] listen` is free
/// (or serve already holds it). A taken port is a warning, as `serve` runs without the API.
fn activitywatch(cfg: &Config) {
    let s = &cfg.activitywatch;
    if !s.enabled {
        println!("ok    activitywatch: off ([activitywatch] enabled = false)");
        return;
    }
    match std::net::TcpListener::bind(s.listen) {
        Ok(_) => println!(
            "ok    activitywatch: {} is free for ActivityWatch's watchers",
            s.listen
        ),
        Err(e) => warn(
            "activitywatch",
            &format!(
                "{} is taken ({e}): if `openclone serve` is running that is it; if ActivityWatch's aw-server is, stop it so the watchers post here, or set [activitywatch] listen or enabled = false",
                s.listen
            ),
        ),
    }
}

/// The screen capability: the `[screen]` table, the display and the OCR engine. A problem
/// is a FAIL when an enabled plugin is granted the screen, else a warning.
fn screen(cfg: &Config, registry: &Registry, ok: &mut bool) {
    let used = registry
        .entries()
        .iter()
        .any(|e| e.enabled() && e.settings.grants.screen.screen.is_some());
    let settings = match openclone_screen::Settings::from_table(&cfg.screen) {
        Ok(s) => s,
        Err(e) => return report(ok, "screen", Err(format!("{e} — fix: correct it"))),
    };
    for (what, outcome) in openclone_screen::check::run(&settings) {
        match outcome {
            Err(e) if !used => warn(what, &format!("{e} (no enabled plugin uses the screen)")),
            outcome => report(ok, what, outcome),
        }
    }
}

/// `[nats]`, when the file has one: the servers answer, the stream's replicas, and that
/// every server syncs JetStream writes before acknowledging them (a FAIL otherwise: a
/// writer refuses to start on it without `--accept-async-sync`).
fn nats(cfg: &Config, ok: &mut bool) {
    if cfg.nats.is_empty() {
        return;
    }
    let settings = match crate::cluster::settings(cfg, None) {
        Ok(s) => s,
        Err(e) => return report(ok, "nats", Err(format!("{e:#} — fix: correct it"))),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(ok, "nats", Err(e.to_string())),
    };
    for f in rt.block_on(openclone_cluster::check::doctor(&settings)) {
        report(
            ok,
            "nats",
            if f.ok { Ok(f.message) } else { Err(f.message) },
        );
    }
}

/// Creates `dir` if needed and writes and removes a probe file in it.
fn writable(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let probe = dir.join(format!(".openclone-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"probe").map_err(|e| e.to_string())?;
    std::fs::remove_file(&probe).map_err(|e| e.to_string())
}

/// The first folder or file under `root` (itself included) that other users may read,
/// list or enter (mode bits for group or others); the host makes 0700 folders and 0600
/// files (CONTRACT.md, "File modes").
fn readable_by_others(root: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.permissions().mode() & 0o077 != 0 {
            return Some(p);
        }
        if meta.is_dir()
            && let Ok(entries) = std::fs::read_dir(&p)
        {
            stack.extend(entries.flatten().map(|e| e.path()));
        }
    }
    None
}

fn free_bytes(dir: &Path) -> Option<u64> {
    rustix::fs::statvfs(dir)
        .ok()
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
}

/// Runs every check. Errors: at least one FAIL.
pub fn run(config: Option<PathBuf>) -> anyhow::Result<()> {
    let mut ok = true;
    let cfg = match Config::load(config.as_deref()) {
        Ok(c) => {
            report(
                &mut ok,
                "config",
                Ok(config.map_or_else(
                    || "openclone.toml or built-in defaults".into(),
                    |p| p.display().to_string(),
                )),
            );
            c
        }
        Err(e) => {
            report(
                &mut ok,
                "config",
                Err(format!(
                    "{e} — fix: correct that key (README.md, \"Configuration\")"
                )),
            );
            anyhow::bail!("the configuration cannot be read");
        }
    };
    let data = cfg.data_dir();
    for t in &cfg.tenants {
        let env_key = t
            .api_key_env
            .as_deref()
            .is_some_and(|v| std::env::var(v).is_ok_and(|k| !k.is_empty()));
        let generated = data.join("keys").join(format!("{}.sha256", t.id)).is_file();
        let what = format!("tenant {} keys", t.id);
        if let Some(var) = &t.api_key_env
            && let Ok(key) = std::env::var(var)
            && !key.is_empty()
            && key.chars().count() < crate::app::MIN_KEY_CHARS
        {
            report(
                &mut ok,
                &what,
                Err(format!(
                    "the key in ${var} is shorter than {} characters, so anyone who can reach the host may guess it — fix: use a longer one (`openclone init` makes one)",
                    crate::app::MIN_KEY_CHARS
                )),
            );
        }
        if t.api_key_sha256.is_empty() && !env_key && !generated {
            warn(
                &what,
                "no key configured: one is generated and printed once at the first start — or run `openclone init`, or set the api_key_env variable",
            );
        } else {
            report(
                &mut ok,
                &what,
                Ok(format!(
                    "{} hash(es){}",
                    t.api_key_sha256.len() + usize::from(generated),
                    if env_key {
                        " + one from the environment"
                    } else {
                        ""
                    }
                )),
            );
        }
        let root = cfg.vault_root(t);
        let what = format!("tenant {} vault", t.id);
        match writable(&root) {
            Ok(()) => {
                let free = free_bytes(&root).unwrap_or(u64::MAX);
                report(
                    &mut ok,
                    &what,
                    Ok(format!(
                        "{} is writable, {:.1} GiB free",
                        root.display(),
                        free as f64 / f64::from(1u32 << 30)
                    )),
                );
                if free < LOW_SPACE {
                    warn(
                        &what,
                        "less than 1 GiB free: free space, or point `vault` at a larger disk",
                    );
                }
                if let Some(open) = readable_by_others(&root) {
                    report(
                        &mut ok,
                        &format!("tenant {} privacy", t.id),
                        Err(format!(
                            "{} can be read by other users of this machine — fix: chmod -R go-rwx {}",
                            open.display(),
                            root.display()
                        )),
                    );
                }
            }
            Err(e) => report(
                &mut ok,
                &what,
                Err(format!(
                    "{} is not a writable folder ({e}) — fix: make it a folder the host's user can write, or set `vault` for tenant {}",
                    root.display(),
                    t.id
                )),
            ),
        }
    }
    let cache = cfg.component_cache();
    report(
        &mut ok,
        "compile cache",
        writable(&cache)
            .map(|()| cache.display().to_string())
            .map_err(|e| {
                format!(
                    "{} is not writable ({e}) — fix: check data_dir's permissions",
                    cache.display()
                )
            }),
    );
    let registry = Registry::scan(&cfg);
    let runtime = Runtime::new(&cache, true);
    for e in registry.entries() {
        let what = format!("plugin {}", e.id());
        match &e.manifest {
            Err(err) => report(
                &mut ok,
                &what,
                Err(format!(
                    "{err} — fix: correct it, or `openclone plugins validate {}`",
                    e.dir.display()
                )),
            ),
            Ok(m) => match &runtime {
                Ok(rt) => {
                    for (check, outcome) in check_component(rt, m) {
                        report(&mut ok, &format!("{what} {check}"), outcome);
                    }
                    for missing in e.settings.grants.missing() {
                        warn(&what, &format!("{missing} in [plugins.{}]", m.id));
                    }
                }
                Err(err) => report(
                    &mut ok,
                    &what,
                    Err(format!("the WebAssembly runtime cannot start: {err}")),
                ),
            },
        }
    }
    activitywatch(&cfg);
    screen(&cfg, &registry, &mut ok);
    nats(&cfg, &mut ok);
    if registry.entries().is_empty() {
        warn(
            "plugins",
            &format!(
                "none under {}: `openclone plugins new` scaffolds one",
                cfg.plugins_dir().display()
            ),
        );
    }
    match std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    {
        Ok(out)
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-wasip2") =>
        {
            report(
                &mut ok,
                "plugin authors",
                Ok("the wasm32-wasip2 target is installed".into()),
            );
        }
        Ok(_) => warn(
            "plugin authors",
            "the wasm32-wasip2 target is missing — fix: rustup target add wasm32-wasip2",
        ),
        Err(_) => warn(
            "plugin authors",
            "rustup not found: building plugins needs Rust with the wasm32-wasip2 target",
        ),
    }
    if !ok {
        anyhow::bail!("doctor found problems (FAIL lines above)");
    }
    println!("all checks passed");
    Ok(())
}
