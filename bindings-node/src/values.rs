//! Wasm values <-> JS values: i32/f32/f64 as `number`, i64 as `BigInt`.

use aegis_core::{Arg, ValType, Value};
use napi::bindgen_prelude::{BigInt, FromNapiValue, ToNapiValue, i64n};
use napi::{Env, ValueType, sys};

use crate::errors::{Fallible, invalid_argument};

/// A JS call argument as the core's [`Arg`]: a BigInt or a safe integer
/// number is an integer, any other number a float, a boolean a boolean,
/// anything else is named by its JS type (the core then reports
/// `signature_mismatch`).
pub fn js_to_arg(env: &Env, raw: sys::napi_value) -> napi::Result<Arg> {
    // Numbers first, the common case: one Node-API call instead of two.
    let mut n = 0.0;
    // SAFETY: `raw` is a live value of this env; a non-number leaves `n` alone.
    if unsafe { sys::napi_get_value_double(env.raw(), raw, &mut n) } == sys::Status::napi_ok {
        return Ok(number_arg(n));
    }
    Ok(match type_of(env, raw)? {
        ValueType::BigInt => {
            // SAFETY: `raw` is a live value of this env, checked to be a BigInt.
            let big = unsafe { BigInt::from_napi_value(env.raw(), raw)? };
            match big.get_i128() {
                (v, true) => Arg::Int(v),
                // Out of 128 bits: out of range for any wasm integer.
                _ => Arg::Text(format!(
                    "{}{}",
                    if big.sign_bit { "-" } else { "" },
                    u128::MAX
                )),
            }
        }
        ValueType::Number => {
            // SAFETY: `raw` is a live value of this env, checked to be a number.
            number_arg(unsafe { f64::from_napi_value(env.raw(), raw)? })
        }
        ValueType::Boolean => {
            // SAFETY: `raw` is a live value of this env, checked to be a boolean.
            Arg::Bool(unsafe { bool::from_napi_value(env.raw(), raw)? })
        }
        other => Arg::Other(type_name(other).to_string()),
    })
}

/// A JS number as an [`Arg`]: a safe integer is an integer, anything else a float.
fn number_arg(n: f64) -> Arg {
    const SAFE: f64 = 9_007_199_254_740_991.0; // Number.MAX_SAFE_INTEGER
    if n.fract() == 0.0 && n.abs() <= SAFE {
        Arg::Int(n as i128)
    } else {
        Arg::Float(n)
    }
}

/// How many values [`with_mapped`] converts without a heap allocation: more
/// than any call or host function usually takes.
const INLINE_VALUES: usize = 8;

/// Converts each of `items` with `convert` and passes the results to `f`,
/// on the stack for up to [`INLINE_VALUES`] items (`blank` fills the unused
/// slots), so a call's arguments cost no allocation.
pub fn with_mapped<T, U, R>(
    items: &[T],
    blank: impl Fn() -> U,
    mut convert: impl FnMut(&T) -> napi::Result<U>,
    f: impl FnOnce(&[U]) -> R,
) -> napi::Result<R> {
    if items.len() > INLINE_VALUES {
        let mapped = items
            .iter()
            .map(convert)
            .collect::<napi::Result<Vec<_>>>()?;
        return Ok(f(&mapped));
    }
    let mut mapped: [U; INLINE_VALUES] = std::array::from_fn(|_| blank());
    for (slot, item) in mapped.iter_mut().zip(items) {
        *slot = convert(item)?;
    }
    Ok(f(&mapped[..items.len()]))
}

/// JS call arguments as the core's [`Arg`]s (see [`js_to_arg`]), passed to `f`.
pub fn with_args<R>(
    env: &Env,
    raw: &[sys::napi_value],
    f: impl FnOnce(&[Arg]) -> R,
) -> napi::Result<R> {
    with_mapped(raw, || Arg::Bool(false), |v| js_to_arg(env, *v), f)
}

/// Converts a wasm value to JS.
pub fn value_to_js(env: &Env, value: Value) -> napi::Result<sys::napi_value> {
    // SAFETY: `env` is the live env of the current callback.
    unsafe {
        match value {
            Value::I32(v) => i32::to_napi_value(env.raw(), v),
            Value::I64(v) => i64n::to_napi_value(env.raw(), i64n(v)),
            Value::F32(v) => f64::to_napi_value(env.raw(), f64::from(v)),
            Value::F64(v) => f64::to_napi_value(env.raw(), v),
        }
    }
}

/// Converts call results to JS: `undefined` for none, the value for one, an array for several.
pub fn results_to_js(env: &Env, values: Vec<Value>) -> napi::Result<sys::napi_value> {
    match values.len() {
        // SAFETY: `env` is the live env of the current callback.
        0 => unsafe { <()>::to_napi_value(env.raw(), ()) },
        1 => value_to_js(env, values[0]),
        _ => {
            let items = values
                .into_iter()
                .map(|v| value_to_js(env, v))
                .collect::<napi::Result<Vec<_>>>()?;
            js_array(env, items)
        }
    }
}

/// Parses type names such as `["i32", "i64"]` (aegis-core decides what is valid).
pub fn parse_types(names: &[String]) -> Result<Vec<ValType>, aegis_core::Error> {
    names.iter().map(|n| n.parse::<ValType>()).collect()
}

/// The JS type of a value.
pub fn type_of(env: &Env, raw: sys::napi_value) -> napi::Result<ValueType> {
    let mut kind = 0;
    // SAFETY: `raw` is a live value of this env.
    check(unsafe { sys::napi_typeof(env.raw(), raw, &mut kind) })?;
    Ok(ValueType::from(kind))
}

/// The `typeof` word of a JS type, for messages.
pub fn type_name(kind: ValueType) -> &'static str {
    match kind {
        ValueType::Undefined => "undefined",
        ValueType::Null => "null",
        ValueType::Boolean => "boolean",
        ValueType::Number => "number",
        ValueType::String => "string",
        ValueType::Symbol => "symbol",
        ValueType::Object => "object",
        ValueType::Function => "function",
        ValueType::External => "external",
        ValueType::BigInt => "bigint",
        _ => "unknown",
    }
}

/// Turns a raw napi status into a `Result`.
pub fn check(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            napi::Status::from(status),
            "Node-API call failed",
        ))
    }
}

/// `object[name]`.
pub fn property(env: &Env, object: sys::napi_value, name: &str) -> napi::Result<sys::napi_value> {
    let key = string(env, name)?;
    let mut value = std::ptr::null_mut();
    // SAFETY: `object` and `key` are live values of `env`.
    check(unsafe { sys::napi_get_property(env.raw(), object, key, &mut value) })?;
    Ok(value)
}

/// A JS string.
pub fn string(env: &Env, text: &str) -> napi::Result<sys::napi_value> {
    let mut value = std::ptr::null_mut();
    // SAFETY: `text` is valid UTF-8 of the given length.
    check(unsafe {
        sys::napi_create_string_utf8(
            env.raw(),
            text.as_ptr().cast(),
            text.len() as isize,
            &mut value,
        )
    })?;
    Ok(value)
}

/// `globalThis[name]`.
pub fn global(env: &Env, name: &str) -> napi::Result<sys::napi_value> {
    let mut global = std::ptr::null_mut();
    // SAFETY: `env` is live.
    check(unsafe { sys::napi_get_global(env.raw(), &mut global) })?;
    property(env, global, name)
}

/// `Object.freeze(object)`.
pub fn freeze(env: &Env, object: sys::napi_value) -> napi::Result<sys::napi_value> {
    // SAFETY: `object` is a live object of `env`.
    check(unsafe { sys::napi_object_freeze(env.raw(), object) })?;
    Ok(object)
}

/// An array of `items` (live values of `env`).
pub fn js_array(env: &Env, items: Vec<sys::napi_value>) -> napi::Result<sys::napi_value> {
    let mut array = std::ptr::null_mut();
    // SAFETY: `env` is live; the array and its elements belong to it.
    unsafe {
        check(sys::napi_create_array_with_length(
            env.raw(),
            items.len(),
            &mut array,
        ))?;
        for (i, item) in items.into_iter().enumerate() {
            check(sys::napi_set_element(env.raw(), array, i as u32, item))?;
        }
    }
    Ok(array)
}

/// The object's own enumerable string keys, as JS values of `env`.
pub fn own_key_values(env: &Env, object: sys::napi_value) -> napi::Result<Vec<sys::napi_value>> {
    let mut keys = std::ptr::null_mut();
    let mut len = 0;
    // SAFETY: `object` is a live object of `env`.
    unsafe {
        check(sys::napi_get_all_property_names(
            env.raw(),
            object,
            sys::KeyCollectionMode::own_only,
            sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
            sys::KeyConversion::numbers_to_strings,
            &mut keys,
        ))?;
        check(sys::napi_get_array_length(env.raw(), keys, &mut len))?;
    }
    (0..len)
        .map(|i| {
            let mut key = std::ptr::null_mut();
            // SAFETY: `keys` is an array of `len` strings of `env`.
            check(unsafe { sys::napi_get_element(env.raw(), keys, i, &mut key) })?;
            Ok(key)
        })
        .collect()
}

/// A frozen array of `items` (live values of `env`).
pub fn frozen_array(env: &Env, items: Vec<sys::napi_value>) -> napi::Result<sys::napi_value> {
    let array = js_array(env, items)?;
    freeze(env, array)
}

/// A frozen array of strings.
pub fn frozen_strings(
    env: &Env,
    items: impl IntoIterator<Item = String>,
) -> napi::Result<sys::napi_value> {
    let items = items
        .into_iter()
        .map(|s| string(env, &s))
        .collect::<napi::Result<Vec<_>>>()?;
    frozen_array(env, items)
}

/// A string argument of a method; anything else is `AEGIS_INVALID_ARGUMENT`.
pub fn string_arg(env: &Env, raw: sys::napi_value, what: &str) -> Fallible<String> {
    match type_of(env, raw)? {
        // SAFETY: `raw` is a live string of `env`.
        ValueType::String => Ok(unsafe { String::from_napi_value(env.raw(), raw)? }),
        other => Err(invalid_argument(format!(
            "{what} must be a string, got {}",
            type_name(other)
        ))),
    }
}

/// The bytes of a `Uint8Array` (a `Buffer` included) argument; anything else
/// is `AEGIS_INVALID_ARGUMENT`.
pub fn bytes_arg(env: &Env, raw: sys::napi_value, what: &str) -> Fallible<Vec<u8>> {
    let mut is_typed_array = false;
    // SAFETY: `raw` is a live value of `env`.
    check(unsafe { sys::napi_is_typedarray(env.raw(), raw, &mut is_typed_array) })?;
    if is_typed_array {
        let mut kind = 0;
        let mut len = 0;
        let mut data = std::ptr::null_mut();
        // SAFETY: `raw` is a typed array of `env`; `data` points at `len` elements.
        unsafe {
            check(sys::napi_get_typedarray_info(
                env.raw(),
                raw,
                &mut kind,
                &mut len,
                &mut data,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            ))?;
            if kind == sys::TypedarrayType::uint8_array {
                if len == 0 || data.is_null() {
                    return Ok(Vec::new());
                }
                return Ok(std::slice::from_raw_parts(data.cast::<u8>(), len).to_vec());
            }
        }
    }
    Err(invalid_argument(format!(
        "{what} must be a Uint8Array or a Buffer"
    )))
}

/// Caller-supplied text echoed in a message, cut to a sane length.
pub fn bounded(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}
