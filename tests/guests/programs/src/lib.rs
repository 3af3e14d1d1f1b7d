//! Shared helpers: a deterministic PRNG, the size argument, and a checksum.

/// xorshift64 (Marsaglia), seeded with a fixed constant: every run sees the same input.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-ish in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

pub const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// The size argument (argv[1]) or `default`; exits with a message when it is not a number.
/// Each program's default uses about 60 % of Aegis's default fuel (1e9 units), so it runs
/// to completion under the default limits (aegis-core/benches/programs.rs runs the defaults).
pub fn size_arg(default: usize) -> usize {
    match std::env::args().nth(1) {
        None => default,
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("usage: {} [SIZE]  (SIZE: a positive integer, default {default})",
                std::env::args().next().unwrap_or_default());
            std::process::exit(2)
        }),
    }
}

/// FNV-1a, 64 bit: a cheap checksum to print.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub const WORDS: &[&str] = &[
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "sandbox", "module",
    "memory", "table", "engine", "store", "instance", "linker", "fuel", "epoch", "trap",
    "component", "wasi", "clock", "random", "stdout", "error", "warning", "info", "debug",
    "alpha", "beta", "gamma", "delta", "request", "response", "header", "body", "cache",
];

/// Generated English-like text of about `len` bytes, with numbers, emails and dates mixed in.
pub fn text(rng: &mut Rng, len: usize) -> String {
    let mut s = String::with_capacity(len + 64);
    while s.len() < len {
        match rng.below(20) {
            0 => s.push_str(&format!("{}", rng.below(1_000_000))),
            1 => s.push_str(&format!("{}@{}.org", rng.pick(WORDS), rng.pick(WORDS))),
            2 => s.push_str(&format!(
                "2024-{:02}-{:02}",
                1 + rng.below(12),
                1 + rng.below(28)
            )),
            _ => s.push_str(rng.pick(WORDS)),
        }
        s.push(if rng.below(12) == 0 { '\n' } else { ' ' });
    }
    s
}
