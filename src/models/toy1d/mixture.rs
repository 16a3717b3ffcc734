//! The 1D two-mode toy of the tutorial (seed 000, section 1): a Gaussian mixture diffused by a
//! schedule (by default the Ornstein–Uhlenbeck process), with everything exact.
//!
//! Because the forward transition is Gaussian, the marginal of a Gaussian mixture stays a
//! Gaussian mixture at every time:
//! `p_t(x) = Σ_k w_k N(x; alpha_t mu_k, alpha_t^2 s_k^2 + sigma_t^2)`,
//! so the density, the score `F(x,t) = ∂_x log p_t(x)` and the posterior mean `E[x_0 | x_t]` are
//! closed forms for every schedule. These functions are the single source of truth that training,
//! tests and plots all use.

use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::diffusion::sampler::TimeDraw;
use crate::diffusion::Schedule;

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// One Gaussian component: weight, mean and width (standard deviation).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub weight: f64,
    pub mean: f64,
    pub width: f64,
}

/// A Gaussian mixture on the real line (weights are normalised on construction).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mixture {
    components: Vec<Component>,
}

impl Default for Mixture {
    /// The tutorial's data: equal modes at ±2 of width 0.5.
    fn default() -> Self {
        Mixture::new(vec![
            Component {
                weight: 0.5,
                mean: -2.0,
                width: 0.5,
            },
            Component {
                weight: 0.5,
                mean: 2.0,
                width: 0.5,
            },
        ])
        .expect("default mixture is valid")
    }
}

impl Mixture {
    /// Builds a mixture, normalising the weights. Errors on an empty list, non-finite values,
    /// non-positive widths or weights that do not sum to a positive number.
    pub fn new(mut components: Vec<Component>) -> Result<Self, String> {
        if components.is_empty() {
            return Err("a mixture needs at least one component".into());
        }
        for c in &components {
            if !(c.weight.is_finite() && c.mean.is_finite() && c.width.is_finite()) {
                return Err("mixture parameters must be finite numbers".into());
            }
            if c.weight < 0.0 || c.width <= 0.0 {
                return Err("mixture weights must be ≥ 0 and widths > 0".into());
            }
        }
        let total: f64 = components.iter().map(|c| c.weight).sum();
        if total <= 0.0 {
            return Err("mixture weights must not all be zero".into());
        }
        // Finite weights can overflow in their sum (1e308 twice): dividing by an infinite total
        // would leave every weight zero, a mixture with no mass.
        if !total.is_finite() {
            return Err("mixture weights must have a finite sum".into());
        }
        components.retain(|c| c.weight > 0.0);
        for c in &mut components {
            c.weight /= total;
        }
        Ok(Mixture { components })
    }

    /// The components, with normalised weights.
    /// A mixture drawn as a density curve: `heights[i] >= 0` (any scale) at evenly spaced
    /// `centers[i]`. Each bin at least 1% as tall as the tallest becomes a component at its centre,
    /// of width 0.8 × the spacing (Gaussians that close overlap into a smooth curve) and weight
    /// proportional to its height; the density of the result at the centres is the drawn curve,
    /// normalised. Everything exact about mixtures (marginals, scores) then holds for the drawing.
    pub fn from_curve(centers: &[f64], heights: &[f64]) -> Result<Self, String> {
        if centers.len() < 2 || centers.len() != heights.len() {
            return Err("a drawn density needs at least two bins".into());
        }
        let spacing = (centers[centers.len() - 1] - centers[0]) / (centers.len() - 1) as f64;
        let top = heights.iter().cloned().fold(0.0, f64::max);
        if !(top > 0.0 && top.is_finite() && spacing > 0.0) {
            return Err("the drawn density is zero everywhere".into());
        }
        let components = centers
            .iter()
            .zip(heights)
            .filter(|(_, &h)| h >= 0.01 * top)
            .map(|(&mean, &weight)| Component {
                weight,
                mean,
                width: 0.8 * spacing,
            })
            .collect();
        Mixture::new(components)
    }

    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// Mean of the data distribution.
    pub fn mean(&self) -> f64 {
        self.components.iter().map(|c| c.weight * c.mean).sum()
    }

    /// Variance of the data distribution.
    pub fn variance(&self) -> f64 {
        let m = self.mean();
        self.components
            .iter()
            .map(|c| c.weight * (c.width * c.width + (c.mean - m).powi(2)))
            .sum()
    }

    /// One draw from the data distribution.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut chosen = self.components.last().expect("non-empty");
        for c in &self.components {
            acc += c.weight;
            if u < acc {
                chosen = c;
                break;
            }
        }
        let z: f64 = rng.sample(StandardNormal);
        chosen.mean + chosen.width * z
    }

    /// The exact marginal `p_t` of the forward process started from this mixture: again a
    /// Gaussian mixture, with means `alpha_t mu_k` and variances `alpha_t^2 s_k^2 + sigma_t^2`.
    pub fn marginal(&self, schedule: &Schedule, t: f64) -> Mixture {
        let (a, s) = (schedule.alpha(t), schedule.sigma(t));
        Mixture {
            components: self
                .components
                .iter()
                .map(|c| Component {
                    weight: c.weight,
                    mean: a * c.mean,
                    width: (a * a * c.width * c.width + s * s).sqrt(),
                })
                .collect(),
        }
    }

    /// The components of the marginal `p_t`: (log weight, mean, variance) each.
    fn marginal_components(
        &self,
        schedule: &Schedule,
        t: f64,
    ) -> impl Iterator<Item = (f64, f64, f64)> + '_ {
        let (a, s) = (schedule.alpha(t), schedule.sigma(t));
        self.components
            .iter()
            .map(move |c| (c.weight.ln(), a * c.mean, a * a * c.width * c.width + s * s))
    }

    /// `log p_t(x)`, the exact log density of the marginal at time t (t = 0 gives the data).
    pub fn log_density(&self, schedule: &Schedule, t: f64, x: f64) -> f64 {
        log_sum_exp(
            self.marginal_components(schedule, t)
                .map(|(lw, m, v)| lw + log_normal(x, m, v)),
        )
    }

    /// `p_t(x)`.
    pub fn density(&self, schedule: &Schedule, t: f64, x: f64) -> f64 {
        self.log_density(schedule, t, x).exp()
    }

    /// The exact score `F(x, t) = ∂_x log p_t(x)` (the tutorial's force field, eq. 4).
    pub fn score(&self, schedule: &Schedule, t: f64, x: f64) -> f64 {
        // A responsibility-weighted average of the component scores -(x - m)/v,
        // computed with log-sum-exp so it stays finite far in the tails.
        let comps: Vec<(f64, f64, f64)> = self.marginal_components(schedule, t).collect();
        let logs: Vec<f64> = comps
            .iter()
            .map(|&(lw, m, v)| lw + log_normal(x, m, v))
            .collect();
        let top = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let (mut num, mut den) = (0.0, 0.0);
        for (&(_, m, v), &l) in comps.iter().zip(&logs) {
            let r = (l - top).exp();
            num += r * (-(x - m) / v);
            den += r;
        }
        num / den
    }

    /// The exact posterior mean `E[x_0 | x_t = x]`, the quantity eq. 8 of the tutorial averages.
    pub fn posterior_mean(&self, schedule: &Schedule, t: f64, x: f64) -> f64 {
        // Tweedie: E[x0 | x_t] = (x + sigma^2 F) / alpha.
        let (a, s) = (schedule.alpha(t), schedule.sigma(t));
        (x + s * s * self.score(schedule, t, x)) / a
    }

    /// The exact cumulative distribution function of the data.
    pub fn cdf(&self, x: f64) -> f64 {
        self.components
            .iter()
            .map(|c| {
                c.weight
                    * 0.5
                    * (1.0 + libm::erf((x - c.mean) / (c.width * std::f64::consts::SQRT_2)))
            })
            .sum()
    }

    /// A range that holds practically all of the data's mass, for plots and integrals.
    pub fn support(&self) -> (f64, f64) {
        let lo = self
            .components
            .iter()
            .map(|c| c.mean - 6.0 * c.width)
            .fold(f64::INFINITY, f64::min);
        let hi = self
            .components
            .iter()
            .map(|c| c.mean + 6.0 * c.width)
            .fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    }

    /// The Wasserstein-1 distance between the empirical distribution of `samples` and this
    /// mixture: `W1 = ∫ |F_n(x) - F(x)| dx` (exact for distributions on the line), evaluated
    /// on a fine grid. Non-finite samples make the distance infinite.
    pub fn wasserstein1(&self, samples: &[f32]) -> f64 {
        if samples.is_empty() || samples.iter().any(|v| !v.is_finite()) {
            return f64::INFINITY;
        }
        let mut sorted: Vec<f64> = samples.iter().map(|&v| v as f64).collect();
        sorted.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        let (slo, shi) = self.support();
        let lo = slo.min(sorted[0]) - 1.0;
        let hi = shi.max(sorted[sorted.len() - 1]) + 1.0;
        let cells = (((hi - lo) / 1e-3).ceil() as usize).clamp(1000, 2_000_000);
        let dx = (hi - lo) / cells as f64;
        let n = sorted.len() as f64;
        let mut below = 0usize;
        let mut total = 0.0;
        for i in 0..cells {
            let x = lo + (i as f64 + 0.5) * dx; // midpoint rule
            while below < sorted.len() && sorted[below] <= x {
                below += 1;
            }
            total += (below as f64 / n - self.cdf(x)).abs() * dx;
        }
        total
    }
}

fn log_normal(x: f64, mean: f64, var: f64) -> f64 {
    -0.5 * (x - mean).powi(2) / var - 0.5 * var.ln() - LN_SQRT_2PI
}

fn log_sum_exp(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    let top = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if top == f64::NEG_INFINITY {
        return top;
    }
    top + v.iter().map(|x| (x - top).exp()).sum::<f64>().ln()
}

/// Where training pairs come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataMode {
    /// Fresh draws for every batch.
    Fresh,
    /// A fixed set of forward runs.
    Fixed,
}

impl DataMode {
    /// Every mode, in the page's order.
    pub const ALL: [DataMode; 2] = [DataMode::Fresh, DataMode::Fixed];

    /// The name used in URLs.
    pub fn name(self) -> &'static str {
        match self {
            DataMode::Fresh => "fresh",
            DataMode::Fixed => "fixed",
        }
    }
}

/// A minibatch of denoising-score-matching pairs: network inputs `(x_t, t)` and the noise
/// `eps` with `x_t = alpha_t x_0 + sigma_t eps`; the conditional score target of eq. 8 is
/// `-eps / sigma_t`.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub x0: Vec<f32>,
    pub xt: Vec<f32>,
    pub t: Vec<f32>,
    pub eps: Vec<f32>,
}

impl Batch {
    /// The pairs `rows` of this batch.
    pub fn rows(&self, rows: std::ops::Range<usize>) -> Batch {
        Batch {
            x0: self.x0[rows.clone()].to_vec(),
            xt: self.xt[rows.clone()].to_vec(),
            t: self.t[rows.clone()].to_vec(),
            eps: self.eps[rows].to_vec(),
        }
    }
}

/// Where training pairs come from.
#[derive(Clone, Debug)]
pub enum PairSource {
    /// Fresh `x_0`, `t` and noise for every batch: the infinite-data limit.
    Fresh,
    /// A fixed set of forward runs (the tutorial uses 1000), each observed on a time grid:
    /// what finite data does to the learned score.
    Fixed { pairs: Batch },
}

impl PairSource {
    /// `runs` forward paths of the schedule, each observed at `points` uniformly spaced times in
    /// `[T_MIN, t_max]` (one pair per observation).
    pub fn fixed(
        mixture: &Mixture,
        schedule: &Schedule,
        runs: usize,
        points: usize,
        rng: &mut impl Rng,
    ) -> Self {
        let t_max = schedule.t_max();
        let t_min = crate::diffusion::schedule::T_MIN;
        let mut times: Vec<f64> = vec![0.0];
        times.extend(
            (0..points).map(|k| t_min + (t_max - t_min) * k as f64 / (points.max(2) - 1) as f64),
        );
        let mut pairs = Batch::default();
        for _ in 0..runs {
            let x0 = mixture.sample(rng);
            let path = crate::diffusion::forward::path(schedule, x0, &times, rng);
            for (k, &t) in times.iter().enumerate().skip(1) {
                let xt = path[k];
                pairs.x0.push(x0 as f32);
                pairs.xt.push(xt as f32);
                pairs.t.push(t as f32);
                pairs
                    .eps
                    .push(((xt - schedule.alpha(t) * x0) / schedule.sigma(t)) as f32);
            }
        }
        PairSource::Fixed { pairs }
    }

    /// Draws a minibatch of `n` pairs; fresh pairs take their times from `draw` (a fixed set
    /// keeps the times it was observed at).
    pub fn batch(
        &self,
        mixture: &Mixture,
        schedule: &Schedule,
        n: usize,
        draw: TimeDraw,
        rng: &mut impl Rng,
    ) -> Batch {
        let mut b = Batch {
            x0: Vec::with_capacity(n),
            xt: Vec::with_capacity(n),
            t: Vec::with_capacity(n),
            eps: Vec::with_capacity(n),
        };
        match self {
            PairSource::Fresh => {
                for _ in 0..n {
                    let x0 = mixture.sample(rng);
                    let t = draw.time(schedule, rng.random::<f64>());
                    let (xt, eps) = crate::diffusion::forward::noise(schedule, x0, t, rng);
                    b.x0.push(x0 as f32);
                    b.xt.push(xt as f32);
                    b.t.push(t as f32);
                    b.eps.push(eps as f32);
                }
            }
            PairSource::Fixed { pairs } => {
                for _ in 0..n {
                    let i = rng.random_range(0..pairs.t.len());
                    b.x0.push(pairs.x0[i]);
                    b.xt.push(pairs.xt[i]);
                    b.t.push(pairs.t[i]);
                    b.eps.push(pairs.eps[i]);
                }
            }
        }
        b
    }
}

/// `n` evenly spaced values from `lo` to `hi` inclusive.
pub fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if n < 2 {
        return vec![lo; n];
    }
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect()
}

/// A histogram normalised as a density on `bins` equal bins over `[lo, hi]`: returns the bin
/// edges and heights (values outside the range count in the normalisation, not in any bar).
pub fn histogram(samples: &[f32], lo: f64, hi: f64, bins: usize) -> (Vec<f64>, Vec<f64>) {
    let edges = linspace(lo, hi, bins + 1);
    let mut counts = vec![0.0; bins];
    let w = (hi - lo) / bins as f64;
    for &s in samples {
        let s = s as f64;
        if s.is_finite() && s >= lo && s < hi {
            counts[(((s - lo) / w) as usize).min(bins - 1)] += 1.0;
        }
    }
    let n = samples.len().max(1) as f64;
    (edges, counts.into_iter().map(|c| c / (n * w)).collect())
}

/// The x-range the page plots: the data's support and the prior's ±3.5 sd.
pub fn plot_range(mixture: &Mixture, schedule: &Schedule) -> (f64, f64) {
    let (lo, hi) = mixture.support();
    let p = 3.5 * schedule.prior_var().sqrt();
    let (lo, hi) = (lo.min(-p).max(-12.0), hi.max(p).min(12.0));
    (lo, hi)
}

/// Values of `f(t, x)` on a grid: `rows` times from `t_lo` to `t_hi` (row-major by time) and
/// `cols` positions from `x_lo` to `x_hi`.
pub fn grid(
    t: (f64, f64),
    x: (f64, f64),
    rows: usize,
    cols: usize,
    f: impl Fn(f64, f64) -> f64,
) -> Vec<f32> {
    let ts = linspace(t.0, t.1, rows);
    let xs = linspace(x.0, x.1, cols);
    let mut out = Vec::with_capacity(rows * cols);
    for &tt in &ts {
        for &xx in &xs {
            out.push(f(tt, xx) as f32);
        }
    }
    out
}
