//! The compile cache: `aegis compile` fills it, `aegis run` uses it, a shared
//! directory is refused.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{aegis, code, fixture, stderr, stdout};

/// Compiled artifacts in a cache directory (Aegis keeps them in its own
/// subdirectory), sorted.
fn artifacts(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir.join("aegis-compile-cache-v1"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Every file under `dir` with its contents, sorted by path.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
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
    assert_eq!(stored.len(), 1, "{stored:?}");
    let contents = std::fs::read(&stored[0]).unwrap();
    let out = aegis()
        .args(["run", m, "-e", "add", "--cache-dir", c, "--", "7", "8"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), "Result: 15");
    assert_eq!(artifacts(&cache), stored, "the run compiled nothing new");
    assert_eq!(std::fs::read(&stored[0]).unwrap(), contents);
    // Compiling again finds the module in the cache.
    let out = aegis()
        .args(["compile", m, "--cache-dir", c, "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["already_cached"], true, "{json}");
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
    assert!(artifacts(&cache).is_empty());
}

#[test]
fn a_cache_below_a_directory_others_can_write_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let cache = shared.join("mine");
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
}

#[test]
fn files_already_in_the_cache_directory_are_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("home");
    std::fs::create_dir_all(dir.join("photos")).unwrap();
    std::fs::write(dir.join("thesis.tex"), "results").unwrap();
    std::fs::write(dir.join("photos/cat.jpg"), [0xff, 0xd8]).unwrap();
    let before = files(&dir);
    let d = dir.to_str().unwrap();
    let m = fixture("add.wat");
    let m = m.to_str().unwrap();
    for _ in 0..3 {
        let out = aegis()
            .args(["compile", m, "--cache-dir", d])
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let out = aegis()
            .args(["run", m, "-e", "add", "--cache-dir", d, "--", "1", "1"])
            .output()
            .unwrap();
        assert_eq!(stdout(&out).trim(), "Result: 2");
    }
    let mut after = files(&dir);
    after.retain(|(p, _)| !p.starts_with(dir.join("aegis-compile-cache-v1")));
    assert_eq!(after, before);
    assert_eq!(artifacts(&dir).len(), 1);
}
