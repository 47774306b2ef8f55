"""The `timezone` setting: UTC or a fixed offset from it.

The plugin runs in componentize-py's WebAssembly CPython, which has no time-zone database
(`zoneinfo` finds no data there), so IANA names cannot be resolved and are refused.
A regular expression reads the offset: `datetime.strptime("%z")` would import `_strptime`
lazily, and only modules imported at build time are in the component.
"""

from __future__ import annotations

import re

_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])([0-9]{1,2})(?::?([0-9]{2}))?")


def offset_seconds(name: str) -> int:
    """Seconds east of UTC for `UTC`, `Z`, `GMT`, `+02:00`, `-0530`, `+2` or `UTC+01:00`.

    Errors: `ValueError` naming what is accepted (an IANA name, an offset over 14 h).
    """
    text = name.strip()
    if text.upper() in ("UTC", "Z", "GMT"):
        return 0
    m = _OFFSET.fullmatch(text.upper())
    if m:
        sign, hours, minutes = m.group(1), int(m.group(2)), int(m.group(3) or 0)
        if hours <= 14 and minutes < 60:
            seconds = hours * 3600 + minutes * 60
            return -seconds if sign == "-" else seconds
    raise ValueError(
        f"timezone {name!r}: use UTC or a fixed offset such as +02:00 "
        "(IANA names need a time-zone database, which the plugin's WebAssembly Python lacks)"
    )
