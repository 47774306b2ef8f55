//! Secrets named by their key in an event's structured `data` (CONTRACT.md, "Sanitization"):
//! `{"db_password": "hunter2x"}` holds its name and its value in two strings, so the text
//! rules, which need `name=value` in one, cannot see it. A hand-written rule of this host
//! (gitleaks scans text, not JSON keys), in the spirit of gitleaks' `generic-api-key`
//! (the same secret words) and of its allowlist (a name that only describes a secret, such
//! as `secret_name` or `token_endpoint`, is not one).
//!
//! A key is split into lower-case words (`snake_case`, `kebab-case`, `camelCase`, dots,
//! spaces, digits). It names a secret when a word is, or ends in, password, passwd,
//! passphrase, passcode, Passwort, Kennwort, secret, token, apikey, accesskey, privatekey,
//! secretkey, credential(s), creds, cookie(s) or authorization; or is pass, pwd, auth, oauth,
//! pin, puk, otp, totp or hotp; or is key(s) after api, access, account, app, auth, client,
//! encryption, licence/license, master, private, secret, session or signing. It does not when
//! a word after the last such word describes the secret instead of being it (count, length,
//! type, name, id, url, path, at, changed, expires, …: `token_count`,
//! `password_changed_at`, `api_key_name`), or when the first word is has, is, num, max, min,
//! last, total, require(s), need(s), use(s), show, hide, allow, enable(d), disable(d),
//! remember or save (`has_password`, `max_token_length`). Plurals of the nouns are counts
//! or lists of names (`input_tokens`, `secrets`) and name nothing.
//!
//! Under such a key every string and number is redacted, at any depth of arrays, except
//! where the word says what a secret looks like: bare `pass` only takes strings
//! (`"pass": 12` counts passed tests); pin, puk and the one-time codes only take 4 to 10
//! digits (as a string) or a whole number of 3 to 10 digits (a JSON number has lost its
//! leading zeros); `pwd` keeps a path (`"pwd": "/home/ann"` is the shell's working
//! directory). Booleans, nulls and empty strings say nothing and stay; an object under such
//! a key is not a secret as a whole: its own keys decide.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use serde_json::Value;

/// What a secret word takes as a secret value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Takes {
    /// Any string or number.
    Any,
    /// Strings only.
    Text,
    /// Digits only: a PIN or a one-time code.
    Digits,
    /// Anything but a path.
    NotPath,
}

/// Words a secret word ends in, with the kind.
const SUFFIXES: &[(&str, &str)] = &[
    ("password", "password"),
    ("passwd", "password"),
    ("passwort", "password"),
    ("kennwort", "password"),
    ("passphrase", "password"),
    ("passcode", "password"),
    ("secret", "secret"),
    ("token", "token"),
    ("apikey", "api_key"),
    ("accesskey", "api_key"),
    ("privatekey", "private_key"),
    ("secretkey", "secret"),
    ("credential", "credential"),
    ("credentials", "credential"),
    ("creds", "credential"),
    ("cookie", "cookie"),
    ("cookies", "cookie"),
    ("authorization", "auth"),
];

/// Words before `key`/`keys` that make it a secret, with the kind.
const KEY_PREFIXES: &[(&str, &str)] = &[
    ("api", "api_key"),
    ("access", "api_key"),
    ("account", "api_key"),
    ("app", "api_key"),
    ("auth", "api_key"),
    ("client", "api_key"),
    ("license", "api_key"),
    ("licence", "api_key"),
    ("private", "private_key"),
    ("encryption", "secret"),
    ("master", "secret"),
    ("secret", "secret"),
    ("session", "secret"),
    ("signing", "secret"),
];

/// Words after a secret word that make the key describe the secret instead of holding it.
const DESCRIBES: &[&str] = &[
    "age",
    "alg",
    "algorithm",
    "at",
    "banner",
    "bytes",
    "change",
    "changed",
    "chars",
    "consent",
    "count",
    "counts",
    "created",
    "date",
    "desc",
    "description",
    "dir",
    "enabled",
    "endpoint",
    "env",
    "error",
    "errors",
    "exists",
    "exp",
    "expiration",
    "expire",
    "expired",
    "expires",
    "expiry",
    "field",
    "file",
    "filename",
    "format",
    "hint",
    "host",
    "id",
    "ids",
    "in",
    "issuer",
    "kind",
    "label",
    "len",
    "length",
    "lifetime",
    "limit",
    "limits",
    "location",
    "manager",
    "message",
    "method",
    "mode",
    "modified",
    "name",
    "names",
    "on",
    "path",
    "pattern",
    "placeholder",
    "policy",
    "prefix",
    "present",
    "prompt",
    "protected",
    "provider",
    "required",
    "rotated",
    "rotation",
    "rule",
    "rules",
    "scheme",
    "scope",
    "scopes",
    "score",
    "set",
    "size",
    "source",
    "state",
    "status",
    "strength",
    "suffix",
    "time",
    "timestamp",
    "ts",
    "ttl",
    "type",
    "updated",
    "uri",
    "url",
    "urls",
    "usage",
    "used",
    "valid",
    "validity",
    "var",
    "variable",
    "version",
];

/// First words that make the key a flag or a measure about a secret.
const ABOUT: &[&str] = &[
    "allow", "disable", "disabled", "enable", "enabled", "has", "hide", "is", "last", "max", "min",
    "need", "needs", "num", "remember", "require", "requires", "save", "show", "total", "use",
    "uses",
];

/// Text every secret-naming key contains (case-insensitive): keys without any are not
/// split into words.
/// Builds [`TRIGGERS`] now ([`super::warm`]).
pub(super) fn warm() {
    LazyLock::force(&TRIGGERS);
}

static TRIGGERS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([
            "pass", "pwd", "secret", "token", "key", "cred", "cookie", "auth", "pin", "puk", "otp",
            "kennwort",
        ])
        .ok()
});

/// The words of a key, lower-cased: split at every character that is not a letter or a
/// digit, between a lower-case and an upper-case letter, before the last capital of an
/// acronym followed by lower case (`APIKey` → api, key) and between letters and digits.
fn words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut out = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            continue;
        }
        if let Some(&p) = i.checked_sub(1).and_then(|j| chars.get(j)) {
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary = (p.is_lowercase() && c.is_uppercase())
                || (p.is_uppercase() && c.is_uppercase() && next_lower)
                || (p.is_alphabetic() && c.is_numeric())
                || (p.is_numeric() && c.is_alphabetic());
            if boundary && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// The kind a single word names, and what it takes; `prev` is the word before it.
fn word_kind(word: &str, prev: Option<&str>) -> Option<(&'static str, Takes)> {
    match word {
        "pass" => Some(("password", Takes::Text)),
        "auth" | "oauth" => Some(("auth", Takes::Any)),
        "pin" | "puk" => Some(("pin", Takes::Digits)),
        "otp" | "totp" | "hotp" => Some(("otp", Takes::Digits)),
        "key" | "keys" => prev.and_then(|p| {
            KEY_PREFIXES
                .iter()
                .find(|(w, _)| *w == p)
                .map(|(_, kind)| (*kind, Takes::Any))
        }),
        w if w.ends_with("pwd") => Some(("password", Takes::NotPath)),
        w => SUFFIXES
            .iter()
            .find(|(s, _)| w.ends_with(s))
            .map(|(_, kind)| (*kind, Takes::Any)),
    }
}

/// The kind of secret `key` names, and what it takes (see the module documentation).
fn secret_key(key: &str) -> Option<(&'static str, Takes)> {
    let triggers = TRIGGERS.as_ref()?;
    if !triggers.is_match(key) {
        return None;
    }
    let words = words(key);
    let (at, kind, takes) = words.iter().enumerate().rev().find_map(|(i, w)| {
        let prev = i
            .checked_sub(1)
            .and_then(|j| words.get(j))
            .map(String::as_str);
        word_kind(w, prev).map(|(kind, takes)| (i, kind, takes))
    })?;
    let describes = words
        .iter()
        .skip(at + 1)
        .any(|w| DESCRIBES.contains(&w.as_str()));
    let about = at > 0 && words.first().is_some_and(|w| ABOUT.contains(&w.as_str()));
    (!describes && !about).then_some((kind, takes))
}

/// True when `s` is a path: `/…`, `~…`, `./…`, `../…` or a drive `C:\…`/`C:/…`.
fn is_path(s: &str) -> bool {
    let b = s.as_bytes();
    s.starts_with(['/', '~'])
        || s.starts_with("./")
        || s.starts_with("../")
        || (b.len() > 2
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && matches!(b[2], b'\\' | b'/'))
}

/// True when `s` is 4 to 10 digits (spaces and dashes between them allowed: `731 904`).
fn is_code(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (4..=10).contains(&digits)
        && s.chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
}

fn takes_text(takes: Takes, s: &str) -> bool {
    let t = s.trim();
    !t.is_empty()
        && !t.starts_with("[REDACTED:")
        && match takes {
            Takes::Any | Takes::Text => true,
            Takes::Digits => is_code(t),
            Takes::NotPath => !is_path(t),
        }
}

fn takes_number(takes: Takes, n: &serde_json::Number) -> bool {
    match takes {
        Takes::Any | Takes::NotPath => true,
        Takes::Text => false,
        Takes::Digits => n
            .as_u64()
            .is_some_and(|d| (100..=9_999_999_999).contains(&d)),
    }
}

fn redact_under(kind: &str, takes: Takes, value: &mut Value) -> u32 {
    let secret = match value {
        Value::String(s) => takes_text(takes, s),
        Value::Number(n) => takes_number(takes, n),
        Value::Array(items) => {
            return items.iter_mut().map(|v| redact_under(kind, takes, v)).sum();
        }
        _ => false,
    };
    if secret {
        *value = Value::String(format!("[REDACTED:{kind}]"));
    }
    u32::from(secret)
}

/// Redacts `value` when `key` names a secret (rule and source in the module
/// documentation): each string and number it holds becomes `[REDACTED:<kind>]`, the kind
/// named by the key's word (password, secret, token, api_key, private_key, credential,
/// cookie, auth, pin, otp). Objects are left to their own keys. Returns how many values
/// were replaced.
pub fn redact_named(key: &str, value: &mut Value) -> u32 {
    match secret_key(key) {
        Some((kind, takes)) => redact_under(kind, takes, value),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_split_into_words() {
        assert_eq!(words("APIKey"), ["api", "key"]);
        assert_eq!(words("dbPassword2"), ["db", "password", "2"]);
        assert_eq!(words("X-Auth-Token"), ["x", "auth", "token"]);
        assert_eq!(
            words("AWS_SECRET_ACCESS_KEY"),
            ["aws", "secret", "access", "key"]
        );
        assert_eq!(words("db.password changed"), ["db", "password", "changed"]);
    }

    #[test]
    fn secret_names_and_their_kinds() {
        for (key, kind) in [
            ("db_password", "password"),
            ("DB_PASSWD", "password"),
            ("smtpPass", "password"),
            ("passphrase", "password"),
            ("kennwort", "password"),
            ("admin_pwd", "password"),
            ("client_secret", "secret"),
            ("clientSecret", "secret"),
            ("token", "token"),
            ("accessToken", "token"),
            ("authtoken", "token"),
            ("refresh_token", "token"),
            ("password_reset_token", "token"),
            ("api_key", "api_key"),
            ("apikey", "api_key"),
            ("x-api-key", "api_key"),
            ("aws_secret_access_key", "api_key"),
            ("private_key", "private_key"),
            ("secret_key", "secret"),
            ("session_key", "secret"),
            ("credentials", "credential"),
            ("creds", "credential"),
            ("cookie", "cookie"),
            ("Set-Cookie", "cookie"),
            ("auth", "auth"),
            ("Proxy-Authorization", "auth"),
            ("pin", "pin"),
            ("sim_pin", "pin"),
            ("totp", "otp"),
        ] {
            assert_eq!(secret_key(key).map(|(k, _)| k), Some(kind), "{key}");
        }
    }

    #[test]
    fn names_about_secrets_are_not_secrets() {
        for key in [
            "token_count",
            "tokens",
            "input_tokens",
            "max_tokens",
            "max_token_length",
            "password_changed_at",
            "passwordChangedAt",
            "password_length",
            "token_type",
            "token_expires_in",
            "token_endpoint",
            "api_key_name",
            "access_key_id",
            "secret_name",
            "secrets",
            "has_password",
            "is_secret",
            "password_manager",
            "author",
            "authentication",
            "session",
            "session_id",
            "auth_method",
            "key",
            "public_key",
            "keyboard",
            "tokenizer",
            "secretary",
            "passwords",
            "bypass",
            "compass",
            "spinner",
            "pinned",
            "cwd",
        ] {
            assert_eq!(secret_key(key), None, "{key}");
        }
    }

    #[test]
    fn values_are_redacted_as_the_word_says() {
        let mut v = json!(["hunter2", 1234, true, null, "", {"user": "x"}, ["nested"]]);
        assert_eq!(redact_named("password", &mut v), 3);
        assert_eq!(
            v,
            json!([
                "[REDACTED:password]",
                "[REDACTED:password]",
                true,
                null,
                "",
                {"user": "x"},
                ["[REDACTED:password]"]
            ])
        );
        for (key, value, redacted) in [
            ("pass", json!(12), false),
            ("pass", json!("s3cret"), true),
            ("pin", json!(4938), true),
            ("pin", json!("0472"), true),
            ("pin", json!(1), false),
            ("pin", json!("top"), false),
            ("otp", json!("731 904"), true),
            ("pwd", json!("/home/ann"), false),
            ("pwd", json!("~/src"), false),
            ("pwd", json!("C:\\Users\\ann"), false),
            ("pwd", json!("hunter2"), true),
            ("token", json!(884_213_771), true),
            ("token", json!("[REDACTED:github-pat]"), false),
        ] {
            let mut v = value.clone();
            assert_eq!(redact_named(key, &mut v) == 1, redacted, "{key}: {value}");
        }
    }
}
