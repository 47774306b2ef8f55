//! API keys (CONTRACT.md, "Errors" and "Tenant isolation"): kept only as SHA-256 hashes,
//! compared in constant time, never logged.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 of an API key.
pub type KeyHash = [u8; 32];

/// Hashes a presented key.
pub fn hash_key(key: &str) -> KeyHash {
    Sha256::digest(key.as_bytes()).into()
}

/// The key of an `Authorization: Bearer <key>` header (aw-server's and Prometheus' scheme),
/// trimmed.
pub fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Which tenant owns which key hashes.
#[derive(Default)]
pub struct KeyRing {
    keys: Vec<(KeyHash, usize)>,
}

impl KeyRing {
    /// Accepts `hash` for tenant number `tenant`. Errors: the number of another tenant
    /// that already accepts this key (one key never opens two people's vaults).
    pub fn add(&mut self, hash: KeyHash, tenant: usize) -> Result<(), usize> {
        match self.keys.iter().find(|(k, _)| *k == hash) {
            Some(&(_, other)) if other != tenant => Err(other),
            Some(_) => Ok(()),
            None => {
                self.keys.push((hash, tenant));
                Ok(())
            }
        }
    }

    /// The tenant whose key this is. Every stored hash is compared, in constant time, so the
    /// answer's timing tells nothing about which key (if any) came close.
    pub fn tenant_of(&self, presented: &str) -> Option<usize> {
        let h = hash_key(presented);
        let mut found = None;
        for (k, t) in &self.keys {
            if bool::from(k.ct_eq(&h)) {
                found = Some(*t);
            }
        }
        found
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key is held (then every request is refused).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A new random API key: `oc_` and 43 URL-safe characters (256 bits).
pub fn generate_key() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    let body: String = (0..43)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("oc_{body}")
}
