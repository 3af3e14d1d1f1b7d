//! How one call ends on time: deadlines, interrupts, and the executor that
//! drives guest code on the caller's thread.
//!
//! # Why wasmtime's async support
//!
//! Epoch interruption only fires while wasm code runs. A guest can instead
//! make the *host* wait: a WASI sleep (`poll_oneoff`, a `wasi:clocks`
//! pollable), a read from a FIFO, a write to a full pipe, a socket. In
//! wasmtime-wasi's synchronous mode those waits block the calling thread
//! outright, so no limit can end them. Every call therefore runs through
//! wasmtime's `*_async` entry points, with the WASI functions linked in their
//! async form: guest code runs on a fiber (its own stack, which also means a
//! guest can never overflow a small host thread's stack), every host wait is
//! a future, and [`drive`] polls that future on the calling thread while
//! watching the call's monotonic deadline and its interrupt signal. When
//! either fires during a wait, the future is dropped, which unwinds the
//! fiber; while wasm computes, the store's epoch callback ([`epoch_check`])
//! makes the same check on every epoch tick. Either way the caller gets
//! `timeout` or `interrupted` within a few milliseconds of the limit.
//!
//! Blocking file operations run on the I/O runtime's blocking pool (never on
//! the calling thread), so they too are abandoned at the deadline.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use wasmtime::{StoreContextMut, UpdateDeadline};

use crate::store::StoreState;

/// Why a call was stopped from outside the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The call's wall-clock limit passed.
    Timeout,
    /// Its sandbox's interrupt handle was used.
    Interrupted,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::Timeout => "the call ran past its time limit",
            Stop::Interrupted => "the call was interrupted",
        })
    }
}

impl std::error::Error for Stop {}

/// The flag and wake-up behind an [`InterruptHandle`].
#[derive(Debug, Default)]
pub(crate) struct Signal {
    requested: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Signal {
    fn requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// Consumes a pending interrupt request, if any.
    pub fn take(&self) -> bool {
        // A plain load first: the common case (no request) writes nothing.
        self.requested() && self.requested.swap(false, Ordering::AcqRel)
    }
}

/// Stops the call running in a sandbox, from any thread.
///
/// Cheap to clone, `Send + Sync`. [`InterruptHandle::interrupt`] makes the
/// call in progress end with [`crate::Error::Interrupted`] within a few
/// milliseconds, whether the guest is computing or waiting on the host. If no
/// call is running, the request is kept and the sandbox's *next* call ends
/// immediately with `interrupted` (so an interrupt racing with the start of a
/// call is never lost). A request is consumed by the call it stops.
#[derive(Debug, Clone)]
pub struct InterruptHandle {
    signal: Arc<Signal>,
}

impl InterruptHandle {
    pub(crate) fn new(signal: Arc<Signal>) -> Self {
        InterruptHandle { signal }
    }

    /// Requests that the sandbox's current (or next) call stop.
    pub fn interrupt(&self) {
        self.signal.requested.store(true, Ordering::Release);
        self.signal.notify.notify_waiters();
    }

    /// Whether an interrupt has been requested and not yet consumed by a call.
    pub fn is_pending(&self) -> bool {
        self.signal.requested()
    }
}

/// What the running call must respect; kept in the store so the epoch
/// callback and host functions can see it.
#[derive(Debug)]
pub(crate) struct CallControl {
    pub signal: Arc<Signal>,
    /// When the current call started, on [`crate::clock`]'s scale.
    start: u64,
    /// The current call's time limit (`None`: no limit, or no call running).
    timeout: Option<Duration>,
    /// The deadline on the ticker's coarse clock (`u64::MAX`: none).
    deadline_coarse: u64,
    /// A stop a host function already saw through `is_cancelled`: the call
    /// must end with it even if the coarse clock has not caught up yet.
    pub observed: std::cell::Cell<Option<Stop>>,
}

impl CallControl {
    /// Control for a sandbox whose interrupt handles share `signal`.
    pub fn new(signal: Arc<Signal>) -> Self {
        CallControl {
            signal,
            start: 0,
            timeout: None,
            deadline_coarse: u64::MAX,
            observed: std::cell::Cell::new(None),
        }
    }

    /// Why the current call must stop now, if it must (remembered, so the
    /// call ends with it).
    pub fn check(&self) -> Option<Stop> {
        let stop = if self.signal.requested() {
            Some(Stop::Interrupted)
        } else {
            match self.timeout {
                Some(limit) if self.elapsed() >= limit => Some(Stop::Timeout),
                _ => None,
            }
        };
        if stop.is_some() {
            self.observed.set(stop);
        }
        stop
    }

    /// Starts a call at `start` (a [`crate::clock::now`] reading) with time
    /// limit `timeout`.
    pub fn begin(&mut self, start: u64, timeout: Option<Duration>) {
        self.start = start;
        self.timeout = timeout;
        // The coarse clock may lag by up to a tick: allow one more, so the
        // coarse check never ends a call before its limit.
        self.deadline_coarse = match timeout {
            Some(t) => crate::ticker::coarse_now()
                .saturating_add(crate::ticker::TICK.as_nanos() as u64)
                .saturating_add(t.as_secs().saturating_mul(1_000_000_000))
                .saturating_add(u64::from(t.subsec_nanos())),
            None => u64::MAX,
        };
        self.observed.set(None);
    }

    /// Ends the current call: no deadline until the next one begins.
    pub fn finish(&mut self) {
        self.timeout = None;
        self.deadline_coarse = u64::MAX;
    }

    /// Time since the current call began.
    pub fn elapsed(&self) -> Duration {
        crate::clock::between(self.start, crate::clock::now())
    }

    /// Time left before the current call's deadline (`None`: no time limit).
    pub fn time_remaining(&self) -> Option<Duration> {
        self.timeout.map(|t| t.saturating_sub(self.elapsed()))
    }

    /// The current call's deadline as an `Instant` (`None`: no time limit).
    pub fn deadline(&self) -> Option<Instant> {
        self.time_remaining()
            .and_then(|left| Instant::now().checked_add(left))
    }

    /// [`CallControl::check`] against the ticker's coarse clock: two atomic
    /// loads, cheap enough for every host-function return, and late by at
    /// most two ticks.
    pub fn check_coarse(&self) -> Option<Stop> {
        if let Some(stop) = self.observed.get() {
            Some(stop)
        } else if self.signal.requested() {
            Some(Stop::Interrupted)
        } else if crate::ticker::coarse_now() >= self.deadline_coarse {
            Some(Stop::Timeout)
        } else {
            None
        }
    }
}

/// The store's epoch-deadline callback: on each tick, stop the guest if its
/// deadline has passed (by the monotonic clock) or it was interrupted.
pub(crate) fn epoch_check(
    ctx: StoreContextMut<'_, StoreState>,
) -> wasmtime::Result<UpdateDeadline> {
    match ctx.data().control.check() {
        Some(stop) => Err(wasmtime::Error::new(stop)),
        None => Ok(UpdateDeadline::Continue(1)),
    }
}

/// The runtime that serves WASI's asynchronous host work (timers, sockets,
/// the blocking pool for file I/O). Guest code itself never runs on it.
fn io_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("aegis-io")
            .enable_time()
            .enable_io()
            .build()
            .expect("cannot start the aegis I/O runtime")
    });
    &RUNTIME
}

/// Wakes a thread parked in [`drive`].
struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    static WAKER: Waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
}

/// Runs `call` to completion on this thread, unless `deadline` passes or
/// `signal` is raised while it waits on the host; then drops it (unwinding
/// the guest's fiber) and reports why.
pub(crate) fn drive<F: Future>(
    call: F,
    deadline: Option<Instant>,
    signal: &Signal,
) -> Result<F::Output, Stop> {
    let _runtime = io_runtime().enter();
    let waker = WAKER.with(Waker::clone);
    let mut cx = Context::from_waker(&waker);
    let mut call = pin!(call);
    // Fast path: a call that never waits on the host completes on first poll
    // and sets up no timer.
    if let Poll::Ready(out) = call.as_mut().poll(&mut cx) {
        return Ok(out);
    }
    let mut timer = pin!(async move {
        match deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    });
    let mut notified = pin!(signal.notify.notified());
    loop {
        // Register for the interrupt before checking the flag, so a request
        // made in between still wakes us.
        notified.as_mut().enable();
        if signal.requested() {
            return Err(Stop::Interrupted);
        }
        if timer.as_mut().poll(&mut cx).is_ready() {
            return Err(Stop::Timeout);
        }
        if notified.as_mut().poll(&mut cx).is_ready() {
            notified.set(signal.notify.notified());
            continue;
        }
        std::thread::park();
        if let Poll::Ready(out) = call.as_mut().poll(&mut cx) {
            return Ok(out);
        }
    }
}

/// How long a fiber's stack is beyond the wasm stack limit: room for host
/// functions (WASI, embedder callbacks, a Python or Node callback) that run on it.
pub(crate) const HOST_STACK_HEADROOM: usize = 2 * 1024 * 1024;

/// Largest wasm stack limit accepted.
pub(crate) const MAX_STACK_LIMIT: usize = 256 * 1024 * 1024;
