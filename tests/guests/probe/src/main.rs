//! A hostile-but-honest test guest. `probe <op> [args...]` tries one thing
//! through the Rust standard library (so through real WASI calls), prints
//! `ok: ...` or `error: <kind>: <message>` and exits 0 or 1.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map(String::as_str).unwrap_or("");
    let a = |i: usize| args.get(i).cloned().unwrap_or_default();
    let result: std::io::Result<String> = match op {
        "size" => std::fs::read(a(2)).map(|b| format!("read {} bytes", b.len())),
        "read" => std::fs::read_to_string(a(2)).map(|s| format!("read {} bytes: {s}", s.len())),
        "write" => std::fs::write(a(2), a(3)).map(|()| "written".into()),
        "append" => std::fs::OpenOptions::new()
            .append(true)
            .open(a(2))
            .and_then(|mut f| f.write_all(a(3).as_bytes()))
            .map(|()| "appended".into()),
        "truncate" => std::fs::OpenOptions::new()
            .write(true)
            .open(a(2))
            .and_then(|f| f.set_len(0))
            .map(|()| "truncated".into()),
        "unlink" => std::fs::remove_file(a(2)).map(|()| "removed".into()),
        "mkdir" => std::fs::create_dir(a(2)).map(|()| "created".into()),
        "rmdir" => std::fs::remove_dir(a(2)).map(|()| "removed".into()),
        "rename" => std::fs::rename(a(2), a(3)).map(|()| "renamed".into()),
        "hardlink" => std::fs::hard_link(a(2), a(3)).map(|()| "linked".into()),
        "ls" => std::fs::read_dir(a(2)).and_then(|d| {
            let mut names = d
                .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<std::io::Result<Vec<_>>>()?;
            names.sort();
            Ok(names.join(","))
        }),
        "clock" => {
            let wall = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let start = std::time::Instant::now();
            let mut x = 0u64;
            for i in 0..2_000_000u64 {
                x = x.wrapping_add(i * i);
            }
            std::hint::black_box(x);
            Ok(format!("wall={wall} elapsed_ns={}", start.elapsed().as_nanos()))
        }
        "env" => {
            let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
            Ok(format!("args={} env={}", args[2..].join(" "), vars.join(";")))
        }
        "print" => {
            let n: usize = a(2).parse().unwrap_or(0);
            let chunk = vec![b'x'; 64 * 1024];
            let mut out = std::io::stdout().lock();
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len());
                if let Err(e) = out.write_all(&chunk[..k]) {
                    eprintln!("error: write: {e}");
                    return ExitCode::FAILURE;
                }
                left -= k;
            }
            let _ = out.flush();
            return ExitCode::SUCCESS;
        }
        "cat" => {
            // Copies all of stdin to stdout, byte for byte.
            let mut out = std::io::stdout().lock();
            return match std::io::copy(&mut std::io::stdin().lock(), &mut out).and_then(|_| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cat: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        "stderr" => {
            eprintln!("{}", a(2));
            Ok("written to stderr".into())
        }
        "connect" => connect(&a(2), &a(3)),
        "openmany" => {
            let n: usize = a(3).parse().unwrap_or(0);
            let mut files = Vec::new();
            let mut failure = None;
            for _ in 0..n {
                match std::fs::File::open(a(2)) {
                    Ok(f) => files.push(f),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            match failure {
                None => Ok(format!("opened {}", files.len())),
                Some(e) => Err(std::io::Error::new(e.kind(), format!("after {} files: {e}", files.len()))),
            }
        }
        "sleep" => {
            let ms = a(2).parse::<u64>().unwrap_or(1000);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(format!("slept {ms} ms"))
        }
        "symlink" => {
            #[allow(deprecated)] // the one symlink call that exists for every WASI target
            std::fs::soft_link(a(2), a(3)).map(|()| "symlinked".into())
        }
        "readlink" => std::fs::read_link(a(2)).map(|t| format!("-> {}", t.display())),
        "stat" => std::fs::metadata(a(2)).map(|m| {
            let secs = |t: std::io::Result<std::time::SystemTime>| {
                t.ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs())
            };
            format!(
                "type={:?} size={} mtime={}",
                m.file_type(),
                m.len(),
                secs(m.modified())
            )
        }),
        "lstat" => std::fs::symlink_metadata(a(2))
            .map(|m| format!("symlink={} size={}", m.file_type().is_symlink(), m.len())),
        "times" => times(&a(2)),
        "exit" => return ExitCode::from(a(2).parse::<u8>().unwrap_or(0)),
        "random" | "insecure" => {
            let (n, count) = (a(2).parse().unwrap_or(0), a(3).parse().unwrap_or(u64::MAX));
            (0..count)
                .try_for_each(|_| random(op == "insecure", n).map(|b| drop(std::hint::black_box(b))))
                .map(|()| format!("{count} x {n} random bytes"))
        }
        "spam" => {
            let (n, count) = (a(2).parse().unwrap_or(0), a(3).parse().unwrap_or(u64::MAX));
            let chunk = vec![b'x'; n];
            // Descriptor 1 itself: std's line-buffered stdout would scan every byte.
            use std::os::fd::FromRawFd;
            let mut out = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) });
            for _ in 0..count {
                if let Err(e) = out.write_all(&chunk) {
                    eprintln!("error: write: {e}");
                    return ExitCode::FAILURE;
                }
            }
            return ExitCode::SUCCESS;
        }
        _ => Err(std::io::Error::other(format!("unknown op `{op}`"))),
    };
    match result {
        Ok(msg) => {
            println!("ok: {msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("error: {:?}: {e}", e.kind());
            ExitCode::FAILURE
        }
    }
}

/// `n` bytes from WASI's generator: `random_get` in preview 1,
/// `get-random-bytes` or `get-insecure-random-bytes` in WASI 0.2.
fn random(insecure: bool, n: u64) -> std::io::Result<Vec<u8>> {
    #[cfg(target_env = "p2")]
    return Ok(if insecure {
        wasip2::random::insecure::get_insecure_random_bytes(n)
    } else {
        wasip2::random::random::get_random_bytes(n)
    });
    #[cfg(not(target_env = "p2"))]
    {
        #[link(wasm_import_module = "wasi_snapshot_preview1")]
        extern "C" {
            fn random_get(buf: *mut u8, len: usize) -> u16;
        }
        if insecure {
            return Err(std::io::Error::other("no insecure generator in preview 1"));
        }
        let mut buf = Vec::with_capacity(n as usize);
        match unsafe { random_get(buf.as_mut_ptr(), n as usize) } {
            0 => {
                unsafe { buf.set_len(n as usize) };
                Ok(buf)
            }
            errno => Err(std::io::Error::other(format!("random_get: errno {errno}"))),
        }
    }
}

fn connect(addr: &str, msg: &str) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.write_all(msg.as_bytes())?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(format!("reply: {reply}"))
}

/// Reads every timestamp of `path` three ways (through an open descriptor,
/// by path following symlinks, by path not following them); fails unless
/// all of them are zero, i.e. 1970-01-01T00:00:00Z. Creates `path` (an empty
/// file) first if it does not exist, so the guest can test a file it made.
fn times(path: &str) -> std::io::Result<String> {
    if std::fs::symlink_metadata(path).is_err() {
        std::fs::write(path, "")?;
    }
    let views = [
        ("fd", std::fs::File::open(path)?.metadata()?),
        ("path", std::fs::metadata(path)?),
        ("nofollow", std::fs::symlink_metadata(path)?),
    ];
    let mut seen = Vec::new();
    for (how, m) in &views {
        for (which, t) in [
            ("atime", m.accessed()),
            ("mtime", m.modified()),
            ("ctime", m.created()),
        ] {
            // A platform that keeps no such timestamp reports an error: nothing to read.
            let Ok(t) = t else { continue };
            let d = t
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(std::io::Error::other)?;
            if !d.is_zero() {
                seen.push(format!("{how} {which}={}", d.as_secs()));
            }
        }
    }
    if seen.is_empty() {
        Ok("all timestamps are zero".into())
    } else {
        Err(std::io::Error::other(format!("host time visible: {}", seen.join(", "))))
    }
}
