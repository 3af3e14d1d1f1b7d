//! Bounded property tests over generated and corrupted modules.
//!
//! From a fixed seed sequence (so a failure reproduces exactly), this test
//! generates valid modules with `wasm-smith` and drives each one through the
//! whole public API under tiny limits: load, inspect imports and exports,
//! instantiate (with host functions for the function imports in some cases,
//! none in others), then call every exported function with zero arguments of
//! the right types. It also feeds random bytes and mutated valid modules to
//! `validate` and `load_bytes`.
//!
//! The properties: the host never panics or crashes, and every failure is one
//! of the stable codes expected at that stage (e.g. loading only ever fails
//! with `invalid_module`; a call only with a limit, a trap or, for exports with
//! v128/reference types, `signature_mismatch`).
//!
//! The longer, coverage-guided version of this is the cargo-fuzz target in
//! `fuzz/` (see SECURITY.md). Set `AEGIS_FUZZ_CASES` to run more cases here.

use std::time::{Duration, Instant};

use aegis_core::{
    Aegis, Error, ErrorCode, ExternType, FuncType, HostCaller, HostError, Module, Runtime, Value,
};
use arbitrary::Unstructured;

/// Generated modules per run (overridable with `AEGIS_FUZZ_CASES`).
const DEFAULT_CASES: u64 = 500;
/// Random byte strings and mutations per run.
const DEFAULT_RAW_CASES: u64 = 5000;
const MEMORY_LIMIT: u64 = 1 << 20;
const FUEL_LIMIT: u64 = 100_000;
const TIMEOUT: Duration = Duration::from_secs(1);

/// A small deterministic generator (SplitMix64): no dependency, stable forever.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Up to `max - 1` random bytes.
    fn noise(&mut self, max: u64) -> Vec<u8> {
        let len = self.below(max) as usize;
        self.bytes(len)
    }
}

fn cases(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime() -> Runtime {
    Aegis::builder()
        .with_memory_limit(MEMORY_LIMIT)
        .with_fuel_limit(FUEL_LIMIT)
        .with_timeout(TIMEOUT)
        .build()
        .expect("runtime builds")
}

/// A wasm-smith configuration limited to what the engine accepts; `imports`
/// decides whether the module may import anything.
fn smith_config(rng: &mut Rng, imports: bool) -> wasm_smith::Config {
    wasm_smith::Config {
        max_imports: if imports { 6 } else { 0 },
        min_funcs: 1,
        max_funcs: 12,
        max_instructions: 80,
        min_exports: 2,
        max_exports: 12,
        max_memories: 2,
        max_tables: 2,
        // Mostly memories that fit the 1 MiB limit, sometimes larger ones so
        // instantiation hits it.
        max_memory32_bytes: if rng.below(4) == 0 { 4 << 20 } else { 1 << 20 },
        max_table_elements: 1000,
        max_data_segments: 4,
        max_element_segments: 4,
        export_everything: rng.below(2) == 0,
        // v128 signatures cannot cross the boundary: refused, not crashed.
        simd_enabled: rng.below(3) == 0,
        // Proposals this engine does not enable.
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        custom_descriptors_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        memory64_enabled: false,
        compact_imports_enabled: false,
        ..Default::default()
    }
}

/// One generated valid module; `None` when the generator ran out of input.
fn generate(rng: &mut Rng, imports: bool) -> Option<Vec<u8>> {
    let config = smith_config(rng, imports);
    let seed = rng.bytes(8 * 1024);
    let mut u = Unstructured::new(&seed);
    wasm_smith::Module::new(config, &mut u)
        .ok()
        .map(|m| m.to_bytes())
}

/// Asserts that `result` is `Ok` or fails with one of `allowed` codes.
fn expect_codes<T>(result: &Result<T, Error>, allowed: &[ErrorCode], what: &str) {
    if let Err(e) = result {
        assert!(
            allowed.contains(&e.code()),
            "{what}: unexpected `{}` error: {e}",
            e.code()
        );
        // Every error renders a message; a front-end relies on it.
        assert!(!e.to_string().is_empty(), "{what}: empty error message");
    }
}

/// Codes a guest call may end with under the test's limits.
const CALL_CODES: &[ErrorCode] = &[
    ErrorCode::Trap,
    ErrorCode::OutOfFuel,
    ErrorCode::Timeout,
    ErrorCode::MemoryLimitExceeded,
    ErrorCode::StackOverflow,
];

/// What happened to the calls of one module, for the summary.
#[derive(Default, Debug)]
struct Tally {
    modules: u64,
    instantiated: u64,
    link_errors: u64,
    calls: u64,
    calls_ok: u64,
    codes: std::collections::BTreeMap<&'static str, u64>,
}

impl Tally {
    fn count<T>(&mut self, r: &Result<T, Error>) {
        let key = match r {
            Ok(_) => "ok",
            Err(e) => e.code().as_str(),
        };
        *self.codes.entry(key).or_default() += 1;
    }
}

/// Inspects, instantiates and calls every function export of `module`.
/// `provide` registers a zero-returning host function for each function
/// import with numeric types.
fn exercise(runtime: &Runtime, module: &Module, provide: bool, tally: &mut Tally, what: &str) {
    tally.modules += 1;
    // Inspection: every item renders, export names are unique.
    let mut names = std::collections::HashSet::new();
    for export in module.exports() {
        assert!(!export.to_string().is_empty());
        assert!(
            names.insert(export.name.clone()),
            "{what}: duplicate export {}",
            export.name
        );
    }
    for import in module.imports() {
        assert!(!import.to_string().is_empty());
    }

    let mut sandbox = runtime.sandbox().build().expect("sandbox builds");
    let mut all_provided = true;
    let mut registered = std::collections::HashMap::new();
    for import in module.imports() {
        let key = (import.module.clone(), import.name.clone());
        match (&import.ty, provide) {
            (ExternType::Function(sig), true) if registered.contains_key(&key) => {
                // The same name imported twice: one definition serves both
                // only if the types agree.
                all_provided &= registered[&key] == *sig;
            }
            (ExternType::Function(sig), true) => {
                registered.insert(key, sig.clone());
                let results = sig.results.clone();
                sandbox
                    .register_dynamic(
                        &import.module,
                        &import.name,
                        FuncType::new(sig.params.clone(), sig.results.clone()),
                        move |_: &mut HostCaller<'_>, _: &[Value]| {
                            Ok::<_, HostError>(
                                results.iter().map(|t| Value::default_for(*t)).collect(),
                            )
                        },
                    )
                    .expect("registering a host function succeeds");
            }
            _ => all_provided = false,
        }
    }

    let loaded = sandbox.load_module(module);
    tally.count(&loaded);
    if all_provided {
        // Start functions run during instantiation: limits and traps apply.
        expect_codes(&loaded, CALL_CODES, &format!("{what}: instantiate"));
    } else {
        match &loaded {
            Err(e) if e.code() == ErrorCode::LinkError => tally.link_errors += 1,
            other => panic!("{what}: unsatisfied imports must be a link_error, got {other:?}"),
        }
    }
    if loaded.is_err() {
        return;
    }
    tally.instantiated += 1;

    for export in module.exports() {
        let (args, numeric) = match &export.ty {
            ExternType::Function(sig) => (
                sig.params
                    .iter()
                    .map(|t| Value::default_for(*t))
                    .collect::<Vec<_>>(),
                Some(sig),
            ),
            // A function with v128 or reference types cannot be called from
            // the host: it must be refused, not crash.
            ExternType::Other(text) if text.starts_with("function") => (Vec::new(), None),
            _ => continue,
        };
        tally.calls += 1;
        let result = sandbox.call_dynamic(&export.name, &args);
        tally.count(&result);
        let call = format!("{what}: call `{}`", export.name);
        match (numeric, &result) {
            (Some(sig), Ok(values)) => {
                tally.calls_ok += 1;
                let types: Vec<_> = values.iter().map(Value::ty).collect();
                assert_eq!(types, sig.results, "{call}: result types");
            }
            (Some(_), Err(_)) => expect_codes(&result, CALL_CODES, &call),
            (None, _) => expect_codes(&result, &[ErrorCode::SignatureMismatch], &call),
        }
        let m = sandbox.last_call_metrics();
        assert!(m.fuel_consumed <= FUEL_LIMIT, "{call}: fuel over the limit");
        assert!(
            m.memory_peak <= MEMORY_LIMIT,
            "{call}: memory over the limit"
        );
    }
    // The instance survives whatever the calls did.
    expect_codes(&sandbox.reset(), CALL_CODES, &format!("{what}: reset"));
}

#[test]
fn generated_modules_never_crash_the_host() {
    let runtime = runtime();
    let started = Instant::now();
    let mut rng = Rng(0xae91_5000);
    let mut tally = Tally::default();
    let mut generated = 0;
    for case in 0..cases("AEGIS_FUZZ_CASES", DEFAULT_CASES) {
        // A third may import things: half of those get host functions.
        let imports = case.is_multiple_of(3);
        let provide = case.is_multiple_of(6);
        let Some(wasm) = generate(&mut rng, imports) else {
            continue;
        };
        generated += 1;
        let what = format!("case {case}");
        runtime
            .validate(&wasm)
            .unwrap_or_else(|e| panic!("{what}: wasm-smith output rejected by validate: {e}"));
        let module = runtime
            .load_bytes(&wasm)
            .unwrap_or_else(|e| panic!("{what}: wasm-smith output rejected by load: {e}"));
        exercise(&runtime, &module, provide, &mut tally, &what);
    }
    eprintln!(
        "{generated} generated modules in {:.1?}: {tally:?}",
        started.elapsed()
    );
    // The generator must actually reach the interesting paths.
    assert!(generated >= 200, "too few modules generated: {generated}");
    assert!(tally.instantiated >= generated / 3, "{tally:?}");
    assert!(tally.calls_ok > 0 && tally.link_errors > 0, "{tally:?}");
}

/// Corrupts a copy of `wasm` in one of several ways.
fn mutate(rng: &mut Rng, wasm: &[u8]) -> Vec<u8> {
    let mut out = wasm.to_vec();
    let at = |rng: &mut Rng, len: usize| rng.below(len as u64) as usize;
    match rng.below(6) {
        // Flip a few bytes.
        0 => {
            for _ in 0..=rng.below(4) {
                let i = at(rng, out.len());
                out[i] ^= 1 << rng.below(8);
            }
        }
        // Overwrite a byte with an interesting value.
        1 => {
            let i = at(rng, out.len());
            out[i] = [0x00, 0x7f, 0x80, 0xff, 0x0b, 0x41][rng.below(6) as usize];
        }
        // Truncate.
        2 => out.truncate(at(rng, out.len())),
        // Insert random bytes.
        3 => {
            let i = at(rng, out.len());
            let extra = rng.noise(16);
            out.splice(i..i, extra);
        }
        // Delete a range.
        4 => {
            let i = at(rng, out.len());
            let end = (i + 1 + rng.below(16) as usize).min(out.len());
            out.drain(i..end);
        }
        // Duplicate the tail (repeats sections out of order).
        _ => {
            let i = 8 + at(rng, out.len().saturating_sub(8));
            let tail = out[i.min(out.len())..].to_vec();
            out.extend(tail);
        }
    }
    out
}

/// `validate` and `load_bytes` on arbitrary input: `Ok` or `invalid_module`,
/// and they agree. Whatever loads is also exercised.
fn check_bytes(runtime: &Runtime, bytes: &[u8], tally: &mut Tally, what: &str) -> bool {
    let valid = runtime.validate(bytes);
    expect_codes(&valid, &[ErrorCode::InvalidModule], what);
    let loaded = runtime.load_bytes(bytes);
    expect_codes(&loaded, &[ErrorCode::InvalidModule], what);
    if let (Err(_), Ok(_)) = (&valid, &loaded) {
        panic!("{what}: validate refused what load_bytes accepted");
    }
    match loaded {
        Ok(module) if !module.is_component() => {
            exercise(runtime, &module, false, tally, what);
            true
        }
        _ => false,
    }
}

#[test]
fn random_and_mutated_bytes_are_invalid_module_or_run_safely() {
    let runtime = runtime();
    let started = Instant::now();
    let mut rng = Rng(0x0bad_5eed);
    let mut tally = Tally::default();
    let mut accepted = 0;
    let total = cases("AEGIS_FUZZ_RAW_CASES", DEFAULT_RAW_CASES);
    let seeds: Vec<Vec<u8>> = (0..32).filter_map(|_| generate(&mut rng, false)).collect();
    assert!(seeds.len() >= 16);
    for case in 0..total {
        let what = format!("raw case {case}");
        let bytes = match case % 4 {
            // Pure noise (also tried as WAT text).
            0 => rng.noise(256),
            // Noise behind a valid header, so the section parser sees it.
            1 => {
                let mut b = b"\0asm\x01\0\0\0".to_vec();
                b.extend(rng.noise(128));
                b
            }
            // A mutated valid module.
            _ => {
                let seed = &seeds[rng.below(seeds.len() as u64) as usize];
                mutate(&mut rng, seed)
            }
        };
        if check_bytes(&runtime, &bytes, &mut tally, &what) {
            accepted += 1;
        }
    }
    // Text that is nearly WAT goes through the text parser too.
    for text in [
        "(module",
        "(module (func (export \"f\") (result i32) i32.add))",
        "(module (memory 99999999))",
        "(component (core module))",
        "\u{0}\u{ffff}",
    ] {
        check_bytes(&runtime, text.as_bytes(), &mut tally, text);
    }
    eprintln!(
        "{total} raw cases in {:.1?}: {accepted} loaded and ran; {tally:?}",
        started.elapsed()
    );
}
