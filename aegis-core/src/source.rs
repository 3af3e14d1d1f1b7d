//! Reading a module from a path without trusting what the path names.
//!
//! A path may name a FIFO (opening it would block until a writer appears),
//! a device such as `/dev/zero` (endless), a sparse file of terabytes, or a
//! file that grows while it is read. Only regular files are read, the file is
//! opened without blocking, its size is checked before reading, and never
//! more than the size limit plus one byte is read, whatever the file does.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Reads the module at `path`, refusing anything but a regular file of at
/// most `limit` bytes.
pub(crate) fn read_module_file(path: &Path, limit: usize) -> Result<Vec<u8>> {
    let shown = path.display();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| Error::io(format!("cannot read `{shown}`"), e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read `{shown}`"), e))?;
    let ty = meta.file_type();
    if !ty.is_file() {
        let kind = if ty.is_dir() {
            "a directory"
        } else if ty.is_fifo() {
            "a FIFO"
        } else if ty.is_char_device() || ty.is_block_device() {
            "a device"
        } else if ty.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(Error::invalid_argument(format!(
            "`{shown}` is {kind}; a module must be read from a regular file"
        )));
    }
    if meta.len() > limit as u64 {
        return Err(too_large(path, meta.len(), limit));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    read_at_most(file, limit, &mut bytes)
        .map_err(|e| Error::io(format!("cannot read `{shown}`"), e))?;
    if bytes.len() > limit {
        return Err(too_large(path, bytes.len() as u64, limit));
    }
    Ok(bytes)
}

/// Reads at most `limit + 1` bytes, so a file that grows past the limit is noticed.
fn read_at_most(file: File, limit: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
    file.take(limit as u64 + 1).read_to_end(out)
}

fn too_large(path: &Path, size: u64, limit: usize) -> Error {
    Error::InvalidModule {
        message: format!(
            "`{}` is {size} bytes, more than the limit of {limit} bytes",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_are_refused_without_reading_them() {
        for path in ["/dev/zero", "/dev/null", "/"] {
            let err = read_module_file(Path::new(path), 1024).unwrap_err();
            assert_eq!(err.code().as_str(), "invalid_argument", "{path}: {err}");
        }
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let ok = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(ok.success());
        let err = read_module_file(&fifo, 1024).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    #[test]
    fn a_sparse_file_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse.wasm");
        let file = File::create(&path).unwrap();
        file.set_len(4 << 30).unwrap();
        let start = std::time::Instant::now();
        let err = read_module_file(&path, 1 << 20).unwrap_err();
        assert_eq!(err.code().as_str(), "invalid_module");
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn a_regular_file_within_the_limit_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.wat");
        std::fs::write(&path, "(module)").unwrap();
        assert_eq!(read_module_file(&path, 8).unwrap(), b"(module)");
        assert!(read_module_file(&path, 7).is_err());
    }
}
