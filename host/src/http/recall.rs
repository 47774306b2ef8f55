//! `GET /api/v1/search?q=…` and `GET /api/v1/timeline?day=YYYY-MM-DD`: the caller's tenant's
//! search index, read-only (CONTRACT.md, "Recall"). A tenant only ever reads its own index:
//! the key decides the tenant, and each tenant's index is its own file.

use std::sync::Arc;

use hyper::{Response, StatusCode};
use openclone_recall::query::{self, Query, QueryError};
use serde_json::json;

use super::reply::{self, Body};
use crate::app::App;

/// Hits a search returns when `limit` is not given.
const DEFAULT_LIMIT: u32 = 20;

/// The query string's pairs, percent-decoded.
fn params(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `422 invalid_query` naming the field and the rule, or `500` when the index cannot be
/// read.
fn refused(e: &QueryError) -> Response<Body> {
    match e {
        QueryError::Invalid { field, message } => {
            reply::invalid(&[openclone_vault::FieldError::new(*field, message.clone())])
        }
        QueryError::Index(_) | QueryError::Unavailable(_) => reply::storage_failed(&e.to_string()),
    }
}

/// Runs `f` on the tenant's index, on a blocking thread. An index not made yet (the host
/// builds it at start) reads as empty.
async fn on_index<T: Send + 'static>(
    app: &Arc<App>,
    tenant: usize,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T, QueryError> + Send + 'static,
    empty: T,
) -> Result<T, QueryError> {
    let path = app.search_index(tenant);
    tokio::task::spawn_blocking(move || {
        if !path.is_file() {
            return Ok(empty);
        }
        let conn = openclone_recall::schema::open_read(&path)
            .map_err(|e| QueryError::Unavailable(e.to_string()))?;
        f(&conn)
    })
    .await
    .unwrap_or_else(|e| Err(QueryError::Unavailable(e.to_string())))
}

/// `GET /api/v1/search`: `q` (words, `"phrases"`, `prefix*`), `since`, `until`
/// (`YYYY-MM-DD`), `source` (a source type), `limit` (1–1000, default 20). Answers the hits
/// best first, each with its vault path, line and an `obsidian://` link.
pub async fn search(app: &Arc<App>, tenant: usize, query_string: Option<&str>) -> Response<Body> {
    if app.vaults.is_empty() {
        return reply::kept_by_writers();
    }
    if !app.config.search.enabled {
        return reply::error(StatusCode::NOT_FOUND, "search_disabled");
    }
    let pairs = params(query_string);
    let limit = match param(&pairs, "limit").map(str::parse::<u32>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return refused(&QueryError::Invalid {
                field: "limit",
                message: format!("must be a whole number, 1 to {}", query::MAX_LIMIT),
            });
        }
    };
    let q = Query {
        text: param(&pairs, "q").unwrap_or("").to_owned(),
        since: param(&pairs, "since").map(str::to_owned),
        until: param(&pairs, "until").map(str::to_owned),
        source: param(&pairs, "source").map(str::to_owned),
        limit,
    };
    // The fields are checked before the index is opened.
    if let Err(e) = query::fts_query(&q.text) {
        return refused(&e);
    }
    let vault = app.vault_name(tenant);
    let asked = q.clone();
    match on_index(app, tenant, move |c| query::search(c, &asked), Vec::new()).await {
        Ok(hits) => {
            let hits: Vec<_> = hits
                .into_iter()
                .map(|h| {
                    let link = query::obsidian_link(&vault, &h.file);
                    let mut v = json!(h);
                    v["obsidian"] = json!(link);
                    v
                })
                .collect();
            reply::value(
                StatusCode::OK,
                json!({ "tenant": app.tenants[tenant].id, "q": q.text, "hits": hits }),
            )
        }
        Err(e) => refused(&e),
    }
}

/// `GET /api/v1/timeline?day=YYYY-MM-DD`: the day's entries of every source, in time order,
/// with `duration_s` where the entry is a session.
pub async fn timeline(app: &Arc<App>, tenant: usize, query_string: Option<&str>) -> Response<Body> {
    if app.vaults.is_empty() {
        return reply::kept_by_writers();
    }
    if !app.config.search.enabled {
        return reply::error(StatusCode::NOT_FOUND, "search_disabled");
    }
    let pairs = params(query_string);
    let day = param(&pairs, "day").unwrap_or("").to_owned();
    if let Err(e) = query::check_day("day", &day) {
        return refused(&e);
    }
    let asked = day.clone();
    match on_index(app, tenant, move |c| query::timeline(c, &asked), Vec::new()).await {
        Ok(items) => reply::value(
            StatusCode::OK,
            json!({ "tenant": app.tenants[tenant].id, "day": day, "items": items }),
        ),
        Err(e) => refused(&e),
    }
}
