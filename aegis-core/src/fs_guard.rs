//! The filesystem rules Aegis checks in front of wasmtime-wasi, shared by the
//! preview-1 wrappers (`crate::fs_audit`) and the WASI 0.2 ones
//! (`crate::p2_guard`). wasmtime-wasi and its `cap-std` path resolution still
//! decide what a grant reaches; these rules only refuse more.
//!
//! - **Symlinks.** A guest may create a symlink only if its target is a
//!   relative path that never names `..` ([`symlink_target_refusal`]). Such a
//!   link, wherever it sits and wherever it is later moved inside the grant,
//!   resolves by descending from its own directory, so neither the host nor a
//!   later sandbox granted a directory under it is led outside. A check of how
//!   far a `..` climbs would not be enough: it is defeated by a later rename of
//!   the link's directory to a shallower place, and by a target that climbs
//!   through another link (`x -> a/up/..` with `a/up -> ..`). For the same
//!   reason a guest may not hard-link or rename a symlink whose target it could
//!   not have created itself.
//! - **Special files.** Only regular files and directories (after symlink
//!   resolution) may be opened ([`openable`]); opening a FIFO or a device can
//!   block a host thread indefinitely. Looking at one (stat) never opens it.
//! - **Timestamps.** Without the clock grant every timestamp the guest reads is
//!   zero, so file metadata cannot carry host time.

use std::collections::HashMap;
use std::sync::Arc;

use crate::capability::Capabilities;

/// Why a guest may not create a symlink pointing at `target`, or `None` if it may.
pub(crate) fn symlink_target_refusal(target: &[u8]) -> Option<&'static str> {
    if target.first().is_some_and(|&b| is_separator(b)) {
        return Some("a symlink target must be relative");
    }
    if cfg!(windows) && target.contains(&b':') {
        return Some("a symlink target must be relative");
    }
    if target.split(|&b| is_separator(b)).any(|part| part == b"..") {
        return Some("a symlink target must not contain `..`");
    }
    None
}

fn is_separator(b: u8) -> bool {
    b == b'/' || (cfg!(windows) && b == b'\\')
}

/// The kinds of file a guest may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Regular,
    Directory,
    /// Seen only when the open does not follow the final symlink, so the open
    /// itself fails without touching what the link names.
    Symlink,
    /// FIFOs, sockets, character and block devices, anything else.
    Special,
}

/// Whether a file of `kind` may be opened.
pub(crate) fn openable(kind: FileKind) -> bool {
    kind != FileKind::Special
}

/// Upper bound on the bytes of one path the guard copies out of guest memory.
/// wasmtime-wasi refuses longer paths itself (each byte costs host-call fuel),
/// and every OS refuses paths this long.
pub(crate) const MAX_PATH_BYTES: usize = 1 << 16;

/// Longest guest path kept per descriptor for naming refusals.
const MAX_REMEMBERED_PATH: usize = 1024;

/// Per-store filesystem state of the guard.
#[derive(Debug, Clone)]
pub(crate) struct FsState {
    /// Whether the guest may read host time (`Capabilities::clock`); without
    /// it every timestamp the guest reads is zero.
    pub clock: bool,
    /// The guest path of each preview-1 descriptor that came from a grant, by
    /// descriptor number. Only used to name refusals; nothing is decided on it.
    fds: HashMap<u32, Arc<str>>,
}

impl FsState {
    /// Preview 1 numbers the grants' directories 3, 4, ... in grant order.
    pub fn new(caps: &Capabilities) -> Self {
        let fds = (3u32..)
            .zip(&caps.filesystem.grants)
            .map(|(fd, g)| (fd, Arc::from(g.guest.as_str())))
            .collect();
        FsState {
            clock: caps.clock,
            fds,
        }
    }

    /// The guest path behind descriptor `fd`, if it came from a grant.
    pub fn path_of(&self, fd: i32) -> Option<&str> {
        let fd = u32::try_from(fd).ok()?;
        self.fds.get(&fd).map(|p| &**p)
    }

    /// `path` (relative to `dirfd`) was opened as `fd`.
    pub fn opened(&mut self, dirfd: i32, path: &[u8], fd: u32) {
        match self.path_of(dirfd) {
            Some(base) => {
                let mut joined = join(base, &String::from_utf8_lossy(path));
                if joined.len() > MAX_REMEMBERED_PATH {
                    let mut end = MAX_REMEMBERED_PATH;
                    while !joined.is_char_boundary(end) {
                        end -= 1;
                    }
                    joined.truncate(end);
                }
                self.fds.insert(fd, joined.into());
            }
            None => {
                self.fds.remove(&fd);
            }
        }
    }

    /// `from` now also answers to `to` (and no longer to `from`).
    pub fn renumbered(&mut self, from: i32, to: i32) {
        let (Ok(from), Ok(to)) = (u32::try_from(from), u32::try_from(to)) else {
            return;
        };
        if from == to {
            return;
        }
        match self.fds.remove(&from) {
            Some(path) => self.fds.insert(to, path),
            None => self.fds.remove(&to),
        };
    }

    /// `fd` was closed.
    pub fn closed(&mut self, fd: i32) {
        if let Ok(fd) = u32::try_from(fd) {
            self.fds.remove(&fd);
        }
    }
}

/// `path` under `base` as text (an absolute `path` stands alone).
pub(crate) fn join(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", base.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relative_targets_without_dotdot_are_allowed() {
        for ok in [
            "a", "a/b/c", "./a", ".", "a/./b", "a..b", "..a", "a/...", "", "a//b/",
        ] {
            assert_eq!(symlink_target_refusal(ok.as_bytes()), None, "{ok}");
        }
        for bad in [
            "/",
            "/etc/passwd",
            "..",
            "../x",
            "a/..",
            "a/../b",
            "./..",
            "a/b/../../..",
            "a//..//b",
            "../../../..",
        ] {
            assert!(symlink_target_refusal(bad.as_bytes()).is_some(), "{bad}");
        }
        // Not UTF-8 is no way around the rule.
        assert!(symlink_target_refusal(b"\xff/../x").is_some());
        assert_eq!(symlink_target_refusal(b"\xff/x"), None);
    }

    #[test]
    fn descriptor_paths_follow_open_renumber_and_close() {
        let mut caps = Capabilities::default();
        for guest in ["/a", "/b/"] {
            caps.filesystem.grants.push(crate::capability::DirGrant {
                host: ".".into(),
                guest: guest.into(),
                access: crate::capability::DirAccess::ReadOnly,
            });
        }
        let mut fs = FsState::new(&caps);
        assert_eq!(fs.path_of(3), Some("/a"));
        assert_eq!(fs.path_of(4), Some("/b/"));
        assert_eq!(fs.path_of(5), None);
        fs.opened(4, b"sub", 5);
        assert_eq!(fs.path_of(5), Some("/b/sub"));
        fs.renumbered(5, 3);
        assert_eq!(fs.path_of(3), Some("/b/sub"));
        assert_eq!(fs.path_of(5), None);
        fs.opened(7, b"x", 6);
        assert_eq!(fs.path_of(6), None);
        fs.renumbered(6, 4);
        assert_eq!(fs.path_of(4), None);
        fs.closed(3);
        assert_eq!(fs.path_of(3), None);
        fs.opened(-1, b"x", 3);
        fs.renumbered(-1, 3);
        assert_eq!(fs.path_of(-1), None);
        let long = vec![b'x'; 5000];
        caps.filesystem.grants.truncate(1);
        let mut fs = FsState::new(&caps);
        fs.opened(3, &long, 9);
        assert!(fs.path_of(9).unwrap().len() <= MAX_REMEMBERED_PATH);
    }
}
