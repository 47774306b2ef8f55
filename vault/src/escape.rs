//! Structure escaping: captured text can never forge the vault's own structure
//! (CONTRACT.md, "Sanitization": a line that would start a heading, a front-matter fence,
//! an entry marker or raw HTML is escaped).
//!
//! Hand-written on purpose: no Markdown library offers "escape this text so it stays one
//! paragraph"; the rules below are the CommonMark block starts plus Obsidian's `%%`/`$$`.

use std::borrow::Cow;

/// Escapes one line of captured text so that, wherever it stands (paragraph, list item,
/// block quote), it opens no heading, fence, thematic break, setext underline, HTML block,
/// math block or comment, and holds no raw HTML.
///
/// Container prefixes (`>` quotes, `-`/`*`/`+`/`1.` list markers, indentation) are kept, so
/// quotes and lists in notes still render; the first character after them that could open
/// a block gets a backslash. Every `<` becomes `\<` and every `%%` becomes `\%\%`.
pub fn escape_line(line: &str) -> Cow<'_, str> {
    let start = content_start(line);
    let rest = &line[start..];
    let lead = rest.chars().next().is_some_and(opens_block) || rest.starts_with("$$");
    if !lead {
        return escape_html(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    out.push_str(&line[..start]);
    out.push('\\');
    out.push_str(rest);
    Cow::Owned(escape_html(&out).into_owned())
}

/// Escapes what is dangerous anywhere in a line, not only at its start (issue 9: captured
/// text never makes Obsidian load or run anything):
/// - every `<` becomes `\<`: no raw HTML (`<img src=…>`, `<iframe>`), no autolink, no
///   forged marker;
/// - every `%%` becomes `\%\%`: no Obsidian comment hiding what follows;
/// - every `![` becomes `!\[`: a remote image `![](https://…)` stays a plain link and an
///   embed `![[note]]` a plain wikilink (wikilinks stay live: they only link inside the
///   vault);
/// - a backtick run that opens `` `= … ` `` or `` `$= … ` `` gets backslashes: no Dataview
///   inline query or inline JavaScript runs.
///
/// For text that does not start a line, such as a value after `- Label: `.
pub fn escape_html(text: &str) -> Cow<'_, str> {
    if !text.contains('<') && !text.contains("%%") && !text.contains("![") && !text.contains('`') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let n = c.len_utf8();
        match c {
            '<' => out.push_str("\\<"),
            '%' if rest.starts_with("%%") => {
                out.push_str("\\%\\%");
                rest = &rest[2..];
                continue;
            }
            '!' if rest.starts_with("![") => out.push_str("!\\"),
            '`' => {
                let run = rest.bytes().take_while(|&b| b == b'`').count();
                let after = rest[run..].strip_prefix(' ').unwrap_or(&rest[run..]);
                let query = after.starts_with('=') || after.starts_with("$=");
                for _ in 0..run {
                    out.push_str(if query { "\\`" } else { "`" });
                }
                rest = &rest[run..];
                continue;
            }
            _ => out.push(c),
        }
        rest = &rest[n..];
    }
    Cow::Owned(out)
}

/// Characters that can open a block (or a setext underline) at the start of a line; `<`
/// and `%%` are escaped wherever they stand, so they are not listed here.
fn opens_block(c: char) -> bool {
    matches!(c, '#' | '`' | '~' | '=' | '-' | '_' | '*' | '+' | '|' | '$')
}

/// Byte offset after leading whitespace and container markers (`>`, bullet and ordered
/// list markers followed by a space or the end of the line).
fn content_start(line: &str) -> usize {
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let spaced = |j: usize| j >= b.len() || b[j] == b' ' || b[j] == b'\t';
        let quote = i < b.len() && b[i] == b'>';
        let bullet = i < b.len() && matches!(b[i], b'-' | b'*' | b'+') && spaced(i + 1);
        if quote || bullet {
            i += 1;
        } else {
            let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            if (1..=9).contains(&digits)
                && i + digits < b.len()
                && matches!(b[i + digits], b'.' | b')')
                && spaced(i + digits + 1)
            {
                i += digits + 1;
            } else {
                return i;
            }
        }
    }
}

/// Escapes text meant for one line (a list value or a heading): newlines become spaces,
/// then [`escape_line`].
pub fn escape_inline(text: &str) -> Cow<'_, str> {
    if text.contains('\n') {
        Cow::Owned(escape_line(&text.replace('\n', " ")).into_owned())
    } else {
        escape_line(text)
    }
}

#[cfg(test)]
mod tests {
    use super::escape_line;

    #[test]
    fn block_starts_are_escaped_behind_containers() {
        assert_eq!(escape_line("# Title"), "\\# Title");
        assert_eq!(escape_line("---"), "\\---");
        assert_eq!(escape_line("   ```rust"), "   \\```rust");
        assert_eq!(escape_line("> - # x"), "> - \\# x");
        assert_eq!(escape_line("12. ~~~"), "12. \\~~~");
        assert_eq!(
            escape_line("<!-- openclone:entry -->"),
            "\\<!-- openclone:entry -->"
        );
        assert_eq!(escape_line("a <b> c %% d"), "a \\<b> c \\%\\% d");
        assert_eq!(escape_line("plain text - ok"), "plain text - ok");
        assert_eq!(escape_line("- item"), "- item");
    }

    #[test]
    fn nothing_in_a_line_loads_or_runs() {
        assert_eq!(
            escape_line("see ![](https://tracker.example/p.png) and ![[Secret note]]"),
            "see !\\[](https://tracker.example/p.png) and !\\[[Secret note]]"
        );
        assert_eq!(
            escape_line("total `= this.file.size` and `$= dv.pages().length`"),
            "total \\`= this.file.size` and \\`$= dv.pages().length`"
        );
        assert_eq!(escape_line("code `x = 1` stays"), "code `x = 1` stays");
        assert_eq!(escape_line("[[Wikilink]] stays"), "[[Wikilink]] stays");
    }
}
