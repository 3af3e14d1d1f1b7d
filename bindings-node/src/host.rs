//! JS functions as host functions, called by guests running on other threads.
//!
//! Node-API values live on the JS thread, and JS must run on that thread's
//! own stack: aegis-core runs guest code on a fiber (a separate stack), and
//! V8 throws "Maximum call stack size exceeded" for JS entered from there.
//! So a guest that may call JS never runs on the JS thread:
//!
//! - `callAsync`/`runAsync` run it on a libuv worker. A host call is queued
//!   on the JS thread through a threadsafe function, and the guest blocks
//!   until the event loop has run it.
//! - A synchronous call that aegis-core runs on the calling thread's own
//!   stack (no fiber: the module cannot make the host wait and the stack has
//!   room) runs on the JS thread, marked by [`JsThread::inline`]; its host
//!   functions call JS directly, the cheapest way.
//! - Other synchronous calls run it on a helper thread while the JS thread
//!   waits in [`JsThread::serve`], running each host call it is sent (a "pump").
//!
//! Either way the guest waits for the JS function, its wall-clock budget
//! still running. A JS exception traps the guest with a `HostError` whose
//! payload is the original exception (a `napi::Error` keeping a reference to
//! it), restored as `cause` when the error reaches JS.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::Duration;

use aegis_core::{ComponentCall, Data, HostCaller, HostError, ValType, Value};
use napi::bindgen_prelude::{FnArgs, Function, FunctionRef, JsObjectValue, Object, Unknown};
use napi::threadsafe_function::{
    ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, JsValue, Status, sys};

use crate::caller::CallerSlot;
use crate::inline::Inline;
use crate::values::{js_to_arg, value_to_js, with_mapped};

/// Work run on the JS thread.
type Job = Box<dyn FnOnce(&Env) + Send>;

/// A synchronous call, run on a helper thread (see [`helpers`]).
type CallJob = Box<dyn FnOnce() + Send>;

/// `process.on(event, listener)`.
type OnMethod<'env> = Function<'env, FnArgs<(&'static str, Function<'env, (), ()>)>, Unknown<'env>>;

/// A weak threadsafe function that runs `Job`s on the JS thread.
type Dispatcher = ThreadsafeFunction<Job, (), (), Status, false, true>;

/// A JS function stored for calls from any thread.
pub type JsCallback = FunctionRef<Unknown<'static>, Unknown<'static>>;

/// What a helper thread sends the JS thread while a synchronous call runs.
enum PumpMessage {
    /// Run this host call.
    Run(Job),
    /// The guest has returned.
    Done,
}

/// Sends `Done` when dropped, so the JS thread stops waiting even if the
/// guest's thread panics.
struct DoneOnDrop(mpsc::Sender<PumpMessage>);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(PumpMessage::Done);
    }
}

/// The JS thread of one addon instance: its id, env, and ways to run work on it.
pub struct JsThread {
    id: ThreadId,
    env: RawEnv,
    /// The addresses of the thread's own stack, if the platform tells.
    stack: Option<Range<usize>>,
    dispatcher: Dispatcher,
    /// Set while a synchronous call runs its guest on a helper thread: host
    /// calls go here, to the JS thread waiting in [`JsThread::serve`].
    pump: Mutex<Option<mpsc::Sender<PumpMessage>>>,
    /// Set once this env's `process` emits `exit`: its event loop will run no
    /// more host calls (and Node's exit waits for the worker threads).
    exiting: Arc<AtomicBool>,
}

/// The `exiting` flag of one env, kept as its instance data.
struct ExitFlag(Arc<AtomicBool>);

/// This env's exit flag, created (with its `process.on('exit')` listener) on first use.
fn exit_flag(env: &Env) -> napi::Result<Arc<AtomicBool>> {
    if let Some(flag) = env.get_instance_data::<ExitFlag>()? {
        return Ok(Arc::clone(&flag.0));
    }
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    let listener = env.create_function_from_closure::<(), (), _>("aegisOnExit", move |_ctx| {
        set.store(true, Ordering::Release);
        Ok(())
    })?;
    let global = env.get_global()?;
    let process: Object = global.get_named_property("process")?;
    let on: OnMethod<'_> = process.get_named_property("on")?;
    on.apply(process, FnArgs::from(("exit", listener)))?;
    env.set_instance_data(ExitFlag(Arc::clone(&flag)), (), |_| {})?;
    Ok(flag)
}

/// The env pointer, only ever dereferenced on its own thread (`JsThread::id`).
struct RawEnv(sys::napi_env);

// SAFETY: the pointer is used only on the thread that owns it (checked by `JsThread::id`).
unsafe impl Send for RawEnv {}
// SAFETY: as above.
unsafe impl Sync for RawEnv {}

impl JsThread {
    /// Captures the current (JS) thread. Must be called from a JS callback.
    pub fn current(env: &Env) -> napi::Result<Arc<Self>> {
        let noop: Function<'_, (), ()> =
            env.create_function_from_closure("aegisHostDispatch", |_ctx| Ok(()))?;
        let dispatcher = noop
            .build_threadsafe_function::<Job>()
            .weak::<true>()
            .build_callback(|ctx: ThreadsafeCallContext<Job>| {
                (ctx.value)(&ctx.env);
                Ok(())
            })?;
        Ok(Arc::new(JsThread {
            id: std::thread::current().id(),
            env: RawEnv(env.raw()),
            stack: crate::inline::own_stack(),
            dispatcher,
            pump: Mutex::new(None),
            exiting: exit_flag(env)?,
        }))
    }

    /// Marks this (the JS) thread as running a guest on its own stack until
    /// the mark is dropped: host functions called meanwhile run their JS
    /// directly. Only for calls aegis-core runs without a fiber.
    pub fn inline(&self) -> Inline {
        Inline::enter(self.env.0)
    }

    /// The env, if a host function called now may run JS right here: on
    /// this JS thread, in an inline call, on the thread's own stack (JS
    /// entered from a fiber's stack would overflow or be refused by V8).
    fn here(&self) -> Option<Env> {
        let marker = 0u8;
        let sp = std::ptr::addr_of!(marker) as usize;
        let on_own_stack = self.stack.as_ref().is_none_or(|s| s.contains(&sp));
        (crate::inline::active(self.env.0) && on_own_stack).then(|| Env::from_raw(self.env.0))
    }

    /// Runs `guest` on a helper thread while this (the JS) thread
    /// runs the JS host functions it calls; returns what `guest` returned.
    /// For synchronous calls: the JS thread is blocked either way, but JS
    /// runs on its own stack instead of the guest's fiber.
    pub fn serve<T: Send + 'static>(
        &self,
        env: &Env,
        guest: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, std::io::Error> {
        let (tx, rx) = mpsc::channel();
        let slot = Arc::new(Mutex::new(None));
        let out = Arc::clone(&slot);
        let done = DoneOnDrop(tx.clone());
        let previous = self
            .pump
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(tx);
        let job: CallJob = Box::new(move || {
            let _done = done;
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(guest));
            *out.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        });
        let sent = helpers::run(job);
        if let Err(e) = sent {
            *self.pump.lock().unwrap_or_else(PoisonError::into_inner) = previous;
            return Err(e);
        }
        // `Done` always comes: it is sent when the job is dropped, run or not.
        while let Some(PumpMessage::Run(job)) = receive(&rx) {
            job(env);
        }
        *self.pump.lock().unwrap_or_else(PoisonError::into_inner) = previous;
        let outcome = slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| std::io::Error::other("the call thread stopped"))?;
        Ok(outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    }

    /// Runs `job` on the JS thread and returns its result, blocking the
    /// guest's thread until the JS thread has run it, or until `cancelled()`
    /// (the call's deadline passed or it was interrupted): then the guest
    /// stops waiting, and the job, if the JS thread has not started it yet,
    /// never runs. So a busy, blocked or exiting event loop cannot hold a
    /// call past its limits.
    fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&Env) -> R + Send + 'static,
        cancelled: impl Fn() -> bool,
    ) -> Result<R, HostError> {
        if std::thread::current().id() == self.id {
            // A guest on a fiber of the JS thread: JS cannot run on its stack,
            // and the JS thread cannot run it elsewhere while the guest waits.
            // Calls that may reach JS are placed so this cannot happen.
            return Err(HostError::new(
                "a JavaScript host function was called from a guest running on its own stack on the JavaScript thread",
            ));
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let abandoned = Arc::new(AtomicBool::new(false));
        let skip = Arc::clone(&abandoned);
        let job: Job = Box::new(move |env: &Env| {
            if !skip.load(Ordering::Acquire) {
                let _ = tx.send(job(env));
            }
        });
        let pump = self
            .pump
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match pump {
            // A synchronous call: the JS thread is waiting in `serve`.
            Some(pump) => pump
                .send(PumpMessage::Run(job))
                .map_err(|_| HostError::new("the JavaScript thread stopped serving host calls"))?,
            None => {
                let status = self
                    .dispatcher
                    .call(job, ThreadsafeFunctionCallMode::Blocking);
                if status != Status::Ok {
                    return Err(HostError::new(format!(
                        "cannot reach the JavaScript thread ({status})"
                    )));
                }
            }
        }
        if let Some(out) = spin(|| rx.try_recv().ok()) {
            return Ok(out);
        }
        loop {
            match rx.recv_timeout(CANCEL_POLL) {
                Ok(out) => return Ok(out),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(HostError::new(
                        "the JavaScript thread dropped the host call",
                    ));
                }
                Err(RecvTimeoutError::Timeout)
                    if cancelled() || self.exiting.load(Ordering::Acquire) =>
                {
                    abandoned.store(true, Ordering::Release);
                    return Err(HostError::new(
                        "the call was stopped while waiting for the JavaScript thread",
                    ));
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

/// How often a guest waiting for the JS thread checks whether its call must stop.
const CANCEL_POLL: Duration = Duration::from_millis(2);

/// How long a thread handing work to another polls for the answer before it
/// sleeps: a host call's round trip is usually shorter than two wake-ups.
const SPIN: Duration = Duration::from_micros(50);

/// Polls `attempt` for up to [`SPIN`], yielding the CPU between tries.
fn spin<T>(mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    let start = std::time::Instant::now();
    loop {
        if let Some(out) = attempt() {
            return Some(out);
        }
        if start.elapsed() >= SPIN {
            return None;
        }
        std::thread::yield_now();
    }
}

/// The next message for a JS thread in [`JsThread::serve`].
fn receive(rx: &mpsc::Receiver<PumpMessage>) -> Option<PumpMessage> {
    spin(|| rx.try_recv().ok()).or_else(|| rx.recv().ok())
}

/// A registered JS host function: what aegis-core calls.
pub struct JsHostFunction {
    /// `module.name`, for messages.
    pub label: String,
    /// The JS function.
    pub callback: Arc<JsCallback>,
    /// Declared result types.
    pub results: Vec<ValType>,
    /// The JS thread it belongs to.
    pub thread: Arc<JsThread>,
    /// Whether the JS function gets a `Caller` first (`{ caller: true }`).
    pub with_caller: bool,
}

impl JsHostFunction {
    /// Calls the JS function with `args` from whatever thread the guest runs on.
    pub fn call(
        &self,
        caller: &mut HostCaller<'_>,
        args: &[Value],
    ) -> Result<Vec<Value>, HostError> {
        if !self.with_caller {
            let caller = &*caller;
            return self.dispatch(None, args, || caller.is_cancelled());
        }
        // From here until `_closed` is dropped (whatever way this returns),
        // `caller` is used only through the slot.
        let (slot, _closed) = CallerSlot::open(caller);
        let watched = Arc::clone(&slot);
        self.dispatch(Some(slot), args, move || watched.is_cancelled())
    }

    /// Runs the JS function: right here on an inline call, else on the JS
    /// thread while this one waits, until `cancelled()`.
    fn dispatch(
        &self,
        slot: Option<Arc<CallerSlot>>,
        args: &[Value],
        cancelled: impl Fn() -> bool,
    ) -> Result<Vec<Value>, HostError> {
        if let Some(env) = self.thread.here() {
            return crate::inline::in_shared_scope(&env, || {
                invoke(
                    &env,
                    &self.callback,
                    &self.label,
                    slot.as_ref(),
                    args,
                    &self.results,
                )
            })
            .unwrap_or_else(|e| Err(napi_failure(&self.label, e)));
        }
        let callback = Arc::clone(&self.callback);
        let label = self.label.clone();
        let results = self.results.clone();
        let args = args.to_vec();
        self.thread.run(
            move |env| {
                in_scope(env, &label, || {
                    invoke(env, &callback, &label, slot.as_ref(), &args, &results)
                })
            },
            cancelled,
        )?
    }
}

/// A JS function registered for a component import: what aegis-core calls
/// with the arguments as `Data`.
pub struct JsComponentFunction {
    /// The import's name, `func` or `interface#func`.
    pub name: String,
    /// The JS function.
    pub callback: Arc<JsCallback>,
    /// The JS thread it belongs to.
    pub thread: Arc<JsThread>,
}

impl JsComponentFunction {
    /// Calls the JS function with `args` from whatever thread the guest runs on.
    /// Waiting for the JS thread stops when the call must end (`call`).
    pub fn call(&self, call: &ComponentCall<'_>, args: &[Data]) -> Result<Vec<Data>, HostError> {
        let callback = Arc::clone(&self.callback);
        let label = self.name.clone();
        let has_result = call.has_result();
        let args = args.to_vec();
        self.thread.run(
            move |env| {
                in_scope(env, &label, || {
                    invoke_component(env, &callback, &label, args, has_result)
                })
            },
            || call.is_cancelled(),
        )?
    }
}

/// Runs one host call in a handle scope of its own, so a long-running
/// guest's host calls do not pile up handles.
fn in_scope<T>(
    env: &Env,
    label: &str,
    f: impl FnOnce() -> Result<T, HostError>,
) -> Result<T, HostError> {
    env.run_in_scope(|| Ok(f()))
        .unwrap_or_else(|e| Err(napi_failure(label, e)))
}

/// A Node-API failure around the host function `label`.
fn napi_failure(label: &str, e: napi::Error) -> HostError {
    HostError::new(format!("host function `{label}`: {e}"))
}

/// Calls a component host function on the JS thread: `Data` arguments in,
/// its return value (if the import has a result) out.
fn invoke_component(
    env: &Env,
    callback: &JsCallback,
    label: &str,
    args: Vec<Data>,
    has_result: bool,
) -> Result<Vec<Data>, HostError> {
    let napi_failed = |e| napi_failure(label, e);
    let func = callback.borrow_back(env).map_err(napi_failed)?;
    let argv = args
        .into_iter()
        .map(|d| crate::data::to_js(env, d))
        .collect::<napi::Result<Vec<_>>>()
        .map_err(napi_failed)?;
    let ret = call_js(env, func.raw(), &argv, label)?;
    if !has_result {
        return Ok(Vec::new());
    }
    match crate::data::ToData::new(env).convert(ret, "the result") {
        Ok(data) => Ok(vec![data]),
        // A getter or proxy trap that threw while the value was read: its
        // exception is pending and must be taken, as for a throw from the
        // function itself (left pending, it would escape the call).
        Err(crate::data::ToDataError::Napi(e)) => Err(if exception_pending(env) {
            thrown(env, label)
        } else {
            napi_failed(e)
        }),
        Err(crate::data::ToDataError::Unconvertible(u)) => Err(HostError::new(format!(
            "host function `{label}` returned a value with no WIT value: {}",
            u.message()
        ))),
    }
}

/// Calls `func` with `argv` (`this` undefined); a thrown exception becomes
/// the error's payload.
fn call_js(
    env: &Env,
    func: sys::napi_value,
    argv: &[sys::napi_value],
    label: &str,
) -> Result<sys::napi_value, HostError> {
    let mut this = std::ptr::null_mut();
    let mut ret = std::ptr::null_mut();
    // SAFETY: every value belongs to `env`, the live env of this thread.
    let status = unsafe {
        sys::napi_get_undefined(env.raw(), &mut this);
        sys::napi_call_function(env.raw(), this, func, argv.len(), argv.as_ptr(), &mut ret)
    };
    if status == sys::Status::napi_pending_exception {
        return Err(thrown(env, label));
    }
    if status != sys::Status::napi_ok {
        return Err(HostError::new(format!(
            "host function `{label}` could not be called ({})",
            Status::from(status)
        )));
    }
    Ok(ret)
}

/// Calls the JS function on the JS thread and converts its return value.
/// With a `slot`, a new `Caller` on it comes first, and the slot is closed
/// as soon as the function returns.
fn invoke(
    env: &Env,
    callback: &JsCallback,
    label: &str,
    slot: Option<&Arc<CallerSlot>>,
    args: &[Value],
    results: &[ValType],
) -> Result<Vec<Value>, HostError> {
    let napi_failed = |e| napi_failure(label, e);
    let func = callback.borrow_back(env).map_err(napi_failed)?;
    let ret = match slot {
        None => with_mapped(
            args,
            std::ptr::null_mut,
            |v| value_to_js(env, *v),
            |argv| call_js(env, func.raw(), argv, label),
        )
        .map_err(napi_failed)?,
        Some(slot) => {
            let argv = std::iter::once(slot.to_js(env))
                .chain(args.iter().map(|v| value_to_js(env, *v)))
                .collect::<napi::Result<Vec<_>>>()
                .map_err(napi_failed)?;
            let ret = call_js(env, func.raw(), &argv, label);
            slot.close();
            ret
        }
    }?;
    returned(env, ret, label, results)
}

/// Whether a JS exception is pending on `env`.
fn exception_pending(env: &Env) -> bool {
    let mut pending = false;
    // SAFETY: `env` is the live env of this thread.
    unsafe { sys::napi_is_exception_pending(env.raw(), &mut pending) };
    pending
}

/// Takes the pending JS exception and wraps it as the error's payload.
fn thrown(env: &Env, label: &str) -> HostError {
    let mut exception = std::ptr::null_mut();
    // SAFETY: an exception is pending on this live env.
    unsafe { sys::napi_get_and_clear_last_exception(env.raw(), &mut exception) };
    // SAFETY: `exception` is a live value of `env`.
    let original = napi::Error::from_unknown_without_coercion(unsafe {
        Unknown::from_raw_unchecked(env.raw(), exception)
    });
    let message = format!("host function `{label}` threw: {}", original.reason);
    HostError::with_payload(message, Box::new(original))
}

/// Converts what the JS function returned to the declared result types.
fn returned(
    env: &Env,
    ret: sys::napi_value,
    label: &str,
    results: &[ValType],
) -> Result<Vec<Value>, HostError> {
    match results.len() {
        0 => Ok(Vec::new()),
        1 => Ok(vec![result(env, ret, label, results[0], "the result")?]),
        n => {
            let mut is_array = false;
            // SAFETY: `ret` is a live value of `env`.
            unsafe { sys::napi_is_array(env.raw(), ret, &mut is_array) };
            let mut len = 0;
            if is_array {
                // SAFETY: `ret` is an array of `env`.
                unsafe { sys::napi_get_array_length(env.raw(), ret, &mut len) };
            }
            if !is_array || len as usize != n {
                return Err(HostError::new(format!(
                    "host function `{label}` must return an array of {n} values"
                )));
            }
            (0..n)
                .map(|i| {
                    let mut item = std::ptr::null_mut();
                    // SAFETY: `ret` is an array of `env` with `n` elements.
                    unsafe { sys::napi_get_element(env.raw(), ret, i as u32, &mut item) };
                    result(env, item, label, results[i], &format!("result {i}"))
                })
                .collect()
        }
    }
}

/// One returned value, converted by the core's argument rule
/// (`aegis_core::Arg::value_for`), as a call argument would be.
fn result(
    env: &Env,
    raw: sys::napi_value,
    label: &str,
    ty: ValType,
    what: &str,
) -> Result<Value, HostError> {
    let arg = js_to_arg(env, raw).map_err(|e| HostError::new(e.to_string()))?;
    match arg.value_for(ty) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(HostError::new(format!(
            "host function `{label}` returned {} as {what}, which is not a {ty}",
            arg.kind()
        ))),
        Err(e) => Err(HostError::new(format!(
            "host function `{label}` returned {what} out of range: {e}"
        ))),
    }
}

/// The threads that run synchronous calls for every JS thread: started on
/// demand (one per synchronous call in progress, so nested calls from host
/// functions never wait for each other), reused, and ended after a while idle.
mod helpers {
    use std::sync::mpsc::{self, RecvTimeoutError};
    use std::sync::{Mutex, PoisonError};
    use std::time::Duration;

    use super::{CallJob, spin};

    /// How long an idle helper waits for work before it ends.
    const IDLE: Duration = Duration::from_secs(30);

    /// One idle helper: its id and where to send it work.
    struct Idle {
        id: u64,
        jobs: mpsc::Sender<CallJob>,
    }

    /// Idle helpers, most recently idle last.
    static IDLE_HELPERS: Mutex<Vec<Idle>> = Mutex::new(Vec::new());
    /// Ids of helper threads, to find one in the idle list.
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

    fn idle() -> std::sync::MutexGuard<'static, Vec<Idle>> {
        IDLE_HELPERS.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `job` on an idle helper, or on a new one.
    pub fn run(job: CallJob) -> Result<(), std::io::Error> {
        let mut job = job;
        loop {
            let Some(helper) = idle().pop() else { break };
            // A helper taken off the list waits for its job (see `serve_jobs`).
            match helper.jobs.send(job) {
                Ok(()) => return Ok(()),
                Err(mpsc::SendError(back)) => job = back,
            }
        }
        let (jobs, queue) = mpsc::channel();
        jobs.send(job)
            .map_err(|_| std::io::Error::other("helper channel closed"))?;
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::thread::Builder::new()
            .name("aegis-call".into())
            .spawn(move || serve_jobs(id, jobs, queue))?;
        Ok(())
    }

    /// A helper's life: run jobs, listing itself as idle between them, until
    /// it has been idle for [`IDLE`].
    fn serve_jobs(id: u64, jobs: mpsc::Sender<CallJob>, queue: mpsc::Receiver<CallJob>) {
        loop {
            // Calls often come back to back: poll briefly before sleeping.
            let job = match spin(|| queue.try_recv().ok()) {
                Some(job) => job,
                None => match queue.recv_timeout(IDLE) {
                    Ok(job) => job,
                    Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) => {
                        let mut list = idle();
                        match list.iter().position(|h| h.id == id) {
                            // Still listed: nobody can send to it any more.
                            Some(at) => {
                                list.remove(at);
                                return;
                            }
                            // Taken off the list: its job is on the way.
                            None => {
                                drop(list);
                                match queue.recv() {
                                    Ok(job) => job,
                                    Err(_) => return,
                                }
                            }
                        }
                    }
                },
            };
            job();
            idle().push(Idle {
                id,
                jobs: jobs.clone(),
            });
        }
    }
}
