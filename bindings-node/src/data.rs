//! Component values (`aegis_core::Data`) <-> JS values: the mapping of
//! `sandbox.call` on a component, and of `registerComponent` host functions.
//!
//! | JS in | `Data` | JS out |
//! |---|---|---|
//! | `null`, `undefined` | `Null` | `null` |
//! | boolean | `Bool` | boolean |
//! | number with a safe integral value (not -0) | `Int` | number (WIT ints up to 32 bits) |
//! | other number | `Float` | number |
//! | BigInt | `BigInt` | BigInt (WIT `s64`, `u64`) |
//! | string | `Str` | string |
//! | `Buffer`, `Uint8Array`, `ArrayBuffer` | `Bytes` | `Buffer` (`list<u8>`) |
//! | array | `List` | array (lists, tuples, flags) |
//! | plain object | `Record` (own enumerable keys, in order) | plain object |
//!
//! The core does the typing (`aegis_core::data`): what a WIT type accepts,
//! variants and results as one-key objects, and the errors.

use aegis_core::Data;
use napi::bindgen_prelude::{BigInt, FromNapiValue, ToNapiValue};
use napi::{Env, ValueType, sys};

use crate::values::{check, global, own_key_values, property, type_name, type_of};

/// Values nested deeper than this are refused (WIT types are far shallower;
/// this also stops a cyclic array or object).
const MAX_DEPTH: usize = 256;

/// Why a JS value has no `Data`: where it is and what it is.
pub struct Unconvertible {
    pub path: String,
    pub what: String,
}

impl Unconvertible {
    /// The message for a call argument or a host function's result.
    pub fn message(&self) -> String {
        format!(
            "{}: {} cannot be passed to a component (it takes strings, numbers, BigInts, booleans, Buffers/Uint8Arrays, arrays, plain objects and null)",
            self.path, self.what
        )
    }
}

/// The outcome of a conversion: a Node-API failure, or a value with no `Data`.
pub enum ToDataError {
    Napi(napi::Error),
    Unconvertible(Unconvertible),
}

impl From<napi::Error> for ToDataError {
    fn from(e: napi::Error) -> Self {
        ToDataError::Napi(e)
    }
}

/// JS -> `Data` for one conversion (caches `Object.prototype`).
pub struct ToData<'a> {
    env: &'a Env,
    object_prototype: Option<sys::napi_value>,
    /// The path of the value being converted.
    root: String,
}

impl<'a> ToData<'a> {
    pub fn new(env: &'a Env) -> Self {
        ToData {
            env,
            object_prototype: None,
            root: String::new(),
        }
    }

    /// Converts `raw`; `path` names it in errors (`argument 1`).
    pub fn convert(&mut self, raw: sys::napi_value, path: &str) -> Result<Data, ToDataError> {
        self.root = path.to_string();
        self.value(raw, &mut || path.to_string(), 0)
    }

    fn value(
        &mut self,
        raw: sys::napi_value,
        path: &mut dyn FnMut() -> String,
        depth: usize,
    ) -> Result<Data, ToDataError> {
        let env = self.env;
        let refuse = |path: &mut dyn FnMut() -> String, what: String| {
            Err(ToDataError::Unconvertible(Unconvertible {
                path: path(),
                what,
            }))
        };
        if depth > MAX_DEPTH {
            // The path would be as deep: name the top-level value only.
            let what = format!("a value nested more than {MAX_DEPTH} levels deep (a cycle?)");
            return refuse(&mut || self.root.clone(), what);
        }
        // SAFETY (each `from_napi_value` below): `raw` is a live value of `env` of the checked type.
        Ok(match type_of(env, raw)? {
            ValueType::Undefined | ValueType::Null => Data::Null,
            ValueType::Boolean => Data::Bool(unsafe { bool::from_napi_value(env.raw(), raw)? }),
            ValueType::Number => {
                let n = unsafe { f64::from_napi_value(env.raw(), raw)? };
                const SAFE: f64 = 9_007_199_254_740_991.0; // Number.MAX_SAFE_INTEGER
                // -0 stays a float: as an integer it would lose its sign.
                if n.fract() == 0.0 && n.abs() <= SAFE && !(n == 0.0 && n.is_sign_negative()) {
                    Data::Int(n as i64)
                } else {
                    Data::Float(n)
                }
            }
            ValueType::BigInt => {
                let big = unsafe { BigInt::from_napi_value(env.raw(), raw)? };
                Data::BigInt(match big.get_i128() {
                    (v, true) => v,
                    // Out of 128 bits: out of range for any WIT integer.
                    _ if big.sign_bit => i128::MIN,
                    _ => i128::MAX,
                })
            }
            ValueType::String => Data::Str(unsafe { String::from_napi_value(env.raw(), raw)? }),
            ValueType::Object => {
                if let Some(bytes) = byte_view(env, raw)? {
                    return match bytes {
                        ByteView::Bytes(bytes) => Ok(Data::Bytes(bytes.to_vec())),
                        ByteView::OtherTypedArray => refuse(
                            path,
                            "a typed array other than Uint8Array (use Array.from(...) for a list of numbers)".into(),
                        ),
                    };
                }
                if is_array(env, raw)? {
                    let mut len = 0;
                    // SAFETY: `raw` is an array of `env`.
                    check(unsafe { sys::napi_get_array_length(env.raw(), raw, &mut len) })?;
                    let mut items = Vec::with_capacity(len.min(4096) as usize);
                    for i in 0..len {
                        let mut item = std::ptr::null_mut();
                        // SAFETY: `raw` is an array of `env`.
                        check(unsafe { sys::napi_get_element(env.raw(), raw, i, &mut item) })?;
                        let mut inner = || format!("{}[{i}]", path());
                        items.push(self.value(item, &mut inner, depth + 1)?);
                    }
                    return Ok(Data::List(items));
                }
                if !self.is_plain_object(raw)? {
                    return refuse(path, format!("an object of class {}", class_name(env, raw)));
                }
                let mut fields = Vec::new();
                for key in own_key_values(env, raw)? {
                    // SAFETY: `key` is a live string of `env`.
                    let name = unsafe { String::from_napi_value(env.raw(), key)? };
                    let mut value = std::ptr::null_mut();
                    // SAFETY: `raw` and `key` are live values of `env`.
                    check(unsafe { sys::napi_get_property(env.raw(), raw, key, &mut value) })?;
                    let mut inner = || format!("{}.{}", path(), crate::values::bounded(&name));
                    let data = self.value(value, &mut inner, depth + 1)?;
                    fields.push((name, data));
                }
                Data::Record(fields)
            }
            other => return refuse(path, format!("a {}", type_name(other))),
        })
    }

    /// Whether the object's prototype is `Object.prototype` or `null`.
    fn is_plain_object(&mut self, object: sys::napi_value) -> napi::Result<bool> {
        let env = self.env;
        let mut proto = std::ptr::null_mut();
        // SAFETY: `object` is a live object of `env`.
        check(unsafe { sys::napi_get_prototype(env.raw(), object, &mut proto) })?;
        if type_of(env, proto)? == ValueType::Null {
            return Ok(true);
        }
        let object_proto = match self.object_prototype {
            Some(p) => p,
            None => {
                let p = property(env, global(env, "Object")?, "prototype")?;
                self.object_prototype = Some(p);
                p
            }
        };
        let mut same = false;
        // SAFETY: both are live values of `env`.
        check(unsafe { sys::napi_strict_equals(env.raw(), proto, object_proto, &mut same) })?;
        Ok(same)
    }
}

/// The bytes of a typed array or `ArrayBuffer`, borrowed from JS.
pub enum ByteView<'a> {
    /// A `Uint8Array` (a `Buffer` included), `Uint8ClampedArray` or `ArrayBuffer`.
    Bytes(&'a [u8]),
    /// Another typed array, or a `DataView`.
    OtherTypedArray,
}

/// The bytes `raw` views, if it is a typed array, `DataView` or `ArrayBuffer`.
/// The slice is valid until JS runs again.
pub fn byte_view<'a>(env: &Env, raw: sys::napi_value) -> napi::Result<Option<ByteView<'a>>> {
    let slice = |data: *mut std::ffi::c_void, len: usize| -> &'a [u8] {
        if len == 0 || data.is_null() {
            &[]
        } else {
            // SAFETY: Node-API reported `len` bytes at `data`, live until JS runs again.
            unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
        }
    };
    let mut yes = false;
    // SAFETY (every call below): `raw` is a live value of `env`.
    check(unsafe { sys::napi_is_typedarray(env.raw(), raw, &mut yes) })?;
    if yes {
        let (mut kind, mut len, mut data) = (0, 0, std::ptr::null_mut());
        check(unsafe {
            sys::napi_get_typedarray_info(
                env.raw(),
                raw,
                &mut kind,
                &mut len,
                &mut data,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        })?;
        return Ok(Some(
            if kind == sys::TypedarrayType::uint8_array
                || kind == sys::TypedarrayType::uint8_clamped_array
            {
                ByteView::Bytes(slice(data, len))
            } else {
                ByteView::OtherTypedArray
            },
        ));
    }
    check(unsafe { sys::napi_is_arraybuffer(env.raw(), raw, &mut yes) })?;
    if yes {
        let (mut data, mut len) = (std::ptr::null_mut(), 0);
        check(unsafe { sys::napi_get_arraybuffer_info(env.raw(), raw, &mut data, &mut len) })?;
        return Ok(Some(ByteView::Bytes(slice(data, len))));
    }
    check(unsafe { sys::napi_is_dataview(env.raw(), raw, &mut yes) })?;
    Ok(yes.then_some(ByteView::OtherTypedArray))
}

fn is_array(env: &Env, raw: sys::napi_value) -> napi::Result<bool> {
    let mut yes = false;
    // SAFETY: `raw` is a live value of `env`.
    check(unsafe { sys::napi_is_array(env.raw(), raw, &mut yes) })?;
    Ok(yes)
}

/// `object.constructor.name`, for messages (`Map`, `Date`, ...).
fn class_name(env: &Env, object: sys::napi_value) -> String {
    let name = property(env, object, "constructor")
        .and_then(|c| match type_of(env, c)? {
            ValueType::Function => property(env, c, "name"),
            _ => Err(napi::Error::from_reason("no constructor")),
        })
        .and_then(|n| match type_of(env, n)? {
            // SAFETY: `n` is a live string of `env`.
            ValueType::String => unsafe { String::from_napi_value(env.raw(), n) },
            _ => Err(napi::Error::from_reason("no name")),
        });
    match name {
        Ok(n) if !n.is_empty() => crate::values::bounded(&n),
        _ => "Object".to_string(),
    }
}

/// `Data` -> JS.
pub fn to_js(env: &Env, data: Data) -> napi::Result<sys::napi_value> {
    // SAFETY (each `to_napi_value`): `env` is the live env of the current callback.
    unsafe {
        match data {
            Data::Null => null(env),
            Data::Bool(b) => bool::to_napi_value(env.raw(), b),
            Data::Int(v) => f64::to_napi_value(env.raw(), v as f64),
            Data::BigInt(v) => BigInt::to_napi_value(env.raw(), big_int(v)),
            Data::Float(v) => f64::to_napi_value(env.raw(), v),
            Data::Str(s) => crate::values::string(env, &s),
            Data::Bytes(b) => Ok(napi::JsValue::raw(&crate::sandbox::buffer_copy(env, &b)?)),
            Data::List(items) | Data::Tuple(items) => {
                let items = items
                    .into_iter()
                    .map(|d| to_js(env, d))
                    .collect::<napi::Result<Vec<_>>>()?;
                crate::values::js_array(env, items)
            }
            Data::Record(fields) => {
                let mut object = std::ptr::null_mut();
                check(sys::napi_create_object(env.raw(), &mut object))?;
                for (name, value) in fields {
                    let key = crate::values::string(env, &name)?;
                    let value = to_js(env, value)?;
                    check(sys::napi_set_property(env.raw(), object, key, value))?;
                }
                Ok(object)
            }
        }
    }
}

/// Call results: `undefined` for none, the value for one, an array for several.
pub fn results_to_js(env: &Env, mut results: Vec<Data>) -> napi::Result<sys::napi_value> {
    match results.len() {
        // SAFETY: `env` is the live env of the current callback.
        0 => unsafe { <()>::to_napi_value(env.raw(), ()) },
        1 => to_js(env, results.remove(0)),
        _ => to_js(env, Data::List(results)),
    }
}

fn null(env: &Env) -> napi::Result<sys::napi_value> {
    let mut value = std::ptr::null_mut();
    // SAFETY: `env` is live.
    check(unsafe { sys::napi_get_null(env.raw(), &mut value) })?;
    Ok(value)
}

/// An i128 as napi's sign-and-magnitude BigInt.
fn big_int(v: i128) -> BigInt {
    let magnitude = v.unsigned_abs();
    BigInt {
        sign_bit: v < 0,
        words: vec![magnitude as u64, (magnitude >> 64) as u64],
    }
}
