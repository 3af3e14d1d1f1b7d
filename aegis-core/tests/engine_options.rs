//! Engine-level options: the instance pool and the on-disk compile cache.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aegis_core::{Aegis, ErrorCode, Runtime};

const ADD: &str = r#"(module (memory 1) (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;
/// Same export and signature as `ADD`, different code: an artifact of one
/// served for the other would be caught by the result.
const SUB: &str = r#"(module (memory 1) (func (export "add") (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1))))"#;
/// A small WASI 0.2-style component (no imports).
const COMPONENT: &str =
    r#"(component (core module $m (func (export "f"))) (core instance (instantiate $m)))"#;

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
    {
        let runtime = Aegis::builder().with_compile_cache(&cache).build().unwrap();
        runtime.load_wat(ADD).unwrap();
        let stats = runtime.compile_cache_stats().unwrap();
        assert_eq!((stats.hits, stats.misses, stats.stored), (0, 1, 1));
    }
    // Aegis writes its artifact before `load_wat` returns: no background
    // thread, so counting files is exact.
    let stored = artifacts(&cache);
    assert_eq!(stored.len(), 1, "{stored:?}");
    let runtime = Aegis::builder().with_compile_cache(&cache).build().unwrap();
    let module = runtime.load_wat(ADD).unwrap();
    let stats = runtime.compile_cache_stats().unwrap();
    assert_eq!(
        (stats.hits, stats.misses, stats.stored),
        (1, 0, 0),
        "the second load was served from the cache"
    );
    assert_eq!(add(&runtime, &module, 20, 22), 42);
    assert_eq!(artifacts(&cache), stored, "nothing new was written");
    // A component goes through the same cache.
    let c = runtime.load_wat(COMPONENT).unwrap();
    assert!(c.is_component());
    let again = runtime.load_wat(COMPONENT).unwrap();
    assert!(again.is_component());
    let stats = runtime.compile_cache_stats().unwrap();
    assert_eq!((stats.hits, stats.misses, stats.stored), (2, 1, 1));
    // A runtime with another engine configuration does not share artifacts.
    let other = Aegis::builder()
        .without_fuel_limit()
        .with_compile_cache(&cache)
        .build()
        .unwrap();
    let module = other.load_wat(ADD).unwrap();
    assert_eq!(add(&other, &module, 1, 2), 3);
    let stats = other.compile_cache_stats().unwrap();
    assert_eq!((stats.hits, stats.misses), (0, 1));
    // No cache configured: no statistics.
    assert!(
        Aegis::builder()
            .build()
            .unwrap()
            .compile_cache_stats()
            .is_none()
    );
}

#[test]
fn user_files_in_the_cache_directory_are_never_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("documents");
    std::fs::create_dir_all(home.join("photos/2024")).unwrap();
    std::fs::create_dir_all(home.join("modules/notes")).unwrap();
    std::fs::write(home.join("thesis.tex"), "\\chapter{Results}").unwrap();
    std::fs::write(home.join("photos/2024/beach.jpg"), [0xff, 0xd8, 0xff]).unwrap();
    std::fs::write(home.join("modules/notes/todo.txt"), "wasm").unwrap();
    std::fs::write(home.join(".hidden"), "x").unwrap();
    // Named like an Aegis artifact, but outside Aegis's own subdirectory.
    std::fs::write(home.join(format!("{}.cwasm", "0".repeat(64))), "mine").unwrap();
    std::fs::create_dir(home.join("empty")).unwrap();
    let before = snapshot(&home);

    for round in 0..3 {
        let runtime = Aegis::builder().with_compile_cache(&home).build().unwrap();
        for _ in 0..3 {
            let a = runtime.load_wat(ADD).unwrap();
            assert_eq!(add(&runtime, &a, 2, 1), 3);
            let s = runtime.load_wat(SUB).unwrap();
            assert_eq!(add(&runtime, &s, 2, 1), 1);
            runtime.load_wat(COMPONENT).unwrap();
            runtime
                .load_wat("(module (func (export \"f\") (result i32) i64.const 1))")
                .unwrap_err();
        }
        let stats = runtime.compile_cache_stats().unwrap();
        if round > 0 {
            // Everything valid is served from the cache; the invalid module
            // is compiled (and refused) every time, never stored.
            assert_eq!(
                (stats.hits, stats.misses, stats.stored),
                (9, 3, 0),
                "round {round}"
            );
        }
    }
    let mut after = snapshot(&home);
    after.retain(|path, _| !path.starts_with("aegis-compile-cache-v1"));
    assert_eq!(after, before, "a file or directory of the user changed");
}

#[test]
fn a_cache_under_a_directory_others_can_write_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let cache = shared.join("mine");
    std::fs::create_dir(&cache).unwrap();
    for mode in [0o777, 0o775, 0o757] {
        chmod(&shared, mode);
        let err = Aegis::builder()
            .with_compile_cache(&cache)
            .build()
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{mode:o}: {err}");
        assert!(err.to_string().contains("not writable by others"), "{err}");
    }
    chmod(&shared, 0o755);
    Aegis::builder().with_compile_cache(&cache).build().unwrap();
}

#[test]
fn an_artifact_is_not_loaded_once_its_path_becomes_untrusted() {
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("parent");
    std::fs::create_dir(&parent).unwrap();
    chmod(&parent, 0o755);
    let cache = parent.join("cache");
    let runtime = Aegis::builder().with_compile_cache(&cache).build().unwrap();
    let (add_artifact, sub_artifact) = artifacts_of_add_and_sub(&runtime, &cache);
    let genuine = std::fs::read(&add_artifact).unwrap();
    // The attacker writes a well-formed artifact for ADD holding SUB's code.
    std::fs::write(&add_artifact, forge(&add_artifact, &sub_artifact)).unwrap();
    for mode in [0o777, 0o775, 0o703] {
        chmod(&parent, mode);
        let stats = runtime.compile_cache_stats().unwrap();
        let module = runtime.load_wat(ADD).unwrap();
        assert_eq!(add(&runtime, &module, 5, 3), 8, "parent mode {mode:o}");
        let now = runtime.compile_cache_stats().unwrap();
        assert_eq!(now.hits, stats.hits, "parent mode {mode:o}");
        assert_eq!(now.untrusted, stats.untrusted + 1, "parent mode {mode:o}");
        assert_eq!(
            now.stored, stats.stored,
            "nothing written to an untrusted path"
        );
    }
    // Trust restored and the genuine artifact back: the cache serves it again.
    chmod(&parent, 0o755);
    std::fs::write(&add_artifact, genuine).unwrap();
    let stats = runtime.compile_cache_stats().unwrap();
    let module = runtime.load_wat(ADD).unwrap();
    assert_eq!(add(&runtime, &module, 5, 3), 8);
    assert_eq!(runtime.compile_cache_stats().unwrap().hits, stats.hits + 1);
}

#[test]
fn a_cache_swapped_for_someone_elses_after_build_is_not_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let runtime = Aegis::builder().with_compile_cache(&cache).build().unwrap();
    let (add_artifact, sub_artifact) = artifacts_of_add_and_sub(&runtime, &cache);
    let forged = forge(&add_artifact, &sub_artifact);
    // Whoever can write the parent moves the cache away and puts their own,
    // holding a well-formed artifact for ADD with SUB's code, in its place.
    std::fs::rename(&cache, tmp.path().join("moved")).unwrap();
    let planted = add_artifact.parent().unwrap();
    std::fs::create_dir_all(planted).unwrap();
    std::fs::write(&add_artifact, &forged).unwrap();
    for dir in [&cache, &planted.to_path_buf()] {
        chmod(dir, 0o777);
    }
    if is_root() {
        // Running as root, the other user can be real.
        for path in [&cache, &planted.to_path_buf(), &add_artifact] {
            std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
        }
    }
    let stats = runtime.compile_cache_stats().unwrap();
    let module = runtime.load_wat(ADD).unwrap();
    assert_eq!(add(&runtime, &module, 5, 3), 8);
    let now = runtime.compile_cache_stats().unwrap();
    assert_eq!((now.hits, now.untrusted), (stats.hits, stats.untrusted + 1));
    assert_eq!(std::fs::read(&add_artifact).unwrap(), forged, "left alone");
}

#[test]
fn a_symlinked_artifact_is_not_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let runtime = Aegis::builder().with_compile_cache(&cache).build().unwrap();
    let (add_artifact, sub_artifact) = artifacts_of_add_and_sub(&runtime, &cache);
    let elsewhere = tmp.path().join("elsewhere.cwasm");
    let forged = forge(&add_artifact, &sub_artifact);
    std::fs::write(&elsewhere, &forged).unwrap();
    chmod(&elsewhere, 0o600);
    std::fs::remove_file(&add_artifact).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &add_artifact).unwrap();
    for _ in 0..2 {
        let stats = runtime.compile_cache_stats().unwrap();
        let module = runtime.load_wat(ADD).unwrap();
        assert_eq!(add(&runtime, &module, 5, 3), 8);
        let now = runtime.compile_cache_stats().unwrap();
        assert_eq!((now.hits, now.untrusted), (stats.hits, stats.untrusted + 1));
    }
    // Neither the link nor its target was replaced or written through.
    assert!(
        std::fs::symlink_metadata(&add_artifact)
            .unwrap()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&elsewhere).unwrap(), forged);
}

#[test]
fn broken_or_mismatched_artifacts_are_recompiled_and_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let runtime = Aegis::builder().with_compile_cache(&cache).build().unwrap();
    let (add_artifact, sub_artifact) = artifacts_of_add_and_sub(&runtime, &cache);
    let genuine = std::fs::read(&add_artifact).unwrap();
    let mut flipped = genuine.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x55;
    let broken: [Vec<u8>; 5] = [
        Vec::new(),
        b"garbage".repeat(100),
        genuine[..genuine.len() / 2].to_vec(),
        flipped,
        // Another module's genuine artifact under this module's name.
        std::fs::read(&sub_artifact).unwrap(),
    ];
    for (i, bytes) in broken.iter().enumerate() {
        std::fs::write(&add_artifact, bytes).unwrap();
        let stats = runtime.compile_cache_stats().unwrap();
        let module = runtime.load_wat(ADD).unwrap();
        assert_eq!(add(&runtime, &module, 5, 3), 8, "case {i}");
        let now = runtime.compile_cache_stats().unwrap();
        assert_eq!(now.hits, stats.hits, "case {i}");
        assert_eq!(now.invalid, stats.invalid + 1, "case {i}");
        assert_eq!(now.stored, stats.stored + 1, "case {i}: rewritten");
        // The rewritten artifact is served next time.
        runtime.load_wat(ADD).unwrap();
        assert_eq!(runtime.compile_cache_stats().unwrap().hits, stats.hits + 1);
    }
}

fn add(runtime: &Runtime, module: &aegis_core::Module, a: i32, b: i32) -> i32 {
    let mut s = runtime.sandbox().build().unwrap();
    s.load_module(module).unwrap();
    s.call::<(i32, i32), i32>("add", (a, b)).unwrap()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Loads ADD then SUB and returns the artifact each load wrote.
fn artifacts_of_add_and_sub(runtime: &Runtime, cache: &Path) -> (PathBuf, PathBuf) {
    let written_by = |wat: &str| {
        let before = artifacts(cache);
        runtime.load_wat(wat).unwrap();
        let mut new: Vec<PathBuf> = artifacts(cache)
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        assert_eq!(new.len(), 1, "one artifact per module: {new:?}");
        new.pop().unwrap()
    };
    (written_by(ADD), written_by(SUB))
}

/// What an attacker would plant for `victim`: `donor`'s code, with the header
/// rewritten to name the victim's key (the file stem), so that only the trust
/// checks stand between it and the loader.
fn forge(victim: &Path, donor: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(donor).unwrap();
    let stem = victim.file_stem().unwrap().to_str().unwrap();
    if bytes.starts_with(b"AEGISCC1") && stem.len() == 64 {
        for i in 0..32 {
            bytes[8 + i] = u8::from_str_radix(&stem[2 * i..2 * i + 2], 16).unwrap();
        }
    }
    bytes
}

/// Compiled artifacts under a cache directory, sorted.
fn artifacts(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = snapshot(dir)
        .into_iter()
        .filter(|(p, e)| {
            matches!(e, Entry::File { .. })
                && p.starts_with("aegis-compile-cache-v1")
                && p.extension().is_some_and(|x| x == "cwasm")
        })
        .map(|(p, _)| dir.join(p))
        .collect();
    out.sort();
    out
}

#[derive(Debug, PartialEq)]
enum Entry {
    Dir {
        mode: u32,
    },
    File {
        mode: u32,
        mtime: (i64, i64),
        contents: Vec<u8>,
    },
    Other,
}

/// Every entry under `dir` (relative path → kind, mode, mtime, contents).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let mode = meta.mode();
            if meta.is_dir() {
                out.insert(rel, Entry::Dir { mode });
                walk(root, &path, out);
            } else if meta.is_file() {
                let contents = std::fs::read(&path).unwrap_or_default();
                let mtime = (meta.mtime(), meta.mtime_nsec());
                out.insert(
                    rel,
                    Entry::File {
                        mode,
                        mtime,
                        contents,
                    },
                );
            } else {
                out.insert(rel, Entry::Other);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn a_module_over_the_limits_fails_the_same_with_or_without_a_pool() {
    // 2 MiB of initial memory under a 1 MiB limit.
    let wat = r#"(module (memory 32) (func (export "noop")))"#;
    let codes: Vec<String> = [false, true]
        .into_iter()
        .map(|pooled| {
            let mut b = aegis_core::Aegis::builder().with_memory_limit(1 << 20);
            if pooled {
                b = b.with_instance_pool(2);
            }
            let rt = b.build().unwrap();
            let outcome = rt.load_wat(wat).and_then(|m| {
                let mut sb = rt.sandbox().build()?;
                sb.load_module(&m)
            });
            outcome.unwrap_err().code().as_str().to_string()
        })
        .collect();
    assert_eq!(codes, ["memory_limit_exceeded", "memory_limit_exceeded"]);
}
