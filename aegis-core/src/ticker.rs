//! One background thread per engine that advances the epoch while calls run.
//!
//! Wall-clock timeouts use wasmtime's epoch interruption: each call sets a
//! deadline a number of ticks ahead, and this thread increments the engine's
//! epoch every `TICK`. Entering and leaving a call is one atomic increment and
//! decrement; the thread parks after `IDLE_TICKS` ticks without any running
//! call (so an idle runtime costs nothing) and is woken by the next call.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Epoch tick length; timeouts are accurate to about this much.
pub(crate) const TICK: Duration = Duration::from_millis(2);

/// Ticks without a running call before the thread parks (100 ms).
const IDLE_TICKS: u32 = 50;

#[derive(Default)]
struct Shared {
    active: AtomicUsize,
    parked: AtomicBool,
    shutdown: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Shared {
    fn wake(&self) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.wake.notify_one();
    }
}

/// Owns the ticker thread; dropping it stops and joins the thread.
pub(crate) struct EpochTicker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Marks one call as running for as long as it lives.
pub(crate) struct ActiveCall<'a> {
    shared: &'a Shared,
}

impl EpochTicker {
    pub fn start(engine: wasmtime::Engine) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("aegis-epoch".into())
            .spawn(move || run(&thread_shared, &engine))?;
        Ok(EpochTicker {
            shared,
            thread: Some(thread),
        })
    }

    /// Registers a running call; the ticker keeps ticking while any is alive.
    pub fn enter(&self) -> ActiveCall<'_> {
        self.shared.active.fetch_add(1, Ordering::SeqCst);
        if self.shared.parked.load(Ordering::SeqCst) {
            self.shared.wake();
        }
        ActiveCall {
            shared: &self.shared,
        }
    }

    /// Number of ticks that cover `timeout`, plus one for the partial tick in progress.
    pub fn ticks_for(timeout: Duration) -> u64 {
        let ticks = timeout.as_nanos().div_ceil(TICK.as_nanos());
        u64::try_from(ticks)
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }
}

impl Drop for ActiveCall<'_> {
    fn drop(&mut self) {
        self.shared.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared, engine: &wasmtime::Engine) {
    let mut idle = 0;
    while !shared.shutdown.load(Ordering::SeqCst) {
        if shared.active.load(Ordering::SeqCst) > 0 {
            idle = 0;
        } else {
            idle += 1;
        }
        if idle >= IDLE_TICKS {
            park(shared);
            idle = 0;
            continue;
        }
        std::thread::sleep(TICK);
        engine.increment_epoch();
    }
}

/// Sleeps until a call starts or the ticker shuts down.
fn park(shared: &Shared) {
    let mut guard = shared.lock.lock().unwrap_or_else(|p| p.into_inner());
    shared.parked.store(true, Ordering::SeqCst);
    // Re-check under the lock: a call that started before `parked` was set
    // did not try to wake us.
    while shared.active.load(Ordering::SeqCst) == 0 && !shared.shutdown.load(Ordering::SeqCst) {
        guard = shared.wake.wait(guard).unwrap_or_else(|p| p.into_inner());
    }
    shared.parked.store(false, Ordering::SeqCst);
}
