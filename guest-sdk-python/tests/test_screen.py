"""The screen: canned frames in the harness (queue, unchanged without OCR, refusals),
`text_of`, `Target`, and a `ScreenOcr` event built from a frame."""

from __future__ import annotations

import dataclasses
import unittest
from typing import List, Type

import openclone_guest as og
from openclone_guest.testing import Harness, frame

T = 1708258800.0

PLAN = frame("XTerm", "Quarterly plan", ["Revenue up 12%", "Hire two engineers"])
DOCS = frame("firefox", "Docs — Firefox", ["Other page"])
RULE = "exclude_apps: keepassxc"


class Reader(og.Plugin):
    """Emits the focused window's text when the screen changed."""

    id = "reader"
    version = "0.1.0"
    source_types = (og.SourceType.SCREEN_OCR,)

    def capture(self, ctx: og.Ctx) -> None:
        reading = ctx.read_screen(og.Target.ACTIVE_WINDOW)
        if isinstance(reading, og.Frame):
            w = reading.window
            text = og.text_of(reading, 60)
            event = og.ScreenOcr(text=text, app_name=w.app, window_title=w.title).at(T)
            ctx.emit(event.raw_ref(reading.content_hash))


class Recorder(og.Plugin):
    """Keeps what `TARGETS` read, in order, in `SEEN` (and the window first in `WINDOWS`)."""

    id = "recorder"
    version = "0.1.0"
    source_types = (og.SourceType.SCREEN_OCR,)
    TARGETS: List[og.Target] = [og.Target.ACTIVE_WINDOW]
    SEEN: List[og.Reading] = []
    WINDOWS: List[og.Window] = []

    def capture(self, ctx: og.Ctx) -> None:
        self.WINDOWS.append(ctx.active_window())
        for target in self.TARGETS:
            self.SEEN.append(ctx.read_screen(target))


def recorder(*targets: og.Target) -> Type[Recorder]:
    return type("Recording", (Recorder,), {"TARGETS": list(targets), "SEEN": [], "WINDOWS": []})


class CannedScreen(unittest.TestCase):
    def setUp(self) -> None:
        self.host = Harness()

    def tearDown(self) -> None:
        self.host.close()

    def test_an_unchanged_screen_is_read_without_ocr_and_emits_nothing(self) -> None:
        self.host.frame(PLAN)
        self.assertEqual(self.host.capture(Reader).stored, 1)
        self.assertEqual(self.host.capture(Reader).emitted, 0, "the same screen is unchanged")
        self.assertEqual(self.host.screen_counts(), (2, 1), "two reads, one OCR")
        stored = self.host.events()[0]
        self.assertEqual(stored.source, og.SourceType.SCREEN_OCR)
        self.assertEqual(stored.raw_ref, PLAN.content_hash)
        self.assertEqual(
            stored.data,
            {
                "app_name": "XTerm",
                "text": "Revenue up 12%\nHire two engineers",
                "window_title": "Quarterly plan",
            },
        )

    def test_frames_are_shown_in_order_and_the_last_stays(self) -> None:
        plugin = recorder(og.Target.ACTIVE_WINDOW)
        self.host.frame(PLAN).frame(DOCS)
        for _ in range(3):
            self.host.capture(plugin)
        # The window is the frame the next read shows.
        titles = [w.title for w in plugin.WINDOWS]
        self.assertEqual(titles, ["Quarterly plan", "Docs — Firefox", "Docs — Firefox"])
        self.assertEqual(plugin.SEEN[:2], [PLAN, DOCS])
        self.assertEqual(plugin.SEEN[2], og.Unchanged(DOCS.window, DOCS.content_hash))
        self.assertEqual(self.host.screen_counts(), (3, 2))

    def test_the_same_frame_back_after_another_runs_ocr_again(self) -> None:
        plugin = recorder(og.Target.ACTIVE_WINDOW)
        self.host.frame(PLAN).frame(DOCS).frame(PLAN)
        for _ in range(3):
            self.host.capture(plugin)
        self.assertEqual(plugin.SEEN, [PLAN, DOCS, PLAN])
        self.assertEqual(self.host.screen_counts(), (3, 3))

    def test_each_target_has_its_own_last_hash(self) -> None:
        plugin = recorder(og.Target.ACTIVE_WINDOW, og.Target.monitor(0), og.Target.monitor(0))
        self.host.frame(PLAN).capture(plugin)
        self.assertEqual(plugin.SEEN[:2], [PLAN, PLAN])
        self.assertIsInstance(plugin.SEEN[2], og.Unchanged)
        self.assertEqual(self.host.screen_counts(), (3, 2))

    def test_no_frame_is_no_window(self) -> None:
        with self.assertRaises(og.ScreenNoWindow) as cm:
            self.host.capture(Reader)
        self.assertEqual(str(cm.exception), "no window has focus")
        self.assertEqual(self.host.screen_counts(), (0, 0))

    def test_screen_error_answers_every_call_from_then_on(self) -> None:
        self.host.frame(PLAN).screen_error(og.ScreenPaused())
        for _ in range(2):
            with self.assertRaises(og.ScreenPaused):
                self.host.capture(Reader)
        with self.assertRaises(og.ScreenPaused):
            self.host.capture(recorder())
        self.assertEqual(self.host.screen_counts(), (0, 0))
        self.assertEqual(self.host.events(), [])

    def test_each_refusal_is_a_screen_error_with_the_hosts_words(self) -> None:
        denied = "add `screen = true` to [plugins.reader] in openclone.toml"
        cases = [
            (og.ScreenDenied(denied), f"screen denied: {denied}"),
            (og.ScreenPaused(), "recording is paused"),
            (og.ScreenExcluded(RULE), f"window excluded by {RULE}"),
            (og.ScreenNoWindow(), "no window has focus"),
            (og.ScreenUnsupported("no DISPLAY"), "screen unsupported: no DISPLAY"),
            (og.ScreenBudget(20), "the pass's limit of 20 screen calls is spent"),
            (og.ScreenFailed("tesseract timed out"), "screen: tesseract timed out"),
        ]
        for error, words in cases:
            with self.subTest(type(error).__name__), Harness() as host:
                host.frame(PLAN).screen_error(error)
                with self.assertRaises(type(error)) as cm:
                    host.capture(Reader)
                self.assertIs(cm.exception, error)
                self.assertIsInstance(cm.exception, og.ScreenError)
                self.assertIsInstance(cm.exception, og.PluginError)
                self.assertEqual(str(cm.exception), words)
        self.assertEqual(og.ScreenBudget(20).limit, 20)
        self.assertEqual(og.ScreenExcluded(RULE).rule, RULE)


class Frames(unittest.TestCase):
    def test_the_canned_frame_is_the_rust_harness_frame(self) -> None:
        # sha256("XTerm\0Quarterly plan\0Revenue up 12%\0Hire two engineers\0"), 16 bytes.
        self.assertEqual(PLAN.content_hash, "667b3ce732e1ad535109daaf714f1965")
        shorter = frame("XTerm", "Quarterly plan", ["Revenue up 12%"])
        self.assertNotEqual(shorter.content_hash, PLAN.content_hash)
        screen = og.Rect(0, 0, 800, 600)
        self.assertEqual(PLAN.window, og.Window("XTerm", "Quarterly plan", None, 0, screen, None))
        self.assertEqual(
            PLAN.lines,
            (
                og.TextLine("Revenue up 12%", 90.0, og.Rect(0, 0, 800, 20)),
                og.TextLine("Hire two engineers", 90.0, og.Rect(0, 20, 800, 20)),
            ),
        )
        self.assertEqual((PLAN.area, PLAN.masked, PLAN.ocr_ms), (screen, 0, 0))

    def test_screen_values_are_frozen_and_hashable(self) -> None:
        again = frame("XTerm", "Quarterly plan", ["Revenue up 12%", "Hire two engineers"])
        self.assertEqual(len({PLAN, again, DOCS}), 2)
        with self.assertRaises(dataclasses.FrozenInstanceError):
            PLAN.window.title = "changed"  # type: ignore[misc]

    def test_text_of_keeps_lines_at_or_above_the_confidence(self) -> None:
        lines = [
            og.TextLine("  Revenue up 12%  ", 91.5, og.Rect(0, 0, 800, 20)),
            og.TextLine("smudge", 59.9, og.Rect(0, 20, 800, 20)),
            og.TextLine("Hire two engineers", 60.0, og.Rect(0, 40, 800, 20)),
            og.TextLine("   ", 95.0, og.Rect(0, 60, 800, 20)),
        ]
        f = dataclasses.replace(PLAN, lines=tuple(lines))
        self.assertEqual(og.text_of(f, 60), "Revenue up 12%\nHire two engineers")
        self.assertEqual(og.text_of(f, 0), "Revenue up 12%\nsmudge\nHire two engineers")
        self.assertEqual(og.text_of(f, 95), "")

    def test_a_screen_ocr_event_from_a_frame(self) -> None:
        w = DOCS.window
        event = (
            og.ScreenOcr(text=og.text_of(DOCS, 60), app_name=w.app, window_title=w.title, url=None)
            .at(T)
            .raw_ref(f"screen:{w.app}:{DOCS.content_hash}")
        )
        self.assertEqual(event.source, og.SourceType.SCREEN_OCR)
        self.assertEqual(event.timestamp, T)
        self.assertEqual(event.ref, f"screen:firefox:{DOCS.content_hash}")
        self.assertEqual(
            event.data,
            {"app_name": "firefox", "text": "Other page", "window_title": "Docs — Firefox"},
        )


class Targets(unittest.TestCase):
    def test_targets(self) -> None:
        self.assertIsNone(og.Target.ACTIVE_WINDOW.monitor_index)
        self.assertEqual(og.Target.monitor(1), og.Target.monitor(1))
        self.assertNotEqual(og.Target.monitor(0), og.Target.ACTIVE_WINDOW)
        self.assertEqual(len({og.Target.monitor(2), og.Target.monitor(2), og.Target()}), 2)
        with self.assertRaises(ValueError):
            og.Target.monitor(-1)
        with self.assertRaises(ValueError):
            og.Target.monitor(2**32)
        with self.assertRaises(TypeError):
            og.Target.monitor(True)
        with self.assertRaises(TypeError):
            og.Target.monitor("0")  # type: ignore[arg-type]
        with self.assertRaises(ValueError):
            og.Target(-1)


if __name__ == "__main__":
    unittest.main()


class Idle(unittest.TestCase):
    def test_idle_answers_the_harness_time_and_its_refusal(self) -> None:
        seen: List[int] = []

        class Watcher(og.Plugin):
            id = "watcher"
            version = "0.1.0"
            source_types = (og.SourceType.ACTIVITY,)

            def capture(self, ctx: og.Ctx) -> None:
                seen.append(ctx.idle_ms())

        host = Harness()
        host.capture(Watcher)
        host.idle(120_000).capture(Watcher)
        self.assertEqual(seen, [0, 120_000])
        with self.assertRaises(og.ScreenPaused):
            host.screen_error(og.ScreenPaused()).capture(Watcher)
