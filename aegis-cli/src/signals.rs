//! Ctrl-C and SIGTERM during `aegis run`: stop the guest cleanly.
//!
//! The signals are received by a small thread (signal-hook's iterator; the
//! handler itself only writes to a pipe), which interrupts the running call
//! through the sandbox's interrupt handle. The call then ends with
//! `interrupted`, the report is printed as for any other error, and the
//! process exits with 128 + the signal number (130 for SIGINT, 143 for
//! SIGTERM), the shell's convention.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use aegis_core::InterruptHandle;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Forwards SIGINT and SIGTERM to the sandbox it is attached to.
pub struct SignalWatch {
    received: Arc<AtomicI32>,
    target: Arc<Mutex<Option<InterruptHandle>>>,
}

impl SignalWatch {
    /// Starts receiving SIGINT and SIGTERM (from now on they no longer kill
    /// the process outright). `None` if the handlers cannot be installed.
    pub fn start() -> Option<Self> {
        let mut signals = Signals::new([SIGINT, SIGTERM]).ok()?;
        let received = Arc::new(AtomicI32::new(0));
        let target: Arc<Mutex<Option<InterruptHandle>>> = Arc::default();
        let (seen, handle) = (received.clone(), target.clone());
        std::thread::Builder::new()
            .name("aegis-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    seen.store(signal, Ordering::SeqCst);
                    if let Some(h) = handle.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                        h.interrupt();
                    }
                }
            })
            .ok()?;
        Some(SignalWatch { received, target })
    }

    /// Sends later signals to `handle`; a signal that came before is
    /// forwarded now, so the sandbox's next call stops at once.
    pub fn attach(&self, handle: InterruptHandle) {
        let mut target = self.target.lock().unwrap_or_else(|p| p.into_inner());
        if self.signal().is_some() {
            handle.interrupt();
        }
        *target = Some(handle);
    }

    /// The last signal received, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }
}
