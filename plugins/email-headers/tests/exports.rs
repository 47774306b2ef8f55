//! email-headers on a real mailing-list archive (a Mailman pipermail mbox from bigbang-py's
//! test data; `tests/fixtures/email-exports`), imported with `accept_since` lowered: the
//! exact messages it gives.

use email_headers::EmailHeaders;
use openclone_guest::testing::Harness;

#[test]
fn a_pipermail_archive_gives_every_message_once() {
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/email-exports");
    let dir = std::env::temp_dir().join(format!("email-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    std::fs::copy(
        src.join("bigbang-dev-pipermail.mbox"),
        dir.join("list.mbox"),
    )
    .expect("fixture");
    let mut host = Harness::new()
        .input(&dir)
        .config("accept_since", "2010-01-01");
    let report = host.capture::<EmailHeaders>().expect("a pass");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let got: Vec<(f64, String)> = host
        .events()
        .into_iter()
        .map(|e| {
            (
                e.timestamp,
                e.data["subject"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    // Pacific time, 8 November 2014: 11:37:32 -0800 is 19:37:32 UTC.
    let want = [
        (1_415_475_452.0, "[Bigbang-dev] test"),
        (1_415_475_575.0, "[Bigbang-dev] test"),
        (1_415_475_593.0, "[Bigbang-dev] test"),
        (1_415_475_664.0, "[Bigbang-dev] second thread"),
        (1_415_475_681.0, "[Bigbang-dev] a third thread"),
        (1_415_475_689.0, "[Bigbang-dev] a third thread"),
    ];
    assert_eq!(
        got,
        want.map(|(t, s)| (t, s.to_owned())),
        "every message, in archive order"
    );
    let first = &host.events()[0];
    assert_eq!(
        first.raw_ref.as_deref(),
        Some("CAEYE9Ofmt3TJu2sFOUspRW4v5tx7aY6fbEVnFPvheEbf6iVekA@mail.gmail.com")
    );
    assert_eq!(
        first.data["from"],
        "sb at ischool.berkeley.edu (Sebastian Benthall)"
    );
    assert_eq!(first.data["date"], "2014-11-08T11:37:32-08:00");
    assert!(
        first.data.get("to").is_none_or(serde_json::Value::is_null),
        "pipermail drops To:"
    );
}
