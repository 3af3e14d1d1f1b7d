//! Data exchange, Aegis against raw wasmtime on the same guests, one run:
//!
//! - `bytes_round_trip/{1KiB,1MiB}`: `echo` of bytes-rust.wasm through the
//!   bytes convention (alloc, write, call, read, free). The peer does the same
//!   steps by hand with wasmtime's typed functions.
//! - `component_string/{1KiB,1MiB}`: `echo-string` of values.wasm. Peers:
//!   wasmtime's typed `TypedFunc<(String,), (String,)>` and its dynamic
//!   `Func::call` on `Val`s; Aegis through `call_component` (`Val`) and
//!   `call_data` (`Data`, what the Python and Node bindings use).
//!
//! Needs the guests: `./scripts/build-guests.sh`. Run:
//! `cargo bench -p aegis-wasm-sandbox --bench data`.

use std::hint::black_box;

use aegis_core::{Aegis, Data, WitVal};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use wasmtime::component::{Component, Linker as ComponentLinker, ResourceTable, Val};
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

const OUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/guests/out");
const SIZES: [(&str, usize); 2] = [("1KiB", 1024), ("1MiB", 1 << 20)];

fn bytes_round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("bytes_round_trip");
    let path = format!("{OUT}/bytes-rust.wasm");
    let engine = Engine::default();
    let module = Module::from_file(&engine, &path).unwrap();
    let mut linker: Linker<wasmtime_wasi::p1::WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
    let mut store = Store::new(&engine, wasmtime_wasi::WasiCtxBuilder::new().build_p1());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let alloc = instance
        .get_typed_func::<i32, i32>(&mut store, "aegis_alloc")
        .unwrap();
    let free = instance
        .get_typed_func::<(i32, i32), ()>(&mut store, "aegis_free")
        .unwrap();
    let echo = instance
        .get_typed_func::<(i32, i32), i64>(&mut store, "echo")
        .unwrap();

    let runtime = Aegis::builder().build().unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox
        .load_module(&runtime.load_file(&path).unwrap())
        .unwrap();

    for (label, size) in SIZES {
        let input = vec![0x61u8; size];
        g.bench_with_input(BenchmarkId::new("wasmtime", label), &input, |b, input| {
            b.iter(|| {
                let ptr = alloc.call(&mut store, input.len() as i32).unwrap();
                memory.write(&mut store, ptr as usize, input).unwrap();
                let packed = echo.call(&mut store, (ptr, input.len() as i32)).unwrap() as u64;
                let (out, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
                let output = memory.data(&store)[out..out + len].to_vec();
                free.call(&mut store, (out as i32, len as i32)).unwrap();
                black_box(output)
            })
        });
        g.bench_with_input(BenchmarkId::new("aegis", label), &input, |b, input| {
            b.iter(|| black_box(sandbox.call_bytes("echo", input).unwrap()))
        });
    }
}

struct P2 {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for P2 {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

fn component_string(c: &mut Criterion) {
    let mut g = c.benchmark_group("component_string");
    let path = format!("{OUT}/values.wasm");
    let engine = Engine::default();
    let component = Component::from_file(&engine, &path).unwrap();
    let mut linker: ComponentLinker<P2> = ComponentLinker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let mut store = Store::new(
        &engine,
        P2 {
            ctx: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        },
    );
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let typed = instance
        .get_typed_func::<(String,), (String,)>(&mut store, "echo-string")
        .unwrap();
    let dynamic = instance.get_func(&mut store, "echo-string").unwrap();

    let runtime = Aegis::builder().build().unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox
        .load_module(&runtime.load_file(&path).unwrap())
        .unwrap();

    for (label, size) in SIZES {
        let text = "a".repeat(size);
        g.bench_with_input(BenchmarkId::new("wasmtime_typed", label), &text, |b, t| {
            b.iter(|| black_box(typed.call(&mut store, (t.clone(),)).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("wasmtime_val", label), &text, |b, t| {
            b.iter(|| {
                let mut out = [Val::Bool(false)];
                dynamic
                    .call(&mut store, &[Val::String(t.clone())], &mut out)
                    .unwrap();
                black_box(out)
            })
        });
        g.bench_with_input(BenchmarkId::new("aegis_val", label), &text, |b, t| {
            b.iter(|| {
                black_box(
                    sandbox
                        .call_component("echo-string", &[WitVal::String(t.clone())])
                        .unwrap(),
                )
            })
        });
        g.bench_with_input(BenchmarkId::new("aegis_data", label), &text, |b, t| {
            b.iter(|| {
                black_box(
                    sandbox
                        .call_data("echo-string", &[Data::Str(t.clone())])
                        .unwrap(),
                )
            })
        });
    }
}

criterion_group!(benches, bytes_round_trip, component_string);
criterion_main!(benches);
