"""`net-probe-python`: `tests/plugins/net-probe` in Python, a test component for
`net-http` built for the `capture-plugin-http` world. Each pass it GETs every URL of its
`urls` setting (plainly, not conditionally) and emits one braindump event per answer,
whatever its status: `"<url> <status> <body, trimmed, first 200 characters>"`, with
`raw_ref` `<url>#<FNV-1a 64 of the body>`. A URL that fails (denied, unreachable, over the
response cap) is logged at warn and listed in the pass's problems; the pass fails, with
the first failure's text, only when every URL failed."""

from __future__ import annotations

import json
from typing import List, Optional

from openclone_guest import (
    Braindump,
    ConfigError,
    Ctx,
    HttpError,
    Plugin,
    PluginError,
    SourceType,
    clock,
    export,
)

BODY_CHARS = 200
"""Characters of the body kept in the event's text."""

_FNV_OFFSET = 0xCBF2_9CE4_8422_2325
_FNV_PRIME = 0x0000_0100_0000_01B3


def fnv1a(data: bytes) -> int:
    """FNV-1a, 64 bits: a stable fingerprint of a body for `raw_ref`."""
    h = _FNV_OFFSET
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFF_FFFF_FFFF_FFFF
    return h


def urls(ctx: Ctx) -> List[str]:
    """The `urls` setting. Errors: `ConfigError` if it is not a list of strings."""
    value = ctx.config_or("urls", [], list)
    if not all(isinstance(u, str) for u in value):
        raise ConfigError(f"urls: expected a list of strings, got {json.dumps(value)}")
    return value


class NetProbe(Plugin):
    """The test component."""

    id = "net-probe-python"
    version = "0.1.0"
    source_types = (SourceType.BRAINDUMP,)

    def capture(self, ctx: Ctx) -> None:
        """One GET per URL, one event per answer, one problem per failure."""
        first_failure: Optional[str] = None
        answered = 0
        for url in urls(ctx):
            try:
                response = ctx.http_get(url)
            except HttpError as e:
                ctx.problem(str(e))
                if first_failure is None:
                    first_failure = str(e)
                continue
            body = response.body.decode("utf-8", errors="replace")
            text = f"{url} {response.status} {body.strip()[:BODY_CHARS]}"
            event = Braindump(text=text).at(clock.now())
            ctx.emit(event.raw_ref(f"{url}#{fnv1a(response.body):016x}"))
            answered += 1
        if first_failure is not None and answered == 0:
            raise PluginError(first_failure)


WitWorld = export(NetProbe)
