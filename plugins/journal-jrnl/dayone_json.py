"""Day One's JSON export (`Journal.json` in the export's zip): `{"metadata": …, "entries":
[{"uuid", "creationDate" (ISO 8601, UTC "Z"), "text" (Markdown), "tags", "starred",
"timeZone", …}]}`.

An entry without text (photos only) has nothing to capture and is left out; one whose
`uuid` or `creationDate` is missing or of the wrong kind, or whose `text` is not a string,
is a bad record. A `creationDate` without an offset (Day One writes `Z`) is read in the
plugin's `timezone` setting.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple


class NotAnExport(ValueError):
    """The file is not JSON, or has no `entries` list."""


@dataclass(frozen=True)
class Entry:
    """One Day One entry: `uuid`, `when` (Unix seconds), `text`, `tags`, `starred`."""

    uuid: str
    when: float
    text: str
    tags: Tuple[str, ...]
    starred: bool


@dataclass
class Parsed:
    """What an export held: its entries, and how many were bad and why the first."""

    entries: List[Entry] = field(default_factory=list)
    skipped: int = 0
    first_reason: Optional[str] = None


def when(value: Any, offset_s: int) -> Optional[float]:
    """Unix seconds of an ISO 8601 `creationDate`; a time without an offset is read at
    `offset_s` seconds east of UTC. None if it is not such a time."""
    if not isinstance(value, str):
        return None
    try:
        t = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone(datetime.timedelta(seconds=offset_s)))
    return t.timestamp()


def _entry(item: Any, offset_s: int) -> Tuple[Optional[Entry], Optional[str]]:
    if not isinstance(item, dict):
        return None, "not an object"
    uuid = item.get("uuid")
    if not isinstance(uuid, str) or not 1 <= len(uuid.strip()) <= 256:
        return None, "no uuid"
    ts = when(item.get("creationDate"), offset_s)
    if ts is None:
        date = json.dumps(item.get("creationDate"))
        return None, f"{uuid}: creationDate {date} is not an ISO 8601 time"
    text = item.get("text", "")
    if not isinstance(text, str):
        return None, f"{uuid}: text is not a string"
    if not text.strip():
        return None, None
    raw_tags = item.get("tags")
    tags = tuple(t for t in raw_tags if isinstance(t, str)) if isinstance(raw_tags, list) else ()
    return Entry(uuid.strip(), ts, text.strip(), tags, item.get("starred") is True), None


def parse(text: str, offset_s: int) -> Parsed:
    """The entries of an export's JSON text. Errors: `NotAnExport`."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise NotAnExport(f"not JSON: {e}") from e
    items = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise NotAnExport('not a Day One export (no "entries" list)')
    out = Parsed()
    for n, item in enumerate(items):
        entry, reason = _entry(item, offset_s)
        if entry is not None:
            out.entries.append(entry)
        elif reason is not None:
            out.skipped += 1
            out.first_reason = out.first_reason or f"entry {n}: {reason}"
    return out
