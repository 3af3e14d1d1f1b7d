//! Ray traces a scene of spheres on a checkered floor (diffuse light, hard shadows,
//! mirror reflections) into an RGB framebuffer, then hashes the PPM image.
//! argv[1]: image width in pixels (the height is 3/4 of it).
use programs::{fnv1a, size_arg, Rng, SEED};
use std::ops::{Add, Mul, Sub};

#[derive(Clone, Copy)]
struct V(f64, f64, f64);

impl Add for V {
    type Output = V;
    fn add(self, o: V) -> V {
        V(self.0 + o.0, self.1 + o.1, self.2 + o.2)
    }
}
impl Sub for V {
    type Output = V;
    fn sub(self, o: V) -> V {
        V(self.0 - o.0, self.1 - o.1, self.2 - o.2)
    }
}
impl Mul<f64> for V {
    type Output = V;
    fn mul(self, s: f64) -> V {
        V(self.0 * s, self.1 * s, self.2 * s)
    }
}
impl V {
    fn dot(self, o: V) -> f64 {
        self.0 * o.0 + self.1 * o.1 + self.2 * o.2
    }
    fn norm(self) -> V {
        self * (1.0 / self.dot(self).sqrt())
    }
    fn mul(self, o: V) -> V {
        V(self.0 * o.0, self.1 * o.1, self.2 * o.2)
    }
}

struct Sphere {
    center: V,
    radius: f64,
    color: V,
    mirror: f64,
}

enum Hit<'a> {
    Sphere(&'a Sphere),
    Floor,
}

struct Scene {
    spheres: Vec<Sphere>,
    light: V,
}

impl Scene {
    fn new() -> Self {
        let mut rng = Rng::new(SEED);
        let mut unit = || rng.below(1000) as f64 / 1000.0;
        let spheres = (0..24)
            .map(|i| Sphere {
                center: V(unit() * 8.0 - 4.0, 0.3 + unit() * 1.5, 3.0 + unit() * 8.0),
                radius: 0.3 + unit() * 0.6,
                color: V(0.2 + unit() * 0.8, 0.2 + unit() * 0.8, 0.2 + unit() * 0.8),
                mirror: if i % 4 == 0 { 0.6 } else { 0.1 },
            })
            .collect();
        Scene { spheres, light: V(-5.0, 8.0, -2.0) }
    }

    /// The nearest hit along the ray, as (distance, what).
    fn trace(&self, from: V, dir: V) -> Option<(f64, Hit<'_>)> {
        let mut best: Option<(f64, Hit)> = None;
        for s in &self.spheres {
            let oc = from - s.center;
            let b = oc.dot(dir);
            let disc = b * b - (oc.dot(oc) - s.radius * s.radius);
            if disc > 0.0 {
                let t = -b - disc.sqrt();
                if t > 1e-6 && best.as_ref().is_none_or(|(d, _)| t < *d) {
                    best = Some((t, Hit::Sphere(s)));
                }
            }
        }
        if dir.1 < 0.0 {
            let t = -from.1 / dir.1;
            if best.as_ref().is_none_or(|(d, _)| t < *d) {
                best = Some((t, Hit::Floor));
            }
        }
        best
    }

    fn shade(&self, from: V, dir: V, depth: u32) -> V {
        let Some((t, hit)) = self.trace(from, dir) else {
            return V(0.5, 0.7, 1.0) * (0.5 + 0.5 * dir.1.max(0.0));
        };
        let p = from + dir * t;
        let (normal, color, mirror) = match hit {
            Hit::Sphere(s) => ((p - s.center).norm(), s.color, s.mirror),
            Hit::Floor => {
                let check = ((p.0.floor() + p.2.floor()) as i64 & 1) as f64;
                (V(0.0, 1.0, 0.0), V(0.9, 0.9, 0.9) * (0.3 + 0.7 * check), 0.2)
            }
        };
        let to_light = (self.light - p).norm();
        let lit = self.trace(p + normal * 1e-4, to_light).is_none();
        let diffuse = if lit { normal.dot(to_light).max(0.0) } else { 0.0 };
        let mut out = color * (0.1 + 0.9 * diffuse);
        if depth < 3 && mirror > 0.0 {
            let r = dir - normal * (2.0 * dir.dot(normal));
            out = out * (1.0 - mirror) + self.shade(p + normal * 1e-4, r, depth + 1).mul(color) * mirror;
        }
        out
    }
}

fn main() {
    let w = size_arg(400);
    let h = w * 3 / 4;
    let scene = Scene::new();
    let eye = V(0.0, 1.5, -4.0);
    let mut ppm = format!("P6 {w} {h} 255\n").into_bytes();
    for y in 0..h {
        for x in 0..w {
            let dx = (x as f64 + 0.5) / w as f64 * 2.0 - 1.0;
            let dy = 1.0 - (y as f64 + 0.5) / h as f64 * 2.0;
            let c = scene.shade(eye, V(dx * 1.2, dy * 0.9, 1.5).norm(), 0);
            for v in [c.0, c.1, c.2] {
                ppm.push((v.clamp(0.0, 1.0) * 255.0) as u8);
            }
        }
    }
    let mean = ppm.iter().map(|&b| b as u64).sum::<u64>() / ppm.len() as u64;
    println!("raytrace: {w}x{h} bytes={} mean={mean} hash={:016x}", ppm.len(), fnv1a(&ppm));
}
