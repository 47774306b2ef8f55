//! A guest's stdout and stderr: kept up to a cap, then dropped and counted, never an error
//! (a plugin that prints more than the cap is cut, its pass goes on). wasmtime's
//! `MemoryOutputPipe` fails the write past its capacity, which makes a Rust guest's
//! `println!` panic; this pipe accepts every write instead.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// Most bytes one write may hand over at once (what `check-write` grants).
const WRITE_BUDGET: usize = 64 * 1024;

#[derive(Default)]
struct Buffer {
    kept: BytesMut,
    dropped: u64,
}

/// An output stream that keeps its first `capacity` bytes and counts the rest.
#[derive(Clone)]
pub struct CappedPipe {
    capacity: usize,
    buffer: Arc<Mutex<Buffer>>,
}

impl CappedPipe {
    /// A pipe keeping at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            buffer: Arc::default(),
        }
    }

    /// The bytes kept, and how many more were dropped.
    pub fn contents(&self) -> (Bytes, u64) {
        let b = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        (Bytes::copy_from_slice(&b.kept), b.dropped)
    }

    fn take(&self, bytes: &[u8]) {
        let mut b = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        let room = self.capacity.saturating_sub(b.kept.len());
        let keep = bytes.len().min(room);
        b.kept.extend_from_slice(&bytes[..keep]);
        b.dropped += (bytes.len() - keep) as u64;
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.take(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_BUDGET)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

impl AsyncWrite for CappedPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.take(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_cap_bytes_are_counted_not_refused() {
        let mut p = CappedPipe::new(10);
        for _ in 0..3 {
            OutputStream::write(&mut p, Bytes::from_static(b"12345678")).expect("accepted");
        }
        let (kept, dropped) = p.contents();
        assert_eq!((&kept[..], dropped), (&b"1234567812"[..], 14));
    }
}
