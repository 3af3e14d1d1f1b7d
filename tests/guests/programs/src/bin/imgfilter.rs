//! Image filters on a generated RGB image: a separable 5x5 Gaussian blur, Sobel edge
//! magnitude on the luma, and histogram equalization: byte arrays, memory-bound.
//! argv[1]: image side in pixels (the image is square).
use programs::{fnv1a, size_arg, Rng, SEED};

const KERNEL: [u32; 5] = [1, 4, 6, 4, 1];

/// A smooth pattern with noise, so that every filter has something to do.
fn generate(side: usize) -> Vec<u8> {
    let mut rng = Rng::new(SEED);
    let mut img = vec![0u8; side * side * 3];
    for y in 0..side {
        for x in 0..side {
            let at = (y * side + x) * 3;
            let noise = rng.below(32) as usize;
            img[at] = ((x * 255 / side + noise) & 0xFF) as u8;
            img[at + 1] = ((y * 255 / side + noise) & 0xFF) as u8;
            img[at + 2] = (((x ^ y) + noise) & 0xFF) as u8;
        }
    }
    img
}

/// One pass of the 5-tap kernel along rows or along columns (edges clamped).
fn blur_pass(src: &[u8], dst: &mut [u8], side: usize, horizontal: bool) {
    let line = if horizontal { 3 } else { 3 * side };
    for y in 0..side {
        for x in 0..side {
            let pos = if horizontal { x } else { y };
            for c in 0..3 {
                let at = (y * side + x) * 3 + c;
                let mut sum = 0u32;
                for (k, w) in KERNEL.iter().enumerate() {
                    let p = (pos + k).saturating_sub(2).min(side - 1);
                    let from = at - pos * line + p * line;
                    sum += w * src[from] as u32;
                }
                dst[at] = (sum / 16) as u8;
            }
        }
    }
}

fn luma(img: &[u8]) -> Vec<u8> {
    img.chunks_exact(3)
        .map(|p| ((77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32) >> 8) as u8)
        .collect()
}

fn sobel(gray: &[u8], side: usize) -> Vec<u8> {
    let mut out = vec![0u8; gray.len()];
    let px = |x: usize, y: usize| gray[y * side + x] as i32;
    for y in 1..side - 1 {
        for x in 1..side - 1 {
            let gx = px(x + 1, y - 1) + 2 * px(x + 1, y) + px(x + 1, y + 1)
                - px(x - 1, y - 1) - 2 * px(x - 1, y) - px(x - 1, y + 1);
            let gy = px(x - 1, y + 1) + 2 * px(x, y + 1) + px(x + 1, y + 1)
                - px(x - 1, y - 1) - 2 * px(x, y - 1) - px(x + 1, y - 1);
            out[y * side + x] = ((gx.abs() + gy.abs()) / 4).min(255) as u8;
        }
    }
    out
}

fn equalize(gray: &mut [u8]) {
    let mut hist = [0u64; 256];
    for &v in gray.iter() {
        hist[v as usize] += 1;
    }
    let mut map = [0u8; 256];
    let mut acc = 0u64;
    for (v, &n) in hist.iter().enumerate() {
        acc += n;
        map[v] = (acc * 255 / gray.len() as u64) as u8;
    }
    for v in gray.iter_mut() {
        *v = map[*v as usize];
    }
}

fn main() {
    let side = size_arg(768);
    let img = generate(side);
    let mut tmp = vec![0u8; img.len()];
    let mut blurred = vec![0u8; img.len()];
    blur_pass(&img, &mut tmp, side, true);
    blur_pass(&tmp, &mut blurred, side, false);
    let mut edges = sobel(&luma(&blurred), side);
    equalize(&mut edges);
    let strong = edges.iter().filter(|&&v| v > 128).count();
    println!(
        "imgfilter: {side}x{side} blur={:016x} edges={:016x} strong={strong}",
        fnv1a(&blurred),
        fnv1a(&edges)
    );
}
