//! What a guest may touch: the grants, all denied by default.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Default cap on captured stdout/stderr bytes (each stream): 1 MiB.
pub const DEFAULT_CAPTURE_LIMIT: usize = 1024 * 1024;

/// Access level of a directory grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirAccess {
    /// The guest may list and read, never create, write, rename or delete.
    ReadOnly,
    /// The guest may read and modify anything below the directory.
    ReadWrite,
}

/// One host directory made visible to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// Directory on the host.
    pub host: PathBuf,
    /// Path under which the guest sees it.
    pub guest: String,
    /// What the guest may do there.
    pub access: DirAccess,
}

/// The separator of a directory grant's `HOST::GUEST` form (as in `wasmtime run --dir`).
pub const DIR_GRANT_SEPARATOR: &str = "::";

impl DirGrant {
    /// Parses a directory grant written as `HOST` or `HOST::GUEST`.
    ///
    /// This is the one grammar of a mapping given as text; every front-end
    /// that takes a mapping as one string uses it.
    ///
    /// - Without `::` the whole text is the host directory, and the guest sees
    ///   it at the same path: `/x/job:42` grants `/x/job:42` (a single `:` is
    ///   an ordinary path character).
    /// - With one `::` the host directory is before it and the guest path
    ///   after it: `./data::/data`.
    ///
    /// Ambiguous or empty text is an `invalid_argument` error naming it: an
    /// empty text, an empty side around `::`, and more than one `::`
    /// (including `:::`, which could be split in two places). A host path
    /// that itself contains `::` cannot be written in this form; use a
    /// front-end's separate host and guest fields (or a symlink) instead.
    pub fn parse(spec: &str, access: DirAccess) -> crate::Result<DirGrant> {
        let bad = |why: &str| {
            crate::Error::invalid_argument(format!(
                "invalid directory grant `{}`: {why} (expected HOST or HOST::GUEST)",
                echo(spec)
            ))
        };
        if spec.is_empty() {
            return Err(bad("empty"));
        }
        // Count overlapping matches so that `a:::b` counts twice.
        let separators = spec
            .as_bytes()
            .windows(2)
            .filter(|w| *w == DIR_GRANT_SEPARATOR.as_bytes())
            .count();
        let (host, guest) = match separators {
            0 => (spec, spec),
            1 => spec
                .split_once(DIR_GRANT_SEPARATOR)
                .expect("one separator was counted"),
            _ => return Err(bad("`::` may appear only once, between HOST and GUEST")),
        };
        if host.is_empty() {
            return Err(bad("the host directory before `::` is empty"));
        }
        if guest.is_empty() {
            return Err(bad("the guest path after `::` is empty"));
        }
        Ok(DirGrant {
            host: PathBuf::from(host),
            guest: guest.to_string(),
            access,
        })
    }
}

/// At most this many characters of a caller's text are repeated in an error.
const MAX_ECHO_CHARS: usize = 256;

/// `text` for an error message, cut to [`MAX_ECHO_CHARS`] characters.
fn echo(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_ECHO_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]).into(),
        None => text.into(),
    }
}

/// A set of directory grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesystemCapability {
    /// The grants, in order.
    pub grants: Vec<DirGrant>,
}

impl FilesystemCapability {
    /// Read-only grants of `paths`, each seen by the guest at the same path.
    pub fn read_only<P: Into<PathBuf>>(paths: impl IntoIterator<Item = P>) -> Self {
        Self::same_path(paths, DirAccess::ReadOnly)
    }

    /// Read-write grants of `paths`, each seen by the guest at the same path.
    pub fn read_write<P: Into<PathBuf>>(paths: impl IntoIterator<Item = P>) -> Self {
        Self::same_path(paths, DirAccess::ReadWrite)
    }

    /// Adds a grant of `host` seen by the guest as `guest`.
    pub fn map(
        mut self,
        host: impl Into<PathBuf>,
        guest: impl Into<String>,
        access: DirAccess,
    ) -> Self {
        self.grants.push(DirGrant {
            host: host.into(),
            guest: guest.into(),
            access,
        });
        self
    }

    /// Refuses grants that leave it ambiguous which directory a guest path
    /// names: two grants under the same guest path (compared by components,
    /// so `/data`, `/data/` and `/data/.` are the same), whatever their
    /// host directories or access.
    pub fn check(&self) -> crate::Result<()> {
        for (i, a) in self.grants.iter().enumerate() {
            let same = |b: &&DirGrant| {
                std::path::Path::new(&b.guest)
                    .components()
                    .eq(std::path::Path::new(&a.guest).components())
            };
            if let Some(b) = self.grants[..i].iter().find(same) {
                return Err(crate::Error::invalid_argument(format!(
                    "the guest path `{}` is granted twice (host `{}` and host `{}`): \
                     each grant needs its own guest path",
                    echo(&a.guest),
                    echo(&b.host.to_string_lossy()),
                    echo(&a.host.to_string_lossy()),
                )));
            }
        }
        Ok(())
    }

    /// Adds every grant of `other` (a grant identical to one already here,
    /// such as a sandbox repeating its runtime's, is kept once).
    pub fn merge(mut self, other: FilesystemCapability) -> Self {
        for grant in other.grants {
            if !self.grants.contains(&grant) {
                self.grants.push(grant);
            }
        }
        self
    }

    fn same_path<P: Into<PathBuf>>(paths: impl IntoIterator<Item = P>, access: DirAccess) -> Self {
        let grants = paths
            .into_iter()
            .map(|p| {
                let host = p.into();
                let guest = host.to_string_lossy().into_owned();
                DirGrant {
                    host,
                    guest,
                    access,
                }
            })
            .collect();
        FilesystemCapability { grants }
    }
}

/// What happens to the guest's stdout and stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Logging {
    /// Output is discarded; nothing reaches the host's terminal.
    #[default]
    Denied,
    /// Output goes to the host process's stdout/stderr.
    Inherit,
    /// Output is kept in memory, at most `limit` bytes per stream; the rest is dropped.
    Capture {
        /// Maximum bytes kept per stream.
        limit: usize,
    },
}

/// One allowed network destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetRule {
    /// One address and port.
    Addr(SocketAddr),
    /// Any address of a CIDR block, on one port (or any port with `None`).
    Cidr {
        /// Network address.
        network: std::net::IpAddr,
        /// Prefix length.
        prefix: u8,
        /// Port, or any.
        port: Option<u16>,
    },
    /// A host name, resolved when the grant is applied; on one port.
    Host {
        /// Host name, e.g. `localhost`.
        name: String,
        /// Port.
        port: u16,
    },
}

impl std::str::FromStr for NetRule {
    type Err = crate::Error;

    /// Parses `127.0.0.1:8080`, `[::1]:80`, `localhost:8080`, `10.0.0.0/8:443`
    /// or `10.0.0.0/8` (any port).
    fn from_str(text: &str) -> crate::Result<Self> {
        let bad = |why: &str| {
            crate::Error::invalid_argument(format!("invalid network rule `{}`: {why}", echo(text)))
        };
        let t = text.trim();
        if let Ok(addr) = t.parse::<SocketAddr>() {
            return Ok(NetRule::Addr(addr));
        }
        if let Some((net, rest)) = t.split_once('/') {
            let network: std::net::IpAddr = net
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| bad("the network is not an IP address"))?;
            let (prefix, port) = match rest.split_once(':') {
                Some((p, port)) => (p, Some(port.parse::<u16>().map_err(|_| bad("bad port"))?)),
                None => (rest, None),
            };
            let prefix: u8 = prefix.parse().map_err(|_| bad("bad prefix length"))?;
            let max = if network.is_ipv4() { 32 } else { 128 };
            if prefix > max {
                return Err(bad("prefix length too long"));
            }
            return Ok(NetRule::Cidr {
                network,
                prefix,
                port,
            });
        }
        let (name, port) = t
            .rsplit_once(':')
            .ok_or_else(|| bad("expected HOST:PORT"))?;
        let port = port.parse::<u16>().map_err(|_| bad("bad port"))?;
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !valid_name {
            return Err(bad("bad host name"));
        }
        Ok(NetRule::Host {
            name: name.to_ascii_lowercase(),
            port,
        })
    }
}

/// Outbound network allowlist; empty means no network at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkCapability {
    /// Allowed destinations.
    pub rules: Vec<NetRule>,
}

impl NetworkCapability {
    /// An allowlist from rule texts such as `127.0.0.1:8080` or `10.0.0.0/8:443`.
    pub fn allow<S: AsRef<str>>(rules: impl IntoIterator<Item = S>) -> crate::Result<Self> {
        let rules = rules
            .into_iter()
            .map(|r| r.as_ref().parse())
            .collect::<crate::Result<Vec<NetRule>>>()?;
        Ok(NetworkCapability { rules })
    }
}

/// Every grant a sandbox runs with. The default grants nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Directory grants.
    pub filesystem: FilesystemCapability,
    /// Stdout/stderr handling.
    pub logging: Logging,
    /// Whether the guest may read the real wall and monotonic clocks.
    pub clock: bool,
    /// Environment variables visible to the guest (none are inherited).
    pub env: Vec<(String, String)>,
    /// Command-line arguments of a WASI command (`argv[0]` included).
    pub args: Vec<String>,
    /// Outbound network allowlist (WASI 0.2 components).
    pub network: NetworkCapability,
    /// What a denied operation does to the call.
    pub on_denied: crate::policy::OnDenied,
    /// Fixed seed for the guest's random source; `None` uses the OS's CSPRNG.
    pub random_seed: Option<u64>,
    /// Where the guest's stdin comes from (default: empty).
    pub stdin: crate::stdin::Stdin,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn grant(spec: &str) -> crate::Result<(String, String)> {
        DirGrant::parse(spec, DirAccess::ReadOnly)
            .map(|g| (g.host.to_string_lossy().into_owned(), g.guest))
    }

    fn pair(host: &str, guest: &str) -> Option<(String, String)> {
        Some((host.to_string(), guest.to_string()))
    }

    #[test]
    fn a_spec_without_double_colon_is_a_host_path_used_as_is() {
        assert_eq!(grant("/x/job:42").ok(), pair("/x/job:42", "/x/job:42"));
        assert_eq!(grant("data").ok(), pair("data", "data"));
        assert_eq!(grant("C:/data").ok(), pair("C:/data", "C:/data"));
        assert_eq!(grant("/a:b:c").ok(), pair("/a:b:c", "/a:b:c"));
    }

    #[test]
    fn double_colon_separates_host_and_guest() {
        assert_eq!(grant("./data::/data").ok(), pair("./data", "/data"));
        assert_eq!(grant("/x/job:42::/job").ok(), pair("/x/job:42", "/job"));
        assert_eq!(grant("/x::/y:1").ok(), pair("/x", "/y:1"));
        let g = DirGrant::parse("/a::/b", DirAccess::ReadWrite).unwrap();
        assert_eq!(g.access, DirAccess::ReadWrite);
    }

    #[test]
    fn ambiguous_or_empty_specs_are_refused_naming_the_spec() {
        for spec in [
            "", "::", "::/data", "/data::", "/a::b::c", "/a:::b", "/a::::b", ":::",
        ] {
            let err = grant(spec).expect_err(spec);
            assert_eq!(err.code(), ErrorCode::InvalidArgument, "{spec}");
            assert!(
                err.to_string().contains(&format!("`{spec}`")),
                "{spec}: {err}"
            );
        }
    }

    #[test]
    fn one_guest_path_granted_twice_is_refused() {
        let fs = |specs: &[&str]| FilesystemCapability {
            grants: specs
                .iter()
                .map(|s| DirGrant::parse(s, DirAccess::ReadOnly).unwrap())
                .collect(),
        };
        assert!(fs(&["/a::/data", "/b::/other", "/c"]).check().is_ok());
        for pair in [
            ["/a::/data", "/b::/data"],
            ["/a::/data", "/b::/data/"],
            ["/a::/data", "/b::/data/."],
            ["/data", "/other::/data"],
        ] {
            let err = fs(&pair).check().expect_err(&pair.join(" "));
            assert_eq!(err.code(), ErrorCode::InvalidArgument);
            assert!(err.to_string().contains("granted twice"), "{err}");
        }
    }

    #[test]
    fn long_specs_are_cut_in_errors() {
        let spec = format!("{}::", "x".repeat(10_000));
        let err = grant(&spec).unwrap_err().to_string();
        assert!(err.len() < 1_000, "{}", err.len());
    }
}
