//! Test component `plugin` (wit/plugin.wit): each export forwards to an import
//! the host provides.

wit_bindgen::generate!({ path: "../wit", world: "plugin" });

use aegis::test::host;

struct Plugin;

impl Guest for Plugin {
    fn call_transform(s: String) -> String {
        host::transform(&s)
    }
    fn call_add(a: i64, b: i64) -> i64 {
        host::add(a, b)
    }
    fn call_describe(p: Point) -> String {
        host::describe(&p)
    }
    fn call_bytes_len(b: Vec<u8>) -> u32 {
        host::bytes_len(&b)
    }
    fn call_maybe(v: Option<u32>) -> Result<u32, String> {
        host::maybe(v)
    }
    fn call_log(msg: String) {
        log(&msg)
    }
    fn call_transform_n(s: String, n: u32) -> String {
        (0..n).fold(s, |last, _| host::transform(&last))
    }
}

export!(Plugin);
