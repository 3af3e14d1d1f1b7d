//! The clock every call reads twice: at its start (its deadline counts from
//! there) and at its end (its wall-time metric).
//!
//! `Instant::now()` is `clock_gettime(CLOCK_MONOTONIC)`, about 23 ns on a
//! virtual machine: two of them cost more than a whole wasm call. When the
//! kernel itself keeps time with the processor's time-stamp counter (x86-64,
//! clocksource `tsc`, which Linux selects only when the counter is invariant
//! and synchronized across cores), a call reads the counter instead (about
//! 10 ns) and converts tick differences to nanoseconds at a rate measured
//! against `Instant`. The rate is first measured over a short spin when the
//! clock is first used, then refined on every epoch tick over the whole span
//! since (so its error shrinks as the process runs; after one second it is
//! below a part per million). Everywhere else the ticks are nanoseconds from
//! `Instant`.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How the clock reads time in this process.
struct Source {
    /// The first reading: ticks and the matching `Instant`.
    base_ticks: u64,
    base: Instant,
    /// Whether ticks are time-stamp-counter readings (else nanoseconds since `base`).
    tsc: bool,
}

static SOURCE: LazyLock<Source> = LazyLock::new(|| {
    let tsc = kernel_uses_tsc();
    let base = Instant::now();
    let base_ticks = if tsc { read_tsc() } else { 0 };
    if tsc {
        // A first rate over ~200 µs (error ~1e-4), refined by every tick.
        while base.elapsed() < Duration::from_micros(200) {
            std::hint::spin_loop();
        }
    }
    let source = Source {
        base_ticks,
        base,
        tsc,
    };
    if tsc {
        source.calibrate();
    }
    source
});

/// Nanoseconds per tick in 32.32 fixed point (1.0 until calibrated).
static NANOS_PER_TICK: AtomicU64 = AtomicU64::new(1 << 32);

impl Source {
    /// Measures the tick rate over the span since `base`.
    fn calibrate(&self) {
        let (now, ticks) = (Instant::now(), read_tsc());
        let nanos = now.duration_since(self.base).as_nanos();
        let elapsed = u128::from(ticks.wrapping_sub(self.base_ticks));
        if nanos > 0 && elapsed > 0 {
            let rate = u64::try_from((nanos << 32) / elapsed).unwrap_or(u64::MAX);
            NANOS_PER_TICK.store(rate, Ordering::Relaxed);
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn read_tsc() -> u64 {
    // SAFETY: `rdtsc` exists on every x86-64 processor.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn read_tsc() -> u64 {
    0
}

/// Whether the kernel's own clock is the time-stamp counter (x86-64 Linux only).
fn kernel_uses_tsc() -> bool {
    cfg!(target_arch = "x86_64")
        && std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .is_ok_and(|s| s.trim() == "tsc")
}

/// The current time in ticks (an arbitrary origin; only differences matter).
#[inline]
pub(crate) fn now() -> u64 {
    let source = &*SOURCE;
    if source.tsc {
        read_tsc()
    } else {
        u64::try_from(source.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The time between two readings of [`now`].
#[inline]
pub(crate) fn between(start: u64, end: u64) -> Duration {
    let ticks = end.saturating_sub(start);
    if SOURCE.tsc {
        let rate = u128::from(NANOS_PER_TICK.load(Ordering::Relaxed));
        let nanos = (u128::from(ticks) * rate) >> 32;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    } else {
        Duration::from_nanos(ticks)
    }
}

/// Refines the tick rate (called by the epoch ticker on every tick).
pub(crate) fn refine() {
    let source = &*SOURCE;
    if source.tsc {
        source.calibrate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_like_instant() {
        let (t0, i0) = (now(), Instant::now());
        std::thread::sleep(Duration::from_millis(30));
        refine();
        let (t1, i1) = (now(), Instant::now());
        let ours = between(t0, t1).as_secs_f64();
        let theirs = i1.duration_since(i0).as_secs_f64();
        assert!((ours - theirs).abs() < 0.001, "{ours} s against {theirs} s");
        assert_eq!(between(t1, t0), Duration::ZERO, "never negative");
    }
}
