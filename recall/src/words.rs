//! Each word's row count, kept in the index as rows are written (`words` table), so a
//! search's IDF ([`crate::rank::idf`]) costs one lookup per word.
//!
//! FTS5 keeps no per-word row count: `count(*) … MATCH 'word'` (and `fts5vocab`) walk the
//! word's whole doclist, which for a frequent word in ten years of entries is millions of
//! rows and a second of work (BENCHMARKS.md, "Recall"). The counts here follow
//! [`crate::rank::tokens`] (FTS5's `unicode61 remove_diacritics 2` rules, closely enough for
//! an IDF); the row `""` (no token is empty) holds the number of rows.

use std::collections::HashMap;

use rusqlite::{Connection, Transaction, params};

/// Row-count changes gathered while a file is indexed, written by [`Delta::apply`].
#[derive(Debug, Default)]
pub struct Delta(HashMap<String, i64>);

impl Delta {
    /// Counts a row of `title` and `text` as added (`sign` 1) or removed (−1): each of its
    /// distinct words once, and the row itself under `""`.
    pub fn row(&mut self, title: &str, text: &str, sign: i64) {
        let mut seen: Vec<String> = crate::rank::tokens(title)
            .into_iter()
            .chain(crate::rank::tokens(text))
            .map(|t| t.to_lowercase())
            .collect();
        seen.sort_unstable();
        seen.dedup();
        for t in seen {
            *self.0.entry(t).or_default() += sign;
        }
        *self.0.entry(String::new()).or_default() += sign;
    }

    /// Writes the changes in `tx` (a word whose count reaches 0 is dropped).
    /// Errors: SQLite's.
    pub fn apply(self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        let mut up = tx.prepare_cached(
            "INSERT INTO words(term, rows) VALUES (?1, ?2)
             ON CONFLICT(term) DO UPDATE SET rows = rows + excluded.rows",
        )?;
        let mut gone = false;
        for (term, n) in self.0 {
            if n != 0 {
                up.execute(params![term, n])?;
                gone |= n < 0;
            }
        }
        if gone {
            tx.execute("DELETE FROM words WHERE rows <= 0 AND term <> ''", [])?;
        }
        Ok(())
    }
}

/// The rows of the index (every piece of every entry). Errors: SQLite's.
pub fn total(conn: &Connection) -> rusqlite::Result<i64> {
    rows_of(conn, "")
}

fn rows_of(conn: &Connection, term: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT coalesce(max(rows), 0) FROM words WHERE term = ?1")?
        .query_row([term], |r| r.get(0))
}

/// About how many rows hold `phrase`: a word's count; for a phrase of several words the
/// smallest of theirs (no more rows can hold the phrase); for a prefix, the sum over the
/// words it begins (more than the rows when a row holds two of them). Errors: SQLite's.
pub fn rows(conn: &Connection, phrase: &crate::rank::Phrase) -> rusqlite::Result<i64> {
    let Some((last, rest)) = phrase.tokens.split_last() else {
        return Ok(0);
    };
    let mut least = if phrase.prefix {
        // Every term that begins with `last` sorts from `last` up to `last` + U+10FFFF
        // (SQLite compares text as UTF-8 bytes).
        conn.prepare_cached(
            "SELECT coalesce(sum(rows), 0) FROM words WHERE term >= ?1 AND term < ?1 || char(1114111)",
        )?
        .query_row([last], |r| r.get(0))?
    } else {
        rows_of(conn, last)?
    };
    for t in rest {
        least = least.min(rows_of(conn, t)?);
    }
    Ok(least)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::Phrase;

    #[test]
    fn counts_follow_rows_added_and_removed_and_answer_words_phrases_and_prefixes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = crate::schema::open(&dir.path().join("i.sqlite")).expect("index");
        let tx = conn.transaction().expect("tx");
        let mut d = Delta::default();
        d.row("Harbour", "harbour wall, harbour light", 1);
        d.row("", "Hårbour lighthouse keeper", 1);
        d.row("", "the keeper's wall", 1);
        d.apply(&tx).expect("apply");
        tx.commit().expect("commit");
        let count = |conn: &Connection, expr: &str| rows(conn, &Phrase::of(expr)).expect("rows");
        assert_eq!(total(&conn).expect("total"), 3);
        assert_eq!(
            count(&conn, "\"harbour\""),
            2,
            "once per row, diacritics folded"
        );
        assert_eq!(count(&conn, "\"wall\""), 2);
        assert_eq!(count(&conn, "\"light\"*"), 2, "light + lighthouse");
        assert_eq!(
            count(&conn, "\"lighthouse keeper\""),
            1,
            "a phrase: its rarest word"
        );
        assert_eq!(count(&conn, "\"absent\""), 0);

        let tx = conn.transaction().expect("tx");
        let mut d = Delta::default();
        d.row("", "the keeper's wall", -1);
        d.apply(&tx).expect("apply");
        tx.commit().expect("commit");
        assert_eq!(total(&conn).expect("total"), 2);
        assert_eq!(count(&conn, "\"wall\""), 1);
        assert_eq!(count(&conn, "\"the\""), 0, "a word no row holds is dropped");
        let left: i64 = conn
            .query_row("SELECT count(*) FROM words WHERE term = 'the'", [], |r| {
                r.get(0)
            })
            .expect("count");
        assert_eq!(left, 0);
    }
}
