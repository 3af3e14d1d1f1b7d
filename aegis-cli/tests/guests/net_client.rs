//! A WASI 0.2 command (rustc --target wasm32-wasip2) that connects to the
//! address in argv[1] through wasi:sockets and says whether it got through.

use std::io::{Read, Write};
use std::net::TcpStream;

fn main() {
    let addr = std::env::args().nth(1).unwrap_or_default();
    match TcpStream::connect(addr.as_str()) {
        Ok(mut stream) => {
            let _ = stream.write_all(b"ping");
            let mut reply = String::new();
            let _ = stream.read_to_string(&mut reply);
            println!("connected: {reply}");
        }
        Err(_) => println!("connect failed"),
    }
}
