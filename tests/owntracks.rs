//! `POST /api/v1/owntracks`: the OwnTracks app's HTTP mode, with the message shapes its
//! booklet documents (owntracks.org/booklet/tech/json): `location` from Android and iOS,
//! `transition`, `waypoint`, and the types that store nothing.

use serde_json::{Value, json};

use crate::support::{Host, KEY, agent, now, vault_files};

/// `Authorization: Basic base64(user:password)` (RFC 7617).
fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Posts `body` as the app does (Basic credentials, its device headers, `user_agent`).
fn post(host: &Host, auth: Option<&str>, user_agent: &str, body: &Value) -> (u16, String) {
    let mut req = agent()
        .post(format!("{}/api/v1/owntracks", host.base))
        .header("Content-Type", "application/json")
        .header("User-Agent", user_agent)
        .header("X-Limit-U", "jane")
        .header("X-Limit-D", "pixel 7");
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let mut resp = req.send(body.to_string().as_bytes()).expect("request sent");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

const ANDROID: &str = "Owntracks-Android/2.5.3 (Android 14)";
const IOS: &str = "OwnTracks/17.3.1 CFNetwork/1494.0.7 Darwin/23.4.0";

#[test]
fn the_apps_messages_become_location_entries_with_accuracy_and_place() {
    let host = Host::start();
    let t = now().floor() - 3600.0;
    let auth = basic("jane", KEY);
    let location = json!({
        "_type": "location", "acc": 13, "alt": 39, "batt": 84, "bs": 1, "conn": "w",
        "created_at": t as i64 + 2, "lat": 52.516275, "lon": 13.377704, "m": 1, "t": "u",
        "tid": "p7", "tst": t as i64, "vac": 3, "vel": 4,
        "topic": "owntracks/jane/pixel7", "inregions": ["Brandenburger Tor"], "inrids": ["a1b2c3"]
    });
    let (status, body) = post(&host, Some(&auth), ANDROID, &location);
    assert_eq!(
        (status, body.trim()),
        (200, "[]"),
        "the app expects a JSON array"
    );

    let transition = json!({
        "_type": "transition", "wtst": 1_700_000_000, "lat": 52.52, "lon": 13.405,
        "tst": t as i64 + 600, "acc": 20, "tid": "p7", "event": "leave",
        "desc": "Office", "t": "c", "rid": "d4e5f6"
    });
    let (status, body) = post(&host, Some(&auth), ANDROID, &transition);
    assert_eq!((status, body.trim()), (200, "[]"));

    // A waypoint defines a region: a place, not a visit; a card and an lwt are not fixes.
    for other in [
        json!({"_type": "waypoint", "desc": "Home", "lat": 52.5, "lon": 13.4, "rad": 100, "tst": t as i64, "rid": "x"}),
        json!({"_type": "card", "name": "Jane", "tid": "p7"}),
        json!({"_type": "lwt", "tst": t as i64}),
    ] {
        let (status, body) = post(&host, Some(&auth), ANDROID, &other);
        assert_eq!((status, body.trim()), (200, "[]"), "{other}");
    }

    // iOS, through the API key and an array of two queued fixes (one already sent).
    let queued = json!([
        location,
        {"_type": "location", "acc": 65, "lat": 48.8584, "lon": 2.2945, "tst": t as i64 + 1200,
         "tid": "ip", "t": "p", "batt": 51}
    ]);
    let mut resp = agent()
        .post(format!("{}/api/v1/owntracks", host.base))
        .header("Content-Type", "application/json")
        .header("User-Agent", IOS)
        .header("X-API-Key", KEY)
        .send(queued.to_string().as_bytes())
        .expect("request sent");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.body_mut().read_to_string().unwrap_or_default().trim(),
        "[]"
    );

    let files = vault_files(&host.vault("default"));
    let location_files: Vec<&(String, String)> = files
        .iter()
        .filter(|(p, _)| p.starts_with("Location/"))
        .collect();
    assert!(!location_files.is_empty(), "{files:?}");
    let all: String = location_files.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        all.matches("· owntracks").count(),
        3,
        "two fixes, one transition, the resent fix skipped:\n{all}"
    );
    assert!(
        all.contains("- Position: 52.51628, 13.37770 (±13 m)\n- Place: Brandenburger Tor\n"),
        "{all}"
    );
    assert!(
        all.contains("- Place: Office\n") && all.contains("leave"),
        "{all}"
    );
    assert!(all.contains("(±65 m)"), "{all}");
    assert!(!all.contains("Home"), "a waypoint is not a visit:\n{all}");
    assert!(all.contains("pixel-7"), "the device from X-Limit-D:\n{all}");
}

#[test]
fn bad_credentials_and_unreadable_messages_are_refused_and_say_why() {
    let host = Host::start();
    let t = now().floor() - 60.0;
    let fix = json!({"_type": "location", "lat": 1.0, "lon": 2.0, "tst": t as i64});
    let (status, _) = post(&host, None, ANDROID, &fix);
    assert_eq!(status, 401);
    let (status, _) = post(&host, Some(&basic("jane", "not-the-key")), ANDROID, &fix);
    assert_eq!(status, 401);
    let auth = basic("jane", KEY);
    let (status, body) = post(
        &host,
        Some(&auth),
        ANDROID,
        &json!({"_type": "encrypted", "data": "c2VjcmV0"}),
    );
    assert_eq!(status, 422, "kept queued in the app, not dropped: {body}");
    assert!(body.contains("encryption key"), "{body}");
    let (status, body) = post(
        &host,
        Some(&auth),
        ANDROID,
        &json!({"_type": "location", "lat": 1.0, "lon": 2.0}),
    );
    assert_eq!(status, 422);
    assert!(body.contains("[0].tst"), "{body}");
    let (status, body) = post(
        &host,
        Some(&auth),
        ANDROID,
        &json!({"_type": "location", "lat": 91.0, "lon": 2.0, "tst": t as i64}),
    );
    assert_eq!(status, 422, "the contract's latitude rule: {body}");
    assert!(vault_files(&host.vault("default")).is_empty());
}
