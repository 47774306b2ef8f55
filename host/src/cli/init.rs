//! `openclone init [DIR]`: a commented `openclone.toml`, the data and plugins folders, and
//! a new API key — only its hash is stored; the key is printed once, with a curl line that
//! stores a first `braindump` event.

use std::path::Path;

use anyhow::{Context, bail};

use openclone_ingest::auth::{generate_key, hash_key};

/// The config `init` writes; `{hash}` is the key's SHA-256.
const TEMPLATE: &str = r#"# OpenClone host configuration (openclone init). Relative paths are relative to this file.
# Reference: README.md, "Configuration". Start the host with: openclone serve

# Where the HTTP ingest listens. Beyond 127.0.0.1 the host speaks only TLS (tls_cert, tls_key).
listen = "{listen}"
{tls}
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
# More names the Host header may carry (DNS-rebinding protection); origins of web pages allowed.
allowed_hosts = [{hosts}]
# allowed_origins = ["https://my-dashboard.example"]

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

/// This machine's name, for the certificate and `allowed_hosts` of `init --tls`.
fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        })
}

/// Runs `init` in `dir` (created if needed); with `tls`, also a self-signed certificate in
/// `data/tls/` and a config that listens on every interface over TLS only. Errors: an
/// `openclone.toml` is already there.
pub fn run(dir: &Path, tls: bool) -> anyhow::Result<()> {
    openclone_vault::durable::create_dir_all(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let config = dir.join("openclone.toml");
    if config.exists() {
        bail!(
            "{} already exists; edit it, or run init in another folder",
            config.display()
        );
    }
    for sub in ["data", "plugins"] {
        openclone_vault::durable::create_dir_all(&dir.join(sub))
            .with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    let key = generate_key();
    let host = hostname();
    let names: Vec<String> = host
        .iter()
        .flat_map(|h| [h.clone(), format!("{h}.local")])
        .collect();
    let mut fingerprint = None;
    let (listen, tls_lines) = if tls {
        let mut sans = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        sans.extend(names.iter().cloned());
        let (_, _, fp) = crate::http::tls::self_signed(&dir.join("data/tls"), sans)?;
        fingerprint = Some(fp);
        (
            "0.0.0.0:8443",
            "tls_cert = \"data/tls/cert.pem\"   # self-signed by openclone init --tls\ntls_key = \"data/tls/key.pem\"\n",
        )
    } else {
        ("127.0.0.1:8000", "")
    };
    let hosts = names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    openclone_vault::durable::write(
        &config,
        TEMPLATE
            .replace("{hash}", &hex::encode(hash_key(&key)))
            .replace("{listen}", listen)
            .replace("{tls}", tls_lines)
            .replace("{hosts}", &hosts)
            .as_bytes(),
    )
    .with_context(|| format!("writing {}", config.display()))?;
    let now = openclone_ingest::clock::unix_now().floor();
    println!(
        "Created {} with the folders data/ and plugins/.",
        config.display()
    );
    println!();
    println!("Your API key (shown only this once; only its SHA-256 is in openclone.toml):");
    println!();
    println!("    {key}");
    println!();
    if let Some(fp) = &fingerprint {
        println!(
            "A self-signed TLS certificate is in data/tls/cert.pem; the host listens on {listen} over HTTPS only."
        );
        println!(
            "Its SHA-256 fingerprint (pin it in your phone's client, or check it when asked to trust it):"
        );
        println!();
        println!("    {fp}");
        println!();
    }
    println!("Start the host in {}:  openclone serve", dir.display());
    println!("Then store a first memory:");
    println!();
    println!(
        "curl {}-X POST {}/api/v1/ingest -H \"Content-Type: application/json\" -H \"X-API-Key: {key}\" -d '{{\"source_type\":\"braindump\",\"platform\":\"linux\",\"device_id\":\"first-steps\",\"plugin_id\":\"first-steps\",\"plugin_version\":\"1.0.0\",\"timestamp\":{now},\"events\":[{{\"timestamp\":{now},\"data\":{{\"text\":\"My first memory.\"}},\"raw_ref\":\"first-memory\"}}]}}'",
        if tls {
            "--cacert data/tls/cert.pem "
        } else {
            ""
        },
        if tls {
            "https://localhost:8443"
        } else {
            "http://127.0.0.1:8000"
        }
    );
    Ok(())
}
