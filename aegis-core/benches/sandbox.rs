//! Aegis against raw wasmtime, measured side by side in one run.
//!
//! Groups (each reports the peer first, then Aegis):
//! - `fresh_sandbox`: a new sandbox, instantiate, one call of `add` (per request).
//! - `call`: `add(i32, i32)` on a live instance.
//! - `host_callback`: one guest→host call (the guest makes 1000 per iteration).
//! - `cpu_heavy`: `run(1 MiB)` of the C benchmark guest (target/guests/out/cpu.wasm).
//!
//! `scripts/bench.sh` runs this and turns the estimates into BENCHMARKS.md.

use std::hint::black_box;

use aegis_core::Aegis;
use criterion::{Criterion, criterion_group, criterion_main};
use wasmtime::{Config, Engine, Linker, Module, Store};

const ADD: &str = r#"(module (memory (export "memory") 1)
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;

const CALLBACK: &str = r#"(module (import "env" "inc" (func $inc (param i32) (result i32)))
    (func (export "loop") (param i32) (result i32) (local i32)
        (loop $l (local.set 1 (call $inc (local.get 1)))
                 (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
        (local.get 1)))"#;

/// Raw wasmtime with the same engine features Aegis turns on (fuel, epochs).
fn limited_engine() -> Engine {
    let mut config = Config::new();
    config.consume_fuel(true).epoch_interruption(true);
    Engine::new(&config).unwrap()
}

fn fresh_sandbox(c: &mut Criterion) {
    let mut g = c.benchmark_group("fresh_sandbox");
    let engine = Engine::default();
    let module = Module::new(&engine, ADD).unwrap();
    let linker: Linker<()> = Linker::new(&engine);
    let pre = linker.instantiate_pre(&module).unwrap();
    g.bench_function("wasmtime_instance_pre", |b| {
        b.iter(|| {
            let mut store = Store::new(&engine, ());
            let instance = pre.instantiate(&mut store).unwrap();
            let add = instance
                .get_typed_func::<(i32, i32), i32>(&mut store, "add")
                .unwrap();
            black_box(add.call(&mut store, (1, 2)).unwrap())
        })
    });
    let limited = limited_engine();
    let lmodule = Module::new(&limited, ADD).unwrap();
    let lpre = Linker::<()>::new(&limited)
        .instantiate_pre(&lmodule)
        .unwrap();
    g.bench_function("wasmtime_limits_on", |b| {
        b.iter(|| {
            let mut store = Store::new(&limited, ());
            store.set_fuel(1_000_000_000).unwrap();
            store.set_epoch_deadline(15_000);
            let instance = lpre.instantiate(&mut store).unwrap();
            let add = instance
                .get_typed_func::<(i32, i32), i32>(&mut store, "add")
                .unwrap();
            black_box(add.call(&mut store, (1, 2)).unwrap())
        })
    });
    for (name, runtime) in [
        ("aegis_default", Aegis::builder().build().unwrap()),
        (
            "aegis_pooled",
            Aegis::builder().with_instance_pool(16).build().unwrap(),
        ),
    ] {
        let module = runtime.load_wat(ADD).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut sandbox = runtime.sandbox().build().unwrap();
                sandbox.load_module(&module).unwrap();
                black_box(sandbox.call::<(i32, i32), i32>("add", (1, 2)).unwrap())
            })
        });
    }
    g.finish();
}

/// A real WASI program (`target/guests/out/programs/NAME.wasm`, built by
/// scripts/build-programs.sh), run with size 0: a new sandbox per request,
/// instantiated with a WASI context, `_start` run, stdout captured.
const FRESH_PROGRAM: &str = "markdown";

fn fresh_program(c: &mut Criterion) {
    let path = format!(
        "{}/../target/guests/out/programs/{FRESH_PROGRAM}.wasm",
        env!("CARGO_MANIFEST_DIR")
    );
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("skipping fresh_program: {path} missing (run scripts/build-programs.sh)");
        return;
    };
    let mut g = c.benchmark_group("fresh_program");
    let limited = limited_engine();
    let module = Module::new(&limited, &bytes).unwrap();
    let mut linker: Linker<wasmtime_wasi::p1::WasiP1Ctx> = Linker::new(&limited);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).unwrap();
    let pre = linker.instantiate_pre(&module).unwrap();
    g.bench_function("wasmtime_limits_on", |b| {
        b.iter(|| {
            let out = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(4096);
            let ctx = wasmtime_wasi::WasiCtxBuilder::new()
                .args(&[FRESH_PROGRAM, "0"])
                .stdout(out.clone())
                .build_p1();
            let mut store = Store::new(&limited, ctx);
            store.set_fuel(1_000_000_000).unwrap();
            store.set_epoch_deadline(15_000);
            let instance = pre.instantiate(&mut store).unwrap();
            let start = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .unwrap();
            start.call(&mut store, ()).unwrap();
            black_box(out.contents().len())
        })
    });
    let runtime = Aegis::builder().capture_output(4096).build().unwrap();
    let module = runtime.load_bytes(&bytes).unwrap();
    g.bench_function("aegis_default", |b| {
        b.iter(|| {
            let mut sandbox = runtime
                .sandbox()
                .with_args([FRESH_PROGRAM, "0"])
                .build()
                .unwrap();
            sandbox.load_module(&module).unwrap();
            sandbox.run().unwrap();
            black_box(sandbox.stdout().len())
        })
    });
    g.finish();
}

fn call(c: &mut Criterion) {
    let mut g = c.benchmark_group("call");
    let engine = limited_engine();
    let module = Module::new(&engine, ADD).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(u64::MAX).unwrap();
    store.set_epoch_deadline(u64::MAX);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let add = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "add")
        .unwrap();
    g.bench_function("wasmtime_typed", |b| {
        b.iter(|| black_box(add.call(&mut store, black_box((1, 2))).unwrap()))
    });
    // The counterpart of `call_dynamic` (and of the C API's call): wasmtime's
    // untyped `Func::call` with `Val` slices.
    let add_func = instance.get_func(&mut store, "add").unwrap();
    let vals = [wasmtime::Val::I32(1), wasmtime::Val::I32(2)];
    let mut out = [wasmtime::Val::I32(0)];
    g.bench_function("wasmtime_dynamic", |b| {
        b.iter(|| {
            add_func
                .call(&mut store, black_box(&vals), &mut out)
                .unwrap();
            black_box(out[0].unwrap_i32())
        })
    });
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_wat(ADD).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    g.bench_function("aegis_typed", |b| {
        b.iter(|| {
            black_box(
                sandbox
                    .call::<(i32, i32), i32>("add", black_box((1, 2)))
                    .unwrap(),
            )
        })
    });
    let add = sandbox.typed_func::<(i32, i32), i32>("add").unwrap();
    g.bench_function("aegis_typed_handle", |b| {
        b.iter(|| black_box(add.call(&mut sandbox, black_box((1, 2))).unwrap()))
    });
    let args = [aegis_core::Value::I32(1), aegis_core::Value::I32(2)];
    g.bench_function("aegis_dynamic", |b| {
        b.iter(|| black_box(sandbox.call_dynamic("add", black_box(&args)).unwrap()))
    });
    g.finish();
}

fn host_callback(c: &mut Criterion) {
    let mut g = c.benchmark_group("host_callback");
    g.throughput(criterion::Throughput::Elements(1000));
    let engine = limited_engine();
    let module = Module::new(&engine, CALLBACK).unwrap();
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "inc", |x: i32| x + 1).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(u64::MAX).unwrap();
    store.set_epoch_deadline(u64::MAX);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "loop")
        .unwrap();
    g.bench_function("wasmtime_func_wrap", |b| {
        b.iter(|| black_box(run.call(&mut store, 1000).unwrap()))
    });
    // The counterpart of dynamic and C callbacks: wasmtime's `Func::new`
    // (a closure over `Val` slices, signature known at run time).
    let mut linker = Linker::new(&engine);
    let ty = wasmtime::FuncType::new(&engine, [wasmtime::ValType::I32], [wasmtime::ValType::I32]);
    linker
        .func_new("env", "inc", ty, |_, args, results| {
            results[0] = wasmtime::Val::I32(args[0].unwrap_i32() + 1);
            Ok(())
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(u64::MAX).unwrap();
    store.set_epoch_deadline(u64::MAX);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "loop")
        .unwrap();
    g.bench_function("wasmtime_func_new", |b| {
        b.iter(|| black_box(run.call(&mut store, 1000).unwrap()))
    });
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_wat(CALLBACK).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.register_func("env", "inc", |x: i32| x + 1).unwrap();
    sandbox.load_module(&module).unwrap();
    g.bench_function("aegis_typed", |b| {
        b.iter(|| black_box(sandbox.call::<i32, i32>("loop", 1000).unwrap()))
    });
    let mut dynamic = runtime.sandbox().build().unwrap();
    let sig = aegis_core::FuncType::new([aegis_core::ValType::I32], [aegis_core::ValType::I32]);
    dynamic
        .register_dynamic("env", "inc", sig, |_, args| {
            Ok(vec![aegis_core::Value::I32(
                args[0].as_i32().unwrap_or(0) + 1,
            )])
        })
        .unwrap();
    dynamic.load_module(&module).unwrap();
    g.bench_function("aegis_dynamic", |b| {
        b.iter(|| black_box(dynamic.call::<i32, i32>("loop", 1000).unwrap()))
    });
    g.finish();
}

fn cpu_heavy(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/guests/out/cpu.wasm");
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("skipping cpu_heavy: {path} missing (run scripts/build-guests.sh)");
        return;
    };
    let mut g = c.benchmark_group("cpu_heavy");
    g.sample_size(20);
    const BYTES: i32 = 1 << 20;
    let engine = Engine::default();
    let module = Module::new(&engine, &bytes).unwrap();
    let mut linker: Linker<wasmtime_wasi::p1::WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
    let mut store = Store::new(&engine, wasmtime_wasi::WasiCtxBuilder::new().build_p1());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    g.bench_function("wasmtime_no_limits", |b| {
        b.iter(|| black_box(run.call(&mut store, BYTES).unwrap()))
    });
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_bytes(&bytes).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    g.bench_function("aegis_default_limits", |b| {
        b.iter(|| black_box(sandbox.call::<i32, i32>("run", BYTES).unwrap()))
    });
    g.finish();
}

criterion_group!(
    benches,
    fresh_sandbox,
    fresh_program,
    call,
    host_callback,
    cpu_heavy
);
criterion_main!(benches);
