//! The checks Aegis puts in front of wasmtime-wasi's filesystem: what a guest
//! leaves behind (symlinks), what metadata tells it (timestamps), which files
//! it may open (no FIFOs, devices or sockets), and how refusals are named.
//! Every case runs the preview-1 module and, where the guest can express it,
//! the WASI 0.2 component.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use aegis_core::{Aegis, DirAccess, ErrorCode};
use common::{Outcome, run_command};

const BOTH: [&str; 2] = ["probe-p1.wasm", "probe-p2.wasm"];

fn filesystem_denials(o: &Outcome) -> Vec<(String, String)> {
    o.metrics
        .denied
        .iter()
        .filter(|d| d.capability == "filesystem")
        .map(|d| (d.operation.to_string(), d.target.clone()))
        .collect()
}

fn refused(o: &Outcome, what: &str) {
    assert_eq!(
        o.result.as_ref().map_err(|e| e.code()),
        Err(ErrorCode::Exit),
        "{what}: {o:?}"
    );
    assert!(o.ok_line().starts_with("error:"), "{what}: {}", o.stdout);
    assert!(
        !filesystem_denials(o).is_empty(),
        "{what}: the refusal was not recorded: {o:?}"
    );
}

/// Refused by Aegis's own checks: `EPERM` (preview 1) / `not-permitted`
/// (WASI 0.2), which the guest's libc reports as errno 63.
fn refused_eperm(o: &Outcome, what: &str) {
    refused(o, what);
    assert!(o.stdout.contains("(os error 63)"), "{what}: {}", o.stdout);
}

fn succeeded(o: &Outcome, what: &str) {
    assert!(o.result.is_ok(), "{what}: {o:?}");
    assert!(o.ok_line().starts_with("ok:"), "{what}: {}", o.stdout);
}

/// `root/grant/` (holding `inside.txt` and `sub/`) next to `root/secret.txt`.
fn grant() -> (tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let grant = root.path().join("grant");
    fs::create_dir_all(grant.join("sub")).unwrap();
    fs::write(grant.join("inside.txt"), "inside").unwrap();
    fs::write(root.path().join("secret.txt"), "TOP SECRET").unwrap();
    (root, grant)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---------------------------------------------------------------- symlinks

#[test]
fn a_guest_cannot_leave_behind_a_symlink_that_climbs_out_of_its_grant() {
    for guest in BOTH {
        let (_root, grant) = grant();
        // Every target with a `..` is refused: the ones that climb out at
        // once, the ones that climb out through a subdirectory, and the ones
        // that would stay inside today but leave after a rename or through
        // another link (see SECURITY.md).
        let attempts = [
            ("evil", "../../../.."),
            ("evil", ".."),
            ("evil", "../secret.txt"),
            ("evil", "sub/../../secret.txt"),
            ("sub/evil", "../../secret.txt"),
            ("sub/up", ".."),
            ("sub/evil", "../inside.txt"),
            ("evil", "./.."),
            ("evil", "/etc/passwd"),
            ("evil", "/"),
        ];
        for (link, target) in attempts {
            let path = grant.join(link);
            let o = run_command(guest, &["symlink", target, s(&path)], |b| {
                b.allow_write(&grant)
            });
            refused_eperm(&o, &format!("{guest}: {link} -> {target}"));
            assert!(
                fs::symlink_metadata(&path).is_err(),
                "{guest}: {link} -> {target} was created"
            );
            let ops = filesystem_denials(&o);
            let expected_op = if guest == "probe-p1.wasm" {
                "path_symlink"
            } else {
                "symlink-at"
            };
            assert!(
                ops.iter()
                    .any(|(op, t)| op == expected_op && t.contains(target)),
                "{guest}: {ops:?}"
            );
        }
    }
}

#[test]
fn symlinks_that_descend_inside_the_grant_still_work() {
    for guest in BOTH {
        let (_root, grant) = grant();
        for (link, target) in [
            ("alias", "inside.txt"),
            ("dot-alias", "./inside.txt"),
            ("sub/to-missing", "not/yet/there"),
            ("subdir", "sub"),
        ] {
            let path = grant.join(link);
            let o = run_command(guest, &["symlink", target, s(&path)], |b| {
                b.allow_write(&grant)
            });
            succeeded(&o, &format!("{guest}: {link} -> {target}"));
            assert_eq!(fs::read_link(&path).unwrap(), Path::new(target));
        }
        let o = run_command(guest, &["read", s(&grant.join("alias"))], |b| {
            b.allow_read(&grant)
        });
        assert_eq!(o.ok_line(), "ok: read 6 bytes: inside", "{guest}");
    }
}

#[test]
fn a_read_only_grant_refuses_every_symlink() {
    for guest in BOTH {
        let (_root, grant) = grant();
        let o = run_command(
            guest,
            &["symlink", "inside.txt", s(&grant.join("alias"))],
            |b| b.allow_read(&grant),
        );
        refused(&o, guest);
        assert!(fs::symlink_metadata(grant.join("alias")).is_err());
    }
}

#[test]
fn hard_links_stay_inside_the_grant_at_both_ends() {
    for guest in BOTH {
        let (root, grant) = grant();
        let secret = root.path().join("secret.txt");
        // Into the grant from outside, and out of the grant from inside.
        for (from, to) in [
            (secret.clone(), grant.join("hard")),
            (grant.join("inside.txt"), root.path().join("hard-out")),
        ] {
            let o = run_command(guest, &["hardlink", s(&from), s(&to)], |b| {
                b.allow_write(&grant)
            });
            assert!(o.ok_line().starts_with("error:"), "{guest}: {o:?}");
            assert!(!to.exists(), "{guest}: {} was linked", to.display());
        }
        // Within the grant a hard link is fine.
        let o = run_command(
            guest,
            &[
                "hardlink",
                s(&grant.join("inside.txt")),
                s(&grant.join("sub/hard")),
            ],
            |b| b.allow_write(&grant),
        );
        succeeded(&o, guest);
    }
}

/// Raw `path_link` calls with `..` at either end, past any guest libc.
const RAW_LINK: &str = r#"(module
    (import "wasi_snapshot_preview1" "path_link"
        (func $link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "../secret.txt")
    (data (i32.const 16) "hard")
    (data (i32.const 32) "inside.txt")
    (data (i32.const 48) "../hard-out")
    (func (export "link_in") (result i32)
        (call $link (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 13)
            (i32.const 3) (i32.const 16) (i32.const 4)))
    (func (export "link_out") (result i32)
        (call $link (i32.const 3) (i32.const 0) (i32.const 32) (i32.const 10)
            (i32.const 3) (i32.const 48) (i32.const 11))))"#;

#[test]
fn raw_hard_links_are_confined_to_the_grant_at_both_ends() {
    let (root, grant) = grant();
    let rt = Aegis::builder()
        .map_dir(&grant, "/g", DirAccess::ReadWrite)
        .build()
        .unwrap();
    let module = rt.load_wat(RAW_LINK).unwrap();
    let mut sb = rt.sandbox().build().unwrap();
    sb.load_module(&module).unwrap();
    for export in ["link_in", "link_out"] {
        let errno: i32 = sb.call(export, ()).unwrap();
        assert_ne!(errno, 0, "{export}");
        assert_eq!(sb.last_call_metrics().denied_count, 1, "{export}");
    }
    assert!(!grant.join("hard").exists());
    assert!(!root.path().join("hard-out").exists());
}

#[test]
fn a_guest_cannot_hard_link_or_move_a_host_symlink_to_where_it_escapes() {
    // The host's own `deep/up -> ../x` stays inside the grant; the same link
    // one level higher would not.
    for guest in BOTH {
        let (_root, grant) = grant();
        fs::create_dir(grant.join("deep")).unwrap();
        std::os::unix::fs::symlink("../inside.txt", grant.join("deep/up")).unwrap();
        for op in ["hardlink", "rename"] {
            let to = grant.join("moved");
            let o = run_command(guest, &[op, s(&grant.join("deep/up")), s(&to)], |b| {
                b.allow_write(&grant)
            });
            refused_eperm(&o, &format!("{guest} {op}"));
            assert!(fs::symlink_metadata(&to).is_err(), "{guest} {op}");
            assert!(fs::symlink_metadata(grant.join("deep/up")).is_ok());
        }
        // A symlink that descends may be moved and linked like any file.
        std::os::unix::fs::symlink("inside.txt", grant.join("alias")).unwrap();
        let o = run_command(
            guest,
            &[
                "rename",
                s(&grant.join("alias")),
                s(&grant.join("sub/alias")),
            ],
            |b| b.allow_write(&grant),
        );
        succeeded(&o, guest);
    }
}

// -------------------------------------------------------------- timestamps

#[test]
fn without_the_clock_grant_every_file_timestamp_reads_zero() {
    for guest in BOTH {
        let (_root, grant) = grant();
        // A file the host made just now, and one the guest makes itself.
        let made = grant.join("made.txt");
        let o = run_command(guest, &["write", s(&made), "x"], |b| b.allow_write(&grant));
        succeeded(&o, guest);
        for path in [grant.join("inside.txt"), made.clone(), grant.clone()] {
            let o = run_command(guest, &["times", s(&path)], |b| b.allow_write(&grant));
            assert_eq!(
                o.ok_line(),
                "ok: all timestamps are zero",
                "{guest} {}: {o:?}",
                path.display()
            );
            let o = run_command(guest, &["stat", s(&path)], |b| b.allow_read(&grant));
            assert!(o.ok_line().ends_with(" mtime=0"), "{guest}: {}", o.stdout);
        }
        // A later write by the host stamps the file with host time again.
        fs::write(&made, "y").unwrap();
        let o = run_command(guest, &["times", s(&made)], |b| b.allow_write(&grant));
        assert_eq!(o.ok_line(), "ok: all timestamps are zero", "{guest}");
    }
}

#[test]
fn with_the_clock_grant_timestamps_are_the_real_ones() {
    for guest in BOTH {
        let (_root, grant) = grant();
        let o = run_command(guest, &["times", s(&grant.join("inside.txt"))], |b| {
            b.allow_read(&grant).allow_clock()
        });
        assert!(
            o.ok_line().contains("host time visible"),
            "{guest}: {}",
            o.stdout
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let o = run_command(guest, &["stat", s(&grant.join("inside.txt"))], |b| {
            b.allow_read(&grant).allow_clock()
        });
        let mtime: u64 = o
            .ok_line()
            .rsplit_once("mtime=")
            .unwrap()
            .1
            .parse()
            .unwrap();
        assert!(now.abs_diff(mtime) < 600, "{guest}: {mtime} vs {now}");
    }
}

/// A raw preview-1 module: `fstat`/`pstat` return the errno, the filestat
/// lands at offset 64.
const RAW_STAT: &str = r#"(module
    (import "wasi_snapshot_preview1" "fd_filestat_get"
        (func $fstat (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "path_filestat_get"
        (func $pstat (param i32 i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "path_filestat_set_times"
        (func $touch (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "f.txt")
    (func (export "fstat") (result i32) (call $fstat (i32.const 3) (i32.const 64)))
    (func (export "pstat") (result i32)
        (call $pstat (i32.const 3) (i32.const 1) (i32.const 0) (i32.const 5) (i32.const 64)))
    (func (export "touch_now") (result i32)
        ;; ATIM_NOW | MTIM_NOW
        (call $touch (i32.const 3) (i32.const 1) (i32.const 0) (i32.const 5)
            (i64.const 0) (i64.const 0) (i32.const 10)))
    (func (export "atim") (result i64) (i64.load (i32.const 104)))
    (func (export "mtim") (result i64) (i64.load (i32.const 112)))
    (func (export "ctim") (result i64) (i64.load (i32.const 120)))
    (func (export "size") (result i64) (i64.load (i32.const 96)))
    (func (export "filetype") (result i32) (i32.load8_u (i32.const 80))))"#;

#[test]
fn raw_preview1_filestats_carry_no_host_time_without_the_clock_grant() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f.txt"), "12345").unwrap();
    for clock in [false, true] {
        let mut b = Aegis::builder().map_dir(dir.path(), "/d", DirAccess::ReadWrite);
        if clock {
            b = b.allow_clock();
        }
        let rt = b.build().unwrap();
        let module = rt.load_wat(RAW_STAT).unwrap();
        let mut sb = rt.sandbox().build().unwrap();
        sb.load_module(&module).unwrap();
        for stat in ["fstat", "pstat", "touch_now", "pstat"] {
            let errno: i32 = sb.call(stat, ()).unwrap();
            assert_eq!(errno, 0, "{stat}");
            if stat == "touch_now" {
                continue;
            }
            let times: Vec<i64> = ["atim", "mtim", "ctim"]
                .iter()
                .map(|f| sb.call(f, ()).unwrap())
                .collect();
            if clock {
                assert!(times.iter().all(|&t| t > 0), "{stat}: {times:?}");
            } else {
                assert_eq!(times, [0, 0, 0], "{stat}");
            }
            // The rest of the filestat is untouched.
            let filetype: i32 = sb.call("filetype", ()).unwrap();
            assert_eq!(filetype, if stat == "fstat" { 3 } else { 4 }, "{stat}");
            if stat == "pstat" {
                let size: i64 = sb.call("size", ()).unwrap();
                assert_eq!(size, 5);
            }
        }
    }
}

// ----------------------------------------------------------- special files

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Runs `guest` under a 5-second deadline and checks it ended well before it.
fn run_quickly(guest: &str, args: &[&str], dir: &Path, access: DirAccess) -> Outcome {
    let rt = Aegis::builder()
        .with_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let module = rt.load_file(common::guest(guest)).unwrap();
    let mut argv = vec![guest];
    argv.extend(args);
    let mut sb = rt
        .sandbox()
        .capture_output(1 << 16)
        .map_dir(dir, s(dir), access)
        .with_args(argv)
        .build()
        .unwrap();
    sb.load_module(&module).unwrap();
    let start = Instant::now();
    let result = sb.run().map(|_| ());
    let elapsed = start.elapsed();
    let o = Outcome {
        result,
        stdout: String::from_utf8_lossy(&sb.stdout()).into_owned(),
        stderr: String::from_utf8_lossy(&sb.stderr()).into_owned(),
        metrics: sb.metrics().clone(),
    };
    assert!(
        elapsed < Duration::from_secs(2),
        "{guest} {args:?} took {elapsed:?}: {o:?}"
    );
    o
}

#[test]
fn opening_a_fifo_in_a_grant_is_refused_without_waiting() {
    for guest in BOTH {
        let (_root, grant) = grant();
        let fifo = grant.join("pipe");
        mkfifo(&fifo);
        std::os::unix::fs::symlink("pipe", grant.join("to-pipe")).unwrap();
        for args in [
            vec!["read", s(&fifo)],
            vec!["read", s(&grant.join("to-pipe"))],
            vec!["write", s(&fifo), "x"],
            vec!["append", s(&fifo), "x"],
        ] {
            let o = run_quickly(guest, &args, &grant, DirAccess::ReadWrite);
            refused_eperm(&o, &format!("{guest} {args:?}"));
            assert!(
                filesystem_denials(&o)
                    .iter()
                    .any(|(op, t)| (op == "path_open" || op == "open-at") && t.contains("pipe")),
                "{guest}: {o:?}"
            );
        }
        // Looking at it never opens it, so never waits.
        for op in ["stat", "lstat"] {
            let o = run_quickly(guest, &[op, s(&fifo)], &grant, DirAccess::ReadOnly);
            succeeded(&o, &format!("{guest} {op}"));
        }
        let o = run_quickly(guest, &["ls", s(&grant)], &grant, DirAccess::ReadOnly);
        assert!(o.ok_line().contains("pipe"), "{guest}: {o:?}");
    }
}

#[test]
fn sockets_and_devices_in_a_grant_are_refused() {
    for guest in BOTH {
        let (_root, grant) = grant();
        let sock = grant.join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let o = run_quickly(guest, &["read", s(&sock)], &grant, DirAccess::ReadOnly);
        refused_eperm(&o, &format!("{guest} socket"));
        // /dev/null never blocks, but it is not a regular file either.
        let o = run_quickly(
            guest,
            &["read", "/dev/null"],
            Path::new("/dev"),
            DirAccess::ReadOnly,
        );
        refused_eperm(&o, &format!("{guest} /dev/null"));
        // Regular files and directories still open.
        let o = run_quickly(
            guest,
            &["read", s(&grant.join("inside.txt"))],
            &grant,
            DirAccess::ReadOnly,
        );
        assert_eq!(o.ok_line(), "ok: read 6 bytes: inside", "{guest}");
        let o = run_quickly(guest, &["ls", s(&grant)], &grant, DirAccess::ReadOnly);
        succeeded(&o, guest);
    }
}

#[test]
fn creating_a_new_file_is_unaffected_by_the_special_file_check() {
    for guest in BOTH {
        let (_root, grant) = grant();
        let new = grant.join("sub/new.txt");
        let o = run_command(guest, &["write", s(&new), "fresh"], |b| {
            b.allow_write(&grant)
        });
        succeeded(&o, guest);
        assert_eq!(fs::read_to_string(&new).unwrap(), "fresh");
    }
}

// ------------------------------------------------------ naming the refusal

const RENUMBER: &str = r#"(module
    (import "wasi_snapshot_preview1" "fd_renumber"
        (func $renumber (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_close"
        (func $close (param i32) (result i32)))
    (import "wasi_snapshot_preview1" "path_open"
        (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "path_create_directory"
        (func $mkdir (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "new.txt")
    (data (i32.const 16) "sub")
    ;; fd_renumber(4, 3): the second grant's directory becomes fd 3.
    (func (export "renumber") (result i32) (call $renumber (i32.const 4) (i32.const 3)))
    (func (export "close") (param i32) (result i32) (call $close (local.get 0)))
    ;; path_open(fd, "sub", O_DIRECTORY) -> the new fd, or -errno.
    (func (export "open_sub") (param i32) (result i32)
        (local $errno i32)
        (local.set $errno
            (call $open (local.get 0) (i32.const 1) (i32.const 16) (i32.const 3)
                (i32.const 2) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 100)))
        (if (result i32) (local.get $errno)
            (then (i32.sub (i32.const 0) (local.get $errno)))
            (else (i32.load (i32.const 100)))))
    ;; Create "new.txt" under fd: refused in a read-only grant.
    (func (export "create") (param i32) (result i32)
        ;; rights: fd_read | fd_write
        (call $open (local.get 0) (i32.const 1) (i32.const 0) (i32.const 7)
            (i32.const 1) (i64.const 66) (i64.const 0) (i32.const 0) (i32.const 100)))
    (func (export "mkdir") (param i32) (result i32)
        (call $mkdir (local.get 0) (i32.const 0) (i32.const 7))))"#;

fn renumber_sandbox() -> (tempfile::TempDir, aegis_core::Sandbox) {
    let root = tempfile::tempdir().unwrap();
    for d in ["a", "b"] {
        fs::create_dir_all(root.path().join(d).join("sub")).unwrap();
    }
    let rt = Aegis::builder()
        .map_dir(root.path().join("a"), "/first", DirAccess::ReadOnly)
        .map_dir(root.path().join("b"), "/second", DirAccess::ReadOnly)
        .build()
        .unwrap();
    let module = rt.load_wat(RENUMBER).unwrap();
    let mut sb = rt.sandbox().build().unwrap();
    sb.load_module(&module).unwrap();
    (root, sb)
}

fn last_denied_target(sb: &aegis_core::Sandbox) -> String {
    let m = sb.last_call_metrics();
    assert_eq!(m.denied_count, 1, "{m:?}");
    m.denied[0].target.clone()
}

#[test]
fn after_fd_renumber_refusals_name_the_grant_the_descriptor_belongs_to() {
    let (_root, mut sb) = renumber_sandbox();
    assert_ne!(sb.call::<i32, i32>("create", 3).unwrap(), 0);
    assert_eq!(last_denied_target(&sb), "/first/new.txt");
    assert_eq!(sb.call::<(), i32>("renumber", ()).unwrap(), 0);
    assert_ne!(sb.call::<i32, i32>("create", 3).unwrap(), 0);
    assert_eq!(last_denied_target(&sb), "/second/new.txt");
    // fd 4 is gone; a refusal through a number that names nothing says so.
    assert_ne!(sb.call::<i32, i32>("mkdir", 4).unwrap(), 0);
    assert_eq!(sb.last_call_metrics().denied_count, 0);
}

#[test]
fn refusals_through_a_subdirectory_descriptor_name_its_path() {
    let (_root, mut sb) = renumber_sandbox();
    let sub: i32 = sb.call("open_sub", 4).unwrap();
    assert!(sub > 4, "open_sub: {sub}");
    assert_ne!(sb.call::<i32, i32>("create", sub).unwrap(), 0);
    assert_eq!(last_denied_target(&sb), "/second/sub/new.txt");
    // Closing it and opening the first grant's `sub` reuses the number.
    assert_eq!(sb.call::<i32, i32>("close", sub).unwrap(), 0);
    let again: i32 = sb.call("open_sub", 3).unwrap();
    assert_eq!(again, sub);
    assert_ne!(sb.call::<i32, i32>("mkdir", again).unwrap(), 0);
    assert_eq!(last_denied_target(&sb), "/first/sub/new.txt");
}
