//! WASI commands through the CLI: argv, env, logging, exit statuses, directory
//! grants and the clock, with WAT guests and a Rust guest compiled to wasm32-wasip1.

mod common;

use common::*;

#[test]
fn output_reaches_stdout_only_with_allow_logging() {
    let out = expect_code(&["run", "args.wat", "--allow-logging", "--", "hi"], 0);
    assert_eq!(stdout(&out), "args.wat hi\n\n");
    let out = expect_code(&["run", "args.wat", "-q", "--", "hi"], 0);
    assert_eq!(stdout(&out), "");
}

/// Regression: a guest whose first WASI call is `fd_write` once got errno 48
/// (nomem) from wasmtime-wasi and printed nothing.
#[test]
fn fd_write_as_first_wasi_call_prints() {
    let out = expect_code(&["run", "hello.wat", "--allow-logging"], 0);
    assert_eq!(stdout(&out), "hello from wasm\n");
}

#[test]
fn json_captures_guest_output_into_the_document() {
    let out = expect_code(
        &[
            "run",
            "args.wat",
            "--capture-output",
            "-f",
            "json",
            "--",
            "hi",
        ],
        0,
    );
    let doc = json(&out);
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["function"], "_start");
    assert_eq!(doc["results"], serde_json::json!([]));
    assert_eq!(doc["stdout"], "args.wat hi\n\n");
}

#[test]
fn args_become_argv_and_env_is_explicit() {
    let out = aegis()
        .args([
            "run",
            "args.wat",
            "--allow-logging",
            "--env",
            "MODE=fast",
            "--env",
            "EMPTY=",
        ])
        .args(["--", "first", "--second", "-3"])
        .env("HOST_SECRET", "must-not-leak")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The policy's `env` is a map: the guest sees it in name order.
    assert_eq!(
        stdout(&out),
        "args.wat first --second -3\nEMPTY= MODE=fast\n"
    );
    // Nothing is inherited from the host environment.
    let out = expect_code(&["run", "args.wat", "--allow-logging"], 0);
    assert_eq!(stdout(&out), "args.wat\n\n");
}

#[test]
fn proc_exit_status_is_passed_through() {
    let out = expect_code(&["run", "exit.wat"], 7);
    assert!(
        stderr(&out).contains("error[exit]: guest exited with status 7"),
        "{}",
        stderr(&out)
    );
    let out = expect_code(&["run", "exit.wat", "-f", "json-compact"], 7);
    let doc = json(&out);
    assert_eq!(doc["function"], "_start");
    assert_eq!(doc["error"]["code"], "exit");
    assert_eq!(doc["error"]["status"], 7);
    assert_eq!(doc["error"]["exit_code"], 7);
    // proc_exit(0) is success, with -e as well (the core's rule: the export
    // has no results)...
    let out = expect_code(&["run", "exit.wat", "-e", "quit"], 0);
    assert_eq!(stdout(&out), "");
    // ...and from an export with results it is `exit` with status 0, exit code 1.
    let out = expect_code(
        &["run", "exit.wat", "-e", "quit_with_result", "-f", "json"],
        1,
    );
    let doc = json(&out);
    assert_eq!(doc["error"]["code"], "exit");
    assert_eq!(doc["error"]["status"], 0);
    assert_eq!(doc["error"]["exit_code"], 1);
}

#[test]
fn compiled_guest_sees_argv_env_and_granted_dirs() {
    let guest = wasi_tool();
    let data = tempfile::tempdir().unwrap();
    let outdir = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("input.txt"), "seed data\n").unwrap();
    let read = format!("{}::/data", data.path().display());
    let write = format!("{}::/out", outdir.path().display());
    let out = expect_code(
        &[
            "run",
            guest.to_str().unwrap(),
            "--allow-logging",
            "--allow-read",
            &read,
            "--allow-write",
            &write,
            "--env",
            "GREETING=hi",
            "--",
            "alpha",
            "beta",
        ],
        0,
    );
    let text = stdout(&out);
    assert!(text.contains("argv: wasi_tool.wasm alpha beta\n"), "{text}");
    assert!(text.contains("env: GREETING=hi\n"), "{text}");
    assert_eq!(text.matches("env: ").count(), 1, "{text}");
    assert!(text.contains("read: seed data\n"), "{text}");
    assert!(text.contains("write: ok\n"), "{text}");
    assert!(text.contains("write to read-only: failed\n"), "{text}");
    assert!(stderr(&out).contains("to stderr"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(outdir.path().join("result.txt")).unwrap(),
        "written by the guest"
    );
    assert!(!data.path().join("sneaky.txt").exists());
}

#[test]
fn compiled_guest_without_grants_sees_nothing() {
    let guest = wasi_tool();
    let out = expect_code(&["run", guest.to_str().unwrap(), "--allow-logging"], 0);
    let text = stdout(&out);
    assert!(text.contains("read: failed\n"), "{text}");
    assert!(text.contains("write: failed\n"), "{text}");
    assert!(!text.contains("clock: real"), "{text}");
    assert!(!text.contains("env: "), "{text}");
}

#[test]
fn allow_clock_gives_the_real_clock() {
    let guest = wasi_tool();
    let out = expect_code(
        &[
            "run",
            guest.to_str().unwrap(),
            "--allow-logging",
            "--allow-clock",
        ],
        0,
    );
    assert!(stdout(&out).contains("clock: real\n"), "{}", stdout(&out));
}

#[test]
fn allow_read_without_guest_path_uses_the_host_path() {
    let guest = wasi_tool();
    let data = tempfile::tempdir().unwrap();
    let out = expect_code(
        &[
            "run",
            guest.to_str().unwrap(),
            "--allow-logging",
            "-vv",
            "--allow-read",
            data.path().to_str().unwrap(),
        ],
        0,
    );
    let grant = format!(
        "read {} as {}",
        data.path().display(),
        data.path().display()
    );
    assert!(stderr(&out).contains(&grant), "{}", stderr(&out));
    // A grant of a directory that does not exist is refused before running.
    let out = expect_code(
        &[
            "run",
            guest.to_str().unwrap(),
            "--allow-read",
            "/no/such/dir::/data",
        ],
        2,
    );
    assert!(stderr(&out).contains("error[io]"), "{}", stderr(&out));
}

#[test]
fn compiled_guest_exit_status_is_propagated() {
    let guest = wasi_tool();
    let out = expect_code(&["run", guest.to_str().unwrap(), "--", "exit=3"], 3);
    assert!(stderr(&out).contains("error[exit]"), "{}", stderr(&out));
}

#[test]
fn compiled_guest_json_captures_both_streams() {
    let guest = wasi_tool();
    let out = expect_code(
        &[
            "run",
            guest.to_str().unwrap(),
            "--capture-output",
            "-f",
            "json",
            "--",
            "x",
        ],
        0,
    );
    let doc = json(&out);
    assert!(
        doc["stdout"]
            .as_str()
            .unwrap()
            .contains("argv: wasi_tool.wasm x")
    );
    assert_eq!(doc["stderr"], "to stderr\n");
}

#[test]
fn allow_net_is_accepted_and_granted() {
    let out = expect_code(
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "-vv",
            "--allow-net",
            "127.0.0.1:8080",
            "--allow-net",
            "localhost:443",
            "--",
            "1",
            "2",
        ],
        0,
    );
    assert_eq!(stdout(&out), "Result: 3\n");
    let err = stderr(&out);
    assert!(err.contains("127.0.0.1:8080"), "{err}");
    assert!(err.contains("localhost"), "{err}");
}

#[test]
fn clock_and_logging_grants_are_reported() {
    let out = expect_code(
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "-vv",
            "--allow-clock",
            "--allow-logging",
            "--",
            "1",
            "2",
        ],
        0,
    );
    let err = stderr(&out);
    assert!(err.contains("clock real"), "{err}");
    assert!(err.contains("logging inherit"), "{err}");
}

#[test]
fn denied_operations_are_reported_in_metrics() {
    let out = expect_code(&["run", "args.wat", "--metrics", "--", "a"], 0);
    let err = stderr(&out);
    assert!(err.contains("\n  denied_count    2\n"), "{err}");
    assert!(err.contains("denied logging write stdout"), "{err}");
    let guest = wasi_tool();
    let out = expect_code(&["run", guest.to_str().unwrap(), "-f", "json"], 0);
    let doc = json(&out);
    let denied = doc["metrics"]["denied"].as_array().unwrap();
    let capabilities: Vec<&str> = denied
        .iter()
        .map(|d| d["capability"].as_str().unwrap())
        .collect();
    assert!(capabilities.contains(&"logging"), "{denied:?}");
    assert!(capabilities.contains(&"clock"), "{denied:?}");
    assert_eq!(
        doc["metrics"]["denied_count"].as_u64().unwrap(),
        denied.len() as u64
    );
    // Granted, nothing is refused.
    let out = expect_code(
        &[
            "run",
            guest.to_str().unwrap(),
            "-f",
            "json",
            "--capture-output",
            "--allow-clock",
        ],
        0,
    );
    assert_eq!(json(&out)["metrics"]["denied_count"], 0);
}
