"""`Plugin`: the base class of a capture plugin (the Rust SDK's `Plugin` trait)."""

from __future__ import annotations

import abc
from typing import ClassVar, Tuple

from .ctx import Ctx
from .source import SourceType


class Plugin(abc.ABC):
    """A capture plugin: set `id`, `version` and `source_types` (all three must match its
    plugin.json; the host checks them against `describe`), implement `capture` (and
    `init` if needed), then export it in `app.py` with `WitWorld = export(MyPlugin)`.

    Each call runs on a fresh instance: what must last from pass to pass goes into
    `ctx.state(...)`. An exception fails the call: the host shows `str(error)` for the
    SDK's own errors, and `TypeName: message` (with the traceback in its log) for others.
    """

    id: ClassVar[str]
    """The plugin id (kebab-case, as in plugin.json)."""
    version: ClassVar[str]
    """The plugin version (semver, as in plugin.json)."""
    source_types: ClassVar[Tuple[SourceType, ...]]
    """The source types it emits (plugin.json `source_types`)."""

    def init(self, ctx: Ctx) -> None:
        """Once per instance, after config is bound: check config, prepare. Events
        emitted here are not sent."""

    @abc.abstractmethod
    def capture(self, ctx: Ctx) -> None:
        """One pass: read what is new in the inputs and emit it. Queued events are
        flushed when it returns (or raises)."""
