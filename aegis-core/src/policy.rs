//! [`Policy`]: every setting of a runtime or sandbox as one serializable
//! value, and [`OPTIONS`], the one list of their names, docs, defaults, units
//! and scopes.
//!
//! Front-ends do not interpret settings: each turns its own idiom (Python
//! keyword arguments, a Node options object, C setters, CLI flags, a TOML or
//! JSON file) into a `Policy` and applies it with
//! [`Policy::runtime_builder`] or [`Policy::apply_to_sandbox`]. Every rule
//! about settings lives here: unknown names are refused, sizes take units,
//! durations are seconds, `"read"`/`"write"` are the access words, logging
//! and capture exclude each other, and runtime-wide options are refused on a
//! sandbox.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::capability::{DEFAULT_CAPTURE_LIMIT, DirAccess, NetRule};
use crate::complexity::ModuleLimits;
use crate::error::{Error, Result};
use crate::runtime::{Aegis, RuntimeBuilder};
use crate::sandbox::SandboxBuilder;

/// A byte count: an integer, or text with a unit (`"64MiB"`, `"512KiB"`,
/// `"1GiB"`, `"100MB"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "SizeText", into = "u64")]
#[schemars(with = "SizeText")]
pub struct Size(pub u64);

/// How a [`Size`] may be written.
#[derive(Deserialize, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
enum SizeText {
    /// Bytes.
    Bytes(u64),
    /// Bytes with a unit.
    Text(String),
}

impl TryFrom<SizeText> for Size {
    type Error = Error;
    fn try_from(value: SizeText) -> Result<Size> {
        match value {
            SizeText::Bytes(n) => Ok(Size(n)),
            SizeText::Text(t) => crate::units::parse_size(&t).map(Size),
        }
    }
}

impl From<Size> for u64 {
    fn from(size: Size) -> u64 {
        size.0
    }
}

/// A limit that can be switched off: a number, or `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Switch<T> {
    /// The limit.
    On(T),
    /// No limit (the string `"off"`).
    Off(Off),
}

/// The word `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Off {
    /// Switched off.
    Off,
}

/// Directory access, as every front-end spells it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// List and read only.
    #[default]
    Read,
    /// Read and modify.
    Write,
}

impl From<Access> for DirAccess {
    fn from(access: Access) -> DirAccess {
        match access {
            Access::Read => DirAccess::ReadOnly,
            Access::Write => DirAccess::ReadWrite,
        }
    }
}

impl std::str::FromStr for Access {
    type Err = Error;
    /// `"read"` or `"write"`.
    fn from_str(text: &str) -> Result<Access> {
        match text {
            "read" => Ok(Access::Read),
            "write" => Ok(Access::Write),
            other => Err(Error::invalid_argument(format!(
                "access must be \"read\" or \"write\", got \"{}\"",
                crate::error::bounded_message(other.to_string())
            ))),
        }
    }
}

/// A host directory shown to the guest under another path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirMap {
    /// Directory on the host.
    pub host: PathBuf,
    /// Path under which the guest sees it.
    pub guest: String,
    /// `"read"` (default) or `"write"`.
    #[serde(default)]
    pub access: Access,
}

/// Output capture: `true` for the default limit (1 MiB per stream), or a
/// byte limit per stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Capture {
    /// `true` captures with the default limit; `false` does not capture.
    Enabled(bool),
    /// Capture at most this many bytes per stream.
    Limit(Size),
}

/// What a denied capability does to the call.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OnDenied {
    /// The guest gets an error number (`EACCES`/`EPERM`/`ENOTCAPABLE`) and
    /// the denial is recorded in the metrics; the call goes on.
    #[default]
    Errno,
    /// The call fails with `permission_denied`, naming the capability,
    /// operation and target.
    Error,
}

/// Every setting of a runtime or a sandbox. Each field is optional: a
/// missing one keeps Aegis's default (for a runtime) or the runtime's value
/// (for a sandbox). Unknown fields are refused. See [`OPTIONS`] for each
/// field's doc, default, unit and scope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Total linear memory of a sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<Size>,
    /// Fuel per call, or `"off"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_limit: Option<Switch<u64>>,
    /// Wall-clock limit per call in seconds, or `"off"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Switch<f64>>,
    /// Maximum wasm stack (runtime only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_limit: Option<Size>,
    /// Total table elements of a sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_elements_limit: Option<u64>,
    /// WASI handles a guest may hold at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle_limit: Option<u64>,
    /// Host memory one result may take (`call_bytes` output; component values from an export or in one host call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_limit: Option<Size>,
    /// Directories the guest may read, at the same path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_read: Vec<PathBuf>,
    /// Directories the guest may read and write, at the same path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_write: Vec<PathBuf>,
    /// Host directories shown under other guest paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub map_dirs: Vec<DirMap>,
    /// Guest stdout/stderr go to the host's stdout/stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_logging: Option<bool>,
    /// Guest stdout/stderr are kept in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_output: Option<Capture>,
    /// The guest may read the real clocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_clock: Option<bool>,
    /// Outbound network destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_net: Vec<String>,
    /// Environment variables the guest sees.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Command-line arguments of a WASI command, `argv[0]` included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Fixed seed for the guest's random source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_seed: Option<u64>,
    /// What a denied capability does: `"errno"` or `"error"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_denied: Option<OnDenied>,
    /// Where the guest's stdin comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<crate::stdin::StdinPolicy>,
    /// Pre-allocated instance slots (runtime only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_pool: Option<u32>,
    /// Directory of the on-disk compile cache (runtime only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile_cache: Option<PathBuf>,
    /// Largest module accepted (runtime only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_module_size: Option<Size>,
    /// Structural limits checked before compiling (runtime only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_limits: Option<ModuleLimitsPolicy>,
    /// Exception-handling proposal (runtime only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasm_exceptions: Option<bool>,
    /// Garbage-collection proposal (runtime only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasm_gc: Option<bool>,
    /// SHA-256 digests (hex) of the only modules the runtime may load
    /// (runtime only; empty allows any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_modules: Vec<String>,
}

/// [`ModuleLimits`] in a policy: each field optional (default kept).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleLimitsPolicy {
    /// Functions defined in a module or component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub functions: Option<u32>,
    /// Locals declared in one function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locals_per_function: Option<u32>,
    /// Bytes of one function body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_size: Option<u32>,
    /// Nesting depth of blocks in one function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_depth: Option<u32>,
    /// Merge work (branch × local) in one function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_work_per_function: Option<u64>,
    /// Merge work across a module, beyond ordinary code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_work: Option<u64>,
    /// Nesting depth of components and types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_depth: Option<u32>,
    /// Instances a component's instantiation creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instantiations: Option<u64>,
}

impl ModuleLimitsPolicy {
    /// The defaults with this policy's fields applied.
    pub fn resolve(&self) -> ModuleLimits {
        let d = ModuleLimits::default();
        ModuleLimits {
            functions: self.functions.unwrap_or(d.functions),
            locals_per_function: self.locals_per_function.unwrap_or(d.locals_per_function),
            function_size: self.function_size.unwrap_or(d.function_size),
            block_depth: self.block_depth.unwrap_or(d.block_depth),
            merge_work_per_function: self
                .merge_work_per_function
                .unwrap_or(d.merge_work_per_function),
            merge_work: self.merge_work.unwrap_or(d.merge_work),
            component_depth: self.component_depth.unwrap_or(d.component_depth),
            instantiations: self.instantiations.unwrap_or(d.instantiations),
        }
    }
}

/// Where an option may be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// On a runtime (and so for all its sandboxes), or on one sandbox.
    Both,
    /// On a runtime only: it configures the engine every sandbox shares.
    Runtime,
}

/// One option of [`Policy`]: what every front-end calls it and documents.
#[derive(Debug, Clone, Copy)]
pub struct OptionInfo {
    /// The name in policy files, Python keywords, C setters and the README
    /// (Node uses its camelCase form, the CLI its `--kebab-case` form).
    pub name: &'static str,
    /// One line for docs and `--help`.
    pub doc: &'static str,
    /// The default, as text.
    pub default: &'static str,
    /// The unit of a number, or the value's form.
    pub unit: &'static str,
    /// Where it may be set.
    pub scope: Scope,
}

impl OptionInfo {
    /// The option's name in camelCase (Node).
    pub fn camel_name(&self) -> String {
        camel_case(self.name)
    }

    /// The option's name as a CLI flag (`--memory-limit`).
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }
}

/// `memory_limit` → `memoryLimit`.
pub fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

macro_rules! options {
    ($($name:literal, $scope:ident, $default:literal, $unit:literal, $doc:literal;)*) => {
        /// Every option of [`Policy`], in the order of its fields.
        pub const OPTIONS: &[OptionInfo] = &[$(OptionInfo {
            name: $name,
            doc: $doc,
            default: $default,
            unit: $unit,
            scope: Scope::$scope,
        }),*];
    };
}

options! {
    "memory_limit", Both, "64 MiB", "bytes (units allowed: 64MiB)", "Total linear memory of a sandbox.";
    "fuel_limit", Both, "1000000000", "fuel units, or \"off\"", "Fuel per call (about one wasm instruction or one byte moved per unit).";
    "timeout", Both, "30", "seconds, or \"off\"", "Wall-clock limit per call.";
    "stack_limit", Runtime, "512 KiB", "bytes (4 KiB to 256 MiB)", "Maximum wasm stack.";
    "table_elements_limit", Both, "1000000", "elements", "Total table elements of a sandbox.";
    "handle_limit", Both, "1024", "handles", "WASI handles (files, directories, sockets) held at once.";
    "result_limit", Both, "64 MiB", "bytes (units allowed: 1MiB)", "Host memory one result may take: call_bytes output, or component values (40 bytes per list element) from an export or in one host call.";
    "allow_read", Both, "none", "host directories", "Directories the guest may read, at the same path.";
    "allow_write", Both, "none", "host directories", "Directories the guest may read and write, at the same path.";
    "map_dirs", Both, "none", "{host, guest, access: \"read\"|\"write\"}", "Host directories shown under other guest paths.";
    "allow_logging", Both, "false", "bool", "Guest stdout/stderr go to the host's stdout/stderr.";
    "capture_output", Both, "false", "true (1 MiB per stream) or bytes per stream", "Guest stdout/stderr are kept in memory.";
    "allow_clock", Both, "false", "bool", "The guest may read the real wall and monotonic clocks.";
    "allow_net", Both, "none", "HOST:PORT, IP:PORT or CIDR[:PORT]", "Outbound network destinations (WASI 0.2 components).";
    "env", Both, "none", "name → value", "Environment variables the guest sees (none are inherited).";
    "args", Both, "none", "strings, argv[0] first", "Command-line arguments of a WASI command.";
    "random_seed", Both, "none (OS randomness)", "integer", "Fixed seed for the guest's random source.";
    "on_denied", Both, "errno", "\"errno\" or \"error\"", "What a denied capability does: an error number for the guest, or a permission_denied error for the call.";
    "stdin", Both, "empty", "\"empty\", \"inherit\", {file: PATH} or {text: TEXT} (bytes through each front-end's API)", "The guest's stdin: end of file at once, the host's stdin, a regular file, or given text.";
    "instance_pool", Runtime, "none", "instance slots", "Pre-allocated instance slots (pooling allocator).";
    "compile_cache", Runtime, "none", "directory", "On-disk cache of compiled modules.";
    "max_module_size", Runtime, "256 MiB", "bytes", "Largest module accepted, checked before parsing.";
    "module_limits", Runtime, "see ModuleLimits", "{functions, locals_per_function, ...}", "Structural limits checked before compiling.";
    "wasm_exceptions", Runtime, "false", "bool", "The exception-handling proposal.";
    "wasm_gc", Runtime, "false", "bool", "The garbage-collection proposal.";
    "allowed_modules", Runtime, "any", "SHA-256 digests (hex)", "The only modules the runtime may load.";
}

/// The [`OptionInfo`] of `name`, if it is an option.
pub fn option(name: &str) -> Option<&'static OptionInfo> {
    OPTIONS.iter().find(|o| o.name == name)
}

impl Policy {
    /// Parses a policy from JSON text; unknown fields and bad values are
    /// `invalid_argument` errors naming them.
    pub fn from_json(text: &str) -> Result<Policy> {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| invalid_policy("JSON", e))
    }

    /// Parses a policy from TOML text.
    pub fn from_toml(text: &str) -> Result<Policy> {
        toml::from_str(text).map_err(|e| invalid_policy("TOML", e))
    }

    /// Builds a policy from a JSON value: a map of option names to values,
    /// as the bindings produce from their language's options.
    pub fn from_value(value: serde_json::Value) -> Result<Policy> {
        serde_path_to_error::deserialize(value).map_err(|e| invalid_policy("options", e))
    }

    /// Reads a policy file: TOML, or JSON when the name ends in `.json`.
    pub fn from_file(path: &std::path::Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("policy file {}", path.display()), e))?;
        if path.extension().is_some_and(|e| e == "json") {
            Policy::from_json(&text)
        } else {
            Policy::from_toml(&text)
        }
    }

    /// The policy as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a policy always serializes")
    }

    /// `other`'s settings on top of this one's: a field set in `other`
    /// replaces this one's (lists are replaced, not merged).
    pub fn overridden_by(&self, other: &Policy) -> Result<Policy> {
        let mut base = serde_json::to_value(self).expect("a policy always serializes");
        let top = serde_json::to_value(other).expect("a policy always serializes");
        if let (Some(base), serde_json::Value::Object(top)) = (base.as_object_mut(), top) {
            base.extend(top);
        }
        Policy::from_value(base)
    }

    /// The JSON Schema of a policy file.
    pub fn json_schema() -> String {
        let schema = serde_json::to_value(schemars::schema_for!(Policy))
            .expect("a schema always serializes");
        // Keys sorted whatever serde_json's `preserve_order` feature (which
        // another crate of a build may turn on): one text for every build.
        serde_json::to_string_pretty(&sorted_keys(schema)).expect("a schema always serializes")
    }

    /// Names of the runtime-only options this policy sets.
    fn runtime_only_fields(&self) -> Vec<&'static str> {
        let value = serde_json::to_value(self).expect("a policy always serializes");
        OPTIONS
            .iter()
            .filter(|o| o.scope == Scope::Runtime && value.get(o.name).is_some())
            .map(|o| o.name)
            .collect()
    }

    /// Checks the rules that span fields.
    fn check(&self) -> Result<()> {
        let capturing = matches!(
            self.capture_output,
            Some(Capture::Enabled(true) | Capture::Limit(_))
        );
        if self.allow_logging == Some(true) && capturing {
            return Err(Error::invalid_argument(
                "allow_logging and capture_output cannot both be set: output goes to the host or into memory, not both",
            ));
        }
        for digest in &self.allowed_modules {
            let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::invalid_argument(format!(
                    "allowed_modules: `{}` is not a SHA-256 digest (64 hex digits, optionally prefixed with sha256:)",
                    crate::error::bounded_message(digest.to_string())
                )));
            }
        }
        Ok(())
    }

    /// A runtime builder with this policy applied to Aegis's defaults.
    pub fn runtime_builder(&self) -> Result<RuntimeBuilder> {
        self.check()?;
        let mut b = self.apply_shared(Aegis::builder())?;
        if let Some(Size(bytes)) = self.stack_limit {
            b = b.with_stack_limit(usize::try_from(bytes).unwrap_or(usize::MAX));
        }
        if let Some(slots) = self.instance_pool {
            b = b.with_instance_pool(slots);
        }
        if let Some(dir) = &self.compile_cache {
            b = b.with_compile_cache(dir);
        }
        if let Some(Size(bytes)) = self.max_module_size {
            b = b.with_max_module_size(usize::try_from(bytes).unwrap_or(usize::MAX));
        }
        if let Some(limits) = &self.module_limits {
            b = b.with_module_limits(limits.resolve());
        }
        if let Some(on) = self.wasm_exceptions {
            b = b.with_wasm_exceptions(on);
        }
        if let Some(on) = self.wasm_gc {
            b = b.with_wasm_gc(on);
        }
        if !self.allowed_modules.is_empty() {
            b = b.with_allowed_modules(&self.allowed_modules);
        }
        Ok(b)
    }

    /// Applies this policy to a sandbox builder; runtime-only options are
    /// refused (`invalid_argument` naming them).
    pub fn apply_to_sandbox(&self, builder: SandboxBuilder) -> Result<SandboxBuilder> {
        self.check()?;
        if let Some(name) = self.runtime_only_fields().first() {
            return Err(Error::invalid_argument(format!(
                "{name} is a runtime option: set it when creating the runtime, not a sandbox"
            )));
        }
        self.apply_shared(builder)
    }
}

/// The setters a runtime builder and a sandbox builder share.
pub(crate) trait SharedSetters: Sized {
    fn set_memory(self, bytes: u64) -> Self;
    fn set_fuel(self, fuel: Option<u64>) -> Self;
    fn set_timeout(self, timeout: Option<std::time::Duration>) -> Self;
    fn set_table_elements(self, n: u64) -> Self;
    fn set_handles(self, n: usize) -> Self;
    fn set_result_limit(self, bytes: u64) -> Self;
    fn set_map(self, host: PathBuf, guest: String, access: DirAccess) -> Self;
    fn set_logging(self, logging: crate::capability::Logging) -> Self;
    fn set_clock(self, allowed: bool) -> Self;
    fn set_env(self, key: String, value: String) -> Self;
    fn set_args(self, args: Vec<String>) -> Self;
    fn set_net(self, rule: NetRule) -> Self;
    fn set_seed(self, seed: u64) -> Self;
    fn set_on_denied(self, on_denied: OnDenied) -> Self;
    fn set_stdin(self, stdin: crate::stdin::Stdin) -> Self;
}

macro_rules! shared_setters {
    ($t:ty) => {
        impl SharedSetters for $t {
            fn set_memory(self, bytes: u64) -> Self {
                self.with_memory_limit(bytes)
            }
            fn set_fuel(self, fuel: Option<u64>) -> Self {
                match fuel {
                    Some(f) => self.with_fuel_limit(f),
                    None => self.without_fuel_limit(),
                }
            }
            fn set_timeout(self, timeout: Option<std::time::Duration>) -> Self {
                match timeout {
                    Some(t) => self.with_timeout(t),
                    None => self.without_timeout(),
                }
            }
            fn set_table_elements(self, n: u64) -> Self {
                self.with_table_elements_limit(n)
            }
            fn set_handles(self, n: usize) -> Self {
                self.with_handle_limit(n)
            }
            fn set_result_limit(self, bytes: u64) -> Self {
                self.with_result_limit(bytes)
            }
            fn set_map(self, host: PathBuf, guest: String, access: DirAccess) -> Self {
                self.map_dir(host, guest, access)
            }
            fn set_logging(self, logging: crate::capability::Logging) -> Self {
                self.with_logging(logging)
            }
            fn set_clock(self, allowed: bool) -> Self {
                self.with_clock(allowed)
            }
            fn set_env(self, key: String, value: String) -> Self {
                self.with_env(key, value)
            }
            fn set_args(self, args: Vec<String>) -> Self {
                self.with_args(args)
            }
            fn set_net(self, rule: NetRule) -> Self {
                self.allow_net(rule)
            }
            fn set_seed(self, seed: u64) -> Self {
                self.with_random_seed(seed)
            }
            fn set_on_denied(self, on_denied: OnDenied) -> Self {
                self.with_on_denied(on_denied)
            }
            fn set_stdin(self, stdin: crate::stdin::Stdin) -> Self {
                self.with_stdin(stdin)
            }
        }
    };
}
shared_setters!(RuntimeBuilder);
shared_setters!(SandboxBuilder);

impl Policy {
    /// Applies the options a runtime and a sandbox share.
    fn apply_shared<B: SharedSetters>(&self, mut b: B) -> Result<B> {
        use crate::capability::Logging;
        if let Some(Size(bytes)) = self.memory_limit {
            b = b.set_memory(bytes);
        }
        match self.fuel_limit {
            Some(Switch::On(fuel)) => b = b.set_fuel(Some(fuel)),
            Some(Switch::Off(_)) => b = b.set_fuel(None),
            None => {}
        }
        match self.timeout {
            Some(Switch::On(secs)) => {
                b = b.set_timeout(Some(crate::units::seconds("timeout", secs)?))
            }
            Some(Switch::Off(_)) => b = b.set_timeout(None),
            None => {}
        }
        if let Some(n) = self.table_elements_limit {
            b = b.set_table_elements(n);
        }
        if let Some(n) = self.handle_limit {
            b = b.set_handles(usize::try_from(n).unwrap_or(usize::MAX));
        }
        if let Some(Size(bytes)) = self.result_limit {
            b = b.set_result_limit(bytes);
        }
        for dir in &self.allow_read {
            let guest = dir.to_string_lossy().into_owned();
            b = b.set_map(dir.clone(), guest, DirAccess::ReadOnly);
        }
        for dir in &self.allow_write {
            let guest = dir.to_string_lossy().into_owned();
            b = b.set_map(dir.clone(), guest, DirAccess::ReadWrite);
        }
        for m in &self.map_dirs {
            b = b.set_map(m.host.clone(), m.guest.clone(), m.access.into());
        }
        // `false` takes back what a runtime allowed (for a sandbox), unless
        // the other output option turns output on.
        let output_off = |other_on: bool, this: Option<bool>| this == Some(false) && !other_on;
        let capturing = matches!(
            self.capture_output,
            Some(Capture::Enabled(true) | Capture::Limit(_))
        );
        if self.allow_logging == Some(true) {
            b = b.set_logging(Logging::Inherit);
        } else if output_off(capturing, self.allow_logging)
            || output_off(
                self.allow_logging == Some(true),
                match self.capture_output {
                    Some(Capture::Enabled(false)) => Some(false),
                    _ => None,
                },
            )
        {
            b = b.set_logging(Logging::Denied);
        }
        match self.capture_output {
            Some(Capture::Enabled(true)) => {
                b = b.set_logging(Logging::Capture {
                    limit: DEFAULT_CAPTURE_LIMIT,
                })
            }
            Some(Capture::Limit(Size(limit))) => {
                b = b.set_logging(Logging::Capture {
                    limit: usize::try_from(limit).unwrap_or(usize::MAX),
                })
            }
            Some(Capture::Enabled(false)) | None => {}
        }
        if let Some(allowed) = self.allow_clock {
            b = b.set_clock(allowed);
        }
        for rule in &self.allow_net {
            b = b.set_net(rule.parse()?);
        }
        for (key, value) in &self.env {
            b = b.set_env(key.clone(), value.clone());
        }
        if let Some(args) = &self.args {
            b = b.set_args(args.clone());
        }
        if let Some(seed) = self.random_seed {
            b = b.set_seed(seed);
        }
        if let Some(on_denied) = self.on_denied {
            b = b.set_on_denied(on_denied);
        }
        if let Some(stdin) = &self.stdin {
            b = b.set_stdin(stdin.to_stdin());
        }
        Ok(b)
    }
}

/// `value` with every object's keys in sorted order.
fn sorted_keys(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries
                .into_iter()
                .map(|(k, v)| (k, sorted_keys(v)))
                .collect::<serde_json::Map<_, _>>()
                .into()
        }
        serde_json::Value::Array(items) => items.into_iter().map(sorted_keys).collect(),
        other => other,
    }
}

/// A serde error as `invalid_argument`, naming where the policy came from
/// and, when known, the option (`memory_limit`, `map_dirs[0].access`).
fn invalid_policy<E: std::fmt::Display>(source: &str, e: impl Into<PathError<E>>) -> Error {
    let PathError { path, inner } = e.into();
    let at = match path.as_deref() {
        Some(".") | None => String::new(),
        Some(path) => format!("`{path}`: "),
    };
    Error::invalid_argument(format!(
        "invalid policy ({source}): {at}{}",
        crate::error::bounded_message(inner.to_string())
    ))
}

/// A serde error with the path of the value it is about, if known.
struct PathError<E> {
    path: Option<String>,
    inner: E,
}

impl<E: std::fmt::Display> From<serde_path_to_error::Error<E>> for PathError<E> {
    fn from(e: serde_path_to_error::Error<E>) -> Self {
        PathError {
            path: Some(e.path().to_string()),
            inner: e.into_inner(),
        }
    }
}

impl From<toml::de::Error> for PathError<toml::de::Error> {
    fn from(e: toml::de::Error) -> Self {
        PathError {
            path: None,
            inner: e,
        }
    }
}

/// What a policy makes of one import, before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportVerdict {
    /// Provided by WASI, and the policy grants what it needs (or it needs nothing).
    Granted,
    /// Provided by WASI, but the capability it needs is not granted: the
    /// guest gets an error (or, with `on_denied = "error"`, the call fails).
    Denied(crate::details::Capability),
    /// Not provided by Aegis: the embedder must register a host function,
    /// or instantiating fails with `link_error`.
    Unsatisfied,
}

impl ImportVerdict {
    /// `granted`, `denied: <capability>` or `unsatisfied`.
    pub fn describe(&self) -> String {
        match self {
            ImportVerdict::Granted => "granted".into(),
            ImportVerdict::Denied(c) => format!("denied: {c}"),
            ImportVerdict::Unsatisfied => "unsatisfied".into(),
        }
    }
}

impl Policy {
    /// The capability a WASI import needs, if it is a WASI import at all:
    /// `Some(None)` for WASI functions that need no grant.
    fn wasi_need(module: &str, name: &str) -> Option<Option<crate::details::Capability>> {
        use crate::details::Capability::*;
        if module == "wasi_snapshot_preview1" || module == "wasi_unstable" {
            let need =
                if name.starts_with("path_") || name == "fd_readdir" || name == "fd_prestat_get" {
                    Some(Filesystem)
                } else if name.starts_with("clock_") || name == "poll_oneoff" {
                    Some(Clock)
                } else if name.starts_with("sock_") {
                    Some(Network)
                } else {
                    None
                };
            return Some(need);
        }
        let interface = module.split('@').next().unwrap_or(module);
        let need = match interface.split('/').next()? {
            "wasi:filesystem" => Some(Filesystem),
            "wasi:sockets" => Some(Network),
            "wasi:clocks" => Some(Clock),
            "wasi:cli" if interface.ends_with("/stdout") || interface.ends_with("/stderr") => {
                Some(Logging)
            }
            "wasi:cli" | "wasi:io" | "wasi:random" => None,
            _ => return None,
        };
        Some(need)
    }

    /// Whether this policy grants `capability`.
    fn grants(&self, capability: crate::details::Capability) -> bool {
        use crate::details::Capability::*;
        match capability {
            Filesystem => {
                !(self.allow_read.is_empty()
                    && self.allow_write.is_empty()
                    && self.map_dirs.is_empty())
            }
            Network => !self.allow_net.is_empty(),
            Clock => self.allow_clock == Some(true),
            Logging => {
                self.allow_logging == Some(true)
                    || matches!(
                        self.capture_output,
                        Some(Capture::Enabled(true) | Capture::Limit(_))
                    )
            }
            Module => true,
        }
    }

    /// What this policy makes of each import of `info`, in order: which
    /// imports it grants, which it leaves denied, and which nothing in
    /// Aegis provides (`aegis inspect --policy`).
    pub fn review(
        &self,
        info: &crate::module::ModuleInfo,
    ) -> Vec<(crate::module::Import, ImportVerdict)> {
        info.imports()
            .iter()
            .map(|import| {
                let verdict = match Policy::wasi_need(&import.module, &import.name) {
                    None => ImportVerdict::Unsatisfied,
                    Some(None) => ImportVerdict::Granted,
                    Some(Some(c)) if self.grants(c) => ImportVerdict::Granted,
                    Some(Some(c)) => ImportVerdict::Denied(c),
                };
                (import.clone(), verdict)
            })
            .collect()
    }
}

impl crate::runtime::Runtime {
    /// A runtime configured by `policy` (see [`Policy::runtime_builder`]).
    pub fn from_policy(policy: &Policy) -> Result<crate::runtime::Runtime> {
        policy.runtime_builder()?.build()
    }
}
