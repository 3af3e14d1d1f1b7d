//! The builder and the `Runtime`: one configured engine shared by every sandbox.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cache::CompileCache;
use crate::capability::Capabilities;
use crate::complexity::ModuleLimits;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::module::{Module, ModuleInfo};
use crate::sandbox::SandboxBuilder;

/// Largest module a runtime accepts unless configured otherwise: 256 MiB.
pub const DEFAULT_MAX_MODULE_SIZE: usize = 256 * 1024 * 1024;

/// Entry point: `Aegis::builder()` configures a [`Runtime`].
pub struct Aegis;

impl Aegis {
    /// A builder with the default limits (64 MiB, 1 billion fuel, 30 s, 512 KiB stack)
    /// and no capabilities.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }
}

/// Setters shared by the runtime and sandbox builders: limits and capabilities.
///
/// Expands to inherent methods on a builder with `limits: Limits` and
/// `capabilities: Capabilities` fields, so users need no trait import.
macro_rules! configure_methods {
    () => {
        /// Caps total linear memory, in bytes.
        pub fn with_memory_limit(mut self, bytes: u64) -> Self {
            self.limits.memory = bytes;
            self
        }
        /// Sets the fuel each call may consume.
        pub fn with_fuel_limit(mut self, fuel: u64) -> Self {
            self.limits.fuel = Some(fuel);
            self
        }
        /// Turns fuel metering off (faster; rely on the timeout alone).
        pub fn without_fuel_limit(mut self) -> Self {
            self.limits.fuel = None;
            self
        }
        /// Sets the wall-clock limit of each call.
        pub fn with_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.limits.timeout = Some(timeout);
            self
        }
        /// Turns the wall-clock limit off.
        pub fn without_timeout(mut self) -> Self {
            self.limits.timeout = None;
            self
        }
        /// Caps the total number of table elements.
        pub fn with_table_elements_limit(mut self, elements: u64) -> Self {
            self.limits.table_elements = elements;
            self
        }
        /// Caps the WASI handles (open files, directories, streams, sockets)
        /// the guest may hold at once.
        pub fn with_handle_limit(mut self, handles: usize) -> Self {
            self.limits.handles = handles;
            self
        }
        /// Caps the result one call may hand the host (see
        /// [`Limits::result_bytes`](crate::Limits::result_bytes)).
        pub fn with_result_limit(mut self, bytes: u64) -> Self {
            self.limits.result_bytes = bytes;
            self
        }
        /// Replaces all limits at once.
        pub fn with_limits(mut self, limits: $crate::limits::Limits) -> Self {
            self.limits = limits;
            self
        }
        /// Adds directory grants.
        pub fn with_filesystem(mut self, fs: $crate::capability::FilesystemCapability) -> Self {
            let caps = &mut self.capabilities;
            caps.filesystem = std::mem::take(&mut caps.filesystem).merge(fs);
            self
        }
        /// Grants read-only access to `dir`, seen by the guest at the same path.
        pub fn allow_read(self, dir: impl Into<::std::path::PathBuf>) -> Self {
            self.with_filesystem($crate::capability::FilesystemCapability::read_only([dir]))
        }
        /// Grants read-write access to `dir`, seen by the guest at the same path.
        pub fn allow_write(self, dir: impl Into<::std::path::PathBuf>) -> Self {
            self.with_filesystem($crate::capability::FilesystemCapability::read_write([dir]))
        }
        /// Grants `host` to the guest under the path `guest`.
        pub fn map_dir(
            self,
            host: impl Into<::std::path::PathBuf>,
            guest: impl Into<String>,
            access: $crate::capability::DirAccess,
        ) -> Self {
            self.with_filesystem(
                $crate::capability::FilesystemCapability::default().map(host, guest, access),
            )
        }
        /// Sets how guest stdout/stderr are handled.
        pub fn with_logging(mut self, logging: $crate::capability::Logging) -> Self {
            self.capabilities.logging = logging;
            self
        }
        /// Lets guest output reach the host's stdout/stderr.
        pub fn allow_logging(self) -> Self {
            self.with_logging($crate::capability::Logging::Inherit)
        }
        /// Captures guest output in memory (at most `limit` bytes per stream).
        pub fn capture_output(self, limit: usize) -> Self {
            self.with_logging($crate::capability::Logging::Capture { limit })
        }
        /// Grants the real wall and monotonic clocks.
        pub fn allow_clock(self) -> Self {
            self.with_clock(true)
        }
        /// Grants (`true`) or withholds the real clocks.
        pub fn with_clock(mut self, allowed: bool) -> Self {
            self.capabilities.clock = allowed;
            self
        }
        /// Adds an environment variable visible to the guest.
        pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.capabilities.env.push((key.into(), value.into()));
            self
        }
        /// Sets the guest's command-line arguments (`argv[0]` included).
        pub fn with_args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
            self.capabilities.args = args.into_iter().map(Into::into).collect();
            self
        }
        /// Sets the outbound network allowlist.
        pub fn with_network(mut self, network: $crate::capability::NetworkCapability) -> Self {
            self.capabilities.network = network;
            self
        }
        /// Adds one destination to the outbound network allowlist.
        pub fn allow_net(mut self, rule: $crate::capability::NetRule) -> Self {
            self.capabilities.network.rules.push(rule);
            self
        }
        /// Sets what a denied capability does: an error number for the
        /// guest (the default) or a `permission_denied` error for the call.
        pub fn with_on_denied(mut self, on_denied: $crate::policy::OnDenied) -> Self {
            self.capabilities.on_denied = on_denied;
            self
        }
        /// Makes the guest's random source deterministic.
        pub fn with_random_seed(mut self, seed: u64) -> Self {
            self.capabilities.random_seed = Some(seed);
            self
        }
        /// Sets where the guest's stdin comes from (default: empty, end of
        /// file at once). A [`Stdin::File`]($crate::Stdin::File) must be a
        /// regular file; it is checked when the sandbox is built.
        pub fn with_stdin(mut self, stdin: $crate::Stdin) -> Self {
            self.capabilities.stdin = stdin;
            self
        }
    };
}
pub(crate) use configure_methods;

/// Configures a [`Runtime`]: limits fixed at engine level, and the defaults
/// every sandbox starts from.
#[derive(Debug, Clone, Default)]
pub struct RuntimeBuilder {
    limits: Limits,
    capabilities: Capabilities,
    instance_pool: Option<u32>,
    compile_cache: Option<PathBuf>,
    max_module_size: Option<usize>,
    module_limits: ModuleLimits,
    wasm_exceptions: bool,
    wasm_gc: bool,
    allowed_modules: Option<Vec<String>>,
}

impl RuntimeBuilder {
    configure_methods!();

    /// Pre-allocates `slots` instance slots (pooling allocator with
    /// copy-on-write memory images), making a fresh sandbox much cheaper.
    ///
    /// Each slot reserves virtual address space for a memory of the runtime's
    /// memory limit; at most `slots` sandboxes can hold an instance at once
    /// (one more fails with `memory_limit_exceeded`, resource `instances`),
    /// and a sandbox cannot raise its memory limit above the runtime's.
    pub fn with_instance_pool(mut self, slots: u32) -> Self {
        self.instance_pool = Some(slots);
        self
    }

    /// Caches compiled code on disk, so loading the same module again skips
    /// compilation.
    ///
    /// `dir` (created with mode 0700 if missing) may hold other files: Aegis
    /// only writes in its own subdirectory `dir/aegis-compile-cache-v1/`,
    /// which it creates private to the current user and marks with a
    /// `CACHEDIR.TAG` file, and only ever replaces or deletes files it wrote
    /// there. Artifacts are keyed by the SHA-256 of the module's bytes, the
    /// engine configuration, the wasmtime version and the Aegis version.
    ///
    /// Cached code is loaded without validation, so every directory on the
    /// path must be owned by root or the current user and not writable by
    /// others (root-owned sticky directories such as `/tmp` excepted):
    /// [`build`](Self::build) refuses a path that fails this check
    /// (`invalid_argument`). The check is repeated, with the artifact's own
    /// (a regular file of the current user, not a symlink), before every
    /// load; if it fails then, the module is compiled instead and the cache
    /// is neither read nor written ([`Runtime::compile_cache_stats`] counts
    /// it).
    pub fn with_compile_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.compile_cache = Some(dir.into());
        self
    }

    /// Refuses modules larger than `bytes` (binary size, or WAT text size)
    /// before parsing them, which bounds compile time and memory. Default
    /// [`DEFAULT_MAX_MODULE_SIZE`].
    pub fn with_max_module_size(mut self, bytes: usize) -> Self {
        self.max_module_size = Some(bytes);
        self
    }

    /// Refuses modules whose structure would make compiling them cost far
    /// more than their size suggests (see [`ModuleLimits`] for each limit
    /// and its default), with `module_too_complex`, before compiling,
    /// validating or inspecting them.
    pub fn with_module_limits(mut self, limits: ModuleLimits) -> Self {
        self.module_limits = limits;
        self
    }

    /// Turns the exception-handling proposal (`throw`, `try_table`) on or
    /// off; off by default.
    ///
    /// Throwing is far slower than its fuel cost of one instruction
    /// suggests (each throw allocates an exception object and unwinds in
    /// the host), so with exceptions on, `throw` and `throw_ref` are charged
    /// [`crate::limits::THROW_FUEL_COST`] fuel each, and the timeout still
    /// applies. An exception that leaves the guest fails with `trap`, trap
    /// code `uncaught_exception`.
    pub fn with_wasm_exceptions(mut self, enable: bool) -> Self {
        self.wasm_exceptions = enable;
        self
    }

    /// Turns the garbage-collection proposal (`struct`, `array`, `i31`) on or
    /// off; off by default. The GC heap counts against the memory limit: an
    /// allocation that does not fit fails with `memory_limit_exceeded`,
    /// resource `gc_heap`.
    pub fn with_wasm_gc(mut self, enable: bool) -> Self {
        self.wasm_gc = enable;
        self
    }

    /// Allows only the modules whose SHA-256 digests (64 hex digits, of the
    /// bytes as given to `load_*`) are listed: any other is refused with
    /// `permission_denied` (capability `module`) before it is parsed. A bad
    /// digest makes [`build`](Self::build) fail with `invalid_argument`.
    pub fn with_allowed_modules<S: AsRef<str>>(
        mut self,
        digests: impl IntoIterator<Item = S>,
    ) -> Self {
        let list = self.allowed_modules.get_or_insert_with(Vec::new);
        list.extend(digests.into_iter().map(|d| d.as_ref().to_string()));
        self
    }

    /// Sets the maximum wasm stack in bytes (engine-wide; 4 KiB to 256 MiB).
    ///
    /// Guest code runs on a stack of its own (this limit plus room for host
    /// functions), never on the calling thread's, so any thread may call.
    pub fn with_stack_limit(mut self, bytes: usize) -> Self {
        self.limits.stack = bytes;
        self
    }

    /// Builds the engine and registers it with the process's epoch ticker.
    pub fn build(self) -> Result<Runtime> {
        let max_stack = crate::call::MAX_STACK_LIMIT;
        if !(4096..=max_stack).contains(&self.limits.stack) {
            return Err(Error::invalid_argument(format!(
                "stack limit {} is out of range (4096 to {max_stack} bytes)",
                self.limits.stack
            )));
        }
        if self.limits.timeout == Some(Duration::ZERO) {
            return Err(Error::invalid_argument("timeout must be greater than zero"));
        }
        self.capabilities.filesystem.check()?;
        let mut config = wasmtime::Config::new();
        // Epoch interruption stays on even without a timeout: it is how an
        // interrupt reaches a guest that is computing.
        config
            .consume_fuel(self.limits.fuel.is_some())
            .epoch_interruption(true)
            .max_wasm_stack(self.limits.stack)
            .async_stack_size(self.limits.stack + crate::call::HOST_STACK_HEADROOM);
        let features = crate::limits::configure_engine(
            &mut config,
            &self.limits,
            self.wasm_exceptions,
            self.wasm_gc,
            self.instance_pool.is_some(),
        );
        if let Some(slots) = self.instance_pool {
            config.allocation_strategy(pooling(slots, &self.limits));
        }
        let compile_cache = self
            .compile_cache
            .as_deref()
            .map(CompileCache::open)
            .transpose()?;
        let engine = wasmtime::Engine::new(&config)
            .map_err(|e| Error::invalid_argument(format!("cannot configure engine: {e}")))?;
        let ticker = crate::ticker::register(&engine);
        let base_linker = crate::linker::base_linker(&engine)?;
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                limits: self.limits,
                capabilities: self.capabilities,
                ticker,
                base_linker,
                instance_pool: self.instance_pool,
                max_module_size: self.max_module_size.unwrap_or(DEFAULT_MAX_MODULE_SIZE),
                compile_cache,
                module_limits: self.module_limits,
                allowed_modules: self
                    .allowed_modules
                    .map(|list| {
                        list.iter()
                            .map(|d| crate::module::parse_digest(d))
                            .collect()
                    })
                    .transpose()?,
                features,
            }),
        })
    }
}

/// A configured engine. Cheap to clone, `Send + Sync`, shareable across threads.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub engine: wasmtime::Engine,
    pub limits: Limits,
    pub capabilities: Capabilities,
    /// This engine's place in the process-wide epoch ticker.
    pub ticker: std::sync::Arc<crate::ticker::EngineSlot>,
    /// WASI preview 1 (audited) and nothing else: what a sandbox without its
    /// own host functions links against, shared by all of them.
    pub base_linker: wasmtime::Linker<crate::store::StoreState>,
    /// Slots of the pre-allocated instance pool, if instances come from one.
    pub instance_pool: Option<u32>,
    /// Largest module accepted, in bytes.
    pub max_module_size: usize,
    /// Where compiled code is kept between runs, if anywhere.
    pub compile_cache: Option<CompileCache>,
    /// Structural limits checked before compiling.
    pub module_limits: ModuleLimits,
    /// The wasm features the engine accepts, for validating without it.
    pub features: wasmparser::WasmFeatures,
    /// SHA-256 digests of the only modules that may be loaded, if limited.
    pub allowed_modules: Option<Vec<[u8; 32]>>,
}

impl Runtime {
    /// A runtime with every default.
    pub fn new() -> Result<Self> {
        Aegis::builder().build()
    }

    /// The default limits of this runtime's sandboxes.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The default capabilities of this runtime's sandboxes.
    pub fn capabilities(&self) -> &Capabilities {
        &self.inner.capabilities
    }

    /// Compiles a module (or component) from binary wasm or WAT text.
    pub fn load_bytes(&self, bytes: &[u8]) -> Result<Module> {
        Module::from_bytes(self, bytes)
    }

    /// Compiles a module from WAT text.
    pub fn load_wat(&self, text: &str) -> Result<Module> {
        Module::from_wat(self, text)
    }

    /// Reads and compiles a `.wasm` or `.wat` file.
    ///
    /// Only a regular file is read, and never more than the module size
    /// limit: FIFOs, devices and directories are refused (`invalid_argument`)
    /// without blocking, and a larger file is refused before it is read.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<Module> {
        let bytes = self.read_module_file(path)?;
        self.load_bytes(&bytes)
    }

    /// Reads a module file the way [`Runtime::load_file`] does, without compiling it.
    pub fn read_module_file(&self, path: impl AsRef<Path>) -> Result<Vec<u8>> {
        crate::source::read_module_file(path.as_ref(), self.inner.max_module_size)
    }

    /// Refuses `bytes` with `permission_denied` (capability `module`,
    /// operation `load`) unless the runtime allows every module or its
    /// `allowed_modules` list has their SHA-256 digest. Every `load_*`,
    /// `validate` and `inspect` checks this first.
    pub fn check_allowed(&self, bytes: &[u8]) -> Result<()> {
        crate::module::check_allowed(self, bytes)
    }

    /// Checks that `bytes` is a valid module or component without compiling
    /// or instantiating it: the complexity limits, then wasmparser's
    /// validator with the features this runtime's engine accepts.
    pub fn validate(&self, bytes: &[u8]) -> Result<()> {
        Module::validate(self, bytes)
    }

    /// Validates `bytes` (as [`Runtime::validate`]) and lists its imports
    /// and exports with their types, without compiling it.
    pub fn inspect(&self, bytes: &[u8]) -> Result<ModuleInfo> {
        ModuleInfo::from_bytes(self, bytes)
    }

    /// The structural limits modules must meet.
    pub fn module_limits(&self) -> &ModuleLimits {
        &self.inner.module_limits
    }

    /// Starts configuring a sandbox with this runtime's defaults.
    pub fn sandbox(&self) -> SandboxBuilder {
        SandboxBuilder::new(self.clone())
    }

    pub(crate) fn engine(&self) -> &wasmtime::Engine {
        &self.inner.engine
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.inner.limits)
            .field("capabilities", &self.inner.capabilities)
            .finish_non_exhaustive()
    }
}

/// The pooling allocation strategy for `slots` sandboxes under `limits`.
fn pooling(slots: u32, limits: &Limits) -> wasmtime::InstanceAllocationStrategy {
    let mut pool = wasmtime::PoolingAllocationConfig::new();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        .total_component_instances(slots)
        .max_memory_size(usize::try_from(limits.memory).unwrap_or(usize::MAX))
        .table_elements(usize::try_from(limits.table_elements).unwrap_or(usize::MAX));
    wasmtime::InstanceAllocationStrategy::Pooling(pool)
}
