//! One background thread per process that advances every busy engine's epoch.
//!
//! Epochs are only the *trigger* for a check: each tick makes running wasm
//! call the store's epoch-deadline callback, which compares the call's
//! deadline against the monotonic clock (see `crate::call`). So a tick that
//! comes late under CPU load delays the check by at most that much; it never
//! stretches the limit the way counting ticks would.
//!
//! Runtimes register their engine once; a call marks its runtime busy for its
//! duration (two relaxed-enough atomic increments), and the thread parks after
//! `IDLE_TICKS` ticks without any busy runtime, so idle processes cost nothing.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// Epoch tick length: how often running wasm checks its deadline and
/// interrupt flag. Timeouts and interrupts take effect within about this much.
pub(crate) const TICK: Duration = Duration::from_millis(2);

/// Ticks without a busy runtime before the thread parks (100 ms).
const IDLE_TICKS: u32 = 50;

/// The origin of the coarse clock.
static BASE: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

/// Nanoseconds since [`BASE`], refreshed on every tick while calls run.
static COARSE_NOW: AtomicU64 = AtomicU64::new(0);

/// `t` on the coarse clock's scale.
pub(crate) fn since_base(t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(*BASE).as_nanos()).unwrap_or(u64::MAX)
}

/// The coarse clock: the monotonic time of the last tick (or call start).
pub(crate) fn coarse_now() -> u64 {
    COARSE_NOW.load(Ordering::Relaxed)
}

fn refresh_coarse_clock() {
    COARSE_NOW.fetch_max(since_base(Instant::now()), Ordering::Relaxed);
}

/// One runtime's engine as the ticker sees it.
pub(crate) struct EngineSlot {
    engine: wasmtime::Engine,
    busy: AtomicUsize,
}

#[derive(Default)]
struct Shared {
    /// Calls running in the whole process.
    busy: AtomicUsize,
    parked: AtomicBool,
    engines: Mutex<Vec<Weak<EngineSlot>>>,
    lock: Mutex<()>,
    wake: Condvar,
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

/// Registers `engine` with the process ticker.
pub(crate) fn register(engine: &wasmtime::Engine) -> Arc<EngineSlot> {
    let slot = Arc::new(EngineSlot {
        engine: engine.clone(),
        busy: AtomicUsize::new(0),
    });
    let mut engines = shared().engines.lock().unwrap_or_else(|p| p.into_inner());
    engines.retain(|w| w.strong_count() > 0);
    engines.push(Arc::downgrade(&slot));
    slot
}

/// Marks one call as running on a slot's engine for as long as it lives.
pub(crate) struct Busy<'a> {
    slot: &'a EngineSlot,
}

impl EngineSlot {
    /// Marks a call as running; the ticker advances this engine while any is.
    pub fn enter(&self) -> Busy<'_> {
        self.busy.fetch_add(1, Ordering::Relaxed);
        let shared = shared();
        shared.busy.fetch_add(1, Ordering::SeqCst);
        if shared.parked.load(Ordering::SeqCst) {
            refresh_coarse_clock();
            let _guard = shared.lock.lock().unwrap_or_else(|p| p.into_inner());
            shared.wake.notify_one();
        }
        Busy { slot: self }
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.slot.busy.fetch_sub(1, Ordering::Relaxed);
        shared().busy.fetch_sub(1, Ordering::SeqCst);
    }
}

fn run(shared: &Shared) {
    let mut idle = 0;
    loop {
        if shared.busy.load(Ordering::SeqCst) > 0 {
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
        let engines = shared.engines.lock().unwrap_or_else(|p| p.into_inner());
        for slot in engines.iter().filter_map(Weak::upgrade) {
            if slot.busy.load(Ordering::Relaxed) > 0 {
                slot.engine.increment_epoch();
            }
        }
    }
}

/// Sleeps until a call starts.
fn park(shared: &Shared) {
    let mut guard = shared.lock.lock().unwrap_or_else(|p| p.into_inner());
    shared.parked.store(true, Ordering::SeqCst);
    // Re-check under the lock: a call that started before `parked` was set
    // did not try to wake us.
    while shared.busy.load(Ordering::SeqCst) == 0 {
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
