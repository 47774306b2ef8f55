//! The writer role: for each partition it may hold, take the lease, open the partition's
//! vaults, then pull its batches (explicit ack), store each, answer the frontend after the
//! vault's fsync and acknowledge the JetStream message after that. A writer killed between
//! its answer and its ack gets the message again after `ack_wait`, and the vault's dedup
//! index skips it (issue 23).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, pull};
use async_nats::jetstream::{AckKind, Message};
use futures_util::StreamExt as _;
use openclone_ingest::service::Refused;
use openclone_ingest::store::Done;
use openclone_vault::Receipt;
use tokio::sync::{oneshot, watch};

use crate::connect::Cluster;
use crate::lease::Lease;
use crate::wire::{self, Answer, REPLY_HEADER};

/// Messages pulled at a time; they go to the vault together, so one fsync covers many.
const PULL: usize = 128;

/// The writer's vaults, implemented by the host (which knows the tenants' configuration).
pub trait Vaults: Send + Sync + 'static {
    /// Opens the vaults of the tenants of partition `p` (of `partitions`), reconciling
    /// each dedup index with its files. Called on a blocking thread. Errors: a vault that
    /// cannot be opened (the lease is then given up).
    fn open(&self, p: u32, partitions: u32) -> anyhow::Result<()>;

    /// Finishes what is queued for partition `p`'s vaults and closes them.
    fn close(&self, p: u32, partitions: u32);

    /// Reads `body` ([`crate::wire::decode`]), checks its batch with tenant `tenant`'s rules and stores it,
    /// calling `done` after the fsync. A tenant this writer does not keep, or whose vault
    /// is not open, is a [`Refused::Unavailable`].
    fn store(&self, tenant: &str, body: &[u8], done: Done);
}

/// What a running writer holds, for `/healthz`.
#[derive(Default)]
pub struct Held {
    leases: Mutex<BTreeMap<u32, Arc<Lease>>>,
}

impl Held {
    /// The partitions whose lease is valid now, in order: the ones this writer may write.
    pub fn partitions(&self) -> Vec<u32> {
        self.leases
            .lock()
            .map(|l| {
                l.iter()
                    .filter(|(_, l)| l.valid())
                    .map(|(p, _)| *p)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn set(&self, p: u32, lease: Option<Arc<Lease>>) {
        if let Ok(mut leases) = self.leases.lock() {
            match lease {
                Some(l) => leases.insert(p, l),
                None => leases.remove(&p),
            };
        }
    }
}

/// A fault to inject, for the test of a writer killed between its answer and its ack:
/// `OPENCLONE_CLUSTER_FAULT=exit-before-ack` makes the process exit (status 137, as if
/// `kill -9`) right after its first answer was flushed and before the ack. Read once.
fn exit_before_ack() -> bool {
    std::env::var("OPENCLONE_CLUSTER_FAULT").is_ok_and(|v| v == "exit-before-ack")
}

/// Runs the writer until `stop` turns true: one task per partition in `wanted`, each
/// taking the partition whenever its lease is free. Returns after every held partition's
/// vaults are closed and its lease released.
pub async fn run(
    cluster: Arc<Cluster>,
    vaults: Arc<dyn Vaults>,
    wanted: Vec<u32>,
    holder: String,
    held: Arc<Held>,
    stop: watch::Receiver<bool>,
) {
    let fault = exit_before_ack();
    let tasks: Vec<_> = wanted
        .into_iter()
        .map(|p| {
            let w = PartitionWriter {
                p,
                cluster: cluster.clone(),
                vaults: vaults.clone(),
                holder: holder.clone(),
                held: held.clone(),
                stop: stop.clone(),
                fault,
            };
            tokio::spawn(w.run())
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
}

struct PartitionWriter {
    p: u32,
    cluster: Arc<Cluster>,
    vaults: Arc<dyn Vaults>,
    holder: String,
    held: Arc<Held>,
    stop: watch::Receiver<bool>,
    fault: bool,
}

impl PartitionWriter {
    async fn run(mut self) {
        let ttl = self.cluster.settings.lease_ttl();
        let n = self.cluster.settings.partitions;
        while !*self.stop.borrow() {
            let lease = match Lease::try_take(&self.cluster.leases, self.p, &self.holder, ttl).await
            {
                Ok(Some(l)) => l,
                Ok(None) => {
                    self.pause(ttl / 3).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(partition = self.p, error = %e, "cannot reach the lease bucket");
                    self.pause(ttl / 3).await;
                    continue;
                }
            };
            let (vaults, p) = (self.vaults.clone(), self.p);
            match tokio::task::spawn_blocking(move || vaults.open(p, n)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(
                        partition = p,
                        error = format!("{e:#}"),
                        "cannot open the partition's vaults; giving the lease up"
                    );
                    lease.release(&self.cluster.leases).await;
                    self.pause(ttl).await;
                    continue;
                }
                Err(e) => {
                    tracing::error!(partition = p, error = %e, "opening the partition's vaults panicked");
                    lease.release(&self.cluster.leases).await;
                    self.pause(ttl).await;
                    continue;
                }
            }
            tracing::info!(partition = p, holder = %self.holder, "partition taken");
            self.held.set(p, Some(lease.clone()));
            if let Err(e) = self.serve(&lease).await {
                tracing::warn!(
                    partition = p,
                    error = format!("{e:#}"),
                    "pulling the partition's batches failed"
                );
            }
            self.held.set(p, None);
            let vaults = self.vaults.clone();
            let _ = tokio::task::spawn_blocking(move || vaults.close(p, n)).await;
            if *self.stop.borrow() {
                lease.release(&self.cluster.leases).await;
            }
            tracing::info!(partition = p, "partition given up");
        }
    }

    /// Sleeps `d`, or less when stopping.
    async fn pause(&mut self, d: Duration) {
        let _ = tokio::time::timeout(d, self.stop.changed()).await;
    }

    /// Pulls and stores while the lease holds and the writer is not stopping.
    async fn serve(&mut self, lease: &Arc<Lease>) -> anyhow::Result<()> {
        let name = format!("p{}", self.p);
        let consumer = self
            .cluster
            .stream
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: wire::partition_filter(self.p),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(self.cluster.settings.ack_wait_s),
                    max_ack_pending: 4 * PULL as i64,
                    ..Default::default()
                },
            )
            .await?;
        let renewer = {
            let (lease, bucket) = (lease.clone(), self.cluster.leases.clone());
            let every = self.cluster.settings.lease_ttl() / 3;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if !lease.renew(&bucket).await {
                        break;
                    }
                }
            })
        };
        let result = async {
            let mut chunks = consumer
                .stream()
                .max_messages_per_batch(PULL)
                .messages()
                .await?
                .ready_chunks(PULL);
            while !*self.stop.borrow() && lease.valid() {
                // Whatever has arrived goes to the vaults together; an idle partition
                // still looks at its lease and the stop flag every second.
                let chunk = match tokio::time::timeout(Duration::from_secs(1), chunks.next()).await
                {
                    Err(_) => continue,
                    Ok(None) => break,
                    Ok(Some(chunk)) => chunk,
                };
                let mut pulled = Vec::with_capacity(chunk.len());
                for m in chunk {
                    match m {
                        Ok(m) => pulled.push(m),
                        Err(e) => tracing::debug!(error = %e, "pull status"),
                    }
                }
                self.store_all(lease, pulled).await;
            }
            anyhow::Ok(())
        }
        .await;
        renewer.abort();
        result
    }

    /// Hands the pulled messages to the vaults in order (one writer thread per vault keeps
    /// that order), then answers and acks each as its fsync completes.
    async fn store_all(&self, lease: &Lease, pulled: Vec<Message>) {
        let mut pending = Vec::with_capacity(pulled.len());
        for m in pulled {
            if !lease.valid() {
                // Not acked: JetStream delivers it to the partition's next holder.
                break;
            }
            let (tx, rx) = oneshot::channel::<Result<Receipt, Refused>>();
            let done: Done = Box::new(move |r| drop(tx.send(r)));
            let n = self.cluster.settings.partitions;
            match wire::tenant_of(&m.subject) {
                Some(tenant) if wire::subject(tenant, n) == m.subject.as_str() => {
                    self.vaults.store(tenant, &m.payload, done)
                }
                _ => done(Err(Refused::Invalid(vec![
                    openclone_vault::FieldError::new(
                        "subject",
                        format!(
                            "{} is not openclone.batch.<tenant>.<the tenant's partition>",
                            m.subject
                        ),
                    ),
                ]))),
            }
            pending.push((m, rx));
        }
        for (m, rx) in pending {
            let result = rx
                .await
                .unwrap_or_else(|_| Err(Refused::Unavailable("the vault writer stopped".into())));
            self.answer(&m, &result).await;
            let ack = match &result {
                Ok(_) | Err(Refused::Invalid(_) | Refused::NotPermitted(_)) => AckKind::Ack,
                Err(e) => {
                    tracing::warn!(subject = %m.subject, error = ?e, "batch not stored; JetStream delivers it again in 5 s");
                    AckKind::Nak(Some(Duration::from_secs(5)))
                }
            };
            if let Err(e) = m.ack_with(ack).await {
                tracing::warn!(subject = %m.subject, error = %e, "could not acknowledge a batch; it will be delivered again and skipped");
            }
        }
    }

    /// Answers the frontend waiting on the message's reply inbox, if any.
    async fn answer(&self, m: &Message, result: &Result<Receipt, Refused>) {
        let Some(inbox) = m
            .headers
            .as_ref()
            .and_then(|h| h.get(REPLY_HEADER))
            .map(|v| v.as_str().to_owned())
        else {
            return;
        };
        let body = serde_json::to_vec(&Answer::of(result)).unwrap_or_default();
        if let Err(e) = self.cluster.client.publish(inbox, body.into()).await {
            tracing::warn!(error = %e, "could not answer a frontend");
        }
        if self.fault && result.is_ok() {
            let _ = self.cluster.client.flush().await;
            tracing::error!(
                "OPENCLONE_CLUSTER_FAULT=exit-before-ack: exiting after the answer, before the ack"
            );
            std::process::exit(137);
        }
    }
}
