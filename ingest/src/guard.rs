//! Panics stay inside the request or pass that caused them (no input panics, and
//! a panic never stalls a path). The pipeline is written not to panic; this is the net
//! under it, so a bug answers one client 500 (or fails one pass) and is logged, while the
//! host and every other client go on.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`; a panic inside it becomes `Err` with the panic's message, logged at ERROR
/// with `what` (the step: "ingest", "emit", "pass of <plugin>").
///
/// Only for work whose state is dropped with the panic (a request's batch, a pass's
/// store): nothing it touched outlives it half-done.
pub fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        tracing::error!(step = %what, panic = %message, "internal error: a panic was caught; the host goes on");
        message
    })
}
