"""The screen (world 0.3.0): the focused window's metadata and its text, read by the host;
the Rust SDK's `screen` module.

A plugin may read the screen when its plugin.json lists `"screen"` in
`requires_permissions` and the user grants it with `[plugins.<id>] screen = true`. The
host grabs the pixels, applies `[screen] exclude_apps` / `exclude_titles` before any pixel
is read, runs OCR and answers with text lines, boxes and a content hash; pixels never
reach the plugin. A read whose content equals this plugin's last read of the same target
is `Unchanged` and costs no OCR. In native tests, `Harness.frame` shows canned frames.

    def capture(self, ctx):
        reading = ctx.read_screen(Target.ACTIVE_WINDOW)
        if isinstance(reading, Frame):
            ctx.emit(ScreenOcr(text=text_of(reading, 60), app_name=reading.window.app)
                     .at(time.time()).raw_ref(reading.content_hash))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional, Tuple, Union

from .errors import ScreenError

_U32_MAX = 2**32 - 1


@dataclass(frozen=True)
class Rect:
    """A rectangle in screen pixels: top-left corner `x`, `y` (negative left of or above
    the first monitor), `width` and `height`."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Window:
    """A window as the window manager describes it: the `app` (WM_CLASS's class such as
    `firefox`, or the app id), the `title` (empty when excluded), the client's `pid` if it
    says, the `monitor` holding its centre (from 0), its `bounds`, and `excluded`, the
    exclusion rule it matched (`exclude_apps: keepassxc`), if any: its pixels are never
    read."""

    app: str
    title: str
    pid: Optional[int]
    monitor: int
    bounds: Rect
    excluded: Optional[str]


@dataclass(frozen=True)
class TextLine:
    """One line of text on the screen: its `text`, the OCR `confidence` (0 to 100, the mean
    of its words) and its `bounds` in screen coordinates."""

    text: str
    confidence: float
    bounds: Rect


@dataclass(frozen=True)
class Frame:
    """A read screen: the focused `window` when it was read, the `area` read (the window
    as far as it is on screen, or the monitor), the `content_hash` (32 hex digits; equal
    frames, equal hashes), the `lines` top to bottom, how many excluded windows were
    `masked` (blacked out before the hash and OCR) and `ocr_ms`, milliseconds of OCR."""

    window: Window
    area: Rect
    content_hash: str
    lines: Tuple[TextLine, ...]
    masked: int
    ocr_ms: int


@dataclass(frozen=True)
class Unchanged:
    """A read of the same `content_hash` as this plugin's last read of the same target:
    no OCR ran. The focused `window` and the hash."""

    window: Window
    content_hash: str


Reading = Union[Frame, Unchanged]
"""What `Ctx.read_screen` brought."""


@dataclass(frozen=True)
class Target:
    """What to read: the focused window, as far as it is on screen
    (`Target.ACTIVE_WINDOW`), or a whole monitor (`Target.monitor(0)`), on which the host
    blacks out excluded windows. `monitor_index` is None for the focused window.

    Errors: `TypeError` if `monitor_index` is not an int, `ValueError` if it is not from 0
    to 2³²−1.
    """

    monitor_index: Optional[int] = None

    ACTIVE_WINDOW: ClassVar["Target"]

    def __post_init__(self) -> None:
        n = self.monitor_index
        if n is None:
            return
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"a monitor is an int, not {type(n).__name__}")
        if not 0 <= n <= _U32_MAX:
            raise ValueError(f"a monitor is a number from 0 to {_U32_MAX}, not {n}")

    @classmethod
    def monitor(cls, n: int) -> "Target":
        """Monitor `n` (from 0). Errors: as the class."""
        return cls(n)


Target.ACTIVE_WINDOW = Target()


class ScreenDenied(ScreenError):
    """The plugin has no screen grant: `message` is the host's, naming the openclone.toml
    line to add (`[plugins.<id>] screen = true`)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(f"screen denied: {message}")


class ScreenPaused(ScreenError):
    """Recording is paused (`openclone pause`); nothing was read. A normal answer: skip the
    pass quietly."""

    def __init__(self) -> None:
        super().__init__("recording is paused")


class ScreenExcluded(ScreenError):
    """The focused window matched the exclusion `rule` (`exclude_apps: keepassxc`); nothing
    was read. A normal answer: skip the pass quietly."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        super().__init__(f"window excluded by {rule}")


class ScreenNoWindow(ScreenError):
    """No window has focus."""

    def __init__(self) -> None:
        super().__init__("no window has focus")


class ScreenUnsupported(ScreenError):
    """This session cannot be read (no display, Wayland without a portal): `reason`."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"screen unsupported: {reason}")


class ScreenBudget(ScreenError):
    """The plugin spent its screen reads for this pass (`limit` reads)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the pass's limit of {limit} screen calls is spent")


class ScreenFailed(ScreenError):
    """The display or the OCR engine failed: `reason`."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"screen: {reason}")


def text_of(frame: Frame, min_confidence: float) -> str:
    """The text of `frame`'s lines whose confidence is at least `min_confidence` (0 to
    100), stripped, one per line; blank lines are left out."""
    kept = (line.text.strip() for line in frame.lines if line.confidence >= min_confidence)
    return "\n".join(t for t in kept if t)
