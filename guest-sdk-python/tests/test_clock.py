"""`clock`: the Rust SDK's `time` tests, ported."""

from __future__ import annotations

import unittest

from openclone_guest import clock


class DayStarts(unittest.TestCase):
    def test_day_starts(self) -> None:
        self.assertEqual(clock.day_start("1970-01-01"), 0.0)
        self.assertEqual(clock.day_start("2020-01-01"), clock.EARLIEST)
        self.assertEqual(clock.day_start("2010-03-01"), 1_267_401_600.0)
        self.assertEqual(clock.day_start("2024-02-29"), 1_709_164_800.0)
        for bad in ["2023-02-29", "1969-12-31", "2020-13-01", "soon", "２０２０-01-01"]:
            self.assertIsNone(clock.day_start(bad), bad)
        for d in ["1970-01-01", "2010-03-01", "2020-01-01", "2024-02-29", "2099-12-31"]:
            self.assertEqual(clock.day_of(clock.day_start(d)), d)

    def test_earliest_from_config_json(self) -> None:
        self.assertEqual(clock.earliest_from(None), clock.EARLIEST)
        self.assertEqual(clock.earliest_from('"2010-03-01"'), 1_267_401_600.0)
        for bad in ['"soon"', "3", "{", '"2023-02-29"']:
            self.assertEqual(clock.earliest_from(bad), clock.EARLIEST, bad)

    def test_accepted(self) -> None:
        self.assertTrue(clock.accepted(clock.EARLIEST))
        self.assertFalse(clock.accepted(clock.EARLIEST - 1))
        self.assertFalse(clock.accepted(clock.now() + 24 * 3600))
        self.assertFalse(clock.accepted(float("inf")))


if __name__ == "__main__":
    unittest.main()
