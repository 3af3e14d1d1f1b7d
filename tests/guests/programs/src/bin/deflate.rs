//! Compresses and decompresses generated text with miniz_oxide (zlib format), checks the round trip.
//! argv[1]: input size in KiB.
use miniz_oxide::{deflate::compress_to_vec_zlib, inflate::decompress_to_vec_zlib};
use programs::{fnv1a, size_arg, text, Rng, SEED};

fn main() {
    let kib = size_arg(600);
    let mut rng = Rng::new(SEED);
    let input = text(&mut rng, kib * 1024).into_bytes();
    let packed = compress_to_vec_zlib(&input, 6);
    let unpacked = decompress_to_vec_zlib(&packed).expect("inflate failed");
    if unpacked != input {
        eprintln!("deflate: round trip mismatch");
        std::process::exit(1);
    }
    println!(
        "deflate: in={} out={} ratio={:.3} crc={:016x} ok",
        input.len(),
        packed.len(),
        packed.len() as f64 / input.len() as f64,
        fnv1a(&packed)
    );
}
