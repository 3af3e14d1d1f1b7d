//! One background thread per engine that advances the epoch while calls run.
//!
//! Wall-clock timeouts use wasmtime's epoch interruption: each call sets a
//! deadline a number of ticks ahead, and this thread increments the engine's
//! epoch every `TICK`. The thread sleeps on a condition variable while no call
//! is active, so an idle runtime costs nothing.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Epoch tick length; timeouts are accurate to about this much.
pub(crate) const TICK: Duration = Duration::from_millis(2);

#[derive(Default)]
struct State {
    active: usize,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
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
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("aegis-epoch".into())
            .spawn(move || run(&thread_shared, &engine))?;
        Ok(EpochTicker {
            shared,
            thread: Some(thread),
        })
    }

    /// Registers a running call; the ticker runs until every guard is dropped.
    pub fn enter(&self) -> ActiveCall<'_> {
        let mut state = lock(&self.shared.state);
        state.active += 1;
        if state.active == 1 {
            self.shared.wake.notify_one();
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
        lock(&self.shared.state).active -= 1;
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        lock(&self.shared.state).shutdown = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run(shared: &Shared, engine: &wasmtime::Engine) {
    let mut state = lock(&shared.state);
    loop {
        if state.shutdown {
            return;
        }
        if state.active == 0 {
            state = shared
                .wake
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            continue;
        }
        drop(state);
        std::thread::sleep(TICK);
        engine.increment_epoch();
        state = lock(&shared.state);
    }
}
