//! `notes-markdown`: each Markdown note in the granted folders as a `notes` event — title,
//! text, tags — and an edited note again as a new version.
//!
//! - title: front matter `title`, else the first heading, else the file name;
//! - tags: front matter `tags` (a list or a comma/space separated string) and inline
//!   `#tags` outside code;
//! - text: the note without its front matter;
//! - `raw_ref` = the path in its folder + `#` + the first 16 hex digits of the content's
//!   SHA-256, so an unchanged note is never stored twice and an edited one is a new entry;
//! - an unchanged file (length and modification time) is not even read again.

use globset::{Glob, GlobSet, GlobSetBuilder};
use openclone_guest::fs::has_extension;
use openclone_guest::prelude::*;
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use sha2::{Digest, Sha256};

/// The plugin.
pub struct NotesMarkdown;

/// A note read from its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Title (front matter, first heading or file name).
    pub title: String,
    /// Body without front matter.
    pub text: String,
    /// Tags, without `#`, deduplicated, in order of appearance.
    pub tags: Vec<String>,
}

/// Splits `---` front matter from the body; returns (front matter YAML, body).
fn split_front_matter(text: &str) -> (Option<&str>, &str) {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(rest) = t
        .strip_prefix("---\n")
        .or_else(|| t.strip_prefix("---\r\n"))
    {
        for end in ["\n---\n", "\n---\r\n", "\n...\n"] {
            if let Some(i) = rest.find(end) {
                return (Some(&rest[..i]), &rest[i + end.len()..]);
            }
        }
        if let Some(body) = rest.strip_suffix("\n---").map(|fm| (fm, "")) {
            return (Some(body.0), body.1);
        }
    }
    (None, t)
}

fn push_tag(tags: &mut Vec<String>, tag: &str) {
    let tag = tag
        .trim()
        .trim_start_matches('#')
        .trim_end_matches([',', '.', ';', ':']);
    if !tag.is_empty() && !tag.chars().all(|c| c.is_ascii_digit()) && !tags.iter().any(|t| t == tag)
    {
        tags.push(tag.to_owned());
    }
}

/// Reads a note. Errors: front matter that is not YAML.
pub fn parse(text: &str, file_stem: &str) -> std::result::Result<Note, String> {
    let (front, body) = split_front_matter(text);
    let mut title = None;
    let mut tags = Vec::new();
    if let Some(yaml) = front.filter(|y| !y.trim().is_empty()) {
        let v: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(yaml).map_err(|e| format!("front matter is not YAML: {e}"))?;
        title = v.get("title").and_then(|t| t.as_str()).map(str::to_owned);
        match v.get("tags") {
            Some(serde_yaml_ng::Value::Sequence(items)) => items
                .iter()
                .filter_map(|i| i.as_str())
                .for_each(|t| push_tag(&mut tags, t)),
            Some(serde_yaml_ng::Value::String(s)) => {
                s.split([',', ' ']).for_each(|t| push_tag(&mut tags, t))
            }
            _ => {}
        }
    }
    let mut heading: Option<String> = None;
    let mut in_heading = false;
    let mut in_code = false;
    for ev in Parser::new_ext(body, Options::ENABLE_WIKILINKS) {
        match ev {
            Event::Start(Tag::Heading { level, .. })
                if heading.is_none() && level <= HeadingLevel::H6 =>
            {
                in_heading = true;
                heading = Some(String::new());
            }
            Event::End(TagEnd::Heading(_)) => in_heading = false,
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Text(t) if in_heading => heading.get_or_insert_default().push_str(&t),
            Event::Text(t) if !in_code => {
                for word in t
                    .split_whitespace()
                    .filter(|w| w.starts_with('#') && w.len() > 1)
                {
                    push_tag(&mut tags, word);
                }
            }
            _ => {}
        }
    }
    let title = title
        .or(heading.filter(|h| !h.trim().is_empty()))
        .unwrap_or_else(|| file_stem.to_owned());
    Ok(Note {
        title: title.trim().to_owned(),
        text: body.trim().to_owned(),
        tags,
    })
}

fn globs(patterns: &[String]) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| Error::Config(format!("exclude: {p:?}: {e}")))?);
    }
    b.build()
        .map_err(|e| Error::Config(format!("exclude: {e}")))
}

impl Plugin for NotesMarkdown {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Notes];

    fn init(ctx: &mut Ctx) -> Result<()> {
        globs(&ctx.config_or::<Vec<String>>("exclude", Vec::new())?).map(drop)
    }

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let exclude = globs(&ctx.config_or::<Vec<String>>("exclude", Vec::new())?)?;
        let extensions: Vec<String> =
            ctx.config_or("extensions", vec!["md".to_owned(), "markdown".to_owned()])?;
        let ext: Vec<&str> = extensions.iter().map(String::as_str).collect();
        for file in ctx.changed_files(false, |p| has_extension(p, &ext))? {
            if exclude.is_match(&file.rel) {
                continue;
            }
            let Some(text) = ctx.read_text(&file)? else {
                continue;
            };
            if text.trim().is_empty() {
                ctx.skip(&file, "empty note")?;
                continue;
            }
            let stem = file
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            match parse(&text, &stem) {
                Ok(note) => {
                    let hash = hex::encode(Sha256::digest(text.as_bytes()));
                    let event = Notes {
                        title: note.title,
                        text: note.text,
                        tags: note.tags,
                    }
                    .at(file.stamp.timestamp())
                    .raw_ref(format!("{}#{}", file.rel, &hash[..16]))
                    .field("path", file.rel.clone());
                    ctx.emit(event)?;
                    ctx.done(&file)?;
                }
                Err(e) => ctx.skip(&file, &e)?,
            }
        }
        Ok(())
    }
}

openclone_guest::export_plugin!(NotesMarkdown);

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn title_tags_and_text() {
        let n = parse("---\ntitle: Plan\ntags: [work, \"#deep\"]\n---\n# Heading\n\nSome #idea and `#notatag`?\n\n```\n#code\n```\n", "file").expect("note");
        assert_eq!(n.title, "Plan");
        assert_eq!(n.tags, ["work", "deep", "idea"]);
        assert!(n.text.starts_with("# Heading"));
        assert_eq!(
            parse("## Second level\ntext", "f").expect("note").title,
            "Second level"
        );
        assert_eq!(
            parse("just text", "my-file").expect("note").title,
            "my-file"
        );
        assert!(parse("---\n: [bad\n---\nx", "f").is_err());
    }
}
