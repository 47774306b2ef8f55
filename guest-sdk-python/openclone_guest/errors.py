"""The SDK's errors: what a plugin call can fail with.

`str(error)` is the text the host shows for a failed pass (the Rust SDK's `Display`).
"""

from __future__ import annotations

from typing import List, Tuple


class PluginError(Exception):
    """Anything the SDK reports; the base of the errors below."""


class Invalid(PluginError):
    """The host refused a batch: every `(field, rule)` it named, e.g.
    `("events[0].timestamp", "before 2020-01-01T00:00:00Z")`."""

    def __init__(self, details: List[Tuple[str, str]]) -> None:
        self.details = list(details)
        super().__init__(
            "the host refused the batch:"
            + "".join(f" {field}: {message};" for field, message in self.details)
        )


class NotPermitted(PluginError):
    """The source type is not declared in the plugin's manifest (`source_types`)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"not permitted: {message}")


class TooLarge(PluginError):
    """A single event is larger than the host's per-emit limit (`limit`, bytes)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"one event is larger than the host's per-emit limit of {limit} bytes")


class Storage(PluginError):
    """The vault could not be written; nothing of the batch was stored."""

    def __init__(self, message: str) -> None:
        super().__init__(f"vault write failed: {message}")


class RateLimited(PluginError):
    """The host's rate limit did not lift after repeated waits."""

    def __init__(self) -> None:
        super().__init__("still rate limited after retrying")


class StateError(PluginError):
    """A state call failed (value too large, namespace full, bad key, store failed)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"state: {message}")


class ConfigError(PluginError):
    """A config value is not of the expected type (`key: why`)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"config: {message}")


class HttpError(PluginError):
    """An HTTP request (`Ctx.http_get`, `Ctx.fetch`) failed: `url` and the `reason`,
    which names the `wasi:http` error code in parentheses (`HTTP-request-denied`, …) or,
    for a fetch, the status the server answered."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class ScreenError(PluginError):
    """The host answered a screen call (`Ctx.active_window`, `Ctx.read_screen`) with a
    refusal; one subclass per case, in `openclone_guest.screen`: `ScreenDenied`,
    `ScreenPaused`, `ScreenExcluded`, `ScreenNoWindow`, `ScreenUnsupported`,
    `ScreenBudget`, `ScreenFailed`."""
