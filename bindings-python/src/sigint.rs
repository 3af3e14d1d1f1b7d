//! Ctrl-C during a guest call made on Python's main thread.
//!
//! CPython's own SIGINT handler only sets a flag; `KeyboardInterrupt` is
//! raised when the main thread next runs bytecode, which it does not do while
//! it is inside a guest call with the GIL released. Without help, Ctrl-C would
//! wait for the call to end on its own (its timeout, possibly never).
//!
//! How the help works:
//!
//! * While the main thread is inside a guest call, that call's
//!   [`InterruptHandle`] sits on a small stack ([`CALLS`]) that a watcher
//!   thread can see ([`watch`] pushes it, [`Watch::finish`] pops it).
//! * A SIGINT handler of ours ([`on_sigint`]) is installed *in front of*
//!   Python's C-level handler: it first calls that handler, so Python's
//!   pending-signal flag is set exactly as it would be without Aegis, then
//!   writes one byte to a pipe. Both are async-signal-safe; nothing else
//!   happens in signal context.
//! * The watcher thread, blocked reading the pipe, wakes, waits [`GRACE`] (a
//!   call about to return by itself is left alone), and interrupts the
//!   innermost main-thread call if it is still the same call.
//! * The binding then calls `PyErr_CheckSignals`, so Python runs *its* SIGINT
//!   handler: `KeyboardInterrupt` by default, or whatever a handler installed
//!   with `signal.signal` does (if it returns without raising, the call ends
//!   with `InterruptedError`, since the guest has been stopped).
//!
//! When it applies: only on the main thread (where Python delivers signals),
//! and only while SIGINT is handled by Python, i.e. `signal.getsignal(SIGINT)`
//! is a Python callable (the default `default_int_handler` or the user's own).
//! With `SIG_IGN` Ctrl-C stays ignored; with `SIG_DFL` the process dies as
//! usual; an embedder that never let Python install signal handlers keeps
//! its own. Nothing is installed at import time.
//!
//! Why not install once (as `signal-hook-registry` would): `signal.signal`
//! installs Python's C handler again with `sigaction`, replacing anything put
//! in front of it. So before every main-thread call, [`watch`] looks at the
//! current disposition (one `sigaction` query) and re-installs ours in front
//! of whatever Python installed if it was replaced. Only the main thread can
//! call `signal.signal`, and it is the thread doing this check, so the check
//! cannot race with it. Between calls our handler stays installed and only
//! forwards to Python's.
//!
//! After `fork`, the child closes the inherited pipe and starts its own
//! watcher on its next main-thread call (`pthread_atfork`).

use std::cell::{Cell, UnsafeCell};
use std::os::raw::{c_int, c_void};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use aegis_core::InterruptHandle;
use pyo3::prelude::*;

/// How long the watcher lets a call finish by itself after a SIGINT before
/// interrupting it. Short calls in a loop then end normally and Python raises
/// `KeyboardInterrupt` between them, without a needless interrupt request.
const GRACE: Duration = Duration::from_millis(10);

/// The disposition our handler forwards to (`sa_sigaction` of Python's handler).
static PREV_HANDLER: AtomicUsize = AtomicUsize::new(libc::SIG_DFL);
/// Whether that handler takes `(sig, info, context)`.
static PREV_SIGINFO: AtomicBool = AtomicBool::new(false);
/// A disposition found not to be Python's (so Python is not asked again
/// until it changes); `usize::MAX` for none.
static DECLINED: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Pipe to the watcher thread: write end (used in signal context) and read end.
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);
static PIPE_READ: AtomicI32 = AtomicI32::new(-1);
/// Number of `fork`s this process descends from; bumped in the child.
static FORKS: AtomicU64 = AtomicU64::new(0);
/// `FORKS` when the current watcher thread was started (`u64::MAX`: none).
static WATCHER_FORKS: AtomicU64 = AtomicU64::new(u64::MAX);
/// Identifies each watched call.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// One main-thread guest call Ctrl-C may interrupt.
struct Entry {
    id: u64,
    handle: InterruptHandle,
    fired: bool,
}

/// The main thread's guest calls in progress, innermost last (a host function
/// may call another sandbox). Guarded by a spin lock so that the `fork`
/// handlers can hold it across `fork` and release it in both processes.
struct Calls {
    locked: AtomicBool,
    entries: UnsafeCell<Vec<Entry>>,
}

// SAFETY: `entries` is only accessed between `acquire` and `release`.
unsafe impl Sync for Calls {}

static CALLS: Calls = Calls {
    locked: AtomicBool::new(false),
    entries: UnsafeCell::new(Vec::new()),
};

impl Calls {
    fn acquire(&self) {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::thread::yield_now();
        }
    }

    fn release(&self) {
        self.locked.store(false, Ordering::Release);
    }

    /// Runs `f` on the entries with the lock held. `f` must not call Python
    /// or block: the lock is held across `fork`.
    fn with<T>(&self, f: impl FnOnce(&mut Vec<Entry>) -> T) -> T {
        struct Release<'a>(&'a Calls);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.release();
            }
        }
        self.acquire();
        let _release = Release(self);
        // SAFETY: the lock is held until `_release` drops.
        f(unsafe { &mut *self.entries.get() })
    }
}

/// A main-thread guest call that Ctrl-C may interrupt; see [`watch`].
pub struct Watch {
    id: u64,
}

impl Watch {
    /// Whether the watcher has interrupted this call.
    pub fn fired(&self) -> bool {
        CALLS.with(|c| c.iter().any(|e| e.id == self.id && e.fired))
    }

    /// Stops watching; whether the watcher interrupted the call.
    pub fn finish(self) -> bool {
        let fired = remove(self.id);
        std::mem::forget(self);
        fired
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        remove(self.id);
    }
}

fn remove(id: u64) -> bool {
    CALLS.with(|c| match c.iter().rposition(|e| e.id == id) {
        Some(i) => c.remove(i).fired,
        None => false,
    })
}

/// Makes Ctrl-C interrupt the guest call about to run with `handle`, if this
/// is Python's main thread and Python handles SIGINT; `None` otherwise.
pub fn watch(py: Python<'_>, handle: &InterruptHandle) -> Option<Watch> {
    if !is_main_thread(py) || !armed(py) {
        return None;
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    CALLS.with(|c| {
        c.push(Entry {
            id,
            handle: handle.clone(),
            fired: false,
        })
    });
    Some(Watch { id })
}

thread_local! {
    /// (`FORKS` when computed, whether this is Python's main thread).
    static MAIN: Cell<(u64, bool)> = const { Cell::new((u64::MAX, false)) };
}

/// Whether this is the thread Python runs signal handlers on. Cached per
/// thread; recomputed after `fork` (the forking thread becomes the main one).
fn is_main_thread(py: Python<'_>) -> bool {
    let forks = FORKS.load(Ordering::Acquire);
    MAIN.with(|m| {
        let (when, main) = m.get();
        if when == forks {
            return main;
        }
        let main = (|| -> PyResult<bool> {
            let threading = py.import("threading")?;
            let main = threading.call_method0("main_thread")?.getattr("ident")?;
            main.eq(threading.call_method0("get_ident")?)
        })()
        .unwrap_or(false);
        m.set((forks, main));
        main
    })
}

/// Whether Python itself handles SIGINT: `signal.getsignal(SIGINT)` is a
/// callable (not `SIG_DFL`, `SIG_IGN` or `None`); `None` if Python could not
/// say (e.g. during interpreter shutdown; then the answer is not remembered).
fn python_handles_sigint(py: Python<'_>) -> Option<bool> {
    py.import("signal")
        .and_then(|signal| signal.call_method1("getsignal", (libc::SIGINT,)))
        .map(|handler| handler.is_callable())
        .ok()
}

/// Ensures our handler is in front of Python's SIGINT handler and the watcher
/// runs; false when Ctrl-C must be left alone (see the module docs).
fn armed(py: Python<'_>) -> bool {
    // SAFETY: a zeroed `sigaction` is a valid out-parameter.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: querying the disposition only (null new action).
    if unsafe { libc::sigaction(libc::SIGINT, std::ptr::null(), &mut current) } != 0 {
        return false;
    }
    let ours = on_sigint as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as usize;
    let disposition = current.sa_sigaction;
    if disposition == ours {
        return start_watcher();
    }
    if disposition == DECLINED.load(Ordering::Relaxed) {
        return false;
    }
    if disposition == libc::SIG_DFL || disposition == libc::SIG_IGN {
        DECLINED.store(disposition, Ordering::Relaxed);
        return false;
    }
    match python_handles_sigint(py) {
        Some(true) => {}
        Some(false) => {
            // A handler installed outside Python (an embedder's): leave it alone.
            DECLINED.store(disposition, Ordering::Relaxed);
            return false;
        }
        None => return false,
    }
    if !start_watcher() {
        return false;
    }
    // Set what we forward to before our handler can run.
    PREV_HANDLER.store(disposition, Ordering::SeqCst);
    PREV_SIGINFO.store(current.sa_flags & libc::SA_SIGINFO != 0, Ordering::SeqCst);
    let mut action = current;
    action.sa_sigaction = ours;
    action.sa_flags = current.sa_flags | libc::SA_SIGINFO;
    // SAFETY: installs a handler that only does async-signal-safe work.
    unsafe { libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut()) == 0 }
}

/// The SIGINT handler: forwards to Python's, then wakes the watcher.
extern "C" fn on_sigint(sig: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    let saved = errno::get();
    let prev = PREV_HANDLER.load(Ordering::SeqCst);
    if prev != libc::SIG_DFL && prev != libc::SIG_IGN {
        if PREV_SIGINFO.load(Ordering::SeqCst) {
            // SAFETY: `prev` was installed with SA_SIGINFO, so it has this signature.
            let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                unsafe { std::mem::transmute(prev) };
            f(sig, info, context);
        } else {
            // SAFETY: `prev` was installed without SA_SIGINFO: a plain handler.
            let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(prev) };
            f(sig);
        }
    }
    let fd = PIPE_WRITE.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the pipe is non-blocking, so
        // a full pipe (the watcher already has bytes to read) drops this one.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    errno::set(saved);
}

/// Starts the watcher thread of this process if it is not running.
fn start_watcher() -> bool {
    let forks = FORKS.load(Ordering::Acquire);
    if WATCHER_FORKS.load(Ordering::Acquire) == forks {
        return true;
    }
    static AT_FORK: Once = Once::new();
    // SAFETY: registers plain functions that only touch atomics and close(2).
    AT_FORK.call_once(|| unsafe {
        libc::pthread_atfork(
            Some(before_fork),
            Some(after_fork_parent),
            Some(after_fork_child),
        );
    });
    let mut fds = [-1; 2];
    // SAFETY: pipe(2) and fcntl(2) on the descriptors it returned.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return false;
        }
        for fd in fds {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        let flags = libc::fcntl(fds[1], libc::F_GETFL);
        libc::fcntl(fds[1], libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let [read_fd, write_fd] = fds;
    let spawned = std::thread::Builder::new()
        .name("aegis-sigint".into())
        .stack_size(64 * 1024)
        .spawn(move || watcher(read_fd));
    if spawned.is_err() {
        // SAFETY: closing the descriptors made above, used by no one.
        unsafe {
            libc::close(read_fd);
            libc::close(write_fd);
        }
        return false;
    }
    PIPE_READ.store(read_fd, Ordering::SeqCst);
    PIPE_WRITE.store(write_fd, Ordering::SeqCst);
    WATCHER_FORKS.store(forks, Ordering::Release);
    true
}

/// The watcher: interrupts the innermost main-thread call on each SIGINT.
fn watcher(fd: c_int) {
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: reading into a local buffer of the given length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if n == 0 {
            return;
        }
        let Some(seen) = CALLS.with(|c| c.last().map(|e| e.id)) else {
            continue;
        };
        std::thread::sleep(GRACE);
        CALLS.with(|c| {
            if let Some(entry) = c.last_mut().filter(|e| e.id == seen) {
                entry.fired = true;
                entry.handle.interrupt();
            }
        });
    }
}

extern "C" fn before_fork() {
    CALLS.acquire();
}

extern "C" fn after_fork_parent() {
    CALLS.release();
}

/// In the child: the watcher thread did not survive `fork`; drop the pipe it
/// read (so a SIGINT to the child never wakes the parent's watcher) and let
/// the next main-thread call start a new one.
extern "C" fn after_fork_child() {
    for fd in [&PIPE_WRITE, &PIPE_READ] {
        let fd = fd.swap(-1, Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: close(2) is async-signal-safe; the descriptor is ours.
            unsafe { libc::close(fd) };
        }
    }
    FORKS.fetch_add(1, Ordering::AcqRel);
    CALLS.release();
}

/// Saving and restoring `errno` around the signal handler.
mod errno {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn location() -> *mut libc::c_int {
        // SAFETY: always valid for the calling thread.
        unsafe { libc::__errno_location() }
    }

    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    fn location() -> *mut libc::c_int {
        // SAFETY: always valid for the calling thread.
        unsafe { libc::__error() }
    }

    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )))]
    fn location() -> *mut libc::c_int {
        std::ptr::null_mut()
    }

    pub fn get() -> libc::c_int {
        let p = location();
        // SAFETY: `p` is this thread's errno, or null.
        if p.is_null() { 0 } else { unsafe { *p } }
    }

    pub fn set(value: libc::c_int) {
        let p = location();
        if !p.is_null() {
            // SAFETY: `p` is this thread's errno.
            unsafe { *p = value };
        }
    }
}
