//! One background thread per process that advances every engine's epoch
//! while any call runs.
//!
//! Epochs are only the *trigger* for a check: each tick makes running wasm
//! call the store's epoch-deadline callback, which compares the call's
//! elapsed time with its limit (see `crate::call`). So a tick that comes
//! late under CPU load delays the check by at most that much; it never
//! stretches the limit the way counting ticks would.
//!
//! Runtimes register their engine once. A call marks its *thread* busy for
//! its duration: one uncontended atomic increment on a counter of that
//! thread's own (so calls on different threads never share a cache line),
//! and the ticker sums the counters. The thread parks after `IDLE_TICKS`
//! ticks without a busy thread, so idle processes cost nothing.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// Epoch tick length: how often running wasm checks its deadline and
/// interrupt flag. Timeouts and interrupts take effect within about this much.
pub(crate) const TICK: Duration = Duration::from_millis(2);

/// Ticks without a busy thread before the ticker parks (100 ms).
const IDLE_TICKS: u32 = 50;

/// The origin of the coarse clock.
static BASE: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

/// Nanoseconds since [`BASE`], refreshed on every tick while calls run.
static COARSE_NOW: AtomicU64 = AtomicU64::new(0);

/// The coarse clock: the monotonic time of the last tick (or call start
/// after the ticker slept), in nanoseconds.
pub(crate) fn coarse_now() -> u64 {
    COARSE_NOW.load(Ordering::Relaxed)
}

fn refresh_coarse_clock() {
    let now = u64::try_from(BASE.elapsed().as_nanos()).unwrap_or(u64::MAX);
    COARSE_NOW.fetch_max(now, Ordering::Relaxed);
}

/// One runtime's engine as the ticker sees it.
pub(crate) struct EngineSlot {
    engine: wasmtime::Engine,
}

/// Calls running on one thread, alone on its cache line.
#[derive(Default)]
#[repr(align(128))]
struct ThreadBusy(AtomicUsize);

#[derive(Default)]
struct Shared {
    /// Every thread that has made a call (a thread's counter outlives it at 0).
    threads: Mutex<Vec<Arc<ThreadBusy>>>,
    parked: AtomicBool,
    engines: Mutex<Vec<Weak<EngineSlot>>>,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Shared {
    /// Whether a call runs on any thread; forgets threads that have ended.
    fn any_busy(&self) -> bool {
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        threads.retain(|t| Arc::strong_count(t) > 1 || t.0.load(Ordering::SeqCst) > 0);
        threads.iter().any(|t| t.0.load(Ordering::SeqCst) > 0)
    }
}

/// Set in a child process after `fork`, where the ticker thread is gone.
static FORKED: AtomicBool = AtomicBool::new(false);

extern "C" fn after_fork_in_child() {
    FORKED.store(true, Ordering::SeqCst);
}

fn spawn_thread(shared: &'static Shared) {
    std::thread::Builder::new()
        .name("aegis-epoch".into())
        .spawn(move || run(shared))
        .expect("cannot start the aegis epoch thread");
}

/// The process-wide ticker, started on first use, and started again in a
/// child process after `fork` (threads do not survive a fork; without this
/// a child's calls would never time out).
fn shared() -> &'static Shared {
    static SHARED: OnceLock<&'static Shared> = OnceLock::new();
    let shared = SHARED.get_or_init(|| {
        let shared: &'static Shared = Box::leak(Box::default());
        // SAFETY: the handler only stores to an atomic.
        unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        spawn_thread(shared);
        shared
    });
    if FORKED.load(Ordering::Relaxed) && FORKED.swap(false, Ordering::SeqCst) {
        shared.parked.store(false, Ordering::SeqCst);
        spawn_thread(shared);
    }
    shared
}

thread_local! {
    /// This thread's busy counter, registered with the ticker on first use.
    static THREAD_BUSY: Arc<ThreadBusy> = {
        let busy = Arc::new(ThreadBusy::default());
        shared().threads.lock().unwrap_or_else(|p| p.into_inner()).push(busy.clone());
        busy
    };
}

/// Registers `engine` with the process ticker.
pub(crate) fn register(engine: &wasmtime::Engine) -> Arc<EngineSlot> {
    let slot = Arc::new(EngineSlot {
        engine: engine.clone(),
    });
    let mut engines = shared().engines.lock().unwrap_or_else(|p| p.into_inner());
    engines.retain(|w| w.strong_count() > 0);
    engines.push(Arc::downgrade(&slot));
    slot
}

/// Marks one call as running on this thread for as long as it lives.
pub(crate) struct Busy {
    thread: *const ThreadBusy,
}

impl EngineSlot {
    /// Marks a call as running; the ticker advances the epochs while any is.
    pub fn enter(&self) -> Busy {
        let thread = THREAD_BUSY.with(Arc::as_ptr);
        // SAFETY: the thread-local `Arc` keeps the counter alive for this
        // thread's life, which outlasts the `Busy` (it is not `Send`).
        let busy = unsafe { &*thread };
        // SeqCst on both sides (this increment then the load of `parked`;
        // the ticker's store of `parked` then its load of the counters):
        // either the ticker sees the call or the call sees it parked.
        busy.0.fetch_add(1, Ordering::SeqCst);
        let shared = shared();
        if shared.parked.load(Ordering::SeqCst) {
            refresh_coarse_clock();
            let _guard = shared.lock.lock().unwrap_or_else(|p| p.into_inner());
            shared.wake.notify_one();
        }
        Busy { thread }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        // SAFETY: see `EngineSlot::enter`.
        unsafe { &*self.thread }.0.fetch_sub(1, Ordering::Release);
    }
}

fn run(shared: &Shared) {
    let mut idle = 0;
    loop {
        if shared.any_busy() {
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
        refresh_coarse_clock();
        crate::clock::refine();
        let engines = shared.engines.lock().unwrap_or_else(|p| p.into_inner());
        for slot in engines.iter().filter_map(Weak::upgrade) {
            slot.engine.increment_epoch();
        }
    }
}

/// Sleeps until a call starts.
fn park(shared: &Shared) {
    let mut guard = shared.lock.lock().unwrap_or_else(|p| p.into_inner());
    shared.parked.store(true, Ordering::SeqCst);
    // Re-check under the lock: a call that started before `parked` was set
    // did not try to wake us.
    while !shared.any_busy() {
        guard = shared.wake.wait(guard).unwrap_or_else(|p| p.into_inner());
    }
    shared.parked.store(false, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_runtimes_share_one_thread() {
        let engines: Vec<_> = (0..50).map(|_| wasmtime::Engine::default()).collect();
        let slots: Vec<_> = engines.iter().map(register).collect();
        let busy = slots[3].enter();
        std::thread::sleep(TICK * 10);
        drop(busy);
        let threads = std::fs::read_dir("/proc/self/task")
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| {
                        std::fs::read_to_string(e.path().join("comm"))
                            .is_ok_and(|c| c.trim() == "aegis-epoch")
                    })
                    .count()
            })
            .unwrap_or(1);
        assert_eq!(threads, 1, "one epoch thread for the whole process");
    }
}
