//! `aegis inspect`: a module's imports and exports, as text or JSON.
//!
//! The module is parsed and validated, never compiled (`Runtime::inspect`).

use aegis_core::{Aegis, Error, Export, ExternType, Import, Module};
use serde_json::{Value as Json, json};

use crate::args::InspectArgs;
use crate::exit_code;
use crate::output::{Output, error_json, print_stdout};

/// Runs `aegis inspect` and returns the process exit code.
pub fn inspect(args: &InspectArgs, out: Output) -> u8 {
    let (imports, exports) = args.sections();
    let inspected = crate::validate::read_module(&args.module)
        .and_then(|bytes| bytes)
        .and_then(|bytes| {
            let runtime = Aegis::builder().without_timeout().build()?;
            runtime.inspect(&bytes)
        });
    let module = match inspected {
        Ok(m) => m,
        Err(e) => return fail(&e, out),
    };
    if out.is_json() {
        let mut doc = json!({ "ok": true, "component": module.is_component() });
        if imports {
            doc["imports"] = module
                .imports()
                .iter()
                .map(|i| item_json(json!({ "module": i.module, "name": i.name }), &i.ty))
                .collect();
        }
        if exports {
            doc["exports"] = module
                .exports()
                .iter()
                .map(|e| item_json(json!({ "name": e.name }), &e.ty))
                .collect();
        }
        out.print_json(&doc);
    } else {
        for line in describe_items(module.imports(), module.exports(), imports, exports) {
            print_stdout(&line);
        }
    }
    exit_code::SUCCESS
}

/// Reports a failure to read or validate the module.
fn fail(err: &Error, out: Output) -> u8 {
    if out.is_json() {
        out.print_json(&json!({ "ok": false, "error": error_json(err) }));
    }
    out.print_error(err);
    exit_code::for_error(err)
}

/// The human listing: `Imports (N):` / `Exports (N):` headers, then one
/// indented line per item, e.g. `  add [function]: (i32, i32) -> (i32)`.
pub fn describe_module(module: &Module, imports: bool, exports: bool) -> Vec<String> {
    describe_items(module.imports(), module.exports(), imports, exports)
}

/// [`describe_module`] for lists of imports and exports.
pub fn describe_items(
    import_list: &[Import],
    export_list: &[Export],
    imports: bool,
    exports: bool,
) -> Vec<String> {
    let mut lines = Vec::new();
    if imports {
        lines.push(format!("Imports ({}):", import_list.len()));
        // Component imports have no module namespace: show `name`, not `.name`.
        lines.extend(import_list.iter().map(|i| match i.module.is_empty() {
            true => format!("  {} [{}]: {}", i.name, i.ty.kind(), i.ty),
            false => format!("  {i}"),
        }));
    }
    if exports {
        lines.push(format!("Exports ({}):", export_list.len()));
        lines.extend(export_list.iter().map(|e| format!("  {e}")));
    }
    lines
}

/// `head` (the item's names) followed by the kind, the type text, and the
/// type's structured fields.
fn item_json(head: Json, ty: &ExternType) -> Json {
    let mut item = head;
    item["kind"] = json!(ty.kind());
    item["type"] = json!(ty.to_string());
    match ty {
        ExternType::Function(sig) => {
            item["params"] = sig.params.iter().map(|t| t.as_str()).collect();
            item["results"] = sig.results.iter().map(|t| t.as_str()).collect();
        }
        ExternType::Memory(m) => {
            item["minimum"] = json!(m.minimum);
            item["maximum"] = json!(m.maximum);
            item["memory64"] = json!(m.memory64);
            item["shared"] = json!(m.shared);
        }
        ExternType::Table(t) => {
            item["element"] = json!(t.element);
            item["minimum"] = json!(t.minimum);
            item["maximum"] = json!(t.maximum);
        }
        ExternType::Global(g) => {
            item["content"] = json!(g.content_text);
            item["mutable"] = json!(g.mutable);
        }
        ExternType::Other(_) => {}
    }
    item
}
