//! Hand-written byte codecs over generated text: CRC-32 (table), base64 encode and
//! decode, and an LZ77 compressor (hash chains) with its decompressor; checks every round trip.
//! argv[1]: input size in KiB.
use programs::{fnv1a, size_arg, text, Rng, SEED};

fn crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    for (i, entry) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
        *entry = c;
    }
    table
}

fn crc32(table: &[u32; 256], data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| table[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { B64[(n >> (18 - 6 * i) & 63) as usize] } else { b'=' });
        }
    }
    out
}

fn base64_decode(text: &[u8]) -> Vec<u8> {
    let mut value = [0u8; 256];
    for (i, &c) in B64.iter().enumerate() {
        value[c as usize] = i as u8;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for quad in text.chunks(4) {
        let pad = quad.iter().filter(|&&c| c == b'=').count();
        let n = quad.iter().fold(0u32, |n, &c| n << 6 | value[c as usize] as u32);
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8][..3 - pad]);
    }
    out
}

const WINDOW: usize = 1 << 15;
const MIN_MATCH: usize = 4;
const MAX_MATCH: usize = 258;
const CHAIN: usize = 32;

/// LZ77 tokens, byte-coded: 0x00 len byte-literals..., or 0x01 len(2) dist(2).
fn lz_compress(data: &[u8]) -> Vec<u8> {
    let mut head = vec![u32::MAX; 1 << 16];
    let mut prev = vec![u32::MAX; data.len()];
    let hash = |i: usize| {
        (u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]).wrapping_mul(2_654_435_761) >> 16) as usize
    };
    let mut out = Vec::new();
    let mut literals: Vec<u8> = Vec::new();
    let flush = |out: &mut Vec<u8>, literals: &mut Vec<u8>| {
        for run in literals.chunks(255) {
            out.push(0);
            out.push(run.len() as u8);
            out.extend_from_slice(run);
        }
        literals.clear();
    };
    let mut i = 0;
    while i < data.len() {
        let (mut best_len, mut best_dist) = (0, 0);
        if i + MIN_MATCH <= data.len() {
            let h = hash(i);
            let mut cand = head[h];
            for _ in 0..CHAIN {
                if cand == u32::MAX || i - cand as usize > WINDOW {
                    break;
                }
                let c = cand as usize;
                let max = MAX_MATCH.min(data.len() - i);
                let len = (0..max).take_while(|&k| data[c + k] == data[i + k]).count();
                if len > best_len {
                    (best_len, best_dist) = (len, i - c);
                }
                cand = prev[c];
            }
            prev[i] = head[h];
            head[h] = i as u32;
        }
        if best_len >= MIN_MATCH {
            flush(&mut out, &mut literals);
            out.push(1);
            out.extend_from_slice(&(best_len as u16).to_le_bytes());
            out.extend_from_slice(&(best_dist as u16).to_le_bytes());
            let end = (i + best_len).min(data.len().saturating_sub(MIN_MATCH - 1));
            for (k, link) in prev.iter_mut().enumerate().take(end).skip(i + 1) {
                let h = hash(k);
                *link = head[h];
                head[h] = k as u32;
            }
            i += best_len;
        } else {
            literals.push(data[i]);
            i += 1;
        }
    }
    flush(&mut out, &mut literals);
    out
}

fn lz_decompress(packed: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < packed.len() {
        if packed[i] == 0 {
            let n = packed[i + 1] as usize;
            out.extend_from_slice(&packed[i + 2..i + 2 + n]);
            i += 2 + n;
        } else {
            let len = u16::from_le_bytes([packed[i + 1], packed[i + 2]]) as usize;
            let dist = u16::from_le_bytes([packed[i + 3], packed[i + 4]]) as usize;
            let start = out.len() - dist;
            for k in 0..len {
                out.push(out[start + k]);
            }
            i += 5;
        }
    }
    out
}

fn main() {
    let kib = size_arg(512);
    let mut rng = Rng::new(SEED);
    let input = text(&mut rng, kib * 1024).into_bytes();
    let table = crc32_table();
    let crc = crc32(&table, &input);
    let encoded = base64_encode(&input);
    let decoded = base64_decode(&encoded);
    let packed = lz_compress(&input);
    let unpacked = lz_decompress(&packed);
    if decoded != input || unpacked != input || crc32(&table, &unpacked) != crc {
        eprintln!("codec: round trip mismatch");
        std::process::exit(1);
    }
    println!(
        "codec: in={} crc32={crc:08x} base64={} lz={} ratio={:.3} hash={:016x} ok",
        input.len(),
        encoded.len(),
        packed.len(),
        packed.len() as f64 / input.len() as f64,
        fnv1a(&packed)
    );
}
