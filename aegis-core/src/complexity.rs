//! Structural limits checked before a module is compiled or validated.
//!
//! Compilation runs before any fuel, time or memory limit applies, and some
//! shapes make wasmtime's compiler super-linear in the input size (thousands
//! of locals in one function, components that nest instantiations
//! exponentially, ...). `scan` walks the binary once, without compiling or
//! validating it, and stops at the first count over its [`ModuleLimits`].
//!
//! The scan never allocates in proportion to a count the guest declares: a
//! declaration of 2^32 locals is summed, not materialized. Its own memory is
//! one small record per component being parsed and per component defined.

use wasmparser::{
    BinaryReader, ComponentAlias, ComponentExternalKind, ComponentInstance,
    ComponentOuterAliasKind, ComponentType, ComponentTypeRef, CoreType, Encoding,
    ModuleTypeDeclaration, Operator, Parser, Payload, RecGroup,
};

use crate::error::{Error, Result};

/// Default for [`ModuleLimits::functions`].
pub const DEFAULT_MAX_FUNCTIONS: u32 = 100_000;
/// Default for [`ModuleLimits::locals_per_function`].
pub const DEFAULT_MAX_LOCALS_PER_FUNCTION: u32 = 10_000;
/// Default for [`ModuleLimits::function_size`].
pub const DEFAULT_MAX_FUNCTION_SIZE: u32 = 2 * 1024 * 1024;
/// Default for [`ModuleLimits::block_depth`].
pub const DEFAULT_MAX_BLOCK_DEPTH: u32 = 10_000;
/// Default for [`ModuleLimits::merge_work_per_function`].
pub const DEFAULT_MAX_MERGE_WORK_PER_FUNCTION: u64 = 4_000_000;
/// Default for [`ModuleLimits::merge_work`].
pub const DEFAULT_MAX_MERGE_WORK: u64 = 16_000_000;
/// Merge work per body byte that counts as ordinary code (see
/// [`ModuleLimits::merge_work`]).
pub const ORDINARY_MERGE_WORK_PER_BYTE: u64 = 16;
/// Default for [`ModuleLimits::component_depth`].
pub const DEFAULT_MAX_COMPONENT_DEPTH: u32 = 32;
/// Default for [`ModuleLimits::instantiations`].
pub const DEFAULT_MAX_INSTANTIATIONS: u64 = 10_000;

/// Limits on a module's structure, checked before compiling, validating or
/// inspecting it. A module over one of them fails with
/// [`Error::ModuleTooComplex`] (code `module_too_complex`).
///
/// Each limit bounds a shape that costs wasmtime more than its size in bytes
/// suggests; the size itself is bounded by
/// [`RuntimeBuilder::with_max_module_size`](crate::RuntimeBuilder::with_max_module_size).
/// The defaults accept large real programs (interpreters built for WASI have
/// tens of thousands of functions and a few functions with some thousands of
/// locals) while keeping each pathological shape to seconds of compile time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleLimits {
    /// Functions defined (not imported) in the module, or across all core
    /// modules of a component. Each costs compile time and memory even when
    /// empty (measured in a debug build: 100 000 empty functions, 400 KB,
    /// take 30 s and 607 MiB; 400 000 take 196 s and 2.3 GiB). Unit:
    /// functions. Default 100 000.
    pub functions: u32,
    /// Locals declared in one function, parameters not included (wasm allows
    /// at most 1000 of those). Compile time grows with the square of this
    /// count. Unit: locals. Default 10 000.
    pub locals_per_function: u32,
    /// Size of one function body. Unit: bytes. Default 2 MiB.
    pub function_size: u32,
    /// Nesting depth of `block`, `loop`, `if` and `try_table` in one
    /// function. Compile time grows with its square (measured in a debug
    /// build: 10 000 levels 1.5 s, 50 000 33 s, 100 000 117 s). Unit:
    /// levels. Default 10 000.
    pub block_depth: u32,
    /// Merge work in one function: for every block and loop, the branches
    /// that target it times the local accesses inside it (at most the
    /// declared locals). Each branch carries every local live at its
    /// target into the compiler's SSA form, so a loop with thousands of
    /// back-branches over thousands of locals compiles in minutes (measured
    /// in a debug build: 1000 × 1000 takes 2 s, 2000 × 2000 9 s, 5000 × 5000
    /// 93 s and 2.5 GiB). Unit: branch × local. Default 4 000 000 (at worst
    /// about 9 s in a debug build, well under a second optimized).
    pub merge_work_per_function: u64,
    /// Merge work across the module beyond what ordinary code has
    /// ([`ORDINARY_MERGE_WORK_PER_BYTE`] per byte of the function body),
    /// so that many functions each under `merge_work_per_function` cannot
    /// add up. Unit: branch × local. Default 16 000 000.
    pub merge_work: u64,
    /// Nesting depth of components, core modules inside components, and
    /// component, instance and module types. Unit: levels (a component
    /// holding a core module is 2). Default 32.
    pub component_depth: u32,
    /// Instances (core and component) that instantiating a component
    /// creates, counted through nested instantiations (an upper bound when a
    /// component instantiates components it receives from outside). Unit:
    /// instances. Default 10 000.
    pub instantiations: u64,
}

impl Default for ModuleLimits {
    fn default() -> Self {
        ModuleLimits {
            functions: DEFAULT_MAX_FUNCTIONS,
            locals_per_function: DEFAULT_MAX_LOCALS_PER_FUNCTION,
            function_size: DEFAULT_MAX_FUNCTION_SIZE,
            block_depth: DEFAULT_MAX_BLOCK_DEPTH,
            merge_work_per_function: DEFAULT_MAX_MERGE_WORK_PER_FUNCTION,
            merge_work: DEFAULT_MAX_MERGE_WORK,
            component_depth: DEFAULT_MAX_COMPONENT_DEPTH,
            instantiations: DEFAULT_MAX_INSTANTIATIONS,
        }
    }
}

impl ModuleLimits {
    /// No structural limit at all (beyond what wasm itself allows). Only for
    /// trusted input: the scan still runs, but refuses nothing.
    pub fn unlimited() -> Self {
        ModuleLimits {
            functions: u32::MAX,
            locals_per_function: u32::MAX,
            function_size: u32::MAX,
            block_depth: u32::MAX,
            merge_work_per_function: u64::MAX,
            merge_work: u64::MAX,
            component_depth: u32::MAX,
            instantiations: u64::MAX,
        }
    }
}

/// The next byte, not consumed.
fn peek(reader: &BinaryReader<'_>) -> Result<u8> {
    reader.clone().read_u8().map_err(parse_error)
}

fn too_complex(what: &'static str, found: u64, limit: u64) -> Error {
    Error::ModuleTooComplex { what, found, limit }
}

fn parse_error(err: wasmparser::BinaryReaderError) -> Error {
    Error::InvalidModule {
        message: err.to_string(),
    }
}

/// One component being parsed: the instantiation weight of each component
/// in its index space, and the instances it creates when instantiated.
#[derive(Default)]
struct ComponentFrame {
    components: Vec<Weight>,
    weight: Weight,
}

/// What instantiating a component costs, in instances.
///
/// `open` marks a component that instantiates a component it does not
/// define (an imported one, or one taken from an instance's exports): its
/// `count` counts each such instantiation as 1, and is multiplied by the
/// weight of what is passed in where it is instantiated.
#[derive(Clone, Copy, Default)]
struct Weight {
    count: u64,
    open: bool,
}

enum Frame {
    Module,
    Component(ComponentFrame),
}

struct Scan<'l> {
    limits: &'l ModuleLimits,
    frames: Vec<Frame>,
    functions: u64,
    /// Merge work beyond the ordinary, summed over the functions so far.
    merge_work: u64,
    /// Largest weight of any component defined so far: a bound on the
    /// weight of a component obtained from an instance's exports.
    max_weight: u64,
}

/// Checks `binary` (a core module or component) against `limits` in one
/// linear pass, without validating it.
///
/// Malformed input is reported as [`Error::InvalidModule`] where the scan
/// cannot go on; everything else is left to the validator.
pub(crate) fn scan(binary: &[u8], limits: &ModuleLimits) -> Result<()> {
    let mut scan = Scan {
        limits,
        frames: Vec::new(),
        functions: 0,
        merge_work: 0,
        max_weight: 1,
    };
    for payload in Parser::new(0).parse_all(binary) {
        scan.payload(binary, payload.map_err(parse_error)?)?;
    }
    Ok(())
}

impl Scan<'_> {
    fn depth(&self) -> u64 {
        self.frames.len() as u64
    }

    fn check_depth(&self, depth: u64) -> Result<()> {
        let limit = u64::from(self.limits.component_depth);
        if depth > limit {
            return Err(too_complex(
                "nesting depth of components, modules and types",
                depth,
                limit,
            ));
        }
        Ok(())
    }

    fn component(&mut self) -> Option<&mut ComponentFrame> {
        match self.frames.last_mut() {
            Some(Frame::Component(c)) => Some(c),
            _ => None,
        }
    }

    fn payload(&mut self, binary: &[u8], payload: Payload<'_>) -> Result<()> {
        match payload {
            Payload::Version { encoding, .. } => {
                self.frames.push(match encoding {
                    Encoding::Module => Frame::Module,
                    Encoding::Component => Frame::Component(ComponentFrame::default()),
                });
                self.check_depth(self.depth())?;
            }
            Payload::End(_) => {
                if let Some(Frame::Component(done)) = self.frames.pop() {
                    self.max_weight = self.max_weight.max(done.weight.count);
                    if let Some(parent) = self.component() {
                        parent.components.push(done.weight);
                    }
                }
            }
            // Bodies are counted as they are read (not the declared count),
            // so truncated garbage is reported as invalid, not too complex.
            Payload::CodeSectionEntry(body) => {
                self.add_functions(1)?;
                self.function_body(&body)?;
            }
            Payload::ComponentTypeSection(reader) => {
                let range = reader.range();
                self.component_types(BinaryReader::new(&binary[range.clone()], range.start))?;
            }
            Payload::CoreTypeSection(reader) => {
                // A module type nests one level; its declarations cannot nest further.
                for ty in reader {
                    if let CoreType::Module(_) = ty.map_err(parse_error)? {
                        self.check_depth(self.depth() + 1)?;
                    }
                }
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(parse_error)?;
                    if let ComponentTypeRef::Component(_) = import.ty
                        && let Some(c) = self.component()
                    {
                        c.components.push(Weight {
                            count: 1,
                            open: true,
                        });
                    }
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for alias in reader {
                    self.alias(alias.map_err(parse_error)?);
                }
            }
            Payload::InstanceSection(reader) => {
                for instance in reader {
                    if let wasmparser::Instance::Instantiate { .. } =
                        instance.map_err(parse_error)?
                    {
                        self.add_instances(Weight {
                            count: 1,
                            open: false,
                        })?;
                    }
                }
            }
            Payload::ComponentInstanceSection(reader) => {
                for instance in reader {
                    if let ComponentInstance::Instantiate {
                        component_index,
                        args,
                    } = instance.map_err(parse_error)?
                    {
                        let weight = self.instantiation(component_index, &args);
                        self.add_instances(weight)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn add_functions(&mut self, count: u32) -> Result<()> {
        self.functions = self.functions.saturating_add(u64::from(count));
        let limit = u64::from(self.limits.functions);
        if self.functions > limit {
            return Err(too_complex("functions", self.functions, limit));
        }
        Ok(())
    }

    fn function_body(&mut self, body: &wasmparser::FunctionBody<'_>) -> Result<()> {
        let size = body.range().len() as u64;
        let limit = u64::from(self.limits.function_size);
        if size > limit {
            return Err(too_complex("bytes in one function body", size, limit));
        }
        let limit = u64::from(self.limits.locals_per_function);
        let mut locals = 0u64;
        for group in body.get_locals_reader().map_err(parse_error)? {
            let (count, _) = group.map_err(parse_error)?;
            locals += u64::from(count);
            if locals > limit {
                return Err(too_complex("locals in one function", locals, limit));
            }
        }
        let work = self.operators(body, locals)?;
        let ordinary = size.saturating_mul(ORDINARY_MERGE_WORK_PER_BYTE);
        self.merge_work = self
            .merge_work
            .saturating_add(work.saturating_sub(ordinary));
        if self.merge_work > self.limits.merge_work {
            return Err(too_complex(
                "merge work of the module's functions",
                self.merge_work,
                self.limits.merge_work,
            ));
        }
        Ok(())
    }

    /// Walks the operators of one function: block nesting, and the merge
    /// work (for each block and loop, branches to it times the local
    /// accesses inside it, at most `locals`).
    fn operators(&self, body: &wasmparser::FunctionBody<'_>, locals: u64) -> Result<u64> {
        /// An open block, loop, if or try_table (or the function itself).
        struct Label {
            branches: u64,
            accesses: u64,
        }
        let depth_limit = u64::from(self.limits.block_depth);
        let work_limit = self.limits.merge_work_per_function;
        let mut labels = vec![Label {
            branches: 0,
            accesses: 0,
        }];
        let mut work = 0u64;
        let branch = |labels: &mut Vec<Label>, relative: u32| {
            let index = labels.len().checked_sub(1 + relative as usize);
            if let Some(label) = index.and_then(|i| labels.get_mut(i)) {
                label.branches += 1;
            }
        };
        let mut ops = body.get_operators_reader().map_err(parse_error)?;
        while !ops.eof() {
            match ops.read().map_err(parse_error)? {
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::TryTable { .. }
                | Operator::Try { .. } => {
                    labels.push(Label {
                        branches: 0,
                        accesses: 0,
                    });
                    let depth = labels.len() as u64 - 1;
                    if depth > depth_limit {
                        return Err(too_complex("nesting depth of blocks", depth, depth_limit));
                    }
                }
                Operator::End | Operator::Delegate { .. } => {
                    let Some(done) = labels.pop() else { continue };
                    work = work
                        .saturating_add(done.branches.saturating_mul(done.accesses.min(locals)));
                    if work > work_limit {
                        return Err(too_complex("merge work in one function", work, work_limit));
                    }
                    if let Some(parent) = labels.last_mut() {
                        parent.accesses = parent.accesses.saturating_add(done.accesses);
                    }
                }
                Operator::LocalGet { .. }
                | Operator::LocalSet { .. }
                | Operator::LocalTee { .. } => {
                    if let Some(label) = labels.last_mut() {
                        label.accesses += 1;
                    }
                }
                Operator::Br { relative_depth }
                | Operator::BrIf { relative_depth }
                | Operator::BrOnNull { relative_depth }
                | Operator::BrOnNonNull { relative_depth }
                | Operator::BrOnCast { relative_depth, .. }
                | Operator::BrOnCastFail { relative_depth, .. } => {
                    branch(&mut labels, relative_depth)
                }
                Operator::BrTable { targets } => {
                    branch(&mut labels, targets.default());
                    for target in targets.targets() {
                        branch(&mut labels, target.map_err(parse_error)?);
                    }
                }
                _ => {}
            }
        }
        Ok(work)
    }

    /// The weight of instantiating component `index` of the current
    /// component with `args`.
    fn instantiation(
        &mut self,
        index: u32,
        args: &[wasmparser::ComponentInstantiationArg<'_>],
    ) -> Weight {
        let max_weight = self.max_weight;
        let Some(frame) = self.component() else {
            return Weight::default();
        };
        let target = frame
            .components
            .get(index as usize)
            .copied()
            .unwrap_or(Weight {
                count: max_weight,
                open: true,
            });
        let mut factor = 1u64;
        if target.open {
            for arg in args {
                let supplied = match arg.kind {
                    ComponentExternalKind::Component => frame
                        .components
                        .get(arg.index as usize)
                        .map_or(max_weight, |w| w.count),
                    ComponentExternalKind::Instance => max_weight,
                    _ => 1,
                };
                factor = factor.max(supplied);
            }
        }
        Weight {
            count: target.count.saturating_mul(factor).saturating_add(1),
            open: target.open,
        }
    }

    fn add_instances(&mut self, weight: Weight) -> Result<()> {
        let limit = self.limits.instantiations;
        let Some(frame) = self.component() else {
            return Ok(());
        };
        frame.weight.count = frame.weight.count.saturating_add(weight.count);
        frame.weight.open |= weight.open;
        if frame.weight.count > limit {
            return Err(too_complex(
                "instances created by instantiating the component",
                frame.weight.count,
                limit,
            ));
        }
        Ok(())
    }

    fn alias(&mut self, alias: ComponentAlias<'_>) {
        let max_weight = self.max_weight;
        let weight = match alias {
            ComponentAlias::InstanceExport {
                kind: ComponentExternalKind::Component,
                ..
            } => Weight {
                count: max_weight,
                open: true,
            },
            ComponentAlias::Outer {
                kind: ComponentOuterAliasKind::Component,
                count,
                index,
            } => {
                let outer = self
                    .frames
                    .len()
                    .checked_sub(1 + count as usize)
                    .and_then(|i| match &self.frames[i] {
                        Frame::Component(c) => c.components.get(index as usize).copied(),
                        Frame::Module => None,
                    });
                outer.unwrap_or(Weight {
                    count: max_weight,
                    open: true,
                })
            }
            _ => return,
        };
        if let Some(frame) = self.component() {
            frame.components.push(weight);
        }
    }

    /// Reads a component type section without recursion, checking how deeply
    /// component and instance types nest before wasmparser (which reads them
    /// recursively) ever sees them.
    fn component_types(&mut self, mut reader: BinaryReader<'_>) -> Result<()> {
        let base = self.depth();
        // Declarations left to read at each open level of type nesting.
        let mut pending: Vec<u32> = vec![reader.read_var_u32().map_err(parse_error)?];
        // Each entry of the section is a component type; inside a component
        // or instance type (more than one level pending), a declaration.
        while let Some(left) = pending.last_mut() {
            if *left == 0 {
                pending.pop();
                continue;
            }
            *left -= 1;
            if pending.len() > 1 {
                // 0x03 import (component types only), 0x00 core type,
                // 0x01 type, 0x02 alias, 0x04 export.
                match reader.read_u8().map_err(parse_error)? {
                    0x03 => {
                        reader
                            .read::<wasmparser::ComponentImport<'_>>()
                            .map_err(parse_error)?;
                        continue;
                    }
                    0x00 => {
                        self.core_type_in_decls(&mut reader, base + pending.len() as u64)?;
                        continue;
                    }
                    0x01 => {}
                    0x02 => {
                        reader.read::<ComponentAlias<'_>>().map_err(parse_error)?;
                        continue;
                    }
                    0x04 => {
                        reader
                            .read::<wasmparser::ComponentExternName<'_>>()
                            .map_err(parse_error)?;
                        reader.read::<ComponentTypeRef>().map_err(parse_error)?;
                        continue;
                    }
                    byte => {
                        return Err(Error::InvalidModule {
                            message: format!(
                                "invalid leading byte (0x{byte:x}) for type declaration (at offset 0x{:x})",
                                reader.original_position() - 1
                            ),
                        });
                    }
                }
            }
            // A component type: 0x41 component, 0x42 instance (both nest).
            match peek(&reader)? {
                0x41 | 0x42 => {
                    reader.read_u8().map_err(parse_error)?;
                    let count = reader.read_var_u32().map_err(parse_error)?;
                    self.check_depth(base + pending.len() as u64)?;
                    pending.push(count);
                }
                _ => {
                    reader.read::<ComponentType<'_>>().map_err(parse_error)?;
                }
            }
        }
        Ok(())
    }

    /// A core type declared inside a component or instance type; a module
    /// type there sits at nesting `depth`.
    fn core_type_in_decls(&self, reader: &mut BinaryReader<'_>, depth: u64) -> Result<()> {
        match peek(reader)? {
            0x50 => {
                self.check_depth(depth)?;
                reader.read_u8().map_err(parse_error)?;
                let count = reader.read_var_u32().map_err(parse_error)?;
                for _ in 0..count {
                    reader
                        .read::<ModuleTypeDeclaration<'_>>()
                        .map_err(parse_error)?;
                }
            }
            0x00 => {
                reader.read_u8().map_err(parse_error)?;
                reader.read::<RecGroup>().map_err(parse_error)?;
            }
            _ => {
                reader.read::<RecGroup>().map_err(parse_error)?;
            }
        }
        Ok(())
    }
}
