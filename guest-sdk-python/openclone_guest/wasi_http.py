"""GET through `wasi:http/outgoing-handler` (the real host's `net-http`); the Rust SDK's
`wasi_http` module.

Imported only inside a component built for the `capture-plugin-http` world (`wit_host`
does it while the component is built), never natively: the bindings exist only there.
"""

from __future__ import annotations

from typing import List, Tuple

from componentize_py_types import Err
from wit_world.imports import error as wit_error
from wit_world.imports import outgoing_handler, streams
from wit_world.imports import wasi_http_types as wit_http

from .host import HttpFailed
from .http import Response
from .http_errors import describe
from .urls import target

CHUNK = 64 * 1024
"""Bytes asked for per read of the response body."""


def get(url: str, headers: List[Tuple[str, str]]) -> Response:
    """Sends a GET for `url` with `headers`, waits for the response and reads its body to
    the end. Errors: `HttpFailed` saying why, naming the `wasi:http` error code."""
    to = target(url)
    try:
        fields = wit_http.Fields.from_list([(n, v.encode("utf-8")) for n, v in headers])
    except Err as e:
        case = type(e.value).__name__.rpartition("_")[2]
        raise HttpFailed(f"a request header is malformed or forbidden ({case})") from None
    request = wit_http.OutgoingRequest(fields)
    scheme = wit_http.Scheme_Https() if to.https else wit_http.Scheme_Http()
    try:
        request.set_method(wit_http.Method_Get())
        request.set_scheme(scheme)
        request.set_authority(to.authority)
        request.set_path_with_query(to.path_with_query)
    except Err:
        raise HttpFailed("the URL is not valid for a request (HTTP-request-URI-invalid)") from None
    try:
        future = outgoing_handler.handle(request, None)
    except Err as e:
        raise HttpFailed(describe(e.value)) from None
    with future:
        answer = future.get()
        while answer is None:
            # The pollable is the future's child: dropped before the future is.
            with future.subscribe() as ready:
                ready.block()
            answer = future.get()
    # `answer` is `Ok(Ok(response))`, `Ok(Err(error-code))`, or `Err(None)` if taken.
    if isinstance(answer, Err):
        raise HttpFailed("the response was already taken")
    outcome = answer.value
    if isinstance(outcome, Err):
        raise HttpFailed(describe(outcome.value))
    with outcome.value as response:
        with response.headers() as fields:
            entries = fields.entries()
        body = _read(response)
        return Response(
            response.status(),
            [(n, v.decode("utf-8", errors="replace")) for n, v in entries],
            body,
        )


def _read(response: wit_http.IncomingResponse) -> bytes:
    """The whole body of `response`. Errors: `HttpFailed` (taken already, or the stream
    failed)."""
    try:
        body = response.consume()
    except Err:
        raise HttpFailed("the response body was already taken") from None
    with body:
        try:
            stream = body.stream()
        except Err:
            raise HttpFailed("the response body stream was already taken") from None
        # The stream is the body's child: dropped before the body is.
        with stream:
            chunks = []
            while True:
                try:
                    chunks.append(stream.blocking_read(CHUNK))
                except Err as e:
                    if isinstance(e.value, streams.StreamError_Closed):
                        return b"".join(chunks)
                    raise HttpFailed(_stream_failure(e.value.value)) from None


def _stream_failure(error: wit_error.Error) -> str:
    """Why reading the body failed: the `wasi:http` code in the stream's error, else the
    first line of its debug text (the host's may carry a backtrace)."""
    code = wit_http.http_error_code(error)
    if code is not None:
        return describe(code)
    lines = error.to_debug_string().splitlines()
    return f"reading the body failed: {lines[0] if lines else 'unknown error'}"
