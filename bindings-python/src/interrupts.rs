//! Who asked for an interrupt: Python code (`interrupt()`), a Ctrl-C
//! forwarded to a call on the main thread (`sigint.rs`), or the cancellation
//! of an asyncio task awaiting a call (`CallScope`, used by `aegis._aio`).
//!
//! The core keeps an interrupt requested while no call runs for the *next*
//! call. That is what Python code asking for one wants; a Ctrl-C or a task
//! cancellation that reaches the core just after its call finished on its
//! own must not stop a later, unrelated call. The binding remembers such a
//! leftover and withdraws it at the next call.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aegis_core::Error;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::to_pyerr;

#[cfg(unix)]
pub use crate::sigint::{Watch, watch};

/// Ctrl-C forwarding exists on Unix only (see `sigint.rs`).
#[cfg(not(unix))]
pub struct Watch;

#[cfg(not(unix))]
impl Watch {
    fn fired(&self) -> bool {
        false
    }
    fn finish(self) -> bool {
        false
    }
}

/// No Ctrl-C forwarding off Unix.
#[cfg(not(unix))]
pub fn watch(_py: Python<'_>, _handle: &aegis_core::InterruptHandle) -> Option<Watch> {
    None
}

/// The interrupt state of one sandbox, shared with its `InterruptHandle`s
/// and its `CallScope`s and kept outside the sandbox's lock, so that
/// `interrupt()` never waits for the call it stops.
pub struct Interrupts {
    pub handle: aegis_core::InterruptHandle,
    book: Mutex<Book>,
}

/// Which pending request is whose.
#[derive(Default)]
struct Book {
    /// Requests made by Python code (`interrupt()`), counted.
    requests: u64,
    /// A leftover request (of a Ctrl-C or a cancelled scope): the value of
    /// `requests` when it was left.
    leftover: Option<u64>,
    /// The scope whose call runs now (its id), if a scoped call runs.
    running: Option<u64>,
    /// The id of the next scope.
    next_scope: u64,
}

/// Locks a mutex of this crate, whose data stays valid after a panic.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Interrupts {
    /// The state of a sandbox whose core interrupt handle is `handle`.
    pub fn new(handle: aegis_core::InterruptHandle) -> Self {
        Interrupts {
            handle,
            book: Mutex::new(Book::default()),
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        lock(&self.book)
    }

    /// A request from Python code: stops the running call, or the next one.
    pub fn interrupt(&self) {
        let mut book = self.book();
        self.handle.interrupt();
        book.requests += 1;
    }

    /// Whether a request from Python code waits for the next call.
    pub fn pending(&self) -> bool {
        let book = self.book();
        self.handle.is_pending() && book.leftover != Some(book.requests)
    }

    /// Whether the next `run` may run its `f` twice (a leftover request
    /// waits to be withdrawn). Asked with the sandbox entered: only `run`, on
    /// an entered sandbox, changes the leftover, and a request from Python
    /// code since makes `run` keep it; so when this is false, `run` calls `f`
    /// once.
    pub fn may_retry(&self) -> bool {
        let book = self.book();
        book.leftover == Some(book.requests) && self.handle.is_pending()
    }

    /// Runs a guest-executing `f` (a call, `run`, `load_module`, `reset`)
    /// on `sandbox`, withdrawing a leftover request first and recording one
    /// the call leaves behind. `watch` is the call's Ctrl-C watch (main
    /// thread only); `scope` the cancel scope the call runs in, if any (an
    /// already cancelled scope ends the call before it starts).
    pub fn run<T>(
        &self,
        sandbox: &mut aegis_core::Sandbox,
        watch: Option<Watch>,
        scope: Option<&ScopeState>,
        f: impl Fn(&mut aegis_core::Sandbox) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let (withdraw, mut requests) = {
            let mut book = self.book();
            if let Some(scope) = scope {
                if scope.cancelled.load(Ordering::Acquire) {
                    return Err(Error::Interrupted {
                        elapsed: Duration::ZERO,
                    });
                }
                book.running = Some(scope.id);
            }
            let leftover = book.leftover.take();
            (
                leftover == Some(book.requests) && self.handle.is_pending(),
                book.requests,
            )
        };
        let scope_fired = || scope.is_some_and(|s| s.interrupted.load(Ordering::Acquire));
        let mut outcome = f(sandbox);
        if withdraw && matches!(outcome, Err(Error::Interrupted { .. })) {
            // The pending request was consumed before any guest code ran
            // (the core checks it first). Run the call for real unless Python
            // code, Ctrl-C or the scope asked for an interrupt meanwhile.
            let book = self.book();
            if book.requests == requests
                && !watch.as_ref().is_some_and(Watch::fired)
                && !scope_fired()
            {
                requests = book.requests;
                drop(book);
                outcome = f(sandbox);
            }
        }
        // A request still pending after a Ctrl-C or scope interrupt, with no
        // request from Python code since the call began, is that interrupt's
        // own: it came after the call had finished (or after the core
        // consumed the request that stopped it).
        let ctrl_c = watch.is_some_and(Watch::finish);
        let mut book = self.book();
        if scope.is_some() {
            book.running = None;
        }
        if (ctrl_c || scope_fired()) && self.handle.is_pending() && book.requests == requests {
            book.leftover = Some(requests);
        }
        outcome
    }
}

/// The state of one `CallScope`, read by `Interrupts::run`.
pub struct ScopeState {
    interrupts: Arc<Interrupts>,
    id: u64,
    /// `cancel()` was called (set under the book's lock).
    cancelled: AtomicBool,
    /// `cancel()` interrupted the scope's running call.
    interrupted: AtomicBool,
    /// `run()` began calling its function.
    started: AtomicBool,
}

thread_local! {
    /// The scope whose `run` is executing on this thread.
    static CURRENT: RefCell<Option<Arc<ScopeState>>> = const { RefCell::new(None) };
}

/// The scope `run` is executing on this thread, if it belongs to the sandbox
/// of `interrupts` (a host function may call into another sandbox).
pub fn current_scope(interrupts: &Arc<Interrupts>) -> Option<Arc<ScopeState>> {
    CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|s| Arc::ptr_eq(&s.interrupts, interrupts))
            .cloned()
    })
}

/// The cancellation of one awaited call (`aegis._aio`): `run(func, *args)`
/// runs a sandbox method on a worker thread; `cancel()`, from the event
/// loop, stops it.
///
/// `cancel()` before `run` began makes `run` return without calling
/// `func`; during the guest call it interrupts the guest; after the call
/// finished it does nothing. An interrupt that reaches the core just as the
/// call finishes on its own is withdrawn before the sandbox's next call, so
/// a cancellation never stops a later call.
#[pyclass(frozen, module = "aegis._aegis", name = "_CallScope")]
pub struct CallScope {
    state: Arc<ScopeState>,
}

impl CallScope {
    /// A scope for one call on the sandbox of `interrupts`.
    pub fn new(interrupts: Arc<Interrupts>) -> Self {
        let id = {
            let mut book = interrupts.book();
            book.next_scope += 1;
            book.next_scope
        };
        CallScope {
            state: Arc::new(ScopeState {
                interrupts,
                id,
                cancelled: AtomicBool::new(false),
                interrupted: AtomicBool::new(false),
                started: AtomicBool::new(false),
            }),
        }
    }
}

/// Restores the thread's previous scope when `run` ends (also by panic).
struct Restore(Option<Arc<ScopeState>>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

#[pymethods]
impl CallScope {
    /// Calls `func(*args)` (a method of the scope's sandbox) in this scope,
    /// unless the scope was cancelled first: then raises `InterruptedError`
    /// without calling it.
    #[pyo3(signature = (func, *args))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        {
            let _book = self.state.interrupts.book();
            if self.state.cancelled.load(Ordering::Acquire) {
                let cancelled = Error::Interrupted {
                    elapsed: Duration::ZERO,
                };
                return Err(to_pyerr(py, cancelled));
            }
            self.state.started.store(true, Ordering::Release);
        }
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.state.clone()));
        let _restore = Restore(previous);
        func.call1(args)
    }

    /// Cancels the scope: interrupts its running call, or keeps its call
    /// from starting. Returns whether `run` had begun (its worker must then
    /// be waited for; otherwise it never touches the sandbox).
    fn cancel(&self) -> bool {
        let state = &*self.state;
        let book = state.interrupts.book();
        state.cancelled.store(true, Ordering::Release);
        if book.running == Some(state.id) {
            state.interrupts.handle.interrupt();
            state.interrupted.store(true, Ordering::Release);
        }
        state.started.load(Ordering::Acquire)
    }

    /// Whether `cancel()` was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.state.cancelled.load(Ordering::Acquire)
    }

    fn __repr__(&self) -> String {
        format!(
            "<aegis._CallScope started={} cancelled={}>",
            py_bool(self.state.started.load(Ordering::Acquire)),
            py_bool(self.cancelled())
        )
    }
}

/// `True` / `False`, as Python prints a bool.
pub fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}
