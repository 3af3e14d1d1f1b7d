//! [`Data`]: component-model values in host-language terms, and the one
//! mapping between them and WIT values that every front-end shares.
//!
//! | WIT | [`Data`] out | [`Data`] accepted in |
//! |---|---|---|
//! | `bool` | `Bool` | `Bool` |
//! | `s8` … `u32` | `Int` | `Int`, `BigInt` (range-checked) |
//! | `s64`, `u64` | `BigInt` | `Int`, `BigInt` (range-checked) |
//! | `f32`, `f64` | `Float` | `Float`, `Int`, `BigInt` |
//! | `char` | `Str` (one character) | `Str` of one character |
//! | `string` | `Str` | `Str` |
//! | `list<u8>` | `Bytes` | `Bytes`, `List`/`Tuple` of integers |
//! | `list<T>` | `List` | `List`, `Tuple` |
//! | `tuple<…>` | `Tuple` | `Tuple`, `List` of the same length |
//! | `record` | `Record` (fields in order) | `Record` with exactly its fields, any order |
//! | `variant` | `Record` of one entry: case → payload (`Null` without one) | the same, or `Str` for a case without payload |
//! | `enum` | `Str` | `Str` |
//! | `option<T>` | `Null`, or T's value | `Null`, or T's value |
//! | `option<option<T>>` | `Null`, or `Record` `{"some": inner}` | the same |
//! | `result<T, E>` | `Record` `{"ok": v}` or `{"err": e}` (`Null` without a payload) | the same |
//! | `flags` | `List` of the set flags' names | `List`/`Tuple` of names |
//! | resources, futures, streams | refused (`invalid_argument`) | refused |
//!
//! A value of the wrong kind is `signature_mismatch` naming where it is
//! (`argument 1 (p).label: expected string, got int`); an integer out of
//! range is `invalid_argument`.

use wasmtime::component::Val;
use wasmtime::component::types::Type;

use crate::error::{Error, Result};

/// A component value as host languages see it (see the module docs for the
/// mapping to and from WIT).
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// `option::none`, or no payload.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer of at most 32 bits on output; any integer on input.
    Int(i64),
    /// A 64-bit integer on output (Node makes it a `BigInt`); any integer on input.
    BigInt(i128),
    /// A floating-point number.
    Float(f64),
    /// Text: a string, a char, an enum case or a flag name.
    Str(String),
    /// A `list<u8>`.
    Bytes(Vec<u8>),
    /// A list (or flags).
    List(Vec<Data>),
    /// A tuple.
    Tuple(Vec<Data>),
    /// A record, or a variant/result/`some` as one entry.
    Record(Vec<(String, Data)>),
}

impl Data {
    /// The kind's name in messages: `int`, `str`, `record`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Data::Null => "null",
            Data::Bool(_) => "bool",
            Data::Int(_) | Data::BigInt(_) => "int",
            Data::Float(_) => "float",
            Data::Str(_) => "str",
            Data::Bytes(_) => "bytes",
            Data::List(_) => "list",
            Data::Tuple(_) => "tuple",
            Data::Record(_) => "record",
        }
    }
}

/// The WIT name of a type's kind, for messages: `string`, `record`, `list<u8>`.
pub fn type_name(ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(l) => format!("list<{}>", type_name(&l.ty())),
        Type::Record(r) => {
            let names: Vec<&str> = r.fields().map(|f| f.name).collect();
            format!("record {{{}}}", names.join(", "))
        }
        Type::Tuple(_) => "tuple".into(),
        Type::Variant(v) => {
            let names: Vec<&str> = v.cases().map(|c| c.name).collect();
            format!("variant {{{}}}", names.join(", "))
        }
        Type::Enum(e) => {
            let names: Vec<&str> = e.names().collect();
            format!("enum {{{}}}", names.join(", "))
        }
        Type::Option(o) => format!("option<{}>", type_name(&o.ty())),
        Type::Result(_) => "result".into(),
        Type::Flags(f) => {
            let names: Vec<&str> = f.names().collect();
            format!("flags {{{}}}", names.join(", "))
        }
        Type::Own(_) | Type::Borrow(_) => "resource".into(),
        Type::Future(_) => "future".into(),
        Type::Stream(_) => "stream".into(),
        Type::ErrorContext => "error-context".into(),
        Type::Map(_) => "map".into(),
        Type::FixedLengthList(_) => "fixed-length list".into(),
    }
}

/// Where a value sits, for messages: `argument 1 (p).label[3]`.
#[derive(Clone)]
struct Path(String);

impl Path {
    fn field(&self, name: &str) -> Path {
        Path(format!("{}.{name}", self.0))
    }
    fn index(&self, i: usize) -> Path {
        Path(format!("{}[{i}]", self.0))
    }
}

fn mismatch(path: &Path, ty: &Type, got: &Data) -> Error {
    Error::SignatureMismatch {
        name: String::new(),
        expected: type_name(ty),
        given: format!("{}: expected {}, got {}", path.0, type_name(ty), got.kind()),
    }
}

fn unsupported(ty: &Type) -> Error {
    Error::invalid_argument(format!(
        "{} values cannot cross between a host and a component in Aegis (resources, futures and streams are not supported)",
        type_name(ty)
    ))
}

/// Converts `data` to a WIT value of type `ty`; `what` names it in errors
/// (`argument 1 (name)`, `result of transform`).
pub fn to_val(data: Data, ty: &Type, what: &str) -> Result<Val> {
    match (data, ty) {
        // A string moves: a large argument is not copied again.
        (Data::Str(s), Type::String) => Ok(Val::String(s)),
        (data, ty) => convert_in(&data, ty, &Path(what.to_string())),
    }
}

fn integer(data: &Data) -> Option<i128> {
    match data {
        Data::Int(v) => Some(i128::from(*v)),
        Data::BigInt(v) => Some(*v),
        _ => None,
    }
}

fn convert_in(data: &Data, ty: &Type, path: &Path) -> Result<Val> {
    let bad = || mismatch(path, ty, data);
    let int = |min: i128, max: i128| -> Result<i128> {
        let v = integer(data).ok_or_else(bad)?;
        if (min..=max).contains(&v) {
            Ok(v)
        } else {
            Err(Error::invalid_argument(format!(
                "{}: {v} is out of range for {} ({min} to {max})",
                path.0,
                type_name(ty)
            )))
        }
    };
    let list = |items: &[Data], elem: &Type| -> Result<Vec<Val>> {
        items
            .iter()
            .enumerate()
            .map(|(i, d)| convert_in(d, elem, &path.index(i)))
            .collect()
    };
    Ok(match ty {
        Type::Bool => match data {
            Data::Bool(b) => Val::Bool(*b),
            _ => return Err(bad()),
        },
        Type::S8 => Val::S8(int(i8::MIN.into(), i8::MAX.into())? as i8),
        Type::U8 => Val::U8(int(0, u8::MAX.into())? as u8),
        Type::S16 => Val::S16(int(i16::MIN.into(), i16::MAX.into())? as i16),
        Type::U16 => Val::U16(int(0, u16::MAX.into())? as u16),
        Type::S32 => Val::S32(int(i32::MIN.into(), i32::MAX.into())? as i32),
        Type::U32 => Val::U32(int(0, u32::MAX.into())? as u32),
        Type::S64 => Val::S64(int(i64::MIN.into(), i64::MAX.into())? as i64),
        Type::U64 => Val::U64(int(0, u64::MAX.into())? as u64),
        Type::Float32 | Type::Float64 => {
            let v = match data {
                Data::Float(f) => *f,
                _ => integer(data).ok_or_else(bad)? as f64,
            };
            if matches!(ty, Type::Float32) {
                Val::Float32(v as f32)
            } else {
                Val::Float64(v)
            }
        }
        Type::Char => match data {
            Data::Str(s) => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Val::Char(c),
                    _ => {
                        return Err(Error::invalid_argument(format!(
                            "{}: a char is one character, got {} characters",
                            path.0,
                            s.chars().count()
                        )));
                    }
                }
            }
            _ => return Err(bad()),
        },
        Type::String => match data {
            Data::Str(s) => Val::String(s.clone()),
            _ => return Err(bad()),
        },
        Type::List(l) => {
            let elem = l.ty();
            match data {
                Data::Bytes(b) if matches!(elem, Type::U8) => {
                    Val::List(b.iter().map(|&x| Val::U8(x)).collect())
                }
                Data::List(items) | Data::Tuple(items) => Val::List(list(items, &elem)?),
                _ => return Err(bad()),
            }
        }
        Type::Tuple(t) => {
            let types: Vec<Type> = t.types().collect();
            match data {
                Data::Tuple(items) | Data::List(items) if items.len() == types.len() => Val::Tuple(
                    items
                        .iter()
                        .zip(&types)
                        .enumerate()
                        .map(|(i, (d, t))| convert_in(d, t, &path.index(i)))
                        .collect::<Result<_>>()?,
                ),
                _ => return Err(bad()),
            }
        }
        Type::Record(r) => {
            let Data::Record(given) = data else {
                return Err(bad());
            };
            if let Some((extra, _)) = given
                .iter()
                .find(|(name, _)| !r.fields().any(|f| f.name == name))
            {
                return Err(Error::invalid_argument(format!(
                    "{}: {} has no field `{extra}`",
                    path.0,
                    type_name(ty)
                )));
            }
            let mut fields = Vec::with_capacity(given.len());
            for field in r.fields() {
                let value = given
                    .iter()
                    .find(|(name, _)| name == field.name)
                    .map(|(_, v)| v)
                    .ok_or_else(|| {
                        Error::invalid_argument(format!(
                            "{}: missing field `{}` of {}",
                            path.0,
                            field.name,
                            type_name(ty)
                        ))
                    })?;
                fields.push((
                    field.name.to_string(),
                    convert_in(value, &field.ty, &path.field(field.name))?,
                ));
            }
            Val::Record(fields)
        }
        Type::Variant(v) => {
            let (case, payload) = one_entry(data, path, ty)?;
            let Some(c) = v.cases().find(|c| c.name == case) else {
                return Err(unknown_case(path, ty, case));
            };
            let payload = payload_in(payload, c.ty.as_ref(), &path.field(case), ty)?;
            Val::Variant(case.to_string(), payload)
        }
        Type::Enum(e) => match data {
            Data::Str(s) if e.names().any(|n| n == s) => Val::Enum(s.clone()),
            Data::Str(s) => return Err(unknown_case(path, ty, s)),
            _ => return Err(bad()),
        },
        Type::Option(o) => {
            let inner = o.ty();
            match data {
                Data::Null => Val::Option(None),
                Data::Record(entries) if matches!(inner, Type::Option(_)) => match &entries[..] {
                    [(key, value)] if key == "some" => Val::Option(Some(Box::new(convert_in(
                        value,
                        &inner,
                        &path.field("some"),
                    )?))),
                    _ => return Err(bad()),
                },
                other => Val::Option(Some(Box::new(convert_in(other, &inner, path)?))),
            }
        }
        Type::Result(r) => {
            let (case, payload) = one_entry(data, path, ty)?;
            let case_ty = match case {
                "ok" => r.ok(),
                "err" => r.err(),
                other => return Err(unknown_case(path, ty, other)),
            };
            let payload = payload_in(payload, case_ty.as_ref(), &path.field(case), ty)?;
            Val::Result(if case == "ok" {
                Ok(payload)
            } else {
                Err(payload)
            })
        }
        Type::Flags(f) => match data {
            Data::List(items) | Data::Tuple(items) => {
                let mut set = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Data::Str(s) if f.names().any(|n| n == s) => {
                            if !set.contains(s) {
                                set.push(s.clone());
                            }
                        }
                        Data::Str(s) => return Err(unknown_case(&path.index(i), ty, s)),
                        other => return Err(mismatch(&path.index(i), &Type::String, other)),
                    }
                }
                Val::Flags(set)
            }
            _ => return Err(bad()),
        },
        _ => return Err(unsupported(ty)),
    })
}

/// A variant's or result's `{case: payload}`, or a bare case name.
fn one_entry<'a>(data: &'a Data, path: &Path, ty: &Type) -> Result<(&'a str, &'a Data)> {
    match data {
        Data::Record(entries) if entries.len() == 1 => Ok((&entries[0].0, &entries[0].1)),
        Data::Str(case) => Ok((case, &Data::Null)),
        _ => Err(mismatch(path, ty, data)),
    }
}

fn payload_in(
    payload: &Data,
    case_ty: Option<&Type>,
    path: &Path,
    outer: &Type,
) -> Result<Option<Box<Val>>> {
    match (case_ty, payload) {
        (None, Data::Null) => Ok(None),
        (None, other) => Err(Error::SignatureMismatch {
            name: String::new(),
            expected: type_name(outer),
            given: format!("{}: this case has no payload, got {}", path.0, other.kind()),
        }),
        (Some(t), d) => Ok(Some(Box::new(convert_in(d, t, path)?))),
    }
}

fn unknown_case(path: &Path, ty: &Type, case: &str) -> Error {
    Error::invalid_argument(format!(
        "{}: `{}` is not a case of {}",
        path.0,
        crate::error::bounded_message(case.to_string()),
        type_name(ty)
    ))
}

/// Converts a WIT value (of type `ty`) to [`Data`].
pub fn from_val(val: Val, ty: &Type) -> Result<Data> {
    match val {
        // A string moves: a large result is not copied again.
        Val::String(s) => Ok(Data::Str(s)),
        other => convert_out(&other, ty),
    }
}

fn convert_out(val: &Val, ty: &Type) -> Result<Data> {
    Ok(match val {
        Val::Bool(b) => Data::Bool(*b),
        Val::S8(v) => Data::Int((*v).into()),
        Val::U8(v) => Data::Int((*v).into()),
        Val::S16(v) => Data::Int((*v).into()),
        Val::U16(v) => Data::Int((*v).into()),
        Val::S32(v) => Data::Int((*v).into()),
        Val::U32(v) => Data::Int((*v).into()),
        Val::S64(v) => Data::BigInt((*v).into()),
        Val::U64(v) => Data::BigInt((*v).into()),
        Val::Float32(v) => Data::Float((*v).into()),
        Val::Float64(v) => Data::Float(*v),
        Val::Char(c) => Data::Str(c.to_string()),
        Val::String(s) => Data::Str(s.clone()),
        Val::List(items) | Val::FixedLengthList(items) => {
            let elem = match ty {
                Type::List(l) => l.ty(),
                Type::FixedLengthList(l) => l.ty(),
                other => return Err(unsupported(other)),
            };
            if matches!(elem, Type::U8) {
                Data::Bytes(
                    items
                        .iter()
                        .map(|v| match v {
                            Val::U8(b) => *b,
                            _ => 0,
                        })
                        .collect(),
                )
            } else {
                Data::List(
                    items
                        .iter()
                        .map(|v| convert_out(v, &elem))
                        .collect::<Result<_>>()?,
                )
            }
        }
        Val::Record(fields) => {
            let Type::Record(r) = ty else {
                return Err(unsupported(ty));
            };
            Data::Record(
                fields
                    .iter()
                    .zip(r.fields())
                    .map(|((name, v), f)| Ok((name.clone(), convert_out(v, &f.ty)?)))
                    .collect::<Result<_>>()?,
            )
        }
        Val::Tuple(items) => {
            let Type::Tuple(t) = ty else {
                return Err(unsupported(ty));
            };
            Data::Tuple(
                items
                    .iter()
                    .zip(t.types())
                    .map(|(v, t)| convert_out(v, &t))
                    .collect::<Result<_>>()?,
            )
        }
        Val::Variant(case, payload) => {
            let Type::Variant(v) = ty else {
                return Err(unsupported(ty));
            };
            let case_ty = v.cases().find(|c| c.name == case).and_then(|c| c.ty);
            Data::Record(vec![(case.clone(), payload_out(payload, case_ty)?)])
        }
        Val::Enum(case) => Data::Str(case.clone()),
        Val::Option(None) => Data::Null,
        Val::Option(Some(inner)) => {
            let Type::Option(o) = ty else {
                return Err(unsupported(ty));
            };
            let inner_ty = o.ty();
            let value = convert_out(inner, &inner_ty)?;
            if matches!(inner_ty, Type::Option(_)) {
                Data::Record(vec![("some".into(), value)])
            } else {
                value
            }
        }
        Val::Result(result) => {
            let Type::Result(r) = ty else {
                return Err(unsupported(ty));
            };
            match result {
                Ok(p) => Data::Record(vec![("ok".into(), payload_out(p, r.ok())?)]),
                Err(p) => Data::Record(vec![("err".into(), payload_out(p, r.err())?)]),
            }
        }
        Val::Flags(names) => Data::List(names.iter().cloned().map(Data::Str).collect()),
        _ => return Err(unsupported(ty)),
    })
}

fn payload_out(payload: &Option<Box<Val>>, ty: Option<Type>) -> Result<Data> {
    match (payload, ty) {
        (Some(v), Some(t)) => convert_out(v, &t),
        _ => Ok(Data::Null),
    }
}

/// Whether a value of type `ty` can cross between host and guest (no
/// resources, futures, streams or maps anywhere in it).
pub fn supported(ty: &Type) -> bool {
    match ty {
        Type::List(l) => supported(&l.ty()),
        Type::FixedLengthList(l) => supported(&l.ty()),
        Type::Record(r) => r.fields().all(|f| supported(&f.ty)),
        Type::Tuple(t) => t.types().all(|t| supported(&t)),
        Type::Variant(v) => v.cases().all(|c| c.ty.as_ref().is_none_or(supported)),
        Type::Option(o) => supported(&o.ty()),
        Type::Result(r) => {
            r.ok().as_ref().is_none_or(supported) && r.err().as_ref().is_none_or(supported)
        }
        Type::Own(_)
        | Type::Borrow(_)
        | Type::Future(_)
        | Type::Stream(_)
        | Type::ErrorContext
        | Type::Map(_) => false,
        _ => true,
    }
}

/// Checks that `val` is a value of type `ty`; `what` names it in errors
/// (`signature_mismatch` for a wrong kind, as for [`Data`]).
pub fn check_val(val: &Val, ty: &Type, what: &str) -> Result<()> {
    check_in(val, ty, &Path(what.to_string()))
}

fn check_in(val: &Val, ty: &Type, path: &Path) -> Result<()> {
    let bad = |expected: &Type| Error::SignatureMismatch {
        name: String::new(),
        expected: type_name(expected),
        given: format!(
            "{}: expected {}, got {}",
            path.0,
            type_name(expected),
            val_kind(val)
        ),
    };
    let all = |items: &mut dyn Iterator<Item = (&Val, Type)>| -> Result<()> {
        items
            .enumerate()
            .try_for_each(|(i, (v, t))| check_in(v, &t, &path.index(i)))
    };
    let payload = |p: &Option<Box<Val>>, t: Option<Type>, case: &str| match (p, t) {
        (None, None) => Ok(()),
        (Some(v), Some(t)) => check_in(v, &t, &path.field(case)),
        _ => Err(bad(ty)),
    };
    match (ty, val) {
        (Type::Bool, Val::Bool(_))
        | (Type::S8, Val::S8(_))
        | (Type::U8, Val::U8(_))
        | (Type::S16, Val::S16(_))
        | (Type::U16, Val::U16(_))
        | (Type::S32, Val::S32(_))
        | (Type::U32, Val::U32(_))
        | (Type::S64, Val::S64(_))
        | (Type::U64, Val::U64(_))
        | (Type::Float32, Val::Float32(_))
        | (Type::Float64, Val::Float64(_))
        | (Type::Char, Val::Char(_))
        | (Type::String, Val::String(_)) => Ok(()),
        (Type::List(l), Val::List(items)) => {
            let elem = l.ty();
            all(&mut items.iter().map(|v| (v, elem.clone())))
        }
        (Type::Tuple(t), Val::Tuple(items)) if items.len() == t.types().len() => {
            all(&mut items.iter().zip(t.types()))
        }
        (Type::Record(r), Val::Record(fields))
            if fields.len() == r.fields().len()
                && fields.iter().zip(r.fields()).all(|((n, _), f)| n == f.name) =>
        {
            fields
                .iter()
                .zip(r.fields())
                .try_for_each(|((n, v), f)| check_in(v, &f.ty, &path.field(n)))
        }
        (Type::Variant(t), Val::Variant(case, p)) => match t.cases().find(|c| c.name == case) {
            Some(c) => payload(p, c.ty, case),
            None => Err(unknown_case(path, ty, case)),
        },
        (Type::Enum(e), Val::Enum(case)) if e.names().any(|n| n == case) => Ok(()),
        (Type::Enum(_), Val::Enum(case)) => Err(unknown_case(path, ty, case)),
        (Type::Option(_), Val::Option(None)) => Ok(()),
        (Type::Option(o), Val::Option(Some(v))) => check_in(v, &o.ty(), path),
        (Type::Result(r), Val::Result(Ok(p))) => payload(p, r.ok(), "ok"),
        (Type::Result(r), Val::Result(Err(p))) => payload(p, r.err(), "err"),
        (Type::Flags(f), Val::Flags(names)) => {
            match names.iter().find(|n| !f.names().any(|m| m == *n)) {
                Some(n) => Err(unknown_case(path, ty, n)),
                None => Ok(()),
            }
        }
        _ if !supported(ty) => Err(unsupported(ty)),
        _ => Err(bad(ty)),
    }
}

/// The WIT kind of a value, for messages.
fn val_kind(val: &Val) -> &'static str {
    match val {
        Val::Bool(_) => "bool",
        Val::S8(_) => "s8",
        Val::U8(_) => "u8",
        Val::S16(_) => "s16",
        Val::U16(_) => "u16",
        Val::S32(_) => "s32",
        Val::U32(_) => "u32",
        Val::S64(_) => "s64",
        Val::U64(_) => "u64",
        Val::Float32(_) => "f32",
        Val::Float64(_) => "f64",
        Val::Char(_) => "char",
        Val::String(_) => "string",
        Val::List(_) | Val::FixedLengthList(_) => "list",
        Val::Map(_) => "map",
        Val::Record(_) => "record",
        Val::Tuple(_) => "tuple",
        Val::Variant(..) => "variant",
        Val::Enum(_) => "enum",
        Val::Option(_) => "option",
        Val::Result(_) => "result",
        Val::Flags(_) => "flags",
        Val::Resource(_) => "resource",
        Val::Future(_) => "future",
        Val::Stream(_) => "stream",
        Val::ErrorContext(_) => "error-context",
    }
}
