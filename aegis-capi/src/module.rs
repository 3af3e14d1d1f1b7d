//! `aegis_module_t`: loading modules and inspecting their imports and exports.

use std::ffi::{CString, c_char};
use std::sync::Arc;

use aegis_core::{ExternType, Module};

use crate::args::{self, borrow, out_handle, text};
use crate::error::{aegis_error_t, c_string, guard, guard_value, invalid};
use crate::runtime::aegis_runtime_t;
use crate::value::{AEGIS_I32, aegis_valkind_t, kind_of};

/// A compiled module (or WASI 0.2 component). Thread-safe and immutable; one
/// module may be loaded into any number of sandboxes of its runtime. Freed
/// with `aegis_module_delete`; strings and arrays it hands out are borrowed
/// and valid until then.
#[allow(non_camel_case_types)]
pub struct aegis_module_t {
    pub(crate) module: Module,
    info: Arc<ModuleInfo>,
}

/// The kind of an import or export.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum aegis_externkind_t {
    /// A function; `params`/`results` hold its signature.
    AEGIS_EXTERN_FUNCTION = 0,
    /// A linear memory; `minimum`/`maximum` are in pages.
    AEGIS_EXTERN_MEMORY = 1,
    /// A table; `minimum`/`maximum` are in elements, `element` names the type.
    AEGIS_EXTERN_TABLE = 2,
    /// A global; `global_kind`, `global_numeric` and `mutable_` describe it.
    AEGIS_EXTERN_GLOBAL = 3,
    /// Anything else (tags, component items other than functions); only
    /// `text` is meaningful.
    AEGIS_EXTERN_OTHER = 4,
    /// A component function (WIT): `text` is its signature, e.g.
    /// "func(name: string) -> string"; `wit_params` / `nwit_params` and
    /// `wit_result` give its parts. Called with `aegis_sandbox_call_component`
    /// (exports) or implemented with `aegis_sandbox_register_component`
    /// (imports).
    AEGIS_EXTERN_COMPONENT_FUNCTION = 5,
}

/// One parameter of a component function: its name and WIT type as text
/// (e.g. "record { x: s32, y: s32, label: string }"). Borrowed from the module.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct aegis_wit_param_t {
    /// Parameter name.
    pub name: *const c_char,
    /// Its WIT type.
    pub ty: *const c_char,
}

/// The type of an import or export. Pointers are borrowed from the module.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct aegis_externtype_t {
    /// What kind of item this is.
    pub kind: aegis_externkind_t,
    /// The type as text, e.g. "(i32, i32) -> (i32)", "1 pages (max 2)", "mut i64",
    /// or a component function's WIT signature, "func(s: string) -> string".
    pub text: *const c_char,
    /// Function parameter types (`nparams` entries; NULL when 0).
    pub params: *const aegis_valkind_t,
    /// Number of function parameters.
    pub nparams: usize,
    /// Function result types (`nresults` entries; NULL when 0).
    pub results: *const aegis_valkind_t,
    /// Number of function results.
    pub nresults: usize,
    /// Memory pages or table elements at instantiation.
    pub minimum: u64,
    /// Declared maximum (meaningful when `has_maximum`).
    pub maximum: u64,
    /// Whether a maximum is declared.
    pub has_maximum: bool,
    /// Memory with 64-bit indices.
    pub memory64: bool,
    /// Memory shared between threads.
    pub shared: bool,
    /// Table element type, e.g. "funcref" ("" for other kinds).
    pub element: *const c_char,
    /// Global value type (meaningful when `global_numeric`).
    pub global_kind: aegis_valkind_t,
    /// Whether the global has a numeric type (false for v128 and references).
    pub global_numeric: bool,
    /// Whether the global is mutable.
    pub mutable_: bool,
    /// Component function parameters (`nwit_params` entries; NULL when 0).
    pub wit_params: *const aegis_wit_param_t,
    /// Number of component function parameters.
    pub nwit_params: usize,
    /// Component function result type as WIT text, or NULL when it has none
    /// (and for other kinds).
    pub wit_result: *const c_char,
}

/// One import: module namespace, field name and type. A component's import
/// of an interface function has the interface as `module`
/// ("aegis:test/host") and the function as `name`; a root import has ""
/// as `module`.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct aegis_import_t {
    /// Namespace, e.g. "env" (borrowed).
    pub module: *const c_char,
    /// Field name (borrowed).
    pub name: *const c_char,
    /// Its type.
    pub ty: aegis_externtype_t,
}

/// One export: name and type. A function of a component's exported
/// interface is named `interface#func` ("aegis:test/text#upper"), the name
/// `aegis_sandbox_call_component` takes.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct aegis_export_t {
    /// Export name (borrowed).
    pub name: *const c_char,
    /// Its type.
    pub ty: aegis_externtype_t,
}

/// NUL-terminated copies of a module's names and types, made once.
struct ModuleInfo {
    imports: Vec<(CString, CString, TypeInfo)>,
    exports: Vec<(CString, TypeInfo)>,
}

struct TypeInfo {
    ty: ExternType,
    text: CString,
    element: CString,
    params: Vec<aegis_valkind_t>,
    results: Vec<aegis_valkind_t>,
    /// A component function's parameter names and types (what `wit_params`
    /// points into: only read through those pointers), and result type.
    #[allow(dead_code)]
    wit_names: Vec<[CString; 2]>,
    wit_params: Vec<aegis_wit_param_t>,
    wit_result: Option<CString>,
}

// SAFETY: `wit_params` only points into `wit_names`, owned by the same value
// and never changed after construction.
unsafe impl Send for TypeInfo {}
unsafe impl Sync for TypeInfo {}

impl TypeInfo {
    fn new(ty: &ExternType) -> Self {
        let (params, results, element) = match ty {
            ExternType::Function(sig) => (
                sig.params.iter().map(|t| kind_of(*t)).collect(),
                sig.results.iter().map(|t| kind_of(*t)).collect(),
                String::new(),
            ),
            ExternType::Table(t) => (Vec::new(), Vec::new(), t.element.clone()),
            _ => (Vec::new(), Vec::new(), String::new()),
        };
        let (wit_names, wit_result) = match ty {
            ExternType::ComponentFunction(f) => (
                f.params
                    .iter()
                    .map(|(n, t)| [c_string(n), c_string(t)])
                    .collect::<Vec<_>>(),
                f.result.as_deref().map(c_string),
            ),
            _ => (Vec::new(), None),
        };
        // The CStrings' bytes are on the heap: the pointers survive moving `wit_names`.
        let wit_params = wit_names
            .iter()
            .map(|[n, t]| aegis_wit_param_t {
                name: n.as_ptr(),
                ty: t.as_ptr(),
            })
            .collect();
        TypeInfo {
            ty: ty.clone(),
            text: c_string(&ty.to_string()),
            element: c_string(&element),
            params,
            results,
            wit_names,
            wit_params,
            wit_result,
        }
    }

    fn to_c(&self) -> aegis_externtype_t {
        let list = |v: &Vec<aegis_valkind_t>| {
            if v.is_empty() {
                std::ptr::null()
            } else {
                v.as_ptr()
            }
        };
        let mut out = aegis_externtype_t {
            kind: aegis_externkind_t::AEGIS_EXTERN_OTHER,
            text: self.text.as_ptr(),
            params: list(&self.params),
            nparams: self.params.len(),
            results: list(&self.results),
            nresults: self.results.len(),
            minimum: 0,
            maximum: 0,
            has_maximum: false,
            memory64: false,
            shared: false,
            element: self.element.as_ptr(),
            global_kind: AEGIS_I32,
            global_numeric: false,
            mutable_: false,
            wit_params: if self.wit_params.is_empty() {
                std::ptr::null()
            } else {
                self.wit_params.as_ptr()
            },
            nwit_params: self.wit_params.len(),
            wit_result: self
                .wit_result
                .as_ref()
                .map_or(std::ptr::null(), |r| r.as_ptr()),
        };
        match &self.ty {
            ExternType::Function(_) => out.kind = aegis_externkind_t::AEGIS_EXTERN_FUNCTION,
            ExternType::Memory(m) => {
                out.kind = aegis_externkind_t::AEGIS_EXTERN_MEMORY;
                out.minimum = m.minimum;
                out.maximum = m.maximum.unwrap_or(0);
                out.has_maximum = m.maximum.is_some();
                out.memory64 = m.memory64;
                out.shared = m.shared;
            }
            ExternType::Table(t) => {
                out.kind = aegis_externkind_t::AEGIS_EXTERN_TABLE;
                out.minimum = t.minimum;
                out.maximum = t.maximum.unwrap_or(0);
                out.has_maximum = t.maximum.is_some();
            }
            ExternType::Global(g) => {
                out.kind = aegis_externkind_t::AEGIS_EXTERN_GLOBAL;
                out.global_numeric = g.content.is_some();
                out.global_kind = g.content.map(kind_of).unwrap_or(AEGIS_I32);
                out.mutable_ = g.mutable;
            }
            ExternType::ComponentFunction(_) => {
                out.kind = aegis_externkind_t::AEGIS_EXTERN_COMPONENT_FUNCTION
            }
            ExternType::Other(_) => {}
        }
        out
    }
}

impl aegis_module_t {
    fn new(module: Module) -> Self {
        let info = ModuleInfo {
            imports: module
                .imports()
                .iter()
                .map(|i| (c_string(&i.module), c_string(&i.name), TypeInfo::new(&i.ty)))
                .collect(),
            exports: module
                .exports()
                .iter()
                .map(|e| (c_string(&e.name), TypeInfo::new(&e.ty)))
                .collect(),
        };
        aegis_module_t {
            module,
            info: Arc::new(info),
        }
    }
}

/// Stores a freshly compiled module in `*out`.
fn store(slot: &mut *mut aegis_module_t, module: Module) {
    args::give(slot, aegis_module_t::new(module));
}

/// Reads and compiles a `.wasm` or `.wat` file; the module goes to
/// `*module_out` (NULL on error). Errors: `AEGIS_ERROR_IO`, `AEGIS_ERROR_INVALID_MODULE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_module_load_file(
    runtime: *const aegis_runtime_t,
    path: *const c_char,
    module_out: *mut *mut aegis_module_t,
) -> *mut aegis_error_t {
    guard("aegis_module_load_file", || {
        let slot = unsafe { out_handle(module_out, "module_out") }?;
        let runtime = unsafe { borrow(runtime, "runtime") }?;
        let path = unsafe { text(path, "path") }?;
        store(slot, runtime.runtime.load_file(path)?);
        Ok(())
    })
}

/// Compiles `bytes[0..len]` (binary wasm, or WAT text); the module goes to
/// `*module_out` (NULL on error). The bytes are copied as needed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_module_load_bytes(
    runtime: *const aegis_runtime_t,
    bytes: *const u8,
    len: usize,
    module_out: *mut *mut aegis_module_t,
) -> *mut aegis_error_t {
    guard("aegis_module_load_bytes", || {
        let slot = unsafe { out_handle(module_out, "module_out") }?;
        let runtime = unsafe { borrow(runtime, "runtime") }?;
        let bytes = unsafe { args::slice(bytes, len, "bytes") }?;
        store(slot, runtime.runtime.load_bytes(bytes)?);
        Ok(())
    })
}

/// Compiles NUL-terminated WAT text; the module goes to `*module_out` (NULL
/// on error). Invalid UTF-8 gives `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_module_load_wat(
    runtime: *const aegis_runtime_t,
    wat: *const c_char,
    module_out: *mut *mut aegis_module_t,
) -> *mut aegis_error_t {
    guard("aegis_module_load_wat", || {
        let slot = unsafe { out_handle(module_out, "module_out") }?;
        let runtime = unsafe { borrow(runtime, "runtime") }?;
        let wat = unsafe { text(wat, "wat") }?;
        store(slot, runtime.runtime.load_wat(wat)?);
        Ok(())
    })
}

/// A new handle to the same compiled module (cheap; no recompilation).
/// Returns NULL if `module` is NULL. Owned by the caller.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_module_clone(module: *const aegis_module_t) -> *mut aegis_module_t {
    guard_value(std::ptr::null_mut(), || match unsafe { module.as_ref() } {
        Some(m) => Box::into_raw(Box::new(aegis_module_t {
            module: m.module.clone(),
            info: m.info.clone(),
        })),
        None => std::ptr::null_mut(),
    })
}

/// Frees a module handle. Sandboxes that loaded it are unaffected. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_module_delete(module: *mut aegis_module_t) {
    guard_value((), || unsafe { args::free(module) });
}

/// Whether the module is a WASI 0.2 component rather than a core module
/// (false if `module` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_module_is_component(module: *const aegis_module_t) -> bool {
    guard_value(false, || {
        unsafe { module.as_ref() }.is_some_and(|m| m.module.is_component())
    })
}

/// Number of imports (0 if `module` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_module_imports_count(module: *const aegis_module_t) -> usize {
    guard_value(0, || {
        unsafe { module.as_ref() }.map_or(0, |m| m.info.imports.len())
    })
}

/// Number of exports (0 if `module` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_module_exports_count(module: *const aegis_module_t) -> usize {
    guard_value(0, || {
        unsafe { module.as_ref() }.map_or(0, |m| m.info.exports.len())
    })
}

/// Describes import number `index` (declaration order) in `*import_out`.
/// An index past the end gives `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_module_import(
    module: *const aegis_module_t,
    index: usize,
    import_out: *mut aegis_import_t,
) -> *mut aegis_error_t {
    guard("aegis_module_import", || {
        let m = unsafe { borrow(module, "module") }?;
        let out = unsafe { args::borrow_mut(import_out, "import_out") }?;
        let (module_name, name, ty) = m.info.imports.get(index).ok_or_else(|| {
            invalid(format!(
                "import index {index} out of range ({} imports)",
                m.info.imports.len()
            ))
        })?;
        *out = aegis_import_t {
            module: module_name.as_ptr(),
            name: name.as_ptr(),
            ty: ty.to_c(),
        };
        Ok(())
    })
}

/// Describes export number `index` (declaration order) in `*export_out`.
/// An index past the end gives `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_module_export(
    module: *const aegis_module_t,
    index: usize,
    export_out: *mut aegis_export_t,
) -> *mut aegis_error_t {
    guard("aegis_module_export", || {
        let m = unsafe { borrow(module, "module") }?;
        let out = unsafe { args::borrow_mut(export_out, "export_out") }?;
        let (name, ty) = m.info.exports.get(index).ok_or_else(|| {
            invalid(format!(
                "export index {index} out of range ({} exports)",
                m.info.exports.len()
            ))
        })?;
        *out = aegis_export_t {
            name: name.as_ptr(),
            ty: ty.to_c(),
        };
        Ok(())
    })
}

/// Describes the export called `name` in `*export_out`; fails with
/// `AEGIS_ERROR_EXPORT_NOT_FOUND` if there is none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_module_export_find(
    module: *const aegis_module_t,
    name: *const c_char,
    export_out: *mut aegis_export_t,
) -> *mut aegis_error_t {
    guard("aegis_module_export_find", || {
        let m = unsafe { borrow(module, "module") }?;
        let name = unsafe { text(name, "name") }?;
        let out = unsafe { args::borrow_mut(export_out, "export_out") }?;
        let index = m
            .module
            .exports()
            .iter()
            .position(|e| e.name == name)
            .ok_or_else(|| aegis_core::Error::ExportNotFound {
                name: name.to_string(),
                available: m.module.function_names(),
            })?;
        let (cname, ty) = &m.info.exports[index];
        *out = aegis_export_t {
            name: cname.as_ptr(),
            ty: ty.to_c(),
        };
        Ok(())
    })
}
