//! The index's background thread: writes frozen memtables as runs and merges runs, so the
//! vault writer never waits for a sort, a merge or their fsyncs. Jobs run one at a time, in
//! order; the writer takes the results in at its next group ([`super::Index::record`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use super::KeySet;
use super::run::{self, Run};

enum Job {
    Flush(u64, Arc<KeySet>),
    Merge(u64, Vec<Arc<Run>>),
}

/// A finished job: the run's id (or the merged runs' ids) and the new run.
pub enum Finished {
    /// A frozen memtable written as run `.0`.
    Flushed(u64, std::io::Result<Run>),
    /// Runs `.0` merged into one.
    Merged(Vec<u64>, std::io::Result<Run>),
}

/// The background thread and its channels.
pub struct Worker {
    jobs: Option<Sender<Job>>,
    done: Receiver<Finished>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    merging: bool,
}

impl Worker {
    /// Starts the thread for the index in `dir`.
    pub fn start(dir: &Path) -> std::io::Result<Self> {
        let (jobs, rx) = channel::<Job>();
        let (tx, done) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let dir: PathBuf = dir.to_owned();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("index-runs".into())
            .spawn(move || {
                for job in rx {
                    let finished = match job {
                        Job::Flush(id, keys) => {
                            let mut sorted: Vec<u128> = keys.iter().copied().collect();
                            sorted.sort_unstable();
                            let keys = sorted.into_iter().map(Ok);
                            Finished::Flushed(id, Run::write(&dir, id, keys, &flag))
                        }
                        Job::Merge(id, inputs) => {
                            let merged = run::merge(&dir, id, &inputs, &flag);
                            if merged.is_err() {
                                let _ = std::fs::remove_file(run::path(&dir, id));
                            }
                            Finished::Merged(inputs.iter().map(|r| r.id).collect(), merged)
                        }
                    };
                    if flag.load(Ordering::Relaxed) || tx.send(finished).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Self {
            jobs: Some(jobs),
            done,
            stop,
            thread: Some(thread),
            merging: false,
        })
    }

    /// Queues writing `keys` as run `id` (sorted on this thread).
    pub fn flush(&mut self, id: u64, keys: Arc<KeySet>) {
        self.send(Job::Flush(id, keys));
    }

    /// Queues merging `inputs` into run `id`.
    pub fn merge(&mut self, id: u64, inputs: Vec<Arc<Run>>) {
        self.merging = true;
        self.send(Job::Merge(id, inputs));
    }

    fn send(&self, job: Job) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
    }

    /// Whether a merge is queued or running.
    pub fn busy_merging(&self) -> bool {
        self.merging
    }

    /// The jobs finished since the last call.
    pub fn finished(&mut self) -> Vec<Finished> {
        let done: Vec<Finished> = self.done.try_iter().collect();
        if done.iter().any(|d| matches!(d, Finished::Merged(..))) {
            self.merging = false;
        }
        done
    }

    /// Stops the thread: a job in progress ends at its next block; queued jobs are dropped.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}
