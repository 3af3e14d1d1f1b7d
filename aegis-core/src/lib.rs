//! # aegis-core
//!
//! Run untrusted WebAssembly with hard limits and explicit capabilities.
//!
//! ```
//! use aegis_core::Aegis;
//!
//! let runtime = Aegis::builder().with_fuel_limit(1_000_000).build()?;
//! let module = runtime.load_wat(r#"(module
//!     (import "env" "offset" (func $offset (result i32)))
//!     (func (export "add") (param i32 i32) (result i32)
//!         (i32.add (i32.add (local.get 0) (local.get 1)) (call $offset))))"#)?;
//! let mut sandbox = runtime.sandbox().build()?;
//! sandbox.register_func("env", "offset", || 10)?;
//! sandbox.load_module(&module)?;
//! let sum: i32 = sandbox.call("add", (2, 3))?;
//! assert_eq!(sum, 15);
//! println!("fuel used: {}", sandbox.last_call_metrics().fuel_consumed);
//! # Ok::<(), aegis_core::Error>(())
//! ```

#![warn(missing_docs)]

mod arena;
pub mod bytes;
mod cache;
mod call;
pub mod capability;
mod clock;
mod coerce;
pub mod complexity;
mod component;
pub mod data;
mod denied;
pub mod details;
mod error;
mod export;
mod fs_audit;
mod fs_guard;
mod host;
mod host_fuel;
pub mod limits;
mod linker;
mod memory;
mod metrics;
mod module;
mod output;
mod p2_fuel;
mod p2_guard;
pub mod policy;
mod raw_call;
mod runtime;
mod sandbox;
mod shared;
mod source;
mod stack;
mod stdin;
mod store;
mod ticker;
mod trap;
mod typed;
pub mod units;
mod value;
mod wasi;
pub mod wave;
pub mod wit;

pub use cache::CompileCacheStats;
pub use call::InterruptHandle;
pub use capability::{
    Capabilities, DirAccess, DirGrant, FilesystemCapability, Logging, NetRule, NetworkCapability,
};
pub use coerce::{Arg, coerce_args};
pub use complexity::ModuleLimits;
pub use component::{ComponentCall, VALUE_SIZE};
pub use data::Data;
pub use details::{Capability, Detail, Operation, Resource, TrapCode};
pub use error::{Error, ErrorCode, Result};
pub use export::TypedExport;
pub use host::{
    HostCaller, HostError, HostPayload, HostResults, HostType, IntoHostFunc, IntoHostFuncWithCaller,
};
pub use limits::Limits;
pub use memory::GuestMemory;
pub use metrics::{DeniedOperation, MAX_DENIED_RECORDED, METRIC_NAMES, MetricValue, Metrics};
pub use module::{
    Export, ExternType, GlobalType, Import, MemoryType, Module, ModuleInfo, TableType, sha256_hex,
};
pub use policy::{OPTIONS, OnDenied, Policy};
pub use runtime::{Aegis, DEFAULT_MAX_MODULE_SIZE, Runtime, RuntimeBuilder};
pub use sandbox::{Sandbox, SandboxBuilder};
pub use shared::{Entered, SharedSandbox};
pub use stdin::{Stdin, StdinPolicy};
pub use store::StoreState;
pub use typed::{CallParams, CallResults};
pub use value::{FuncType, ValType, Value};
/// WIT values and types of component calls (wasmtime's own).
pub use wasmtime::component::{Val as WitVal, types::ComponentFunc, types::Type as WitType};

/// The README's Rust examples, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
