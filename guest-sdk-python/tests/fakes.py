"""A scripted `HostApi` for the SDK's own tests: records every call, refuses on cue."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

from openclone_guest.host import EmitRefused, Level, Receipt, WireEvent
from openclone_guest.source import SourceType


class RecordingHost:
    """Stores every batch it gets; `refusals` are raised, one per `emit` call, first."""

    def __init__(self, refusals: Optional[List[EmitRefused]] = None) -> None:
        self.batches: List[Tuple[SourceType, List[WireEvent]]] = []
        self.refusals = list(refusals or [])
        self.config_values: Dict[str, str] = {}
        self.logs: List[Tuple[Level, str]] = []
        self.state: Dict[Tuple[str, str], str] = {}
        self.input_dirs: List[Path] = []

    def emit(self, source: SourceType, events: List[WireEvent]) -> Receipt:
        if self.refusals:
            raise self.refusals.pop(0)
        self.batches.append((source, list(events)))
        return Receipt(len(events), 0)

    def log(self, level: Level, message: str) -> None:
        self.logs.append((level, message))

    def config(self, key: str) -> Optional[str]:
        return self.config_values.get(key)

    def state_register(self, namespace: str, key: str, value: str, ttl_ms: Optional[int]) -> None:
        self.state[(namespace, key)] = value

    def state_register_if_absent(
        self, namespace: str, key: str, value: str, ttl_ms: Optional[int]
    ) -> bool:
        return self.state.setdefault((namespace, key), value) is value

    def state_lookup(self, namespace: str, key: str) -> Optional[str]:
        return self.state.get((namespace, key))

    def state_consume(self, namespace: str, key: str) -> Optional[str]:
        return self.state.pop((namespace, key), None)

    def state_clear(self, namespace: str) -> None:
        self.state = {k: v for k, v in self.state.items() if k[0] != namespace}

    def inputs(self) -> List[Path]:
        return list(self.input_dirs)
