"""State and changed files across passes, through the harness (state is kept by it)."""

from __future__ import annotations

import os
import tempfile
import unittest
from pathlib import Path

import openclone_guest as og
from openclone_guest.fs import files, files_including_hidden, has_extension
from openclone_guest.testing import Harness

T = 1708258800.0


class Lines(og.Plugin):
    """Emits every line of every `.txt` file that changed, as braindump events."""

    id = "lines"
    version = "0.1.0"
    source_types = (og.SourceType.BRAINDUMP,)

    def capture(self, ctx: og.Ctx) -> None:
        passes = ctx.state("meta").get("passes", 0)
        ctx.state("meta").set("passes", passes + 1)
        for file in ctx.changed_files(keep=lambda p: has_extension(p, ["txt"])):
            text = ctx.read_text(file)
            if text is None:
                continue
            for n, line in enumerate(text.splitlines()):
                ctx.emit(og.Braindump(text=line).at(T).raw_ref(f"{file.rel}#{n}:{line}"))
            ctx.done(file)


def write(path: Path, text: str, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))


class ChangedFiles(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.host = Harness().input(self.dir)

    def tearDown(self) -> None:
        self.host.close()
        self.tmp.cleanup()

    def test_only_new_or_changed_files_are_read_again(self) -> None:
        write(self.dir / "a.txt", "one\ntwo\n", T)
        write(self.dir / "sub" / "b.txt", "three\n", T)
        write(self.dir / "skip.md", "not read\n", T)
        first = self.host.capture(Lines)
        self.assertEqual((first.emitted, first.stored), (3, 3))
        second = self.host.capture(Lines)
        self.assertEqual(second.emitted, 0, "unchanged files are not read")
        write(self.dir / "a.txt", "one\ntwo\nfour\n", T)
        third = self.host.capture(Lines)
        self.assertEqual((third.emitted, third.stored, third.skipped), (3, 1, 2))
        write(self.dir / "sub" / "b.txt", "three\n", T + 60)
        self.assertEqual(self.host.capture(Lines).emitted, 1, "a new mtime alone is a change")
        self.assertEqual(
            [e.data["text"] for e in self.host.events()], ["one", "two", "three", "four"]
        )

    def test_state_survives_passes(self) -> None:
        for _ in range(3):
            self.host.capture(Lines)
        meta = og.Ctx(self.host._host).state("meta")
        self.assertEqual(meta.get("passes"), 3)
        self.assertTrue(meta.insert_new("seen", True))
        self.assertFalse(meta.insert_new("seen", False))
        self.assertEqual(meta.take("seen"), True)
        self.assertIsNone(meta.take("seen"))
        meta.clear()
        self.assertEqual(meta.get("passes", "gone"), "gone")

    def test_the_stamp_is_stored_as_the_rust_sdk_stores_it(self) -> None:
        write(self.dir / "a.txt", "one\n", T)
        self.host.capture(Lines)
        key = ("files", str(self.dir / "a.txt"))
        self.assertEqual(self.host._host.state[key], '{"len":4,"modified":1708258800}')

    def test_a_lowered_bound_reads_every_file_again(self) -> None:
        write(self.dir / "a.txt", "one\n", T)
        self.host.capture(Lines)
        self.host.config("accept_since", "2010-01-01")
        again = self.host.capture(Lines)
        self.assertEqual((again.emitted, again.skipped), (1, 1))

    def test_a_file_that_is_not_utf8_is_reported_once(self) -> None:
        (self.dir / "bad.txt").write_bytes(b"\xff\xfe\x00")
        report = self.host.capture(Lines)
        self.assertEqual(report.problems, ["bad.txt: not UTF-8 text; skipped"])
        self.assertEqual(self.host.capture(Lines).problems, [])
        self.assertIn("warn: bad.txt: not UTF-8 text; skipped", self.host.logs())


class Walk(unittest.TestCase):
    def test_hidden_entries_order_and_extensions(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            for rel in ["b.TXT", "a/z.txt", "a-b.txt", ".hidden", ".git/x.txt", "c.md"]:
                write(d / rel, "x", T)
            os.symlink(d / "c.md", d / "link.md")
            rel = lambda ps: [str(p.relative_to(d)) for p in ps]  # noqa: E731
            self.assertEqual(rel(files(d, ["txt"])), ["a/z.txt", "a-b.txt", "b.TXT"])
            self.assertEqual(rel(files(d)), ["a/z.txt", "a-b.txt", "b.TXT", "c.md"])
            self.assertEqual(
                rel(files_including_hidden(d)), [".hidden", "a/z.txt", "a-b.txt", "b.TXT", "c.md"]
            )
            self.assertEqual(files(d / "missing"), [])


if __name__ == "__main__":
    unittest.main()
