//! The one vocabulary: policies, their rules, typed error details, the
//! metrics shape, the busy rule and the `proc_exit(0)` rule.

use std::sync::Arc;

use aegis_core::policy::{ImportVerdict, OPTIONS, Scope};
use aegis_core::{
    Aegis, Capability, Error, ErrorCode, METRIC_NAMES, Operation, Policy, Resource, Runtime,
    SharedSandbox, TrapCode,
};

fn err_code(result: Result<impl std::fmt::Debug, Error>) -> (ErrorCode, String) {
    let e = result.expect_err("must fail");
    (e.code(), e.to_string())
}

#[test]
fn every_field_of_a_policy_is_in_the_options_list_in_order() {
    let full = r#"{
        "memory_limit": "16MiB", "fuel_limit": 5, "timeout": 1.5, "stack_limit": 65536,
        "table_elements_limit": 10, "handle_limit": 10, "result_limit": "1MiB", "allow_read": ["/a"],
        "allow_write": ["/b"], "map_dirs": [{"host": "/c", "guest": "/d"}],
        "allow_logging": false, "capture_output": true, "allow_clock": true,
        "allow_net": ["127.0.0.1:80"], "env": {"A": "1"}, "args": ["x"],
        "random_seed": 7, "on_denied": "error", "stdin": {"text": "in"}, "instance_pool": 2,
        "compile_cache": "/tmp/x", "max_module_size": "1MiB",
        "module_limits": {"functions": 10}, "wasm_exceptions": true, "wasm_gc": false,
        "allowed_modules": ["00"]
    }"#;
    let policy = Policy::from_json(full).unwrap();
    let value = serde_json::to_value(&policy).unwrap();
    // In field order or sorted, depending on serde_json's `preserve_order`.
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut names: Vec<&str> = OPTIONS.iter().map(|o| o.name).collect();
    keys.sort();
    names.sort();
    assert_eq!(keys, names);
    assert_eq!(policy.memory_limit.unwrap().0, 16 << 20);
    // The same policy in TOML.
    let toml = "memory_limit = \"16MiB\"\ntimeout = \"off\"\n[env]\nA = \"1\"\n";
    let p = Policy::from_toml(toml).unwrap();
    assert_eq!(p.env["A"], "1");
    assert!(matches!(
        p.timeout,
        Some(aegis_core::policy::Switch::Off(_))
    ));
}

#[test]
fn unknown_and_misspelled_options_are_refused_naming_them() {
    for text in [
        r#"{"memory_limt": 5}"#,
        r#"{"module_limits": {"functons": 1}}"#,
    ] {
        let (code, msg) = err_code(Policy::from_json(text));
        assert_eq!(code, ErrorCode::InvalidArgument);
        assert!(msg.contains("unknown field"), "{msg}");
    }
    let (code, msg) = err_code(Policy::from_json(r#"{"memory_limit": "5 apples"}"#));
    assert_eq!(code, ErrorCode::InvalidArgument, "{msg}");
    let (_, msg) = err_code(Policy::from_json(
        r#"{"map_dirs": [{"host": "/a", "guest": "/b", "access": "rw"}]}"#,
    ));
    assert!(msg.contains("access") || msg.contains("variant"), "{msg}");
}

#[test]
fn logging_and_capture_exclude_each_other() {
    let p = Policy::from_json(r#"{"allow_logging": true, "capture_output": 100}"#).unwrap();
    let (code, msg) = err_code(p.runtime_builder().map(|_| ()));
    assert_eq!(code, ErrorCode::InvalidArgument);
    assert!(msg.contains("allow_logging and capture_output"), "{msg}");
    // `capture_output: false` next to logging is fine.
    Policy::from_json(r#"{"allow_logging": true, "capture_output": false}"#)
        .unwrap()
        .runtime_builder()
        .unwrap();
}

#[test]
fn runtime_options_are_refused_on_a_sandbox_by_name() {
    let rt = Runtime::new().unwrap();
    for opt in OPTIONS.iter().filter(|o| o.scope == Scope::Runtime) {
        let value = match opt.name {
            "module_limits" => serde_json::json!({"functions": 1}),
            "allowed_modules" => serde_json::json!(["a".repeat(64)]),
            "compile_cache" => serde_json::json!("/tmp"),
            "wasm_exceptions" | "wasm_gc" => serde_json::json!(true),
            _ => serde_json::json!(65536),
        };
        let policy = Policy::from_value(serde_json::json!({ opt.name: value })).unwrap();
        let (code, msg) = err_code(policy.apply_to_sandbox(rt.sandbox()).map(|_| ()));
        assert_eq!(code, ErrorCode::InvalidArgument, "{}", opt.name);
        assert!(
            msg.contains(opt.name) && msg.contains("runtime option"),
            "{msg}"
        );
    }
}

#[test]
fn a_policy_configures_a_runtime_and_its_sandboxes() {
    let p = Policy::from_toml("fuel_limit = 1000\ntimeout = 2.5\nmemory_limit = \"1MiB\"").unwrap();
    let rt = Runtime::from_policy(&p).unwrap();
    assert_eq!(rt.limits().fuel, Some(1000));
    assert_eq!(rt.limits().memory, 1 << 20);
    assert_eq!(
        rt.limits().timeout,
        Some(std::time::Duration::from_millis(2500))
    );
    let m = rt
        .load_wat(r#"(module (func (export "spin") (loop (br 0))))"#)
        .unwrap();
    let sandbox_policy = Policy::from_json(r#"{"fuel_limit": 50}"#).unwrap();
    let mut sb = sandbox_policy
        .apply_to_sandbox(rt.sandbox())
        .unwrap()
        .build()
        .unwrap();
    sb.load_module(&m).unwrap();
    match sb.call_void("spin").unwrap_err() {
        Error::OutOfFuel { limit, .. } => assert_eq!(limit, 50),
        other => panic!("{other}"),
    }
    // Overriding: the later policy wins field by field.
    let merged = p.overridden_by(&sandbox_policy).unwrap();
    assert_eq!(serde_json::to_value(&merged).unwrap()["fuel_limit"], 50);
    assert_eq!(
        serde_json::to_value(&merged).unwrap()["memory_limit"],
        1 << 20
    );
}

#[test]
fn the_json_schema_is_generated_from_the_type_and_committed() {
    let schema = Policy::json_schema();
    for opt in OPTIONS {
        assert!(
            schema.contains(&format!("\"{}\"", opt.name)),
            "{}",
            opt.name
        );
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/policy.schema.json");
    let generated = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/generated/policy.schema.json");
    std::fs::create_dir_all(generated.parent().unwrap()).unwrap();
    std::fs::write(&generated, &schema).unwrap();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == schema,
        "docs/policy.schema.json is stale: copy {} over it",
        generated.display()
    );
}

const ADD: &str = r#"(module (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))"#;

#[test]
fn pinned_digests_refuse_other_modules_before_compiling() {
    let digest = aegis_core::sha256_hex(ADD.as_bytes());
    let rt = Aegis::builder()
        .with_allowed_modules([&digest])
        .build()
        .unwrap();
    rt.load_wat(ADD).unwrap();
    match rt.load_wat("(module)").unwrap_err() {
        Error::PermissionDenied {
            capability,
            operation,
            target,
        } => {
            assert_eq!(capability, Capability::Module);
            assert_eq!(operation, Operation::Load);
            assert!(target.starts_with("sha256:"), "{target}");
        }
        other => panic!("{other}"),
    }
    let (code, _) = err_code(Aegis::builder().with_allowed_modules(["zz"]).build());
    assert_eq!(code, ErrorCode::InvalidArgument);
    let p =
        Policy::from_value(serde_json::json!({"allowed_modules": [format!("sha256:{digest}")]}))
            .unwrap();
    Runtime::from_policy(&p).unwrap().load_wat(ADD).unwrap();
}

#[test]
fn a_denial_fails_the_call_when_the_policy_says_so() {
    // Reads the real clock, which is not granted.
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "clock_time_get" (func $now (param i32 i64 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "now") (result i32) (call $now (i32.const 0) (i64.const 0) (i32.const 8))))"#;
    let errno_rt = Runtime::new().unwrap();
    let mut sb = errno_rt.sandbox().build().unwrap();
    sb.load_module(&errno_rt.load_wat(wat).unwrap()).unwrap();
    // By default the guest reads a frozen clock and the refusal is recorded.
    let _: i32 = sb.call("now", ()).unwrap();
    assert_eq!(sb.last_call_metrics().denied_count, 1);
    let p = Policy::from_json(r#"{"on_denied": "error"}"#).unwrap();
    let rt = Runtime::from_policy(&p).unwrap();
    let mut sb = rt.sandbox().build().unwrap();
    sb.load_module(&rt.load_wat(wat).unwrap()).unwrap();
    let err = sb.call::<(), i32>("now", ()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::PermissionDenied);
    let details = err.to_json();
    assert_eq!(details["capability"], "clock");
    assert_eq!(details["operation"], "clock_time_get");
    assert_eq!(sb.last_call_metrics().denied_count, 1);
}

#[test]
fn every_error_detail_name_is_catalogued() {
    let samples = [
        Error::Link {
            module: "m".into(),
            name: "n".into(),
            reason: "r".into(),
        },
        Error::ExportNotFound {
            name: "x".into(),
            available: vec!["y".into()],
        },
        Error::OutOfFuel {
            consumed: 1,
            limit: 1,
        },
        Error::Timeout {
            elapsed: std::time::Duration::from_millis(1500),
            limit: std::time::Duration::from_secs(1),
        },
        Error::MemoryLimitExceeded {
            resource: Resource::Memory,
            requested: 2,
            limit: 1,
        },
        Error::StackOverflow { limit: 1 },
        Error::Trap {
            code: TrapCode::Unreachable,
            message: "m".into(),
            backtrace: String::new(),
        },
        Error::PermissionDenied {
            capability: Capability::Clock,
            operation: Operation::ClockTimeGet,
            target: "t".into(),
        },
        Error::Exit { status: 3 },
        Error::Interrupted {
            elapsed: std::time::Duration::ZERO,
        },
        Error::ModuleTooComplex {
            what: "w",
            found: 2,
            limit: 1,
        },
        Error::Busy,
    ];
    for e in &samples {
        for (name, _) in e.details() {
            assert!(aegis_core::details::DETAIL_NAMES.contains(&name), "{name}");
        }
        let json = e.to_json();
        assert_eq!(json["code"], e.code().as_str());
    }
    assert_eq!(
        samples[3].to_json()["elapsed"],
        1.5,
        "durations are seconds"
    );
}

#[test]
fn metrics_have_one_shape_with_seconds() {
    let rt = Runtime::new().unwrap();
    let mut sb = rt.sandbox().build().unwrap();
    sb.load_module(&rt.load_wat(ADD).unwrap()).unwrap();
    let _: i32 = sb.call("add", (1, 2)).unwrap();
    let json = sb.last_call_metrics().to_json();
    let keys: Vec<&str> = sb
        .last_call_metrics()
        .fields()
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(keys, METRIC_NAMES);
    assert!(json["wall_time"].is_f64(), "{json}");
    assert_eq!(json["calls"], 1);
}

#[test]
fn a_busy_sandbox_refuses_reentry_and_other_threads_at_once() {
    let rt = Runtime::new().unwrap();
    let shared = Arc::new(SharedSandbox::new(rt.sandbox().build().unwrap()));
    let inner = Arc::clone(&shared);
    let spin = rt
        .load_wat(
            r#"(module (import "env" "reenter" (func $r (result i32)))
            (func (export "go") (result i32) (call $r)))"#,
        )
        .unwrap();
    shared
        .with(|sb| {
            sb.register_func("env", "reenter", move || -> i32 {
                let again = inner.with(|_| Ok(()));
                assert!(matches!(again, Err(Error::Busy)));
                // Another thread is refused too, at once.
                let other = Arc::clone(&inner);
                let from_thread = std::thread::spawn(move || other.with(|_| Ok(())))
                    .join()
                    .unwrap();
                assert!(matches!(from_thread, Err(Error::Busy)));
                7
            })?;
            sb.load_module(&spin)
        })
        .unwrap();
    let got: i32 = shared.with(|sb| sb.call("go", ())).unwrap();
    assert_eq!(got, 7);
    assert!(!shared.is_busy());
    let held = shared.enter().unwrap();
    assert_eq!(shared.with(|_| Ok(())).unwrap_err().code(), ErrorCode::Busy);
    drop(held);
    shared.with(|_| Ok(())).unwrap();
}

#[test]
fn proc_exit_zero_is_success_for_exports_without_results_in_every_call_api() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "quit") (call $exit (i32.const 0)))
      (func (export "quit_with_result") (result i32) (call $exit (i32.const 0)) (i32.const 1)))"#;
    let rt = Runtime::new().unwrap();
    let mut sb = rt.sandbox().build().unwrap();
    sb.load_module(&rt.load_wat(wat).unwrap()).unwrap();
    sb.call::<(), ()>("quit", ()).unwrap();
    assert!(sb.call_dynamic("quit", &[]).unwrap().is_empty());
    sb.call_void("quit").unwrap();
    let (code, _) = err_code(sb.call::<(), i32>("quit_with_result", ()));
    assert_eq!(code, ErrorCode::Exit);
    let (code, _) = err_code(sb.call_dynamic("quit_with_result", &[]));
    assert_eq!(code, ErrorCode::Exit);
}

#[test]
fn inspect_with_a_policy_names_denied_and_unsatisfied_imports() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "args_get" (func (param i32 i32) (result i32)))
      (import "env" "log" (func)))"#;
    let rt = Runtime::new().unwrap();
    let info = rt.inspect(wat.as_bytes()).unwrap();
    let policy = Policy::from_json(r#"{"allow_clock": true}"#).unwrap();
    let verdicts: Vec<ImportVerdict> = policy.review(&info).into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        verdicts,
        [
            ImportVerdict::Denied(Capability::Filesystem),
            ImportVerdict::Granted,
            ImportVerdict::Granted,
            ImportVerdict::Unsatisfied
        ]
    );
}

/// The README's options table, as the options list renders it.
fn options_table() -> String {
    let mut out = String::from(
        "| option | scope | default | unit or form | meaning |\n|---|---|---|---|---|\n",
    );
    for o in OPTIONS {
        let scope = match o.scope {
            Scope::Both => "both",
            Scope::Runtime => "runtime",
        };
        out.push_str(&format!(
            "| `{}` | {scope} | {} | {} | {} |\n",
            o.name,
            o.default,
            o.unit.replace('|', "\\|"),
            o.doc
        ));
    }
    out
}

fn readme() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
        .unwrap()
}

#[test]
fn the_readme_options_table_is_the_options_list() {
    let text = readme();
    let begin = "<!-- options:begin -->\n";
    let start = text
        .find(begin)
        .expect("README has the options table markers")
        + begin.len();
    let end = text.find("<!-- options:end -->").unwrap();
    let generated =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/generated/options.md");
    std::fs::create_dir_all(generated.parent().unwrap()).unwrap();
    std::fs::write(&generated, options_table()).unwrap();
    assert!(
        text[start..end] == options_table(),
        "README.md's options table is stale: replace it with {}",
        generated.display()
    );
}

#[test]
fn the_readme_policy_file_parses() {
    let text = readme();
    let start = text
        .find("```toml\n# policy.toml\n")
        .expect("README has the policy example")
        + 8;
    let end = start + text[start..].find("```").unwrap();
    let policy = Policy::from_toml(&text[start..end]).unwrap();
    policy.runtime_builder().unwrap();
    assert_eq!(policy.env["PLUGIN_MODE"], "strict");
}

#[test]
fn a_bad_value_names_its_option() {
    for (text, path) in [
        (r#"{"memory_limit": {}}"#, "`memory_limit`"),
        (
            r#"{"map_dirs": [{"host": "/a", "guest": "/b", "access": "rw"}]}"#,
            "`map_dirs[0].access`",
        ),
        (r#"{"timeout": "soon"}"#, "`timeout`"),
    ] {
        let (_, msg) = err_code(Policy::from_json(text));
        assert!(msg.contains(path), "{msg}");
    }
}

#[test]
fn a_guest_path_granted_twice_is_refused_by_every_builder() {
    let dir = tempfile::tempdir().unwrap();
    let p = Policy::from_value(serde_json::json!({"map_dirs": [
        {"host": dir.path(), "guest": "/data"}, {"host": dir.path(), "guest": "/data/"}]}))
    .unwrap();
    let (code, msg) = err_code(Runtime::from_policy(&p));
    assert_eq!(code, ErrorCode::InvalidArgument);
    assert!(msg.contains("granted twice"), "{msg}");
    let rt = Runtime::new().unwrap();
    let (code, _) = err_code(p.apply_to_sandbox(rt.sandbox()).unwrap().build());
    assert_eq!(code, ErrorCode::InvalidArgument);
}

#[test]
fn a_sandbox_policy_can_take_back_output_and_the_clock() {
    let rt = Runtime::from_policy(
        &Policy::from_json(r#"{"capture_output": true, "allow_clock": true}"#).unwrap(),
    )
    .unwrap();
    let off = Policy::from_json(r#"{"capture_output": false, "allow_clock": false}"#).unwrap();
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "clock_time_get" (func $now (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "hi")
      (func (export "go")
        (drop (call $now (i32.const 0) (i64.const 0) (i32.const 8)))
        (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 2))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
    let module = rt.load_wat(wat).unwrap();
    let mut granted = rt.sandbox().build().unwrap();
    granted.load_module(&module).unwrap();
    granted.call_void("go").unwrap();
    assert_eq!(granted.stdout(), b"hi");
    assert_eq!(granted.last_call_metrics().denied_count, 0);
    let mut taken = off.apply_to_sandbox(rt.sandbox()).unwrap().build().unwrap();
    taken.load_module(&module).unwrap();
    taken.call_void("go").unwrap();
    assert!(taken.stdout().is_empty());
    let denied: Vec<&str> = taken
        .last_call_metrics()
        .denied
        .iter()
        .map(|d| d.capability.as_str())
        .collect();
    assert_eq!(denied, ["clock", "logging"]);
}

#[test]
fn arguments_from_any_language_follow_one_rule() {
    use aegis_core::Arg;
    let rt = Runtime::new().unwrap();
    let mut sb = rt.sandbox().build().unwrap();
    sb.load_module(&rt.load_wat(ADD).unwrap()).unwrap();
    let sum = sb
        .call_args("add", &[Arg::Int(2), Arg::Text("0x3".into())])
        .unwrap();
    assert_eq!(sum, [aegis_core::Value::I32(5)]);
    assert_eq!(
        sb.call_args("add", &[Arg::Bool(true), Arg::Int(u32::MAX.into())])
            .unwrap(),
        [aegis_core::Value::I32(0)]
    );
    match sb
        .call_args("add", &[Arg::Float(1.5), Arg::Other("str".into())])
        .unwrap_err()
    {
        Error::SignatureMismatch { given, .. } => assert_eq!(given, "arguments (float, str)"),
        other => panic!("{other}"),
    }
    let err = sb
        .call_args("add", &[Arg::Int(1 << 40), Arg::Int(0)])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("argument 1 of `add`"), "{err}");
}
