//! Runs a small JavaScript program (fib, loops, string building, objects) in the boa engine.
//! argv[1]: the fib argument (the other loops scale with it).
use boa_engine::{Context, Source};
use programs::size_arg;

fn main() {
    let n = size_arg(22);
    let script = format!(
        r#"
        function fib(n) {{ return n < 2 ? n : fib(n - 1) + fib(n - 2); }}
        let f = fib({n});
        let s = "";
        for (let i = 0; i < {n} * 200; i++) {{ s += String.fromCharCode(97 + (i * 7) % 26); }}
        let counts = {{}};
        for (const c of s) {{ counts[c] = (counts[c] || 0) + 1; }}
        let arr = [];
        let x = 12345;
        for (let i = 0; i < {n} * 100; i++) {{ x = (x * 1103515245 + 12345) % 2147483648; arr.push(x % 1000); }}
        arr.sort((a, b) => a - b);
        let words = JSON.stringify(counts);
        `fib=${{f}} len=${{s.length}} keys=${{Object.keys(counts).length}} median=${{arr[arr.length >> 1]}} json=${{words.length}}`
        "#
    );
    let mut ctx = Context::default();
    let v = ctx.eval(Source::from_bytes(&script)).unwrap_or_else(|e| {
        eprintln!("interp: script failed: {e}");
        std::process::exit(1)
    });
    println!("interp: n={n} {}", v.to_string(&mut ctx).unwrap().to_std_string_escaped());
}
