//! Guests running inline on the JS thread (see `host.rs`): the per-thread
//! mark that lets their host functions call JS directly, the handle scopes
//! those calls share, and the thread's stack bounds that prove a host call
//! is on the JS thread's own stack.

use std::cell::Cell;
use std::ops::Range;
use std::ptr;

use napi::{Env, sys};

use crate::values::check;

/// Host calls of an inline guest that share one handle scope. Node allocates
/// every handle scope on the heap, so a scope per call costs an allocation;
/// closing the shared one every so many calls still bounds the handles a
/// long-running guest leaves behind.
const CALLS_PER_SCOPE: u32 = 64;

/// This thread's inline call, if any.
#[derive(Clone, Copy)]
struct State {
    /// The env of the inline guest's sandbox (0: none runs).
    env: usize,
    /// The handle scope its host calls share, once one is open.
    scope: sys::napi_handle_scope,
    /// Host calls made in `scope` so far.
    calls: u32,
}

impl State {
    const IDLE: State = State {
        env: 0,
        scope: ptr::null_mut(),
        calls: 0,
    };
}

thread_local! {
    static STATE: Cell<State> = const { Cell::new(State::IDLE) };
}

/// Marks this (the JS) thread as running a guest inline for one env until
/// dropped. Inline calls nest through host functions: dropping the mark
/// closes its scope and restores the outer call's state.
pub struct Inline {
    previous: State,
}

impl Inline {
    /// Starts an inline call for `env`, the env of this JS thread.
    pub fn enter(env: sys::napi_env) -> Inline {
        Inline {
            previous: STATE.replace(State {
                env: env as usize,
                ..State::IDLE
            }),
        }
    }
}

impl Drop for Inline {
    fn drop(&mut self) {
        let state = STATE.replace(self.previous);
        if !state.scope.is_null() {
            // SAFETY: the scope was opened on this thread for `env`, and every
            // scope opened inside it has been closed (inline calls nest).
            unsafe { sys::napi_close_handle_scope(state.env as sys::napi_env, state.scope) };
        }
    }
}

/// Whether this thread runs a guest inline for `env`.
pub fn active(env: sys::napi_env) -> bool {
    STATE.get().env == env as usize
}

/// Runs one host call `f` of an inline guest in the scope its host calls share.
pub fn in_shared_scope<T>(env: &Env, f: impl FnOnce() -> T) -> napi::Result<T> {
    let mut state = STATE.get();
    if state.scope.is_null() {
        // SAFETY: `env` is this thread's live env.
        check(unsafe { sys::napi_open_handle_scope(env.raw(), &mut state.scope) })?;
        STATE.set(state);
    }
    let out = f();
    // Calls nested inside `f` restored the state they found.
    let mut state = STATE.get();
    state.calls += 1;
    if state.calls >= CALLS_PER_SCOPE {
        // SAFETY: opened above (or by an earlier call), innermost now.
        check(unsafe { sys::napi_close_handle_scope(env.raw(), state.scope) })?;
        state.scope = ptr::null_mut();
        state.calls = 0;
    }
    STATE.set(state);
    Ok(out)
}

thread_local! {
    /// This thread's stack, looked up once (for the main thread the C
    /// library reads `/proc/self/maps`).
    static OWN_STACK: Option<Range<usize>> = look_up_stack();
}

/// The current thread's stack addresses, if the platform tells.
pub fn own_stack() -> Option<Range<usize>> {
    OWN_STACK.with(Clone::clone)
}

/// Asks the C library for the current thread's stack bounds.
fn look_up_stack() -> Option<Range<usize>> {
    // SAFETY: `attr` is initialised by pthread_getattr_np before use and
    // destroyed after; the out-pointers are valid locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut low: *mut libc::c_void = ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut low, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        ok.then(|| low as usize..low as usize + size)
    }
}
