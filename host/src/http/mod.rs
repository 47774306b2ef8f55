//! The HTTP server (hyper 1, HTTP/1.1 with keep-alive) and its graceful shutdown.

mod dashboard;
mod ingest;
mod origin;
mod owntracks;
mod recall;
pub mod reply;
mod routes;
pub(crate) use routes::route;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::app::App;
use openclone_ingest::config::HttpConfig;
pub use reply::Body;

/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What a connection over `[http] max_connections` is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 58\r\n\r\n{\"error\":\"too_many_connections\",\"detail\":\"retry shortly\"}\n";

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets every
/// in-flight request finish (up to 30 s) and closes the vaults, so every batch that was
/// answered is on disk and every batch in flight is answered.
///
/// With `tls`, every connection is TLS (its handshake bounded by the header-read timeout).
/// A connection must send each request head within `[http] header_read_timeout_s` (which
/// also closes idle kept-alive connections); past `[http] max_connections` open
/// connections a new one is answered 503 and closed.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let handler = {
        let app = app.clone();
        move |local, req| routes::route(app.clone(), local, req)
    };
    accept(listener, tls, &app.config.http, shutdown, handler).await;
    let app2 = app.clone();
    let _ = tokio::task::spawn_blocking(move || app2.close()).await;
    tracing::info!("stopped");
}

/// Accepts connections on `listener` and answers each request with `handler(local address,
/// request)` under the `[http]` `limits`, until `shutdown` completes; then stops accepting
/// and lets in-flight requests finish (up to 30 s). Every listener of the host (the ingest
/// API, the ActivityWatch API) runs on this loop.
pub async fn accept<H, F>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: &HttpConfig,
    shutdown: impl Future<Output = ()>,
    handler: H,
) where
    H: Fn(SocketAddr, Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Body>, Infallible>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout());
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1) as usize));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tokio::spawn(refuse_busy(stream));
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let Ok(local) = stream.local_addr() else {
                    continue;
                };
                let conn = Conn {
                    handler: handler.clone(),
                    builder: builder.clone(),
                    watcher: graceful.watcher(),
                    local,
                    peer,
                };
                match &tls {
                    None => {
                        tokio::spawn(conn.serve(stream, slot));
                    }
                    Some(acceptor) => {
                        let (acceptor, limit) = (acceptor.clone(), limits.header_read_timeout());
                        tokio::spawn(async move {
                            match tokio::time::timeout(limit, acceptor.accept(stream)).await {
                                Ok(Ok(tls_stream)) => conn.serve(tls_stream, slot).await,
                                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                                Err(_) => tracing::debug!("TLS handshake timed out"),
                            }
                        });
                    }
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after 30 s");
    }
}

/// One accepted connection, about to be served.
struct Conn<H> {
    handler: H,
    builder: http1::Builder,
    watcher: hyper_util::server::graceful::Watcher,
    local: SocketAddr,
    peer: SocketAddr,
}

impl<H, F> Conn<H>
where
    H: Fn(SocketAddr, Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<Response<Body>, Infallible>> + Send + 'static,
{
    /// Serves HTTP/1.1 on `io` (plain TCP or TLS) until the client or a shutdown ends it;
    /// frees the connection's `slot` after.
    async fn serve<I>(self, io: I, slot: tokio::sync::OwnedSemaphorePermit)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Self {
            handler,
            builder,
            watcher,
            local,
            peer,
        } = self;
        let service = service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(crate::guard::Peer(peer));
            handler(local, req)
        });
        let conn = builder.serve_connection(TokioIo::new(io), service);
        if let Err(e) = watcher.watch(conn).await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
        drop(slot);
    }
}

/// Answers a connection over the cap with 503 and closes it, without reading its request.
async fn refuse_busy(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
    let _ = stream.shutdown().await;
}

/// Registers for SIGINT and SIGTERM now (so a signal that arrives as soon as the host says
/// it is listening already shuts it down gracefully) and returns a future that resolves on
/// the first of them. Errors: the handlers cannot be installed.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
