"""Outgoing HTTP (`net-http`): plain GETs (`Ctx.http_get`) and conditional fetches that
bring a body only when it changed (`Ctx.fetch`); the Rust SDK's `http` module.

A plugin may make requests when its plugin.json lists `"net-http"` in
`requires_permissions` and the hosts in `allowed_hosts` (`host`, `host:port`, or `"*"`
for any host the user grants), and the user grants them in `[plugins.<id>]
allowed_hosts`. Such a plugin is built for the `capture-plugin-http` world
(`scripts/build-plugins.sh` picks it from plugin.json), and its requests go through
`wasi:http/outgoing-handler`; the host refuses anything else (`HTTP-request-denied`) and
caps response bodies (`HTTP-response-body-size`). In native tests, `Harness.http` serves
canned responses.

    def pass_(ctx, url):
        fetched = ctx.fetch(url)
        if isinstance(fetched, Changed):
            ctx.emit(Braindump(text=fetched.body.decode()).at(1708258800.0).raw_ref(url))
            # Only now: a body whose events did not reach the host is fetched again.
            ctx.fetched(url, fetched.validators)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, List, Mapping, Optional, Tuple, Union

from .errors import HttpError, PluginError
from .host import HttpFailed
from .urls import resolve

if TYPE_CHECKING:
    from .host import HostApi
    from .state import State

VALIDATORS = "openclone.http-validators"
"""The state namespace where `Ctx.fetch` keeps validators, keyed by `url_key`."""

MAX_REDIRECTS = 5
"""Redirects `Ctx.fetch` follows before giving up."""

DENIED = (
    "the host denied the request (HTTP-request-denied): check allowed_hosts in plugin.json"
    " and [plugins.<id>] allowed_hosts"
)
"""The reason given for a request the host refuses (and the harness, for a URL it has no
canned response for)."""

_REDIRECTS = (301, 302, 303, 307, 308)

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]]]
"""Request headers: a mapping or (name, value) pairs."""


def header_pairs(headers: Headers) -> List[Tuple[str, str]]:
    """`headers` as a list of (name, value) pairs."""
    return list(headers.items() if isinstance(headers, Mapping) else headers)


def first_header(headers: List[Tuple[str, str]], name: str) -> Optional[str]:
    """The value of the first of `headers` named `name` (case-insensitive), if any."""
    wanted = name.lower()
    return next((v for n, v in headers if n.lower() == wanted), None)


@dataclass(frozen=True)
class Response:
    """An HTTP response, read to the end: the `status` (200, 304, 404, …), the `headers`
    in the order received (names as the server sent them, values as text, bytes that are
    not UTF-8 replaced) and the whole `body` (at most the host's response cap)."""

    status: int
    headers: List[Tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> Optional[str]:
        """The value of the first header named `name` (case-insensitive), if any."""
        return first_header(self.headers, name)


@dataclass(frozen=True)
class Validators:
    """What identifies the version of a resource a server sent: its `ETag` (quotes and
    `W/` included) and `Last-Modified` headers, verbatim. `Ctx.fetch` sends them back as
    `If-None-Match` and `If-Modified-Since`."""

    etag: Optional[str] = None
    last_modified: Optional[str] = None

    @classmethod
    def of(cls, response: Response) -> "Validators":
        """The validators of `response` (none if it sent neither header)."""
        return cls(response.header("etag"), response.header("last-modified"))

    def is_empty(self) -> bool:
        """True if the server sent neither: such a resource is always fetched whole."""
        return self.etag is None and self.last_modified is None

    def to_json(self) -> dict:
        """The state value (the Rust SDK's, so either SDK reads the other's)."""
        return {"etag": self.etag, "last_modified": self.last_modified}

    @classmethod
    def from_json(cls, value: Any) -> "Validators":
        """Validators from their state value. Errors: `PluginError` if it is not one."""
        if isinstance(value, dict):
            etag, date = value.get("etag"), value.get("last_modified")
            if all(v is None or isinstance(v, str) for v in (etag, date)):
                return cls(etag, date)
        raise PluginError(f"JSON: not HTTP validators: {value!r}")


@dataclass(frozen=True)
class NotModified:
    """What `Ctx.fetch` brings on 304: unchanged since the validators `Ctx.fetched`
    recorded."""


@dataclass(frozen=True)
class Changed:
    """What `Ctx.fetch` brings on 200: the whole `body`. Process it, then call
    `Ctx.fetched` with `validators`; until then the next fetch brings it again."""

    body: bytes
    validators: Validators


Fetched = Union[NotModified, Changed]
"""What `Ctx.fetch` brought."""


def url_key(url: str) -> str:
    """A state key for `url` that does not contain it (`url:` and 32 hex digits of its
    SHA-256): URLs may hold secrets (a private calendar address), and keys stay under the
    host's 512-byte limit however long the URL is."""
    return "url:" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


class HttpMethods:
    """The HTTP methods of `Ctx` (which derives from this class)."""

    _host: "HostApi"

    if TYPE_CHECKING:

        def state(self, namespace: str) -> State:
            """Provided by `Ctx`."""

        def flush(self) -> None:
            """Provided by `Ctx`."""

    def http_get(self, url: str, headers: Headers = ()) -> Response:
        """GETs `url` (`http://` or `https://`) with `headers` and returns the response
        whatever its status; redirects are returned, not followed.

        Errors: `HttpError` naming `url` and why: not an http(s) URL; the host denied the
        request (`HTTP-request-denied`: the host is not in `allowed_hosts` of plugin.json
        and of `[plugins.<id>]`, or the plugin lacks `net-http`); a DNS, connection, TLS
        or timeout failure; a body over the host's cap (`HTTP-response-body-size`). The
        `wasi:http` error code is named in parentheses.
        """
        try:
            return self._host.http_get(url, header_pairs(headers))
        except HttpFailed as e:
            raise HttpError(url, str(e)) from None

    def fetch(self, url: str) -> Fetched:
        """A conditional GET of `url`: sends the `ETag` and `Last-Modified` that
        `fetched` recorded for it as `If-None-Match` and `If-Modified-Since`, and follows
        up to 5 redirects (301, 302, 303, 307, 308).

        Returns `NotModified()` on 304, `Changed(body, validators)` on 200. The
        validators live in the plugin's state (namespace `openclone.http-validators`, key
        `url_key(url)`); `forget_fetched` drops them to force a whole fetch.

        Errors: as `http_get`; `HttpError` naming `url` and the status for any other
        status (`the server answered HTTP 500`), a 304 to an unconditional request, a
        redirect without `Location`, more than 5 redirects; a state error.
        """
        stored = self.state(VALIDATORS).get(url_key(url))
        known = Validators() if stored is None else Validators.from_json(stored)
        conditional = []
        if known.etag is not None:
            conditional.append(("If-None-Match", known.etag))
        if known.last_modified is not None:
            conditional.append(("If-Modified-Since", known.last_modified))
        at = url
        for hops in range(MAX_REDIRECTS + 1):
            response = self.http_get(at, conditional)
            # The target is not named: it may hold a secret, as the URL may.
            via = f" after {hops} redirect(s)" if hops else ""
            if response.status == 200:
                return Changed(response.body, Validators.of(response))
            if response.status == 304 and not known.is_empty():
                return NotModified()
            if response.status not in _REDIRECTS:
                raise HttpError(url, f"the server answered HTTP {response.status}{via}")
            location = response.header("location")
            if location is None:
                raise HttpError(url, f"a redirect without Location{via}")
            at = resolve(at, location)
        raise HttpError(url, f"more than {MAX_REDIRECTS} redirects")

    def fetched(self, url: str, validators: Validators) -> None:
        """Records that the body `fetch` brought for `url` was processed: flushes the
        queued events, then keeps `validators` for the next fetch (or drops the old ones
        if the server sent none). Errors: the flush or state failed."""
        self.flush()
        if validators.is_empty():
            self.forget_fetched(url)
        else:
            self.state(VALIDATORS).set(url_key(url), validators.to_json())

    def forget_fetched(self, url: str) -> None:
        """Drops the validators recorded for `url`, so the next `fetch` is unconditional
        and brings the body. Errors: a state error."""
        self.state(VALIDATORS).take(url_key(url))
