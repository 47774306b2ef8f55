//! Tenant isolation (CONTRACT.md): a key reaches only its own tenant's vault and registry.

use serde_json::json;

use crate::support::{Host, KEY, quick_start, vault_files};

const CONFIG: &str = r#"
[[tenants]]
id = "alice"
api_key_env = "API_KEY"
timezone = "Europe/Berlin"

[[tenants]]
id = "bob"
api_key_sha256 = ["8c6f6b4e1c2b5b05b3e7d6bbd1e9a3b6a14ed1e3a1bfb7f1c7bb2ad9b2c4d0e1"]

[plugins.bobs-notes]
tenant = "bob"
"#;

/// sha256("bob-key") — computed in the test so the config above stays readable.
fn bob_config() -> String {
    use sha2::{Digest, Sha256};
    CONFIG.replace(
        "8c6f6b4e1c2b5b05b3e7d6bbd1e9a3b6a14ed1e3a1bfb7f1c7bb2ad9b2c4d0e1",
        &hex::encode(Sha256::digest(b"bob-key")),
    )
}

#[test]
fn tenants_see_and_write_only_their_own_vault_and_registry() {
    let manifest = r#"{"id":"bobs-notes","name":"Bob's notes","version":"1.0.0","platform":["linux"],"source_types":["notes"],"sensitivity":"LOW"}"#;
    let host = Host::with_files(
        &bob_config(),
        &[("plugins/bobs-notes/plugin.json", manifest)],
    );

    let r = host.post(&quick_start());
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json["file"], "Braindump/2024-02-18.md",
        "12:20 UTC is 13:20 in Berlin, same day"
    );

    let mut bobs = quick_start();
    bobs["events"][0]["data"]["text"] = json!("Bob's secret thought");
    bobs["plugin_id"] = json!("bobs-notes");
    bobs["source_type"] = json!("notes");
    let r = host.post_raw(Some("bob-key"), bobs.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", r.json);

    let alice_files = vault_files(&host.vault("alice"));
    let bob_files = vault_files(&host.vault("bob"));
    assert_eq!(alice_files.len(), 1);
    assert_eq!(bob_files.len(), 1);
    assert!(alice_files.iter().all(|(_, t)| !t.contains("Bob's secret")));
    assert!(bob_files.iter().all(|(_, t)| !t.contains("Hello!")));
    assert!(
        alice_files[0].1.contains("## 13:20:00 · my-plugin"),
        "local time in Europe/Berlin"
    );

    let alice_sees = host.get("/api/v1/plugins", Some(KEY));
    assert_eq!(
        alice_sees.json["plugins"],
        json!([]),
        "alice does not see bob's plugin"
    );
    let bob_sees = host.get("/api/v1/plugins", Some("bob-key"));
    assert_eq!(bob_sees.json["plugins"][0]["id"], "bobs-notes");

    let mut as_alice = bobs.clone();
    as_alice["events"][0]["raw_ref"] = json!("from-alice");
    let r = host.post(&as_alice);
    assert_eq!(
        r.status, 200,
        "bob's plugin is not registered for alice, so alice's batch is just unregistered"
    );
    assert_eq!(vault_files(&host.vault("bob")).len(), 1);
    assert!(
        vault_files(&host.vault("bob"))[0].1.matches("## ").count() == 1,
        "alice's batch never reaches bob's vault"
    );
}
