//! `--policy FILE` and the options the core's vocabulary added to the CLI:
//! policy files overridden by flags, `--on-denied error` (exit code 5),
//! pinned modules in `run`, `validate` and `inspect`, and each import's
//! verdict under a policy.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::json;

/// A policy file in a fresh directory (kept alive by the returned guard).
fn policy_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn the_policy_file_configures_the_run_and_flags_override_it() {
    for (name, body) in [
        ("p.toml", "fuel_limit = 10_000\nmemory_limit = \"4MiB\""),
        ("p.json", r#"{"fuel_limit": 10000, "memory_limit": "4MiB"}"#),
    ] {
        let (_dir, p) = policy_file(name, body);
        let args = ["run", "hostile.wat", "-e", "spin", "-f", "json"];
        let out = expect_code(&[&args[..], &["--policy", text(&p)]].concat(), 4);
        let error = &json(&out)["error"];
        assert_eq!(error["code"], "out_of_fuel", "{name}");
        assert_eq!(error["limit"], 10_000, "{name}");
        let out = expect_code(
            &[&args[..], &["--policy", text(&p), "--fuel-limit", "20000"]].concat(),
            4,
        );
        assert_eq!(
            json(&out)["error"]["limit"],
            20_000,
            "{name}: the flag wins"
        );
        // The file's other options stay.
        let out = expect_code(
            &["run", "hostile.wat", "-e", "bomb", "--policy", text(&p)],
            4,
        );
        assert!(
            stderr(&out).contains("limit 4194304"),
            "{name}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_bad_policy_file_is_refused_naming_the_problem() {
    let (_dir, p) = policy_file("typo.toml", "memry_limit = \"1MiB\"");
    let out = expect_code(&["run", "add.wat", "--policy", text(&p)], 2);
    let err = stderr(&out);
    assert!(err.contains("error[invalid_argument]"), "{err}");
    assert!(err.contains("unknown field `memry_limit`"), "{err}");
    let out = expect_code(
        &["run", "add.wat", "--policy", "no-such.toml", "-f", "json"],
        2,
    );
    assert_eq!(json(&out)["error"]["code"], "io");
    for command in ["validate", "inspect"] {
        let out = expect_code(&[command, "add.wat", "--policy", text(&p)], 2);
        assert!(stderr(&out).contains("memry_limit"), "{}", stderr(&out));
    }
    let (_dir, p) = policy_file("digest.toml", "allowed_modules = [\"abc\"]");
    let out = expect_code(&["run", "add.wat", "--policy", text(&p)], 2);
    assert!(
        stderr(&out).contains("`abc` is not a SHA-256 digest"),
        "{}",
        stderr(&out)
    );
}

/// By default a refused capability gives the guest an error number and is
/// listed in the metrics; with `--on-denied error` the run fails with
/// `permission_denied`, exit code 5, naming capability, operation and target.
#[test]
fn on_denied_error_fails_the_run_with_exit_code_5() {
    let out = expect_code(&["run", "denied.wat", "-e", "now", "-f", "json"], 0);
    let doc = json(&out);
    assert_eq!(doc["results"][0]["value"], 0, "the clock reads zero");
    assert_eq!(doc["metrics"]["denied_count"], 1);
    assert_eq!(doc["metrics"]["denied"][0]["capability"], "clock");

    let out = expect_code(
        &[
            "run",
            "denied.wat",
            "-e",
            "now",
            "--on-denied",
            "error",
            "-f",
            "json",
        ],
        5,
    );
    let error = &json(&out)["error"];
    assert_eq!(error["code"], "permission_denied");
    assert_eq!(error["capability"], "clock");
    assert_eq!(error["operation"], "clock_time_get");
    assert_eq!(error["target"], "realtime");
    assert_eq!(error["exit_code"], 5);
    assert!(
        stderr(&out).contains("error[permission_denied]: permission denied: clock clock_time_get"),
        "{}",
        stderr(&out)
    );

    // A file outside the grant.
    let scratch = tempfile::tempdir().unwrap();
    let granted = scratch.path().join("granted");
    std::fs::create_dir(&granted).unwrap();
    std::fs::write(scratch.path().join("secret.txt"), "TOP SECRET").unwrap();
    let out = expect_code(
        &[
            "run",
            "denied.wat",
            "-e",
            "escape",
            "--allow-read",
            text(&granted),
            "--on-denied",
            "error",
            "-f",
            "json",
        ],
        5,
    );
    let error = &json(&out)["error"];
    assert_eq!(error["capability"], "filesystem");
    assert_eq!(error["operation"], "path_open");
    assert!(
        error["target"].as_str().unwrap().ends_with("secret.txt"),
        "{error}"
    );

    // From a policy file, and granted there: nothing is refused.
    let out = expect_code(
        &["run", "denied.wat", "-e", "now", "--policy", "clock.toml"],
        0,
    );
    assert_eq!(stdout(&out), "Result: 1\n");
}

/// A real program: its clock read without the grant fails the run. (The
/// guest still gets the error number and carries on to the end of the call;
/// the call then fails with the first refusal.)
#[test]
fn on_denied_error_fails_a_compiled_guest_run() {
    let guest = wasi_tool();
    let out = expect_code(
        &[
            "run",
            text(&guest),
            "--capture-output",
            "--on-denied",
            "error",
            "-f",
            "json",
        ],
        5,
    );
    let doc = json(&out);
    assert_eq!(doc["error"]["capability"], "clock", "{doc}");
    assert_eq!(doc["error"]["operation"], "clock_time_get", "{doc}");
    assert!(
        doc["stdout"]
            .as_str()
            .unwrap()
            .contains("argv: wasi_tool.wasm")
    );
}

/// `allowed_modules` pins the modules: any other is refused before it is
/// parsed, by `run`, `validate` and `inspect` alike (permission_denied, exit 5).
#[test]
fn pinned_modules_refuse_any_other() {
    let add = std::fs::read(fixture("add.wat")).unwrap();
    let digest = aegis_core::sha256_hex(&add);
    let out = expect_code(
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "--allowed-modules",
            &digest,
            "--",
            "1",
            "2",
        ],
        0,
    );
    assert_eq!(stdout(&out), "Result: 3\n");
    let out = expect_code(
        &["run", "types.wat", "--allow-module", &digest, "-f", "json"],
        5,
    );
    let error = &json(&out)["error"];
    assert_eq!(error["capability"], "module");
    assert_eq!(error["operation"], "load");
    let types = std::fs::read(fixture("types.wat")).unwrap();
    let target = format!("sha256:{}", aegis_core::sha256_hex(&types));
    assert_eq!(error["target"], target.as_str());

    expect_code(&["validate", "add.wat", "--policy", "pinned.toml"], 0);
    expect_code(&["inspect", "add.wat", "--policy", "pinned.toml"], 0);
    for command in ["validate", "inspect"] {
        let out = expect_code(&[command, "types.wat", "--policy", "pinned.toml"], 5);
        assert_eq!(stdout(&out), "", "{command}");
        let err = stderr(&out);
        assert!(err.contains("error[permission_denied]"), "{command}: {err}");
        assert!(err.contains(&target), "{command}: {err}");
        let out = expect_code(
            &[
                command,
                "types.wat",
                "--policy",
                "pinned.toml",
                "-f",
                "json",
            ],
            5,
        );
        let doc = json(&out);
        assert_eq!(doc["ok"], false);
        assert_eq!(doc["error"]["code"], "permission_denied");
        assert_eq!(doc["error"]["capability"], "module");
    }
}

#[test]
fn inspect_tells_each_import_verdict_under_the_policy() {
    let out = expect_code(
        &[
            "inspect",
            "denied.wat",
            "--policy",
            "clock.toml",
            "--imports",
        ],
        0,
    );
    assert_eq!(
        stdout(&out),
        "Imports (2):\n\
         \x20 wasi_snapshot_preview1.clock_time_get [function]: (i32, i64, i32) -> (i32)\n\
         \x20 wasi_snapshot_preview1.path_open [function]: (i32, i32, i32, i32, i32, i64, i64, i32, i32) -> (i32)\n\
         Under clock.toml (2):\n\
         \x20 granted             wasi_snapshot_preview1.clock_time_get\n\
         \x20 denied: filesystem  wasi_snapshot_preview1.path_open\n"
    );
    let out = expect_code(
        &[
            "inspect",
            "imports.wat",
            "--policy",
            "clock.toml",
            "-f",
            "json",
        ],
        0,
    );
    assert_eq!(json(&out)["imports"][0]["verdict"], "unsatisfied");
    let out = expect_code(
        &[
            "inspect",
            "denied.wat",
            "--policy",
            "clock.toml",
            "-f",
            "json",
        ],
        0,
    );
    let imports = &json(&out)["imports"];
    assert_eq!(imports[0]["verdict"], "granted");
    assert!(imports[0].get("capability").is_none());
    assert_eq!(imports[1]["verdict"], "denied");
    assert_eq!(imports[1]["capability"], "filesystem");
    // Without --policy there is no verdict.
    let out = expect_code(&["inspect", "denied.wat", "-f", "json"], 0);
    assert!(json(&out)["imports"][0].get("verdict").is_none());
    let out = expect_code(&["inspect", "denied.wat"], 0);
    assert!(!stdout(&out).contains("Under"), "{}", stdout(&out));
}

/// Engine options reach validation and runs: a module using exceptions is
/// invalid until the policy or the flag turns the proposal on.
#[test]
fn engine_options_apply_to_validate_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("throw.wat");
    std::fs::write(
        &wat,
        r#"(module (tag $e)
          (func (export "f") (result i32)
            (block $h (try_table (catch $e $h) (throw $e)))
            (i32.const 7)))"#,
    )
    .unwrap();
    let (_p, exceptions) = policy_file("exceptions.toml", "wasm_exceptions = true");
    expect_code(&["validate", text(&wat)], 3);
    expect_code(&["validate", text(&wat), "--policy", text(&exceptions)], 0);
    expect_code(&["run", text(&wat), "-e", "f"], 3);
    let out = expect_code(&["run", text(&wat), "-e", "f", "--wasm-exceptions"], 0);
    assert_eq!(stdout(&out), "Result: 7\n");
    // The largest module accepted.
    let out = expect_code(
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "--max-module-size",
            "100",
            "--",
            "1",
            "2",
        ],
        3,
    );
    assert!(
        stderr(&out).contains("more than the limit of 100 bytes"),
        "{}",
        stderr(&out)
    );
}

/// A validation with a policy never creates the policy's compile cache.
#[test]
fn validate_and_inspect_leave_the_compile_cache_alone() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (_p, policy) = policy_file("cache.json", &json!({ "compile_cache": cache }).to_string());
    expect_code(&["validate", "add.wat", "--policy", text(&policy)], 0);
    expect_code(&["inspect", "add.wat", "--policy", text(&policy)], 0);
    assert!(!cache.exists());
    // `aegis run` uses it.
    expect_code(
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "--policy",
            text(&policy),
            "--",
            "1",
            "2",
        ],
        0,
    );
    assert!(cache.join("aegis-compile-cache-v1").exists());
}
