//! What the ActivityWatch journal keeps of an event's `data`: the same privacy rules as the
//! vault (CONTRACT.md, "ActivityWatch"), applied before anything is journalled, so the
//! journal never holds in clear what the vault would not.
//!
//! - A browser tab with `incognito: true` (aw-watcher-web) keeps only `incognito`,
//!   `audible` and `tabCount`: its time is counted, its URL and title are never stored.
//! - Every string value goes through the vault's sanitizer ([`sanitize_text`]): control
//!   characters removed, secrets (and PII when the tenant sets `redact_pii`) redacted.
//!   It is deterministic, so heartbeats with the same data still merge.

use openclone_vault::Policy;
use openclone_vault::sanitize::sanitize_text;
use serde_json::{Map, Value};

/// The keys an incognito tab keeps.
const INCOGNITO_KEEPS: [&str; 3] = ["incognito", "audible", "tabCount"];

/// Rewrites `data` into what the journal may keep under `policy`.
pub fn journalled(data: &mut Map<String, Value>, policy: Policy) {
    if data.get("incognito").and_then(Value::as_bool) == Some(true) {
        data.retain(|k, _| INCOGNITO_KEEPS.contains(&k.as_str()));
    }
    for v in data.values_mut() {
        sanitize(v, policy);
    }
}

fn sanitize(v: &mut Value, policy: Policy) {
    match v {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(clean) = sanitize_text(s, policy) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| sanitize(i, policy)),
        Value::Object(map) => map.values_mut().for_each(|i| sanitize(i, policy)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn data(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn an_incognito_tab_keeps_only_that_it_was_one() {
        let mut d = data(
            json!({"url": "https://clinic.example/results", "title": "Results",
            "incognito": true, "audible": false, "tabCount": 3}),
        );
        journalled(&mut d, Policy::default());
        assert_eq!(
            Value::Object(d),
            json!({"incognito": true, "audible": false, "tabCount": 3})
        );
    }

    #[test]
    fn a_secret_in_a_title_is_redacted_the_same_way_each_time() {
        let title = "vim .env — AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let mut a = data(json!({"app": "kitty", "title": title}));
        let mut b = a.clone();
        journalled(&mut a, Policy::default());
        journalled(&mut b, Policy::default());
        let kept = a["title"].as_str().unwrap_or_default();
        assert!(!kept.contains("wJalrXUtnFEMI"), "{kept}");
        assert_eq!(a, b, "heartbeats with the same data still merge");
    }
}
