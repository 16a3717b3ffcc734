//! The forward (noising) process of a [`Schedule`], in closed form and as sample paths.

use rand::Rng;
use rand_distr::StandardNormal;

use super::Schedule;

/// Draws `x_t = alpha_t x_0 + sigma_t eps` with `eps ~ N(0, 1)`, returning `(x_t, eps)`.
/// This is the closed-form marginal of the forward SDE given `x_0` (seed 002).
pub fn noise(schedule: &Schedule, x0: f64, t: f64, rng: &mut impl Rng) -> (f64, f64) {
    let eps: f64 = rng.sample(StandardNormal);
    (schedule.alpha(t) * x0 + schedule.sigma(t) * eps, eps)
}

/// The uniform time grid `0 = t_0 < ... < t_steps = T` used for forward paths.
pub fn time_grid(t_end: f64, steps: usize) -> Vec<f64> {
    (0..=steps)
        .map(|k| t_end * k as f64 / steps as f64)
        .collect()
}

/// One sample path of the forward process on `times`, started at `x0`.
///
/// Each step uses the exact Gaussian transition of the linear SDE,
/// `x_s | x_t ~ N((alpha_s/alpha_t) x_t, sigma_s^2 - (alpha_s/alpha_t)^2 sigma_t^2)`,
/// so the path has exactly the marginals `N(alpha_t x0, sigma_t^2)` at any step size.
pub fn path(schedule: &Schedule, x0: f64, times: &[f64], rng: &mut impl Rng) -> Vec<f64> {
    let mut out = Vec::with_capacity(times.len());
    let mut x = x0;
    let mut prev: Option<f64> = None;
    for &t in times {
        if let Some(tp) = prev {
            let ratio = schedule.alpha(t) / schedule.alpha(tp);
            let var =
                (schedule.sigma(t).powi(2) - ratio * ratio * schedule.sigma(tp).powi(2)).max(0.0);
            let z: f64 = rng.sample(StandardNormal);
            x = ratio * x + var.sqrt() * z;
        }
        out.push(x);
        prev = Some(t);
    }
    out
}
