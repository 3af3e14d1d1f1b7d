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
    /// Whether the guest can make the host wait (it imports WASI, or is a
    /// component): its calls must run on a fiber, see `crate::call`.
    pub host_waits: bool,
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
    /// A component function with its WIT signature.
    ComponentFunction(crate::wit::WitFunc),
    /// Anything else (tags, component types, ...), described in text.
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
            ExternType::Function(_) | ExternType::ComponentFunction(_) => "function",
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
            ExternType::ComponentFunction(sig) => write!(f, "{sig}"),
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
    /// `env.log [function]: (i32) -> ()`; a component's root import has no
    /// module part, an interface's function is `interface#func`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.ty, self.module.is_empty()) {
            (_, true) => {}
            (ExternType::ComponentFunction(_), false) => write!(f, "{}#", self.module)?,
            (_, false) => write!(f, "{}.", self.module)?,
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
    crate::error::bounded_message(parts.join(": "))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidModule {
        message: crate::error::bounded_message(message.into()),
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
    match crate::source::recognise(bytes)? {
        crate::source::Form::Binary => Ok(bytes.into()),
        crate::source::Form::Text => wat::parse_bytes(bytes).map_err(|e| invalid(e.to_string())),
    }
}

/// Refuses what the complexity limits forbid, then validates with the
/// engine's features, without compiling. Returns the validator's types.
fn check(runtime: &Runtime, binary: &[u8]) -> Result<wasmparser::types::Types> {
    crate::complexity::scan(binary, &runtime.inner.module_limits)?;
    wasmparser::Validator::new_with_features(runtime.inner.features)
        .validate_all(binary)
        .map_err(|e| invalid(e.to_string()))
}

/// Parses a SHA-256 digest written as 64 hex digits, optionally prefixed
/// with `sha256:`.
pub(crate) fn parse_digest(text: &str) -> Result<[u8; 32]> {
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    let mut digest = [0u8; 32];
    let valid = hex.len() == 64 && hex.is_ascii();
    for (i, byte) in digest.iter_mut().enumerate().take_while(|_| valid) {
        match u8::from_str_radix(&hex[2 * i..2 * i + 2], 16) {
            Ok(b) => *byte = b,
            Err(_) => return Err(bad_digest(text)),
        }
    }
    if !valid {
        return Err(bad_digest(text));
    }
    Ok(digest)
}

fn bad_digest(text: &str) -> Error {
    Error::invalid_argument(format!(
        "`{}` is not a SHA-256 digest (64 hex digits, optionally prefixed with sha256:)",
        crate::error::bounded_message(text.to_string())
    ))
}

/// The SHA-256 digest of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Refuses `bytes` unless the runtime allows every module or lists its digest.
pub(crate) fn check_allowed(runtime: &Runtime, bytes: &[u8]) -> Result<()> {
    let Some(allowed) = &runtime.inner.allowed_modules else {
        return Ok(());
    };
    use sha2::Digest;
    let digest: [u8; 32] = sha2::Sha256::digest(bytes).into();
    if allowed.contains(&digest) {
        return Ok(());
    }
    Err(Error::PermissionDenied {
        capability: crate::details::Capability::Module,
        operation: crate::details::Operation::Load,
        target: format!("sha256:{}", sha256_hex(bytes)),
    })
}

impl Module {
    pub(crate) fn from_bytes(runtime: &Runtime, bytes: &[u8]) -> Result<Self> {
        check_allowed(runtime, bytes)?;
        let binary = to_binary(runtime, bytes)?;
        // Before compiling: compile time must stay linear in the input.
        crate::complexity::scan(&binary, &runtime.inner.module_limits)?;
        let engine = runtime.engine();
        let cache = runtime.inner.compile_cache.as_ref();
        if runtime.inner.instance_pool.is_some() && !is_component(&binary) {
            crate::limits::check_fits_pool(&binary, &runtime.inner.limits)?;
        }
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
        let component_items = match &kind {
            ModuleKind::Component(_) => {
                let types = wasmparser::Validator::new_with_features(runtime.inner.features)
                    .validate_all(&binary)
                    .map_err(|e| invalid(e.to_string()))?;
                Some(ModuleInfo::scan(&binary, types.as_ref())?)
            }
            ModuleKind::Core(_) => None,
        };
        Ok(Self::from_kind(kind, component_items))
    }

    pub(crate) fn from_wat(runtime: &Runtime, text: &str) -> Result<Self> {
        Self::from_bytes(runtime, text.as_bytes())
    }

    pub(crate) fn validate(runtime: &Runtime, bytes: &[u8]) -> Result<()> {
        check_allowed(runtime, bytes)?;
        let binary = to_binary(runtime, bytes)?;
        check(runtime, &binary).map(|_| ())
    }

    fn from_kind(kind: ModuleKind, scanned: Option<ModuleInfo>) -> Self {
        let (imports, exports) = match (&kind, scanned) {
            (_, Some(info)) => (info.imports, info.exports),
            (ModuleKind::Core(m), None) => (
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
            // Components are always scanned (see `from_bytes`).
            (ModuleKind::Component(_), None) => (Vec::new(), Vec::new()),
        };
        let host_waits = matches!(kind, ModuleKind::Component(_))
            || imports
                .iter()
                .any(|i: &Import| i.module.starts_with("wasi"));
        Module {
            inner: Arc::new(ModuleInner {
                kind,
                imports,
                exports,
                host_waits,
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

    /// The compiled component, if this is one.
    pub(crate) fn component(&self) -> Option<&wasmtime::component::Component> {
        match &self.inner.kind {
            ModuleKind::Component(c) => Some(c),
            ModuleKind::Core(_) => None,
        }
    }

    /// Names of the exported functions.
    pub fn function_names(&self) -> Vec<String> {
        self.export_names("function")
    }

    /// Names of the exported memories.
    pub fn memory_names(&self) -> Vec<String> {
        self.export_names("memory")
    }

    /// Names of the exports of one kind (see [`ExternType::kind`]).
    fn export_names(&self, kind: &str) -> Vec<String> {
        self.inner
            .exports
            .iter()
            .filter(|e| e.ty.kind() == kind)
            .map(|e| e.name.clone())
            .collect()
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

/// A module's or component's imports and exports, found without compiling
/// it: see [`Runtime::inspect`].
///
/// The same items, in the same order and with the same types, as a loaded
/// [`Module`] lists.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleInfo {
    component: bool,
    imports: Vec<Import>,
    exports: Vec<Export>,
}

impl ModuleInfo {
    pub(crate) fn from_bytes(runtime: &Runtime, bytes: &[u8]) -> Result<Self> {
        check_allowed(runtime, bytes)?;
        let binary = to_binary(runtime, bytes)?;
        let types = check(runtime, &binary)?;
        Self::scan(&binary, types.as_ref())
    }

    /// The items of a validated binary, described with the validator's types.
    fn scan(binary: &[u8], types: wasmparser::types::TypesRef<'_>) -> Result<Self> {
        let mut info = ModuleInfo {
            component: is_component(binary),
            imports: Vec::new(),
            exports: Vec::new(),
        };
        let mut budget = crate::wit::MAX_SIGNATURES_TOTAL;
        // Only the outermost module or component's own sections: `depth`
        // counts the headers seen inside it.
        let mut depth = 0usize;
        for payload in wasmparser::Parser::new(0).parse_all(binary) {
            let payload = payload.map_err(|e| invalid(e.to_string()))?;
            match payload {
                wasmparser::Payload::Version { .. } => depth += 1,
                wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
                _ if depth != 1 => {}
                wasmparser::Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import.map_err(|e| invalid(e.to_string()))?;
                        let ty = types.entity_type_from_import(&import);
                        info.imports.push(Import {
                            module: import.module.to_string(),
                            name: import.name.to_string(),
                            ty: ty.map_or_else(unknown, |t| core_extern(&types, t)),
                        });
                    }
                }
                wasmparser::Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(|e| invalid(e.to_string()))?;
                        let ty = types.entity_type_from_export(&export);
                        info.exports.push(Export {
                            name: export.name.to_string(),
                            ty: ty.map_or_else(unknown, |t| core_extern(&types, t)),
                        });
                    }
                }
                wasmparser::Payload::ComponentImportSection(reader) => {
                    for import in reader {
                        let import = import.map_err(|e| invalid(e.to_string()))?;
                        let name = import.name.name;
                        let item = types.component_item_for_import(name);
                        match item.and_then(|i| crate::wit::functions(&types, &i.ty, &mut budget)) {
                            Some(funcs) => {
                                info.imports
                                    .extend(funcs.into_iter().map(|(f, sig)| Import {
                                        module: if f.is_some() {
                                            name.to_string()
                                        } else {
                                            String::new()
                                        },
                                        name: f.unwrap_or_else(|| name.to_string()),
                                        ty: ExternType::ComponentFunction(sig),
                                    }))
                            }
                            None => info.imports.push(Import {
                                module: String::new(),
                                name: name.to_string(),
                                ty: ExternType::Other(component_entity_kind(item).to_string()),
                            }),
                        }
                    }
                }
                wasmparser::Payload::ComponentExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(|e| invalid(e.to_string()))?;
                        let name = export.name.name;
                        let item = types.component_item_for_export(name);
                        match item.and_then(|i| crate::wit::functions(&types, &i.ty, &mut budget)) {
                            Some(funcs) => {
                                info.exports
                                    .extend(funcs.into_iter().map(|(f, sig)| Export {
                                        name: match f {
                                            Some(f) => format!("{name}#{f}"),
                                            None => name.to_string(),
                                        },
                                        ty: ExternType::ComponentFunction(sig),
                                    }))
                            }
                            None => info.exports.push(Export {
                                name: name.to_string(),
                                ty: ExternType::Other(component_entity_kind(item).to_string()),
                            }),
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(info)
    }

    /// Whether this is a WASI 0.2 component rather than a core module.
    pub fn is_component(&self) -> bool {
        self.component
    }

    /// Every import, in declaration order.
    pub fn imports(&self) -> &[Import] {
        &self.imports
    }

    /// Every export, in declaration order.
    pub fn exports(&self) -> &[Export] {
        &self.exports
    }

    /// The export named `name`, if any.
    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }
}

impl From<&Module> for ModuleInfo {
    fn from(module: &Module) -> Self {
        ModuleInfo {
            component: module.is_component(),
            imports: module.imports().to_vec(),
            exports: module.exports().to_vec(),
        }
    }
}

fn unknown() -> ExternType {
    ExternType::Other("unknown".into())
}

/// A component item described by its kind, from the validator's types.
fn component_entity_kind(
    item: Option<&wasmparser::component_types::ComponentItem>,
) -> &'static str {
    use wasmparser::component_types::{ComponentAnyTypeId, ComponentEntityType};
    match item.map(|i| i.ty) {
        Some(ComponentEntityType::Func(_)) => "component function",
        Some(ComponentEntityType::Module(_)) => "core module",
        Some(ComponentEntityType::Component(_)) => "component",
        Some(ComponentEntityType::Instance(_)) => "instance",
        Some(ComponentEntityType::Type {
            referenced: ComponentAnyTypeId::Resource(_),
            ..
        }) => "resource",
        Some(ComponentEntityType::Type { .. }) => "type",
        Some(ComponentEntityType::Value(_)) => "value",
        None => "unknown",
    }
}

/// A core module's import or export type, from the validator's types.
fn core_extern(
    types: &wasmparser::types::TypesRef<'_>,
    ty: wasmparser::types::EntityType,
) -> ExternType {
    use wasmparser::types::EntityType;
    match ty {
        EntityType::Func(id) | EntityType::FuncExact(id) => match types[id].composite_type.inner {
            wasmparser::CompositeInnerType::Func(ref f) => match parser_func_type(f) {
                Some(sig) => ExternType::Function(sig),
                None => ExternType::Other(format!("function {}", func_type_text(f))),
            },
            _ => unknown(),
        },
        EntityType::Memory(m) => ExternType::Memory(MemoryType {
            minimum: m.initial,
            maximum: m.maximum,
            memory64: m.memory64,
            shared: m.shared,
        }),
        EntityType::Table(t) => ExternType::Table(TableType {
            element: parser_ref_text(t.element_type),
            minimum: t.initial,
            maximum: t.maximum,
        }),
        EntityType::Global(g) => ExternType::Global(GlobalType {
            content: parser_numeric(g.content_type),
            content_text: parser_val_text(g.content_type),
            mutable: g.mutable,
        }),
        EntityType::Tag(id) => match types[id].composite_type.inner {
            wasmparser::CompositeInnerType::Func(ref f) => {
                ExternType::Other(format!("tag {}", func_type_text(f)))
            }
            _ => ExternType::Other("tag".into()),
        },
    }
}

fn parser_numeric(ty: wasmparser::ValType) -> Option<ValType> {
    match ty {
        wasmparser::ValType::I32 => Some(ValType::I32),
        wasmparser::ValType::I64 => Some(ValType::I64),
        wasmparser::ValType::F32 => Some(ValType::F32),
        wasmparser::ValType::F64 => Some(ValType::F64),
        _ => None,
    }
}

fn parser_func_type(f: &wasmparser::FuncType) -> Option<FuncType> {
    let params = f
        .params()
        .iter()
        .map(|t| parser_numeric(*t))
        .collect::<Option<Vec<_>>>()?;
    let results = f
        .results()
        .iter()
        .map(|t| parser_numeric(*t))
        .collect::<Option<Vec<_>>>()?;
    Some(FuncType { params, results })
}

/// `(type (func (param i32 externref) (result i32)))`, as wasmtime writes it.
fn func_type_text(f: &wasmparser::FuncType) -> String {
    let mut text = String::from("(type (func");
    for (word, list) in [("param", f.params()), ("result", f.results())] {
        if !list.is_empty() {
            text.push_str(&format!(" ({word}"));
            for t in list {
                text.push(' ');
                text.push_str(&parser_val_text(*t));
            }
            text.push(')');
        }
    }
    text.push_str("))");
    text
}

fn parser_val_text(ty: wasmparser::ValType) -> String {
    match ty {
        wasmparser::ValType::I32 => "i32".into(),
        wasmparser::ValType::I64 => "i64".into(),
        wasmparser::ValType::F32 => "f32".into(),
        wasmparser::ValType::F64 => "f64".into(),
        wasmparser::ValType::V128 => "v128".into(),
        wasmparser::ValType::Ref(r) => parser_ref_text(r),
    }
}

/// `funcref`, `externref`, or `(ref null? HEAP)` as wasmtime writes it.
fn parser_ref_text(r: wasmparser::RefType) -> String {
    use wasmparser::{AbstractHeapType as A, HeapType};
    let heap = match r.heap_type() {
        HeapType::Abstract { ty, .. } => match ty {
            A::Func => "func",
            A::Extern => "extern",
            A::Any => "any",
            A::None => "none",
            A::NoExtern => "noextern",
            A::NoFunc => "nofunc",
            A::Eq => "eq",
            A::Struct => "struct",
            A::Array => "array",
            A::I31 => "i31",
            A::Exn => "exn",
            A::NoExn => "noexn",
            A::Cont => "cont",
            A::NoCont => "nocont",
        }
        .to_string(),
        other => format!("{other:?}"),
    };
    match (r.is_nullable(), heap.as_str()) {
        (true, "func") => "funcref".into(),
        (true, "extern") => "externref".into(),
        (true, _) => format!("(ref null {heap})"),
        (false, _) => format!("(ref {heap})"),
    }
}
