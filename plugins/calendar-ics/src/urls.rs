//! The calendars at the `urls` of the config (`net-http`): each fetched with a conditional
//! GET and read like a file.
//!
//! A cursor per URL (state namespace `urls`, keyed by [`url_key`], never by the URL: a
//! secret calendar address is a credential) remembers the window read, the validators of
//! the body read and [`quiet_until`](crate::ics::Read::quiet_until). Until the window's end
//! reaches `quiet_until`, a 304 means nothing new and nothing is parsed. Once it does (an
//! occurrence is due to enter the window), or when the window was widened, the calendar
//! is fetched whole; a body with the validators of the one read last is then read from the
//! cursor's end, like an unchanged file. Messages name a URL as `urls[<index>]` with its
//! scheme and host only.

use chrono::DateTime;
use openclone_guest::http::{Fetched, Validators, url_key};
use openclone_guest::prelude::*;

use crate::{Window, read_calendar};

/// Per-URL cursor: the window read (Unix seconds), when an occurrence is next due, and the
/// validators of the body read.
#[derive(serde::Serialize, serde::Deserialize)]
struct UrlCursor {
    from: i64,
    until: i64,
    quiet_until: i64,
    validators: Validators,
}

/// The `urls` setting, checked: `http://`, `https://` or `webcal://` (fetched as
/// `https://`). Errors: not a list of strings, or an entry of another kind.
pub(crate) fn configured(ctx: &Ctx) -> Result<Vec<String>> {
    let urls: Vec<String> = ctx.config_or("urls", Vec::new())?;
    for (i, url) in urls.iter().enumerate() {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("http" | "https" | "webcal")) {
            return Err(Error::Config(format!(
                "urls[{i}]: {} is not an http://, https:// or webcal:// URL",
                shown(url)
            )));
        }
    }
    Ok(urls)
}

/// The URL to request: a `webcal://` subscription link is served over https.
fn request_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("webcal") => format!("https://{rest}"),
        _ => url.to_owned(),
    }
}

/// A URL as messages show it: scheme and host; a path, query or user name (where secret
/// addresses keep their token) as `…`.
fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = rest[..end].rsplit('@').next().unwrap_or_default();
    let tail = if rest[end..].trim_matches('/').is_empty() {
        ""
    } else {
        "/…"
    };
    format!("{scheme}://{host}{tail}")
}

/// Fetches and reads every URL in `urls`; a URL that fails is one problem, the others go
/// on. Errors: config, state, or the host refused the events.
pub(crate) fn capture(ctx: &mut Ctx, w: &Window) -> Result<()> {
    let (from, until) = (w.from.timestamp(), w.until.timestamp());
    for (i, url) in configured(ctx)?.iter().enumerate() {
        let name = format!("urls[{i}] {}", shown(url));
        let key = url_key(url);
        let target = request_url(url);
        let prev: Option<UrlCursor> = ctx.state("urls").get(&key)?;
        let current = prev.filter(|c| c.from <= from);
        if current.as_ref().is_none_or(|c| c.quiet_until <= until) {
            ctx.forget_fetched(&target)?;
        }
        let (body, validators) = match ctx.fetch(&target) {
            Ok(Fetched::NotModified) => continue,
            Ok(Fetched::Changed { body, validators }) => (body, validators),
            Err(Error::Http { reason, .. }) => {
                ctx.problem(format!("{name}: {reason}"));
                continue;
            }
            Err(e) => return Err(e),
        };
        let Ok(text) = String::from_utf8(body) else {
            ctx.problem(format!("{name}: not UTF-8 text; skipped"));
            continue;
        };
        let start = current
            .filter(|c| !validators.is_empty() && c.validators == validators)
            .and_then(|c| DateTime::from_timestamp(c.until, 0))
            .map_or(w.from, |t| t.max(w.from));
        let window = Window { from: start, ..*w };
        if let Some(quiet_until) = read_calendar(ctx, &name, &text, &window)? {
            let cursor = UrlCursor {
                from,
                until,
                quiet_until: quiet_until.timestamp(),
                validators,
            };
            ctx.state("urls").set(&key, &cursor)?;
            ctx.fetched(&target, &cursor.validators)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_show_scheme_and_host_only() {
        assert_eq!(
            shown("https://calendar.example/calendar/ical/me/private-0f3a/basic.ics"),
            "https://calendar.example/…"
        );
        assert_eq!(
            shown("webcal://u:secret@p01.example/"),
            "webcal://p01.example"
        );
        assert_eq!(
            shown("http://127.0.0.1:8080?token=1"),
            "http://127.0.0.1:8080/…"
        );
    }

    #[test]
    fn webcal_is_fetched_over_https() {
        assert_eq!(
            request_url("webcal://p01.example/x"),
            "https://p01.example/x"
        );
        assert_eq!(request_url("http://h/x"), "http://h/x");
    }
}
