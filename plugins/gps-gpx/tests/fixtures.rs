//! gps-gpx on the public GPX fixtures and a 2024 sample, through the native harness.

use gps_gpx::GpsGpx;
use openclone_guest::testing::Harness;

fn fixtures(dir: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(dir)
}

#[test]
fn a_recent_track_is_thinned_and_named() -> openclone_guest::Result<()> {
    let mut host = Harness::new().input(fixtures("gpx-recent"));
    host.capture::<GpsGpx>()?;
    let events = host.events();
    let track: Vec<_> = events
        .iter()
        .filter(|e| e.data.get("elevation").is_some())
        .collect();
    assert_eq!(
        track.len(),
        4,
        "six points: two within 25 m and 60 s of the first are dropped: {events:#?}"
    );
    assert_eq!(track[0].timestamp, 1_717_999_200.0);
    assert_eq!(
        track[0].data["place_name"], "Brandenburger Tor",
        "within 150 m of the waypoint"
    );
    assert_eq!(
        track[0].raw_ref.as_deref(),
        Some("52.516300,13.377700@1717999200")
    );
    assert!(
        track[3].data.get("place_name").is_none(),
        "far from any waypoint"
    );
    assert_eq!(
        track[2].timestamp - track[1].timestamp,
        120.0,
        "kept after 60 s though it barely moved"
    );
    assert_eq!(host.capture::<GpsGpx>()?.emitted, 0);
    Ok(())
}

#[test]
fn old_points_are_held_back_untimed_ones_are_not_stored_and_bad_files_are_recovered()
-> openclone_guest::Result<()> {
    let mut host = Harness::new().input(fixtures("gpx"));
    let report = host.capture::<GpsGpx>()?;
    assert!(
        host.logs()
            .iter()
            .any(|l| l.contains("garmin-activity.gpx: ") && l.contains("before 2020-01-01")),
        "{:?}",
        host.logs()
    );
    let events = host.events();
    assert!(events.iter().all(|e| e.timestamp >= 1_577_836_800.0));
    assert!(
        events
            .iter()
            .all(|e| e.raw_ref.as_deref().is_some_and(|r| r.contains('@'))),
        "only timed points are stored: {events:#?}"
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.starts_with("route.gpx: ") && p.contains("without a <time> not stored")),
        "the untimed route points are counted: {:?}",
        report.problems
    );
    let dir = std::env::temp_dir().join(format!("gpx-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let good = std::fs::read_to_string(fixtures("gpx-recent").join("morning-walk.gpx"))?;
    std::fs::write(dir.join("truncated.gpx"), &good[..good.len() / 2])?;
    std::fs::write(dir.join("empty.gpx"), "")?;
    std::fs::write(dir.join("good.gpx"), &good)?;
    let mut host = Harness::new().input(&dir);
    let report = host.capture::<GpsGpx>()?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.starts_with("truncated.gpx: 1 record(s) skipped") && p.contains("cut off")),
        "the points before the cut are read, the cut one is counted: {:?}",
        report.problems
    );
    assert_eq!(report.skipped_records, 1);
    assert_eq!(
        report.stored, 4,
        "the good file's 4 timed points (the cut file's are the same fixes; the named waypoint only names them)"
    );
    Ok(())
}

#[test]
fn a_track_with_a_bom_and_no_version_reads_like_the_original() {
    let original =
        std::fs::read_to_string(fixtures("gpx-recent").join("morning-walk.gpx")).expect("fixture");
    let start = original.find("<gpx").expect("a gpx element");
    let end = start + original[start..].find('>').expect("its end");
    let head: String = original[start..end]
        .split(' ')
        .filter(|attr| !attr.starts_with("version="))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!head.contains("version="), "{head}");
    let odd = format!("\u{feff}{}{head}{}", &original[..start], &original[end..]);
    let dir = std::env::temp_dir().join(format!("gps-gpx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    std::fs::write(dir.join("morning-walk.gpx"), odd).expect("write");
    let run = |input: std::path::PathBuf| {
        let mut host = Harness::new().input(input);
        host.capture::<GpsGpx>().expect("a pass");
        host.events()
            .into_iter()
            .map(|e| (e.raw_ref, e.data))
            .collect::<Vec<_>>()
    };
    let (expected, got) = (run(fixtures("gpx-recent")), run(dir.clone()));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}

#[test]
fn one_bad_point_loses_only_itself() {
    let original =
        std::fs::read_to_string(fixtures("gpx-recent").join("morning-walk.gpx")).expect("fixture");
    let broken = original.replacen(
        "<trkpt lat=\"52.516310\" lon=\"13.377710\"><ele>34</ele><time>2024-06-10T06:00:05Z</time>",
        "<trkpt lat=\"152.516310\" lon=\"13.377710\"><ele>34</ele><time>2024-06-10T06:00:05Z</time>",
        1,
    );
    assert_ne!(broken, original);
    assert!(
        gpx::read(broken.as_bytes()).is_err(),
        "the crate refuses the whole file"
    );
    let (g, skipped, first) = gps_gpx::recover(broken.as_bytes()).expect("recovered");
    assert_eq!(skipped, 1);
    assert!(first.contains("trkpt"), "{first}");
    let whole = gpx::read(original.as_bytes()).expect("fixture");
    let points = |g: &gpx::Gpx| -> usize {
        g.tracks
            .iter()
            .flat_map(|t| &t.segments)
            .map(|s| s.points.len())
            .sum()
    };
    assert_eq!(points(&g), points(&whole) - 1);
    assert_eq!(g.waypoints.len(), whole.waypoints.len());

    let dir = std::env::temp_dir().join(format!("gps-gpx-bad-point-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    std::fs::write(dir.join("walk.gpx"), broken).expect("write");
    let mut host = Harness::new()
        .input(&dir)
        .config("min_distance_m", 0.0)
        .config("min_interval_s", 0.0);
    let report = host.capture::<GpsGpx>().expect("a pass");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(report.skipped_records, 1);
    assert!(
        report.problems[0].starts_with("walk.gpx: 1 record(s) skipped"),
        "{:?}",
        report.problems
    );
    assert!(!host.events().is_empty());
}
