//! Every `openclone:capture` world version this host ever shipped stays loadable: a
//! component built for an older one is linked to the same host functions and called
//! through the same [`Pre`] / [`Guest`] as a current one (DESIGN.md, "The WIT world").
//!
//! - 0.3.0 (`wit/capture.wit`, [`super::bindings`]): the current world; it added the
//!   `screen` interface.
//! - 0.2.0: the same interfaces without `screen`; its imports are the current host
//!   functions under the 0.2.0 names.
//! - 0.1.0: the same interfaces with the same types, and a `capture-report` without
//!   `skipped-records` (0.2.0 grew that record in place, which is why every 0.1.0
//!   component stopped loading; records no longer grow: a new field or capability comes as
//!   a new interface). Its imports are the current host functions under the 0.1.0 names
//!   (the component model checks types by structure, so the current Rust types fit), and
//!   its report is read as a 0.1.0 record with `skipped-records = 0`.

use wasmtime::component::{ComponentType, InstancePre, Lift, Linker};
use wasmtime::{AsContextMut, StoreContextMut};

use super::bindings::openclone::capture::types::{
    CaptureReport, EmitError, Event, PluginInfo, Receipt, SourceType,
};
use super::bindings::openclone::capture::{config, emit, log, state};
use super::bindings::{CapturePlugin, CapturePluginPre};
use super::context::PluginState;

/// The world versions this host links, oldest first (`major.minor`; 0.x minors differ).
pub const VERSIONS: [(u64, u64); 3] = [(0, 1), (0, 2), (0, 3)];

/// A pre-linked component of any world version.
pub enum Pre {
    /// The current world.
    Current(CapturePluginPre<PluginState>),
    /// An older world: `openclone:capture@0.<minor>.x`, linked by name.
    Older {
        /// The pre-linked instance.
        pre: InstancePre<PluginState>,
        /// Its minor version (1 or 2).
        minor: u64,
    },
}

/// An instantiated component of any world version.
pub enum Guest {
    /// The current world.
    Current(CapturePlugin),
    /// An older world, called by export name.
    Older {
        /// The instance.
        instance: wasmtime::component::Instance,
        /// Its minor version (1 or 2).
        minor: u64,
    },
}

/// 0.1.0's `capture-report`.
#[derive(ComponentType, Lift)]
#[component(record)]
struct CaptureReport01 {
    emitted: u32,
    stored: u32,
    skipped: u32,
    problems: Vec<String>,
}

impl Pre {
    /// The 0.x minor version of the world the component was built for.
    pub fn minor(&self) -> u64 {
        match self {
            Self::Current(_) => super::WIT_VERSION.minor,
            Self::Older { minor, .. } => *minor,
        }
    }

    /// Instantiates the component in `store`. Errors: wasmtime's (a trap in a start
    /// function, a resource limit).
    pub async fn instantiate_async(
        &self,
        store: impl AsContextMut<Data = PluginState>,
    ) -> wasmtime::Result<Guest> {
        match self {
            Self::Current(pre) => pre.instantiate_async(store).await.map(Guest::Current),
            Self::Older { pre, minor } => {
                pre.instantiate_async(store)
                    .await
                    .map(|instance| Guest::Older {
                        instance,
                        minor: *minor,
                    })
            }
        }
    }
}

impl Guest {
    /// The component's `describe`. Errors: a trap, or an export of another type.
    pub async fn call_describe(
        &self,
        mut store: impl AsContextMut<Data = PluginState>,
    ) -> wasmtime::Result<PluginInfo> {
        match self {
            Self::Current(g) => g.call_describe(store).await,
            Self::Older { instance: i, .. } => {
                let f = i.get_typed_func::<(), (PluginInfo,)>(&mut store, "describe")?;
                Ok(f.call_async(&mut store, ()).await?.0)
            }
        }
    }

    /// The component's `init`. Errors: as [`Self::call_describe`].
    pub async fn call_init(
        &self,
        mut store: impl AsContextMut<Data = PluginState>,
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            Self::Current(g) => g.call_init(store).await,
            Self::Older { instance: i, .. } => {
                let f = i.get_typed_func::<(), (Result<(), String>,)>(&mut store, "init")?;
                Ok(f.call_async(&mut store, ()).await?.0)
            }
        }
    }

    /// The component's `capture`, as the current report. Errors: as
    /// [`Self::call_describe`].
    pub async fn call_capture(
        &self,
        mut store: impl AsContextMut<Data = PluginState>,
    ) -> wasmtime::Result<Result<CaptureReport, String>> {
        match self {
            Self::Current(g) => g.call_capture(store).await,
            Self::Older { instance: i, minor } if *minor >= 2 => {
                let f = i.get_typed_func::<(), (Result<CaptureReport, String>,)>(
                    &mut store, "capture",
                )?;
                Ok(f.call_async(&mut store, ()).await?.0)
            }
            Self::Older { instance: i, .. } => {
                let f = i.get_typed_func::<(), (Result<CaptureReport01, String>,)>(
                    &mut store, "capture",
                )?;
                let report = f.call_async(&mut store, ()).await?.0;
                Ok(report.map(|r| CaptureReport {
                    emitted: r.emitted,
                    stored: r.stored,
                    skipped: r.skipped,
                    problems: r.problems,
                    skipped_records: 0,
                }))
            }
        }
    }
}

/// Adds every older world's imports to `linker`: each function of `emit`, `log`, `config`
/// and `state` under its `@0.1.0` and `@0.2.0` names, calling the current host function.
pub fn link_older(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    for version in ["0.1.0", "0.2.0"] {
        link_version(linker, version)?;
    }
    Ok(())
}

/// One older version's imports (see [`link_older`]).
fn link_version(linker: &mut Linker<PluginState>, version: &str) -> anyhow::Result<()> {
    linker.instance(&format!("openclone:capture/types@{version}"))?;
    let mut i = linker.instance(&format!("openclone:capture/emit@{version}"))?;
    i.func_wrap(
        "emit",
        |mut cx: StoreContextMut<'_, PluginState>,
         (source, events): (SourceType, Vec<Event>)|
         -> wasmtime::Result<(Result<Receipt, EmitError>,)> {
            Ok((emit::Host::emit(cx.data_mut(), source, events),))
        },
    )?;
    let mut i = linker.instance(&format!("openclone:capture/log@{version}"))?;
    i.func_wrap(
        "log",
        |mut cx: StoreContextMut<'_, PluginState>, (level, message): (log::Level, String)| {
            log::Host::log(cx.data_mut(), level, message);
            Ok(())
        },
    )?;
    let mut i = linker.instance(&format!("openclone:capture/config@{version}"))?;
    i.func_wrap(
        "get",
        |mut cx: StoreContextMut<'_, PluginState>, (key,): (String,)| {
            Ok((config::Host::get(cx.data_mut(), key),))
        },
    )?;
    type Put = (String, String, String, Option<u64>);
    let mut i = linker.instance(&format!("openclone:capture/state@{version}"))?;
    i.func_wrap(
        "register",
        |mut cx: StoreContextMut<'_, PluginState>, (ns, key, value, ttl): Put| {
            Ok((state::Host::register(cx.data_mut(), ns, key, value, ttl),))
        },
    )?;
    i.func_wrap(
        "register-if-absent",
        |mut cx: StoreContextMut<'_, PluginState>, (ns, key, value, ttl): Put| {
            Ok((state::Host::register_if_absent(
                cx.data_mut(),
                ns,
                key,
                value,
                ttl,
            ),))
        },
    )?;
    i.func_wrap(
        "lookup",
        |mut cx: StoreContextMut<'_, PluginState>, (ns, key): (String, String)| {
            Ok((state::Host::lookup(cx.data_mut(), ns, key),))
        },
    )?;
    i.func_wrap(
        "consume",
        |mut cx: StoreContextMut<'_, PluginState>, (ns, key): (String, String)| {
            Ok((state::Host::consume(cx.data_mut(), ns, key),))
        },
    )?;
    i.func_wrap(
        "clear",
        |mut cx: StoreContextMut<'_, PluginState>, (ns,): (String,)| {
            Ok((state::Host::clear(cx.data_mut(), ns),))
        },
    )?;
    Ok(())
}
