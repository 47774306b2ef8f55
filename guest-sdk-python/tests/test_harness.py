"""The harness: the host's checker decides, dedup by its keys, errors as the host gives them."""

from __future__ import annotations

import os
import shutil
import unittest
from unittest import mock

import openclone_guest as og
from openclone_guest.checker import CheckerUnavailable
from openclone_guest.testing import Harness

T = 1708258800.0


class Emits(og.Plugin):
    """Emits what the test puts in `EVENTS`."""

    id = "emits"
    version = "0.1.0"
    source_types = (og.SourceType.JOURNAL,)
    EVENTS: list = []

    def capture(self, ctx: og.Ctx) -> None:
        for e in self.EVENTS:
            ctx.emit(e)


def emitting(*events: og.Emit) -> type:
    return type("Emitting", (Emits,), {"EVENTS": list(events)})


class HarnessChecks(unittest.TestCase):
    def setUp(self) -> None:
        self.host = Harness()

    def tearDown(self) -> None:
        self.host.close()

    def test_stores_once_by_key_and_returns_the_validated_data(self) -> None:
        plugin = emitting(
            og.Journal(text="Dear diary", duration=60).at(T).raw_ref("d1"),
            og.Journal(text="Dear diary, again").at(T).raw_ref("d1"),
            og.Journal(text="no ref").at(T),
        )
        report = self.host.capture(plugin)
        self.assertEqual((report.emitted, report.stored, report.skipped), (3, 2, 1))
        first = self.host.events()[0]
        self.assertEqual(
            (first.source, first.timestamp, first.raw_ref), (og.SourceType.JOURNAL, T, "d1")
        )
        self.assertEqual(first.data, {"duration": 60.0, "text": "Dear diary"})
        again = self.host.capture(plugin)
        self.assertEqual((again.stored, again.skipped), (0, 3))

    def test_reports_the_hosts_field_errors(self) -> None:
        plugin = emitting(
            og.Journal(text="ok").at(T),
            og.Journal(text="too old").at(1_000_000_000).raw_ref(""),
        )
        with self.assertRaises(og.Invalid) as cm:
            self.host.capture(plugin)
        fields = [f for f, _ in cm.exception.details]
        self.assertEqual(fields, ["events[1].timestamp", "events[1].raw_ref"])
        self.assertIn("before 2020-01-01", cm.exception.details[0][1])
        self.assertEqual(self.host.events(), [], "all or nothing")

    def test_accept_since_goes_to_the_checker(self) -> None:
        self.host.config("accept_since", "2001-01-01")
        self.assertEqual(
            self.host.capture(emitting(og.Journal(text="old").at(1_000_000_000))).stored, 1
        )

    def test_not_finite_timestamps_and_undeclared_types(self) -> None:
        with self.assertRaises(og.Invalid) as cm:
            self.host.capture(emitting(og.Journal(text="x").at(float("nan"))))
        self.assertEqual(
            cm.exception.details,
            [("events[0].timestamp", "must be a finite number of Unix seconds")],
        )
        with self.assertRaises(og.NotPermitted) as cm2:
            self.host.capture(emitting(og.Music(track="x").at(T)))
        self.assertIn(
            "emits emits music, but its plugin.json source_types are [journal]", str(cm2.exception)
        )

    def test_the_plugins_error_wins_after_the_flush(self) -> None:
        class Fails(Emits):
            def capture(self, ctx: og.Ctx) -> None:
                ctx.emit(og.Journal(text="kept").at(T))
                raise ValueError("broken")

        with self.assertRaises(ValueError):
            self.host.capture(Fails)
        self.assertEqual(len(self.host.events()), 1, "what was queued is flushed first")

    def test_a_missing_binary_is_a_clear_error(self) -> None:
        with mock.patch.dict(os.environ, {"OPENCLONE_BIN": "/nonexistent/openclone"}):
            with Harness() as host, self.assertRaises(CheckerUnavailable) as cm:
                host.capture(emitting(og.Journal(text="x").at(T)))
        self.assertIn("OPENCLONE_BIN", str(cm.exception))

    def test_a_binary_that_does_not_answer_is_a_clear_error(self) -> None:
        silent = shutil.which("false")
        if silent is None:
            self.skipTest("no `false` on PATH")
        with mock.patch.dict(os.environ, {"OPENCLONE_BIN": silent}):
            with Harness() as host, self.assertRaises(CheckerUnavailable) as cm:
                host.capture(emitting(og.Journal(text="x").at(T)))
        self.assertIn("it ended without answering", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
