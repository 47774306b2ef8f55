//! Searching the index and reading a day back.

use rusqlite::{Connection, OptionalExtension as _, params, params_from_iter, types::Value};

use crate::sync::{IDS_PER_SECOND, id_base};
use serde::Serialize;

/// A search: the words to find and the filters.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Words (all must match), `"quoted phrases"` and `prefix*` words.
    pub text: String,
    /// Only days from this one on (`YYYY-MM-DD`).
    pub since: Option<String>,
    /// Only days up to this one (`YYYY-MM-DD`).
    pub until: Option<String>,
    /// Only this source type (`notes`, …).
    pub source: Option<String>,
    /// At most this many hits (1 to [`MAX_LIMIT`]).
    pub limit: u32,
}

/// Matches a search ranks, about: the newest this many (by entry time; the window that
/// holds them grows by doubling stretches, so it may hold up to about twice as many), all
/// of them when fewer match (but see [`MAX_WALK`]). Ranking every match of two frequent words in ten years of data would cost
/// a second and more (BENCHMARKS.md, "Recall"); a memory is asked about recent things
/// first, and `since`/`until` move the window.
pub const CANDIDATES: i64 = 2000;

/// Rows of the query's phrases a search walks, about, before it stops widening its window
/// once that holds `limit` matches ([`search`]). Two words of 100,000 rows each that meet
/// in a few hundred would otherwise be walked whole: 130 ms at the p99 of ten million
/// entries, 42 ms with this bound (BENCHMARKS.md, "Recall").
pub const MAX_WALK: f64 = 50_000.0;

/// The most hits one search returns.
pub const MAX_LIMIT: u32 = 1000;

/// Why a search was refused; each names the field and the rule.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A field breaks its rule.
    #[error("{field}: {message}")]
    Invalid {
        /// The field (`q`, `since`, `until`, `source`, `limit`, `day`).
        field: &'static str,
        /// The rule.
        message: String,
    },
    /// The index could not be read.
    #[error("the search index could not be read: {0}")]
    Index(#[from] rusqlite::Error),
    /// The index could not be opened (or the search could not run).
    #[error("the search index is unavailable: {0}")]
    Unavailable(String),
}

fn invalid(field: &'static str, message: impl Into<String>) -> QueryError {
    QueryError::Invalid {
        field,
        message: message.into(),
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The daily file, vault-relative (`Notes/2024-02-18.md`).
    pub file: String,
    /// The entry's first line in that file (1-based).
    pub line: u32,
    /// Its day, `YYYY-MM-DD`.
    pub day: String,
    /// Its time, `HH:MM:SS` (own text: that of the host entry before it).
    pub time: String,
    /// The source type; empty for the person's own text.
    pub source: String,
    /// The vault folder.
    pub folder: String,
    /// The plugin that captured it; empty for own text.
    pub plugin: String,
    /// The device that captured it; empty for own text.
    pub device: String,
    /// The heading's label.
    pub title: String,
    /// Where the words matched, each match between `«` and `»` (not Markdown's `**`, which
    /// the vault's own text uses), cut to about 24 words.
    pub snippet: String,
}

/// One entry of a day's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The daily file, vault-relative.
    pub file: String,
    /// The entry's first line in that file (1-based).
    pub line: u32,
    /// Its time, `HH:MM:SS`.
    pub time: String,
    /// Where a session ends, `HH:MM:SS`.
    pub end: Option<String>,
    /// A session's length in seconds (`end` − `time`, across midnight too).
    pub duration_s: Option<u32>,
    /// The source type; empty for the person's own text.
    pub source: String,
    /// The vault folder.
    pub folder: String,
    /// The plugin; empty for own text.
    pub plugin: String,
    /// The heading's label.
    pub title: String,
    /// The entry's text (its first 16 KiB: a longer text is indexed in pieces, and only
    /// the first is listed).
    pub text: String,
}

/// `YYYY-MM-DD`, or why not.
pub fn check_day(field: &'static str, day: &str) -> Result<(), QueryError> {
    let ok = day.len() == 10
        && day.bytes().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("must be a day, YYYY-MM-DD, not {day:?}"),
        ))
    }
}

/// The FTS5 query for what a person typed: each word and each `"phrase"` quoted (so no
/// character of theirs is FTS5 syntax), a word ending in `*` kept as a prefix, all of them
/// required. Hand-written on purpose: FTS5's own syntax (`AND`, `NEAR`, `col:`, `^`, `-`)
/// would turn ordinary text such as `e-mail` or `re:` into operators or errors.
/// Errors: nothing to search for.
pub fn fts_query(text: &str) -> Result<String, QueryError> {
    Ok(phrases(text)?.join(" "))
}

/// The phrases of [`fts_query`], each an FTS5 phrase expression (`"a b"`, `"harb"*`).
/// Errors: nothing to search for.
pub fn phrases(text: &str) -> Result<Vec<String>, QueryError> {
    let mut terms = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (term, prefix, after) = if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap_or(r.len());
            (&r[..end], false, r.get(end + 1..).unwrap_or(""))
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let word = &rest[..end];
            match word.strip_suffix('*') {
                Some(w) => (w, true, &rest[end..]),
                None => (word, false, &rest[end..]),
            }
        };
        let cleaned: String = term
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        if !cleaned.trim().is_empty() {
            let quoted = format!(
                "\"{}\"",
                cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            terms.push(if prefix { format!("{quoted}*") } else { quoted });
        }
        rest = after.trim_start();
    }
    if terms.is_empty() {
        return Err(invalid("q", "has no word to search for"));
    }
    Ok(terms)
}

/// The hits of `q`: among the newest [`CANDIDATES`] matches (within `since`/`until`), best
/// first (BM25 with the window's statistics, [`crate::rank`]), newest first among equals.
/// Errors: a field breaks its rule (named), or the index cannot be read.
pub fn search(conn: &Connection, q: &Query) -> Result<Vec<Hit>, QueryError> {
    let exprs = phrases(&q.text)?;
    let matched = exprs.join(" ");
    if !(1..=MAX_LIMIT).contains(&q.limit) {
        return Err(invalid("limit", format!("must be 1 to {MAX_LIMIT}")));
    }
    // Ids are in time order (crate::sync::id_base): a day range is an id range.
    let lo = match &q.since {
        Some(d) => {
            check_day("since", d)?;
            id_base(d, "")
        }
        None => 0,
    };
    let hi = match &q.until {
        Some(d) => {
            check_day("until", d)?;
            id_base(d, "") + 86_400 * IDS_PER_SECOND - 1
        }
        None => i64::MAX,
    };
    let mut args = vec![
        Value::Text(matched.clone()),
        Value::Integer(lo),
        Value::Integer(hi),
    ];
    let only = match &q.source {
        Some(s) => {
            if s.parse::<openclone_vault::SourceType>().is_err() {
                return Err(invalid(
                    "source",
                    format!("{s:?} is not one of the 15 source types"),
                ));
            }
            args.push(Value::Text(s.clone()));
            " AND w.source = ?4"
        }
        None => "",
    };
    // The window of the newest CANDIDATES or so matches, read newest part first: a day back
    // from the newest entry, then each time the twice as long stretch before it, until the
    // rows read hold that many. Each stretch's matches are walked once, in id order (FTS5
    // walks a doclist backwards only after reading it whole), with their text for ranking.
    // Once the rows hold `limit` matches, it stops where the next stretch would walk more
    // than MAX_WALK of the phrases' rows (estimated from their row counts, spread evenly
    // over the index's time): two frequent words that rarely meet.
    let (newest, oldest): (Option<i64>, Option<i64>) = conn
        .prepare_cached(
            "SELECT (SELECT MAX(id) FROM entries WHERE id BETWEEN ?1 AND ?2),
                    (SELECT MIN(id) FROM entries WHERE id BETWEEN ?1 AND ?2)",
        )?
        .query_row([lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let (Some(newest), Some(oldest)) = (newest, oldest) else {
        return Ok(Vec::new());
    };
    let parsed: Vec<crate::rank::Phrase> =
        exprs.iter().map(|e| crate::rank::Phrase::of(e)).collect();
    let counts = parsed
        .iter()
        .map(|p| crate::words::rows(conn, p))
        .collect::<Result<Vec<i64>, rusqlite::Error>>()?;
    let total = crate::words::total(conn)?;
    let walk = |span: i64| {
        let share = span as f64 / (newest - oldest).max(1) as f64;
        counts.iter().sum::<i64>() as f64 * share.min(1.0)
    };
    let mut stretch = conn.prepare_cached(&format!(
        "SELECT entries_fts.rowid, w.title || ' ' || w.text FROM entries_fts
         JOIN entries w ON w.id = entries_fts.rowid
         WHERE entries_fts MATCH ?1 AND entries_fts.rowid BETWEEN ?2 AND ?3{only}"
    ))?;
    let mut rows: Vec<(i64, String)> = Vec::new();
    let (mut end, mut span) = (newest, 86_400 * IDS_PER_SECOND);
    loop {
        let start = end.saturating_sub(span - 1).max(lo);
        args[1] = Value::Integer(start);
        args[2] = Value::Integer(end);
        for row in stretch.query_map(params_from_iter(args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })? {
            rows.push(row?);
        }
        span = span.saturating_mul(2);
        let n = rows.len() as i64;
        let enough = n >= i64::from(q.limit) && walk(span) > MAX_WALK;
        if n >= CANDIDATES || start <= lo || enough {
            break;
        }
        end = start - 1;
    }
    // BM25 over the window's rows (crate::rank), each phrase's IDF from its rows in the
    // whole index (crate::words).
    let idfs: Vec<f64> = counts.iter().map(|&n| crate::rank::idf(total, n)).collect();
    let mut scored = crate::rank::scores(&rows, &parsed, &idfs);
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    let ids: Vec<i64> = scored
        .into_iter()
        .take(q.limit as usize)
        .map(|(id, _)| id)
        .collect();
    // Snippets for the hits only: FTS5 makes one by reading and scoring the row's text.
    let mut hit = conn.prepare_cached(
        "SELECT e.file, e.line, e.day, e.time, e.source, e.folder, e.plugin, e.device, e.title,
                snippet(entries_fts, 1, '«', '»', '…', 24)
         FROM entries_fts JOIN entries e ON e.id = entries_fts.rowid
         WHERE entries_fts MATCH ?1 AND entries_fts.rowid = ?2",
    )?;
    let mut hits = Vec::with_capacity(ids.len());
    for id in ids {
        let found = hit
            .query_row(params![matched, id], |r| {
                Ok(Hit {
                    file: r.get(0)?,
                    line: r.get(1)?,
                    day: r.get(2)?,
                    time: r.get(3)?,
                    source: r.get(4)?,
                    folder: r.get(5)?,
                    plugin: r.get(6)?,
                    device: r.get(7)?,
                    title: r.get(8)?,
                    snippet: r.get(9)?,
                })
            })
            .optional()?;
        hits.extend(found);
    }
    Ok(hits)
}

/// Every entry of `day` (`YYYY-MM-DD`) across sources, in time order (file and line among
/// equal times). Errors: `day` is not a day, or the index cannot be read.
pub fn timeline(conn: &Connection, day: &str) -> Result<Vec<Item>, QueryError> {
    check_day("day", day)?;
    let mut st = conn.prepare_cached(
        "SELECT file, line, time, end_time, source, folder, plugin, title, text
         FROM entries WHERE day = ?1 AND part = 0 ORDER BY time, file, line",
    )?;
    let items = st
        .query_map([day], |r| {
            let time: String = r.get(2)?;
            let end: Option<String> = r.get(3)?;
            Ok(Item {
                file: r.get(0)?,
                line: r.get(1)?,
                duration_s: end.as_deref().and_then(|e| span(&time, e)),
                time,
                end,
                source: r.get(4)?,
                folder: r.get(5)?,
                plugin: r.get(6)?,
                title: r.get(7)?,
                text: r.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(items)
}

/// `obsidian://open?vault=<vault folder name>&file=<path>`, both percent-encoded: opens the
/// daily file in Obsidian when the vault folder is opened there as a vault.
pub fn obsidian_link(vault: &str, file: &str) -> String {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!("obsidian://open?vault={}&file={}", enc(vault), enc(file))
}

/// Seconds from `HH:MM:SS` `a` to `b`, across midnight when `b` is earlier.
fn span(a: &str, b: &str) -> Option<u32> {
    let secs = |t: &str| -> Option<u32> {
        let mut p = t.split(':').map(|x| x.parse::<u32>().ok());
        Some(p.next()?? * 3600 + p.next()?? * 60 + p.next()??)
    };
    let (a, b) = (secs(a)?, secs(b)?);
    Some(if b >= a { b - a } else { b + 86_400 - a })
}

/// What the index holds per source type: `(source, entries, first day, last day)`, own text
/// under the empty source. Errors: the index cannot be read.
pub fn sources(conn: &Connection) -> Result<Vec<(String, u64, String, String)>, QueryError> {
    let mut st = conn.prepare_cached(
        "SELECT source, count(*), min(day), max(day) FROM entries WHERE part = 0 GROUP BY source ORDER BY source",
    )?;
    let rows = st
        .query_map([], |r| {
            let n: i64 = r.get(1)?;
            Ok((
                r.get(0)?,
                u64::try_from(n).unwrap_or(0),
                r.get(2)?,
                r.get(3)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::{fts_query, span};

    #[test]
    fn typed_text_never_becomes_fts_syntax() {
        assert_eq!(
            fts_query("quarterly plan").ok().as_deref(),
            Some(r#""quarterly" "plan""#)
        );
        assert_eq!(
            fts_query(r#""quarterly plan" rev*"#).ok().as_deref(),
            Some(r#""quarterly plan" "rev"*"#)
        );
        assert_eq!(
            fts_query("e-mail re: NEAR(x) col:y").ok().as_deref(),
            Some(r#""e mail" "re" "NEAR x" "col y""#)
        );
        assert_eq!(
            fts_query("\"unclosed phrase").ok().as_deref(),
            Some(r#""unclosed phrase""#)
        );
        assert!(fts_query("  -- ** \"\" ").is_err());
    }

    #[test]
    fn spans_cross_midnight() {
        assert_eq!(span("09:12:03", "09:47:10"), Some(2107));
        assert_eq!(span("23:59:00", "00:01:00"), Some(120));
        assert_eq!(span("x", "00:01:00"), None);
    }
}
