use super::*;

fn key(i: u64) -> DedupKey {
    let mut k = [0u8; 32];
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    k[..8].copy_from_slice(&h.to_le_bytes());
    k[8..16].copy_from_slice(
        &h.rotate_left(31)
            .wrapping_mul(0xBF58_476D_1CE4_E5B9)
            .to_le_bytes(),
    );
    DedupKey(k)
}

fn keys(range: std::ops::Range<u64>) -> Vec<DedupKey> {
    range.map(key).collect()
}

/// Drives the index (an empty group takes in finished runs) until `done` holds, for at
/// most 5 s.
fn wait_until(index: &mut Index, what: &str, done: impl Fn(&Index) -> bool) {
    for _ in 0..500 {
        index.record(&[], &[]).expect("record");
        if done(index) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{what}");
}

/// Waits until the background thread has written every frozen memtable.
fn settle(index: &mut Index) {
    wait_until(index, "runs were not written", |i| i.frozen.is_empty());
}

#[test]
fn keys_and_lengths_survive_a_reopen_through_runs_and_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    let n = FREEZE_KEYS as u64 + 1_000;
    {
        let mut index = Index::open(&path).expect("open");
        for chunk in keys(0..n).chunks(2_000) {
            index
                .record(chunk, &[("Notes/2025-01-01.md", 10)])
                .expect("record");
        }
        settle(&mut index);
        assert_eq!(index.runs.len(), 1);
        index
            .record(&keys(n..n + 5), &[("Notes/2025-01-02.md", 7)])
            .expect("record");
        index.forget_file("Notes/2025-01-01.md").expect("forget");
    }
    let index = Index::open(&path).expect("reopen");
    assert!(
        keys(0..n + 5)
            .iter()
            .all(|k| index.contains(k).expect("lookup"))
    );
    assert!(
        !keys(n + 5..n + 2_000)
            .iter()
            .any(|k| index.contains(k).expect("lookup"))
    );
    assert_eq!(index.file_len("Notes/2025-01-02.md"), Some(7));
    assert_eq!(index.file_len("Notes/2025-01-01.md"), None);
}

#[test]
fn a_torn_log_tail_loses_only_its_own_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    {
        let mut index = Index::open(&path).expect("open");
        index
            .record(&keys(0..10), &[("Notes/a.md", 100)])
            .expect("record");
        index
            .record(&keys(10..20), &[("Notes/a.md", 200)])
            .expect("record");
    }
    let log = log_path(&path, 1);
    let len = std::fs::metadata(&log).expect("log").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .and_then(|f| f.set_len(len - 3))
        .expect("tear");
    let index = Index::open(&path).expect("reopen");
    assert!(
        keys(0..10)
            .iter()
            .all(|k| index.contains(k).expect("lookup"))
    );
    assert_eq!(
        index.file_len("Notes/a.md"),
        Some(100),
        "the length is never ahead of its keys"
    );
}

#[test]
fn an_unreadable_manifest_or_run_starts_the_index_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    {
        let mut index = Index::open(&path).expect("open");
        index
            .record(&keys(0..FREEZE_KEYS as u64), &[("Notes/a.md", 1)])
            .expect("record");
        settle(&mut index);
    }
    let run = std::fs::read_dir(&path)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("run-"))
        .expect("a run");
    std::fs::write(&run, b"short").expect("damage");
    let index = Index::open(&path).expect("reopen");
    assert_eq!(
        index.file_len("Notes/a.md"),
        None,
        "the vault will be rescanned"
    );
    assert!(!index.contains(&key(1)).expect("lookup"));
    drop(index);
    std::fs::write(path.join("manifest.json"), b"{not json").expect("damage");
    let index = Index::open(&path).expect("reopen");
    assert!(index.files().is_empty());
}

#[test]
fn a_group_that_stored_nothing_adds_nothing_to_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    let mut index = Index::open(&path).expect("open");
    index
        .record(&keys(0..3), &[("Notes/a.md", 1)])
        .expect("record");
    let len = || std::fs::metadata(log_path(&path, 1)).expect("log").len();
    let before = len();
    for _ in 0..100 {
        index.record(&[], &[]).expect("record");
    }
    assert_eq!(len(), before);
}

#[test]
fn clear_forgets_every_key_and_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    let mut index = Index::open(&path).expect("open");
    index
        .record(&keys(0..100), &[("Notes/a.md", 1)])
        .expect("record");
    index.clear().expect("clear");
    assert!(!index.contains(&key(5)).expect("lookup"));
    index.record(&keys(100..110), &[]).expect("record");
    drop(index);
    let index = Index::open(&path).expect("reopen");
    assert!(!index.contains(&key(5)).expect("lookup"));
    assert!(index.contains(&key(105)).expect("lookup"));
    assert!(index.files().is_empty());
}

#[test]
fn runs_of_one_tier_are_merged_in_the_background() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    let mut index = Index::open(&path).expect("open");
    let total = 4 * FREEZE_KEYS as u64;
    for chunk in keys(0..total).chunks(4_096) {
        index.record(chunk, &[]).expect("record");
    }
    settle(&mut index);
    wait_until(&mut index, "the runs were not merged", |i| {
        i.runs.len() == 1
    });
    assert_eq!(index.runs.len(), 1);
    assert_eq!(index.runs[0].keys(), total);
    assert!(
        keys(0..total)
            .iter()
            .step_by(997)
            .all(|k| index.contains(k).expect("lookup"))
    );
}

#[test]
fn a_group_that_would_overflow_the_memtable_freezes_it_first_and_its_table_is_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut index = Index::open(&dir.path().join("index")).expect("open");
    let capacity = index.memtable.capacity();
    let first = FREEZE_KEYS as u64 - 10;
    for chunk in keys(0..first).chunks(5_000) {
        index.record(chunk, &[]).expect("record");
    }
    index
        .record(&keys(first..first + 100), &[])
        .expect("record");
    assert_eq!(
        index.memtable.len(),
        100,
        "the full table was frozen before the group, not grown past its capacity"
    );
    assert_eq!(index.memtable.capacity(), capacity, "never rehashed");
    settle(&mut index);
    assert!(
        index
            .spare
            .as_ref()
            .is_some_and(|t| t.is_empty() && t.capacity() >= capacity),
        "the written run's table waits, emptied, for the next freeze"
    );
    let more = first + 100;
    for chunk in keys(more..more + FREEZE_KEYS as u64).chunks(5_000) {
        index.record(chunk, &[]).expect("record");
    }
    assert!(
        keys(0..more + FREEZE_KEYS as u64)
            .iter()
            .all(|k| index.contains(k).expect("lookup"))
    );
}
