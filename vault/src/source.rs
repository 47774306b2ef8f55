//! The 15 source types, platforms and sensitivity levels of CONTRACT.md ("The 15 source types").

use std::fmt;
use std::str::FromStr;

/// How personal the data of a source type is. Ordered: `Low < Medium < High < Critical`.
///
/// CONTRACT.md: a plugin whose sensitivity is HIGH or CRITICAL is disabled until the user
/// enables it explicitly.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Sensitivity {
    /// Little harm if seen by others (music, notes, calendar).
    Low,
    /// Personal but ordinary (screen text, browsing, location).
    Medium,
    /// Intimate (microphone, health).
    High,
    /// Other people's words and private correspondence (email, messaging).
    Critical,
}

impl Sensitivity {
    /// The wire spelling: `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }

    /// True for HIGH and CRITICAL: such plugins start disabled (CONTRACT.md, plugin.json).
    pub fn needs_opt_in(self) -> bool {
        self >= Self::High
    }
}

impl FromStr for Sensitivity {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "LOW" => Ok(Self::Low),
            "MEDIUM" => Ok(Self::Medium),
            "HIGH" => Ok(Self::High),
            "CRITICAL" => Ok(Self::Critical),
            _ => Err(()),
        }
    }
}

macro_rules! source_types {
    ($( $variant:ident = $wire:literal, $folder:literal, $sens:ident, [$($field:literal),*]; )*) => {
        /// One of the 15 source types; each maps to a vault folder and a sensitivity.
        ///
        /// Wire names are snake_case (`audio_system`); CONTRACT.md: any other value → 422.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum SourceType { $( #[doc = concat!("`", $wire, "` → `", $folder, "/`")] $variant, )* }

        impl SourceType {
            /// All 15, in CONTRACT.md's table order.
            pub const ALL: [SourceType; 15] = [$(SourceType::$variant,)*];

            /// The wire name, e.g. `audio_system`.
            pub fn as_str(self) -> &'static str {
                match self { $(SourceType::$variant => $wire,)* }
            }

            /// The vault folder (no slash), e.g. `Audio`. Several types may share one folder.
            pub fn folder(self) -> &'static str {
                match self { $(SourceType::$variant => $folder,)* }
            }

            /// The sensitivity CONTRACT.md assigns to this type.
            pub fn sensitivity(self) -> Sensitivity {
                match self { $(SourceType::$variant => Sensitivity::$sens,)* }
            }

            /// The typical `data` fields; others are kept and shown, missing ones are no error.
            pub fn typical_fields(self) -> &'static [&'static str] {
                match self { $(SourceType::$variant => &[$($field),*],)* }
            }
        }

        impl FromStr for SourceType {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($wire => Ok(SourceType::$variant),)* _ => Err(()) }
            }
        }
    };
}

source_types! {
    AudioSystem = "audio_system", "Audio", Medium, ["text", "duration", "app_name", "confidence"];
    AudioMic = "audio_mic", "Audio", High, ["text", "duration", "confidence"];
    ScreenOcr = "screen_ocr", "Screen", Medium, ["text", "app_name", "window_title", "url"];
    Journal = "journal", "Journal", Low, ["text", "duration"];
    WebBrowsing = "web_browsing", "Web", Medium, ["url", "title", "domain", "reading_time"];
    Music = "music", "Music", Low, ["track", "artist", "album", "duration"];
    Health = "health", "Health", High, ["steps", "heart_rate", "sleep_hours"];
    Calendar = "calendar", "Calendar", Low, ["title", "start", "end", "attendees", "location"];
    Notes = "notes", "Notes", Low, ["title", "text", "tags"];
    Gps = "gps", "Location", Medium, ["lat", "lon", "accuracy", "place_name"];
    Photos = "photos", "Photos", Medium, ["filename", "location", "timestamp"];
    Email = "email", "Email", Critical, ["subject", "from", "to", "date"];
    Messaging = "messaging", "Messages", Critical, ["platform", "from", "preview"];
    Activity = "activity", "Activity", Low, ["app_name", "duration", "category"];
    Braindump = "braindump", "Braindump", Low, ["text"];
}

impl SourceType {
    /// Every distinct vault folder, sorted; used when the index is rebuilt from the vault.
    pub fn folders() -> Vec<&'static str> {
        let mut folders: Vec<_> = Self::ALL.iter().map(|s| s.folder()).collect();
        folders.sort_unstable();
        folders.dedup();
        folders
    }
}

/// Serialized as its wire name (`screen_ocr`).
impl serde::Serialize for SourceType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Read from its wire name; another name is an error naming it.
impl<'de> serde::Deserialize<'de> for SourceType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|()| serde::de::Error::custom(format!("unknown source type {s:?}")))
    }
}

impl fmt::Display for SourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The platform a batch was captured on. CONTRACT.md: one of six, anything else → 422.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// `macos`
    Macos,
    /// `windows`
    Windows,
    /// `linux`
    Linux,
    /// `ios`
    Ios,
    /// `android`
    Android,
    /// `web`
    Web,
}

impl Platform {
    /// The six platforms in CONTRACT.md order.
    pub const ALL: [Platform; 6] = [
        Self::Macos,
        Self::Windows,
        Self::Linux,
        Self::Ios,
        Self::Android,
        Self::Web,
    ];

    /// The wire name, e.g. `macos`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Macos => "macos",
            Self::Windows => "windows",
            Self::Linux => "linux",
            Self::Ios => "ios",
            Self::Android => "android",
            Self::Web => "web",
        }
    }
}

impl FromStr for Platform {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or(())
    }
}
