//! Ranking a search's window of matches: Okapi BM25 (k1 = 1.2, b = 0.75, as FTS5's
//! `bm25()`), the average length taken from the window.
//!
//! FTS5's own `bm25()` counts, on every query, each query word's rows in the whole table
//! for its IDF, so every search of a frequent word walks that word's whole doclist
//! (BENCHMARKS.md, "Recall"). Here those counts come from the index's `words` table
//! ([`crate::words`]). The rows are tokenized as FTS5's `unicode61 remove_diacritics 2`
//! tokenizer does (letters and digits, lower case, diacritics removed); it only has to agree
//! with the index well enough to count matches, the index has already chosen the rows.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// The tokens of `text`: runs of letters and digits, lower-cased, diacritics removed. ASCII
/// text (most of it) is split in place and compared ignoring ASCII case ([`same`]).
pub fn tokens(text: &str) -> Vec<Cow<'_, str>> {
    if text.is_ascii() {
        return text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(Cow::Borrowed)
            .collect();
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if !cur.is_empty() {
            out.push(Cow::Owned(std::mem::take(&mut cur)));
        }
    }
    if !cur.is_empty() {
        out.push(Cow::Owned(cur));
    }
    out
}

/// Whether token `d` of a row is query token `t` (lower case), or begins with it.
fn same(d: &str, t: &str, prefix: bool) -> bool {
    match prefix {
        true => {
            d.len() >= t.len()
                && d.is_char_boundary(t.len())
                && d[..t.len()].eq_ignore_ascii_case(t)
        }
        false => d.eq_ignore_ascii_case(t),
    }
}

/// One phrase of a query: its tokens in order; with `prefix`, the last one matches any
/// token it begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrase {
    /// The phrase's tokens.
    pub tokens: Vec<String>,
    /// The last token is a prefix (`harb*`).
    pub prefix: bool,
}

impl Phrase {
    /// The phrase of an FTS5 phrase expression as [`crate::query::fts_query`] writes it
    /// (`"a b"` or `"a"*`).
    pub fn of(expr: &str) -> Self {
        let prefix = expr.ends_with('*');
        Self {
            tokens: tokens(expr).into_iter().map(|t| t.to_lowercase()).collect(),
            prefix,
        }
    }

    /// How often the phrase occurs in `doc` (tokens).
    fn count(&self, doc: &[Cow<'_, str>]) -> usize {
        let n = self.tokens.len();
        if n == 0 || doc.len() < n {
            return 0;
        }
        doc.windows(n)
            .filter(|w| {
                w.iter()
                    .zip(&self.tokens)
                    .enumerate()
                    .all(|(i, (d, t))| same(d, t, self.prefix && i + 1 == n))
            })
            .count()
    }
}

/// The IDF of a phrase found in `df` of `n` rows (BM25's, kept positive as FTS5 does).
pub fn idf(n: i64, df: i64) -> f64 {
    let (n, df) = (n.max(1) as f64, df.max(0) as f64);
    ((n - df + 0.5) / (df + 0.5)).ln().max(1e-6)
}

/// BM25 scores (higher is better) of `rows` (id, text) for `phrases` weighted by `idfs`.
pub fn scores(rows: &[(i64, String)], phrases: &[Phrase], idfs: &[f64]) -> Vec<(i64, f64)> {
    let docs: Vec<(i64, Vec<Cow<'_, str>>)> = rows.iter().map(|(id, t)| (*id, tokens(t))).collect();
    let avg = docs.iter().map(|d| d.1.len()).sum::<usize>() as f64 / docs.len().max(1) as f64;
    docs.iter()
        .map(|(id, doc)| {
            let norm = K1 * (1.0 - B + B * doc.len() as f64 / avg.max(1.0));
            let score = phrases
                .iter()
                .zip(idfs)
                .map(|(p, idf)| {
                    let tf = p.count(doc) as f64;
                    idf * tf * (K1 + 1.0) / (tf + norm)
                })
                .sum();
            (*id, score)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_fold_case_and_diacritics_and_split_on_punctuation() {
        assert_eq!(
            tokens("Crème-Brûlée, e-mail 42x"),
            ["creme", "brulee", "e", "mail", "42x"]
        );
    }

    #[test]
    fn more_occurrences_and_shorter_rows_score_higher() {
        let p = [Phrase::of("\"kestrel\"")];
        let rows = vec![
            (
                1,
                "kestrel once in a long row of many other words here".to_owned(),
            ),
            (2, "kestrel kestrel".to_owned()),
            (3, "kestrel".to_owned()),
        ];
        let s = scores(&rows, &p, &[1.0]);
        assert!(s[1].1 > s[0].1 && s[2].1 > s[0].1, "{s:?}");
        let prefix = [Phrase::of("\"kest\"*")];
        assert!(scores(&rows, &prefix, &[1.0])[0].1 > 0.0);
        let phrase = [Phrase::of("\"kestrel once\"")];
        let s = scores(&rows, &phrase, &[1.0]);
        assert!(s[0].1 > 0.0 && s[1].1 == 0.0);
    }
}
