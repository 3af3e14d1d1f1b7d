//! A shared record of operations the guest attempted and was refused.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::details::{Capability, Operation};
use crate::metrics::{DeniedOperation, MAX_DENIED_RECORDED};

#[derive(Debug, Default)]
struct Log {
    count: u64,
    entries: Vec<DeniedOperation>,
}

/// Cloneable handle every capability hook writes refusals into; the sandbox
/// drains it into the call's metrics. Memory stays bounded whatever the guest does.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeniedLog(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    /// Set when anything is recorded, so draining an empty log takes no lock.
    dirty: AtomicBool,
    log: Mutex<Log>,
}

impl DeniedLog {
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.0.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one refused operation.
    /// `operation` is the name of an [`Operation`](crate::details::Operation).
    pub fn record(&self, capability: Capability, operation: &str, target: impl Into<String>) {
        let mut log = self.lock();
        self.0.dirty.store(true, Ordering::Release);
        log.count += 1;
        if log.entries.len() < MAX_DENIED_RECORDED {
            let mut target = target.into();
            truncate_utf8(&mut target, 256);
            log.entries.push(DeniedOperation {
                capability,
                operation: Operation::from_name(operation).unwrap_or(Operation::Other),
                target,
            });
        }
    }

    /// Takes everything recorded since the last drain.
    pub fn drain(&self) -> (u64, Vec<DeniedOperation>) {
        // A plain load first: the common empty case writes nothing.
        if !self.0.dirty.load(Ordering::Relaxed) || !self.0.dirty.swap(false, Ordering::Acquire) {
            return (0, Vec::new());
        }
        let mut log = self.lock();
        (
            std::mem::take(&mut log.count),
            std::mem::take(&mut log.entries),
        )
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_count_exact_and_entries_bounded() {
        let log = DeniedLog::default();
        for i in 0..1000 {
            log.record(Capability::Filesystem, "path_open", format!("/x/{i}"));
        }
        let (count, entries) = log.drain();
        assert_eq!(count, 1000);
        assert_eq!(entries.len(), MAX_DENIED_RECORDED);
        assert_eq!(entries[0].target, "/x/0");
        assert_eq!(log.drain(), (0, vec![]));
    }

    #[test]
    fn long_targets_are_truncated_on_char_boundaries() {
        let log = DeniedLog::default();
        log.record(Capability::Filesystem, "path_open", "é".repeat(300));
        let (_, entries) = log.drain();
        assert!(entries[0].target.len() <= 256);
    }
}
