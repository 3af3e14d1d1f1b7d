//! `--profile`: one program under one variant for `perf record`, and the
//! compiled code of a wasmtime variant, to annotate the samples.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use wasmtime::Module;

use crate::run::{Program, Timed, clock, epoch_engines, start_ticker};
use crate::variant::Variant;
use crate::{Options, aegis_runtimes, median, program_paths};

/// `--profile`: one program under one variant, again and again, for about
/// `secs` (none: only compile, and dump the code with `--perfmap`). The
/// programs named after the options are compiled for the variant too,
/// first, and never run: what else a process holds changes where the
/// profiled program's code and memory land. Writes `--out`: the runs, their
/// median wall-clock and CPU times, and the measuring window on
/// `CLOCK_MONOTONIC` (`perf record -k mono`'s clock), which leaves out
/// compiling.
pub(crate) fn profile(o: &Options, name: &str, variant: Variant, secs: f64) {
    let runtimes = aegis_runtimes(&[variant]);
    let others: Vec<Program> = program_paths(&o.dir, &o.names)
        .iter()
        .filter(|p| !o.names.is_empty() && p.file_stem().is_some_and(|s| s != name))
        .map(|p| Program::load(p, &[variant], &runtimes, false))
        .collect();
    let path = program_paths(&o.dir, &[name.to_string()]).remove(0);
    let program = Program::load(&path, &[variant], &runtimes, o.perfmap);
    start_ticker(epoch_engines(std::slice::from_ref(&program)));
    if o.perfmap
        && let Some(module) = program.peer_module()
    {
        dump_code(module, &o.out);
    }
    let window_start = clock(libc::CLOCK_MONOTONIC).as_secs_f64();
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut times = Vec::new();
    while Instant::now() < until {
        times.push(program.run(variant).time);
    }
    let window_end = clock(libc::CLOCK_MONOTONIC).as_secs_f64();
    let median_of = |pick: fn(&Timed) -> Duration| {
        let picked: Vec<Duration> = times.iter().map(pick).collect();
        (!picked.is_empty()).then(|| median(&picked).as_nanos() as u64)
    };
    let doc = json!({
        "program": name,
        "variant": variant.key(),
        "also_loaded": others.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        "runs": times.len(),
        "median_ns": median_of(|t| t.wall),
        "cpu_median_ns": median_of(|t| t.cpu),
        "window": [window_start, window_end],
    });
    std::fs::write(&o.out, doc.to_string()).expect("write profile JSON");
    eprintln!(
        "profile {name} {}: {} runs, median {:.2} ms of CPU",
        variant.key(),
        times.len(),
        median_of(|t| t.cpu).unwrap_or(0) as f64 / 1e6
    );
}

/// Writes the module's code (`<out>.text`) and where its functions are
/// (`<out>.functions.json`: the text's address in this process, each
/// function's offset, length and name), to annotate `perf` samples.
fn dump_code(module: &Module, out: &Path) {
    let text = module.text();
    std::fs::write(out.with_extension("text"), text).expect("write text");
    let functions: Vec<Json> = module
        .functions()
        .map(|f| json!({"offset": f.offset, "len": f.len, "name": f.name, "index": f.index.as_u32()}))
        .collect();
    let doc = json!({"text_address": text.as_ptr() as usize, "functions": functions});
    std::fs::write(out.with_extension("functions.json"), doc.to_string()).expect("write map");
}
