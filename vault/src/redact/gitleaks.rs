//! Secret detection with gitleaks' default rule set, used as gitleaks uses it.
//!
//! Rule set: `vault/rules/gitleaks.toml`, gitleaks v8.30.0 (+27 commits, b58d3f1)
//! `config/gitleaks.toml`, MIT licence (`vault/rules/LICENSE-gitleaks`), embedded as it is.
//! Semantics follow gitleaks' `detect/detect.go`: a rule runs only on text that contains
//! one of its keywords (case-insensitive; one Aho-Corasick pass finds them all); its secret
//! is capture group `secretGroup`, else the first non-empty group, else the whole match; a
//! rule with `entropy` keeps a secret only if its Shannon entropy is above it; a secret is
//! allowed (not redacted) when a rule allowlist or the global allowlist matches it (regexes
//! on the secret, the match or the line per `regexTarget`; stopwords contained in the
//! lower-cased secret). Path-only rules do not apply to captured text.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex::Regex;
use serde::Deserialize;

const RULES: &str = include_str!("../../rules/gitleaks.toml");

#[derive(Deserialize)]
struct File {
    allowlist: Option<AllowlistDef>,
    rules: Vec<RuleDef>,
}

#[derive(Deserialize)]
struct RuleDef {
    id: String,
    regex: Option<String>,
    #[serde(rename = "secretGroup")]
    secret_group: Option<usize>,
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    allowlists: Vec<AllowlistDef>,
}

#[derive(Deserialize, Default)]
struct AllowlistDef {
    #[serde(rename = "regexTarget")]
    regex_target: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
}

/// What an allowlist regex is matched against.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Secret,
    Match,
    Line,
}

struct Allowlist {
    target: Target,
    regexes: Vec<Regex>,
    stopwords: Vec<String>,
}

impl Allowlist {
    fn from_def(d: AllowlistDef) -> Option<Self> {
        if d.regexes.is_empty() && d.stopwords.is_empty() {
            return None;
        }
        Some(Self {
            target: match d.regex_target.as_deref() {
                Some("match") => Target::Match,
                Some("line") => Target::Line,
                _ => Target::Secret,
            },
            regexes: d
                .regexes
                .iter()
                .filter_map(|r| Regex::new(r).ok())
                .collect(),
            stopwords: d.stopwords.iter().map(|s| s.to_lowercase()).collect(),
        })
    }

    fn allows(&self, secret: &str, whole: &str, line: &str) -> bool {
        let target = match self.target {
            Target::Secret => secret,
            Target::Match => whole,
            Target::Line => line,
        };
        if self.regexes.iter().any(|r| r.is_match(target)) {
            return true;
        }
        let lower = secret.to_lowercase();
        self.stopwords.iter().any(|w| lower.contains(w.as_str()))
    }
}

struct Rule {
    id: String,
    regex: Regex,
    secret_group: usize,
    entropy: Option<f64>,
    allowlists: Vec<Allowlist>,
}

/// The compiled rule set.
pub struct Rules {
    rules: Vec<Rule>,
    /// Keyword automaton: pattern `i` is keyword `i`, which enables `owners[i]`.
    keywords: AhoCorasick,
    owners: Vec<Vec<usize>>,
    /// Rules without keywords: run on all text.
    always: Vec<usize>,
    global: Option<Allowlist>,
    /// Rules whose regex the Rust engine refused (with the reason), for `doctor`.
    pub refused: Vec<(String, String)>,
}

/// The embedded rule set, compiled once.
pub static RULE_SET: LazyLock<Rules> = LazyLock::new(Rules::embedded);

impl Rules {
    fn embedded() -> Self {
        let file: File = toml::from_str(RULES).unwrap_or_else(|_| File {
            allowlist: None,
            rules: Vec::new(),
        });
        let mut rules = Vec::new();
        let mut refused = Vec::new();
        let mut keyword_list: Vec<String> = Vec::new();
        let mut owners: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for def in file.rules {
            let Some(pattern) = def.regex else { continue };
            let regex = match regex::RegexBuilder::new(&go_classes(&pattern))
                .size_limit(1 << 24)
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    refused.push((def.id, e.to_string()));
                    continue;
                }
            };
            let index = rules.len();
            if def.keywords.is_empty() {
                always.push(index);
            }
            for k in def.keywords {
                let k = k.to_lowercase();
                match keyword_list.iter().position(|x| *x == k) {
                    Some(i) => owners[i].push(index),
                    None => {
                        keyword_list.push(k);
                        owners.push(vec![index]);
                    }
                }
            }
            rules.push(Rule {
                id: def.id,
                regex,
                secret_group: def.secret_group.unwrap_or(0),
                entropy: def.entropy,
                allowlists: def
                    .allowlists
                    .into_iter()
                    .filter_map(Allowlist::from_def)
                    .collect(),
            });
        }
        let keywords = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keyword_list)
            .unwrap_or_else(|_| AhoCorasick::new(Vec::<String>::new()).expect("empty automaton"));
        Self {
            rules,
            keywords,
            owners,
            always,
            global: file.allowlist.and_then(Allowlist::from_def),
            refused,
        }
    }

    /// How many rules are in use.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when no rule is in use (the embedded file could not be read).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The byte ranges of `text` that hold secrets, with the rule id of each; ranges may
    /// overlap.
    pub fn find(&self, text: &str) -> Vec<(std::ops::Range<usize>, &str)> {
        let mut candidates: Vec<usize> = self.always.clone();
        for m in self.keywords.find_overlapping_iter(text) {
            candidates.extend(&self.owners[m.pattern().as_usize()]);
        }
        if candidates.is_empty() {
            return Vec::new();
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut found = Vec::new();
        for i in candidates {
            let rule = &self.rules[i];
            for caps in rule.regex.captures_iter(text) {
                let Some(whole) = caps.get(0) else { continue };
                let secret = if rule.secret_group > 0 {
                    caps.get(rule.secret_group)
                } else {
                    caps.iter().skip(1).flatten().find(|g| !g.is_empty())
                }
                .unwrap_or(whole);
                if let Some(min) = rule.entropy
                    && shannon(secret.as_str()) <= min
                {
                    continue;
                }
                let line = line_of(text, whole.start(), whole.end());
                let allowed = rule
                    .allowlists
                    .iter()
                    .chain(&self.global)
                    .any(|a| a.allows(secret.as_str(), whole.as_str(), line));
                if !allowed {
                    found.push((secret.range(), rule.id.as_str()));
                }
            }
        }
        found
    }
}

/// A gitleaks (Go RE2) pattern in Rust `regex` syntax: the two agree except that RE2's
/// `\w` and `\d` are ASCII while Rust's are Unicode (and a Unicode `\w{50,1000}` exceeds
/// any sane compiled-size limit). So `\w` becomes `[[:word:]]` and `\d` `[[:digit:]]`
/// (inside a class, `[:word:]` and `[:digit:]`), exactly RE2's meaning. A scan, not a
/// parser: it only tracks escapes and whether it is inside a bracket class.
fn go_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut depth = 0usize;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('w') if depth > 0 => out.push_str("[:word:]"),
                Some('w') => out.push_str("[[:word:]]"),
                Some('d') if depth > 0 => out.push_str("[:digit:]"),
                Some('d') => out.push_str("[[:digit:]]"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' => {
                depth += 1;
                out.push(c);
                if chars.peek() == Some(&':') {
                    // A POSIX class `[:alnum:]` inside a bracket: copy it whole.
                    for d in chars.by_ref() {
                        out.push(d);
                        if d == ']' {
                            break;
                        }
                    }
                    depth -= 1;
                }
            }
            ']' if depth > 0 => {
                depth -= 1;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The line (or lines) around `start..end`.
fn line_of(text: &str, start: usize, end: usize) -> &str {
    let from = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let to = text[end..].find('\n').map_or(text.len(), |i| end + i);
    &text[from..to]
}

/// Shannon entropy of `s` in bits per character (gitleaks' `shannonEntropy`).
fn shannon(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut n = 0.0;
    for c in s.chars() {
        *counts.entry(c).or_insert(0.0) += 1.0;
        n += 1.0;
    }
    counts
        .values()
        .map(|&c: &f64| {
            let p = c / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_classes_are_ascii_in_and_out_of_brackets() {
        assert_eq!(
            go_classes(r"[\w.-]{0,5}\d"),
            r"[[:word:].-]{0,5}[[:digit:]]"
        );
        assert_eq!(go_classes(r"[[:alnum:]\w]\."), r"[[:alnum:][:word:]]\.");
    }

    #[test]
    fn the_whole_rule_set_compiles() {
        let r = &*RULE_SET;
        assert!(r.len() > 200, "{} rules", r.len());
        assert!(r.refused.is_empty(), "{:?}", r.refused);
    }

    #[test]
    fn secrets_are_found_by_their_rule() {
        let text = "token ghp_012345678901234567890123456789abcdef in a note";
        let found = RULE_SET.find(text);
        assert!(
            found.iter().any(|(r, id)| *id == "github-pat"
                && &text[r.clone()] == "ghp_012345678901234567890123456789abcdef"),
            "{found:?}"
        );
    }
}
