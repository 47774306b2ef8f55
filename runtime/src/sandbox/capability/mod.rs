//! Capabilities: each thing a plugin can be granted is one module of the same shape,
//! after Spin's factors (`crates/factor-*`):
//!
//! - [`Capability::check_manifest`]: what `plugin.json` may request (checked with the
//!   manifest, so `plugins validate` names the field);
//! - [`Capability::configure`] (Spin: `configure_app`): the manifest's request against the
//!   grant in `[plugins.<id>]` of openclone.toml, checked once when the plugin is
//!   registered, into a typed grant with its limits;
//! - [`Capability::link`] (Spin: `init`): its imports in the process's one `Linker`;
//! - [`Capability::prepare`] (Spin: `prepare`): the per-instance state of one pass;
//! - [`Capability::describe`] / [`Capability::missing`]: the status lines of `plugins
//!   inspect`, `validate` and `doctor`;
//! - [`Capability::watch_paths`]: folders whose changes start a pass (the supervisor);
//! - [`Capability::after_pass`]: the calls it refused in one pass and what it did, for the
//!   pass report, `capture`'s output and the plugin's status.
//!
//! Adding a capability is one new module and one line in [`capabilities!`] below (plus its
//! WIT interface and the SDKs' wrappers); nothing in the pass or the supervisor names one.

pub mod config;
pub mod emit;
pub mod fs_read;
pub mod log;
pub mod net_http;
pub mod screen;
pub mod state;

use serde_json::{Map, Value};
use wasmtime::component::Linker;
use wasmtime_wasi::WasiCtxBuilder;

use super::context::PluginState;
use super::pass::PassError;
use crate::manifest::Manifest;
use openclone_ingest::config::Config;

/// Keys of `[plugins.<id>]` the host reads itself; each capability adds its own
/// (`sandbox::capability::KEYS`), and every other key is the plugin's config.
pub const HOST_KEYS: [&str; 6] = [
    "enabled",
    "tenant",
    "interval_s",
    "timeout_s",
    "memory_mb",
    "max_failures",
];

/// A settings problem: where in openclone.toml, and the rule.
#[derive(Debug, Clone, thiserror::Error)]
#[error("openclone.toml: [plugins.{plugin}] {key}: {message}")]
pub struct SettingsError {
    /// The plugin id.
    pub plugin: String,
    /// The key.
    pub key: String,
    /// The rule and the fix.
    pub message: String,
}

/// What [`Capability::configure`] reads: the host config, the plugin's manifest and its
/// `[plugins.<id>]` table.
pub struct Configure<'a> {
    /// The host's config (data folder, vaults, path resolution).
    pub cfg: &'a Config,
    /// The plugin's checked manifest.
    pub manifest: &'a Manifest,
    /// `[plugins.<id>]`, empty if absent.
    pub table: &'a toml::Table,
}

impl Configure<'_> {
    /// True if the manifest's `requires_permissions` names `permission`.
    pub fn requested(&self, permission: &str) -> bool {
        self.manifest.requests(permission)
    }

    /// A settings error for `key` of this plugin's table.
    pub fn err(&self, key: &str, message: impl Into<String>) -> SettingsError {
        SettingsError {
            plugin: self.manifest.id.clone(),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// A positive whole-number setting, `default` when absent. Errors: not a positive integer.
    pub fn positive(&self, key: &str, default: u64) -> Result<u64, SettingsError> {
        match self.table.get(key) {
            None => Ok(default),
            Some(toml::Value::Integer(n)) if *n > 0 => Ok(*n as u64),
            Some(_) => Err(self.err(key, "must be a positive whole number")),
        }
    }

    /// [`Configure::positive`] for a `u32` setting (larger values are capped at `u32::MAX`).
    pub fn positive_u32(&self, key: &str, default: u32) -> Result<u32, SettingsError> {
        self.positive(key, u64::from(default))
            .map(|v| v.min(u64::from(u32::MAX)) as u32)
    }
}

/// One capability (see the module docs for the shape).
pub trait Capability {
    /// Its name in `requires_permissions` and in `plugins inspect`.
    const NAME: &'static str;
    /// True if the manifest must request it in `requires_permissions`; false for those
    /// every plugin of the world has (emit, log, config, state).
    const REQUESTED: bool;
    /// The keys of `[plugins.<id>]` it reads (every other key is the plugin's own config).
    const KEYS: &'static [&'static str];
    /// What the manifest requested and the config granted, with its limits.
    type Grant: Clone + std::fmt::Debug + Default + Send + Sync + 'static;
    /// Its state in one instance (one pass).
    type Instance: Default + Send + 'static;

    /// Checks what `plugin.json` requests. Errors: (field, rule).
    fn check_manifest(_raw: &Map<String, Value>) -> Result<(), (String, String)> {
        Ok(())
    }

    /// The typed grant. Errors: a key of `[plugins.<id>]` that breaks a rule, named.
    fn configure(c: &Configure<'_>) -> Result<Self::Grant, SettingsError>;

    /// Adds its imports to the process's linker (once).
    fn link(linker: &mut Linker<PluginState>) -> anyhow::Result<()>;

    /// Sets up one instance: WASI preopens, per-instance state. Errors: the pass cannot start.
    fn prepare(
        _grant: &Self::Grant,
        _plugin: &str,
        _wasi: &mut WasiCtxBuilder,
    ) -> Result<Self::Instance, PassError> {
        Ok(Self::Instance::default())
    }

    /// One line for `plugins inspect` and `doctor`: granted what, or why not.
    fn describe(grant: &Self::Grant) -> String;

    /// Requested by the manifest but not granted by the config: what to add (`doctor`
    /// warns). `None`: nothing missing.
    fn missing(_grant: &Self::Grant) -> Option<String> {
        None
    }

    /// Folders whose changes start a pass (the supervisor watches them while the plugin
    /// runs). Default none.
    fn watch_paths(_grant: &Self::Grant) -> Vec<std::path::PathBuf> {
        Vec::new()
    }

    /// What one finished pass's instance state says for the pass report, `capture`'s
    /// output and the plugin's status (calls the host refused, one line each). Default
    /// nothing.
    fn after_pass(_instance: &Self::Instance) -> AfterPass {
        AfterPass::default()
    }
}

/// What one pass's instance state says ([`Capability::after_pass`]): the calls a
/// capability refused (how many, and the first few, one line each: what was asked and why)
/// and what it did, for `capture`'s output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AfterPass {
    /// How many.
    pub count: u32,
    /// The first ones, one line each.
    pub lines: Vec<String>,
    /// What the capability did in the pass, one line each (`screen: 2 reads, 1
    /// unchanged, 1 OCR (840 ms)`).
    pub notes: Vec<String>,
}

/// The registration: one line per capability (field, module, type).
macro_rules! capabilities {
    ($($field:ident: $module:ident::$ty:ident),* $(,)?) => {
        /// Every capability's grant for one plugin.
        #[derive(Debug, Clone, Default)]
        pub struct Grants {
            $(
                #[doc = concat!("`", stringify!($field), "`: see [`", stringify!($module), "`].")]
                pub $field: <$module::$ty as Capability>::Grant,
            )*
        }

        /// Every capability's state in one instance.
        #[derive(Default)]
        pub struct Instances {
            $(
                #[doc = concat!("`", stringify!($field), "`: see [`", stringify!($module), "`].")]
                pub $field: <$module::$ty as Capability>::Instance,
            )*
        }

        /// Keys of `[plugins.<id>]` read by a capability.
        pub const KEYS: &[&[&str]] = &[$(<$module::$ty as Capability>::KEYS),*];

        /// Capabilities a manifest may request in `requires_permissions`.
        pub const PERMISSIONS: &[(&str, bool)] = &[$((
            <$module::$ty as Capability>::NAME,
            <$module::$ty as Capability>::REQUESTED,
        )),*];

        impl Grants {
            /// Every capability's [`Capability::configure`].
            pub fn configure(c: &Configure<'_>) -> Result<Self, SettingsError> {
                Ok(Self { $($field: <$module::$ty as Capability>::configure(c)?,)* })
            }

            /// Every capability's [`Capability::prepare`] for one instance.
            pub fn prepare(
                &self,
                plugin: &str,
                wasi: &mut WasiCtxBuilder,
            ) -> Result<Instances, PassError> {
                Ok(Instances {
                    $($field: <$module::$ty as Capability>::prepare(&self.$field, plugin, wasi)?,)*
                })
            }

            /// Every capability's [`Capability::missing`], in registration order.
            pub fn missing(&self) -> Vec<String> {
                [$(<$module::$ty as Capability>::missing(&self.$field)),*]
                    .into_iter()
                    .flatten()
                    .collect()
            }

            /// Every capability's [`Capability::watch_paths`].
            pub fn watch_paths(&self) -> Vec<std::path::PathBuf> {
                let mut paths = Vec::new();
                $(paths.extend(<$module::$ty as Capability>::watch_paths(&self.$field));)*
                paths
            }

            /// (name, [`Capability::describe`]) of every capability, in registration order.
            pub fn describe(&self) -> Vec<(&'static str, String)> {
                vec![$((
                    <$module::$ty as Capability>::NAME,
                    <$module::$ty as Capability>::describe(&self.$field),
                )),*]
            }
        }

        impl Instances {
            /// Every capability's [`Capability::after_pass`], added up.
            pub fn after_pass(&self) -> AfterPass {
                let mut all = AfterPass::default();
                $(
                    let r = <$module::$ty as Capability>::after_pass(&self.$field);
                    all.count += r.count;
                    all.lines.extend(r.lines);
                    all.notes.extend(r.notes);
                )*
                all
            }
        }

        /// Links every capability's imports.
        pub fn link(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
            $(<$module::$ty as Capability>::link(linker)?;)*
            Ok(())
        }

        /// Every capability's [`Capability::check_manifest`]. Errors: (field, rule).
        pub fn check_manifest(raw: &Map<String, Value>) -> Result<(), (String, String)> {
            $(<$module::$ty as Capability>::check_manifest(raw)?;)*
            Ok(())
        }
    };
}

capabilities! {
    emit: emit::Emit,
    log: log::Log,
    config: config::PluginConfig,
    state: state::State,
    fs_read: fs_read::FsRead,
    net_http: net_http::NetHttp,
    screen: screen::ScreenCapability,
}

/// True if `name` in `requires_permissions` is a capability a manifest requests.
pub fn is_requestable(name: &str) -> bool {
    PERMISSIONS
        .iter()
        .any(|(n, requested)| *n == name && *requested)
}
