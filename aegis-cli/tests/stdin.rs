//! The guest's stdin: empty by default, this process's stdin with `--stdin`,
//! a regular file with `--stdin-file`; a guest waiting on an inherited stdin
//! still ends at `--timeout`. Guests: `cat.wat` (WASI 0.1 `fd_read` on fd 0)
//! and `tests/guests/stdin_echo.rs` (a WASI 0.2 component).

mod common;

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;

#[test]
fn piped_input_reaches_the_guest_with_stdin() {
    let out = run_with_input(
        &["run", "cat.wat", "--allow-logging", "--stdin"],
        b"piped\nin\n",
    );
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "piped\nin\n[eof]\n")
    );
    // `--stdin=inherit` is the same; JSON captures what the guest echoes.
    let out = run_with_input(
        &[
            "run",
            "cat.wat",
            "--stdin=inherit",
            "--capture-output",
            "-f",
            "json",
        ],
        b"abc",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["stdout"], "abc[eof]\n");
    // More than one read's worth (the guest reads 4 KiB at a time).
    let big: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let out = run_with_input(&["run", "cat.wat", "--allow-logging", "--stdin"], &big);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(&out.stdout[..big.len()], &big[..]);
}

#[test]
fn a_component_reads_piped_input_too() {
    let guest = stdin_echo_component();
    let guest = guest.to_str().unwrap();
    let out = run_with_input(&["run", guest, "--allow-logging", "--stdin"], b"hello p2");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello p2[eof after 8 bytes]\n");
    let out = run_with_input(&["run", guest, "--allow-logging"], b"not for the guest");
    assert_eq!(stdout(&out), "[eof after 0 bytes]\n");
}

#[test]
fn stdin_is_empty_by_default() {
    let out = run_with_input(&["run", "cat.wat", "--allow-logging"], b"not for the guest");
    assert_eq!((code(&out), stdout(&out).as_str()), (0, "[eof]\n"));
    let out = run_with_input(
        &["run", "cat.wat", "--allow-logging", "--stdin=empty"],
        b"not for the guest",
    );
    assert_eq!(stdout(&out), "[eof]\n");
    // Not even an open pipe that never delivers holds a guest without --stdin.
    let (child, _pipe) = spawn_with_open_stdin(&["run", "cat.wat", "--allow-logging"]);
    let (status, output) = finish(child, Instant::now());
    assert_eq!((status, output.as_str()), (Some(0), "[eof]\n"));
}

#[test]
fn stdin_file_gives_the_guest_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, "from a file\n").unwrap();
    let input = input.to_str().unwrap();
    let out = run_with_input(
        &["run", "cat.wat", "--allow-logging", "--stdin-file", input],
        b"not this",
    );
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, "from a file\n[eof]\n")
    );
    // Not a regular file: refused before anything runs.
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = expect_code(
        &[
            "run",
            "cat.wat",
            "--stdin-file",
            fifo.to_str().unwrap(),
            "-f",
            "json",
        ],
        2,
    );
    assert_eq!(json(&out)["error"]["code"], "invalid_argument");
    let out = expect_code(&["run", "cat.wat", "--stdin-file", "/no/such/file"], 2);
    assert!(stderr(&out).contains("error[io]"), "{}", stderr(&out));
    // One source only.
    let out = expect_code(&["run", "cat.wat", "--stdin", "--stdin-file", input], 2);
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
    let out = expect_code(&["run", "cat.wat", "--stdin=yes"], 2);
    assert!(
        stderr(&out).contains("`yes` is not `inherit` or `empty`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_policy_file_gives_stdin_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "stdin = { text = \"from the policy\" }\n").unwrap();
    let policy = policy.to_str().unwrap();
    for (flag, input, expected) in [
        (None, "not this", "from the policy[eof]\n"),
        (Some("--stdin"), "the flag", "the flag[eof]\n"),
        (Some("--stdin=empty"), "not this", "[eof]\n"),
    ] {
        let mut args = vec!["run", "cat.wat", "--allow-logging", "--policy", policy];
        args.extend(flag);
        let out = run_with_input(&args, input.as_bytes());
        assert_eq!(stdout(&out), expected, "{flag:?}");
    }
}

#[test]
fn call_bytes_keeps_stdin_for_itself() {
    let out = expect_code(&["run", "bytes.wat", "--call-bytes", "upper", "--stdin"], 2);
    let err = stderr(&out);
    assert!(
        err.contains("--call-bytes upper reads its input from stdin"),
        "{err}"
    );
    // The same from a policy file: invalid_argument, nothing runs.
    let upper = |extra: &[&str]| {
        let args = [&["run", "bytes.wat", "--call-bytes", "upper"][..], extra].concat();
        run_with_input(&args, b"abc")
    };
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "stdin = \"inherit\"\n").unwrap();
    let out = upper(&["--policy", policy.to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("error[invalid_argument]"), "{err}");
    assert_eq!(stdout(&out), "");
    // A file for the guest's WASI stdin is fine alongside --call-bytes.
    let input = dir.path().join("input.txt");
    std::fs::write(&input, "x").unwrap();
    let out = upper(&["--stdin-file", input.to_str().unwrap()]);
    assert_eq!((code(&out), stdout(&out).as_str()), (0, "ABC"));
}

/// Starts `aegis` with a stdin pipe that stays open and never gets data.
/// The returned pipe end must be kept until the process is done.
fn spawn_with_open_stdin(args: &[&str]) -> (Child, std::process::ChildStdin) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_aegis"))
        .current_dir(fixtures())
        .env_remove("RUST_BACKTRACE")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = child.stdin.take().unwrap();
    (child, pipe)
}

/// Waits (at most 10 s) for `child`; its exit code and stdout.
fn finish(mut child: Child, since: Instant) -> (Option<i32>, String) {
    while since.elapsed() < Duration::from_secs(10) {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return (out.status.code(), stdout(&out));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    panic!("aegis did not exit within 10 s");
}

#[test]
fn a_guest_waiting_on_an_inherited_stdin_ends_at_the_timeout() {
    let component = stdin_echo_component();
    for guest in ["cat.wat", component.to_str().unwrap()] {
        let started = Instant::now();
        let (child, mut pipe) = spawn_with_open_stdin(&[
            "run",
            guest,
            "--stdin",
            "--timeout",
            "0.5",
            "-f",
            "json-compact",
        ]);
        // Some input, then nothing: the guest waits for more.
        pipe.write_all(b"partial").unwrap();
        pipe.flush().unwrap();
        let (status, output) = finish(child, started);
        let took = started.elapsed();
        assert_eq!(status, Some(4), "{guest}: {output}");
        let doc: serde_json::Value = serde_json::from_str(&output).unwrap();
        assert_eq!(doc["error"]["code"], "timeout", "{guest}");
        assert!(took < Duration::from_secs(5), "{guest}: {took:?}");
        drop(pipe);
    }
}
