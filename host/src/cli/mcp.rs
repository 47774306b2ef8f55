//! `openclone mcp`: the Model Context Protocol over stdio (rmcp, the official Rust SDK), so
//! an assistant can read one tenant's memory. Read-only: the tools `search_memory`,
//! `read_day` and `list_sources` query the tenant's search index
//! ([`openclone_recall::query`]); nothing is written. The text is what the vault holds,
//! sanitized and redacted when it was stored. Each answer is at most [`MAX_ANSWER`] bytes
//! (whole entries, then a line saying how many were left out); a bad argument is a JSON-RPC
//! `invalid_params` error naming the field and the rule, never a crash.

use std::path::PathBuf;

use openclone_recall::query::{self, Query, QueryError};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::{ErrorData, ServerHandler, ServiceExt, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;

/// The most bytes of text one tool answer holds.
pub const MAX_ANSWER: usize = 64 * 1024;

/// `search_memory`'s arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// Words that must all occur; "a quoted phrase"; word* for a prefix.
    pub query: String,
    /// Only days from this one on, YYYY-MM-DD.
    pub since: Option<String>,
    /// Only days up to this one, YYYY-MM-DD.
    pub until: Option<String>,
    /// Only this source type: notes, calendar, gps, email, activity, web_browsing, …
    pub source: Option<String>,
    /// At most this many hits, 1 to 100; default 20.
    pub limit: Option<u32>,
}

/// `read_day`'s arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct DayArgs {
    /// The day, YYYY-MM-DD.
    pub day: String,
}

/// The MCP server of one tenant's memory.
#[derive(Clone)]
pub struct Memory {
    index: PathBuf,
    vault: String,
    tenant: String,
    tool_router: ToolRouter<Self>,
}

fn refused(e: QueryError) -> ErrorData {
    match e {
        QueryError::Invalid { field, message } => {
            ErrorData::invalid_params(format!("{field}: {message}"), None)
        }
        other => ErrorData::internal_error(other.to_string(), None),
    }
}

/// Joins `parts` up to [`MAX_ANSWER`] bytes, then says how many were left out.
fn capped(parts: Vec<String>) -> String {
    let mut out = String::new();
    let total = parts.len();
    for (i, p) in parts.into_iter().enumerate() {
        if out.len() + p.len() > MAX_ANSWER {
            out.push_str(&format!(
                "… {} more left out (answers are capped at {MAX_ANSWER} bytes; narrow the query)\n",
                total - i
            ));
            break;
        }
        out.push_str(&p);
    }
    out
}

impl Memory {
    fn conn(&self) -> Result<rusqlite::Connection, ErrorData> {
        openclone_recall::schema::open_read(&self.index)
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))
    }
}

#[tool_router]
impl Memory {
    /// Finds entries of the person's memory.
    #[tool(
        description = "Search the person's memory (notes, calendar, mail headers, music, locations, shell and desktop activity, transcripts, and what they wrote themselves). Every word must occur; \"quoted phrase\"; word* for a prefix. Returns the best matches: day, time, source, where it is in the vault, and a snippet with each match between « and »."
    )]
    fn search_memory(&self, Parameters(a): Parameters<SearchArgs>) -> Result<String, ErrorData> {
        let limit = a.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(ErrorData::invalid_params("limit: must be 1 to 100", None));
        }
        let q = Query {
            text: a.query,
            since: a.since,
            until: a.until,
            source: a.source,
            limit,
        };
        query::fts_query(&q.text).map_err(refused)?;
        let hits = query::search(&self.conn()?, &q).map_err(refused)?;
        if hits.is_empty() {
            return Ok(format!("No entry of {}'s memory matches.", self.tenant));
        }
        Ok(capped(
            hits.iter()
                .map(|h| {
                    let who = if h.source.is_empty() {
                        "their own text".to_owned()
                    } else {
                        format!("{} via {}", h.source, h.plugin)
                    };
                    format!(
                        "{} {} · {who} · {}:{} ({})\n{}\n\n",
                        h.day,
                        h.time,
                        h.file,
                        h.line,
                        query::obsidian_link(&self.vault, &h.file),
                        h.snippet
                    )
                })
                .collect(),
        ))
    }

    /// A day's entries, every source, in time order.
    #[tool(
        description = "Read one day of the person's memory: every entry of every source that day, in time order, with session lengths."
    )]
    fn read_day(&self, Parameters(a): Parameters<DayArgs>) -> Result<String, ErrorData> {
        let items = query::timeline(&self.conn()?, &a.day).map_err(refused)?;
        if items.is_empty() {
            return Ok(format!("Nothing is recorded for {}.", a.day));
        }
        Ok(capped(
            items
                .iter()
                .map(|i| {
                    let what = if i.source.is_empty() {
                        "their own text".to_owned()
                    } else {
                        format!("{} · {}", i.source, i.title)
                    };
                    let span = i
                        .duration_s
                        .map(|d| format!(" ({} min)", d / 60))
                        .unwrap_or_default();
                    format!("## {}{span} {what}\n{}\n\n", i.time, i.text)
                })
                .collect(),
        ))
    }

    /// What the memory holds, per source.
    #[tool(
        description = "List the sources in the person's memory: each source type with how many entries it holds and the first and last day."
    )]
    fn list_sources(&self) -> Result<String, ErrorData> {
        let rows = query::sources(&self.conn()?).map_err(refused)?;
        if rows.is_empty() {
            return Ok("The memory is empty.".into());
        }
        Ok(capped(
            rows.into_iter()
                .map(|(source, n, first, last)| {
                    let name = if source.is_empty() {
                        "their own text".to_owned()
                    } else {
                        source
                    };
                    format!("{name}: {n} entries, {first} to {last}\n")
                })
                .collect(),
        ))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Memory {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_instructions(
            "The person's own memory, captured on their devices and kept in their Markdown vault. Read-only.",
        )
    }
}

/// Serves tenant `tenant`'s memory (default the first) over stdin and stdout until the
/// client closes stdin. Logs go to stderr. Errors: no such tenant, the index cannot be
/// made, the transport fails.
pub fn run(config: Option<PathBuf>, tenant: Option<String>) -> anyhow::Result<()> {
    let idx = super::search::index(config.as_deref(), tenant.as_deref())?;
    let memory = Memory {
        index: idx.path,
        vault: idx.vault,
        tenant: idx.tenant,
        tool_router: Memory::tool_router(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let service = memory
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| anyhow::anyhow!("MCP: {e}"))?;
        service
            .waiting()
            .await
            .map_err(|e| anyhow::anyhow!("MCP: {e}"))?;
        anyhow::Ok(())
    })
}
