//! Conversions between what a network may predict: the noise `ε̂`, the clean data `x̂₀`, or the
//! score `s = ∇ log p_t`. With `x_t = α_t x₀ + σ_t ε` (seed 002), the three are one quantity
//! in three coordinates:
//!
//! - `s = −ε̂ / σ_t` (Ho et al. 2020; Song et al. 2021),
//! - `x̂₀ = (x_t − σ_t ε̂) / α_t`, and Tweedie's formula `x̂₀ = (x_t + σ_t² s) / α_t`,
//! - `s = −(x_t − α_t x̂₀) / σ_t²` (the tutorial's eq. 8 target with `x₀` replaced by `x̂₀`).
//!
//! Every model and sampler converts through [`Marginal`]: written once, tested once.

use super::Schedule;

/// The forward marginal's coefficients at one time: `x_t | x₀ ~ N(α x₀, σ²)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Marginal {
    pub alpha: f64,
    pub sigma: f64,
}

impl Marginal {
    /// `α_t` and `σ_t` of `schedule` at `t`.
    pub fn at(schedule: &Schedule, t: f64) -> Marginal {
        Marginal {
            alpha: schedule.alpha(t),
            sigma: schedule.sigma(t),
        }
    }

    /// The score from a noise prediction: `s = −ε̂ / σ`.
    pub fn score_from_eps(&self, eps: f64) -> f64 {
        -eps / self.sigma
    }

    /// The noise prediction from a score: `ε̂ = −σ s`.
    pub fn eps_from_score(&self, score: f64) -> f64 {
        -self.sigma * score
    }

    /// The clean-data estimate from a noise prediction: `x̂₀ = (x_t − σ ε̂) / α`.
    pub fn x0_from_eps(&self, xt: f64, eps: f64) -> f64 {
        (xt - self.sigma * eps) / self.alpha
    }

    /// Tweedie's formula: `x̂₀ = E[x₀ | x_t] = (x_t + σ² s) / α`.
    pub fn x0_from_score(&self, xt: f64, score: f64) -> f64 {
        (xt + self.sigma * self.sigma * score) / self.alpha
    }

    /// The score of the Gaussian around a clean-data estimate: `s = −(x_t − α x̂₀) / σ²`.
    pub fn score_from_x0(&self, xt: f64, x0: f64) -> f64 {
        -(xt - self.alpha * x0) / (self.sigma * self.sigma)
    }

    /// The half log signal-to-noise ratio `λ = log(α / σ)` that DPM-Solver steps in
    /// (Lu et al. 2022).
    pub fn log_snr_half(&self) -> f64 {
        (self.alpha / self.sigma).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three coordinates agree: eps → score → x0 and eps → x0 → score meet.
    #[test]
    fn conversions_are_consistent() {
        for schedule in Schedule::all_defaults() {
            for &t in &[0.01, 0.3, 0.9] {
                let m = Marginal::at(&schedule, t);
                let (xt, eps) = (0.7, -1.3);
                let s = m.score_from_eps(eps);
                assert!((m.eps_from_score(s) - eps).abs() < 1e-12);
                let x0 = m.x0_from_eps(xt, eps);
                assert!((m.x0_from_score(xt, s) - x0).abs() < 1e-9);
                assert!((m.score_from_x0(xt, x0) - s).abs() < 1e-9 * s.abs().max(1.0));
                // x_t = α x̂₀ + σ ε̂ reconstructs the input.
                assert!((m.alpha * x0 + m.sigma * eps - xt).abs() < 1e-12);
            }
        }
    }
}
