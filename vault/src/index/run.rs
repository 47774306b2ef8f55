//! Sorted runs: immutable files of keys in ascending order, 16 bytes each (big-endian, so
//! byte order is key order), with a fence in memory for every block of 256 keys.
//!
//! A lookup finds the block by its fences and reads that one 4 KiB block (`pread`, from
//! the page cache once warm), so a run costs 8 bytes of memory per 256 keys. Runs are
//! written once, fsynced before the manifest names them, and merged in the background
//! ([`merge`]) so their number stays small.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Keys per block (one fence each).
const BLOCK_KEYS: usize = 256;
const KEY_BYTES: usize = 16;

/// One sorted run on disk.
pub struct Run {
    /// The run's number (its file is `run-<id>.keys`).
    pub id: u64,
    file: File,
    /// The high 64 bits of the first key of each block.
    fences: Vec<u64>,
    keys: u64,
}

/// The file of run `id` in `dir`.
pub fn path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("run-{id:08}.keys"))
}

fn fence(key: u128) -> u64 {
    (key >> 64) as u64
}

impl Run {
    /// Writes `keys` (ascending, no duplicates) as run `id` and fsyncs it. `stop` ends
    /// the write early with an `Interrupted` error (the host is closing).
    pub fn write(
        dir: &Path,
        id: u64,
        keys: impl Iterator<Item = std::io::Result<u128>>,
        stop: &AtomicBool,
    ) -> std::io::Result<Self> {
        let path = path(dir, id);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        let mut out = BufWriter::with_capacity(256 << 10, file);
        let mut fences = Vec::new();
        let mut n = 0u64;
        for key in keys {
            let key = key?;
            if n.is_multiple_of(BLOCK_KEYS as u64) {
                if stop.load(Ordering::Relaxed) {
                    return Err(std::io::ErrorKind::Interrupted.into());
                }
                fences.push(fence(key));
            }
            out.write_all(&key.to_be_bytes())?;
            n += 1;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(Self {
            id,
            file,
            fences,
            keys: n,
        })
    }

    /// Opens run `id`, building its fences and passing every key to `each` (to fill the
    /// filter). Errors: the file is missing, unreadable, or not a whole number of keys.
    pub fn open(dir: &Path, id: u64, mut each: impl FnMut(u128)) -> std::io::Result<Self> {
        let file = File::open(path(dir, id))?;
        let len = file.metadata()?.len();
        if len % KEY_BYTES as u64 != 0 {
            return Err(std::io::Error::other(format!(
                "run {id}: {len} bytes is not a whole number of keys"
            )));
        }
        let mut fences = Vec::with_capacity((len as usize / KEY_BYTES).div_ceil(BLOCK_KEYS));
        let mut n = 0u64;
        for key in read_keys(file.try_clone()?) {
            let key = key?;
            if n.is_multiple_of(BLOCK_KEYS as u64) {
                fences.push(fence(key));
            }
            each(key);
            n += 1;
        }
        Ok(Self {
            id,
            file,
            fences,
            keys: n,
        })
    }

    /// Number of keys in the run.
    pub fn keys(&self) -> u64 {
        self.keys
    }

    /// Whether the run holds `key`: reads the block (rarely two) its fences point to.
    pub fn contains(&self, key: u128) -> std::io::Result<bool> {
        let f = fence(key);
        let first = self.fences.partition_point(|&x| x < f).saturating_sub(1);
        let last = self.fences.partition_point(|&x| x <= f);
        let mut buf = [0u8; BLOCK_KEYS * KEY_BYTES];
        for block in first..last {
            let start = block * BLOCK_KEYS;
            let n = (self.keys as usize - start).min(BLOCK_KEYS);
            let bytes = &mut buf[..n * KEY_BYTES];
            self.file.read_exact_at(bytes, (start * KEY_BYTES) as u64)?;
            let (mut lo, mut hi) = (0, n);
            while lo < hi {
                let mid = (lo + hi) / 2;
                match key_of(&bytes[mid * KEY_BYTES..][..KEY_BYTES]).cmp(&key) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => return Ok(true),
                }
            }
        }
        Ok(false)
    }

    /// The run's keys in order, read sequentially.
    pub fn iter(&self) -> std::io::Result<impl Iterator<Item = std::io::Result<u128>>> {
        Ok(read_keys(self.file.try_clone()?))
    }
}

fn key_of(chunk: &[u8]) -> u128 {
    let mut k = [0u8; KEY_BYTES];
    k.copy_from_slice(chunk);
    u128::from_be_bytes(k)
}

/// Reads keys from the start of `file` (a fresh handle reads from offset 0 only if it was
/// never read, so the position is set explicitly).
fn read_keys(file: File) -> impl Iterator<Item = std::io::Result<u128>> {
    let mut reader = BufReader::with_capacity(256 << 10, Positioned { file, pos: 0 });
    std::iter::from_fn(move || {
        let mut k = [0u8; KEY_BYTES];
        match reader.read_exact(&mut k) {
            Ok(()) => Some(Ok(u128::from_be_bytes(k))),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => None,
            Err(e) => Some(Err(e)),
        }
    })
}

/// A reader at its own offset, by `pread`, so handles cloned from one file do not share
/// a position.
struct Positioned {
    file: File,
    pos: u64,
}

impl Read for Positioned {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Merges `inputs` into run `id` (duplicates dropped), fsynced.
pub fn merge(dir: &Path, id: u64, inputs: &[Arc<Run>], stop: &AtomicBool) -> std::io::Result<Run> {
    let mut iters = inputs
        .iter()
        .map(|r| r.iter())
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut heap = BinaryHeap::new();
    for (i, it) in iters.iter_mut().enumerate() {
        if let Some(k) = it.next() {
            heap.push(Reverse((k?, i)));
        }
    }
    let mut last = None;
    let merged = std::iter::from_fn(|| {
        loop {
            let Reverse((k, i)) = heap.pop()?;
            match iters[i].next() {
                Some(Ok(next)) => heap.push(Reverse((next, i))),
                Some(Err(e)) => return Some(Err(e)),
                None => {}
            }
            if last != Some(k) {
                last = Some(k);
                return Some(Ok(k));
            }
        }
    });
    Run::write(dir, id, merged, stop)
}

/// Runs merged at once, and the size ratio that puts runs in one tier.
const FAN_IN: usize = 4;

/// Size-tiered compaction: a run's tier is the base-4 logarithm of its size in memtables (229,376 keys),
/// and when a tier holds [`FAN_IN`] runs they are merged into one of the next tier. So a
/// key is rewritten about once per tier (log₄ of the index size in memtables), and the
/// runs number at most three per tier.
pub fn tier_to_merge(runs: &[Arc<Run>]) -> Option<Vec<Arc<Run>>> {
    let tier = |r: &Run| (r.keys() / (7 << 15)).max(1).ilog(FAN_IN as u64);
    let mut tiers: Vec<Vec<Arc<Run>>> = Vec::new();
    for r in runs {
        let t = tier(r) as usize;
        if tiers.len() <= t {
            tiers.resize_with(t + 1, Vec::new);
        }
        tiers[t].push(r.clone());
    }
    tiers.into_iter().find(|t| t.len() >= FAN_IN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_a_run_is_found_and_others_are_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stop = AtomicBool::new(false);
        let keys: Vec<u128> = (0..5_000u128).map(|i| ((i * 3) << 100) | i).collect();
        let run = Run::write(dir.path(), 1, keys.iter().map(|&k| Ok(k)), &stop).expect("write");
        assert!(keys.iter().all(|&k| run.contains(k).expect("read")));
        assert!(!run.contains(keys[10] + 1).expect("read"));
        let mut seen = 0;
        let reopened = Run::open(dir.path(), 1, |_| seen += 1).expect("open");
        assert_eq!((seen, reopened.keys()), (5_000, 5_000));
        let other = Run::write(
            dir.path(),
            2,
            (0..100u128).map(|i| Ok((i * 7) << 100)),
            &stop,
        )
        .expect("write");
        let merged = merge(dir.path(), 3, &[Arc::new(run), Arc::new(other)], &stop).expect("merge");
        let all: Vec<u128> = merged
            .iter()
            .expect("iter")
            .map(|k| k.expect("key"))
            .collect();
        let expected: std::collections::BTreeSet<u128> = keys
            .iter()
            .copied()
            .chain((0..100u128).map(|i| (i * 7) << 100))
            .collect();
        assert_eq!(all, expected.into_iter().collect::<Vec<_>>());
    }
}
