//! WebAssembly plugins end to end: real components built from `plugins/` and
//! `tests/plugins/`, run by the real `openclone` binary.

use serde_json::{Value, json};

use crate::support::{Host, KEY, capture, fixtures, install_plugin, stored_of, wait_for};

const CALENDAR_CONFIG: &str = r#"
[[tenants]]
id = "default"
api_key_env = "API_KEY"
timezone = "Europe/Berlin"

[plugins.calendar-ics]
paths = ["calendars"]
from = "2020-01-01"
interval_s = 3600
"#;

fn calendar_folder(dir: &std::path::Path) {
    let cals = dir.join("calendars");
    std::fs::create_dir_all(&cals).expect("calendars");
    for entry in std::fs::read_dir(fixtures().join("ics")).expect("fixtures") {
        let p = entry.expect("entry").path();
        std::fs::copy(&p, cals.join(p.file_name().expect("name"))).expect("copy fixture");
    }
}

#[test]
fn calendar_plugin_fills_the_vault_with_local_times_and_a_second_pass_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("openclone.toml"), CALENDAR_CONFIG).expect("config");
    calendar_folder(dir.path());
    install_plugin(&dir.path().join("plugins"), "calendar-ics");

    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "{out}");
    assert!(
        stored_of(&out, "calendar-ics").is_some_and(|n| n >= 9),
        "{out}"
    );
    let vault = dir.path().join("data/vaults/default/Calendar");
    let day = std::fs::read_to_string(vault.join("2020-12-23.md")).expect("Calendar/2020-12-23.md");
    assert!(
        day.contains("## 20:30:00 · calendar-ics"),
        "Europe/Berlin local time:\n{day}"
    );
    assert!(
        day.contains("**Geschenke einpacken**")
            && day.contains("- When: 2020-12-23 20:30 – 22:30")
            && day.contains("- Where: Arbeitszimmer"),
        "{day}"
    );
    let all_day = std::fs::read_to_string(vault.join("2022-01-01.md")).expect("all-day event file");
    assert!(
        all_day.contains("**New Year's Day**") && all_day.contains("- When: 2022-01-01"),
        "{all_day}"
    );
    let o365 = std::fs::read_to_string(vault.join("2020-11-26.md"))
        .expect("second occurrence of the recurring meeting");
    assert!(
        o365.contains("## 11:00:00 · calendar-ics") && o365.contains("Testmeeting"),
        "{o365}"
    );

    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "{out}");
    assert_eq!(
        stored_of(&out, "calendar-ics"),
        Some(0),
        "second pass stores nothing:\n{out}"
    );
}

#[test]
fn serve_runs_the_calendar_plugin_on_its_own() {
    let host = Host::prepared(CALENDAR_CONFIG, |dir| {
        calendar_folder(dir);
        install_plugin(&dir.join("plugins"), "calendar-ics");
    });
    let file = host.vault("default").join("Calendar/2020-12-25.md");
    assert!(
        wait_for(60, || file.exists()),
        "the scheduled pass wrote Calendar/2020-12-25.md"
    );
    let listing = host.get("/api/v1/plugins", Some(KEY));
    let cal = &listing.json["plugins"][0];
    assert_eq!(
        (
            cal["id"].clone(),
            cal["kind"].clone(),
            cal["status"].clone()
        ),
        (json!("calendar-ics"), json!("wasm"), json!("running"))
    );
    assert!(wait_for(30, || host.get("/api/v1/plugins", Some(KEY)).json
        ["plugins"][0]["counters"]["events_stored"]
        .as_u64()
        .unwrap_or(0)
        > 0));
}

/// The entry text minus what names its origin (heading's plugin, marker).
fn body(entry: &str) -> String {
    entry
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("<!-- openclone:entry"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn emitted_and_posted_events_render_identically() {
    let host = Host::prepared("[plugins.well-behaved]\ninterval_s = 3600\n", |dir| {
        install_plugin(&dir.join("plugins"), "well-behaved")
    });
    let file = host.vault("default").join("Braindump/2024-02-18.md");
    assert!(wait_for(60, || std::fs::read_to_string(&file)
        .is_ok_and(|t| t.contains("well-behaved pass 1"))));
    let posted = json!({
        "source_type": "braindump", "platform": "linux", "device_id": "phone-1", "plugin_id": "over-http",
        "plugin_version": "2.0.0", "timestamp": 1708258800.0,
        "events": [{"timestamp": 1708258801.0, "data": {"text": "well-behaved pass 1"}, "raw_ref": "pass-1"}]
    });
    assert_eq!(host.post(&posted).json["stored"], 1);
    let text = std::fs::read_to_string(&file).expect("file");
    let entries: Vec<&str> = text.split("\n## ").skip(1).collect();
    assert_eq!(entries.len(), 2, "{text}");
    assert!(
        entries[0].starts_with("12:20:01 · well-behaved")
            && entries[1].starts_with("12:20:01 · over-http"),
        "{text}"
    );
    assert_eq!(
        body(entries[0]),
        body(entries[1]),
        "same pipeline, same entry:\n{text}"
    );
    let markers: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("<!-- openclone:entry"))
        .collect();
    assert!(
        markers[0].contains("plugin=well-behaved@0.1.0")
            && markers[1].contains("plugin=over-http@2.0.0")
    );
}

const HOSTILE: [&str; 6] = [
    "hostile-loop",
    "hostile-memory",
    "hostile-trap",
    "hostile-big-emit",
    "hostile-undeclared",
    "hostile-escape",
];

fn hostile_config(port: u16) -> String {
    format!(
        r#"
[ingest]
rate_burst = 100000
rate_per_s = 1000.0
[plugins.hostile-loop]
timeout_s = 1
max_failures = 2
[plugins.hostile-memory]
memory_mb = 32
max_failures = 2
[plugins.hostile-trap]
max_failures = 2
[plugins.hostile-big-emit]
memory_mb = 512
max_failures = 2
[plugins.hostile-undeclared]
max_failures = 2
[plugins.hostile-escape]
paths = ["granted"]
port = {port}
interval_s = 3600
[plugins.well-behaved]
interval_s = 1
"#
    )
}

#[test]
fn hostile_components_are_stopped_or_refused_and_the_rest_keep_running() {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").expect("a port the escape plugin may not reach");
    let port = listener.local_addr().expect("addr").port();
    let host = Host::prepared(&hostile_config(port), |dir| {
        std::fs::create_dir_all(dir.join("granted")).expect("granted");
        std::fs::write(dir.join("granted/note.txt"), "inside the preopen").expect("file");
        for id in HOSTILE.iter().chain(&["well-behaved"]) {
            install_plugin(&dir.join("plugins"), id);
        }
    });
    let listing = || {
        host.get("/api/v1/plugins", Some(KEY)).json["plugins"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let by_id = |all: &[Value], id: &str| {
        all.iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let parked = |all: &[Value]| {
        HOSTILE[..5]
            .iter()
            .all(|id| by_id(all, id)["status"] == "error")
    };
    assert!(
        wait_for(90, || parked(&listing())),
        "hostile plugins parked as error: {:#?}",
        listing()
    );
    let all = listing();
    let error_of = |id: &str| {
        by_id(&all, id)["last_error"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        error_of("hostile-loop").starts_with("timeout"),
        "{}",
        error_of("hostile-loop")
    );
    assert!(
        error_of("hostile-memory").starts_with("memory"),
        "{}",
        error_of("hostile-memory")
    );
    assert!(
        error_of("hostile-trap").contains("trap")
            && error_of("hostile-trap").contains("deliberate panic"),
        "{}",
        error_of("hostile-trap")
    );
    assert!(
        error_of("hostile-big-emit").contains("per-emit limit"),
        "{}",
        error_of("hostile-big-emit")
    );
    assert!(
        error_of("hostile-undeclared").contains("not permitted"),
        "{}",
        error_of("hostile-undeclared")
    );
    for id in &HOSTILE[..5] {
        assert_eq!(
            by_id(&all, id)["counters"]["failed_passes"],
            2,
            "{id}: parked after max_failures = 2"
        );
    }

    let log = host.log();
    for (id, words) in [
        ("hostile-loop", "timed out after 1s"),
        ("hostile-memory", "exceeded its memory limit of 32 MiB"),
        ("hostile-trap", "deliberate panic in capture"),
        ("hostile-big-emit", "emit refused"),
        (
            "hostile-undeclared",
            "emits music, but its plugin.json source_types are [braindump]",
        ),
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("plugin={id}")) && l.contains(words)),
            "a log line for {id} says {words:?}:\n{log}"
        );
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("plugin={id}")) && l.contains("parked as error")),
            "{id} parked"
        );
    }
    assert_eq!(host.get("/healthz", None).status, 200, "the host is up");
    let stored = |all: &[Value]| {
        by_id(all, "well-behaved")["counters"]["events_stored"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = stored(&listing());
    assert!(
        wait_for(30, || stored(&listing()) >= before + 2),
        "the well-behaved plugin keeps storing"
    );
    assert_eq!(
        host.post(&crate::support::quick_start()).status,
        200,
        "HTTP ingest keeps working"
    );

    let escape = by_id(&listing(), "hostile-escape");
    assert_eq!(escape["status"], "running", "{escape}");
    let braindump = std::fs::read_to_string(host.vault("default").join("Braindump/2024-02-18.md"))
        .expect("braindump");
    assert!(
        braindump.contains("escape attempts done"),
        "the escape plugin ran to the end"
    );
    assert!(
        !braindump.contains("ESCAPED"),
        "nothing outside the preopens, no env, no sockets:\n{braindump}"
    );
    assert!(
        !host
            .dir
            .path()
            .join("granted/written-by-plugin.txt")
            .exists(),
        "preopens are read-only"
    );
}

#[test]
fn plugin_folders_dropped_in_are_picked_up_and_removed_ones_stop() {
    let host = Host::with_config("[plugins.well-behaved]\ninterval_s = 1\n");
    let ids = || -> Vec<String> {
        host.get("/api/v1/plugins", Some(KEY)).json["plugins"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(ids().is_empty());
    install_plugin(&host.dir.path().join("plugins"), "well-behaved");
    let file = host.vault("default").join("Braindump/2024-02-18.md");
    assert!(
        wait_for(60, || std::fs::read_to_string(&file)
            .is_ok_and(|t| t.contains("well-behaved pass 1"))),
        "picked up without a restart"
    );
    assert_eq!(ids(), ["well-behaved"]);
    std::fs::remove_dir_all(host.dir.path().join("plugins/well-behaved")).expect("remove plugin");
    assert!(
        wait_for(30, || ids().is_empty()),
        "removed from the registry"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    let settled = std::fs::read_to_string(&file).expect("file");
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        std::fs::read_to_string(&file).expect("file"),
        settled,
        "a removed plugin stores nothing more"
    );
}

#[test]
fn a_restart_loads_unchanged_components_from_the_cache() {
    let mut host = Host::prepared("[plugins.well-behaved]\ninterval_s = 3600\n", |dir| {
        install_plugin(&dir.join("plugins"), "well-behaved")
    });
    let counters =
        |host: &Host| host.get("/api/v1/plugins", Some(KEY)).json["plugins"][0]["counters"].clone();
    assert!(wait_for(60, || counters(&host)["passes"]
        .as_u64()
        .unwrap_or(0)
        >= 1));
    let first = counters(&host);
    assert_eq!(
        (
            first["compiles"].clone(),
            first["loaded_from_cache"].clone()
        ),
        (json!(1), json!(false)),
        "{first}"
    );
    assert!(host.stop());
    host.restart();
    assert!(wait_for(60, || counters(&host)["passes"]
        .as_u64()
        .unwrap_or(0)
        >= 1));
    let second = counters(&host);
    assert_eq!(
        (
            second["compiles"].clone(),
            second["loaded_from_cache"].clone()
        ),
        (json!(0), json!(true)),
        "{second}"
    );
}

#[test]
fn a_change_under_a_granted_path_triggers_a_pass() {
    let host = Host::prepared(CALENDAR_CONFIG, |dir| {
        std::fs::create_dir_all(dir.join("calendars")).expect("calendars");
        std::fs::copy(
            fixtures().join("ics/example.ics"),
            dir.join("calendars/example.ics"),
        )
        .expect("copy");
        install_plugin(&dir.join("plugins"), "calendar-ics");
    });
    let first = host.vault("default").join("Calendar/2022-01-01.md");
    assert!(wait_for(60, || first.exists()), "the first pass ran");
    let passes = || {
        host.get("/api/v1/plugins", Some(KEY)).json["plugins"][0]["counters"]["passes"]
            .as_u64()
            .unwrap_or(0)
    };
    assert!(wait_for(10, || passes() == 1));
    std::fs::copy(
        fixtures().join("ics/sabre_test.ics"),
        host.dir.path().join("calendars/sabre_test.ics"),
    )
    .expect("drop a calendar in");
    let second = host.vault("default").join("Calendar/2020-12-23.md");
    assert!(
        wait_for(30, || second.exists()),
        "interval_s is an hour, yet the new calendar was read within seconds"
    );
    assert!(
        wait_for(10, || passes() >= 2),
        "the pass that wrote it is counted once it ends"
    );
}

#[test]
fn a_component_whose_describe_contradicts_its_plugin_json_is_not_loaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("openclone.toml"),
        "[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\n",
    )
    .expect("config");
    let plugins = dir.path().join("plugins");
    install_plugin(&plugins, "well-behaved");
    let to = plugins.join("impostor");
    std::fs::create_dir_all(&to).expect("folder");
    std::fs::copy(
        plugins.join("well-behaved/plugin.wasm"),
        to.join("plugin.wasm"),
    )
    .expect("component");
    let manifest = std::fs::read_to_string(plugins.join("well-behaved/plugin.json"))
        .expect("manifest")
        .replacen("\"id\": \"well-behaved\"", "\"id\": \"impostor\"", 1);
    std::fs::write(to.join("plugin.json"), manifest).expect("impostor manifest");
    let (ok, out) = capture(dir.path(), &[]);
    assert!(!ok, "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("impostor")
            && l.contains("FAILED")
            && l.contains(
                "the component says it is well-behaved@0.1.0, plugin.json says impostor@0.1.0"
            )),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("well-behaved") && l.ends_with("ok")),
        "the other plugin runs: {out}"
    );
}
