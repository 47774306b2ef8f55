"""jrnl's plain-text journal format (jrnl 2.x to 4.x, the default `timeformat`).

An entry starts on a line `[YYYY-MM-DD HH:MM] Title` — `[2024-03-01 07:45:00 AM] Title`
with jrnl's default `%F %r`, or `[2024-03-01 07:45] Title` with `%Y-%m-%d %H:%M` — and runs
to the next such line. A date without a time (`[2024-03-02] Title`) is 09:00, jrnl's
`default_hour`. The title line ending in `*` marks the entry starred (jrnl strips spaces
and stars around it). Tags are words starting with `@` or `#` (jrnl's default
`tagsymbols`), matched and lower-cased as jrnl does. A bracketed line that starts like a
date but is not one (`[2024-02-30 08:00] …`) stays in the entry before it, as jrnl keeps
it; before the first entry it is a bad record, and so is other text there (jrnl drops it
silently).

Why a parser of our own: jrnl's reader needs `dateutil` and `parsedatetime`, and the
component's Python has only the standard library modules imported at build time
(`_strptime`, which `datetime.strptime` imports lazily, is not among them); the format is
one header rule, so a regular expression and `datetime` read it.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

_HEADER = re.compile(r"\[([^\]\n]+)\](?: |$)")
_DATE_LIKE = re.compile(r"\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?![0-9])")
_STAMP = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?: ([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?: ?([AP]M))?)?",
    re.IGNORECASE,
)
#: jrnl's `default_hour` for a date without a time.
DEFAULT_HOUR = 9
_TAG = re.compile(r"(?<!\S)([@#][-+*#/\w]+)")


@dataclass(frozen=True)
class Entry:
    """One journal entry: its local (naive) time, title line, whole text (title and body
    as written, trailing blank lines dropped), tags (without the symbol) and star."""

    when: datetime.datetime
    title: str
    text: str
    tags: Tuple[str, ...]
    starred: bool

    def timestamp(self, offset_s: int) -> float:
        """Unix seconds of `when` read at `offset_s` seconds east of UTC."""
        zone = datetime.timezone(datetime.timedelta(seconds=offset_s))
        return self.when.replace(tzinfo=zone).timestamp()


@dataclass
class Parsed:
    """What a file held: its entries, and how many records were bad and why the first."""

    entries: List[Entry] = field(default_factory=list)
    skipped: int = 0
    first_reason: Optional[str] = None
    headers: int = 0

    def bad(self, reason: str) -> None:
        """Counts one bad record."""
        self.skipped += 1
        if self.first_reason is None:
            self.first_reason = reason


def stamp(blob: str) -> Optional[datetime.datetime]:
    """The local time of a header's `[…]` (a date alone is 09:00), or None if it is not a
    valid date and time."""
    m = _STAMP.fullmatch(blob.strip())
    if not m:
        return None
    year, month, day = (int(g) for g in m.groups()[:3])
    hour, minute = (int(m.group(4)), int(m.group(5))) if m.group(4) else (DEFAULT_HOUR, 0)
    second = int(m.group(6) or 0)
    meridiem = (m.group(7) or "").upper()
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "PM" else 0)
    try:
        return datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def tags(text: str) -> Tuple[str, ...]:
    """The entry's tags as jrnl finds them, lower-cased, without `@`/`#`, first seen first."""
    seen: List[str] = []
    for tag in _TAG.findall(text):
        name = tag[1:].lower()
        if name not in seen:
            seen.append(name)
    return tuple(seen)


def _entry(when: datetime.datetime, title_line: str, body: List[str]) -> Optional[Entry]:
    title = title_line.strip()
    starred = title.endswith("*")
    if starred:
        title = title.strip("\n *")
    text = "\n".join([title, *body]).strip()
    if not text:
        return None
    return Entry(when, title, text, tags(text), starred)


def parse(text: str) -> Parsed:
    """The entries of a jrnl file's text (LF or CRLF line ends)."""
    blocks: List[Tuple[datetime.datetime, List[str]]] = []
    out = Parsed()
    preamble: Optional[int] = None
    orphan = False
    for line_no, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        m = _HEADER.match(line)
        if m and _DATE_LIKE.match(m.group(1)):
            out.headers += 1
            when = stamp(m.group(1))
            if when is not None:
                blocks.append((when, [line[m.end() :]]))
                orphan = False
                continue
            if not blocks:
                out.bad(f"line {line_no}: [{m.group(1)}] is not a date and time")
                orphan = True
                continue
        if blocks and not orphan:
            blocks[-1][1].append(line)
        elif line.strip() and preamble is None and not orphan:
            preamble = line_no
    if preamble is not None and blocks:
        out.bad(f"line {preamble}: text before the first entry")
    for when, (title_line, *body) in blocks:
        entry = _entry(when, title_line, body)
        if entry is not None:
            out.entries.append(entry)
    return out
