"""The real host, through the component's imports (the componentize-py bindings).

Imported only inside a component (`export` does it while the component is built), never
natively: `wit_world` exists only there. The component is of the `capture-plugin` world,
or of `capture-plugin-http` (a plugin with `net-http`), which adds
`wasi:http/outgoing-handler`; which one is told by the bindings present while it is built.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

from componentize_py_types import Err
from wit_world.imports import config as wit_config
from wit_world.imports import emit as wit_emit
from wit_world.imports import log as wit_log
from wit_world.imports import screen as wit_screen
from wit_world.imports import state as wit_state

from .errors import ScreenError, StateError
from .host import (
    EmitInvalid,
    EmitNotPermitted,
    EmitRateLimited,
    EmitRefused,
    EmitStorage,
    EmitTooLarge,
    HttpFailed,
    Level,
    Receipt,
    WireEvent,
)
from .screen import (
    Frame,
    Reading,
    Rect,
    ScreenBudget,
    ScreenDenied,
    ScreenExcluded,
    ScreenFailed,
    ScreenNoWindow,
    ScreenPaused,
    ScreenUnsupported,
    Target,
    TextLine,
    Unchanged,
    Window,
)
from .source import SourceType

if importlib.util.find_spec("wit_world.imports.outgoing_handler") is None:
    # `capture-plugin`: no wasi:http bindings.
    from wit_world.imports import types as wit_types

    wasi_http = None
else:
    # `capture-plugin-http`: with wasi:http's `types` beside ours, componentize-py names
    # both interfaces by their package.
    from wit_world.imports import openclone_capture_types as wit_types

    from . import wasi_http

if TYPE_CHECKING:
    from .ctx import Report
    from .http import Response

NO_WASI_HTTP = (
    "this component has no wasi:http import: it was built for the capture-plugin world."
    ' List "net-http" in requires_permissions of plugin.json and rebuild it with'
    " scripts/build-plugins.sh (it builds such plugins for capture-plugin-http)"
)
"""Why `http_get` fails in a component of the plain `capture-plugin` world."""


_EMIT_ERRORS: Dict[type, Callable[[Any], EmitRefused]] = {
    wit_types.EmitError_Invalid: lambda v: EmitInvalid([(f.field, f.message) for f in v]),
    wit_types.EmitError_NotPermitted: EmitNotPermitted,
    wit_types.EmitError_RateLimited: EmitRateLimited,
    wit_types.EmitError_TooLarge: EmitTooLarge,
    wit_types.EmitError_Storage: EmitStorage,
}

_STATE_ERRORS: Dict[type, Callable[[Any], str]] = {
    wit_state.StateError_ValueTooLarge: lambda v: f"value larger than {v} bytes",
    wit_state.StateError_Full: lambda v: f"namespace holds its maximum of {v} entries",
    wit_state.StateError_InvalidKey: lambda v: f"invalid key: {v}",
    wit_state.StateError_Storage: lambda v: f"host store failed: {v}",
}


# A case without a payload (`paused`, `no-window`) is a dataclass without `value`.
_SCREEN_ERRORS: Dict[type, Callable[[Any], ScreenError]] = {
    wit_screen.ScreenError_Denied: lambda c: ScreenDenied(c.value),
    wit_screen.ScreenError_Paused: lambda _: ScreenPaused(),
    wit_screen.ScreenError_Excluded: lambda c: ScreenExcluded(c.value),
    wit_screen.ScreenError_NoWindow: lambda _: ScreenNoWindow(),
    wit_screen.ScreenError_Unsupported: lambda c: ScreenUnsupported(c.value),
    wit_screen.ScreenError_Budget: lambda c: ScreenBudget(c.value),
    wit_screen.ScreenError_Failed: lambda c: ScreenFailed(c.value),
}


def _emit_refused(e: Err) -> EmitRefused:
    return _EMIT_ERRORS[type(e.value)](e.value.value)


def _state_error(e: Err) -> StateError:
    return StateError(_STATE_ERRORS[type(e.value)](e.value.value))


def _screen_error(e: Err) -> ScreenError:
    return _SCREEN_ERRORS[type(e.value)](e.value)


def _rect(r: Any) -> Rect:
    return Rect(r.x, r.y, r.width, r.height)


def _window(w: Any) -> Window:
    return Window(w.app, w.title, w.pid, w.monitor, _rect(w.bounds), w.excluded)


def _reading(r: Any) -> Reading:
    """`Unchanged` for `reading.unchanged` (a `(window, hash)` tuple), else a `Frame`."""
    if isinstance(r, wit_screen.Reading_Unchanged):
        window, content_hash = r.value
        return Unchanged(_window(window), content_hash)
    f = r.value
    lines = tuple(TextLine(t.text, t.confidence, _rect(t.bounds)) for t in f.lines)
    return Frame(_window(f.window), _rect(f.area), f.content_hash, lines, f.masked, f.ocr_ms)


class WitHost:
    """`HostApi` over the WIT imports `emit`, `log`, `config`, `state` and `screen`, and
    `wasi:http/outgoing-handler` if the component has it."""

    def emit(self, source: SourceType, events: List[WireEvent]) -> Receipt:
        """Calls the `emit` import. Errors: an `EmitRefused` for each `emit-error`."""
        wire = [wit_types.Event(e.timestamp, e.data, e.raw_ref) for e in events]
        try:
            r = wit_emit.emit(wit_types.SourceType[source.name], wire)
        except Err as e:
            raise _emit_refused(e) from None
        return Receipt(r.stored, r.skipped)

    def log(self, level: Level, message: str) -> None:
        """Calls the `log` import."""
        wit_log.log(wit_log.Level[level.name], message)

    def config(self, key: str) -> Optional[str]:
        """Calls `config.get`."""
        return wit_config.get(key)

    def state_register(self, namespace: str, key: str, value: str, ttl_ms: Optional[int]) -> None:
        """Calls `state.register`. Errors: `StateError`."""
        try:
            wit_state.register(namespace, key, value, ttl_ms)
        except Err as e:
            raise _state_error(e) from None

    def state_register_if_absent(
        self, namespace: str, key: str, value: str, ttl_ms: Optional[int]
    ) -> bool:
        """Calls `state.register-if-absent`. Errors: `StateError`."""
        try:
            return wit_state.register_if_absent(namespace, key, value, ttl_ms)
        except Err as e:
            raise _state_error(e) from None

    def state_lookup(self, namespace: str, key: str) -> Optional[str]:
        """Calls `state.lookup`. Errors: `StateError`."""
        try:
            return wit_state.lookup(namespace, key)
        except Err as e:
            raise _state_error(e) from None

    def state_consume(self, namespace: str, key: str) -> Optional[str]:
        """Calls `state.consume`. Errors: `StateError`."""
        try:
            return wit_state.consume(namespace, key)
        except Err as e:
            raise _state_error(e) from None

    def state_clear(self, namespace: str) -> None:
        """Calls `state.clear`. Errors: `StateError`."""
        try:
            wit_state.clear(namespace)
        except Err as e:
            raise _state_error(e) from None

    def inputs(self) -> List[Path]:
        """The granted folders: `/input/0`, `/input/1`, … as far as they exist."""
        out: List[Path] = []
        while os.path.exists(f"/input/{len(out)}"):
            out.append(Path(f"/input/{len(out)}"))
        return out

    def http_get(self, url: str, headers: List[Tuple[str, str]]) -> Response:
        """GETs `url` through `wasi:http/outgoing-handler`. Errors: `HttpFailed` (also
        when the component was built without that import)."""
        if wasi_http is None:
            raise HttpFailed(NO_WASI_HTTP)
        return wasi_http.get(url, headers)

    def active_window(self) -> Window:
        """Calls `screen.active-window`. Errors: a `ScreenError`."""
        try:
            return _window(wit_screen.active_window())
        except Err as e:
            raise _screen_error(e) from None

    def idle_ms(self) -> int:
        """Calls `screen.idle-ms`. Errors: a `ScreenError`."""
        try:
            return int(wit_screen.idle_ms())
        except Err as e:
            raise _screen_error(e) from None

    def read_screen(self, target: Target) -> Reading:
        """Calls `screen.read-active-window`, or `screen.read-monitor` for a monitor.
        Errors: a `ScreenError`."""
        try:
            if target.monitor_index is None:
                return _reading(wit_screen.read_active_window())
            return _reading(wit_screen.read_monitor(target.monitor_index))
        except Err as e:
            raise _screen_error(e) from None


def plugin_info(plugin_id: str, version: str, source_types: Sequence[SourceType]) -> Any:
    """What `describe` returns: the WIT `plugin-info`."""
    return wit_types.PluginInfo(
        plugin_id, version, [wit_types.SourceType[s.name] for s in source_types]
    )


def capture_report(report: Report) -> Any:
    """What `capture` returns: the WIT `capture-report`."""
    return wit_types.CaptureReport(
        report.emitted, report.stored, report.skipped, list(report.problems), report.skipped_records
    )


def failure(message: str) -> Err:
    """The exception that makes an export return the WIT `result`'s `err(message)`."""
    return Err(message)
