//! What `doctor` and a starting writer check of the cluster (issue 23): the stream's
//! replicas, and that every server syncs JetStream writes to disk before acknowledging
//! them (`jetstream { sync_interval: always }`; by default JetStream acknowledges before
//! its fsync, nats-server #7564 and Jepsen's NATS 2.12.1 analysis).

use std::time::Duration;

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::context::GetStreamErrorKind;
use serde_json::Value;

use crate::settings::NatsSettings;

/// One finding: passed or not, and what was seen or what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Whether the check passed.
    pub ok: bool,
    /// What was seen, or the fix.
    pub message: String,
}

/// What `doctor` reports of `[nats]`, without creating anything: whether a server answers,
/// the stream's replicas ([`replicas`]), and each server's sync setting ([`sync_always`]).
pub async fn doctor(settings: &NatsSettings) -> Vec<Finding> {
    let connected = tokio::time::timeout(
        Duration::from_secs(10),
        async_nats::ConnectOptions::new()
            .name("openclone-doctor")
            .connect(settings.urls.clone()),
    )
    .await;
    let client = match connected {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            return vec![fail(format!(
                "cannot connect to {}: {e}",
                settings.urls.join(",")
            ))];
        }
        Err(_) => {
            return vec![fail(format!(
                "no NATS server answered at {} within 10 s",
                settings.urls.join(",")
            ))];
        }
    };
    let js = async_nats::jetstream::new(client);
    let mut out = vec![match js.get_stream(&settings.stream).await {
        Ok(mut stream) => match stream.info().await {
            Ok(info) => replicas(info, settings.replicas),
            Err(e) => fail(format!("stream {}: {e}", settings.stream)),
        },
        Err(e) if matches!(e.kind(), GetStreamErrorKind::JetStream(j) if j.error_code() == ErrorCode::STREAM_NOT_FOUND) => {
            Finding {
                ok: true,
                message: format!(
                    "stream {} does not exist yet; the first frontend or writer creates it with {} replica(s)",
                    settings.stream, settings.replicas
                ),
            }
        }
        Err(e) => fail(format!(
            "stream {}: {e} (is JetStream enabled on the servers?)",
            settings.stream
        )),
    }];
    let monitor = settings.monitor.clone();
    match tokio::task::spawn_blocking(move || sync_always(&monitor)).await {
        Ok(found) => out.extend(found),
        Err(e) => out.push(fail(format!("the sync check: {e}"))),
    }
    out
}

fn fail(message: String) -> Finding {
    Finding { ok: false, message }
}

/// The stream's replica count (from its `info`) against `want` (`[nats] replicas`), and
/// where its leader is.
pub fn replicas(info: &async_nats::jetstream::stream::Info, want: usize) -> Finding {
    let have = info.config.num_replicas;
    let leader = info
        .cluster
        .as_ref()
        .and_then(|c| c.leader.clone())
        .unwrap_or_else(|| "none".into());
    Finding {
        ok: have >= want,
        message: match have >= want {
            true => format!(
                "stream {} has {have} replicas (leader {leader})",
                info.config.name
            ),
            false => format!(
                "stream {} has {have} replica(s) but [nats] replicas = {want}: a lost node loses acknowledged batches still in flight; raise it with `nats stream edit {} --replicas {want}`",
                info.config.name, info.config.name
            ),
        },
    }
}

/// Whether each server of `[nats] monitor` syncs every JetStream write (`/varz`'s
/// `jetstream.config.sync_always`). With no monitor URL the check cannot pass.
pub fn sync_always(monitor: &[String]) -> Vec<Finding> {
    if monitor.is_empty() {
        return vec![Finding {
            ok: false,
            message: "[nats] monitor lists no server monitoring URL (http://host:8222), so whether JetStream syncs each write before acknowledging it cannot be checked".into(),
        }];
    }
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build(),
    );
    monitor
        .iter()
        .map(|base| {
            let url = format!("{}/varz", base.trim_end_matches('/'));
            let varz: Result<Value, String> = agent
                .get(&url)
                .call()
                .map_err(|e| e.to_string())
                .and_then(|mut r| r.body_mut().read_to_string().map_err(|e| e.to_string()))
                .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()));
            match varz {
                Err(e) => Finding {
                    ok: false,
                    message: format!("{url}: {e}"),
                },
                Ok(v) => {
                    let name = v["server_name"].as_str().unwrap_or("?").to_owned();
                    let config = &v["jetstream"]["config"];
                    if config.is_null() {
                        return Finding {
                            ok: false,
                            message: format!("server {name} ({url}) does not run JetStream"),
                        };
                    }
                    match config["sync_always"].as_bool().unwrap_or(false) {
                        true => Finding {
                            ok: true,
                            message: format!("server {name} syncs every JetStream write"),
                        },
                        false => Finding {
                            ok: false,
                            message: format!(
                                "server {name} ({url}) acknowledges JetStream writes before its fsync (sync every {} s); set `jetstream {{ sync_interval: always }}` in its configuration, or start the writer with --accept-async-sync",
                                config["sync_interval"].as_u64().unwrap_or(0) / 1_000_000_000
                            ),
                        },
                    }
                }
            }
        })
        .collect()
}
