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

#[test]
fn one_bad_cue_loses_only_itself() {
    let vtt = "\u{feff}WEBVTT\r\n\r\n0:01.000 --> 0:02.500\r\nnon-padded, as browsers accept\r\n\r\n00:00:03.000 --> 00:00:04.000\r\n\r\n00:00:05.000 --> oops\r\na broken time line\r\n\r\n00:00:06.000 --> 00:00:07.000\r\nlast good cue\r\n";
    let r = transcripts::read(vtt, true).expect("recovered");
    let texts: Vec<&str> = r.cues.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["non-padded, as browsers accept", "last good cue"]);
    assert_eq!((r.cues[0].start, r.cues[0].end), (1.0, 2.5));
    assert_eq!(
        r.skipped, 1,
        "the empty cue is dropped, the broken one skipped"
    );
    assert!(r.first_reason.is_some_and(|m| m.contains("oops")));

    let sample = std::fs::read_to_string(subs().join("sample.srt")).expect("fixture");
    let whole = transcripts::read(&sample, false).expect("sample").cues;
    let stray = sample.replacen(" --> ", " -> ", 1);
    let r = transcripts::read(&stray, false).expect("recovered");
    assert_eq!(r.skipped, 1);
    assert_eq!(r.cues.len(), whole.len() - 1);
    assert_eq!(
        &r.cues[..],
        &whole[1..],
        "every other cue is read as before"
    );
}

#[test]
fn a_pass_reports_the_skipped_cues() -> openclone_guest::Result<()> {
    let dir = std::env::temp_dir().join(format!("transcripts-skipped-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("talk.vtt"),
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\ngood\n\n00:00:05.000 --> oops\nbroken\n",
    )?;
    let mut host = Harness::new().input(&dir);
    let report = host.capture::<Transcripts>()?;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(report.skipped_records, 1);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0].starts_with("talk.vtt: 1 record(s) skipped, the rest read; first:"),
        "{:?}",
        report.problems
    );
    assert_eq!(host.events().len(), 1, "the good cue is captured");
    Ok(())
}
