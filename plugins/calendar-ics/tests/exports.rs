//! calendar-ics on real exports (Exchange, Outlook, Google, Apple iCal;
//! `tests/fixtures/ics-exports`, from icalendar 7.3.0's and calcard 0.3.14's test
//! calendars): the exact events each gives.

use calendar_ics::CalendarIcs;
use openclone_guest::testing::Harness;

fn events(file: &str) -> (Vec<(String, f64, String)>, Vec<String>) {
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ics-exports");
    let dir =
        std::env::temp_dir().join(format!("calendar-ics-export-{}-{file}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    std::fs::copy(src.join(file), dir.join(file)).expect("fixture");
    let mut host = Harness::new()
        .input(&dir)
        .config("from", "2000-01-01")
        .config("accept_since", "2000-01-01")
        .config("timezone", "UTC");
    host.capture::<CalendarIcs>().expect("a pass");
    let _ = std::fs::remove_dir_all(&dir);
    let mut out: Vec<_> = host
        .events()
        .into_iter()
        .map(|e| {
            (
                e.raw_ref.unwrap_or_default(),
                e.timestamp,
                e.data["title"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    let logs = host.logs().into_iter().map(|l| l.to_string()).collect();
    (out, logs)
}

#[test]
fn an_exchange_daily_standup_in_a_gmt_plus_one_display_zone() {
    // Microsoft CDO for Exchange: TZID "GMT +0100 (Standard) / GMT +0200 (Daylight)",
    // 10:00 local in July (daylight, +02:00), Monday to Friday until 22 July 2015.
    let (e, logs) = events("issue_165_missing_event.ics");
    assert!(logs.is_empty(), "{logs:?}");
    let days: Vec<&str> = e
        .iter()
        .map(|(r, _, _)| &r[r.len() - 16..r.len() - 8])
        .collect();
    assert_eq!(
        days,
        [
            "20150703", "20150706", "20150707", "20150708", "20150709", "20150710", "20150713",
            "20150714", "20150715", "20150716", "20150717", "20150720", "20150721", "20150722"
        ]
    );
    assert!(e.iter().all(|(r, t, title)| r.ends_with("T080000Z")
        && (t - 1_435_910_400.0) % 86_400.0 == 0.0
        && title == "Sprint 25 Daily Standup"));
}

#[test]
fn an_outlook_zone_whose_rules_changed_resolves_to_the_closest_iana_zone() {
    // "(UTC-03:00) Brasília" with the daylight saving Brazil dropped in 2019: 13:30 in May
    // 2017 is standard time, 16:30 UTC.
    let (e, logs) = events("issue_237_fail_to_parse_timezone_with_non_ascii_tzid.ics");
    assert_eq!(
        e,
        [(
            "20170511T163000Z@".to_owned(),
            1_494_520_200.0,
            "(untitled)".to_owned()
        )]
    );
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(
        logs[0].contains("using the closest, America/Sao_Paulo"),
        "{logs:?}"
    );
}

#[test]
fn exchange_windows_zone_names_with_their_vtimezones() {
    // Exchange 2010: TZID "Eastern Standard Time", 17:00 on 28 October 2024 (still EDT).
    let (e, logs) = events("issue_836_do_not_quote_tzid.ics");
    assert!(logs.is_empty(), "{logs:?}");
    assert_eq!(
        e,
        [(
            "minimal-demo-event-est-20241028@example.com".to_owned(),
            1_730_149_200.0,
            "Anonymous Test Event for TZID".to_owned()
        )]
    );
    // Exchange 2010: "Pacific Standard Time", 12:00 on 24 February 2017 (PST), 20:00 UTC.
    let (e, logs) = events("timezone_same_start.ics");
    assert!(logs.is_empty(), "{logs:?}");
    assert_eq!(
        e,
        [(
            "040000008200E00074C5B7101A82E0080000000090E19664858ED20100000000000000".to_owned(),
            1_487_966_400.0,
            "Test 4".to_owned()
        )]
    );
}

#[test]
fn an_apple_ical_calendar_keeps_weekly_shows_at_their_time_across_dst() {
    // Apple iCal 1.5, Melbourne TV guide of March 2004: daylight saving ended on 28 March,
    // so a weekly 20:30 show moves from 09:30 to 10:30 UTC and stays at 20:30 local.
    let (e, logs) = events("apple_ical_1.5.ics");
    assert!(logs.is_empty(), "{logs:?}");
    assert_eq!(e.len(), 263, "every occurrence of the 41 events");
    let silent: Vec<&str> = e
        .iter()
        .filter(|(_, _, t)| t == "Silent Witness")
        .map(|(r, _, _)| &r[r.len() - 16..])
        .collect();
    assert_eq!(
        silent,
        [
            "20040319T093000Z",
            "20040326T093000Z",
            "20040402T103000Z",
            "20040409T103000Z",
            "20040416T103000Z",
            "20040423T103000Z",
            "20040430T103000Z",
            "20040507T103000Z",
            "20040514T103000Z",
            "20040521T103000Z"
        ]
    );
}

#[test]
fn a_google_calendar_export() {
    let (e, logs) = events("alarm_google_future.ics");
    assert!(logs.is_empty(), "{logs:?}");
    assert_eq!(
        e,
        [(
            "79fs7pkqvht9m5igs0vjv1sfra@google.com".to_owned(),
            1_728_065_700.0,
            "event with alarms".to_owned()
        )]
    );
}
