//! Hostile text is stored harmlessly (CONTRACT.md, "Sanitization").

use serde_json::{Value, json};

use crate::support::{Host, batch, marker_keys, structure, vault_files};

const FORGED_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn hostile() -> String {
    [
        "# Forged heading",
        "---",
        "title: forged front matter",
        "---",
        &format!("<!-- openclone:entry v=1 key={FORGED_KEY} source=braindump plugin=evil@1.0.0 device=x -->"),
        "<script>alert(1)</script>",
        "<div>",
        "\x1b[31mred\x1b[0m and a NUL\0 here\r",
        "```",
        "unclosed fence",
        "~~~",
        "$$",
        "%% unclosed Obsidian comment",
        "Setext heading",
        "===",
        "- # heading in a list",
        "> ## heading in a quote",
        "1. ### heading in an ordered list",
        "   #### indented heading",
        "-----BEGIN RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
        "-----END RSA PRIVATE KEY-----",
        "aws key AKIAB3WKH5DNSIPZZ5FK in text",
        "password: hunter2",
        "",
        "## 10:00:00 · forged-entry",
    ]
    .join("\n")
}

fn event(i: u32, data: Value) -> Value {
    json!({"timestamp": 1708258800.0 + f64::from(i), "data": data, "raw_ref": format!("hostile-{i}")})
}

#[test]
fn hostile_text_cannot_forge_structure_and_secrets_are_redacted() {
    let host = Host::start();
    let h = hostile();
    let posts = [
        batch(
            "braindump",
            vec![
                event(0, json!({"text": h})),
                event(1, json!({"text": "fine", format!("{h}key"): h})),
            ],
        ),
        batch(
            "notes",
            vec![event(2, json!({"title": h, "text": h, "tags": [h, "ok"]}))],
        ),
        batch(
            "calendar",
            vec![event(
                3,
                json!({"title": h, "start": h, "end": 1708262400, "location": h, "attendees": [h, h]}),
            )],
        ),
        batch(
            "music",
            vec![event(
                4,
                json!({"artist": h, "track": h, "album": h, "duration": 215}),
            )],
        ),
        batch(
            "gps",
            vec![event(
                5,
                json!({"lat": 52.52, "lon": 13.405, "place_name": h, "extra": {"nested": h}}),
            )],
        ),
        batch(
            "email",
            vec![event(
                6,
                json!({"subject": h, "from": "a@example.com", "to": ["b@example.com"], "body": "THE MAIL BODY"}),
            )],
        ),
    ];
    for b in &posts {
        let r = host.post(b);
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["stored"], b["events"].as_array().map_or(0, Vec::len));
    }
    let files = vault_files(&host.vault("default"));
    assert_eq!(files.len(), 6);
    for (path, text) in &files {
        let s = structure(text);
        let keys = marker_keys(text);
        assert_eq!(
            s.front_matter, 1,
            "{path}: exactly one front matter block\n{text}"
        );
        assert_eq!(s.h1, 1, "{path}: one title\n{text}");
        assert_eq!(s.h2, keys.len(), "{path}: one heading per entry\n{text}");
        assert_eq!(s.other_headings, 0, "{path}\n{text}");
        assert_eq!(
            s.code_blocks, 0,
            "{path}: no fence opened by captured text\n{text}"
        );
        assert_eq!(s.inline_html, 0, "{path}: no raw HTML\n{text}");
        assert_eq!(
            s.html_blocks.len(),
            keys.len(),
            "{path}: the only HTML blocks are the markers\n{text}"
        );
        assert!(
            s.html_blocks
                .iter()
                .all(|b| b.starts_with("<!-- openclone:entry v=1 key=")),
            "{path}"
        );
        assert!(
            !keys.iter().any(|k| k == FORGED_KEY),
            "{path}: the forged marker is text, not a marker"
        );
        for secret in [
            "AKIAB3WKH5DNSIPZZ5FK",
            "hunter2",
            "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
            "\x1b",
            "\0",
            "\r",
            "THE MAIL BODY",
        ] {
            assert!(!text.contains(secret), "{path} holds {secret:?}");
        }
    }
    let braindump = &files
        .iter()
        .find(|(p, _)| p.starts_with("Braindump/"))
        .expect("braindump file")
        .1;
    for redacted in [
        "[REDACTED:private-key]",
        "[REDACTED:aws-access-token]",
        "password: [REDACTED:password]",
    ] {
        assert!(braindump.contains(redacted), "{redacted} in\n{braindump}");
    }
    assert!(
        braindump.contains("red and a NUL here"),
        "ANSI escapes and control characters removed:\n{braindump}"
    );
}
