//! Logging, clock, args/env, random and network grants, tried by real guests.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use aegis_core::{ErrorCode, Logging, NetworkCapability};
use common::{run_command, runtime};

#[test]
fn stdout_with_logging_denied_is_discarded_and_recorded() {
    let o = run_command("probe-p1.wasm", &["print", "1000"], |b| {
        b.with_logging(Logging::Denied)
    });
    assert!(o.result.is_ok(), "{o:?}");
    assert!(o.stdout.is_empty() && o.stderr.is_empty());
    assert!(o.metrics.denied_count >= 1);
    let d = &o.metrics.denied[0];
    assert_eq!(
        (d.capability.as_str(), d.operation.as_str()),
        ("logging", "write")
    );
    assert!(d.target.starts_with("stdout"), "{d:?}");
}

#[test]
fn stdout_and_stderr_are_captured_when_granted() {
    let o = run_command("probe-p2.wasm", &["stderr", "to the log"], |b| b);
    assert_eq!(o.stderr, "to the log\n");
    assert_eq!(o.stdout, "ok: written to stderr\n");
    let o = run_command("probe-p1.wasm", &["print", "5"], |b| b);
    assert_eq!(o.stdout, "xxxxx");
    assert_eq!(o.metrics.denied_count, 0);
}

#[test]
fn a_guest_printing_many_megabytes_costs_at_most_the_capture_limit() {
    let module = common::module("probe-p1.wasm");
    let mut sandbox = runtime()
        .sandbox()
        .capture_output(64 * 1024)
        .with_args(["probe", "print", "20000000"])
        .build()
        .unwrap();
    sandbox.load_module(&module).unwrap();
    sandbox.run().unwrap();
    assert_eq!(sandbox.stdout().len(), 64 * 1024);
    assert_eq!(sandbox.output_dropped(), (20_000_000 - 64 * 1024, 0));
    sandbox.clear_output();
    assert!(sandbox.stdout().is_empty());
}

#[test]
fn clock_denied_reads_zero_and_is_recorded_granted_reads_real_time() {
    let denied = run_command("probe-p1.wasm", &["clock"], |b| b);
    assert_eq!(denied.ok_line(), "ok: wall=0 elapsed_ns=0", "{denied:?}");
    assert!(
        denied
            .metrics
            .denied
            .iter()
            .any(|d| d.capability == "clock")
    );
    let granted = run_command("probe-p1.wasm", &["clock"], |b| b.allow_clock());
    let line = granted.ok_line();
    let wall: u64 = line["ok: wall=".len()
        ..line
            .find(' ')
            .unwrap_or(0)
            .max(line.find(" elapsed").unwrap())]
        .parse()
        .unwrap();
    assert!(wall > 1_700_000_000, "{line}");
    assert!(!line.ends_with("elapsed_ns=0"), "{line}");
    assert_eq!(granted.metrics.denied_count, 0);
    // Components see the same clocks.
    let p2 = run_command("probe-p2.wasm", &["clock"], |b| b);
    assert_eq!(p2.ok_line(), "ok: wall=0 elapsed_ns=0");
}

#[test]
fn environment_is_explicit_never_inherited() {
    assert!(
        std::env::var_os("PATH").is_some(),
        "the host has a PATH to leak"
    );
    let o = run_command("probe-p1.wasm", &["env", "a", "b"], |b| b);
    assert_eq!(o.ok_line(), "ok: args=a b env=");
    let o = run_command("probe-p2.wasm", &["env"], |b| {
        b.with_env("MODE", "test").with_env("N", "1")
    });
    assert_eq!(o.ok_line(), "ok: args= env=MODE=test;N=1");
}

#[test]
fn exit_status_of_a_wasi_command_is_reported() {
    // WASI 0.2's `exit` carries only success or failure, so a component's
    // non-zero status is reported as 1.
    for (guest, expected) in [("probe-p1.wasm", 7), ("probe-p2.wasm", 1)] {
        let o = run_command(guest, &["exit", "7"], |b| b);
        match o.result {
            Err(aegis_core::Error::Exit { status }) => assert_eq!(status, expected, "{guest}"),
            other => panic!("{guest}: {other:?}"),
        }
        assert!(run_command(guest, &["exit", "0"], |b| b).result.is_ok());
    }
}

#[test]
fn seeded_random_is_deterministic() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "draw") (result i64) (drop (call $r (i32.const 0) (i32.const 8))) (i64.load (i32.const 0))))"#;
    let module = runtime().load_wat(wat).unwrap();
    let draw = |seed: Option<u64>| {
        let b = runtime().sandbox();
        let b = match seed {
            Some(s) => b.with_random_seed(s),
            None => b,
        };
        let mut s = b.build().unwrap();
        s.load_module(&module).unwrap();
        s.call::<(), i64>("draw", ()).unwrap()
    };
    assert_eq!(draw(Some(42)), draw(Some(42)));
    assert_ne!(draw(Some(42)), draw(Some(43)));
    assert_ne!(draw(None), draw(None), "unseeded random comes from the OS");
}

/// A listener on 127.0.0.1 that answers one connection with "pong: <msg>".
fn pong_server() -> (u16, std::thread::JoinHandle<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    let mut msg = String::new();
                    s.read_to_string(&mut msg).unwrap();
                    s.write_all(format!("pong: {msg}").as_bytes()).unwrap();
                    return true;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        false
    });
    (port, handle)
}

#[test]
fn component_connects_only_to_granted_addresses() {
    let (port, server) = pong_server();
    let addr = format!("127.0.0.1:{port}");

    let refused = run_command("probe-p2.wasm", &["connect", &addr, "ping"], |b| b);
    assert!(refused.ok_line().starts_with("error:"), "{refused:?}");
    let d = refused
        .metrics
        .denied
        .iter()
        .find(|d| d.capability == "network")
        .expect("recorded");
    assert_eq!(
        (d.operation.as_str(), d.target.as_str()),
        ("tcp_connect", addr.as_str())
    );

    let other_port = run_command("probe-p2.wasm", &["connect", &addr, "ping"], |b| {
        b.allow_net(
            format!("127.0.0.1:{}", port.wrapping_add(1))
                .parse()
                .unwrap(),
        )
    });
    assert!(other_port.ok_line().starts_with("error:"), "{other_port:?}");
    assert_eq!(other_port.metrics.denied_count, 1);

    let allowed = run_command("probe-p2.wasm", &["connect", &addr, "ping"], |b| {
        b.with_network(NetworkCapability::allow([addr.as_str()]).unwrap())
    });
    assert_eq!(allowed.ok_line(), "ok: reply: pong: ping", "{allowed:?}");
    assert_eq!(allowed.metrics.denied_count, 0);
    assert!(
        server.join().unwrap(),
        "the server saw the allowed connection"
    );
}

#[test]
fn name_lookup_needs_a_host_name_grant() {
    let (port, server) = pong_server();
    let by_name = format!("localhost:{port}");
    // An address grant does not allow resolving names.
    let o = run_command("probe-p2.wasm", &["connect", &by_name, "x"], |b| {
        b.allow_net(format!("127.0.0.1:{port}").parse().unwrap())
    });
    assert!(o.ok_line().starts_with("error:"), "{o:?}");
    // A host-name grant allows resolving it and connecting to what it resolves to.
    let o = run_command("probe-p2.wasm", &["connect", &by_name, "by name"], |b| {
        b.allow_net(by_name.parse().unwrap())
    });
    assert_eq!(o.ok_line(), "ok: reply: pong: by name", "{o:?}");
    assert!(server.join().unwrap());
}

#[test]
fn core_modules_have_no_sockets_even_with_a_grant() {
    let o = run_command("probe-p1.wasm", &["connect", "127.0.0.1:9", "x"], |b| {
        b.allow_net("127.0.0.1:9".parse().unwrap())
    });
    assert!(o.ok_line().starts_with("error:"), "{o:?}");
}

#[test]
fn components_cannot_be_called_like_core_modules() {
    let module = common::module("probe-p2.wasm");
    assert!(module.is_component());
    let mut s = runtime().sandbox().build().unwrap();
    s.load_module(&module).unwrap();
    assert_eq!(
        s.call_void("run").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
}
