//! Running a program once under one variant, timed: the `_start` call alone.

use std::path::Path;
use std::time::{Duration, Instant};

use aegis_core::Runtime;
use aegis_core::limits::{
    DEFAULT_FUEL_LIMIT, DEFAULT_INSTANCE_LIMIT, DEFAULT_MEMORY_COUNT_LIMIT, DEFAULT_MEMORY_LIMIT,
    DEFAULT_TABLE_ELEMENTS_LIMIT, DEFAULT_TIMEOUT,
};
use wasmtime::{
    Engine, InstancePre, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::variant::{PeerConfig, Variant};

/// Bytes of stdout and of stderr kept per run (every variant alike).
const CAPTURE: usize = 1 << 20;
/// Epoch tick of the raw wasmtime peers: Aegis's tick (`ticker::TICK`).
pub(crate) const TICK: Duration = Duration::from_millis(2);

/// A raw wasmtime store's data.
struct PeerState {
    wasi: WasiP1Ctx,
    limits: StoreLimits,
}

/// One program, ready to run under every variant.
pub(crate) struct Program {
    pub(crate) name: String,
    pub(crate) wasm_bytes: usize,
    peers: Vec<(Variant, PeerConfig, Engine, InstancePre<PeerState>)>,
    aegis: Vec<(Variant, Runtime, aegis_core::Module)>,
}

/// How long one `_start` call took.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timed {
    /// Wall-clock time.
    pub(crate) wall: Duration,
    /// CPU time of the calling thread (the guest runs on it, under Aegis on a
    /// fiber of it): what the run cost, whatever else the machine was doing.
    pub(crate) cpu: Duration,
}

/// Runs `f`, timing it.
pub(crate) fn timed<T>(f: impl FnOnce() -> T) -> (T, Timed) {
    let (wall, cpu) = (Instant::now(), clock(libc::CLOCK_THREAD_CPUTIME_ID));
    let out = f();
    let cpu = clock(libc::CLOCK_THREAD_CPUTIME_ID) - cpu;
    (
        out,
        Timed {
            wall: wall.elapsed(),
            cpu,
        },
    )
}

/// A clock's reading (`clock_gettime`).
pub(crate) fn clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill in.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// What one run produced.
pub(crate) struct Run {
    pub(crate) time: Timed,
    pub(crate) fuel: Option<u64>,
    pub(crate) stdout: Vec<u8>,
}

pub(crate) fn argv(name: &str) -> Vec<String> {
    vec![format!("{name}.wasm")]
}

impl Program {
    pub(crate) fn load(
        path: &Path,
        variants: &[Variant],
        runtimes: &[(Variant, Runtime)],
        perfmap: bool,
    ) -> Program {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).expect("read program");
        // One engine and module per distinct configuration (a fiber is not one).
        let mut compiled: Vec<(PeerConfig, Engine, Module)> = Vec::new();
        let mut peers = Vec::new();
        for &v in variants {
            let Some(cfg) = v.peer() else { continue };
            let key = PeerConfig {
                fiber: false,
                ..cfg
            };
            if !compiled.iter().any(|c| c.0 == key) {
                let engine = key.engine(perfmap);
                let module = Module::new(&engine, &bytes).expect("compile");
                compiled.push((key, engine, module));
            }
            let (_, engine, module) = compiled.iter().find(|c| c.0 == key).unwrap();
            let mut linker: Linker<PeerState> = Linker::new(engine);
            if cfg.fiber {
                wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s| &mut s.wasi).unwrap();
            } else {
                wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| &mut s.wasi).unwrap();
            }
            let pre = linker.instantiate_pre(module).expect("link");
            peers.push((v, cfg, engine.clone(), pre));
        }
        let aegis = runtimes
            .iter()
            .filter(|(v, _)| variants.contains(v))
            .map(|(v, rt)| (*v, rt.clone(), rt.load_bytes(&bytes).expect("aegis load")))
            .collect();
        Program {
            name,
            wasm_bytes: bytes.len(),
            peers,
            aegis,
        }
    }

    /// The compiled module of the first wasmtime variant, if any.
    pub(crate) fn peer_module(&self) -> Option<&Module> {
        self.peers.first().map(|(_, _, _, pre)| pre.module())
    }

    pub(crate) fn run(&self, variant: Variant) -> Run {
        if let Some((_, cfg, engine, pre)) = self.peers.iter().find(|p| p.0 == variant) {
            return self.run_peer(cfg, engine, pre);
        }
        let (_, runtime, module) = self
            .aegis
            .iter()
            .find(|a| a.0 == variant)
            .expect("variant prepared");
        let mut sandbox = runtime
            .sandbox()
            .with_args(argv(&self.name))
            .capture_output(CAPTURE)
            .build()
            .expect("sandbox");
        sandbox.load_module(module).expect("instantiate");
        let (outcome, time) = timed(|| sandbox.run());
        if let Err(e) = outcome {
            panic!("{} under {}: {e}", self.name, variant.key());
        }
        let fuel = sandbox.last_call_metrics().fuel_consumed;
        Run {
            time,
            fuel: (variant == Variant::AegisDefault).then_some(fuel),
            stdout: sandbox.stdout(),
        }
    }

    fn run_peer(&self, cfg: &PeerConfig, engine: &Engine, pre: &InstancePre<PeerState>) -> Run {
        let stdout = MemoryOutputPipe::new(CAPTURE);
        let mut store = peer_store(cfg, engine, &self.name, &stdout);
        let (outcome, time) = if cfg.fiber {
            let io = fiber_runtime();
            let instance = io
                .block_on(pre.instantiate_async(&mut store))
                .expect("instantiate");
            let main = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .expect("_start");
            timed(|| io.block_on(main.call_async(&mut store, ())))
        } else {
            let instance = pre.instantiate(&mut store).expect("instantiate");
            let main = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .expect("_start");
            timed(|| main.call(&mut store, ()))
        };
        if let Err(e) = outcome {
            let clean = matches!(e.downcast_ref::<wasmtime_wasi::I32Exit>(), Some(x) if x.0 == 0);
            assert!(clean, "{}: {e:?}", self.name);
        }
        let fuel = cfg
            .fuel
            .then(|| DEFAULT_FUEL_LIMIT - store.get_fuel().unwrap_or(0));
        drop(store);
        Run {
            time,
            fuel,
            stdout: stdout.contents().to_vec(),
        }
    }
}

/// A raw wasmtime store set up as Aegis sets up a sandbox's, as far as the
/// variant keeps Aegis's limits: WASI with argv and in-memory stdout and
/// stderr, the store limiter, fuel, and the epoch deadline with its check.
fn peer_store(
    cfg: &PeerConfig,
    engine: &Engine,
    name: &str,
    stdout: &MemoryOutputPipe,
) -> Store<PeerState> {
    let wasi = wasmtime_wasi::WasiCtxBuilder::new()
        .args(&argv(name))
        .stdout(stdout.clone())
        .stderr(MemoryOutputPipe::new(CAPTURE))
        .build_p1();
    let limits = if cfg.aegis_engine {
        StoreLimitsBuilder::new()
            .memory_size(DEFAULT_MEMORY_LIMIT as usize)
            .table_elements(DEFAULT_TABLE_ELEMENTS_LIMIT as usize)
            .instances(DEFAULT_INSTANCE_LIMIT)
            .tables(DEFAULT_INSTANCE_LIMIT)
            .memories(DEFAULT_MEMORY_COUNT_LIMIT)
            .build()
    } else {
        StoreLimits::default()
    };
    let mut store = Store::new(engine, PeerState { wasi, limits });
    if cfg.aegis_engine {
        store.limiter(|s| &mut s.limits);
    }
    if cfg.fuel {
        store.set_fuel(DEFAULT_FUEL_LIMIT).unwrap();
    }
    if cfg.epochs {
        // As Aegis: a check on every tick against the call's deadline.
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Err(wasmtime::Error::msg("timeout"))
            } else {
                Ok(UpdateDeadline::Continue(1))
            }
        });
    }
    store
}

/// The executor of [`Variant::SameLimitsFiber`]: polls the call on this
/// thread (wasmtime runs the guest on a fiber of it), with a timer and I/O
/// driver for WASI's async host functions, like Aegis's.
fn fiber_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::LazyLock<tokio::runtime::Runtime> = std::sync::LazyLock::new(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    });
    &RUNTIME
}

/// Advances every epoch engine's epoch each [`TICK`] while the bench runs.
pub(crate) fn start_ticker(engines: Vec<Engine>) {
    std::thread::Builder::new()
        .name("bench-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                for e in &engines {
                    e.increment_epoch();
                }
            }
        })
        .expect("ticker thread");
}

pub(crate) fn epoch_engines(programs: &[Program]) -> Vec<Engine> {
    let mut engines: Vec<Engine> = Vec::new();
    for (_, cfg, engine, _) in programs.iter().flat_map(|p| &p.peers) {
        if cfg.epochs && !engines.iter().any(|e| Engine::same(e, engine)) {
            engines.push(engine.clone());
        }
    }
    engines
}
