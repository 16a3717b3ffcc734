//! Reverse-time samplers: integrate from the prior at `t_max` down to [`T_MIN`].
//!
//! With the forward SDE `dx = f x dt + g dW`, Anderson (1982) gives the reverse SDE
//! `dx = [f x - g^2 s(x,t)] dt + g dW̄` (time running backwards), and Song et al. (2021) the
//! probability-flow ODE `dx/dt = f x - g^2 s / 2`. The tutorial (seed 000, after eq. 6) names the
//! whole family between them: `dx = [f x - a g^2 s] dt + sqrt((2a - 1) g^2) dW̄` for `a >= 1/2`,
//! which for the OU process reads `ẋ = x + 2 D a F + sqrt(2 D (2a - 1)) η`.
//! `a = 1` is the reverse SDE (eq. 5), `a = 1/2` the deterministic ODE (eq. 6).
//!
//! Samplers work on flat `f32` slices, element by element, so the same code serves a 1D toy,
//! an 8x8 lattice or a 784-pixel image. The score is an async closure: on WebGPU every read of a
//! network output is asynchronous.

use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::schedule::{Schedule, T_MIN};
use super::target::Marginal;

/// Which integrator, and which member of the reverse family.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum SamplerKind {
    /// Euler–Maruyama on the reverse family with parameter `a >= 1/2`
    /// (`a = 1`: reverse SDE; `a = 1/2`: probability-flow ODE with Euler steps).
    EulerMaruyama { a: f64 },
    /// Heun's second-order method (improved Euler) on the probability-flow ODE
    /// (Karras et al. 2022, Algorithm 1 without churn).
    HeunOde,
    /// Ancestral sampling (Ho et al. 2020, Algorithm 2; seed 003's Theta formula): each step
    /// draws `x_s` from the forward posterior `q(x_s | x_t, x_0)` with `x_0` replaced by the
    /// model's estimate `x̂_0 = (x_t + sigma_t^2 s) / alpha_t`. Written for any schedule: with
    /// `alpha_{t|s} = alpha_t / alpha_s`, `sigma_{t|s}^2 = sigma_t^2 - alpha_{t|s}^2 sigma_s^2`,
    /// the posterior mean is `(alpha_{t|s} sigma_s^2 x_t + alpha_s sigma_{t|s}^2 x̂_0) / sigma_t^2`
    /// and its variance `sigma_{t|s}^2 sigma_s^2 / sigma_t^2` (no noise on the last step).
    Ancestral,
    /// DDIM (Song, Meng & Ermon 2021) with eta = 0: `x_s = alpha_s x̂_0 + sigma_s ε̂` with
    /// `ε̂ = -sigma_t s`; deterministic, and good with few steps.
    Ddim,
    /// DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2): the probability-flow ODE written in the
    /// half log-SNR `λ = log(α/σ)` and the data prediction `x̂₀`, whose linear part is solved
    /// exactly; a multistep second-order correction from the previous step's `x̂₀`:
    /// `x_s = (σ_s/σ_t) x_t − α_s (e^{−h} − 1) D`, `h = λ_s − λ_t`,
    /// `D = (1 + 1/2r) x̂₀(t) − (1/2r) x̂₀(t_prev)`, `r = h_prev / h` (first order on the first
    /// step). Deterministic; good samples in 10–20 network evaluations.
    DpmSolver2M,
}

/// One row of the sampler table: everything the page, `window.lab`, the CLI and the settings
/// need to offer a sampler. A new sampler is one function in [`Sampler::run_on`]'s dispatch and
/// one row here.
#[derive(Clone, Copy, Debug)]
pub struct SamplerEntry {
    /// The name in URLs, `lab.sample({ sampler })` and `--sampler`.
    pub name: &'static str,
    /// What menus say.
    pub label: &'static str,
    /// The integrator; `a` is the reverse family's parameter (only `family` uses it).
    pub kind: fn(a: f64) -> SamplerKind,
}

/// Every sampler the lab offers, by name. The 1D toy's panels, MNIST's view and the API all
/// choose from this table.
pub const SAMPLERS: [SamplerEntry; 7] = [
    SamplerEntry {
        name: "sde",
        label: "reverse SDE (Euler–Maruyama)",
        kind: |_| SamplerKind::SDE,
    },
    SamplerEntry {
        name: "ode",
        label: "probability-flow ODE (Heun)",
        kind: |_| SamplerKind::HeunOde,
    },
    SamplerEntry {
        name: "ode-euler",
        label: "probability-flow ODE (Euler)",
        kind: |_| SamplerKind::ODE_EULER,
    },
    SamplerEntry {
        name: "family",
        label: "reverse family with parameter a (Euler–Maruyama)",
        kind: |a| SamplerKind::EulerMaruyama { a },
    },
    SamplerEntry {
        name: "ddpm",
        label: "DDPM ancestral",
        kind: |_| SamplerKind::Ancestral,
    },
    SamplerEntry {
        name: "ddim",
        label: "DDIM (deterministic, few steps)",
        kind: |_| SamplerKind::Ddim,
    },
    SamplerEntry {
        name: "dpm2m",
        label: "DPM-Solver++(2M) (deterministic, 10–20 steps)",
        kind: |_| SamplerKind::DpmSolver2M,
    },
];

impl SamplerKind {
    /// The reverse SDE (`a = 1`).
    pub const SDE: SamplerKind = SamplerKind::EulerMaruyama { a: 1.0 };
    /// The probability-flow ODE with Euler steps (`a = 1/2`).
    pub const ODE_EULER: SamplerKind = SamplerKind::EulerMaruyama { a: 0.5 };

    /// Short label for plots.
    pub fn label(&self) -> String {
        match self {
            SamplerKind::EulerMaruyama { a } if *a == 1.0 => "reverse SDE (Euler–Maruyama)".into(),
            SamplerKind::EulerMaruyama { a } if *a == 0.5 => "probability-flow ODE (Euler)".into(),
            SamplerKind::EulerMaruyama { a } => {
                format!("reverse family a = {a:.2} (Euler–Maruyama)")
            }
            SamplerKind::HeunOde => "probability-flow ODE (Heun)".into(),
            SamplerKind::Ancestral => "DDPM ancestral".into(),
            SamplerKind::Ddim => "DDIM (η = 0)".into(),
            SamplerKind::DpmSolver2M => "DPM-Solver++(2M)".into(),
        }
    }

    /// The sampler named `name` in [`SAMPLERS`] (`a` for the reverse family).
    pub fn from_name(name: &str, a: f64) -> Option<SamplerKind> {
        SAMPLERS
            .iter()
            .find(|e| e.name == name)
            .map(|e| (e.kind)(a))
    }

    /// This sampler's name in [`SAMPLERS`].
    pub fn name(&self) -> &'static str {
        let a = match self {
            SamplerKind::EulerMaruyama { a } => *a,
            _ => 1.0,
        };
        SAMPLERS
            .iter()
            .find(|e| (e.kind)(a) == *self)
            .map(|e| e.name)
            .expect("every sampler kind has a row in SAMPLERS")
    }

    /// Every sampler's name, comma-separated (for messages).
    pub fn names() -> String {
        SAMPLERS.map(|e| e.name).join(", ")
    }

    /// Whether the sampler injects noise.
    pub fn is_stochastic(&self) -> bool {
        match self {
            SamplerKind::EulerMaruyama { a } => *a > 0.5,
            SamplerKind::Ancestral => true,
            SamplerKind::HeunOde | SamplerKind::Ddim | SamplerKind::DpmSolver2M => false,
        }
    }
}

/// A reverse-time sampler: an integrator and a number of steps.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sampler {
    pub kind: SamplerKind,
    pub steps: usize,
}

/// The time at fraction `u` in `[0, 1]` of the lab's reverse-time grid:
/// `t(u) = T_MIN + (t_max − T_MIN) u²`, quadratic (Song, Meng & Ermon 2021 use it for DDIM).
/// Steps shrink toward t = 0, where `sigma_t` is small and a uniform grid's steps are large
/// relative to it. Measured on the 1D toy's exact score (10,000 samples, four seeds): the reverse
/// SDE with 100 steps has W1 0.023–0.029 on this grid and 0.055–0.065 on a uniform one; on
/// Gaussian data N(0.3, 0.25), ancestral sampling with 1000 uniform steps of the OU process ends
/// with variance 0.228, with 200 steps of this grid 0.239 (`tests/mnist.rs`).
/// Training draws its times with the same law by default ([`TimeDraw::Grid`]): the network is
/// trained where the sampler spends its steps.
pub fn grid_time(schedule: &Schedule, u: f64) -> f64 {
    T_MIN + (schedule.t_max() - T_MIN) * u * u
}

/// The time grid of a reverse run: `steps + 1` times from `t_max` down to [`T_MIN`],
/// `t_k = grid_time(1 − k/steps)` (see [`grid_time`]).
pub fn reverse_times(schedule: &Schedule, steps: usize) -> Vec<f64> {
    (0..=steps)
        .map(|k| grid_time(schedule, 1.0 - k as f64 / steps as f64))
        .collect()
}

/// The time grid of DPM-Solver: `steps + 1` times from `t_max` down to [`T_MIN`], uniform in the
/// half log-SNR `λ_t = log(α_t/σ_t)` (Lu et al. 2022, who recommend it for their solver: its
/// error depends on the steps in λ). λ decreases monotonically in t for every schedule here, so
/// each time is found by bisection.
pub fn log_snr_times(schedule: &Schedule, steps: usize) -> Vec<f64> {
    let lambda = |t: f64| Marginal::at(schedule, t).log_snr_half();
    let (t_hi, t_lo) = (schedule.t_max(), T_MIN);
    let (l_start, l_end) = (lambda(t_hi), lambda(t_lo));
    (0..=steps)
        .map(|k| {
            if k == 0 {
                return t_hi;
            }
            if k == steps {
                return t_lo;
            }
            let target = l_start + (l_end - l_start) * k as f64 / steps as f64;
            let (mut lo, mut hi) = (t_lo, t_hi);
            for _ in 0..100 {
                let mid = 0.5 * (lo + hi);
                if lambda(mid) > target {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            0.5 * (lo + hi)
        })
        .collect()
}

/// How training draws the diffusion time of each pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum TimeDraw {
    /// With the density of the sampler's grid, `t = grid_time(u)` for uniform `u`: denser
    /// toward t = 0 (density ∝ 1/√t). Measured on the toy: the learned modes get their width
    /// right (a uniform draw spends under 1% of pairs at `sigma_t < 0.3`, and the reverse SDE
    /// came out 5% too narrow), and W1 ≤ 0.05 is reached in about a third of the steps.
    #[default]
    Grid,
    /// Uniform on `[T_MIN, t_max]`, as in the tutorial.
    Uniform,
}

impl TimeDraw {
    /// The time for a uniform draw `u` in `[0, 1)`.
    pub fn time(self, schedule: &Schedule, u: f64) -> f64 {
        match self {
            TimeDraw::Grid => grid_time(schedule, u),
            TimeDraw::Uniform => T_MIN + (schedule.t_max() - T_MIN) * u,
        }
    }
}

/// Fills `x` with draws from the prior `N(0, prior_var)` the reverse process starts from.
pub fn draw_prior(schedule: &Schedule, x: &mut [f32], rng: &mut impl Rng) {
    let sd = schedule.prior_var().sqrt();
    for v in x.iter_mut() {
        let z: f64 = rng.sample(StandardNormal);
        *v = (sd * z) as f32;
    }
}

/// Fills `x` with the prior's quantiles at `(i + ½)/n` instead of random draws: pushed through a
/// deterministic sampler of a 1D model, whose flow map is monotone (paths of an ODE cannot
/// cross), they become the generated distribution's own quantiles, so a distance measured on
/// them carries no Monte Carlo noise (10,000 random draws move a two-mode split by ±0.5%, which
/// alone moves W₁ by ±0.02).
pub fn prior_quantiles(schedule: &Schedule, x: &mut [f32]) {
    let sd = schedule.prior_var().sqrt();
    let n = x.len();
    for (i, v) in x.iter_mut().enumerate() {
        let p = (i as f64 + 0.5) / n as f64;
        *v = (sd * standard_normal_quantile(p)) as f32;
    }
}

/// The standard normal quantile `Φ⁻¹(p)` for `p` in (0, 1), by bisection on `Φ` (erf) to
/// double precision.
pub fn standard_normal_quantile(p: f64) -> f64 {
    let cdf = |z: f64| 0.5 * (1.0 + libm::erf(z / std::f64::consts::SQRT_2));
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    0.5 * (lo + hi)
}

impl Sampler {
    /// Number of score evaluations one run costs.
    pub fn evaluations(&self) -> usize {
        match self.kind {
            SamplerKind::EulerMaruyama { .. }
            | SamplerKind::Ancestral
            | SamplerKind::Ddim
            | SamplerKind::DpmSolver2M => self.steps,
            SamplerKind::HeunOde => 2 * self.steps - 1,
        }
    }

    /// Integrates `x` (already holding prior draws) from `t_max` to `T_MIN` in place on the
    /// sampler's grid ([`Sampler::times`]).
    ///
    /// `score(x, t)` returns the score at every element; `observe(k, t, x)` sees the state at
    /// every grid time (k = 0 is the prior draw), the natural seam for recording paths and for
    /// live plots (as k-diffusion's callback).
    pub async fn run<S, O>(
        &self,
        schedule: &Schedule,
        x: &mut [f32],
        rng: &mut impl Rng,
        score: &mut S,
        observe: O,
    ) where
        S: AsyncFnMut(&[f32], f64) -> Vec<f32>,
        O: FnMut(usize, f64, &[f32]),
    {
        let times = self.times(schedule);
        self.run_on(schedule, &times, x, rng, score, observe).await
    }

    /// The time grid this sampler steps on: uniform in λ for DPM-Solver++ ([`log_snr_times`]),
    /// the lab's quadratic grid ([`reverse_times`]) for the others.
    pub fn times(&self, schedule: &Schedule) -> Vec<f64> {
        match self.kind {
            SamplerKind::DpmSolver2M => log_snr_times(schedule, self.steps),
            _ => reverse_times(schedule, self.steps),
        }
    }

    /// As [`Sampler::run`] on a given decreasing grid of `steps + 1` times.
    pub async fn run_on<S, O>(
        &self,
        schedule: &Schedule,
        times: &[f64],
        x: &mut [f32],
        rng: &mut impl Rng,
        score: &mut S,
        mut observe: O,
    ) where
        S: AsyncFnMut(&[f32], f64) -> Vec<f32>,
        O: FnMut(usize, f64, &[f32]),
    {
        assert_eq!(times.len(), self.steps + 1, "a grid of steps + 1 times");
        observe(0, times[0], x);
        // DPM-Solver++(2M)'s memory: the last step's x̂₀ and its λ step.
        let mut previous: Option<(Vec<f64>, f64)> = None;
        for k in 0..self.steps {
            let (t, t_next) = (times[k], times[k + 1]);
            let h = t - t_next; // positive step backwards in time
            let (f, g2) = (schedule.drift(t), schedule.diffusion2(t));
            let s = score(x, t).await;
            match self.kind {
                SamplerKind::EulerMaruyama { a } => {
                    let noise_sd = ((2.0 * a - 1.0).max(0.0) * g2 * h).sqrt();
                    for (xi, si) in x.iter_mut().zip(&s) {
                        let drift = f * *xi as f64 - a * g2 * *si as f64;
                        let mut next = *xi as f64 - h * drift;
                        if noise_sd > 0.0 {
                            let z: f64 = rng.sample(StandardNormal);
                            next += noise_sd * z;
                        }
                        *xi = next as f32;
                    }
                }
                SamplerKind::Ancestral | SamplerKind::Ddim => {
                    let (m_t, m_s) = (Marginal::at(schedule, t), Marginal::at(schedule, t_next));
                    let (s_t, a_s, s_s) = (m_t.sigma, m_s.alpha, m_s.sigma);
                    let a_ts = m_t.alpha / a_s;
                    let s2_ts = (s_t * s_t - a_ts * a_ts * s_s * s_s).max(0.0);
                    let ancestral = self.kind == SamplerKind::Ancestral;
                    let noise_sd = if ancestral && k + 1 < self.steps {
                        (s2_ts * s_s * s_s / (s_t * s_t)).sqrt()
                    } else {
                        0.0
                    };
                    for (xi, si) in x.iter_mut().zip(&s) {
                        let (xt, score) = (*xi as f64, *si as f64);
                        let x0 = m_t.x0_from_score(xt, score);
                        let mut next = if ancestral {
                            (a_ts * s_s * s_s * xt + a_s * s2_ts * x0) / (s_t * s_t)
                        } else {
                            a_s * x0 + s_s * m_t.eps_from_score(score)
                        };
                        if noise_sd > 0.0 {
                            let z: f64 = rng.sample(StandardNormal);
                            next += noise_sd * z;
                        }
                        *xi = next as f32;
                    }
                }
                SamplerKind::DpmSolver2M => {
                    let (m_t, m_s) = (Marginal::at(schedule, t), Marginal::at(schedule, t_next));
                    let step = m_s.log_snr_half() - m_t.log_snr_half();
                    let x0: Vec<f64> = x
                        .iter()
                        .zip(&s)
                        .map(|(&xi, &si)| m_t.x0_from_score(xi as f64, si as f64))
                        .collect();
                    // (1 + 1/2r, −1/2r) on this and the previous x̂₀; (1, 0) on the first step.
                    let (w_now, w_prev) = match &previous {
                        Some((_, prev_step)) => {
                            let r = prev_step / step;
                            (1.0 + 0.5 / r, -0.5 / r)
                        }
                        None => (1.0, 0.0),
                    };
                    let ratio = m_s.sigma / m_t.sigma;
                    // −α_s (e^{−h} − 1), with expm1 for small steps.
                    let gain = -m_s.alpha * (-step).exp_m1();
                    for (i, xi) in x.iter_mut().enumerate() {
                        let prev_x0 = previous.as_ref().map_or(0.0, |(p, _)| p[i]);
                        let d = w_now * x0[i] + w_prev * prev_x0;
                        *xi = (ratio * *xi as f64 + gain * d) as f32;
                    }
                    previous = Some((x0, step));
                }
                SamplerKind::HeunOde => {
                    let velocity =
                        |x: f32, s: f32, f: f64, g2: f64| f * x as f64 - 0.5 * g2 * s as f64;
                    let v0: Vec<f64> = x
                        .iter()
                        .zip(&s)
                        .map(|(&xi, &si)| velocity(xi, si, f, g2))
                        .collect();
                    let euler: Vec<f32> = x
                        .iter()
                        .zip(&v0)
                        .map(|(&xi, &vi)| (xi as f64 - h * vi) as f32)
                        .collect();
                    if k + 1 == self.steps {
                        // Last step: plain Euler, as in Karras et al. (2022), avoiding a score
                        // evaluation at the very end of the grid.
                        x.copy_from_slice(&euler);
                    } else {
                        let (f1, g21) = (schedule.drift(t_next), schedule.diffusion2(t_next));
                        let s1 = score(&euler, t_next).await;
                        for (i, xi) in x.iter_mut().enumerate() {
                            let v1 = velocity(euler[i], s1[i], f1, g21);
                            *xi = (*xi as f64 - 0.5 * h * (v0[i] + v1)) as f32;
                        }
                    }
                }
            }
            observe(k + 1, t_next, x);
        }
    }
}
