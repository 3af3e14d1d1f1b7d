//! The C API speaks the core's vocabulary: every option of
//! `aegis_core::policy::OPTIONS` is listed, settable and documented; every
//! `ErrorCode` has its `AEGIS_ERROR_*` constant with the same number; the
//! metrics struct has the core's metric names.

use std::ffi::{CStr, CString, c_char};
use std::ptr;

use aegis::builder::*;
use aegis::error::*;
use aegis::options::*;
use aegis::runtime::*;
use aegis::sandbox::*;
use aegis_core::policy::{OPTIONS, Scope};
use aegis_core::{ErrorCode, METRIC_NAMES};

fn header() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../include/aegis.h")).unwrap()
}

fn text(ptr: *const c_char) -> String {
    assert!(!ptr.is_null());
    unsafe { CStr::from_ptr(ptr) }.to_str().unwrap().to_string()
}

/// Code name and message of an error (freed), or None for success.
fn outcome(err: *mut aegis_error_t) -> Option<(String, String)> {
    if err.is_null() {
        return None;
    }
    unsafe {
        let code = text(aegis_error_code_name(aegis_error_code(err) as u32));
        let message = text(aegis_error_message(err));
        aegis_error_delete(err);
        Some((code, message))
    }
}

fn ok(err: *mut aegis_error_t, what: &str) {
    if let Some((code, message)) = outcome(err) {
        panic!("{what}: [{code}] {message}");
    }
}

/// A valid value of each option, as JSON text. An option added to the core
/// without a sample here fails `every_option_is_settable_through_aegis_builder_set`.
fn sample(name: &str, dir: &str) -> Option<String> {
    Some(match name {
        "memory_limit" => "\"16MiB\"".into(),
        "fuel_limit" => "1000000".into(),
        "timeout" => "2.5".into(),
        "stack_limit" => "\"256KiB\"".into(),
        "table_elements_limit" | "handle_limit" => "100".into(),
        "allow_read" | "allow_write" => format!("[\"{dir}\"]"),
        "map_dirs" => {
            format!("[{{\"host\": \"{dir}\", \"guest\": \"/data\", \"access\": \"write\"}}]")
        }
        "allow_logging" | "allow_clock" | "wasm_exceptions" | "wasm_gc" => "true".into(),
        "capture_output" => "4096".into(),
        "allow_net" => "[\"127.0.0.1:8080\"]".into(),
        "env" => "{\"A\": \"1\"}".into(),
        "args" => "[\"prog\", \"x\"]".into(),
        "random_seed" => "7".into(),
        "on_denied" => "\"error\"".into(),
        "instance_pool" => "2".into(),
        "compile_cache" => format!("\"{dir}/cache\""),
        "max_module_size" => "\"1MiB\"".into(),
        "result_limit" => "\"2MiB\"".into(),
        "stdin" => "{\"text\": \"hi\"}".into(),
        "module_limits" => "{\"functions\": 1000}".into(),
        "allowed_modules" => format!("[\"sha256:{}\"]", "0".repeat(64)),
        _ => return None,
    })
}

fn set(b: *mut aegis_builder_t, name: &str, json: &str) -> *mut aegis_error_t {
    let name = CString::new(name).unwrap();
    let json = CString::new(json).unwrap();
    unsafe { aegis_builder_set(b, name.as_ptr(), json.as_ptr()) }
}

#[test]
fn the_options_list_is_the_core_list() {
    assert_eq!(aegis_option_count(), OPTIONS.len());
    for (i, o) in OPTIONS.iter().enumerate() {
        assert_eq!(text(aegis_option_name(i)), o.name);
        assert_eq!(text(aegis_option_doc(i)), o.doc);
        assert_eq!(text(aegis_option_default(i)), o.default);
        assert_eq!(text(aegis_option_unit(i)), o.unit);
        let scope = match o.scope {
            Scope::Both => AEGIS_SCOPE_BOTH,
            Scope::Runtime => AEGIS_SCOPE_RUNTIME,
        };
        assert_eq!(aegis_option_scope(i), scope, "{}", o.name);
    }
    let past = OPTIONS.len();
    assert!(aegis_option_name(past).is_null() && aegis_option_doc(past).is_null());
    assert!(aegis_option_default(past).is_null() && aegis_option_unit(past).is_null());
    assert_eq!(aegis_option_scope(past), AEGIS_SCOPE_NONE);
}

#[test]
fn every_option_is_settable_through_aegis_builder_set() {
    let dir = std::env::temp_dir().join(format!("aegis-capi-options-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir_text = dir.to_str().unwrap();
    let mut rt = ptr::null_mut();
    ok(unsafe { aegis_runtime_new(&mut rt) }, "runtime");
    for o in OPTIONS {
        let value = sample(o.name, dir_text)
            .unwrap_or_else(|| panic!("no sample value for new option `{}`", o.name));
        // On a runtime: accepted and built.
        let b = aegis_builder_new();
        ok(set(b, o.name, &value), o.name);
        let mut built = ptr::null_mut();
        ok(unsafe { aegis_builder_build(b, &mut built) }, o.name);
        unsafe { aegis_runtime_delete(built) };
        // On a sandbox: accepted, or refused by the core naming a runtime option.
        let b = aegis_builder_new();
        ok(set(b, o.name, &value), o.name);
        let mut sb = ptr::null_mut();
        let got = outcome(unsafe { aegis_builder_build_sandbox(b, rt, &mut sb) });
        match o.scope {
            Scope::Both => assert!(got.is_none(), "{}: {got:?}", o.name),
            Scope::Runtime => {
                let (code, message) = got.expect("a runtime option is refused on a sandbox");
                assert_eq!(code, "invalid_argument");
                assert!(
                    message.contains(o.name) && message.contains("runtime option"),
                    "{message}"
                );
                assert!(sb.is_null());
            }
        }
        unsafe { aegis_sandbox_delete(sb) };
    }
    unsafe { aegis_runtime_delete(rt) };
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_core_decides_names_values_and_combinations() {
    let b = aegis_builder_new();
    let (code, message) = outcome(set(b, "memory_limt", "1")).unwrap();
    assert_eq!(code, "invalid_argument");
    assert!(message.contains("unknown field `memory_limt`"), "{message}");
    let (code, message) = outcome(set(b, "memory_limit", "\"5 apples\"")).unwrap();
    assert_eq!(code, "invalid_argument", "{message}");
    let (code, message) = outcome(set(b, "memory_limit", "{not json")).unwrap();
    assert_eq!(code, "invalid_argument");
    assert!(
        message.contains("memory_limit") && message.contains("JSON"),
        "{message}"
    );
    // Logging and capture: each is fine alone, the core refuses both.
    ok(set(b, "allow_logging", "true"), "logging");
    ok(set(b, "capture_output", "100"), "capture");
    let mut rt = ptr::null_mut();
    let (code, message) = outcome(unsafe { aegis_builder_build(b, &mut rt) }).unwrap();
    assert_eq!(code, "invalid_argument");
    assert!(
        message.contains("allow_logging and capture_output"),
        "{message}"
    );
    assert!(rt.is_null());
    // The dedicated stack setter on a sandbox: the core names the option.
    ok(unsafe { aegis_runtime_new(&mut rt) }, "runtime");
    let b = aegis_builder_new();
    ok(unsafe { aegis_builder_stack_limit(b, 65536) }, "stack");
    let mut sb = ptr::null_mut();
    let (code, message) = outcome(unsafe { aegis_builder_build_sandbox(b, rt, &mut sb) }).unwrap();
    assert_eq!(code, "invalid_argument");
    assert!(
        message.contains("stack_limit is a runtime option"),
        "{message}"
    );
    unsafe { aegis_runtime_delete(rt) };
}

#[test]
fn policy_text_is_toml_or_json() {
    let mut rt = ptr::null_mut();
    for text in [
        "fuel_limit = 1000\ntimeout = 2.5\nmemory_limit = \"1MiB\"\n",
        "  {\"fuel_limit\": 1000, \"timeout\": \"off\"}",
    ] {
        ok(
            unsafe { aegis_runtime_from_policy(text.as_ptr().cast(), text.len(), &mut rt) },
            text,
        );
        unsafe { aegis_runtime_delete(rt) };
    }
    let bad = "memory_limt = 5";
    let (code, message) =
        outcome(unsafe { aegis_runtime_from_policy(bad.as_ptr().cast(), bad.len(), &mut rt) })
            .unwrap();
    assert_eq!(code, "invalid_argument");
    assert!(
        message.contains("TOML") && message.contains("memory_limt"),
        "{message}"
    );
    assert!(rt.is_null());
}

/// Every dedicated builder setter is documented as setting a core option,
/// and `aegis_builder_set`'s doc lists every option.
#[test]
fn the_header_documents_every_option() {
    let header = header();
    let set_doc = doc_of(&header, "aegis_builder_set");
    for o in OPTIONS {
        assert!(
            set_doc.contains(&format!("`{}`", o.name)),
            "aegis_builder_set's doc does not list `{}`",
            o.name
        );
    }
    let not_setters = [
        "aegis_builder_new",
        "aegis_builder_delete",
        "aegis_builder_set",
        "aegis_builder_from_policy",
        "aegis_builder_build",
        "aegis_builder_build_sandbox",
    ];
    let mut setters = 0;
    for name in functions(&header) {
        if !name.starts_with("aegis_builder_") || not_setters.contains(&name.as_str()) {
            continue;
        }
        setters += 1;
        let doc = doc_of(&header, &name);
        let option = doc
            .split("Option")
            .nth(1)
            .and_then(|rest| rest.split('`').nth(1))
            .unwrap_or_else(|| panic!("{name}'s doc does not start with \"Option `name`\""));
        assert!(
            OPTIONS.iter().any(|o| o.name == option),
            "{name} documents `{option}`, which is not an option"
        );
    }
    assert!(setters >= 17, "only {setters} dedicated setters found");
}

/// Names of the functions the header declares.
fn functions(header: &str) -> Vec<String> {
    header
        .lines()
        .filter(|l| !l.starts_with("//") && !l.starts_with(' ') && !l.starts_with('#'))
        .filter_map(|l| {
            let before = &l[..l.find('(')?];
            let name = before
                .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()?;
            name.starts_with("aegis_").then(|| name.to_string())
        })
        .collect()
}

/// The comment block right above the declaration of `function`.
fn doc_of(header: &str, function: &str) -> String {
    let lines: Vec<&str> = header.lines().collect();
    let at = lines
        .iter()
        .position(|l| !l.starts_with("//") && l.contains(&format!("{function}(")))
        .unwrap_or_else(|| panic!("{function} is not in the header"));
    let mut doc = Vec::new();
    for l in lines[..at].iter().rev() {
        match l.strip_prefix("//") {
            Some(text) => doc.push(text.trim()),
            None => break,
        }
    }
    doc.reverse();
    doc.join(" ")
}

#[test]
fn every_error_code_has_its_constant_with_the_same_number() {
    let header = header();
    for code in ErrorCode::ALL {
        let constant = format!(
            "AEGIS_ERROR_{} = {},",
            code.as_str().to_uppercase(),
            code as u32
        );
        assert!(header.contains(&constant), "header lacks `{constant}`");
    }
    let declared = header.matches("  AEGIS_ERROR_").count();
    assert_eq!(
        declared,
        ErrorCode::ALL.len(),
        "no constant without a core code"
    );
    assert_eq!(
        aegis_error_code_t::AEGIS_ERROR_BUSY as u32,
        ErrorCode::Busy as u32
    );
}

#[test]
fn the_metrics_struct_has_the_core_metric_names() {
    let header = header();
    let start = header.find("typedef struct aegis_metrics_t {").unwrap();
    let end = start + header[start..].find("} aegis_metrics_t;").unwrap();
    let fields: Vec<&str> = header[start..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && l.trim_end().ends_with(';'))
        .map(|l| l.trim().trim_end_matches(';').rsplit(' ').next().unwrap())
        .collect();
    // `denied` (the list) is read with aegis_sandbox_denied.
    let expected: Vec<&str> = METRIC_NAMES
        .iter()
        .copied()
        .filter(|n| *n != "denied")
        .collect();
    assert_eq!(fields, expected);
    assert!(
        header.contains("double wall_time;"),
        "wall_time is seconds as a double"
    );
    assert!(header.contains("aegis_sandbox_denied("));
}
