//! Helpers shared by the CLI tests: the real `aegis` binary, fixtures, guests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use assert_cmd::Command;

/// The fixtures directory (`tests/fixtures`), also the README examples' working directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The path of one fixture.
pub fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

/// The built `aegis` binary, run from the fixtures directory.
pub fn aegis() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aegis"));
    cmd.current_dir(fixtures()).env_remove("RUST_BACKTRACE");
    cmd
}

/// Runs `aegis` with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    aegis().args(args).output().expect("the aegis binary runs")
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The exit code (a signal counts as a failure of the test).
pub fn code(out: &Output) -> i32 {
    out.status
        .code()
        .expect("aegis exited normally, not by a signal")
}

/// Asserts a user mistake produced a clean message: no panic, no Rust backtrace.
pub fn assert_clean_stderr(out: &Output) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "panic on stderr: {err}");
    assert!(
        !err.contains("RUST_BACKTRACE"),
        "backtrace hint on stderr: {err}"
    );
    assert!(
        !err.contains("stack backtrace"),
        "backtrace on stderr: {err}"
    );
}

/// Asserts the exit code and a clean stderr, returning the output for more checks.
pub fn expect_code(args: &[&str], expected: i32) -> Output {
    let out = run(args);
    assert_eq!(
        code(&out),
        expected,
        "aegis {args:?}\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert_clean_stderr(&out);
    out
}

/// Parses stdout as one JSON document.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(out)))
}

/// A guest built by `scripts/build-guests.sh` into target/guests/out/
/// (values.wasm, plugin.wasm, bytes-rust.wasm, bytes-c.wasm, ...).
pub fn built_guest(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/out")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `bash scripts/build-guests.sh`",
        path.display()
    );
    path
}

/// Runs `aegis` with `input` on its stdin and returns its output.
pub fn run_with_input(args: &[&str], input: &[u8]) -> Output {
    aegis()
        .args(args)
        .write_stdin(input.to_vec())
        .output()
        .expect("the aegis binary runs")
}

/// `tests/guests/wasi_tool.rs` compiled for wasm32-wasip1 (a core module),
/// once per test binary. Needs `rustup target add wasm32-wasip1`.
pub fn wasi_tool() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| compile_guest("wasi_tool", "wasm32-wasip1"))
        .clone()
}

/// The same guest compiled for wasm32-wasip2 (a WASI 0.2 component).
pub fn wasi_tool_component() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| compile_guest("wasi_tool", "wasm32-wasip2"))
        .clone()
}

/// `tests/guests/net_client.rs` compiled for wasm32-wasip2 (uses wasi:sockets).
pub fn net_client_component() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| compile_guest("net_client", "wasm32-wasip2"))
        .clone()
}

/// `tests/guests/stdin_echo.rs` compiled for wasm32-wasip2 (reads all of stdin).
pub fn stdin_echo_component() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| compile_guest("stdin_echo", "wasm32-wasip2"))
        .clone()
}

/// Compiles `tests/guests/<name>.rs` with rustc for `target`.
fn compile_guest(name: &str, target: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/guests")
        .join(format!("{name}.rs"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(target);
    std::fs::create_dir_all(&dir).expect("the guest output directory can be created");
    let wasm = dir.join(format!("{name}.wasm"));
    let status =
        std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .args(["--target", target, "--edition", "2021", "-O"])
            .args(["-C", "debuginfo=0", "-C", "strip=symbols", "-o"])
            .arg(&wasm)
            .arg(&source)
            .status()
            .expect("rustc runs");
    assert!(
        status.success(),
        "compiling {} failed; run `rustup target add {target}`",
        source.display()
    );
    wasm
}

/// The long flags `aegis run --help` defines, aliases included (without
/// `--help` and `--version`): the first `--name` of each option line, and
/// every `--name` of an `[alias: ...]` / `[aliases: ...]` note.
pub fn run_help_flags() -> std::collections::BTreeSet<String> {
    let out = run(&["run", "--help"]);
    let help = stdout(&out);
    let mut flags = std::collections::BTreeSet::new();
    for line in help.lines() {
        let text = line.trim_start();
        let indent = line.len() - text.len();
        let defines = indent <= 6 && text.starts_with('-');
        let aliases = text.starts_with("[alias: ") || text.starts_with("[aliases: ");
        if !(defines || aliases) {
            continue;
        }
        let words = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
        let mut names = words.filter(|w| w.starts_with("--") && w.len() > 2);
        match defines {
            true => flags.extend(names.next().map(String::from)),
            false => flags.extend(names.map(String::from)),
        }
    }
    flags.remove("--help");
    flags.remove("--version");
    flags
}
