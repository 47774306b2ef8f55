//! The one `Host` check (CONTRACT.md, "Host and Origin"): a request's `Host` must name this
//! host, so a web page that rebinds its own name to 127.0.0.1 (DNS rebinding, as in
//! ActivityWatch's GHSA-v9fg-6g9j-h4x4 / CVE-2022-31149) is refused.

use std::net::SocketAddr;

/// Which ports this host's own names may carry in `Host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ports {
    /// Only the listening port (the ingest API: `localhost:8000`, not `localhost:80`).
    Listening,
    /// Any port, or none (aw-server-rust's `hostcheck.rs` rule, which the ActivityWatch
    /// watchers and web UI expect).
    Any,
}

/// Whether `host` (`name` or `name:port`, any case) names this host, listening at
/// `local`: `localhost`, `127.0.0.1`, `[::1]` or the listening address's IP, with a port
/// as `ports` says; or a name of `allowed` (`[http] allowed_hosts`): a name given with a
/// port matches only that port, one without matches no port (a proxy on 80/443) or, as
/// `ports` says, the listening one or any.
pub fn allowed(host: &str, local: SocketAddr, allowed: &[String], ports: Ports) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let (name, port) = match host.rfind(':') {
        Some(i) if !host.ends_with(']') => (&host[..i], Some(&host[i + 1..])),
        _ => (host.as_str(), None),
    };
    let listening = local.port().to_string();
    let port_ok = |p: Option<&str>| match ports {
        Ports::Any => true,
        Ports::Listening => p == Some(listening.as_str()),
    };
    let ip = match local {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    let own = ["localhost", "127.0.0.1", "[::1]", ip.as_str()];
    (own.contains(&name) && port_ok(port))
        || allowed.iter().any(|a| {
            let a = a.trim().to_ascii_lowercase();
            let with_port = a.rfind(':').is_some_and(|i| !a[i..].contains(']'));
            if with_port {
                a == host
            } else {
                a == name && (port.is_none() || port_ok(port))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::{Ports, allowed};
    use std::net::SocketAddr;

    #[test]
    fn only_this_hosts_names_pass() {
        let names = vec!["memory.lan".to_owned(), "phone-gw:9000".to_owned()];
        let local: SocketAddr = "127.0.0.1:8000".parse().expect("addr");
        for ok in [
            "127.0.0.1:8000",
            "localhost:8000",
            "LOCALHOST:8000",
            "[::1]:8000",
            "memory.lan:8000",
            "memory.lan",
            "phone-gw:9000",
        ] {
            assert!(allowed(ok, local, &names, Ports::Listening), "{ok}");
        }
        for bad in [
            "attacker.example:8000",
            "localhost:8001",
            "127.0.0.1",
            "memory.lan:9000",
            "phone-gw:8000",
            "localhost.attacker.example:8000",
            "",
        ] {
            assert!(!allowed(bad, local, &names, Ports::Listening), "{bad}");
        }
    }

    #[test]
    fn aw_servers_rule_takes_loopback_names_on_any_port() {
        let local: SocketAddr = "127.0.0.1:5600".parse().expect("addr");
        for ok in ["127.0.0.1", "localhost:5600", "localhost:3000", "[::1]"] {
            assert!(allowed(ok, local, &[], Ports::Any), "{ok}");
        }
        for bad in [
            "attacker.example",
            "attacker.example:5600",
            "127.0.0.1.nip.io",
        ] {
            assert!(!allowed(bad, local, &[], Ports::Any), "{bad}");
        }
    }
}
