//! Turns `Capabilities` into a wasmtime-wasi context: preopens, stdio, clocks, env, args.

use std::time::Duration;

use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{Deterministic, FsPerms, HostMonotonicClock, HostWallClock, WasiCtxBuilder};

use crate::capability::{Capabilities, DirAccess, Logging};
use crate::error::{Error, Result};

/// Captured guest output streams, readable after a call; shared by every
/// store the sandbox creates, so output survives `reset`.
#[derive(Clone)]
pub(crate) struct CapturedOutput {
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl CapturedOutput {
    pub fn new(limit: usize) -> Self {
        CapturedOutput {
            stdout: MemoryOutputPipe::new(limit),
            stderr: MemoryOutputPipe::new(limit),
        }
    }

    pub fn stdout(&self) -> Vec<u8> {
        self.stdout.contents().to_vec()
    }

    pub fn stderr(&self) -> Vec<u8> {
        self.stderr.contents().to_vec()
    }
}

/// A clock that always reads zero: what a guest without the clock grant sees.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Builds the WASI context for a sandbox's capabilities.
pub(crate) fn context_builder(
    caps: &Capabilities,
    captured: Option<&CapturedOutput>,
) -> Result<WasiCtxBuilder> {
    let mut b = WasiCtxBuilder::new();
    b.allow_blocking_current_thread(true);
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
            b.inherit_stdout().inherit_stderr();
        }
        (Logging::Capture { .. }, Some(out)) => {
            b.stdout(out.stdout.clone()).stderr(out.stderr.clone());
        }
        _ => {}
    }
    if !caps.clock {
        b.wall_clock(FrozenClock).monotonic_clock(FrozenClock);
    }
    b.envs(&caps.env);
    b.args(&caps.args);
    if let Some(seed) = caps.random_seed {
        b.secure_random(Deterministic::new(seeded_bytes(seed)));
        b.insecure_random(Deterministic::new(seeded_bytes(seed ^ 0x5eed)));
        b.insecure_random_seed(u128::from(seed));
    }
    Ok(b)
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
