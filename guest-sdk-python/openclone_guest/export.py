"""`export`: turns a `Plugin` into the world class componentize-py exports.

componentize-py (0.25) builds the component from the module it is given (`app`) and
calls the methods of that module's `WitWorld` class: `describe`, `init` and `capture`; a
WIT `result` error is an `Err(value)` raised from the method, and any other exception
traps the instance, so every exception is turned into `Err(message)` here.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any, Type

from .ctx import Ctx
from .errors import PluginError
from .host import Level
from .plugin import Plugin

if sys.platform == "wasi":
    # Inside componentize-py: the bindings exist, and a module is in the component only
    # if it is imported while the component is built.
    from . import wit_host


def _message(ctx: Ctx, error: Exception) -> str:
    if isinstance(error, PluginError):
        return str(error)
    ctx.log(Level.ERROR, "".join(traceback.format_exception(error)).rstrip())
    return f"{type(error).__name__}: {error}"


def export(plugin: Type[Plugin]) -> Type[Any]:
    """The componentize-py world class for `plugin`; `app.py` ends with
    `WitWorld = export(MyPlugin)`.

    Errors: `TypeError` (when the app is imported, so at build time) if `plugin` lacks
    `id`, `version` or `source_types`.
    """
    for attr in ("id", "version", "source_types"):
        if not getattr(plugin, attr, None):
            raise TypeError(f"{plugin.__name__}.{attr} must be set (as in plugin.json)")

    class WitWorld:
        """The exports of the `capture-plugin` world for one `Plugin` class."""

        def describe(self) -> Any:
            """`describe`: id, version and source types."""
            return wit_host.plugin_info(plugin.id, plugin.version, plugin.source_types)

        def init(self) -> None:
            """`init`: the plugin's `init`. Errors: `Err(message)`."""
            ctx = Ctx(wit_host.WitHost())
            try:
                plugin().init(ctx)
            except BaseException as e:  # `sys.exit()` too: nothing may trap the instance
                raise wit_host.failure(_message(ctx, e)) from None

        def capture(self) -> Any:
            """`capture`: the plugin's `capture`, then the queued events are flushed.
            Errors: `Err(message)` (a failed flush first, then the plugin's error)."""
            ctx = Ctx(wit_host.WitHost())
            outcome = None
            try:
                plugin().capture(ctx)
            except BaseException as e:  # `sys.exit()` too: nothing may trap the instance
                outcome = e
            try:
                report = ctx.finish()
            except Exception as e:
                raise wit_host.failure(_message(ctx, e)) from None
            if outcome is not None:
                raise wit_host.failure(_message(ctx, outcome)) from None
            return wit_host.capture_report(report)

    return WitWorld
