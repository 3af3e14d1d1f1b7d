//! The hostile-guest corpus (tests/hostile/expectations.tsv) through the real
//! `aegis` binary, the way a user would run each case from a shell.
//!
//! Options map onto flags (`fuel=N` → `--fuel-limit N`, `no_fuel` →
//! `--no-fuel-limit`, `timeout_ms=N` → `--timeout N/1000`, `memory` →
//! `--memory-limit`, `stack` → `--stack-limit`, `table_elements` →
//! `--table-elements-limit`, `handles` → `--handle-limit`, `allow_read` /
//! `allow_write` → `--allow-read` / `--allow-write`, `capture=N` →
//! `--capture-output=N`, `result_limit=N` → `--result-limit N`, `args` →
//! `-- ARGS`): each flag is the policy option of the same name. With
//! `-f json` the captured output goes into the document.
//!
//! Entries map onto the ways `aegis run` calls: `-` runs `aegis validate`,
//! `_run` the default entry, `NAME` is `-e NAME`, `bytes:NAME` is
//! `--call-bytes NAME` with "hello aegis" on stdin, `wit:NAME` is
//! `--invoke NAME` and `wit:NAME:TEXT` is `--invoke 'NAME("TEXT")'` (TEXT
//! escaped as a WAVE string).
//!
//! Two kinds of case are `n/a`. Cases whose module imports the `aegis_test`
//! host functions: the CLI has no host functions, so such a module can only
//! fail to link, which is not what those cases test. And `str:NAME` cases
//! (`call_str`, which fails `invalid_result` on output that is not UTF-8):
//! the CLI has no text mode, `--call-bytes` passes the output through as
//! bytes, so the check those cases test does not exist in the CLI.
//!
//! The error code and the denied operations come from `-f json`; the
//! observed outcomes are written to target/hostile/cli.tsv.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// One line of the expectations file.
struct Case {
    name: String,
    module: String,
    entry: String,
    options: Vec<(String, String)>,
    expect: String,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(format!("{ROOT}/tests/hostile/expectations.tsv"))
        .expect("tests/hostile/expectations.tsv is readable");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "bad expectation line: {l}");
            let options = match f[3] {
                "-" => vec![],
                list => list
                    .split(',')
                    .map(|o| match o.split_once('=') {
                        Some((k, v)) => (k.to_string(), v.to_string()),
                        None => (o.to_string(), String::new()),
                    })
                    .collect(),
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

impl Scratch {
    fn new() -> Scratch {
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

    fn secret_intact(&self) -> bool {
        std::fs::read_to_string(&self.secret).is_ok_and(|s| s == "TOP SECRET")
    }
}

fn module_path(case: &Case) -> PathBuf {
    match case.module.strip_prefix("guest:") {
        Some(g) => Path::new(ROOT).join("target/guests/out").join(g),
        None => Path::new(ROOT).join("tests/hostile").join(&case.module),
    }
}

/// Whether the module needs the `aegis_test` host functions (text modules only;
/// the compiled guests never import them).
fn needs_host_functions(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| {
        bytes
            .windows(b"\"aegis_test\"".len())
            .any(|w| w == b"\"aegis_test\"")
    })
}

/// The `aegis run` flags for one case's options.
fn run_flags(case: &Case, dir: &Path) -> Vec<String> {
    let sub = |v: &str| v.replace("$SCRATCH", dir.to_str().unwrap());
    let mut flags = Vec::new();
    let mut argv = Vec::new();
    for (k, v) in &case.options {
        let mut flag = |name: &str, value: String| {
            flags.push(name.to_string());
            flags.push(value);
        };
        match k.as_str() {
            "fuel" => flag("--fuel-limit", v.clone()),
            "no_fuel" => flags.push("--no-fuel-limit".into()),
            "timeout_ms" => {
                let ms: u64 = v.parse().unwrap();
                flag("--timeout", format!("{}", ms as f64 / 1000.0));
            }
            "memory" => flag("--memory-limit", v.clone()),
            "stack" => flag("--stack-limit", v.clone()),
            "table_elements" => flag("--table-elements-limit", v.clone()),
            "handles" => flag("--handle-limit", v.clone()),
            "capture" => flags.push(format!("--capture-output={v}")),
            "result_limit" => flag("--result-limit", v.clone()),
            "allow_read" => flag("--allow-read", sub(v)),
            "allow_write" => flag("--allow-write", sub(v)),
            "args" => argv.extend(sub(v).split(' ').map(String::from)),
            other => panic!("{}: unknown option {other}", case.name),
        }
    }
    match entry(&case.entry) {
        Entry::Default => {}
        Entry::Function(name) => flags.extend(["-e".into(), name]),
        Entry::Bytes(name) => flags.extend(["--call-bytes".into(), name]),
        Entry::Invoke(call) => flags.extend(["--invoke".into(), call]),
        Entry::Validate | Entry::Text(_) => unreachable!("{}: not run", case.name),
    }
    if !argv.is_empty() {
        flags.push("--".into());
        flags.extend(argv);
    }
    flags
}

/// How a case's entry is run.
#[derive(Debug, PartialEq)]
enum Entry {
    /// `-`: `aegis validate`.
    Validate,
    /// `_run`: the default entry.
    Default,
    /// `NAME`: `-e NAME`.
    Function(String),
    /// `bytes:NAME`: `--call-bytes NAME`, the input on stdin.
    Bytes(String),
    /// `str:NAME`: `call_str`, which the CLI does not have.
    Text(String),
    /// `wit:NAME` / `wit:NAME:TEXT`: `--invoke` with this call.
    Invoke(String),
}

fn entry(text: &str) -> Entry {
    match (text, text.split_once(':')) {
        ("-", _) => Entry::Validate,
        ("_run", _) => Entry::Default,
        (_, Some(("bytes", name))) => Entry::Bytes(name.into()),
        (_, Some(("str", name))) => Entry::Text(name.into()),
        (_, Some(("wit", call))) => Entry::Invoke(match call.split_once(':') {
            Some((name, arg)) => format!("{name}({})", wave_string(arg)),
            None => call.into(),
        }),
        _ => Entry::Function(text.into()),
    }
}

/// `text` as a WAVE string literal: quoted, with `"`, `\` and control
/// characters escaped.
fn wave_string(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn entries_map_onto_run_flags() {
    assert_eq!(entry("-"), Entry::Validate);
    assert_eq!(entry("spin"), Entry::Function("spin".into()));
    assert_eq!(entry("bytes:upper"), Entry::Bytes("upper".into()));
    assert_eq!(entry("str:upper"), Entry::Text("upper".into()));
    assert_eq!(entry("wit:spin"), Entry::Invoke("spin".into()));
    assert_eq!(
        entry("wit:greet:hello aegis"),
        Entry::Invoke(r#"greet("hello aegis")"#.into())
    );
    assert_eq!(
        entry("wit:greet:a\"b\\c\nd\u{1}"),
        Entry::Invoke(r#"greet("a\"b\\c\nd\u{1}")"#.into())
    );
}

/// The input of `bytes:` entries.
const INPUT: &str = "hello aegis";

/// Runs `aegis` and parses its one JSON document.
fn aegis_json(args: &[String]) -> Value {
    aegis_json_with_input(args, b"")
}

/// Runs `aegis` with `input` on stdin and parses its one JSON document.
fn aegis_json_with_input(args: &[String], input: &[u8]) -> Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aegis"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the aegis binary runs");
    let mut stdin = child.stdin.take().unwrap();
    // aegis may not read stdin at all (a closed pipe is fine).
    let _ = stdin.write_all(input);
    drop(stdin);
    let out = child.wait_with_output().expect("aegis finishes");
    assert!(
        out.status.code().is_some(),
        "aegis {args:?} was killed by a signal"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "aegis {args:?} panicked: {err}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "aegis {args:?}: stdout is not one JSON document ({e}); stderr: {err}; stdout starts {:?}",
            String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(300)])
        )
    })
}

/// The outcome in the expectation vocabulary plus the refused capabilities.
fn outcome_of(doc: &Value) -> (String, Vec<String>) {
    let outcome = if doc["ok"] == true {
        "ok".to_string()
    } else {
        doc["error"]["code"]
            .as_str()
            .unwrap_or("<no error code>")
            .to_string()
    };
    let denied = doc["metrics"]["denied"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|d| d["capability"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    (outcome, denied)
}

/// Runs one case: `None` when it cannot apply to the CLI, else
/// `(outcome, denied capabilities, secret intact)`.
fn observe(case: &Case) -> Option<(String, Vec<String>, bool)> {
    let path = module_path(case);
    if needs_host_functions(&path) {
        return None;
    }
    let scratch = Scratch::new();
    let module = path.to_string_lossy().into_owned();
    let doc = match entry(&case.entry) {
        Entry::Text(_) => return None,
        Entry::Validate => aegis_json(&["validate".into(), module, "-f".into(), "json".into()]),
        how => {
            let mut args = vec!["run".into(), module, "-f".into(), "json".into()];
            args.extend(run_flags(case, &scratch.dir));
            let input = match how {
                Entry::Bytes(_) => INPUT.as_bytes(),
                _ => b"",
            };
            aegis_json_with_input(&args, input)
        }
    };
    let (outcome, denied) = outcome_of(&doc);
    Some((outcome, denied, scratch.secret_intact()))
}

#[test]
fn every_applicable_hostile_case_ends_in_its_expected_outcome() {
    let mut report = String::new();
    let mut failures = Vec::new();
    let mut applicable = 0;
    for case in cases() {
        let Some((outcome, denied, secret_intact)) = observe(&case) else {
            report.push_str(&format!("{}\tn/a\n", case.name));
            continue;
        };
        applicable += 1;
        let cap = case.expect.strip_prefix("denied:");
        let recorded = cap.is_some_and(|c| denied.iter().any(|d| d == c));
        let passed = secret_intact
            && match cap {
                Some(_) => recorded,
                None => outcome == case.expect,
            };
        let shown = match cap {
            Some(c) if recorded => format!("denied:{c}"),
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
    let out = Path::new(ROOT).join("target/hostile");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("cli.tsv"), report).unwrap();
    assert!(
        applicable >= 30,
        "only {applicable} cases applied to the CLI"
    );
    assert!(
        failures.is_empty(),
        "hostile cases failed:\n{}",
        failures.join("\n")
    );
}

/// `--no-fuel-limit` lets an endless loop run until the timeout ends it.
#[test]
fn no_fuel_limit_leaves_the_timeout_in_charge() {
    let spin = Path::new(ROOT).join("tests/hostile/corpus/infinite_loop.wat");
    let doc = aegis_json(&[
        "run".into(),
        spin.to_string_lossy().into_owned(),
        "-e".into(),
        "spin".into(),
        "--no-fuel-limit".into(),
        "--timeout".into(),
        "0.2".into(),
        "-f".into(),
        "json".into(),
    ]);
    assert_eq!(doc["error"]["code"], "timeout", "{doc}");
    assert_eq!(doc["metrics"]["fuel_consumed"], 0, "{doc}");
}

/// `--no-fuel-limit` and `--fuel-limit` contradict each other: a usage error.
#[test]
fn no_fuel_limit_conflicts_with_fuel_limit() {
    let out = Command::new(env!("CARGO_BIN_EXE_aegis"))
        .args(["run", "x.wat", "--no-fuel-limit", "--fuel-limit", "10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

/// `--table-elements-limit` is the limit the error reports.
#[test]
fn table_elements_limit_is_applied() {
    let bomb = Path::new(ROOT).join("tests/hostile/corpus/table_grow_bomb.wat");
    let doc = aegis_json(&[
        "run".into(),
        bomb.to_string_lossy().into_owned(),
        "-e".into(),
        "bomb".into(),
        "--table-elements-limit".into(),
        "25000".into(),
        "-f".into(),
        "json".into(),
    ]);
    assert_eq!(doc["error"]["code"], "memory_limit_exceeded", "{doc}");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(message.contains("25000"), "{message}");
}

/// `--handle-limit` caps open files: a guest opening many files fails at the cap.
#[test]
fn handle_limit_is_applied() {
    let scratch = Scratch::new();
    let probe = Path::new(ROOT).join("target/guests/out/probe-p1.wasm");
    let dir = scratch.dir.to_string_lossy().into_owned();
    let doc = aegis_json(&[
        "run".into(),
        probe.to_string_lossy().into_owned(),
        "--allow-read".into(),
        dir.clone(),
        "--handle-limit".into(),
        "40".into(),
        "-f".into(),
        "json".into(),
        "--".into(),
        "openmany".into(),
        format!("{dir}/inside.txt"),
        "100".into(),
    ]);
    assert_eq!(doc["error"]["code"], "memory_limit_exceeded", "{doc}");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(message.contains("40"), "{message}");
}
