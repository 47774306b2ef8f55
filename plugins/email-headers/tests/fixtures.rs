//! email-headers on the public mail fixtures, through the native harness.

use email_headers::EmailHeaders;
use openclone_guest::testing::Harness;

fn mail() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/email")
}

#[test]
fn headers_only_old_mail_held_back() -> openclone_guest::Result<()> {
    let mut host = Harness::new().input(mail());
    let report = host.capture::<EmailHeaders>()?;
    let events = host.events();
    assert!(events.iter().all(|e| e.timestamp >= 1_577_836_800.0));
    assert!(
        events.iter().all(|e| e.data.get("body").is_none()),
        "never a body"
    );
    let recent = events
        .iter()
        .find(|e| e.timestamp == 1_637_446_921.0)
        .unwrap_or_else(|| panic!("the 2021 message: {events:#?}"));
    assert!(recent.raw_ref.is_some());
    assert!(
        host.logs().iter().any(|l| l.contains("before 2020-01-01")),
        "{:?}",
        host.logs()
    );
    assert_eq!(report.stored as usize, events.len());
    assert_eq!(host.capture::<EmailHeaders>()?.emitted, 0);
    Ok(())
}

#[test]
fn broken_mail_is_reported_per_file() -> openclone_guest::Result<()> {
    let dir = std::env::temp_dir().join(format!("mail-bad-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("Maildir/cur"))?;
    std::fs::write(dir.join("junk.eml"), [0u8, 159, 146, 150, 0, 1])?;
    std::fs::write(dir.join("empty.mbox"), "")?;
    std::fs::write(
        dir.join("Maildir/cur/1718000000.M1P1.host:2,S"),
        "Message-ID: <a@b>\nDate: Mon, 10 Jun 2024 08:00:00 +0000\nFrom: Ann <ann@example.com>\nTo: bob@example.com\nSubject: Lunch?\n\nBody text that must never be stored.\n",
    )?;
    let mut host = Harness::new().input(&dir);
    let report = host.capture::<EmailHeaders>()?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    let e = &host.events()[0];
    assert_eq!(
        (
            e.data["subject"].clone(),
            e.data["from"].clone(),
            e.raw_ref.clone()
        ),
        (
            "Lunch?".into(),
            "Ann <ann@example.com>".into(),
            Some("a@b".into())
        )
    );
    assert!(!e.data.to_string().contains("Body text"));
    Ok(())
}

#[test]
fn a_message_without_a_date_takes_its_maildir_delivery_time_or_is_not_stored()
-> openclone_guest::Result<()> {
    let dir = std::env::temp_dir().join(format!("email-undated-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("INBOX/cur"))?;
    let undated = "From: Ann <ann@example.org>\r\nTo: me@example.org\r\nSubject: no date here\r\nMessage-ID: <undated-1@example.org>\r\n\r\nbody\r\n";
    std::fs::write(dir.join("INBOX/cur/1717999200.M1P2.laptop:2,S"), undated)?;
    std::fs::write(
        dir.join("loose.eml"),
        undated.replace("undated-1", "undated-2"),
    )?;
    let mut host = Harness::new().input(&dir);
    let report = host.capture::<EmailHeaders>()?;
    std::fs::remove_dir_all(&dir)?;
    let events = host.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(
        events[0].timestamp, 1_717_999_200.0,
        "the Maildir delivery time"
    );
    assert_eq!(
        report.problems,
        [
            "loose.eml: 1 message(s) without a readable Date header not stored: the file's time is not the message's"
        ]
    );
    assert_eq!(
        email_headers::maildir_time("a/new/1717999200.x.y"),
        Some(1_717_999_200.0)
    );
    assert_eq!(email_headers::maildir_time("a/tmp/1717999200.x.y"), None);
    assert_eq!(email_headers::maildir_time("a/cur/notatime.x"), None);
    Ok(())
}
