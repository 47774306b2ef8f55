//! Plugins: manifests (`plugin.json`) and the registry of what is installed.

pub mod manifest;
pub mod registry;
