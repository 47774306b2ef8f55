//! GET through `wasi:http/outgoing-handler` (the real host's `net-http`).

use wasip2::http::outgoing_handler;
use wasip2::http::types::{self, ErrorCode, Fields, Method, OutgoingRequest};
use wasip2::io::streams::StreamError;

use crate::http::{DENIED, Response, Scheme, target};

/// Bytes asked for per read of the response body.
const CHUNK: u64 = 64 * 1024;

/// Sends a GET for `url` with `headers`, waits for the response and reads its body to the
/// end. Errors: why, in words, naming the `wasi:http` error code.
pub(crate) fn get(url: &str, headers: &[(String, String)]) -> Result<Response, String> {
    let to = target(url)?;
    let list: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(n, v)| (n.clone(), v.clone().into_bytes()))
        .collect();
    let fields = Fields::from_list(&list)
        .map_err(|e| format!("a request header is malformed or forbidden ({e:?})"))?;
    let request = OutgoingRequest::new(fields);
    let scheme = match to.scheme {
        Scheme::Http => types::Scheme::Http,
        Scheme::Https => types::Scheme::Https,
    };
    request
        .set_method(&Method::Get)
        .and_then(|()| request.set_scheme(Some(&scheme)))
        .and_then(|()| request.set_authority(Some(to.authority)))
        .and_then(|()| request.set_path_with_query(Some(&to.path_with_query)))
        .map_err(|()| "the URL is not valid for a request (HTTP-request-URI-invalid)".to_owned())?;
    let future = outgoing_handler::handle(request, None).map_err(|e| describe(&e))?;
    let response = loop {
        match future.get() {
            Some(Ok(Ok(response))) => break response,
            Some(Ok(Err(e))) => return Err(describe(&e)),
            Some(Err(())) => return Err("the response was already taken".to_owned()),
            None => future.subscribe().block(),
        }
    };
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let body = response
        .consume()
        .map_err(|()| "the response body was already taken".to_owned())?;
    let stream = body
        .stream()
        .map_err(|()| "the response body stream was already taken".to_owned())?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(CHUNK) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(match types::http_error_code(&e) {
                    Some(code) => describe(&code),
                    // The host's debug text may carry a backtrace: its first line says it.
                    None => format!(
                        "reading the body failed: {}",
                        e.to_debug_string()
                            .lines()
                            .next()
                            .unwrap_or("unknown error")
                    ),
                });
            }
        }
    }
    Ok(Response {
        status,
        headers,
        body: bytes,
    })
}

/// A `wasi:http` error code in words, its WIT name in parentheses.
fn describe(e: &ErrorCode) -> String {
    match e {
        ErrorCode::HttpRequestDenied => DENIED.to_owned(),
        ErrorCode::DnsTimeout => "the DNS lookup timed out (DNS-timeout)".to_owned(),
        ErrorCode::DnsError(p) => format!(
            "the DNS lookup failed (DNS-error: {}{})",
            p.rcode.as_deref().unwrap_or("no rcode"),
            p.info_code
                .map(|c| format!(", info code {c}"))
                .unwrap_or_default()
        ),
        ErrorCode::ConnectionRefused => "the connection was refused (connection-refused)".into(),
        ErrorCode::ConnectionTimeout => "the connection timed out (connection-timeout)".into(),
        ErrorCode::HttpResponseTimeout => "no response in time (HTTP-response-timeout)".into(),
        ErrorCode::HttpResponseBodySize(Some(limit)) => format!(
            "the response body is larger than the host's limit of {limit} bytes (HTTP-response-body-size)"
        ),
        ErrorCode::TlsCertificateError => {
            "the server's TLS certificate was not accepted (TLS-certificate-error)".into()
        }
        ErrorCode::InternalError(Some(m)) => format!("the request failed: {m} (internal-error)"),
        other => format!("the request failed ({})", wit_name(other)),
    }
}

/// The WIT name of an error code (`HTTP-response-incomplete`), with its payload if any.
fn wit_name(e: &ErrorCode) -> String {
    let name = match e {
        ErrorCode::DnsTimeout => "DNS-timeout",
        ErrorCode::DnsError(_) => "DNS-error",
        ErrorCode::DestinationNotFound => "destination-not-found",
        ErrorCode::DestinationUnavailable => "destination-unavailable",
        ErrorCode::DestinationIpProhibited => "destination-IP-prohibited",
        ErrorCode::DestinationIpUnroutable => "destination-IP-unroutable",
        ErrorCode::ConnectionRefused => "connection-refused",
        ErrorCode::ConnectionTerminated => "connection-terminated",
        ErrorCode::ConnectionTimeout => "connection-timeout",
        ErrorCode::ConnectionReadTimeout => "connection-read-timeout",
        ErrorCode::ConnectionWriteTimeout => "connection-write-timeout",
        ErrorCode::ConnectionLimitReached => "connection-limit-reached",
        ErrorCode::TlsProtocolError => "TLS-protocol-error",
        ErrorCode::TlsCertificateError => "TLS-certificate-error",
        ErrorCode::TlsAlertReceived(_) => "TLS-alert-received",
        ErrorCode::HttpRequestDenied => "HTTP-request-denied",
        ErrorCode::HttpRequestLengthRequired => "HTTP-request-length-required",
        ErrorCode::HttpRequestBodySize(_) => "HTTP-request-body-size",
        ErrorCode::HttpRequestMethodInvalid => "HTTP-request-method-invalid",
        ErrorCode::HttpRequestUriInvalid => "HTTP-request-URI-invalid",
        ErrorCode::HttpRequestUriTooLong => "HTTP-request-URI-too-long",
        ErrorCode::HttpRequestHeaderSectionSize(_) => "HTTP-request-header-section-size",
        ErrorCode::HttpRequestHeaderSize(_) => "HTTP-request-header-size",
        ErrorCode::HttpRequestTrailerSectionSize(_) => "HTTP-request-trailer-section-size",
        ErrorCode::HttpRequestTrailerSize(_) => "HTTP-request-trailer-size",
        ErrorCode::HttpResponseIncomplete => "HTTP-response-incomplete",
        ErrorCode::HttpResponseHeaderSectionSize(_) => "HTTP-response-header-section-size",
        ErrorCode::HttpResponseHeaderSize(_) => "HTTP-response-header-size",
        ErrorCode::HttpResponseBodySize(_) => "HTTP-response-body-size",
        ErrorCode::HttpResponseTrailerSectionSize(_) => "HTTP-response-trailer-section-size",
        ErrorCode::HttpResponseTrailerSize(_) => "HTTP-response-trailer-size",
        ErrorCode::HttpResponseTransferCoding(_) => "HTTP-response-transfer-coding",
        ErrorCode::HttpResponseContentCoding(_) => "HTTP-response-content-coding",
        ErrorCode::HttpResponseTimeout => "HTTP-response-timeout",
        ErrorCode::HttpUpgradeFailed => "HTTP-upgrade-failed",
        ErrorCode::HttpProtocolError => "HTTP-protocol-error",
        ErrorCode::LoopDetected => "loop-detected",
        ErrorCode::ConfigurationError => "configuration-error",
        ErrorCode::InternalError(_) => "internal-error",
    };
    match e {
        ErrorCode::HttpResponseTransferCoding(Some(m))
        | ErrorCode::HttpResponseContentCoding(Some(m)) => format!("{name}: {m}"),
        _ => name.to_owned(),
    }
}
