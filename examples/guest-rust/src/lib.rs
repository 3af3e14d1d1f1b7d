//! An Aegis guest with five bytes functions (see `aegis_guest.rs` for the
//! convention). Build: `cargo build --release --target wasm32-wasip1`.

mod aegis_guest;

use aegis_guest::export_bytes;

/// ASCII uppercase, in place.
#[unsafe(no_mangle)]
pub extern "C" fn upper(ptr: i32, len: i32) -> i64 {
    export_bytes(ptr, len, |mut input| {
        input.make_ascii_uppercase();
        input
    })
}

/// The bytes in reverse order, in place.
#[unsafe(no_mangle)]
pub extern "C" fn reverse(ptr: i32, len: i32) -> i64 {
    export_bytes(ptr, len, |mut input| {
        input.reverse();
        input
    })
}

/// The input buffer itself, returned as the output.
#[unsafe(no_mangle)]
pub extern "C" fn echo(ptr: i32, len: i32) -> i64 {
    export_bytes(ptr, len, |input| input)
}

/// A name in, `Hello, NAME!` out.
#[unsafe(no_mangle)]
pub extern "C" fn greet(ptr: i32, len: i32) -> i64 {
    export_bytes(ptr, len, |name| {
        [b"Hello, ".as_slice(), &name, b"!"].concat()
    })
}

/// A decimal number N as text in, N bytes of `a` out. Anything else panics,
/// which the host sees as a trap.
#[unsafe(no_mangle)]
pub extern "C" fn repeat(ptr: i32, len: i32) -> i64 {
    export_bytes(ptr, len, |input| {
        let n: usize = std::str::from_utf8(&input)
            .ok()
            .and_then(|text| text.parse().ok())
            .expect("repeat: the input must be a decimal number");
        vec![b'a'; n]
    })
}
