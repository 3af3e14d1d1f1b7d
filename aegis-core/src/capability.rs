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

    /// Adds every grant of `other`.
    pub fn merge(mut self, other: FilesystemCapability) -> Self {
        self.grants.extend(other.grants);
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
            crate::Error::invalid_argument(format!("invalid network rule `{text}`: {why}"))
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
    /// Command-line arguments of a WASI command (argv[0] included).
    pub args: Vec<String>,
    /// Outbound network allowlist (WASI 0.2 components).
    pub network: NetworkCapability,
    /// Fixed seed for the guest's random source; `None` uses the OS's CSPRNG.
    pub random_seed: Option<u64>,
}
