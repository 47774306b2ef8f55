//! Markdown rendering of daily files and entries (CONTRACT.md, "The vault").
//!
//! A daily file is YAML front matter, a `#` title, then entries. An entry is
//!
//! ```text
//!
//! ## 14:30:00 · my-plugin
//!
//! <readable body for the source type>
//!
//! <!-- openclone:entry v=1 key=<64 hex> source=<type> plugin=<id>@<version> device=<id> -->
//! ```
//!
//! All captured text passes through [`crate::escape`], so the only headings, fences and
//! HTML in a file are the ones written here.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use crate::dedup::DedupKey;
use crate::escape::{escape_html, escape_inline, escape_line};
use crate::source::SourceType;

/// The prefix of every entry marker line; the index is rebuilt from these.
pub const MARKER_PREFIX: &str = "<!-- openclone:entry ";

/// Converts Unix seconds to the civil date and time in `tz`.
///
/// Out-of-range values (already refused by validation) clamp to the Unix epoch.
pub fn local_datetime(ts: f64, tz: &TimeZone) -> DateTime {
    let secs = ts.floor();
    let nanos = ((ts - secs) * 1e9) as i32;
    let t = Timestamp::new(secs as i64, nanos).unwrap_or(Timestamp::UNIX_EPOCH);
    tz.to_datetime(t)
}

/// The vault-relative path of a daily file: `<Folder>/<YYYY-MM-DD>.md`.
pub fn daily_path(source_type: SourceType, date: Date) -> String {
    format!("{}/{}.md", source_type.folder(), date)
}

/// Appends the front matter and title of a new daily file.
pub fn render_header(out: &mut String, source_type: SourceType, date: Date) {
    let folder = source_type.folder();
    let _ = write!(
        out,
        "---\ncreated_by: openclone\nfolder: {folder}\ndate: {date}\ntags:\n  - openclone\n  - {}\n---\n\n# {folder} — {date}\n",
        folder.to_lowercase()
    );
}

/// The length in seconds of a session entry: an `activity` or `web_browsing` event with a
/// numeric `duration` (from its timestamp on), whose heading shows the span
/// (`## 09:12:03–09:47:10 · Firefox`).
fn session(st: SourceType, data: &Map<String, Value>) -> Option<f64> {
    matches!(st, SourceType::Activity | SourceType::WebBrowsing)
        .then(|| data.get("duration").and_then(Value::as_f64))
        .flatten()
        .filter(|d| d.is_finite() && *d >= 0.0 && *d < 1e9)
}

/// What a session's heading names: the app (`app_name`), `Away` or `Active` for an AFK
/// status, the site (`domain`); `None` to name the plugin. Marks the fields it shows.
fn session_label(
    st: SourceType,
    data: &Map<String, Value>,
    used: &mut Vec<&'static str>,
) -> Option<String> {
    let text = |k: &str| {
        data.get(k)
            .map(display)
            .map(|s| s.replace(['\n', '\r'], " ").trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let (key, label) = match st {
        SourceType::Activity => match text("status") {
            Some(s) => (
                "status",
                match s.as_str() {
                    "afk" => "Away".to_owned(),
                    "not-afk" => "Active".to_owned(),
                    _ => s,
                },
            ),
            None => ("app_name", text("app_name")?),
        },
        _ => ("domain", text("domain")?),
    };
    used.push(key);
    if key == "status" {
        used.extend(["app_name", "duration"]);
    }
    Some(escape_inline(&label).into_owned())
}

/// The identity of an entry, written in its heading and marker.
pub struct EntryHead<'a> {
    /// The event's dedup key.
    pub key: DedupKey,
    /// The batch's source type.
    pub source_type: SourceType,
    /// Plugin id (validated kebab-case).
    pub plugin_id: &'a str,
    /// Plugin version (validated semver).
    pub plugin_version: &'a str,
    /// Device id (validated `[A-Za-z0-9._:-]`).
    pub device_id: &'a str,
    /// The event's local date and time in the tenant's zone.
    pub local: DateTime,
}

/// Appends one entry: heading, the readable body for its source type, and the marker.
///
/// `data` must already be sanitized ([`crate::sanitize`]); `tz` formats time-valued fields
/// such as a calendar event's `start` and `end` given as Unix seconds.
pub fn render_entry(
    out: &mut String,
    head: &EntryHead<'_>,
    data: &Map<String, Value>,
    tz: &TimeZone,
) {
    let t = head.local.time();
    let _ = write!(
        out,
        "\n## {:02}:{:02}:{:02}",
        t.hour(),
        t.minute(),
        t.second()
    );
    let mut used = Vec::new();
    let label = match session(head.source_type, data) {
        Some(secs) => {
            let end = head
                .local
                .checked_add(jiff::SignedDuration::from_millis((secs * 1000.0) as i64))
                .unwrap_or(head.local)
                .time();
            let _ = write!(
                out,
                "–{:02}:{:02}:{:02}",
                end.hour(),
                end.minute(),
                end.second()
            );
            used.extend(["start", "end", "continued"]);
            session_label(head.source_type, data, &mut used)
        }
        None => None,
    };
    let _ = write!(out, " · {}", label.as_deref().unwrap_or(head.plugin_id));
    if used.contains(&"continued") && data.get("continued") == Some(&Value::Bool(true)) {
        out.push_str(" (continued)");
    }
    out.push_str("\n\n");
    let before = out.len();
    Body {
        out,
        data,
        tz,
        used,
    }
    .render(head.source_type);
    if out.len() == before {
        out.push_str("*(no fields)*\n");
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    let _ = writeln!(
        out,
        "\n{MARKER_PREFIX}v=1 key={} source={} plugin={}@{} device={} -->",
        head.key.hex(),
        head.source_type,
        head.plugin_id,
        head.plugin_version,
        head.device_id
    );
}

struct Body<'a> {
    out: &'a mut String,
    data: &'a Map<String, Value>,
    tz: &'a TimeZone,
    used: Vec<&'static str>,
}

impl Body<'_> {
    fn render(mut self, st: SourceType) {
        use SourceType::*;
        match st {
            Notes | Calendar | WebBrowsing | Email | Activity => {
                let key = match st {
                    WebBrowsing | Calendar | Notes | Activity => "title",
                    _ => "subject",
                };
                if let Some(title) = self.text(key) {
                    let _ = writeln!(self.out, "**{}**\n", escape_html(&title.replace('\n', " ")));
                }
            }
            Music => self.music_line(),
            _ => {}
        }
        if st == Activity {
            self.away_line();
        }
        match st {
            Messaging => self.paragraph("preview"),
            Music | Gps | Health | Photos | Email | WebBrowsing | Calendar => {}
            _ => self.paragraph("text"),
        }
        match st {
            Calendar => self.calendar_fields(),
            Gps => self.gps_fields(),
            Notes => self.tags(),
            _ => {}
        }
        let rest: Vec<(&String, &Value)> = self
            .data
            .iter()
            .filter(|(k, v)| !self.used.contains(&k.as_str()) && !v.is_null())
            .collect();
        for (k, v) in rest {
            let value = match k.as_str() {
                "duration" | "reading_time" => {
                    v.as_f64().map(duration).unwrap_or_else(|| display(v))
                }
                _ => display(v),
            };
            field(self.out, &label(k), &value);
        }
    }

    /// An AFK session (a `status` and a `duration`, marked used by the heading) as one
    /// short line: `Away for 12:05`, `At the computer for 1:02:00`.
    fn away_line(&mut self) {
        let (Some(status), Some(secs)) = (
            self.data.get("status").and_then(Value::as_str),
            self.data.get("duration").and_then(Value::as_f64),
        ) else {
            return;
        };
        if !self.used.contains(&"status") {
            return;
        }
        let what = match status {
            "afk" => "Away",
            "not-afk" => "At the computer",
            _ => "Status unknown",
        };
        let _ = writeln!(self.out, "{what} for {}\n", duration(secs));
    }

    fn text(&mut self, key: &'static str) -> Option<String> {
        let v = self.data.get(key)?;
        self.used.push(key);
        Some(display(v)).filter(|s| !s.trim().is_empty())
    }

    fn paragraph(&mut self, key: &'static str) {
        let Some(text) = self.text(key) else { return };
        let mut blank = false;
        for line in text.split('\n') {
            if line.trim().is_empty() {
                blank = true;
                continue;
            }
            if blank {
                self.out.push('\n');
                blank = false;
            }
            self.out.push_str(&escape_line(line));
            self.out.push('\n');
        }
        self.out.push('\n');
    }

    fn music_line(&mut self) {
        let (artist, track, album) = (self.text("artist"), self.text("track"), self.text("album"));
        let mut line = match (artist, track) {
            (Some(a), Some(t)) => format!("{a} — {t}"),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => return,
        };
        if let Some(album) = album {
            let _ = write!(line, " ({album})");
        }
        let _ = writeln!(self.out, "{}\n", escape_inline(&line));
    }

    fn calendar_fields(&mut self) {
        let start = self.data.get("start").map(|v| self.when(v));
        let end = self.data.get("end").map(|v| self.when(v));
        self.used.extend(["start", "end"]);
        let when = match (start, end) {
            (Some(s), Some(e)) => {
                // Byte offsets only where the text is ASCII: `when` passes through
                // whatever a client sent when it is not a time (CONTRACT.md: no input
                // panics).
                let same_day = s.len() == 16
                    && e.len() == 16
                    && s.is_ascii()
                    && e.is_ascii()
                    && s.get(..10) == e.get(..10);
                Some(match e.get(11..).filter(|_| same_day) {
                    Some(time) => format!("{s} – {time}"),
                    None => format!("{s} – {e}"),
                })
            }
            (Some(s), None) => Some(s),
            (None, Some(e)) => Some(format!("until {e}")),
            (None, None) => None,
        };
        if let Some(when) = when {
            field(self.out, "When", &when);
        }
        if let Some(place) = self.text("location") {
            field(self.out, "Where", &place);
        }
        if let Some(with) = self.text("attendees") {
            field(self.out, "With", &with);
        }
    }

    /// A time-valued field: Unix seconds shown as local `YYYY-MM-DD HH:MM`, text as given.
    fn when(&self, v: &Value) -> String {
        match v.as_f64() {
            Some(ts) => {
                let dt = local_datetime(ts, self.tz);
                format!("{} {:02}:{:02}", dt.date(), dt.hour(), dt.minute())
            }
            None => display(v),
        }
    }

    fn gps_fields(&mut self) {
        let (lat, lon) = (
            self.data.get("lat").and_then(Value::as_f64),
            self.data.get("lon").and_then(Value::as_f64),
        );
        if let (Some(lat), Some(lon)) = (lat, lon) {
            self.used.extend(["lat", "lon"]);
            let mut pos = format!("{lat:.5}, {lon:.5}");
            if let Some(acc) = self.data.get("accuracy").and_then(Value::as_f64) {
                self.used.push("accuracy");
                let _ = write!(pos, " (±{acc} m)");
            }
            field(self.out, "Position", &pos);
        }
        if let Some(place) = self.text("place_name") {
            field(self.out, "Place", &place);
        }
    }

    fn tags(&mut self) {
        let Some(tags) = self.data.get("tags") else {
            return;
        };
        let list: Vec<String> = match tags {
            Value::Array(items) => items.iter().map(display).collect(),
            Value::String(s) => s.split([',', ' ']).map(str::to_owned).collect(),
            _ => return,
        };
        self.used.push("tags");
        let tags: Vec<String> = list
            .iter()
            .map(|t| {
                t.trim()
                    .trim_start_matches('#')
                    .chars()
                    .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '/'))
                    .collect::<String>()
            })
            .filter(|t| !t.is_empty())
            .map(|t| format!("#{t}"))
            .collect();
        if !tags.is_empty() {
            field(self.out, "Tags", &tags.join(" "));
        }
    }
}

/// A field as a list item `- Label: value`; later lines of a multi-line value are indented
/// under it and escaped.
fn field(out: &mut String, label: &str, value: &str) {
    let mut lines = value.split('\n');
    let first = lines.next().unwrap_or_default();
    let _ = writeln!(out, "- {}: {}", escape_inline(label), escape_html(first));
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(out, "  {}", escape_line(line));
    }
}

/// `app_name` → `App name`.
fn label(key: &str) -> String {
    let spaced = key.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => "(empty)".to_owned(),
    }
}

/// Seconds as `m:ss` or `h:mm:ss`.
fn duration(s: f64) -> String {
    let total = s.max(0.0).round() as u64;
    let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{sec:02}")
    } else {
        format!("{m}:{sec:02}")
    }
}

/// A JSON value as text: strings as they are, whole numbers without `.0`, arrays of
/// scalars joined by `, `, anything else as compact JSON.
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Value::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => {
            items.iter().map(display).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(st: SourceType, data: Value) -> String {
        let Value::Object(data) = data else {
            panic!("object")
        };
        let tz = TimeZone::get("Europe/Berlin").expect("zone");
        let head = EntryHead {
            key: DedupKey([7; 32]),
            source_type: st,
            plugin_id: "p",
            plugin_version: "1.0.0",
            device_id: "d",
            local: local_datetime(1_708_258_800.0, &tz),
        };
        let mut out = String::new();
        render_entry(&mut out, &head, &data, &tz);
        out
    }

    #[test]
    fn each_type_reads_naturally() {
        let cal = entry(
            SourceType::Calendar,
            json!({"title": "Team sync", "start": 1_708_261_200, "end": 1_708_264_800, "location": "Room 1", "attendees": ["Ann", "Bob"]}),
        );
        assert!(
            cal.starts_with("\n## 13:20:00 · p\n\n**Team sync**\n\n"),
            "{cal}"
        );
        assert!(
            cal.contains("- When: 2024-02-18 14:00 – 15:00\n- Where: Room 1\n- With: Ann, Bob\n"),
            "{cal}"
        );
        let music = entry(
            SourceType::Music,
            json!({"artist": "Radiohead", "track": "Reckoner", "album": "In Rainbows", "duration": 290}),
        );
        assert!(
            music.contains("Radiohead — Reckoner (In Rainbows)\n\n- Duration: 4:50\n"),
            "{music}"
        );
        let gps = entry(
            SourceType::Gps,
            json!({"lat": 52.52, "lon": 13.405, "accuracy": 5, "place_name": "Berlin"}),
        );
        assert!(
            gps.contains("- Position: 52.52000, 13.40500 (±5 m)\n- Place: Berlin\n"),
            "{gps}"
        );
        let text = entry(
            SourceType::AudioSystem,
            json!({"text": "First line\nsecond\n\nNew paragraph", "app_name": "Meet"}),
        );
        assert!(
            text.contains("First line\nsecond\n\nNew paragraph\n\n- App name: Meet\n"),
            "{text}"
        );
        let notes = entry(
            SourceType::Notes,
            json!({"title": "Idea", "text": "body", "tags": ["work", "#deep work"]}),
        );
        assert!(
            notes.contains("**Idea**\n\nbody\n\n- Tags: #work #deepwork\n"),
            "{notes}"
        );
        assert!(text.ends_with(&format!(
            "\n\n{MARKER_PREFIX}v=1 key={} source=audio_system plugin=p@1.0.0 device=d -->\n",
            "07".repeat(32)
        )));
    }

    #[test]
    fn sessions_show_their_span_and_what_was_used() {
        let window = entry(
            SourceType::Activity,
            json!({"app_name": "Firefox", "title": "Docs", "duration": 2107.0, "start": 1_708_258_800.0, "end": 1_708_260_907.0}),
        );
        assert!(
            window.starts_with(
                "\n## 13:20:00–13:55:07 · Firefox\n\n**Docs**\n\n- Duration: 35:07\n\n"
            ),
            "{window}"
        );
        let away = entry(
            SourceType::Activity,
            json!({"status": "afk", "duration": 725.0, "start": 1_708_258_800.0, "end": 1_708_259_525.0}),
        );
        assert!(
            away.starts_with("\n## 13:20:00–13:32:05 · Away\n\nAway for 12:05\n\n<!--"),
            "{away}"
        );
        let web = entry(
            SourceType::WebBrowsing,
            json!({"url": "https://example.org/a", "title": "A", "domain": "example.org", "duration": 60.0, "continued": true}),
        );
        assert!(
            web.starts_with("\n## 13:20:00–13:21:00 · example.org (continued)\n\n**A**\n\n- Duration: 1:00\n- Url: https://example.org/a\n"),
            "{web}"
        );
        let hostile = entry(
            SourceType::Activity,
            json!({"app_name": "x\n## fake", "duration": 1.0}),
        );
        assert!(
            hostile.starts_with("\n## 13:20:00–13:20:01 · x ## fake\n") || hostile.contains("\\#"),
            "{hostile}"
        );
        assert_eq!(structure_headings(&hostile), 1, "{hostile}");
    }

    fn structure_headings(text: &str) -> usize {
        text.lines().filter(|l| l.starts_with("## ")).count()
    }

    #[test]
    fn header_is_front_matter_and_a_title() {
        let mut out = String::new();
        render_header(&mut out, SourceType::Gps, Date::constant(2024, 2, 18));
        assert_eq!(
            out,
            "---\ncreated_by: openclone\nfolder: Location\ndate: 2024-02-18\ntags:\n  - openclone\n  - location\n---\n\n# Location — 2024-02-18\n"
        );
    }
}
