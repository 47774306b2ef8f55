//! The OpenClone host's WebAssembly side (DESIGN.md, "Layout"): `plugin.json` manifests,
//! the sandbox (wasmtime engine, capabilities, one pass), the registry of installed
//! plugins (the ingest service's [`openclone_ingest::service::PluginPolicy`]), the record
//! of last passes and the supervisor that schedules passes. Below it: `openclone-ingest`
//! and the vault; above it: the `openclone` binary.

pub mod last_pass;
pub mod links;
pub mod manifest;
pub mod plugins;
pub mod registry;
pub mod sandbox;
pub mod settings;
pub mod supervisor;
