"""What a plugin can ask of its host: the WIT imports in a component (`wit_host`, and
`wasi_http` for outgoing HTTP), an in-memory host in native tests (`testing.Harness`).
Both implement `HostApi`."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Protocol, Tuple

from .source import SourceType

if TYPE_CHECKING:
    from .http import Response
    from .screen import Reading, Target, Window


class Level(enum.Enum):
    """A log level of the host's log (the WIT `log.level`)."""

    TRACE = "trace"
    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


@dataclass(frozen=True)
class WireEvent:
    """An event ready for `emit`: Unix seconds, `data` as JSON text, `raw_ref`."""

    timestamp: float
    data: str
    raw_ref: Optional[str]


@dataclass(frozen=True)
class Receipt:
    """The host's answer to `emit`: events stored, events already there."""

    stored: int
    skipped: int


class EmitRefused(Exception):
    """Why `emit` stored nothing (the WIT `emit-error`); one subclass per case."""


class EmitInvalid(EmitRefused):
    """Validation failed: every `(field, message)`."""

    def __init__(self, details: List[Tuple[str, str]]) -> None:
        super().__init__(details)
        self.details = details


class EmitNotPermitted(EmitRefused):
    """The source type is not in the manifest's `source_types`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmitRateLimited(EmitRefused):
    """The events-per-minute budget is spent; retry after `retry_ms` milliseconds."""

    def __init__(self, retry_ms: int) -> None:
        super().__init__(retry_ms)
        self.retry_ms = retry_ms


class EmitTooLarge(EmitRefused):
    """The call carried more than `limit` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class EmitStorage(EmitRefused):
    """The vault could not be written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HttpFailed(Exception):
    """Why a host's `http_get` got no response, in words naming the `wasi:http` error
    code, without the URL (`Ctx.http_get` names it in `errors.HttpError`)."""


class HostApi(Protocol):
    """The host as the SDK sees it. State calls raise `errors.StateError`, screen calls
    an `errors.ScreenError` (one of the subclasses in `screen`)."""

    def emit(self, source: SourceType, events: List[WireEvent]) -> Receipt:
        """Stores one batch, all or nothing. Errors: an `EmitRefused`."""

    def log(self, level: Level, message: str) -> None:
        """Writes to the host's log, tagged with the plugin id."""

    def config(self, key: str) -> Optional[str]:
        """The config value of `key` as JSON text, or None."""

    def state_register(self, namespace: str, key: str, value: str, ttl_ms: Optional[int]) -> None:
        """Sets `key` to `value` (JSON text), expiring after `ttl_ms` if given."""

    def state_register_if_absent(
        self, namespace: str, key: str, value: str, ttl_ms: Optional[int]
    ) -> bool:
        """Sets `key` only if absent; True if this call set it."""

    def state_lookup(self, namespace: str, key: str) -> Optional[str]:
        """The value of `key`, if present and not expired."""

    def state_consume(self, namespace: str, key: str) -> Optional[str]:
        """Removes `key`, returning its value."""

    def state_clear(self, namespace: str) -> None:
        """Removes every key of `namespace`."""

    def inputs(self) -> List[Path]:
        """The granted folders."""

    def http_get(self, url: str, headers: List[Tuple[str, str]]) -> Response:
        """GETs `url` with `headers` (name, value); the response whatever its status.
        Errors: `HttpFailed` saying why there is none."""

    def active_window(self) -> Window:
        """The focused window's metadata; no pixel is read. Errors: a `ScreenError`."""

    def idle_ms(self) -> int:
        """Milliseconds since the last keyboard or pointer input. Errors: a `ScreenError`."""

    def read_screen(self, target: Target) -> Reading:
        """Reads `target`'s text: a `Frame`, or `Unchanged` when its content hash equals
        this plugin's last read of `target`. Errors: a `ScreenError`."""
