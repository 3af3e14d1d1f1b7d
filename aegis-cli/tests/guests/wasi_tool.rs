//! A real WASI command compiled with `rustc --target wasm32-wasip1` by the CLI
//! tests: reports argv, env, file access and the clock, then exits with the
//! status given as `exit=N`.

use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("argv: {}", args.join(" "));
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.sort();
    for (key, value) in vars {
        println!("env: {key}={value}");
    }
    match std::fs::read_to_string("/data/input.txt") {
        Ok(text) => println!("read: {}", text.trim()),
        Err(_) => println!("read: failed"),
    }
    match std::fs::write("/out/result.txt", "written by the guest") {
        Ok(()) => println!("write: ok"),
        Err(_) => println!("write: failed"),
    }
    match std::fs::write("/data/sneaky.txt", "should not be allowed") {
        Ok(()) => println!("write to read-only: ok"),
        Err(_) => println!("write to read-only: failed"),
    }
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    println!("clock: {}", if secs > 1_000_000_000 { "real" } else { "frozen" });
    eprintln!("to stderr");
    if let Some(status) = args.iter().find_map(|a| a.strip_prefix("exit=")) {
        std::process::exit(status.parse().unwrap_or(1));
    }
}
