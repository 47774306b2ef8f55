//! What a plugin can ask of its host: the WIT imports on wasm32, an in-memory host in
//! native tests ([`crate::testing`]).

use std::path::PathBuf;

use crate::bindings::openclone::capture::{self as wit};
use crate::http::Response;
use crate::screen::{self, Target};
use crate::{Level, SourceType};

/// An event ready for `emit`.
pub(crate) struct WireEvent {
    pub timestamp: f64,
    pub data: String,
    pub raw_ref: Option<String>,
}

/// The host's answer to `emit`.
pub(crate) struct Receipt {
    pub stored: u32,
    pub skipped: u32,
}

/// Why `emit` stored nothing.
pub(crate) enum EmitError {
    Invalid(Vec<(String, String)>),
    NotPermitted(String),
    RateLimited(u32),
    TooLarge(u64),
    Storage(String),
}

/// The keyed-store operations of the `state` interface.
pub(crate) enum StateOp<'a> {
    Register { value: &'a str, ttl_ms: Option<u64> },
    RegisterIfAbsent { value: &'a str, ttl_ms: Option<u64> },
    Lookup,
    Consume,
}

/// The host as the SDK sees it.
pub(crate) trait HostApi {
    fn emit(&mut self, source: SourceType, events: &[WireEvent]) -> Result<Receipt, EmitError>;
    fn log(&mut self, level: Level, message: &str);
    fn config(&self, key: &str) -> Option<String>;
    /// Returns the previous/looked-up value, or for register-if-absent `Some("")` when set.
    fn state(
        &mut self,
        namespace: &str,
        key: &str,
        op: StateOp<'_>,
    ) -> Result<Option<String>, String>;
    fn state_clear(&mut self, namespace: &str) -> Result<(), String>;
    fn inputs(&self) -> Vec<PathBuf>;
    /// GETs `url` with `headers` (name, value); the response whatever its status, or why
    /// there is none (without the URL; the caller names it).
    fn http_get(&mut self, url: &str, headers: &[(String, String)]) -> Result<Response, String>;
    /// The focused window's metadata (`screen.active-window`).
    fn active_window(&mut self) -> Result<screen::Window, screen::ScreenError>;
    /// Milliseconds since the last input (`screen.idle-ms`).
    fn idle_ms(&mut self) -> Result<u64, screen::ScreenError>;
    /// Reads the focused window or a monitor (`screen.read-*`).
    fn read_screen(&mut self, target: Target) -> Result<screen::Reading, screen::ScreenError>;
}

/// The real host, through the component's imports.
pub(crate) struct WitHost;

fn state_error(e: wit::state::StateError) -> String {
    match e {
        wit::state::StateError::ValueTooLarge(limit) => format!("value larger than {limit} bytes"),
        wit::state::StateError::Full(limit) => {
            format!("namespace holds its maximum of {limit} entries")
        }
        wit::state::StateError::InvalidKey(m) => format!("invalid key: {m}"),
        wit::state::StateError::Storage(m) => format!("host store failed: {m}"),
    }
}

impl HostApi for WitHost {
    fn emit(&mut self, source: SourceType, events: &[WireEvent]) -> Result<Receipt, EmitError> {
        let events: Vec<wit::types::Event> = events
            .iter()
            .map(|e| wit::types::Event {
                timestamp: e.timestamp,
                data: e.data.clone(),
                raw_ref: e.raw_ref.clone(),
            })
            .collect();
        match wit::emit::emit(source, &events) {
            Ok(r) => Ok(Receipt {
                stored: r.stored,
                skipped: r.skipped,
            }),
            Err(wit::types::EmitError::Invalid(d)) => Err(EmitError::Invalid(
                d.into_iter().map(|f| (f.field, f.message)).collect(),
            )),
            Err(wit::types::EmitError::NotPermitted(m)) => Err(EmitError::NotPermitted(m)),
            Err(wit::types::EmitError::RateLimited(ms)) => Err(EmitError::RateLimited(ms)),
            Err(wit::types::EmitError::TooLarge(limit)) => Err(EmitError::TooLarge(limit)),
            Err(wit::types::EmitError::Storage(m)) => Err(EmitError::Storage(m)),
        }
    }

    fn log(&mut self, level: Level, message: &str) {
        wit::log::log(level, message);
    }

    fn config(&self, key: &str) -> Option<String> {
        wit::config::get(key)
    }

    fn state(
        &mut self,
        namespace: &str,
        key: &str,
        op: StateOp<'_>,
    ) -> Result<Option<String>, String> {
        match op {
            StateOp::Register { value, ttl_ms } => {
                wit::state::register(namespace, key, value, ttl_ms).map(|()| None)
            }
            StateOp::RegisterIfAbsent { value, ttl_ms } => {
                wit::state::register_if_absent(namespace, key, value, ttl_ms)
                    .map(|set| set.then(String::new))
            }
            StateOp::Lookup => wit::state::lookup(namespace, key),
            StateOp::Consume => wit::state::consume(namespace, key),
        }
        .map_err(state_error)
    }

    fn state_clear(&mut self, namespace: &str) -> Result<(), String> {
        wit::state::clear(namespace).map_err(state_error)
    }

    /// The granted folders: `/input/0`, `/input/1`, … as far as they exist.
    fn inputs(&self) -> Vec<PathBuf> {
        (0..)
            .map(|i| PathBuf::from(format!("/input/{i}")))
            .take_while(|p| std::fs::metadata(p).is_ok())
            .collect()
    }

    fn active_window(&mut self) -> Result<screen::Window, screen::ScreenError> {
        wit::screen::active_window()
    }

    fn idle_ms(&mut self) -> Result<u64, screen::ScreenError> {
        wit::screen::idle_ms()
    }

    fn read_screen(&mut self, target: Target) -> Result<screen::Reading, screen::ScreenError> {
        match target {
            Target::ActiveWindow => wit::screen::read_active_window(),
            Target::Monitor(n) => wit::screen::read_monitor(n),
        }
    }

    #[cfg(target_arch = "wasm32")]
    fn http_get(&mut self, url: &str, headers: &[(String, String)]) -> Result<Response, String> {
        crate::wasi_http::get(url, headers)
    }

    /// Only a component has the `wasi:http` import; natively, tests use the harness.
    #[cfg(not(target_arch = "wasm32"))]
    fn http_get(&mut self, _url: &str, _headers: &[(String, String)]) -> Result<Response, String> {
        Err(
            "outgoing HTTP needs the wasm32 component (native tests: testing::Harness::http)"
                .into(),
        )
    }
}
