//! The net-http allowlist: host patterns (`host` or `host:port`), the intersection of what
//! `plugin.json` requests and `[plugins.<id>] allowed_hosts` grants, and which resolved
//! addresses a plugin may reach.

use std::net::{IpAddr, SocketAddr};

/// One allowlist entry: a host name or IP literal, and optionally a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// Lower-case host name, or an IP literal (IPv6 without brackets).
    pub host: String,
    /// The one port it allows; `None`: any port.
    pub port: Option<u16>,
}

impl HostPattern {
    /// Parses `host`, `host:port`, `1.2.3.4`, `1.2.3.4:80`, `[::1]` or `[::1]:8080`.
    ///
    /// Errors: empty, a scheme or path, a bad port, or characters a host name cannot have.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "{s:?} {why}; write `host` or `host:port`, e.g. \"calendar.example.com\" or \"127.0.0.1:8080\""
            )
        };
        if s.contains("://") || s.contains('/') {
            return Err(bad("is a URL, not a host"));
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("has an unclosed ["))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("has text after ]"))?),
            };
            h.parse::<std::net::Ipv6Addr>()
                .map_err(|_| bad("is not an IPv6 address in brackets"))?;
            (h.to_owned(), port)
        } else if s.parse::<std::net::Ipv6Addr>().is_ok() {
            (s.to_owned(), None)
        } else {
            match s.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (s.to_owned(), None),
            }
        };
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("has a port that is not 1-65535"))
            })
            .transpose()?;
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let name_ok = host.parse::<std::net::Ipv6Addr>().is_ok()
            || (!host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')));
        if !name_ok {
            return Err(bad("is not a host name"));
        }
        Ok(Self { host, port })
    }

    /// True if it allows `host` (lower-case) on `port`.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port.is_none_or(|p| p == port)
    }

    /// True if it names the address `ip` itself (on `port`).
    fn names(&self, ip: IpAddr, port: u16) -> bool {
        self.host.parse::<IpAddr>().is_ok_and(|h| h == ip) && self.port.is_none_or(|p| p == port)
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => write!(f, "{host}:{p}"),
            None => f.write_str(&host),
        }
    }
}

/// What `plugin.json` `allowed_hosts` requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// `"*"`: any host the user grants (for plugins whose hosts come from the user).
    Any,
    /// Only these.
    Hosts(Vec<HostPattern>),
}

impl Requested {
    /// Parses the manifest's list. Errors: not strings, empty, or a bad entry.
    pub fn parse(items: &[String]) -> Result<Self, String> {
        if items.is_empty() {
            return Err(
                "must name at least one host, or \"*\" for the hosts the user grants".into(),
            );
        }
        if items.iter().any(|i| i == "*") {
            return if items.len() == 1 {
                Ok(Self::Any)
            } else {
                Err("\"*\" must be the only entry".into())
            };
        }
        items
            .iter()
            .map(|i| HostPattern::parse(i))
            .collect::<Result<_, _>>()
            .map(Self::Hosts)
    }

    fn allows(&self, host: &str, port: u16) -> bool {
        match self {
            Self::Any => true,
            Self::Hosts(h) => h.iter().any(|p| p.allows(host, port)),
        }
    }
}

/// A checked destination: where a request may go before its name is resolved.
#[derive(Debug, Clone)]
pub struct Target {
    /// Lower-case host (IPv6 without brackets).
    pub host: String,
    /// The port (80 or 443 unless given).
    pub port: u16,
    /// `https`.
    pub tls: bool,
}

/// The allowlist of one plugin: both lists, checked per request.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The plugin id (for messages).
    pub plugin: String,
    /// `plugin.json` `allowed_hosts`.
    pub requested: Requested,
    /// `[plugins.<id>] allowed_hosts`.
    pub granted: Vec<HostPattern>,
}

impl Policy {
    /// The config's grants that the manifest requests too (what `inspect` shows).
    pub fn effective(&self) -> Vec<&HostPattern> {
        self.granted
            .iter()
            .filter(|g| match &self.requested {
                Requested::Any => true,
                Requested::Hosts(h) => h
                    .iter()
                    .any(|r| r.host == g.host && (r.port.is_none() || r.port == g.port)),
            })
            .collect()
    }

    /// Checks a request's scheme, host and port against both lists. An IP literal passes
    /// only if the config names it. Errors: the refusal, naming the host and the list.
    pub fn check(&self, uri: &http::Uri) -> Result<Target, String> {
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => {
                return Err(format!(
                    "scheme {:?} is not http or https",
                    other.unwrap_or("")
                ));
            }
        };
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err("a URL with user information (user@host) is not sent".into());
        }
        let host = uri
            .host()
            .ok_or_else(|| "the URL has no host".to_owned())?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let shown = HostPattern {
            host: host.clone(),
            port: Some(port),
        };
        if !self.granted.iter().any(|g| g.allows(&host, port)) {
            let what = if host.parse::<IpAddr>().is_ok() {
                "an IP literal"
            } else {
                "a host"
            };
            return Err(format!(
                "{shown} is {what} not granted in [plugins.{}] allowed_hosts of openclone.toml",
                self.plugin
            ));
        }
        if !self.requested.allows(&host, port) {
            return Err(format!(
                "{shown} is granted in openclone.toml but not requested in the plugin's plugin.json allowed_hosts"
            ));
        }
        Ok(Target { host, port, tls })
    }

    /// Of the addresses `target`'s name resolved to, those the plugin may reach: public
    /// ones, and loopback, private or link-local ones only if the config names the
    /// address itself. An IP literal (already named by the config) passes as it is.
    /// Errors: none is reachable, naming the first address refused and why.
    pub fn reachable(
        &self,
        target: &Target,
        addrs: &[SocketAddr],
    ) -> Result<Vec<SocketAddr>, String> {
        if target.host.parse::<IpAddr>().is_ok() {
            return Ok(addrs.to_vec());
        }
        let mut refused = None;
        let ok: Vec<SocketAddr> = addrs
            .iter()
            .filter(|a| match non_public(a.ip()) {
                None => true,
                Some(_) if self.granted.iter().any(|g| g.names(a.ip(), a.port())) => true,
                Some(kind) => {
                    refused.get_or_insert((a.ip(), kind));
                    false
                }
            })
            .copied()
            .collect();
        match (ok.is_empty(), refused) {
            (true, Some((ip, kind))) => Err(format!(
                "{} resolves to {ip}, a {kind} address; name it in [plugins.{}] allowed_hosts (e.g. \"{}\") to allow it",
                target.host,
                self.plugin,
                HostPattern {
                    host: ip.to_string(),
                    port: Some(target.port)
                }
            )),
            (true, None) => Err(format!("{} resolves to no address", target.host)),
            (false, _) => Ok(ok),
        }
    }
}

/// Why an address is not public (loopback, private, link-local, …), or `None`.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() || (o[0] == 100 && (o[1] & 0xC0) == 64) {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || o[0] >= 240
                || (o[0] == 198 && (o[1] & 0xFE) == 18)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
            {
                Some("non-routable")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(std::net::Ipv4Addr::from(
                    (u32::from(hi) << 16) | u32::from(lo),
                ))
            };
            // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64
            // (64:ff9b::/96, 64:ff9b:1::/48) and 6to4 (2002::/16) reach that IPv4 address.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public(IpAddr::V4(v4));
            }
            if s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
                return non_public(embedded(s[6], s[7]));
            }
            if s[0] == 0x64 && s[1] == 0xff9b && (s[2..6] == [0; 4] || s[2] == 1) {
                return non_public(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return non_public(embedded(s[1], s[2]));
            }
            let seg = s[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if (seg & 0xfe00) == 0xfc00 {
                Some("private")
            } else if (seg & 0xffc0) == 0xfe80 || (seg & 0xffc0) == 0xfec0 {
                Some("link-local")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("non-routable")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(requested: &[&str], granted: &[&str]) -> Policy {
        let own = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Policy {
            plugin: "p".into(),
            requested: Requested::parse(&own(requested)).expect("requested"),
            granted: granted
                .iter()
                .map(|g| HostPattern::parse(g).expect("granted"))
                .collect(),
        }
    }

    fn uri(s: &str) -> http::Uri {
        s.parse().expect("uri")
    }

    #[test]
    fn patterns_parse_hosts_ports_and_ipv6_and_refuse_urls() {
        assert_eq!(
            HostPattern::parse("Example.COM:8443").expect("ok"),
            HostPattern {
                host: "example.com".into(),
                port: Some(8443)
            }
        );
        assert_eq!(
            HostPattern::parse("[::1]:80").expect("ok").to_string(),
            "[::1]:80"
        );
        assert_eq!(HostPattern::parse("::1").expect("ok").port, None);
        for bad in [
            "",
            "a:b:80",
            "https://x.com",
            "x.com/cal",
            "x.com:0",
            "x.com:99999",
            "a b",
            "[::1",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Requested::parse(&["*".into(), "a.com".into()]).is_err());
        assert!(Requested::parse(&[]).is_err());
    }

    #[test]
    fn a_request_needs_both_lists() {
        let p = policy(
            &["api.example.com", "cal.example.com:8443"],
            &["api.example.com", "other.org"],
        );
        assert!(p.check(&uri("https://api.example.com/v1")).is_ok());
        let only_config = p
            .check(&uri("https://other.org/"))
            .expect_err("not requested");
        assert!(only_config.contains("plugin.json"), "{only_config}");
        let only_manifest = p
            .check(&uri("https://cal.example.com:8443/"))
            .expect_err("not granted");
        assert!(only_manifest.contains("openclone.toml"), "{only_manifest}");
        assert!(p.check(&uri("ftp://api.example.com/")).is_err());
        assert!(
            p.check(&uri("https://API.Example.COM./v1")).is_ok(),
            "case and a trailing dot"
        );
        assert!(
            p.check(&uri("https://u:pw@api.example.com/")).is_err(),
            "userinfo"
        );
        let any = policy(&["*"], &["cal.example.com:8443"]);
        assert!(
            any.check(&uri("https://cal.example.com:8443/x.ics"))
                .is_ok()
        );
        assert!(
            any.check(&uri("https://cal.example.com/x.ics")).is_err(),
            "another port"
        );
        let unnamed = Policy {
            plugin: "p".into(),
            requested: Requested::Hosts(Vec::new()),
            granted: vec![HostPattern::parse("a.com").expect("granted")],
        };
        assert!(
            unnamed.check(&uri("https://a.com/")).is_err(),
            "net-http without allowed_hosts in plugin.json allows nothing"
        );
    }

    #[test]
    fn ip_literals_pass_only_when_the_config_names_them() {
        let p = policy(&["*"], &["localhost:8080", "10.0.0.7"]);
        let e = p
            .check(&uri("http://127.0.0.1:8080/"))
            .expect_err("literal not named");
        assert!(e.contains("IP literal"), "{e}");
        let t = p
            .check(&uri("http://10.0.0.7:9000/"))
            .expect("named literal");
        let a: SocketAddr = "10.0.0.7:9000".parse().expect("addr");
        assert_eq!(p.reachable(&t, &[a]).expect("named"), vec![a]);
    }

    #[test]
    fn names_resolving_to_private_addresses_are_refused_unless_the_address_is_named() {
        let p = policy(&["*"], &["localhost:8080"]);
        let t = p
            .check(&uri("http://localhost:8080/"))
            .expect("granted name");
        let lo: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let e = p.reachable(&t, &[lo]).expect_err("loopback");
        assert!(
            e.contains("loopback") && e.contains("127.0.0.1:8080"),
            "{e}"
        );
        let named = policy(&["*"], &["localhost:8080", "127.0.0.1:8080"]);
        assert_eq!(named.reachable(&t, &[lo]).expect("named"), vec![lo]);
        let public: SocketAddr = "93.184.216.34:8080".parse().expect("addr");
        assert_eq!(
            p.reachable(&t, &[lo, public]).expect("public one"),
            vec![public]
        );
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "fe80::1",
            "fec0::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(
                non_public(private.parse().expect("ip")).is_some(),
                "{private}"
            );
        }
        assert!(non_public("2606:4700::1111".parse().expect("ip")).is_none());
        assert!(non_public("64:ff9b::8.8.8.8".parse().expect("ip")).is_none());
        assert!(non_public("2002:0808:0808::1".parse().expect("ip")).is_none());
    }
}
