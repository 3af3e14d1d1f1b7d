//! Guest stdout/stderr sinks: a bounded in-memory capture, a sink that
//! discards output while recording the attempt as denied, and the host's own
//! stdout/stderr behind a writer thread (so a stalled reader never blocks a call).

use std::collections::VecDeque;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::task::Waker;
use std::task::{Context, Poll};
use std::time::Instant;

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
                crate::details::Capability::Logging,
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

/// Bytes of guest output that may wait for the host's stdout or stderr
/// before the guest has to wait too.
const HOST_PIPE_CAPACITY: usize = 64 * 1024;

#[derive(Default)]
struct PipeState {
    queue: VecDeque<Bytes>,
    pending: usize,
    wakers: Vec<Waker>,
}

/// One host output stream fed by a dedicated writer thread.
///
/// The guest writes into a bounded queue; when the queue is full the guest's
/// write waits on a future, which the call's deadline can drop. The blocking
/// `write` to the host's descriptor happens only on the writer thread, so a
/// slow or stalled reader of the host's stdout delays the guest's output, never
/// the end of its call.
pub(crate) struct HostPipe {
    state: Mutex<PipeState>,
    changed: Condvar,
}

impl HostPipe {
    fn start(name: &str, mut sink: impl Write + Send + 'static) -> &'static HostPipe {
        let pipe: &'static HostPipe = Box::leak(Box::new(HostPipe {
            state: Mutex::default(),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name(format!("aegis-{name}"))
            .spawn(move || {
                loop {
                    let chunk = {
                        let mut s = pipe.lock();
                        while s.queue.is_empty() {
                            s = pipe.changed.wait(s).unwrap_or_else(|p| p.into_inner());
                        }
                        s.queue.pop_front().unwrap_or_default()
                    };
                    let _ = sink.write_all(&chunk).and_then(|()| sink.flush());
                    let mut s = pipe.lock();
                    s.pending -= chunk.len();
                    s.wakers.drain(..).for_each(Waker::wake);
                    pipe.changed.notify_all();
                }
            })
            .expect("cannot start an aegis output thread");
        pipe
    }

    fn lock(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn room(&self) -> usize {
        HOST_PIPE_CAPACITY.saturating_sub(self.lock().pending)
    }

    fn push(&self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        let mut s = self.lock();
        s.pending += bytes.len();
        s.queue.push_back(bytes);
        self.changed.notify_all();
    }

    /// Ready when the queue has room; otherwise registers `cx`'s waker.
    fn poll_room(&self, cx: &mut Context<'_>) -> Poll<usize> {
        let mut s = self.lock();
        let room = HOST_PIPE_CAPACITY.saturating_sub(s.pending);
        if room > 0 {
            Poll::Ready(room)
        } else {
            s.wakers.push(cx.waker().clone());
            Poll::Pending
        }
    }

    /// Waits until everything queued so far is written, or `deadline` passes.
    fn drain(&self, deadline: Option<Instant>) {
        let mut s = self.lock();
        while s.pending > 0 {
            s = match deadline {
                None => self.changed.wait(s).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return;
                    }
                    self.changed
                        .wait_timeout(s, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }
}

/// The host's stdout, shared by every sandbox with inherited logging.
pub(crate) fn host_stdout() -> &'static HostPipe {
    static PIPE: LazyLock<&'static HostPipe> =
        LazyLock::new(|| HostPipe::start("stdout", std::io::stdout()));
    &PIPE
}

/// The host's stderr, shared by every sandbox with inherited logging.
pub(crate) fn host_stderr() -> &'static HostPipe {
    static PIPE: LazyLock<&'static HostPipe> =
        LazyLock::new(|| HostPipe::start("stderr", std::io::stderr()));
    &PIPE
}

/// Waits (until `deadline` at most) for inherited guest output to reach the
/// host's stdout and stderr, so it appears before whatever the host prints next.
pub(crate) fn drain_host_pipes(deadline: Option<Instant>) {
    host_stdout().drain(deadline);
    host_stderr().drain(deadline);
}

/// A guest stream writing to a [`HostPipe`].
#[derive(Clone, Copy)]
pub(crate) struct Inherited(pub &'static HostPipe, pub bool);

impl IsTerminal for Inherited {
    fn is_terminal(&self) -> bool {
        self.1
    }
}

impl StdoutStream for Inherited {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(*self)
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(*self)
    }
}

impl OutputStream for Inherited {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.0.push(bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(self.0.room())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Inherited {
    async fn ready(&mut self) {
        let pipe = self.0;
        std::future::poll_fn(|cx| pipe.poll_room(cx)).await;
    }
}

impl AsyncWrite for Inherited {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.0.poll_room(cx) {
            Poll::Ready(room) => {
                let n = room.min(buf.len());
                self.0.push(Bytes::copy_from_slice(&buf[..n]));
                Poll::Ready(Ok(n))
            }
            Poll::Pending => Poll::Pending,
        }
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
