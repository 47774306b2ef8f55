//! The frontend's [`Store`]: a checked batch goes to the stream, and the way in gets the
//! writer's answer (CONTRACT.md's `stored`/`skipped`/`file`) or, when none comes within
//! `reply_timeout_s`, [`Refused::Unavailable`] (503 with `Retry-After`).

use std::time::{Duration, Instant};

use async_nats::{HeaderMap, header};
use futures_util::StreamExt as _;
use openclone_ingest::guard::no_panic;
use openclone_ingest::service::Refused;
use openclone_ingest::store::{Done, Store};
use openclone_vault::prepare::keys_of;
use openclone_vault::sanitize::sanitize_batch;
use openclone_vault::{Batch, Policy, Receipt, Tally};

use crate::connect::Cluster;
use crate::wire::{self, Answer, REPLY_HEADER};

/// Publishes each tenant's batches on its partition's subject.
pub struct Publisher {
    runtime: tokio::runtime::Handle,
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
    tenants: Vec<(String, Policy)>,
    partitions: u32,
    reply_timeout: Duration,
}

impl Publisher {
    /// The publisher over `cluster` for `tenants` (ids with their sanitization policy, in
    /// config order), spawning its waits on `runtime`.
    pub fn new(
        cluster: &Cluster,
        tenants: Vec<(String, Policy)>,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self {
            runtime,
            client: cluster.client.clone(),
            js: cluster.js.clone(),
            tenants,
            partitions: cluster.settings.partitions,
            reply_timeout: cluster.settings.reply_timeout(),
        }
    }
}

impl Store for Publisher {
    /// Computes the events' dedup keys, sanitizes the batch with the tenant's policy (so
    /// no secret the rules catch reaches the servers' disks), and publishes it.
    fn store(&self, tenant: usize, mut batch: Batch, done: Done) {
        if batch.events.is_empty() {
            // Every event was held by a pause: nothing to send.
            return done(Ok(Receipt {
                tally: Tally::default(),
                file: String::new(),
                files: Vec::new(),
            }));
        }
        let (id, policy) = &self.tenants[tenant];
        let keys = keys_of(&batch);
        if let Err(m) = no_panic("sanitize", || sanitize_batch(&mut batch, *policy)) {
            return done(Err(Refused::Internal(m)));
        }
        let send = Send {
            client: self.client.clone(),
            js: self.js.clone(),
            subject: wire::subject(id, self.partitions),
            message_id: wire::message_id(id, &keys),
            body: wire::encode(&batch, &keys).into(),
            deadline: Instant::now() + self.reply_timeout,
            timeout: self.reply_timeout,
        };
        self.runtime.spawn(async move { done(send.run().await) });
    }

    fn close(&self) {}
}

/// One batch on its way.
struct Send {
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
    subject: String,
    message_id: String,
    body: bytes::Bytes,
    deadline: Instant,
    timeout: Duration,
}

impl Send {
    async fn run(self) -> Result<Receipt, Refused> {
        let unavailable = |what: String| {
            Refused::Unavailable(format!(
                "{what}; the batch may or may not be stored, and sending it again is safe"
            ))
        };
        let inbox = self.client.new_inbox();
        let mut answers = self
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| unavailable(format!("NATS: {e}")))?;
        let mut ack = self.publish(&inbox, &self.message_id).await?;
        if ack.duplicate {
            // The same events were published within the duplicate window: a resend after a
            // lost answer, or still in flight. The server dropped this copy, so no writer
            // would answer it; a copy under a fresh id is answered, after the first, with
            // what the vault holds (dedup skips what is stored).
            let again = format!("{}.{}", self.message_id, self.client.new_inbox());
            ack = self.publish(&inbox, &again).await?;
        }
        tracing::trace!(stream = %ack.stream, seq = ack.sequence, "batch published");
        let left = self.deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, answers.next()).await {
            Ok(Some(m)) => match serde_json::from_slice::<Answer>(&m.payload) {
                Ok(a) => a.into_result(),
                Err(e) => Err(Refused::Internal(format!("a writer's answer: {e}"))),
            },
            Ok(None) => Err(unavailable("the NATS connection closed".into())),
            Err(_) => Err(unavailable(format!(
                "no vault writer answered within {} s",
                self.timeout.as_secs()
            ))),
        }
    }

    async fn publish(
        &self,
        inbox: &str,
        message_id: &str,
    ) -> Result<async_nats::jetstream::publish::PublishAck, Refused> {
        let mut headers = HeaderMap::new();
        headers.insert(header::NATS_MESSAGE_ID, message_id);
        headers.insert(REPLY_HEADER, inbox);
        let left = self.deadline.saturating_duration_since(Instant::now());
        let sent = tokio::time::timeout(left, async {
            self.js
                .publish_with_headers(self.subject.clone(), headers, self.body.clone())
                .await?
                .await
        })
        .await;
        match sent {
            Ok(Ok(ack)) => Ok(ack),
            Ok(Err(e))
                if e.kind()
                    == async_nats::jetstream::context::PublishErrorKind::MaxPayloadExceeded =>
            {
                Err(Refused::Storage(format!(
                    "the batch ({} bytes) is larger than the NATS servers' max_payload; raise max_payload in their configuration or send smaller batches",
                    self.body.len()
                )))
            }
            Ok(Err(e)) => Err(Refused::Unavailable(format!(
                "JetStream did not take the batch ({e}); sending it again is safe"
            ))),
            Err(_) => Err(Refused::Unavailable(
                "JetStream did not acknowledge the batch in time; sending it again is safe".into(),
            )),
        }
    }
}
