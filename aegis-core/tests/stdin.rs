//! The guest's stdin as a capability: empty by default, or bytes, text, a
//! regular file, or the host's stdin. Real WASI guests (`probe cat` copies
//! stdin to stdout, as a preview-1 module and as a WASI 0.2 component).

mod common;

use aegis_core::{Aegis, ErrorCode, Policy, Sandbox, SandboxBuilder, Stdin};

/// Both builds of the probe guest.
const PROBES: [&str; 2] = ["probe-p1.wasm", "probe-p2.wasm"];

/// A sandbox running `probe cat` under `configure`.
fn cat(guest: &str, configure: impl FnOnce(SandboxBuilder) -> SandboxBuilder) -> Sandbox {
    let builder = common::runtime()
        .sandbox()
        .capture_output(8 << 20)
        .with_args(["probe", "cat"]);
    let mut sandbox = configure(builder).build().expect("sandbox builds");
    sandbox.load_module(&common::module(guest)).unwrap();
    sandbox.run().expect("cat runs");
    sandbox
}

/// Every byte value, several times over.
fn binary() -> Vec<u8> {
    (0..=255u8).cycle().take(70_000).collect()
}

#[test]
fn stdin_is_empty_by_default() {
    for guest in PROBES {
        let sandbox = cat(guest, |b| b);
        assert!(sandbox.stdout().is_empty(), "{guest}");
    }
}

#[test]
fn bytes_arrive_exactly_then_end_of_file() {
    let data = binary();
    for guest in PROBES {
        let sandbox = cat(guest, |b| b.with_stdin(Stdin::bytes(data.clone())));
        assert_eq!(sandbox.stdout(), data, "{guest}");
    }
}

#[test]
fn a_runtime_stdin_is_read_from_the_start_by_every_sandbox() {
    let runtime = Aegis::builder()
        .with_stdin(Stdin::bytes(&b"shared input"[..]))
        .build()
        .unwrap();
    let module = runtime.load_file(common::guest("probe-p1.wasm")).unwrap();
    for _ in 0..2 {
        let mut sandbox = runtime
            .sandbox()
            .capture_output(1024)
            .with_args(["probe", "cat"])
            .build()
            .unwrap();
        sandbox.load_module(&module).unwrap();
        sandbox.run().unwrap();
        assert_eq!(sandbox.stdout(), b"shared input");
    }
}

#[test]
fn a_regular_file_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.bin");
    std::fs::write(&path, binary()).unwrap();
    for guest in PROBES {
        let sandbox = cat(guest, |b| b.with_stdin(Stdin::file(&path)));
        assert_eq!(sandbox.stdout(), binary(), "{guest}");
    }
}

/// Builds a sandbox with `stdin` and returns the error.
fn refused(stdin: Stdin) -> aegis_core::Error {
    common::runtime()
        .sandbox()
        .with_stdin(stdin)
        .build()
        .expect_err("the sandbox is refused")
}

#[test]
fn a_fifo_is_refused_at_build_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string naming a path in a private directory.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Opening a FIFO for reading would block until a writer came: `build`
    // must return at once instead.
    let err = refused(Stdin::file(&fifo));
    assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
    assert!(err.to_string().contains("FIFO"), "{err}");
}

#[test]
fn files_that_are_not_regular_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (path, what) in [
        (std::path::PathBuf::from("/dev/zero"), "device"),
        (dir.path().to_path_buf(), "directory"),
    ] {
        let err = refused(Stdin::file(&path));
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
        assert!(err.to_string().contains(what), "{err}");
    }
    let err = refused(Stdin::file(dir.path().join("missing")));
    assert_eq!(err.code(), ErrorCode::Io, "{err}");
}

#[test]
fn reading_stdin_costs_fuel_per_byte() {
    let small = cat("probe-p1.wasm", |b| {
        b.with_stdin(Stdin::bytes(vec![1u8; 16]))
    });
    let large = cat("probe-p1.wasm", |b| {
        b.with_stdin(Stdin::bytes(vec![1u8; 4 << 20]))
    });
    let extra = large.last_call_metrics().fuel_consumed - small.last_call_metrics().fuel_consumed;
    // One unit per byte read, and one per byte written back out.
    assert!(extra >= 2 * (4 << 20) - 32, "extra fuel {extra}");
}

#[test]
fn a_guest_cannot_read_past_its_fuel() {
    // 64 MiB of input but fuel for far less: the copy stops with
    // out_of_fuel instead of running on.
    let mut sandbox = common::runtime()
        .sandbox()
        .with_fuel_limit(2_000_000)
        .capture_output(64 << 20)
        .with_args(["probe", "cat"])
        .with_stdin(Stdin::bytes(vec![0u8; 64 << 20]))
        .build()
        .unwrap();
    sandbox
        .load_module(&common::module("probe-p1.wasm"))
        .unwrap();
    let err = sandbox.run().unwrap_err();
    assert_eq!(err.code(), ErrorCode::OutOfFuel, "{err}");
    assert!(sandbox.stdout().len() < 2_000_000);
}

#[test]
fn the_policy_option_takes_text_a_file_empty_and_inherit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, "from a file").unwrap();
    for (value, expected) in [
        (serde_json::json!({"text": "from text"}), &b"from text"[..]),
        (serde_json::json!({"file": path}), b"from a file"),
        (serde_json::json!("empty"), b""),
    ] {
        let policy = Policy::from_value(serde_json::json!({ "stdin": value })).unwrap();
        let sandbox = cat("probe-p1.wasm", |b| policy.apply_to_sandbox(b).unwrap());
        assert_eq!(sandbox.stdout(), expected, "{value}");
    }
    let inherit = Policy::from_toml("stdin = \"inherit\"").unwrap();
    assert_eq!(inherit.stdin, Some(aegis_core::StdinPolicy::Inherit));
    assert!(inherit.to_json().contains("\"inherit\""));
    for bad in [
        serde_json::json!("stdin"),
        serde_json::json!({"path": "x"}),
        serde_json::json!({"file": 1}),
        serde_json::json!({"file": "a", "text": "b"}),
        serde_json::json!(true),
    ] {
        let err = Policy::from_value(serde_json::json!({ "stdin": bad })).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument);
        assert!(err.to_string().contains("\"inherit\""), "{err}");
    }
}
