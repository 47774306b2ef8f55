//! Secret and PII redaction (CONTRACT.md, "Sanitization"): a secret becomes
//! `[REDACTED:<kind>]`, and a named one keeps its name (`DB_PASSWORD=[REDACTED:password]`).
//!
//! Two passes, secrets always:
//! 1. gitleaks' default rule set ([`gitleaks`]; its rule id is the kind), keyword-filtered;
//! 2. this host's rules for what shell lines and notes hold and gitleaks leaves to context:
//!    assignments whose name holds PASSWORD, PASSWD, PWD, SECRET, TOKEN, API_KEY,
//!    ACCESS_KEY or PRIVATE_KEY (any prefix, any case, `=`, `:` or a space), URL userinfo
//!    passwords, CLI password flags (`-pX` of the MySQL clients, `--password X`,
//!    `--password=X`, `sshpass -p X`), private-key blocks (also cut short), JWTs, bearer
//!    headers.
//!
//! PII (per tenant): e-mail addresses, card numbers passing the Luhn check, phone numbers.
//! One `RegexSet` pass tells which host patterns occur, so text with none costs one scan.

pub mod gitleaks;

use std::borrow::Cow;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::{Captures, Regex, RegexSet};

/// A redaction pattern: its kind (the `<kind>` in the marker) and its regex. Where the
/// regex has a group named `s`, only that group is replaced (the text before it stays).
/// A group named `name` picks the kind from the name ([`kind_of_name`]).
struct Pattern {
    kind: &'static str,
    regex: Regex,
}

struct PatternSet {
    /// Words at least one of which every match contains (case-insensitive): text with none
    /// of them skips the regexes (one Aho-Corasick pass instead of the `RegexSet`).
    prefilter: Option<AhoCorasick>,
    set: RegexSet,
    patterns: Vec<Pattern>,
}

impl PatternSet {
    fn with_prefilter(mut self, words: &[&str]) -> Self {
        self.prefilter = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(words)
            .ok();
        self
    }

    fn new(defs: &[(&'static str, &str)]) -> Self {
        let set =
            RegexSet::new(defs.iter().map(|(_, re)| *re)).expect("redaction patterns compile");
        let patterns = defs
            .iter()
            .map(|(kind, re)| Pattern {
                kind,
                regex: Regex::new(re).expect("redaction pattern compiles"),
            })
            .collect();
        Self {
            prefilter: None,
            set,
            patterns,
        }
    }

    /// [`PatternSet::apply`] line by line, skipping every line without a prefilter word:
    /// for patterns that never span lines, on text where few lines hold a trigger.
    fn apply_lines<'a>(&self, text: Cow<'a, str>) -> Cow<'a, str> {
        let Some(prefilter) = &self.prefilter else {
            return self.apply(text);
        };
        if !prefilter.is_match(text.as_ref()) {
            return text;
        }
        let mut out: Option<String> = None;
        let mut done = 0;
        for (start, line) in line_spans(&text) {
            if !prefilter.is_match(line) {
                continue;
            }
            if let Cow::Owned(changed) = self.apply(Cow::Borrowed(line)) {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len() + 32));
                o.push_str(&text[done..start]);
                o.push_str(&changed);
                done = start + line.len();
            }
        }
        match out {
            Some(mut o) => {
                o.push_str(&text[done..]);
                Cow::Owned(o)
            }
            None => text,
        }
    }

    fn apply<'a>(&self, text: Cow<'a, str>) -> Cow<'a, str> {
        if self
            .prefilter
            .as_ref()
            .is_some_and(|p| !p.is_match(text.as_ref()))
        {
            return text;
        }
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
    let kind = c.name("name").map_or(kind, |n| kind_of_name(n.as_str()));
    match c.name("s") {
        Some(s) if s.as_str().starts_with("[REDACTED:") || s.as_str().starts_with('$') => {
            whole.to_owned()
        }
        Some(s) => {
            let start = s.start() - c.get(0).map_or(0, |m| m.start());
            let end = s.end() - c.get(0).map_or(0, |m| m.start());
            format!("{}[REDACTED:{kind}]{}", &whole[..start], &whole[end..])
        }
        None => format!("[REDACTED:{kind}]"),
    }
}

/// The kind for a secret named `name` (`DB_PASSWORD` → password, `GH_TOKEN` → token).
fn kind_of_name(name: &str) -> &'static str {
    let upper = name.to_ascii_uppercase();
    [
        ("PRIVATE", "private_key"),
        ("ACCESS", "api_key"),
        ("API", "api_key"),
        ("TOKEN", "token"),
        ("SECRET", "secret"),
    ]
    .iter()
    .find(|(word, _)| upper.contains(word))
    .map_or("password", |(_, kind)| kind)
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

/// A secret's name: an identifier holding one of the words (any prefix and suffix).
const NAME: &str = r"(?P<name>[A-Za-z0-9_.-]*(?i:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[A-Za-z0-9_.-]*)";
/// A value: quoted, or up to the next space or separator.
const VALUE: &str = r#"(?P<s>"[^"\n]*"|'[^'\n]*'|[^\s,;"'`]+)"#;

static SECRETS: LazyLock<PatternSet> = LazyLock::new(|| {
    let assignment = format!(r#"{NAME}["']?\s*[:=]\s*{VALUE}"#);
    // With a space between, the name must look like a variable (`DB_PASSWORD hunter2`,
    // `:_authToken x`, `set PASSWORD x`), not a word in a sentence ("the password was
    // changed"): it holds an underscore, or is all capitals.
    let spaced = format!(
        r#"(?P<name>[A-Za-z0-9_]*_[A-Za-z0-9_]*(?i:password|passwd|pwd|secret|token|api_?key|access_?key|private_?key)[A-Za-z0-9_]*|\b(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY)(?:_[A-Z0-9_]+)?)[ \t]+{VALUE}"#
    );
    PatternSet::new(&[
        ("password", &assignment),
        ("password", &spaced),
        (
            "url_password",
            r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@\[\]]*:(?P<s>[^\s@/\[\]]+)@",
        ),
        (
            "password",
            r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlsh|mariadb|mariadb-dump)\b[^\n]*?\s-p(?P<s>[^\s-][^\s]*)",
        ),
        (
            "password",
            r"(?i)(?:^|\s)--pass(?:word|wd)?(?:=|[ \t]+)(?P<s>[^\s-][^\s]*)",
        ),
        ("password", r"\bsshpass\s+-p\s*(?P<s>[^\s-][^\s]*)"),
        (
            "jwt",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        ),
        (
            "bearer_token",
            r"(?i)\bbearer\s+(?P<s>[A-Za-z0-9._~+/-]{16,}=*)",
        ),
    ])
    .with_prefilter(&[
        "pass", "pwd", "secret", "token", "api", "access", "private", "://", "mysql", "mariadb",
        "eyj", "bearer",
    ])
});

/// Private-key blocks span lines: their own set, over the whole text.
static PEM: LazyLock<PatternSet> = LazyLock::new(|| {
    PatternSet::new(&[(
        "private_key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
    )])
    .with_prefilter(&["PRIVATE KEY"])
});

/// Each line of `text` with its byte offset, line break included.
fn line_spans(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |at, line| {
        let start = *at;
        *at += line.len();
        Some((start, line))
    })
}

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

/// Compiles every rule set now (gitleaks' and the host's, a few hundred regexes), so the
/// first batch after start does not wait for it; the host calls it on a background thread
/// as it starts.
pub fn warm() {
    LazyLock::force(&gitleaks::RULE_SET);
    LazyLock::force(&SECRETS);
    LazyLock::force(&PEM);
    LazyLock::force(&PII);
}

/// Redacts secrets (always) and PII (when `pii` is set) in `text`: gitleaks' rules first,
/// then this host's (see the module documentation).
pub fn redact(text: Cow<'_, str>, pii: bool) -> Cow<'_, str> {
    let text = redact_gitleaks(text);
    let text = PEM.apply(text);
    let text = SECRETS.apply_lines(text);
    if pii { PII.apply(text) } else { text }
}

/// Replaces every secret [`gitleaks::RULE_SET`] finds with `[REDACTED:<rule id>]`
/// (overlapping findings merged; the earliest rule's id names the merged span).
fn redact_gitleaks(text: Cow<'_, str>) -> Cow<'_, str> {
    let mut found = gitleaks::RULE_SET.find(&text);
    if found.is_empty() {
        return text;
    }
    // Where findings start together, the longest wins, and a specific rule's id beats
    // gitleaks' catch-all `generic-api-key`.
    found.sort_by_key(|(r, id)| (r.start, std::cmp::Reverse(r.end), *id == "generic-api-key"));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, id) in found {
        if range.start < at {
            at = at.max(range.end);
            continue;
        }
        out.push_str(&text[at..range.start]);
        out.push_str("[REDACTED:");
        out.push_str(id);
        out.push(']');
        at = range.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}
