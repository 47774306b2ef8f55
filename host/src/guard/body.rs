//! Reading a request body under the host's three limits, for every route that takes one
//! (the ingest API, the ActivityWatch API): a size cap per route (→ 413, what is still
//! coming drained a little so the client reads the answer), a deadline (`[http]
//! body_timeout_s` → 408) and one memory budget shared by every listener (`[http]
//! body_memory_mib` → 503 with `Retry-After`), so 4,096 connections sending their
//! largest bodies at once cannot hold more than the budget.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, header};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes of in-flight request bodies the host holds at once, counted in KiB permits.
#[derive(Clone)]
pub struct BodyBudget {
    kib: Arc<Semaphore>,
    total_kib: u32,
}

impl BodyBudget {
    /// A budget of `mib` MiB (at least 1).
    pub fn new(mib: u32) -> Self {
        let total_kib = mib.clamp(1, 1 << 20) * 1024;
        Self {
            kib: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
        }
    }

    /// Reserves `bytes` (rounded up to KiB) without waiting; `None` when the budget is
    /// spent. A reservation larger than the whole budget takes all of it.
    fn reserve(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total_kib);
        self.kib.clone().try_acquire_many_owned(kib).ok()
    }
}

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Longer than the route's cap, declared or sent → 413.
    TooLarge,
    /// Not complete by the deadline → 408.
    Timeout,
    /// The shared budget is spent → 503, retry in a second.
    Busy,
    /// The connection broke or the chunked framing was bad → 400/422.
    Incomplete,
}

/// Past this many bytes beyond its cap an oversized body is not drained any further: the
/// 413 goes out and the connection closes.
const DRAIN_FACTOR: usize = 8;

/// Reads the whole body of `req`: at most `max` bytes within `deadline`, holding a
/// reservation of `budget` for its declared length (or `max` when it is chunked) while
/// it is read. The reservation ends when the bytes are returned: the caller parses them
/// and drops them; their parsed form is bounded by the same cap.
///
/// Errors: [`BodyError`].
pub async fn read(
    req: Request<Incoming>,
    max: usize,
    deadline: Duration,
    budget: &BodyBudget,
) -> Result<Bytes, BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = req.into_body();
    let until = tokio::time::Instant::now() + deadline;
    if declared.is_some_and(|l| l > max as u64) {
        let _ = tokio::time::timeout_at(until, drain(&mut body, max)).await;
        return Err(BodyError::TooLarge);
    }
    let want = declared.map_or(max, |l| usize::try_from(l).unwrap_or(max));
    let Some(_held) = budget.reserve(want) else {
        tracing::info!(
            bytes = want,
            "request body refused: [http] body_memory_mib is spent"
        );
        return Err(BodyError::Busy);
    };
    let collected = tokio::time::timeout_at(until, Limited::new(&mut body, max).collect()).await;
    let Ok(collected) = collected else {
        tracing::info!("request body not received within [http] body_timeout_s (408)");
        return Err(BodyError::Timeout);
    };
    match collected {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            let _ = tokio::time::timeout_at(until, drain(&mut body, max)).await;
            Err(BodyError::TooLarge)
        }
        Err(e) => {
            tracing::debug!(error = %e, "request body could not be read");
            Err(BodyError::Incomplete)
        }
    }
}

/// Reads and discards what the client is still sending (up to [`DRAIN_FACTOR`] × `max`),
/// so that a client that writes its whole body before reading sees the 413 instead of a
/// broken pipe.
async fn drain(body: &mut Incoming, max: usize) {
    let mut seen = 0;
    while let Some(Ok(frame)) = body.frame().await {
        seen += frame.data_ref().map_or(0, |d| d.len());
        if seen > DRAIN_FACTOR * max {
            break;
        }
    }
}
