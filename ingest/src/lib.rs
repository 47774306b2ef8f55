//! What every way into the OpenClone host shares, below the WebAssembly runtime and the
//! HTTP servers (DESIGN.md, "Layout"): the configuration, tenants and their keys, the one
//! token bucket, the clock, the ingest service with its [`service::PluginPolicy`] seam,
//! and the metrics core. No wasmtime, no hyper.

pub mod auth;
pub mod clock;
pub mod config;
pub mod guard;
pub mod metrics;
pub mod pause;
pub mod ratelimit;
pub mod service;
pub mod store;
