//! A real HTTP origin on 127.0.0.1 (hyper) for plugins that reach the network: fixed
//! bodies with an ETag, `304 Not Modified` on a matching `If-None-Match`, and a log of
//! what it was asked. Two paths misbehave: `/stall` answers after a minute, `/stream`
//! sends 1 MiB in chunks with no `Content-Length`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// One request the origin answered: path, `If-None-Match`, status.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request's path.
    pub path: String,
    /// Its `If-None-Match` header.
    pub if_none_match: Option<String>,
    /// The status answered.
    pub status: u16,
}

/// The origin; stops when dropped.
pub struct Origin {
    /// Its port on 127.0.0.1.
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    _rt: tokio::runtime::Runtime,
}

impl Origin {
    /// Serves each `(path, body)`, with the ETag `"<len>-<path>"`.
    pub fn start(routes: &[(&str, &[u8])]) -> Self {
        let routes: Arc<HashMap<String, Bytes>> = Arc::new(
            routes
                .iter()
                .map(|(p, b)| ((*p).to_owned(), Bytes::copy_from_slice(b)))
                .collect(),
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let log = seen.clone();
        rt.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (routes, log) = (routes.clone(), log.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<_>| {
                        let answer = answer(&routes, &req);
                        log.lock().expect("log").push(Seen {
                            path: req.uri().path().to_owned(),
                            if_none_match: req
                                .headers()
                                .get("if-none-match")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned),
                            status: answer.status().as_u16(),
                        });
                        let stall = req.uri().path() == "/stall";
                        async move {
                            if stall {
                                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                            }
                            Ok::<_, Infallible>(answer)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            port,
            seen,
            _rt: rt,
        }
    }

    /// `http://127.0.0.1:PORT{path}`
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }
}

/// A body of `left` chunks of 64 KiB whose size is not known up front (sent chunked).
struct Chunks {
    left: u32,
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        std::task::Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; 64 * 1024])))))
    }
}

type Answer = Response<BoxBody<Bytes, Infallible>>;

fn answer<B>(routes: &HashMap<String, Bytes>, req: &Request<B>) -> Answer {
    let path = req.uri().path();
    if path == "/stream" {
        return Response::builder()
            .status(200)
            .body(Chunks { left: 16 }.boxed())
            .expect("stream");
    }
    let Some(body) = routes.get(path) else {
        return Response::builder()
            .status(404)
            .body(Full::new(Bytes::from_static(b"not found")).boxed())
            .expect("404");
    };
    let etag = format!("\"{}-{}\"", body.len(), path.trim_start_matches('/'));
    let matches = req
        .headers()
        .get("if-none-match")
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let builder = Response::builder().header("etag", &etag);
    if matches {
        builder.status(304).body(Full::new(Bytes::new()).boxed())
    } else {
        builder.status(200).body(Full::new(body.clone()).boxed())
    }
    .expect("response")
}
