//! `state`: a persisted keyed store, isolated per plugin and namespace, within the
//! plugin's entry, namespace, value and total-size limits.

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, Configure};
use crate::sandbox::bindings::openclone::capture::state;
use crate::sandbox::capability::SettingsError;
use crate::sandbox::context::PluginState;
use crate::sandbox::state_store::{Put, StateError, StateLimits};

/// The `state` capability: every plugin of the world has it.
pub struct State;

impl Capability for State {
    const NAME: &'static str = "state";
    const REQUESTED: bool = false;
    const KEYS: &'static [&'static str] = &[
        "state_max_entries",
        "state_max_value_bytes",
        "state_max_total_bytes",
        "state_max_namespaces",
    ];
    type Grant = StateLimits;
    type Instance = ();

    fn configure(c: &Configure<'_>) -> Result<StateLimits, SettingsError> {
        let d = StateLimits::default();
        Ok(StateLimits {
            max_entries: c.positive_u32("state_max_entries", d.max_entries)?,
            max_value_bytes: c.positive_u32("state_max_value_bytes", d.max_value_bytes)?,
            max_total_bytes: c.positive("state_max_total_bytes", d.max_total_bytes)?,
            max_namespaces: c.positive_u32("state_max_namespaces", d.max_namespaces)?,
        })
    }

    fn link(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
        state::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
        Ok(())
    }

    fn describe(g: &StateLimits) -> String {
        format!(
            "state: its own keyed store, {} namespaces of {} entries, {} bytes per value, {} bytes in all",
            g.max_namespaces, g.max_entries, g.max_value_bytes, g.max_total_bytes
        )
    }
}

fn state_err(e: StateError) -> state::StateError {
    match e {
        StateError::ValueTooLarge(n) => state::StateError::ValueTooLarge(n),
        StateError::Full(n) => state::StateError::Full(n),
        StateError::InvalidKey(m) => state::StateError::InvalidKey(m),
        StateError::Storage(m) => state::StateError::Storage(m),
    }
}

impl PluginState {
    /// `lookup` and (with `consume`) `consume`, in the plugin's own rows.
    fn get(
        &self,
        namespace: &str,
        key: &str,
        consume: bool,
    ) -> Result<Option<String>, state::StateError> {
        if consume {
            self.not_describing()?;
        }
        self.plugin
            .state
            .lookup(&self.plugin.id, namespace, key, consume)
            .map_err(state_err)
    }

    /// Errors while the instance answers `describe` (state writes are side effects).
    fn not_describing(&self) -> Result<(), state::StateError> {
        if self.describing {
            Err(state::StateError::Storage(
                "state write during describe: describe has no side effects".into(),
            ))
        } else {
            Ok(())
        }
    }

    /// `register` and `register-if-absent`: stores `value` under the plugin's own id.
    fn put(&self, namespace: &str, key: &str, put: Put<'_>) -> Result<bool, state::StateError> {
        self.not_describing()?;
        let p = &self.plugin;
        p.state
            .register(&p.id, namespace, key, put, p.grants.state)
            .map_err(state_err)
    }
}

impl state::Host for PluginState {
    fn register(
        &mut self,
        namespace: String,
        key: String,
        value: String,
        ttl_ms: Option<u64>,
    ) -> Result<(), state::StateError> {
        self.put(
            &namespace,
            &key,
            Put {
                value: &value,
                ttl_ms,
                only_if_absent: false,
            },
        )
        .map(drop)
    }

    fn register_if_absent(
        &mut self,
        namespace: String,
        key: String,
        value: String,
        ttl_ms: Option<u64>,
    ) -> Result<bool, state::StateError> {
        self.put(
            &namespace,
            &key,
            Put {
                value: &value,
                ttl_ms,
                only_if_absent: true,
            },
        )
    }

    fn lookup(
        &mut self,
        namespace: String,
        key: String,
    ) -> Result<Option<String>, state::StateError> {
        self.get(&namespace, &key, false)
    }

    fn consume(
        &mut self,
        namespace: String,
        key: String,
    ) -> Result<Option<String>, state::StateError> {
        self.get(&namespace, &key, true)
    }

    fn clear(&mut self, namespace: String) -> Result<(), state::StateError> {
        self.not_describing()?;
        self.plugin
            .state
            .clear(&self.plugin.id, &namespace)
            .map_err(state_err)
    }
}
