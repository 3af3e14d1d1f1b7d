//! Real programs under Aegis and under raw wasmtime with each limit on or off,
//! measured interleaved in one run (a custom harness: `harness = false`).
//!
//! Every program of `tests/guests/programs` (built into
//! `target/guests/out/programs/` by `scripts/build-programs.sh`) runs as a
//! WASI command with argv `[<name>.wasm]` (its default size, chosen to use
//! about 60 % of the default fuel) and its stdout and stderr kept in memory,
//! under each [`Variant`] (`programs/variant.rs`). The measured region is the
//! `_start` call alone (`programs/run.rs`): the store, the WASI context and
//! the instance are made before the clock starts and dropped after it stops,
//! for every variant alike; both the wall-clock time and the calling thread's
//! CPU time are recorded. Each round runs every program under every variant
//! once (the variants' order rotates from round to round); the result per
//! program and variant is the median over the rounds. A warm-up round first
//! checks that every variant prints the same output and records the fuel
//! each program uses.
//!
//! ```text
//! cargo bench -p aegis-wasm-sandbox --bench programs -- [--quick] [--out FILE] [--dir DIR] [NAME...]
//! cargo bench -p aegis-wasm-sandbox --bench programs -- --profile NAME VARIANT SECONDS [--perfmap] [--dir DIR]
//! ```
//!
//! Results go to `target/bench/programs.json` (or `--out`), a summary to
//! stderr. `--profile` (`programs/profile.rs`) only runs one program under
//! one variant for about SECONDS, for `perf record` (see
//! `scripts/perf-programs.sh`); with `--perfmap` a wasmtime variant writes
//! `/tmp/perf-<pid>.map` and dumps its compiled code next to `--out`.

#[path = "programs/profile.rs"]
mod profile;
#[path = "programs/run.rs"]
mod run;
#[path = "programs/variant.rs"]
mod variant;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aegis_core::limits::DEFAULT_FUEL_LIMIT;
use aegis_core::{Aegis, Runtime};
use serde_json::{Value as Json, json};

use run::{Program, TICK, Timed, argv, epoch_engines, start_ticker};
use variant::Variant;

/// Rounds (samples per program and variant), full and `--quick`.
const ROUNDS: usize = 21;
const QUICK_ROUNDS: usize = 5;

fn median(samples: &[Duration]) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2
    }
}

/// Medians and samples (in round order) of one program under one variant.
fn samples_json(times: &[Timed]) -> Json {
    let wall: Vec<Duration> = times.iter().map(|t| t.wall).collect();
    let cpu: Vec<Duration> = times.iter().map(|t| t.cpu).collect();
    let ns = |d: &[Duration]| d.iter().map(|d| d.as_nanos() as u64).collect::<Vec<_>>();
    json!({
        "median_ns": median(&wall).as_nanos() as u64,
        "cpu_median_ns": median(&cpu).as_nanos() as u64,
        "samples_ns": ns(&wall),
        "cpu_samples_ns": ns(&cpu),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Command-line options.
struct Options {
    quick: bool,
    out: PathBuf,
    names: Vec<String>,
    /// Where the programs are (default `target/guests/out/programs`).
    dir: PathBuf,
    profile: Option<(String, Variant, f64)>,
    perfmap: bool,
}

fn options() -> Options {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut o = Options {
        quick: false,
        out: root.join("target/bench/programs.json"),
        names: Vec::new(),
        dir: root.join("target/guests/out/programs"),
        profile: None,
        perfmap: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--perfmap" => o.perfmap = true,
            "--bench" => {}
            "--out" => o.out = args.next().expect("--out FILE").into(),
            "--dir" => o.dir = args.next().expect("--dir DIR").into(),
            "--profile" => {
                let name = args.next().expect("--profile NAME VARIANT SECONDS");
                let key = args.next().expect("--profile NAME VARIANT SECONDS");
                let variant =
                    Variant::from_key(&key).unwrap_or_else(|| panic!("unknown variant {key}"));
                let secs = args.next().and_then(|s| s.parse().ok()).expect("SECONDS");
                o.profile = Some((name, variant, secs));
            }
            s if s.starts_with('-') => {}
            name => o.names.push(name.to_string()),
        }
    }
    o
}

fn program_paths(dir: &Path, names: &[String]) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/build-programs.sh)", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .filter(|p| {
            names.is_empty()
                || names
                    .iter()
                    .any(|n| p.file_stem().is_some_and(|s| s == n.as_str()))
        })
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no programs in {}", dir.display());
    paths
}

fn aegis_runtimes(variants: &[Variant]) -> Vec<(Variant, Runtime)> {
    let mut out = Vec::new();
    if variants.contains(&Variant::AegisDefault) {
        out.push((Variant::AegisDefault, Aegis::builder().build().unwrap()));
    }
    if variants.contains(&Variant::AegisFuelOff) {
        let rt = Aegis::builder().without_fuel_limit().build().unwrap();
        out.push((Variant::AegisFuelOff, rt));
    }
    out
}

/// The 1-minute load average (`/proc/loadavg`), to tell a noisy run.
fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// CPU model and count, for the report.
fn machine() -> Json {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    json!({"cpu": model, "cpus": cpus})
}

fn main() {
    let o = options();
    if let Some((name, variant, secs)) = &o.profile {
        return profile::profile(&o, name, *variant, *secs);
    }
    let rounds = if o.quick { QUICK_ROUNDS } else { ROUNDS };
    let load_before = load_average();
    let runtimes = aegis_runtimes(&Variant::ALL);
    let programs: Vec<Program> = program_paths(&o.dir, &o.names)
        .iter()
        .map(|p| {
            eprintln!(
                "compiling {} for {} variants",
                p.display(),
                Variant::ALL.len()
            );
            Program::load(p, &Variant::ALL, &runtimes, false)
        })
        .collect();
    start_ticker(epoch_engines(&programs));

    // Warm-up round: same output everywhere, fuel per program.
    let mut reference = Vec::new();
    for p in &programs {
        let mut fuel = (None, None);
        let mut first: Option<Vec<u8>> = None;
        for v in Variant::ALL {
            let run = p.run(v);
            match v {
                Variant::AegisDefault => fuel.0 = run.fuel,
                Variant::SameLimits => fuel.1 = run.fuel,
                _ => {}
            }
            match &first {
                None => first = Some(run.stdout),
                Some(out) => assert_eq!(
                    out,
                    &run.stdout,
                    "{}: {} printed otherwise",
                    p.name,
                    v.key()
                ),
            }
        }
        let stdout = String::from_utf8_lossy(&first.unwrap_or_default())
            .trim()
            .to_string();
        eprintln!("{stdout}");
        reference.push((stdout, fuel));
    }

    let mut samples = vec![vec![Vec::new(); Variant::ALL.len()]; programs.len()];
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        for (i, p) in programs.iter().enumerate() {
            for k in 0..Variant::ALL.len() {
                let at = (k + round + i) % Variant::ALL.len();
                samples[i][at].push(p.run(Variant::ALL[at]).time);
            }
        }
    }

    let mut rows = Vec::new();
    for ((p, (stdout, (fuel, peer_fuel))), times) in programs.iter().zip(&reference).zip(&samples) {
        let line: Vec<String> = Variant::ALL
            .iter()
            .zip(times)
            .map(|(v, t)| {
                let cpu: Vec<Duration> = t.iter().map(|t| t.cpu).collect();
                format!("{}={:.2}", v.key(), ms(median(&cpu)))
            })
            .collect();
        eprintln!("{}: {} ms of CPU", p.name, line.join(" "));
        let per_variant: serde_json::Map<String, Json> = Variant::ALL
            .iter()
            .zip(times)
            .map(|(v, t)| (v.key().to_string(), samples_json(t)))
            .collect();
        rows.push(json!({
            "name": p.name,
            "argv": argv(&p.name),
            "wasm_bytes": p.wasm_bytes,
            "stdout": stdout,
            "fuel_consumed": fuel,
            "wasmtime_fuel_consumed": peer_fuel,
            "variants": per_variant,
        }));
    }
    let doc = json!({
        "measured": "the _start call only; store, WASI context and instantiation excluded; wall-clock time (median_ns) and the calling thread's CPU time (cpu_median_ns)",
        "rounds": rounds,
        "quick": o.quick,
        "order": "interleaved: each round runs every program under every variant once, the order of the variants rotating",
        "default_fuel": DEFAULT_FUEL_LIMIT,
        "epoch_tick_ms": TICK.as_secs_f64() * 1e3,
        "machine": machine(),
        "load_average": {"start": load_before, "end": load_average()},
        "variants": Variant::ALL.iter().map(|v| json!({"key": v.key(), "label": v.label()})).collect::<Vec<_>>(),
        "programs": rows,
    });
    if let Some(dir) = o.out.parent() {
        std::fs::create_dir_all(dir).expect("create output directory");
    }
    std::fs::write(&o.out, serde_json::to_string_pretty(&doc).unwrap()).expect("write JSON");
    eprintln!("wrote {}", o.out.display());
}
