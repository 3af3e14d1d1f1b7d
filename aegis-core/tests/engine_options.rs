//! Engine-level options: the instance pool and the on-disk compile cache.

use aegis_core::{Aegis, ErrorCode};

const ADD: &str = r#"(module (memory 1) (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;

#[test]
fn pooled_sandboxes_work_and_the_pool_is_bounded() {
    let runtime = Aegis::builder().with_instance_pool(2).build().unwrap();
    let module = runtime.load_wat(ADD).unwrap();
    let mut a = runtime.sandbox().build().unwrap();
    let mut b = runtime.sandbox().build().unwrap();
    a.load_module(&module).unwrap();
    b.load_module(&module).unwrap();
    assert_eq!(a.call::<(i32, i32), i32>("add", (1, 2)).unwrap(), 3);
    let mut c = runtime.sandbox().build().unwrap();
    let err = c.load_module(&module).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MemoryLimitExceeded, "{err}");
    drop(a);
    c.load_module(&module).expect("a slot is free again");
    assert_eq!(c.call::<(i32, i32), i32>("add", (2, 2)).unwrap(), 4);
    // Many fresh sandboxes in sequence reuse the slots.
    drop((b, c));
    for i in 0..200 {
        let mut s = runtime.sandbox().build().unwrap();
        s.load_module(&module).unwrap();
        assert_eq!(s.call::<(i32, i32), i32>("add", (i, 1)).unwrap(), i + 1);
    }
    let err = runtime
        .sandbox()
        .with_memory_limit(1 << 30)
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
}

#[test]
fn compile_cache_stores_artifacts_and_serves_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("aegis-cache");
    let count_files = || walk(&cache);
    {
        let runtime = Aegis::builder().with_compile_cache(&cache).build().unwrap();
        runtime.load_wat(ADD).unwrap();
    }
    let after_first = count_files();
    assert!(
        after_first > 0,
        "the compiled module was written to the cache"
    );
    let runtime = Aegis::builder().with_compile_cache(&cache).build().unwrap();
    let module = runtime.load_wat(ADD).unwrap();
    let mut s = runtime.sandbox().build().unwrap();
    s.load_module(&module).unwrap();
    assert_eq!(s.call::<(i32, i32), i32>("add", (20, 22)).unwrap(), 42);
    assert_eq!(
        count_files(),
        after_first,
        "the second load was served from the cache"
    );
}

/// Compiled artifacts in the cache (wasmtime also keeps `.stats` usage files).
fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.path() {
                    p if p.is_dir() => walk(&p),
                    p if p.extension().is_some_and(|x| x == "stats") => 0,
                    _ => 1,
                })
                .sum()
        })
        .unwrap_or(0)
}
