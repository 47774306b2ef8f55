"""A native test harness: run a plugin's `init` and `capture` against an in-memory host,
with real folders as inputs, without building a component or starting the host.

The in-memory host keeps state across passes (so incremental behaviour is testable), and
checks and keys every emitted event with the host's own code, through the real binary's
`openclone plugins check-events` (see `checker`): a plugin that passes here is accepted by
the host, and one the host refuses fails here with the same field errors.

Outgoing HTTP is served from canned responses (`Harness.http`); every request is recorded
(`Harness.requests`) with its headers, so conditional fetches are testable.

    with Harness().input("tests/fixtures").config("timezone", "+02:00") as host:
        report = host.capture(MyPlugin)
        assert report.stored == 3 and host.capture(MyPlugin).emitted == 0
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple, Type, Union

from . import clock, jsonwire
from .checker import Checker
from .ctx import Ctx, Report
from .host import EmitInvalid, EmitNotPermitted, HttpFailed, Level, Receipt, WireEvent
from .http import DENIED, Headers, Response, first_header, header_pairs
from .plugin import Plugin
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


class Harness:
    """The in-memory host. Configure it with `input`, `config` and `http` (all chain), run
    passes with `capture`, read `events()`, `logs()` and `requests()`; `close()` (or a
    `with` block) stops the checker subprocess, which also stops when the harness is
    collected or at exit."""

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
