//! A component's functions with their WIT types, read from the validator's
//! types without compiling: what `inspect` and `Module::exports` show.
//!
//! Functions inside an interface are listed one by one: an export as
//! `interface#func` (the name a call takes), an import with the interface
//! as its module. Types are written structurally (`record { x: s32 }`),
//! each signature at most [`MAX_SIGNATURE`] characters.

use std::fmt;

use wasmparser::component_types::{
    ComponentDefinedType, ComponentEntityType, ComponentFuncTypeId, ComponentValType,
};
use wasmparser::types::TypesRef;

/// Longest signature text kept (a hostile type can be large).
pub const MAX_SIGNATURE: usize = 4096;

/// Most signature text kept for all the functions of one component: many
/// exports can share one large type, so the text is bounded as a whole,
/// not only per function (past it, types read `…`).
pub const MAX_SIGNATURES_TOTAL: usize = 1 << 20;

/// A component function's WIT signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitFunc {
    /// Parameter names and types.
    pub params: Vec<(String, String)>,
    /// The result type, if any.
    pub result: Option<String>,
}

impl fmt::Display for WitFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(n, t)| format!("{n}: {t}"))
            .collect();
        write!(f, "func({})", params.join(", "))?;
        if let Some(r) = &self.result {
            write!(f, " -> {r}")?;
        }
        Ok(())
    }
}

/// The functions an item of a component provides: the item itself if it is
/// a function, or each function of an instance (interface), with their
/// signatures. Other items give `None` (the caller describes them by kind).
/// `budget` is what remains of [`MAX_SIGNATURES_TOTAL`] for the component.
pub(crate) fn functions(
    types: &TypesRef<'_>,
    item: &ComponentEntityType,
    budget: &mut usize,
) -> Option<Vec<(Option<String>, WitFunc)>> {
    match item {
        ComponentEntityType::Func(id) => Some(vec![(None, func(types, *id, budget))]),
        ComponentEntityType::Instance(id) => Some(
            types[*id]
                .exports
                .iter()
                .filter_map(|(name, item)| match item.ty {
                    ComponentEntityType::Func(f) => {
                        Some((Some(name.clone()), func(types, f, budget)))
                    }
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    }
}

fn func(types: &TypesRef<'_>, id: ComponentFuncTypeId, total: &mut usize) -> WitFunc {
    let ty = &types[id];
    // One text for the whole signature, cut at its share of the budget.
    let limit = MAX_SIGNATURE.min(*total);
    let mut text = String::new();
    let mut params = Vec::with_capacity(ty.params.len());
    for (name, t) in ty.params.iter() {
        let start = text.len();
        write_type(types, t, &mut text, limit);
        params.push((name.to_string(), text[start..].to_string()));
    }
    let result = ty.result.as_ref().map(|t| {
        let start = text.len();
        write_type(types, t, &mut text, limit);
        text[start..].to_string()
    });
    *total -= text.len().min(*total);
    WitFunc { params, result }
}

/// Appends `s` to `out` unless that would pass `limit`; then one `…`.
fn push(out: &mut String, s: &str, limit: usize) {
    if out.len() + s.len() <= limit {
        out.push_str(s);
    } else if !out.ends_with('…') {
        out.push('…');
    }
}

/// Appends the text of a value type to `out`, which stops at `limit` bytes.
fn write_type(types: &TypesRef<'_>, ty: &ComponentValType, out: &mut String, limit: usize) {
    let id = match ty {
        ComponentValType::Primitive(p) => return push(out, &p.to_string(), limit),
        ComponentValType::Type(id) => *id,
    };
    if out.len() >= limit {
        return push(out, "…", 0);
    }
    let list = |out: &mut String,
                open: &str,
                items: &mut dyn Iterator<Item = (Option<&str>, Option<&ComponentValType>)>,
                close: &str| {
        push(out, open, limit);
        for (i, (name, ty)) in items.enumerate() {
            if out.len() >= limit {
                return push(out, "…", 0);
            }
            if i > 0 {
                push(out, ", ", limit);
            }
            if let Some(n) = name {
                push(out, n, limit);
            }
            match (name, ty) {
                (Some(_), Some(t)) if open.starts_with("variant") => {
                    push(out, "(", limit);
                    write_type(types, t, out, limit);
                    push(out, ")", limit);
                }
                (Some(_), Some(t)) => {
                    push(out, ": ", limit);
                    write_type(types, t, out, limit);
                }
                (None, Some(t)) => write_type(types, t, out, limit),
                (_, None) => {}
            }
        }
        push(out, close, limit);
    };
    match &types[id] {
        ComponentDefinedType::Primitive(p) => push(out, &p.to_string(), limit),
        ComponentDefinedType::Record(r) => list(
            out,
            "record { ",
            &mut r.fields.iter().map(|(n, t)| (Some(n.as_str()), Some(t))),
            " }",
        ),
        ComponentDefinedType::Variant(v) => list(
            out,
            "variant { ",
            &mut v
                .cases
                .iter()
                .map(|(n, c)| (Some(n.as_str()), c.ty.as_ref())),
            " }",
        ),
        ComponentDefinedType::Flags(names) => list(
            out,
            "flags { ",
            &mut names.iter().map(|n| (Some(n.as_str()), None)),
            " }",
        ),
        ComponentDefinedType::Enum(names) => list(
            out,
            "enum { ",
            &mut names.iter().map(|n| (Some(n.as_str()), None)),
            " }",
        ),
        ComponentDefinedType::Tuple(t) => list(
            out,
            "tuple<",
            &mut t.types.iter().map(|t| (None, Some(t))),
            ">",
        ),
        ComponentDefinedType::List { element, .. } => list(
            out,
            "list<",
            &mut std::iter::once((None, Some(element))),
            ">",
        ),
        ComponentDefinedType::FixedLengthList {
            element, length, ..
        } => list(
            out,
            "list<",
            &mut std::iter::once((None, Some(element))),
            &format!(", {length}>"),
        ),
        ComponentDefinedType::Map { key, value, .. } => list(
            out,
            "map<",
            &mut [(None, Some(key)), (None, Some(value))].into_iter(),
            ">",
        ),
        ComponentDefinedType::Option { ty, .. } => {
            list(out, "option<", &mut std::iter::once((None, Some(ty))), ">")
        }
        ComponentDefinedType::Result {
            ok: None,
            err: None,
            ..
        } => push(out, "result", limit),
        ComponentDefinedType::Result { ok, err, .. } => {
            push(out, "result<", limit);
            match ok {
                Some(t) => write_type(types, t, out, limit),
                None => push(out, "_", limit),
            }
            if let Some(e) = err {
                push(out, ", ", limit);
                write_type(types, e, out, limit);
            }
            push(out, ">", limit);
        }
        ComponentDefinedType::Own(_) => push(out, "own<resource>", limit),
        ComponentDefinedType::Borrow(_) => push(out, "borrow<resource>", limit),
        ComponentDefinedType::Future { .. } => push(out, "future", limit),
        ComponentDefinedType::Stream { .. } => push(out, "stream", limit),
    }
}
