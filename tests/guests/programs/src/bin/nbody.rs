//! Simulates a small planetary system (the sun, the four gas giants and a belt of
//! asteroids) with a symplectic Euler integrator, in f64: float arithmetic, few memory accesses.
//! argv[1]: number of time steps.
#![allow(clippy::needless_range_loop)] // x, y, z by index reads like the physics
use programs::{size_arg, Rng, SEED};

const SOLAR_MASS: f64 = 4.0 * std::f64::consts::PI * std::f64::consts::PI;
const DAYS_PER_YEAR: f64 = 365.24;
const ASTEROIDS: usize = 7;

#[derive(Clone, Copy)]
struct Body {
    pos: [f64; 3],
    vel: [f64; 3],
    mass: f64,
}

fn body(pos: [f64; 3], vel: [f64; 3], mass: f64) -> Body {
    Body { pos, vel: vel.map(|v| v * DAYS_PER_YEAR), mass: mass * SOLAR_MASS }
}

fn system() -> Vec<Body> {
    let mut bodies = vec![
        body([0.0; 3], [0.0; 3], 1.0),
        body([4.841, -1.160, -0.104], [1.660e-3, 7.699e-3, -6.904e-5], 9.547e-4),
        body([8.343, 4.125, -0.403], [-2.767e-3, 4.998e-3, 2.304e-5], 2.858e-4),
        body([12.894, -15.111, -0.223], [2.964e-3, 2.378e-3, -2.965e-5], 4.366e-5),
        body([15.379, -25.919, 0.179], [2.680e-3, 1.628e-3, -9.515e-5], 5.151e-5),
    ];
    let mut rng = Rng::new(SEED);
    for _ in 0..ASTEROIDS {
        let r = 2.2 + rng.below(1000) as f64 / 1000.0;
        let a = rng.below(6283) as f64 / 1000.0;
        let v = (SOLAR_MASS / r).sqrt() / DAYS_PER_YEAR;
        bodies.push(body([r * a.cos(), r * a.sin(), 0.0], [-v * a.sin(), v * a.cos(), 0.0], 1e-10));
    }
    // Zero the total momentum: the sun moves against the planets.
    let mut p = [0.0; 3];
    for b in &bodies {
        for k in 0..3 {
            p[k] += b.vel[k] * b.mass;
        }
    }
    for k in 0..3 {
        bodies[0].vel[k] = -p[k] / SOLAR_MASS;
    }
    bodies
}

fn energy(bodies: &[Body]) -> f64 {
    let mut e = 0.0;
    for (i, a) in bodies.iter().enumerate() {
        e += 0.5 * a.mass * a.vel.iter().map(|v| v * v).sum::<f64>();
        for b in &bodies[i + 1..] {
            let d: f64 = (0..3).map(|k| (a.pos[k] - b.pos[k]).powi(2)).sum();
            e -= a.mass * b.mass / d.sqrt();
        }
    }
    e
}

fn advance(bodies: &mut [Body], dt: f64) {
    let n = bodies.len();
    for i in 0..n {
        for j in i + 1..n {
            let d = [0, 1, 2].map(|k| bodies[i].pos[k] - bodies[j].pos[k]);
            let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            let mag = dt / (d2 * d2.sqrt());
            let (mi, mj) = (bodies[i].mass * mag, bodies[j].mass * mag);
            for k in 0..3 {
                bodies[i].vel[k] -= d[k] * mj;
                bodies[j].vel[k] += d[k] * mi;
            }
        }
    }
    for b in bodies.iter_mut() {
        for k in 0..3 {
            b.pos[k] += dt * b.vel[k];
        }
    }
}

fn main() {
    let steps = size_arg(75_000);
    let mut bodies = system();
    let before = energy(&bodies);
    for _ in 0..steps {
        advance(&mut bodies, 0.01);
    }
    let after = energy(&bodies);
    println!(
        "nbody: bodies={} steps={steps} energy={before:.9}->{after:.9} sun_x={:.9}",
        bodies.len(),
        bodies[0].pos[0]
    );
}
