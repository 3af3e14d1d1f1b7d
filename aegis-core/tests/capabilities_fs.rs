//! Filesystem grants, enforced by wasmtime-wasi preopens, tried by real guests.

mod common;

use std::fs;

use aegis_core::{DirAccess, ErrorCode};
use common::run_command;

fn denied_ops(o: &common::Outcome) -> Vec<(String, String)> {
    o.metrics
        .denied
        .iter()
        .filter(|d| d.capability == "filesystem")
        .map(|d| (d.operation.to_string(), d.target.clone()))
        .collect()
}

#[test]
fn reads_a_file_in_a_read_only_grant_p1_and_p2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hello.txt");
    fs::write(&file, "granted").unwrap();
    for guest in ["probe-p1.wasm", "probe-p2.wasm"] {
        let o = run_command(guest, &["read", file.to_str().unwrap()], |b| {
            b.allow_read(dir.path())
        });
        assert!(o.result.is_ok(), "{guest}: {o:?}");
        assert_eq!(o.ok_line(), "ok: read 7 bytes: granted", "{guest}");
        assert_eq!(o.metrics.denied_count, 0);
    }
}

#[test]
fn writes_into_a_read_write_grant() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new.txt");
    let o = run_command(
        "probe-p1.wasm",
        &["write", file.to_str().unwrap(), "from guest"],
        |b| b.allow_write(dir.path()),
    );
    assert!(o.result.is_ok(), "{o:?}");
    assert_eq!(fs::read_to_string(&file).unwrap(), "from guest");
    let sub = dir.path().join("sub");
    let o = run_command("probe-p1.wasm", &["mkdir", sub.to_str().unwrap()], |b| {
        b.allow_write(dir.path())
    });
    assert!(o.result.is_ok() && sub.is_dir(), "{o:?}");
}

#[test]
fn guest_path_can_differ_from_host_path() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("cfg.toml"), "x = 1").unwrap();
    let o = run_command("probe-p1.wasm", &["read", "/data/cfg.toml"], |b| {
        b.map_dir(dir.path(), "/data", DirAccess::ReadOnly)
    });
    assert_eq!(o.ok_line(), "ok: read 5 bytes: x = 1", "{o:?}");
}

#[test]
fn read_only_grant_refuses_every_mutation_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keep.txt");
    fs::write(&file, "original").unwrap();
    fs::create_dir(dir.path().join("subdir")).unwrap();
    let f = file.to_str().unwrap().to_string();
    let d = dir.path().to_str().unwrap().to_string();
    let attempts: Vec<(&str, Vec<String>)> = vec![
        ("write", vec![f.clone(), "overwritten".into()]),
        ("write", vec![format!("{d}/created.txt"), "x".into()]),
        ("append", vec![f.clone(), "more".into()]),
        ("truncate", vec![f.clone()]),
        ("unlink", vec![f.clone()]),
        ("rename", vec![f.clone(), format!("{d}/renamed.txt")]),
        ("mkdir", vec![format!("{d}/newdir")]),
        ("rmdir", vec![format!("{d}/subdir")]),
        ("hardlink", vec![f.clone(), format!("{d}/hard.txt")]),
    ];
    for (op, args) in attempts {
        let mut argv = vec![op];
        argv.extend(args.iter().map(String::as_str));
        let o = run_command("probe-p1.wasm", &argv, |b| b.allow_read(dir.path()));
        assert_eq!(
            o.result.as_ref().unwrap_err().code(),
            ErrorCode::Exit,
            "{op}: {o:?}"
        );
        assert!(o.ok_line().starts_with("error:"), "{op}: {}", o.stdout);
        assert!(o.metrics.denied_count >= 1, "{op} was not recorded: {o:?}");
        let ops = denied_ops(&o);
        assert!(
            ops.iter().any(|(_, target)| target.starts_with(&d)),
            "{op}: {ops:?}"
        );
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "original");
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["keep.txt", "subdir"]);
}

#[test]
fn nothing_outside_a_grant_is_reachable() {
    let root = tempfile::tempdir().unwrap();
    let grant = root.path().join("grant");
    fs::create_dir(&grant).unwrap();
    fs::write(grant.join("inside.txt"), "in").unwrap();
    let secret = root.path().join("secret.txt");
    fs::write(&secret, "TOP SECRET").unwrap();
    std::os::unix::fs::symlink(&secret, grant.join("link-out")).unwrap();
    let g = grant.to_str().unwrap();
    let o = run_command("escape.wasm", &[g, secret.to_str().unwrap()], |b| {
        b.allow_write(&grant)
    });
    assert!(o.result.is_ok(), "an attempt escaped:\n{}", o.stdout);
    for attempt in [
        "absolute",
        "dotdot",
        "deep-dotdot",
        "host-symlink",
        "hardlink-in",
        "rename-out",
    ] {
        assert!(
            o.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{attempt}: blocked"))),
            "{attempt} missing from:\n{}",
            o.stdout
        );
    }
    assert!(!o.stdout.contains("ESCAPED"), "{}", o.stdout);
    assert!(o.metrics.denied_count >= 3, "{:?}", o.metrics);
    assert_eq!(fs::read_to_string(&secret).unwrap(), "TOP SECRET");
    assert!(!root.path().join("moved").exists());
}

#[test]
fn without_a_grant_no_file_is_visible() {
    let o = run_command("probe-p1.wasm", &["read", "/etc/passwd"], |b| b);
    assert!(o.ok_line().starts_with("error:"), "{o:?}");
    let o = run_command("probe-p1.wasm", &["ls", "/"], |b| b);
    assert!(o.ok_line().starts_with("error:"), "{o:?}");
}

#[test]
fn raw_wasi_calls_with_absolute_and_dotdot_paths_are_refused_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = aegis_core::Aegis::builder()
        .map_dir(dir.path(), "/sandbox", DirAccess::ReadWrite)
        .build()
        .unwrap();
    // fd 3 is the first preopen. Try "/etc/passwd" and "../../etc/passwd" relative to it.
    let module = runtime
        .load_wat(
            r#"(module
                (import "wasi_snapshot_preview1" "path_open"
                    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
                (memory (export "memory") 1)
                (data (i32.const 0) "/etc/passwd")
                (data (i32.const 32) "../../etc/passwd")
                (func (export "absolute") (result i32)
                    (call $open (i32.const 3) (i32.const 1) (i32.const 0) (i32.const 11)
                        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100)))
                (func (export "dotdot") (result i32)
                    (call $open (i32.const 3) (i32.const 1) (i32.const 32) (i32.const 16)
                        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100))))"#,
        )
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    for (export, path) in [
        ("absolute", "/etc/passwd"),
        ("dotdot", "/sandbox/../../etc/passwd"),
    ] {
        let errno: i32 = sandbox.call(export, ()).unwrap();
        assert_ne!(errno, 0, "{export} opened a file outside the grant");
        let m = sandbox.last_call_metrics();
        assert_eq!(m.denied_count, 1, "{export}: errno {errno}, {m:?}");
        assert_eq!(m.denied[0].operation, "path_open");
        assert_eq!(m.denied[0].target, path);
    }
}

#[test]
fn a_guest_cannot_hoard_host_file_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    fs::write(&file, "x").unwrap();
    let o = run_command(
        "probe-p1.wasm",
        &["openmany", file.to_str().unwrap(), "100000"],
        |b| b.allow_read(dir.path()).with_handle_limit(64),
    );
    let err = o.result.expect_err("the guest cannot open 100000 files");
    assert_eq!(
        err.code(),
        ErrorCode::MemoryLimitExceeded,
        "{err} / {}",
        o.stdout
    );
    assert!(err.to_string().contains("handles"), "{err}");
}
