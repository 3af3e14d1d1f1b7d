//! Hashes a generated buffer many times with sha2 (SHA-256), chaining the digests.
//! argv[1]: number of rounds over a 64 KiB buffer.
use programs::{size_arg, Rng, SEED};
use sha2::{Digest, Sha256};

fn main() {
    let rounds = size_arg(120);
    let mut rng = Rng::new(SEED);
    let mut buf: Vec<u8> = (0..64 * 1024).map(|_| rng.next_u64() as u8).collect();
    let mut digest = [0u8; 32];
    for i in 0..rounds {
        let mut h = Sha256::new();
        h.update(digest);
        h.update(&buf);
        digest = h.finalize().into();
        // Perturb the buffer so that no round can be skipped.
        let at = (i * 31) % buf.len();
        buf[at] ^= digest[0];
    }
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    println!("sha256: rounds={rounds} bytes={} digest={hex}", rounds * buf.len());
}
