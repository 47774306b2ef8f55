//! Reading a daily file back into entries, for search and the day timeline: the host's
//! entries (heading, body, marker; [`crate::render`]) and the person's own text between
//! them (CONTRACT.md, "The vault": a person may write anywhere in a daily file).
//!
//! Hand-written on purpose: the format is this crate's own ([`crate::render`]), which no
//! Markdown library knows; a CommonMark parser would see the headings but not which ones the
//! host wrote (only a heading closed by an entry marker is the host's).

/// Who wrote an entry: the host (its marker's fields) or the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    /// A host entry, closed by its marker line.
    Host(Marker),
    /// Text the person wrote between entries (or a heading of theirs with no marker).
    Person,
}

/// The fields of an entry marker (`<!-- openclone:entry v=1 key=… source=… plugin=id@version
/// device=… -->`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The dedup key, 64 hex digits.
    pub key: String,
    /// The source type (`braindump`, …).
    pub source: String,
    /// The plugin id.
    pub plugin: String,
    /// The capturing device.
    pub device: String,
}

/// One entry of a daily file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line of its heading (a host entry) or its first non-blank line (own text).
    pub line: u32,
    /// `HH:MM:SS` of its heading; for own text, that of the host entry before it (empty
    /// before the first).
    pub time: String,
    /// `HH:MM:SS` where a session heading ends (`## 09:12:03–09:47:10 · Firefox`).
    pub end: Option<String>,
    /// The heading's label after ` · ` (the plugin id, or the app or site of a session);
    /// empty for own text.
    pub title: String,
    /// The body, readable: the structure escapes of [`crate::escape`] undone.
    pub text: String,
    /// Who wrote it.
    pub author: Author,
}

/// Where a read starts: the whole file, or after what an earlier read consumed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Start {
    /// Lines before the text (0 for a whole file).
    pub lines: u32,
    /// The time of the last host entry before the text (empty for a whole file).
    pub time: String,
    /// The text continues a file: no front matter or title is looked for.
    pub continued: bool,
}

/// What a read found, and how far it got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Read {
    /// The entries, in file order.
    pub entries: Vec<Entry>,
    /// Bytes of the text consumed: everything up to the last complete line, less a host
    /// heading no marker has closed yet (an append being written), which the next read
    /// starts with.
    pub consumed: usize,
    /// Where a read of the rest starts.
    pub next: Start,
}

/// The entries of daily file `text` (all of it: [`Start::default`]). The front matter and
/// the `# Folder — date` title are not entries; blank own text is dropped. Never fails: a
/// line that is not the host's structure is the person's text.
pub fn entries(text: &str) -> Vec<Entry> {
    read(text, &Start::default()).entries
}

/// Reads `text` from `start` (see [`Read`]).
pub fn read(text: &str, start: &Start) -> Read {
    // A byte-order mark an editor put at the very start of the file.
    let bom = if start.continued {
        0
    } else {
        text.len() - text.trim_start_matches('\u{feff}').len()
    };
    let mut read = read_from(&text[bom..], start);
    if read.consumed > 0 {
        read.consumed += bom;
    }
    read
}

fn read_from(text: &str, start: &Start) -> Read {
    let mut out = Vec::new();
    // Complete lines only, with the byte offset after each.
    let mut lines = text
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .scan(0usize, |at, l| {
            *at += l.len();
            Some((*at, l.trim_end_matches('\n').trim_end_matches('\r')))
        })
        .peekable();
    let mut n = start.lines;
    let mut consumed = 0;
    let front_matter = !start.continued && lines.peek().is_some_and(|(_, l)| *l == "---");
    if front_matter {
        lines.next();
        n += 1;
        for (at, l) in lines.by_ref() {
            n += 1;
            consumed = at;
            if l == "---" {
                break;
            }
        }
    }
    let mut time = start.time.clone();
    let mut pending: Vec<(u32, &str)> = Vec::new();
    // An open host heading: its line, its byte offset, its line count before it, its parts
    // and body.
    let mut open: Option<(u32, usize, u32, Heading<'_>, Vec<&str>)> = None;
    let mut titled = !front_matter;
    let mut before = consumed;
    for (at, line) in lines {
        n += 1;
        let line_start = before;
        before = at;
        if !titled
            && open.is_none()
            && line.starts_with("# ")
            && pending.iter().all(|p| p.1.trim().is_empty())
        {
            titled = true;
            consumed = at;
            continue;
        }
        if let Some(h) = heading(line) {
            if let Some((at_line, _, _, h, body)) = open.take() {
                // A heading of the person's: no marker closed it.
                pending.push((at_line, h.raw));
                pending.extend(body.iter().map(|l| (at_line, *l)));
            }
            flush_person(&mut out, &mut pending, &time);
            consumed = line_start;
            open = Some((n, line_start, n - 1, h, Vec::new()));
            continue;
        }
        match (&mut open, marker(line)) {
            (Some(_), Some(m)) => {
                if let Some((at_line, _, _, h, body)) = open.take() {
                    time = h.time.to_owned();
                    out.push(Entry {
                        line: at_line,
                        time: h.time.to_owned(),
                        end: h.end.map(str::to_owned),
                        title: readable(h.label),
                        text: readable(body.join("\n").trim()),
                        author: Author::Host(m),
                    });
                }
                consumed = at;
            }
            (Some((_, _, _, _, body)), None) => body.push(line),
            (None, _) => {
                pending.push((n, line));
                consumed = at;
            }
        }
    }
    flush_person(&mut out, &mut pending, &time);
    let lines = match &open {
        // Left for the next read: an append in progress, or a heading of the person's at
        // the very end (read once something follows it).
        Some((_, offset, lines_before, _, _)) => {
            consumed = *offset;
            *lines_before
        }
        None => n,
    };
    Read {
        entries: out,
        consumed,
        next: Start {
            lines,
            time,
            continued: true,
        },
    }
}

/// A host entry's place in a daily file's bytes: what [`crate::forget`] cuts out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpan {
    /// From the start of its heading line to after its marker line's line break.
    pub bytes: std::ops::Range<usize>,
    /// `HH:MM:SS` of its heading (a session's start).
    pub time: String,
    /// Its marker's fields.
    pub marker: Marker,
}

/// The host entries of a daily file, found as [`read`] finds them (a host heading closed by
/// a marker line with no heading between; front matter and an incomplete last line are
/// not looked in), but over bytes: a line that is not UTF-8 is the person's text or a
/// body line, and every byte outside the spans stays exactly as it is when a file is
/// rewritten without some of them.
pub fn host_spans(bytes: &[u8]) -> Vec<HostSpan> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    let mut at = 0;
    let mut front_matter = None;
    for raw in bytes.split_inclusive(|&b| b == b'\n') {
        let start = at;
        at += raw.len();
        if !raw.ends_with(b"\n") {
            break;
        }
        let line = std::str::from_utf8(raw)
            .ok()
            .map(|l| l.trim_end_matches('\n').trim_end_matches('\r'));
        let line = if start == 0 {
            line.map(|l| l.trim_start_matches('\u{feff}'))
        } else {
            line
        };
        match front_matter {
            None => {
                front_matter = Some(line == Some("---"));
                if line == Some("---") {
                    continue;
                }
            }
            Some(true) => {
                if line == Some("---") {
                    front_matter = Some(false);
                }
                continue;
            }
            Some(false) => {}
        }
        let Some(line) = line else { continue };
        if let Some(h) = heading(line) {
            open = Some((start, h.time.to_owned()));
        } else if let Some(m) = marker(line)
            && let Some((from, time)) = open.take()
        {
            out.push(HostSpan {
                bytes: from..at,
                time,
                marker: m,
            });
        }
    }
    out
}

/// A host heading's parts: `## HH:MM:SS[–HH:MM:SS] · label`.
struct Heading<'a> {
    time: &'a str,
    end: Option<&'a str>,
    label: &'a str,
    raw: &'a str,
}

fn is_clock(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 8
        && b[2] == b':'
        && b[5] == b':'
        && [0, 1, 3, 4, 6, 7].iter().all(|&i| b[i].is_ascii_digit())
}

fn heading(line: &str) -> Option<Heading<'_>> {
    let rest = line.strip_prefix("## ")?;
    let time = rest.get(..8).filter(|t| is_clock(t))?;
    let rest = &rest[8..];
    let (end, rest) = match rest.strip_prefix('–') {
        Some(r) => (Some(r.get(..8).filter(|t| is_clock(t))?), &r[8..]),
        None => (None, rest),
    };
    let label = rest.strip_prefix(" · ")?;
    Some(Heading {
        time,
        end,
        label,
        raw: line,
    })
}

/// The fields of a marker line, if it is one.
fn marker(line: &str) -> Option<Marker> {
    let rest = line
        .strip_prefix(crate::render::MARKER_PREFIX)?
        .strip_suffix("-->")?;
    let field = |name: &str| {
        rest.split_whitespace()
            .find_map(|t| t.strip_prefix(name))
            .map(str::to_owned)
    };
    let plugin = field("plugin=")?;
    Some(Marker {
        key: field("key=")?,
        source: field("source=")?,
        plugin: plugin.split('@').next().unwrap_or_default().to_owned(),
        device: field("device=").unwrap_or_default(),
    })
}

/// Ends a run of the person's lines as one entry, unless it is blank. Lines of a heading
/// the host did not close carry that heading's line number; the entry starts at the first
/// line with text.
fn flush_person(out: &mut Vec<Entry>, pending: &mut Vec<(u32, &str)>, time: &str) {
    let first = pending
        .iter()
        .find(|(_, l)| !l.trim().is_empty())
        .map(|p| p.0);
    if let Some(line) = first {
        let text: Vec<&str> = pending.iter().map(|p| p.1).collect();
        out.push(Entry {
            line,
            time: time.to_owned(),
            end: None,
            title: String::new(),
            text: readable(text.join("\n").trim()),
            author: Author::Person,
        });
    }
    pending.clear();
}

/// `text` with the structure escapes of [`crate::escape`] undone, as a person reads it in
/// Obsidian: `&lt;` is `<`, and a backslash before ASCII punctuation is dropped.
pub fn readable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '&' && text[i..].starts_with("&lt;") {
            out.push('<');
            for _ in 0..3 {
                chars.next();
            }
        } else if c == '\\' && chars.peek().is_some_and(|(_, n)| n.is_ascii_punctuation()) {
            continue;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Author, Start, entries, read, readable};

    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn file(body: &str) -> String {
        format!(
            "---\ncreated_by: openclone\nfolder: Braindump\ndate: 2024-02-18\n---\n\n# Braindump — 2024-02-18\n{body}"
        )
    }

    #[test]
    fn host_entries_and_the_persons_text_between_them() {
        let text = file(&format!(
            "\n## 12:20:00 · my-plugin\n\nHello \\# world &lt;b>\n\n<!-- openclone:entry v=1 key={KEY} source=braindump plugin=my-plugin@1.0.0 device=d1 -->\n\nMy own paragraph.\n\nAnd another.\n\n## 09:12:03–09:47:10 · Firefox\n\n- Title: x\n\n<!-- openclone:entry v=1 key={KEY} source=activity plugin=aw@0.1.0 device=d1 -->\n"
        ));
        let e = entries(&text);
        assert_eq!(e.len(), 3, "{e:#?}");
        assert_eq!(e[0].line, 9);
        assert_eq!(
            (e[0].time.as_str(), e[0].title.as_str()),
            ("12:20:00", "my-plugin")
        );
        assert_eq!(e[0].text, "Hello # world <b>");
        let Author::Host(m) = &e[0].author else {
            panic!("host entry")
        };
        assert_eq!(
            (m.source.as_str(), m.plugin.as_str(), m.device.as_str()),
            ("braindump", "my-plugin", "d1")
        );
        assert_eq!(e[1].author, Author::Person);
        assert_eq!(e[1].line, 15);
        assert_eq!(e[1].time, "12:20:00");
        assert_eq!(e[1].text, "My own paragraph.\n\nAnd another.");
        assert_eq!(e[2].end.as_deref(), Some("09:47:10"));
        assert_eq!(e[2].title, "Firefox");
    }

    #[test]
    fn a_heading_without_a_marker_is_the_persons_and_crlf_is_read() {
        let text = file(&format!(
            "\n## 10:00:00 · my own heading\nnotes\n\n## 11:00:00 · p\n\nx\n\n<!-- openclone:entry v=1 key={KEY} source=notes plugin=p@1.0.0 device=d -->\n"
        ))
        .replace('\n', "\r\n");
        let e = entries(&text);
        assert_eq!(e.len(), 2, "{e:#?}");
        assert_eq!(e[0].author, Author::Person);
        assert!(
            e[0].text.contains("my own heading") && e[0].text.contains("notes"),
            "{e:#?}"
        );
        assert_eq!(e[1].text, "x");
    }

    #[test]
    fn an_append_in_progress_is_left_for_the_next_read() {
        let done = file(&format!(
            "\n## 12:00:00 · p\n\na\n\n<!-- openclone:entry v=1 key={KEY} source=notes plugin=p@1.0.0 device=d -->\n"
        ));
        let partial = format!("{done}\n## 12:30:00 · p\n\nhalf");
        let r = read(&partial, &Start::default());
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.consumed, done.len() + 1, "up to the open heading");
        let whole = format!(
            "{partial} and the rest\n\n<!-- openclone:entry v=1 key={KEY} source=notes plugin=p@1.0.0 device=d -->\n"
        );
        let rest = read(&whole[r.consumed..], &r.next);
        assert_eq!(rest.entries.len(), 1, "{rest:#?}");
        let e = &rest.entries[0];
        assert_eq!(
            (e.time.as_str(), e.text.as_str()),
            ("12:30:00", "half and the rest")
        );
        assert_eq!(e.line, entries(&whole)[1].line);
        assert_eq!(rest.consumed, whole.len() - r.consumed);
    }

    #[test]
    fn a_file_without_front_matter_or_entries_is_one_text() {
        let e = entries("# My title\njust a line\n\nand more\n");
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].line, e[0].text.as_str()),
            (1, "# My title\njust a line\n\nand more")
        );
        assert!(entries("").is_empty());
    }

    #[test]
    fn a_bom_from_an_editor_does_not_hide_the_front_matter() {
        let text = format!(
            "\u{feff}{}",
            file(&format!("\r\n## 10:00:00 · p\r\n\r\nx\r\n\r\n<!-- openclone:entry v=1 key={KEY} source=notes plugin=p@1.0.0 device=d -->\r\n"))
                .replace('\n', "\r\n")
                .replace("\r\r", "\r")
        );
        let r = read(&text, &Start::default());
        assert_eq!(r.entries.len(), 1, "{r:#?}");
        assert_eq!(r.entries[0].text, "x");
        assert_eq!(r.consumed, text.len());
    }

    #[test]
    fn readable_undoes_the_escapes() {
        assert_eq!(
            readable("\\# a &lt;b> \\%\\% !\\[x] c\\d"),
            "# a <b> %% ![x] c\\d"
        );
    }
}
