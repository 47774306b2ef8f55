//! What crosses NATS: the subject a batch is published on, its `Nats-Msg-Id`, the batch
//! as CONTRACT.md's JSON body, and the writer's answer.

use openclone_ingest::service::Refused;
use openclone_vault::{Batch, DedupKey, FieldError, Receipt, Tally};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

/// The header naming the inbox a writer answers on.
pub const REPLY_HEADER: &str = "Openclone-Reply";

/// The subject prefix of every batch: `openclone.batch.<tenant>.<partition>`.
pub const SUBJECT_PREFIX: &str = "openclone.batch";

/// Tenant `tenant`'s partition among `partitions`: the first 8 bytes of the sha256 of its
/// id, big-endian, modulo `partitions` — the same on every node and every version, so a
/// tenant's daily files have one writer.
pub fn partition(tenant: &str, partitions: u32) -> u32 {
    let d = Sha256::digest(tenant.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(first) % u64::from(partitions.max(1))) as u32
}

/// The subject of tenant `tenant`'s batches (tenant ids are `[a-z0-9-]`, CONTRACT.md, so
/// they are one subject token).
pub fn subject(tenant: &str, partitions: u32) -> String {
    format!(
        "{SUBJECT_PREFIX}.{tenant}.{}",
        partition(tenant, partitions)
    )
}

/// The subject filter of partition `p`'s consumer.
pub fn partition_filter(p: u32) -> String {
    format!("{SUBJECT_PREFIX}.*.{p}")
}

/// The tenant a batch subject names. Errors: not `openclone.batch.<tenant>.<n>`.
pub fn tenant_of(subject: &str) -> Option<&str> {
    let rest = subject.strip_prefix(SUBJECT_PREFIX)?.strip_prefix('.')?;
    let (tenant, p) = rest.rsplit_once('.')?;
    (p.parse::<u32>().is_ok() && !tenant.is_empty() && !tenant.contains('.')).then_some(tenant)
}

/// The batch's `Nats-Msg-Id`: hex sha256 of the tenant id, a zero byte and the batch's
/// dedup `keys`, sorted — the same for a client's resend of the same events, so the server
/// drops a second publish within the duplicate window.
pub fn message_id(tenant: &str, keys: &[DedupKey]) -> String {
    let mut keys: Vec<[u8; 32]> = keys.iter().map(|k| k.0).collect();
    keys.sort_unstable();
    let mut h = Sha256::new();
    h.update(tenant.as_bytes());
    h.update([0]);
    for k in keys {
        h.update(k);
    }
    hex::encode(h.finalize())
}

/// The message body: `{"keys": [hex…], "batch": <CONTRACT.md's request body>}`, the batch
/// already sanitized and `keys` its events' dedup keys computed before that. The writer
/// checks the batch again with the same rules (it trusts no rendered Markdown).
pub fn encode(batch: &Batch, keys: &[DedupKey]) -> Vec<u8> {
    let events: Vec<Value> = batch
        .events
        .iter()
        .map(|e| {
            let mut m = Map::new();
            m.insert("timestamp".into(), json!(e.timestamp));
            m.insert("data".into(), Value::Object(e.data.clone()));
            if let Some(r) = &e.raw_ref {
                m.insert("raw_ref".into(), json!(r));
            }
            Value::Object(m)
        })
        .collect();
    let body = json!({
        "source_type": batch.source_type.as_str(),
        "platform": batch.platform.as_str(),
        "device_id": batch.device_id,
        "plugin_id": batch.plugin_id,
        "plugin_version": batch.plugin_version,
        "timestamp": batch.timestamp,
        "events": events,
    });
    let keys: Vec<String> = keys.iter().map(|k| hex::encode(k.0)).collect();
    serde_json::to_vec(&json!({ "keys": keys, "batch": body })).unwrap_or_default()
}

/// Reads a message body of [`encode`]: the batch (still to be checked) and one key per
/// event. Errors: the violations, naming `keys` or `batch`.
pub fn decode(body: &[u8]) -> Result<(Value, Vec<DedupKey>), Vec<FieldError>> {
    let bad = |field: &str, rule: &str| vec![FieldError::new(field, rule)];
    let mut v: Value =
        serde_json::from_slice(body).map_err(|e| bad("body", &format!("not valid JSON: {e}")))?;
    let keys: Option<Vec<DedupKey>> = v["keys"].as_array().and_then(|a| {
        a.iter()
            .map(|k| k.as_str().and_then(DedupKey::from_hex))
            .collect()
    });
    let keys = keys.ok_or_else(|| bad("keys", "an array of 64-hex-digit dedup keys"))?;
    let batch = v
        .get_mut("batch")
        .map(Value::take)
        .ok_or_else(|| bad("batch", "missing"))?;
    let events = batch["events"].as_array().map_or(0, Vec::len);
    if events != keys.len() {
        return Err(bad(
            "keys",
            &format!("{} keys for {events} events: one per event", keys.len()),
        ));
    }
    Ok((batch, keys))
}

/// A writer's answer, JSON on the frontend's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Answer {
    /// Stored: CONTRACT.md's 200 body, after the vault's fsync.
    Stored {
        /// Newly stored and skipped events.
        stored: u64,
        /// Skipped as duplicates.
        skipped: u64,
        /// The last event's daily file.
        file: String,
        /// Every daily file of the batch.
        files: Vec<String>,
    },
    /// Refused by the contract's rules at the writer.
    Invalid {
        /// Each violation: field and rule.
        details: Vec<(String, String)>,
    },
    /// The vault failed, or the writer does not keep this tenant.
    Failed {
        /// Why.
        message: String,
    },
}

impl Answer {
    /// The answer for a store's outcome.
    pub fn of(result: &Result<Receipt, Refused>) -> Self {
        match result {
            Ok(r) => Answer::Stored {
                stored: r.tally.stored,
                skipped: r.tally.skipped,
                file: r.file.clone(),
                files: r.files.clone(),
            },
            Err(Refused::Invalid(errs)) => Answer::Invalid {
                details: errs
                    .iter()
                    .map(|e| (e.field.clone(), e.message.clone()))
                    .collect(),
            },
            Err(
                Refused::Storage(m)
                | Refused::Internal(m)
                | Refused::NotPermitted(m)
                | Refused::Unavailable(m),
            ) => Answer::Failed { message: m.clone() },
        }
    }

    /// What the frontend's way in answers.
    pub fn into_result(self) -> Result<Receipt, Refused> {
        match self {
            Answer::Stored {
                stored,
                skipped,
                file,
                files,
            } => Ok(Receipt {
                tally: Tally {
                    stored,
                    skipped,
                    refused: 0,
                },
                file,
                files,
            }),
            Answer::Invalid { details } => Err(Refused::Invalid(
                details
                    .into_iter()
                    .map(|(f, m)| FieldError::new(f, m))
                    .collect(),
            )),
            Answer::Failed { message } => Err(Refused::Storage(message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openclone_vault::prepare::keys_of;
    use openclone_vault::{Rules, validate_body, validate_value};

    fn batch(ids: &[&str]) -> Batch {
        let events: Vec<String> = ids
            .iter()
            .map(|id| {
                format!(r#"{{"timestamp":1717000000.5,"raw_ref":"{id}","data":{{"title":"a \"q\" ## x","content":"line\n## forged"}}}}"#)
            })
            .collect();
        let body = format!(
            r#"{{"source_type":"notes","platform":"linux","device_id":"d1","plugin_id":"p-1","plugin_version":"1.0.0","timestamp":1717000001,"events":[{}]}}"#,
            events.join(",")
        );
        validate_body(body.as_bytes(), &Rules::contract(1_800_000_000.0)).expect("a valid batch")
    }

    #[test]
    fn the_body_round_trips_through_the_contract_rules() {
        let b = batch(&["a", "b"]);
        let (value, keys) = decode(&encode(&b, &keys_of(&b))).expect("decoded");
        assert!(keys == keys_of(&b));
        let again = validate_value(value, &Rules::contract(1_800_000_000.0)).expect("re-checked");
        assert_eq!(again, b);
    }

    #[test]
    fn a_body_without_a_key_per_event_is_refused_naming_keys() {
        let b = batch(&["a", "b"]);
        let keys = keys_of(&b);
        let e = decode(&encode(&b, &keys[..1])).expect_err("one key short");
        assert_eq!(e[0].field, "keys");
        let e = decode(br#"{"keys":["zz"],"batch":{}}"#).expect_err("not hex");
        assert_eq!(e[0].field, "keys");
    }

    #[test]
    fn the_message_id_ignores_order_and_names_the_tenant() {
        let id = |t: &str, ids: &[&str]| message_id(t, &keys_of(&batch(ids)));
        assert_eq!(id("t", &["a", "b"]), id("t", &["b", "a"]));
        assert_ne!(id("t", &["a"]), id("u", &["a"]));
        assert_ne!(id("t", &["a"]), id("t", &["a", "b"]));
    }

    #[test]
    fn subjects_carry_tenant_and_a_stable_partition() {
        assert_eq!(partition("default", 1), 0);
        let s = subject("family-1", 8);
        assert_eq!(tenant_of(&s), Some("family-1"));
        assert!(s.ends_with(&format!(".{}", partition("family-1", 8))));
        assert_eq!(tenant_of("openclone.batch.x"), None);
        assert_eq!(tenant_of("other.batch.x.1"), None);
        let spread: std::collections::BTreeSet<u32> =
            (0..100).map(|i| partition(&format!("t{i}"), 8)).collect();
        assert_eq!(
            spread.len(),
            8,
            "100 tenants reach every one of 8 partitions"
        );
    }

    #[test]
    fn answers_round_trip() {
        for a in [
            Answer::Stored {
                stored: 2,
                skipped: 1,
                file: "Notes/x.md".into(),
                files: vec!["Notes/x.md".into()],
            },
            Answer::Invalid {
                details: vec![("events[0].timestamp".into(), "too old".into())],
            },
            Answer::Failed {
                message: "disk full".into(),
            },
        ] {
            let text = serde_json::to_vec(&a).expect("json");
            assert_eq!(serde_json::from_slice::<Answer>(&text).expect("parsed"), a);
        }
    }
}
