//! Data in and out of guests from the shell: `--invoke` with WAVE values
//! (components, and core modules with numbers), `--call-bytes` (stdin to
//! stdout, byte for byte), `--result-limit`, and `inspect` showing WIT
//! signatures. Uses the guests of `scripts/build-guests.sh` (values.wasm,
//! plugin.wasm, bytes-rust.wasm, bytes-c.wasm) and the fixtures
//! component.wat and bytes.wat.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::json;

fn values() -> String {
    path_text(built_guest("values.wasm"))
}

fn path_text(path: PathBuf) -> String {
    path.to_string_lossy().into_owned()
}

/// `aegis run MODULE --invoke CALL`, expecting success and one line per result.
fn invoke(module: &str, call: &str) -> String {
    stdout(&expect_code(&["run", module, "--invoke", call], 0))
}

#[test]
fn invoke_takes_and_prints_every_wit_type_in_wave() {
    let values = values();
    for (call, printed) in [
        (r#"echo-string("héllo \"q\"\n")"#, r#""héllo \"q\"\n""#),
        (r#"greet("world")"#, r#""Hello, world!""#),
        (
            r#"echo-record({x: 1, y: -2, label: "p"})"#,
            r#"{x: 1, y: -2, label: "p"}"#,
        ),
        (
            r#"echo-variant(rect({x: 1, y: 2, label: "r"}))"#,
            r#"rect({x: 1, y: 2, label: "r"})"#,
        ),
        ("echo-variant(circle(1.5))", "circle(1.5)"),
        ("echo-variant(empty)", "empty"),
        ("echo-enum(green)", "green"),
        (r#"echo-option(some("x"))"#, r#"some("x")"#),
        ("echo-option(none)", "none"),
        ("echo-nested-option(some(none))", "some(none)"),
        (r#"echo-result(ok("good"))"#, r#"ok("good")"#),
        (r#"echo-result(err("bad"))"#, r#"err("bad")"#),
        ("divide(7, 2)", "ok(3)"),
        ("divide(7, 0)", r#"err("division by zero")"#),
        (r#"echo-strings(["a", "b"])"#, r#"["a", "b"]"#),
        ("echo-bytes([0, 255])", "[0, 255]"),
        ("echo-nested([[1], [], [2, 3]])", "[[1], [], [2, 3]]"),
        (
            r#"echo-points([{x: 1, y: 2, label: "a"}])"#,
            r#"[{x: 1, y: 2, label: "a"}]"#,
        ),
        (r#"echo-tuple((1, "a", true))"#, r#"(1, "a", true)"#),
        ("echo-flags({read, exec})", "{read, exec}"),
        ("echo-flags({})", "{}"),
        ("echo-s64(-9223372036854775808)", "-9223372036854775808"),
        ("echo-u64(18446744073709551615)", "18446744073709551615"),
        ("echo-f32(1.1)", "1.1"),
        ("echo-f64(nan)", "nan"),
        ("echo-char('x')", "'x'"),
        ("echo-bool(true)", "true"),
        ("make-bytes(3)", "[97, 97, 97]"),
        // An interface's export is `interface#func`.
        (r#"aegis:test/text#upper("abc")"#, r#""ABC""#),
        (r#"aegis:test/text#count("héllo")"#, "5"),
    ] {
        assert_eq!(invoke(&values, call), format!("{printed}\n"), "{call}");
    }
    // No results, no lines; the parentheses may be left out.
    assert_eq!(invoke(&values, "nothing()"), "");
    assert_eq!(invoke(&values, "nothing"), "");
}

#[test]
fn invoke_results_are_wave_strings_in_json() {
    let values = values();
    let out = expect_code(
        &[
            "run",
            &values,
            "--invoke",
            r#"echo-record({x: 1, y: 2, label: "p"})"#,
            "-f",
            "json",
        ],
        0,
    );
    let doc = json(&out);
    assert_eq!(doc["ok"], true, "{doc}");
    assert_eq!(doc["function"], "echo-record");
    assert_eq!(doc["results"], json!([r#"{x: 1, y: 2, label: "p"}"#]));
    assert_eq!(doc["metrics"]["calls"], 1, "{doc}");
    let out = expect_code(
        &["run", &values, "--invoke", "nothing", "-f", "json-compact"],
        0,
    );
    assert_eq!(json(&out)["results"], json!([]));
}

#[test]
fn bad_wave_is_a_usage_error_showing_the_signature() {
    let values = values();
    for call in [
        r#"echo-s32("x")"#,
        "echo-u8(300)",
        r#"greet("a", "b")"#,
        "greet(",
        "echo-record({x: 1})",
    ] {
        let out = expect_code(&["run", &values, "--invoke", call], 2);
        let err = stderr(&out);
        assert!(err.contains("error[invalid_argument]"), "{call}: {err}");
        assert!(err.contains("not valid WAVE"), "{call}: {err}");
        assert_eq!(stdout(&out), "", "{call}");
    }
    let out = expect_code(&["run", &values, "--invoke", r#"greet(1)"#], 2);
    let err = stderr(&out);
    assert!(
        err.contains("(`greet` is func(name: string) -> string)"),
        "{err}"
    );
    let out = expect_code(
        &["run", &values, "--invoke", "echo-s32(x)", "-f", "json"],
        2,
    );
    let doc = json(&out);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["function"], "echo-s32");
    assert_eq!(doc["error"]["code"], "invalid_argument");
    assert_eq!(doc["error"]["exit_code"], 2);
}

#[test]
fn an_unknown_export_lists_the_functions() {
    let values = values();
    let out = expect_code(&["run", &values, "--invoke", "missing()"], 2);
    let err = stderr(&out);
    assert!(err.contains("error[export_not_found]"), "{err}");
    assert!(err.contains("aegis:test/text#upper"), "{err}");
    let out = expect_code(
        &[
            "run",
            &values,
            "--invoke",
            "aegis:test/nope#upper(\"a\")",
            "-f",
            "json",
        ],
        2,
    );
    let doc = json(&out);
    assert_eq!(doc["error"]["code"], "export_not_found");
    assert_eq!(doc["error"]["exit_code"], 2);
}

#[test]
fn a_guest_failure_in_a_component_call_has_its_exit_code() {
    let values = values();
    let out = expect_code(&["run", &values, "--invoke", "do-panic()"], 1);
    assert!(stderr(&out).contains("error[trap]"), "{}", stderr(&out));
    let out = expect_code(
        &[
            "run",
            &values,
            "--invoke",
            "spin()",
            "--fuel-limit",
            "100000",
        ],
        4,
    );
    assert!(
        stderr(&out).contains("error[out_of_fuel]"),
        "{}",
        stderr(&out)
    );
    // A component the guest breaks the canonical ABI of: invalid_result, exit 1.
    let corpus = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/hostile/corpus/wit_invalid_utf8.wat"
    );
    let out = expect_code(&["run", corpus, "--invoke", "run", "-f", "json"], 1);
    let doc = json(&out);
    assert_eq!(doc["error"]["code"], "invalid_result", "{doc}");
    assert_eq!(doc["error"]["exit_code"], 1);
}

#[test]
fn the_result_limit_caps_component_results() {
    let values = values();
    let out = expect_code(
        &[
            "run",
            &values,
            "--invoke",
            r#"greet("world")"#,
            "--result-limit",
            "8",
        ],
        4,
    );
    assert!(
        stderr(&out).contains("error[result_too_large]"),
        "{}",
        stderr(&out)
    );
    let out = expect_code(
        &[
            "run",
            &values,
            "--invoke",
            "make-string(100000)",
            "--result-limit",
            "64KiB",
            "-f",
            "json",
        ],
        4,
    );
    let doc = json(&out);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["code"], "result_too_large", "{doc}");
    assert_eq!(doc["error"]["limit"], 65536, "{doc}");
    assert_eq!(doc["error"]["exit_code"], 4);
    // Under the limit, the same call succeeds.
    let out = expect_code(
        &[
            "run",
            &values,
            "--invoke",
            "make-string(1000)",
            "--result-limit",
            "64KiB",
        ],
        0,
    );
    assert_eq!(stdout(&out), format!("\"{}\"\n", "a".repeat(1000)));
}

#[test]
fn a_policy_file_sets_the_result_limit_and_the_flag_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("small.toml");
    std::fs::write(&policy, "result_limit = \"8\"\n").unwrap();
    let policy = policy.to_str().unwrap();
    let values = values();
    let call = r#"greet("world")"#;
    let out = expect_code(
        &[
            "run", &values, "--invoke", call, "--policy", policy, "-f", "json",
        ],
        4,
    );
    assert_eq!(json(&out)["error"]["limit"], 8);
    let out = expect_code(
        &[
            "run",
            &values,
            "--invoke",
            call,
            "--policy",
            policy,
            "--result-limit",
            "1KiB",
        ],
        0,
    );
    assert_eq!(stdout(&out), "\"Hello, world!\"\n");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"result_limit": "8 apples"}"#).unwrap();
    let out = expect_code(
        &[
            "run",
            &values,
            "--invoke",
            call,
            "--policy",
            bad.to_str().unwrap(),
        ],
        2,
    );
    assert!(stderr(&out).contains("8 apples"), "{}", stderr(&out));
}

#[test]
fn a_component_cannot_be_called_the_core_ways() {
    let values = values();
    let out = expect_code(&["run", &values, "-e", "greet"], 2);
    let err = stderr(&out);
    assert!(err.contains("--invoke 'greet(ARG, ...)'"), "{err}");
    assert!(err.contains("func(name: string) -> string"), "{err}");
    let out = run_with_input(&["run", &values, "--call-bytes", "greet"], b"x");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--invoke"), "{}", stderr(&out));
}

#[test]
fn a_component_importing_what_aegis_cannot_provide_fails_to_link() {
    // The CLI has no host functions: plugin.wasm's `aegis:test/host` is missing.
    let plugin = path_text(built_guest("plugin.wasm"));
    let out = expect_code(&["run", &plugin, "--invoke", "call-add(1, 2)"], 3);
    let err = stderr(&out);
    assert!(err.contains("error[link_error]"), "{err}");
    assert!(err.contains("aegis:test/host"), "{err}");
}

#[test]
fn invoke_calls_a_core_module_with_numbers() {
    assert_eq!(invoke("add.wat", "add(7, 8)"), "15\n");
    assert_eq!(invoke("add.wat", "add(-1,2)"), "1\n");
    assert_eq!(invoke("types.wat", "divmod(17, 5)"), "3\n2\n");
    assert_eq!(
        invoke("types.wat", "add64(9007199254740993, 1)"),
        "9007199254740994\n"
    );
    assert_eq!(invoke("types.wat", "half32(3)"), "1.5\n");
    assert_eq!(invoke("types.wat", "half64(inf)"), "inf\n");
    assert_eq!(invoke("types.wat", "nothing"), "");
    let out = expect_code(
        &[
            "run",
            "types.wat",
            "--invoke",
            "add64(1, 2)",
            "-f",
            "json-compact",
        ],
        0,
    );
    let doc = json(&out);
    assert_eq!(doc["function"], "add64");
    assert_eq!(doc["results"], json!(["3"]));
    for (call, code) in [
        ("add(7)", "signature_mismatch"),
        ("add(7, 8", "invalid_argument"),
        ("add(1,,2)", "invalid_argument"),
        ("add(x, 2)", "invalid_argument"),
        ("sub(1, 2)", "export_not_found"),
    ] {
        let out = expect_code(&["run", "add.wat", "--invoke", call, "-f", "json"], 2);
        assert_eq!(json(&out)["error"]["code"], code, "{call}");
    }
}

#[test]
fn invoke_and_call_bytes_take_nothing_after_double_dash() {
    let out = expect_code(&["run", "add.wat", "--invoke", "add", "--", "1", "2"], 2);
    assert!(stderr(&out).contains("inside the call"), "{}", stderr(&out));
    let out = expect_code(&["run", "bytes.wat", "--call-bytes", "echo", "--", "x"], 2);
    assert!(stderr(&out).contains("stdin"), "{}", stderr(&out));
    for argv in [
        &["run", "add.wat", "--invoke", "add(1, 2)", "-e", "add"][..],
        &[
            "run",
            "bytes.wat",
            "--call-bytes",
            "echo",
            "--invoke",
            "echo",
        ],
        &["run", "bytes.wat", "--call-bytes", "echo", "-e", "echo"],
    ] {
        let out = expect_code(argv, 2);
        assert!(stderr(&out).contains("cannot be used with"), "{argv:?}");
    }
}

/// `--call-bytes` on a guest, expecting success; returns the raw stdout.
fn call_bytes(module: &str, name: &str, input: &[u8]) -> Vec<u8> {
    let out = run_with_input(&["run", module, "--call-bytes", name, "-q"], input);
    assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
    assert_clean_stderr(&out);
    out.stdout
}

#[test]
fn call_bytes_pipes_stdin_through_the_rust_and_c_guests() {
    let binary: &[u8] = b"\x00\xffbin\x00ary\xfe\n\x80";
    for guest in ["bytes-rust.wasm", "bytes-c.wasm"] {
        let g = path_text(built_guest(guest));
        assert_eq!(call_bytes(&g, "upper", b"hello aegis"), b"HELLO AEGIS");
        assert_eq!(call_bytes(&g, "reverse", b"abc"), b"cba");
        assert_eq!(call_bytes(&g, "greet", b"world"), b"Hello, world!");
        assert_eq!(call_bytes(&g, "repeat", b"5"), b"aaaaa");
        assert_eq!(call_bytes(&g, "echo", binary), binary, "{guest}");
        assert_eq!(call_bytes(&g, "echo", b""), b"", "{guest}");
        let big = vec![b'z'; 200_000];
        assert_eq!(call_bytes(&g, "echo", &big), big, "{guest}");
    }
}

#[test]
fn call_bytes_output_in_json_is_text_and_base64() {
    let g = path_text(built_guest("bytes-rust.wasm"));
    let out = run_with_input(
        &["run", &g, "--call-bytes", "upper", "-f", "json-compact"],
        b"hello aegis",
    );
    assert_eq!(code(&out), 0);
    let doc = json(&out);
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["function"], "upper");
    assert_eq!(doc["output"], "HELLO AEGIS");
    assert_eq!(doc["output_base64"], "SEVMTE8gQUVHSVM=");
    // Output that is not UTF-8: `output` is null, base64 has the bytes.
    let out = run_with_input(
        &["run", &g, "--call-bytes", "echo", "-f", "json-compact"],
        b"\x00\xff\xfe",
    );
    let doc = json(&out);
    assert_eq!(doc["output"], json!(null), "{doc}");
    assert_eq!(doc["output_base64"], "AP/+");
}

#[test]
fn call_bytes_output_over_the_result_limit_fails() {
    let g = path_text(built_guest("bytes-rust.wasm"));
    let out = run_with_input(
        &["run", &g, "--call-bytes", "repeat", "--result-limit", "100"],
        b"1000",
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert_eq!(out.stdout, b"", "no partial output");
    assert!(stderr(&out).contains("error[result_too_large]"));
    let out = run_with_input(
        &[
            "run",
            &g,
            "--call-bytes",
            "upper",
            "--result-limit",
            "4",
            "-f",
            "json",
        ],
        b"hello aegis",
    );
    let doc = json(&out);
    assert_eq!(doc["error"]["code"], "result_too_large", "{doc}");
    assert_eq!(doc["error"]["size"], 11);
    assert_eq!(doc["error"]["limit"], 4);
    assert_eq!(doc["error"]["exit_code"], 4);
    // Only the output is capped: a large input with a small output is fine.
    let input = vec![b'x'; 100_000];
    let out = run_with_input(
        &[
            "run",
            "bytes.wat",
            "--call-bytes",
            "head",
            "--result-limit",
            "16",
        ],
        &input,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(out.stdout, b"xxxxxxxx");
}

#[test]
fn call_bytes_errors_have_their_exit_codes() {
    // No such export; an export that does not follow the convention.
    let out = run_with_input(&["run", "bytes.wat", "--call-bytes", "nope"], b"x");
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("error[export_not_found]"));
    let out = run_with_input(&["run", "add.wat", "--call-bytes", "add"], b"x");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // A guest returning an output outside its memory: exit 1.
    let corpus = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/hostile/corpus/bytes_out_oob.wat"
    );
    let out = run_with_input(&["run", corpus, "--call-bytes", "run", "-f", "json"], b"x");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["error"]["code"], "memory_out_of_bounds", "{doc}");
    assert_eq!(doc["error"]["exit_code"], 1);
    for key in ["offset", "len", "size"] {
        assert!(doc["error"][key].is_u64(), "{key}: {doc}");
    }
}

#[test]
fn inspect_shows_wit_signatures_of_exports() {
    let values = values();
    let text = stdout(&expect_code(&["inspect", &values, "--exports"], 0));
    for line in [
        "  greet [function]: func(name: string) -> string\n",
        "  echo-record [function]: func(v: record { x: s32, y: s32, label: string }) -> record { x: s32, y: s32, label: string }\n",
        "  echo-flags [function]: func(v: flags { read, write, exec }) -> flags { read, write, exec }\n",
        "  divide [function]: func(a: s32, b: s32) -> result<s32, string>\n",
        "  nothing [function]: func()\n",
        "  aegis:test/text#upper [function]: func(s: string) -> string\n",
        "  aegis:test/text#count [function]: func(s: string) -> u32\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    let doc = json(&expect_code(&["inspect", &values, "-f", "json"], 0));
    assert_eq!(doc["component"], true);
    let exports = doc["exports"].as_array().unwrap();
    let count = exports
        .iter()
        .find(|e| e["name"] == "aegis:test/text#count")
        .expect("the interface's function is listed as interface#func");
    assert_eq!(
        count,
        &json!({
            "name": "aegis:test/text#count",
            "kind": "function",
            "type": "func(s: string) -> u32",
            "params": [{"name": "s", "type": "string"}],
            "results": ["u32"]
        })
    );
    let nothing = exports.iter().find(|e| e["name"] == "nothing").unwrap();
    assert_eq!(nothing["params"], json!([]));
    assert_eq!(nothing["results"], json!([]));
}

#[test]
fn inspect_shows_wit_imports_with_the_names_host_functions_take() {
    let plugin = path_text(built_guest("plugin.wasm"));
    let text = stdout(&expect_code(&["inspect", &plugin, "--imports"], 0));
    for line in [
        "  aegis:test/host#transform [function]: func(s: string) -> string\n",
        "  aegis:test/host#add [function]: func(a: s64, b: s64) -> s64\n",
        "  aegis:test/host#maybe [function]: func(v: option<u32>) -> result<u32, string>\n",
        "  log [function]: func(msg: string)\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    let doc = json(&expect_code(
        &["inspect", &plugin, "--imports", "-f", "json"],
        0,
    ));
    let imports = doc["imports"].as_array().unwrap();
    let transform = imports
        .iter()
        .find(|i| i["qualified_name"] == "aegis:test/host#transform")
        .expect("the interface import is listed");
    assert_eq!(
        transform,
        &json!({
            "module": "aegis:test/host",
            "name": "transform",
            "qualified_name": "aegis:test/host#transform",
            "kind": "function",
            "type": "func(s: string) -> string",
            "params": [{"name": "s", "type": "string"}],
            "results": ["string"]
        })
    );
    let log = imports.iter().find(|i| i["name"] == "log").unwrap();
    assert_eq!(log["module"], "");
    assert_eq!(log["qualified_name"], "log");
    // With a policy: nothing in Aegis provides the plugin's host interface.
    let out = expect_code(
        &["inspect", &plugin, "--imports", "--policy", "clock.toml"],
        0,
    );
    let text = stdout(&out);
    let verdict = text
        .lines()
        .find(|l| l.ends_with("  aegis:test/host#transform"))
        .unwrap_or_else(|| panic!("no verdict line for the import:\n{text}"));
    assert!(verdict.contains("unsatisfied"), "{verdict}");
}

#[test]
fn the_fixtures_of_the_readme_work() {
    assert_eq!(invoke("component.wat", r#"upper("hello")"#), "\"HELLO\"\n");
    assert_eq!(
        invoke("component.wat", r#"aegis:demo/text#byte-len("héllo")"#),
        "6\n"
    );
    assert_eq!(
        invoke("component.wat", "divide(7, 0)"),
        "err(\"division by zero\")\n"
    );
    assert_eq!(
        call_bytes("bytes.wat", "upper", b"abc\x00\xff"),
        b"ABC\x00\xff"
    );
    let out = run_with_input(
        &[
            "run",
            "bytes.wat",
            "--call-bytes",
            "big",
            "--result-limit",
            "1KiB",
        ],
        b"",
    );
    assert_eq!(code(&out), 4);
}
