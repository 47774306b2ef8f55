//! `log`: the host's log, tagged with the plugin id, under a lines-per-minute budget.

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, Configure};
use crate::sandbox::bindings::openclone::capture::log;
use crate::sandbox::capability::SettingsError;
use crate::sandbox::context::PluginState;

/// The `log` capability: every plugin of the world has it.
pub struct Log;

/// A plugin may log this many lines a minute (a burst of as many); the rest are
/// counted and summed up in one line per pass.
pub const LINES_PER_MINUTE: u32 = 120;

/// Longest log line kept from a guest, bytes.
const MAX_LOG_BYTES: usize = 4096;

impl Capability for Log {
    const NAME: &'static str = "log";
    const REQUESTED: bool = false;
    const KEYS: &'static [&'static str] = &[];
    type Grant = ();
    type Instance = ();

    fn configure(_: &Configure<'_>) -> Result<(), SettingsError> {
        Ok(())
    }

    fn link(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
        log::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
        Ok(())
    }

    fn describe((): &()) -> String {
        format!(
            "log: to the host's log, tagged with the plugin id, {LINES_PER_MINUTE} lines a minute (stdout and stderr too)"
        )
    }
}

/// A guest's text made safe for the host's log: control characters shown escaped, capped
/// at 4 KiB.
pub fn clean_log_text(message: &str) -> String {
    let mut end = message.len().min(MAX_LOG_BYTES);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message[..end]
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

impl log::Host for PluginState {
    fn log(&mut self, level: log::Level, message: String) {
        if self.plugin.log_budget.take(1).is_err() {
            self.logs_suppressed += 1;
            return;
        }
        let plugin = &self.plugin.id;
        let message = clean_log_text(&message);
        match level {
            log::Level::Trace => tracing::trace!(plugin = %plugin, "{message}"),
            log::Level::Debug => tracing::debug!(plugin = %plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin = %plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin = %plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin = %plugin, "{message}"),
        }
    }
}
