"""The parsers on their own: jrnl's time formats and edge cases, Day One's, the zone."""

from __future__ import annotations

import datetime
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dayone_json  # noqa: E402
import fixed_zone  # noqa: E402
import jrnl_text  # noqa: E402


class Jrnl(unittest.TestCase):
    def test_time_formats(self) -> None:
        dt = datetime.datetime
        self.assertEqual(jrnl_text.stamp("2024-03-01 07:45"), dt(2024, 3, 1, 7, 45))
        self.assertEqual(jrnl_text.stamp("2024-03-01 19:45:30"), dt(2024, 3, 1, 19, 45, 30))
        self.assertEqual(jrnl_text.stamp("2024-03-01 12:05:00 AM"), dt(2024, 3, 1, 0, 5))
        self.assertEqual(jrnl_text.stamp("2024-03-01 12:05:00 PM"), dt(2024, 3, 1, 12, 5))
        self.assertEqual(jrnl_text.stamp("2024-03-01 09:30 pm"), dt(2024, 3, 1, 21, 30))
        self.assertEqual(jrnl_text.stamp("2024-03-01"), dt(2024, 3, 1, 9, 0), "jrnl's default_hour")
        for bad in ["2024-02-30 08:00", "2024-03-01 13:00 PM", "2024-03-01 24:00", "2024-03"]:
            self.assertIsNone(jrnl_text.stamp(bad), bad)

    def test_crlf_stars_preamble_and_empty_entries(self) -> None:
        text = (
            "stray\r\n[2024-03-01 07:45] * Title *\r\nbody\r\n[x] no header\r\n"
            "\r\n[2024-03-02 08:00]\r\n"
        )
        parsed = jrnl_text.parse(text)
        self.assertEqual(
            [(e.title, e.text, e.starred) for e in parsed.entries],
            [("Title", "Title\nbody\n[x] no header", True)],
        )
        self.assertEqual(parsed.headers, 2, "an empty entry has nothing to emit but is no error")
        self.assertEqual(
            (parsed.skipped, parsed.first_reason), (1, "line 1: text before the first entry")
        )

    def test_tags_as_jrnl_finds_them(self) -> None:
        found = jrnl_text.tags("@Work and #deep-work, mail@example.com @work")
        self.assertEqual(found, ("work", "deep-work"))


class DayOne(unittest.TestCase):
    def test_times(self) -> None:
        self.assertEqual(dayone_json.when("2024-02-10T08:12:45Z", 7200), 1707552765.0)
        self.assertEqual(dayone_json.when("2024-02-10T10:12:45+02:00", 0), 1707552765.0)
        self.assertEqual(
            dayone_json.when("2024-02-10T10:12:45", 7200), 1707552765.0, "naive: the setting"
        )
        self.assertIsNone(dayone_json.when(1707552765, 0))

    def test_not_an_export(self) -> None:
        for text in ["[1, 2]", "{", '{"entries": {}}']:
            with self.assertRaises(dayone_json.NotAnExport):
                dayone_json.parse(text, 0)


class Zone(unittest.TestCase):
    def test_offsets(self) -> None:
        cases = {"UTC": 0, "z": 0, "+02:00": 7200, "-0530": -19800, "+2": 7200, "UTC+01:00": 3600}
        for name, seconds in cases.items():
            self.assertEqual(fixed_zone.offset_seconds(name), seconds, name)
        for bad in ["Europe/Berlin", "+15:00", "+02:60", ""]:
            with self.assertRaises(ValueError):
                fixed_zone.offset_seconds(bad)


if __name__ == "__main__":
    unittest.main()
