//! The options list: the core's `OPTIONS`, for C programs that list, document
//! or validate options at run time (the names `aegis_builder_set` takes).

use std::ffi::{CString, c_char};
use std::sync::OnceLock;

use aegis_core::OPTIONS;
use aegis_core::policy::Scope;

use crate::error::{c_string, guard_value};

/// Where an option may be set: `AEGIS_SCOPE_BOTH` or `AEGIS_SCOPE_RUNTIME`
/// (`AEGIS_SCOPE_NONE` for an index that is not an option).
#[allow(non_camel_case_types)]
pub type aegis_scope_t = u32;
/// Not an option (index out of range).
pub const AEGIS_SCOPE_NONE: aegis_scope_t = 0;
/// On a runtime (for all its sandboxes) or on one sandbox.
pub const AEGIS_SCOPE_BOTH: aegis_scope_t = 1;
/// On a runtime only (`aegis_builder_build_sandbox` refuses it).
pub const AEGIS_SCOPE_RUNTIME: aegis_scope_t = 2;

/// NUL-terminated copies of each option's name, doc, default and unit, made once.
fn texts() -> &'static [[CString; 4]] {
    static TEXTS: OnceLock<Vec<[CString; 4]>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        OPTIONS
            .iter()
            .map(|o| {
                [
                    c_string(o.name),
                    c_string(o.doc),
                    c_string(o.default),
                    c_string(o.unit),
                ]
            })
            .collect()
    })
}

/// Field `field` of option `index`, or NULL.
fn text_of(index: usize, field: usize) -> *const c_char {
    guard_value(std::ptr::null(), || {
        texts()
            .get(index)
            .map_or(std::ptr::null(), |t| t[field].as_ptr())
    })
}

/// Number of options (valid indexes are 0 to this minus one).
#[unsafe(no_mangle)]
pub extern "C" fn aegis_option_count() -> usize {
    OPTIONS.len()
}

/// Name of option `index`, e.g. "memory_limit": the name `aegis_builder_set`
/// and policy files take (static string; NULL past the end).
#[unsafe(no_mangle)]
pub extern "C" fn aegis_option_name(index: usize) -> *const c_char {
    text_of(index, 0)
}

/// One-line description of option `index` (static string; NULL past the end).
#[unsafe(no_mangle)]
pub extern "C" fn aegis_option_doc(index: usize) -> *const c_char {
    text_of(index, 1)
}

/// Default of option `index` as text, e.g. "64 MiB" (static string; NULL
/// past the end).
#[unsafe(no_mangle)]
pub extern "C" fn aegis_option_default(index: usize) -> *const c_char {
    text_of(index, 2)
}

/// Unit or form of option `index`'s value, e.g. "seconds, or \"off\""
/// (static string; NULL past the end).
#[unsafe(no_mangle)]
pub extern "C" fn aegis_option_unit(index: usize) -> *const c_char {
    text_of(index, 3)
}

/// Where option `index` may be set (`AEGIS_SCOPE_NONE` past the end).
#[unsafe(no_mangle)]
pub extern "C" fn aegis_option_scope(index: usize) -> aegis_scope_t {
    match OPTIONS.get(index).map(|o| o.scope) {
        Some(Scope::Both) => AEGIS_SCOPE_BOTH,
        Some(Scope::Runtime) => AEGIS_SCOPE_RUNTIME,
        None => AEGIS_SCOPE_NONE,
    }
}
