//! `email-headers`: subject, from, to and date of each message in the mbox files, `.eml`
//! files and Maildir folders of the granted folders, as `email` events. Never the body:
//! only headers are read into the event (and the host drops a `body` field anyway).
//!
//! - `raw_ref` = the Message-ID (else the SHA-256 of the raw headers), so a message seen
//!   in two mailboxes, or read again, is stored once;
//! - the event time is the Date header, else the delivery time a Maildir file's name
//!   starts with ([`maildir_time`]); a message with neither is not stored, and one
//!   report line per file counts them (the file's time is not the message's); messages
//!   before 2020-01-01 (or the tenant's `accept_since`) are not emitted (the ingest
//!   contract refuses them), and one log line per file says how many;
//! - an unchanged file is not read again; an mbox that yields no message is reported.

use std::path::Path;

use mail_parser::{Address, MessageParser};
use openclone_guest::fs::has_extension;
use openclone_guest::prelude::*;
use sha2::{Digest, Sha256};

/// The plugin.
pub struct EmailHeaders;

/// The headers of one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Headers {
    /// Subject (decoded).
    pub subject: String,
    /// `Name <address>` of the sender.
    pub from: String,
    /// Recipients, `Name <address>`.
    pub to: Vec<String>,
    /// Date, Unix seconds.
    pub date: Option<i64>,
    /// The Date header as written.
    pub date_text: Option<String>,
    /// Message-ID, else a hash of the raw headers.
    pub id: String,
}

fn addresses(a: Option<&Address<'_>>) -> Vec<String> {
    a.map(|a| {
        a.iter()
            .map(|x| match (x.name(), x.address()) {
                (Some(n), Some(e)) => format!("{n} <{e}>"),
                (None, Some(e)) => e.to_owned(),
                (Some(n), None) => n.to_owned(),
                (None, None) => String::new(),
            })
            .filter(|s| !s.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// Reads the headers of a raw RFC 5322 message; `None` if it is not one.
pub fn headers(raw: &[u8]) -> Option<Headers> {
    let m = MessageParser::default().parse_headers(raw)?;
    if m.subject().is_none() && m.from().is_none() && m.message_id().is_none() && m.date().is_none()
    {
        return None;
    }
    let head_len = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    let id = match m.message_id() {
        Some(id) => id.to_owned(),
        None => format!("sha256:{}", hex::encode(Sha256::digest(&raw[..head_len]))),
    };
    Some(Headers {
        subject: m.subject().unwrap_or("(no subject)").to_owned(),
        from: addresses(m.from()).into_iter().next().unwrap_or_default(),
        to: addresses(m.to()),
        date: m.date().map(|d| d.to_timestamp()),
        date_text: m.date().map(|d| d.to_rfc3339()),
        id,
    })
}

fn is_mbox(path: &Path) -> bool {
    let by_name = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mbox"))
        || path.file_name().is_some_and(|n| n == "mbox");
    by_name
        || std::fs::read(path)
            .map(|b| b.starts_with(b"From "))
            .unwrap_or(false)
}

fn in_maildir(path: &Path) -> bool {
    path.parent()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "cur" || n == "new")
}

/// The raw messages of a file: one for `.eml`/Maildir, each of an mbox.
fn messages(path: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    if is_mbox(path) {
        let reader = std::io::BufReader::new(std::fs::File::open(path)?);
        return mail_parser::mailbox::mbox::MessageIterator::new(reader)
            .map(|m| m.map(|m| m.contents().to_vec()))
            .collect();
    }
    Ok(vec![std::fs::read(path)?])
}

impl Plugin for EmailHeaders {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Email];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let mail = |p: &Path| {
            has_extension(p, &["eml", "mbox"])
                || in_maildir(p)
                || p.file_name().is_some_and(|n| n == "mbox")
        };
        for file in ctx.changed_files(false, mail)? {
            let raw = match messages(&file.path) {
                Ok(r) => r,
                Err(e) => {
                    ctx.skip(&file, &format!("cannot be read as mail: {e}"))?;
                    continue;
                }
            };
            let (mut parsed, mut first_bad) = (Vec::new(), None);
            for (i, m) in raw.iter().enumerate() {
                match headers(m) {
                    Some(h) => parsed.push(h),
                    None => {
                        first_bad.get_or_insert(i + 1);
                    }
                }
            }
            if parsed.is_empty() {
                ctx.skip(&file, "no e-mail message found (empty, broken or not mail)")?;
                continue;
            }
            ctx.skipped_records(
                &file.rel,
                raw.len() - parsed.len(),
                &format!(
                    "message {} has no readable header (Subject, From, Message-ID or Date)",
                    first_bad.unwrap_or_default()
                ),
            );
            let (mut too_old, mut undated) = (0, 0);
            let delivered = maildir_time(&file.rel);
            for h in parsed {
                let Some(ts) = h.date.map(|d| d as f64).or(delivered) else {
                    undated += 1;
                    continue;
                };
                if !ctx.accepted(ts) {
                    too_old += 1;
                    continue;
                }
                ctx.emit(
                    Email {
                        subject: h.subject,
                        from: h.from,
                        to: h.to,
                        date: h.date_text,
                    }
                    .at(ts)
                    .raw_ref(h.id),
                )?;
            }
            if undated > 0 {
                ctx.problem(format!("{}: {undated} message(s) without a readable Date header not stored: the file's time is not the message's", file.rel));
            }
            if too_old > 0 {
                ctx.log(Level::Info, &format!("{}: {too_old} message(s) dated before {} not emitted: the ingest contract refuses them (a tenant's accept_since lowers the bound)", file.rel, openclone_guest::time::day_of(ctx.earliest())));
            }
            ctx.done(&file)?;
        }
        Ok(())
    }
}

/// The delivery time of a Maildir message from its file name under `cur/` or `new/`
/// (the Maildir spec, cr.yp.to/proto/maildir.html: `<Unix seconds>.<unique>.<host>`, with
/// `:2,<flags>` appended in `cur/`), in Unix seconds; `None` for any other file.
pub fn maildir_time(rel: &str) -> Option<f64> {
    let mut parts = rel.rsplit('/');
    let name = parts.next()?;
    if !matches!(parts.next(), Some("cur" | "new")) {
        return None;
    }
    let (secs, rest) = name.split_once('.')?;
    let ok = !secs.is_empty() && secs.len() <= 12 && secs.bytes().all(|b| b.is_ascii_digit());
    (ok && !rest.is_empty())
        .then(|| secs.parse().ok())
        .flatten()
}

openclone_guest::export_plugin!(EmailHeaders);
