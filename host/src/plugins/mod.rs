//! Plugins: manifests (`plugin.json`), settings, the registry of what is installed and the
//! manager that runs WebAssembly plugins.

pub mod last_pass;
pub mod manager;
pub mod manifest;
pub mod registry;
pub mod settings;
