//! calendar-ics subscribed to URLs (`urls`, `net-http`), through the harness's canned
//! responses.

use calendar_ics::{CalendarIcs, Window, occurrences};
use chrono::{DateTime, Duration, Utc};
use openclone_guest::testing::{Emitted, Harness};

type Events = Vec<(Option<String>, f64, serde_json::Value)>;

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ics")
}

/// Every fixture calendar: (file name, its bytes).
fn calendars() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(fixtures())
        .expect("fixtures")
        .filter_map(|e| {
            let path = e.ok()?.path();
            Some((
                path.file_name()?.to_string_lossy().into_owned(),
                std::fs::read(&path).ok()?,
            ))
        })
        .collect();
    out.sort();
    out
}

fn url(name: &str) -> String {
    format!("https://cal.example/{name}")
}

fn sorted(events: Vec<Emitted>) -> Events {
    let mut out: Events = events
        .into_iter()
        .map(|e| (e.raw_ref, e.timestamp, e.data))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    out
}

/// A harness subscribed to every fixture calendar, each served with an ETag.
fn subscribed() -> Harness {
    let mut host = Harness::new()
        .config("from", "2020-01-01")
        .config("timezone", "UTC");
    let mut urls = Vec::new();
    for (name, body) in calendars() {
        let etag = format!("\"{name}-1\"");
        host = host.http(&url(&name), 200, &[("ETag", &etag)], body);
        urls.push(url(&name));
    }
    host.config("urls", urls)
}

#[test]
fn a_url_yields_the_events_its_calendar_yields_as_a_file() -> openclone_guest::Result<()> {
    let mut files = Harness::new()
        .input(fixtures())
        .config("from", "2020-01-01")
        .config("timezone", "UTC");
    let from_files = files.capture::<CalendarIcs>()?;
    let mut urls = subscribed();
    let from_urls = urls.capture::<CalendarIcs>()?;
    assert!(!files.events().is_empty());
    assert_eq!(sorted(urls.events()), sorted(files.events()));
    assert_eq!(
        (from_urls.stored, from_urls.skipped_records),
        (from_files.stored, from_files.skipped_records)
    );
    assert!(
        urls.requests()
            .iter()
            .all(|r| r.header("if-none-match").is_none()),
        "the first fetch is unconditional"
    );
    Ok(())
}

#[test]
fn an_unchanged_etag_sends_if_none_match_and_emits_nothing() -> openclone_guest::Result<()> {
    let mut host = subscribed();
    assert!(host.capture::<CalendarIcs>()?.stored > 0);
    let first = host.requests().len();
    let again = host.capture::<CalendarIcs>()?;
    assert_eq!((again.emitted, again.stored), (0, 0));
    assert!(again.problems.is_empty(), "{:?}", again.problems);
    let second = &host.requests()[first..];
    assert_eq!(second.len(), calendars().len());
    for r in second {
        let name = r.url.rsplit('/').next().unwrap_or_default();
        assert_eq!(
            r.header("If-None-Match"),
            Some(format!("\"{name}-1\"").as_str())
        );
    }

    // A new version (a new ETag) is read again; dedup keeps what is already stored.
    let sabre = std::fs::read(fixtures().join("sabre_test.ics"))?;
    host.clone().http(
        &url("sabre_test.ics"),
        200,
        &[("ETag", "\"changed\"")],
        sabre,
    );
    let changed = host.capture::<CalendarIcs>()?;
    assert!(changed.emitted > 0 && changed.stored == 0, "{changed:?}");
    Ok(())
}

#[test]
fn a_failing_url_is_one_problem_and_the_files_and_other_urls_are_read()
-> openclone_guest::Result<()> {
    let sabre = std::fs::read(fixtures().join("sabre_test.ics"))?;
    let mut host = Harness::new()
        .input(fixtures())
        .config("from", "2020-01-01")
        .config(
            "urls",
            [
                "https://cal.example/broken.ics",
                "https://not-granted.example/private-token/basic.ics",
                "webcal://cal.example/sabre.ics",
            ],
        )
        .http("https://cal.example/broken.ics", 500, &[], "oops")
        .http("https://cal.example/sabre.ics", 200, &[], sabre);
    let report = host.capture::<CalendarIcs>()?;
    let url_problems: Vec<&String> = report
        .problems
        .iter()
        .filter(|p| p.starts_with("urls["))
        .collect();
    assert_eq!(
        url_problems,
        [
            "urls[0] https://cal.example/…: the server answered HTTP 500",
            "urls[1] https://not-granted.example/…: the host denied the request (HTTP-request-denied): check allowed_hosts in plugin.json and [plugins.<id>] allowed_hosts",
        ]
    );
    assert!(
        !report.problems.iter().any(|p| p.contains("private-token")),
        "a URL's path is never shown"
    );
    let refs: Vec<String> = host
        .events()
        .into_iter()
        .filter_map(|e| e.raw_ref)
        .collect();
    assert!(
        refs.iter()
            .any(|r| r.starts_with("040000C08200E00074C5B7101A89E008")),
        "the files are captured"
    );
    assert!(
        refs.iter()
            .any(|r| r == "6fb8cdb4-d333-4a4f-99a5-2d32d0c701f9"),
        "the webcal:// URL is fetched over https and read"
    );
    Ok(())
}

#[test]
fn a_body_that_is_not_a_calendar_is_fetched_whole_again() -> openclone_guest::Result<()> {
    let target = "https://cal.example/team.ics";
    let mut host = Harness::new().config("urls", [target]).http(
        target,
        200,
        &[("ETag", "\"1\"")],
        "<html>login</html>",
    );
    let report = host.capture::<CalendarIcs>()?;
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].starts_with("urls[0] https://cal.example/…: not a valid calendar"));
    host.capture::<CalendarIcs>()?;
    assert_eq!(
        host.requests()[1].header("if-none-match"),
        None,
        "validators are recorded only for a body that was read"
    );
    Ok(())
}

#[test]
fn a_widened_window_fetches_the_calendar_whole() -> openclone_guest::Result<()> {
    let target = "https://cal.example/sabre.ics";
    let sabre = std::fs::read(fixtures().join("sabre_test.ics"))?;
    let mut host = Harness::new()
        .config("from", "2021-01-01")
        .config("urls", [target])
        .http(target, 200, &[("ETag", "\"1\"")], sabre);
    let narrow = host.capture::<CalendarIcs>()?;
    host.clone().config("from", "2020-01-01");
    let wide = host.capture::<CalendarIcs>()?;
    assert_eq!(host.requests()[1].header("if-none-match"), None);
    assert!(
        wide.stored > 0,
        "the 2020 events, before the old window: {narrow:?} {wide:?}"
    );
    Ok(())
}

#[test]
fn quiet_until_is_the_next_start_after_the_window() -> Result<(), String> {
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:daily\r\nSUMMARY:Daily\r\nDTSTART:20250101T090000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let at = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| e.to_string())
    };
    let window = Window {
        from: at("2025-01-01T00:00:00Z")?,
        until: at("2025-01-03T12:00:00Z")?,
        floating: chrono_tz::UTC,
    };
    let read = occurrences(text, &window)?;
    assert_eq!(read.occurrences.len(), 3);
    assert_eq!(read.quiet_until, at("2025-01-04T09:00:00Z")?);

    let once = text.replace("RRULE:FREQ=DAILY\r\n", "");
    assert_eq!(
        occurrences(&once, &window)?.quiet_until,
        window.until + Duration::days(7),
        "nothing ahead: look again a week on"
    );
    Ok(())
}
