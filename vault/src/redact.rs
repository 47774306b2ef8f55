//! Secret and PII redaction (CONTRACT.md, "Sanitization"): matches become `[REDACTED:<kind>]`.
//!
//! One `RegexSet` pass tells which patterns occur, so text with no secret (nearly all of
//! it) costs a single scan; only the patterns that matched are then replaced.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex, RegexSet};

/// A redaction pattern: its kind (the `<kind>` in the marker) and its regex. Where the
/// regex has a group named `s`, only that group is replaced (the label before it stays).
struct Pattern {
    kind: &'static str,
    regex: Regex,
}

struct PatternSet {
    set: RegexSet,
    patterns: Vec<Pattern>,
}

impl PatternSet {
    fn new(defs: &[(&'static str, &'static str)]) -> Self {
        let set =
            RegexSet::new(defs.iter().map(|(_, re)| *re)).expect("redaction patterns compile");
        let patterns = defs
            .iter()
            .map(|(kind, re)| Pattern {
                kind,
                regex: Regex::new(re).expect("redaction pattern compiles"),
            })
            .collect();
        Self { set, patterns }
    }

    fn apply<'a>(&self, text: Cow<'a, str>) -> Cow<'a, str> {
        let hits = self.set.matches(&text);
        if !hits.matched_any() {
            return text;
        }
        let mut out = text.into_owned();
        for i in hits.iter() {
            let p = &self.patterns[i];
            let replaced = p
                .regex
                .replace_all(&out, |c: &Captures<'_>| replace(p.kind, c));
            if let Cow::Owned(s) = replaced {
                out = s;
            }
        }
        Cow::Owned(out)
    }
}

fn replace(kind: &str, c: &Captures<'_>) -> String {
    let whole = c.get(0).map_or("", |m| m.as_str());
    if kind == "card_number" && !luhn_ok(whole) {
        return whole.to_owned();
    }
    match c.name("s") {
        Some(s) => {
            let start = s.start() - c.get(0).map_or(0, |m| m.start());
            format!("{}[REDACTED:{kind}]", &whole[..start])
        }
        None => format!("[REDACTED:{kind}]"),
    }
}

/// The Luhn checksum, so that only plausible card numbers are redacted.
fn luhn_ok(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    digits.len() >= 13 && sum.is_multiple_of(10)
}

static SECRETS: LazyLock<PatternSet> = LazyLock::new(|| {
    PatternSet::new(&[
        (
            "private_key",
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
        ),
        (
            "aws_access_key",
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}\b",
        ),
        (
            "aws_secret_key",
            r#"(?i)aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?(?P<s>[A-Za-z0-9/+=]{40})"#,
        ),
        (
            "github_token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
        ),
        ("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        ("stripe_key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"),
        ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}"),
        ("api_key", r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}"),
        (
            "jwt",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        ),
        (
            "bearer_token",
            r"(?i)\bbearer\s+(?P<s>[A-Za-z0-9._~+/-]{16,}=*)",
        ),
        (
            "password",
            r#"(?i)\b(?:password|passwd|pwd|passphrase|secret|api[_-]?key|access[_-]?token|auth[_-]?token)\b["']?\s*[:=]\s*(?P<s>"[^"\n]*"|'[^'\n]*'|[^\s,;"']+)"#,
        ),
    ])
});

static PII: LazyLock<PatternSet> = LazyLock::new(|| {
    PatternSet::new(&[
        (
            "email",
            r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b",
        ),
        ("card_number", r"\b(?:\d[ -]?){12,18}\d\b"),
        (
            "phone",
            r"\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}\b|\(\d{3}\)\s?\d{3}[\s.-]\d{4}\b|\b\d{3}[.-]\d{3}[.-]\d{4}\b",
        ),
    ])
});

/// Redacts secrets (always) and PII (when `pii` is set) in `text`.
///
/// Secrets: PEM private keys, AWS, GitHub, Slack, Stripe, Google and `sk-` API keys, JWTs,
/// bearer tokens and `password: …`-style assignments. PII: e-mail addresses, card numbers
/// passing the Luhn check, phone numbers.
pub fn redact(text: Cow<'_, str>, pii: bool) -> Cow<'_, str> {
    let text = SECRETS.apply(text);
    if pii { PII.apply(text) } else { text }
}
