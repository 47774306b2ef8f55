//! calendar-ics on the real fixture calendars, through the guest SDK's native harness.

use calendar_ics::CalendarIcs;
use openclone_guest::testing::Harness;
use serde_json::json;

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ics")
}

fn harness() -> Harness {
    Harness::new()
        .input(fixtures())
        .config("from", "2020-01-01")
        .config("timezone", "UTC")
}

#[test]
fn occurrences_with_zones_recurrences_and_all_day_events() -> openclone_guest::Result<()> {
    let mut host = harness();
    let report = host.capture::<CalendarIcs>()?;
    let events = host.events();
    let by_ref = |r: &str| {
        events
            .iter()
            .find(|e| e.raw_ref.as_deref() == Some(r))
            .unwrap_or_else(|| panic!("{r} emitted: {events:#?}"))
    };

    let gifts = by_ref("6fb8cdb4-d333-4a4f-99a5-2d32d0c701f9");
    assert_eq!(gifts.data["title"], "Geschenke einpacken");
    assert_eq!(
        gifts.timestamp, 1_608_751_800.0,
        "20:30 Europe/Berlin = 19:30 UTC"
    );
    assert_eq!(gifts.data["end"], json!(1_608_759_000.0));
    assert_eq!(gifts.data["location"], "Arbeitszimmer");
    assert_eq!(
        by_ref("e5e8ce2a-4881-402f-9e85-1a35b4fe11d1").data["location"],
        "Wohnzimmer, Zuhause",
        "TEXT escapes undone"
    );

    let o365: Vec<_> = events
        .iter()
        .filter(|e| {
            e.raw_ref
                .as_deref()
                .is_some_and(|r| r.starts_with("040000C08200E00074C5B7101A89E008"))
        })
        .collect();
    assert_eq!(
        o365.len(),
        2,
        "FREQ=DAILY;INTERVAL=2 until 2020-11-26: two occurrences"
    );
    assert_eq!(
        o365[0].timestamp, 1_606_212_000.0,
        "11:00 in W. Europe Standard Time = 10:00 UTC"
    );
    assert!(
        o365[0]
            .raw_ref
            .as_deref()
            .is_some_and(|r| r.ends_with("#20201124T100000Z")),
        "{:?}",
        o365[0].raw_ref
    );
    assert_eq!(o365[0].data["title"], "Testmeeting ➡ ignore it!");
    assert!(
        o365[0].data["attendees"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );

    let new_year = by_ref("636a0cc1dbd5a1667894465@icalendar");
    assert_eq!(
        (
            new_year.data["start"].clone(),
            new_year.data["all_day"].clone()
        ),
        (json!("2022-01-01"), json!(true))
    );
    assert_eq!(
        new_year.timestamp, 1_641_038_400.0,
        "all-day events sit at noon of their day"
    );

    assert!(
        events.iter().all(|e| e.timestamp >= 1_577_836_800.0),
        "nothing before 2020"
    );
    assert_eq!(report.stored as usize, events.len());

    let again = host.capture::<CalendarIcs>()?;
    assert_eq!(
        (again.emitted, again.stored),
        (0, 0),
        "an unchanged calendar emits nothing new"
    );
    Ok(())
}

#[test]
fn malformed_calendars_are_reported_and_the_rest_still_read() -> openclone_guest::Result<()> {
    let dir = std::env::temp_dir().join(format!("calendar-ics-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(fixtures().join("sabre_test.ics"), dir.join("good.ics"))?;
    let good = std::fs::read_to_string(dir.join("good.ics"))?;
    std::fs::write(dir.join("truncated.ics"), &good[..good.len() / 2])?;
    std::fs::write(dir.join("binary.ics"), [0xff, 0xfe, 0x00, 0x12, 0x80])?;
    std::fs::write(dir.join("empty.ics"), "")?;
    let mut host = Harness::new().input(&dir).config("from", "2020-01-01");
    let report = host.capture::<CalendarIcs>()?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(report.stored, 3, "the good calendar's three events");
    assert_eq!(report.problems.len(), 3, "{:?}", report.problems);
    for name in ["truncated.ics", "binary.ics", "empty.ics"] {
        assert!(
            report.problems.iter().any(|p| p.contains(name)),
            "{name}: {:?}",
            report.problems
        );
    }
    Ok(())
}

/// The events calendar-ics emits for `files` (name, text) in a folder of their own.
fn events_of(files: &[(&str, String)]) -> Vec<(Option<String>, f64, serde_json::Value)> {
    let dir = std::env::temp_dir().join(format!(
        "calendar-ics-{}-{}",
        std::process::id(),
        files.iter().map(|(n, _)| *n).collect::<Vec<_>>().join("+")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let mut host = Harness::new()
        .input(&dir)
        .config("from", "2020-01-01")
        .config("timezone", "UTC");
    host.capture::<CalendarIcs>().expect("a pass");
    let _ = std::fs::remove_dir_all(&dir);
    let mut out: Vec<_> = host
        .events()
        .into_iter()
        .map(|e| (e.raw_ref, e.timestamp, e.data))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    out
}

#[test]
fn an_outlook_export_with_a_bom_and_crlf_reads_like_the_original() {
    let o365 = std::fs::read_to_string(fixtures().join("o365_meeting.ics")).expect("fixture");
    let plain = events_of(&[("meeting.ics", o365.replace("\r\n", "\n"))]);
    let outlook = format!(
        "\u{feff}{}",
        o365.replace("\r\n", "\n").replace('\n', "\r\n")
    );
    assert!(!plain.is_empty());
    assert_eq!(events_of(&[("meeting.ics", outlook)]), plain);
}

#[test]
fn a_stream_of_several_calendars_is_read_object_by_object() {
    let read = |n: &str| std::fs::read_to_string(fixtures().join(n)).expect("fixture");
    let (a, b) = (
        read("o365_meeting.ics"),
        read("alarm_thunderbird_future.ics"),
    );
    let mut apart = events_of(&[("a.ics", a.clone()), ("b.ics", b.clone())]);
    let mut merged = events_of(&[("merged.ics", format!("{}\n{}", a.trim_end(), b))]);
    apart.sort_by(|x, y| x.0.cmp(&y.0));
    merged.sort_by(|x, y| x.0.cmp(&y.0));
    assert!(!apart.is_empty());
    assert_eq!(merged, apart);
}

/// A weekly 09:00 meeting in Berlin, as Outlook exports it: the TZID is a display name
/// defined by the file's own VTIMEZONE, the file has a BOM and CRLF line ends.
const OUTLOOK_WEEKLY: &str = "\u{feff}BEGIN:VCALENDAR\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nBEGIN:VTIMEZONE\r\nTZID:(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien\r\nBEGIN:STANDARD\r\nDTSTART:16011028T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010325T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:040000008200E00074C5B7101A82E008000000001\r\nSUMMARY:Weekly sync\r\nDTSTART;TZID=\"(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien\":20251013T090000\r\nDTEND;TZID=\"(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien\":20251013T093000\r\nRRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[test]
fn a_meeting_in_a_vtimezone_defined_zone_keeps_its_wall_clock_time_across_dst() {
    let events = events_of(&[("outlook.ics", OUTLOOK_WEEKLY.to_owned())]);
    let starts: Vec<(String, f64)> = events
        .iter()
        .map(|(r, t, _)| (r.clone().unwrap_or_default(), *t))
        .collect();
    let uid = "040000008200E00074C5B7101A82E008000000001";
    // 09:00 in Berlin: 07:00 UTC in summer time (until 26 October 2025), 08:00 UTC after.
    assert_eq!(
        starts,
        [
            (format!("{uid}#20251013T070000Z"), 1_760_338_800.0),
            (format!("{uid}#20251020T070000Z"), 1_760_943_600.0),
            (format!("{uid}#20251027T080000Z"), 1_761_552_000.0),
            (format!("{uid}#20251103T080000Z"), 1_762_156_800.0),
        ]
    );
    assert_eq!(events[2].2["end"], json!(1_761_553_800.0));
}

#[test]
fn a_windows_zone_name_resolves_by_cldr() {
    let text = OUTLOOK_WEEKLY.replace(
        "(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien",
        "W. Europe Standard Time",
    );
    let without_vtimezone = text
        .split("BEGIN:VTIMEZONE")
        .next()
        .map(|head| format!("{head}{}", &text[text.find("BEGIN:VEVENT").unwrap_or(0)..]))
        .unwrap_or_default();
    let by_name = events_of(&[("windows.ics", without_vtimezone)]);
    let by_rules = events_of(&[("outlook.ics", OUTLOOK_WEEKLY.to_owned())]);
    let times =
        |e: &[(Option<String>, f64, serde_json::Value)]| e.iter().map(|x| x.1).collect::<Vec<_>>();
    assert_eq!(times(&by_name), times(&by_rules));
}

#[test]
fn one_malformed_event_loses_only_itself() {
    let broken_event = "BEGIN:VEVENT\r\nUID:broken-1\r\nSUMMARY:Broken\r\nDTSTART:20251014T090000Z\r\nthis line has no colon and no name\r\nEND:VEVENT\r\n";
    let text = OUTLOOK_WEEKLY.replace("END:VCALENDAR", &format!("{broken_event}END:VCALENDAR"));
    let dir =
        std::env::temp_dir().join(format!("calendar-ics-broken-event-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    std::fs::write(dir.join("team.ics"), &text).expect("write");
    let mut host = Harness::new()
        .input(&dir)
        .config("from", "2020-01-01")
        .config("timezone", "UTC");
    let report = host.capture::<CalendarIcs>().expect("a pass");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(report.skipped_records, 1, "{:?}", report.problems);
    assert!(
        report.problems[0].contains(
            "team.ics: 1 record(s) skipped, the rest read; first: an event the parser refuses"
        ),
        "{:?}",
        report.problems
    );
    assert_eq!(
        host.events().len(),
        4,
        "the weekly meeting's occurrences, in their VTIMEZONE"
    );
}

#[test]
fn an_unclosed_or_absurd_event_loses_only_itself() {
    let unclosed = "BEGIN:VEVENT\r\nUID:open-1\r\nSUMMARY:Never closed\r\nDTSTART:20251014T090000Z\r\nthis line has no colon\r\n";
    let absurd = "BEGIN:VEVENT\r\nUID:long-1\r\nSUMMARY:Forever\r\nDTSTART:20251015T090000Z\r\nDURATION:PT9300000000000000S\r\nEND:VEVENT\r\n";
    let text = OUTLOOK_WEEKLY.replace(
        "BEGIN:VEVENT\r\nUID:040000008200E00074C5B7101A82E008000000001",
        &format!("{unclosed}{absurd}BEGIN:VEVENT\r\nUID:040000008200E00074C5B7101A82E008000000001"),
    );
    let events = events_of(&[("team.ics", text)]);
    let refs: Vec<&str> = events.iter().filter_map(|(r, _, _)| r.as_deref()).collect();
    assert!(
        refs.contains(&"long-1"),
        "an absurd DURATION leaves the event without an end: {refs:?}"
    );
    assert_eq!(
        refs.iter()
            .filter(|r| r.starts_with("040000008200E00074C5B7101A82E008000000001#"))
            .count(),
        4,
        "the events after an unclosed one are read: {refs:?}"
    );
    let long = events
        .iter()
        .find(|(r, _, _)| r.as_deref() == Some("long-1"))
        .expect("long-1");
    assert!(long.2.get("end").is_none(), "{:?}", long.2);
}

#[test]
fn a_start_in_a_dst_gap_and_an_all_day_exdate_in_a_floating_zone() {
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:gap-1\r\nSUMMARY:In the gap\r\nDTSTART;TZID=Europe/Berlin:20250330T023000\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:days-1\r\nSUMMARY:Daily\r\nDTSTART;VALUE=DATE:20250601\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEXDATE;VALUE=DATE:20250602\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let dir = std::env::temp_dir().join(format!("calendar-ics-gap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    std::fs::write(dir.join("gap.ics"), text).expect("write");
    let mut host = Harness::new()
        .input(&dir)
        .config("from", "2020-01-01")
        .config("timezone", "Europe/Berlin");
    host.capture::<CalendarIcs>().expect("a pass");
    let _ = std::fs::remove_dir_all(&dir);
    let events = host.events();
    let gap = events
        .iter()
        .find(|e| e.raw_ref.as_deref() == Some("gap-1"))
        .expect("an event in the spring-forward gap is kept");
    // 02:30 does not exist on 30 March 2025 in Berlin: read as 03:30 CEST, 01:30 UTC.
    assert_eq!(gap.timestamp, 1_743_298_200.0);
    let days: Vec<&str> = events
        .iter()
        .filter_map(|e| e.raw_ref.as_deref())
        .filter(|r| r.starts_with("days-1#"))
        .collect();
    assert_eq!(
        days,
        ["days-1#20250601", "days-1#20250603"],
        "the EXDATE removes 2 June"
    );
}
