//! transcripts on real subtitle files (a YouTube download, webvtt-py's SRT sample;
//! `tests/fixtures/subtitles`): the exact chunks each gives.

use openclone_guest::testing::Harness;
use transcripts::Transcripts;

/// (raw_ref, seconds of audio, text) of each chunk of one file.
fn chunks(file: &str) -> Vec<(String, f64, String)> {
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/subtitles");
    let dir =
        std::env::temp_dir().join(format!("transcripts-export-{}-{file}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    std::fs::copy(src.join(file), dir.join(file)).expect("fixture");
    let mut host = Harness::new().input(&dir);
    let report = host.capture::<Transcripts>().expect("a pass");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(report.problems.is_empty(), "{file}: {:?}", report.problems);
    host.events()
        .into_iter()
        .map(|e| {
            let text: String = e.data["text"].as_str().unwrap_or_default().to_owned();
            (
                e.raw_ref.unwrap_or_default(),
                e.data["duration"].as_f64().unwrap_or(-1.0),
                text,
            )
        })
        .collect()
}

fn chunk(r: &str, seconds: f64, text: &str) -> (String, f64, String) {
    (r.to_owned(), seconds, text.to_owned())
}

#[test]
fn a_youtube_download_runs_cues_together_and_each_is_read() {
    // YouTube's automatic captions: a timing line follows cue text without a blank line;
    // as in browsers, it starts the next cue instead of being read as words.
    assert_eq!(
        chunks("youtube_dl.vtt"),
        [chunk(
            "youtube_dl.vtt#f762847fbb352540#0",
            19.33,
            "yeah yeah what this will happen is I'm telling"
        )]
    );
}

#[test]
fn an_srt_file() {
    assert_eq!(
        chunks("sample.srt"),
        [chunk(
            "sample.srt#2f0e5ccdb843eab7#0",
            23.38,
            "Caption text #1 Caption text #2 Caption text #3 Caption text #4 Caption text #5"
        )]
    );
}
