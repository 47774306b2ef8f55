//! Test harness: the real `openclone` binary on 127.0.0.1, driven over real HTTP.

pub mod desktop;
pub mod nats;
pub mod origin;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// The key the zero-config host is started with (the OpenClone page's quick start key).
pub const KEY: &str = "your-api-key";

/// The drop-in plugin folders, built once per test run by `scripts/build-plugins.sh
/// --test` with this test run's `openclone` (real components from `plugins/` and
/// `tests/plugins/`).
pub fn built_plugins() -> &'static Path {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = root.join("target/e2e-plugins");
        let status = Command::new("bash")
            .arg(root.join("scripts/build-plugins.sh"))
            .arg("--test")
            .arg(&out)
            .env("OPENCLONE_BIN", env!("CARGO_BIN_EXE_openclone"))
            .status()
            .expect("scripts/build-plugins.sh runs");
        assert!(status.success(), "building the plugins failed");
        out
    })
}

/// Copies the built drop-in folder of plugin `id` into `plugins_dir`.
pub fn install_plugin(plugins_dir: &Path, id: &str) {
    let from = built_plugins().join(id);
    let to = plugins_dir.join(id);
    std::fs::create_dir_all(&to).expect("plugin folder");
    for f in ["plugin.json", "plugin.wasm"] {
        if from.join(f).exists() {
            std::fs::copy(from.join(f), to.join(f)).unwrap_or_else(|e| panic!("{id}/{f}: {e}"));
        }
    }
}

/// The repository's copy of the fixture files (`tests/fixtures`).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// Runs `openclone capture` in `dir` with `openclone.toml` there; (success, stdout).
pub fn capture(dir: &Path, extra: &[&str]) -> (bool, String) {
    capture_with(dir, extra, &[])
}

/// [`capture`] with `env` set (`None` removes a variable). The log goes to `dir/host.log`.
pub fn capture_with(dir: &Path, extra: &[&str], env: &[(&str, Option<&str>)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_openclone"));
    cmd.arg("capture")
        .args(extra)
        .current_dir(dir)
        .env("API_KEY", KEY)
        .env_remove("OPENCLONE_DATA")
        .env("RUST_LOG", "info")
        .stderr(log_file(dir));
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().expect("openclone capture runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The events plugin `id` stored, from `openclone capture`'s table.
pub fn stored_of(stdout: &str, id: &str) -> Option<u64> {
    stdout
        .lines()
        .find(|l| l.starts_with(id))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

/// Runs `openclone ARGS` in `dir`; (success, stdout, stderr).
pub fn openclone(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_openclone"))
        .args(args)
        .current_dir(dir)
        .env("API_KEY", KEY)
        .env_remove("OPENCLONE_DATA")
        .output()
        .expect("openclone runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Polls `f` every 100 ms for up to `secs` seconds.
pub fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

/// A config that lifts the rate limit, for tests that send many requests.
pub const UNLIMITED: &str = "[ingest]\nrate_burst = 1000000\nrate_per_s = 1000000.0\n";

/// A running host in its own temporary folder.
pub struct Host {
    /// The folder the host runs in (its `./data` lives here).
    pub dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    aw: AwBase,
    child: Child,
    config: Option<PathBuf>,
    agent: ureq::Agent,
    /// A command the host is started under (`unshare …`), its arguments before the binary.
    wrapper: Vec<String>,
}

/// Where the host said its ActivityWatch API listens.
type AwBase = Arc<Mutex<Option<String>>>;

/// An HTTP answer.
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub json: Value,
}

impl Host {
    /// Zero config, `API_KEY=your-api-key`, in a new folder.
    pub fn start() -> Self {
        Self::start_in(tempfile::tempdir().expect("tempdir"), None)
    }

    /// With `openclone.toml` holding `config`.
    pub fn with_config(config: &str) -> Self {
        Self::with_files(config, &[])
    }

    /// With `openclone.toml` holding `config`, after `prepare` has filled the host's folder.
    pub fn prepared(config: &str, prepare: impl FnOnce(&Path)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        prepare(dir.path());
        let path = dir.path().join("openclone.toml");
        std::fs::write(&path, config).expect("write config");
        Self::start_in(dir, Some(path))
    }

    /// With `openclone.toml` holding `config` and each `(relative path, content)` written
    /// into the host's folder first.
    pub fn with_files(config: &str, files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for (rel, content) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, content).expect("write file");
        }
        let path = dir.path().join("openclone.toml");
        std::fs::write(&path, config).expect("write config");
        Self::start_in(dir, Some(path))
    }

    /// With `openclone.toml` holding `config`, after `prepare`, the binary started as the
    /// last argument of `wrapper` (a shell command line that ends in `exec "$0" "$@"`).
    pub fn wrapped(config: &str, prepare: impl FnOnce(&Path), wrapper: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        prepare(dir.path());
        let path = dir.path().join("openclone.toml");
        std::fs::write(&path, config).expect("write config");
        let wrapper: Vec<String> = wrapper.iter().map(|s| (*s).to_owned()).collect();
        let (child, base, aw) = spawn(dir.path(), Some(&path), &wrapper);
        Self {
            dir,
            base,
            aw,
            child,
            config: Some(path),
            agent: agent(),
            wrapper,
        }
    }

    /// `http://127.0.0.1:PORT` of the ActivityWatch API, once the host has printed it.
    pub fn aw_base(&self) -> String {
        let mut found = None;
        assert!(
            wait_for(20, || {
                found.clone_from(&self.aw.lock().expect("lock"));
                found.is_some()
            }),
            "the host printed its ActivityWatch address\n{}",
            self.log()
        );
        found.unwrap_or_default()
    }

    /// The host's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn start_in(dir: tempfile::TempDir, config: Option<PathBuf>) -> Self {
        let (child, base, aw) = spawn(dir.path(), config.as_deref(), &[]);
        Self {
            dir,
            base,
            aw,
            child,
            config,
            agent: agent(),
            wrapper: Vec::new(),
        }
    }

    /// The vault root of the zero-config tenant `default` (or of `tenant`).
    pub fn vault(&self, tenant: &str) -> PathBuf {
        self.dir.path().join("data/vaults").join(tenant)
    }

    /// Reads a vault file of `tenant`.
    pub fn read(&self, tenant: &str, rel: &str) -> String {
        std::fs::read_to_string(self.vault(tenant).join(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// POSTs raw bytes to the ingest endpoint with `key`.
    pub fn post_raw(&self, key: Option<&str>, body: &[u8]) -> Reply {
        let mut req = self
            .agent
            .post(format!("{}/api/v1/ingest", self.base))
            .header("Content-Type", "application/json");
        if let Some(k) = key {
            req = req.header("X-API-Key", k);
        }
        reply(req.send(body).expect("request sent"))
    }

    /// POSTs a JSON batch with the quick-start key.
    pub fn post(&self, body: &Value) -> Reply {
        self.post_raw(Some(KEY), body.to_string().as_bytes())
    }

    /// GETs `path` with `key`.
    pub fn get(&self, path: &str, key: Option<&str>) -> Reply {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.header("X-API-Key", k);
        }
        reply(req.call().expect("request sent"))
    }

    /// `GET /api/v1/search?q=…` with `key` (answered 200); the answer.
    pub fn search(&self, key: &str, q: &str) -> Value {
        let q = percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC);
        let r = self.get(&format!("/api/v1/search?q={q}"), Some(key));
        assert_eq!(r.status, 200, "{}", r.json);
        r.json
    }

    /// Waits out the search index's lag until `q` finds `n` hits; the answer.
    pub fn finds(&self, key: &str, q: &str, n: usize) -> Value {
        let mut last = Value::Null;
        let ok = wait_for(20, || {
            last = self.search(key, q);
            hits(&last).len() == n
        });
        assert!(ok, "{q:?}: expected {n} hit(s), got {last}");
        last
    }

    /// What the host has logged so far (all runs in this folder), colour codes removed.
    pub fn log(&self) -> String {
        let raw = std::fs::read_to_string(self.dir.path().join("host.log")).unwrap_or_default();
        let mut out = String::with_capacity(raw.len());
        let mut in_escape = false;
        for c in raw.chars() {
            match (in_escape, c) {
                (false, '\x1b') => in_escape = true,
                (true, 'm') => in_escape = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit; returns whether it exited with success.
    pub fn stop(&mut self) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    /// Waits for the host (or its wrapper) to exit by itself; whether it exited with success.
    pub fn wait_exit(&mut self) -> bool {
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    /// Starts the host again on the same folder (after [`Host::kill9`] or [`Host::stop`]).
    pub fn restart(&mut self) {
        let (child, base, aw) = spawn(self.dir.path(), self.config.as_deref(), &self.wrapper);
        self.child = child;
        self.base = base;
        self.aw = aw;
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An HTTP client that returns every status as an answer (no error), 60 s per request.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn spawn(dir: &Path, config: Option<&Path>, wrapper: &[String]) -> (Child, String, AwBase) {
    let bin = env!("CARGO_BIN_EXE_openclone");
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.arg("serve").args(["--listen", "127.0.0.1:0"]);
    if !config.is_some_and(chooses_activitywatch_address) {
        cmd.args(["--activitywatch-listen", "127.0.0.1:0"]);
    }
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let mut child = cmd
        .current_dir(dir)
        .env("API_KEY", KEY)
        .env_remove("OPENCLONE_DATA")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(log_file(dir))
        .spawn()
        .expect("openclone starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let aw = Arc::new(Mutex::new(None));
    let note_aw = |line: &str, aw: &AwBase| {
        if let Some(url) = line.strip_prefix("openclone: activitywatch listening on ") {
            *aw.lock().expect("lock") = Some(url.to_owned());
        }
    };
    // The two listeners print in either order.
    let base = loop {
        let Some(line) = lines.next() else {
            let log = std::fs::read_to_string(dir.join("host.log")).unwrap_or_default();
            let tail: String = log
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            panic!("the host exited before printing its address; the end of host.log:\n{tail}");
        };
        let line = line.expect("utf-8 line");
        note_aw(&line, &aw);
        if let Some(url) = line.strip_prefix("openclone: listening on ") {
            break url.to_owned();
        }
    };
    let seen = aw.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            note_aw(&line, &seen);
        }
    });
    (child, base, aw)
}

/// Whether the config at `path` sets `[activitywatch] listen` itself; otherwise every test
/// host's ActivityWatch API takes a free port (not 5600, which the user's own may hold).
fn chooses_activitywatch_address(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| t.get("activitywatch")?.get("listen").cloned())
        .is_some()
}

/// The host's log (stderr) goes to `host.log` in its folder, appended across restarts.
fn log_file(dir: &Path) -> Stdio {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("host.log"))
        .map_or_else(|_| Stdio::inherit(), Stdio::from)
}

fn reply(mut resp: http::Response<ureq::Body>) -> Reply {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        retry_after,
        json,
    }
}

/// Unix seconds now.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// The OpenClone page's quick-start batch.
pub fn quick_start() -> Value {
    json!({
        "source_type": "braindump", "platform": "macos",
        "device_id": "test-001", "plugin_id": "my-plugin",
        "plugin_version": "1.0.0", "timestamp": 1708258800.0,
        "events": [{"timestamp":1708258800.0,"data":{"text":"Hello!"},"raw_ref":"e1"}]
    })
}

/// `METHOD url` with `headers` and a JSON `body`: (status, JSON answer).
pub fn call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .header("Content-Type", "application/json")
        .body(body.map(Value::to_string).unwrap_or_default())
        .expect("request");
    let mut resp = agent().run(req).expect("answered");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The `hits` of a search answer.
pub fn hits(v: &Value) -> &Vec<Value> {
    v["hits"].as_array().expect("hits")
}

/// The quick-start batch holding one braindump note `text` at Unix second `ts`.
pub fn note(ts: f64, text: &str, raw_ref: &str) -> Value {
    let mut b = quick_start();
    b["timestamp"] = json!(ts);
    b["events"] = json!([{ "timestamp": ts, "data": { "text": text }, "raw_ref": raw_ref }]);
    b
}

/// A valid batch of `source_type` with `events`.
pub fn batch(source_type: &str, events: Vec<Value>) -> Value {
    json!({
        "source_type": source_type, "platform": "linux",
        "device_id": "550e8400-e29b-41d4-a716-446655440000", "plugin_id": "test-plugin",
        "plugin_version": "1.0.0", "timestamp": 1708258800.0,
        "events": events,
    })
}

/// Every `.md` file under `root`, with its vault-relative path.
pub fn vault_files(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(folders) = std::fs::read_dir(root) else {
        return out;
    };
    for folder in folders.flatten() {
        let Ok(files) = std::fs::read_dir(folder.path()) else {
            continue;
        };
        for f in files.flatten() {
            if f.path().extension().is_some_and(|e| e == "md") {
                let rel = format!(
                    "{}/{}",
                    folder.file_name().to_string_lossy(),
                    f.file_name().to_string_lossy()
                );
                out.push((
                    rel,
                    std::fs::read_to_string(f.path()).expect("read vault file"),
                ));
            }
        }
    }
    out.sort();
    out
}

/// The structure of a Markdown file as pulldown-cmark sees it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Structure {
    pub front_matter: usize,
    pub h1: usize,
    pub h2: usize,
    pub other_headings: usize,
    pub html_blocks: Vec<String>,
    pub inline_html: usize,
    pub code_blocks: usize,
    pub math_or_rules: usize,
}

/// Parses `text` with pulldown-cmark (YAML front matter on) and counts its structure.
pub fn structure(text: &str) -> Structure {
    use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag};
    let mut s = Structure::default();
    let mut in_html = false;
    let mut html = String::new();
    for ev in Parser::new_ext(text, Options::ENABLE_YAML_STYLE_METADATA_BLOCKS) {
        match ev {
            Event::Start(Tag::MetadataBlock(_)) => s.front_matter += 1,
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                ..
            }) => s.h1 += 1,
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2,
                ..
            }) => s.h2 += 1,
            Event::Start(Tag::Heading { .. }) => s.other_headings += 1,
            Event::Start(Tag::HtmlBlock) => {
                in_html = true;
                html.clear();
            }
            Event::Html(h) if in_html => html.push_str(&h),
            Event::End(pulldown_cmark::TagEnd::HtmlBlock) => {
                in_html = false;
                s.html_blocks.push(html.trim().to_owned());
            }
            Event::Html(_) | Event::InlineHtml(_) => s.inline_html += 1,
            Event::Start(Tag::CodeBlock(_)) => s.code_blocks += 1,
            Event::Rule => s.math_or_rules += 1,
            _ => {}
        }
    }
    s
}

/// The dedup keys in a file's entry markers, in order.
pub fn marker_keys(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("<!-- openclone:entry "))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|t| t.strip_prefix("key="))
                .map(str::to_owned)
        })
        .collect()
}

/// The python of a virtualenv with `tests/<name>/requirements.txt` installed from PyPI,
/// made once in `target/venvs/<name>` (and again when the requirements change).
pub fn venv_python(name: &str) -> PathBuf {
    static MADE: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut made = MADE.lock().unwrap_or_else(|p| p.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = root.join("target/venvs").join(name);
    if !made.iter().any(|m| m == name) {
        let requirements = root.join("tests").join(name).join("requirements.txt");
        let stamp = venv.join("requirements.txt");
        let wanted = std::fs::read_to_string(&requirements).expect("requirements");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
            let _ = std::fs::remove_dir_all(&venv);
            let ok = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "python3 -m venv works");
            let ok = Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(&requirements)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "pip installs tests/{name}/requirements.txt from PyPI");
            std::fs::write(&stamp, wanted).expect("stamp");
        }
        made.push(name.to_owned());
    }
    venv.join("bin/python")
}
