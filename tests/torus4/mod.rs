//! The 4×4 torus summed over all its 2¹⁶ states, shared by the Ising tests that need an exact
//! reference: the Gibbs measure and the exact posterior `P(x₀,ᵢ = +1 | x_t)` of the flip
//! process (`ising_sampler.rs`: the reverse sampler driven by it; `ising_posterior.rs`: the
//! heat-bath posterior that the 8×8 network is held to, checked against it).
#![allow(dead_code)]

pub const L: usize = 4;
pub const N: usize = L * L;
pub const STATES: usize = 1 << N;

/// Spin `i` of state `x` (bit set: +1).
pub fn spin(x: usize, i: usize) -> f64 {
    if x >> i & 1 == 1 {
        1.0
    } else {
        -1.0
    }
}

/// Σ over the torus's 2N bonds of sᵢsⱼ.
pub fn bond_sum(x: usize) -> i32 {
    let mut s = 0;
    for r in 0..L {
        for c in 0..L {
            let i = r * L + c;
            let (right, down) = (r * L + (c + 1) % L, ((r + 1) % L) * L + c);
            let si = spin(x, i);
            s += (si * spin(x, right) + si * spin(x, down)) as i32;
        }
    }
    s
}

/// The Gibbs measure of every state at `beta` (J = 1).
pub fn gibbs(beta: f64) -> Vec<f64> {
    let w: Vec<f64> = (0..STATES)
        .map(|x| (beta * bond_sum(x) as f64).exp())
        .collect();
    let z: f64 = w.iter().sum();
    w.into_iter().map(|v| v / z).collect()
}

/// `P(x₀,ᵢ = +1 | x_t)` for every state `x_t` and spin `i` (`[x_t * N + i]`) when each spin
/// of x₀ was kept with probability (1 + c)/2: `Σ_{x₀} p(x₀) Πⱼ q(x_t,ⱼ | x₀,ⱼ)` is a
/// convolution over the group of bit flips with a product kernel, so each bit's two-point
/// blur in turn computes it for every `x_t` at once.
pub fn posterior(p: &[f64], c: f64) -> Vec<f32> {
    let flip = (1.0 - c) / (1.0 + c);
    let blur = |mut f: Vec<f64>| {
        for j in 0..N {
            let bit = 1 << j;
            for x in 0..STATES {
                if x & bit == 0 {
                    let (a, b) = (f[x], f[x | bit]);
                    f[x] = a + flip * b;
                    f[x | bit] = b + flip * a;
                }
            }
        }
        f
    };
    let total = blur(p.to_vec());
    let mut out = vec![0f32; STATES * N];
    for i in 0..N {
        let up = blur(
            (0..STATES)
                .map(|x| if x >> i & 1 == 1 { p[x] } else { 0.0 })
                .collect(),
        );
        for x in 0..STATES {
            out[x * N + i] = (up[x] / total[x]) as f32;
        }
    }
    out
}
