//! Sanitization of captured text before anything is written (CONTRACT.md, "Sanitization").
//!
//! Structure escaping (headings, fences, markers, HTML) depends on where text lands in the
//! Markdown, so it happens in [`crate::render`]; this module makes the text itself safe.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use crate::batch::Batch;
use crate::headers::{bound_preview, keep_email_headers};
use crate::redact::{redact, redact_named};
use crate::source::SourceType;

/// CONTRACT.md **Decided**: a single string field is capped at 64 KiB (bytes of UTF-8).
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// Per-tenant sanitization switches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// Also redact e-mail addresses, phone and card numbers (CONTRACT.md: off by default).
    pub redact_pii: bool,
}

/// What sanitizing a batch changed, for the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Fields of `email` events dropped because they are not headers (any depth).
    pub email_fields_dropped: u32,
    /// `messaging` previews cut to their bound.
    pub previews_cut: u32,
    /// Values that were changed (control characters, redaction, truncation, NFC; a number
    /// under a key that names a secret counts too).
    pub strings_changed: u32,
}

static ANSI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
        .expect("ANSI pattern compiles")
});

/// Sanitizes every string (values and keys) of every event's `data` in place.
pub fn sanitize_batch(batch: &mut Batch, policy: Policy) -> Report {
    let mut report = Report::default();
    for event in &mut batch.events {
        match batch.source_type {
            SourceType::Email => {
                report.email_fields_dropped += keep_email_headers(&mut event.data);
            }
            SourceType::Messaging => {
                report.previews_cut += u32::from(bound_preview(&mut event.data));
            }
            _ => {}
        }
        sanitize_map(&mut event.data, policy, &mut report);
    }
    report
}

fn sanitize_map(map: &mut Map<String, Value>, policy: Policy, report: &mut Report) {
    let needs_key_fix = map
        .keys()
        .any(|k| matches!(sanitize_text(k, policy), Cow::Owned(_)));
    if needs_key_fix {
        let old = std::mem::take(map);
        for (k, v) in old {
            map.insert(sanitize_text(&k, policy).replace('\n', " "), v);
        }
    }
    for (k, v) in map.iter_mut() {
        // A value whose key names a secret (`db_password`, `api_key`) is redacted whatever
        // it looks like: the text rules need name and value in one string.
        report.strings_changed += redact_named(k, v);
        sanitize_value(v, policy, report);
    }
}

fn sanitize_value(v: &mut Value, policy: Policy, report: &mut Report) {
    match v {
        Value::String(s) => {
            if let Cow::Owned(clean) = sanitize_text(s, policy) {
                *s = clean;
                report.strings_changed += 1;
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| sanitize_value(i, policy, report)),
        Value::Object(map) => sanitize_map(map, policy, report),
        _ => {}
    }
}

/// Sanitizes one string: ANSI escapes and control characters other than `\n`/`\t` removed,
/// `\r\n` → `\n`, NFC, secrets (and PII if asked) redacted, capped at [`MAX_FIELD_BYTES`]
/// with a `… [truncated N bytes]` marker. Borrows when nothing changes.
pub fn sanitize_text(s: &str, policy: Policy) -> Cow<'_, str> {
    let mut text: Cow<'_, str> = Cow::Borrowed(s);
    if text.contains('\x1b') {
        text = Cow::Owned(ANSI.replace_all(&text, "").into_owned());
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        text = Cow::Owned(
            text.replace("\r\n", "\n")
                .chars()
                .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
                .collect(),
        );
    }
    if !text.is_ascii() && is_nfc_quick(text.chars()) != IsNormalized::Yes {
        text = Cow::Owned(text.nfc().collect());
    }
    text = redact(text, policy.redact_pii);
    if text.len() > MAX_FIELD_BYTES {
        let mut cut = MAX_FIELD_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text = Cow::Owned(format!(
            "{}… [truncated {} bytes]",
            &text[..cut],
            text.len() - cut
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cleaned_and_capped() {
        let p = Policy::default();
        assert_eq!(
            sanitize_text("a\r\nb\u{7}c\u{1b}[1mbold\u{1b}[0m\td", p),
            "a\nbcbold\td"
        );
        assert_eq!(sanitize_text("e\u{301}", p), "\u{e9}", "NFC");
        assert!(matches!(sanitize_text("plain text", p), Cow::Borrowed(_)));
        let long = "é".repeat(40_000);
        let capped = sanitize_text(&long, p);
        assert!(capped.len() < MAX_FIELD_BYTES + 40);
        assert!(
            capped.ends_with("… [truncated 14464 bytes]"),
            "{}",
            &capped[capped.len() - 40..]
        );
    }

    #[test]
    fn secrets_always_pii_only_when_asked() {
        let token = "ghp_R8kQ2vLx9TzWm4NpA7cY1eHs6JdUf3GbKo0i";
        let text = format!(
            "mail me at ann@example.com or +49 30 1234 5678, card 4111 1111 1111 1111, token {token}"
        );
        let off = sanitize_text(&text, Policy::default());
        assert!(
            off.contains("ann@example.com") && off.contains("[REDACTED:github-pat]"),
            "{off}"
        );
        let on = sanitize_text(&text, Policy { redact_pii: true });
        for kind in ["email", "phone", "card_number", "github-pat"] {
            assert!(on.contains(&format!("[REDACTED:{kind}]")), "{kind}: {on}");
        }
        assert!(
            sanitize_text("order 1234 5678 9012 3456", Policy { redact_pii: true })
                .contains("1234"),
            "fails Luhn: kept"
        );
        for (text, secret) in [
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "dozjgNryP4J3jVmNHl0w5N",
            ),
            (
                "xoxb-2843729384-9283746510-aB3dE5fG7hJ9kL1mN3pQ5rS7",
                "aB3dE5fG7hJ9kL1m",
            ),
            (
                "sk_live_51HqLyjWDarjtT1zdp7dcXGv9sJbY2aQ",
                "51HqLyjWDarjtT1zdp7d",
            ),
            (
                "AIzaSyD4f8Kq2Lm9Xp3Rv7Tz1Wb6Ny0Hc5Ju8Ge",
                "D4f8Kq2Lm9Xp3Rv7Tz1W",
            ),
            (
                "Authorization: Bearer Zk8qT2mX9vL4pR7wN1cY6bH3jD5fG0aS",
                "Zk8qT2mX9vL4pR7w",
            ),
            ("export DB_PASSWORD=hunter2", "hunter2"),
        ] {
            let out = sanitize_text(text, Policy::default());
            assert!(
                !out.contains(secret) && out.contains("[REDACTED:"),
                "{text} → {out}"
            );
        }
    }
}
