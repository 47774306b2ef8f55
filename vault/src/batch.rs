//! The wire types of `POST /api/v1/ingest` (CONTRACT.md) after validation.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::source::{Platform, SourceType};

/// A validated batch: the envelope fields and 1 to 500 events (CONTRACT.md field table).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// One of the 15 source types; decides the vault folder.
    pub source_type: SourceType,
    /// The capturing platform.
    pub platform: Platform,
    /// The capturing device: 1 to 128 chars of `[A-Za-z0-9._:-]`.
    pub device_id: String,
    /// The plugin that captured the batch: kebab-case, at most 64 chars.
    pub plugin_id: String,
    /// The plugin's semantic version.
    pub plugin_version: String,
    /// When the batch was sent, Unix seconds.
    pub timestamp: f64,
    /// The events, in the order they were sent.
    pub events: Vec<Event>,
}

/// One captured event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Capture time, Unix seconds (fractions allowed); decides the daily file.
    pub timestamp: f64,
    /// The source-type-specific fields, a JSON object.
    pub data: Map<String, Value>,
    /// The plugin's stable id for this event (1 to 256 chars); the dedup key comes from it.
    pub raw_ref: Option<String>,
}

/// One broken rule: a JSON path such as `events[3].timestamp` and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the offending field (`body` for the request as a whole).
    pub field: String,
    /// The rule it breaks, in words.
    pub message: String,
}

impl FieldError {
    /// A violation at `field` of the rule `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The outcome of a stored batch: CONTRACT.md's 200 body.
///
/// `tally.stored + tally.skipped` always equals the number of events (serialized flat, as
/// `stored` and `skipped`); `file` is the vault-relative path of the last event's daily
/// file, `files` every daily file of the batch in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// Events newly appended to the vault and skipped as duplicates (already in the vault
    /// or earlier in the batch).
    #[serde(flatten)]
    pub tally: crate::Tally,
    /// Vault-relative path (forward slashes) of the last event's daily file.
    pub file: String,
    /// Every daily file the batch's events belong to, in first-seen order.
    pub files: Vec<String>,
}
