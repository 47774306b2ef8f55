//! The key a client presents, under each authentication scheme a way in accepts, and the
//! one check of it: wrong keys per client address are throttled (CONTRACT.md, "Wrong
//! keys") before a key is even looked at.

use std::borrow::Cow;
use std::net::IpAddr;

use base64::Engine as _;
use hyper::HeaderMap;
use openclone_ingest::auth::KeyRing;
use openclone_ingest::ratelimit::KeyGuesses;

use super::Refusal;

/// How a client sends its API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `X-API-Key: <key>` (CONTRACT.md, "Authentication").
    ApiKey,
    /// `Authorization: Bearer <key>` (aw-server's and Prometheus' scheme).
    Bearer,
    /// `Authorization: Basic base64(user:key)` (RFC 7617; the OwnTracks app): the
    /// password is the key, the user name is not checked.
    Basic,
    /// The dashboard's cookie, `Cookie: openclone_key=<percent-encoded key>` (RFC 6265),
    /// set `HttpOnly; SameSite=Strict` when the key was entered once.
    Cookie,
}

/// The dashboard's cookie name ([`Scheme::Cookie`]).
pub const COOKIE: &str = "openclone_key";

/// The key `headers` present under the first of `schemes` that they use; `None` when
/// none is (a malformed Basic credential counts as none).
pub fn presented<'a>(headers: &'a HeaderMap, schemes: &[Scheme]) -> Option<Cow<'a, str>> {
    let authorization = || {
        headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
    };
    schemes.iter().find_map(|s| match s {
        Scheme::ApiKey => headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(Cow::Borrowed),
        Scheme::Bearer => openclone_ingest::auth::bearer(headers).map(Cow::Borrowed),
        Scheme::Basic => {
            let encoded = authorization()?.strip_prefix("Basic ")?.trim();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (_, key) = text.split_once(':')?;
            Some(Cow::Owned(key.to_owned()))
        }
        Scheme::Cookie => headers
            .get_all(hyper::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == COOKIE).then(|| {
                    percent_encoding::percent_decode_str(value)
                        .decode_utf8_lossy()
                        .into_owned()
                })
            })
            .map(Cow::Owned),
    })
}

/// The tenant number whose key `key` is, from client address `peer`: a client that sent
/// too many wrong keys is refused before its key is looked at, and a wrong key counts
/// against its address. Errors: [`Refusal::TooMany`], [`Refusal::Unauthorized`].
pub fn tenant_of(
    keys: &KeyRing,
    guesses: &KeyGuesses,
    peer: IpAddr,
    key: Option<&str>,
) -> Result<usize, Refusal> {
    guesses.allowed(peer).map_err(Refusal::TooMany)?;
    let key = key.ok_or(Refusal::Unauthorized)?;
    keys.tenant_of(key).ok_or_else(|| {
        guesses.failed(peer);
        Refusal::Unauthorized
    })
}

#[cfg(test)]
mod tests {
    use super::{Scheme, presented};
    use hyper::HeaderMap;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn each_scheme_reads_its_own_header() {
        let all = [Scheme::ApiKey, Scheme::Bearer, Scheme::Basic];
        let h = headers(&[("x-api-key", "k1")]);
        assert_eq!(presented(&h, &all).as_deref(), Some("k1"));
        let h = headers(&[("authorization", "Bearer k2 ")]);
        assert_eq!(presented(&h, &all).as_deref(), Some("k2"));
        assert_eq!(presented(&h, &[Scheme::ApiKey, Scheme::Basic]), None);
        // "phone:k3:with:colons" — the password is everything after the first colon.
        let h = headers(&[("authorization", "Basic cGhvbmU6azM6d2l0aDpjb2xvbnM=")]);
        assert_eq!(presented(&h, &all).as_deref(), Some("k3:with:colons"));
        for bad in ["Basic !!!", "Basic cGhvbmU=", "Basic"] {
            let h = headers(&[("authorization", bad)]);
            assert_eq!(presented(&h, &[Scheme::Basic]), None, "{bad}");
        }
    }
}
