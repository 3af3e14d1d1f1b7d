//! The README's Rust example: load a guest, give it a host function, call it under limits.
//!
//! Run with `cargo run -p aegis-wasm-sandbox --example quickstart`.

use std::time::Duration;

use aegis_core::{Aegis, Error};

fn main() -> Result<(), Error> {
    let runtime = Aegis::builder()
        .with_memory_limit(16 * 1024 * 1024)
        .with_fuel_limit(10_000_000)
        .with_timeout(Duration::from_secs(2))
        .build()?;

    let module = runtime.load_wat(
        r#"(module
            (import "env" "log" (func $log (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "adding numbers")
            (func (export "add") (param i32 i32) (result i32)
                (call $log (i32.const 0) (i32.const 14))
                (i32.add (local.get 0) (local.get 1)))
            (func (export "spin") (loop $l (br $l))))"#,
    )?;

    let mut sandbox = runtime.sandbox().build()?;
    sandbox.register_func_with_caller(
        "env",
        "log",
        |caller: &mut aegis_core::HostCaller<'_>, ptr: i32, len: i32| {
            let text = caller.read_string(ptr as u64, len as usize)?;
            println!("guest says: {text}");
            Ok::<(), aegis_core::HostError>(())
        },
    )?;
    sandbox.load_module(&module)?;

    let sum: i32 = sandbox.call("add", (7, 8))?;
    println!("Result: {sum}");
    let m = sandbox.last_call_metrics();
    println!(
        "fuel {} · memory {} bytes · host calls {}",
        m.fuel_consumed, m.memory_current, m.host_calls
    );

    // A hostile guest ends in a typed error; the host carries on.
    match sandbox.call::<(), ()>("spin", ()) {
        Err(err) => println!("spin stopped: {} ({})", err, err.code()),
        Ok(()) => unreachable!("an infinite loop cannot finish"),
    }
    Ok(())
}
