//! Exact statistics of the L×L Ising model on a torus (J = 1, no field), from a transfer matrix.
//!
//! Energy `E = -Σ_<ij> s_i s_j` over the `2L²` nearest-neighbour bonds. With `u` the number of
//! unsatisfied bonds (neighbours of opposite sign), `E = 2u - 2L²`, so the Boltzmann weight is
//! `exp(-βE) ∝ x^u` with `x = exp(-2β)`. On a torus `u` is even.
//!
//! The transfer runs spin by spin: with the first row `r0` fixed, the state is the "front" of the
//! last `L` spins placed (one per column). Placing spin `(k, j)` adds its bonds to the spin above
//! (front bit `j`), to its left (front bit `j-1`), for the last column to the first spin of its
//! row (front bit 0, already replaced) and for the last row to the spin below across the torus
//! (`r0` bit `j`). The result depends on `r0` only through its class under rotations and
//! reflections of a row (the torus is symmetric under both), so only one `r0` per class runs,
//! weighted by the class size: 30 classes instead of 256 for L = 8. A polynomial in the tracked
//! quantity (u, or the number of up spins) rides along each state.
//!
//! Cost for L = 8: 56 placements × 256 fronts × 2 spins × (129 or 65 coefficients) × 30 classes,
//! about 10⁸ additions: a few milliseconds natively, well under a second in the page.

/// Which quantity the transfer's polynomial tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// Number of unsatisfied bonds `u` (0..=2L²), every configuration weighted 1: the density of states.
    Unsatisfied,
    /// Number of up spins (0..=L²), each configuration weighted `x^u`.
    Up,
}

/// Row states under rotations and reflections: one representative per class with its size.
pub fn row_classes(l: usize) -> Vec<(u32, f64)> {
    let mask = (1u32 << l) - 1;
    let rotate = |r: u32| ((r << 1) | (r >> (l - 1))) & mask;
    let reflect = |r: u32| (0..l).fold(0u32, |acc, j| acc | (((r >> j) & 1) << (l - 1 - j)));
    let mut class_of = vec![u32::MAX; 1 << l];
    let mut classes: Vec<(u32, f64)> = Vec::new();
    for r in 0..(1u32 << l) {
        if class_of[r as usize] != u32::MAX {
            continue;
        }
        let mut members = Vec::new();
        let mut q = r;
        for _ in 0..l {
            for v in [q, reflect(q)] {
                if class_of[v as usize] == u32::MAX {
                    class_of[v as usize] = r;
                    members.push(v);
                }
            }
            q = rotate(q);
        }
        classes.push((r, members.len() as f64));
    }
    classes
}

/// `Σ_configurations x^u · [tracked quantity = q]` for every q, on the L×L torus (L ≥ 3).
/// With `Track::Unsatisfied` (x is ignored) this is the density of states `g(u)`.
pub fn transfer(l: usize, track: Track, x: f64) -> Vec<f64> {
    assert!((3..=12).contains(&l), "transfer needs 3 <= L <= 12");
    let fronts = 1usize << l;
    let len = match track {
        Track::Unsatisfied => 2 * l * l + 1,
        Track::Up => l * l + 1,
    };
    let xp: Vec<f64> = (0..=4).map(|k| x.powi(k)).collect();
    let bit = |v: usize, j: usize| (v >> j) & 1;
    let mut total = vec![0.0f64; len];
    let mut cur = vec![0.0f64; fronts * len];
    let mut next = vec![0.0f64; fronts * len];
    for (r0, weight) in row_classes(l) {
        let r0 = r0 as usize;
        cur.iter_mut().for_each(|v| *v = 0.0);
        // Row 0 on its own: its horizontal bonds and its up spins.
        let u0 = (0..l)
            .filter(|&j| bit(r0, j) != bit(r0, (j + 1) % l))
            .count();
        let n0 = r0.count_ones() as usize;
        match track {
            Track::Unsatisfied => cur[r0 * len + u0] = 1.0,
            Track::Up => cur[r0 * len + n0] = x.powi(u0 as i32),
        }
        // Track the span of nonzero coefficients to skip empty work.
        let mut hi = match track {
            Track::Unsatisfied => u0,
            Track::Up => n0,
        };
        for k in 1..l {
            for j in 0..l {
                next.iter_mut().for_each(|v| *v = 0.0);
                for f in 0..fronts {
                    let src = &cur[f * len..f * len + hi + 1];
                    if src.iter().all(|&v| v == 0.0) {
                        continue;
                    }
                    for s in 0..2usize {
                        let mut du = (s != bit(f, j)) as usize;
                        if j > 0 && s != bit(f, j - 1) {
                            du += 1;
                        }
                        if j == l - 1 && s != bit(f, 0) {
                            du += 1;
                        }
                        if k == l - 1 && s != bit(r0, j) {
                            du += 1;
                        }
                        let g = (f & !(1 << j)) | (s << j);
                        let (shift, w) = match track {
                            Track::Unsatisfied => (du, 1.0),
                            Track::Up => (s, xp[du]),
                        };
                        // Coefficients past the end are zero: u <= 2L² and n_up <= L² always.
                        let m = src.len().min(len - shift);
                        let dst = &mut next[g * len + shift..g * len + shift + m];
                        for (d, &v) in dst.iter_mut().zip(&src[..m]) {
                            *d += w * v;
                        }
                    }
                }
                hi = (hi
                    + match track {
                        Track::Unsatisfied => 4,
                        Track::Up => 1,
                    })
                .min(len - 1);
                std::mem::swap(&mut cur, &mut next);
            }
        }
        for f in 0..fronts {
            for (t, &v) in total.iter_mut().zip(&cur[f * len..(f + 1) * len]) {
                *t += weight * v;
            }
        }
    }
    total
}

/// Brute-force enumeration of all `2^(L²)` configurations (tests only; L ≤ 4 or 5):
/// returns the joint counts `g[u][n_up]`.
pub fn brute_force_joint(l: usize) -> Vec<Vec<f64>> {
    let n = l * l;
    assert!(n <= 25, "brute force is for tiny lattices");
    let mut g = vec![vec![0.0f64; n + 1]; 2 * n + 1];
    for c in 0u64..(1u64 << n) {
        let s = |i: usize, j: usize| (c >> ((i % l) * l + (j % l))) & 1;
        let mut u = 0;
        for i in 0..l {
            for j in 0..l {
                u += (s(i, j) != s(i, j + 1)) as usize + (s(i, j) != s(i + 1, j)) as usize;
            }
        }
        g[u][c.count_ones() as usize] += 1.0;
    }
    g
}

/// `ln Z` of the m×n torus at coupling `beta` from Kaufman's closed form (Phys. Rev. 76, 1232,
/// 1949; as written by Beale, Phys. Rev. Lett. 76, 78, 1996):
/// `Z = ½ (2 sinh 2β)^{mn/2} Σ_{i=1..4} Z_i`, with
/// `Z_1 = Π_{r<n} 2cosh(m γ_{2r+1}/2)`, `Z_2 = Π 2sinh(m γ_{2r+1}/2)`,
/// `Z_3 = Π 2cosh(m γ_{2r}/2)`, `Z_4 = Π 2sinh(m γ_{2r}/2)`,
/// `cosh γ_k = cosh 2β coth 2β − cos(πk/n)` and `γ_0 = 2β + ln tanh β` (which may be negative).
pub fn kaufman_log_z(m: usize, n: usize, beta: f64) -> f64 {
    let gamma = |k: usize| -> f64 {
        if k == 0 {
            2.0 * beta + beta.tanh().ln()
        } else {
            let c = (2.0 * beta).cosh() / (2.0 * beta).tanh()
                - (std::f64::consts::PI * k as f64 / n as f64).cos();
            c.acosh()
        }
    };
    let mf = m as f64;
    // Products of up to 4 terms computed as signed logs to avoid overflow at large sizes.
    let mut logs = [0.0f64; 4];
    let mut signs = [1.0f64; 4];
    for r in 0..n {
        let odd = gamma(2 * r + 1);
        let even = gamma(2 * r);
        let terms = [
            2.0 * (mf * odd / 2.0).cosh(),
            2.0 * (mf * odd / 2.0).sinh(),
            2.0 * (mf * even / 2.0).cosh(),
            2.0 * (mf * even / 2.0).sinh(),
        ];
        for i in 0..4 {
            logs[i] += terms[i].abs().ln();
            if terms[i] < 0.0 {
                signs[i] = -signs[i];
            }
        }
    }
    let top = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = (0..4).map(|i| signs[i] * (logs[i] - top).exp()).sum();
    (0.5f64).ln() + (mf * n as f64 / 2.0) * (2.0 * (2.0 * beta).sinh()).ln() + top + sum.ln()
}

/// The exact distributions of the L×L torus at one inverse temperature.
#[derive(Clone, Debug)]
pub struct IsingExact {
    pub l: usize,
    pub beta: f64,
    /// `P(u)` for u = 0..=2L² (zero for odd u); energy `E = 2u − 2L²`.
    pub p_unsatisfied: Vec<f64>,
    /// `P(number of up spins = k)`, k = 0..=L²; magnetisation `M = (2k − L²)/L²`.
    pub p_up: Vec<f64>,
    /// `ln Z` from the transfer matrix.
    pub log_z: f64,
}

/// The density of states `g(u)` of the L×L torus (independent of beta: compute once).
pub fn density_of_states(l: usize) -> Vec<f64> {
    transfer(l, Track::Unsatisfied, 1.0)
}

impl IsingExact {
    /// Exact distributions at `beta` given the density of states `dos` of the same lattice.
    pub fn new(l: usize, beta: f64, dos: &[f64]) -> IsingExact {
        assert_eq!(dos.len(), 2 * l * l + 1);
        // Weights relative to the most probable u, in logs (no overflow at any beta).
        let logw: Vec<f64> = dos
            .iter()
            .enumerate()
            .map(|(u, &g)| {
                if g > 0.0 {
                    g.ln() - 2.0 * beta * u as f64
                } else {
                    f64::NEG_INFINITY
                }
            })
            .collect();
        let top = logw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = logw.iter().map(|&v| (v - top).exp()).collect();
        let z: f64 = w.iter().sum();
        // ln Z with E = 2u − 2L²: exp(-βE) = exp(2βL²) · x^u.
        let log_z = top + z.ln() + 2.0 * beta * (l * l) as f64;
        let p_unsatisfied = w.iter().map(|v| v / z).collect();
        let up = transfer(l, Track::Up, (-2.0 * beta).exp());
        let zu: f64 = up.iter().sum();
        IsingExact {
            l,
            beta,
            p_unsatisfied,
            p_up: up.iter().map(|v| v / zu).collect(),
            log_z,
        }
    }

    pub fn sites(&self) -> usize {
        self.l * self.l
    }

    pub fn bonds(&self) -> usize {
        2 * self.l * self.l
    }

    /// Mean nearest-neighbour correlation `<s_i s_j> = 1 − 2<u>/bonds`.
    pub fn nn_correlation(&self) -> f64 {
        let mean_u: f64 = self
            .p_unsatisfied
            .iter()
            .enumerate()
            .map(|(u, p)| u as f64 * p)
            .sum();
        1.0 - 2.0 * mean_u / self.bonds() as f64
    }

    /// Mean energy per spin, `<E>/L²`.
    pub fn energy_per_spin(&self) -> f64 {
        -2.0 * self.nn_correlation()
    }

    /// `P(|M| = m)` over the `L²/2 + 1` values `m = 0, 2/L², …, 1` (index = |2k − L²|/2).
    pub fn p_abs_m(&self) -> Vec<f64> {
        abs_m_fold(&self.p_up, self.sites())
    }

    /// `P(E = e)` over the even-u energy levels (index = u/2): `E/L² = (4·index − 2L²)/L²`.
    pub fn p_energy_levels(&self) -> Vec<f64> {
        self.p_unsatisfied.iter().step_by(2).cloned().collect()
    }
}

/// Folds a distribution over the number of up spins into one over |M| (index `|2k − n|/2`).
pub fn abs_m_fold(p_up: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n / 2 + 1];
    for (k, &p) in p_up.iter().enumerate() {
        out[(2 * k).abs_diff(n) / 2] += p;
    }
    out
}

/// Total-variation distance between two distributions on the same bins.
pub fn total_variation(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    0.5 * a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>()
}
