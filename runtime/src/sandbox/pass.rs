//! One pass of a plugin: a fresh instance from its `InstancePre`, `init`, `capture`, and
//! the outcome. A trap, a timeout or a limit ends that instance only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Store, StoreLimitsBuilder, Trap};
use wasmtime_wasi::WasiCtxBuilder;

use openclone_vault::{SourceType, Tally};

use super::bindings::openclone::capture::types::PluginInfo;
use super::bindings::source_type;
use super::capability::Grants;
use super::capability::log::{LINES_PER_MINUTE, clean_log_text};
use super::context::{Limiter, PluginContext, PluginState};
use super::stdio::CappedPipe;
use super::{EPOCH_TICK, Loaded, Runtime};

/// Bytes of guest stdout/stderr kept per pass (then forwarded to the log); more is dropped
/// and counted, and the pass goes on.
const STDIO_CAPACITY: usize = 64 * 1024;

/// What a successful pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// The host's count of this pass's `emit` calls: events stored and skipped, calls
    /// refused.
    pub tally: Tally,
    /// The largest linear memory the instance reached, bytes.
    pub peak_memory: usize,
    /// Inputs the plugin reported it could not use.
    pub problems: Vec<String>,
    /// Records the plugin skipped inside files it otherwise read.
    pub skipped_records: u32,
    /// Calls a capability refused ([`super::capability::Capability::after_pass`]; for
    /// `net-http` the outgoing requests: scheme, host and port, and why), the first ten of
    /// each, one line each.
    pub refusals: Vec<String>,
    /// What the capabilities did, one line each (`screen: 2 reads, 1 unchanged, 1 OCR
    /// (840 ms)`).
    pub notes: Vec<String>,
    /// Wall time of the pass.
    pub elapsed: Duration,
}

/// Why a pass failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassError {
    /// The epoch deadline passed: the call ran longer than `timeout_s`.
    #[error("timed out after {0:?} (timeout_s) and was stopped")]
    Timeout(Duration),
    /// Linear memory would have grown past `memory_mb`.
    #[error("exceeded its memory limit of {0} MiB and was stopped")]
    Memory(usize),
    /// The guest trapped (a panic, an unreachable, an out-of-bounds access).
    #[error("trapped: {0}")]
    Trap(String),
    /// `init` or `capture` returned an error.
    #[error("{0}")]
    Failed(String),
    /// The host could not set the pass up (a granted path is missing, …).
    #[error("could not start: {0}")]
    Setup(String),
}

impl PassError {
    /// A short word for metrics and the registry: timeout, memory, trap, failed, setup.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Memory(_) => "memory",
            Self::Trap(_) => "trap",
            Self::Failed(_) => "failed",
            Self::Setup(_) => "setup",
        }
    }
}

/// A fresh store for one instance of the plugin: WASI, stdout/stderr captured, each
/// capability prepared from `grants` (the folders of `fs-read` preopened read-only as
/// `/input/N`, the allowlist of `net-http`), memory limit, epoch deadline. Returns the
/// store and its (stdout, stderr) pipes. Build, use and drop it inside [`Runtime::enter`].
pub fn store(
    rt: &Runtime,
    ctx: &Arc<PluginContext>,
    grants: &Grants,
) -> Result<(Store<PluginState>, CappedPipe, CappedPipe), PassError> {
    let mut wasi = WasiCtxBuilder::new();
    let (stdout, stderr) = (
        CappedPipe::new(STDIO_CAPACITY),
        CappedPipe::new(STDIO_CAPACITY),
    );
    // Blocking file I/O goes to the runtime's blocking pool, never the calling thread, so
    // a read that never returns (a FIFO in a granted folder) cannot outlast `timeout_s`.
    wasi.stdout(stdout.clone())
        .stderr(stderr.clone())
        .allow_blocking_current_thread(false);
    let instances = grants.prepare(&ctx.id, &mut wasi)?;
    let limits = StoreLimitsBuilder::new()
        .memory_size(ctx.limits.memory_bytes)
        .instances(64)
        .trap_on_grow_failure(true)
        .build();
    let state = PluginState {
        wasi: wasi.build(),
        table: Default::default(),
        limits: Limiter::new(limits),
        plugin: ctx.clone(),
        tally: Tally::default(),
        logs_suppressed: 0,
        instances,
        describing: false,
    };
    let mut store = Store::new(rt.engine(), state);
    store.limiter(|s| &mut s.limits);
    store.set_epoch_deadline(deadline_ticks(ctx));
    store.epoch_deadline_trap();
    Ok((store, stdout, stderr))
}

fn deadline_ticks(ctx: &PluginContext) -> u64 {
    (ctx.limits.timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// Runs `init` and `capture` once in a new instance with the plugin's grants.
///
/// Each call ends within `timeout_s`: a guest computing is stopped by its epoch deadline,
/// a guest blocked in a host call (sleeping, reading a FIFO) by the call's timeout, which
/// drops the instance mid-call ([`Runtime::run_for`]). Errors: [`PassError`].
pub fn run(
    rt: &Runtime,
    loaded: &Loaded,
    ctx: &Arc<PluginContext>,
) -> Result<PassReport, PassError> {
    let started = Instant::now();
    let _io = rt.enter();
    let (mut store, stdout, stderr) = store(rt, ctx, &ctx.grants)?;
    let ticks = deadline_ticks(ctx);
    let limit = ctx.limits.timeout;
    let timed_out = || PassError::Timeout(limit);
    let result = (|| {
        let instance = rt
            .run_for(limit, loaded.pre.instantiate_async(&mut store))
            .ok_or_else(timed_out)?
            .map_err(|e| classify(e, ctx))?;
        rt.run_for(limit, instance.call_init(&mut store))
            .ok_or_else(timed_out)?
            .map_err(|e| classify(e, ctx))?
            .map_err(|m| PassError::Failed(format!("init: {m}")))?;
        store.set_epoch_deadline(ticks);
        rt.run_for(limit, instance.call_capture(&mut store))
            .ok_or_else(timed_out)?
            .map_err(|e| classify(e, ctx))?
            .map_err(|m| PassError::Failed(format!("capture: {m}")))
    })();
    let tally = store.data().tally;
    let suppressed = store.data().logs_suppressed
        + forward_stdio(ctx, "stdout", &stdout)
        + forward_stdio(ctx, "stderr", &stderr);
    report_suppressed(&ctx.id, suppressed);
    let peak_memory = store.data().limits.peak_memory;
    let refused = store.data().instances.after_pass();
    let (denied, refusals, notes) = (refused.count, refused.lines, refused.notes);
    if let Ok(mut d) = ctx.denials.lock() {
        *d = (denied, refusals.last().cloned());
    }
    let report = result.map_err(|e| match e {
        PassError::Trap(t) => PassError::Trap(with_panic(t, &stderr)),
        // The guest sees only `HTTP-request-denied`; the status gets the host's reason.
        PassError::Failed(m) if denied > 0 => PassError::Failed(format!(
            "{m} (the host denied {denied} request(s); the last shown: {})",
            refusals.last().map_or("", String::as_str)
        )),
        other => other,
    })?;
    Ok(PassReport {
        tally,
        problems: report.problems,
        skipped_records: report.skipped_records,
        refusals,
        notes,
        peak_memory,
        elapsed: started.elapsed(),
    })
}

/// Instantiates the component with no folder or host granted and calls `describe`, within
/// `timeout_s`; `emit` and state writes are refused meanwhile. Errors: it cannot be
/// instantiated, traps or times out.
pub fn describe(
    rt: &Runtime,
    loaded: &Loaded,
    ctx: &Arc<PluginContext>,
) -> Result<PluginInfo, String> {
    let _io = rt.enter();
    let (mut store, _, _) = store(rt, ctx, &Grants::default()).map_err(|e| e.to_string())?;
    store.data_mut().describing = true;
    let limit = ctx.limits.timeout;
    let timed_out = || format!("did not answer within {limit:?}");
    let instance = rt
        .run_for(limit, loaded.pre.instantiate_async(&mut store))
        .ok_or_else(timed_out)?
        .map_err(|e| format!("cannot be instantiated: {e}"))?;
    rt.run_for(limit, instance.call_describe(&mut store))
        .ok_or_else(timed_out)?
        .map_err(|e| format!("describe trapped: {e}"))
}

fn classify(e: wasmtime::Error, ctx: &PluginContext) -> PassError {
    let text = format!("{e:?}");
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PassError::Timeout(ctx.limits.timeout),
        _ if text.contains("forcing trap when growing memory") => {
            PassError::Memory(ctx.limits.memory_bytes >> 20)
        }
        Some(trap) => PassError::Trap(trap.to_string()),
        None => PassError::Trap(text.lines().next().unwrap_or_default().to_owned()),
    }
}

/// Adds the guest's own panic message (Rust guests print it to stderr) to a trap.
fn with_panic(trap: String, stderr: &CappedPipe) -> String {
    let (bytes, _) = stderr.contents();
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines().skip_while(|l| !l.contains("panicked at"));
    match (lines.next(), lines.next()) {
        (Some(at), Some(msg)) => format!(
            "{trap} (guest {} {})",
            at.trim().trim_start_matches("thread '<unnamed>' "),
            clean_log_text(msg.trim())
        ),
        (Some(at), None) => format!("{trap} (guest {})", clean_log_text(at.trim())),
        _ => trap,
    }
}

/// Forwards a guest's stdout or stderr to the log, line by line, under the plugin's log
/// rate limit; returns how many lines the limit held back.
fn forward_stdio(ctx: &PluginContext, stream: &str, pipe: &CappedPipe) -> u32 {
    let (bytes, dropped) = pipe.contents();
    let plugin = &ctx.id;
    let mut suppressed = 0;
    for line in String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        if ctx.log_budget.take(1).is_err() {
            suppressed += 1;
            continue;
        }
        tracing::info!(plugin = %plugin, stream, "{}", clean_log_text(line));
    }
    if dropped > 0 {
        tracing::warn!(plugin = %plugin, stream, dropped_bytes = dropped, "output past the {} KiB cap of one pass was dropped", STDIO_CAPACITY >> 10);
    }
    suppressed
}

/// Says once per pass how many lines (`log` calls and stdout/stderr lines) the plugin's log
/// rate limit held back.
fn report_suppressed(plugin: &str, suppressed: u32) {
    if suppressed > 0 {
        tracing::warn!(plugin = %plugin, suppressed, "suppressed {suppressed} log and output lines past the plugin's log rate limit ({} a minute)", LINES_PER_MINUTE);
    }
}

/// Compares a component's `describe` with its manifest (`plugins validate`, `doctor` and
/// every load by `serve`/`capture`): the same id and version, and no source type the
/// manifest does not declare. Returns a one-line summary. Errors: the mismatch and the fix.
pub fn check_describe(m: &crate::manifest::Manifest, info: &PluginInfo) -> Result<String, String> {
    let types: Vec<SourceType> = info.source_types.iter().map(|s| source_type(*s)).collect();
    if info.id != m.id || info.version != m.version {
        return Err(format!(
            "the component says it is {}@{}, plugin.json says {}@{}; rebuild it or fix plugin.json",
            info.id, info.version, m.id, m.version
        ));
    }
    let undeclared: Vec<&str> = types
        .iter()
        .filter(|t| !m.source_types.contains(t))
        .map(|t| t.as_str())
        .collect();
    if !undeclared.is_empty() {
        return Err(format!(
            "it emits [{}] that plugin.json's source_types do not declare; add them",
            undeclared.join(", ")
        ));
    }
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    Ok(format!(
        "{}@{} emitting [{}]",
        info.id,
        info.version,
        names.join(", ")
    ))
}
