"""`wasi:http` error codes in words (the Rust SDK's `wasi_http::describe`).

A code is one of the bindings' `ErrorCode_*` dataclasses (`ErrorCode_DnsTimeout()`,
`ErrorCode_DnsError(DnsErrorPayload(...))`, …); it is told apart by its class name, so
this module needs no bindings and is tested natively.
"""

from __future__ import annotations

from typing import Any

from .http import DENIED

_WIT_NAMES = {
    "DnsTimeout": "DNS-timeout",
    "DnsError": "DNS-error",
    "DestinationNotFound": "destination-not-found",
    "DestinationUnavailable": "destination-unavailable",
    "DestinationIpProhibited": "destination-IP-prohibited",
    "DestinationIpUnroutable": "destination-IP-unroutable",
    "ConnectionRefused": "connection-refused",
    "ConnectionTerminated": "connection-terminated",
    "ConnectionTimeout": "connection-timeout",
    "ConnectionReadTimeout": "connection-read-timeout",
    "ConnectionWriteTimeout": "connection-write-timeout",
    "ConnectionLimitReached": "connection-limit-reached",
    "TlsProtocolError": "TLS-protocol-error",
    "TlsCertificateError": "TLS-certificate-error",
    "TlsAlertReceived": "TLS-alert-received",
    "HttpRequestDenied": "HTTP-request-denied",
    "HttpRequestLengthRequired": "HTTP-request-length-required",
    "HttpRequestBodySize": "HTTP-request-body-size",
    "HttpRequestMethodInvalid": "HTTP-request-method-invalid",
    "HttpRequestUriInvalid": "HTTP-request-URI-invalid",
    "HttpRequestUriTooLong": "HTTP-request-URI-too-long",
    "HttpRequestHeaderSectionSize": "HTTP-request-header-section-size",
    "HttpRequestHeaderSize": "HTTP-request-header-size",
    "HttpRequestTrailerSectionSize": "HTTP-request-trailer-section-size",
    "HttpRequestTrailerSize": "HTTP-request-trailer-size",
    "HttpResponseIncomplete": "HTTP-response-incomplete",
    "HttpResponseHeaderSectionSize": "HTTP-response-header-section-size",
    "HttpResponseHeaderSize": "HTTP-response-header-size",
    "HttpResponseBodySize": "HTTP-response-body-size",
    "HttpResponseTrailerSectionSize": "HTTP-response-trailer-section-size",
    "HttpResponseTrailerSize": "HTTP-response-trailer-size",
    "HttpResponseTransferCoding": "HTTP-response-transfer-coding",
    "HttpResponseContentCoding": "HTTP-response-content-coding",
    "HttpResponseTimeout": "HTTP-response-timeout",
    "HttpUpgradeFailed": "HTTP-upgrade-failed",
    "HttpProtocolError": "HTTP-protocol-error",
    "LoopDetected": "loop-detected",
    "ConfigurationError": "configuration-error",
    "InternalError": "internal-error",
}

_FIXED = {
    "DnsTimeout": "the DNS lookup timed out (DNS-timeout)",
    "ConnectionRefused": "the connection was refused (connection-refused)",
    "ConnectionTimeout": "the connection timed out (connection-timeout)",
    "HttpResponseTimeout": "no response in time (HTTP-response-timeout)",
    "TlsCertificateError": "the server's TLS certificate was not accepted (TLS-certificate-error)",
}


_WITH_TEXT = ("HttpResponseTransferCoding", "HttpResponseContentCoding")


def _case(code: Any) -> str:
    return type(code).__name__.rpartition("ErrorCode_")[2]


def wit_name(code: Any) -> str:
    """The WIT name of `code` (`HTTP-response-incomplete`), with its text for the
    transfer- and content-coding cases."""
    case = _case(code)
    name = _WIT_NAMES.get(case, case)
    payload: Any = getattr(code, "value", None)
    if case in _WITH_TEXT and payload is not None:
        return f"{name}: {payload}"
    return name


def describe(code: Any) -> str:
    """`code` in words, its WIT name in parentheses."""
    case = _case(code)
    payload: Any = getattr(code, "value", None)
    if case == "HttpRequestDenied":
        return DENIED
    if case in _FIXED:
        return _FIXED[case]
    if case == "DnsError":
        rcode = payload.rcode if payload.rcode is not None else "no rcode"
        info = f", info code {payload.info_code}" if payload.info_code is not None else ""
        return f"the DNS lookup failed (DNS-error: {rcode}{info})"
    if case == "HttpResponseBodySize" and payload is not None:
        return (
            f"the response body is larger than the host's limit of {payload} bytes"
            " (HTTP-response-body-size)"
        )
    if case == "InternalError" and payload is not None:
        return f"the request failed: {payload} (internal-error)"
    return f"the request failed ({wit_name(code)})"
