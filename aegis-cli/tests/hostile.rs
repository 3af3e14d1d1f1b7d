//! Hostile guests through the CLI: each limit, each trap, and their exit codes.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let out = expect_code(
        &["run", "hostile.wat", "-e", "spin", "--fuel-limit", "10000"],
        4,
    );
    let err = stderr(&out);
    assert!(err.contains("error[out_of_fuel]"), "{err}");
    assert!(err.contains("10000"), "{err}");
    assert_eq!(stdout(&out), "");
}

#[test]
fn out_of_fuel_in_json_reports_code_and_metrics() {
    let out = expect_code(
        &[
            "run",
            "hostile.wat",
            "-e",
            "spin",
            "--fuel-limit",
            "10000",
            "-f",
            "json",
        ],
        4,
    );
    let doc = json(&out);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["function"], "spin");
    assert_eq!(doc["error"]["code"], "out_of_fuel");
    assert_eq!(doc["error"]["exit_code"], 4);
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("out of fuel")
    );
    assert_eq!(doc["metrics"]["fuel_consumed"], 10000);
    assert!(doc.get("results").is_none());
    // The error is on stderr too.
    assert!(stderr(&out).contains("error[out_of_fuel]"));
}

#[test]
fn infinite_loop_times_out() {
    let start = Instant::now();
    let out = expect_code(
        &[
            "run",
            "hostile.wat",
            "-e",
            "spin",
            "--fuel-limit",
            "1000000000000000",
            "--timeout",
            "0.3",
        ],
        4,
    );
    assert!(start.elapsed() < Duration::from_secs(20));
    assert!(stderr(&out).contains("error[timeout]"), "{}", stderr(&out));
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    let out = expect_code(
        &[
            "run",
            "hostile.wat",
            "-e",
            "bomb",
            "--memory-limit",
            "4MiB",
            "--metrics",
        ],
        4,
    );
    let err = stderr(&out);
    assert!(err.contains("error[memory_limit_exceeded]"), "{err}");
    assert!(err.contains("4194304"), "{err}");
    // Metrics are shown for failed calls too.
    assert!(err.contains("memory_peak"), "{err}");
    let out = expect_code(
        &[
            "run",
            "hostile.wat",
            "-e",
            "bomb",
            "--memory-limit",
            "4MiB",
            "-f",
            "json-compact",
        ],
        4,
    );
    let doc = json(&out);
    assert_eq!(doc["error"]["code"], "memory_limit_exceeded");
    assert!(doc["metrics"]["memory_peak"].as_u64().unwrap() <= 4 << 20);
}

#[test]
fn deep_recursion_overflows_the_stack() {
    let out = expect_code(&["run", "hostile.wat", "-e", "recurse", "--", "0"], 4);
    assert!(
        stderr(&out).contains("error[stack_overflow]"),
        "{}",
        stderr(&out)
    );
    let out = expect_code(
        &[
            "run",
            "hostile.wat",
            "-e",
            "recurse",
            "--stack-limit",
            "64KiB",
            "-f",
            "json",
            "--",
            "0",
        ],
        4,
    );
    assert_eq!(json(&out)["error"]["code"], "stack_overflow");
}

#[test]
fn traps_exit_with_one() {
    let out = expect_code(&["run", "hostile.wat", "-e", "crash"], 1);
    let err = stderr(&out);
    assert!(err.contains("error[trap]"), "{err}");
    assert!(err.contains("unreachable"), "{err}");
    assert!(
        !err.contains("wasm backtrace"),
        "backtrace only with -v: {err}"
    );
    let out = expect_code(&["run", "hostile.wat", "-e", "crash", "-v"], 1);
    assert!(stderr(&out).contains("wasm backtrace"), "{}", stderr(&out));
    let out = expect_code(
        &[
            "run",
            "hostile.wat",
            "-e",
            "divide",
            "-f",
            "json",
            "--",
            "1",
            "0",
        ],
        1,
    );
    let doc = json(&out);
    assert_eq!(doc["error"]["code"], "trap");
    assert_eq!(doc["error"]["trap_code"], "integer_division_by_zero");
    assert!(doc["error"].get("trap").is_none(), "the core's name only");
    assert!(doc["error"]["backtrace"].is_string());
    assert_eq!(doc["error"]["exit_code"], 1);
}

#[test]
fn trap_in_start_function() {
    let out = expect_code(&["run", "start_trap.wat", "-e", "never"], 1);
    assert!(stderr(&out).contains("error[trap]"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}
