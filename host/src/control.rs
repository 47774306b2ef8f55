//! The local control socket: how the command line asks a running host to do what only the
//! process holding the data folder may (`openclone forget`, `pause` and `resume` while
//! `serve` runs).
//!
//! `serve` listens on `<data>/control.sock` (or its fallback, [`socket_paths`]), a Unix
//! socket of mode 0600, and answers only
//! a peer of its own user (`SO_PEERCRED`): the file's mode keeps other users out, the check
//! keeps out a process that was handed the socket another way. No API key is involved:
//! whoever runs as the host's user can read the vault anyway. One connection carries one
//! call: a JSON line (at most [`MAX_CALL`] bytes) and one JSON line back. A stale socket
//! left by a host that died is replaced at start (the data folder's lock says no host is
//! running).

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::watch;

use openclone_ingest::pause::Paused;

use crate::app::App;
use crate::forget;

/// The socket's file name in the data folder.
pub const SOCKET: &str = "control.sock";

/// The longest call line, bytes.
pub const MAX_CALL: u64 = 64 << 10;

/// A call to the running host.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// Forget (or, dry, count) what a selection names ([`forget::forget`]).
    Forget(forget::Request),
    /// Pause recording for `seconds`, or until resumed when `None`
    /// ([`openclone_ingest::pause`]).
    Pause {
        /// How long, seconds.
        seconds: Option<f64>,
    },
    /// End the pause.
    Resume,
}

/// The host's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// What a forget did.
    Forgot(forget::Outcome),
    /// The pause now in force.
    Paused(Paused),
    /// The pause that was ended (`None`: there was none).
    Resumed(Option<Paused>),
    /// Why the call failed.
    Error(String),
}

/// Where the socket of data folder `data` may be, in the order tried: in the data folder,
/// and, where that file system has no Unix sockets (FUSE mounts, some network shares), in
/// a private folder of this user (`$XDG_RUNTIME_DIR`, else `/tmp/openclone-<uid>`, made
/// 0700 and refused unless it is the user's own and private) named by a hash of the data
/// folder's path.
pub fn socket_paths(data: &Path) -> Vec<PathBuf> {
    let mut out = vec![data.join(SOCKET)];
    let canonical = std::fs::canonicalize(data).unwrap_or_else(|_| data.to_owned());
    let id = hex::encode(&sha2::Sha256::digest(canonical.as_os_str().as_encoded_bytes())[..8]);
    if let Some(dir) = private_runtime_dir() {
        out.push(dir.join(format!("openclone-{id}.sock")));
    }
    out
}

/// `$XDG_RUNTIME_DIR`, or `/tmp/openclone-<uid>` (created 0700); `None` when the folder is
/// not this user's own with no access for others.
fn private_runtime_dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
    let uid = rustix::process::getuid().as_raw();
    let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            let d = std::env::temp_dir().join(format!("openclone-{uid}"));
            let _ = std::fs::DirBuilder::new().mode(0o700).create(&d);
            d
        }
    };
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    (meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0).then_some(dir)
}

/// Serves calls until `stop` turns true, then removes the socket. When the socket cannot
/// be made (a path longer than a Unix socket allows, a read-only folder) it says so once
/// and the host runs without it; the command line then names the fix.
pub async fn serve(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut bound = None;
    for path in socket_paths(&app.config.data_dir()) {
        let _ = std::fs::remove_file(&path);
        match tokio::net::UnixListener::bind(&path).and_then(|l| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            Ok(l)
        }) {
            Ok(l) => {
                bound = Some((l, path));
                break;
            }
            Err(e) => {
                tracing::debug!(socket = %path.display(), error = %e, "no control socket here");
            }
        }
    }
    let Some((listener, path)) = bound else {
        tracing::warn!(
            "no control socket: `openclone forget` cannot reach this host (stop it to forget)"
        );
        return;
    };
    let me = rustix::process::getuid().as_raw();
    loop {
        let conn = tokio::select! {
            c = listener.accept() => c,
            _ = stop.wait_for(|s| *s) => break,
        };
        let Ok((stream, _)) = conn else { continue };
        if stream.peer_cred().ok().map(|c| c.uid()) != Some(me) {
            tracing::warn!("refused a control call from another user");
            continue;
        }
        tokio::spawn(answer(app.clone(), stream));
    }
    let _ = std::fs::remove_file(&path);
}

/// Reads one call, runs it off the async threads, writes the answer.
async fn answer(app: Arc<App>, stream: tokio::net::UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let got = tokio::io::BufReader::new(read.take(MAX_CALL))
        .read_line(&mut line)
        .await;
    let reply = match got.map_err(|e| e.to_string()).and_then(|_| {
        serde_json::from_str::<Call>(&line)
            .map_err(|e| format!("a call the host does not know: {e}"))
    }) {
        Ok(Call::Forget(req)) => {
            let run = tokio::task::spawn_blocking(move || forget::forget(&app, &req)).await;
            match run {
                Ok(Ok(o)) => Answer::Forgot(o),
                Ok(Err(e)) => Answer::Error(format!("{e:#}")),
                Err(e) => Answer::Error(e.to_string()),
            }
        }
        Ok(Call::Pause { seconds }) => match app.ingest.pause().pause(seconds) {
            Ok(p) => Answer::Paused(p),
            Err(e) => Answer::Error(format!("the pause could not be saved: {e}")),
        },
        Ok(Call::Resume) => match app.ingest.pause().resume() {
            Ok(p) => Answer::Resumed(p),
            Err(e) => Answer::Error(format!("the resume could not be saved: {e}")),
        },
        Err(e) => Answer::Error(e),
    };
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    let _ = write.write_all(&out).await;
}

/// Sends `call` to the host running on data folder `data`; `None` when no host listens
/// there (no socket, or a stale one).
///
/// Errors: the host was reached but the exchange failed.
pub fn call(data: &Path, call: &Call) -> anyhow::Result<Option<Answer>> {
    let Some(mut stream) = socket_paths(data)
        .into_iter()
        .find_map(|p| UnixStream::connect(p).ok())
    else {
        return Ok(None);
    };
    let mut line = serde_json::to_vec(call)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    if answer.is_empty() {
        anyhow::bail!("the running host closed the control socket without an answer");
    }
    Ok(Some(serde_json::from_str(&answer)?))
}
