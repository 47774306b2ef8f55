//! transcripts on the webvtt-py samples, through the native harness.

use openclone_guest::testing::Harness;
use transcripts::Transcripts;

fn subs() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/subtitles")
}

#[test]
fn cues_become_chunks() -> openclone_guest::Result<()> {
    let mut host = Harness::new().input(subs());
    let report = host.capture::<Transcripts>()?;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let events = host.events();
    let srt: Vec<_> = events
        .iter()
        .filter(|e| {
            e.data["app_name"] == "sample"
                && e.raw_ref
                    .as_deref()
                    .is_some_and(|r| r.starts_with("sample.srt"))
        })
        .collect();
    assert_eq!(srt.len(), 1, "a short file is one chunk: {events:#?}");
    assert!(
        srt[0].data["text"]
            .as_str()
            .is_some_and(|t| !t.contains('<') && !t.is_empty())
    );
    assert!(
        events
            .iter()
            .all(|e| e.data["duration"].as_f64().is_some_and(|d| d > 0.0))
    );
    assert_eq!(
        events
            .iter()
            .map(|e| e
                .raw_ref
                .clone()
                .unwrap_or_default()
                .split('#')
                .next()
                .unwrap_or_default()
                .to_owned())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        6,
        "every file"
    );
    assert_eq!(host.capture::<Transcripts>()?.emitted, 0);
    let long = transcripts::chunks(
        &(0..10)
            .map(|i| transcripts::Cue {
                start: f64::from(i) * 20.0,
                end: f64::from(i) * 20.0 + 19.0,
                text: format!("line {i}"),
            })
            .collect::<Vec<_>>(),
        60.0,
    );
    assert_eq!(
        long.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
        [
            "line 0 line 1 line 2 line 3",
            "line 4 line 5 line 6 line 7",
            "line 8 line 9"
        ]
    );
    Ok(())
}

#[test]
fn unreadable_transcripts_are_reported() -> openclone_guest::Result<()> {
    let dir = std::env::temp_dir().join(format!("subs-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("empty.vtt"), "")?;
    std::fs::write(dir.join("binary.srt"), [0xff, 0x00, 0x13])?;
    std::fs::copy(subs().join("sample.srt"), dir.join("ok.srt"))?;
    let mut host = Harness::new().input(&dir).config("app_name", "Zoom");
    let report = host.capture::<Transcripts>()?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert_eq!(host.events()[0].data["app_name"], "Zoom");
    Ok(())
}
