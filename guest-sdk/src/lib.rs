//! Write OpenClone capture plugins in Rust.
//!
//! A plugin is a WebAssembly component of the `openclone:capture` world (`wit/` in the
//! host repository). This crate hides the bindings: you implement [`Plugin`], call
//! [`export_plugin!`], and build with `cargo build --target wasm32-wasip2 --release`.
//! Batching (500 events, payload limits), retries on rate limits, JSON encoding and the
//! envelope fields are the SDK's job; the host fills in plugin id, version, platform and
//! device. Plugins granted `net-http` make HTTP requests with [`Ctx::http_get`] and
//! [`Ctx::fetch`] ([`http`]); plugins granted `screen` read the focused window with
//! [`Ctx::active_window`] and [`Ctx::read_screen`] ([`screen`]).
//!
//! # A complete plugin
//!
//! ```
//! use openclone_guest::prelude::*;
//!
//! /// Emits each non-empty line of `inbox.txt` in every granted folder, once.
//! struct Inbox;
//!
//! impl Plugin for Inbox {
//!     const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Braindump];
//!
//!     fn capture(ctx: &mut Ctx) -> Result<()> {
//!         for dir in ctx.inputs() {
//!             let path = dir.join("inbox.txt");
//!             let Ok(text) = std::fs::read_to_string(&path) else { continue };
//!             let done: usize = ctx.state("offsets").get(&path.display().to_string())?.unwrap_or(0);
//!             for (n, line) in text.lines().enumerate().skip(done) {
//!                 if !line.trim().is_empty() {
//!                     ctx.emit(Braindump { text: line.into() }.at(1_708_258_800.0).raw_ref(format!("{}#{n}", path.display())))?;
//!                 }
//!             }
//!             ctx.state("offsets").set(&path.display().to_string(), &text.lines().count())?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! openclone_guest::export_plugin!(Inbox);
//!
//! // The same plugin, tested natively against an in-memory host:
//! # fn main() -> Result<()> {
//! let dir = std::env::temp_dir().join(format!("inbox-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("inbox.txt"), "buy milk\n\ncall Ann\n")?;
//! let mut host = openclone_guest::testing::Harness::new().input(&dir);
//! let report = host.capture::<Inbox>()?;
//! assert_eq!(report.stored, 2);
//! assert_eq!(host.events()[1].data["text"], "call Ann");
//! assert_eq!(host.capture::<Inbox>()?.emitted, 0, "a second pass emits nothing new");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

mod ctx;
mod error;
pub mod events;
mod export;
pub mod fs;
mod host;
pub mod http;
pub mod screen;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod time;
#[cfg(target_arch = "wasm32")]
mod wasi_http;

#[doc(hidden)]
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "capture-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_capture_plugin",
        default_bindings_module: "openclone_guest::bindings",
    });
}

pub use bindings::openclone::capture::log::Level;
pub use bindings::openclone::capture::types::SourceType;
pub use ctx::{Ctx, InputFile, Report, State};
pub use error::{Error, Result};
pub use events::Emit;
pub use export::{Adapter, Plugin, PluginMeta};
/// `serde_json`, re-exported so plugins can build `data` with `json!` without their own dependency.
pub use serde_json;

/// What a plugin file usually needs: `use openclone_guest::prelude::*;`.
pub mod prelude {
    pub use crate::events::*;
    pub use crate::{Ctx, Error, Level, Plugin, Report, Result, SourceType};
}
