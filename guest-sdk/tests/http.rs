//! `Ctx::http_get` and the conditional `Ctx::fetch` against the harness's canned responses.

use openclone_guest::http::{Fetched, Validators};
use openclone_guest::prelude::*;
use openclone_guest::testing::Harness;

const URL: &str = "http://127.0.0.1:8080/feed.txt";

/// Fetches `url` (config) and records what it got as a braindump event; commits the
/// validators unless `commit` is false.
struct Fetcher;

impl Plugin for Fetcher {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Braindump];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let url: String = ctx.config_or("url", URL.to_owned())?;
        match ctx.fetch(&url)? {
            Fetched::NotModified => ctx.log(Level::Info, "not modified"),
            Fetched::Changed { body, validators } => {
                let text = String::from_utf8_lossy(&body).into_owned();
                let raw_ref = format!("{url}#{text}");
                ctx.emit(Braindump { text }.at(1_708_258_800.0).raw_ref(raw_ref))?;
                if ctx.config_or("commit", true)? {
                    ctx.fetched(&url, &validators)?;
                }
            }
        }
        Ok(())
    }
}

fn error_of(host: &mut Harness) -> String {
    match host.capture::<Fetcher>() {
        Err(e) => e.to_string(),
        Ok(r) => panic!("expected an error, got {r:?}"),
    }
}

#[test]
fn a_committed_etag_makes_the_next_fetch_conditional() -> Result<()> {
    let mut host = Harness::new().http(URL, 200, &[("ETag", "\"v1\"")], "one");
    assert_eq!(host.capture::<Fetcher>()?.stored, 1);
    assert_eq!(host.requests()[0].header("if-none-match"), None);

    let again = host.capture::<Fetcher>()?;
    assert_eq!(again.emitted, 0);
    assert_eq!(host.requests()[1].header("If-None-Match"), Some("\"v1\""));
    assert!(host.logs().contains(&"info: not modified".to_owned()));

    host.clone().http(URL, 200, &[("ETag", "\"v2\"")], "two");
    assert_eq!(
        host.capture::<Fetcher>()?.stored,
        1,
        "a new ETag brings the body"
    );
    assert_eq!(host.events()[1].data["text"], "two");
    Ok(())
}

#[test]
fn an_uncommitted_body_is_fetched_whole_again() -> Result<()> {
    let mut host =
        Harness::new()
            .config("commit", false)
            .http(URL, 200, &[("ETag", "\"v1\"")], "one");
    host.capture::<Fetcher>()?;
    host.capture::<Fetcher>()?;
    assert!(host.requests().iter().all(|r| r.headers.is_empty()));
    Ok(())
}

#[test]
fn last_modified_alone_is_sent_as_if_modified_since() -> Result<()> {
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    let mut host = Harness::new().http(URL, 200, &[("Last-Modified", date)], "one");
    host.capture::<Fetcher>()?;
    assert_eq!(host.capture::<Fetcher>()?.emitted, 0);
    assert_eq!(host.requests()[1].header("if-modified-since"), Some(date));
    Ok(())
}

#[test]
fn validators_are_read_from_a_response() {
    let response = openclone_guest::http::Response {
        status: 200,
        headers: vec![("etag".into(), "W/\"x\"".into())],
        body: Vec::new(),
    };
    assert_eq!(
        Validators::of(&response),
        Validators {
            etag: Some("W/\"x\"".into()),
            last_modified: None
        }
    );
}

#[test]
fn other_statuses_and_refusals_are_errors_naming_the_url() {
    let mut host = Harness::new().http(URL, 500, &[], "boom");
    assert_eq!(
        error_of(&mut host),
        format!("{URL}: the server answered HTTP 500")
    );

    let mut host = Harness::new().config("url", "http://127.0.0.1:8080/x");
    assert_eq!(
        error_of(&mut host),
        "http://127.0.0.1:8080/x: the host denied the request (HTTP-request-denied): check allowed_hosts in plugin.json and [plugins.<id>] allowed_hosts"
    );

    let mut host = Harness::new().config("url", "ftp://example.org/x");
    assert_eq!(
        error_of(&mut host),
        "ftp://example.org/x: not an http:// or https:// URL"
    );
}

#[test]
fn redirects_are_followed_and_a_304_to_an_unconditional_request_is_refused() -> Result<()> {
    let moved = "http://127.0.0.1:8080/new/feed.txt";
    let mut host = Harness::new()
        .http(URL, 301, &[("Location", "/new/feed.txt")], "")
        .http(moved, 200, &[], "moved");
    host.capture::<Fetcher>()?;
    assert_eq!(host.events()[0].data["text"], "moved");
    assert_eq!(host.requests()[1].url, moved);

    let mut host = Harness::new().http(URL, 304, &[], "");
    assert!(error_of(&mut host).ends_with("HTTP 304"));
    Ok(())
}
