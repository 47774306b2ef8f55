"""`twin` in Python: each pass emits the same 15 events as `tests/plugins/twin-rust`, one
of each source type, through the Python SDK's typed builders; the two components must
leave byte-identical vaults."""

from openclone_guest import (
    Activity,
    AudioMic,
    AudioSystem,
    Braindump,
    Calendar,
    Ctx,
    Email,
    Emit,
    Gps,
    Health,
    Journal,
    Messaging,
    Music,
    Notes,
    Photos,
    Plugin,
    ScreenOcr,
    SourceType,
    WebBrowsing,
    export,
)

DAY = 1_711_958_400.0
"""2024-04-01T08:00:00Z; the events follow ten minutes apart."""


def events() -> list[Emit]:
    """The fixed events, in emit order."""
    typed = [
        AudioSystem(
            text="We discussed the roadmap for Q2.",
            duration=60.0,
            app_name="Google Meet",
            confidence=0.95,
        ),
        AudioMic(text="Reminder: call the dentist — Zahnarzt 🦷", confidence=0.8),
        ScreenOcr(text="Line one\nLine two\n  indented three", app_name="Terminal"),
        Journal(text="A quiet morning.\n\nWrote two pages; the café was empty. ☕"),
        WebBrowsing(
            url="https://example.org/wiki/Zürich",
            title="Zürich – Wikipedia",
            domain="example.org",
            reading_time=42.5,
        ),
        Music(track="Clair de lune", artist="Claude Debussy", duration=300.0),
        Health(steps=8042.0, sleep_hours=7.25),
        Calendar(
            title="Team sync",
            start=1_712_050_200.0,
            end=1_712_052_000.0,
            location="Room 1",
            attendees=["Ann", "Bo", "Çelik"],
        ),
        Notes(title="Shopping", text="- milk\n- bread\n- 🍎", tags=["home", "errands"]),
        Gps(lat=52.52, lon=13.405, accuracy=12.0, place_name="Berlin Mitte"),
        Photos(filename="IMG_0001.HEIC", timestamp=1_711_900_000.0),
        Email(
            subject="Re: Quarterly numbers",
            from_="ann@example.com",
            to=["bo@example.com", "cy@example.com"],
            date="Mon, 01 Apr 2024 09:00:00 +0000",
        ),
        Messaging(platform="signal", from_="Bo"),
        Activity(app_name="Firefox", duration=1800.0, category="browsing"),
        Braindump(text="Idea: a 日本語 note\nsecond line"),
    ]
    out = [e.at(DAY + 600.0 * n).raw_ref(f"twin-{e.SOURCE.value}") for n, e in enumerate(typed)]
    out[8] = out[8].field("path", "inbox/shopping.md")
    return out


class Twin(Plugin):
    """Emits `events()` on every pass."""

    id = "twin"
    version = "0.1.0"
    source_types = tuple(SourceType)

    def capture(self, ctx: Ctx) -> None:
        """Emits the fixed events (the same as twin-rust's)."""
        for event in events():
            ctx.emit(event)


WitWorld = export(Twin)
