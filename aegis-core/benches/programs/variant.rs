//! The ways a program is run: raw wasmtime with each of Aegis's limits on
//! or off, and Aegis itself.

use aegis_core::limits::{
    DEFAULT_MEMORY_LIMIT, DEFAULT_STACK_LIMIT, MEMORY_GUARD_SIZE, memory_reservation,
};
use wasmtime::{Config, Engine};

/// One way of running a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Variant {
    /// wasmtime's default `Config`: no fuel, no epochs, 4 GiB reservations.
    NoLimits,
    /// Aegis's default engine replicated: fuel, epochs, its memory settings
    /// ([`aegis_memory`]), its features, the 512 KiB stack, a store limiter.
    SameLimits,
    /// [`Variant::SameLimits`] run on a fiber with async WASI, as Aegis runs
    /// WASI programs: what is left between it and Aegis is Aegis's own.
    SameLimitsFiber,
    /// [`Variant::SameLimits`] without fuel.
    FuelOff,
    /// [`Variant::SameLimits`] without epoch interruption.
    EpochsOff,
    /// [`Variant::SameLimits`] with wasmtime's 4 GiB reservation and 32 MiB
    /// guards (no explicit bounds checks).
    Reservation4G,
    /// `Aegis::builder().build()`: a sandbox, `load_module`, `run`.
    AegisDefault,
    /// `Aegis::builder().without_fuel_limit().build()`.
    AegisFuelOff,
}

impl Variant {
    pub(crate) const ALL: [Variant; 8] = [
        Variant::NoLimits,
        Variant::SameLimits,
        Variant::SameLimitsFiber,
        Variant::FuelOff,
        Variant::EpochsOff,
        Variant::Reservation4G,
        Variant::AegisDefault,
        Variant::AegisFuelOff,
    ];

    pub(crate) fn key(self) -> &'static str {
        match self {
            Variant::NoLimits => "wasmtime_no_limits",
            Variant::SameLimits => "wasmtime_same_limits",
            Variant::SameLimitsFiber => "wasmtime_same_limits_fiber",
            Variant::FuelOff => "wasmtime_fuel_off",
            Variant::EpochsOff => "wasmtime_epochs_off",
            Variant::Reservation4G => "wasmtime_4gib_reservation",
            Variant::AegisDefault => "aegis_default",
            Variant::AegisFuelOff => "aegis_fuel_off",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Variant::NoLimits => "wasmtime, default Config (no fuel, no epochs, 4 GiB reservation)",
            Variant::SameLimits => {
                "wasmtime, Aegis's default engine (fuel, epochs, memory settings)"
            }
            Variant::SameLimitsFiber => "wasmtime, Aegis's default engine, async WASI on a fiber",
            Variant::FuelOff => "wasmtime, Aegis's default engine without fuel",
            Variant::EpochsOff => "wasmtime, Aegis's default engine without epochs",
            Variant::Reservation4G => {
                "wasmtime, Aegis's default engine with the 4 GiB reservation and guards"
            }
            Variant::AegisDefault => "Aegis, default runtime",
            Variant::AegisFuelOff => "Aegis, runtime without fuel",
        }
    }

    pub(crate) fn from_key(key: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.key() == key)
    }

    /// The engine settings of a wasmtime variant (`None` for Aegis).
    pub(crate) fn peer(self) -> Option<PeerConfig> {
        let same = PeerConfig {
            fuel: true,
            epochs: true,
            aegis_memory: true,
            aegis_engine: true,
            fiber: false,
        };
        match self {
            Variant::NoLimits => Some(PeerConfig {
                fuel: false,
                epochs: false,
                aegis_memory: false,
                aegis_engine: false,
                fiber: false,
            }),
            Variant::SameLimits => Some(same),
            Variant::SameLimitsFiber => Some(PeerConfig {
                fiber: true,
                ..same
            }),
            Variant::FuelOff => Some(PeerConfig {
                fuel: false,
                ..same
            }),
            Variant::EpochsOff => Some(PeerConfig {
                epochs: false,
                ..same
            }),
            Variant::Reservation4G => Some(PeerConfig {
                aegis_memory: false,
                ..same
            }),
            Variant::AegisDefault | Variant::AegisFuelOff => None,
        }
    }
}

/// What a raw wasmtime variant turns on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PeerConfig {
    pub(crate) fuel: bool,
    pub(crate) epochs: bool,
    /// Aegis's memory settings (see [`aegis_memory`]); otherwise wasmtime's
    /// default 4 GiB reservation and 32 MiB guards.
    pub(crate) aegis_memory: bool,
    /// The rest of Aegis's engine and store: its explicit wasm features, its
    /// stack limit and a store limiter with its default caps.
    pub(crate) aegis_engine: bool,
    /// Run as Aegis runs a WASI program: WASI linked in its async form, the
    /// call made with `call_async` on a fiber, driven on this thread.
    pub(crate) fiber: bool,
}

impl PeerConfig {
    /// The engine: what `RuntimeBuilder::build` sets for the default limits,
    /// as far as this variant keeps them.
    pub(crate) fn engine(&self, perfmap: bool) -> Engine {
        let mut config = Config::new();
        config
            .consume_fuel(self.fuel)
            .epoch_interruption(self.epochs);
        if self.aegis_engine {
            config.max_wasm_stack(DEFAULT_STACK_LIMIT);
            aegis_features(&mut config);
        }
        if self.aegis_memory {
            aegis_memory(&mut config);
        }
        if perfmap {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        Engine::new(&config).expect("engine")
    }
}

/// The wasm features Aegis's default runtime enables, all set explicitly
/// (a copy of `limits::configure_engine`, which is not public).
fn aegis_features(config: &mut Config) {
    use wasmparser::WasmFeatures as F;
    let mut features = F::WASM3 | F::GC_TYPES | F::COMPONENT_MODEL;
    features.remove(F::THREADS | F::EXCEPTIONS | F::GC);
    config.wasm_features(F::all(), false);
    config.wasm_features(features, true);
}

/// The code-generation settings of Aegis's memories for the default 64 MiB
/// limit (a copy of `limits::configure_reservations` and `arena::configure`,
/// which are not public). Where Aegis allocates memories from arenas (Linux,
/// overcommit allowed): no reservation, no guard, memories that may move, no
/// copy-on-write images, so every access is checked against the memory's
/// current size; the memories themselves come from wasmtime's allocator
/// here, not from an arena. Elsewhere: a 64 MiB reservation with
/// [`MEMORY_GUARD_SIZE`] guards.
fn aegis_memory(config: &mut Config) {
    let reservation = memory_reservation(DEFAULT_MEMORY_LIMIT);
    let arenas = std::fs::read_to_string("/proc/sys/vm/overcommit_memory")
        .is_ok_and(|mode| mode.trim() != "2");
    config
        .gc_heap_reservation(reservation)
        .gc_heap_guard_size(MEMORY_GUARD_SIZE)
        .gc_heap_reservation_for_growth(reservation);
    if arenas {
        config
            .memory_init_cow(false)
            .memory_reservation(0)
            .memory_guard_size(0)
            .memory_may_move(true);
    } else {
        config
            .memory_reservation(reservation)
            .memory_guard_size(MEMORY_GUARD_SIZE)
            .memory_reservation_for_growth(reservation);
    }
}
