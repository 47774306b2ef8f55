//! Structure escaping: captured text can never forge the vault's own structure and makes
//! Obsidian load or run nothing (CONTRACT.md, "Sanitization": a line that would start a
//! heading, a front-matter fence, an entry marker or raw HTML is escaped; captured text
//! makes Obsidian load or run nothing).
//!
//! Hand-written on purpose: no Markdown library offers "escape this text so it stays one
//! paragraph"; the rules below are the CommonMark block starts plus what Obsidian and its
//! common plugins act on: Obsidian's `%%` comments, `$$` math and `![` embeds, Templater's
//! `<% … %>` commands (found in the raw file text, not the rendered Markdown) and
//! Dataview's inline queries (a code span or code block whose text, trimmed, starts with
//! `=` or `$=`).

use std::borrow::Cow;

/// Escapes one line of captured text so that, wherever it stands (paragraph, list item,
/// block quote), it opens no heading, fence, thematic break, setext underline, HTML block,
/// math block or comment, holds no raw HTML and no Templater command, and cannot start or
/// continue a Dataview inline query.
///
/// CONTRACT.md, "Sanitization": a line that would start a heading, a front-matter fence,
/// an entry marker or raw HTML is escaped. Container prefixes (`>` quotes, `-`/`*`/`+`/`1.`
/// list markers, indentation) are kept, so quotes and lists in notes still render; the
/// first character after them that could open a block gets a backslash. If the line's
/// content, after any whitespace, starts with `=` or `$=`, that `=` or `$` gets the
/// backslash instead: the line may continue a code span opened at the end of the line
/// before (CommonMark joins its lines with a space, Dataview trims it), or be the first
/// line of an indented code block (Dataview evaluates inline queries in code blocks too).
/// Then everything [`escape_html`] does.
pub fn escape_line(line: &str) -> Cow<'_, str> {
    let start = content_start(line);
    let rest = &line[start..];
    let content = line.len() - rest.trim_start_matches(dataview_space).len();
    let lead = if starts_query(&line[content..]) {
        Some(content)
    } else if rest.chars().next().is_some_and(opens_block) {
        Some(start)
    } else {
        None
    };
    escape(line, lead)
}

/// Escapes what is dangerous anywhere in a line, not only at its start (CONTRACT.md,
/// "Sanitization": captured text makes Obsidian load or run nothing):
/// - every `<` becomes the entity `&lt;`: no raw HTML (`<img src=…>`, `<iframe>`), no
///   autolink, no forged marker, and no Templater command: Templater runs `<% … %>`
///   (`<%*`, `<%+`, `<%-`, `<%_`) found in the raw text of a new file, where a backslash
///   would not help, while the entity leaves no `<` byte and still renders as `<`;
/// - every `%` of a run of two or more gets a backslash (`%%` becomes `\%\%`): no Obsidian
///   comment hiding what follows, and no `%%` bytes left in the file;
/// - every `$` of a run of two or more gets a backslash (`$$` becomes `\$\$`): no display
///   math, which Obsidian opens mid-line too and lets run over blank lines;
/// - every `![` becomes `!\[`: a remote image `![](https://…)` stays a plain link and an
///   embed `![[note]]` a plain wikilink (wikilinks stay live: they only link inside the
///   vault);
/// - a backtick run followed by any whitespace (Unicode, as Rust's `trim_start`, plus
///   U+FEFF, which JavaScript's `trim` also removes) and then `=` or `$=` gets a backslash
///   before that `=` or `$`: the code span, if one opens, starts with `\`, so Dataview's
///   default inline query (`=`) and inline JavaScript (`$=`) prefixes never match. The
///   backslash follows a backtick or whitespace, so no captured backslash can cancel it
///   (escaping the backticks could be: `\` before `` \` `` leaves a live backtick).
///   Custom Dataview prefixes are not covered.
///
/// For text that does not start a line, such as a value after `- Label: `.
pub fn escape_html(text: &str) -> Cow<'_, str> {
    escape(text, None)
}

/// The single pass behind [`escape_line`] and [`escape_html`]; `lead` is the byte offset
/// of the line-start character that gets a backslash, if any.
fn escape(text: &str, lead: Option<usize>) -> Cow<'_, str> {
    let risky = |b: u8| matches!(b, b'<' | b'%' | b'$' | b'!' | b'`');
    if lead.is_none() && !text.bytes().any(risky) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut query = lead;
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        let rest = &text[i..];
        let marked = query == Some(i);
        if marked {
            query = None;
        }
        match c {
            '<' => out.push_str("&lt;"),
            '%' | '$' => {
                let run = rest.bytes().take_while(|&b| b == c as u8).count();
                if run > 1 {
                    for _ in 0..run {
                        out.push('\\');
                        out.push(c);
                    }
                    i += run;
                    continue;
                }
                if marked {
                    out.push('\\');
                }
                out.push(c);
            }
            '`' => {
                let run = rest.bytes().take_while(|&b| b == b'`').count();
                let after = &rest[run..];
                let gap = after.len() - after.trim_start_matches(dataview_space).len();
                if starts_query(&after[gap..]) {
                    query = Some(i + run + gap);
                }
                if marked {
                    out.push('\\');
                }
                out.push_str(&rest[..run]);
                i += run;
                continue;
            }
            '!' if rest.starts_with("![") => out.push_str("!\\"),
            _ => {
                if marked {
                    out.push('\\');
                }
                out.push(c);
            }
        }
        i += c.len_utf8();
    }
    Cow::Owned(out)
}

/// Whether `text` starts with one of Dataview's default inline prefixes: `=` (a query) or
/// `$=` (JavaScript).
fn starts_query(text: &str) -> bool {
    text.starts_with('=') || text.starts_with("$=")
}

/// Whitespace that may stand between a code span's backticks and a Dataview prefix:
/// Dataview trims the code's text with JavaScript's `String.prototype.trim`. Unicode
/// `White_Space` (what Rust's `trim_start` removes) plus U+FEFF, which JavaScript also
/// trims, and U+180E, which older JavaScript engines trimmed.
fn dataview_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{feff}' | '\u{180e}')
}

/// Characters that can open a block (or a setext underline) at the start of a line; `<`,
/// `%%` and `$$` are escaped wherever they stand, but a single `$` is listed here too.
fn opens_block(c: char) -> bool {
    matches!(c, '#' | '`' | '~' | '=' | '-' | '_' | '*' | '+' | '|' | '$')
}

/// Byte offset after leading whitespace and container markers (`>`, bullet and ordered
/// list markers followed by a space or the end of the line). A thematic break (`- - -`)
/// and a `-` with nothing after it (a setext underline under a paragraph line) are no
/// markers: their first character is the one a block start escape goes to.
fn content_start(line: &str) -> usize {
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let spaced = |j: usize| j >= b.len() || b[j] == b' ' || b[j] == b'\t';
        let quote = i < b.len() && b[i] == b'>';
        let bullet = i < b.len()
            && matches!(b[i], b'-' | b'*' | b'+')
            && spaced(i + 1)
            && !thematic_break(&b[i..])
            && !(b[i] == b'-' && b[i + 1..].iter().all(|&x| x == b' ' || x == b'\t'));
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

/// Whether `b` is a thematic break (`- - -`, `***`): three or more of one of `-`, `*`, `_`
/// and nothing but spaces and tabs. Such a line is no list of empty items (CommonMark
/// gives the break precedence), so its first character is escaped like a block start.
fn thematic_break(b: &[u8]) -> bool {
    let Some(&c) = b.first() else { return false };
    matches!(c, b'-' | b'*' | b'_')
        && b.iter().all(|&x| x == c || x == b' ' || x == b'\t')
        && b.iter().filter(|&&x| x == c).count() >= 3
}

/// Escapes text meant for one line (a list value or a heading): newlines become spaces,
/// then [`escape_line`] (CONTRACT.md, "Sanitization").
pub fn escape_inline(text: &str) -> Cow<'_, str> {
    if text.contains('\n') {
        Cow::Owned(escape_line(&text.replace('\n', " ")).into_owned())
    } else {
        escape_line(text)
    }
}

#[cfg(test)]
mod tests {
    use super::{escape_html, escape_line};

    #[test]
    fn block_starts_are_escaped_behind_containers() {
        assert_eq!(escape_line("# Title"), "\\# Title");
        assert_eq!(escape_line("---"), "\\---");
        assert_eq!(escape_line("   ```rust"), "   \\```rust");
        assert_eq!(escape_line("> - # x"), "> - \\# x");
        assert_eq!(escape_line("12. ~~~"), "12. \\~~~");
        assert_eq!(escape_line("> ~~~dataviewjs"), "> \\~~~dataviewjs");
        assert_eq!(escape_line("$$"), "\\$\\$");
        assert_eq!(escape_line("$5 today"), "\\$5 today");
        assert_eq!(
            escape_line("<!-- openclone:entry -->"),
            "&lt;!-- openclone:entry -->"
        );
        assert_eq!(escape_line("a <b> c %% d"), "a &lt;b> c \\%\\% d");
        assert_eq!(escape_line("plain text - ok"), "plain text - ok");
        assert_eq!(escape_line("- item"), "- item");
        assert_eq!(escape_line("- - -"), "\\- - -");
        assert_eq!(escape_line("> * * *"), "> \\* * *");
        assert_eq!(escape_line("- - x"), "- - x");
        assert_eq!(escape_line("-"), "\\-");
        assert_eq!(escape_line("> - "), "> \\- ");
    }

    #[test]
    fn nothing_in_a_line_loads_or_runs() {
        assert_eq!(
            escape_line("see ![](https://tracker.example/p.png) and ![[Secret note]]"),
            "see !\\[](https://tracker.example/p.png) and !\\[[Secret note]]"
        );
        assert_eq!(
            escape_line("total `= this.file.size` and `$= dv.pages().length`"),
            "total `\\= this.file.size` and `\\$= dv.pages().length`"
        );
        assert_eq!(escape_line("code `x = 1` stays"), "code `x = 1` stays");
        assert_eq!(escape_line("[[Wikilink]] stays"), "[[Wikilink]] stays");
        assert_eq!(
            escape_line("a single % and $ stay"),
            "a single % and $ stay"
        );
    }

    #[test]
    fn templater_commands_keep_no_opening_tag() {
        for cmd in [
            "<% tp.file.title %>",
            "<%* await tp.system.prompt(\"x\") %>",
            "<%+ tp.date.now() %>",
            "<%- x -%>",
            "<%_ x _%>",
            "a<%b",
            "\\<%* x %>",
        ] {
            let out = escape_line(cmd);
            assert!(!out.contains("<%"), "{cmd:?} -> {out:?}");
            assert!(!out.contains('<'), "{cmd:?} -> {out:?}");
        }
        assert_eq!(escape_line("<%* tR += \"x\" %>"), "&lt;%* tR += \"x\" %>");
        assert_eq!(escape_html("if a < b"), "if a &lt; b");
    }

    #[test]
    fn dataview_prefixes_are_found_behind_any_whitespace() {
        for (text, want) in [
            ("`  = this.file.name`", "`  \\= this.file.name`"),
            ("`\t$= dv.x`", "`\t\\$= dv.x`"),
            ("`\u{a0}= x`", "`\u{a0}\\= x`"),
            ("`\u{3000}\u{2003}= x`", "`\u{3000}\u{2003}\\= x`"),
            ("`\u{feff}$= x`", "`\u{feff}\\$= x`"),
            ("``  = x``", "``  \\= x``"),
            ("x \\`= x`", "x \\`\\= x`"),
        ] {
            assert_eq!(escape_html(text), want, "{text:?}");
        }
        assert_eq!(
            escape_line("\u{a0}= this.file.name`"),
            "\u{a0}\\= this.file.name`"
        );
        assert_eq!(escape_line("> \u{2003}$= dv.x`"), "> \u{2003}\\$= dv.x`");
        assert_eq!(escape_line("    = x"), "    \\= x");
    }

    #[test]
    fn runs_of_percent_and_dollar_leave_no_pair() {
        assert_eq!(escape_html("%%%"), "\\%\\%\\%");
        assert_eq!(escape_html("a $$x$$ b"), "a \\$\\$x\\$\\$ b");
        for text in ["%%%", "\\%%", "%%%%%", "$$$", "\\$$"] {
            let out = escape_html(text);
            assert!(
                !out.contains("%%") && !out.contains("$$"),
                "{text:?} -> {out:?}"
            );
        }
    }
}
