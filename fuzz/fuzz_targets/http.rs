//! cargo-fuzz target `http`: one HTTP/1.1 connection of arbitrary bytes to the ingest API
//! or the ActivityWatch API of a real host (`openclone_host::fuzzing`). Findings: a panic,
//! a hang (libFuzzer's `-timeout`), memory past `-rss_limit_mb`, or an answer of 500.
#![no_main]

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use openclone_host::fuzzing::Target;

/// Inputs one host answers before a fresh one replaces it, so its vault and dedup index
/// stay small over hours.
const RUNS_PER_HOST: u32 = 20_000;

static HOST: Mutex<Option<(Target, u32)>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut host = HOST.lock().unwrap_or_else(|p| p.into_inner());
    if host.as_ref().is_none_or(|(_, runs)| *runs >= RUNS_PER_HOST) {
        *host = None;
        let scratch = std::env::var_os("FUZZ_SCRATCH").unwrap_or_else(|| "/dev/shm".into());
        *host = Some((Target::new(scratch.as_ref()).expect("a scratch host opens"), 0));
    }
    let Some((target, runs)) = host.as_mut() else {
        return;
    };
    *runs += 1;
    let answer = target.run(data);
    assert!(
        !openclone_host::fuzzing::server_error(&answer),
        "the host answered 500 to {:?}:\n{}",
        String::from_utf8_lossy(data),
        String::from_utf8_lossy(&answer)
    );
});
