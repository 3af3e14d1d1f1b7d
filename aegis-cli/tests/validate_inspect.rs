//! `aegis validate` and `aegis inspect`, in both formats.

mod common;

use common::*;
use serde_json::json;

#[test]
fn validate_valid_module() {
    let out = expect_code(&["validate", "add.wat"], 0);
    assert_eq!(stdout(&out), "Module is valid\n");
    let out = expect_code(&["validate", "add.wat", "-f", "json-compact"], 0);
    assert_eq!(stdout(&out), "{\"ok\":true,\"valid\":true}\n");
}

#[test]
fn validate_invalid_module() {
    let out = expect_code(&["validate", "broken.wat"], 3);
    let text = stdout(&out);
    assert!(text.starts_with("Module is invalid: "), "{text}");
    assert!(text.contains("type mismatch"), "{text}");
    let out = expect_code(&["validate", "broken.wat", "-f", "json"], 3);
    let doc = json(&out);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["error"]["code"], "invalid_module");
    assert_eq!(doc["error"]["exit_code"], 3);
}

#[test]
fn validate_binary_garbage_and_text_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0\xff\xff").unwrap();
    let out = expect_code(&["validate", junk.to_str().unwrap()], 3);
    assert!(stdout(&out).starts_with("Module is invalid: "));
    let text = dir.path().join("text.wat");
    std::fs::write(&text, "(module (func (export \"f\") (i32.bogus)))").unwrap();
    expect_code(&["validate", text.to_str().unwrap()], 3);
    let empty = dir.path().join("empty.wasm");
    std::fs::write(&empty, b"").unwrap();
    expect_code(&["validate", empty.to_str().unwrap()], 3);
    let good = dir.path().join("add.wasm");
    std::fs::write(&good, wat::parse_file(fixture("add.wat")).unwrap()).unwrap();
    let out = expect_code(&["validate", good.to_str().unwrap()], 0);
    assert_eq!(stdout(&out), "Module is valid\n");
}

#[test]
fn validate_missing_file() {
    let out = expect_code(&["validate", "missing.wasm"], 2);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("error[io]"), "{}", stderr(&out));
    let out = expect_code(&["validate", "missing.wasm", "-f", "json"], 2);
    assert_eq!(json(&out)["error"]["code"], "io");
}

#[test]
fn inspect_lists_imports_and_exports() {
    let out = expect_code(&["inspect", "imports.wat"], 0);
    assert_eq!(
        stdout(&out),
        "Imports (1):\n  env.log [function]: (i32) -> ()\nExports (2):\n  memory [memory]: 1 pages\n  add [function]: (i32, i32) -> (i32)\n"
    );
    let all = expect_code(&["inspect", "imports.wat", "--all"], 0);
    assert_eq!(stdout(&all), stdout(&out));
    let both = expect_code(&["inspect", "imports.wat", "--imports", "--exports"], 0);
    assert_eq!(stdout(&both), stdout(&out));
}

#[test]
fn inspect_one_section() {
    let out = expect_code(&["inspect", "imports.wat", "--exports"], 0);
    assert_eq!(
        stdout(&out),
        "Exports (2):\n  memory [memory]: 1 pages\n  add [function]: (i32, i32) -> (i32)\n"
    );
    let out = expect_code(&["inspect", "imports.wat", "--imports"], 0);
    assert_eq!(
        stdout(&out),
        "Imports (1):\n  env.log [function]: (i32) -> ()\n"
    );
}

#[test]
fn inspect_every_kind() {
    let out = expect_code(&["inspect", "types.wat", "--exports"], 0);
    let text = stdout(&out);
    for line in [
        "  add64 [function]: (i64, i64) -> (i64)",
        "  half32 [function]: (f32) -> (f32)",
        "  divmod [function]: (i32, i32) -> (i32, i32)",
        "  nothing [function]: () -> ()",
        "  counter [global]: mut i32",
        "  table [table]: 2 funcref",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
}

#[test]
fn inspect_json() {
    let out = expect_code(&["inspect", "imports.wat", "-f", "json"], 0);
    let doc = json(&out);
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["component"], false);
    assert_eq!(
        doc["imports"],
        json!([{
            "module": "env", "name": "log", "kind": "function",
            "type": "(i32) -> ()", "params": ["i32"], "results": []
        }])
    );
    assert_eq!(
        doc["exports"][0],
        json!({
            "name": "memory", "kind": "memory", "type": "1 pages",
            "minimum": 1, "maximum": null, "memory64": false, "shared": false
        })
    );
    assert_eq!(doc["exports"][1]["params"], json!(["i32", "i32"]));
    let out = expect_code(
        &["inspect", "imports.wat", "--exports", "-f", "json-compact"],
        0,
    );
    let doc = json(&out);
    assert!(doc.get("imports").is_none());
    assert_eq!(doc["exports"].as_array().unwrap().len(), 2);
}

#[test]
fn inspect_errors() {
    let out = expect_code(&["inspect", "broken.wat"], 3);
    assert!(
        stderr(&out).contains("error[invalid_module]"),
        "{}",
        stderr(&out)
    );
    let out = expect_code(&["inspect", "missing.wat", "-f", "json"], 2);
    assert_eq!(json(&out)["error"]["code"], "io");
}
