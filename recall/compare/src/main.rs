//! tantivy on the same generated vault and queries as `cargo bench -p openclone-recall
//! --bench search`: `cargo run --release -- N` in `recall/compare` (N entries, default
//! 1,000,000). Reads the daily files with the vault's own reader (as the index's sync does),
//! indexes title and text with tantivy's default tokenizer on one indexing thread (the
//! SQLite index is built on one), then times the same 1,000 two-word queries: every match
//! ranked by BM25 (tantivy's block-max WAND), the top 20 fetched with a snippet each.

use std::time::Instant;

use openclone_vault::read::{Start, read};
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{STORED, STRING, Schema, TEXT, Value as _};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, TantivyDocument, doc};

#[path = "../../benches/corpus/mod.rs"]
mod corpus;

fn size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() -> tantivy::Result<()> {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("vault");
    let mut corpus = corpus::write(&root, n, true);
    println!(
        "generated {} entries ({:.0} MB of Markdown in {} files)",
        corpus.entries,
        corpus.bytes as f64 / 1e6,
        corpus.files
    );

    let mut schema = Schema::builder();
    let title = schema.add_text_field("title", TEXT | STORED);
    let text = schema.add_text_field("text", TEXT | STORED);
    let file = schema.add_text_field("file", STRING | STORED);
    let line = schema.add_u64_field("line", STORED);
    let day = schema.add_text_field("day", STRING | STORED);
    let index_dir = dir.path().join("tantivy");
    std::fs::create_dir_all(&index_dir)?;
    let index = Index::create_in_dir(&index_dir, schema.build())?;

    let started = Instant::now();
    let mut writer = index.writer_with_num_threads(1, 200_000_000)?;
    let mut entries = 0u64;
    for folder in ["Activity", "Braindump", "Notes"] {
        let mut names: Vec<_> = std::fs::read_dir(root.join(folder))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let bytes = std::fs::read(root.join(folder).join(&name))?;
            let found = read(&String::from_utf8_lossy(&bytes), &Start::default());
            let rel = format!("{folder}/{name}");
            for e in found.entries {
                writer.add_document(doc!(
                    title => e.title,
                    text => e.text,
                    file => rel.clone(),
                    line => u64::from(e.line),
                    day => name.trim_end_matches(".md"),
                ))?;
                entries += 1;
            }
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let built = started.elapsed();

    let reader = index.reader()?;
    let searcher = reader.searcher();
    let mut parser = QueryParser::for_index(&index, vec![title, text]);
    parser.set_conjunction_by_default();
    let mut lat = Vec::with_capacity(1000);
    let mut found = 0usize;
    for q in corpus.queries(1000) {
        let t = Instant::now();
        let query = parser.parse_query(&q)?;
        let top = searcher.search(&query, &TopDocs::with_limit(20))?;
        let snippets = SnippetGenerator::create(&searcher, &*query, text)?;
        for (_, addr) in &top {
            let d: TantivyDocument = searcher.doc(*addr)?;
            let s = snippets.snippet_from_doc(&d);
            let _ = (
                d.get_first(file).and_then(|v| v.as_str()).map(str::len),
                s.fragment().len(),
            );
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        found += top.len();
    }
    lat.sort_by(f64::total_cmp);
    let (p50, p99) = (lat[lat.len() / 2], lat[lat.len() * 99 / 100]);
    let bytes = size(&index_dir);
    println!(
        "| tantivy 0.25 | {entries} entries | build {:.1} s ({:.0} entries/s) | index {:.0} MB ({:.0} MB per million) | two-word query p50 {p50:.2} ms, p99 {p99:.2} ms ({:.1} hits each) |",
        built.as_secs_f64(),
        entries as f64 / built.as_secs_f64(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / (entries as f64 / 1e6),
        found as f64 / 1000.0
    );
    Ok(())
}
