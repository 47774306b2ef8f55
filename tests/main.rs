//! End-to-end tests: the real `openclone` binary, real HTTP on 127.0.0.1, real files.

mod activitywatch;
mod contract;
mod crash;
mod durability;
mod fuzz_corpus;
mod history;
mod hostile;
mod integrity;
mod metrics;
mod neighbours;
mod net_http;
mod outside;
mod owntracks;
mod powerloss;
mod privacy;
mod python;
mod recall;
mod remote_python;
mod safety;
mod shelf;
mod stalls;
mod support;
mod tenants;
mod tooling;
mod wasm;
mod worlds;
