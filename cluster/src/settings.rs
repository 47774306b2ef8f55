//! `[nats]` in openclone.toml: where the cluster is and how the stream is laid out
//! (CONTRACT.md, "Beyond one machine"). `--nats URL,URL…` on the command line overrides
//! `urls`.

use std::time::Duration;

use serde::Deserialize;

/// The `[nats]` table. Unknown keys are refused, naming the key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    /// Server URLs (`nats://host:4222`); any one reachable is enough, the client learns
    /// the rest of the cluster from it. Default `nats://127.0.0.1:4222`.
    #[serde(default = "default_urls")]
    pub urls: Vec<String>,
    /// The JetStream stream's name. Default `OPENCLONE`.
    #[serde(default = "default_stream")]
    pub stream: String,
    /// Replicas of the stream and the lease bucket when this host creates them (1 to 5;
    /// default 3, JetStream's R3).
    #[serde(default = "default_replicas")]
    pub replicas: usize,
    /// How many partitions tenants are spread over (1 to 1024, default 8). Every node of a
    /// cluster must agree: the first one to start records it, the others check it.
    #[serde(default = "default_partitions")]
    pub partitions: u32,
    /// The stream's duplicate window, seconds (default 120): a batch published again
    /// within it (same `Nats-Msg-Id`) is dropped by the server.
    #[serde(default = "default_duplicate_window_s")]
    pub duplicate_window_s: u64,
    /// How long a frontend waits for a writer's answer, seconds (default 10); then it
    /// answers 503 with `Retry-After`.
    #[serde(default = "default_reply_timeout_s")]
    pub reply_timeout_s: u64,
    /// A partition lease's lifetime, seconds (default 10). A writer renews it every third
    /// of that, and stops writing a partition once 80 % of it has passed since its last
    /// renewal was sent.
    #[serde(default = "default_lease_ttl_s")]
    pub lease_ttl_s: u64,
    /// How long JetStream waits for a writer's ack before it delivers a batch again
    /// (to the partition's next holder, when the writer died), seconds (default 30).
    #[serde(default = "default_ack_wait_s")]
    pub ack_wait_s: u64,
    /// The servers' monitoring URLs (`http://host:8222`), read by `doctor` and by a writer
    /// at start to check that JetStream syncs every write (`/varz`). Default none: the
    /// check then cannot pass without `--accept-async-sync`.
    #[serde(default)]
    pub monitor: Vec<String>,
}

fn default_urls() -> Vec<String> {
    vec!["nats://127.0.0.1:4222".into()]
}
fn default_stream() -> String {
    "OPENCLONE".into()
}
fn default_replicas() -> usize {
    3
}
fn default_partitions() -> u32 {
    8
}
fn default_duplicate_window_s() -> u64 {
    120
}
fn default_reply_timeout_s() -> u64 {
    10
}
fn default_lease_ttl_s() -> u64 {
    10
}
fn default_ack_wait_s() -> u64 {
    30
}

/// A `[nats]` value that breaks a rule: the key and the rule.
#[derive(Debug, thiserror::Error)]
#[error("[nats] {key}: {rule}")]
pub struct SettingsError {
    /// The offending key.
    pub key: String,
    /// The rule it breaks.
    pub rule: String,
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self {
            urls: default_urls(),
            stream: default_stream(),
            replicas: default_replicas(),
            partitions: default_partitions(),
            duplicate_window_s: default_duplicate_window_s(),
            reply_timeout_s: default_reply_timeout_s(),
            lease_ttl_s: default_lease_ttl_s(),
            ack_wait_s: default_ack_wait_s(),
            monitor: Vec::new(),
        }
    }
}

impl NatsSettings {
    /// Reads and checks `[nats]` (`table` is empty when the file has none).
    ///
    /// Errors: an unknown key or a wrong type (serde's message, naming the key), or a
    /// value outside its range ([`SettingsError`]).
    pub fn from_table(table: &toml::Table) -> anyhow::Result<Self> {
        let s: Self = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e| anyhow::anyhow!("[nats]: {e}"))?;
        s.check()?;
        Ok(s)
    }

    /// The rules of each key. Errors: [`SettingsError`] naming the first broken one.
    pub fn check(&self) -> Result<(), SettingsError> {
        let bad = |key: &str, rule: &str| {
            Err(SettingsError {
                key: key.into(),
                rule: rule.into(),
            })
        };
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if self.urls.is_empty() || self.urls.iter().any(|u| u.trim().is_empty()) {
            return bad(
                "urls",
                "at least one non-empty server URL (nats://host:4222)",
            );
        }
        if !name_ok(&self.stream) {
            return bad("stream", "1 to 64 chars of [A-Za-z0-9_-]");
        }
        if !(1..=5).contains(&self.replicas) {
            return bad(
                "replicas",
                "1 to 5 (JetStream's limit; 3 is the safe default)",
            );
        }
        if !(1..=1024).contains(&self.partitions) {
            return bad("partitions", "1 to 1024");
        }
        if self.duplicate_window_s == 0 {
            return bad("duplicate_window_s", "at least 1 second");
        }
        if !(1..=300).contains(&self.reply_timeout_s) {
            return bad("reply_timeout_s", "1 to 300 seconds");
        }
        if !(3..=300).contains(&self.lease_ttl_s) {
            return bad("lease_ttl_s", "3 to 300 seconds");
        }
        if !(1..=3600).contains(&self.ack_wait_s) {
            return bad("ack_wait_s", "1 to 3600 seconds");
        }
        Ok(())
    }

    /// Replaces `urls` with the comma-separated list of `--nats`.
    pub fn with_urls(mut self, list: &str) -> Self {
        self.urls = list
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        self
    }

    /// The lease bucket's name: the stream's, with `-leases`.
    pub fn lease_bucket(&self) -> String {
        format!("{}-leases", self.stream)
    }

    /// [`NatsSettings::reply_timeout_s`] as a duration.
    pub fn reply_timeout(&self) -> Duration {
        Duration::from_secs(self.reply_timeout_s)
    }

    /// [`NatsSettings::lease_ttl_s`] as a duration.
    pub fn lease_ttl(&self) -> Duration {
        Duration::from_secs(self.lease_ttl_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().expect("test TOML")
    }

    #[test]
    fn defaults_and_errors_name_the_key() {
        let s = NatsSettings::from_table(&toml::Table::new()).expect("defaults");
        assert_eq!(
            (s.replicas, s.partitions, s.stream.as_str()),
            (3, 8, "OPENCLONE")
        );
        let e = NatsSettings::from_table(&table("partitions = 0")).expect_err("0 partitions");
        assert!(e.to_string().contains("[nats] partitions"), "{e}");
        let e = NatsSettings::from_table(&table("stream = \"a.b\"")).expect_err("a dot");
        assert!(e.to_string().contains("[nats] stream"), "{e}");
        let e = NatsSettings::from_table(&table("replica = 3")).expect_err("a typo");
        assert!(e.to_string().contains("replica"), "{e}");
        let s = NatsSettings::default().with_urls(" nats://a:1, nats://b:2 ,");
        assert_eq!(s.urls, ["nats://a:1", "nats://b:2"]);
    }
}
