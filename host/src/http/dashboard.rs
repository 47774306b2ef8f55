//! The local dashboard at `/` on the ingest listener: the day's timeline across sources, a
//! search box with highlighted snippets, each plugin's status and a day picker, as plain
//! server-rendered HTML with no script and no asset from elsewhere. The same Host and
//! Origin rules as the API hold (a page's own form posts carry its own origin); the API
//! key is entered once (`POST /login`) and kept in an `HttpOnly; SameSite=Strict` cookie
//! ([`Scheme::Cookie`]), checked, throttled and rate-limited as a header key is.

use std::fmt::Write as _;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use openclone_recall::query::{self, Hit, Item, Query};
use serde_json::Value;

use super::reply::{self, Body};
use crate::app::App;
use crate::guard::key::{COOKIE, Scheme, tenant_of};
use crate::guard::{Peer, Refusal};

/// Search hits a page shows.
const HITS: u32 = 50;
/// Characters of an entry's text a timeline row shows.
const TEXT: usize = 2000;
/// How long the cookie lasts, seconds (30 days).
const COOKIE_AGE_S: u32 = 30 * 86_400;

/// `GET /`: the dashboard for the cookie's tenant, or the key form.
pub async fn page(
    app: &Arc<App>,
    req: &Request<Incoming>,
    tenant_label: &mut String,
) -> Response<Body> {
    match super::routes::authorize(app, req, &[Scheme::Cookie]) {
        Ok(tenant) => {
            tenant_label.clone_from(&app.tenants[tenant].id);
            dashboard(app, tenant, req.uri().query()).await
        }
        Err(Refusal::Unauthorized) => {
            let had = crate::guard::key::presented(req.headers(), &[Scheme::Cookie]).is_some();
            login_form(
                StatusCode::OK,
                had.then_some("That key is not accepted here."),
            )
        }
        Err(other) => reply::refused(other),
    }
}

/// `POST /login` (a form with `key`): sets the cookie and goes to `/`, or shows the form
/// again (401) naming the problem. Wrong keys are throttled per client address.
pub async fn login(app: &Arc<App>, req: Request<Incoming>) -> Response<Body> {
    let peer = Peer::of(&req);
    let tls = app.config.tls_cert.is_some();
    let body = match super::ingest::read_body(app, req, 4096).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let key = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    match tenant_of(&app.keys, &app.key_guesses, peer, Some(&key)) {
        Ok(_) => {
            let enc =
                percent_encoding::utf8_percent_encode(&key, percent_encoding::NON_ALPHANUMERIC);
            let secure = if tls { "; Secure" } else { "" };
            see_other(&format!(
                "{COOKIE}={enc}; HttpOnly; SameSite=Strict; Path=/; Max-Age={COOKIE_AGE_S}{secure}"
            ))
        }
        Err(Refusal::Unauthorized) => login_form(
            StatusCode::UNAUTHORIZED,
            Some("That key is not accepted here."),
        ),
        Err(other) => reply::refused(other),
    }
}

/// `POST /logout`: forgets the cookie.
pub fn logout() -> Response<Body> {
    see_other(&format!(
        "{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
    ))
}

fn see_other(cookie: &str) -> Response<Body> {
    let mut r = html(StatusCode::SEE_OTHER, String::new());
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/"));
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// An HTML answer that loads nothing from anywhere, runs no script and is never framed or
/// cached.
fn html(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends `Origin: null`
    // with the page's own form posts, and the Origin check would refuse them.
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `text` escaped for HTML text and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A snippet's `«match»` runs as `<mark>`, everything else escaped (a `«` or `»` of the
/// text itself may mark a run too: it is still escaped text).
fn marked(snippet: &str) -> String {
    let mut out = String::with_capacity(snippet.len() + 32);
    for (i, open) in snippet.split('«').enumerate() {
        match open.split_once('»').filter(|_| i > 0) {
            Some((hit, rest)) => {
                out.push_str("<mark>");
                out.push_str(&esc(hit));
                out.push_str("</mark>");
                out.push_str(&esc(rest));
            }
            None if i > 0 => {
                out.push_str(&esc("«"));
                out.push_str(&esc(open));
            }
            None => out.push_str(&esc(open)),
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}header{display:flex;flex-wrap:wrap;gap:.6em 1.2em;align-items:center;padding:.8em 1.2em;background:#24292f;color:#fff}header h1{font-size:1.1em;margin:0}header a{color:#cde}main{padding:1em 1.2em;max-width:72em}section{margin-bottom:2em}table{border-collapse:collapse;width:100%}#timeline table{table-layout:fixed}col.t{width:6em}col.s{width:9em}col.l{width:12em}td{overflow-wrap:anywhere}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}td.t{white-space:nowrap;font-variant-numeric:tabular-nums}td.x{white-space:pre-wrap}mark{background:#ffe066}.own{color:#6a3}.err{color:#b00}form{display:inline}ol li{margin-bottom:.6em}";

fn head(title: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(title)
    )
}

fn login_form(status: StatusCode, problem: Option<&str>) -> Response<Body> {
    let mut out = head("OpenClone — sign in");
    out.push_str("<header><h1>OpenClone</h1></header><main><h2>Your memory, on this machine</h2>");
    if let Some(p) = problem {
        let _ = write!(out, "<p class=\"err\" id=\"problem\">{}</p>", esc(p));
    }
    out.push_str("<form method=\"post\" action=\"/login\"><label>API key <input type=\"password\" name=\"key\" id=\"key\" autocomplete=\"current-password\" required></label> <button id=\"signin\">Open</button></form><p>The key is kept in a cookie only this page can use.</p></main></body></html>");
    html(status, out)
}

fn param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.trim().is_empty())
}

/// The time zone of tenant number `tenant` (UTC when it names none that exists).
fn zone(app: &App, tenant: usize) -> jiff::tz::TimeZone {
    app.config
        .tenants
        .get(tenant)
        .and_then(|t| jiff::tz::TimeZone::get(&t.timezone).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC)
}

/// Today in the tenant's zone, and the days before and after `day`.
fn days(app: &App, tenant: usize, day: Option<&str>) -> (String, String, String) {
    let tz = zone(app, tenant);
    let today = jiff::Timestamp::now().to_zoned(tz).date();
    let date = day
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        .unwrap_or(today);
    let around = |n: i64| {
        date.checked_add(jiff::Span::new().days(n))
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    (date.to_string(), around(-1), around(1))
}

/// What a page shows from the index: the search's hits (when there is a query) and the
/// day's entries, or why not.
struct Found {
    hits: Option<Result<Vec<Hit>, String>>,
    day: Result<Vec<Item>, String>,
}

async fn dashboard(app: &Arc<App>, tenant: usize, query_string: Option<&str>) -> Response<Body> {
    let t = &app.tenants[tenant];
    let q = param(query_string, "q");
    let (day, prev, next) = days(app, tenant, param(query_string, "day").as_deref());
    let path = app.search_index(tenant);
    let (asked, the_day) = (q.clone(), day.clone());
    let enabled = app.config.search.enabled;
    let found = tokio::task::spawn_blocking(move || {
        if !enabled || !path.is_file() {
            return Found {
                hits: None,
                day: Ok(Vec::new()),
            };
        }
        let conn = match openclone_recall::schema::open_read(&path) {
            Ok(c) => c,
            Err(e) => {
                return Found {
                    hits: None,
                    day: Err(e.to_string()),
                };
            }
        };
        let hits = asked.map(|text| {
            query::search(
                &conn,
                &Query {
                    text,
                    limit: HITS,
                    ..Query::default()
                },
            )
            .map_err(|e| e.to_string())
        });
        Found {
            hits,
            day: query::timeline(&conn, &the_day).map_err(|e| e.to_string()),
        }
    })
    .await
    .unwrap_or_else(|e| Found {
        hits: None,
        day: Err(e.to_string()),
    });
    let mut out = head(&format!("OpenClone — {day}"));
    let _ = write!(
        out,
        "<header><h1>OpenClone</h1><span>{tenant}</span><a id=\"prev\" href=\"/?day={prev}\">← {prev}</a><form method=\"get\" action=\"/\"><input type=\"date\" name=\"day\" id=\"day\" value=\"{day}\"> <button id=\"open-day\">Open day</button></form><a id=\"next\" href=\"/?day={next}\">{next} →</a><form method=\"get\" action=\"/\"><input type=\"hidden\" name=\"day\" value=\"{day}\"><input type=\"search\" name=\"q\" id=\"q\" value=\"{q}\" placeholder=\"Search your memory\"> <button id=\"search\">Search</button></form><form method=\"post\" action=\"/logout\"><button>Sign out</button></form></header><main>",
        tenant = esc(&t.id),
        q = esc(q.as_deref().unwrap_or("")),
    );
    if let Some(p) = app.ingest.pause().current() {
        let tz = zone(app, tenant);
        let at = |secs: f64| {
            jiff::Timestamp::from_millisecond((secs * 1000.0) as i64)
                .map(|t| {
                    t.to_zoned(tz.clone())
                        .strftime("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .unwrap_or_default()
        };
        let _ = write!(
            out,
            "<p class=\"err\" id=\"paused\">Recording is paused since {}{}: no plugin runs and nothing new is stored (<code>openclone resume</code> ends it).</p>",
            at(p.since),
            p.until
                .map(|u| format!(", until {}", at(u)))
                .unwrap_or_default()
        );
    }
    if !enabled {
        out.push_str("<p class=\"err\">Search and the timeline are off in this configuration ([search] enabled = false).</p>");
    }
    if let (Some(q), Some(hits)) = (&q, &found.hits) {
        match hits {
            Ok(hits) => {
                let _ = write!(
                    out,
                    "<section id=\"results\"><h2>{} result(s) for “{}”</h2><ol>",
                    hits.len(),
                    esc(q)
                );
                for h in hits {
                    let who = if h.source.is_empty() {
                        "<span class=\"own\">your text</span>".to_owned()
                    } else {
                        esc(&format!("{} · {}", h.source, h.plugin))
                    };
                    let _ = write!(
                        out,
                        "<li><a href=\"/?day={d}#L{line}-{file}\">{d} {time}</a> · {who} · <code>{file}:{line}</code><p class=\"snippet\">{snippet}</p></li>",
                        d = esc(&h.day),
                        time = esc(&h.time),
                        file = esc(&h.file),
                        line = h.line,
                        snippet = marked(&h.snippet),
                    );
                }
                out.push_str("</ol></section>");
            }
            Err(e) => {
                let _ = write!(out, "<p class=\"err\" id=\"problem\">{}</p>", esc(e));
            }
        }
    }
    match &found.day {
        Ok(items) => {
            let _ = write!(
                out,
                "<section id=\"timeline\"><h2>{day} · {} entr{}</h2><table><colgroup><col class=\"t\"><col class=\"t\"><col class=\"s\"><col class=\"l\"><col></colgroup><tr><th>time</th><th>length</th><th>source</th><th>title</th><th>text</th></tr>",
                items.len(),
                if items.len() == 1 { "y" } else { "ies" }
            );
            for i in items {
                let source = if i.source.is_empty() {
                    "<span class=\"own\">your text</span>".to_owned()
                } else {
                    esc(&i.source)
                };
                let length = i
                    .duration_s
                    .map(|d| format!("{}:{:02}", d / 60, d % 60))
                    .unwrap_or_default();
                let text: String = i.text.chars().take(TEXT).collect();
                let _ = write!(
                    out,
                    "<tr id=\"L{line}-{file}\"><td class=\"t\">{time}</td><td class=\"t\">{length}</td><td>{source}</td><td>{title}</td><td class=\"x\">{text}</td></tr>",
                    line = i.line,
                    file = esc(&i.file),
                    time = esc(&i.time),
                    title = esc(&i.title),
                    text = esc(&text),
                );
            }
            out.push_str("</table></section>");
        }
        Err(e) => {
            let _ = write!(out, "<p class=\"err\" id=\"problem\">{}</p>", esc(e));
        }
    }
    plugins(&mut out, &app.registry().list(&t.id));
    out.push_str("</main></body></html>");
    html(StatusCode::OK, out)
}

/// The plugins' table: status, last run, stored and skipped, denials, last error.
fn plugins(out: &mut String, list: &[Value]) {
    out.push_str("<section id=\"plugins\"><h2>Plugins</h2><table><tr><th>plugin</th><th>status</th><th>last run</th><th>stored</th><th>skipped</th><th>denied</th><th>last error</th></tr>");
    for p in list {
        let s = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let c = &p["counters"];
        let last = c["last_run"]
            .as_f64()
            .and_then(|t| jiff::Timestamp::from_second(t as i64).ok())
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"t\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"err\">{}</td></tr>",
            esc(&s(&p["id"])),
            esc(&s(&p["status"])),
            esc(&last),
            esc(&s(&c["events_stored"])),
            esc(&s(&c["events_skipped"])),
            esc(&s(&c["requests_denied"])),
            esc(&s(&p["last_error"])),
        );
    }
    out.push_str("</table></section>");
}

#[cfg(test)]
mod tests {
    use super::marked;

    #[test]
    fn matches_are_marked_and_everything_else_escaped() {
        assert_eq!(
            marked("a «<b>» and «c» **bold** « stray"),
            "a <mark>&lt;b&gt;</mark> and <mark>c</mark> **bold** « stray"
        );
        assert_eq!(marked("»x"), "»x");
    }
}
