//! The 8×8 Ising model on a torus: Gibbs samples for training, the spin-flip forward process and
//! its closed-form marginals and posteriors, and the statistics compared with the exact ones
//! (`ising_exact`).
//!
//! Configurations are `i8` spins ±1, row-major, `SITES` per configuration, stored back to back.

use rand::Rng;

use super::exact::{abs_m_fold, total_variation, IsingExact};

/// Side of the lattice.
pub const L: usize = 8;
/// Spins per configuration.
pub const SITES: usize = L * L;
/// Nearest-neighbour bonds on the torus.
pub const BONDS: usize = 2 * SITES;

/// Index of the neighbour of site `i` in direction `d` (0: right, 1: down, 2: left, 3: up).
#[inline]
pub fn neighbour(i: usize, d: usize) -> usize {
    let (r, c) = (i / L, i % L);
    match d {
        0 => r * L + (c + 1) % L,
        1 => ((r + 1) % L) * L + c,
        2 => r * L + (c + L - 1) % L,
        _ => ((r + L - 1) % L) * L + c,
    }
}

/// Number of unsatisfied bonds; the energy is `E = 2u − 2·SITES`.
pub fn unsatisfied(s: &[i8]) -> usize {
    (0..SITES)
        .map(|i| (s[i] != s[neighbour(i, 0)]) as usize + (s[i] != s[neighbour(i, 1)]) as usize)
        .sum()
}

/// Number of up spins.
pub fn up_count(s: &[i8]) -> usize {
    s.iter().filter(|&&v| v > 0).count()
}

/// Magnetisation per spin.
pub fn magnetisation(s: &[i8]) -> f64 {
    s.iter().map(|&v| v as f64).sum::<f64>() / SITES as f64
}

/// Markov chain for Gibbs samples at `beta` that is correct at every temperature: each update is
/// one heat-bath sweep (good at high temperature) followed by Wolff cluster flips (Wolff, Phys.
/// Rev. Lett. 62, 361, 1989) that flip about `SITES` spins on average (good near and below the
/// critical point, where it flips whole domains and visits both signs of M). Both moves leave
/// the Gibbs measure invariant; together they decorrelate in a few updates at any beta.
pub struct GibbsChain {
    pub beta: f64,
    pub spins: Vec<i8>,
    /// Wolff clusters per update: fixed after burn-in (a number that depended on the clusters
    /// just grown would be a state-dependent stopping rule and would bias the chain).
    clusters: usize,
    stack: Vec<usize>,
    in_cluster: Vec<bool>,
}

impl GibbsChain {
    /// A chain from a random start, burnt in.
    pub fn new<R: Rng>(beta: f64, rng: &mut R) -> GibbsChain {
        let spins = (0..SITES)
            .map(|_| if rng.random::<bool>() { 1 } else { -1 })
            .collect();
        let mut chain = GibbsChain {
            beta,
            spins,
            clusters: 1,
            stack: Vec::with_capacity(SITES),
            in_cluster: vec![false; SITES],
        };
        // Burn-in, measuring the mean cluster size.
        let (mut grown, mut count) = (0usize, 0usize);
        for _ in 0..200 {
            chain.heat_bath_sweep(rng);
            for _ in 0..4 {
                grown += chain.wolff(rng);
                count += 1;
            }
        }
        let mean = grown as f64 / count as f64;
        chain.clusters = ((SITES as f64 / mean).ceil() as usize).clamp(1, SITES);
        chain
    }

    pub fn heat_bath_sweep<R: Rng>(&mut self, rng: &mut R) {
        for i in 0..SITES {
            let h: i32 = (0..4).map(|d| self.spins[neighbour(i, d)] as i32).sum();
            // P(s_i = +1 | neighbours) = 1 / (1 + exp(-2 beta h)).
            let p_up = 1.0 / (1.0 + (-2.0 * self.beta * h as f64).exp());
            self.spins[i] = if rng.random::<f64>() < p_up { 1 } else { -1 };
        }
    }

    /// Grows and flips one Wolff cluster; returns its size.
    pub fn wolff<R: Rng>(&mut self, rng: &mut R) -> usize {
        let p_add = 1.0 - (-2.0 * self.beta).exp();
        let seed = rng.random_range(0..SITES);
        let sign = self.spins[seed];
        self.in_cluster.iter_mut().for_each(|v| *v = false);
        self.stack.clear();
        self.stack.push(seed);
        self.in_cluster[seed] = true;
        let mut size = 0;
        while let Some(i) = self.stack.pop() {
            size += 1;
            for d in 0..4 {
                let j = neighbour(i, d);
                if !self.in_cluster[j] && self.spins[j] == sign && rng.random::<f64>() < p_add {
                    self.in_cluster[j] = true;
                    self.stack.push(j);
                }
            }
        }
        for (s, &c) in self.spins.iter_mut().zip(&self.in_cluster) {
            if c {
                *s = -*s;
            }
        }
        size
    }

    /// One update: a heat-bath sweep, then a fixed number of Wolff clusters that flips about
    /// SITES spins on average (measured during burn-in).
    pub fn update<R: Rng>(&mut self, rng: &mut R) {
        self.heat_bath_sweep(rng);
        for _ in 0..self.clusters {
            self.wolff(rng);
        }
    }
}

/// `n` Gibbs configurations at `beta`, `thin` chain updates apart, from one seeded chain.
pub fn gibbs_samples<R: Rng>(beta: f64, n: usize, thin: usize, rng: &mut R) -> Vec<i8> {
    let mut chain = GibbsChain::new(beta, rng);
    let mut out = Vec::with_capacity(n * SITES);
    for _ in 0..n {
        for _ in 0..thin.max(1) {
            chain.update(rng);
        }
        out.extend_from_slice(&chain.spins);
    }
    out
}

/// Forward process: every step flips each spin independently with probability `r`.
/// After `t` steps (t may be fractional for the continuous interpolation the sampler uses) a
/// spin keeps its correlation with its start `c_t = (1 − 2r)^t`: it is flipped with probability
/// `(1 − c_t)/2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlipProcess {
    pub r: f64,
    pub steps: usize,
}

impl FlipProcess {
    /// The process with flip probability `r` and the fewest steps that bring every spin's
    /// correlation with its start below 1% (`(1 − 2r)^T <= 0.01`).
    pub fn new(r: f64) -> FlipProcess {
        FlipProcess {
            r,
            steps: Self::steps_to_forget(r, 0.01),
        }
    }

    /// Fewest steps with `(1 − 2r)^T <= tol`.
    pub fn steps_to_forget(r: f64, tol: f64) -> usize {
        assert!(r > 0.0 && r < 0.5, "flip probability must be in (0, 0.5)");
        (tol.ln() / (1.0 - 2.0 * r).ln()).ceil().max(1.0) as usize
    }

    /// Correlation of a spin at time `t` with its value at time 0.
    pub fn keep(&self, t: f64) -> f64 {
        (1.0 - 2.0 * self.r).powf(t)
    }

    /// Probability that a spin differs from its start at time `t`.
    pub fn flip_prob(&self, t: f64) -> f64 {
        0.5 * (1.0 - self.keep(t))
    }

    /// The x₀ kernel's reverse time grid, `steps` steps from `T` to 0, uniform in the
    /// correlation with the data `c_t = (1 − 2r)^t` (each step restores as much of it): dense at
    /// small t, where a factorised kernel errs most.
    pub fn reverse_grid(&self, steps: usize) -> Vec<f64> {
        let big_t = self.steps as f64;
        let s = steps.max(1);
        let c_end = self.keep(big_t);
        let per_step = (1.0 - 2.0 * self.r).ln();
        (0..=s)
            .rev()
            .map(|k| {
                if k == s {
                    return big_t;
                }
                let c = c_end + (1.0 - c_end) * (1.0 - k as f64 / s as f64);
                (c.ln() / per_step).max(0.0)
            })
            .collect()
    }

    /// Draws `x_t` from `x_0` in one go.
    pub fn noise<R: Rng>(&self, x0: &[i8], t: f64, rng: &mut R) -> Vec<i8> {
        let p = self.flip_prob(t);
        x0.iter()
            .map(|&v| if rng.random::<f64>() < p { -v } else { v })
            .collect()
    }

    /// One step of the chain, `x_t → x_{t+1}`.
    pub fn step<R: Rng>(&self, x: &mut [i8], rng: &mut R) {
        for v in x.iter_mut() {
            if rng.random::<f64>() < self.r {
                *v = -*v;
            }
        }
    }

    /// Exact per-spin posterior `P(x_s = +1 | x_t = z, x_0 = x0)` for `s < t`:
    /// `P(y | z, x0) ∝ (1 + a z y)(1 + c y x0)` with `a = c_t / c_s` and `c = c_s`.
    pub fn posterior_up(&self, s: f64, t: f64, z: f64, x0: f64) -> f64 {
        let c = self.keep(s);
        let a = self.keep(t) / c;
        (1.0 + a * z) * (1.0 + c * x0) / (2.0 * (1.0 + a * c * z * x0))
    }

    /// One reverse step `t → s` of the learned kernel: `P(x_s = +1 | x_t)` for a spin given the
    /// model's `P(x_0 = +1 | x_t)` ([`ReverseStep::up`]), from the step's four exact posteriors,
    /// computed once per step rather than twice per spin (each is two `powf`s); the
    /// same numbers (the page's 5,000-configuration sample is bit for bit the same; its time is
    /// the network's, 11.0 s before and 11.3 s after in the browser test: noise).
    pub fn reverse_step(&self, s: f64, t: f64) -> ReverseStep {
        let p = |z: f64, x0: f64| self.posterior_up(s, t, z, x0);
        ReverseStep {
            from_up: [p(1.0, 1.0), p(1.0, -1.0)],
            from_down: [p(-1.0, 1.0), p(-1.0, -1.0)],
        }
    }

    /// Log-odds of `x_0 = x_t` for a spin seen alone (prior ½): `ln((1 + c_t)/(1 − c_t))`.
    /// The network adds its correction to `x_t` times this.
    pub fn self_logit(&self, t: f64) -> f64 {
        let c = self.keep(t).min(1.0 - 1e-7);
        ((1.0 + c) / (1.0 - c)).ln()
    }
}

/// The exact per-spin posteriors of one reverse step (see [`FlipProcess::reverse_step`]):
/// `P(x_s = +1 | x_t = z, x_0 = ±1)` for `z = +1` (`from_up`) and `z = −1` (`from_down`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReverseStep {
    from_up: [f64; 2],
    from_down: [f64; 2],
}

impl ReverseStep {
    /// `P(x_s = +1 | x_t = z)` given the model's `P(x_0 = +1 | x_t) = pi0`.
    pub fn up(&self, z: f64, pi0: f64) -> f64 {
        let [x0_up, x0_down] = if z > 0.0 {
            self.from_up
        } else {
            self.from_down
        };
        pi0 * x0_up + (1.0 - pi0) * x0_down
    }
}

/// The statistics the page and the tests compare: |M| and energy histograms, mean nearest-
/// neighbour correlation.
#[derive(Clone, Debug, PartialEq)]
pub struct SpinStats {
    /// Fraction of configurations per |M| value (index `|2·up − SITES|/2`, 33 bins).
    pub abs_m: Vec<f64>,
    /// Fraction per energy level (index u/2, 65 bins; E/SITES = (4·index − 2·SITES)/SITES).
    pub energy: Vec<f64>,
    /// Mean `<s_i s_j>` over nearest-neighbour bonds.
    pub nn_correlation: f64,
    pub n: usize,
}

impl SpinStats {
    pub fn of(configs: &[i8]) -> SpinStats {
        let n = configs.len() / SITES;
        let mut up = vec![0.0; SITES + 1];
        let mut energy = vec![0.0; SITES + 1];
        let mut u_sum = 0.0;
        for c in configs.chunks_exact(SITES) {
            up[up_count(c)] += 1.0;
            let u = unsatisfied(c);
            energy[u / 2] += 1.0;
            u_sum += u as f64;
        }
        let norm = |v: Vec<f64>| {
            v.into_iter()
                .map(|x| x / n.max(1) as f64)
                .collect::<Vec<_>>()
        };
        SpinStats {
            abs_m: abs_m_fold(&norm(up), SITES),
            energy: norm(energy),
            nn_correlation: 1.0 - 2.0 * u_sum / (n.max(1) * BONDS) as f64,
            n,
        }
    }

    /// Total-variation distances (|M|, energy) to the exact distributions.
    pub fn tv_to(&self, exact: &IsingExact) -> (f64, f64) {
        (
            total_variation(&self.abs_m, &exact.p_abs_m()),
            total_variation(&self.energy, &exact.p_energy_levels()),
        )
    }
}
