//! Typed events for the 15 source types. Each becomes an [`Emit`] with `.at(timestamp)`:
//!
//! ```
//! use openclone_guest::prelude::*;
//! let e = Calendar { title: "Team sync".into(), start: 1_708_261_200.0, end: Some(1_708_264_800.0),
//!                    location: Some("Room 1".into()), attendees: vec!["Ann".into()] }
//!     .at(1_708_261_200.0)
//!     .raw_ref("uid-1@example.com");
//! assert_eq!(e.data["title"], "Team sync");
//! ```

use serde::Serialize;
use serde_json::{Map, Value};

use crate::SourceType;

/// An event on its way to `emit`: source type, time, `data` object and `raw_ref`.
#[derive(Debug, Clone, PartialEq)]
pub struct Emit {
    /// Which of the 15 types.
    pub source: SourceType,
    /// Capture time, Unix seconds.
    pub timestamp: f64,
    /// The `data` object.
    pub data: Map<String, Value>,
    /// Stable id; re-emitting the same `raw_ref` never duplicates.
    pub raw_ref: Option<String>,
}

impl Emit {
    /// An event of `source` at `timestamp` with `data` (must serialize to a JSON object;
    /// anything else becomes `{"value": …}`).
    pub fn new(source: SourceType, timestamp: f64, data: impl Serialize) -> Self {
        let data = match serde_json::to_value(data) {
            Ok(Value::Object(map)) => map,
            Ok(other) => Map::from_iter([("value".to_owned(), other)]),
            Err(e) => Map::from_iter([("error".to_owned(), Value::String(e.to_string()))]),
        };
        Self {
            source,
            timestamp,
            data,
            raw_ref: None,
        }
    }

    /// Sets the stable id the host dedups on.
    pub fn raw_ref(mut self, r: impl Into<String>) -> Self {
        self.raw_ref = Some(r.into());
        self
    }

    /// Adds a field beyond the typed ones (kept and shown in the vault).
    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_owned(), value.into());
        self
    }
}

macro_rules! event_types {
    ($( $(#[$doc:meta])* $name:ident => $variant:ident { $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),* $(,)? } )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Default, PartialEq, Serialize)]
            pub struct $name {
                $(
                    #[doc = concat!("`", stringify!($field), "` of the event's `data`.")]
                    $(#[$fdoc])*
                    #[serde(skip_serializing_if = "Skip::skip")]
                    pub $field: $ty,
                )*
            }

            impl $name {
                /// Its source type.
                pub const SOURCE: SourceType = SourceType::$variant;

                /// Its `data` fields, as named on the wire.
                pub const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];

                /// This event at `timestamp` (Unix seconds).
                pub fn at(self, timestamp: f64) -> Emit {
                    Emit::new(SourceType::$variant, timestamp, self)
                }
            }
        )*

        /// Every typed builder: (its source type, its `data` fields), checked against the
        /// vault's definition of the 15 source types by `tests/source_types.rs`.
        pub const BUILDERS: &[(SourceType, &[&str])] = &[$(($name::SOURCE, $name::FIELDS)),*];
    };
}

/// Which field values are left out of `data` (absent options, empty lists).
trait Skip {
    fn skip(&self) -> bool;
}
impl<T> Skip for Option<T> {
    fn skip(&self) -> bool {
        self.is_none()
    }
}
impl<T> Skip for Vec<T> {
    fn skip(&self) -> bool {
        self.is_empty()
    }
}
impl Skip for String {
    fn skip(&self) -> bool {
        false
    }
}
impl Skip for f64 {
    fn skip(&self) -> bool {
        false
    }
}

event_types! {
    /// `audio_system` → `Audio/`: transcribed system audio.
    AudioSystem => AudioSystem { text: String, /** seconds */ duration: Option<f64>, app_name: Option<String>, confidence: Option<f64> }
    /// `audio_mic` → `Audio/` (HIGH): transcribed microphone audio.
    AudioMic => AudioMic { text: String, /** seconds */ duration: Option<f64>, confidence: Option<f64> }
    /// `screen_ocr` → `Screen/`: text read off the screen.
    ScreenOcr => ScreenOcr { text: String, app_name: Option<String>, window_title: Option<String>, url: Option<String> }
    /// `journal` → `Journal/`.
    Journal => Journal { text: String, /** seconds */ duration: Option<f64> }
    /// `web_browsing` → `Web/`.
    WebBrowsing => WebBrowsing { url: String, title: Option<String>, domain: Option<String>, /** seconds */ reading_time: Option<f64> }
    /// `music` → `Music/`: a listen.
    Music => Music { track: String, artist: Option<String>, album: Option<String>, /** seconds */ duration: Option<f64> }
    /// `health` → `Health/` (HIGH).
    Health => Health { steps: Option<f64>, heart_rate: Option<f64>, sleep_hours: Option<f64> }
    /// `calendar` → `Calendar/`: one occurrence; `start`/`end` are Unix seconds.
    Calendar => Calendar { title: String, start: f64, end: Option<f64>, location: Option<String>, attendees: Vec<String> }
    /// `notes` → `Notes/`.
    Notes => Notes { title: String, text: String, tags: Vec<String> }
    /// `gps` → `Location/`: a position; `accuracy` in metres.
    Gps => Gps { lat: f64, lon: f64, accuracy: Option<f64>, place_name: Option<String> }
    /// `photos` → `Photos/`.
    Photos => Photos { filename: String, location: Option<String>, timestamp: Option<f64> }
    /// `email` → `Email/` (CRITICAL): headers only, never a body.
    Email => Email { subject: String, from: String, to: Vec<String>, date: Option<String> }
    /// `messaging` → `Messages/` (CRITICAL).
    Messaging => Messaging { platform: String, from: String, preview: Option<String> }
    /// `activity` → `Activity/`: an app or command; `duration` in seconds.
    Activity => Activity { app_name: String, duration: Option<f64>, category: Option<String>, text: Option<String> }
    /// `braindump` → `Braindump/`.
    Braindump => Braindump { text: String }
}

/// The wire name of a source type, e.g. `audio_system`.
pub fn source_name(s: SourceType) -> &'static str {
    match s {
        SourceType::AudioSystem => "audio_system",
        SourceType::AudioMic => "audio_mic",
        SourceType::ScreenOcr => "screen_ocr",
        SourceType::Journal => "journal",
        SourceType::WebBrowsing => "web_browsing",
        SourceType::Music => "music",
        SourceType::Health => "health",
        SourceType::Calendar => "calendar",
        SourceType::Notes => "notes",
        SourceType::Gps => "gps",
        SourceType::Photos => "photos",
        SourceType::Email => "email",
        SourceType::Messaging => "messaging",
        SourceType::Activity => "activity",
        SourceType::Braindump => "braindump",
    }
}
