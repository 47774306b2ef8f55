//! Secrets named by their JSON key (CONTRACT.md, "Sanitization"): an event's `data` field
//! whose key names a secret is redacted whatever its value looks like, at any depth, before
//! it is rendered; fields that only describe a secret (a count, a time, a type, a name) stay.

use openclone_vault::prepare::prepare;
use openclone_vault::{Policy, Rules, validate_body};
use serde_json::{Value, json};

/// The rendered Markdown of one `source_type` event with `data`.
fn rendered(source_type: &str, data: Value) -> String {
    let body = json!({
        "source_type": source_type, "platform": "linux",
        "device_id": "550e8400-e29b-41d4-a716-446655440000", "plugin_id": "keys",
        "plugin_version": "1.0.0", "timestamp": 1_708_258_800.0,
        "events": [{"timestamp": 1_708_258_800.0, "data": data}],
    });
    let batch = validate_body(
        body.to_string().as_bytes(),
        &Rules::contract(1_763_800_000.0),
    )
    .expect("a valid batch");
    let tz = jiff::tz::TimeZone::get("Europe/Berlin").expect("tz");
    let prepared = prepare(batch, &tz, Policy::default());
    prepared.entries.iter().map(|e| e.text.as_str()).collect()
}

#[test]
fn values_under_secret_keys_are_redacted_at_any_depth() {
    let out = rendered(
        "notes",
        json!({
            "title": "deploy",
            "db_password": "hunter2x",
            "aws_secret_access_key": "wJalrXUtnFEMI",
            "api_key": "k-884213",
            "client_secret": "cs-shhh",
            "token": 884_213_771,
            "passwd": "letmein",
            "pin": 4938,
            "apiKey": "camel-884",
            "X-Auth-Token": "hdr-884",
            "Authorization": "Basic Zm9v",
            "DB Password": "spaced-884",
            "session_cookie": "sid=abc884",
            "credentials": "ann:pw884",
            "db": {"user": "app", "password": "nested-884", "replica": {"PASSWORD": "deeper-884"}},
            "services": [{"name": "mail", "smtp_pass": "in-array-884"}],
            "api_keys": ["first-884", "second-884"],
        }),
    );
    for secret in [
        "hunter2x",
        "wJalrXUtnFEMI",
        "k-884213",
        "cs-shhh",
        "884213771",
        "letmein",
        "4938",
        "camel-884",
        "hdr-884",
        "Zm9v",
        "spaced-884",
        "abc884",
        "pw884",
        "nested-884",
        "deeper-884",
        "in-array-884",
        "first-884",
        "second-884",
    ] {
        assert!(!out.contains(secret), "{secret} survived in\n{out}");
    }
    for line in [
        "- Db password: [REDACTED:password]",
        "- Aws secret access key: [REDACTED:api_key]",
        "- Api key: [REDACTED:api_key]",
        "- Client secret: [REDACTED:secret]",
        "- Token: [REDACTED:token]",
        "- Passwd: [REDACTED:password]",
        "- Pin: [REDACTED:pin]",
        "- Session cookie: [REDACTED:cookie]",
        "- Credentials: [REDACTED:credential]",
        "- Authorization: [REDACTED:auth]",
    ] {
        assert!(out.contains(line), "{line} missing in\n{out}");
    }
    assert!(out.contains("\"user\":\"app\""), "{out}");
    assert!(out.contains("\"name\":\"mail\""), "{out}");
}

#[test]
fn fields_about_secrets_are_kept() {
    let out = rendered(
        "activity",
        json!({
            "app_name": "terminal",
            "token_count": 1532,
            "input_tokens": 1200,
            "max_tokens": 4096,
            "password_changed_at": "2024-03-01T10:00:00Z",
            "token_type": "Bearer",
            "token_expires_in": 3600,
            "api_key_name": "ci-deploy",
            "secret_name": "db-credentials",
            "pwd": "/home/ann/src/openclone",
            "pass": 12,
            "pin": "top",
            "password_protected": true,
            "has_password": false,
            "author": "Ann",
            "session_id": "s-7781",
            "auth_method": "oauth",
            "key": "Enter",
            "public_key": "ssh-ed25519 AAAAC3Nza",
            "tokenizer": "cl100k",
            "password_manager": "KeePassXC",
        }),
    );
    for kept in [
        "- Token count: 1532",
        "- Input tokens: 1200",
        "- Max tokens: 4096",
        "- Password changed at: 2024-03-01T10:00:00Z",
        "- Token type: Bearer",
        "- Token expires in: 3600",
        "- Api key name: ci-deploy",
        "- Secret name: db-credentials",
        "- Pwd: /home/ann/src/openclone",
        "- Pass: 12",
        "- Pin: top",
        "- Password protected: true",
        "- Has password: false",
        "- Author: Ann",
        "- Session id: s-7781",
        "- Auth method: oauth",
        "- Key: Enter",
        "- Public key: ssh-ed25519 AAAAC3Nza",
        "- Tokenizer: cl100k",
        "- Password manager: KeePassXC",
    ] {
        assert!(out.contains(kept), "{kept} missing in\n{out}");
    }
    assert!(!out.contains("REDACTED"), "{out}");
}
