"""`Ctx`: what a plugin's `init` and `capture` work with (the Rust SDK's `Ctx`)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

from . import clock, jsonwire
from .errors import (
    ConfigError,
    Invalid,
    NotPermitted,
    PluginError,
    RateLimited,
    Storage,
    TooLarge,
)
from .events import Emit
from .fs import Stamp, files, files_including_hidden
from .host import (
    EmitInvalid,
    EmitNotPermitted,
    EmitRateLimited,
    EmitStorage,
    EmitTooLarge,
    HostApi,
    Level,
    WireEvent,
)
from .http import HttpMethods
from .screen import Reading, Target, Window
from .source import SourceType
from .state import State

MAX_BATCH_EVENTS = 500
"""Most events per `emit` call (the ingest contract's batch limit)."""

MAX_BATCH_BYTES = 512 * 1024
"""A batch goes to the host once its `data` reaches this many bytes (UTF-8); the host's
default per-emit limit is 1 MiB, and a batch it refuses as too large is halved."""

RATE_LIMIT_RETRIES = 20
"""Waits on `rate-limited` before giving up."""

_U32_MAX = 2**32 - 1


@dataclass
class Report:
    """What one pass did; the host shows it in `openclone capture` and the registry."""

    emitted: int = 0
    """Events handed to the host."""
    stored: int = 0
    """Of those, stored in the vault."""
    skipped: int = 0
    """Of those, already there."""
    problems: List[str] = field(default_factory=list)
    """Inputs that could not be used, one line each."""
    skipped_records: int = 0
    """Records skipped inside files that were otherwise read (`Ctx.skipped_records`)."""


@dataclass(frozen=True)
class InputFile:
    """A granted file for this pass: `path` to read, `rel` (relative to its granted
    folder, for messages and `raw_ref`s) and its `stamp`."""

    path: Path
    rel: str
    stamp: Stamp


class Ctx(HttpMethods):
    """The plugin's view of the host during one call; outgoing HTTP (`http_get`,
    `fetch`, `fetched`, `forget_fetched`) comes from `http.HttpMethods`."""

    def __init__(self, host: HostApi) -> None:
        self._host = host
        self._pending: List[Tuple[SourceType, List[WireEvent], int]] = []
        self._report = Report()

    def emit(self, event: Emit) -> None:
        """Queues an event; a source type's batch goes to the host at 500 events or
        512 KiB of `data`, and at the end of the pass.

        Errors: the host refused a full batch (`Invalid`, `NotPermitted`, `TooLarge`,
        `Storage`, `RateLimited`); `TypeError` for a builder without `.at(…)` or `data`
        JSON cannot hold.
        """
        if not isinstance(event, Emit):
            raise TypeError(f"emit takes an Emit, not {type(event).__name__}: add .at(timestamp)")
        data = jsonwire.dumps(event.data)
        size = len(data.encode("utf-8"))
        idx = next((i for i, (s, _, _) in enumerate(self._pending) if s == event.source), None)
        if idx is None:
            self._pending.append((event.source, [], 0))
            idx = len(self._pending) - 1
        source, batch, total = self._pending[idx]
        batch.append(WireEvent(float(event.timestamp), data, event.ref))
        total += size
        self._pending[idx] = (source, batch, total)
        self._report.emitted += 1
        if len(batch) >= MAX_BATCH_EVENTS or total >= MAX_BATCH_BYTES:
            last = self._pending.pop()
            if idx < len(self._pending):
                self._pending[idx] = last
            self._send(source, batch)

    def flush(self) -> None:
        """Sends every queued event now. Errors: as `emit`."""
        pending, self._pending = self._pending, []
        for source, batch, _ in pending:
            self._send(source, batch)

    def _send(self, source: SourceType, events: List[WireEvent]) -> None:
        retries = 0
        while True:
            try:
                receipt = self._host.emit(source, events)
            except EmitRateLimited as e:
                if retries >= RATE_LIMIT_RETRIES:
                    raise RateLimited() from e
                retries += 1
                time.sleep(max(e.retry_ms, 10) / 1000.0)
                continue
            except EmitTooLarge as e:
                if len(events) <= 1:
                    raise TooLarge(e.limit) from e
                half = len(events) // 2
                self._send(source, events[:half])
                self._send(source, events[half:])
                return
            except EmitInvalid as e:
                raise Invalid(e.details) from e
            except EmitNotPermitted as e:
                raise NotPermitted(e.message) from e
            except EmitStorage as e:
                raise Storage(e.message) from e
            self._report.stored += receipt.stored
            self._report.skipped += receipt.skipped
            return

    def config(self, key: str) -> Any:
        """The plugin's config value for `key` (config over `config_schema` default),
        JSON-decoded; None if neither sets it. Errors: `ConfigError` if it is not JSON."""
        text = self._host.config(key)
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError as e:
            raise ConfigError(f"{key}: {e}") from e

    def config_or(self, key: str, default: Any, kind: Optional[type] = None) -> Any:
        """Like `config`, with `default` when the key is not set at all. With `kind`
        (`str`, `int`, `float`, `bool`, `list`, `dict`) the value must be of it (an int
        passes as a float). Errors: `ConfigError` naming the key and what it holds."""
        value = self.config(key)
        if value is None:
            return default
        if kind is None:
            return value
        is_bool = isinstance(value, bool)
        if kind is float and isinstance(value, (int, float)) and not is_bool:
            return float(value)
        if not isinstance(value, kind) or (kind is not bool and is_bool):
            raise ConfigError(f"{key}: expected {kind.__name__}, got {jsonwire.dumps(value)}")
        return value

    def earliest(self) -> float:
        """The earliest timestamp the host accepts for this plugin, Unix seconds: the
        contract's 2020-01-01, or the tenant's `accept_since` (or `openclone capture
        --since`), which the host passes as the config key `accept_since` (`YYYY-MM-DD`)."""
        return clock.earliest_from(self._host.config("accept_since"))

    def accepted(self, ts: float) -> bool:
        """True if the host will accept an event at `ts` (`earliest()` to 23 h ahead)."""
        return clock.accepted_since(ts, self.earliest())

    def bound_namespace(self, base: str) -> str:
        """`base`, or `base@since=<Unix seconds>` when `earliest()` is not the contract's
        default: a state namespace for cursors that must start over when the bound is
        lowered (a history import re-reads what was held back; dedup skips the rest)."""
        earliest = self.earliest()
        if earliest == clock.EARLIEST:
            return base
        return f"{base}@since={_rust_float(earliest)}"

    def state(self, namespace: str) -> State:
        """The keyed store `namespace` (persisted by the host, private to this plugin)."""
        return State(self._host, namespace)

    def inputs(self) -> List[Path]:
        """The folders the user granted (`fs-read`): `/input/0`, `/input/1`, … in a
        component, the harness's folders in tests."""
        return self._host.inputs()

    def log(self, level: Level, message: str) -> None:
        """Writes to the host's log, tagged with the plugin id."""
        self._host.log(level, message)

    def active_window(self) -> Window:
        """The focused window's metadata (no pixel is read); `openclone_guest.screen` has
        the types.

        Errors: a `ScreenError`: `ScreenDenied` without the `screen` grant, `ScreenPaused`
        and `ScreenExcluded` (normal answers: catch them to skip a pass quietly),
        `ScreenNoWindow`, `ScreenUnsupported`, `ScreenBudget`, `ScreenFailed`.
        """
        return self._host.active_window()

    def idle_ms(self) -> int:
        """Milliseconds since the person last typed or moved the pointer (the X server's
        MIT-SCREEN-SAVER extension). Errors: as `active_window`."""
        return self._host.idle_ms()

    def read_screen(self, target: Target = Target.ACTIVE_WINDOW) -> Reading:
        """Reads `target`'s text (the focused window, or `Target.monitor(n)`): a `Frame`,
        or `Unchanged` (no OCR ran) when the content hash equals this plugin's last read
        of the same target. Errors: as `active_window`."""
        return self._host.read_screen(target)

    def problem(self, message: str) -> None:
        """Records an input that could not be used (logged as a warning, listed in the
        report), so the pass goes on with the rest."""
        self._host.log(Level.WARN, message)
        self._report.problems.append(message)

    def skipped_records(self, file: str, count: int, reason: str) -> None:
        """Records that `count` records of `file` could not be read and were skipped
        while the rest of it was captured: one warning and one problem line per file,
        naming the first `reason`; `count` goes to the report's `skipped_records`.
        Nothing for a `count` of 0."""
        if count == 0:
            return
        self.problem(f"{file}: {count} record(s) skipped, the rest read; first: {reason}")
        self._report.skipped_records = min(self._report.skipped_records + count, _U32_MAX)

    def changed_files(
        self, hidden: bool = False, keep: Callable[[Path], bool] = lambda _: True
    ) -> List[InputFile]:
        """The files under every granted folder that `keep` accepts (hidden files too if
        `hidden`) and that are new or changed since `done` recorded them, in folder order
        and sorted within each. The usual start of a pass: unchanged files are not read.

        Errors: `OSError` if a file cannot be stat'ed; a state error.
        """
        out: List[InputFile] = []
        for directory in self.inputs():
            found = files_including_hidden(directory) if hidden else files(directory)
            for path in (p for p in found if keep(p)):
                stamp = self.file_changed(path)
                if stamp is not None:
                    try:
                        rel = str(path.relative_to(directory))
                    except ValueError:
                        rel = str(path)
                    out.append(InputFile(path, rel, stamp))
        return out

    def read_text(self, file: InputFile) -> Optional[str]:
        """The file's text, or None (one problem line, and the file marked done) when it
        is not UTF-8. Errors: `OSError` if it cannot be read."""
        data = file.path.read_bytes()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.skip(file, "not UTF-8 text")
            return None

    def skip(self, file: InputFile, why: str) -> None:
        """Reports a file that cannot be used (`<file>: <why>; skipped`) and marks it done,
        so it is not retried until it changes."""
        self.problem(f"{file.rel}: {why}; skipped")
        self.done(file)

    def done(self, file: InputFile) -> None:
        """Marks a file read at its stamp (after flushing what it emitted)."""
        self.remember_file(file.path, file.stamp)

    def file_changed(self, path: Path) -> Optional[Stamp]:
        """The file's stamp if it is new or changed since `remember_file` recorded it
        (state namespace `files`, or its `bound_namespace`), None if unchanged.

        Errors: `OSError` if stat fails; `PluginError` if the stored value is not a stamp.
        """
        stamp = Stamp.of(path)
        stored = self.state(self.bound_namespace("files")).get(str(path))
        seen = None if stored is None else Stamp.from_json(stored)
        if stored is not None and seen is None:
            raise PluginError(f"JSON: the stamp of {path} in state is {jsonwire.dumps(stored)}")
        return None if seen == stamp else stamp

    def remember_file(self, path: Path, stamp: Stamp) -> None:
        """Records that `path` was read at `stamp` (flushing its events first)."""
        self.flush()
        self.state(self.bound_namespace("files")).set(str(path), stamp.to_json())

    @property
    def report(self) -> Report:
        """What the pass did so far."""
        return self._report

    def finish(self) -> Report:
        """Flushes what is queued and returns the pass's report (the SDK calls it)."""
        self.flush()
        return self._report


def _rust_float(x: float) -> str:
    """`x` as Rust's `{}` formats an f64 (`-86400`, not `-86400.0`; `0.5` stays)."""
    return str(int(x)) if x.is_integer() else repr(x)
