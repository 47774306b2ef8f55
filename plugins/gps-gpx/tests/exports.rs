//! gps-gpx on real exports (Garmin, Strava, CalTopo, a GPSLogger-style track, Wikipedia's
//! example; `tests/fixtures/gpx`): the exact points each gives, imported with
//! `accept_since` lowered so their old points count.

use gps_gpx::GpsGpx;
use openclone_guest::testing::Harness;

/// The events and the report's problems of one pass over `file` alone.
fn run(file: &str) -> (Vec<openclone_guest::testing::Emitted>, Vec<String>) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/gpx");
    let dir = std::env::temp_dir().join(format!("gps-gpx-export-{}-{file}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    std::fs::copy(src.join(file), dir.join(file)).expect("fixture");
    let mut host = Harness::new()
        .input(&dir)
        .config("accept_since", "2000-01-01");
    let report = host.capture::<GpsGpx>().expect("a pass");
    let _ = std::fs::remove_dir_all(&dir);
    (host.events(), report.problems)
}

/// (points emitted, first (raw_ref, timestamp), last (raw_ref, timestamp)) of one file
/// with no problem but its count of untimed points.
fn summary(file: &str) -> (usize, (String, f64), (String, f64)) {
    let (events, problems) = run(file);
    assert!(
        problems
            .iter()
            .all(|p| p.contains("without a <time> not stored")),
        "{file}: {problems:?}"
    );
    let n = events.len();
    let mut timed: Vec<(String, f64)> = events
        .into_iter()
        .map(|e| (e.raw_ref.unwrap_or_default(), e.timestamp))
        .collect();
    timed.sort_by(|a, b| a.1.total_cmp(&b.1));
    let first = timed.first().cloned().unwrap_or_default();
    let last = timed.last().cloned().unwrap_or_default();
    (n, first, last)
}

fn fix(r: &str, t: f64) -> (String, f64) {
    (r.to_owned(), t)
}

#[test]
fn each_real_export_gives_its_exact_points() {
    // Garmin Connect activity, 988 points thinned to 25 m / 60 s (29 July 2017).
    assert_eq!(
        summary("garmin-activity.gpx"),
        (
            368,
            fix("37.241738,-121.972324@1501339595", 1_501_339_595.0),
            fix("37.240365,-121.970970@1501345084", 1_501_345_084.0)
        )
    );
    // Strava route: 74 planned points, none timed: no gps event, one report line.
    let (events, problems) = run("strava_route_example.gpx");
    assert!(events.is_empty(), "{events:#?}");
    assert_eq!(
        problems,
        [
            "strava_route_example.gpx: 74 point(s) without a <time> not stored: route points and untimed waypoints are plans or places, not where you were"
        ]
    );
    // CalTopo export: waypoints and a short track.
    assert_eq!(
        summary("caltopo-export.gpx"),
        (
            3,
            fix("36.448348,-118.171006@1565653500", 1_565_653_500.0),
            fix("36.496735,-118.336981@1565732760", 1_565_732_760.0)
        )
    );
    // A GPSLogger-style track with a comment after each point.
    assert_eq!(
        summary("gpx-with-node-with-comments.gpx"),
        (
            1,
            fix("51.519402,-0.134462@1399379373", 1_399_379_373.0),
            fix("51.519402,-0.134462@1399379373", 1_399_379_373.0)
        )
    );
    // OpenStreetMap-traced hike (Korita–Zbevnica, October 2010): its track, not the 194
    // untimed points of its route nor its two untimed named waypoints.
    assert_eq!(
        run("korita-zbevnica.gpx").1,
        [
            "korita-zbevnica.gpx: 194 point(s) without a <time> not stored: route points and untimed waypoints are plans or places, not where you were"
        ]
    );
    assert_eq!(
        summary("korita-zbevnica.gpx"),
        (
            195,
            fix("45.452596,14.018194@1286098590", 1_286_098_590.0),
            fix("45.452454,14.018215@1286111971", 1_286_111_971.0)
        )
    );
}
