//! `shell-history`: each command of zsh (extended), bash (with `HISTTIMEFORMAT`
//! timestamps) and fish history files as an `activity` event: `app_name` = the program,
//! `category` = `shell`, the command line as `text` (the host's secret redaction applies),
//! `duration` where the format records it (zsh).
//!
//! The three formats are parsed by hand: each is a one-to-three-line record grammar
//! (`: <start>:<elapsed>;<command>`, `#<time>` + command, `- cmd:`/`  when:`), and no
//! maintained crate parses them for `wasm32-wasip2`.
//!
//! A cursor per file keeps the byte offset read so far, so a pass emits only the commands
//! appended since; a file that was rewritten (its first bytes changed, or it shrank) is
//! read again from the start, and `raw_ref` (`<shell>:<time>:<hash of the command>`) keeps
//! that from duplicating anything.
//!
//! An event's time is the time the shell recorded for the command; a command without one
//! (plain bash history, plain zsh lines) is not stored but counted in one report line per
//! file: the file's time would date every command at the last one.

use openclone_guest::prelude::*;
use sha2::{Digest, Sha256};

/// The plugin.
pub struct ShellHistory;

/// Which shell wrote a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// `: 1700000000:5;cmd` lines.
    Zsh,
    /// `#1700000000` then the command.
    Bash,
    /// `- cmd: …` / `  when: …` records.
    Fish,
}

impl Shell {
    fn name(self) -> &'static str {
        match self {
            Self::Zsh => "zsh",
            Self::Bash => "bash",
            Self::Fish => "fish",
        }
    }

    /// How to make this shell record each command's time.
    fn timestamps_hint(self) -> &'static str {
        match self {
            Self::Zsh => "setopt EXTENDED_HISTORY",
            Self::Bash => "export HISTTIMEFORMAT='%F %T '",
            Self::Fish => "fish records them unless the file was edited by hand",
        }
    }

    /// Guesses the format from the file name, else from the first record.
    pub fn detect(name: &str, text: &str) -> Option<Self> {
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default();
        if first.starts_with(": ")
            && first[2..]
                .split(':')
                .next()
                .is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()))
        {
            Some(Self::Zsh)
        } else if first.starts_with("- cmd:") {
            Some(Self::Fish)
        } else if first.starts_with('#') && first[1..].trim().chars().all(|c| c.is_ascii_digit())
            || name.contains("bash")
        {
            Some(Self::Bash)
        } else if name.contains("zsh") {
            Some(Self::Zsh)
        } else if name.contains("fish") {
            Some(Self::Fish)
        } else {
            None
        }
    }
}

/// One command.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The command line.
    pub line: String,
    /// Unix seconds, if recorded.
    pub time: Option<f64>,
    /// Seconds it ran (zsh `elapsed`).
    pub duration: Option<f64>,
    /// Byte offset just past the record.
    pub end: usize,
}

/// zsh "metafies" bytes above 0x80: 0x83 followed by the byte XOR 32.
fn unmetafy(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut meta = false;
    for &b in bytes {
        if meta {
            out.push(b ^ 32);
            meta = false;
        } else if b == 0x83 {
            meta = true;
        } else {
            out.push(b);
        }
    }
    out
}

/// Lines with their end offsets (past the `\n`).
fn lines(text: &str) -> impl Iterator<Item = (&str, usize)> {
    let mut pos = 0;
    text.split_inclusive('\n').map(move |l| {
        pos += l.len();
        (l.trim_end_matches(['\n', '\r']), pos)
    })
}

/// Parses a whole history file.
pub fn parse(shell: Shell, text: &str) -> Vec<Command> {
    let mut out: Vec<Command> = Vec::new();
    match shell {
        Shell::Zsh => {
            let mut continued = false;
            for (line, end) in lines(text) {
                if continued && let Some(last) = out.last_mut() {
                    last.line.push('\n');
                    last.line.push_str(line.trim_end_matches('\\'));
                    last.end = end;
                    continued = line.ends_with('\\');
                    continue;
                }
                let Some((head, cmd)) = line.strip_prefix(": ").and_then(|r| r.split_once(';'))
                else {
                    if !line.trim().is_empty() {
                        out.push(Command {
                            line: line.to_owned(),
                            time: None,
                            duration: None,
                            end,
                        });
                    }
                    continue;
                };
                let (start, elapsed) = head.split_once(':').unwrap_or((head, "0"));
                continued = cmd.ends_with('\\');
                out.push(Command {
                    line: cmd.trim_end_matches('\\').to_owned(),
                    time: start.trim().parse().ok(),
                    duration: elapsed.trim().parse().ok(),
                    end,
                });
            }
        }
        Shell::Bash => {
            let mut time = None;
            for (line, end) in lines(text) {
                if let Some(t) = line
                    .strip_prefix('#')
                    .and_then(|t| t.trim().parse::<f64>().ok())
                {
                    time = Some(t);
                } else if !line.trim().is_empty() {
                    out.push(Command {
                        line: line.to_owned(),
                        time: time.take(),
                        duration: None,
                        end,
                    });
                }
            }
        }
        Shell::Fish => {
            for (line, end) in lines(text) {
                if let Some(cmd) = line.strip_prefix("- cmd: ") {
                    out.push(Command {
                        line: cmd.replace("\\n", "\n").replace("\\\\", "\\"),
                        time: None,
                        duration: None,
                        end,
                    });
                } else if let Some(when) = line.trim_start().strip_prefix("when: ")
                    && let Some(last) = out.last_mut()
                {
                    last.time = when.trim().parse().ok();
                    last.end = end;
                } else if line.starts_with("  ")
                    && let Some(last) = out.last_mut()
                {
                    last.end = end;
                }
            }
        }
    }
    out
}

/// The program a command line runs: the first word after `sudo`, `env`, `time`, `nice`,
/// `nohup`, `exec`, `command` and `VAR=value` assignments, without its directory.
pub fn program(line: &str) -> String {
    let wrappers = [
        "sudo", "env", "time", "nice", "nohup", "exec", "command", "builtin", "doas",
    ];
    line.split_whitespace()
        .find(|w| !wrappers.contains(w) && !w.contains('=') && !w.starts_with('-'))
        .map(|w| {
            w.rsplit('/')
                .next()
                .unwrap_or(w)
                .trim_matches(['(', ')', '{', '}', '\'', '"'])
                .to_owned()
        })
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "shell".to_owned())
}

/// Per-file cursor: how far the file was read, and a hash of (up to 256 of) the bytes read.
#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    offset: usize,
    head: String,
}

fn head_hash(bytes: &[u8], offset: usize) -> String {
    hex::encode(&Sha256::digest(&bytes[..offset.min(256).min(bytes.len())])[..8])
}

fn name_matches(name: &str, pattern: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(suffix) => name.ends_with(suffix),
        None => name == pattern,
    }
}

impl Plugin for ShellHistory {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Activity];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let patterns: Vec<String> = ctx.config_or(
            "files",
            vec![
                ".zsh_history".into(),
                ".bash_history".into(),
                "fish_history".into(),
            ],
        )?;
        let wanted = |p: &std::path::Path| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            patterns.iter().any(|pat| name_matches(&name, pat))
        };
        for file in ctx.changed_files(true, wanted)? {
            let name = file
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = unmetafy(&std::fs::read(&file.path)?);
            let text = String::from_utf8_lossy(&bytes);
            let Some(shell) = Shell::detect(&name, &text) else {
                ctx.skip(&file, "not a zsh, bash or fish history")?;
                continue;
            };
            let cursors = ctx.bound_namespace("cursor");
            let prev: Option<Cursor> = ctx.state(&cursors).get(&file.rel)?;
            let from = prev
                .filter(|c| c.offset <= bytes.len() && c.head == head_hash(&bytes, c.offset))
                .map_or(0, |c| c.offset);
            let (mut last_end, mut untimed) = (from, 0);
            for c in parse(shell, &text).iter().filter(|c| c.end > from) {
                last_end = c.end;
                let Some(ts) = c.time else {
                    untimed += 1;
                    continue;
                };
                if !ctx.accepted(ts) {
                    continue;
                }
                let hash = hex::encode(&Sha256::digest(c.line.as_bytes())[..8]);
                let e = Activity {
                    app_name: program(&c.line),
                    duration: c.duration,
                    category: Some("shell".into()),
                    text: Some(c.line.clone()),
                }
                .at(ts)
                .raw_ref(format!("{}:{ts}:{hash}", shell.name()))
                .field("shell", shell.name());
                ctx.emit(e)?;
            }
            if untimed > 0 {
                ctx.problem(format!("{}: {untimed} command(s) without a recorded time not stored: turn on the shell's timestamps ({})", file.rel, shell.timestamps_hint()));
            }
            ctx.flush()?;
            ctx.state(&cursors).set(
                &file.rel,
                &Cursor {
                    offset: last_end,
                    head: head_hash(&bytes, last_end),
                },
            )?;
            ctx.done(&file)?;
        }
        Ok(())
    }
}

openclone_guest::export_plugin!(ShellHistory);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs() {
        assert_eq!(
            program("sudo -E FOO=1 /usr/bin/apt-get install x"),
            "apt-get"
        );
        assert_eq!(program("git status"), "git");
        assert_eq!(program("   "), "shell");
    }

    #[test]
    fn zsh_multiline_and_bash_timestamps() {
        let z = parse(
            Shell::Zsh,
            ": 1700000000:3;echo a \\\nb\n: 1700000010:0;ls\n",
        );
        assert_eq!(z.len(), 2);
        assert_eq!(
            (z[0].line.as_str(), z[0].time, z[0].duration),
            ("echo a \nb", Some(1_700_000_000.0), Some(3.0))
        );
        let b = parse(Shell::Bash, "#1700000000\ngit pull\n#1700000005\nmake\n");
        assert_eq!(
            b.iter()
                .map(|c| (c.line.as_str(), c.time))
                .collect::<Vec<_>>(),
            [
                ("git pull", Some(1_700_000_000.0)),
                ("make", Some(1_700_000_005.0))
            ]
        );
        let f = parse(
            Shell::Fish,
            "- cmd: cargo test\n  when: 1700000000\n  paths:\n    - src\n- cmd: ls\n  when: 1700000009\n",
        );
        assert_eq!(f[0].time, Some(1_700_000_000.0));
        assert_eq!(f[1].line, "ls");
    }
}
