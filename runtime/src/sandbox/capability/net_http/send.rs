//! Sends one allowed request: resolves the name, keeps only the addresses the policy
//! allows, connects to one of those (never re-resolving, so a name cannot be rebound to
//! a private address between check and connect), TLS with the webpki roots, HTTP/1.1
//! over hyper, and a response body capped in bytes and time.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, WasiBody};

use super::policy::{Policy, Target};

/// Limits of one request (`http_timeout_s`, `http_max_response_bytes`).
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Connect, headers and body together.
    pub timeout: Duration,
    /// Largest response body, bytes.
    pub max_response_bytes: u64,
}

/// The connection future handed back with a response: drives the connection's I/O.
pub type Io = Box<dyn Future<Output = Result<(), Error>> + Send>;

trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Sends `req` to `target`. Errors: the wasi:http error code; a refusal of every resolved
/// address is [`Error::HttpRequestDenied`] with the reason passed to `refused`.
pub async fn send(
    mut req: http::Request<WasiBody>,
    target: Target,
    policy: Arc<Policy>,
    limits: RequestLimits,
    refused: impl FnOnce(String),
) -> Result<(http::Response<WasiBody>, Io), Error> {
    let deadline = tokio::time::Instant::now() + limits.timeout;
    let addrs: Vec<SocketAddr> = tokio::time::timeout_at(
        deadline,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| Error::DnsTimeout)?
    .map_err(|e| Error::DnsError {
        rcode: Some(e.to_string()),
        info_code: None,
    })?
    .collect();
    if addrs.is_empty() {
        return Err(Error::DestinationNotFound);
    }
    let addrs = policy.reachable(&target, &addrs).map_err(|why| {
        refused(why);
        Error::HttpRequestDenied
    })?;
    let stream = tokio::time::timeout_at(deadline, connect(&addrs))
        .await
        .map_err(|_| Error::ConnectionTimeout)??;
    let stream: Box<dyn Stream> = if target.tls {
        Box::new(
            tokio::time::timeout_at(deadline, tls(&target.host, stream))
                .await
                .map_err(|_| Error::ConnectionTimeout)??,
        )
    } else {
        Box::new(stream)
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(Error::from)?;
    // The request line carries the path only (the Host header names the authority).
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str)
        .parse()
        .map_err(|_| Error::HttpRequestUriInvalid)?;
    *req.uri_mut() = path;
    let head = req.method() == http::Method::HEAD;
    let mut conn = Box::pin(conn);
    let mut conn_done = false;
    let send = sender.send_request(req);
    tokio::pin!(send);
    let response = tokio::time::timeout_at(deadline, async {
        tokio::select! {
            biased;
            r = &mut send => r.map_err(Error::from),
            c = &mut conn => {
                conn_done = true;
                c.map_err(Error::from)?;
                send.await.map_err(Error::from)
            }
        }
    })
    .await
    .map_err(|_| Error::HttpResponseTimeout)??;
    let cap = limits.max_response_bytes;
    let bodyless = head || matches!(response.status().as_u16(), 204 | 304);
    if !bodyless
        && response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|n| n > cap)
    {
        return Err(Error::HttpResponseBodySize(Some(cap)));
    }
    let response = response.map(|body| {
        Capped {
            inner: body.map_err(Error::from),
            seen: 0,
            cap,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
        }
        .boxed_unsync()
    });
    if conn_done {
        return Ok((response, Box::new(async { Ok(()) })));
    }
    let io: Io = Box::new(async move {
        match tokio::time::timeout_at(deadline, conn).await {
            Ok(done) => done.map_err(Error::from),
            Err(_) => Err(Error::HttpResponseTimeout),
        }
    });
    Ok((response, io))
}

/// Connects to the first address that answers. Errors: the last connect error.
async fn connect(addrs: &[SocketAddr]) -> Result<TcpStream, Error> {
    let mut last = None;
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(Error::Connect(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no address")
    })))
}

/// TLS over `stream` for `host`, verified against the webpki roots (Mozilla's set).
async fn tls(
    host: &str,
    stream: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    };
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from(host.to_owned())
        .map_err(|_| Error::HttpRequestUriInvalid)?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(Error::Tls)
}

/// A response body that fails past `cap` bytes or after the request's deadline.
struct Capped<B> {
    inner: B,
    seen: u64,
    cap: u64,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<B: Body<Data = Bytes, Error = Error> + Unpin> Body for Capped<B> {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Error::HttpResponseTimeout)));
        }
        let frame = std::task::ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(f)) = &frame
            && let Some(data) = f.data_ref()
        {
            self.seen += data.len() as u64;
            if self.seen > self.cap {
                return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(self.cap)))));
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}
