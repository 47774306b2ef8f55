//! E-mail is headers only (CONTRACT.md, "Sanitization"): an allowlist, not a list
//! of body fields to drop. A field of an `email` event is kept only if its name is a header
//! below (matched case-insensitively, `-` and `_` alike, so `Message-ID`, `message_id` and
//! `MESSAGE-ID` are one name); inside a kept field, only the shapes a header has survive
//! (an address's name and address, an attachment's name, size and type). Everything else,
//! at any depth, is dropped and counted. And `messaging` keeps its `preview` short.

use serde_json::{Map, Value};

/// Header fields an `email` event may keep: addresses, identity, threading, mailbox state.
pub const EMAIL_HEADERS: &[&str] = &[
    "subject",
    "from",
    "to",
    "cc",
    "bcc",
    "reply_to",
    "sender",
    "date",
    "message_id",
    "in_reply_to",
    "references",
    "thread_id",
    "list_id",
    "mailbox",
    "folder",
    "account",
    "flags",
    "labels",
    "importance",
    "priority",
    "direction",
    "attachments",
    "size",
];

/// Header fields holding addresses: a string, an `{name, address}` object, or a list.
const ADDRESS_FIELDS: &[&str] = &["from", "to", "cc", "bcc", "reply_to", "sender"];
/// What an address object may hold.
const ADDRESS_PARTS: &[&str] = &["name", "address", "email", "addr"];
/// What an attachment object may hold (never its content).
const ATTACHMENT_PARTS: &[&str] = &[
    "name",
    "filename",
    "size",
    "content_type",
    "mime_type",
    "type",
];

/// CONTRACT.md **Decided**: a `messaging` event's `preview` is at most this many
/// characters; longer text is cut and ends in `…`.
pub const MESSAGING_PREVIEW_CHARS: usize = 280;

fn normal(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('-', "_")
}

fn allowed(name: &str, list: &[&str]) -> bool {
    let n = normal(name);
    list.contains(&n.as_str())
}

/// Keeps only header fields of an `email` event's `data`; returns how many fields (at any
/// depth) were dropped.
pub fn keep_email_headers(data: &mut Map<String, Value>) -> u32 {
    let mut dropped = 0;
    data.retain(|k, v| {
        if !allowed(k, EMAIL_HEADERS) {
            dropped += 1 + nested_fields(v);
            return false;
        }
        let n = normal(k);
        dropped += if ADDRESS_FIELDS.contains(&n.as_str()) {
            keep_shape(v, ADDRESS_PARTS)
        } else if n == "attachments" {
            keep_shape(v, ATTACHMENT_PARTS)
        } else {
            keep_shape(v, &[])
        };
        true
    });
    dropped
}

/// Keeps scalars, lists of kept values, and objects holding only `parts` (themselves
/// scalars); counts what it drops.
fn keep_shape(v: &mut Value, parts: &[&str]) -> u32 {
    match v {
        Value::Array(items) => items.iter_mut().map(|i| keep_shape(i, parts)).sum(),
        Value::Object(map) => {
            let mut dropped = 0;
            map.retain(|k, inner| {
                let keep =
                    allowed(k, parts) && !matches!(inner, Value::Object(_) | Value::Array(_));
                if !keep {
                    dropped += 1 + nested_fields(inner);
                }
                keep
            });
            dropped
        }
        _ => 0,
    }
}

/// Fields inside a dropped value, so the count says how much was dropped.
fn nested_fields(v: &Value) -> u32 {
    match v {
        Value::Object(m) => m.values().map(|x| 1 + nested_fields(x)).sum(),
        Value::Array(items) => items.iter().map(nested_fields).sum(),
        _ => 0,
    }
}

/// Cuts a `messaging` event's `preview` to [`MESSAGING_PREVIEW_CHARS`]; true if it did.
pub fn bound_preview(data: &mut Map<String, Value>) -> bool {
    let Some(Value::String(p)) = data.get_mut("preview") else {
        return false;
    };
    match p.char_indices().nth(MESSAGING_PREVIEW_CHARS) {
        Some((cut, _)) => {
            p.truncate(cut);
            p.push('…');
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_headers_survive_at_any_depth() {
        let mut data = json!({
            "Subject": "Lunch?", "From": {"name": "Ann", "address": "ann@example.com", "body": "x"},
            "To": ["bob@example.com", {"email": "cy@example.com", "signature": "y"}],
            "Message-ID": "<1@example.com>", "Body": "FULL BODY TEXT", "content": "more body",
            "html": "<p>hi</p>", "headers": {"body": "nested body"},
            "attachments": [{"name": "a.pdf", "size": 10, "content": "JVBERi0="}],
            "flags": ["seen", {"body": "odd"}]
        })
        .as_object()
        .cloned()
        .expect("object");
        let dropped = keep_email_headers(&mut data);
        assert_eq!(
            Value::Object(data),
            json!({
                "Subject": "Lunch?", "From": {"name": "Ann", "address": "ann@example.com"},
                "To": ["bob@example.com", {"email": "cy@example.com"}],
                "Message-ID": "<1@example.com>",
                "attachments": [{"name": "a.pdf", "size": 10}],
                "flags": ["seen", {}]
            })
        );
        assert_eq!(dropped, 9);
    }

    #[test]
    fn a_long_preview_is_cut_at_a_character() {
        let mut data = json!({"preview": "é".repeat(400)})
            .as_object()
            .cloned()
            .expect("object");
        assert!(bound_preview(&mut data));
        let p = data["preview"].as_str().expect("string");
        assert_eq!(p.chars().count(), MESSAGING_PREVIEW_CHARS + 1);
    }
}
