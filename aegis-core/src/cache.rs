//! The on-disk compilation cache: wasmtime's own, in a directory only we write.

use std::path::Path;

use crate::error::{Error, Result};

/// Opens (creating it if needed) a private cache directory.
pub(crate) fn open(dir: &Path) -> Result<wasmtime::Cache> {
    ensure_private_dir(dir)?;
    let mut config = wasmtime::CacheConfig::new();
    config.with_directory(dir);
    wasmtime::Cache::new(config).map_err(|e| Error::Io {
        message: format!("cannot open compile cache `{}`: {e}", dir.display()),
    })
}

/// Creates `dir` with mode 0700, or checks that an existing one belongs to
/// this user and is not writable by anyone else.
fn ensure_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let io = |e: std::io::Error| Error::io(format!("compile cache `{}`", dir.display()), e);
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    let meta = std::fs::symlink_metadata(dir).map_err(io)?;
    if !meta.is_dir() {
        return Err(Error::invalid_argument(format!(
            "compile cache `{}` is not a directory",
            dir.display()
        )));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc_geteuid() };
    if meta.uid() != uid || meta.permissions().mode() & 0o022 != 0 {
        return Err(Error::invalid_argument(format!(
            "compile cache `{}` must be owned by the current user and not writable by others",
            dir.display()
        )));
    }
    Ok(())
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_a_private_directory_and_refuses_a_shared_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        open(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(open(&dir).unwrap_err().code().as_str(), "invalid_argument");
    }
}
