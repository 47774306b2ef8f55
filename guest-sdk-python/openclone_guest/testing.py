"""A native test harness: run a plugin's `init` and `capture` against an in-memory host,
with real folders as inputs, without building a component or starting the host.

The in-memory host keeps state across passes (so incremental behaviour is testable), and
checks and keys every emitted event with the host's own code, through the real binary's
`openclone plugins check-events` (see `checker`): a plugin that passes here is accepted by
the host, and one the host refuses fails here with the same field errors.

Outgoing HTTP is served from canned responses (`Harness.http`); every request is recorded
(`Harness.requests`) with its headers, so conditional fetches are testable. The screen
shows canned frames (`Harness.frame`, built with `frame`), and `Harness.screen_counts`
tells how many reads ran OCR.

    with Harness().input("tests/fixtures").config("timezone", "+02:00") as host:
        report = host.capture(MyPlugin)
        assert report.stored == 3 and host.capture(MyPlugin).emitted == 0
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional, Sequence, Set, Tuple, Type, Union

from . import clock, jsonwire
from .checker import Checker
from .ctx import Ctx, Report
from .errors import ScreenError
from .host import EmitInvalid, EmitNotPermitted, HttpFailed, Level, Receipt, WireEvent
from .http import DENIED, Headers, Response, first_header, header_pairs
from .plugin import Plugin
from .screen import Frame, Reading, Rect, ScreenNoWindow, Target, TextLine, Unchanged, Window
from .source import SourceType
from .urls import target

_NOT_FINITE = "must be a finite number of Unix seconds"


@dataclass(frozen=True)
class Emitted:
    """An event the plugin emitted and the in-memory host stored: its `source`,
    `timestamp` (Unix seconds), `data` (the object as the host validated it) and
    `raw_ref`."""

    source: SourceType
    timestamp: float
    data: Dict[str, Any]
    raw_ref: Optional[str]


@dataclass(frozen=True)
class Request:
    """An HTTP request the plugin made (answered or not): the `url` as the plugin passed
    it and the `headers` (name, value) in the order sent."""

    url: str
    headers: List[Tuple[str, str]]

    def header(self, name: str) -> Optional[str]:
        """The value of the first header named `name` (case-insensitive), if sent."""
        return first_header(self.headers, name)


def frame(app: str, title: str, lines: Sequence[str]) -> Frame:
    """A canned frame for `Harness.frame`: `app`'s window titled `title` (800×600 at the
    origin, monitor 0) showing `lines` (confidence 90, one 20-pixel row each); its content
    hash is the first 16 bytes, in hex, of the sha256 of `app`, `title` and the lines, each
    followed by a NUL byte (the Rust harness's)."""
    digest = hashlib.sha256()
    for part in (app, title, *lines):
        digest.update(part.encode("utf-8") + b"\0")
    screen = Rect(0, 0, 800, 600)
    return Frame(
        window=Window(app, title, None, 0, screen, None),
        area=screen,
        content_hash=digest.hexdigest()[:32],
        lines=tuple(TextLine(t, 90.0, Rect(0, i * 20, 800, 20)) for i, t in enumerate(lines)),
        masked=0,
        ocr_ms=0,
    )


@dataclass
class _CannedScreen:
    """The harness's screen: `queue`d frames shown in turn, the last one staying on screen
    (`current`); `error`, if set, answers every call; `reads` and `ocr` count reads and
    those that were not unchanged; `last_hash` is each target's last read hash; `idle_ms`
    is what `idle_ms` answers."""

    queue: Deque[Frame] = field(default_factory=deque)
    current: Optional[Frame] = None
    error: Optional[ScreenError] = None
    idle_ms: int = 0
    last_hash: Dict[Target, str] = field(default_factory=dict)
    reads: int = 0
    ocr: int = 0


@dataclass
class _MemoryHost:
    """The in-memory host behind a `Harness` (its `HostApi`)."""

    plugin: Optional[Type[Plugin]] = None
    inputs_: List[Path] = field(default_factory=list)
    config_: Dict[str, str] = field(default_factory=dict)
    state: Dict[Tuple[str, str], str] = field(default_factory=dict)
    events: List[Emitted] = field(default_factory=list)
    seen: Set[str] = field(default_factory=set)
    logs: List[Tuple[Level, str]] = field(default_factory=list)
    responses: Dict[str, Response] = field(default_factory=dict)
    requests: List[Request] = field(default_factory=list)
    screen: _CannedScreen = field(default_factory=_CannedScreen)
    checker: Checker = field(default_factory=Checker)

    def emit(self, source: SourceType, events: List[WireEvent]) -> Receipt:
        """Checks the batch with the host's rules and stores what is new by dedup key.

        Errors: `EmitNotPermitted` for a source type the plugin does not declare,
        `EmitInvalid` with the host's field errors.
        """
        declared = self.plugin.source_types if self.plugin else ()
        if source not in declared:
            raise EmitNotPermitted(
                f"{self.plugin.id if self.plugin else 'the plugin'} emits {source.value}, "
                f"but its plugin.json source_types are [{', '.join(s.value for s in declared)}]"
            )
        not_finite = [i for i, e in enumerate(events) if not math.isfinite(e.timestamp)]
        if not_finite:
            raise EmitInvalid([(f"events[{i}].timestamp", _NOT_FINITE) for i in not_finite])
        reply = self.checker.check(
            source.value,
            [{"timestamp": e.timestamp, "data": e.data, "raw_ref": e.raw_ref} for e in events],
            self._accept_since(),
        )
        if not reply["ok"]:
            raise EmitInvalid([(f["field"], f["message"]) for f in reply["errors"]])
        stored = skipped = 0
        for e in reply["events"]:
            if e["key"] in self.seen:
                skipped += 1
                continue
            self.seen.add(e["key"])
            stored += 1
            self.events.append(Emitted(source, e["timestamp"], e["data"], e["raw_ref"]))
        return Receipt(stored, skipped)

    def _accept_since(self) -> Optional[str]:
        text = self.config_.get("accept_since")
        day = json.loads(text) if text is not None else None
        return day if isinstance(day, str) and clock.day_start(day) is not None else None

    def log(self, level: Level, message: str) -> None:
        """Keeps the line for `Harness.logs()`."""
        self.logs.append((level, message))

    def config(self, key: str) -> Optional[str]:
        """The JSON text of config `key`, or None."""
        return self.config_.get(key)

    def state_register(self, namespace: str, key: str, value: str, ttl_ms: Optional[int]) -> None:
        """Sets `key` (the harness ignores `ttl_ms`)."""
        self.state[(namespace, key)] = value

    def state_register_if_absent(
        self, namespace: str, key: str, value: str, ttl_ms: Optional[int]
    ) -> bool:
        """Sets `key` if absent; True if set."""
        if (namespace, key) in self.state:
            return False
        self.state[(namespace, key)] = value
        return True

    def state_lookup(self, namespace: str, key: str) -> Optional[str]:
        """The value of `key`, or None."""
        return self.state.get((namespace, key))

    def state_consume(self, namespace: str, key: str) -> Optional[str]:
        """Removes `key`, returning its value."""
        return self.state.pop((namespace, key), None)

    def state_clear(self, namespace: str) -> None:
        """Removes every key of `namespace`."""
        for k in [k for k in self.state if k[0] == namespace]:
            del self.state[k]

    def inputs(self) -> List[Path]:
        """The granted folders."""
        return list(self.inputs_)

    def http_get(self, url: str, headers: List[Tuple[str, str]]) -> Response:
        """Records the request and answers it from the canned responses: 304 with no body
        to a conditional request that matches a 200's validators.

        Errors: `HttpFailed` for a URL that is not http(s), and as the host's denial
        (`HTTP-request-denied`) for one without a canned response.
        """
        target(url)
        request = Request(url, list(headers))
        self.requests.append(request)
        canned = self.responses.get(url)
        if canned is None:
            raise HttpFailed(DENIED)
        tag = request.header("if-none-match")
        date = request.header("if-modified-since")
        if tag is not None:
            unchanged = canned.header("etag") == tag
        else:
            unchanged = date is not None and canned.header("last-modified") == date
        if canned.status == 200 and unchanged:
            return Response(304, list(canned.headers), b"")
        return canned

    def active_window(self) -> Window:
        """The window of the frame the next read shows (or the one on screen).

        Errors: the `Harness.screen_error`, else `ScreenNoWindow` before any frame.
        """
        s = self.screen
        if s.error is not None:
            raise s.error.with_traceback(None)
        shown = s.queue[0] if s.queue else s.current
        if shown is None:
            raise ScreenNoWindow()
        return shown.window

    def idle_ms(self) -> int:
        """The `Harness.idle` time, milliseconds (0 until set).

        Errors: the `Harness.screen_error`.
        """
        if self.screen.error is not None:
            raise self.screen.error.with_traceback(None)
        return self.screen.idle_ms

    def read_screen(self, target: Target) -> Reading:
        """Shows the next queued frame (or keeps the current one) and reads it: `Unchanged`
        if its hash is `target`'s last read's, else the frame (counted as OCR).

        Errors: the `Harness.screen_error`, else `ScreenNoWindow` before any frame.
        """
        s = self.screen
        if s.error is not None:
            raise s.error.with_traceback(None)
        if s.queue:
            s.current = s.queue.popleft()
        if s.current is None:
            raise ScreenNoWindow()
        f = s.current
        s.reads += 1
        if s.last_hash.get(target) == f.content_hash:
            return Unchanged(f.window, f.content_hash)
        s.ocr += 1
        s.last_hash[target] = f.content_hash
        return f


class Harness:
    """The in-memory host. Configure it with `input`, `config`, `http`, `frame` and
    `screen_error` (all chain), run passes with `capture`, read `events()`, `logs()`,
    `requests()` and `screen_counts()`; `close()` (or a `with` block) stops the checker
    subprocess, which also stops when the harness is collected or at exit."""

    def __init__(self) -> None:
        self._host = _MemoryHost()

    def __enter__(self) -> "Harness":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def input(self, directory: Union[str, Path]) -> "Harness":
        """Grants a folder (what `/input/N` is under the real host)."""
        self._host.inputs_.append(Path(directory))
        return self

    def config(self, key: str, value: Any) -> "Harness":
        """Sets a config value (what `[plugins.<id>] key = …` is under the real host);
        `value` is anything JSON can hold."""
        self._host.config_[key] = jsonwire.dumps(value)
        return self

    def http(
        self,
        url: str,
        status: int,
        headers: Headers = (),
        body: Union[bytes, str] = b"",
    ) -> "Harness":
        """Serves a GET of exactly `url` with `status`, `headers` (a dict or (name, value)
        pairs) and `body` (text is sent as UTF-8), replacing what was served there before
        (call it between passes to change a resource). A request whose `If-None-Match`
        equals the `ETag` given here (or, without `If-None-Match`, whose
        `If-Modified-Since` equals the `Last-Modified`) is answered 304 with no body, if
        `status` is 200. A URL with no canned response is refused as the host refuses one
        not in `allowed_hosts`."""
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        self._host.responses[url] = Response(status, header_pairs(headers), data)
        return self

    def requests(self) -> List[Request]:
        """Every HTTP request made so far, in order."""
        return list(self._host.requests)

    def frame(self, frame: Frame) -> "Harness":
        """Queues a canned frame (`testing.frame` builds one): each screen read shows the
        next one, and the last stays on screen. A read of the same content hash as the last
        read of its target is `Unchanged` and counts no OCR, as on the host."""
        self._host.screen.queue.append(frame)
        return self

    def screen_error(self, error: ScreenError) -> "Harness":
        """Every screen call raises `error` (`ScreenPaused()`, `ScreenDenied(…)`, …) from
        now on."""
        self._host.screen.error = error
        return self

    def idle(self, ms: int) -> "Harness":
        """`idle_ms` answers `ms` from now on (0 until set: someone is typing)."""
        self._host.screen.idle_ms = ms
        return self

    def screen_counts(self) -> Tuple[int, int]:
        """Screen reads so far, and how many of them ran OCR (were not unchanged)."""
        return self._host.screen.reads, self._host.screen.ocr

    def capture(self, plugin: Type[Plugin]) -> Report:
        """Runs `init` then `capture` of `plugin`, as the host does for each pass, and
        flushes. Errors: whatever the plugin or a refused batch raised (a failed flush
        first); `checker.CheckerUnavailable` without the host binary."""
        self._host.plugin = plugin
        plugin().init(Ctx(self._host))
        ctx = Ctx(self._host)
        outcome: Optional[Exception] = None
        try:
            plugin().capture(ctx)
        except Exception as e:
            outcome = e
        report = ctx.finish()
        if outcome is not None:
            raise outcome
        return report

    def events(self) -> List[Emitted]:
        """Every event stored so far, in order."""
        return list(self._host.events)

    def logs(self) -> List[str]:
        """Every log line so far (`"warn: message"`)."""
        return [f"{level.value}: {message}" for level, message in self._host.logs]

    def close(self) -> None:
        """Stops the checker subprocess (a later pass starts it again)."""
        self._host.checker.close()
