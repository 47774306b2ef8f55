//! `braindump-inbox`: each new paragraph of an inbox file (`inbox.md`, `inbox.txt`, …) as
//! a `braindump` event.
//!
//! A cursor per file remembers how far it was read and a hash of that part: when the file
//! only grew, only the paragraphs after the cursor are emitted; when it was edited further
//! up, every paragraph is offered again and `raw_ref` (the file + the SHA-256 of the
//! paragraph) lets the host skip the ones it has. A paragraph still being typed at the end
//! of the file (no blank line after it yet) is emitted too; if it grows later, the grown
//! paragraph is a new entry.

use openclone_guest::prelude::*;
use sha2::{Digest, Sha256};

/// The plugin.
pub struct BraindumpInbox;

/// Paragraphs (separated by blank lines) with the byte offset where each ends.
pub fn paragraphs(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut pos = 0;
    let mut end = 0;
    for line in text.split_inclusive('\n') {
        pos += line.len();
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push((current.join("").trim().to_owned(), end));
                current.clear();
            }
        } else {
            current.push(line);
            end = pos;
        }
    }
    if !current.is_empty() {
        out.push((current.join("").trim().to_owned(), end));
    }
    out
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    offset: usize,
    hash: String,
}

fn hash16(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

impl Plugin for BraindumpInbox {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Braindump];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let names: Vec<String> =
            ctx.config_or("files", vec!["inbox.md".into(), "inbox.txt".into()])?;
        let inbox = |p: &std::path::Path| {
            p.file_name()
                .is_some_and(|n| names.iter().any(|x| n.to_string_lossy() == *x))
        };
        for file in ctx.changed_files(false, inbox)? {
            let Some(text) = ctx.read_text(&file)? else {
                continue;
            };
            let prev: Option<Cursor> = ctx.state("cursor").get(&file.rel)?;
            let from = prev
                .filter(|c| {
                    c.offset <= text.len()
                        && text.is_char_boundary(c.offset)
                        && hash16(&text.as_bytes()[..c.offset]) == c.hash
                })
                .map_or(0, |c| c.offset);
            let mut offset = from;
            for (para, end) in paragraphs(&text).into_iter().filter(|(_, end)| *end > from) {
                offset = end;
                let raw_ref = format!("{}#{}", file.rel, hash16(para.as_bytes()));
                ctx.emit(
                    Braindump { text: para }
                        .at(file.stamp.timestamp())
                        .raw_ref(raw_ref),
                )?;
            }
            ctx.flush()?;
            ctx.state("cursor").set(
                &file.rel,
                &Cursor {
                    offset,
                    hash: hash16(&text.as_bytes()[..offset]),
                },
            )?;
            ctx.done(&file)?;
        }
        Ok(())
    }
}

openclone_guest::export_plugin!(BraindumpInbox);

#[cfg(test)]
mod tests {
    use super::paragraphs;

    #[test]
    fn paragraphs_and_their_ends() {
        let p = paragraphs("one\nline two\n\n\nthree\n");
        assert_eq!(
            p,
            [("one\nline two".to_owned(), 13), ("three".to_owned(), 21)]
        );
    }
}
