//! WAVE, the WebAssembly Value Encoding: component values as text, as
//! `wasmtime run --invoke` writes them (`greet("world")`, `{x: 1, y: 2}`).

use wasmtime::component::Val;
use wasmtime::component::types::Type;

use crate::error::{Error, Result};
use crate::sandbox::Sandbox;

/// The WAVE text of a value.
pub fn to_wave(val: &Val) -> Result<String> {
    wasm_wave::to_string(val)
        .map_err(|e| Error::invalid_argument(format!("cannot write {val:?} as WAVE: {e}")))
}

/// Parses WAVE text as a value of type `ty`.
pub fn from_wave(ty: &Type, text: &str) -> Result<Val> {
    wasm_wave::from_str::<Val>(ty, text).map_err(|e| wave_error(text, e))
}

fn wave_error(text: &str, err: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!(
        "`{}` is not valid WAVE here: {err}",
        crate::error::bounded_message(text.to_string())
    ))
}

impl Sandbox {
    /// Calls a component export written as a WAVE call, `name(arg, ...)`
    /// (`greet("world")`, `aegis:test/text#upper("a")`); the parentheses
    /// may be left out when there are no arguments.
    pub fn invoke(&mut self, call: &str) -> Result<Vec<Val>> {
        let call = call.trim();
        let (name, args) = match call.find('(') {
            Some(i) => (call[..i].trim(), &call[i..]),
            None => (call, "()"),
        };
        let ty = self.component_func_type(name)?;
        // The name is looked up above; WAVE parses only the argument list,
        // behind a placeholder name of the same length so that the
        // positions in its messages point into `call`.
        let source = format!("{}{args}", "f".repeat(name.len().max(1)));
        let parsed =
            wasm_wave::untyped::UntypedFuncCall::parse(&source).map_err(|e| wave_error(call, e))?;
        let types: Vec<Type> = ty.params().map(|(_, t)| t).collect();
        let values: Vec<Val> = parsed
            .to_wasm_params(types.iter())
            .map_err(|e| wave_error(call, e))?;
        self.call_component(name, &values)
    }
}
