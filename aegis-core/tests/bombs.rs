//! Inputs built to make compilation, validation or a sandbox cost far more
//! than their size: each must be refused or bounded quickly.
//!
//! Every bomb is generated here (nothing large is committed). The ignored
//! `measure_*` tests print the compile-time curves the default
//! `ModuleLimits` were chosen from:
//!
//! ```text
//! cargo test --release -p aegis-wasm-sandbox --test bombs -- --ignored --nocapture --test-threads 1
//! ```

use std::time::{Duration, Instant};

use aegis_core::{Aegis, Error, ErrorCode, ModuleLimits, Runtime};

/// A minimal wasm binary encoder: just what the bombs need.
mod wasm {
    pub fn leb(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    pub fn section(id: u8, body: &[u8], out: &mut Vec<u8>) {
        out.push(id);
        leb(body.len() as u64, out);
        out.extend_from_slice(body);
    }

    /// A vector: count then items.
    pub fn vec_of(items: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        leb(items.len() as u64, &mut out);
        for item in items {
            out.extend_from_slice(item);
        }
        out
    }

    /// `(func)` type 0, `(func (result i32))` type 1.
    pub fn types() -> Vec<u8> {
        vec_of(&[vec![0x60, 0, 0], vec![0x60, 0, 1, 0x7f]])
    }

    /// A function body: local groups `(count, type)` then code (without the final `end`).
    pub fn body(locals: &[(u64, u8)], code: &[u8]) -> Vec<u8> {
        let mut inner = Vec::new();
        leb(locals.len() as u64, &mut inner);
        for &(count, ty) in locals {
            leb(count, &mut inner);
            inner.push(ty);
        }
        inner.extend_from_slice(code);
        inner.push(0x0b);
        let mut out = Vec::new();
        leb(inner.len() as u64, &mut out);
        out.extend_from_slice(&inner);
        out
    }

    /// A module of functions (type index, body), exporting function 0 as `f`.
    pub fn module(funcs: &[(u32, Vec<u8>)]) -> Vec<u8> {
        module_with(funcs, &[])
    }

    /// [`module`] with extra sections (id, body) placed before the export section.
    pub fn module_with(funcs: &[(u32, Vec<u8>)], extra: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut out = b"\0asm\x01\0\0\0".to_vec();
        section(1, &types(), &mut out);
        let mut func_section = Vec::new();
        leb(funcs.len() as u64, &mut func_section);
        for (ty, _) in funcs {
            leb(u64::from(*ty), &mut func_section);
        }
        section(3, &func_section, &mut out);
        for (id, body) in extra {
            section(*id, body, &mut out);
        }
        if !funcs.is_empty() {
            section(7, &[1, 1, b'f', 0, 0], &mut out);
        }
        let mut code = Vec::new();
        leb(funcs.len() as u64, &mut code);
        for (_, body) in funcs {
            code.extend_from_slice(body);
        }
        section(10, &code, &mut out);
        out
    }

    pub fn local_get(i: u32, out: &mut Vec<u8>) {
        out.push(0x20);
        leb(u64::from(i), out);
    }

    pub fn local_set(i: u32, out: &mut Vec<u8>) {
        out.push(0x21);
        leb(u64::from(i), out);
    }
}

/// One function with `n` i32 locals: a loop that increments each local and
/// then branches back to its start if the local is non-zero. Every branch
/// carries every local to the loop header, so the compiler handles `n`
/// branches of `n` values each: quadratic in `n` (about 12 bytes per local).
fn locals_bomb(n: u32) -> Vec<u8> {
    let mut code = vec![0x03, 0x40]; // loop
    for i in 0..n {
        wasm::local_get(i, &mut code);
        code.extend_from_slice(&[0x41, 1, 0x6a]); // i32.const 1; i32.add
        wasm::local_set(i, &mut code);
        wasm::local_get(i, &mut code);
        code.extend_from_slice(&[0x0d, 0]); // br_if 0
    }
    code.push(0x0b); // end
    wasm::module(&[(0, wasm::body(&[(u64::from(n), 0x7f)], &code))])
}

/// Like [`locals_bomb`] with a forward merge: `n` branches out of a block,
/// every local used after it.
fn forward_merge_bomb(n: u32) -> Vec<u8> {
    let mut code = vec![0x02, 0x40]; // block
    for i in 0..n {
        wasm::local_get(i, &mut code);
        code.extend_from_slice(&[0x41, 1, 0x6a]); // i32.const 1; i32.add
        wasm::local_set(i, &mut code);
        wasm::local_get(i, &mut code);
        code.extend_from_slice(&[0x0d, 0]); // br_if 0
    }
    code.push(0x0b); // end
    for i in 0..n {
        wasm::local_get(i, &mut code);
        code.push(0x1a); // drop
    }
    wasm::module(&[(0, wasm::body(&[(u64::from(n), 0x7f)], &code))])
}

/// `n` empty functions.
fn functions_bomb(n: usize) -> Vec<u8> {
    let empty = wasm::body(&[], &[]);
    let funcs: Vec<(u32, Vec<u8>)> = (0..n).map(|_| (0, empty.clone())).collect();
    wasm::module(&funcs)
}

/// One function with `n` nested blocks.
fn nesting_bomb(n: usize) -> Vec<u8> {
    let mut code = Vec::with_capacity(3 * n);
    for _ in 0..n {
        code.extend_from_slice(&[0x02, 0x40]);
    }
    code.resize(code.len() + n, 0x0b);
    wasm::module(&[(0, wasm::body(&[], &code))])
}

/// WAT of a component whose component `k` instantiates component `k - 1`
/// twice (reached through an outer alias, so nothing nests deeply):
/// instantiating the last creates about 2^`levels` instances.
fn component_bomb(levels: usize) -> String {
    let mut text = String::from(
        "(component $top\n(component $c0 (core module $m) (core instance (instantiate $m)))\n",
    );
    for k in 1..=levels {
        text.push_str(&format!(
            "(component $c{k} (alias outer $top $c{p} (component $p)) \
             (instance (instantiate $p)) (instance (instantiate $p)))\n",
            p = k - 1
        ));
    }
    text.push_str(&format!("(instance (instantiate $c{levels})))"));
    text
}

/// WAT of components nested `depth` levels deep, each instantiating the one inside twice.
fn nested_component_bomb(depth: usize) -> String {
    let mut text =
        String::from("(component $c0 (core module $m) (core instance (instantiate $m)))\n");
    for k in 1..=depth {
        text = format!(
            "(component $c{k}\n{text}(instance (instantiate $c{p})) (instance (instantiate $c{p})))\n",
            p = k - 1
        );
    }
    format!("(component\n{text}(instance (instantiate $c{depth})))")
}

/// A component (binary: the text parser refuses deep nesting itself) whose
/// one type nests instance types `depth` levels deep.
fn type_nesting_bomb(depth: usize) -> Vec<u8> {
    let mut ty = Vec::with_capacity(3 * depth + 2);
    for _ in 0..depth {
        ty.extend_from_slice(&[0x42, 0x01, 0x01]); // instance type, 1 decl: a type
    }
    ty.extend_from_slice(&[0x42, 0x00]); // the innermost, empty instance type
    let mut body = vec![0x01]; // one type
    body.extend_from_slice(&ty);
    let mut out = b"\0asm\x0d\0\x01\0".to_vec();
    wasm::section(7, &body, &mut out);
    out
}

/// A realistic large module: `n` functions of typical compiled code (a few
/// dozen locals, loops, branches, memory accesses, calls), about 1 KiB each.
fn realistic_module(n: u32) -> Vec<u8> {
    let mut funcs = Vec::new();
    for f in 0..n {
        let locals = 8 + f % 40;
        let mut code = Vec::new();
        for round in 0..6u32 {
            code.extend_from_slice(&[0x02, 0x40, 0x03, 0x40]); // block; loop
            for i in 0..locals.min(12) {
                let a = (i + round) % locals;
                let b = (i * 7 + f) % locals;
                wasm::local_get(a, &mut code);
                wasm::local_get(b, &mut code);
                code.extend_from_slice(&[0x6a, 0x41, 0x03, 0x71]); // i32.add; i32.const 3; i32.and
                code.extend_from_slice(&[0x28, 0x02, 0x00]); // i32.load align=2
                wasm::local_set(b, &mut code);
            }
            wasm::local_get(round % locals, &mut code);
            code.extend_from_slice(&[0x0d, 0x01]); // br_if 1 (out of the block)
            code.extend_from_slice(&[0x10]); // call
            wasm::leb(u64::from((f + 1 + round) % n), &mut code);
            code.extend_from_slice(&[0x0b, 0x0b]); // end loop; end block
        }
        funcs.push((0, wasm::body(&[(u64::from(locals), 0x7f)], &code)));
    }
    let memory = vec![1, 0, 1]; // one memory, 1 page
    wasm::module_with(&funcs, &[(5, memory)])
}

fn runtime() -> Runtime {
    Aegis::builder().build().unwrap()
}

fn unlimited() -> Runtime {
    Aegis::builder()
        .with_module_limits(ModuleLimits::unlimited())
        .build()
        .unwrap()
}

/// Asserts `f` fails with `module_too_complex` within `budget`.
fn refused_fast(what: &str, budget: Duration, f: impl FnOnce() -> Result<(), Error>) -> Error {
    let start = Instant::now();
    let err = f().expect_err(what);
    let took = start.elapsed();
    assert_eq!(err.code(), ErrorCode::ModuleTooComplex, "{what}: {err}");
    assert!(took < budget, "{what}: refused after {took:?}");
    err
}

const FAST: Duration = Duration::from_secs(3);

#[test]
fn locals_bomb_is_refused_before_compiling() {
    let bytes = locals_bomb(50_000);
    let rt = runtime();
    for (name, result) in [
        (
            "load",
            Box::new(|| rt.load_bytes(&bytes).map(|_| ())) as Box<dyn Fn() -> _>,
        ),
        ("validate", Box::new(|| rt.validate(&bytes))),
        ("inspect", Box::new(|| rt.inspect(&bytes).map(|_| ()))),
    ] {
        let err = refused_fast(name, FAST, result);
        assert!(err.to_string().contains("locals in one function"), "{err}");
    }
}

#[test]
fn branch_merge_bomb_is_refused_before_compiling() {
    // 3000 locals is under the locals limit, but 3000 back-branches each
    // carrying 3000 locals take about 25 s to compile without the limit.
    let bytes = locals_bomb(3000);
    let rt = runtime();
    let err = refused_fast("load", FAST, || rt.load_bytes(&bytes).map(|_| ()));
    assert!(
        err.to_string().contains("merge work in one function"),
        "{err}"
    );
    refused_fast("validate", FAST, || rt.validate(&bytes));
    // The same with forward branches out of a block.
    let bytes = forward_merge_bomb(5000);
    refused_fast("forward", FAST, || rt.load_bytes(&bytes).map(|_| ()));
}

#[test]
fn many_functions_each_under_the_merge_limit_do_not_add_up() {
    let one = locals_bomb(700);
    // The same function 64 times: each alone loads in about a second.
    let code = {
        let mut c = vec![0x03, 0x40];
        for i in 0..700 {
            wasm::local_get(i, &mut c);
            c.extend_from_slice(&[0x41, 1, 0x6a]);
            wasm::local_set(i, &mut c);
            wasm::local_get(i, &mut c);
            c.extend_from_slice(&[0x0d, 0]);
        }
        c.push(0x0b);
        wasm::body(&[(700, 0x7f)], &c)
    };
    let funcs: Vec<(u32, Vec<u8>)> = (0..64).map(|_| (0, code.clone())).collect();
    let bytes = wasm::module(&funcs);
    let rt = runtime();
    rt.load_bytes(&one).unwrap();
    let err = refused_fast("load", FAST, || rt.load_bytes(&bytes).map(|_| ()));
    assert!(
        err.to_string().contains("merge work of the module"),
        "{err}"
    );
}

#[test]
fn declared_local_count_is_summed_not_allocated() {
    // 2^32 - 1 locals declared in one group, then another group: must not
    // allocate per local, must not overflow.
    let code = wasm::body(&[(u32::MAX as u64, 0x7f), (u32::MAX as u64, 0x7f)], &[]);
    let bytes = wasm::module(&[(0, code)]);
    let err = refused_fast("huge local count", FAST, || {
        runtime().load_bytes(&bytes).map(|_| ())
    });
    match err {
        Error::ModuleTooComplex { found, limit, .. } => assert!(found > limit),
        other => panic!("{other}"),
    }
}

#[test]
fn function_count_bomb_is_refused() {
    let bytes = functions_bomb(400_000);
    let rt = runtime();
    refused_fast("load", FAST, || rt.load_bytes(&bytes).map(|_| ()));
    refused_fast("validate", FAST, || rt.validate(&bytes));
}

#[test]
fn deep_nesting_is_refused() {
    let bytes = nesting_bomb(500_000);
    let rt = runtime();
    let err = refused_fast("load", FAST, || rt.load_bytes(&bytes).map(|_| ()));
    assert!(err.to_string().contains("nesting depth of blocks"), "{err}");
    refused_fast("validate", FAST, || rt.validate(&bytes));
}

#[test]
fn component_instantiation_bomb_is_refused_fast_by_validate_and_load() {
    let text = component_bomb(40);
    assert!(text.len() < 8 * 1024);
    let rt = runtime();
    for (name, result) in [
        (
            "validate",
            Box::new(|| rt.validate(text.as_bytes())) as Box<dyn Fn() -> _>,
        ),
        (
            "load",
            Box::new(|| rt.load_bytes(text.as_bytes()).map(|_| ())),
        ),
        (
            "inspect",
            Box::new(|| rt.inspect(text.as_bytes()).map(|_| ())),
        ),
    ] {
        let err = refused_fast(name, FAST, result);
        assert!(err.to_string().contains("instances"), "{err}");
    }
}

#[test]
fn component_instantiation_through_imports_is_bounded() {
    let err = refused_fast("validate", FAST, || {
        runtime().validate(imports_bomb(30).as_bytes())
    });
    assert!(err.to_string().contains("instances"), "{err}");
    // A few levels are fine (and valid).
    runtime().validate(imports_bomb(3).as_bytes()).unwrap();
}

/// `$twice` instantiates whatever component it is given twice; each `$w{k}`
/// gives it `$w{k-1}`, so `$w{k}` creates 2^k instances without any
/// component instantiating a component it defines itself.
fn imports_bomb(levels: usize) -> String {
    let mut text = String::from(
        "(component $top\n\
         (component $w0 (core module $m) (core instance (instantiate $m)))\n\
         (component $twice (import \"x\" (component $x)) \
         (instance (instantiate $x)) (instance (instantiate $x)))\n",
    );
    for k in 1..=levels {
        text.push_str(&format!(
            "(component $w{k} (alias outer $top $twice (component $t)) \
             (alias outer $top $w{p} (component $p)) \
             (instance (instantiate $t (with \"x\" (component $p)))))\n",
            p = k - 1
        ));
    }
    text.push_str(&format!("(instance (instantiate $w{levels})))"));
    text
}

#[test]
fn deeply_nested_types_are_refused_before_the_recursive_parser_sees_them() {
    // wasmparser reads nested component types recursively: 50 000 levels
    // would overflow a thread's stack. The scan reads them iteratively.
    let bytes = type_nesting_bomb(50_000);
    let rt = runtime();
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let err = rt.validate(&bytes).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ModuleTooComplex, "{err}");
            let err = rt.load_bytes(&bytes).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ModuleTooComplex, "{err}");
        })
        .unwrap();
    handle.join().unwrap();
    // A few levels are fine.
    runtime().validate(&type_nesting_bomb(5)).unwrap();
}

#[test]
fn nested_components_are_refused_past_the_depth_limit() {
    let text = nested_component_bomb(40);
    let rt = runtime();
    for (name, result) in [
        (
            "validate",
            Box::new(|| rt.validate(text.as_bytes())) as Box<dyn Fn() -> _>,
        ),
        (
            "load",
            Box::new(|| rt.load_bytes(text.as_bytes()).map(|_| ())),
        ),
    ] {
        let err = refused_fast(name, FAST, result);
        assert!(err.to_string().contains("nesting depth"), "{err}");
    }
    let text = nested_component_bomb(8);
    rt.validate(text.as_bytes()).unwrap();
    let mut text = String::from("(component)");
    for _ in 0..60 {
        text = format!("(component {text})");
    }
    let err = runtime().validate(text.as_bytes()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ModuleTooComplex, "{err}");
    let limits = ModuleLimits {
        component_depth: 100,
        ..ModuleLimits::default()
    };
    Aegis::builder()
        .with_module_limits(limits)
        .build()
        .unwrap()
        .validate(text.as_bytes())
        .unwrap();
}

#[test]
fn limits_are_configurable() {
    let bytes = locals_bomb(200);
    runtime().load_bytes(&bytes).unwrap();
    let strict = Aegis::builder()
        .with_module_limits(ModuleLimits {
            locals_per_function: 100,
            ..ModuleLimits::default()
        })
        .build()
        .unwrap();
    match strict.load_bytes(&bytes).unwrap_err() {
        Error::ModuleTooComplex { what, found, limit } => {
            assert_eq!(what, "locals in one function");
            assert_eq!(limit, 100);
            assert!(found > 100);
        }
        other => panic!("{other}"),
    }
    assert_eq!(strict.module_limits().locals_per_function, 100);
}

#[test]
fn a_realistic_multi_megabyte_module_loads() {
    // About 3 MB: 3000 functions of typical code.
    let bytes = realistic_module(3000);
    assert!(bytes.len() > 2_000_000, "{} bytes", bytes.len());
    let rt = runtime();
    rt.validate(&bytes).unwrap();
    let info = rt.inspect(&bytes).unwrap();
    assert_eq!(info.exports().len(), 1);
    let module = rt.load_bytes(&bytes).unwrap();
    assert_eq!(module.exports(), info.exports());
}

#[test]
fn a_real_interpreter_loads_and_runs_under_default_limits() {
    // boa, a JavaScript engine, built for wasm32-wasip1 by
    // scripts/build-programs.sh: about 7 MB, 20 000+ functions.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/out/programs/interp.wasm");
    assert!(path.exists(), "run ./scripts/build-programs.sh first");
    let rt = Aegis::builder()
        .capture_output(4096)
        .without_fuel_limit()
        .build()
        .unwrap();
    let bytes = rt.read_module_file(&path).unwrap();
    assert!(bytes.len() > 4_000_000, "{} bytes", bytes.len());
    rt.validate(&bytes).unwrap();
    let module = rt.load_bytes(&bytes).unwrap();
    let mut sandbox = rt.sandbox().with_args(["interp"]).build().unwrap();
    sandbox.load_module(&module).unwrap();
    sandbox.run().unwrap();
    let out = String::from_utf8(sandbox.stdout()).unwrap();
    assert!(out.starts_with("interp: n=22 fib=17711"), "{out}");
}

/// Compiles `bytes` with no structural limits and returns the time taken.
fn compile_time(bytes: &[u8]) -> Duration {
    let rt = unlimited();
    let start = Instant::now();
    let result = rt.load_bytes(bytes);
    let took = start.elapsed();
    result.unwrap();
    took
}

fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        / 1024
}

#[test]
#[ignore]
fn measure_locals() {
    for n in [250, 500, 1_000, 2_000] {
        let bytes = locals_bomb(n);
        let t = compile_time(&bytes);
        println!(
            "locals {n:>6}: {:>8} bytes, compile {t:>10.2?}, peak RSS {} MiB",
            bytes.len(),
            peak_rss_mib()
        );
    }
}

#[test]
#[ignore]
fn measure_forward_merges() {
    for n in [500, 1_000, 2_000] {
        let bytes = forward_merge_bomb(n);
        let t = compile_time(&bytes);
        println!(
            "forward merge {n:>6}: {:>8} bytes, compile {t:>10.2?}, peak RSS {} MiB",
            bytes.len(),
            peak_rss_mib()
        );
    }
}

#[test]
#[ignore]
fn measure_functions() {
    for n in [10_000, 50_000, 100_000, 200_000, 400_000] {
        let bytes = functions_bomb(n);
        let t = compile_time(&bytes);
        println!(
            "functions {n:>7}: {:>8} bytes, compile {t:>10.2?}, peak RSS {} MiB",
            bytes.len(),
            peak_rss_mib()
        );
    }
}

#[test]
#[ignore]
fn measure_nesting() {
    for n in [1_000, 10_000, 50_000, 100_000] {
        let bytes = nesting_bomb(n);
        let t = compile_time(&bytes);
        println!(
            "nesting {n:>7}: {:>8} bytes, compile {t:>10.2?}, peak RSS {} MiB",
            bytes.len(),
            peak_rss_mib()
        );
    }
}

#[test]
#[ignore]
fn measure_realistic() {
    for n in [1_000, 3_000, 10_000] {
        let bytes = realistic_module(n);
        let t = compile_time(&bytes);
        println!(
            "realistic {n:>6} functions: {:>8} bytes, compile {t:>10.2?}, peak RSS {} MiB",
            bytes.len(),
            peak_rss_mib()
        );
    }
}

#[test]
#[ignore]
fn measure_components() {
    for levels in [4, 8, 10, 12, 14] {
        let text = component_bomb(levels);
        let t = compile_time(text.as_bytes());
        println!(
            "component levels {levels:>2} (~{} instances): compile {t:>10.2?}, peak RSS {} MiB",
            1u64 << levels,
            peak_rss_mib()
        );
    }
}

const THROW_LOOP: &str = r#"(module
  (tag $e)
  (func (export "spin")
    (loop $again
      (block $caught
        (try_table (catch $e $caught)
          (throw $e)))
      (br $again)))
  (func (export "boom") (throw $e)))"#;

#[test]
fn exceptions_are_off_by_default() {
    // A throw/catch loop ran at about 1.2 million fuel per second: the
    // default 1e9 fuel lasted 13 minutes. Exceptions are now opt-in.
    let err = runtime().load_wat(THROW_LOOP).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModule, "{err}");
    let err = runtime().validate(THROW_LOOP.as_bytes()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModule, "{err}");
}

#[test]
fn with_exceptions_on_a_throw_loop_runs_out_of_fuel_and_uncaught_is_a_trap_code() {
    let rt = Aegis::builder()
        .with_wasm_exceptions(true)
        .with_fuel_limit(20_000_000)
        .build()
        .unwrap();
    let module = rt.load_wat(THROW_LOOP).unwrap();
    let mut sandbox = rt.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    let start = Instant::now();
    let err = sandbox.call_void("spin").unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.code(), ErrorCode::OutOfFuel, "{err}");
    // 20 million fuel: about 77 000 throws at 256 fuel each.
    assert!(took < Duration::from_secs(5), "{took:?}");
    println!(
        "20M fuel of throw/catch in {took:?}: the default 1e9 lasts about {:.0?}",
        took * 50
    );
    match sandbox.call_void("boom").unwrap_err() {
        Error::Trap { code, .. } => assert_eq!(code, "uncaught_exception"),
        other => panic!("{other}"),
    }
}

const GC_ALLOC: &str = r#"(module
  (type $bytes (array (mut i8)))
  (type $node (struct (field (ref null $node)) (field (ref $bytes))))
  (global $head (mut (ref null $node)) (ref.null $node))
  (func (export "hoard")
    (loop $again
      (global.set $head
        (struct.new $node (global.get $head)
          (array.new_default $bytes (i32.const 65536))))
      (br $again))))"#;

#[test]
fn gc_is_off_by_default_and_its_heap_counts_against_the_memory_limit() {
    let err = runtime().load_wat(GC_ALLOC).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModule, "{err}");
    let rt = Aegis::builder()
        .with_wasm_gc(true)
        .with_memory_limit(16 << 20)
        .build()
        .unwrap();
    let module = rt.load_wat(GC_ALLOC).unwrap();
    let mut sandbox = rt.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    match sandbox.call_void("hoard").unwrap_err() {
        Error::MemoryLimitExceeded { resource, .. } => assert_eq!(resource, "gc_heap"),
        other => panic!("expected memory_limit_exceeded, got {other:?}"),
    }
}

#[test]
fn zero_page_memory_flood_is_refused() {
    // 100 memories of 0 pages: nothing committed, but each reserved 4 GiB
    // of address space (430 GB per sandbox).
    let text = format!(
        "(module {} (func (export \"noop\")))",
        "(memory 0) ".repeat(100)
    );
    let rt = runtime();
    let module = rt.load_wat(&text).unwrap();
    let mut sandbox = rt.sandbox().build().unwrap();
    match sandbox.load_module(&module).unwrap_err() {
        Error::MemoryLimitExceeded {
            resource, limit, ..
        } => {
            assert_eq!(resource, "memories");
            assert_eq!(limit, 4);
        }
        other => panic!("expected memory_limit_exceeded, got {other:?}"),
    }
}

fn vm_size_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        / 1024
}

#[test]
fn a_sandbox_reserves_address_space_for_its_memory_limit_not_4_gib() {
    let rt = runtime();
    let module = rt
        .load_wat("(module (memory 0) (memory 0) (memory 0) (memory 0) (func (export \"noop\")))")
        .unwrap();
    let before = vm_size_mib();
    let mut held = Vec::new();
    for _ in 0..50 {
        let mut sandbox = rt.sandbox().build().unwrap();
        sandbox.load_module(&module).unwrap();
        held.push(sandbox);
    }
    let per_sandbox = (vm_size_mib() - before) / 50;
    // Four memories of 64 MiB + 2 × 2 MiB guards: 272 MiB, not 4 × 4 GiB.
    assert!(
        per_sandbox < 400,
        "{per_sandbox} MiB of address space per sandbox"
    );
}

/// How many default sandboxes, each holding an instance with one memory,
/// one process can hold (bounded at 20 000 to spare the machine), and the
/// address space, mappings and resident memory each costs.
#[test]
#[ignore]
fn measure_sandbox_density() {
    for (label, limit) in [
        ("64 MiB limit (default)", 64u64 << 20),
        ("4 GiB limit", 4 << 30),
    ] {
        let rt = Aegis::builder().with_memory_limit(limit).build().unwrap();
        let module = rt
            .load_wat("(module (memory 1) (func (export \"noop\")))")
            .unwrap();
        let maps = || {
            std::fs::read_to_string("/proc/self/maps")
                .unwrap()
                .lines()
                .count()
        };
        let rss = || {
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            let line = status.lines().find(|l| l.starts_with("VmRSS")).unwrap();
            line.split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        };
        let (vm0, maps0, rss0) = (vm_size_mib(), maps(), rss());
        let mut held = Vec::new();
        let mut failure = None;
        let target = 20_000;
        for _ in 0..target {
            let mut sandbox = rt.sandbox().build().unwrap();
            if let Err(e) = sandbox.load_module(&module) {
                failure = Some(e);
                break;
            }
            held.push(sandbox);
        }
        let n = held.len() as u64;
        let vm = (vm_size_mib() - vm0) as f64 / n as f64;
        let map = (maps() - maps0) as f64 / n as f64;
        let kib = (rss() - rss0) as f64 / n as f64;
        println!(
            "{label}: held {n} sandboxes ({failure:?}); per sandbox {vm:.1} MiB address space, \
             {map:.2} mappings, {kib:.0} KiB resident; 128 TiB allows {:.0}, vm.max_map_count 65530 allows {:.0}",
            (128u64 << 20) as f64 / vm,
            65530.0 / map,
        );
    }
}

/// Resets the process's peak resident memory (`VmHWM`), so the next
/// measurement sees only its own peak.
fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

/// Which row of [`measure_cost_table`] this process measures: each row runs
/// in a process of its own, so that its peak memory is its own.
fn selected_row() -> Option<usize> {
    std::env::var("AEGIS_COST_ROW")
        .ok()
        .and_then(|v| v.parse().ok())
}

static NEXT_ROW: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Defines the next row of the table: in the process measuring it, runs
/// `prepare` (not measured), then `measure`, and prints a BENCHMARKS.md row
/// (what, input size, wall time, peak resident memory, outcome).
fn prepared_cost_row<P>(
    what: &str,
    size: usize,
    prepare: impl FnOnce() -> P,
    measure: impl FnOnce(P) -> String,
) {
    let row = NEXT_ROW.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if selected_row() != Some(row) {
        return;
    }
    let input = prepare();
    reset_peak_rss();
    let start = Instant::now();
    let outcome = measure(input);
    let took = start.elapsed();
    println!(
        "| {what} | {:.1} KiB | {took:.2?} | {} MiB | {outcome} |",
        size as f64 / 1024.0,
        peak_rss_mib()
    );
}

/// A row measured without preparation (see [`prepared_cost_row`]).
fn cost_row(what: &str, size: usize, measure: impl FnOnce() -> String) {
    prepared_cost_row(what, size, || (), |()| measure());
}

fn outcome<T, E: std::borrow::Borrow<Error>>(result: Result<T, E>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) => format!("`{}`", e.borrow().code().as_str()),
    }
}

/// Calls `entry` of `wat` under `rt` until it ends; the outcome and fuel used.
fn call_until_stopped(rt: &Runtime, wat: &str, entry: &str) -> String {
    let module = rt.load_wat(wat).unwrap();
    let mut sandbox = rt.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    let result = sandbox.call_void(entry);
    format!(
        "{} after {} fuel",
        outcome(result),
        sandbox.last_call_metrics().fuel_consumed
    )
}

/// The table of issue 14: each bomb class before (no structural limits, or
/// the input at the size the old defaults accepted) and after (defaults),
/// and real modules (`scripts/build-programs.sh`) loaded and instantiated.
#[test]
#[ignore]
fn measure_cost_table() {
    if selected_row().is_none() {
        println!("| input | size | time | peak RSS | outcome |\n|---|---|---|---|---|");
        for row in 0.. {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--ignored", "--exact", "measure_cost_table", "--nocapture"])
                .env("AEGIS_COST_ROW", row.to_string())
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
            if lines.is_empty() {
                break;
            }
            lines.iter().for_each(|l| println!("{l}"));
        }
        return;
    }
    let locals = locals_bomb(50_000);
    cost_row("50 000 locals, defaults", locals.len(), || {
        outcome(runtime().load_bytes(&locals))
    });
    // The same shape, smaller: 2000 locals each carried by 2000 branches
    // (the old defaults compiled it; 10 000 ran for over ten minutes).
    let locals = locals_bomb(2_000);
    cost_row(
        "2 000 locals × 2 000 branches, no module limits",
        locals.len(),
        || outcome(unlimited().load_bytes(&locals)),
    );
    let funcs = functions_bomb(400_000);
    cost_row("400 000 empty functions, defaults", funcs.len(), || {
        outcome(runtime().load_bytes(&funcs))
    });
    cost_row(
        "400 000 empty functions, no module limits",
        funcs.len(),
        || outcome(unlimited().load_bytes(&funcs)),
    );
    let text = component_bomb(40);
    cost_row(
        "component, 2^40 instances, defaults: validate",
        text.len(),
        || outcome(runtime().validate(text.as_bytes())),
    );
    cost_row(
        "component, 2^40 instances, defaults: load",
        text.len(),
        || outcome(runtime().load_bytes(text.as_bytes())),
    );
    let text = component_bomb(16);
    cost_row(
        "component, 2^16 instances, no module limits: load",
        text.len(),
        || outcome(unlimited().load_bytes(text.as_bytes())),
    );
    let text = format!(
        "(module {} (func (export \"noop\")))",
        "(memory 0) ".repeat(100)
    );
    let rt = runtime();
    prepared_cost_row(
        "100 zero-page memories, defaults: instantiate",
        text.len(),
        || rt.load_wat(&text).unwrap(),
        |module| outcome(rt.sandbox().build().unwrap().load_module(&module)),
    );
    cost_row("throw/catch loop, defaults", THROW_LOOP.len(), || {
        outcome(runtime().load_wat(THROW_LOOP))
    });
    cost_row(
        "throw/catch loop, exceptions on, 1e9 fuel",
        THROW_LOOP.len(),
        || {
            let rt = Aegis::builder().with_wasm_exceptions(true).build().unwrap();
            call_until_stopped(&rt, THROW_LOOP, "spin")
        },
    );
    for (name, wat) in [
        (
            "random_get 60 MiB loop",
            include_str!("../../tests/hostile/corpus/random_flood.wat"),
        ),
        (
            "fd_write 60 MiB loop",
            include_str!("../../tests/hostile/corpus/write_flood.wat"),
        ),
    ] {
        cost_row(&format!("{name}, defaults"), wat.len(), || {
            call_until_stopped(&runtime(), wat, "spin")
        });
    }
    let realistic = realistic_module(10_000);
    real_module_rows("synthetic, 10 000 functions", &realistic);
    let programs =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/guests/out/programs");
    let mut paths: Vec<_> = std::fs::read_dir(&programs)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.sort();
    for path in paths {
        let bytes = std::fs::read(&path).unwrap();
        real_module_rows(&path.file_name().unwrap().to_string_lossy(), &bytes);
    }
}

/// Rows for loading (compiling) and instantiating one real module.
fn real_module_rows(name: &str, bytes: &[u8]) {
    let rt = runtime();
    cost_row(&format!("{name}: load"), bytes.len(), || {
        outcome(rt.load_bytes(bytes))
    });
    prepared_cost_row(
        &format!("{name}: instantiate"),
        bytes.len(),
        || rt.load_bytes(bytes).unwrap(),
        |module| outcome(rt.sandbox().build().unwrap().load_module(&module)),
    );
}

/// Fuel per second of wall time for kinds of guest work, and how long the
/// default budget (1e9) lasts for each.
#[test]
#[ignore]
fn measure_fuel_rates() {
    const WORK: &str = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
      (memory (export "memory") 16)
      (func (export "tight") (loop $l (br $l)))
      (func (export "arith") (local i32 i32)
        (loop $l
          (local.set 0 (i32.add (local.get 0) (i32.const 1)))
          (local.set 1 (i32.xor (local.get 1) (i32.mul (local.get 0) (i32.const 2654435761))))
          (br $l)))
      (func (export "fill") (loop $l (memory.fill (i32.const 0) (i32.const 1) (i32.const 65536)) (br $l)))
      (func (export "copy") (loop $l (memory.copy (i32.const 0) (i32.const 65536) (i32.const 65536)) (br $l)))
      (func (export "write_4k")
        (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 4096))
        (loop $l (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l)))
      (func (export "write_1b")
        (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 1))
        (loop $l (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l)))
      (func (export "random_4k") (loop $l (drop (call $random (i32.const 0) (i32.const 4096))) (br $l))))"#;
    let rt = Aegis::builder()
        .with_wasm_exceptions(true)
        .with_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    println!("| work | fuel per second | default 1e9 fuel lasts |\n|---|---|---|");
    let mut rows: Vec<(&str, &str, &str)> = [
        "tight",
        "arith",
        "fill",
        "copy",
        "write_4k",
        "write_1b",
        "random_4k",
    ]
    .into_iter()
    .map(|e| (e, WORK, e))
    .collect();
    rows.push(("throw/catch", THROW_LOOP, "spin"));
    for (label, wat, entry) in rows {
        let module = rt.load_wat(wat).unwrap();
        let mut sandbox = rt.sandbox().build().unwrap();
        sandbox.load_module(&module).unwrap();
        let start = Instant::now();
        let err = sandbox.call_void(entry).unwrap_err();
        let took = start.elapsed();
        assert_eq!(err.code(), ErrorCode::OutOfFuel, "{label}: {err}");
        println!(
            "| {label} | {:.3e} | {took:.2?} |",
            1e9 / took.as_secs_f64()
        );
    }
}
