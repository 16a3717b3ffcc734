//! Noise schedules: how signal and noise mix over time.
//!
//! Every schedule is described by the two functions of the lecture notes (seed 002):
//! `x_t | x_0 ~ N(alpha_t x_0, sigma_t^2)`. The forward SDE they imply is
//! `dx = f(t) x dt + g(t) dW` with
//!   `f(t) = d/dt log alpha_t`                 (the notes' `-lambda_t`),
//!   `g(t)^2 = sigma_t^2 d/dt log(sigma_t^2 / alpha_t^2)`.
//! Both are written once here, from `alpha` and `sigma` and their derivatives, so a new
//! schedule is one new variant with four short formulas.

use serde::{Deserialize, Serialize};

/// A forward noising schedule.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// The Ornstein–Uhlenbeck process of the tutorial (seed 000, eq. 1):
    /// `dx = -x dt + sqrt(2D) dW` on `[0, T]`, so `alpha = e^{-t}`, `sigma^2 = D (1 - e^{-2t})`.
    Ou { d: f64, t_max: f64 },
    /// Variance-preserving process with a linear beta schedule (Ho et al. 2020; Song et al. 2021):
    /// `beta(t) = beta_min + t (beta_max - beta_min)` on `[0, 1]`.
    VpLinear { beta_min: f64, beta_max: f64 },
    /// Variance-preserving process with the cosine schedule of Nichol & Dhariwal (2021):
    /// `alpha_bar(t) = cos^2(pi/2 (t+s)/(1+s)) / cos^2(pi/2 s/(1+s))`.
    VpCosine { s: f64 },
    /// Flow matching / rectified flow (seed 002): `alpha = 1 - t`, `sigma = t`.
    FlowMatching,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::Ou { d: 1.0, t_max: 5.0 }
    }
}

/// The earliest time the samplers integrate to and training draws from. Every schedule here has
/// `sigma_0 = 0`, where a learned score (noise prediction divided by sigma) is singular; like
/// Song et al. (2021) we stop at a small positive time.
pub const T_MIN: f64 = 1e-3;

impl Schedule {
    /// Short machine name used in URLs and the CLI.
    pub fn name(&self) -> &'static str {
        match self {
            Schedule::Ou { .. } => "ou",
            Schedule::VpLinear { .. } => "vp-linear",
            Schedule::VpCosine { .. } => "vp-cosine",
            Schedule::FlowMatching => "flow",
        }
    }

    /// Human-readable name for plots.
    pub fn label(&self) -> String {
        match self {
            Schedule::Ou { d, t_max } => format!("Ornstein–Uhlenbeck (D = {d}, T = {t_max})"),
            Schedule::VpLinear { beta_min, beta_max } => {
                format!("VP linear (β from {beta_min} to {beta_max})")
            }
            Schedule::VpCosine { s } => format!("VP cosine (s = {s})"),
            Schedule::FlowMatching => "flow matching (α = 1 − t, σ = t)".to_string(),
        }
    }

    /// The time the forward process runs to and the reverse process starts from.
    ///
    /// For the cosine and flow-matching schedules `alpha` reaches 0 at t = 1, where `f(t)` and
    /// `g(t)^2` diverge; we stop slightly before, and the sampler starts from the prior, so the
    /// small mismatch between `p_T` and the prior is visible in the terminal-marginal plot.
    pub fn t_max(&self) -> f64 {
        match self {
            Schedule::Ou { t_max, .. } => *t_max,
            Schedule::VpLinear { .. } => 1.0,
            Schedule::VpCosine { .. } => 0.99,
            Schedule::FlowMatching => 0.99,
        }
    }

    /// Variance of the Gaussian prior the reverse process starts from: the stationary
    /// distribution of the forward process (`D` for OU, 1 otherwise).
    pub fn prior_var(&self) -> f64 {
        match self {
            Schedule::Ou { d, .. } => *d,
            _ => 1.0,
        }
    }

    /// `log alpha_t` and its time derivative.
    fn log_alpha_and_rate(&self, t: f64) -> (f64, f64) {
        match *self {
            Schedule::Ou { .. } => (-t, -1.0),
            Schedule::VpLinear { beta_min, beta_max } => {
                // log alpha = -1/2 ∫_0^t beta(s) ds.
                let integral = beta_min * t + 0.5 * (beta_max - beta_min) * t * t;
                let beta = beta_min + (beta_max - beta_min) * t;
                (-0.5 * integral, -0.5 * beta)
            }
            Schedule::VpCosine { s } => {
                let phase = |t: f64| std::f64::consts::FRAC_PI_2 * (t + s) / (1.0 + s);
                let (p, p0) = (phase(t), phase(0.0));
                let log_alpha = p.cos().ln() - p0.cos().ln();
                let rate = -p.tan() * std::f64::consts::FRAC_PI_2 / (1.0 + s);
                (log_alpha, rate)
            }
            Schedule::FlowMatching => ((1.0 - t).ln(), -1.0 / (1.0 - t)),
        }
    }

    /// Signal coefficient `alpha_t`.
    pub fn alpha(&self, t: f64) -> f64 {
        self.log_alpha_and_rate(t).0.exp()
    }

    /// Noise variance `sigma_t^2` and its time derivative.
    fn sigma2_and_rate(&self, t: f64) -> (f64, f64) {
        match *self {
            Schedule::Ou { d, .. } => {
                let e = (-2.0 * t).exp();
                (d * (1.0 - e), 2.0 * d * e)
            }
            Schedule::VpLinear { .. } | Schedule::VpCosine { .. } => {
                // Variance preserving: sigma^2 = 1 - alpha^2.
                let (la, rate) = self.log_alpha_and_rate(t);
                let a2 = (2.0 * la).exp();
                (1.0 - a2, -2.0 * rate * a2)
            }
            Schedule::FlowMatching => (t * t, 2.0 * t),
        }
    }

    /// Noise scale `sigma_t`.
    pub fn sigma(&self, t: f64) -> f64 {
        self.sigma2_and_rate(t).0.max(0.0).sqrt()
    }

    /// Drift coefficient `f(t) = d/dt log alpha_t` of the forward SDE `dx = f x dt + g dW`.
    pub fn drift(&self, t: f64) -> f64 {
        self.log_alpha_and_rate(t).1
    }

    /// Squared diffusion coefficient `g(t)^2 = d sigma^2/dt - 2 f sigma^2`
    /// (the notes' `sigma^2 d/dt log(sigma^2/alpha^2)`, multiplied out so it stays finite at t = 0).
    pub fn diffusion2(&self, t: f64) -> f64 {
        let (s2, ds2) = self.sigma2_and_rate(t);
        ds2 - 2.0 * self.drift(t) * s2
    }

    /// Every schedule the page offers, with default parameters.
    pub fn all_defaults() -> [Schedule; 4] {
        [
            Schedule::default(),
            Schedule::VpLinear {
                beta_min: 0.1,
                beta_max: 20.0,
            },
            Schedule::VpCosine { s: 0.008 },
            Schedule::FlowMatching,
        ]
    }
}
