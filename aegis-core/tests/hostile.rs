//! The hostile-guest corpus (tests/hostile/expectations.tsv) through the Rust API.
//!
//! Every case must reach its expected outcome; the observed outcomes are also
//! written to target/hostile/rust.tsv for the cross-front-end table in
//! docs/security.md.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aegis_core::{Aegis, Data, Error, HostError, Logging, RuntimeBuilder, Sandbox};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

struct Case {
    name: String,
    module: String,
    entry: String,
    options: Vec<(String, String)>,
    expect: String,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(format!("{ROOT}/tests/hostile/expectations.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "bad expectation line: {l}");
            let options = if f[3] == "-" {
                vec![]
            } else {
                f[3].split(',')
                    .map(|o| match o.split_once('=') {
                        Some((k, v)) => (k.to_string(), v.to_string()),
                        None => (o.to_string(), String::new()),
                    })
                    .collect()
            };
            Case {
                name: f[0].into(),
                module: f[1].into(),
                entry: f[2].into(),
                options,
                expect: f[4].into(),
            }
        })
        .collect()
}

/// A scratch grant next to a secret the guest must never reach.
struct Scratch {
    _root: tempfile::TempDir,
    dir: PathBuf,
    secret: PathBuf,
}

fn scratch() -> Scratch {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("scratch");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("inside.txt"), "inside").unwrap();
    let secret = root.path().join("secret.txt");
    std::fs::write(&secret, "TOP SECRET").unwrap();
    std::os::unix::fs::symlink("../secret.txt", dir.join("link-out")).unwrap();
    Scratch {
        _root: root,
        dir,
        secret,
    }
}

fn configure(mut b: RuntimeBuilder, case: &Case, dir: &Path) -> RuntimeBuilder {
    b = b.with_logging(Logging::Denied);
    let sub = |v: &str| v.replace("$SCRATCH", dir.to_str().unwrap());
    let mut argv = vec![case.module.clone()];
    for (k, v) in &case.options {
        let n = || v.parse::<u64>().unwrap();
        b = match k.as_str() {
            "fuel" => b.with_fuel_limit(n()),
            "no_fuel" => b.without_fuel_limit(),
            "timeout_ms" => b.with_timeout(Duration::from_millis(n())),
            "memory" => b.with_memory_limit(n()),
            "stack" => b.with_stack_limit(n() as usize),
            "table_elements" => b.with_table_elements_limit(n()),
            "handles" => b.with_handle_limit(n() as usize),
            "result_limit" => b.with_result_limit(n()),
            "capture" => b.capture_output(n() as usize),
            "allow_read" => b.allow_read(sub(v)),
            "allow_write" => b.allow_write(sub(v)),
            "args" => {
                argv.extend(sub(v).split(' ').map(String::from));
                b
            }
            other => panic!("{}: unknown option {other}", case.name),
        };
    }
    b.with_args(argv)
}

/// The standard `aegis_test` host functions; `reenter` tries the sandbox itself.
fn register_host(sandbox: &mut Sandbox, slot: Arc<OnceLock<Mutex<Sandbox>>>) {
    sandbox
        .register_func("aegis_test", "ok", |x: i32| x + 1)
        .unwrap();
    sandbox
        .register_func("aegis_test", "fail", || -> Result<i32, HostError> {
            Err(HostError::new("refused by the host"))
        })
        .unwrap();
    sandbox
        .register_func("aegis_test", "panic", || -> Result<(), HostError> {
            panic!("host function panicked on purpose")
        })
        .unwrap();
    sandbox
        .register_func("aegis_test", "reenter", move || -> Result<(), HostError> {
            let cell = slot.get().ok_or_else(|| HostError::new("no sandbox"))?;
            let mut same = cell
                .try_lock()
                .map_err(|_| HostError::new("re-entrant call refused: the sandbox is busy"))?;
            same.call_void("noop")
                .map_err(|e| HostError::new(e.to_string()))
        })
        .unwrap();
}

/// The input of `bytes:` and `str:` entries.
const INPUT: &str = "hello aegis";

/// Runs one case; returns the observed outcome in the expectation vocabulary.
fn observe(case: &Case) -> (String, Vec<&'static str>, bool) {
    let s = scratch();
    let runtime = configure(Aegis::builder(), case, &s.dir).build().unwrap();
    let path = match case.module.strip_prefix("guest:") {
        Some(g) => format!("{ROOT}/target/guests/out/{g}"),
        None => format!("{ROOT}/tests/hostile/{}", case.module),
    };
    let secret_intact = |s: &Scratch| std::fs::read_to_string(&s.secret).unwrap() == "TOP SECRET";
    let module = match runtime.load_file(&path) {
        Ok(m) => m,
        Err(e) => return (e.code().as_str().to_string(), vec![], secret_intact(&s)),
    };
    if case.entry == "-" {
        return ("ok".into(), vec![], secret_intact(&s));
    }
    let slot: Arc<OnceLock<Mutex<Sandbox>>> = Arc::new(OnceLock::new());
    let mut sandbox = runtime.sandbox().build().unwrap();
    register_host(&mut sandbox, slot.clone());
    if let Err(e) = sandbox.load_module(&module) {
        return (e.code().as_str().to_string(), vec![], secret_intact(&s));
    }
    let _ = slot.set(Mutex::new(sandbox));
    let mut sandbox = slot.get().unwrap().lock().unwrap();
    let result: Result<(), Error> = match case.entry.as_str() {
        "_run" => sandbox.run().map(|_| ()),
        entry => match entry.split_once(':') {
            Some(("bytes", name)) => sandbox.call_bytes(name, INPUT.as_bytes()).map(drop),
            Some(("str", name)) => sandbox.call_str(name, INPUT).map(drop),
            Some(("wit", call)) => {
                let args: Vec<Data> = match call.split_once(':') {
                    Some((_, text)) => vec![Data::Str(text.into())],
                    None => vec![],
                };
                let name = call.split(':').next().unwrap();
                sandbox.call_data(name, args).map(drop)
            }
            _ => sandbox.call_dynamic(entry, &[]).map(|_| ()),
        },
    };
    let denied = sandbox
        .metrics()
        .denied
        .iter()
        .map(|d| d.capability.as_str())
        .collect();
    let outcome = match result {
        Ok(()) => "ok".to_string(),
        Err(e) => e.code().as_str().to_string(),
    };
    (outcome, denied, secret_intact(&s))
}

#[test]
fn every_hostile_case_ends_in_its_expected_outcome() {
    let mut report = String::new();
    let mut failures = Vec::new();
    for case in cases() {
        let (outcome, denied, secret_intact) = observe(&case);
        let passed = secret_intact
            && match case.expect.strip_prefix("denied:") {
                Some(cap) => denied.contains(&cap),
                None => outcome == case.expect,
            };
        let shown = match case.expect.strip_prefix("denied:") {
            Some(cap) if denied.contains(&cap) => format!("denied:{cap}"),
            _ => outcome.clone(),
        };
        report.push_str(&format!("{}\t{}\n", case.name, shown));
        if !passed {
            failures.push(format!(
                "{}: expected {}, got {outcome} (denied {denied:?}, secret intact {secret_intact})",
                case.name, case.expect
            ));
        }
    }
    let out = PathBuf::from(ROOT).join("target/hostile");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("rust.tsv"), report).unwrap();
    assert!(
        failures.is_empty(),
        "hostile cases failed:\n{}",
        failures.join("\n")
    );
}
