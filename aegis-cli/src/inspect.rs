//! `aegis inspect`: a module's imports and exports, as text or JSON, and
//! with `--policy` what that policy makes of each import before anything runs.
//!
//! The module is parsed and validated, never compiled (`Runtime::inspect`).

use aegis_core::policy::ImportVerdict;
use aegis_core::{Export, ExternType, Import, Module, ModuleInfo};
use serde_json::{Value as Json, json};

use crate::args::InspectArgs;
use crate::exit_code;
use crate::output::{Output, print_stdout};
use crate::validate::{checking_runtime, fail, read_module};

/// Runs `aegis inspect` and returns the process exit code.
pub fn inspect(args: &InspectArgs, out: Output) -> u8 {
    let (imports, exports) = args.sections();
    let inspected = checking_runtime(args.policy.as_deref()).and_then(|(policy, runtime)| {
        let bytes = read_module(&args.module, &runtime)??;
        let info = runtime.inspect(&bytes)?;
        let verdicts = args.policy.as_ref().map(|_| {
            let review = policy.review(&info);
            review.into_iter().map(|(_, v)| v).collect::<Vec<_>>()
        });
        Ok((info, verdicts))
    });
    let (module, verdicts) = match inspected {
        Ok(inspected) => inspected,
        Err(e) => return fail(&e, out),
    };
    if out.is_json() {
        let mut doc = json!({ "ok": true, "component": module.is_component() });
        if imports {
            doc["imports"] = module
                .imports()
                .iter()
                .enumerate()
                .map(|(n, i)| {
                    let mut head = json!({ "module": i.module, "name": i.name });
                    if let ExternType::ComponentFunction(_) = i.ty {
                        // The name a host function for it is registered under.
                        head["qualified_name"] = json!(qualified_name(i));
                    }
                    let mut item = item_json(head, &i.ty);
                    if let Some(v) = verdicts.as_ref().map(|v| &v[n]) {
                        verdict_json(&mut item, v);
                    }
                    item
                })
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
        let mut lines = describe_items(module.imports(), &[], imports, false);
        if let (true, Some(verdicts), Some(file)) = (imports, &verdicts, &args.policy) {
            lines.push(format!("Under {} ({}):", file.display(), verdicts.len()));
            lines.extend(describe_verdicts(&module, verdicts));
        }
        lines.extend(describe_items(&[], module.exports(), false, exports));
        for line in lines {
            print_stdout(&line);
        }
    }
    exit_code::SUCCESS
}

/// One line per import: its verdict (`granted`, `denied: <capability>`,
/// `unsatisfied`, the core's words), then its name.
fn describe_verdicts(info: &ModuleInfo, verdicts: &[ImportVerdict]) -> Vec<String> {
    let shown: Vec<String> = verdicts.iter().map(ImportVerdict::describe).collect();
    let width = shown.iter().map(String::len).max().unwrap_or(0);
    info.imports()
        .iter()
        .zip(shown)
        .map(|(i, verdict)| format!("  {verdict:<width$}  {}", qualified_name(i)))
        .collect()
}

/// An import's full name: `module.name` for a core module's, `name` for a
/// component's root import, `interface#func` for a function of an
/// imported interface (the name a component host function is registered under).
fn qualified_name(i: &Import) -> String {
    match (i.module.is_empty(), &i.ty) {
        (true, _) => i.name.clone(),
        (false, ExternType::ComponentFunction(_)) => format!("{}#{}", i.module, i.name),
        (false, _) => format!("{}.{}", i.module, i.name),
    }
}

/// Adds `verdict` (`granted`, `denied`, `unsatisfied`) and, for a denied
/// import, the `capability` it needs, to an import's JSON item.
fn verdict_json(item: &mut Json, verdict: &ImportVerdict) {
    let (word, capability) = match verdict {
        ImportVerdict::Granted => ("granted", None),
        ImportVerdict::Denied(c) => ("denied", Some(c.as_str())),
        ImportVerdict::Unsatisfied => ("unsatisfied", None),
    };
    item["verdict"] = json!(word);
    if let Some(c) = capability {
        item["capability"] = json!(c);
    }
}

/// The human listing: `Imports (N):` / `Exports (N):` headers, then one
/// indented line per item, e.g. `  add [function]: (i32, i32) -> (i32)`, or
/// for a component `  aegis:demo/text#byte-len [function]: func(s: string) -> u32`.
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
        ExternType::ComponentFunction(f) => {
            item["params"] = (f.params.iter())
                .map(|(name, ty)| json!({ "name": name, "type": ty }))
                .collect();
            item["results"] = f.result.iter().map(|t| json!(t)).collect();
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
