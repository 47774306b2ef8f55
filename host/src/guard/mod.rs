//! The request guard every listener uses before a route sees a request (the ingest API,
//! the ActivityWatch API, each later way in): the body's cap, deadline and shared memory
//! budget ([`body`]), the one `Host` check ([`host`]), and the key a client presents under
//! each authentication scheme, with wrong-key throttling ([`key`]). A new way in picks its
//! limits and schemes here; it does not write its own.

pub mod body;
pub mod host;
pub mod key;

use std::net::SocketAddr;

use hyper::Request;

/// Why the request guard turned a request away before a route saw it: the one refusal
/// type of this layer. Each listener answers it in its own words (the ingest API's JSON
/// errors, aw-server's messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `Host` does not name this host ([`host::allowed`]).
    Host,
    /// A web page whose `Origin` is not allowed.
    Origin,
    /// No key, or not a key of this listener's tenants (→ 401).
    Unauthorized,
    /// Too many wrong keys from this address, or the key's rate-limit bucket is empty
    /// (→ 429): retry after this many seconds.
    TooMany(u64),
}

/// The address a request's connection came from, in the request's extensions (set by
/// [`crate::http::accept`]): failed-key throttling and `/metrics` beyond loopback go by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl Peer {
    /// The peer of `req`; a request without one (not from an accept loop) counts as
    /// loopback.
    pub fn of<B>(req: &Request<B>) -> std::net::IpAddr {
        req.extensions()
            .get::<Self>()
            .map_or(std::net::Ipv4Addr::LOCALHOST.into(), |p| p.0.ip())
    }
}
