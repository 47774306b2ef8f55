//! Outgoing HTTP (`net-http`): plain GETs ([`Ctx::http_get`]) and conditional fetches
//! that bring a body only when it changed ([`Ctx::fetch`]).
//!
//! A plugin may make requests when its plugin.json lists `"net-http"` in
//! `requires_permissions` and the hosts in `allowed_hosts` (`host`, `host:port`, or `"*"`
//! for any host the user grants), and the user grants them in `[plugins.<id>]
//! allowed_hosts`. Requests go through `wasi:http/outgoing-handler`; the host refuses
//! anything else (`HTTP-request-denied`) and caps response bodies
//! (`HTTP-response-body-size`). In native tests, [`crate::testing::Harness::http`] serves
//! canned responses.
//!
//! ```
//! use openclone_guest::http::Fetched;
//! use openclone_guest::prelude::*;
//!
//! /// Emits the text at `url` whenever it changed.
//! fn pass(ctx: &mut Ctx, url: &str) -> Result<()> {
//!     match ctx.fetch(url)? {
//!         Fetched::NotModified => Ok(()),
//!         Fetched::Changed { body, validators } => {
//!             let text = String::from_utf8_lossy(&body).into_owned();
//!             ctx.emit(Braindump { text }.at(1_708_258_800.0).raw_ref(url))?;
//!             // Only now: a body whose events did not reach the host is fetched again.
//!             ctx.fetched(url, &validators)
//!         }
//!     }
//! }
//! # struct P;
//! # impl Plugin for P {
//! #     const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Braindump];
//! #     fn capture(ctx: &mut Ctx) -> Result<()> { pass(ctx, "https://example.org/inbox.txt") }
//! # }
//! # fn main() -> Result<()> {
//! let url = "https://example.org/inbox.txt";
//! let mut host = openclone_guest::testing::Harness::new()
//!     .http(url, 200, &[("ETag", "\"v1\"")], "buy milk");
//! assert_eq!(host.capture::<P>()?.stored, 1);
//! assert_eq!(host.capture::<P>()?.emitted, 0, "answered 304");
//! assert_eq!(host.requests()[1].header("if-none-match"), Some("\"v1\""));
//! # Ok(())
//! # }
//! ```

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Ctx, Error, Result};

/// The state namespace where [`Ctx::fetch`] keeps validators, keyed by [`url_key`].
const VALIDATORS: &str = "openclone.http-validators";
/// Redirects [`Ctx::fetch`] follows before giving up.
const MAX_REDIRECTS: usize = 5;

/// The reason given for a request the host refuses (and the harness, for a URL it has no
/// canned response for).
pub(crate) const DENIED: &str = "the host denied the request (HTTP-request-denied): check allowed_hosts in plugin.json and [plugins.<id>] allowed_hosts";

/// An HTTP response, read to the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code (200, 304, 404, …).
    pub status: u16,
    /// The headers in the order received; names as the server sent them, values as text
    /// (bytes that are not UTF-8 replaced).
    pub headers: Vec<(String, String)>,
    /// The whole body, bytes (at most the host's response cap).
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the first header named `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What identifies the version of a resource a server sent: its `ETag` and
/// `Last-Modified` headers, verbatim. [`Ctx::fetch`] sends them back as `If-None-Match`
/// and `If-Modified-Since`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// The `ETag` header (quotes and `W/` included).
    pub etag: Option<String>,
    /// The `Last-Modified` header (an HTTP date).
    pub last_modified: Option<String>,
}

impl Validators {
    /// The validators of `response` (none if it sent neither header).
    pub fn of(response: &Response) -> Self {
        Self {
            etag: response.header("etag").map(str::to_owned),
            last_modified: response.header("last-modified").map(str::to_owned),
        }
    }

    /// True if the server sent neither: such a resource is always fetched whole.
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// What [`Ctx::fetch`] brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The server answered 304: unchanged since the validators [`Ctx::fetched`] recorded.
    NotModified,
    /// The server answered 200 with this body. Process it, then call
    /// [`Ctx::fetched`] with `validators`; until then the next fetch brings it again.
    Changed {
        /// The whole body, bytes.
        body: Vec<u8>,
        /// What to record with [`Ctx::fetched`] once the body is processed.
        validators: Validators,
    },
}

/// A state key for `url` that does not contain it (`url:` and 32 hex digits of its
/// SHA-256): URLs may hold secrets (a private calendar address), and keys stay under the
/// host's 512-byte limit however long the URL is.
pub fn url_key(url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("url:{hex}")
}

/// The scheme of a URL the SDK can request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

/// A URL cut into what `wasi:http` asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    pub scheme: Scheme,
    /// `host` or `host:port`.
    pub authority: &'a str,
    /// From the first `/` or `?` on, without the fragment; `/` if empty.
    pub path_with_query: String,
}

/// Cuts an `http://` or `https://` URL. Errors: another scheme, or no host.
pub(crate) fn target(url: &str) -> std::result::Result<Target<'_>, String> {
    let not_http = || "not an http:// or https:// URL".to_owned();
    let (scheme, rest) = url.split_once("://").ok_or_else(not_http)?;
    let scheme = if scheme.eq_ignore_ascii_case("http") {
        Scheme::Http
    } else if scheme.eq_ignore_ascii_case("https") {
        Scheme::Https
    } else {
        return Err(not_http());
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    if authority.is_empty() || authority.contains(char::is_whitespace) {
        return Err("the URL names no host".to_owned());
    }
    let path_with_query = match path.chars().next() {
        None => "/".to_owned(),
        Some('?') => format!("/{path}"),
        Some(_) => path.to_owned(),
    };
    Ok(Target {
        scheme,
        authority,
        path_with_query,
    })
}

/// The URL a redirect from `base` to `location` (a `Location` header) leads to.
fn resolve(base: &str, location: &str) -> String {
    let has_scheme = location.split_once("://").is_some_and(|(s, _)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if has_scheme {
        return location.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    if let Some(net) = location.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{scheme}://{authority}{dir}{location}")
}

fn failed(url: &str, reason: impl Into<String>) -> Error {
    Error::Http {
        url: url.to_owned(),
        reason: reason.into(),
    }
}

impl Ctx {
    /// GETs `url` (`http://` or `https://`) with `headers` (name, value) and returns the
    /// response whatever its status; redirects are returned, not followed.
    ///
    /// Errors: [`Error::Http`] naming `url` and why: not an http(s) URL; the host denied
    /// the request (`HTTP-request-denied`: the host is not in `allowed_hosts` of
    /// plugin.json and of `[plugins.<id>]`, or the plugin lacks `net-http`); a DNS,
    /// connection, TLS or timeout failure; a body over the host's cap
    /// (`HTTP-response-body-size`). The `wasi:http` error code is named in parentheses.
    pub fn http_get(&mut self, url: &str, headers: &[(&str, &str)]) -> Result<Response> {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        self.host_mut()
            .http_get(url, &headers)
            .map_err(|reason| failed(url, reason))
    }

    /// A conditional GET of `url`: sends the `ETag` and `Last-Modified` that
    /// [`Ctx::fetched`] recorded for it as `If-None-Match` and `If-Modified-Since`, and
    /// follows up to 5 redirects (301, 302, 303, 307, 308).
    ///
    /// Returns [`Fetched::NotModified`] on 304, [`Fetched::Changed`] with the body on 200.
    /// The validators live in the plugin's state (namespace `openclone.http-validators`,
    /// key [`url_key`]); [`Ctx::forget_fetched`] drops them to force a whole fetch.
    ///
    /// Errors: as [`Ctx::http_get`]; [`Error::Http`] naming `url` and the status for any
    /// other status (`the server answered HTTP 500`), a 304 to an unconditional request,
    /// a redirect without `Location`, more than 5 redirects; state failed.
    pub fn fetch(&mut self, url: &str) -> Result<Fetched> {
        let known: Validators = self
            .state(VALIDATORS)
            .get(&url_key(url))?
            .unwrap_or_default();
        let mut conditional = Vec::new();
        if let Some(etag) = &known.etag {
            conditional.push(("If-None-Match", etag.as_str()));
        }
        if let Some(date) = &known.last_modified {
            conditional.push(("If-Modified-Since", date.as_str()));
        }
        let mut at = url.to_owned();
        for hops in 0..=MAX_REDIRECTS {
            let response = self.http_get(&at, &conditional)?;
            // The target is not named: it may hold a secret, as the URL may.
            let via = match hops {
                0 => String::new(),
                n => format!(" after {n} redirect(s)"),
            };
            match response.status {
                200 => {
                    return Ok(Fetched::Changed {
                        validators: Validators::of(&response),
                        body: response.body,
                    });
                }
                304 if !known.is_empty() => return Ok(Fetched::NotModified),
                301 | 302 | 303 | 307 | 308 => match response.header("location") {
                    Some(location) => at = resolve(&at, location),
                    None => {
                        return Err(failed(url, format!("a redirect without Location{via}")));
                    }
                },
                status => {
                    return Err(failed(
                        url,
                        format!("the server answered HTTP {status}{via}"),
                    ));
                }
            }
        }
        Err(failed(url, format!("more than {MAX_REDIRECTS} redirects")))
    }

    /// Records that the body [`Ctx::fetch`] brought for `url` was processed: flushes the
    /// queued events, then keeps `validators` for the next fetch (or drops the old ones if
    /// the server sent none). Errors: the flush or state failed.
    pub fn fetched(&mut self, url: &str, validators: &Validators) -> Result<()> {
        self.flush()?;
        if validators.is_empty() {
            self.forget_fetched(url)
        } else {
            self.state(VALIDATORS).set(&url_key(url), validators)
        }
    }

    /// Drops the validators recorded for `url`, so the next [`Ctx::fetch`] is
    /// unconditional and brings the body. Errors: state failed.
    pub fn forget_fetched(&mut self, url: &str) -> Result<()> {
        self.state(VALIDATORS)
            .take::<serde_json::Value>(&url_key(url))
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_cut_for_wasi_http() {
        let t = target("HTTPS://cal.example:8443/a/b.ics?x=1#frag").expect("valid");
        assert_eq!(
            (t.scheme, t.authority, t.path_with_query.as_str()),
            (Scheme::Https, "cal.example:8443", "/a/b.ics?x=1")
        );
        assert_eq!(
            target("http://h").map(|t| t.path_with_query),
            Ok("/".into())
        );
        assert_eq!(
            target("http://h?q").map(|t| t.path_with_query),
            Ok("/?q".into())
        );
        assert!(target("webcal://h/x").is_err());
        assert!(target("http:///x").is_err());
        assert!(target("no url").is_err());
    }

    #[test]
    fn redirects_resolve_against_the_url_they_came_from() {
        let base = "https://a.example/cal/team.ics?k=1";
        assert_eq!(resolve(base, "http://b.example/x"), "http://b.example/x");
        assert_eq!(resolve(base, "//c.example/y"), "https://c.example/y");
        assert_eq!(resolve(base, "/z.ics"), "https://a.example/z.ics");
        assert_eq!(
            resolve(base, "other.ics"),
            "https://a.example/cal/other.ics"
        );
        assert_eq!(resolve("http://h", "p"), "http://h/p");
        assert_eq!(
            resolve(base, "/go?u=http://x"),
            "https://a.example/go?u=http://x"
        );
    }

    #[test]
    fn url_keys_hide_the_url_and_stay_short() {
        let key = url_key("https://calendar.example/private-0123456789abcdef/basic.ics");
        assert_eq!(key.len(), 36);
        assert!(!key.contains("private"));
        assert_eq!(
            key,
            url_key("https://calendar.example/private-0123456789abcdef/basic.ics")
        );
    }
}
