//! The fuzzers' way in (`fuzz/fuzz_targets/http.rs`, `tests/fuzz_corpus.rs`): arbitrary
//! bytes as one HTTP/1.1 connection to the ingest API or the ActivityWatch API of a real
//! host on a scratch data folder, through hyper's request parser, the routes, the one
//! ingest service, the ActivityWatch journal and session writer, and the vault.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::activitywatch;
use crate::app::App;
use openclone_ingest::auth::hash_key;
use openclone_ingest::config::Config;

/// The API key of the fuzzed host's one tenant (`default`); seeds use it in `X-API-Key`
/// and `Authorization: Bearer`.
pub const KEY: &str = "fuzz-key-0123456789abcdef";

/// The address requests seem to arrive at (the Host and Origin checks compare with it).
const LOCAL: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8000);

/// A host to throw connections at. Its data folder is removed on drop.
pub struct Target {
    rt: tokio::runtime::Runtime,
    app: Arc<App>,
    aw: Arc<activitywatch::Api>,
    writer: activitywatch::Writer,
    _dir: tempfile::TempDir,
}

impl Target {
    /// Opens a host with one tenant keyed by [`KEY`] (rate limit out of the way, the
    /// ActivityWatch API with `require_key`) in a new folder under `scratch` (a tmpfs such
    /// as `/dev/shm` keeps fsyncs cheap).
    ///
    /// Errors: the folder or the vault cannot be made.
    pub fn new(scratch: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("openclone-fuzz-")
            .tempdir_in(scratch)?;
        let text = format!(
            "data_dir = {:?}\nplugins_dir = {:?}\n\n[ingest]\nrate_burst = 1000000000\nrate_per_s = 1000000000.0\n\n[activitywatch]\nrequire_key = true\nsession_grace_s = 0\n\n[[tenants]]\nid = \"default\"\napi_key_sha256 = [\"{}\"]\ntimezone = \"Europe/Berlin\"\n",
            dir.path().join("data"),
            dir.path().join("plugins"),
            hex::encode(hash_key(KEY)),
        );
        let cfg = Config::parse(&text, dir.path(), "(fuzz)")?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let app = Arc::new(App::open(&cfg)?);
        let (aw, writer) = activitywatch::open(&app, 0)?;
        Ok(Self {
            rt,
            app,
            aw,
            writer,
            _dir: dir,
        })
    }

    /// Feeds `input` to one connection: an even first byte picks the ingest API, an odd one
    /// the ActivityWatch API; the rest is what the client sends before it closes its side.
    /// After an ActivityWatch connection the session writer runs one pass. Returns the
    /// bytes the server answered.
    pub fn run(&mut self, input: &[u8]) -> Vec<u8> {
        let Some((&which, bytes)) = input.split_first() else {
            return Vec::new();
        };
        let (app, aw) = (self.app.clone(), self.aw.clone());
        let writer = &mut self.writer;
        self.rt.block_on(async move {
            let (mut client, server) = tokio::io::duplex(64 * 1024);
            let served = async move {
                let io = TokioIo::new(server);
                let mut builder = http1::Builder::new();
                // The client closes its side once it has sent everything: answer every
                // request it pipelined, not only the first.
                builder.half_close(true);
                let _ = if which % 2 == 0 {
                    let service =
                        service_fn(move |req| crate::http::route(app.clone(), LOCAL, req));
                    builder.serve_connection(io, service).await
                } else {
                    let service =
                        service_fn(move |req| activitywatch::route(aw.clone(), LOCAL, req));
                    builder.serve_connection(io, service).await
                };
            };
            let talk = async move {
                let mut answer = Vec::new();
                let (mut rx, mut tx) = tokio::io::split(&mut client);
                let send = async {
                    let _ = tx.write_all(bytes).await;
                    let _ = tx.shutdown().await;
                };
                let read = rx.read_to_end(&mut answer);
                let _ = tokio::join!(send, read);
                answer
            };
            let ((), answer) = tokio::join!(served, talk);
            if which % 2 == 1 {
                writer.pass().await;
            }
            answer
        })
    }
}

/// Whether any answer on a connection's bytes is a 500: the host failed on input it should
/// have refused with a 4xx (on a scratch tmpfs no storage error is expected).
pub fn server_error(answer: &[u8]) -> bool {
    answer.windows(13).any(|w| w == b"HTTP/1.1 500 ")
}
