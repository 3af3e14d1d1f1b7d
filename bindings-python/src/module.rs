//! `aegis.Module` and the descriptions of its imports and exports.

use aegis_core::ExternType;
use pyo3::prelude::*;

use crate::values::type_names;

/// A function signature: parameter and result type names (`"i32"`, `"i64"`, `"f32"`, `"f64"`).
#[pyclass(frozen, module = "aegis", eq)]
#[derive(Clone, PartialEq)]
pub struct FuncType {
    /// Parameter types, in order.
    #[pyo3(get)]
    pub params: Vec<String>,
    /// Result types, in order.
    #[pyo3(get)]
    pub results: Vec<String>,
    text: String,
}

#[pymethods]
impl FuncType {
    /// A signature from type names, e.g. `FuncType(["i32", "i32"], ["i32"])`.
    #[new]
    #[pyo3(signature = (params=Vec::new(), results=Vec::new()))]
    fn new(py: Python<'_>, params: Vec<String>, results: Vec<String>) -> PyResult<Self> {
        let p = crate::values::parse_types(&params).map_err(|e| crate::errors::to_pyerr(py, e))?;
        let r = crate::values::parse_types(&results).map_err(|e| crate::errors::to_pyerr(py, e))?;
        Ok(Self::from_core(&aegis_core::FuncType::new(p, r)))
    }

    fn __str__(&self) -> &str {
        &self.text
    }

    fn __repr__(&self) -> String {
        format!(
            "FuncType(params={:?}, results={:?})",
            self.params, self.results
        )
    }
}

impl FuncType {
    pub fn from_core(sig: &aegis_core::FuncType) -> Self {
        FuncType {
            params: type_names(&sig.params),
            results: type_names(&sig.results),
            text: sig.to_string(),
        }
    }
}

/// A component function's WIT signature: `str()` gives
/// `func(name: string) -> string`.
#[pyclass(frozen, module = "aegis", eq)]
#[derive(Clone, PartialEq)]
pub struct WitFuncType {
    /// Parameter names and WIT types, in order: `[("name", "string")]`.
    #[pyo3(get)]
    pub params: Vec<(String, String)>,
    /// The WIT result type (`"string"`, `"result<s32, string>"`), or `None`.
    #[pyo3(get)]
    pub result: Option<String>,
    /// The whole signature as WIT text, e.g. `"func(name: string) -> string"`.
    #[pyo3(get)]
    pub signature: String,
}

#[pymethods]
impl WitFuncType {
    fn __str__(&self) -> &str {
        &self.signature
    }

    fn __repr__(&self) -> String {
        format!("WitFuncType({:?})", self.signature)
    }
}

impl WitFuncType {
    fn from_core(f: &aegis_core::wit::WitFunc) -> Self {
        WitFuncType {
            params: f.params.clone(),
            result: f.result.clone(),
            signature: f.to_string(),
        }
    }
}

/// A linear memory's size in pages.
#[pyclass(frozen, get_all, module = "aegis")]
pub struct MemoryType {
    /// Initial pages.
    pub minimum: u64,
    /// Maximum pages, or `None`.
    pub maximum: Option<u64>,
    /// Whether indices are 64-bit.
    pub memory64: bool,
    /// Whether the memory is shared.
    pub shared: bool,
}

/// A table's element type and size.
#[pyclass(frozen, get_all, module = "aegis")]
pub struct TableType {
    /// Element type, e.g. `"funcref"`.
    pub element: String,
    /// Initial elements.
    pub minimum: u64,
    /// Maximum elements, or `None`.
    pub maximum: Option<u64>,
}

/// A global's value type and mutability.
#[pyclass(frozen, get_all, module = "aegis")]
pub struct GlobalType {
    /// Value type text (`"i32"`, `"v128"`, `"funcref"`, ...).
    pub content: String,
    /// Whether the global is mutable.
    pub mutable: bool,
}

#[pymethods]
impl MemoryType {
    fn __repr__(&self) -> String {
        format!(
            "MemoryType(minimum={}, maximum={:?}, memory64={}, shared={})",
            self.minimum, self.maximum, self.memory64, self.shared
        )
    }
}

#[pymethods]
impl TableType {
    fn __repr__(&self) -> String {
        format!(
            "TableType(element={:?}, minimum={}, maximum={:?})",
            self.element, self.minimum, self.maximum
        )
    }
}

#[pymethods]
impl GlobalType {
    fn __repr__(&self) -> String {
        format!(
            "GlobalType(content={:?}, mutable={})",
            self.content, self.mutable
        )
    }
}

/// The Python object describing an extern type; `Other` becomes its text.
fn extern_type(py: Python<'_>, ty: &ExternType) -> PyResult<Py<PyAny>> {
    Ok(match ty {
        ExternType::Function(sig) => Py::new(py, FuncType::from_core(sig))?.into_any(),
        ExternType::Memory(m) => Py::new(
            py,
            MemoryType {
                minimum: m.minimum,
                maximum: m.maximum,
                memory64: m.memory64,
                shared: m.shared,
            },
        )?
        .into_any(),
        ExternType::Table(t) => Py::new(
            py,
            TableType {
                element: t.element.clone(),
                minimum: t.minimum,
                maximum: t.maximum,
            },
        )?
        .into_any(),
        ExternType::Global(g) => Py::new(
            py,
            GlobalType {
                content: g.content_text.clone(),
                mutable: g.mutable,
            },
        )?
        .into_any(),
        ExternType::ComponentFunction(f) => Py::new(py, WitFuncType::from_core(f))?.into_any(),
        ExternType::Other(text) => text.into_pyobject(py)?.into_any().unbind(),
    })
}

/// One import of a module: `str(imp)` gives `env.log [function]: (i32, i32) -> ()`
/// (a component's: `aegis:test/host#transform [function]: func(s: string) -> string`,
/// with `module` the interface, or `""` for a root import).
#[pyclass(frozen, module = "aegis")]
pub struct Import {
    /// Module namespace, e.g. `"env"`.
    #[pyo3(get)]
    pub module: String,
    /// Field name.
    #[pyo3(get)]
    pub name: String,
    /// `"function"`, `"memory"`, `"table"`, `"global"` or `"other"`.
    #[pyo3(get)]
    pub kind: String,
    /// `FuncType`, `WitFuncType` (a component's functions), `MemoryType`,
    /// `TableType`, `GlobalType`, or a `str` for anything else.
    #[pyo3(get, name = "type")]
    pub ty: Py<PyAny>,
    text: String,
}

#[pymethods]
impl Import {
    fn __str__(&self) -> &str {
        &self.text
    }

    fn __repr__(&self) -> String {
        format!("<Import {}>", self.text)
    }
}

/// One export of a module: `str(exp)` gives `add [function]: (i32, i32) -> (i32)`
/// (a component's: `greet [function]: func(name: string) -> string`, named
/// `interface#func` inside an exported interface).
#[pyclass(frozen, module = "aegis")]
pub struct Export {
    /// Export name.
    #[pyo3(get)]
    pub name: String,
    /// `"function"`, `"memory"`, `"table"`, `"global"` or `"other"`.
    #[pyo3(get)]
    pub kind: String,
    /// `FuncType`, `WitFuncType` (a component's functions), `MemoryType`,
    /// `TableType`, `GlobalType`, or a `str` for anything else.
    #[pyo3(get, name = "type")]
    pub ty: Py<PyAny>,
    text: String,
}

#[pymethods]
impl Export {
    fn __str__(&self) -> &str {
        &self.text
    }

    fn __repr__(&self) -> String {
        format!("<Export {}>", self.text)
    }
}

/// A compiled WebAssembly module (or WASI 0.2 component).
///
/// Created by `Runtime.load_bytes`, `load_wat` or `load_file`; immutable,
/// thread-safe, loadable into any number of sandboxes of its runtime.
#[pyclass(frozen, module = "aegis")]
pub struct Module {
    pub inner: aegis_core::Module,
}

#[pymethods]
impl Module {
    /// Every import, in declaration order.
    #[getter]
    fn imports(&self, py: Python<'_>) -> PyResult<Vec<Import>> {
        self.inner
            .imports()
            .iter()
            .map(|i| {
                Ok(Import {
                    module: i.module.clone(),
                    name: i.name.clone(),
                    kind: i.ty.kind().to_string(),
                    ty: extern_type(py, &i.ty)?,
                    text: i.to_string(),
                })
            })
            .collect()
    }

    /// Every export, in declaration order.
    #[getter]
    fn exports(&self, py: Python<'_>) -> PyResult<Vec<Export>> {
        self.inner.exports().iter().map(|e| export(py, e)).collect()
    }

    /// The export named `name`, or `None`.
    fn export(&self, py: Python<'_>, name: &str) -> PyResult<Option<Export>> {
        self.inner.export(name).map(|e| export(py, e)).transpose()
    }

    /// Names of the exported functions.
    #[getter]
    fn function_names(&self) -> Vec<String> {
        self.inner.function_names()
    }

    /// Whether this is a WASI 0.2 component rather than a core module.
    #[getter]
    fn is_component(&self) -> bool {
        self.inner.is_component()
    }

    fn __repr__(&self) -> String {
        format!(
            "<aegis.Module exports=[{}]>",
            self.inner
                .exports()
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn export(py: Python<'_>, e: &aegis_core::Export) -> PyResult<Export> {
    Ok(Export {
        name: e.name.clone(),
        kind: e.ty.kind().to_string(),
        ty: extern_type(py, &e.ty)?,
        text: e.to_string(),
    })
}
