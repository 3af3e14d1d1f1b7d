//! How many idle sandboxes one process holds, and what each costs; prints
//! JSON (`scripts/bench.sh` writes it to `target/bench/density.json`).
//!
//! - `aegis`: 100 000 default sandboxes, each with a module of one 64 KiB
//!   memory loaded (instantiated), none running: resident memory, kernel
//!   mappings and address space per sandbox (deltas of `/proc/self/statm`
//!   and `/proc/self/maps` over the whole run), and the time to create one.
//! - `aegis_called`: the same, each sandbox having served one call.
//! - `wasmtime`: the same with raw wasmtime (default `Engine`, a `Store`
//!   and an `Instance` per sandbox), stopping at the first failure.
//! - `instantiate`: time to a loaded sandbox (no call) for each real program
//!   in `target/guests/out/programs/` (`scripts/build-programs.sh`), Aegis
//!   (default runtime, and with an instance pool of 16 slots) against
//!   wasmtime with fuel and epochs: copy-on-write images, which the
//!   default runtime's arena memories give up (`aegis-core/src/arena.rs`)
//!   and instance pools keep.
//!
//! Each part runs in a process of its own, so that one part's freed memory
//! does not hide the next one's cost.
//!
//! `cargo bench -p aegis-wasm-sandbox --bench density [-- --quick]`

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Sandboxes each density run tries to hold.
const TARGET: usize = 100_000;

const MODULE: &str = r#"(module (memory (export "memory") 1)
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;

const PROGRAMS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/guests/out/programs");

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    if let Some(at) = args.iter().position(|a| a == "--phase") {
        let result = match args.get(at + 1).map(String::as_str) {
            Some("aegis") => hold(aegis_sandboxes(false)),
            Some("aegis_called") => hold(aegis_sandboxes(true)),
            Some("wasmtime") => hold(wasmtime_instances()),
            Some("instantiate") => instantiate(quick),
            other => panic!("unknown phase {other:?}"),
        };
        println!("{result}");
        return;
    }
    let mut out = json!({
        "target": TARGET,
        "max_map_count": read_number("/proc/sys/vm/max_map_count"),
        "overcommit_memory": read_number("/proc/sys/vm/overcommit_memory"),
        "page_size": page_size(),
    });
    for phase in ["aegis", "aegis_called", "wasmtime", "instantiate"] {
        eprintln!("density: {phase}");
        out[phase] = run_phase(phase, quick);
    }
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}

/// Runs one phase in a child process and returns its JSON.
fn run_phase(phase: &str, quick: bool) -> Value {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child.args(["--phase", phase]);
    if quick {
        child.arg("--quick");
    }
    let output = child.output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|_| {
        json!({
            "error": format!(
                "phase exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )
        })
    })
}

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

/// The process's size and resident memory (bytes) and its kernel mappings.
fn usage() -> (u64, u64, u64) {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let mut pages = statm.split_whitespace().map(|n| n.parse::<u64>().unwrap());
    let (size, resident) = (pages.next().unwrap(), pages.next().unwrap());
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    (
        size * page_size(),
        resident * page_size(),
        maps.lines().count() as u64,
    )
}

/// Something that makes one idle sandbox at a time.
type Maker = Box<dyn FnMut() -> Result<Box<dyn std::any::Any>, String>>;

/// Holds up to [`TARGET`] sandboxes from `make` and reports what they cost.
fn hold(mut make: Maker) -> Value {
    let mut held = Vec::with_capacity(TARGET);
    let (size0, rss0, maps0) = usage();
    let start = Instant::now();
    let mut stopped_by = None;
    while held.len() < TARGET {
        match make() {
            Ok(sandbox) => held.push(sandbox),
            Err(e) => {
                stopped_by = Some(e);
                break;
            }
        }
    }
    let took = start.elapsed();
    let (size, rss, maps) = usage();
    let n = held.len().max(1) as f64;
    json!({
        "held": held.len(),
        "stopped_by": stopped_by,
        "create_ns": took.as_nanos() as f64 / n,
        "rss_bytes": rss.saturating_sub(rss0) as f64 / n,
        "mappings": maps.saturating_sub(maps0) as f64 / n,
        "address_space_bytes": size.saturating_sub(size0) as f64 / n,
    })
}

/// Default sandboxes with the module loaded; `called`: each has served one
/// call of `add` (and keeps what that left behind).
fn aegis_sandboxes(called: bool) -> Maker {
    let runtime = aegis_core::Runtime::new().unwrap();
    let module = runtime.load_wat(MODULE).unwrap();
    Box::new(move || {
        let mut sandbox = runtime.sandbox().build().map_err(|e| e.to_string())?;
        sandbox.load_module(&module).map_err(|e| e.to_string())?;
        if called {
            let sum = sandbox.call::<(i32, i32), i32>("add", (1, 2));
            sum.map_err(|e| e.to_string())?;
        }
        Ok(Box::new(sandbox))
    })
}

fn wasmtime_instances() -> Maker {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, MODULE).unwrap();
    let pre = wasmtime::Linker::<()>::new(&engine)
        .instantiate_pre(&module)
        .unwrap();
    Box::new(move || {
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = pre.instantiate(&mut store).map_err(|e| format!("{e:#}"))?;
        Ok(Box::new((store, instance)))
    })
}

/// Mean time of `f` over at least 20 runs and `budget`.
fn mean_time(budget: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut runs = 0u32;
    while runs < 20 || start.elapsed() < budget {
        f();
        runs += 1;
    }
    start.elapsed().as_nanos() as f64 / f64::from(runs)
}

/// Time to a loaded sandbox for each real program, Aegis and wasmtime.
fn instantiate(quick: bool) -> Value {
    let budget = Duration::from_millis(if quick { 100 } else { 1000 });
    let Ok(dir) = std::fs::read_dir(PROGRAMS) else {
        return json!({ "error": format!("{PROGRAMS} missing: run scripts/build-programs.sh") });
    };
    let mut paths: Vec<_> = dir
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    paths.sort();
    let runtime = aegis_core::Runtime::new().unwrap();
    let pooled = aegis_core::Aegis::builder()
        .with_instance_pool(16)
        .build()
        .unwrap();
    let mut config = wasmtime::Config::new();
    config.consume_fuel(true).epoch_interruption(true);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
    let mut out = serde_json::Map::new();
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let module = runtime.load_file(&path).unwrap();
        let aegis = mean_time(budget, || {
            let mut sandbox = runtime.sandbox().build().unwrap();
            sandbox.load_module(&module).unwrap();
        });
        let module = pooled.load_file(&path).unwrap();
        let aegis_pooled = mean_time(budget, || {
            let mut sandbox = pooled.sandbox().build().unwrap();
            sandbox.load_module(&module).unwrap();
        });
        let wasm = wasmtime::Module::from_file(&engine, &path).unwrap();
        let pre = linker.instantiate_pre(&wasm).unwrap();
        let peer = mean_time(budget, || {
            let ctx = wasmtime_wasi::WasiCtxBuilder::new().build_p1();
            let mut store = wasmtime::Store::new(&engine, ctx);
            store.set_fuel(1_000_000_000).unwrap();
            store.set_epoch_deadline(1);
            pre.instantiate(&mut store).unwrap();
        });
        out.insert(
            name,
            json!({ "aegis_ns": aegis, "aegis_pooled_ns": aegis_pooled, "wasmtime_ns": peer }),
        );
    }
    Value::Object(out)
}
