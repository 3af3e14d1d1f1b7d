//! Test component `values` (wit/values.wit): every WIT type echoed back, and
//! functions that spin, grow memory and panic, for the host's limit tests.

wit_bindgen::generate!({ path: "../wit", world: "values" });

use exports::aegis::test::text;

struct Values;

impl Guest for Values {
    fn echo_bool(v: bool) -> bool {
        v
    }
    fn echo_s8(v: i8) -> i8 {
        v
    }
    fn echo_u8(v: u8) -> u8 {
        v
    }
    fn echo_s16(v: i16) -> i16 {
        v
    }
    fn echo_u16(v: u16) -> u16 {
        v
    }
    fn echo_s32(v: i32) -> i32 {
        v
    }
    fn echo_u32(v: u32) -> u32 {
        v
    }
    fn echo_s64(v: i64) -> i64 {
        v
    }
    fn echo_u64(v: u64) -> u64 {
        v
    }
    fn echo_f32(v: f32) -> f32 {
        v
    }
    fn echo_f64(v: f64) -> f64 {
        v
    }
    fn echo_char(v: char) -> char {
        v
    }
    fn echo_string(v: String) -> String {
        v
    }
    fn echo_bytes(v: Vec<u8>) -> Vec<u8> {
        v
    }
    fn echo_strings(v: Vec<String>) -> Vec<String> {
        v
    }
    fn echo_record(v: Point) -> Point {
        v
    }
    fn echo_tuple(v: (u32, String, bool)) -> (u32, String, bool) {
        v
    }
    fn echo_variant(v: Shape) -> Shape {
        v
    }
    fn echo_enum(v: Color) -> Color {
        v
    }
    fn echo_option(v: Option<String>) -> Option<String> {
        v
    }
    fn echo_nested_option(v: Option<Option<u32>>) -> Option<Option<u32>> {
        v
    }
    fn echo_result(v: Result<String, String>) -> Result<String, String> {
        v
    }
    fn echo_flags(v: Perms) -> Perms {
        v
    }
    fn echo_points(v: Vec<Point>) -> Vec<Point> {
        v
    }
    fn echo_nested(v: Vec<Vec<u32>>) -> Vec<Vec<u32>> {
        v
    }

    fn greet(name: String) -> String {
        format!("Hello, {name}!")
    }
    fn add(a: i32, b: i32) -> i32 {
        a.wrapping_add(b)
    }
    fn nothing() {}
    fn divide(a: i32, b: i32) -> Result<i32, String> {
        match b {
            0 => Err("division by zero".to_string()),
            _ => Ok(a.wrapping_div(b)),
        }
    }
    fn make_bytes(n: u32) -> Vec<u8> {
        vec![0x61; n as usize]
    }
    fn make_string(n: u32) -> String {
        "a".repeat(n as usize)
    }
    fn spin() {
        // black_box: the optimizer must assume the counter is used, so the
        // loop stays (and burns fuel) until the host stops it.
        let mut n = 0u64;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
    fn grow(pages: u32) -> u32 {
        // memory.grow returns the old size in pages, or -1 (usize::MAX).
        let old = core::arch::wasm32::memory_grow(0, pages as usize);
        if old == usize::MAX {
            u32::MAX
        } else {
            (old + pages as usize) as u32
        }
    }
    fn do_panic() {
        panic!("do-panic called");
    }
}

impl text::Guest for Values {
    fn upper(s: String) -> String {
        s.to_uppercase()
    }
    fn count(s: String) -> u32 {
        s.chars().count() as u32
    }
}

export!(Values);
