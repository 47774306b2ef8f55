//! The OpenClone host: configuration, the HTTP ingest server and the plugin registry around
//! the [`openclone_vault`] pipeline (DESIGN.md).

pub mod activitywatch;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod fuzzing;
pub mod guard;
pub mod http;
pub mod ingest;
pub mod lock;
pub mod metrics;
pub mod plugins;
pub mod ratelimit;
pub mod runtime;
