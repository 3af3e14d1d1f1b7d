//! A real WASI command compiled with `rustc` by the CLI tests (for
//! wasm32-wasip2, a component): copies all of its stdin to stdout, then says
//! how many bytes it read before end of file.

use std::io::{Read, Write};

fn main() {
    let mut input = Vec::new();
    match std::io::stdin().read_to_end(&mut input) {
        Ok(n) => {
            std::io::stdout().write_all(&input).unwrap();
            println!("[eof after {n} bytes]");
        }
        Err(e) => {
            println!("[read failed: {e}]");
            std::process::exit(3);
        }
    }
}
