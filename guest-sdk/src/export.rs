//! The [`Plugin`] trait and the glue [`export_plugin!`] generates.

use std::marker::PhantomData;

use crate::bindings::openclone::capture::types::{CaptureReport, PluginInfo};
use crate::ctx::Ctx;
use crate::host::WitHost;
use crate::{Result, SourceType};

/// A capture plugin. Implement `capture` (and `init` if you need it), then call
/// [`export_plugin!`](crate::export_plugin).
pub trait Plugin {
    /// The source types the plugin emits; must match `source_types` in its plugin.json.
    const SOURCE_TYPES: &'static [SourceType];

    /// For one component shipped under several ids (a drop-in folder per id, each
    /// plugin.json giving this config key its id as default): the key whose value
    /// `describe` answers as the id. `None` (the default): the crate name.
    const ID_FROM_CONFIG: Option<&'static str> = None;

    /// Once per instance, after config is bound: check config, prepare.
    fn init(_ctx: &mut Ctx) -> Result<()> {
        Ok(())
    }

    /// One pass: read what is new in the inputs and emit it. Queued events are flushed
    /// when it returns.
    fn capture(ctx: &mut Ctx) -> Result<()>;
}

/// Id and version of the plugin crate, filled in by [`export_plugin!`](crate::export_plugin)
/// from `Cargo.toml` (they must match plugin.json).
pub trait PluginMeta {
    /// The crate name, which is the plugin id.
    const ID: &'static str;
    /// The crate version, which is the plugin version.
    const VERSION: &'static str;
}

/// The WIT `Guest` implementation for a [`Plugin`]; used by [`export_plugin!`](crate::export_plugin).
#[doc(hidden)]
pub struct Adapter<P>(PhantomData<P>);

impl<P: Plugin + PluginMeta> crate::bindings::Guest for Adapter<P> {
    fn describe() -> PluginInfo {
        PluginInfo {
            id: P::ID_FROM_CONFIG
                .and_then(crate::bindings::openclone::capture::config::get)
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_else(|| P::ID.to_owned()),
            version: P::VERSION.to_owned(),
            source_types: P::SOURCE_TYPES.to_vec(),
        }
    }

    fn init() -> std::result::Result<(), String> {
        P::init(&mut Ctx::new(Box::new(WitHost))).map_err(|e| e.to_string())
    }

    fn capture() -> std::result::Result<CaptureReport, String> {
        let mut ctx = Ctx::new(Box::new(WitHost));
        let outcome = P::capture(&mut ctx);
        let report = ctx.finish().map_err(|e| e.to_string())?;
        outcome.map_err(|e| e.to_string())?;
        Ok(CaptureReport {
            emitted: report.emitted,
            stored: report.stored,
            skipped: report.skipped,
            problems: report.problems,
            skipped_records: report.skipped_records,
        })
    }
}

/// Exports a [`Plugin`] as the component's `capture-plugin` world.
///
/// ```text
/// openclone_guest::export_plugin!(MyPlugin);
/// ```
///
/// (The crate-level docs show it in a complete plugin.)
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        impl $crate::PluginMeta for $plugin {
            const ID: &'static str = env!("CARGO_PKG_NAME");
            const VERSION: &'static str = env!("CARGO_PKG_VERSION");
        }
        #[doc(hidden)]
        type __OpencloneExport = $crate::Adapter<$plugin>;
        $crate::bindings::__export_capture_plugin!(__OpencloneExport with_types_in $crate::bindings);
    };
}
