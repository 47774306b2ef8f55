//! One writer per partition: a lease in the JetStream key-value bucket `<stream>-leases`
//! (key `p<N>`, value the holder's id), whose max age is `lease_ttl_s`. It is taken with
//! `create` (only if absent), renewed with `update` at the revision last seen (so a
//! holder that lost it cannot renew it), and ends by expiry: a holder that cannot renew
//! stops writing once 80 % of the lease has passed since its last renewal was *sent*,
//! before the server lets anyone else take it. The server's clock decides expiry; only
//! the rates of the clocks need to agree.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use std::sync::Mutex;

/// A held lease on one partition.
pub struct Lease {
    key: String,
    holder: String,
    ttl: Duration,
    state: Mutex<State>,
    lost: AtomicBool,
}

struct State {
    revision: u64,
    valid_until: Instant,
}

impl Lease {
    /// Tries once to take partition `p` for `holder`. `Ok(None)`: another writer holds it.
    ///
    /// Errors: the bucket did not answer (no quorum, no connection).
    pub async fn try_take(
        bucket: &kv::Store,
        p: u32,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Arc<Lease>>, kv::CreateError> {
        let key = format!("p{p}");
        let sent = Instant::now();
        match bucket.create(&key, holder.to_owned().into()).await {
            Ok(revision) => Ok(Some(Arc::new(Lease {
                key,
                holder: holder.to_owned(),
                ttl,
                state: Mutex::new(State {
                    revision,
                    valid_until: sent + ttl.mul_f64(0.8),
                }),
                lost: AtomicBool::new(false),
            }))),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the holder may still write the partition: renewed recently enough and
    /// never refused a renewal.
    pub fn valid(&self) -> bool {
        !self.lost.load(Ordering::Acquire)
            && self
                .state
                .lock()
                .is_ok_and(|st| Instant::now() < st.valid_until)
    }

    fn snapshot(&self) -> Option<(u64, Instant)> {
        self.state
            .lock()
            .ok()
            .map(|st| (st.revision, st.valid_until))
    }

    /// Renews the lease. `false` once it is lost for good (another holder, or expired
    /// before this renewal); a renewal that only timed out leaves it to expire by itself.
    /// Renewals come from one task at a time.
    pub async fn renew(&self, bucket: &kv::Store) -> bool {
        let sent = Instant::now();
        let Some((revision, valid_until)) = self.snapshot() else {
            return false;
        };
        if sent >= valid_until || self.lost.load(Ordering::Acquire) {
            self.lost.store(true, Ordering::Release);
            return false;
        }
        let renewal = tokio::time::timeout(
            self.ttl / 4,
            bucket.update(&self.key, self.holder.clone().into(), revision),
        )
        .await;
        match renewal {
            Ok(Ok(revision)) => {
                if let Ok(mut st) = self.state.lock() {
                    st.revision = revision;
                    st.valid_until = sent + self.ttl.mul_f64(0.8);
                }
                true
            }
            Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                tracing::warn!(lease = %self.key, "the partition's lease was taken by another writer");
                self.lost.store(true, Ordering::Release);
                false
            }
            Ok(Err(e)) => {
                tracing::warn!(lease = %self.key, error = %e, "could not renew the partition's lease");
                true
            }
            Err(_) => {
                tracing::warn!(lease = %self.key, "renewing the partition's lease timed out");
                true
            }
        }
    }

    /// Gives the lease up at once (a clean stop), if it is still this holder's.
    pub async fn release(&self, bucket: &kv::Store) {
        let held = self.valid();
        self.lost.store(true, Ordering::Release);
        if let (true, Some((revision, _))) = (held, self.snapshot()) {
            // Deleting at the revision held: a lease already taken over is left alone.
            let _ = bucket
                .delete_expect_revision(&self.key, Some(revision))
                .await;
        }
    }
}
