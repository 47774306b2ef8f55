"""Write OpenClone capture plugins in Python (the Python twin of the Rust `openclone-guest`).

A plugin is a WebAssembly component of the `openclone:capture` world (`wit/` in the host
repository), built with componentize-py. You subclass `Plugin`, end `app.py` with
`WitWorld = export(MyPlugin)`, and build with `scripts/build-plugins.sh --crate DIR`.
Batching (500 events, payload limits), retries on rate limits, JSON encoding and the
envelope fields are the SDK's job; the host fills in plugin id, version, platform and
device. Plugins granted `net-http` make HTTP requests with `Ctx.http_get` and `Ctx.fetch`
(`openclone_guest.http`); plugins granted `screen` read the focused window's text with
`Ctx.read_screen` (`openclone_guest.screen`). `openclone_guest.testing.Harness` runs a
plugin natively against an in-memory host that checks events with the host's own rules.

    from openclone_guest import Braindump, Ctx, Plugin, SourceType, export

    class Inbox(Plugin):
        id = "inbox"
        version = "0.1.0"
        source_types = (SourceType.BRAINDUMP,)

        def capture(self, ctx: Ctx) -> None:
            for file in ctx.changed_files(keep=lambda p: p.name == "inbox.txt"):
                for n, line in enumerate((ctx.read_text(file) or "").splitlines()):
                    if line.strip():
                        ctx.emit(Braindump(text=line).at(file.stamp.timestamp())
                                 .raw_ref(f"{file.rel}#{n}"))
                ctx.done(file)

    WitWorld = export(Inbox)

Nothing here imports the componentize-py bindings unless it runs inside a component.
"""

from .clock import AHEAD, EARLIEST
from .ctx import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, Ctx, InputFile, Report
from .errors import (
    ConfigError,
    HttpError,
    Invalid,
    NotPermitted,
    PluginError,
    RateLimited,
    ScreenError,
    StateError,
    Storage,
    TooLarge,
)
from .events import (
    Activity,
    AudioMic,
    AudioSystem,
    Braindump,
    Calendar,
    Email,
    Emit,
    Gps,
    Health,
    Journal,
    Messaging,
    Music,
    Notes,
    Photos,
    ScreenOcr,
    WebBrowsing,
)
from .export import export
from .fs import Stamp
from .host import Level
from .plugin import Plugin
from .screen import (
    Frame,
    Reading,
    Rect,
    ScreenBudget,
    ScreenDenied,
    ScreenExcluded,
    ScreenFailed,
    ScreenNoWindow,
    ScreenPaused,
    ScreenUnsupported,
    Target,
    TextLine,
    Unchanged,
    Window,
    text_of,
)
from .source import SourceType
from .state import State

__all__ = [
    "AHEAD",
    "EARLIEST",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "Activity",
    "AudioMic",
    "AudioSystem",
    "Braindump",
    "Calendar",
    "ConfigError",
    "Ctx",
    "Email",
    "Emit",
    "Frame",
    "Gps",
    "Health",
    "HttpError",
    "InputFile",
    "Invalid",
    "Journal",
    "Level",
    "Messaging",
    "Music",
    "NotPermitted",
    "Notes",
    "Photos",
    "Plugin",
    "PluginError",
    "RateLimited",
    "Reading",
    "Rect",
    "Report",
    "ScreenBudget",
    "ScreenDenied",
    "ScreenError",
    "ScreenExcluded",
    "ScreenFailed",
    "ScreenNoWindow",
    "ScreenOcr",
    "ScreenPaused",
    "ScreenUnsupported",
    "SourceType",
    "Stamp",
    "State",
    "StateError",
    "Storage",
    "Target",
    "TextLine",
    "TooLarge",
    "Unchanged",
    "WebBrowsing",
    "Window",
    "export",
    "text_of",
]
