//! The compile cache: `aegis compile` fills it, `aegis run` uses it, a shared
//! directory is refused.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{aegis, code, fixture, stderr, stdout};

/// Compiled artifacts in a cache directory (wasmtime also keeps `.stats` files).
fn artifacts(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.path() {
                    p if p.is_dir() => artifacts(&p),
                    p if p.extension().is_some_and(|x| x == "stats") => 0,
                    _ => 1,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn compile_fills_the_cache_and_run_reuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let c = cache.to_str().unwrap();
    let module = fixture("add.wat");
    let m = module.to_str().unwrap();
    let out = aegis()
        .args(["compile", m, "--cache-dir", c])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("Compiled module"),
        "{}",
        stdout(&out)
    );
    let stored = artifacts(&cache);
    assert!(stored > 0, "nothing was cached");
    let out = aegis()
        .args(["run", m, "-e", "add", "--cache-dir", c, "--", "7", "8"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), "Result: 15");
    assert_eq!(artifacts(&cache), stored, "the run compiled nothing new");
    let out = aegis()
        .args(["run", m, "-e", "add", "--no-cache", "--", "1", "2"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), "Result: 3");
}

#[test]
fn a_cache_others_can_write_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("shared");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let c = cache.to_str().unwrap();
    let m = fixture("add.wat");
    let m = m.to_str().unwrap();
    let out = aegis()
        .args(["compile", m, "--cache-dir", c])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not writable by others"),
        "{}",
        stderr(&out)
    );
    // `run` still works, compiling from scratch, and says why.
    let out = aegis()
        .args(["run", m, "-e", "add", "--cache-dir", c, "--", "2", "3"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), "Result: 5");
    assert!(
        stderr(&out).contains("compile cache not used"),
        "{}",
        stderr(&out)
    );
    assert_eq!(artifacts(&cache), 0);
}
