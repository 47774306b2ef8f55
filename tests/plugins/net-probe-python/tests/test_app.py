"""`net-probe-python` against the harness's canned responses (the Rust net-probe's tests)."""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import NetProbe, fnv1a  # noqa: E402
from openclone_guest import PluginError  # noqa: E402
from openclone_guest.testing import Harness  # noqa: E402

OK = "http://127.0.0.1:8080/hello"
DOWN = "http://127.0.0.1:8080/down"
DENIED = "http://example.org/x"


class NetProbeTest(unittest.TestCase):
    def test_each_answer_is_one_event_and_each_failure_one_problem(self) -> None:
        with Harness() as host:
            host.config("urls", [OK, DENIED, DOWN])
            host.http(OK, 200, [], "  hello from the origin\n").http(DOWN, 503, [], "down")
            report = host.capture(NetProbe)
            texts = [e.data["text"] for e in host.events()]
            self.assertEqual(texts, [f"{OK} 200 hello from the origin", f"{DOWN} 503 down"])
            self.assertEqual(len(report.problems), 1, report.problems)
            self.assertIn("HTTP-request-denied", report.problems[0])
            self.assertTrue(host.logs()[0].startswith(f"warn: {DENIED}: "), host.logs())
            self.assertTrue(all(not r.headers for r in host.requests()), "plain GETs")
            self.assertEqual(host.events()[0].raw_ref, f"{OK}#81e5661ab30a98fa")

    def test_the_pass_fails_only_when_every_url_failed(self) -> None:
        with Harness() as host:
            host.config("urls", [DENIED, "http://localhost/y"])
            with self.assertRaises(PluginError) as cm:
                host.capture(NetProbe)
            self.assertTrue(str(cm.exception).startswith(f"{DENIED}: the host denied"))
        with Harness() as host:
            self.assertEqual(host.capture(NetProbe).emitted, 0, "no URLs")

    def test_fnv1a_matches_the_reference_vectors(self) -> None:
        self.assertEqual(fnv1a(b""), 0xCBF29CE484222325)
        self.assertEqual(fnv1a(b"a"), 0xAF63DC4C8601EC8C)
        self.assertEqual(fnv1a(b"foobar"), 0x85944171F73967E8)

    def test_the_text_keeps_200_characters_of_the_body(self) -> None:
        with Harness() as host:
            host.config("urls", [OK]).http(OK, 200, [], "é" * 300)
            host.capture(NetProbe)
            self.assertEqual(len(host.events()[0].data["text"]), len(OK) + 5 + 200)


if __name__ == "__main__":
    unittest.main()
