//! What `doctor` and a starting writer check of the cluster (issue 23): the stream's
//! replicas, and that every server syncs JetStream writes to disk before acknowledging
//! them (`jetstream { sync_interval: always }`; by default JetStream acknowledges before
//! its fsync, nats-server #7564 and Jepsen's NATS 2.12.1 analysis).

use std::time::Duration;

use serde_json::Value;

use crate::connect::Cluster;

/// One finding: passed or not, and what was seen or what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Whether the check passed.
    pub ok: bool,
    /// What was seen, or the fix.
    pub message: String,
}

/// The stream's replica count against `[nats] replicas`, and where its leader is.
///
/// Errors: the stream's info could not be read.
pub async fn replicas(cluster: &Cluster) -> anyhow::Result<Finding> {
    let mut stream = cluster.stream.clone();
    let info = stream.info().await?;
    let have = info.config.num_replicas;
    let want = cluster.settings.replicas;
    let leader = info
        .cluster
        .as_ref()
        .and_then(|c| c.leader.clone())
        .unwrap_or_else(|| "none".into());
    Ok(Finding {
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
    })
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
