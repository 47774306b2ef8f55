//! End-to-end tests: the real `openclone` binary, real HTTP on 127.0.0.1, real files.

mod contract;
mod durability;
mod hostile;
mod metrics;
mod remote_python;
mod shelf;
mod support;
mod tenants;
mod tooling;
mod wasm;
