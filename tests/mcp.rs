//! `openclone mcp` driven by the official MCP Python SDK (`tests/mcp/client.py`, mcp 2.3.0
//! from PyPI): initialize, list the tools, call each; bad arguments are protocol errors
//! naming the field, and the server keeps answering.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Host, KEY, note};

/// The python of `target/venvs/mcp` ([`crate::support::venv_python`]).
fn python() -> PathBuf {
    crate::support::venv_python("mcp")
}

#[test]
fn an_assistant_reads_the_memory_over_mcp() {
    let host = Host::start();
    assert_eq!(
        host.post(&note(
            1708258800.0,
            "Quarterly plan for the lighthouse",
            "m1"
        ))
        .status,
        200
    );
    assert_eq!(
        host.post(&note(1708260600.0, "Walked along the harbour wall", "m2"))
            .status,
        200
    );
    host.finds(KEY, "harbour", 1);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/mcp/client.py");
    let out = Command::new(python())
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_openclone"))
        .arg(host.dir.path())
        .env("API_KEY", KEY)
        .env_remove("OPENCLONE_DATA")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(
        seen["tools"],
        json!(["list_sources", "read_day", "search_memory"])
    );
    let search = seen["search"].as_str().unwrap_or("");
    assert!(
        search.contains("2024-02-18 12:20:00") && search.contains("«lighthouse»"),
        "{search}"
    );
    assert!(
        search.contains("Braindump/2024-02-18.md:")
            && search.contains("obsidian://open?vault=default"),
        "{search}"
    );
    assert!(
        seen["phrase"]
            .as_str()
            .unwrap_or("")
            .contains("«harbour wall»"),
        "{seen}"
    );
    let day = seen["day"].as_str().unwrap_or("");
    let (a, b) = (day.find("lighthouse"), day.find("harbour"));
    assert!(a.is_some() && a < b, "in time order: {day}");
    assert!(
        seen["sources"]
            .as_str()
            .unwrap_or("")
            .contains("braindump: 2 entries, 2024-02-18 to 2024-02-18"),
        "{seen}"
    );
    let errors = seen["errors"].as_object().expect("errors");
    // The host's own checks answer JSON-RPC -32602 (invalid params) naming the field; an
    // argument of the wrong shape is refused by rmcp's parameter decoding as a tool error
    // the model can read (the 2025-11-25 revision's input-validation rule), naming it too.
    for (call, answer) in errors {
        let refused = answer["code"].as_i64() == Some(-32602) || answer["tool_error"] == true;
        assert!(refused, "{call}: {answer}");
    }
    let text = |call: &str| errors[call]["text"].as_str().unwrap_or("").to_owned();
    assert!(text("read_day {}").contains("`day`"), "{errors:?}");
    assert!(
        text("search_memory {\"query\": 42}").contains("string"),
        "{errors:?}"
    );
    assert!(
        errors["read_day {\"day\": \"yesterday\"}"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("day"),
        "{errors:?}"
    );
    assert!(
        errors["search_memory {\"query\": \"x\", \"limit\": 1000}"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("limit"),
        "{errors:?}"
    );
    assert!(
        errors["search_memory {\"query\": \"x\", \"source\": \"diary\"}"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("source"),
        "{errors:?}"
    );
    assert_eq!(
        seen["after"], seen["sources"],
        "still answering after bad calls"
    );
}
