//! `twin` in Rust: each pass emits the same 15 events as `tests/plugins/twin-python`, one of
//! each source type, through the Rust SDK's typed builders; the two components must leave
//! byte-identical vaults.

use openclone_guest::prelude::*;

/// The test component.
pub struct Twin;

/// 2024-04-01T08:00:00Z; the events follow ten minutes apart.
const DAY: f64 = 1_711_958_400.0;

/// The fixed events, in emit order.
pub fn events() -> Vec<Emit> {
    let typed: [Emit; 15] = [
        AudioSystem {
            text: "We discussed the roadmap for Q2.".into(),
            duration: Some(60.0),
            app_name: Some("Google Meet".into()),
            confidence: Some(0.95),
        }
        .at(0.0),
        AudioMic {
            text: "Reminder: call the dentist — Zahnarzt 🦷".into(),
            duration: None,
            confidence: Some(0.8),
        }
        .at(0.0),
        ScreenOcr {
            text: "Line one\nLine two\n  indented three".into(),
            app_name: Some("Terminal".into()),
            window_title: None,
            url: None,
        }
        .at(0.0),
        Journal {
            text: "A quiet morning.\n\nWrote two pages; the café was empty. ☕".into(),
            duration: None,
        }
        .at(0.0),
        WebBrowsing {
            url: "https://example.org/wiki/Zürich".into(),
            title: Some("Zürich – Wikipedia".into()),
            domain: Some("example.org".into()),
            reading_time: Some(42.5),
        }
        .at(0.0),
        Music {
            track: "Clair de lune".into(),
            artist: Some("Claude Debussy".into()),
            album: None,
            duration: Some(300.0),
        }
        .at(0.0),
        Health {
            steps: Some(8042.0),
            heart_rate: None,
            sleep_hours: Some(7.25),
        }
        .at(0.0),
        Calendar {
            title: "Team sync".into(),
            start: 1_712_050_200.0,
            end: Some(1_712_052_000.0),
            location: Some("Room 1".into()),
            attendees: vec!["Ann".into(), "Bo".into(), "Çelik".into()],
        }
        .at(0.0),
        Notes {
            title: "Shopping".into(),
            text: "- milk\n- bread\n- 🍎".into(),
            tags: vec!["home".into(), "errands".into()],
        }
        .at(0.0)
        .field("path", "inbox/shopping.md"),
        Gps {
            lat: 52.52,
            lon: 13.405,
            accuracy: Some(12.0),
            place_name: Some("Berlin Mitte".into()),
        }
        .at(0.0),
        Photos {
            filename: "IMG_0001.HEIC".into(),
            location: None,
            timestamp: Some(1_711_900_000.0),
        }
        .at(0.0),
        Email {
            subject: "Re: Quarterly numbers".into(),
            from: "ann@example.com".into(),
            to: vec!["bo@example.com".into(), "cy@example.com".into()],
            date: Some("Mon, 01 Apr 2024 09:00:00 +0000".into()),
        }
        .at(0.0),
        Messaging {
            platform: "signal".into(),
            from: "Bo".into(),
            preview: None,
        }
        .at(0.0),
        Activity {
            app_name: "Firefox".into(),
            duration: Some(1800.0),
            category: Some("browsing".into()),
            text: None,
        }
        .at(0.0),
        Braindump {
            text: "Idea: a 日本語 note\nsecond line".into(),
        }
        .at(0.0),
    ];
    typed
        .into_iter()
        .enumerate()
        .map(|(n, e)| {
            let name = openclone_guest::events::source_name(e.source);
            Emit {
                timestamp: DAY + 600.0 * n as f64,
                ..e
            }
            .raw_ref(format!("twin-{name}"))
        })
        .collect()
}

impl Plugin for Twin {
    const SOURCE_TYPES: &'static [SourceType] = &[
        SourceType::AudioSystem,
        SourceType::AudioMic,
        SourceType::ScreenOcr,
        SourceType::Journal,
        SourceType::WebBrowsing,
        SourceType::Music,
        SourceType::Health,
        SourceType::Calendar,
        SourceType::Notes,
        SourceType::Gps,
        SourceType::Photos,
        SourceType::Email,
        SourceType::Messaging,
        SourceType::Activity,
        SourceType::Braindump,
    ];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        for event in events() {
            ctx.emit(event)?;
        }
        Ok(())
    }
}

openclone_guest::export_plugin!(Twin);
