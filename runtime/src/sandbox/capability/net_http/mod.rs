//! `net-http`: outgoing HTTP(S) through `wasi:http/outgoing-handler` (wasmtime-wasi-http),
//! only to hosts both `plugin.json` `allowed_hosts` requests and `[plugins.<id>]
//! allowed_hosts` grants, enforced in the send-request hook, with a per-request timeout,
//! a response size cap and a requests-per-pass limit.
//!
//! `wasi:http` is linked for every plugin; without the grant every request is denied
//! (`HTTP-request-denied`), and each refusal is logged and kept for the plugin's status.

pub mod policy;
mod send;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use wasmtime::component::Linker;
use wasmtime_wasi_http::{
    Error, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use self::policy::{HostPattern, Policy, Requested};
pub use self::send::RequestLimits;
use super::{Capability, Configure};
use crate::sandbox::capability::SettingsError;
use crate::sandbox::context::PluginState;

/// The `net-http` capability.
pub struct NetHttp;

/// The longest `http_timeout_s` honoured (an hour); a pass's own `timeout_s` still applies.
const MAX_TIMEOUT_S: u64 = 3600;

/// What a plugin may reach.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The allowlist, if the manifest requests `net-http` (else every request is denied).
    pub policy: Option<Arc<Policy>>,
    /// Per-request limits: `http_timeout_s` (default 30) and `http_max_response_bytes`
    /// (default 16 MiB).
    pub limits: RequestLimits,
    /// Requests one pass may make; `http_requests_per_pass`, default 100.
    pub requests_per_pass: u32,
}

impl Default for Grant {
    fn default() -> Self {
        Self {
            policy: None,
            limits: RequestLimits {
                timeout: Duration::from_secs(30),
                max_response_bytes: 16 << 20,
            },
            requests_per_pass: 100,
        }
    }
}

/// The manifest's `allowed_hosts`, as strings. Errors: not an array of strings.
fn manifest_hosts(raw: &Map<String, Value>) -> Result<Option<Vec<String>>, String> {
    match raw.get("allowed_hosts") {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| "must be an array of host names".into()),
        Some(_) => Err("must be an array of host names".into()),
    }
}

impl Capability for NetHttp {
    const NAME: &'static str = "net-http";
    const REQUESTED: bool = true;
    const KEYS: &'static [&'static str] = &[
        "allowed_hosts",
        "http_timeout_s",
        "http_max_response_bytes",
        "http_requests_per_pass",
    ];
    type Grant = Grant;
    type Instance = Instance;

    /// CONTRACT.md, plugin.json: `allowed_hosts`, when present, is `host`, `host:port` or
    /// `["*"]` alone. Without it (or without `net-http`) no request is allowed, which
    /// `doctor` and `inspect` say; a manifest is not refused for it.
    fn check_manifest(raw: &Map<String, Value>) -> Result<(), (String, String)> {
        let field = |m: String| ("allowed_hosts".to_owned(), m);
        match manifest_hosts(raw).map_err(field)? {
            Some(h) => Requested::parse(&h).map(drop).map_err(field),
            None => Ok(()),
        }
    }

    /// Errors: `allowed_hosts` is not an array of `host`/`host:port` entries (a `"*"` is
    /// refused: the user names each host), or a limit is not a positive number.
    fn configure(c: &Configure<'_>) -> Result<Grant, SettingsError> {
        let d = Grant::default();
        let granted = match c.table.get("allowed_hosts") {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| match v.as_str() {
                    Some("*") => Err(c.err(
                        "allowed_hosts",
                        "\"*\" is not a grant: name each host (`host` or `host:port`)",
                    )),
                    Some(s) => HostPattern::parse(s).map_err(|m| c.err("allowed_hosts", m)),
                    None => Err(c.err("allowed_hosts", "must be an array of host names")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(c.err("allowed_hosts", "must be an array of host names")),
        };
        let requested = match manifest_hosts(&c.manifest.raw) {
            _ if !c.requested(Self::NAME) => None,
            Ok(Some(h)) => Requested::parse(&h).ok(),
            _ => Some(Requested::Hosts(Vec::new())),
        };
        Ok(Grant {
            policy: requested.map(|requested| {
                Arc::new(Policy {
                    plugin: c.manifest.id.clone(),
                    requested,
                    granted,
                })
            }),
            limits: RequestLimits {
                timeout: Duration::from_secs(
                    c.positive("http_timeout_s", d.limits.timeout.as_secs())?
                        .min(MAX_TIMEOUT_S),
                ),
                max_response_bytes: c
                    .positive("http_max_response_bytes", d.limits.max_response_bytes)?,
            },
            requests_per_pass: c.positive_u32("http_requests_per_pass", d.requests_per_pass)?,
        })
    }

    fn link(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
        Ok(())
    }

    fn prepare(
        g: &Grant,
        plugin: &str,
        _: &mut wasmtime_wasi::WasiCtxBuilder,
    ) -> Result<Instance, crate::sandbox::pass::PassError> {
        Ok(Instance {
            ctx: WasiHttpCtx::new(),
            hooks: Hooks {
                plugin: plugin.to_owned(),
                grant: g.clone(),
                sent: 0,
                refusals: Arc::default(),
            },
        })
    }

    fn after_pass(i: &Instance) -> super::AfterPass {
        let (count, lines) = i.denials();
        super::AfterPass {
            count,
            lines,
            notes: Vec::new(),
        }
    }

    fn missing(g: &Grant) -> Option<String> {
        let p = g.policy.as_ref()?;
        if p.requested == Requested::Hosts(Vec::new()) {
            Some("requests net-http, but its plugin.json names no allowed_hosts: every request is denied".into())
        } else if p.granted.is_empty() {
            Some("requests net-http, but its `allowed_hosts` are empty: every request is denied; add the hosts it may reach".into())
        } else if p.effective().is_empty() {
            Some("requests net-http, but none of its `allowed_hosts` is requested in plugin.json: every request is denied".into())
        } else {
            None
        }
    }

    fn describe(g: &Grant) -> String {
        let Some(p) = &g.policy else {
            return "net-http: not requested; every request is denied".into();
        };
        let requested = match &p.requested {
            Requested::Any => "any host the config grants".to_owned(),
            Requested::Hosts(h) if h.is_empty() => {
                "no host: plugin.json has no allowed_hosts".to_owned()
            }
            Requested::Hosts(h) => h
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        };
        if p.granted.is_empty() {
            return format!(
                "net-http: requested ({requested}), NOT granted (no `allowed_hosts` in its settings): every request is denied"
            );
        }
        let effective: Vec<String> = p.effective().iter().map(ToString::to_string).collect();
        if effective.is_empty() {
            return format!(
                "net-http: requested ({requested}), NOT granted: none of the config's allowed_hosts is requested; every request is denied"
            );
        }
        format!(
            "net-http: granted — {} (requested: {requested}); {} s per request, {} bytes per response, {} requests per pass",
            effective.join(", "),
            g.limits.timeout.as_secs(),
            g.limits.max_response_bytes,
            g.requests_per_pass
        )
    }
}

/// `net-http` in one instance: wasi:http's context and the allowlist hooks.
#[derive(Default)]
pub struct Instance {
    ctx: WasiHttpCtx,
    hooks: Hooks,
}

impl Instance {
    /// The denials of this instance so far: how many, and the first ten, one line each
    /// (scheme, host and port, and why).
    pub fn denials(&self) -> (u32, Vec<String>) {
        self.hooks
            .refusals
            .lock()
            .map(|d| (d.count, d.first.clone()))
            .unwrap_or_default()
    }
}

/// The send-request hook: the allowlist, the limits, the refusals.
#[derive(Default)]
struct Hooks {
    plugin: String,
    grant: Grant,
    sent: u32,
    refusals: Arc<Mutex<Denials>>,
}

/// Denials kept (and logged) per pass; the rest are only counted.
const DENIALS_KEPT: usize = 10;

/// The denials of one pass.
#[derive(Debug, Default)]
struct Denials {
    /// All of them.
    count: u32,
    /// The first [`DENIALS_KEPT`], one line each: where and why.
    first: Vec<String>,
}

/// Records a denial and logs the first few of a pass.
fn refuse(plugin: &str, denials: &Mutex<Denials>, url: &str, why: String) {
    let Ok(mut d) = denials.lock() else {
        return;
    };
    d.count += 1;
    if d.first.len() < DENIALS_KEPT {
        tracing::warn!(plugin = %plugin, url = %url, "net-http request denied: {why}");
        d.first.push(format!("{url}: {why}"));
    }
}

/// A request's URL as logs and statuses show it: scheme, host and port only. Paths and
/// queries of calendar subscriptions and API calls hold secrets.
fn shown_url(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("?");
    let host = uri.host().unwrap_or("?");
    match uri.port_u16() {
        Some(p) => format!("{scheme}://{host}:{p}/…"),
        None => format!("{scheme}://{host}/…"),
    }
}

type Sent = Box<dyn Future<Output = Result<(http::Response<WasiBody>, send::Io), Error>> + Send>;

impl WasiHttpHooks for Hooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Sent {
        let url = shown_url(request.uri());
        // Every attempt counts, denied or not, so a loop of denied requests ends too.
        self.sent = self.sent.saturating_add(1);
        let checked = match &self.grant.policy {
            None => Err("the plugin's plugin.json does not request net-http".to_owned()),
            Some(_) if self.sent > self.grant.requests_per_pass => Err(format!(
                "past {} requests in one pass (http_requests_per_pass)",
                self.grant.requests_per_pass
            )),
            Some(p) => p.check(request.uri()).map(|t| (t, p.clone())),
        };
        let (target, policy) = match checked {
            Ok(ok) => ok,
            Err(why) => {
                refuse(&self.plugin, &self.refusals, &url, why);
                return Box::new(async { Err(Error::HttpRequestDenied) });
            }
        };
        let (plugin, refusals, limits) = (
            self.plugin.clone(),
            self.refusals.clone(),
            self.grant.limits,
        );
        Box::new(send::send(request, target, policy, limits, move |why| {
            refuse(&plugin, &refusals, &url, why);
        }))
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        let net = &mut self.instances.net_http;
        WasiHttpCtxView {
            ctx: &mut net.ctx,
            table: &mut self.table,
            hooks: &mut net.hooks,
        }
    }
}
