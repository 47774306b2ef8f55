//! TLS for a host that listens beyond loopback (CONTRACT.md, "Listening beyond
//! loopback"): rustls (ring provider) through tokio-rustls, a certificate and key from PEM
//! files, and a self-signed pair for `openclone init --tls` (rcgen).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;

use openclone_ingest::config::Config;

/// The acceptor `serve` wraps connections in, or `None` for plain HTTP.
///
/// Errors: `listen` is not a loopback address and no `tls_cert`/`tls_key` is configured
/// (unless `allow_plain_http = true`), or the PEM files cannot be read.
pub fn acceptor_for(cfg: &Config, listen: SocketAddr) -> anyhow::Result<Option<TlsAcceptor>> {
    match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(cert), Some(key)) => acceptor(&cfg.resolve(cert), &cfg.resolve(key)).map(Some),
        (Some(_), None) | (None, Some(_)) => {
            bail!("tls_cert and tls_key go together: set both, or neither")
        }
        (None, None) if listen.ip().is_loopback() || cfg.allow_plain_http => Ok(None),
        (None, None) => bail!(
            "listen = {listen} is reachable from other machines, and without TLS every API key and every captured event would cross the network in clear text. \
             Fix: run `openclone init --tls` (a self-signed certificate; it prints the fingerprint to pin on your phone), or set tls_cert and tls_key, \
             or listen on 127.0.0.1 — or, on a network you trust completely, set allow_plain_http = true"
        ),
    }
}

/// A TLS acceptor for the certificate chain in `cert` and the private key in `key` (PEM).
///
/// Errors: a file cannot be read or holds no certificate or key, or rustls refuses them.
pub fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("tls_cert {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("tls_cert {}", cert.display()))?;
    if chain.is_empty() {
        bail!("tls_cert {} holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("tls_key {}: no private key", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS protocol versions")?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .context("the TLS certificate and key do not fit together")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A new self-signed certificate for `names` (DNS names or IP addresses), written as
/// `cert.pem` and `key.pem` in `dir` (mode 0600, durably). Returns both
/// paths and the certificate's SHA-256 fingerprint (`AA:BB:…`), for pinning.
///
/// Errors: the key cannot be generated or the files cannot be written.
pub fn self_signed(dir: &Path, names: Vec<String>) -> anyhow::Result<(PathBuf, PathBuf, String)> {
    let made = rcgen::generate_simple_self_signed(names).context("generating a certificate")?;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    openclone_vault::durable::write(&key, made.signing_key.serialize_pem().as_bytes())
        .with_context(|| format!("writing {}", key.display()))?;
    openclone_vault::durable::write(&cert, made.cert.pem().as_bytes())
        .with_context(|| format!("writing {}", cert.display()))?;
    Ok((cert, key, fingerprint(made.cert.der())))
}

/// `AA:BB:…`: the SHA-256 of a certificate's DER bytes, as browsers and `openssl x509
/// -fingerprint -sha256` show it.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
