"""journal-jrnl on its fixtures (a jrnl journal, a Day One export), through the SDK's
native harness: run from the plugin folder with the SDK on PYTHONPATH:

    PYTHONPATH=../../guest-sdk-python python3 -m unittest discover -s tests
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import unittest
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PLUGIN))

from app import JournalJrnl  # noqa: E402
from openclone_guest import ConfigError, SourceType  # noqa: E402
from openclone_guest.testing import Harness  # noqa: E402

FIXTURES = PLUGIN / "tests" / "fixtures"


class Fixtures(unittest.TestCase):
    def setUp(self) -> None:
        self.host = Harness().input(FIXTURES).config("timezone", "+01:00")

    def tearDown(self) -> None:
        self.host.close()

    def by_ref(self) -> dict:
        return {e.raw_ref: e for e in self.host.events()}

    def test_every_good_entry_once_and_the_bad_ones_counted(self) -> None:
        report = self.host.capture(JournalJrnl)
        self.assertEqual((report.emitted, report.stored, report.skipped), (8, 8, 0))
        self.assertEqual(report.skipped_records, 1)
        self.assertEqual(
            report.problems,
            [
                "dayone/Journal.json: 1 record(s) skipped, the rest read; first: entry 2: "
                'C41B7E09D2A84F3C9E5A1B6D0F8C2E93: creationDate "sometime in February" is not an '
                "ISO 8601 time",
            ],
        )
        lunch = [e for e in self.host.events() if "ramen" in e.data["text"]]
        self.assertIn(
            "[2024-02-30 08:00:00 AM] Notes from the meeting that never was.",
            lunch[0].data["text"],
            "an impossible header stays in the entry before it, as jrnl keeps it",
        )
        self.assertTrue(all(e.source is SourceType.JOURNAL for e in self.host.events()))
        again = self.host.capture(JournalJrnl)
        self.assertEqual(
            (again.emitted, again.problems), (0, []), "unchanged files are not read again"
        )

    def test_jrnl_entries_text_times_tags_and_refs(self) -> None:
        self.host.capture(JournalJrnl)
        jrnl = [e for e in self.host.events() if e.raw_ref.startswith("journal.txt@")]
        self.assertEqual(
            [e.timestamp for e in jrnl],
            [
                1709275500.0,
                1709325000.0,
                1709377500.0,
                1709485800.0,
                1709593140.0,
            ],
            "local times at +01:00",
        )
        first = jrnl[0]
        self.assertEqual(first.raw_ref, "journal.txt@2024-03-01T07:45:00#31db5409718d")
        self.assertEqual(
            first.data,
            {
                "text": "Morning pages. @writing\n"
                "Slept badly, but the coffee helped. Three ideas for the garden:\n"
                "- move the rosemary to the sunny corner\n"
                "- ask Mira about her compost bin\n"
                "- order seeds before the 15th",
                "tags": ["writing"],
            },
        )
        call = jrnl[1]
        self.assertEqual(
            call.data["text"].splitlines()[0], "Long call with Dad about the move. @family"
        )
        self.assertIn(
            "[ ] send him the floor plan", call.data["text"], "a bracketed non-date stays body text"
        )
        self.assertEqual((call.data["starred"], call.data["tags"]), (True, ["family"]))
        self.assertEqual(jrnl[2].data["tags"], ["jonas"])
        self.assertEqual(jrnl[4].data, {"text": "Can't sleep."})
        self.assertNotIn("duration", first.data)

    def test_day_one_entries(self) -> None:
        self.host.capture(JournalJrnl)
        refs = self.by_ref()
        snow = refs["3F2A9C1E7B4D4E0A9C6B5D8E2F1A7C40"]
        self.assertEqual(snow.timestamp, 1707552765.0, "Day One times carry their zone")
        self.assertEqual(
            snow.data["text"],
            "# Snow day\n\nThe S-Bahn stopped at Ostkreuz, so I walked "
            "the rest of the way\\. Fresh snow on the Spree, nobody on the bridge\\.",
        )
        self.assertEqual(snow.data["tags"], ["winter", "berlin"])
        self.assertEqual(refs["8D0E5B2A1C9F4B7E8A3D6C0F9E2B5A17"].data["starred"], True)
        self.assertIn("E7C3A1F05B9D42E68C1A0B7F3D5E9A26", refs)
        self.assertNotIn("0B9E4D7A2C1F43E8B6A5D0C9E8F7A1B2", refs, "a photo-only entry has no text")


class Changes(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        shutil.copy(FIXTURES / "journal.txt", self.dir / "journal.txt")
        self.host = Harness().input(self.dir)

    def tearDown(self) -> None:
        self.host.close()
        self.tmp.cleanup()

    def test_an_added_entry_is_the_only_one_stored(self) -> None:
        self.assertEqual(self.host.capture(JournalJrnl).stored, 5)
        with open(self.dir / "journal.txt", "a", encoding="utf-8") as f:
            f.write("\n[2024-03-05 08:15] Standup: shipped the parser.\nNext: the tests.\n")
        second = self.host.capture(JournalJrnl)
        self.assertEqual((second.emitted, second.stored, second.skipped), (6, 1, 5))
        last = self.host.events()[-1]
        self.assertEqual(last.data["text"], "Standup: shipped the parser.\nNext: the tests.")
        self.assertEqual(last.timestamp, 1709626500.0, "UTC by default")

    def test_old_entries_wait_for_accept_since(self) -> None:
        (self.dir / "old.jrnl").write_text(
            "[2016-05-01 10:00] Before the contract's floor.\n", encoding="utf-8"
        )
        self.assertEqual(self.host.capture(JournalJrnl).stored, 5)
        self.assertTrue(
            any("old.jrnl: 1 entries before 2020-01-01" in line for line in self.host.logs())
        )
        self.host.config("accept_since", "2015-01-01")
        self.assertEqual(self.host.capture(JournalJrnl).stored, 1)

    def test_entries_of_the_same_minute_and_title_are_all_kept(self) -> None:
        (self.dir / "meals.jrnl").write_text(
            "[2024-03-01 07:45] Ate.\nsoup\n\n[2024-03-01 07:45] Ate.\nbread\n",
            encoding="utf-8",
        )
        self.host.capture(JournalJrnl)
        meals = [e for e in self.host.events() if e.raw_ref.startswith("meals.jrnl@")]
        self.assertEqual([e.data["text"] for e in meals], ["Ate.\nsoup", "Ate.\nbread"])
        self.assertEqual(meals[1].raw_ref, meals[0].raw_ref + "-2")

    def test_a_future_entry_is_emitted_when_its_day_comes(self) -> None:
        import datetime

        ahead = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)
        (self.dir / "plans.jrnl").write_text(
            f"[{ahead:%Y-%m-%d %H:%M}] Dentist.\n", encoding="utf-8"
        )
        self.host.capture(JournalJrnl)
        self.assertFalse(any(e.raw_ref.startswith("plans.jrnl@") for e in self.host.events()))
        self.assertTrue(any("plans.jrnl: 1 entries dated more than 23 h ahead" in l for l in self.host.logs()))
        again = self.host.capture(JournalJrnl)
        self.assertEqual(again.emitted, 0, "read again, still ahead: nothing emitted")
        self.assertTrue(
            sum("plans.jrnl: 1 entries dated" in l for l in self.host.logs()) == 2,
            "the file was not marked done while an entry waits",
        )

    def test_a_long_path_is_hashed_into_the_raw_ref(self) -> None:
        deep = self.dir / ("d" * 120) / ("e" * 120)
        deep.mkdir(parents=True)
        (deep / "j.jrnl").write_text("[2024-03-01 07:45] Deep.\n", encoding="utf-8")
        report = self.host.capture(JournalJrnl)
        deep_events = [e for e in self.host.events() if e.data["text"] == "Deep."]
        self.assertEqual(len(deep_events), 1, report.problems)
        self.assertTrue(deep_events[0].raw_ref.startswith("sha256:"))
        self.assertLessEqual(len(deep_events[0].raw_ref), 256)

    def test_files_that_are_no_journal_are_reported_once(self) -> None:
        (self.dir / "todo.txt").write_text("buy milk\n", encoding="utf-8")
        (self.dir / "package.json").write_text('{"name": "x"}', encoding="utf-8")
        report = self.host.capture(JournalJrnl)
        self.assertEqual(
            report.problems[-2:],
            [
                'package.json: not a Day One export (no "entries" list); skipped',
                "todo.txt: no jrnl entries ([YYYY-MM-DD HH:MM] title lines); skipped",
            ],
        )
        self.assertEqual(self.host.capture(JournalJrnl).problems, [])

    def test_a_zone_name_is_refused_with_the_reason(self) -> None:
        self.host.config("timezone", "Europe/Berlin")
        with self.assertRaises(ConfigError) as cm:
            self.host.capture(JournalJrnl)
        self.assertIn("use UTC or a fixed offset such as +02:00", str(cm.exception))


class Manifest(unittest.TestCase):
    def test_describe_matches_plugin_json(self) -> None:
        import json

        manifest = json.loads((PLUGIN / "plugin.json").read_text(encoding="utf-8"))
        self.assertEqual(manifest["id"], JournalJrnl.id)
        self.assertEqual(manifest["version"], JournalJrnl.version)
        self.assertEqual(manifest["source_types"], [s.value for s in JournalJrnl.source_types])


if __name__ == "__main__":
    unittest.main()
