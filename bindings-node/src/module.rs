//! `Module`: a compiled module, with its imports and exports described for JS.

use aegis_core::ExternType;
use napi_derive::napi;

/// A compiled WebAssembly module (or WASI 0.2 component), loadable into any
/// sandbox of the runtime that compiled it.
#[napi]
pub struct Module {
    pub(crate) inner: aegis_core::Module,
}

/// One import or export and its type.
#[napi(object)]
pub struct ExternInfo {
    /// Import namespace, e.g. `env` (empty for exports). For a component:
    /// the interface of an interface import (`aegis:test/host`), empty for a
    /// root import.
    pub module: String,
    /// Field or export name. For a component export inside an interface:
    /// `interface#func` (`aegis:test/text#upper`), the name `call` takes.
    pub name: String,
    /// `function`, `memory`, `table`, `global` or `other` (component
    /// functions are `function`; other component items are named by kind).
    pub kind: String,
    /// The type as text, e.g. `(i32, i32) -> (i32)` or `1 pages`; for a
    /// component function its WIT signature, e.g. `func(name: string) -> string`.
    #[napi(js_name = "type")]
    pub ty: String,
    /// Parameter types of a function, e.g. `["i32", "i32"]` (WIT types such
    /// as `["string"]` for a component function).
    pub params: Option<Vec<String>>,
    /// Result types of a function (at most one for a component function).
    pub results: Option<Vec<String>>,
}

fn info(module: &str, name: &str, ty: &ExternType) -> ExternInfo {
    let names = |types: &[aegis_core::ValType]| types.iter().map(|t| t.to_string()).collect();
    let (params, results) = match ty {
        ExternType::Function(sig) => (Some(names(&sig.params)), Some(names(&sig.results))),
        ExternType::ComponentFunction(sig) => (
            Some(sig.params.iter().map(|(_, t)| t.clone()).collect()),
            Some(sig.result.iter().cloned().collect()),
        ),
        _ => (None, None),
    };
    ExternInfo {
        module: module.to_string(),
        name: name.to_string(),
        kind: ty.kind().to_string(),
        ty: ty.to_string(),
        params,
        results,
    }
}

#[napi]
impl Module {
    /// Not for JS code (throws `AEGIS_INVALID_ARGUMENT`): modules come from
    /// `runtime.loadWat`, `loadFile` or `loadBytes`.
    #[napi(constructor, skip_typescript)]
    pub fn new(env: napi::Env) -> napi::Result<Self> {
        crate::errors::not_constructible(
            &env,
            "Module",
            "use runtime.loadWat, loadFile or loadBytes",
        )
    }

    /// Every import, in declaration order.
    #[napi(getter)]
    pub fn imports(&self) -> Vec<ExternInfo> {
        self.inner
            .imports()
            .iter()
            .map(|i| info(&i.module, &i.name, &i.ty))
            .collect()
    }

    /// Every export, in declaration order.
    #[napi(getter)]
    pub fn exports(&self) -> Vec<ExternInfo> {
        self.inner
            .exports()
            .iter()
            .map(|e| info("", &e.name, &e.ty))
            .collect()
    }

    /// Names of the exported functions.
    #[napi(getter)]
    pub fn function_names(&self) -> Vec<String> {
        self.inner.function_names()
    }

    /// Whether this is a WASI 0.2 component rather than a core module.
    #[napi(getter)]
    pub fn is_component(&self) -> bool {
        self.inner.is_component()
    }

    /// One line per import and export, e.g. `add [function]: (i32, i32) -> (i32)`.
    #[napi]
    pub fn describe(&self) -> String {
        let imports = self.inner.imports().iter().map(|i| format!("import {i}"));
        let exports = self.inner.exports().iter().map(|e| format!("export {e}"));
        imports.chain(exports).collect::<Vec<_>>().join("\n")
    }
}

impl Module {
    /// A `Module` argument; anything else is `AEGIS_INVALID_ARGUMENT`.
    pub fn from_js(
        env: &napi::Env,
        raw: napi::sys::napi_value,
        what: &str,
    ) -> crate::errors::Fallible<aegis_core::Module> {
        use napi::bindgen_prelude::{ClassInstance, FromNapiValue};
        // SAFETY: `raw` is a live value of `env`; a value that is not a
        // `Module` instance is refused by napi (its type tag is checked).
        match unsafe { ClassInstance::<Module>::from_napi_value(env.raw(), raw) } {
            Ok(module) => Ok(module.inner.clone()),
            Err(_) => Err(crate::errors::invalid_argument(format!(
                "{what} must be a Module (from runtime.loadWat/loadBytes/loadFile)"
            ))),
        }
    }
}
