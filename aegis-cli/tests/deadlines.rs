//! `aegis run` ends on time and on request: Ctrl-C and SIGTERM stop the guest
//! cleanly, and a stalled reader of the host's stdout cannot hold a run past
//! its timeout.

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const SPIN: &str = r#"(module (func (export "spin") (loop $l (br $l))))"#;

/// Writes 64 KiB to stdout forever.
const FLOOD: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 65536))
    (loop $again
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br $again))))"#;

fn module(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".wat").tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

/// The `aegis` binary as a plain process (stdio under the test's control).
fn aegis() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_aegis"));
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

/// Waits for `child` to exit (at most 10 s) and returns its code and how long it took from `since`.
fn wait(mut child: Child, since: Instant) -> (Option<i32>, Duration) {
    while since.elapsed() < Duration::from_secs(10) {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), since.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    panic!("aegis did not exit within 10 s");
}

fn stopped_by(signal: &str, expected: i32) {
    let wat = module(SPIN);
    let child = aegis()
        .args(["run", wat.path().to_str().unwrap(), "-e", "spin"])
        .args(["--no-fuel-limit", "--timeout", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let sent = Instant::now();
    let kill = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let (code, elapsed) = wait(child, sent);
    assert_eq!(code, Some(expected), "{signal}");
    assert!(
        elapsed < Duration::from_millis(1000),
        "{signal}: {elapsed:?}"
    );
}

#[test]
fn ctrl_c_interrupts_the_guest_and_exits_130() {
    stopped_by("-INT", 130);
}

#[test]
fn sigterm_interrupts_the_guest_and_exits_143() {
    stopped_by("-TERM", 143);
}

#[test]
fn a_stalled_stdout_reader_cannot_hold_the_run_past_its_timeout() {
    let wat = module(FLOOD);
    let start = Instant::now();
    let child = aegis()
        .args(["run", wat.path().to_str().unwrap(), "--allow-logging"])
        .args(["--timeout", "1"])
        .stdout(Stdio::piped()) // never read: the pipe fills after 64 KiB
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (code, elapsed) = wait(child, start);
    assert_eq!(code, Some(4), "timeout is a limit (exit 4)");
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
}

#[test]
fn module_paths_that_are_not_regular_files_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("module.wasm");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for path in ["/dev/zero", fifo.to_str().unwrap()] {
        for command in ["run", "validate", "inspect"] {
            let start = Instant::now();
            let child = aegis()
                .args([command, path])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let (code, elapsed) = wait(child, start);
            assert_eq!(code, Some(2), "aegis {command} {path}");
            assert!(elapsed < Duration::from_secs(2), "aegis {command} {path}");
        }
    }
}
