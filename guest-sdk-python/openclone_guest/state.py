"""`State`: one keyed store namespace of the plugin; values are JSON (cursors, seen-sets)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional

from . import jsonwire
from .errors import PluginError

if TYPE_CHECKING:
    from .host import HostApi


def _decode(text: Optional[str]) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as e:
        raise PluginError(f"JSON: {e}") from e


class State:
    """The namespace `namespace` of the host's keyed store, persisted by the host and
    private to this plugin. Every call may raise `errors.StateError` (value over the
    per-value limit, namespace full, empty or over-long key, store failed)."""

    def __init__(self, host: "HostApi", namespace: str) -> None:
        self._host = host
        self.namespace = namespace

    def get(self, key: str, default: Any = None) -> Any:
        """The JSON value of `key` (dict, list, str, number, bool), or `default` when
        absent or expired. Errors: the stored text is not JSON (`PluginError`)."""
        value = _decode(self._host.state_lookup(self.namespace, key))
        return default if value is None else value

    def set(self, key: str, value: Any) -> None:
        """Sets `key` to `value` (anything JSON can hold)."""
        self._host.state_register(self.namespace, key, jsonwire.dumps(value), None)

    def set_for(self, key: str, value: Any, ttl_s: float) -> None:
        """Sets `key` to `value`, expiring after `ttl_s` seconds."""
        self._host.state_register(self.namespace, key, jsonwire.dumps(value), int(ttl_s * 1000))

    def insert_new(self, key: str, value: Any) -> bool:
        """Sets `key` only if absent, atomically; True if this call set it ("first time
        seen")."""
        return self._host.state_register_if_absent(self.namespace, key, jsonwire.dumps(value), None)

    def take(self, key: str) -> Any:
        """Removes `key`, returning its JSON value (None if it was absent)."""
        return _decode(self._host.state_consume(self.namespace, key))

    def clear(self) -> None:
        """Removes every key of the namespace."""
        self._host.state_clear(self.namespace)
