"""The 15 source types of the ingest contract (the WIT enum `source-type`)."""

from __future__ import annotations

import enum


class SourceType(enum.Enum):
    """A source type; its value is the wire name (`audio_system`), which names its vault folder.

    The member names are the WIT enum's cases as componentize-py spells them
    (`AUDIO_SYSTEM`), so a member maps to the bindings by name.
    """

    AUDIO_SYSTEM = "audio_system"
    AUDIO_MIC = "audio_mic"
    SCREEN_OCR = "screen_ocr"
    JOURNAL = "journal"
    WEB_BROWSING = "web_browsing"
    MUSIC = "music"
    HEALTH = "health"
    CALENDAR = "calendar"
    NOTES = "notes"
    GPS = "gps"
    PHOTOS = "photos"
    EMAIL = "email"
    MESSAGING = "messaging"
    ACTIVITY = "activity"
    BRAINDUMP = "braindump"
