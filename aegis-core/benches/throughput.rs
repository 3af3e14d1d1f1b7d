//! Calls per second with 1 and 2 threads on one shared runtime; prints JSON
//! (`scripts/bench.sh` writes it to `target/bench/throughput.json`).
//!
//! - `calls`: `add(i32, i32)` on a live instance. Aegis: one `Runtime`
//!   shared by the threads, a sandbox per thread, the export resolved once
//!   (`Sandbox::typed_func`, then `TypedExport::call`). Peer: raw wasmtime
//!   with fuel and epochs, one `Engine` shared, a `Store` and instance per
//!   thread, `TypedFunc::call`.
//! - `fresh`: a new sandbox per request (build, load the module, call
//!   `add`, drop). Peer: a new `Store`, `InstancePre::instantiate`, call.
//!
//! Each thread runs for the same wall time; the rate is the calls of all
//! threads over that time. `ratio` is the 2-thread rate over the 1-thread
//! rate (2.0 is perfect scaling on 2 cores). `cpu_1`/`cpu_2` are the rates
//! the threads would reach with a core each: calls per second of a thread's
//! own CPU time, times the threads. `cpu_ratio` (`cpu_2` over `cpu_1`) is
//! 2.0 when a second thread makes no call dearer (no contention) whatever
//! else runs on the machine; the wall-clock `ratio` needs an idle machine.
//!
//! `cargo bench -p aegis-wasm-sandbox --bench throughput [-- --quick]`

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use aegis_core::Runtime;
use serde_json::{Value, json};
use wasmtime::{Config, Engine, InstancePre, Linker, Module, Store};

const ADD: &str = r#"(module (memory (export "memory") 1)
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;

/// Calls between two looks at the clock.
const BATCH: u64 = 64;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let duration = Duration::from_millis(if quick { 300 } else { 2000 });
    let runtime = Runtime::new().unwrap();
    let module = runtime.load_wat(ADD).unwrap();
    let engine = limited_engine();
    let pre = Linker::<()>::new(&engine)
        .instantiate_pre(&Module::new(&engine, ADD).unwrap())
        .unwrap();

    let aegis_call = |batch: u64| -> Box<dyn FnMut() + Send> {
        let mut sandbox = runtime.sandbox().build().unwrap();
        sandbox.load_module(&module).unwrap();
        let add = sandbox.typed_func::<(i32, i32), i32>("add").unwrap();
        Box::new(move || {
            for i in 0..batch as i32 {
                black_box(add.call(&mut sandbox, black_box((i, 1))).unwrap());
            }
        })
    };
    let wasmtime_call = |batch: u64| -> Box<dyn FnMut() + Send> {
        let mut store = peer_store(&engine);
        store.set_fuel(u64::MAX).unwrap();
        let instance = pre.instantiate(&mut store).unwrap();
        let add = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "add")
            .unwrap();
        Box::new(move || {
            for i in 0..batch as i32 {
                black_box(add.call(&mut store, black_box((i, 1))).unwrap());
            }
        })
    };
    let aegis_fresh = |batch: u64| -> Box<dyn FnMut() + Send> {
        let (runtime, module) = (runtime.clone(), module.clone());
        Box::new(move || {
            for i in 0..batch as i32 {
                let mut sandbox = runtime.sandbox().build().unwrap();
                sandbox.load_module(&module).unwrap();
                black_box(sandbox.call::<(i32, i32), i32>("add", (i, 1)).unwrap());
            }
        })
    };
    let wasmtime_fresh = |batch: u64| -> Box<dyn FnMut() + Send> {
        let (engine, pre) = (engine.clone(), pre.clone());
        Box::new(move || {
            for i in 0..batch as i32 {
                black_box(fresh_peer_call(&engine, &pre, i));
            }
        })
    };

    let mut out = json!({ "duration_s": duration.as_secs_f64(), "nproc": nproc() });
    let cases: [(&str, &str, &Maker<'_>, u64); 4] = [
        ("calls", "aegis", &aegis_call, BATCH),
        ("calls", "wasmtime", &wasmtime_call, BATCH),
        ("fresh", "aegis", &aegis_fresh, 1),
        ("fresh", "wasmtime", &wasmtime_fresh, 1),
    ];
    for (group, name, make, batch) in cases {
        eprintln!("throughput: {group} {name}");
        let (one, cpu_one) = rate(1, duration, make, batch);
        let (two, cpu_two) = rate(2, duration, make, batch);
        out[group][name] = json!({
            "1": one, "2": two, "ratio": two / one,
            "cpu_1": cpu_one, "cpu_2": cpu_two, "cpu_ratio": cpu_two / cpu_one,
        });
    }
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}

/// Makes one thread's work: a closure running `batch` requests.
type Maker<'a> = dyn Fn(u64) -> Box<dyn FnMut() + Send> + Sync + 'a;

/// Requests per second of `threads` threads, each running its own work from
/// `make` for `duration`: per second of wall time, and per second of the
/// threads' CPU time.
fn rate(threads: usize, duration: Duration, make: &Maker<'_>, batch: u64) -> (f64, f64) {
    let start = Barrier::new(threads);
    let counts: Vec<(u64, Duration, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let start = &start;
                scope.spawn(move || {
                    let mut work = make(batch);
                    work();
                    start.wait();
                    let (begin, cpu) = (Instant::now(), thread_cpu());
                    let mut done = 0u64;
                    while begin.elapsed() < duration {
                        work();
                        done += batch;
                    }
                    (done, begin.elapsed(), thread_cpu() - cpu)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wall = counts
        .iter()
        .map(|&(done, took, _)| done as f64 / took.as_secs_f64())
        .sum();
    let done: u64 = counts.iter().map(|c| c.0).sum();
    let cpu: f64 = counts.iter().map(|c| c.2.as_secs_f64()).sum();
    (wall, done as f64 / cpu * threads as f64)
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Raw wasmtime with the engine features Aegis turns on (fuel, epochs).
fn limited_engine() -> Engine {
    let mut config = Config::new();
    config.consume_fuel(true).epoch_interruption(true);
    Engine::new(&config).unwrap()
}

fn peer_store(engine: &Engine) -> Store<()> {
    let mut store = Store::new(engine, ());
    store.set_epoch_deadline(u64::MAX);
    store
}

fn fresh_peer_call(engine: &Engine, pre: &InstancePre<()>, i: i32) -> i32 {
    let mut store = peer_store(engine);
    store.set_fuel(1_000_000_000).unwrap();
    let instance = pre.instantiate(&mut store).unwrap();
    let add = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "add")
        .unwrap();
    add.call(&mut store, (i, 1)).unwrap()
}

fn nproc() -> Value {
    std::thread::available_parallelism()
        .map(|n| json!(n.get()))
        .unwrap_or(Value::Null)
}
