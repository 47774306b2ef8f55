//! Power cuts, not kills: the host's data folder on LazyFS (`tools/lazyfs`, MIT), a FUSE
//! file system that keeps its own page cache and loses every byte not fsynced when it dies.
//! A crash point is a LazyFS fault (`lazyfs::crash::timing=…::op=…::from_rgx=…`: at that
//! operation on a matching path LazyFS drops its unsynced data and kills itself), or a kill
//! of LazyFS at a random moment; the host is SIGKILLed right after. Then LazyFS is mounted
//! again on the same backing folder, the host restarted, and checked: every acknowledged
//! batch is in the vault exactly once, no entry is torn, the person's own text is
//! byte-for-byte what it was, the device id and key hash are unchanged. Torn writes
//! (`torn-op`, `torn-seq`) of the daily file and the append journal are injected too.
//! LazyFS cannot drop metadata (creates and renames reach the disk at once), so
//! [`every_create_and_rename_is_followed_by_a_directory_fsync`] checks those with strace.
//!
//! Needs `/dev/fuse`, `fusermount3` and LazyFS's build packages (`.ci/run` installs them:
//! `apt-get install -y cmake g++ fuse3 libfuse3-dev libspdlog-dev libtoml11-dev strace`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng as _;
use serde_json::json;

use crate::crash::{Id, load_until};
use crate::durability::{batch_keys, load_batch, markers_in};
use sha2::Digest as _;

use crate::support::{Host, UNLIMITED, openclone, wait_for};

/// The LazyFS binary, built once per test run from `tools/lazyfs` into `target/lazyfs`.
fn lazyfs_binary() -> &'static Path {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = root.join("target/lazyfs");
        let bin = out.join("lazyfs/lazyfs");
        if !bin.exists() {
            let status = Command::new("sh")
                .arg(root.join("tools/lazyfs/build.sh"))
                .arg(&out)
                .env("JOBS", "2")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("sh runs");
            assert!(
                status.success(),
                "building LazyFS failed: it needs apt-get install -y cmake g++ fuse3 libfuse3-dev libspdlog-dev libtoml11-dev"
            );
        }
        bin
    })
}

/// One LazyFS mount: `mnt` shows `root` through LazyFS's cache.
struct LazyFs {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl LazyFs {
    /// A new backing folder, mounted.
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["root", "mnt"] {
            std::fs::create_dir(dir.path().join(d)).expect("mkdir");
        }
        std::fs::write(
            dir.path().join("lazyfs.toml"),
            format!(
                "[faults]\nfifo_path=\"{}\"\n[cache]\napply_eviction=false\n[cache.simple]\ncustom_size=\"256mb\"\nblocks_per_page=1\n[filesystem]\nlog_all_operations=false\nlogfile=\"\"\n",
                dir.path().join("faults.fifo").display()
            ),
        )
        .expect("config");
        let mut fs = Self { dir, child: None };
        fs.mount();
        fs
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn mnt(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }

    fn mounted(&self) -> bool {
        let mnt = self.mnt().display().to_string();
        std::fs::read_to_string("/proc/mounts")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(mnt.as_str()))
    }

    fn mount(&mut self) {
        let child = Command::new(lazyfs_binary())
            .arg(self.mnt())
            .args(["--config-path", "lazyfs.toml", "-o", "allow_other", "-o"])
            .arg("modules=subdir")
            .arg("-o")
            .arg(format!("subdir={}", self.root().display()))
            .arg("-f")
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("lazyfs starts");
        self.child = Some(child);
        assert!(wait_for(20, || self.mounted()), "LazyFS mounted");
    }

    /// Whether LazyFS is still running (a crash fault kills it).
    fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Sends one fault command.
    fn fault(&self, command: &str) {
        use std::io::Write as _;
        let mut fifo = std::fs::OpenOptions::new()
            .write(true)
            .open(self.dir.path().join("faults.fifo"))
            .expect("fault fifo");
        fifo.write_all(format!("{command}\n").as_bytes())
            .expect("fault sent");
    }

    /// The power cut: LazyFS dies with its unsynced data (as its `crash` faults do).
    fn cut(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// After a cut: unmounts what is left and mounts the backing folder again.
    fn remount(&mut self) {
        self.cut();
        let _ = Command::new("fusermount3")
            .args(["-u", "-z"])
            .arg(self.mnt())
            .status();
        assert!(wait_for(10, || !self.mounted()), "LazyFS unmounted");
        self.mount();
    }
}

impl Drop for LazyFs {
    fn drop(&mut self) {
        self.cut();
        let _ = Command::new("fusermount3")
            .args(["-u", "-z"])
            .arg(self.mnt())
            .status();
    }
}

/// The crash points: (timing, operation, path pattern). Each fires at the first matching
/// operation after it is armed, at a random moment of a load of HTTP batches (with
/// resends), ActivityWatch heartbeats and a plugin's passes.
const CRASH_POINTS: &[(&str, &str, &str)] = &[
    ("before", "write", r".*/vaults/.*\.md"),
    ("after", "write", r".*/vaults/.*\.md"),
    ("before", "fsync", r".*/vaults/.*\.md"),
    ("after", "fsync", r".*/vaults/.*\.md"),
    ("before", "create", r".*/vaults/.*\.md"),
    ("after", "create", r".*/vaults/.*\.md"),
    ("before", "write", r".*appends\.journal"),
    ("after", "write", r".*appends\.journal"),
    ("before", "fsync", r".*appends\.journal"),
    ("after", "fsync", r".*appends\.journal"),
    ("before", "write", r".*/index/log-.*"),
    ("after", "write", r".*/index/log-.*"),
    ("before", "write", r".*/index/run-.*"),
    ("after", "fsync", r".*/index/run-.*"),
    ("before", "rename", r".*/index/.*manifest.*"),
    ("after", "rename", r".*/index/.*manifest.*"),
    ("before", "write", r".*activitywatch\.sqlite-wal"),
    ("after", "write", r".*activitywatch\.sqlite-wal"),
    ("before", "fsync", r".*activitywatch\.sqlite-wal"),
    ("after", "fsync", r".*activitywatch\.sqlite-wal"),
    ("before", "write", r".*plugin-state\.sqlite-wal"),
    ("after", "write", r".*plugin-state\.sqlite-wal"),
    ("before", "rename", r".*last-passes\.json.*"),
    ("after", "rename", r".*last-passes\.json.*"),
];

/// Random cuts in CI; `OPENCLONE_POWERLOSS_RANDOM` sets more.
fn random_cuts() -> usize {
    std::env::var("OPENCLONE_POWERLOSS_RANDOM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

/// The person's own text: a note at the vault's root and a paragraph they wrote at the end
/// of a daily file the host writes into.
const MINE: &str = "# My own note\n\nWritten by me, synced by me. Nothing may change it.\n";
const MINE_IN_DAILY: &str = "\nMy own words under the host's entries: keep them.\n";

/// A host on `fs` for the cycles: lifted rate limit, the ActivityWatch API, the braindump
/// inbox plugin reading `inbox/inbox.md` every second (its cursor is plugin state).
fn host_on(fs: &LazyFs) -> Host {
    let data = fs.mnt().join("data");
    Host::prepared(
        &format!(
            "data_dir = {:?}\n{UNLIMITED}\n[activitywatch]\nsession_grace_s = 0\nsession_max_s = 1\n\n[plugins.braindump-inbox]\npaths = [\"inbox\"]\ninterval_s = 1\n",
            data.display().to_string()
        ),
        |dir| {
            crate::support::install_plugin(&dir.join("plugins"), "braindump-inbox");
            std::fs::create_dir_all(dir.join("inbox")).expect("inbox");
            std::fs::write(dir.join("inbox/inbox.md"), "- a first thought\n").expect("inbox");
        },
    )
}

/// Heartbeats to the ActivityWatch API until `stop`; returns nothing (their sessions are
/// checked for duplicates only, as the vault's dedup makes them exactly once).
fn heartbeats(aw: String, stop: Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let _ = post_json(
            &agent,
            &format!("{aw}/api/0/buckets/aw-watcher-window_box"),
            &json!({"client": "aw-watcher-window", "type": "currentwindow", "hostname": "box"}),
        );
        let t0 = crate::support::now() - 3600.0;
        let mut n = 0u32;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let at = jiff::Timestamp::from_second(t0 as i64 + i64::from(n)).expect("time");
            let hb = json!({"timestamp": at.to_string(), "duration": 0,
                "data": {"app": "Editor", "title": format!("file {}.md", n / 3)}});
            if !post_json(
                &agent,
                &format!("{aw}/api/0/buckets/aw-watcher-window_box/heartbeat?pulsetime=2"),
                &hb,
            ) {
                break;
            }
            n += 1;
        }
    })
}

/// POSTs `v` as JSON to `url`; whether the answer was a 2xx.
fn post_json(agent: &ureq::Agent, url: &str, v: &serde_json::Value) -> bool {
    agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(v.to_string().as_bytes())
        .is_ok_and(|r| r.status().is_success())
}

/// GETs `url` and reads its JSON answer.
fn get_json(url: &str) -> serde_json::Value {
    let mut r = crate::support::agent().get(url).call().expect("answered");
    serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json")
}

/// The state to compare across cuts: the device id and the key hash.
fn identity(fs: &LazyFs) -> (String, String) {
    let read =
        |rel: &str| std::fs::read_to_string(fs.mnt().join("data").join(rel)).unwrap_or_default();
    (read("device-id"), read("keys/default.sha256"))
}

/// Writes the person's own text ([`MINE`], [`MINE_IN_DAILY`]) into the vault on `fs`, and
/// syncs it as a careful editor does: a note at the vault's root, a paragraph at the end of
/// the daily file the first batch made.
fn write_mine(fs: &LazyFs) {
    use std::io::Write as _;
    let vault = fs.mnt().join("data/vaults/default");
    let daily = vault.join("Braindump/2024-02-18.md");
    assert!(daily.exists(), "the first batch's daily file");
    std::fs::write(vault.join("mine.md"), MINE).expect("my note");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&daily)
        .expect("daily file");
    f.write_all(MINE_IN_DAILY.as_bytes()).expect("my words");
    f.sync_all().expect("synced");
    for synced in [vault.join("mine.md"), vault.clone()] {
        std::fs::File::open(synced)
            .and_then(|f| f.sync_all())
            .expect("synced");
    }
}

/// What each cycle checks after the restart.
fn check(fs: &LazyFs, acked: &HashSet<Id>, before: &(String, String), what: &str) {
    let counts = markers_in(&fs.mnt().join("data/vaults/default"));
    for &(c, n) in acked {
        for k in batch_keys(c, n) {
            assert_eq!(
                counts.get(&k),
                Some(&1),
                "{what}: acknowledged batch c{c}-b{n} is in the vault exactly once"
            );
        }
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{what}: stored twice: {twice:?}");
    let vault = fs.mnt().join("data/vaults/default");
    assert_eq!(
        std::fs::read_to_string(vault.join("mine.md")).expect("my note"),
        MINE,
        "{what}: the person's note"
    );
    let daily = std::fs::read_to_string(vault.join("Braindump/2024-02-18.md")).unwrap_or_default();
    assert!(
        daily.contains(MINE_IN_DAILY),
        "{what}: the person's paragraph in a daily file"
    );
    assert_eq!(
        &identity(fs),
        before,
        "{what}: device id and key hash unchanged"
    );
}

#[test]
fn power_cuts_at_every_write_point_lose_nothing_acknowledged() {
    let mut fs = LazyFs::new();
    let mut host = host_on(&fs);
    let first = host.post(&load_batch(999, 0));
    assert_eq!(first.status, 200, "{}", first.json);
    write_mine(&fs);
    let before = identity(&fs);
    assert!(before.0.len() == 36, "a device id: {before:?}");
    let (mut attempted, mut acked): (Vec<Id>, HashSet<Id>) = (Vec::new(), HashSet::new());
    acked.insert((999, 0));
    let (mut fired, mut random) = (Vec::new(), 0);
    let plan: Vec<Option<(&str, &str, &str)>> = CRASH_POINTS
        .iter()
        .copied()
        .map(Some)
        .chain((0..random_cuts()).map(|_| None))
        .collect();
    for (number, point) in plan.into_iter().enumerate() {
        {
            use std::io::Write as _;
            let mut inbox = std::fs::OpenOptions::new()
                .append(true)
                .open(host.dir.path().join("inbox/inbox.md"))
                .expect("inbox");
            writeln!(inbox, "- a thought of cycle {number}").expect("thought");
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let aw = heartbeats(host.aw_base(), stop.clone());
        let earlier = Arc::new(attempted.clone());
        let (tried, ok) = load_until(&mut host, number, &earlier, true, |host| {
            std::thread::sleep(Duration::from_millis(rand::rng().random_range(50..400)));
            match point {
                Some((timing, op, rgx)) => {
                    fs.fault(&format!(
                        "lazyfs::crash::timing={timing}::op={op}::from_rgx={rgx}"
                    ));
                    let started = Instant::now();
                    while fs.alive() && started.elapsed() < Duration::from_secs(5) {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    if fs.alive() {
                        fs.cut();
                    } else {
                        fired.push(format!("{timing} {op} {rgx}"));
                    }
                }
                None => {
                    random += 1;
                    fs.cut();
                }
            }
            host.kill9();
        });
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = aw.join();
        attempted.extend(tried);
        acked.extend(ok);
        fs.remount();
        host.restart();
        check(&fs, &acked, &before, &format!("cut {number} ({point:?})"));
    }
    let unique: HashSet<Id> = attempted.iter().copied().collect();
    for &(c, n) in &unique {
        let r = host.post(&load_batch(c, n));
        assert_eq!(r.status, 200, "{}", r.json);
    }
    check(&fs, &acked, &before, "after resending everything");
    let counts = markers_in(&fs.mnt().join("data/vaults/default"));
    let expected: HashSet<String> = unique.iter().flat_map(|&(c, n)| batch_keys(c, n)).collect();
    let missing = expected.iter().filter(|k| !counts.contains_key(*k)).count();
    println!(
        "power-loss test: {} crash points armed, {} fired ({fired:?}), {random} random cuts; {} batches sent ({} unique, {} acknowledged): 0 lost, 0 duplicated, 0 torn, {missing} missing after resend, user bytes unchanged",
        CRASH_POINTS.len(),
        fired.len(),
        attempted.len(),
        unique.len(),
        acked.len()
    );
    assert_eq!(missing, 0, "every batch is in the vault after a resend");
    let on_the_acknowledgement_path: Vec<String> = CRASH_POINTS
        .iter()
        .filter(|(_, _, rgx)| rgx.contains("vaults") || rgx.contains("appends"))
        .map(|(timing, op, rgx)| format!("{timing} {op} {rgx}"))
        .collect();
    let missed: Vec<&String> = on_the_acknowledgement_path
        .iter()
        .filter(|p| !fired.contains(p))
        .collect();
    assert!(
        missed.is_empty(),
        "every crash point of the daily files and the append journal was reached; missed: {missed:?}"
    );
    assert!(
        fired.len() * 2 >= CRASH_POINTS.len(),
        "at least half of all crash points were reached: {fired:?}"
    );
}

/// How a daily file's unfinished append is left torn on the backing store.
#[derive(Debug, Clone, Copy)]
enum Tear {
    /// The first third of its bytes reached the disk (LazyFS `torn-op`, `persist=1` of 3).
    FirstThird,
    /// The first and last thirds reached the disk, a hole between (`persist=1,3` of 3).
    Ends,
}

/// The append journal's records (`<offset> <length> <sha256> <path>`; CONTRACT.md, the
/// vault) on the backing store.
fn journal_records(root: &Path) -> Vec<(u64, u64, String)> {
    let text = std::fs::read_to_string(root.join("data/state/default/appends.journal"))
        .unwrap_or_default();
    let mut lines = text.lines();
    let len: usize = lines
        .next()
        .and_then(|h| h.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let body = text.split_once('\n').map_or("", |(_, b)| b);
    body.get(..len)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(4, ' ').collect();
            Some((
                f.first()?.parse().ok()?,
                f.get(1)?.parse().ok()?,
                (*f.get(3)?).to_owned(),
            ))
        })
        .collect()
}

/// Tears every append the journal names on the backing store as `tear` does; how many.
/// LazyFS's own `torn-op` did not fire on the host's appends here (only on the journal's
/// writes at offset 0), and `torn-seq` needs two writes to a file between fsyncs, which the
/// host never makes to a daily file; so this shapes the same on-disk states by hand, after
/// LazyFS died with the append unsynced. The bytes that "reached the disk" are not the
/// append's own: recovery must not trust them either way.
fn tear(root: &Path, tear: Tear) -> usize {
    use std::os::unix::fs::FileExt as _;
    let vault = root.join("data/vaults/default");
    let mut torn = 0;
    for (offset, len, path) in journal_records(root) {
        let Ok(file) = std::fs::OpenOptions::new()
            .write(true)
            .open(vault.join(&path))
        else {
            continue;
        };
        if file.metadata().map_or(true, |m| m.len() != offset) || len < 3 {
            continue;
        }
        let third = len / 3;
        let junk = vec![b'#'; third as usize];
        file.write_all_at(&junk, offset).expect("first third");
        if let Tear::Ends = tear {
            file.write_all_at(&junk, offset + len - third)
                .expect("last third");
        }
        file.sync_all().expect("synced");
        torn += 1;
    }
    torn
}

#[test]
fn torn_writes_of_the_daily_file_and_the_journal_are_cut_back() {
    let mut fs = LazyFs::new();
    let mut host = host_on(&fs);
    let first = host.post(&load_batch(999, 0));
    assert_eq!(first.status, 200, "{}", first.json);
    let before = identity(&fs);
    write_mine(&fs);
    let journal = fs.root().join("data/state/default/appends.journal");
    let on_journal = [
        format!(
            "lazyfs::torn-op::file={}::parts=2::persist=1::occurrence=1",
            journal.display()
        ),
        format!(
            "lazyfs::torn-seq::op=write::file={}::persist=2::occurrence=1",
            journal.display()
        ),
    ];
    let daily_fault = r"lazyfs::crash::timing=before::op=fsync::from_rgx=.*/vaults/.*\.md";
    let plan: Vec<(String, Option<Tear>)> = on_journal
        .iter()
        .map(|f| (f.clone(), None))
        .chain([Tear::FirstThird, Tear::Ends].map(|t| (daily_fault.to_owned(), Some(t))))
        .collect();
    let mut acked: HashSet<Id> = HashSet::from([(999, 0)]);
    let (mut injected, mut daily_torn) = (0, 0);
    for (i, (fault, how)) in plan.iter().enumerate() {
        fs.fault(fault);
        let (_, ok) = load_until(&mut host, 100 + i, &Arc::new(Vec::new()), true, |host| {
            let started = Instant::now();
            while fs.alive() && started.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(5));
            }
            if !fs.alive() {
                injected += 1;
            }
            fs.cut();
            host.kill9();
        });
        acked.extend(ok);
        if let Some(t) = how {
            daily_torn += tear(&fs.root(), *t);
        }
        fs.remount();
        host.restart();
        check(&fs, &acked, &before, &format!("torn write {fault} {how:?}"));
    }
    println!(
        "power-loss test: {injected} of {} torn writes injected ({daily_torn} daily-file appends torn), every one recovered",
        plan.len()
    );
    assert_eq!(injected, plan.len(), "every fault fired");
    assert!(
        daily_torn >= 2,
        "daily-file appends were torn: {daily_torn}"
    );
}

#[test]
fn a_power_cut_right_after_setup_keeps_the_key_the_device_id_and_the_config() {
    let mut fs = LazyFs::new();
    let home = fs.mnt().join("home");
    let (ok, out, err) = openclone(&fs.mnt(), &["init", "home", "--tls"]);
    assert!(ok, "{out}{err}");
    let key = out
        .lines()
        .skip_while(|l| !l.starts_with("Your API key"))
        .find_map(|l| l.strip_prefix("    "))
        .expect("init printed the key")
        .to_owned();
    let hash_of_key = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    crate::support::install_plugin(&home.join("plugins"), "shell-history");
    let (ok, out, err) = openclone(&home, &["plugins", "enable", "shell-history", "--yes"]);
    assert!(ok, "{out}{err}");
    let config = std::fs::read_to_string(home.join("openclone.toml")).expect("config");
    let cert = std::fs::read_to_string(home.join("data/tls/cert.pem")).expect("certificate");
    let data = fs.mnt().join("data");
    let mut host = Host::prepared(
        &format!(
            "data_dir = {:?}\n\n[[tenants]]\nid = \"default\"\n",
            data.display().to_string()
        ),
        |_| {},
    );
    let device_before = get_json(&format!("{}/api/0/info", host.aw_base()))["device_id"].clone();
    assert!(device_before.is_string(), "{device_before}");
    let hash = std::fs::read_to_string(data.join("keys/default.sha256")).expect("key hash");
    fs.cut();
    host.kill9();
    fs.remount();
    let config_after =
        std::fs::read_to_string(home.join("openclone.toml")).expect("config after the cut");
    assert_eq!(
        config_after, config,
        "the config `init` and `plugins enable` wrote"
    );
    assert!(
        config_after.contains(&hash_of_key),
        "the printed key is the configured one"
    );
    assert_eq!(
        std::fs::read_to_string(home.join("data/tls/cert.pem")).expect("certificate"),
        cert
    );
    assert_eq!(
        std::fs::read_to_string(data.join("keys/default.sha256")).expect("key hash"),
        hash,
        "the generated key's hash"
    );
    host.restart();
    let info = get_json(&format!("{}/api/0/info", host.aw_base()));
    assert_eq!(info["device_id"], device_before, "the device id is stable");
}

/// One system call of an strace log (`strace -f -y`), with the paths strace resolved.
#[derive(Debug)]
enum Call {
    /// A file or folder `path` was created (`openat` with `O_CREAT`, `mkdir`).
    Created(PathBuf),
    /// Something was renamed to `path`.
    Renamed(PathBuf),
    /// The folder or file `path` was fsynced.
    Synced(PathBuf),
}

/// The calls of an strace log, in order; `cwd` resolves relative paths.
fn calls(log: &str, cwd: &Path) -> Vec<Call> {
    let mut pending = std::collections::HashMap::new();
    let mut out = Vec::new();
    let abs = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        }
    };
    let quoted =
        |s: &str| -> Vec<String> { s.split('"').skip(1).step_by(2).map(str::to_owned).collect() };
    let fd_path = |s: &str| -> Option<PathBuf> {
        let start = s.rfind("= ")?;
        let rest = &s[start..];
        let open = rest.find('<')?;
        let close = rest.rfind('>')?;
        Some(PathBuf::from(&rest[open + 1..close]))
    };
    for raw in log.lines() {
        let (pid, body) = raw.split_once(' ').unwrap_or(("", raw));
        let line = if let Some(head) = body.strip_suffix(" <unfinished ...>") {
            pending.insert(pid.to_owned(), head.to_owned());
            continue;
        } else if let Some(i) = body.find(" resumed>") {
            let head = pending.remove(pid).unwrap_or_default();
            format!("{head}{}", &body[i + " resumed>".len()..])
        } else {
            body.to_owned()
        };
        let line = line.trim_start();
        let ok = !line.contains("= -1");
        if !ok {
            continue;
        }
        if line.starts_with("openat(") && line.contains("O_CREAT") {
            if let Some(p) = fd_path(line) {
                out.push(Call::Created(p));
            }
        } else if line.starts_with("mkdir") {
            if let Some(p) = quoted(line).first() {
                let base = line
                    .split_once('<')
                    .filter(|_| line.starts_with("mkdirat(") && !p.starts_with('/'))
                    .and_then(|(_, r)| r.split_once('>'))
                    .map(|(d, _)| PathBuf::from(d))
                    .unwrap_or_else(|| cwd.to_path_buf());
                out.push(Call::Created(base.join(p)));
            }
        } else if line.starts_with("rename") {
            if let Some(p) = quoted(line).last() {
                out.push(Call::Renamed(abs(p)));
            }
        } else if (line.starts_with("fsync(") || line.starts_with("fdatasync("))
            && let Some(open) = line.find('<')
            && let Some(close) = line[open..].find('>')
        {
            out.push(Call::Synced(PathBuf::from(&line[open + 1..open + close])));
        }
    }
    out
}

/// The names in `calls` under `within` that were created or renamed into a folder that was
/// not fsynced after, except `exempt` ones.
fn unsynced_names(calls: &[Call], within: &Path, exempt: &dyn Fn(&Path) -> bool) -> Vec<String> {
    let mut bad = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        let (Call::Created(p) | Call::Renamed(p)) = c else {
            continue;
        };
        if !p.starts_with(within) || exempt(p) {
            continue;
        }
        let dir = p.parent().unwrap_or(within);
        let synced = calls[i + 1..]
            .iter()
            .any(|later| matches!(later, Call::Synced(d) if d == dir));
        if !synced {
            bad.push(format!("{c:?}"));
        }
    }
    bad.sort();
    bad.dedup();
    bad
}

/// Files whose names need not survive a power cut, and why: the lock (recreated at every
/// start), SQLite's `-shm` (shared memory, rebuilt from the WAL) and `-journal` (a rollback
/// journal SQLite deletes again when it switches a new database to WAL), the dedup index's logs and
/// the temporary files renamed over their targets (whose folder is synced after the
/// rename). The index's logs are a cache the host rebuilds from the vault at start.
fn not_durable(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name == "openclone.lock"
        || name.ends_with("-shm")
        || name.ends_with("-journal")
        || (name.starts_with("log-") && name.ends_with(".keys"))
        || name.contains(".tmp")
        || name.starts_with(".tmp")
}

/// The system calls strace checks: creates, renames and syncs.
const TRACED: &str = "trace=openat,mkdir,mkdirat,rename,renameat,renameat2,fsync,fdatasync";

/// Runs `openclone ARGS` in `cwd` under strace, logging to `log`; its calls.
fn traced(log: &Path, cwd: &Path, args: &[&str]) -> Vec<Call> {
    let status = Command::new("strace")
        .args(["-f", "-y", "-qq", "-o"])
        .arg(log)
        .args(["-e", TRACED])
        .arg(env!("CARGO_BIN_EXE_openclone"))
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::null())
        .status()
        .expect("strace runs");
    assert!(status.success(), "openclone {args:?}");
    calls(&std::fs::read_to_string(log).expect("strace log"), cwd)
}

#[test]
fn every_create_and_rename_is_followed_by_a_directory_fsync() {
    let trace = tempfile::tempdir().expect("tempdir");
    let log = trace.path().join("serve.strace");
    let log_arg = log.display().to_string();
    let strace = [
        "strace",
        "-f",
        "-y",
        "-qq",
        "-o",
        log_arg.as_str(),
        "-e",
        TRACED,
    ];
    let mut host = Host::wrapped(
        &format!(
            "{UNLIMITED}\n[[tenants]]\nid = \"default\"\n\n[plugins.notes-markdown]\npaths = [\"notes\"]\ninterval_s = 1\n"
        ),
        |dir| {
            crate::support::install_plugin(&dir.join("plugins"), "notes-markdown");
            std::fs::create_dir_all(dir.join("notes")).expect("notes");
            std::fs::write(dir.join("notes/a.md"), "# A\n\nA note.\n").expect("note");
        },
        &strace,
    );
    let dir = host.dir.path().to_path_buf();
    let (key, _) = (
        std::fs::read_to_string(dir.join("data/keys/default.sha256")),
        (),
    );
    assert!(key.is_ok(), "the generated key's hash");
    let aw = host.aw_base();
    let agent = crate::support::agent();
    assert!(post_json(
        &agent,
        &format!("{aw}/api/0/buckets/w_box"),
        &json!({"client": "aw-watcher-window", "type": "currentwindow", "hostname": "box"}),
    ));
    assert!(post_json(
        &agent,
        &format!("{aw}/api/0/buckets/w_box/heartbeat?pulsetime=2"),
        &json!({"timestamp": "2025-03-01T10:00:00Z", "duration": 1, "data": {"app": "A"}}),
    ));
    assert!(
        wait_for(30, || dir
            .join("data/state/default/last-passes.json")
            .exists()),
        "the plugin ran a pass\n{}",
        host.log()
    );
    let tracee = Command::new("pgrep")
        .arg("-P")
        .arg(host.pid().to_string())
        .output()
        .expect("pgrep runs");
    let tracee = String::from_utf8_lossy(&tracee.stdout).trim().to_owned();
    assert!(!tracee.is_empty(), "the host runs under strace");
    let _ = Command::new("kill").args(["-TERM", &tracee]).status();
    assert!(host.wait_exit(), "clean exit\n{}", host.log());
    let serve = calls(&std::fs::read_to_string(&log).expect("strace log"), &dir);
    assert!(
        serve
            .iter()
            .filter(|c| matches!(c, Call::Synced(_)))
            .count()
            > 10,
        "strace saw the host's fsyncs: {serve:?}"
    );
    let bad = unsynced_names(&serve, &dir.join("data"), &not_durable);
    assert!(
        bad.is_empty(),
        "names not made durable by a folder fsync: {bad:#?}"
    );

    let edit = traced(
        &trace.path().join("enable.strace"),
        &dir,
        &["plugins", "disable", "notes-markdown"],
    );
    assert!(
        edit.iter()
            .any(|c| matches!(c, Call::Renamed(p) if p.ends_with("openclone.toml"))),
        "the config was replaced: {edit:?}"
    );
    let bad = unsynced_names(&edit, &dir, &not_durable);
    assert!(
        bad.is_empty(),
        "`plugins disable` left names unsynced: {bad:#?}"
    );
    let init = traced(
        &trace.path().join("init.strace"),
        trace.path(),
        &["init", "fresh", "--tls"],
    );
    let bad = unsynced_names(&init, &trace.path().join("fresh"), &not_durable);
    assert!(bad.is_empty(), "`init` left names unsynced: {bad:#?}");
}

/// Where a forget is cut: the forget journal's rename (its tombstones not yet written), the
/// first daily file's rewrite before and after its rename, the second's before. (A torn
/// tombstone append is `vault/tests/forget.rs`'s.)
/// LazyFS 0.2's rename faults check `from_rgx` only when it matches the word `none` (a
/// swapped test in `trigger_crash_fault`), so a rename is chosen by `to_rgx` here, with a
/// `from_rgx` that does not match `none`.
const FORGET_POINTS: &[(&str, &str, &str)] = &[
    (
        "after",
        "rename",
        r"from_rgx=.*tmp-.*::to_rgx=forget\.journal",
    ),
    (
        "before",
        "rename",
        r"from_rgx=.*tmp-.*::to_rgx=Braindump/2024-02-19\.md",
    ),
    (
        "after",
        "rename",
        r"from_rgx=.*tmp-.*::to_rgx=Braindump/2024-02-19\.md",
    ),
    (
        "before",
        "rename",
        r"from_rgx=.*tmp-.*::to_rgx=Braindump/2024-02-20\.md",
    ),
];

/// Three days of notes (2024-02-19 to 21, 09:00 to 18:00), and the person's paragraph in
/// the first day's file.
fn forget_setup(host: &Host, vault: &Path) {
    for day in 0..3 {
        for hour in 9..18 {
            let ts = 1_708_329_600.0 + f64::from(day) * 86400.0 + f64::from(hour) * 3600.0;
            let r = host.post(&crate::support::note(
                ts,
                &format!("note {day}-{hour}"),
                &format!("{day}-{hour}"),
            ));
            assert_eq!(r.status, 200, "{}", r.json);
        }
    }
    let daily = vault.join("Braindump/2024-02-19.md");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&daily)
        .expect("daily file");
    // Saved by an editor that syncs, so a power cut cannot take it.
    use std::io::Write as _;
    file.write_all(MINE_IN_DAILY.as_bytes())
        .and_then(|()| file.sync_all())
        .expect("own text");
}

/// The daily files under a vault, by path.
fn daily_files(vault: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    crate::support::vault_files(vault)
        .into_iter()
        .map(|(rel, _)| {
            let bytes = std::fs::read(vault.join(&rel)).expect("file");
            (rel, bytes)
        })
        .collect()
}

const FORGET_ARGS: &[&str] = &[
    "forget",
    "--config",
    "openclone.toml",
    "--yes",
    "--from",
    "2024-02-19T12:00:00Z",
    "--to",
    "2024-02-20T15:00:00Z",
];

#[test]
fn a_power_cut_in_a_forget_leaves_each_file_before_or_after_and_the_next_start_finishes_it() {
    // What the files are before and after a forget that is not cut, on an ordinary folder.
    let reference = Host::with_config(
        "[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\ntimezone = \"UTC\"\n",
    );
    forget_setup(&reference, &reference.vault("default"));
    let before = daily_files(&reference.vault("default"));
    let (ok, out, err) = openclone(reference.dir.path(), FORGET_ARGS);
    assert!(ok, "{out}{err}");
    let after = daily_files(&reference.vault("default"));
    assert_ne!(before, after);
    let mut fired = Vec::new();
    for &(timing, op, rgx) in FORGET_POINTS {
        let mut fs = LazyFs::new();
        let data = fs.mnt().join("data");
        let mut host = Host::prepared(
            &format!(
                "data_dir = {:?}\n\n[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\ntimezone = \"UTC\"\n",
                data.display().to_string()
            ),
            |_| {},
        );
        let vault = data.join("vaults/default");
        forget_setup(&host, &vault);
        assert_eq!(daily_files(&vault), before);
        fs.fault(&format!(
            "lazyfs::crash::timing={timing}::op={op}::from_rgx={rgx}"
        ));
        let (ok, _, _) = openclone(host.dir.path(), FORGET_ARGS);
        let started = Instant::now();
        while fs.alive() && started.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(5));
        }
        if !fs.alive() {
            fired.push(format!("{timing} {op} {rgx}"));
        }
        fs.cut();
        host.kill9();
        fs.remount();
        let cut = daily_files(&vault);
        for (rel, bytes) in &cut {
            assert!(
                Some(bytes) == before.get(rel) || Some(bytes) == after.get(rel),
                "{rel} is neither before nor after the forget ({timing} {op} {rgx}, forget ok: {ok})"
            );
        }
        host.restart();
        let finished = daily_files(&vault);
        let differ: Vec<&String> = after
            .keys()
            .chain(finished.keys())
            .filter(|rel| finished.get(*rel) != after.get(*rel))
            .collect();
        assert!(
            differ.is_empty(),
            "the next start finished the forget ({timing} {op} {rgx}); differing: {differ:?}\n{}",
            host.log()
        );
        let resend = host.post(&crate::support::note(1_708_344_000.0, "note 0-13", "0-13"));
        assert_eq!(
            resend.json["skipped"], 1,
            "a forgotten note stays forgotten: {}",
            resend.json
        );
    }
    println!(
        "forget power cuts: {} points armed, fired: {fired:?}",
        FORGET_POINTS.len()
    );
    assert_eq!(
        fired.len(),
        FORGET_POINTS.len(),
        "every forget crash point fired: {fired:?}"
    );
}
