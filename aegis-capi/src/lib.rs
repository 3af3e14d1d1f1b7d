//! libaegis: the C ABI of the Aegis WebAssembly sandbox.
//!
//! Every exported function is `extern "C"`, runs its body under
//! `catch_unwind`, and reports failure as an owned `aegis_error_t*` (NULL on
//! success). NULL pointers and invalid UTF-8 give
//! `AEGIS_ERROR_INVALID_ARGUMENT`. Pointers that are not NULL must be valid
//! as described on each function (the C header states ownership); that is
//! the whole safety contract, so the per-function `# Safety` sections that
//! would repeat it are omitted.
//!
//! The vocabulary is the core's: a builder holds an `aegis_core::Policy`
//! (options named as in `aegis_core::policy::OPTIONS`), errors expose
//! `Error::details` under the same names, durations are seconds (`double`),
//! and a sandbox follows the core's busy rule (`SharedSandbox`).
#![allow(clippy::missing_safety_doc)]

mod args;
pub mod builder;
pub mod data;
pub mod error;
pub mod host;
pub mod interrupt;
pub mod module;
pub mod options;
pub mod runtime;
pub mod sandbox;
pub mod value;
pub mod witval;

use std::ffi::c_char;

/// The library version, e.g. "0.1.0" (static string).
#[unsafe(no_mangle)]
pub extern "C" fn aegis_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}
