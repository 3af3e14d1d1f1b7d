//! Turns `Capabilities` into a wasmtime-wasi context: preopens, stdio, clocks,
//! env, args, random, and the socket allowlist.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{Deterministic, FsPerms, HostMonotonicClock, HostWallClock, WasiCtxBuilder};

use crate::capability::{Capabilities, DirAccess, Logging, NetRule};
use crate::denied::DeniedLog;
use crate::error::{Error, Result};
use crate::output::{CaptureBuffer, DeniedOutput, Inherited, Sink, host_stderr, host_stdout};
use crate::stdin::OpenStdin;

/// Captured guest output streams, shared by every store a sandbox creates so
/// output survives `reset`.
#[derive(Debug, Clone)]
pub(crate) struct CapturedOutput {
    pub stdout: CaptureBuffer,
    pub stderr: CaptureBuffer,
}

impl CapturedOutput {
    pub fn new(limit: usize) -> Self {
        CapturedOutput {
            stdout: CaptureBuffer::new(limit),
            stderr: CaptureBuffer::new(limit),
        }
    }
}

/// What a guest without the clock grant sees: both clocks read zero
/// (the wall clock says 1970-01-01T00:00:00Z), and each read is recorded.
struct FrozenClock(DeniedLog);

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.0.record(
            crate::details::Capability::Clock,
            "clock_time_get",
            "realtime",
        );
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        self.0.record(
            crate::details::Capability::Clock,
            "clock_time_get",
            "monotonic",
        );
        0
    }
}

/// Builds the WASI context for a sandbox's capabilities.
pub(crate) fn context_builder(
    caps: &Capabilities,
    stdin: OpenStdin,
    captured: Option<&CapturedOutput>,
    denied: &DeniedLog,
) -> Result<WasiCtxBuilder> {
    let mut b = WasiCtxBuilder::new();
    stdin.install(&mut b);
    // File I/O runs on the I/O runtime's blocking pool, never on the calling
    // thread, so a read from a FIFO is a wait the deadline can end.
    b.allow_blocking_current_thread(false);
    for grant in &caps.filesystem.grants {
        let perms = match grant.access {
            DirAccess::ReadOnly => FsPerms::ReadOnly,
            DirAccess::ReadWrite => FsPerms::ReadWrite,
        };
        b.preopened_dir(&grant.host, &grant.guest, perms)
            .map_err(|e| Error::Io {
                message: format!("cannot grant directory `{}`: {e}", grant.host.display()),
            })?;
    }
    match (caps.logging, captured) {
        (Logging::Inherit, _) => {
            use std::io::IsTerminal;
            b.stdout(Inherited(host_stdout(), std::io::stdout().is_terminal()))
                .stderr(Inherited(host_stderr(), std::io::stderr().is_terminal()));
        }
        (Logging::Capture { .. }, Some(out)) => {
            b.stdout(Sink(out.stdout.clone()))
                .stderr(Sink(out.stderr.clone()));
        }
        _ => {
            b.stdout(Sink(DeniedOutput::new(denied.clone(), "stdout")))
                .stderr(Sink(DeniedOutput::new(denied.clone(), "stderr")));
        }
    }
    if !caps.clock {
        b.wall_clock(FrozenClock(denied.clone()))
            .monotonic_clock(FrozenClock(denied.clone()));
    }
    b.envs(&caps.env);
    b.args(&caps.args);
    if let Some(seed) = caps.random_seed {
        b.secure_random(Deterministic::new(seeded_bytes(seed)));
        b.insecure_random(Deterministic::new(seeded_bytes(seed ^ 0x5eed)));
        b.insecure_random_seed(u128::from(seed));
    }
    apply_network(&mut b, &caps.network.rules, denied)?;
    Ok(b)
}

/// Installs the socket allowlist (WASI 0.2 components; preview-1 modules have
/// no outbound sockets at all).
fn apply_network(b: &mut WasiCtxBuilder, rules: &[NetRule], denied: &DeniedLog) -> Result<()> {
    let allow = Allowlist::resolve(rules)?;
    // TCP and UDP stay enabled so that every attempt reaches the address check
    // below, which refuses (and records) whatever the allowlist does not name.
    b.allow_tcp(true)
        .allow_udp(true)
        .allow_ip_name_lookup(rules.iter().any(|r| matches!(r, NetRule::Host { .. })));
    let denied = denied.clone();
    b.socket_addr_check(move |addr, usage| {
        let ok = allow.permits(addr, usage);
        if !ok {
            denied.record(
                crate::details::Capability::Network,
                usage_name(usage),
                addr.to_string(),
            );
        }
        Box::pin(async move { ok })
    });
    Ok(())
}

fn usage_name(usage: SocketAddrUse) -> &'static str {
    match usage {
        SocketAddrUse::TcpBind => "tcp_bind",
        SocketAddrUse::TcpConnect => "tcp_connect",
        SocketAddrUse::UdpBind => "udp_bind",
        SocketAddrUse::UdpSend => "udp_send",
        _ => "socket",
    }
}

/// The allowlist with host names resolved to addresses.
#[derive(Debug, Clone, Default)]
struct Allowlist {
    addrs: Vec<SocketAddr>,
    cidrs: Vec<(IpAddr, u8, Option<u16>)>,
}

impl Allowlist {
    fn resolve(rules: &[NetRule]) -> Result<Self> {
        let mut list = Allowlist::default();
        for rule in rules {
            match rule {
                NetRule::Addr(a) => list.addrs.push(*a),
                NetRule::Cidr {
                    network,
                    prefix,
                    port,
                } => list.cidrs.push((*network, *prefix, *port)),
                NetRule::Host { name, port } => {
                    let resolved =
                        (name.as_str(), *port)
                            .to_socket_addrs()
                            .map_err(|e| Error::Io {
                                message: format!(
                                    "cannot resolve network grant `{name}:{port}`: {e}"
                                ),
                            })?;
                    list.addrs.extend(resolved);
                }
            }
        }
        Ok(list)
    }

    /// Outbound uses must match a rule. Binding is allowed only to an
    /// ephemeral port on the unspecified address (what a client does before
    /// connecting); listening and accepting are never allowed.
    fn permits(&self, addr: SocketAddr, usage: SocketAddrUse) -> bool {
        match usage {
            SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
                addr.ip().is_unspecified() && addr.port() == 0
            }
            SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend => {
                self.addrs.contains(&addr)
                    || self.cidrs.iter().any(|&(net, prefix, port)| {
                        port.is_none_or(|p| p == addr.port()) && in_cidr(addr.ip(), net, prefix)
                    })
            }
            _ => false,
        }
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// 64 KiB of splitmix64 output: the repeating stream a seeded guest reads from.
fn seeded_bytes(seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..8192)
        .flat_map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)).to_le_bytes()
        })
        .collect()
}

/// A store's WASI context, built when the guest first uses WASI.
///
/// Building one (stdio, clocks, a freshly seeded random generator, the
/// descriptor table) is a good part of a new sandbox's cost, and a plugin
/// that imports no WASI never needs it. A sandbox granted directories or
/// network rules builds it at once instead, so that a grant that cannot be
/// honoured (a missing directory, an unresolvable host) fails `build`.
pub(crate) struct LazyWasi {
    ctx: Option<wasmtime_wasi::p1::WasiP1Ctx>,
    /// What to build it from, until it is built.
    recipe: Option<Box<Recipe>>,
}

/// Everything [`context_builder`] needs, owned.
struct Recipe {
    caps: Capabilities,
    /// The stdin, opened (and a file checked) when the sandbox was built.
    stdin: OpenStdin,
    captured: Option<CapturedOutput>,
    denied: DeniedLog,
    handles: usize,
}

impl Recipe {
    fn build(self) -> Result<wasmtime_wasi::p1::WasiP1Ctx> {
        let mut ctx =
            context_builder(&self.caps, self.stdin, self.captured.as_ref(), &self.denied)?
                .build_p1();
        // Every open file is a host descriptor: cap how many the guest may hold.
        use wasmtime_wasi::WasiView;
        ctx.ctx().table.set_max_capacity(self.handles);
        Ok(ctx)
    }
}

impl LazyWasi {
    /// The context for a store under `caps`, holding at most `handles` descriptors.
    pub fn new(
        caps: &Capabilities,
        captured: Option<&CapturedOutput>,
        denied: &DeniedLog,
        handles: usize,
    ) -> Result<Self> {
        let recipe = Recipe {
            caps: caps.clone(),
            stdin: caps.stdin.open()?,
            captured: captured.cloned(),
            denied: denied.clone(),
            handles,
        };
        if caps.filesystem.grants.is_empty() && caps.network.rules.is_empty() {
            Ok(LazyWasi {
                ctx: None,
                recipe: Some(Box::new(recipe)),
            })
        } else {
            Ok(LazyWasi {
                ctx: Some(recipe.build()?),
                recipe: None,
            })
        }
    }

    /// The context, built now if this is the first use.
    pub fn get(&mut self) -> &mut wasmtime_wasi::p1::WasiP1Ctx {
        self.ctx.get_or_insert_with(|| {
            let recipe = self.recipe.take().expect("a recipe until built");
            let handles = recipe.handles;
            // Without grants nothing in the recipe can fail; if it ever did,
            // the guest gets a context that grants nothing at all.
            recipe.build().unwrap_or_else(|_| {
                let mut ctx = WasiCtxBuilder::new().build_p1();
                use wasmtime_wasi::WasiView;
                ctx.ctx().table.set_max_capacity(handles);
                ctx
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(rules: &[&str]) -> Allowlist {
        let rules: Vec<NetRule> = rules.iter().map(|r| r.parse().unwrap()).collect();
        Allowlist::resolve(&rules).unwrap()
    }

    #[test]
    fn exact_addresses_and_cidrs_match() {
        let l = list(&["127.0.0.1:8080", "10.0.0.0/8:443", "192.168.1.0/24"]);
        let ok = |a: &str| l.permits(a.parse().unwrap(), SocketAddrUse::TcpConnect);
        assert!(ok("127.0.0.1:8080"));
        assert!(!ok("127.0.0.1:8081"));
        assert!(!ok("127.0.0.2:8080"));
        assert!(ok("10.20.30.40:443"));
        assert!(!ok("10.20.30.40:80"));
        assert!(!ok("11.0.0.1:443"));
        assert!(ok("192.168.1.77:1"));
        assert!(!ok("[::1]:8080"));
    }

    #[test]
    fn only_ephemeral_binds_are_allowed_and_never_listening() {
        let l = list(&["127.0.0.1:8080"]);
        assert!(l.permits("0.0.0.0:0".parse().unwrap(), SocketAddrUse::TcpBind));
        assert!(!l.permits("0.0.0.0:8080".parse().unwrap(), SocketAddrUse::TcpBind));
        assert!(!l.permits("127.0.0.1:0".parse().unwrap(), SocketAddrUse::UdpBind));
        assert!(!l.permits("0.0.0.0:0".parse().unwrap(), SocketAddrUse::TcpListen));
        assert!(!l.permits("127.0.0.1:8080".parse().unwrap(), SocketAddrUse::TcpAccept));
    }

    #[test]
    fn host_names_resolve_at_grant_time() {
        let l = list(&["localhost:9000"]);
        assert!(l.permits("127.0.0.1:9000".parse().unwrap(), SocketAddrUse::TcpConnect));
    }

    #[test]
    fn rule_text_is_parsed_or_rejected() {
        for bad in [
            "",
            "nocolon",
            "1.2.3.4:99999",
            "10.0.0.0/33",
            "a b:80",
            "x/8",
        ] {
            assert!(bad.parse::<NetRule>().is_err(), "{bad}");
        }
        assert_eq!(
            "[::1]:80".parse::<NetRule>().unwrap(),
            NetRule::Addr("[::1]:80".parse().unwrap())
        );
    }
}
