//! Compiled modules: loading, validation and inspection of imports and exports.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::runtime::Runtime;
use crate::value::{FuncType, ValType};

/// A compiled WebAssembly module or WASI 0.2 component.
///
/// Cheap to clone (reference-counted), `Send + Sync`; one module can be
/// loaded into any number of sandboxes of the runtime that compiled it.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

pub(crate) struct ModuleInner {
    pub kind: ModuleKind,
    pub imports: Vec<Import>,
    pub exports: Vec<Export>,
    /// Pre-linked against the runtime's shared WASI linker, made on first use.
    pub base_pre: std::sync::OnceLock<wasmtime::InstancePre<crate::store::StoreState>>,
}

pub(crate) enum ModuleKind {
    Core(wasmtime::Module),
    Component(wasmtime::component::Component),
}

/// The type of an import or export.
#[derive(Debug, Clone, PartialEq)]
pub enum ExternType {
    /// A function with its signature.
    Function(FuncType),
    /// A linear memory.
    Memory(MemoryType),
    /// A table.
    Table(TableType),
    /// A global.
    Global(GlobalType),
    /// Anything else (tags, component instances, ...), described in text.
    Other(String),
}

/// A memory's size in pages (64 KiB unless a custom page size is used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryType {
    /// Initial pages.
    pub minimum: u64,
    /// Maximum pages, if declared.
    pub maximum: Option<u64>,
    /// Whether indices are 64-bit.
    pub memory64: bool,
    /// Whether the memory is shared between threads.
    pub shared: bool,
}

/// A table's element type and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableType {
    /// Element type, e.g. `funcref`.
    pub element: String,
    /// Initial elements.
    pub minimum: u64,
    /// Maximum elements, if declared.
    pub maximum: Option<u64>,
}

/// A global's type and mutability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalType {
    /// Value type; `None` for types Aegis cannot represent (v128, references).
    pub content: Option<ValType>,
    /// Text of the type (`i32`, `v128`, `funcref`, ...).
    pub content_text: String,
    /// Whether the global is mutable.
    pub mutable: bool,
}

/// One import of a module.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// Module namespace, e.g. `env`.
    pub module: String,
    /// Field name.
    pub name: String,
    /// Its type.
    pub ty: ExternType,
}

/// One export of a module.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// Its type.
    pub ty: ExternType,
}

impl ExternType {
    /// The kind as a word: `function`, `memory`, `table`, `global`, `other`.
    pub fn kind(&self) -> &'static str {
        match self {
            ExternType::Function(_) => "function",
            ExternType::Memory(_) => "memory",
            ExternType::Table(_) => "table",
            ExternType::Global(_) => "global",
            ExternType::Other(_) => "other",
        }
    }

    fn from_wasmtime(ty: &wasmtime::ExternType) -> Self {
        match ty {
            wasmtime::ExternType::Func(f) => match func_type(f) {
                Some(sig) => ExternType::Function(sig),
                None => ExternType::Other(format!("function {f}")),
            },
            wasmtime::ExternType::Memory(m) => ExternType::Memory(MemoryType {
                minimum: m.minimum(),
                maximum: m.maximum(),
                memory64: m.is_64(),
                shared: m.is_shared(),
            }),
            wasmtime::ExternType::Table(t) => ExternType::Table(TableType {
                element: ref_type_text(t.element()),
                minimum: t.minimum(),
                maximum: t.maximum(),
            }),
            wasmtime::ExternType::Global(g) => ExternType::Global(GlobalType {
                content: numeric(g.content()),
                content_text: match g.content() {
                    wasmtime::ValType::Ref(r) => ref_type_text(r),
                    other => other.to_string(),
                },
                mutable: g.mutability() == wasmtime::Mutability::Var,
            }),
            wasmtime::ExternType::Tag(t) => ExternType::Other(format!("tag {t:?}")),
        }
    }
}

/// The short text name of a reference type: `funcref`, `externref`, or the full form.
fn ref_type_text(r: &wasmtime::RefType) -> String {
    match (r.is_nullable(), r.heap_type()) {
        (true, wasmtime::HeapType::Func) => "funcref".into(),
        (true, wasmtime::HeapType::Extern) => "externref".into(),
        _ => r.to_string(),
    }
}

/// The numeric `ValType` of a wasmtime type, if it has one.
fn numeric(ty: &wasmtime::ValType) -> Option<ValType> {
    ValType::from_wasmtime(ty).ok()
}

/// The signature of a function if all its types are numeric.
pub(crate) fn func_type(f: &wasmtime::FuncType) -> Option<FuncType> {
    let params = f
        .params()
        .map(|t| numeric(&t))
        .collect::<Option<Vec<_>>>()?;
    let results = f
        .results()
        .map(|t| numeric(&t))
        .collect::<Option<Vec<_>>>()?;
    Some(FuncType { params, results })
}

impl fmt::Display for ExternType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternType::Function(sig) => write!(f, "{sig}"),
            ExternType::Memory(m) => {
                write!(f, "{} pages", m.minimum)?;
                if let Some(max) = m.maximum {
                    write!(f, " (max {max})")?;
                }
                if m.memory64 {
                    f.write_str(" memory64")?;
                }
                if m.shared {
                    f.write_str(" shared")?;
                }
                Ok(())
            }
            ExternType::Table(t) => {
                write!(f, "{} {}", t.minimum, t.element)?;
                if let Some(max) = t.maximum {
                    write!(f, " (max {max})")?;
                }
                Ok(())
            }
            ExternType::Global(g) => {
                write!(
                    f,
                    "{}{}",
                    if g.mutable { "mut " } else { "" },
                    g.content_text
                )
            }
            ExternType::Other(text) => f.write_str(text),
        }
    }
}

impl fmt::Display for Import {
    /// `env.log [function]: (i32) -> ()`; a component import has no module part.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module.is_empty() {
            write!(f, "{}.", self.module)?;
        }
        write!(f, "{} [{}]: {}", self.name, self.ty.kind(), self.ty)
    }
}

impl fmt::Display for Export {
    /// `add [function]: (i32, i32) -> (i32)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]: {}", self.name, self.ty.kind(), self.ty)
    }
}

/// Whether the bytes start like a component (layer 1) rather than a core module.
fn is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[0..4] == *b"\0asm" && bytes[6..8] == [1, 0]
}

/// Text of a wasmtime error with its whole cause chain.
pub(crate) fn error_chain(err: &wasmtime::Error) -> String {
    // Wasmtime attaches the wasm backtrace as the outermost context; it is
    // reported separately, so leave it out of the message.
    let skip = usize::from(err.is::<wasmtime::WasmBacktrace>());
    let parts: Vec<String> = err.chain().skip(skip).map(|c| c.to_string()).collect();
    parts.join(": ")
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidModule {
        message: message.into(),
    }
}

/// Turns WAT text (or binary passed through) into binary wasm, refusing
/// input over the runtime's size limit before parsing it.
fn to_binary<'a>(runtime: &Runtime, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>> {
    let limit = runtime.inner.max_module_size;
    if bytes.len() > limit {
        return Err(invalid(format!(
            "module is {} bytes, more than the limit of {limit} bytes",
            bytes.len()
        )));
    }
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes.into());
    }
    if bytes.is_empty() {
        return Err(invalid("empty input"));
    }
    wat::parse_bytes(bytes).map_err(|e| invalid(e.to_string()))
}

impl Module {
    pub(crate) fn from_bytes(runtime: &Runtime, bytes: &[u8]) -> Result<Self> {
        let binary = to_binary(runtime, bytes)?;
        let engine = runtime.engine();
        let cache = runtime.inner.compile_cache.as_ref();
        let kind = if is_component(&binary) {
            crate::cache::load_or_compile(cache, engine, &binary, || {
                wasmtime::component::Component::new(engine, &binary)
            })
            .map(ModuleKind::Component)
        } else {
            crate::cache::load_or_compile(cache, engine, &binary, || {
                wasmtime::Module::new(engine, &binary)
            })
            .map(ModuleKind::Core)
        }
        .map_err(|e| invalid(error_chain(&e)))?;
        Ok(Self::from_kind(kind))
    }

    pub(crate) fn from_wat(runtime: &Runtime, text: &str) -> Result<Self> {
        Self::from_bytes(runtime, text.as_bytes())
    }

    pub(crate) fn validate(runtime: &Runtime, bytes: &[u8]) -> Result<()> {
        let binary = to_binary(runtime, bytes)?;
        if is_component(&binary) {
            // Components have no standalone validator in wasmtime; compiling is the check.
            return Self::from_bytes(runtime, &binary).map(|_| ());
        }
        wasmtime::Module::validate(runtime.engine(), &binary).map_err(|e| invalid(error_chain(&e)))
    }

    fn from_kind(kind: ModuleKind) -> Self {
        let (imports, exports) = match &kind {
            ModuleKind::Core(m) => (
                m.imports()
                    .map(|i| Import {
                        module: i.module().to_string(),
                        name: i.name().to_string(),
                        ty: ExternType::from_wasmtime(&i.ty()),
                    })
                    .collect(),
                m.exports()
                    .map(|e| Export {
                        name: e.name().to_string(),
                        ty: ExternType::from_wasmtime(&e.ty()),
                    })
                    .collect(),
            ),
            ModuleKind::Component(c) => component_items(c),
        };
        Module {
            inner: Arc::new(ModuleInner {
                kind,
                imports,
                exports,
                base_pre: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Every import, in declaration order.
    pub fn imports(&self) -> &[Import] {
        &self.inner.imports
    }

    /// Every export, in declaration order.
    pub fn exports(&self) -> &[Export] {
        &self.inner.exports
    }

    /// The export named `name`, if any.
    pub fn export(&self, name: &str) -> Option<&Export> {
        self.inner.exports.iter().find(|e| e.name == name)
    }

    /// Whether this is a WASI 0.2 component rather than a core module.
    pub fn is_component(&self) -> bool {
        matches!(self.inner.kind, ModuleKind::Component(_))
    }

    /// Names of the exported functions.
    pub fn function_names(&self) -> Vec<String> {
        self.inner
            .exports
            .iter()
            .filter(|e| e.ty.kind() == "function")
            .map(|e| e.name.clone())
            .collect()
    }
}

/// Component imports and exports, described by name (their types are WIT, not core wasm).
fn component_items(c: &wasmtime::component::Component) -> (Vec<Import>, Vec<Export>) {
    let engine = c.engine();
    let ty = c.component_type();
    let imports = ty
        .imports(engine)
        .map(|(name, item)| Import {
            module: String::new(),
            name: name.to_string(),
            ty: ExternType::Other(component_item_kind(&item.ty).to_string()),
        })
        .collect();
    let exports = ty
        .exports(engine)
        .map(|(name, item)| Export {
            name: name.to_string(),
            ty: ExternType::Other(component_item_kind(&item.ty).to_string()),
        })
        .collect();
    (imports, exports)
}

fn component_item_kind(item: &wasmtime::component::types::ComponentItem) -> &'static str {
    use wasmtime::component::types::ComponentItem;
    match item {
        ComponentItem::ComponentFunc(_) => "component function",
        ComponentItem::CoreFunc(_) => "core function",
        ComponentItem::Module(_) => "core module",
        ComponentItem::Component(_) => "component",
        ComponentItem::ComponentInstance(_) => "instance",
        ComponentItem::Type(_) => "type",
        ComponentItem::Resource(_) => "resource",
    }
}

impl fmt::Debug for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Module")
            .field("component", &self.is_component())
            .field("imports", &self.inner.imports)
            .field("exports", &self.inner.exports)
            .finish()
    }
}
