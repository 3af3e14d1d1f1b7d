//! What people read: `-q` prints results bare, a trap's backtrace is headed
//! once, a file that is no module says so, a module without an entry point
//! points at `-e`, durations are rounded, and how far fuel can overrun.

mod common;

use std::io::Write;

use common::*;

/// A temporary module file with these bytes (kept until dropped).
fn file(suffix: &str, bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
    file.write_all(bytes).unwrap();
    file
}

fn path(file: &tempfile::NamedTempFile) -> &str {
    file.path().to_str().unwrap()
}

#[test]
fn quiet_prints_each_result_bare_on_every_path() {
    let cases: [(&[&str], &str); 7] = [
        (
            &["run", "add.wat", "-e", "add", "-q", "--", "7", "8"],
            "15\n",
        ),
        (
            &["run", "types.wat", "-e", "divmod", "-q", "--", "17", "5"],
            "3\n2\n",
        ),
        (
            &["run", "types.wat", "-e", "half64", "-q", "--", "-5"],
            "-2.5\n",
        ),
        // The default entry (`main` here, with a result).
        (&["run", "main.wat", "-q"], "42\n"),
        // A WASI command's `_start`: only what the guest writes.
        (
            &["run", "hello.wat", "--allow-logging", "-q"],
            "hello from wasm\n",
        ),
        (&["run", "add.wat", "--invoke", "add(7, 8)", "-q"], "15\n"),
        (
            &["run", "component.wat", "--invoke", "upper(\"hi\")", "-q"],
            "\"HI\"\n",
        ),
    ];
    for (args, expected) in cases {
        let out = expect_code(args, 0);
        assert_eq!(stdout(&out), expected, "{args:?}");
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    let out = run_with_input(&["run", "bytes.wat", "--call-bytes", "upper", "-q"], b"abc");
    assert_eq!((code(&out), stdout(&out).as_str()), (0, "ABC"));
    // Without -q the label stays.
    let out = expect_code(&["run", "add.wat", "-e", "add", "--", "7", "8"], 0);
    assert_eq!(stdout(&out), "Result: 15\n");
}

#[test]
fn help_says_what_quiet_means() {
    for args in [&["--help"][..], &["run", "--help"]] {
        let help = stdout(&expect_code(args, 0));
        let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains("(no `Result:` label"), "{help}");
    }
}

const TRAP_MESSAGE: &str = "aegis: error[trap]: trap: wasm `unreachable` instruction executed\n";

#[test]
fn a_trap_is_reported_once_with_one_backtrace_heading() {
    let out = expect_code(&["run", "hostile.wat", "-e", "crash"], 1);
    assert_eq!(stderr(&out), TRAP_MESSAGE);
    let out = expect_code(&["run", "hostile.wat", "-e", "crash", "-v"], 1);
    let err = stderr(&out);
    let tail = err.split_once(TRAP_MESSAGE).expect("the error line").1;
    let mut lines = tail.lines();
    assert_eq!(lines.next(), Some("aegis: wasm backtrace:"), "{err}");
    let frame = lines.next().unwrap_or_default();
    assert!(frame.trim_start().starts_with("0:"), "{err}");
    assert_eq!(err.matches("backtrace").count(), 1, "{err}");
    assert!(!err.contains("error while executing"), "{err}");
    // JSON: the message once, the backtrace detail is the frames alone.
    let out = expect_code(&["run", "hostile.wat", "-e", "crash", "-f", "json"], 1);
    let error = &json(&out)["error"];
    assert_eq!(
        error["message"],
        "trap: wasm `unreachable` instruction executed"
    );
    let backtrace = error["backtrace"].as_str().unwrap();
    assert!(backtrace.trim_start().starts_with("0:"), "{backtrace}");
    assert!(!backtrace.contains("backtrace"), "{backtrace}");
}

#[test]
fn a_file_that_is_no_module_says_so_plainly() {
    let mut noise = Vec::new();
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..256 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.push((x >> 24) as u8 | 0x80);
    }
    let cases: [(&str, &[u8], &str); 5] = [
        (
            ".png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            "the input starts with bytes 89 50 4e 47 0d 0a 1a 0a … (a PNG image)",
        ),
        (
            ".wasm",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0",
            "the input starts with bytes 7f 45 4c 46 02 01 01 00 … (an ELF executable",
        ),
        (".wasm", &noise, "the input starts with bytes "),
        (".wasm", b"", "the input is empty"),
        (
            ".wat",
            b"Dear reader,\nthis is a letter.\n",
            "the input is text beginning with \"Dear reader,\"",
        ),
    ];
    for (suffix, bytes, expected) in cases {
        let module = file(suffix, bytes);
        for command in ["run", "validate", "inspect"] {
            let out = run(&[command, path(&module)]);
            assert_eq!(code(&out), 3, "{command} {expected}: {}", stderr(&out));
            let text = stdout(&out) + &stderr(&out);
            assert!(
                text.contains("not a WebAssembly module or WAT text: "),
                "{command}: {text}"
            );
            assert!(text.contains(expected), "{command}: {text}");
            assert!(!text.contains("-->") && !text.contains(" ^"), "{text}");
        }
        let out = expect_code(&["run", path(&module), "-f", "json"], 3);
        assert_eq!(json(&out)["error"]["code"], "invalid_module");
    }
}

#[test]
fn a_wat_syntax_error_keeps_its_caret() {
    let module = file(".wat", b";; almost right\n(module (fnc))\n");
    let out = expect_code(&["run", path(&module)], 3);
    let err = stderr(&out);
    assert!(err.contains("-->") && err.contains('^'), "{err}");
    assert!(!err.contains("not a WebAssembly module"), "{err}");
}

#[test]
fn a_module_without_an_entry_point_hints_at_dash_e() {
    let out = expect_code(&["run", "add.wat"], 2);
    assert_eq!(
        stderr(&out),
        "aegis: error[export_not_found]: export `_start or main` not found \
         (exported functions: add)\n\
         aegis: hint: `add.wat` is not a WASI command (it exports neither `_start` nor \
         `main`): name the function to call with -e NAME, e.g. `aegis run add.wat -e add -- ARGS`\n"
    );
    // The hint belongs to the error: -q keeps it; JSON carries it.
    let out = expect_code(&["run", "add.wat", "-q"], 2);
    assert!(stderr(&out).contains("aegis: hint:"), "{}", stderr(&out));
    let out = expect_code(&["run", "add.wat", "-f", "json"], 2);
    let hint = json(&out)["error"]["hint"].as_str().unwrap().to_string();
    assert!(hint.contains("-e add"), "{hint}");
    // Many functions: a bounded list (JSON's `available` keeps them all).
    let funcs: String = (0..1000)
        .map(|i| format!("(func (export \"function_{i}\"))"))
        .collect();
    let many = file(".wat", format!("(module {funcs})").as_bytes());
    let out = expect_code(&["run", path(&many), "-f", "json"], 2);
    let doc = json(&out);
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.ends_with(" more)") && message.len() < 1200,
        "{message}"
    );
    assert_eq!(doc["error"]["available"].as_array().unwrap().len(), 1000);
    assert!(
        doc["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("-e function_0`")
    );
    // A component without wasi:cli/run: its functions, and --invoke.
    let out = expect_code(&["run", "component.wat"], 2);
    let err = stderr(&out);
    assert!(err.contains("(exported functions: "), "{err}");
    assert!(err.contains("upper"), "{err}");
    assert!(
        err.contains("aegis: hint: ") && err.contains("--invoke '"),
        "{err}"
    );
    // No functions at all: nothing to run.
    let empty = file(".wat", b"(module (memory (export \"memory\") 1))");
    let out = expect_code(&["run", path(&empty)], 2);
    assert!(
        stderr(&out).contains("exports no functions"),
        "{}",
        stderr(&out)
    );
}

/// `1.23 ms`, `25 µs`, `2.5 s`: at most three significant digits and a unit.
fn assert_rounded(text: &str, whole: &str) {
    let (number, unit) = text
        .split_once(' ')
        .unwrap_or_else(|| panic!("`{text}` in `{whole}`"));
    assert!(
        ["ns", "µs", "ms", "s"].contains(&unit),
        "`{text}` in `{whole}`"
    );
    let digits = number.chars().filter(char::is_ascii_digit).count();
    assert!(number.parse::<f64>().is_ok(), "`{text}` in `{whole}`");
    assert!(digits <= 3, "`{text}` in `{whole}`");
}

#[test]
fn durations_are_printed_rounded() {
    let out = expect_code(
        &[
            "run",
            "add.wat",
            "-e",
            "add",
            "--metrics",
            "-v",
            "--",
            "1",
            "2",
        ],
        0,
    );
    let err = stderr(&out);
    let wall = err.lines().find_map(|l| l.trim().strip_prefix("wall_time"));
    assert_rounded(wall.expect("a wall_time row").trim(), &err);
    for (start, end) in [
        ("aegis: compiled `add.wat` in ", ""),
        ("aegis: called `add` in ", ","),
    ] {
        let line = err.lines().find(|l| l.starts_with(start)).expect(start);
        let rest = &line[start.len()..];
        let shown = match end {
            "" => rest,
            _ => rest.split(end).next().unwrap(),
        };
        assert_rounded(shown, &err);
    }
    assert!(err.contains("timeout 30 s per call"), "{err}");
    // A timeout's message; JSON keeps exact numbers.
    const SPIN: [&str; 7] = [
        "run",
        "hostile.wat",
        "-e",
        "spin",
        "--no-fuel-limit",
        "--timeout",
        "0.2",
    ];
    let err = stderr(&expect_code(&SPIN, 4));
    let message = err
        .trim_end()
        .strip_prefix("aegis: error[timeout]: timeout: ran for ");
    let (elapsed, limit) = message.and_then(|m| m.split_once(", limit ")).expect(&err);
    assert_rounded(elapsed, &err);
    assert_eq!(limit, "200 ms");
    let out = expect_code(&[&SPIN[..], &["-f", "json"]].concat(), 4);
    let doc = json(&out);
    assert!(doc["error"]["elapsed"].as_f64().unwrap() >= 0.2);
    assert!(doc["metrics"]["wall_time"].is_f64());
}

/// 10 000 additions in one function body: 20 001 instructions, no loop and
/// no call, so nothing checks the fuel between its entry and its end.
fn straight_line(additions: usize, calls: usize) -> String {
    let body = "i32.const 1 i32.add\n".repeat(additions);
    let call = "call $g i32.add\n".repeat(calls);
    format!(
        "(module\n (func $g (result i32) i32.const 0\n{body})\n \
         (func (export \"f\") (result i32) i32.const 0\n{call}))"
    )
}

/// How far fuel overruns its limit: wasmtime checks fuel at function entries
/// and loop headers only, so a loop-free stretch of code runs to its end.
/// README (section cli) states what this test measures.
#[test]
fn fuel_overruns_by_at_most_one_loop_free_stretch() {
    // One call of the 20 001-instruction body under a limit of 100 units:
    // it runs to completion, and the reported consumption stops at the limit.
    let once = file(".wat", straight_line(10_000, 1).as_bytes());
    let doc = run_f(&once, &["--fuel-limit", "100"], 0);
    assert_eq!(doc["results"][0]["value"], 10_000, "the whole body ran");
    let reported = &doc["metrics"]["fuel_consumed"];
    assert_eq!(reported, 100, "reported: capped at the limit");
    // Unlimited, the same call costs 20 000 units or more: the overrun.
    let cost = run_f(&once, &[], 0)["metrics"]["fuel_consumed"].as_u64();
    assert!((20_000..20_100).contains(&cost.unwrap()), "{cost:?}");
    // The next check (the second call's entry) stops it: `consumed` in the
    // error is the limit, not what ran.
    let twice = file(".wat", straight_line(10_000, 2).as_bytes());
    let error = &run_f(&twice, &["--fuel-limit", "100"], 4)["error"];
    assert_eq!(error["code"], "out_of_fuel");
    let numbers = (error["consumed"].as_u64(), error["limit"].as_u64());
    assert_eq!(numbers, (Some(100), Some(100)));
}

/// Runs the module's `f` with `extra` options in JSON, expecting `code`.
fn run_f(module: &tempfile::NamedTempFile, extra: &[&str], code: i32) -> serde_json::Value {
    let mut args = vec!["run", path(module), "-e", "f", "-f", "json"];
    args.extend(extra);
    json(&expect_code(&args, code))
}
