//! Helpers shared by the integration tests that run compiled guests.

#![allow(dead_code)]

use std::path::PathBuf;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use aegis_core::{Error, Metrics, Module, Runtime, SandboxBuilder};

/// Path of a compiled guest built by `scripts/build-guests.sh`.
pub fn guest(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/out")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run ./scripts/build-guests.sh first",
        path.display()
    );
    path
}

/// What one run of a WASI command produced.
#[derive(Debug)]
pub struct Outcome {
    pub result: Result<(), Error>,
    pub stdout: String,
    pub stderr: String,
    pub metrics: Metrics,
}

impl Outcome {
    pub fn ok_line(&self) -> &str {
        self.stdout.lines().next().unwrap_or("")
    }
}

/// One runtime (default limits, no grants) shared by the tests of a binary.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("runtime builds"))
}

/// A compiled guest, compiled once per test binary.
pub fn module(guest_file: &str) -> Module {
    static MODULES: OnceLock<Mutex<HashMap<String, Module>>> = OnceLock::new();
    let mut cache = MODULES.get_or_init(Default::default).lock().unwrap();
    cache
        .entry(guest_file.to_string())
        .or_insert_with(|| {
            runtime()
                .load_file(guest(guest_file))
                .expect("guest compiles")
        })
        .clone()
}

/// Runs `guest` as a command with `args` (argv[0] is added) in a sandbox that
/// captures output, after `configure` has added the grants under test.
pub fn run_command(
    guest_file: &str,
    args: &[&str],
    configure: impl FnOnce(SandboxBuilder) -> SandboxBuilder,
) -> Outcome {
    let mut argv = vec![guest_file.to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let builder = runtime().sandbox().capture_output(1 << 20).with_args(argv);
    let mut sandbox = configure(builder).build().expect("sandbox builds");
    sandbox
        .load_module(&module(guest_file))
        .expect("guest instantiates");
    let result = sandbox.run().map(|_| ());
    Outcome {
        result,
        stdout: String::from_utf8_lossy(&sandbox.stdout()).into_owned(),
        stderr: String::from_utf8_lossy(&sandbox.stderr()).into_owned(),
        metrics: sandbox.metrics().clone(),
    }
}
