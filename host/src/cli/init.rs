//! `openclone init [DIR]`: a commented `openclone.toml`, the data and plugins folders, and
//! a new API key — only its hash is stored; the key is printed once, with a curl line that
//! stores a first `braindump` event.

use std::path::Path;

use anyhow::{Context, bail};

use crate::auth::{generate_key, hash_key};

/// The config `init` writes; `{hash}` is the key's SHA-256.
const TEMPLATE: &str = r#"# OpenClone host configuration (openclone init). Relative paths are relative to this file.
# Reference: README.md, "Configuration". Start the host with: openclone serve

# Where the HTTP ingest listens. Keep it on 127.0.0.1 unless you put TLS in front.
listen = "127.0.0.1:8000"

# Dedup index, plugin state, compile cache; vaults default to data/vaults/<tenant>.
data_dir = "data"

# Drop-in plugins: one folder each with plugin.json (and plugin.wasm for WebAssembly ones).
plugins_dir = "plugins"

[ingest]
# Requests one API key may send at once, and per second after that (60 a minute).
rate_burst = 60
rate_per_s = 1.0

[http]
# Seconds a client has to send a request head (also how long an idle kept-alive connection
# stays open), seconds to send the body, and how many connections may be open at once.
header_read_timeout_s = 10
body_timeout_s = 30
max_connections = 4096

[[tenants]]
id = "default"
# SHA-256 of the API key printed by `openclone init`; the key itself is stored nowhere.
# Add more keys (printf %s KEY | sha256sum), or take one from the environment:
# api_key_env = "API_KEY"
api_key_sha256 = ["{hash}"]
# Daily files and shown times follow this IANA zone.
timezone = "UTC"
# vault = "~/Obsidian/Memory"    # default: data/vaults/default
# redact_pii = true              # also redact e-mail addresses, phone and card numbers

# A plugin's settings: host keys (enabled, paths, interval_s, limits), then its own.
# [plugins.calendar-ics]
# paths = ["~/Calendars"]
# interval_s = 900
"#;

/// Runs `init` in `dir` (created if needed). Errors: an `openclone.toml` is already there.
pub fn run(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let config = dir.join("openclone.toml");
    if config.exists() {
        bail!(
            "{} already exists; edit it, or run init in another folder",
            config.display()
        );
    }
    for sub in ["data", "plugins"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    let key = generate_key();
    std::fs::write(
        &config,
        TEMPLATE.replace("{hash}", &hex::encode(hash_key(&key))),
    )
    .with_context(|| format!("writing {}", config.display()))?;
    let now = crate::http::unix_now().floor();
    println!(
        "Created {} with the folders data/ and plugins/.",
        config.display()
    );
    println!();
    println!("Your API key (shown only this once; only its SHA-256 is in openclone.toml):");
    println!();
    println!("    {key}");
    println!();
    println!("Start the host in {}:  openclone serve", dir.display());
    println!("Then store a first memory:");
    println!();
    println!(
        "curl -X POST http://127.0.0.1:8000/api/v1/ingest -H \"Content-Type: application/json\" -H \"X-API-Key: {key}\" -d '{{\"source_type\":\"braindump\",\"platform\":\"linux\",\"device_id\":\"first-steps\",\"plugin_id\":\"first-steps\",\"plugin_version\":\"1.0.0\",\"timestamp\":{now},\"events\":[{{\"timestamp\":{now},\"data\":{{\"text\":\"My first memory.\"}},\"raw_ref\":\"first-memory\"}}]}}'"
    );
    Ok(())
}
