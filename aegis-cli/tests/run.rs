//! `aegis run` with `-e`: typed arguments, each value type, formats, options, usage errors.

mod common;

use common::*;
use serde_json::json;

#[test]
fn adds_two_numbers() {
    let out = expect_code(&["run", "add.wat", "-e", "add", "--", "7", "8"], 0);
    assert_eq!(stdout(&out), "Result: 15\n");
}

#[test]
fn negative_numbers_after_double_dash() {
    let out = expect_code(&["run", "add.wat", "--function", "add", "--", "-5", "3"], 0);
    assert_eq!(stdout(&out), "Result: -2\n");
    let out = expect_code(&["run", "add.wat", "-e", "add", "--", "-1", "-2"], 0);
    assert_eq!(stdout(&out), "Result: -3\n");
}

#[test]
fn every_value_type_round_trips() {
    let out = expect_code(
        &[
            "run",
            "types.wat",
            "-e",
            "add64",
            "--",
            "9007199254740993",
            "1",
        ],
        0,
    );
    assert_eq!(stdout(&out), "Result: 9007199254740994\n");
    let out = expect_code(&["run", "types.wat", "-e", "half32", "--", "3"], 0);
    assert_eq!(stdout(&out), "Result: 1.5\n");
    let out = expect_code(&["run", "types.wat", "-e", "half64", "--", "-5"], 0);
    assert_eq!(stdout(&out), "Result: -2.5\n");
    let out = expect_code(&["run", "types.wat", "-e", "add64", "--", "0x10", "-1"], 0);
    assert_eq!(stdout(&out), "Result: 15\n");
}

#[test]
fn one_line_per_result_and_none_for_void() {
    let out = expect_code(&["run", "types.wat", "-e", "divmod", "--", "17", "5"], 0);
    assert_eq!(stdout(&out), "Result: 3\nResult: 2\n");
    let out = expect_code(&["run", "types.wat", "-e", "nothing"], 0);
    assert_eq!(stdout(&out), "");
}

#[test]
fn json_results_are_typed_and_i64_is_a_string() {
    let out = expect_code(
        &[
            "run",
            "types.wat",
            "-e",
            "add64",
            "-f",
            "json",
            "--",
            "9007199254740993",
            "1",
        ],
        0,
    );
    let doc = json(&out);
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["function"], "add64");
    assert_eq!(
        doc["results"],
        json!([{"type": "i64", "value": "9007199254740994"}])
    );
    let m = &doc["metrics"];
    assert_eq!(m["calls"], 1);
    assert!(m["fuel_consumed"].as_u64().unwrap() > 0);
    // The core's metrics: the names of every front-end, durations in seconds.
    let keys: Vec<&str> = m.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, aegis_core::METRIC_NAMES);
    for key in [
        "memory_current",
        "memory_peak",
        "host_calls",
        "denied_count",
    ] {
        assert!(m[key].is_u64(), "metrics.{key} missing: {m}");
    }
    let secs = m["wall_time"].as_f64().expect("wall_time is a number");
    assert!(secs > 0.0 && secs < 10.0, "wall_time is in seconds: {secs}");
    assert!(m["denied"].is_array());
    assert_eq!(doc["stdout"], "");
    assert_eq!(doc["stderr"], "");
    // Pretty JSON spans lines; json-compact is the same document on one line.
    assert!(stdout(&out).trim_end().contains('\n'));
    let compact = expect_code(
        &[
            "run",
            "types.wat",
            "-e",
            "add64",
            "-f",
            "json-compact",
            "--",
            "9007199254740993",
            "1",
        ],
        0,
    );
    let text = stdout(&compact);
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    let doc2 = json(&compact);
    assert_eq!(doc2["results"], doc["results"]);
}

#[test]
fn json_floats_are_numbers() {
    let out = expect_code(
        &[
            "run",
            "types.wat",
            "-e",
            "half32",
            "-f",
            "json-compact",
            "--",
            "2.2",
        ],
        0,
    );
    assert_eq!(
        json(&out)["results"],
        json!([{"type": "f32", "value": 1.1}])
    );
    let out = expect_code(
        &[
            "run",
            "types.wat",
            "-e",
            "half64",
            "-f",
            "json-compact",
            "--",
            "inf",
        ],
        0,
    );
    assert_eq!(
        json(&out)["results"],
        json!([{"type": "f64", "value": "inf"}])
    );
}

#[test]
fn binary_wasm_runs_like_text() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("add.wasm");
    std::fs::write(&wasm, wat::parse_file(fixture("add.wat")).unwrap()).unwrap();
    let out = expect_code(
        &["run", wasm.to_str().unwrap(), "-e", "add", "--", "2", "3"],
        0,
    );
    assert_eq!(stdout(&out), "Result: 5\n");
}

#[test]
fn default_entry_falls_back_to_main() {
    let out = expect_code(&["run", "main.wat"], 0);
    assert_eq!(stdout(&out), "Result: 42\n");
}

#[test]
fn metrics_table_goes_to_stderr() {
    let out = expect_code(
        &["run", "add.wat", "-e", "add", "--metrics", "--", "1", "2"],
        0,
    );
    assert_eq!(stdout(&out), "Result: 3\n");
    let err = stderr(&out);
    assert!(err.starts_with("Metrics:\n"), "{err}");
    // The rows carry the JSON output's names (`denied`: one line per refusal).
    for name in &aegis_core::METRIC_NAMES[..7] {
        assert!(
            err.contains(&format!("\n  {name} ")),
            "missing `{name}` in:\n{err}"
        );
    }
    assert!(
        err.contains("  memory_peak     65536 bytes (64 KiB)\n"),
        "{err}"
    );
    let wall = err.lines().find(|l| l.starts_with("  wall_time ")).unwrap();
    let unit = wall.rsplit(' ').next().unwrap();
    assert!(
        ["ns", "µs", "ms", "s"].contains(&unit),
        "wall_time rounded: {wall}"
    );
    // Without --metrics there is no table.
    let out = expect_code(&["run", "add.wat", "-e", "add", "--", "1", "2"], 0);
    assert_eq!(stderr(&out), "");
}

#[test]
fn quiet_hides_notes_and_refuses_metrics() {
    let out = expect_code(&["run", "add.wat", "-e", "add", "-q", "--", "1", "2"], 0);
    assert_eq!(stdout(&out), "3\n");
    assert_eq!(stderr(&out), "");
    // Asking for metrics and for none at once is a usage error, not a silent choice.
    let out = expect_code(
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "--metrics",
            "-q",
            "--",
            "1",
            "2",
        ],
        2,
    );
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("--metrics"), "{}", stderr(&out));
    let out = expect_code(&["run", "hello.wat"], 0);
    assert!(stderr(&out).contains("--allow-logging"), "{}", stderr(&out));
    let out = expect_code(&["run", "hello.wat", "-q"], 0);
    assert_eq!(stderr(&out), "");
}

#[test]
fn verbosity_levels_add_diagnostics() {
    let v = stderr(&expect_code(
        &["run", "add.wat", "-e", "add", "-v", "--", "1", "2"],
        0,
    ));
    assert!(v.contains("limits: memory 67108864 bytes (64 MiB)"), "{v}");
    assert!(v.contains("compiled `add.wat`"), "{v}");
    assert!(v.contains("called `add`"), "{v}");
    assert!(!v.contains("grants:"), "{v}");
    let vv = stderr(&expect_code(
        &["run", "add.wat", "-e", "add", "-vv", "--", "1", "2"],
        0,
    ));
    assert!(vv.contains("grants:"), "{vv}");
    assert!(!vv.contains("Exports"), "{vv}");
    let vvv = stderr(&expect_code(
        &["run", "add.wat", "-e", "add", "-vvv", "--", "1", "2"],
        0,
    ));
    assert!(vvv.contains("add [function]: (i32, i32) -> (i32)"), "{vvv}");
    // -q and -v contradict each other: a usage error.
    expect_code(
        &["run", "add.wat", "-e", "add", "-q", "-v", "--", "1", "2"],
        2,
    );
}

#[test]
fn limits_flags_are_applied() {
    let v = stderr(&expect_code(
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "-v",
            "--memory-limit",
            "1MiB",
            "--fuel-limit",
            "5000",
            "--timeout",
            "0.5",
            "--stack-limit",
            "256KiB",
            "--",
            "1",
            "2",
        ],
        0,
    ));
    assert!(
        v.contains("limits: memory 1048576 bytes (1 MiB), fuel 5000 per call, timeout 500 ms per call, stack 262144 bytes (256 KiB)"),
        "{v}"
    );
    let out = expect_code(
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "--memory-limit",
            "65536",
            "--",
            "1",
            "2",
        ],
        0,
    );
    assert_eq!(stdout(&out), "Result: 3\n");
}

#[test]
fn wrong_argument_count_is_a_signature_mismatch() {
    let out = expect_code(&["run", "add.wat", "-e", "add", "--", "1"], 2);
    let err = stderr(&out);
    assert!(err.contains("error[signature_mismatch]"), "{err}");
    assert!(err.contains("(i32, i32) -> (i32)"), "{err}");
    assert!(err.contains("given arguments (text)"), "{err}");
    assert_eq!(stdout(&out), "");
    let out = expect_code(
        &[
            "run", "add.wat", "-e", "add", "-f", "json", "--", "1", "2", "3",
        ],
        2,
    );
    let doc = json(&out);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["code"], "signature_mismatch");
    assert_eq!(doc["error"]["exit_code"], 2);
    // The core's details, under the core's names.
    assert_eq!(doc["error"]["name"], "add");
    assert_eq!(doc["error"]["expected"], "(i32, i32) -> (i32)");
    assert_eq!(doc["error"]["given"], "arguments (text, text, text)");
}

#[test]
fn bad_argument_text_is_invalid_argument() {
    let out = expect_code(&["run", "add.wat", "-e", "add", "--", "1", "abc"], 2);
    let err = stderr(&out);
    assert!(err.contains("error[invalid_argument]"), "{err}");
    assert!(
        err.contains("argument 2 of `add`: `abc` is not a valid i32"),
        "{err}"
    );
    expect_code(&["run", "types.wat", "-e", "add64", "--", "1.5", "1"], 2);
    expect_code(&["run", "add.wat", "-e", "add", "--", "4294967296", "1"], 2);
}

#[test]
fn unknown_export_lists_the_available_ones() {
    let out = expect_code(&["run", "add.wat", "-e", "nope"], 2);
    let err = stderr(&out);
    assert!(err.contains("error[export_not_found]"), "{err}");
    assert!(err.contains("add"), "{err}");
    let out = expect_code(&["run", "add.wat", "-e", "memory", "-f", "json-compact"], 2);
    assert_eq!(json(&out)["error"]["code"], "export_not_found");
    // No `_start` and no `main`.
    let out = expect_code(&["run", "add.wat"], 2);
    assert!(stderr(&out).contains("_start or main"), "{}", stderr(&out));
}

#[test]
fn missing_file_is_an_io_error() {
    let out = expect_code(&["run", "no-such-file.wasm"], 2);
    let err = stderr(&out);
    assert!(err.contains("error[io]"), "{err}");
    assert!(err.contains("no-such-file.wasm"), "{err}");
    let out = expect_code(&["run", "no-such-file.wasm", "-f", "json"], 2);
    assert_eq!(json(&out)["error"]["code"], "io");
    assert_eq!(json(&out)["metrics"], serde_json::Value::Null);
}

#[test]
fn bad_option_values_are_usage_errors() {
    for args in [
        vec!["run", "add.wat", "--memory-limit", "lots"],
        vec!["run", "add.wat", "--memory-limit", "64XB"],
        vec!["run", "add.wat", "--fuel-limit", "-3"],
        vec!["run", "add.wat", "--fuel-limit", "1e9"],
        vec!["run", "add.wat", "--fuel-limit", "none"],
        vec!["run", "add.wat", "--timeout", "never"],
        vec!["run", "add.wat", "--on-denied", "warn"],
        vec!["run", "add.wat", "--capture-output=lots"],
        vec!["run", "add.wat", "--max-module-size", "big"],
        vec!["run", "add.wat", "--random-seed", "-1"],
        vec!["run", "add.wat", "--timeout", "0"],
        vec!["run", "add.wat", "--timeout", "soon"],
        vec!["run", "add.wat", "--env", "NOVALUE"],
        vec!["run", "add.wat", "--allow-net", "not a rule"],
        vec!["run", "add.wat", "--allow-read", "::/guest"],
        vec!["run", "add.wat", "-f", "xml"],
        vec!["run", "add.wat", "--no-such-flag"],
        vec!["run"],
        vec!["frobnicate"],
    ] {
        let out = expect_code(&args, 2);
        assert!(stderr(&out).contains("error"), "{args:?}: {}", stderr(&out));
    }
    // A stack limit below the core's minimum is refused by aegis-core.
    let out = expect_code(
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "--stack-limit",
            "1KiB",
            "--",
            "1",
            "2",
        ],
        2,
    );
    assert!(
        stderr(&out).contains("error[invalid_argument]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_import_is_a_link_error() {
    let out = expect_code(&["run", "imports.wat", "-e", "add", "--", "1", "2"], 3);
    let err = stderr(&out);
    assert!(err.contains("error[link_error]"), "{err}");
    assert!(err.contains("env::log"), "{err}");
}

#[test]
fn invalid_module_exit_code() {
    let out = expect_code(&["run", "broken.wat"], 3);
    assert!(
        stderr(&out).contains("error[invalid_module]"),
        "{}",
        stderr(&out)
    );
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0\xff\xff").unwrap();
    expect_code(&["run", junk.to_str().unwrap()], 3);
}
