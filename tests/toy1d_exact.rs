//! The 1D toy against its exact mathematics: schedules, forward marginals, the exact score, and
//! every sampler driven by the exact score.

use difflab::diffusion::forward;
use difflab::diffusion::sampler::draw_prior;
use difflab::diffusion::schedule::T_MIN;
use difflab::diffusion::{Sampler, SamplerKind, Schedule};
use difflab::models::toy1d::mixture::{Component, Mixture};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn schedules() -> [Schedule; 4] {
    Schedule::all_defaults()
}

#[test]
fn schedules_satisfy_their_identities() {
    for s in schedules() {
        assert!((s.alpha(0.0) - 1.0).abs() < 1e-12, "{s:?}: alpha_0 = 1");
        assert!(s.sigma(0.0).abs() < 1e-12, "{s:?}: sigma_0 = 0");
        let t_end = s.t_max();
        for k in 1..50 {
            let t = t_end * k as f64 / 50.0;
            let h = 1e-5;
            // f = d/dt log alpha, by central differences.
            let fd = (s.alpha(t + h).ln() - s.alpha(t - h).ln()) / (2.0 * h);
            assert!(
                (fd - s.drift(t)).abs() < 1e-5 * (1.0 + fd.abs()),
                "{s:?} drift at {t}: {fd} vs {}",
                s.drift(t)
            );
            // g^2 = sigma^2 d/dt log(sigma^2/alpha^2) (lecture notes, seed 002).
            let lr = |t: f64| (s.sigma(t).powi(2) / s.alpha(t).powi(2)).ln();
            let g2 = s.sigma(t).powi(2) * (lr(t + h) - lr(t - h)) / (2.0 * h);
            assert!(
                (g2 - s.diffusion2(t)).abs() < 1e-4 * (1.0 + g2.abs()),
                "{s:?} g^2 at {t}: {g2} vs {}",
                s.diffusion2(t)
            );
            assert!(s.diffusion2(t) > 0.0, "signal-to-noise ratio must decrease");
            // The schedule-specific closed forms.
            match s {
                Schedule::Ou { d, .. } => {
                    assert!((s.alpha(t) - (-t).exp()).abs() < 1e-12);
                    assert!((s.sigma(t).powi(2) - d * (1.0 - (-2.0 * t).exp())).abs() < 1e-12);
                    assert!((s.diffusion2(t) - 2.0 * d).abs() < 1e-9, "OU: g^2 = 2D");
                }
                Schedule::VpLinear { .. } | Schedule::VpCosine { .. } => {
                    assert!(
                        (s.alpha(t).powi(2) + s.sigma(t).powi(2) - 1.0).abs() < 1e-12,
                        "variance preserving"
                    );
                }
                Schedule::FlowMatching => {
                    assert!(
                        (s.alpha(t) - (1.0 - t)).abs() < 1e-12 && (s.sigma(t) - t).abs() < 1e-12
                    );
                }
            }
        }
    }
    // The OU process reaches its stationary variance D.
    let ou = Schedule::Ou {
        d: 1.7,
        t_max: 20.0,
    };
    assert!((ou.sigma(20.0).powi(2) - 1.7).abs() < 1e-9 && ou.prior_var() == 1.7);
}

#[test]
fn forward_paths_have_the_exact_marginals() {
    let mixture = Mixture::default();
    let mut rng = StdRng::seed_from_u64(7);
    for s in schedules() {
        let times = forward::time_grid(s.t_max(), 50);
        let n = 20_000;
        let mut at: Vec<Vec<f32>> = vec![Vec::with_capacity(n); times.len()];
        for _ in 0..n {
            let x0 = mixture.sample(&mut rng);
            for (k, x) in forward::path(&s, x0, &times, &mut rng)
                .into_iter()
                .enumerate()
            {
                at[k].push(x as f32);
            }
        }
        for &k in &[0usize, 5, 25, 50] {
            let exact = mixture.marginal(&s, times[k]);
            let w1 = exact.wasserstein1(&at[k]);
            // Sampling noise of W1 at n = 20,000 is about 0.015 for this mixture.
            assert!(w1 < 0.035, "{s:?} at t = {}: W1 = {w1}", times[k]);
        }
        // And the check can fail: the t = 0 samples are far from the terminal marginal.
        let far = mixture.marginal(&s, s.t_max()).wasserstein1(&at[0]);
        assert!(
            far > 0.5,
            "{s:?}: W1 between data and p_T should be large, got {far}"
        );
    }
}

#[test]
fn exact_score_is_the_derivative_of_the_exact_log_density() {
    let mixture = Mixture::new(vec![
        Component {
            weight: 0.3,
            mean: -1.5,
            width: 0.3,
        },
        Component {
            weight: 0.5,
            mean: 1.0,
            width: 0.7,
        },
        Component {
            weight: 0.2,
            mean: 3.0,
            width: 0.2,
        },
    ])
    .unwrap();
    for s in schedules() {
        for &t in &[0.0, 0.01, 0.3, 0.9 * s.t_max()] {
            // The density integrates to one.
            let mass: f64 = (0..40_000)
                .map(|i| mixture.density(&s, t, -20.0 + i as f64 * 1e-3) * 1e-3)
                .sum();
            assert!((mass - 1.0).abs() < 1e-6, "{s:?} t={t}: mass {mass}");
            for i in 0..60 {
                let x = -6.0 + 0.2 * i as f64;
                let h = 1e-5;
                let fd = (mixture.log_density(&s, t, x + h) - mixture.log_density(&s, t, x - h))
                    / (2.0 * h);
                let sc = mixture.score(&s, t, x);
                assert!(
                    (fd - sc).abs() < 1e-4 * (1.0 + sc.abs()),
                    "{s:?} t={t} x={x}: {fd} vs {sc}"
                );
            }
        }
    }
    // Far in the tails the score stays finite (log-sum-exp).
    assert!(mixture.score(&Schedule::default(), 0.0, 60.0).is_finite());
}

#[test]
fn wasserstein_distance_is_zero_for_exact_quantiles_and_detects_shifts() {
    let m = Mixture::default();
    // Quantile samples of the mixture itself: W1 is only the quantisation error.
    let n = 20_000;
    let q: Vec<f32> = (0..n)
        .map(|i| {
            let u = (i as f64 + 0.5) / n as f64;
            let (mut lo, mut hi) = (-10.0, 10.0);
            for _ in 0..80 {
                let mid = 0.5 * (lo + hi);
                if m.cdf(mid) < u {
                    lo = mid
                } else {
                    hi = mid
                }
            }
            (0.5 * (lo + hi)) as f32
        })
        .collect();
    assert!(m.wasserstein1(&q) < 2e-3);
    // A shift by c moves W1 by exactly c.
    let shifted: Vec<f32> = q.iter().map(|v| v + 0.3).collect();
    assert!((m.wasserstein1(&shifted) - 0.3).abs() < 3e-3);
    assert!(m.wasserstein1(&[f32::NAN]).is_infinite());
}

fn exact_sample(
    s: &Schedule,
    m: &Mixture,
    kind: SamplerKind,
    steps: usize,
    n: usize,
    seed: u64,
) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut x = vec![0.0f32; n];
    draw_prior(s, &mut x, &mut rng);
    let sampler = Sampler { kind, steps };
    let mut score = async |xs: &[f32], t: f64| {
        xs.iter()
            .map(|&v| m.score(s, t, v as f64) as f32)
            .collect::<Vec<f32>>()
    };
    pollster::block_on(sampler.run(s, &mut x, &mut rng, &mut score, |_, _, _| {}));
    x
}

#[test]
fn every_sampler_on_the_exact_score_reproduces_the_mixture() {
    let m = Mixture::default();
    let n = 10_000;
    let kinds = [
        SamplerKind::SDE,
        SamplerKind::ODE_EULER,
        SamplerKind::HeunOde,
        SamplerKind::EulerMaruyama { a: 0.75 },
        SamplerKind::Ancestral,
        SamplerKind::Ddim,
        SamplerKind::DpmSolver2M,
    ];
    for s in schedules() {
        for kind in kinds {
            let steps = match kind {
                SamplerKind::HeunOde | SamplerKind::Ddim => 100,
                // Second order, uniform in λ: 20 evaluations where Euler needs hundreds.
                SamplerKind::DpmSolver2M => 20,
                _ => 500,
            };
            let x = exact_sample(&s, &m, kind, steps, n, 11);
            let w1 = m.wasserstein1(&x);
            // n = 10,000 alone gives W1 ≈ 0.02; discretisation must stay well inside 0.05.
            assert!(w1 < 0.05, "{} / {kind:?}: W1 = {w1}", s.name());
            eprintln!("{:10} {:40} W1 = {w1:.4}", s.name(), kind.label());
        }
    }
}

#[test]
fn too_few_steps_or_a_wrong_score_are_detected() {
    // The bound above is not vacuous: a zero score leaves the prior, which is far from the data.
    let s = Schedule::default();
    let m = Mixture::default();
    let mut rng = StdRng::seed_from_u64(3);
    let mut x = vec![0.0f32; 5000];
    draw_prior(&s, &mut x, &mut rng);
    let mut zero = async |xs: &[f32], _t: f64| vec![0.0f32; xs.len()];
    pollster::block_on(
        Sampler {
            kind: SamplerKind::SDE,
            steps: 200,
        }
        .run(&s, &mut x, &mut rng, &mut zero, |_, _, _| {}),
    );
    assert!(m.wasserstein1(&x) > 0.5);
    // Two Euler steps of the ODE are far too coarse, and so are two of DPM-Solver++.
    let coarse = exact_sample(&s, &m, SamplerKind::ODE_EULER, 2, 5000, 5);
    assert!(m.wasserstein1(&coarse) > 0.1);
    let coarse = exact_sample(&s, &m, SamplerKind::DpmSolver2M, 2, 5000, 5);
    assert!(m.wasserstein1(&coarse) > 0.1);
    let _ = T_MIN;
}

#[test]
fn a_drawn_density_becomes_a_mixture_whose_density_is_the_drawing() {
    // A trapezoid with a notch, drawn on 48 bins from -4 to 4.
    let centers: Vec<f64> = (0..48).map(|j| -4.0 + (j as f64 + 0.5) / 6.0).collect();
    let heights: Vec<f64> = centers
        .iter()
        .map(|&x| {
            let base = (1.5 - 0.5 * x.abs()).clamp(0.0, 1.0);
            if (x - 0.9).abs() < 0.3 {
                0.3 * base
            } else {
                base
            }
        })
        .collect();
    let m = Mixture::from_curve(&centers, &heights).unwrap();
    let s = Schedule::default();
    let area: f64 = heights.iter().sum::<f64>() / 6.0;
    // Away from the drawing's kinks the mixture's density is the drawn height over its area.
    for (&x, &h) in centers.iter().zip(&heights) {
        let near_kink = [-3.0, -1.0, 0.6, 1.2, 1.0, 3.0]
            .iter()
            .any(|k| (x - k).abs() < 0.45);
        if !near_kink {
            let d = m.density(&s, 0.0, x);
            assert!(
                (d - h / area).abs() < 0.02 + 0.03 * h / area,
                "x = {x}: density {d}, drawn {}",
                h / area
            );
        }
    }
    // The exact machinery holds for it: the Heun ODE on its exact score reproduces it.
    let x = exact_sample(&s, &m, SamplerKind::HeunOde, 100, 10_000, 4);
    let w1 = m.wasserstein1(&x);
    eprintln!(
        "drawn density: {} components, W1 of exact-score Heun {w1:.4}",
        m.components().len()
    );
    assert!(w1 < 0.04, "W1 {w1}");
    // Nothing drawn, or bad bins: refused.
    assert!(Mixture::from_curve(&centers, &vec![0.0; 48]).is_err());
    assert!(Mixture::from_curve(&centers[..1], &heights[..1]).is_err());
}

/// The sampler table names every sampler once, and names round-trip to the same kind.
#[test]
fn sampler_table_round_trips_names() {
    use difflab::diffusion::SAMPLERS;
    for (i, e) in SAMPLERS.iter().enumerate() {
        assert!(
            SAMPLERS[..i].iter().all(|o| o.name != e.name),
            "{} twice",
            e.name
        );
        let kind = (e.kind)(0.8);
        assert_eq!(SamplerKind::from_name(e.name, 0.8), Some(kind));
        assert_eq!(kind.name(), e.name);
    }
    assert_eq!(SamplerKind::from_name("euler", 1.0), None);
}

/// The prior's quantiles pushed through the probability-flow ODE are the generated
/// distribution's quantiles: on the exact score of the symmetric mixture the split between the
/// modes is exact and W₁ sits far below that of random draws, whose mode counts alone move it.
#[test]
fn prior_quantiles_remove_the_monte_carlo_noise_of_a_deterministic_sampler() {
    use difflab::diffusion::sampler::standard_normal_quantile;
    use difflab::models::toy1d::views::{run_sampler, Evaluation, Start};
    assert!((standard_normal_quantile(0.975) - 1.959_963_985).abs() < 1e-8);
    assert!((standard_normal_quantile(0.5)).abs() < 1e-12);
    assert!((standard_normal_quantile(0.001) + 3.090_232_306).abs() < 1e-8);
    let (s, m) = (Schedule::default(), Mixture::default());
    let device = burn::prelude::Device::flex();
    let pause = difflab::pacing::no_pause();
    let sampler = Sampler {
        kind: SamplerKind::HeunOde,
        steps: 100,
    };
    let run = |start, seed| {
        pollster::block_on(run_sampler(
            None,
            &m,
            &s,
            &device,
            sampler,
            10_000,
            0,
            seed,
            Evaluation::Direct,
            start,
            &pause,
        ))
        .0
    };
    let q = run(Start::Quantiles, 1);
    let right = q.iter().filter(|&&v| v > 0.0).count();
    assert_eq!(right, 5000, "the symmetric split is exact");
    let w_q = m.wasserstein1(&q);
    let w_draws: Vec<f64> = (1..=4)
        .map(|seed| m.wasserstein1(&run(Start::Draws, seed)))
        .collect();
    eprintln!("exact-score Heun ODE W1: quantiles {w_q:.4}, random draws {w_draws:?}");
    assert!(w_q < 0.01, "{w_q}");
    assert!(w_draws.iter().all(|&w| w > w_q), "{w_draws:?} vs {w_q}");
    // The order is shuffled (the first particles, drawn as paths, are not the left tail) and
    // does not change the distribution.
    assert!(q[..100].iter().any(|&v| v > 0.0) && q[..100].iter().any(|&v| v < 0.0));
    let mut sorted = run(Start::Quantiles, 2);
    let mut q_sorted = q.clone();
    sorted.sort_by(f32::total_cmp);
    q_sorted.sort_by(f32::total_cmp);
    assert_eq!(sorted, q_sorted);
}

/// The terminal panel's histogram is drawn from the forward process's terminal marginal: one
/// `x_T` per data draw, as many as the data draws, distributed as the exact `p_T` (W₁ at the
/// noise floor of 5,000 draws), not as the data; and on every schedule.
#[test]
fn terminal_samples_follow_the_exact_terminal_marginal() {
    use difflab::models::toy1d::mixture::PairSource;
    use difflab::models::toy1d::views::ExactViews;
    let mixture = Mixture::default();
    for schedule in Schedule::all_defaults() {
        let mut rng = StdRng::seed_from_u64(5);
        let views = ExactViews::compute(&mixture, &schedule, &PairSource::Fresh, &mut rng);
        let ends = &views.terminal_samples;
        assert_eq!(ends.len(), views.data_x0.len());
        assert!(ends.len() >= 5000, "{}", ends.len());
        let p_t = mixture.marginal(&schedule, schedule.t_max());
        let w = p_t.wasserstein1(ends);
        assert!(w < 0.04, "{}: W1 to p_T {w}", schedule.name());
        // Not the data: the two modes at ±2 are far from p_T.
        assert!(mixture.wasserstein1(ends) > 0.5, "{}", schedule.name());
    }
}
