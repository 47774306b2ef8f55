"""`Ctx` against a scripted host: batching, limits, retries, errors, the report."""

from __future__ import annotations

import unittest

import openclone_guest as og
from fakes import RecordingHost
from openclone_guest.host import (
    EmitInvalid,
    EmitNotPermitted,
    EmitRateLimited,
    EmitStorage,
    EmitTooLarge,
)

T = 1708258800.0


def note(n: int, size: int = 1) -> og.Emit:
    return og.Braindump(text="x" * size).at(T).raw_ref(f"r{n}")


class Batching(unittest.TestCase):
    def test_batches_split_at_500_events(self) -> None:
        host = RecordingHost()
        ctx = og.Ctx(host)
        for n in range(1201):
            ctx.emit(note(n))
        self.assertEqual([len(b) for _, b in host.batches], [500, 500])
        report = ctx.finish()
        self.assertEqual([len(b) for _, b in host.batches], [500, 500, 201])
        self.assertEqual((report.emitted, report.stored, report.skipped), (1201, 1201, 0))
        refs = [e.raw_ref for _, b in host.batches for e in b]
        self.assertEqual(refs, [f"r{n}" for n in range(1201)])

    def test_batches_split_at_512_kib_of_data(self) -> None:
        host = RecordingHost()
        ctx = og.Ctx(host)
        for n in range(5):
            ctx.emit(note(n, 200 * 1024))
        ctx.flush()
        self.assertEqual([len(b) for _, b in host.batches], [3, 2])

    def test_bytes_count_utf8(self) -> None:
        host = RecordingHost()
        ctx = og.Ctx(host)
        ctx.emit(og.Braindump(text="é" * (og.MAX_BATCH_BYTES // 2)).at(T))
        self.assertEqual(len(host.batches), 1, "2 bytes a character reach the limit")

    def test_each_source_type_has_its_batch_in_first_emit_order(self) -> None:
        host = RecordingHost()
        ctx = og.Ctx(host)
        ctx.emit(og.Music(track="a").at(T))
        ctx.emit(og.Braindump(text="b").at(T))
        ctx.emit(og.Music(track="c").at(T))
        ctx.finish()
        self.assertEqual(
            [(s, [e.data for e in b]) for s, b in host.batches],
            [
                (og.SourceType.MUSIC, ['{"track":"a"}', '{"track":"c"}']),
                (og.SourceType.BRAINDUMP, ['{"text":"b"}']),
            ],
        )

    def test_a_full_batch_swaps_the_last_source_into_its_place(self) -> None:
        host = RecordingHost()
        ctx = og.Ctx(host)
        ctx.emit(og.Music(track="m").at(T))
        ctx.emit(og.Notes(title="n", text="n").at(T))
        ctx.emit(og.Braindump(text="b").at(T))
        for n in range(499):
            ctx.emit(og.Music(track=f"m{n}").at(T))
        ctx.finish()
        self.assertEqual(
            [s for s, _ in host.batches],
            [og.SourceType.MUSIC, og.SourceType.BRAINDUMP, og.SourceType.NOTES],
            "the Rust SDK's swap_remove order",
        )

    def test_a_builder_needs_a_time(self) -> None:
        with self.assertRaises(TypeError) as cm:
            og.Ctx(RecordingHost()).emit(og.Braindump(text="x"))  # type: ignore[arg-type]
        self.assertIn("add .at(timestamp)", str(cm.exception))


class Refusals(unittest.TestCase):
    def test_rate_limited_is_retried(self) -> None:
        host = RecordingHost([EmitRateLimited(1), EmitRateLimited(1)])
        ctx = og.Ctx(host)
        ctx.emit(note(0))
        self.assertEqual(ctx.finish().stored, 1)

    def test_rate_limited_gives_up_after_20_retries(self) -> None:
        host = RecordingHost([EmitRateLimited(0) for _ in range(21)])
        ctx = og.Ctx(host)
        ctx.emit(note(0))
        with self.assertRaises(og.RateLimited):
            ctx.flush()
        self.assertEqual(host.refusals, [])

    def test_too_large_halves_until_one_event(self) -> None:
        host = RecordingHost([EmitTooLarge(1000), EmitTooLarge(1000)])
        ctx = og.Ctx(host)
        for n in range(5):
            ctx.emit(note(n))
        ctx.flush()
        self.assertEqual([len(b) for _, b in host.batches], [1, 1, 3])
        single = RecordingHost([EmitTooLarge(1000)])
        ctx = og.Ctx(single)
        ctx.emit(note(0))
        with self.assertRaises(og.TooLarge) as cm:
            ctx.flush()
        self.assertEqual(
            str(cm.exception), "one event is larger than the host's per-emit limit of 1000 bytes"
        )

    def test_refusals_become_sdk_errors(self) -> None:
        cases = [
            (
                EmitInvalid([("events[0].timestamp", "before 2020-01-01T00:00:00Z")]),
                og.Invalid,
                "the host refused the batch: events[0].timestamp: before 2020-01-01T00:00:00Z;",
            ),
            (EmitNotPermitted("x emits music"), og.NotPermitted, "not permitted: x emits music"),
            (EmitStorage("disk full"), og.Storage, "vault write failed: disk full"),
        ]
        for refusal, error, message in cases:
            ctx = og.Ctx(RecordingHost([refusal]))
            ctx.emit(note(0))
            with self.assertRaises(error) as cm:
                ctx.finish()
            self.assertEqual(str(cm.exception), message)


class Report(unittest.TestCase):
    def test_problems_and_skipped_records(self) -> None:
        host = RecordingHost()
        ctx = og.Ctx(host)
        ctx.problem("a.txt: unreadable")
        ctx.skipped_records("b.txt", 0, "nothing")
        ctx.skipped_records("b.txt", 3, "line 4: no date")
        report = ctx.finish()
        self.assertEqual(
            report.problems,
            [
                "a.txt: unreadable",
                "b.txt: 3 record(s) skipped, the rest read; first: line 4: no date",
            ],
        )
        self.assertEqual(report.skipped_records, 3)
        self.assertEqual([lvl for lvl, _ in host.logs], [og.Level.WARN, og.Level.WARN])


class Config(unittest.TestCase):
    def test_values_are_json_decoded_and_typed(self) -> None:
        host = RecordingHost()
        host.config_values = {"n": "3", "tz": '"+02:00"', "bad": "{", "list": '["a"]'}
        ctx = og.Ctx(host)
        self.assertEqual(ctx.config("n"), 3)
        self.assertIsNone(ctx.config("missing"))
        self.assertEqual(ctx.config_or("missing", "UTC", str), "UTC")
        self.assertEqual(ctx.config_or("tz", "UTC", str), "+02:00")
        self.assertEqual(ctx.config_or("n", 1.0, float), 3.0)
        self.assertEqual(ctx.config_or("list", [], list), ["a"])
        with self.assertRaises(og.ConfigError) as cm:
            ctx.config_or("n", "", str)
        self.assertEqual(str(cm.exception), "config: n: expected str, got 3")
        with self.assertRaises(og.ConfigError):
            ctx.config("bad")

    def test_accept_since_sets_earliest_and_the_bound_namespace(self) -> None:
        host = RecordingHost()
        ctx = og.Ctx(host)
        self.assertEqual(ctx.earliest(), og.EARLIEST)
        self.assertEqual(ctx.bound_namespace("files"), "files")
        self.assertFalse(ctx.accepted(og.EARLIEST - 1))
        host.config_values["accept_since"] = '"2010-03-01"'
        self.assertEqual(ctx.earliest(), 1_267_401_600.0)
        self.assertEqual(ctx.bound_namespace("files"), "files@since=1267401600")
        self.assertTrue(ctx.accepted(og.EARLIEST - 1))
        self.assertFalse(ctx.accepted(float("nan")))


if __name__ == "__main__":
    unittest.main()
