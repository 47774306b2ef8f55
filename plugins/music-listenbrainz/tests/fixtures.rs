//! music-listenbrainz on ListenBrainz samples, through the native harness.

use music_listenbrainz::MusicListenbrainz;
use openclone_guest::testing::Harness;

#[test]
fn listens_from_json_and_json_lines() -> openclone_guest::Result<()> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/listenbrainz");
    let mut host = Harness::new().input(dir);
    let report = host.capture::<MusicListenbrainz>()?;
    let events = host.events();
    assert_eq!(
        report.stored, 4,
        "three lines, one export listen; the 2017 one held back: {events:#?}"
    );
    let reckoner = &events
        .iter()
        .find(|e| e.data["track"] == "Reckoner")
        .expect("Reckoner")
        .data;
    assert_eq!(
        (
            reckoner["artist"].clone(),
            reckoner["album"].clone(),
            reckoner["duration"].clone()
        ),
        ("Radiohead".into(), "In Rainbows".into(), 290.0.into())
    );
    assert!(
        events
            .iter()
            .any(|e| e.data["track"] == "Jóga" && e.data["duration"] == 305.0)
    );
    assert!(
        report.problems.iter().any(|p| p
            .starts_with("listens.jsonl: 1 record(s) skipped, the rest read; first: record ")
            && p.contains("is not a listen")),
        "{:?}",
        report.problems
    );
    assert_eq!(report.skipped_records, 1);
    assert_eq!(host.capture::<MusicListenbrainz>()?.emitted, 0);
    Ok(())
}
