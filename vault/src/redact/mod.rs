//! Secret and PII redaction (CONTRACT.md, "Sanitization"): a secret becomes
//! `[REDACTED:<kind>]`, and a named one keeps its name (`DB_PASSWORD=[REDACTED:password]`).
//!
//! Three passes, secrets always:
//! 1. gitleaks' default rule set ([`gitleaks`]; its rule id is the kind), keyword-filtered;
//! 2. this host's rules for what shell lines, notes and mail hold and gitleaks leaves to
//!    context or has no rule for: named assignments, URL userinfo, CLI password arguments,
//!    `.netrc` entries, private-key blocks, JWTs, bearer and basic authorization headers,
//!    Discord webhooks, PINs and one-time codes, passwords said in prose;
//! 3. for structured data, values whose key names a secret ([`keys`], called by
//!    [`crate::sanitize`] for every field at any depth).
//!
//! PII (per tenant): e-mail addresses, card numbers passing the Luhn check, phone numbers.
//!
//! Cost: like gitleaks, every host rule has keywords, one of which each of its matches
//! holds. One Aho-Corasick pass over the text finds them all; a rule runs only on the lines
//! holding one of its keywords (rules that span lines: on the whole text), so text without
//! any keyword costs that one pass.

pub mod gitleaks;
pub mod keys;

pub use keys::redact_named;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::{Captures, Regex, RegexSet};

/// Where a host rule looks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Span {
    /// One line at a time: the lines holding one of the rule's keywords.
    Line,
    /// The whole text (the rule's matches span lines), when a keyword occurs anywhere.
    Text,
}

/// A redaction rule: its kind (the `<kind>` in the marker) and its regex. Where the regex
/// has a group named `s`, only that group is replaced (the text around it stays); a group
/// named `name` picks the kind from the name ([`kind_of_name`]). A match is redacted only
/// when `check` (if any) accepts it.
struct Rule {
    kind: &'static str,
    regex: Regex,
    check: Check,
}

/// What a match must pass to be redacted (a checksum, a decoding, a word list).
type Check = Option<fn(&Captures<'_>) -> bool>;

/// One rule's definition: kind, regex, keywords (case-insensitive), span, check.
type Def<'a> = (&'static str, &'a str, &'static [&'static str], Span, Check);

/// Host rules behind one keyword automaton (at most 64 rules: a line's candidates are a
/// bit set).
struct HostRules {
    rules: Vec<Rule>,
    keywords: AhoCorasick,
    /// Keyword `i` enables the rules whose bits are set in `owners[i]`.
    owners: Vec<u64>,
    /// The rules with [`Span::Text`].
    text_rules: u64,
}

impl HostRules {
    fn new(defs: &[Def<'_>]) -> Self {
        assert!(defs.len() <= 64, "host rules fit a u64 bit set");
        let mut words: Vec<String> = Vec::new();
        let mut owners: Vec<u64> = Vec::new();
        let mut rules = Vec::with_capacity(defs.len());
        let mut text_rules = 0;
        for (i, (kind, re, keywords, span, check)) in defs.iter().enumerate() {
            for k in *keywords {
                let k = k.to_ascii_lowercase();
                match words.iter().position(|w| *w == k) {
                    Some(at) => owners[at] |= 1 << i,
                    None => {
                        words.push(k);
                        owners.push(1 << i);
                    }
                }
            }
            if *span == Span::Text {
                text_rules |= 1 << i;
            }
            rules.push(Rule {
                kind,
                regex: Regex::new(re).expect("redaction rule compiles"),
                check: *check,
            });
        }
        Self {
            rules,
            keywords: AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(&words)
                .expect("redaction keywords compile"),
            owners,
            text_rules,
        }
    }

    /// Applies every rule whose keyword occurs: whole-text rules first, then line rules on
    /// the lines holding their keywords.
    fn apply<'a>(&self, text: Cow<'a, str>) -> Cow<'a, str> {
        let (whole, lines) = self.candidates(&text);
        if whole == 0 {
            return self.apply_lines(text, &lines);
        }
        let mut text = text;
        for i in bits(whole) {
            text = self.rules[i].apply(text);
        }
        if let Cow::Borrowed(_) = text {
            return self.apply_lines(text, &lines);
        }
        // A whole-text rule changed the text: its lines moved, so find them again.
        let (_, lines) = self.candidates(&text);
        let changed = match self.apply_lines(Cow::Borrowed(&text), &lines) {
            Cow::Owned(s) => Some(s),
            Cow::Borrowed(_) => None,
        };
        changed.map_or(text, Cow::Owned)
    }

    /// The whole-text rules whose keywords occur, and each line (byte range, line break
    /// included) holding a keyword of a line rule, with those rules. One automaton pass.
    fn candidates(&self, text: &str) -> (u64, Vec<(Range<usize>, u64)>) {
        let mut whole = 0;
        let mut lines: Vec<(Range<usize>, u64)> = Vec::new();
        for m in self.keywords.find_overlapping_iter(text) {
            let found = self.owners[m.pattern().as_usize()];
            whole |= found & self.text_rules;
            let line_rules = found & !self.text_rules;
            if line_rules == 0 {
                continue;
            }
            // Matches come in order of their end, and no keyword spans lines: the lines
            // they fall in only move forward.
            match lines.last_mut() {
                Some((range, set)) if range.contains(&m.start()) => *set |= line_rules,
                last => {
                    let from = last.map_or(0, |(r, _)| r.end);
                    let start = text[from..m.start()]
                        .rfind('\n')
                        .map_or(from, |i| from + i + 1);
                    let end = text[m.end()..]
                        .find('\n')
                        .map_or(text.len(), |i| m.end() + i + 1);
                    lines.push((start..end, line_rules));
                }
            }
        }
        (whole, lines)
    }

    fn apply_lines<'a>(&self, text: Cow<'a, str>, lines: &[(Range<usize>, u64)]) -> Cow<'a, str> {
        let mut out: Option<String> = None;
        let mut done = 0;
        for (range, set) in lines {
            let mut line = Cow::Borrowed(&text[range.clone()]);
            for i in bits(*set) {
                line = self.rules[i].apply(line);
            }
            if let Cow::Owned(changed) = line {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len() + 32));
                o.push_str(&text[done..range.start]);
                o.push_str(&changed);
                done = range.end;
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
}

/// The indexes of the set bits of `set`, lowest first.
fn bits(mut set: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (set != 0).then(|| {
            let i = set.trailing_zeros() as usize;
            set &= set - 1;
            i
        })
    })
}

impl Rule {
    fn apply<'a>(&self, text: Cow<'a, str>) -> Cow<'a, str> {
        let changed = match self
            .regex
            .replace_all(&text, |c: &Captures<'_>| self.replace(c))
        {
            Cow::Owned(s) => Some(s),
            Cow::Borrowed(_) => None,
        };
        match changed {
            Some(s) => Cow::Owned(s),
            None => text,
        }
    }

    fn replace(&self, c: &Captures<'_>) -> String {
        let whole = c.get(0).map_or("", |m| m.as_str());
        if self.check.is_some_and(|check| !check(c)) {
            return whole.to_owned();
        }
        let kind = c
            .name("name")
            .map_or(self.kind, |n| kind_of_name(n.as_str()));
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
}

/// Rules without keywords behind one `RegexSet` pass (the PII rules, which run on every
/// text of a tenant that asks for them): text none matches costs one scan.
struct PatternSet {
    set: RegexSet,
    rules: Vec<Rule>,
}

impl PatternSet {
    fn new(defs: &[(&'static str, &str, Check)]) -> Self {
        let set =
            RegexSet::new(defs.iter().map(|(_, re, _)| *re)).expect("redaction patterns compile");
        let rules = defs
            .iter()
            .map(|(kind, re, check)| Rule {
                kind,
                regex: Regex::new(re).expect("redaction pattern compiles"),
                check: *check,
            })
            .collect();
        Self { set, rules }
    }

    fn apply<'a>(&self, text: Cow<'a, str>) -> Cow<'a, str> {
        let hits = self.set.matches(&text);
        let mut text = text;
        for i in hits.iter() {
            text = self.rules[i].apply(text);
        }
        text
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
fn luhn_ok(c: &Captures<'_>) -> bool {
    let s = c.get(0).map_or("", |m| m.as_str());
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

/// A spaced name's value (`DB_PASSWORD hunter2`) holds a letter or digit and is not a
/// capitalised word (`PASSWORD RESET REQUIRED`, `ACCESS TOKEN EXPIRED` are headlines).
fn spaced_value(c: &Captures<'_>) -> bool {
    c.name("s").is_some_and(|s| {
        let v = s.as_str();
        v.chars().any(|ch| ch.is_ascii_alphanumeric())
            && !(v.len() > 1 && v.chars().all(|ch| ch.is_ascii_uppercase()))
    })
}

/// `Authorization: Basic <x>` holds credentials only when `x` is base64 of `user:password`
/// ("Basic auth is deprecated" is not).
fn basic_credentials(c: &Captures<'_>) -> bool {
    c.name("s")
        .and_then(|s| base64_decode(s.as_str()))
        .and_then(|b| String::from_utf8(b).ok())
        .is_some_and(|t| t.contains(':') && !t.chars().any(char::is_control))
}

/// Standard base64 (padding optional); `None` when `s` is not base64.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut n) = (0u32, 0);
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
            acc &= (1 << n) - 1;
        }
    }
    Some(out)
}

/// Words that follow "the password is" without being the password.
const NOT_A_PASSWORD: &[&str] = &[
    "a",
    "above",
    "abgelaufen",
    "also",
    "an",
    "at",
    "attached",
    "below",
    "blank",
    "case-sensitive",
    "changed",
    "correct",
    "different",
    "empty",
    "encrypted",
    "expired",
    "falsch",
    "for",
    "from",
    "geändert",
    "gleich",
    "hashed",
    "here",
    "hidden",
    "hier",
    "in",
    "incorrect",
    "insecure",
    "invalid",
    "it",
    "just",
    "leer",
    "long",
    "missing",
    "my",
    "nicht",
    "no",
    "noch",
    "none",
    "not",
    "now",
    "null",
    "of",
    "oben",
    "on",
    "only",
    "optional",
    "our",
    "required",
    "reset",
    "right",
    "safe",
    "same",
    "saved",
    "secret",
    "secure",
    "see",
    "set",
    "short",
    "so",
    "still",
    "stored",
    "strong",
    "that",
    "the",
    "their",
    "there",
    "this",
    "to",
    "too",
    "unbekannt",
    "unknown",
    "unset",
    "unten",
    "very",
    "weak",
    "with",
    "wrong",
    "your",
    "zu",
];

/// A password said in prose ("my password is hunter2"): redacted when quoted, after an
/// explicit `:`/`=`, or when it looks like one (4 characters or more with a digit, a
/// symbol or a capital after the first letter); never a word from [`NOT_A_PASSWORD`].
fn said_password(c: &Captures<'_>) -> bool {
    let Some(s) = c.name("s") else { return false };
    let v = s.as_str();
    if v.starts_with(['"', '\'']) {
        return v.len() > 2;
    }
    if NOT_A_PASSWORD.contains(&v.to_lowercase().as_str()) {
        return false;
    }
    c.name("sep").is_some()
        || (v.chars().count() >= 4
            && (v.chars().any(|ch| ch.is_ascii_digit())
                || v.chars().any(|ch| !ch.is_alphanumeric())
                || v.chars().skip(1).any(char::is_uppercase)))
}

/// A secret's name: an identifier holding one of the words (any prefix and suffix).
const NAME: &str = r"(?P<name>[A-Za-z0-9_.-]*(?i:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[A-Za-z0-9_.-]*)";
/// A value: quoted, or up to the next space or separator.
const VALUE: &str = r#"(?P<s>"[^"\n]*"|'[^'\n]*'|[^\s,;"'`]+)"#;
/// A CLI argument value: quoted, or a word not starting with `-`.
const ARG: &str = r#"(?P<s>"[^"\n]*"|'[^'\n]*'|[^\s-]\S*)"#;

/// The host's secret rules, each with its keywords; the ones not from gitleaks say why.
static HOST_RULES: LazyLock<HostRules> = LazyLock::new(|| {
    // Named assignments: gitleaks' `generic-api-key` needs entropy above 3.5 and so lets
    // `DB_PASSWORD=hunter2` pass; a name says what the value is, whatever it looks like.
    let assignment = format!(r#"{NAME}["']?\s*[:=]\s*{VALUE}"#);
    // With a space between, the name must look like a variable (`DB_PASSWORD hunter2`,
    // `:_authToken x`, `set PASSWORD x`), not a word in a sentence ("the password was
    // changed"): it holds an underscore, or is all capitals; a `$NAME` is a reference.
    let spaced = format!(
        r#"(?:^|[^$A-Za-z0-9_])(?P<name>[A-Za-z0-9_]*_[A-Za-z0-9_]*(?i:password|passwd|pwd|secret|token|api_?key|access_?key|private_?key)[A-Za-z0-9_]*|\b(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY)(?:_[A-Z0-9_]+)?)[ \t]+{VALUE}"#
    );
    let cli = |head: &str, flag: &str| format!(r"{head}[^\n]*?\s{flag}{ARG}");
    let redis = cli(r"\bredis-cli\b", r"-a[ \t]+");
    let mongo = cli(
        r"\bmongo(?:sh|dump|restore|import|export|stat|top|files)?\b",
        r"-p[ \t]+",
    );
    let login = cli(
        r"\b(?:docker|podman|nerdctl|buildah|skopeo|helm[ \t]+registry)[ \t]+login\b",
        r"-p[ \t]+",
    );
    let ldap = cli(
        r"\bldap(?:search|add|modify|delete|passwd|whoami|compare|modrdn|exop)\b",
        r"-w[ \t]+",
    );
    const PASS: &[&str] = &["pass"];
    HostRules::new(&[
        (
            "private_key",
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
            &["private key"],
            Span::Text,
            None,
        ),
        // `.netrc` (curl, git, ftp): `machine <host> login <user> password <secret>` (or
        // `default …`), on one line or several; no gitleaks rule. The login keeps prose out
        // ("the default password is …"); the second rule takes it after the password.
        (
            "password",
            r#"\b(?:machine[ \t]+\S+|default)(?:\s+(?:account|port)\s+\S+)*\s+login\s+\S+(?:\s+(?:account|port)\s+\S+)*\s+password\s+(?P<s>[^\s"']+)"#,
            &["machine", "default"],
            Span::Text,
            None,
        ),
        (
            "password",
            r#"\b(?:machine[ \t]+\S+|default)(?:\s+(?:account|port)\s+\S+)*\s+password\s+(?P<s>[^\s"']+)\s+login\s"#,
            &["machine", "default"],
            Span::Text,
            None,
        ),
        (
            "password",
            &assignment,
            &["pass", "pwd", "secret", "token", "api", "access", "private"],
            Span::Line,
            None,
        ),
        (
            "password",
            &spaced,
            &["pass", "pwd", "secret", "token", "api", "access", "private"],
            Span::Line,
            Some(spaced_value),
        ),
        (
            "url_password",
            r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@\[\]]*:(?P<s>[^\s@/\[\]]+)@",
            &["://"],
            Span::Line,
            None,
        ),
        (
            "password",
            r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlsh|mariadb|mariadb-dump)\b[^\n]*?\s-p(?P<s>[^\s-][^\s]*)",
            &["mysql", "mariadb"],
            Span::Line,
            None,
        ),
        (
            "password",
            r"(?i)(?:^|\s)--(?:http-|ftp-|proxy-)?pass(?:word|wd)?(?:=|[ \t]+)(?P<s>[^\s-][^\s]*)",
            PASS,
            Span::Line,
            None,
        ),
        (
            "password",
            r"\bsshpass\s+-p\s*(?P<s>[^\s-][^\s]*)",
            &["sshpass"],
            Span::Line,
            None,
        ),
        // Password arguments of more clients (no gitleaks rule): `redis-cli -a`,
        // `mongosh -p`, `docker login -p`, `ldapsearch -w`, `echo pw | sudo -S`,
        // `openssl … -passout pass:pw`, `htpasswd -b file user pw`, `smbclient -U user%pw`.
        ("password", &redis, &["redis-cli"], Span::Line, None),
        ("password", &mongo, &["mongo"], Span::Line, None),
        ("password", &login, &["login"], Span::Line, None),
        ("password", &ldap, &["ldap"], Span::Line, None),
        (
            "password",
            r#"\becho[ \t]+(?:-[ne][ \t]+)?(?P<s>"[^"\n]*"|'[^'\n]*'|[^\s|;&]+)[ \t]*\|[ \t]*sudo\b[^\n|;&]*?[ \t]-S\b"#,
            &["sudo"],
            Span::Line,
            None,
        ),
        (
            "password",
            r"(?:^|\s)-pass(?:in|out)?[ \t]+pass:(?P<s>\S+)",
            PASS,
            Span::Line,
            None,
        ),
        (
            "password",
            r"\bhtpasswd[ \t]+-[A-Za-z]*b[A-Za-z]*[ \t]+\S+[ \t]+\S+[ \t]+(?P<s>[^\s-]\S*)",
            &["htpasswd"],
            Span::Line,
            None,
        ),
        (
            "password",
            r#"\b(?:smbclient|rpcclient|smbget|smbmap)\b[^\n]*?\s(?:-U|--user(?:=|[ \t]+))[ \t]*["']?[^\s%"']+%(?P<s>[^\s"']+)"#,
            &["smb", "rpcclient"],
            Span::Line,
            None,
        ),
        (
            "jwt",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
            &["eyj"],
            Span::Line,
            None,
        ),
        (
            "bearer_token",
            r"(?i)\bbearer\s+(?P<s>[A-Za-z0-9._~+/-]{16,}=*)",
            &["bearer"],
            Span::Line,
            None,
        ),
        // Basic credentials in any text (HTTP dumps, notes): gitleaks' `curl-auth-header`
        // sees them only in a curl command.
        (
            "basic_auth",
            r#"(?i)\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?basic\s+(?P<s>[a-z0-9+/]{4,}={0,2})"#,
            &["authorization"],
            Span::Line,
            Some(basic_credentials),
        ),
        // Discord webhooks: gitleaks' discord rules are for API tokens and client secrets
        // next to the word discord; a webhook URL carries its own token and has no rule.
        (
            "discord_webhook",
            r"(?i:\bhttps?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com)/api/(?:v\d{1,2}/)?webhooks/\d{15,21}/(?P<s>[A-Za-z0-9_-]{20,})",
            &["discord"],
            Span::Line,
            None,
        ),
        // PINs: 4 to 10 digits right after pin, PIN code, PUK or passcode (no gitleaks rule:
        // too few digits for its entropy threshold).
        (
            "pin",
            r"(?i)\b(?:pin|puk|pass[ -]?code|pin[ -]?code|pin[ -]?number)(?:\s+(?:is|was|ist|lautet)\b)?\s*[:=#]?\s*(?P<s>\d{4,10})\b",
            &["pin", "puk", "pass"],
            Span::Line,
            None,
        ),
        // One-time codes of sign-in mails and texts ("Your verification code is 482913",
        // "OTP 123456"): 4 to 10 digits, or two groups of 3.
        (
            "otp",
            r"(?i)\b(?:(?:otp|totp)(?:[ -]?code)?|(?:one[- ]time(?:[ -]pass)?|verification|confirmation|security|login|sign[- ]in|2fa|mfa|two[- ]factor|auth(?:entication)?|sms|access)[ -]?code|one[- ]time[ -]password|(?:bestätigungs|sicherheits|einmal|anmelde)code)(?:\s+(?:is|was|ist|lautet)\b)?\s*[:=#]?\s*(?P<s>\d{4,10}|\d{3}[ -]\d{3})\b",
            &["otp", "code"],
            Span::Line,
            None,
        ),
        // Labels the assignment rule's names do not hold: Passwort, Kennwort, passcode,
        // passphrase, pw (`Kennwort: Geheim#42`).
        (
            "password",
            r#"(?i)\b(?:passwort|kennwort|pass[ -]?code|pass[ -]?phrase|pw)\s*[:=]\s*(?P<s>"[^"\n]*"|'[^'\n]*'|[^\s,;"'`]+)"#,
            &["pass", "kennwort", "pw"],
            Span::Line,
            None,
        ),
        // A password said in prose ("my password is hunter2", "das Passwort ist …"); only
        // values that look like one ([`said_password`]).
        (
            "password",
            r#"(?i)\b(?:password|passwort|kennwort|passcode|passphrase|pw)(?:\s+(?:for|of|to|für|von|zu|zum|zur)\s+(?:(?:the|my|our|your|a|das|die|der|dem|den|mein|meinem|meinen|unser|unserem)\s+)?[\w.@-]+)?\s+(?:is|was|ist|war|lautet|heißt)\b(?:\s+(?:now|still|jetzt|noch)\b)?\s*(?P<sep>[:=])?\s*(?P<s>"[^"\n]+"|'[^'\n]+'|[^\s,;"'`]*[^\s,;"'`.?:)])"#,
            &["pass", "kennwort", "pw"],
            Span::Line,
            Some(said_password),
        ),
    ])
});

static PII: LazyLock<PatternSet> = LazyLock::new(|| {
    PatternSet::new(&[
        (
            "email",
            r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b",
            None,
        ),
        ("card_number", r"\b(?:\d[ -]?){12,18}\d\b", Some(luhn_ok)),
        (
            "phone",
            r"\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}\b|\(\d{3}\)\s?\d{3}[\s.-]\d{4}\b|\b\d{3}[.-]\d{3}[.-]\d{4}\b",
            None,
        ),
    ])
});

/// Compiles every rule set now (gitleaks' and the host's, a few hundred regexes, and the
/// key-name triggers), so the first batch after start does not wait for it; the host
/// calls it while it opens its vaults and waits for it before it listens.
pub fn warm() {
    keys::warm();
    LazyLock::force(&gitleaks::RULE_SET);
    LazyLock::force(&HOST_RULES);
    LazyLock::force(&PII);
}

/// Redacts secrets (always) and PII (when `pii` is set) in `text`: gitleaks' rules first,
/// then this host's (see the module documentation).
pub fn redact(text: Cow<'_, str>, pii: bool) -> Cow<'_, str> {
    let text = redact_gitleaks(text);
    let text = HOST_RULES.apply(text);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_rules_run_after_a_whole_text_rule_moved_the_lines() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfV\n-----END RSA PRIVATE KEY-----\nexport DB_PASSWORD=hunter2\nmachine h login u password pw1x\nmy pin: 4938";
        assert_eq!(
            redact(Cow::Borrowed(text), false),
            "[REDACTED:private_key]\nexport DB_PASSWORD=[REDACTED:password]\nmachine h login u password [REDACTED:password]\nmy pin: [REDACTED:pin]"
        );
    }

    #[test]
    fn only_lines_with_a_keyword_change_and_text_without_any_is_borrowed() {
        let text = "plain words\nOTP 123456\nmore plain words\n";
        assert_eq!(
            redact(Cow::Borrowed(text), false),
            "plain words\nOTP [REDACTED:otp]\nmore plain words\n"
        );
        assert!(matches!(
            redact(Cow::Borrowed("plain words only\nand a second line"), false),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn bits_and_base64() {
        assert_eq!(bits(0b1010_0001).collect::<Vec<_>>(), [0, 5, 7]);
        assert_eq!(
            base64_decode("dXNlcjpwYXNz").as_deref(),
            Some(&b"user:pass"[..])
        );
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("a"), None);
        assert_eq!(base64_decode("ab$c"), None);
    }
}
