//! The SDK's error type.

use std::fmt;

/// Anything a plugin call can fail with; `?` converts I/O, JSON and text errors into it.
#[derive(Debug)]
pub enum Error {
    /// The host refused a batch: every `(field, rule)` it named.
    Invalid(Vec<(String, String)>),
    /// The source type is not declared in the plugin's manifest.
    NotPermitted(String),
    /// A single event is larger than the host's per-emit limit (bytes).
    TooLarge(u64),
    /// The vault could not be written; nothing of the batch was stored.
    Storage(String),
    /// The rate limit did not lift after repeated waits.
    RateLimited,
    /// A state call failed.
    State(String),
    /// A config value is not of the expected type.
    Config(String),
    /// Reading an input failed.
    Io(std::io::Error),
    /// An HTTP request ([`Ctx::http_get`](crate::Ctx::http_get), [`Ctx::fetch`](crate::Ctx::fetch))
    /// got no usable answer: the URL, and why in words (the host's denial, a DNS or
    /// connection failure, naming the `wasi:http` error code; or the status a fetch
    /// refuses).
    Http {
        /// The URL asked for.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// The host answered a screen call with a refusal ([`crate::screen`]).
    Screen(crate::screen::ScreenError),
    /// Anything else, in words.
    Other(String),
}

/// `Result<T, openclone_guest::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(details) => {
                write!(f, "the host refused the batch:")?;
                for (field, message) in details {
                    write!(f, " {field}: {message};")?;
                }
                Ok(())
            }
            Self::NotPermitted(m) => write!(f, "not permitted: {m}"),
            Self::TooLarge(limit) => write!(
                f,
                "one event is larger than the host's per-emit limit of {limit} bytes"
            ),
            Self::Storage(m) => write!(f, "vault write failed: {m}"),
            Self::RateLimited => write!(f, "still rate limited after retrying"),
            Self::State(m) => write!(f, "state: {m}"),
            Self::Config(m) => write!(f, "config: {m}"),
            Self::Io(e) => write!(f, "{e}"),
            Self::Http { url, reason } => write!(f, "{url}: {reason}"),
            Self::Screen(e) => f.write_str(&crate::screen::describe(e)),
            Self::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Self::Other(format!("JSON: {e}"))
    }
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Self::Other(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Self::Other(s.to_owned())
    }
}
