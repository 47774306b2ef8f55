"""JSON text as the Rust SDK writes it (serde_json): compact, keys sorted, UTF-8 unescaped,
and a number that is not finite written as `null`."""

from __future__ import annotations

import json
import math
from typing import Any


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """`value` as compact JSON text with sorted keys (serde_json's map order).

    Errors: `TypeError` for a value JSON cannot hold (a `datetime`, a `set`, …).
    """
    return json.dumps(
        _finite(value),
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
        allow_nan=False,
    )
