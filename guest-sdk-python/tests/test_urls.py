"""URLs cut for `wasi:http`, redirects resolved, `wasi:http` error codes in words."""

from __future__ import annotations

import unittest
from dataclasses import dataclass
from typing import Optional

from openclone_guest.http import DENIED, url_key
from openclone_guest.http_errors import describe, wit_name
from openclone_guest.urls import BadUrl, Target, resolve, target


class Urls(unittest.TestCase):
    def test_urls_are_cut_for_wasi_http(self) -> None:
        self.assertEqual(
            target("HTTPS://cal.example:8443/a/b.ics?x=1#frag"),
            Target(True, "cal.example:8443", "/a/b.ics?x=1"),
        )
        self.assertEqual(target("http://h").path_with_query, "/")
        self.assertEqual(target("http://h?q").path_with_query, "/?q")
        self.assertFalse(target("http://h/x").https)
        for url, why in [
            ("webcal://h/x", "not an http:// or https:// URL"),
            ("no url", "not an http:// or https:// URL"),
            ("http:///x", "the URL names no host"),
            ("http://a b/x", "the URL names no host"),
        ]:
            with self.assertRaises(BadUrl, msg=url) as cm:
                target(url)
            self.assertEqual(str(cm.exception), why)

    def test_redirects_resolve_against_the_url_they_came_from(self) -> None:
        base = "https://a.example/cal/team.ics?k=1"
        self.assertEqual(resolve(base, "http://b.example/x"), "http://b.example/x")
        self.assertEqual(resolve(base, "//c.example/y"), "https://c.example/y")
        self.assertEqual(resolve(base, "/z.ics"), "https://a.example/z.ics")
        self.assertEqual(resolve(base, "other.ics"), "https://a.example/cal/other.ics")
        self.assertEqual(resolve("http://h", "p"), "http://h/p")
        self.assertEqual(resolve(base, "/go?u=http://x"), "https://a.example/go?u=http://x")

    def test_url_keys_hide_the_url_and_stay_short(self) -> None:
        url = "https://calendar.example/private-0123456789abcdef/basic.ics"
        key = url_key(url)
        self.assertEqual(len(key), 36)
        self.assertNotIn("private", key)
        self.assertEqual(key, url_key(url))
        # The first 16 bytes of SHA-256("abc"), as the Rust SDK keys it.
        self.assertEqual(url_key("abc"), "url:ba7816bf8f01cfea414140de5dae2223")


# Stand-ins for the bindings' `ErrorCode_*` dataclasses: told apart by class name.
@dataclass
class ErrorCode_HttpRequestDenied:
    pass


@dataclass
class ErrorCode_ConnectionRefused:
    pass


@dataclass
class ErrorCode_DestinationNotFound:
    pass


@dataclass
class DnsErrorPayload:
    rcode: Optional[str]
    info_code: Optional[int]


@dataclass
class ErrorCode_DnsError:
    value: DnsErrorPayload


@dataclass
class ErrorCode_HttpResponseBodySize:
    value: Optional[int]


@dataclass
class ErrorCode_InternalError:
    value: Optional[str]


@dataclass
class ErrorCode_HttpResponseContentCoding:
    value: Optional[str]


class ErrorCodes(unittest.TestCase):
    def test_codes_are_described_with_their_wit_name(self) -> None:
        self.assertEqual(describe(ErrorCode_HttpRequestDenied()), DENIED)
        self.assertIn("(HTTP-request-denied)", DENIED)
        self.assertEqual(
            describe(ErrorCode_ConnectionRefused()),
            "the connection was refused (connection-refused)",
        )
        self.assertEqual(
            describe(ErrorCode_DnsError(DnsErrorPayload("NXDOMAIN", 3))),
            "the DNS lookup failed (DNS-error: NXDOMAIN, info code 3)",
        )
        self.assertEqual(
            describe(ErrorCode_DnsError(DnsErrorPayload(None, None))),
            "the DNS lookup failed (DNS-error: no rcode)",
        )
        self.assertEqual(
            describe(ErrorCode_HttpResponseBodySize(1000)),
            "the response body is larger than the host's limit of 1000 bytes"
            " (HTTP-response-body-size)",
        )
        self.assertEqual(
            describe(ErrorCode_HttpResponseBodySize(None)),
            "the request failed (HTTP-response-body-size)",
        )
        self.assertEqual(
            describe(ErrorCode_InternalError("boom")), "the request failed: boom (internal-error)"
        )
        self.assertEqual(
            describe(ErrorCode_DestinationNotFound()),
            "the request failed (destination-not-found)",
        )

    def test_coding_errors_carry_their_text(self) -> None:
        self.assertEqual(
            wit_name(ErrorCode_HttpResponseContentCoding("br")), "HTTP-response-content-coding: br"
        )
        self.assertEqual(
            wit_name(ErrorCode_HttpResponseContentCoding(None)), "HTTP-response-content-coding"
        )


if __name__ == "__main__":
    unittest.main()
