//! The parallel half of the pipeline: dedup keys, sanitization and rendering, done on the
//! caller's thread before a batch reaches the tenant's single writer.

use jiff::tz::TimeZone;

use crate::batch::Batch;
use crate::dedup::DedupKey;
use crate::render::{EntryHead, daily_path, local_datetime, render_entry};
use crate::sanitize::{Policy, Report, sanitize_batch};
use crate::source::SourceType;

/// A batch ready for the writer: each event rendered with its key and daily file.
#[derive(Debug)]
pub struct Prepared {
    /// The batch's source type (decides the folder and the front matter).
    pub source_type: SourceType,
    /// The batch's plugin id, for counters and logs.
    pub plugin_id: String,
    /// Entries in event order.
    pub entries: Vec<PreparedEntry>,
    /// The daily files of the batch in first-seen order (the receipt's `files`).
    pub files: Vec<String>,
    /// What sanitization changed.
    pub sanitized: Report,
}

/// One rendered event.
#[derive(Debug)]
pub struct PreparedEntry {
    /// Dedup key (from the event as received).
    pub key: DedupKey,
    /// Index into [`Prepared::files`].
    pub file: usize,
    /// The event's local date (for a new file's front matter).
    pub date: jiff::civil::Date,
    /// The event's timestamp, Unix seconds (for `[retention]`).
    pub at: f64,
    /// The rendered Markdown entry.
    pub text: String,
}

/// Computes keys, sanitizes and renders `batch` for a tenant in zone `tz`.
pub fn prepare(batch: Batch, tz: &TimeZone, policy: Policy) -> Prepared {
    let keys = keys_of(&batch);
    prepare_keyed(batch, keys, tz, policy)
}

/// The dedup key of each of `batch`'s events, in order, from the events as received:
/// computed before sanitization, so a resend is recognised whatever the rules redact.
pub fn keys_of(batch: &Batch) -> Vec<DedupKey> {
    batch
        .events
        .iter()
        .map(|e| DedupKey::of(batch.source_type, &batch.plugin_id, e))
        .collect()
}

/// [`prepare`] with the events' `keys` computed already ([`keys_of`], before an earlier
/// sanitization: a cluster frontend sanitizes before it publishes). Sanitizing again
/// changes nothing a first pass made. `keys` must hold one key per event; events without
/// one are not prepared.
pub fn prepare_keyed(
    mut batch: Batch,
    keys: Vec<DedupKey>,
    tz: &TimeZone,
    policy: Policy,
) -> Prepared {
    let sanitized = sanitize_batch(&mut batch, policy);
    if sanitized.email_fields_dropped > 0 {
        tracing::info!(plugin = %batch.plugin_id, dropped = sanitized.email_fields_dropped, "dropped e-mail fields that are not headers: email events keep headers only");
    }
    let mut files: Vec<String> = Vec::new();
    let mut dates: Vec<jiff::civil::Date> = Vec::new();
    let entries = batch
        .events
        .iter()
        .zip(keys)
        .map(|(event, key)| {
            let local = local_datetime(event.timestamp, tz);
            let file = match dates.iter().position(|d| *d == local.date()) {
                Some(i) => i,
                None => {
                    dates.push(local.date());
                    files.push(daily_path(batch.source_type, local.date()));
                    files.len() - 1
                }
            };
            let head = EntryHead {
                key,
                source_type: batch.source_type,
                plugin_id: &batch.plugin_id,
                plugin_version: &batch.plugin_version,
                device_id: &batch.device_id,
                local,
            };
            let mut text = String::with_capacity(256);
            render_entry(&mut text, &head, &event.data, tz);
            PreparedEntry {
                key,
                file,
                date: local.date(),
                at: event.timestamp,
                text,
            }
        })
        .collect();
    Prepared {
        source_type: batch.source_type,
        plugin_id: batch.plugin_id,
        entries,
        files,
        sanitized,
    }
}
