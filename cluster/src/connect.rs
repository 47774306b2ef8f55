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
    // A cluster that has just started, or whose stream or buckets were made a moment ago
    // by another node, answers "no responders" or times out until their leaders are
    // elected. Give it over a minute (1 s, 2 s, … then every 5 s); a refusal that will
    // not change ends it at once.
    let mut tries: u64 = 0;
    let (stream, leases) = loop {
        tries += 1;
        match setup(&js, settings).await {
            Ok(made) => break made,
            Err(Setup::NotReady(e)) if tries < 20 => {
                let wait = tries.min(5);
                tracing::info!(
                    error = format!("{e:#}"),
                    "JetStream not ready; trying again in {wait} s"
                );
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            Err(Setup::NotReady(e) | Setup::Refused(e)) => return Err(e),
        }
    };
    Ok(Cluster {
        client,
        js,
        stream,
        leases,
        settings: settings.clone(),
    })
}

/// Why [`setup`] failed.
enum Setup {
    /// JetStream is not ready yet (no leader, no quorum): worth another try.
    NotReady(anyhow::Error),
    /// A refusal another try will not change.
    Refused(anyhow::Error),
}

/// The stream, the lease bucket and the partition check, once.
async fn setup(
    js: &jetstream::Context,
    settings: &NatsSettings,
) -> Result<(jetstream::stream::Stream, kv::Store), Setup> {
    let stream = make_stream(js, settings).await.map_err(|e| {
        let ready = !matches!(
            e.kind(),
            CreateStreamErrorKind::TimedOut | CreateStreamErrorKind::JetStreamUnavailable
        );
        let e = anyhow::Error::new(e).context(format!(
            "creating or finding the JetStream stream {} (R{}); the subjects openclone.batch.> may belong to one stream only",
            settings.stream, settings.replicas
        ));
        if ready { Setup::Refused(e) } else { Setup::NotReady(e) }
    })?;
    let leases = bucket(js, settings, &settings.lease_bucket(), settings.lease_ttl())
        .await
        .map_err(Setup::NotReady)?;
    let layout = bucket(
        js,
        settings,
        &format!("{}-layout", settings.stream),
        Duration::ZERO,
    )
    .await
    .map_err(Setup::NotReady)?;
    check_partitions(&layout, settings).await?;
    Ok((stream, leases))
}

/// Finds key-value bucket `name`, or creates it (`max_age` zero: entries never expire).
async fn bucket(
    js: &jetstream::Context,
    settings: &NatsSettings,
    name: &str,
    max_age: Duration,
) -> anyhow::Result<kv::Store> {
    match js.get_key_value(name).await {
        Ok(kv) => Ok(kv),
        Err(_) => js
            .create_key_value(kv::Config {
                bucket: name.to_owned(),
                history: 1,
                max_age,
                num_replicas: settings.replicas,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating the key-value bucket {name}")),
    }
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
async fn check_partitions(layout: &kv::Store, settings: &NatsSettings) -> Result<(), Setup> {
    let mine = settings.partitions.to_string();
    if layout
        .create(PARTITIONS_KEY, mine.clone().into())
        .await
        .is_ok()
    {
        return Ok(());
    }
    let recorded = match layout.get(PARTITIONS_KEY).await {
        Ok(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
        Ok(None) => {
            return Err(Setup::NotReady(anyhow::anyhow!(
                "the partition count is not recorded yet"
            )));
        }
        Err(e) => {
            return Err(Setup::NotReady(
                anyhow::Error::new(e).context(format!("reading {PARTITIONS_KEY}")),
            ));
        }
    };
    if recorded != mine {
        return Err(Setup::Refused(anyhow::anyhow!(
            "[nats] partitions = {mine}, but this cluster was set up with {recorded}: every node must use the same count (changing it moves tenants between writers; see CONTRACT.md, \"Beyond one machine\")"
        )));
    }
    Ok(())
}
