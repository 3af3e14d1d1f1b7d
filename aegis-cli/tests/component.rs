//! WASI 0.2 components (Rust guests compiled for wasm32-wasip2): validate,
//! inspect, run as commands, and the `--allow-net` allowlist against a real
//! listener on 127.0.0.1.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

use common::*;

#[test]
fn components_validate_and_inspect() {
    let component = wasi_tool_component();
    let path = component.to_str().unwrap();
    let out = expect_code(&["validate", path], 0);
    assert_eq!(stdout(&out), "Module is valid\n");
    let out = expect_code(&["inspect", path, "-f", "json"], 0);
    let doc = json(&out);
    assert_eq!(doc["component"], true);
    let exports = doc["exports"].as_array().unwrap();
    assert!(
        exports
            .iter()
            .any(|e| e["name"].as_str().unwrap().starts_with("wasi:cli/run")),
        "{exports:?}"
    );
    let text = stdout(&expect_code(&["inspect", path, "--imports"], 0));
    assert!(text.contains("\n  wasi:cli/environment@"), "{text}");
}

#[test]
fn component_command_runs_with_argv_env_and_logging() {
    let component = wasi_tool_component();
    let path = component.to_str().unwrap();
    let out = expect_code(
        &[
            "run",
            path,
            "--allow-logging",
            "--env",
            "K=v",
            "--",
            "one",
            "two",
        ],
        0,
    );
    let text = stdout(&out);
    assert!(text.contains("argv: wasi_tool.wasm one two\n"), "{text}");
    assert!(text.contains("env: K=v\n"), "{text}");
    let out = expect_code(&["run", path, "-f", "json-compact", "--capture-output"], 0);
    let doc = json(&out);
    assert!(
        doc["function"]
            .as_str()
            .unwrap()
            .starts_with("wasi:cli/run")
    );
    assert!(
        doc["stdout"]
            .as_str()
            .unwrap()
            .contains("argv: wasi_tool.wasm")
    );
    // WASI 0.2's `exit` only tells success from failure: any non-zero status is 1.
    let out = expect_code(&["run", path, "--", "exit=5"], 1);
    assert!(stderr(&out).contains("error[exit]"), "{}", stderr(&out));
}

/// Accepts one connection, reads `ping`, answers `pong`.
fn one_shot_server() -> (String, thread::JoinHandle<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        match listener.accept() {
            Ok((mut conn, _)) => {
                let mut buf = [0u8; 4];
                let _ = conn.read_exact(&mut buf);
                let _ = conn.write_all(b"pong");
                &buf == b"ping"
            }
            Err(_) => false,
        }
    });
    (addr, handle)
}

#[test]
fn allow_net_lets_the_guest_reach_only_the_granted_address() {
    let client = net_client_component();
    let path = client.to_str().unwrap();
    let (addr, server) = one_shot_server();

    // Not granted: the connection is refused inside the sandbox and recorded.
    let out = expect_code(
        &["run", path, "--capture-output", "-f", "json", "--", &addr],
        0,
    );
    let doc = json(&out);
    assert_eq!(doc["stdout"], "connect failed\n");
    let denied = &doc["metrics"]["denied"];
    assert_eq!(denied[0]["capability"], "network", "{denied}");
    assert_eq!(denied[0]["target"], addr.as_str(), "{denied}");

    // Another address granted: still refused.
    let out = expect_code(
        &[
            "run",
            path,
            "--allow-logging",
            "--allow-net",
            "127.0.0.1:1",
            "--",
            &addr,
        ],
        0,
    );
    assert_eq!(stdout(&out), "connect failed\n");

    // Granted: the guest talks to the listener.
    let out = expect_code(
        &[
            "run",
            path,
            "--allow-logging",
            "--allow-net",
            &addr,
            "--",
            &addr,
        ],
        0,
    );
    assert_eq!(stdout(&out), "connected: pong\n");
    assert!(server.join().unwrap(), "the server got the guest's ping");
}
