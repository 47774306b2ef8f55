//! Dedup keys (CONTRACT.md, "Deduplication").
//!
//! - with `raw_ref`: `sha256(source_type ‖ 0x00 ‖ plugin_id ‖ 0x00 ‖ raw_ref)`;
//! - with a `raw_ref` that holds a U+0000: `sha256(source_type ‖ 0x00 ‖ plugin_id ‖ 0x00 ‖
//!   "r:" ‖ raw_ref)`;
//! - without: `sha256(source_type ‖ 0x00 ‖ plugin_id ‖ 0x00 ‖ "t:" ‖ timestamp ‖ 0x00 ‖
//!   canonical JSON of data)`, where `timestamp` is written as JSON writes an `f64`
//!   (`1708258800.0`) and canonical JSON has object keys sorted by their UTF-8 bytes, no
//!   whitespace, and strings and numbers as `serde_json` writes them.
//!
//! The three preimages never meet (domain separation): `source_type` is a fixed name and
//! `plugin_id` is kebab-case, so neither holds a 0x00 and the part after the second 0x00 is
//! the only free one; there, the canonical form always holds a 0x00 (after the timestamp)
//! and starts with `t:`, the tagged form starts with `r:` and holds a 0x00, and the plain
//! form holds none. A client therefore cannot pick a `raw_ref` whose key is another
//! event's content key (and so pre-empt it), and every key of a `raw_ref` without U+0000,
//! which is every real one, is what it always was.
//!
//! Keys are computed from the event as received, before sanitization, so that changing a
//! tenant's redaction settings never turns a resend into a new entry.

use std::fmt;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::batch::Event;
use crate::source::SourceType;

/// A 32-byte SHA-256 dedup key; shown as 64 lowercase hex digits in entry markers.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DedupKey(pub [u8; 32]);

/// Hashes by the key's first 8 bytes: a SHA-256 digest is uniformly random already, so
/// hash maps of keys need no hashing of their own (see [`crate::index::KeyHasher`]).
impl std::hash::Hash for DedupKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

impl DedupKey {
    /// The key of `event` of a batch of `source_type` from `plugin_id`.
    pub fn of(source_type: SourceType, plugin_id: &str, event: &Event) -> Self {
        let mut h = Sha256::new();
        h.update(source_type.as_str().as_bytes());
        h.update([0]);
        h.update(plugin_id.as_bytes());
        h.update([0]);
        match &event.raw_ref {
            Some(r) if r.contains('\0') => {
                h.update(b"r:");
                h.update(r.as_bytes());
            }
            Some(r) => h.update(r.as_bytes()),
            None => {
                let mut json = Vec::with_capacity(256);
                json.extend_from_slice(b"t:");
                write_json(&event.timestamp, &mut json);
                json.push(0);
                canonical_map(&event.data, &mut json);
                h.update(&json);
            }
        }
        Self(h.finalize().into())
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.hex().to_owned()
    }

    /// 64 lowercase hex digits, in a buffer on the stack (no allocation per entry).
    pub fn hex(&self) -> HexKey {
        let mut out = [0u8; 64];
        for (pair, b) in out.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 15)];
        }
        HexKey(out)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A key's 64 hex digits ([`DedupKey::hex`]); derefs to `str`.
pub struct HexKey([u8; 64]);

impl std::ops::Deref for HexKey {
    type Target = str;

    fn deref(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for HexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl fmt::Debug for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DedupKey({})", self.to_hex())
    }
}

fn canonical_map(map: &Map<String, Value>, out: &mut Vec<u8>) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push(b'{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json(k, out);
        out.push(b':');
        canonical(v, out);
    }
    out.push(b'}');
}

fn canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => canonical_map(map, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_json(scalar, out),
    }
}

/// Writes `v` as `serde_json` does, into `out` (writing into a `Vec` cannot fail).
fn write_json<T: serde::Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(out, v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(data: Value, raw_ref: Option<&str>) -> Event {
        let Value::Object(data) = data else {
            panic!("object")
        };
        Event {
            timestamp: 1708258800.0,
            data,
            raw_ref: raw_ref.map(str::to_owned),
        }
    }

    #[test]
    fn raw_ref_key_is_the_contract_hash() {
        let key = DedupKey::of(
            SourceType::Braindump,
            "my-plugin",
            &event(json!({"text": "x"}), Some("e1")),
        );
        let expected: [u8; 32] = Sha256::digest(b"braindump\0my-plugin\0e1").into();
        assert_eq!(key.0, expected);
    }

    #[test]
    fn key_without_raw_ref_ignores_key_order_but_not_values() {
        let a = DedupKey::of(
            SourceType::Music,
            "p",
            &event(json!({"a": 1, "b": [1, {"y": 2, "x": 1}]}), None),
        );
        let b = DedupKey::of(
            SourceType::Music,
            "p",
            &event(json!({"b": [1, {"x": 1, "y": 2}], "a": 1}), None),
        );
        let c = DedupKey::of(
            SourceType::Music,
            "p",
            &event(json!({"a": 2, "b": [1, {"x": 1, "y": 2}]}), None),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        let expected: [u8; 32] = Sha256::digest(
            "music\0p\0t:1708258800.0\0{\"a\":1,\"b\":[1,{\"x\":1,\"y\":2}]}".as_bytes(),
        )
        .into();
        assert_eq!(a.0, expected);
    }

    #[test]
    fn a_raw_ref_cannot_take_the_key_of_content() {
        let data = json!({"text": "Hello!"});
        let content = DedupKey::of(SourceType::Braindump, "p", &event(data.clone(), None));
        let mut forged = b"t:".to_vec();
        write_json(&1708258800.0f64, &mut forged);
        forged.push(0);
        canonical_map(data.as_object().expect("object"), &mut forged);
        let forged = String::from_utf8(forged).expect("utf-8");
        let key = DedupKey::of(SourceType::Braindump, "p", &event(data, Some(&forged)));
        assert_ne!(
            key, content,
            "the raw_ref form and the content form are apart"
        );
        let plain = DedupKey::of(
            SourceType::Braindump,
            "p",
            &event(json!({}), Some("r:a\0b")),
        );
        let tagged = DedupKey::of(SourceType::Braindump, "p", &event(json!({}), Some("a\0b")));
        assert_ne!(plain, tagged);
    }
}
