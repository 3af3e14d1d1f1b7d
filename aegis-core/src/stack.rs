//! How much stack the calling thread has left.
//!
//! A call to a module that never makes the host wait may run directly on the
//! calling thread (no fiber, which is faster), but only if that thread has
//! room for the whole wasm stack limit plus the host functions above it.

use std::cell::Cell;

thread_local! {
    /// The lowest address of this thread's stack, once looked up (0: unknown).
    static STACK_LOW: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The lowest usable address of the current thread's stack, if the platform tells.
fn stack_low() -> usize {
    STACK_LOW.with(|cached| {
        if let Some(low) = cached.get() {
            return low;
        }
        let low = look_up_stack_low();
        cached.set(Some(low));
        low
    })
}

/// Asks the C library for the current thread's stack bounds (for the main
/// thread this reads `/proc/self/maps`, so it is done once per thread).
fn look_up_stack_low() -> usize {
    // SAFETY: `attr` is initialised by pthread_getattr_np before use and
    // destroyed after; the out-pointers are valid locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return 0;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        if ok { addr as usize } else { 0 }
    }
}

/// Whether the current thread has at least `bytes` of stack left below here.
pub(crate) fn has_room(bytes: usize) -> bool {
    let low = stack_low();
    let here = std::ptr::addr_of!(low) as usize;
    low != 0 && here > low && here - low > bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_threads_have_little_room() {
        let room = |size: usize, want: usize| {
            std::thread::Builder::new()
                .stack_size(size)
                .spawn(move || has_room(want))
                .unwrap()
                .join()
                .unwrap()
        };
        assert!(!room(256 * 1024, 512 * 1024));
        assert!(room(8 * 1024 * 1024, 2 * 1024 * 1024));
    }
}
