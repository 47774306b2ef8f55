"""Typed events for the 15 source types, field for field the Rust SDK's `events`.

Each builder becomes an `Emit` with `.at(timestamp)`:

    >>> e = Calendar(title="Team sync", start=1708261200.0, end=1708264800.0,
    ...              location="Room 1", attendees=["Ann"]).at(1708261200.0).raw_ref("uid-1")
    >>> e.data["title"]
    'Team sync'

`data` follows the Rust `Skip` rules: an optional field that is `None` and a list that is
empty are left out; text and required numbers are always there. Numbers are written as
JSON floats (`60` becomes `60.0`, like a Rust `f64`), a number that is not finite as
`null`. Keys are in serde_json's order (sorted).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Mapping, Optional, Sequence

from .source import SourceType

_TEXT, _NUMBER, _TEXTS = "text", "number", "texts"


@dataclass(frozen=True)
class Emit:
    """An event on its way to `emit`: `source`, `timestamp` (Unix seconds), the `data`
    object and `ref`, the stable id (`raw_ref`) set with `.raw_ref(...)`."""

    source: SourceType
    timestamp: float
    data: Dict[str, Any]
    ref: Optional[str] = None

    @classmethod
    def new(cls, source: SourceType, timestamp: float, data: Any) -> "Emit":
        """An event of `source` at `timestamp` with `data`: a mapping becomes the object,
        anything else `{"value": data}`."""
        if isinstance(data, Mapping):
            return cls(source, float(timestamp), dict(data))
        return cls(source, float(timestamp), {"value": data})

    def raw_ref(self, ref: str) -> "Emit":
        """This event with the stable id the host dedups on (1 to 256 chars);
        re-emitting the same `raw_ref` never duplicates."""
        return dataclasses.replace(self, ref=str(ref))

    def field(self, key: str, value: Any) -> "Emit":
        """This event with one more `data` field beyond the typed ones (kept and shown in
        the vault); `value` must be JSON (str, number, bool, None, list, dict)."""
        return dataclasses.replace(self, data={**self.data, key: value})


def _text(wire: Optional[str] = None) -> Any:
    return field(metadata={"kind": _TEXT, "wire": wire})


def _number() -> Any:
    return field(metadata={"kind": _NUMBER})


def _opt_text() -> Any:
    return field(default=None, metadata={"kind": _TEXT})


def _opt_number() -> Any:
    return field(default=None, metadata={"kind": _NUMBER})


def _texts() -> Any:
    return field(default=(), metadata={"kind": _TEXTS})


def _checked(cls: str, name: str, kind: str, value: Any) -> Any:
    if kind == _TEXT and isinstance(value, str):
        return value
    if kind == _NUMBER and isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        return number if math.isfinite(number) else None
    if kind == _TEXTS and not isinstance(value, (str, bytes)) and isinstance(value, Sequence):
        if all(isinstance(v, str) for v in value):
            return list(value)
    want = {_TEXT: "a str", _NUMBER: "a number", _TEXTS: "a list of str"}[kind]
    raise TypeError(f"{cls}.{name} must be {want}, got {type(value).__name__}")


class _Typed:
    """What every builder has: its source type, `data()` and `at()`."""

    SOURCE: ClassVar[SourceType]

    def data(self) -> Dict[str, Any]:
        """The `data` object, with the Rust SDK's omissions (absent options, empty lists).

        Errors: `TypeError` naming a field whose value is not of its type.
        """
        out: Dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            kind = f.metadata["kind"]
            if value is None and f.default is None:
                continue
            checked = _checked(type(self).__name__, f.name, kind, value)
            if kind == _TEXTS and not checked:
                continue
            out[f.metadata.get("wire") or f.name] = checked
        return dict(sorted(out.items()))

    def at(self, timestamp: float) -> Emit:
        """This event at `timestamp` (Unix seconds).

        Errors: `TypeError` naming a field whose value is not of its type.
        """
        return Emit(self.SOURCE, float(timestamp), self.data())


@dataclass(frozen=True, kw_only=True)
class AudioSystem(_Typed):
    """`audio_system` → `Audio/`: transcribed system audio; `duration` in seconds,
    `confidence` 0 to 1."""

    SOURCE: ClassVar[SourceType] = SourceType.AUDIO_SYSTEM
    text: str = _text()
    duration: Optional[float] = _opt_number()
    app_name: Optional[str] = _opt_text()
    confidence: Optional[float] = _opt_number()


@dataclass(frozen=True, kw_only=True)
class AudioMic(_Typed):
    """`audio_mic` → `Audio/` (HIGH): transcribed microphone audio; `duration` in seconds."""

    SOURCE: ClassVar[SourceType] = SourceType.AUDIO_MIC
    text: str = _text()
    duration: Optional[float] = _opt_number()
    confidence: Optional[float] = _opt_number()


@dataclass(frozen=True, kw_only=True)
class ScreenOcr(_Typed):
    """`screen_ocr` → `Screen/`: text read off the screen."""

    SOURCE: ClassVar[SourceType] = SourceType.SCREEN_OCR
    text: str = _text()
    app_name: Optional[str] = _opt_text()
    window_title: Optional[str] = _opt_text()
    url: Optional[str] = _opt_text()


@dataclass(frozen=True, kw_only=True)
class Journal(_Typed):
    """`journal` → `Journal/`; `duration` in seconds."""

    SOURCE: ClassVar[SourceType] = SourceType.JOURNAL
    text: str = _text()
    duration: Optional[float] = _opt_number()


@dataclass(frozen=True, kw_only=True)
class WebBrowsing(_Typed):
    """`web_browsing` → `Web/`; `reading_time` in seconds."""

    SOURCE: ClassVar[SourceType] = SourceType.WEB_BROWSING
    url: str = _text()
    title: Optional[str] = _opt_text()
    domain: Optional[str] = _opt_text()
    reading_time: Optional[float] = _opt_number()


@dataclass(frozen=True, kw_only=True)
class Music(_Typed):
    """`music` → `Music/`: a listen; `duration` in seconds."""

    SOURCE: ClassVar[SourceType] = SourceType.MUSIC
    track: str = _text()
    artist: Optional[str] = _opt_text()
    album: Optional[str] = _opt_text()
    duration: Optional[float] = _opt_number()


@dataclass(frozen=True, kw_only=True)
class Health(_Typed):
    """`health` → `Health/` (HIGH): `steps`, `heart_rate` (bpm), `sleep_hours`."""

    SOURCE: ClassVar[SourceType] = SourceType.HEALTH
    steps: Optional[float] = _opt_number()
    heart_rate: Optional[float] = _opt_number()
    sleep_hours: Optional[float] = _opt_number()


@dataclass(frozen=True, kw_only=True)
class Calendar(_Typed):
    """`calendar` → `Calendar/`: one occurrence; `start`/`end` are Unix seconds."""

    SOURCE: ClassVar[SourceType] = SourceType.CALENDAR
    title: str = _text()
    start: float = _number()
    end: Optional[float] = _opt_number()
    location: Optional[str] = _opt_text()
    attendees: Sequence[str] = _texts()


@dataclass(frozen=True, kw_only=True)
class Notes(_Typed):
    """`notes` → `Notes/`."""

    SOURCE: ClassVar[SourceType] = SourceType.NOTES
    title: str = _text()
    text: str = _text()
    tags: Sequence[str] = _texts()


@dataclass(frozen=True, kw_only=True)
class Gps(_Typed):
    """`gps` → `Location/`: a position in degrees; `accuracy` in metres."""

    SOURCE: ClassVar[SourceType] = SourceType.GPS
    lat: float = _number()
    lon: float = _number()
    accuracy: Optional[float] = _opt_number()
    place_name: Optional[str] = _opt_text()


@dataclass(frozen=True, kw_only=True)
class Photos(_Typed):
    """`photos` → `Photos/`; `timestamp` (when taken) in Unix seconds."""

    SOURCE: ClassVar[SourceType] = SourceType.PHOTOS
    filename: str = _text()
    location: Optional[str] = _opt_text()
    timestamp: Optional[float] = _opt_number()


@dataclass(frozen=True, kw_only=True)
class Email(_Typed):
    """`email` → `Email/` (CRITICAL): headers only, never a body. `from_` is the `from`
    field (a Python keyword)."""

    SOURCE: ClassVar[SourceType] = SourceType.EMAIL
    subject: str = _text()
    from_: str = _text("from")
    to: Sequence[str] = _texts()
    date: Optional[str] = _opt_text()


@dataclass(frozen=True, kw_only=True)
class Messaging(_Typed):
    """`messaging` → `Messages/` (CRITICAL). `from_` is the `from` field."""

    SOURCE: ClassVar[SourceType] = SourceType.MESSAGING
    platform: str = _text()
    from_: str = _text("from")
    preview: Optional[str] = _opt_text()


@dataclass(frozen=True, kw_only=True)
class Activity(_Typed):
    """`activity` → `Activity/`: an app or command; `duration` in seconds."""

    SOURCE: ClassVar[SourceType] = SourceType.ACTIVITY
    app_name: str = _text()
    duration: Optional[float] = _opt_number()
    category: Optional[str] = _opt_text()
    text: Optional[str] = _opt_text()


@dataclass(frozen=True, kw_only=True)
class Braindump(_Typed):
    """`braindump` → `Braindump/`."""

    SOURCE: ClassVar[SourceType] = SourceType.BRAINDUMP
    text: str = _text()
