//! Every call ends on time: guests that block the host instead of computing,
//! host functions that overrun, loaded machines, and interrupts from other threads.

mod common;

use std::time::{Duration, Instant};

use aegis_core::{Aegis, ErrorCode, FuncType, Runtime, Sandbox, ValType};

/// How far past its limit a call may end.
const SLACK: Duration = Duration::from_millis(250);

const POLL_SLEEP: &str = include_str!("../../tests/hostile/corpus/poll_sleep.wat");

fn runtime(timeout_ms: u64) -> Runtime {
    Aegis::builder()
        .with_timeout(Duration::from_millis(timeout_ms))
        .build()
        .unwrap()
}

fn sandbox(rt: &Runtime, wat: &str) -> Sandbox {
    let module = rt.load_wat(wat).unwrap();
    let mut sb = rt.sandbox().build().unwrap();
    sb.load_module(&module).unwrap();
    sb
}

/// Calls `entry` and checks it fails with `code` within `limit` + [`SLACK`].
fn ends_within(sb: &mut Sandbox, entry: &str, code: ErrorCode, limit: Duration) -> Duration {
    let start = Instant::now();
    let err = sb.call_void(entry).expect_err("the call must not succeed");
    let elapsed = start.elapsed();
    assert_eq!(err.code(), code, "{entry}: {err}");
    assert!(
        elapsed <= limit + SLACK,
        "{entry} ended after {elapsed:?}, limit {limit:?}"
    );
    elapsed
}

#[test]
fn wasi_sleeps_end_at_the_deadline() {
    let rt = runtime(300);
    let mut sb = sandbox(&rt, POLL_SLEEP);
    for entry in ["sleep_5s", "sleep_forever", "sleep_many"] {
        let elapsed = ends_within(
            &mut sb,
            entry,
            ErrorCode::Timeout,
            Duration::from_millis(300),
        );
        assert!(
            elapsed >= Duration::from_millis(300),
            "{entry}: {elapsed:?}"
        );
        // The sandbox stays usable after its call was cut short.
        assert_eq!(sb.last_call_metrics().wall_time.as_millis() / 100, 3);
    }
}

#[test]
fn compiled_guests_sleeping_through_wasi_end_at_the_deadline() {
    for guest in ["probe-p1.wasm", "probe-p2.wasm"] {
        let rt = runtime(300);
        let module = rt.load_file(common::guest(guest)).unwrap();
        let mut sb = rt
            .sandbox()
            .with_args(["probe", "sleep", "5000"])
            .build()
            .unwrap();
        sb.load_module(&module).unwrap();
        let start = Instant::now();
        let err = sb.run().expect_err("must time out");
        assert_eq!(err.code(), ErrorCode::Timeout, "{guest}: {err}");
        assert!(
            start.elapsed() <= Duration::from_millis(300) + SLACK,
            "{guest}"
        );
    }
}

#[test]
fn a_fifo_in_a_granted_directory_cannot_hold_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let rt = runtime(300);
    let module = rt.load_file(common::guest("probe-p1.wasm")).unwrap();
    let guest_path = fifo.to_str().unwrap().to_string();
    let mut sb = rt
        .sandbox()
        .allow_read(dir.path())
        .with_args(["probe", "read", &guest_path])
        .build()
        .unwrap();
    sb.load_module(&module).unwrap();
    let start = Instant::now();
    // Opening a FIFO is refused before anything waits on it (see
    // tests/fs_guard.rs), so the call ends at once, well inside its deadline.
    let err = sb.run().expect_err("the guest exits with an error");
    assert_eq!(err.code(), ErrorCode::Exit, "{err}");
    assert!(start.elapsed() <= Duration::from_millis(300) + SLACK);
    assert!(
        sb.last_call_metrics()
            .denied
            .iter()
            .any(|d| d.capability == "filesystem" && d.operation == "path_open"),
        "{:?}",
        sb.last_call_metrics()
    );
}

const HOST_BLOCKS: &str = r#"(module
    (import "env" "block" (func $block (param i32)))
    (func (export "go") (call $block (i32.const 2000))))"#;

#[test]
fn a_host_function_that_overruns_ends_the_call_with_timeout() {
    let rt = runtime(300);
    let module = rt.load_wat(HOST_BLOCKS).unwrap();
    let mut sb = rt.sandbox().build().unwrap();
    sb.register_func("env", "block", |ms: i32| {
        std::thread::sleep(Duration::from_millis(ms as u64));
    })
    .unwrap();
    sb.load_module(&module).unwrap();
    let err = sb.call_void("go").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
}

#[test]
fn a_host_function_can_see_its_call_was_cancelled_and_stop_early() {
    let rt = runtime(300);
    let module = rt.load_wat(HOST_BLOCKS).unwrap();
    let mut sb = rt.sandbox().build().unwrap();
    sb.register_dynamic(
        "env",
        "block",
        FuncType::new([ValType::I32], []),
        |caller, args| {
            let until = Instant::now() + Duration::from_millis(args[0].as_i32().unwrap() as u64);
            while Instant::now() < until && !caller.is_cancelled() {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(vec![])
        },
    )
    .unwrap();
    sb.load_module(&module).unwrap();
    ends_within(
        &mut sb,
        "go",
        ErrorCode::Timeout,
        Duration::from_millis(300),
    );
}

const SPIN: &str = r#"(module (func (export "spin") (loop $l (br $l))))"#;

#[test]
fn deadlines_hold_on_a_loaded_machine() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hogs: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
            })
        })
        .collect();
    let rt = Aegis::builder()
        .without_fuel_limit()
        .with_timeout(Duration::from_millis(1000))
        .build()
        .unwrap();
    let mut sb = sandbox(&rt, SPIN);
    let mut sleeper = sandbox(&rt, POLL_SLEEP);
    let spin = ends_within(&mut sb, "spin", ErrorCode::Timeout, Duration::from_secs(1));
    let sleep = ends_within(
        &mut sleeper,
        "sleep_5s",
        ErrorCode::Timeout,
        Duration::from_secs(1),
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    hogs.into_iter().for_each(|h| h.join().unwrap());
    println!("loaded machine: spin {spin:?}, sleep {sleep:?} (limit 1 s)");
}

/// Interrupts `entry` from another thread after 200 ms.
fn interrupted_from_another_thread(sb: &mut Sandbox, entry: &str) {
    let handle = sb.interrupt_handle();
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        handle.interrupt();
    });
    ends_within(
        sb,
        entry,
        ErrorCode::Interrupted,
        Duration::from_millis(200),
    );
    interrupter.join().unwrap();
    // The request was consumed: the next call runs normally.
    assert!(!sb.interrupt_handle().is_pending());
}

#[test]
fn interrupt_stops_computing_and_waiting_guests_from_any_thread() {
    let rt = Aegis::builder()
        .without_fuel_limit()
        .without_timeout()
        .build()
        .unwrap();
    let mut spinner = sandbox(&rt, SPIN);
    interrupted_from_another_thread(&mut spinner, "spin");
    let mut sleeper = sandbox(&rt, POLL_SLEEP);
    interrupted_from_another_thread(&mut sleeper, "sleep_forever");
    interrupted_from_another_thread(&mut sleeper, "sleep_many");
    let mut blocked = rt.sandbox().build().unwrap();
    blocked
        .register_dynamic("env", "block", FuncType::new([ValType::I32], []), |c, _| {
            while !c.is_cancelled() {
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(vec![])
        })
        .unwrap();
    blocked
        .load_module(&rt.load_wat(HOST_BLOCKS).unwrap())
        .unwrap();
    interrupted_from_another_thread(&mut blocked, "go");
}

#[test]
fn an_interrupt_before_a_call_stops_that_call_and_is_then_consumed() {
    let rt = runtime(5000);
    let mut sb = sandbox(&rt, r#"(module (func (export "noop")))"#);
    sb.interrupt_handle().interrupt();
    assert_eq!(
        sb.call_void("noop").unwrap_err().code(),
        ErrorCode::Interrupted
    );
    sb.call_void("noop").unwrap();
}

#[test]
fn guest_recursion_never_overflows_a_small_host_thread() {
    let wat = r#"(module (func $r (export "recurse") (param i32) (result i32)
        (call $r (i32.add (local.get 0) (i32.const 1)))))"#;
    // The default 512 KiB wasm stack on a 128 KiB host thread (a musl
    // thread-pool default): the guest gets `stack_overflow`, the host lives.
    let outcome = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(move || {
            let rt = Runtime::new().unwrap();
            let mut sb = sandbox(&rt, wat);
            sb.call::<i32, i32>("recurse", 0).unwrap_err().code()
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(outcome, ErrorCode::StackOverflow);
}

#[test]
fn stack_limits_are_bounded_with_a_clear_message() {
    let err = Aegis::builder()
        .with_stack_limit(1 << 40)
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("stack limit"), "{err}");
    // 8 MiB is fine (it used to fail with an internal `async_stack_size` message).
    Aegis::builder().with_stack_limit(8 << 20).build().unwrap();
}

#[test]
fn host_work_is_charged_as_fuel() {
    let rt = Aegis::builder()
        .with_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut sb = sandbox(
        &rt,
        include_str!("../../tests/hostile/corpus/random_flood.wat"),
    );
    let start = Instant::now();
    let err = sb.call_void("spin").unwrap_err();
    assert_eq!(err.code(), ErrorCode::OutOfFuel, "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_component_waiting_on_a_silent_socket_ends_at_the_deadline() {
    // A listener that accepts and then says nothing, never closing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_secs(3));
        drop(conn);
    });
    let rt = runtime(500);
    let module = rt.load_file(common::guest("probe-p2.wasm")).unwrap();
    let target = addr.to_string();
    let mut sb = rt
        .sandbox()
        .allow_net(aegis_core::NetRule::Addr(addr))
        .with_args(["probe", "connect", &target, "hello"])
        .build()
        .unwrap();
    sb.load_module(&module).unwrap();
    let start = Instant::now();
    let err = sb.run().expect_err("must time out");
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    assert!(start.elapsed() <= Duration::from_millis(500) + SLACK);
    server.join().unwrap();
}
