"""The ingest contract's time rules, for plugins that read old data (the Rust SDK's `time`).

All times are Unix seconds (float); days are `YYYY-MM-DD` in UTC.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Optional

EARLIEST: float = 1_577_836_800.0
"""CONTRACT.md: no event timestamp before 2020-01-01T00:00:00Z."""

AHEAD: float = 23.0 * 3600.0
"""CONTRACT.md: no event more than 24 hours ahead; a plugin keeps an hour of margin."""

_DAY = re.compile(r"(\+?[0-9]+)-(\+?[0-9]+)-(\+?[0-9]+)")


def now() -> float:
    """Unix seconds now (the sandbox's wall clock)."""
    return time.time()


def accepted(ts: float) -> bool:
    """True if the host accepts an event at `ts` under the contract's default bound
    (2020-01-01 to 23 hours ahead). A plugin should ask `Ctx.accepted`, which knows the
    tenant's `accept_since`."""
    return accepted_since(ts, EARLIEST)


def accepted_since(ts: float, earliest: float) -> bool:
    """True if `ts` is finite and from `earliest` to 23 hours ahead."""
    return math.isfinite(ts) and earliest <= ts <= now() + AHEAD


def earliest_from(config_json: Optional[str]) -> float:
    """The lower bound a host's `accept_since` config value (JSON text of a `YYYY-MM-DD`
    string) sets, or `EARLIEST` without a readable one."""
    if config_json is None:
        return EARLIEST
    try:
        day = json.loads(config_json)
    except ValueError:
        return EARLIEST
    start = day_start(day) if isinstance(day, str) else None
    return EARLIEST if start is None else start


def day_start(day: str) -> Optional[float]:
    """A `YYYY-MM-DD` date as the Unix seconds of its midnight UTC, for years 1970 to
    9999; None for anything else. (H. Hinnant's days-from-civil, as the Rust SDK.)"""
    m = _DAY.fullmatch(day.strip())
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    days_in_month = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if not (1970 <= y <= 9999) or not (1 <= mo <= 12) or d < 1 or d > days_in_month[mo - 1]:
        return None
    y, mo = (y - 1, mo + 9) if mo <= 2 else (y, mo - 3)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * mo + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return float((era * 146_097 + doe - 719_468) * 86_400)


def day_of(secs: float) -> str:
    """The `YYYY-MM-DD` (UTC) of Unix seconds `secs` (the inverse of `day_start`)."""
    z = math.floor(secs / 86_400.0) + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return f"{y:04}-{m:02}-{d:02}"
