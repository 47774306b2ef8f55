//! Connecting to the cluster, and the stream and lease bucket either role creates when
//! they are missing (issue 23: R3, file storage).

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::context::{CreateStreamError, CreateStreamErrorKind};
use async_nats::jetstream::{self, kv, stream};

use crate::settings::NatsSettings;
use crate::wire::SUBJECT_PREFIX;

/// The connection of one role: the client, its JetStream context, the stream and the
/// lease bucket.
pub struct Cluster {
    /// The core client (inboxes, answers).
    pub client: async_nats::Client,
    /// JetStream, with the publish-ack timeout set to the reply timeout.
    pub js: jetstream::Context,
    /// The batch stream.
    pub stream: jetstream::stream::Stream,
    /// The lease bucket (`<stream>-leases`), which also records the partition count.
    pub leases: kv::Store,
    /// The settings in force.
    pub settings: NatsSettings,
}

/// The key under which the first node records `[nats] partitions`.
const PARTITIONS_KEY: &str = "partitions";

/// Connects to any of `settings.urls` as `name` (`openclone-frontend`, …), creates the
/// stream (file storage, `replicas`, subjects `openclone.batch.>`, the duplicate window)
/// and the lease bucket (`lease_ttl_s` as its max age) if missing, and checks that the
/// cluster's recorded partition count is `settings.partitions`.
///
/// Errors: no server reachable within 10 s, JetStream not enabled, a stream or bucket that
/// cannot be created (fewer servers than replicas), a different partition count.
pub async fn connect(settings: &NatsSettings, name: &str) -> anyhow::Result<Cluster> {
    let client = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(10))
        .max_reconnects(None)
        .connect(settings.urls.clone())
        .await
        .with_context(|| format!("connecting to NATS at {}", settings.urls.join(",")))?;
    let js = jetstream::ContextBuilder::new()
        .timeout(settings.reply_timeout())
        .ack_timeout(settings.reply_timeout())
        .build(client.clone());
    // A cluster that has just started has no JetStream leader yet: its first requests
    // time out. Give it up to a minute.
    let mut tries = 0;
    let stream = loop {
        tries += 1;
        match make_stream(&js, settings).await {
            Ok(s) => break s,
            Err(e)
                if tries < 12
                    && matches!(
                        e.kind(),
                        CreateStreamErrorKind::TimedOut
                            | CreateStreamErrorKind::JetStreamUnavailable
                    ) =>
            {
                tracing::info!(error = %e, "JetStream not ready; trying again in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "creating or finding the JetStream stream {} (R{}); the subjects openclone.batch.> may belong to one stream only",
                        settings.stream, settings.replicas
                    )
                });
            }
        }
    };
    let bucket = settings.lease_bucket();
    let leases = match js.get_key_value(&bucket).await {
        Ok(kv) => kv,
        Err(_) => js
            .create_key_value(kv::Config {
                bucket: bucket.clone(),
                history: 1,
                max_age: settings.lease_ttl(),
                num_replicas: settings.replicas,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating the lease bucket {bucket}"))?,
    };
    check_partitions(&js, settings).await?;
    Ok(Cluster {
        client,
        js,
        stream,
        leases,
        settings: settings.clone(),
    })
}

/// Creates the batch stream, or finds it. Errors: JetStream did not answer, or refused it
/// (fewer servers than replicas, another stream holding the subjects).
async fn make_stream(
    js: &jetstream::Context,
    settings: &NatsSettings,
) -> Result<jetstream::stream::Stream, CreateStreamError> {
    js.get_or_create_stream(stream::Config {
        name: settings.stream.clone(),
        subjects: vec![format!("{SUBJECT_PREFIX}.>")],
        num_replicas: settings.replicas,
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(settings.duplicate_window_s),
        // An acked batch is in a vault: the stream is transport, not a second store.
        retention: stream::RetentionPolicy::WorkQueue,
        ..Default::default()
    })
    .await
}

/// The partition count lives in its own bucket (`<stream>-layout`, no max age), written by
/// the first node; a node configured with another count is refused, as it would send a
/// tenant's batches to a second writer.
async fn check_partitions(js: &jetstream::Context, settings: &NatsSettings) -> anyhow::Result<()> {
    let bucket = format!("{}-layout", settings.stream);
    let layout = match js.get_key_value(&bucket).await {
        Ok(kv) => kv,
        Err(_) => js
            .create_key_value(kv::Config {
                bucket: bucket.clone(),
                history: 1,
                num_replicas: settings.replicas,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating the layout bucket {bucket}"))?,
    };
    let mine = settings.partitions.to_string();
    if layout
        .create(PARTITIONS_KEY, mine.clone().into())
        .await
        .is_ok()
    {
        return Ok(());
    }
    let recorded = layout
        .get(PARTITIONS_KEY)
        .await
        .with_context(|| format!("reading {PARTITIONS_KEY} from {bucket}"))?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    anyhow::ensure!(
        recorded == mine,
        "[nats] partitions = {mine}, but this cluster was set up with {recorded}: every node must use the same count (changing it moves tenants between writers; see DESIGN.md, \"Moving tenants\")"
    );
    Ok(())
}
