//! notes-markdown on the obsidian-export sample vault, through the native harness.

use notes_markdown::NotesMarkdown;
use openclone_guest::testing::Harness;

fn vault() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/markdown-vault")
}

#[test]
fn every_note_once_with_titles_and_tags() -> openclone_guest::Result<()> {
    let mut host = Harness::new().input(vault());
    let report = host.capture::<NotesMarkdown>()?;
    let events = host.events();
    let note = |path: &str| {
        events
            .iter()
            .find(|e| e.data["path"] == path)
            .unwrap_or_else(|| panic!("{path}: {events:#?}"))
    };
    assert_eq!(
        report.stored, 13,
        "14 files, one empty: {:?}",
        report.problems
    );
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].contains("Uppercased-note.md: empty note"));
    assert_eq!(
        note("main-samples/note-with-headings.md").data["title"],
        "Title"
    );
    assert_eq!(
        note("filter-by-tags/export-me.md").data["tags"],
        serde_json::json!(["export", "me"])
    );
    assert_eq!(
        note("main-samples/subdir/note-in-subdir.md").data["title"],
        "note-in-subdir"
    );
    assert!(
        events
            .iter()
            .all(|e| e.raw_ref.as_deref().is_some_and(|r| r.contains('#')))
    );
    assert_eq!(
        host.capture::<NotesMarkdown>()?.emitted,
        0,
        "unchanged notes are not read again"
    );
    Ok(())
}

#[test]
fn an_edited_note_is_a_new_version_and_excludes_apply() -> openclone_guest::Result<()> {
    let dir = std::env::temp_dir().join(format!("notes-md-{}", std::process::id()));
    std::fs::create_dir_all(dir.join(".obsidian"))?;
    std::fs::write(dir.join("a.md"), "# A\nfirst")?;
    std::fs::write(dir.join(".obsidian/workspace.md"), "# settings")?;
    std::fs::create_dir_all(dir.join("drafts"))?;
    std::fs::write(dir.join("drafts/x.md"), "# draft")?;
    std::fs::write(dir.join("junk.md"), [0xff, 0xfe, 0x00])?;
    let mut host = Harness::new().input(&dir).config("exclude", ["drafts/**"]);
    let first = host.capture::<NotesMarkdown>()?;
    assert_eq!(
        (first.stored, first.problems.len()),
        (1, 1),
        "{:?}",
        first.problems
    );
    std::fs::write(dir.join("a.md"), "# A\nfirst, edited")?;
    let second = host.capture::<NotesMarkdown>()?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(
        (second.emitted, second.stored),
        (1, 1),
        "exactly the change"
    );
    assert_eq!(host.events()[1].data["text"], "# A\nfirst, edited");
    Ok(())
}
