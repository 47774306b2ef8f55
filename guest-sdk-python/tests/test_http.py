"""`Ctx.http_get` and the conditional `Ctx.fetch` against the harness's canned responses."""

from __future__ import annotations

import unittest

import openclone_guest as og
from openclone_guest.http import VALIDATORS, Changed, NotModified, Validators, url_key
from openclone_guest.testing import Harness

T = 1708258800.0
URL = "https://example.org/inbox.txt"


class Inbox(og.Plugin):
    """Emits the text at `URL` whenever it changed (the Rust SDK's example)."""

    id = "inbox"
    version = "0.1.0"
    source_types = (og.SourceType.BRAINDUMP,)

    def capture(self, ctx: og.Ctx) -> None:
        fetched = ctx.fetch(URL)
        if isinstance(fetched, Changed):
            text = fetched.body.decode()
            ctx.emit(og.Braindump(text=text).at(T).raw_ref(f"{URL}@{fetched.validators.etag}"))
            ctx.fetched(URL, fetched.validators)


class Probe(og.Plugin):
    """Runs `Probe.run(ctx)`, set by each test; emits nothing."""

    id = "probe"
    version = "0.1.0"
    source_types = (og.SourceType.BRAINDUMP,)
    run = staticmethod(lambda ctx: None)

    def capture(self, ctx: og.Ctx) -> None:
        type(self).run(ctx)


def running(fn) -> type:
    return type("Running", (Probe,), {"run": staticmethod(fn)})


class Fetch(unittest.TestCase):
    def setUp(self) -> None:
        self.host = Harness()

    def tearDown(self) -> None:
        self.host.close()

    def test_a_body_is_brought_again_only_when_it_changed(self) -> None:
        self.host.http(URL, 200, [("ETag", '"v1"')], "buy milk")
        self.assertEqual(self.host.capture(Inbox).stored, 1)
        self.assertEqual(self.host.capture(Inbox).emitted, 0, "answered 304")
        requests = self.host.requests()
        self.assertIsNone(requests[0].header("if-none-match"))
        self.assertEqual(requests[1].header("If-None-Match"), '"v1"')
        self.host.http(URL, 200, {"ETag": '"v2"'}, "buy bread")
        self.assertEqual(self.host.capture(Inbox).stored, 1)
        self.assertEqual(self.host.events()[1].data["text"], "buy bread")

    def test_last_modified_is_sent_back_and_kept_as_the_rust_sdk_keeps_it(self) -> None:
        date = "Sun, 18 Feb 2024 12:20:00 GMT"
        self.host.http(URL, 200, [("Last-Modified", date)], "x")
        self.host.capture(Inbox)
        self.assertEqual(self.host.capture(Inbox).emitted, 0)
        self.assertEqual(self.host.requests()[1].header("if-modified-since"), date)
        kept = []
        self.host.capture(running(lambda ctx: kept.append(ctx.state(VALIDATORS).get(url_key(URL)))))
        self.assertEqual(kept, [{"etag": None, "last_modified": date}])

    def test_forget_fetched_makes_the_next_fetch_unconditional(self) -> None:
        self.host.http(URL, 200, [("ETag", '"v1"')], "x")
        results = []
        self.host.capture(running(lambda ctx: ctx.fetched(URL, Validators('"v1"'))))
        self.host.capture(running(lambda ctx: results.append(ctx.fetch(URL))))
        self.host.capture(running(lambda ctx: ctx.forget_fetched(URL)))
        self.host.capture(running(lambda ctx: results.append(ctx.fetch(URL))))
        self.assertEqual(results, [NotModified(), Changed(b"x", Validators('"v1"'))])
        self.assertIsNone(self.host.requests()[1].header("if-none-match"))

    def test_a_body_without_validators_drops_the_old_ones(self) -> None:
        self.host.http(URL, 200, [], "x")
        self.host.capture(running(lambda ctx: ctx.fetched(URL, Validators('"old"'))))
        self.host.capture(Inbox)
        kept = []
        self.host.capture(running(lambda ctx: kept.append(ctx.state(VALIDATORS).get(url_key(URL)))))
        self.assertEqual(kept, [None])

    def test_redirects_are_followed_and_counted(self) -> None:
        self.host.http(URL, 301, [("Location", "/moved.txt")], "")
        self.host.http("https://example.org/moved.txt", 200, [], "here")
        self.host.capture(Inbox)
        self.assertEqual(self.host.events()[0].data["text"], "here")
        self.host.http("https://example.org/moved.txt", 302, [("Location", "moved.txt")], "")
        self.assertEqual(self._failure(lambda ctx: ctx.fetch(URL)), f"{URL}: more than 5 redirects")
        self.host.http(URL, 307, [], "")
        self.assertEqual(
            self._failure(lambda ctx: ctx.fetch(URL)), f"{URL}: a redirect without Location"
        )

    def test_other_statuses_fail_naming_the_url_and_the_status(self) -> None:
        self.host.http(URL, 301, [("Location", "https://example.org/gone")], "")
        self.host.http("https://example.org/gone", 500, [], "")
        self.assertEqual(
            self._failure(lambda ctx: ctx.fetch(URL)),
            f"{URL}: the server answered HTTP 500 after 1 redirect(s)",
        )
        self.host.http(URL, 304, [], "")
        self.assertEqual(
            self._failure(lambda ctx: ctx.fetch(URL)), f"{URL}: the server answered HTTP 304"
        )

    def test_stored_validators_that_are_not_validators_fail(self) -> None:
        self.host.http(URL, 200, [], "x")
        self.host.capture(running(lambda ctx: ctx.state(VALIDATORS).set(url_key(URL), [1])))
        self.assertIn("not HTTP validators", self._failure(lambda ctx: ctx.fetch(URL)))

    def _failure(self, fn) -> str:
        with self.assertRaises(og.PluginError) as cm:
            self.host.capture(running(fn))
        return str(cm.exception)


class HttpGet(unittest.TestCase):
    def setUp(self) -> None:
        self.host = Harness()

    def tearDown(self) -> None:
        self.host.close()

    def test_any_status_is_returned_with_headers_and_body(self) -> None:
        self.host.http(URL, 404, [("Content-Type", "text/plain")], b"\xffnope")
        got = []
        self.host.capture(running(lambda ctx: got.append(ctx.http_get(URL, {"Accept": "*/*"}))))
        self.assertEqual((got[0].status, got[0].body), (404, b"\xffnope"))
        self.assertEqual(got[0].header("content-type"), "text/plain")
        self.assertEqual(self.host.requests()[0].headers, [("Accept", "*/*")])

    def test_a_url_without_a_canned_response_is_denied_as_the_host_denies_it(self) -> None:
        with self.assertRaises(og.HttpError) as cm:
            self.host.capture(running(lambda ctx: ctx.http_get("http://localhost/x")))
        self.assertEqual(cm.exception.url, "http://localhost/x")
        self.assertTrue(str(cm.exception).startswith("http://localhost/x: the host denied"))
        self.assertIn("(HTTP-request-denied)", cm.exception.reason)
        self.assertEqual(len(self.host.requests()), 1, "recorded all the same")

    def test_a_url_that_is_not_http_is_refused_before_any_request(self) -> None:
        with self.assertRaises(og.HttpError) as cm:
            self.host.capture(running(lambda ctx: ctx.http_get("webcal://h/x")))
        self.assertEqual(str(cm.exception), "webcal://h/x: not an http:// or https:// URL")
        self.assertEqual(self.host.requests(), [])


if __name__ == "__main__":
    unittest.main()
