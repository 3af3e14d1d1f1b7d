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
pub(crate) fn functions(
    types: &TypesRef<'_>,
    item: &ComponentEntityType,
) -> Option<Vec<(Option<String>, WitFunc)>> {
    match item {
        ComponentEntityType::Func(id) => Some(vec![(None, func(types, *id))]),
        ComponentEntityType::Instance(id) => Some(
            types[*id]
                .exports
                .iter()
                .filter_map(|(name, item)| match item.ty {
                    ComponentEntityType::Func(f) => Some((Some(name.clone()), func(types, f))),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    }
}

fn func(types: &TypesRef<'_>, id: ComponentFuncTypeId) -> WitFunc {
    let ty = &types[id];
    let mut budget = MAX_SIGNATURE;
    let params = ty
        .params
        .iter()
        .map(|(name, t)| (name.to_string(), value_type(types, t, &mut budget)))
        .collect();
    let result = ty
        .result
        .as_ref()
        .map(|t| value_type(types, t, &mut budget));
    WitFunc { params, result }
}

/// The text of a value type, spending at most `budget` characters (then `…`).
fn value_type(types: &TypesRef<'_>, ty: &ComponentValType, budget: &mut usize) -> String {
    let mut out = String::new();
    write_type(types, ty, &mut out, budget);
    out
}

fn write_type(types: &TypesRef<'_>, ty: &ComponentValType, out: &mut String, budget: &mut usize) {
    if *budget == 0 {
        return;
    }
    let push = |out: &mut String, s: &str, budget: &mut usize| {
        if s.len() >= *budget {
            out.push('…');
            *budget = 0;
        } else {
            out.push_str(s);
            *budget -= s.len();
        }
    };
    let id = match ty {
        ComponentValType::Primitive(p) => return push(out, &p.to_string(), budget),
        ComponentValType::Type(id) => *id,
    };
    let list =
        |out: &mut String,
         budget: &mut usize,
         items: &mut dyn Iterator<Item = (Option<&str>, Option<&ComponentValType>)>| {
            let mut first = true;
            for (name, ty) in items {
                if *budget == 0 {
                    return;
                }
                if !first {
                    out.push_str(", ");
                }
                first = false;
                if let Some(n) = name {
                    out.push_str(n);
                    out.push_str(": ");
                }
                if let Some(t) = ty {
                    write_type(types, t, out, budget);
                }
            }
        };
    match &types[id] {
        ComponentDefinedType::Primitive(p) => push(out, &p.to_string(), budget),
        ComponentDefinedType::Record(r) => {
            out.push_str("record { ");
            list(
                out,
                budget,
                &mut r.fields.iter().map(|(n, t)| (Some(n.as_str()), Some(t))),
            );
            out.push_str(" }");
        }
        ComponentDefinedType::Variant(v) => {
            out.push_str("variant { ");
            let mut first = true;
            for (name, case) in &v.cases {
                if *budget == 0 {
                    break;
                }
                if !first {
                    out.push_str(", ");
                }
                first = false;
                out.push_str(name.as_str());
                if let Some(t) = &case.ty {
                    out.push('(');
                    write_type(types, t, out, budget);
                    out.push(')');
                }
            }
            out.push_str(" }");
        }
        ComponentDefinedType::List { element, .. } => {
            out.push_str("list<");
            write_type(types, element, out, budget);
            out.push('>');
        }
        ComponentDefinedType::FixedLengthList {
            element, length, ..
        } => {
            out.push_str("list<");
            write_type(types, element, out, budget);
            out.push_str(&format!(", {length}>"));
        }
        ComponentDefinedType::Map { key, value, .. } => {
            out.push_str("map<");
            write_type(types, key, out, budget);
            out.push_str(", ");
            write_type(types, value, out, budget);
            out.push('>');
        }
        ComponentDefinedType::Tuple(t) => {
            out.push_str("tuple<");
            list(out, budget, &mut t.types.iter().map(|t| (None, Some(t))));
            out.push('>');
        }
        ComponentDefinedType::Flags(names) => {
            let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
            push(out, &format!("flags {{ {} }}", names.join(", ")), budget);
        }
        ComponentDefinedType::Enum(names) => {
            let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
            push(out, &format!("enum {{ {} }}", names.join(", ")), budget);
        }
        ComponentDefinedType::Option { ty, .. } => {
            out.push_str("option<");
            write_type(types, ty, out, budget);
            out.push('>');
        }
        ComponentDefinedType::Result { ok, err, .. } => {
            out.push_str("result");
            if ok.is_some() || err.is_some() {
                out.push('<');
                match ok {
                    Some(t) => write_type(types, t, out, budget),
                    None => out.push('_'),
                }
                if let Some(e) = err {
                    out.push_str(", ");
                    write_type(types, e, out, budget);
                }
                out.push('>');
            }
        }
        ComponentDefinedType::Own(_) => push(out, "own<resource>", budget),
        ComponentDefinedType::Borrow(_) => push(out, "borrow<resource>", budget),
        ComponentDefinedType::Future { .. } => push(out, "future", budget),
        ComponentDefinedType::Stream { .. } => push(out, "stream", budget),
    }
}
