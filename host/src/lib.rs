//! The `openclone` binary's library: the composition root ([`app::App`]), the HTTP ingest
//! server, the ActivityWatch-compatible API and the command line, over
//! `openclone-runtime`, `openclone-ingest` and the vault (DESIGN.md, "Layout").

pub mod activitywatch;
pub mod app;
pub mod cli;
pub mod cluster;
pub mod control;
pub mod forget;
pub mod fuzzing;
pub mod guard;
pub mod http;
pub mod lock;
