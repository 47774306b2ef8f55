"""`journal-jrnl`: jrnl plain-text journals and Day One JSON exports in the granted
folders, each entry a `journal` event.

- `*.txt` and `*.jrnl` files are read as jrnl journals (`jrnl_text`); their local times
  are in the `timezone` setting; `raw_ref` = file + entry time + a short hash of the title.
- `*.json` files are read as Day One exports (`dayone_json`); `raw_ref` = the entry's uuid.
- `text` is the entry as written (title and body); `tags` and `starred` are extra fields.
- Unchanged files are not read again; a bad entry is skipped and counted, the rest read.
"""

from __future__ import annotations

import hashlib
from typing import Dict, List, Tuple

import dayone_json
import fixed_zone
import jrnl_text
from openclone_guest import (
    ConfigError,
    Ctx,
    Emit,
    InputFile,
    Journal,
    Level,
    Plugin,
    SourceType,
    clock,
    export,
)
from openclone_guest.fs import has_extension

JRNL = ("txt", "jrnl")
DAY_ONE = ("json",)


def _offset(ctx: Ctx) -> int:
    try:
        return fixed_zone.offset_seconds(ctx.config_or("timezone", "UTC", str))
    except ValueError as e:
        raise ConfigError(str(e)) from None


def _event(when: float, text: str, tags: Tuple[str, ...], starred: bool, ref: str) -> Emit:
    event = Journal(text=text).at(when).raw_ref(ref)
    if tags:
        event = event.field("tags", list(tags))
    if starred:
        event = event.field("starred", True)
    return event


#: The contract's longest `raw_ref`, characters.
MAX_RAW_REF = 256


def jrnl_events(file: InputFile, text: str, offset_s: int) -> Tuple[List[Emit], jrnl_text.Parsed]:
    """The events of a jrnl journal's text, and what the parser made of it.

    `raw_ref` is `<file>@<local time>#<title hash>`, with `-2`, `-3`, … for the second and
    later entries of one file with the same time and title (jrnl's minute resolution makes
    those real), and the file's path hashed when the path would make it too long.
    """
    parsed = jrnl_text.parse(text)
    where = file.rel
    if len(where) > MAX_RAW_REF - 64:
        where = "sha256:" + hashlib.sha256(where.encode("utf-8")).hexdigest()[:32]
    seen: Dict[str, int] = {}
    events = []
    for e in parsed.entries:
        local = e.when.isoformat(timespec="seconds")
        title_hash = hashlib.sha256(e.title.encode("utf-8")).hexdigest()[:12]
        ref = f"{where}@{local}#{title_hash}"
        seen[ref] = seen.get(ref, 0) + 1
        if seen[ref] > 1:
            ref = f"{ref}-{seen[ref]}"
        events.append(_event(e.timestamp(offset_s), e.text, e.tags, e.starred, ref))
    return events, parsed


def day_one_events(text: str, offset_s: int) -> Tuple[List[Emit], dayone_json.Parsed]:
    """The events of a Day One export's JSON text. Errors: `dayone_json.NotAnExport`."""
    parsed = dayone_json.parse(text, offset_s)
    return [_event(e.when, e.text, e.tags, e.starred, e.uuid) for e in parsed.entries], parsed


class JournalJrnl(Plugin):
    """The plugin."""

    id = "journal-jrnl"
    version = "0.1.0"
    source_types = (SourceType.JOURNAL,)

    def init(self, ctx: Ctx) -> None:
        """Refuses a `timezone` it cannot use."""
        _offset(ctx)

    def capture(self, ctx: Ctx) -> None:
        """Reads every new or changed journal file and emits its entries."""
        offset_s = _offset(ctx)
        earliest = ctx.earliest()
        for file in ctx.changed_files(keep=lambda p: has_extension(p, JRNL + DAY_ONE)):
            text = ctx.read_text(file)
            if text is None:
                continue
            if has_extension(file.path, DAY_ONE):
                try:
                    events, parsed = day_one_events(text, offset_s)
                except dayone_json.NotAnExport as e:
                    ctx.skip(file, str(e))
                    continue
            else:
                events, parsed = jrnl_events(file, text, offset_s)
                if not parsed.headers:
                    ctx.skip(file, "no jrnl entries ([YYYY-MM-DD HH:MM] title lines)")
                    continue
            ctx.skipped_records(file.rel, parsed.skipped, parsed.first_reason or "")
            if self._emit(ctx, file, events, earliest):
                ctx.done(file)

    @staticmethod
    def _emit(ctx: Ctx, file: InputFile, events: List[Emit], earliest: float) -> bool:
        """Emits the events the host accepts now. False if some are dated more than 23 h
        ahead (jrnl allows future entries): the file is then read again next pass, and
        the entries already stored are skipped by their `raw_ref`."""
        too_old = ahead = 0
        for event in events:
            if clock.accepted_since(event.timestamp, earliest):
                ctx.emit(event)
            elif event.timestamp < earliest:
                too_old += 1
            else:
                ahead += 1
        if too_old:
            ctx.log(
                Level.INFO,
                f"{file.rel}: {too_old} entries before {clock.day_of(earliest)} not emitted: the "
                "ingest contract refuses them (a tenant's accept_since lowers the bound)",
            )
        if ahead:
            ctx.log(
                Level.INFO,
                f"{file.rel}: {ahead} entries dated more than 23 h ahead wait for their day",
            )
        return ahead == 0


WitWorld = export(JournalJrnl)
