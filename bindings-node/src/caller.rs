//! `Caller`: guest-memory access for JS host functions registered with
//! `{ caller: true }`, like Python's `aegis.Caller`.
//!
//! The core's `HostCaller` lives on the guest's stack for one host call. The
//! JS function may run on that same thread (an inline call), or on the JS
//! thread while the guest waits on a helper or libuv worker thread. Either
//! way the JS object reaches the `HostCaller` only through a [`CallerSlot`]:
//! a mutex around a pointer to it, set for exactly the host call's duration.
//!
//! - The slot is closed when the JS function returns, and again (whatever
//!   happened) before the host call returns to the guest, so a `Caller` kept
//!   past its call, or used from another sandbox's host function later,
//!   throws `AEGIS_INVALID_ARGUMENT` instead of reaching freed memory.
//! - While the JS function runs, the guest's thread touches the `HostCaller`
//!   only through the same mutex (to see whether its call must stop), so the
//!   two threads never use it at once. A guest that stops waiting (its
//!   deadline passed) closes the slot first, waiting for an access in
//!   progress to finish.
//! - Every range is checked against the memory's current size before
//!   anything is allocated: a guest-chosen length never sizes a host buffer
//!   beyond the guest's memory.

use std::sync::{Arc, Mutex, PoisonError};

use aegis_core::HostCaller;
use napi::bindgen_prelude::{ToNapiValue, Unknown};
use napi::{Env, JsValue, sys};
use napi_derive::napi;

use crate::errors::{Failure, Fallible, boundary, invalid_argument};
use crate::sandbox::{bytes_view, new_buffer, range_args, u64_arg};

/// A pointer to the `HostCaller` of the running host call.
struct CallerPtr(*mut HostCaller<'static>);

// SAFETY: the pointer is dereferenced only while its slot is open, which is
// only while the host call that owns the `HostCaller` waits for its JS
// function (see `CallerSlot`), and only with the slot's mutex held, so one
// thread at a time uses it.
unsafe impl Send for CallerPtr {}

/// The `HostCaller` of one host call, reachable while the call lasts.
pub struct CallerSlot {
    ptr: Mutex<Option<CallerPtr>>,
}

impl CallerSlot {
    /// Opens a slot for `caller`. The caller of this function must not use
    /// `caller` directly until the slot is closed (see [`SlotGuard`]).
    pub fn open(caller: &mut HostCaller<'_>) -> (Arc<CallerSlot>, SlotGuard) {
        let ptr = std::ptr::from_mut(caller).cast::<HostCaller<'static>>();
        let slot = Arc::new(CallerSlot {
            ptr: Mutex::new(Some(CallerPtr(ptr))),
        });
        (Arc::clone(&slot), SlotGuard(slot))
    }

    /// Runs `f` on the live `HostCaller`, or fails if its host call has returned.
    fn with<T>(&self, f: impl FnOnce(&mut HostCaller<'_>) -> Fallible<T>) -> Fallible<T> {
        let guard = self.ptr.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(ptr) = guard.as_ref() else {
            return Err(invalid_argument(
                "this Caller is no longer valid: a Caller works only while its host function runs",
            ));
        };
        // SAFETY: the slot is open, so the host call owning the `HostCaller`
        // is still waiting for its JS function and does not use it itself;
        // the held mutex keeps every other user out.
        f(unsafe { &mut *ptr.0 })
    }

    /// Whether the host call must stop; also true once the slot is closed.
    pub fn is_cancelled(&self) -> bool {
        self.with(|c| Ok(c.is_cancelled())).unwrap_or(true)
    }

    /// Ends access to the `HostCaller`, waiting for an access in progress.
    pub fn close(&self) {
        *self.ptr.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// A new JS `Caller` for this slot.
    pub fn to_js(self: &Arc<Self>, env: &Env) -> napi::Result<sys::napi_value> {
        let caller = Caller {
            slot: Arc::clone(self),
        };
        // SAFETY: `env` is the live env of this (the JS) thread.
        unsafe { Caller::to_napi_value(env.raw(), caller) }
    }
}

/// Closes its slot when dropped: held by the host call for its whole
/// duration, so no path out of it leaves the slot open.
pub struct SlotGuard(Arc<CallerSlot>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// `AEGIS_MEMORY_OUT_OF_BOUNDS` unless `offset..offset + len` lies within
/// the guest's memory (checked in 64 bits: no pair wraps around).
fn in_bounds(caller: &mut HostCaller<'_>, offset: u64, len: u64) -> Fallible<()> {
    let size = caller.memory_size().map_err(host_failure)? as u64;
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(Failure::Aegis(aegis_core::Error::MemoryOutOfBounds {
            offset,
            len,
            size,
        })),
    }
}

/// A failure of the core's `HostCaller` (a guest without an exported `memory`).
fn host_failure(e: aegis_core::HostError) -> Failure {
    invalid_argument(e.message())
}

/// Access to the calling guest's exported `memory`, passed as the first
/// argument of a host function registered with `{ caller: true }`.
///
/// Valid only while that host function runs: a `Caller` kept and used
/// later (after the function returned, or from another host function)
/// throws `AEGIS_INVALID_ARGUMENT` for memory access, and says
/// `isCancelled()` (the call is over). `new Caller()` throws. Offsets and
/// lengths are non-negative integers (numbers or BigInts); a range outside
/// the memory throws `AEGIS_MEMORY_OUT_OF_BOUNDS` (`offset`, `len`, `size`)
/// before anything is allocated or copied. Caught inside the host function,
/// such an error leaves the guest running; thrown out of it, it fails the
/// call with `AEGIS_HOST_FUNCTION` (the error as `cause`).
#[napi]
pub struct Caller {
    slot: Arc<CallerSlot>,
}

#[napi]
impl Caller {
    /// Not for JS code: Aegis passes a `Caller` to host functions registered
    /// with `{ caller: true }`. Throws `AEGIS_INVALID_ARGUMENT`.
    #[napi(constructor, skip_typescript)]
    pub fn new(env: Env) -> napi::Result<Self> {
        crate::errors::not_constructible(
            &env,
            "Caller",
            "one is passed to host functions registered with { caller: true }",
        )
    }

    /// Size in bytes of the guest's exported `memory`.
    #[napi]
    pub fn memory_size(&self, env: Env) -> napi::Result<f64> {
        boundary(&env, || {
            self.slot
                .with(|c| Ok(c.memory_size().map_err(host_failure)? as f64))
        })
    }

    /// Copies `length` bytes at `offset` out of the guest's memory into a
    /// new `Buffer` (bounds checked first).
    #[napi(
        ts_args_type = "offset: number | bigint, length: number | bigint",
        ts_return_type = "Buffer"
    )]
    pub fn read_memory(
        &self,
        env: Env,
        offset: Unknown<'_>,
        length: Unknown<'_>,
    ) -> napi::Result<Unknown<'_>> {
        boundary(&env, || {
            let (offset, length) = range_args(&env, offset, length, "caller.readMemory")?;
            let raw = self.slot.with(|c| {
                // Checked first: `length` is at most the memory's size below.
                in_bounds(c, offset, length)?;
                match new_buffer(&env, length as usize, |bytes| {
                    c.read_memory_into(offset, bytes)
                }) {
                    Ok(Ok(buffer)) => Ok(buffer),
                    Ok(Err(host)) => Err(host_failure(host)),
                    Err(napi) => Err(napi.into()),
                }
            })?;
            // SAFETY: `raw` was just created in `env`.
            Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), raw) })
        })
    }

    /// Reads `length` bytes at `offset` as UTF-8 text (bounds checked first;
    /// text that is not UTF-8 throws `AEGIS_INVALID_ARGUMENT`).
    #[napi(ts_args_type = "offset: number | bigint, length: number | bigint")]
    pub fn read_string(
        &self,
        env: Env,
        offset: Unknown<'_>,
        length: Unknown<'_>,
    ) -> napi::Result<String> {
        boundary(&env, || {
            let (offset, length) = range_args(&env, offset, length, "caller.readString")?;
            let bytes = self.slot.with(|c| {
                in_bounds(c, offset, length)?;
                c.read_memory(offset, length as usize).map_err(host_failure)
            })?;
            String::from_utf8(bytes).map_err(|e| {
                invalid_argument(format!(
                    "caller.readString: the {length} bytes at {offset} are not UTF-8 ({e})"
                ))
            })
        })
    }

    /// Copies `data` (a `Buffer` or `Uint8Array`) into the guest's memory at
    /// `offset`; a range outside the memory writes nothing.
    #[napi(ts_args_type = "offset: number | bigint, data: Uint8Array")]
    pub fn write_memory(
        &self,
        env: Env,
        offset: Unknown<'_>,
        data: Unknown<'_>,
    ) -> napi::Result<()> {
        boundary(&env, || {
            let offset = u64_arg(&env, offset.raw(), "caller.writeMemory: offset")?;
            let bytes = bytes_view(&env, data.raw(), "caller.writeMemory: data")?;
            // No JS runs until the copy is done, so the view stays valid.
            self.slot.with(|c| {
                in_bounds(c, offset, bytes.len() as u64)?;
                c.write_memory(offset, bytes).map_err(host_failure)
            })
        })
    }

    /// Whether the call this host function serves must stop: its timeout has
    /// passed or its sandbox was interrupted. A long-running host function
    /// should check it and return early; the call then ends with
    /// `AEGIS_TIMEOUT` or `AEGIS_INTERRUPTED` whatever it returns. Also
    /// `true` once the call is over (a guest on another thread stops waiting
    /// for its host function at its deadline), so it never throws.
    #[napi]
    pub fn is_cancelled(&self) -> bool {
        self.slot.is_cancelled()
    }

    /// Seconds left before the call's timeout (`0` once it has passed, or
    /// once the call is over), or `null` when the sandbox has no timeout.
    #[napi(getter)]
    pub fn time_remaining(&self) -> Option<f64> {
        self.slot
            .with(|c| Ok(c.time_remaining().map(|d| d.as_secs_f64())))
            .unwrap_or(Some(0.0))
    }
}
