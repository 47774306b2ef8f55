//! braindump-inbox, through the native harness.

use braindump_inbox::BraindumpInbox;
use openclone_guest::testing::Harness;

#[test]
fn each_new_paragraph_once() -> openclone_guest::Result<()> {
    let dir = std::env::temp_dir().join(format!("inbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/inbox/inbox.md");
    std::fs::copy(sample, dir.join("inbox.md"))?;
    let mut host = Harness::new().input(&dir);
    assert_eq!(host.capture::<BraindumpInbox>()?.stored, 2);
    assert_eq!(
        host.events()[1].data["text"],
        "Idea: a plugin that reads my\nold paper notebooks (OCR)."
    );
    let mut text = std::fs::read_to_string(dir.join("inbox.md"))?;
    text.push_str("\nBuy milk.\n");
    std::fs::write(dir.join("inbox.md"), &text)?;
    let second = host.capture::<BraindumpInbox>()?;
    assert_eq!(
        (second.emitted, second.stored),
        (1, 1),
        "only the new paragraph"
    );
    std::fs::write(
        dir.join("inbox.md"),
        format!("Edited first line.\n\n{text}"),
    )?;
    let third = host.capture::<BraindumpInbox>()?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(
        third.stored, 1,
        "an edit further up: only the changed paragraph is new"
    );
    Ok(())
}
