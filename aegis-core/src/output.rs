//! Guest stdout/stderr sinks: a bounded in-memory capture, and a sink that
//! discards output while recording the attempt as denied.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use crate::denied::DeniedLog;

/// Something that accepts guest output bytes.
trait Accept: Clone + Send + Sync + 'static {
    fn accept(&self, bytes: &[u8]);
}

#[derive(Debug, Default)]
struct Buffer {
    data: Vec<u8>,
    limit: usize,
    dropped: u64,
}

/// Keeps up to `limit` bytes of a stream; the rest is counted and dropped, so
/// a guest printing gigabytes costs the host at most `limit` bytes.
#[derive(Debug, Clone)]
pub(crate) struct CaptureBuffer(Arc<Mutex<Buffer>>);

impl CaptureBuffer {
    pub fn new(limit: usize) -> Self {
        CaptureBuffer(Arc::new(Mutex::new(Buffer {
            limit,
            ..Buffer::default()
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The bytes kept so far.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().data.clone()
    }

    /// Bytes dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Empties the buffer and the dropped count.
    pub fn clear(&self) {
        let mut b = self.lock();
        b.data.clear();
        b.dropped = 0;
    }
}

impl Accept for CaptureBuffer {
    fn accept(&self, bytes: &[u8]) {
        let mut b = self.lock();
        let room = b.limit.saturating_sub(b.data.len());
        let kept = room.min(bytes.len());
        b.data.extend_from_slice(&bytes[..kept]);
        b.dropped += (bytes.len() - kept) as u64;
    }
}

/// Discards output and records each write as a denied `logging` operation.
#[derive(Debug, Clone)]
pub(crate) struct DeniedOutput {
    log: DeniedLog,
    stream: &'static str,
}

impl DeniedOutput {
    pub fn new(log: DeniedLog, stream: &'static str) -> Self {
        DeniedOutput { log, stream }
    }
}

impl Accept for DeniedOutput {
    fn accept(&self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.log.record(
                "logging",
                "write",
                format!("{} ({} bytes)", self.stream, bytes.len()),
            );
        }
    }
}

/// Adapts an [`Accept`] to wasmtime-wasi's stream traits. Writes complete
/// synchronously: output is in the buffer when the guest's call returns.
#[derive(Clone)]
pub(crate) struct Sink<A>(pub A);

impl<A: Accept> IsTerminal for Sink<A> {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl<A: Accept> StdoutStream for Sink<A> {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl<A: Accept> OutputStream for Sink<A> {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.0.accept(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl<A: Accept> Pollable for Sink<A> {
    async fn ready(&mut self) {}
}

impl<A: Accept> AsyncWrite for Sink<A> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.accept(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_the_first_bytes_and_counts_the_rest() {
        let c = CaptureBuffer::new(8);
        c.accept(b"hello ");
        c.accept(b"world, again");
        assert_eq!(c.contents(), b"hello wo");
        assert_eq!(c.dropped(), 10);
        c.clear();
        assert!(c.contents().is_empty());
        assert_eq!(c.dropped(), 0);
    }

    #[test]
    fn denied_output_records_each_write() {
        let log = DeniedLog::default();
        let d = DeniedOutput::new(log.clone(), "stdout");
        d.accept(b"abc");
        d.accept(b"");
        let (count, entries) = log.drain();
        assert_eq!(count, 1);
        assert_eq!(entries[0].target, "stdout (3 bytes)");
    }
}
