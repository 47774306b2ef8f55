"""URLs for outgoing HTTP: cutting one into what `wasi:http` asks for, and resolving a
redirect's `Location` (the Rust SDK's `http::target` and `http::resolve`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .host import HttpFailed

_PATH_START = re.compile(r"[/?]")
_AUTHORITY_END = re.compile(r"[/?#]")
_SCHEME = re.compile(r"[A-Za-z0-9+.\-]+")


class BadUrl(HttpFailed):
    """A URL the SDK cannot request; the message says why (a host's `http_get` lets it
    through as the reason)."""


@dataclass(frozen=True)
class Target:
    """A URL cut for a request: `https` (else plain http), the `authority` (`host` or
    `host:port`) and the `path_with_query` (from the first `/` or `?` on, without the
    fragment; `/` if empty)."""

    https: bool
    authority: str
    path_with_query: str


def target(url: str) -> Target:
    """Cuts an `http://` or `https://` URL (the scheme in any case).

    Errors: `BadUrl` for another scheme or no host.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise BadUrl("not an http:// or https:// URL")
    rest = rest.split("#", 1)[0]
    cut = _PATH_START.search(rest)
    end = cut.start() if cut else len(rest)
    authority, path = rest[:end], rest[end:]
    if not authority or any(c.isspace() for c in authority):
        raise BadUrl("the URL names no host")
    if not path:
        path = "/"
    elif path.startswith("?"):
        path = "/" + path
    return Target(scheme.lower() == "https", authority, path)


def resolve(base: str, location: str) -> str:
    """The URL a redirect from `base` to `location` (a `Location` header) leads to:
    `location` itself if it has a scheme, else it taken against `base` (a network path
    `//host/…`, an absolute path `/…`, or a path relative to `base`'s folder)."""
    scheme_of_location, sep, _ = location.partition("://")
    if sep and _SCHEME.fullmatch(scheme_of_location):
        return location
    scheme, sep, rest = base.partition("://")
    if not sep:
        scheme, rest = "https", base
    if location.startswith("//"):
        return f"{scheme}:{location}"
    cut = _AUTHORITY_END.search(rest)
    end = cut.start() if cut else len(rest)
    authority, path = rest[:end], rest[end:]
    if location.startswith("/"):
        return f"{scheme}://{authority}{location}"
    path = re.split(r"[?#]", path, maxsplit=1)[0]
    slash = path.rfind("/")
    folder = path[: slash + 1] if slash >= 0 else "/"
    return f"{scheme}://{authority}{folder}{location}"
