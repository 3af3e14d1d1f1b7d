//! [`SharedSandbox`]: the one rule for a sandbox used from several places.
//!
//! A sandbox runs one call at a time. A call that starts while another runs
//! in the same sandbox fails at once with [`Error::Busy`] (code `busy`),
//! whether it comes from one of the sandbox's own host functions
//! (re-entry) or from another thread: it never waits, so a host function
//! calling back into its own sandbox cannot deadlock, and no thread blocks
//! behind a guest it does not control. Interrupting is the exception: the
//! [`InterruptHandle`] is held outside the busy mark and works while a call
//! runs. Every front-end wraps its sandboxes in this type.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::call::InterruptHandle;
use crate::error::{Error, Result};
use crate::sandbox::Sandbox;

/// A sandbox that may be reached from several threads or from its own host
/// functions, with the busy rule above.
pub struct SharedSandbox {
    busy: AtomicBool,
    sandbox: Mutex<Sandbox>,
    interrupt: InterruptHandle,
}

impl SharedSandbox {
    /// Wraps `sandbox`.
    pub fn new(sandbox: Sandbox) -> SharedSandbox {
        SharedSandbox {
            busy: AtomicBool::new(false),
            interrupt: sandbox.interrupt_handle(),
            sandbox: Mutex::new(sandbox),
        }
    }

    /// The sandbox's interrupt handle, usable while a call runs.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.interrupt.clone()
    }

    /// Whether a call is running.
    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// Runs `f` on the sandbox, or fails with `busy` if it is in use.
    pub fn with<R>(&self, f: impl FnOnce(&mut Sandbox) -> Result<R>) -> Result<R> {
        let _mark = Mark::take(&self.busy)?;
        f(&mut self.lock())
    }

    /// Marks the sandbox in use until the returned guard is dropped, or
    /// fails with `busy`: for a call prepared on one thread and run on
    /// another (the guard owns its `Arc`).
    pub fn enter(self: &Arc<Self>) -> Result<Entered> {
        Mark::take(&self.busy)?.forget();
        Ok(Entered(Arc::clone(self)))
    }

    fn lock(&self) -> MutexGuard<'_, Sandbox> {
        // Uncontended: only the holder of the busy mark locks it. A panic in
        // an earlier call leaves the sandbox usable (its state is the
        // store's, which wasmtime keeps consistent).
        self.sandbox.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The busy mark, released when dropped.
struct Mark<'a>(&'a AtomicBool);

impl<'a> Mark<'a> {
    fn take(busy: &'a AtomicBool) -> Result<Mark<'a>> {
        busy.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| Mark(busy))
            .map_err(|_| Error::Busy)
    }

    /// Keeps the mark set past this value (an [`Entered`] releases it).
    fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for Mark<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A [`SharedSandbox`] marked in use; dropping it frees the sandbox.
pub struct Entered(Arc<SharedSandbox>);

impl Entered {
    /// The sandbox, for the holder of the mark.
    pub fn sandbox(&self) -> MutexGuard<'_, Sandbox> {
        self.0.lock()
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::Release);
    }
}
