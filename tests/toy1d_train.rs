//! The trained score network against the exact score, and samples from it against the data.

use burn::prelude::Device;
use difflab::diffusion::sampler::{draw_prior, TimeDraw};
use difflab::diffusion::{Sampler, SamplerKind, Schedule};
use difflab::models::toy1d::mixture::{Mixture, PairSource};
use difflab::models::toy1d::train::{ScoreModel, ScoreTable, TrainConfig, Trainer, Weighting};
use difflab::nn::Activation;
use difflab::run::{diverged, Training};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn trained(config: TrainConfig, steps: u64) -> (ScoreModel, Device) {
    let device = Device::flex();
    let mixture = Mixture::default();
    let mut trainer = Trainer::new(config, Schedule::default(), mixture.variance(), &device);
    for _ in 0..steps {
        trainer.step_on(&PairSource::Fresh, &mixture);
    }
    (trainer.inference_model(), device)
}

/// Root-mean-square error of the learned score under p_t, relative to the exact score's RMS.
fn relative_score_error(model: &ScoreModel, device: &Device, t: f64) -> f64 {
    let mixture = Mixture::default();
    let marginal = mixture.marginal(&model.schedule, t);
    let mut rng = StdRng::seed_from_u64(5);
    let xs: Vec<f32> = (0..4000)
        .map(|_| marginal.sample(&mut rng) as f32)
        .collect();
    let learned = pollster::block_on(model.score(&xs, t, device));
    let (mut err, mut norm) = (0.0, 0.0);
    for (&x, &l) in xs.iter().zip(&learned) {
        let e = mixture.score(&model.schedule, t, x as f64);
        err += (l as f64 - e).powi(2);
        norm += e * e;
    }
    (err / norm).sqrt()
}

fn sample(
    model: &ScoreModel,
    device: &Device,
    kind: SamplerKind,
    steps: usize,
    n: usize,
) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(9);
    let mut x = vec![0.0f32; n];
    draw_prior(&model.schedule, &mut x, &mut rng);
    let mut score = async |xs: &[f32], t: f64| model.score(xs, t, device).await;
    pollster::block_on(Sampler { kind, steps }.run(
        &model.schedule,
        &mut x,
        &mut rng,
        &mut score,
        |_, _, _| {},
    ));
    x
}

#[test]
fn trained_network_matches_the_exact_score_and_generates_the_mixture() {
    let (model, device) = trained(TrainConfig::default(), 3000);
    let errors: Vec<(f64, f64)> = [0.05, 0.2, 0.5, 1.0, 2.0, 4.0]
        .iter()
        .map(|&t| (t, relative_score_error(&model, &device, t)))
        .collect();
    eprintln!("relative RMS score error by t: {errors:?}");
    let mixture = Mixture::default();
    let w1s: Vec<f64> = [(SamplerKind::SDE, 200), (SamplerKind::HeunOde, 100)]
        .iter()
        .map(|&(kind, steps)| mixture.wasserstein1(&sample(&model, &device, kind, steps, 10_000)))
        .collect();
    eprintln!("W1 (SDE, ODE): {w1s:?}");
    // The page's tabulated network (512 positions per sampler time) samples what the network does.
    let times = difflab::diffusion::sampler::reverse_times(&model.schedule, 200);
    let table = pollster::block_on(ScoreTable::build(
        &model,
        &device,
        &times,
        (-15.0, 15.0),
        512,
        async || {},
    ));
    let mut rng = StdRng::seed_from_u64(9);
    let mut x = vec![0.0f32; 10_000];
    draw_prior(&model.schedule, &mut x, &mut rng);
    let mut score = async |xs: &[f32], t: f64| table.at(t, xs);
    pollster::block_on(
        Sampler {
            kind: SamplerKind::SDE,
            steps: 200,
        }
        .run(&model.schedule, &mut x, &mut rng, &mut score, |_, _, _| {}),
    );
    let direct = sample(&model, &device, SamplerKind::SDE, 200, 10_000);
    let gap: f64 = x
        .iter()
        .zip(&direct)
        .map(|(a, b)| (a - b).abs() as f64)
        .sum::<f64>()
        / x.len() as f64;
    eprintln!("mean |tabulated - direct| per particle: {gap:.2e}");
    assert!(
        gap < 1e-3,
        "tabulated sampling drifts from direct sampling by {gap}"
    );
    for (t, rel) in errors {
        // Near t = 0 the score is steep (|F| ~ 1/sigma^2) and errors in eps_hat are divided by
        // sigma: measured 0.146 at t = 0.05, 0.051 at 0.2, 0.052 at 0.5, below 0.03 from t = 1.
        let bound = if t < 0.1 {
            0.2
        } else if t < 0.3 {
            0.1
        } else {
            0.08
        };
        assert!(
            rel < bound,
            "t = {t}: relative score error {rel} (bound {bound})"
        );
    }
    for w1 in w1s {
        assert!(w1 < 0.05, "W1 = {w1}");
    }
}

#[test]
fn an_untrained_network_is_far_from_the_exact_score() {
    // The error measure above can fail.
    let (model, device) = trained(TrainConfig::default(), 0);
    assert!(relative_score_error(&model, &device, 0.2) > 0.5);
}

#[test]
fn training_lowers_the_loss_toward_the_exact_scores_loss_with_both_weightings() {
    // The denoising loss has an irreducible part (the exact score's own loss on the same pairs),
    // large when many pairs sit at small t; what training must shrink is the excess over it.
    for weighting in [Weighting::Noise, Weighting::Score] {
        let device = Device::flex();
        let mixture = Mixture::default();
        let schedule = Schedule::default();
        // The tutorial's eq. 8 weighting goes with its uniform times: on the grid's times, dense
        // near t = 0 where the 1/sigma^2 weight is huge, its gradients are mostly noise (measured:
        // excess 1.50 -> 1.01 after 400 steps, against 1.03 -> 0.09 with uniform times).
        let time_draw = match weighting {
            Weighting::Noise => TimeDraw::Grid,
            Weighting::Score => TimeDraw::Uniform,
        };
        let config = TrainConfig {
            weighting,
            time_draw,
            ..TrainConfig::default()
        };
        let mut trainer = Trainer::new(config, schedule, mixture.variance(), &device);
        let mut rng = StdRng::seed_from_u64(21);
        let batches: Vec<_> = (0..20)
            .map(|_| PairSource::Fresh.batch(&mixture, &schedule, 512, config.time_draw, &mut rng))
            .collect();
        let floor: f64 = batches
            .iter()
            .map(|b| {
                let per: f64 = (0..b.t.len())
                    .map(|i| {
                        let (t, sigma) = (b.t[i] as f64, schedule.sigma(b.t[i] as f64));
                        let exact = mixture.score(&schedule, t, b.xt[i] as f64);
                        let target = -(b.eps[i] as f64) / sigma;
                        let w = match weighting {
                            Weighting::Noise => sigma * sigma,
                            Weighting::Score => 1.0,
                        };
                        w * (exact - target).powi(2)
                    })
                    .sum();
                per / b.t.len() as f64
            })
            .sum::<f64>()
            / batches.len() as f64;
        let excess = |trainer: &Trainer| {
            batches
                .iter()
                .map(|b| pollster::block_on(difflab::run::read_loss(trainer.loss(b))))
                .sum::<f64>()
                / batches.len() as f64
                - floor
        };
        let first = excess(&trainer);
        for _ in 0..400 {
            trainer.step_on(&PairSource::Fresh, &mixture);
        }
        let later = excess(&trainer);
        eprintln!("{weighting:?}: exact-score loss {floor:.4}, excess {first:.4} -> {later:.4}");
        assert!(
            first > 0.0 && later < 0.3 * first,
            "{weighting:?}: excess loss over the exact score's {first} -> {later}"
        );
    }
}

#[test]
fn a_diverging_learning_rate_is_caught_and_the_last_good_weights_restored() {
    let device = Device::flex();
    let mixture = Mixture::default();
    let mut trainer = Trainer::new(
        TrainConfig::default(),
        Schedule::default(),
        mixture.variance(),
        &device,
    );
    for _ in 0..10 {
        trainer.step_on(&PairSource::Fresh, &mixture);
    }
    trainer.mark_good();
    let good = trainer.inference_model();
    trainer.config.learning_rate = 1e8;
    let mut saw_non_finite = false;
    for _ in 0..50 {
        let l = pollster::block_on(difflab::run::read_loss(
            trainer.step_on(&PairSource::Fresh, &mixture),
        ));
        if !l.is_finite() || l > 1e12 {
            saw_non_finite = true;
            break;
        }
    }
    assert!(
        saw_non_finite,
        "a learning rate of 1e8 should blow the loss up"
    );
    assert_eq!(trainer.restore_last_good(), Some(10));
    let xs = [0.5f32, -1.0];
    let a = pollster::block_on(good.score(&xs, 0.3, &device));
    let b = pollster::block_on(trainer.inference_model().score(&xs, 0.3, &device));
    assert_eq!(a, b);
}

#[test]
fn weights_round_trip_and_bad_files_are_rejected() {
    let (model, device) = trained(TrainConfig::default(), 5);
    let bytes = difflab::weights::encode(&model, 64, 3, Activation::SoftSilu, 5).unwrap();
    let (back, header) = difflab::weights::decode(&bytes, &device).unwrap();
    assert_eq!(header.steps, 5);
    assert_eq!(header.activation, Activation::SoftSilu);
    let xs = [0.1f32, 1.5, -2.0];
    assert_eq!(
        pollster::block_on(model.score(&xs, 0.7, &device)),
        pollster::block_on(back.score(&xs, 0.7, &device))
    );
    // Files written before the activation was recorded hold SiLU networks.
    let silu = TrainConfig {
        activation: Activation::Silu,
        ..TrainConfig::default()
    };
    let (old_model, _) = trained(silu, 5);
    let new_file = difflab::weights::encode(&old_model, 64, 3, Activation::Silu, 5).unwrap();
    let old_file = rewrite_header(&new_file, |h| h.replace(",\"activation\":\"Silu\"", ""));
    assert!(!String::from_utf8_lossy(&old_file).contains("activation"));
    let (back, header) = difflab::weights::decode(&old_file, &device).unwrap();
    assert_eq!(header.activation, Activation::Silu);
    assert_eq!(
        pollster::block_on(old_model.score(&xs, 0.7, &device)),
        pollster::block_on(back.score(&xs, 0.7, &device))
    );
    assert!(difflab::weights::decode(b"hello", &device).is_err());
    assert!(difflab::weights::decode(&bytes[..bytes.len() / 2], &device).is_err());
    let wrong = rewrite_header(&bytes, |h| h.replace("\"width\":64", "\"width\":32"));
    let err = difflab::weights::decode(&wrong, &device).unwrap_err();
    assert!(err.contains("do not fit"), "{err}");
}

/// A weights file with its JSON header passed through `edit`.
fn rewrite_header(bytes: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
    let len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let header = edit(std::str::from_utf8(&bytes[12..12 + len]).unwrap());
    let mut out = bytes[..8].to_vec();
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&bytes[12 + len..]);
    out
}

/// Runs `steps` steps, reading the loss every `chunk` steps as the page does (a few steps per
/// read on a slow CPU, dozens on a GPU), and returns the step at which the page's divergence
/// rule fires (None if it never does).
fn divergence_step(config: TrainConfig, steps: u64, chunk: usize) -> Option<u64> {
    let device = Device::flex();
    let mixture = Mixture::default();
    let mut trainer = Trainer::new(config, Schedule::default(), mixture.variance(), &device);
    let mut rng = StdRng::seed_from_u64(0x5eed_1055);
    let batch = PairSource::Fresh.batch(
        &mixture,
        &trainer.model.schedule,
        config.batch,
        config.time_draw,
        &mut rng,
    );
    let reference = pollster::block_on(difflab::run::read_loss(trainer.loss(&batch)));
    let mut history = Vec::new();
    while trainer.steps() < steps {
        let mut loss = None;
        for _ in 0..chunk {
            loss = Some(trainer.step_on(&PairSource::Fresh, &mixture));
        }
        let loss = pollster::block_on(difflab::run::read_loss(loss.expect("chunk > 0")));
        if diverged(&history, trainer.steps(), loss, Some(reference)) {
            return Some(trainer.steps());
        }
        history.push((trainer.steps(), loss));
    }
    None
}

#[test]
fn a_runaway_learning_rate_is_reported_and_healthy_training_is_not() {
    // A rate of 10 with the eq. 8 weighting: for some seeds the loss explodes, for others it
    // settles 10³–10⁴ × above the untrained network's without growing; both must be caught.
    for seed in 1..=4 {
        let config = TrainConfig {
            learning_rate: 10.0,
            weighting: Weighting::Score,
            seed,
            ..TrainConfig::default()
        };
        for chunk in [3, 30] {
            let at = divergence_step(config, 600, chunk);
            assert!(
                at.is_some_and(|s| s <= 300),
                "seed {seed}, {chunk} steps per read: rate 10 reported at {at:?}"
            );
        }
    }
    // The defaults, and the text's weighting with uniform times, never trip it.
    let healthy = [
        TrainConfig::default(),
        TrainConfig {
            weighting: Weighting::Score,
            time_draw: TimeDraw::Uniform,
            ..TrainConfig::default()
        },
    ];
    for config in healthy {
        assert_eq!(divergence_step(config, 900, 3), None, "{config:?}");
    }
}
