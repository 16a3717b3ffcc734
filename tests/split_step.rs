//! The data-parallel training step (`run::Run::descend_split`: a batch's two halves through the
//! network at once, on two threads, their gradients summed) against the one-pass step, for
//! every model: the gradient of a batch's mean loss is the share-weighted sum of its halves'
//! gradients, so from the same weights and the same batch both steps give the same loss and the
//! same new weights, to float rounding. The page's threaded module takes the split step.

use burn::prelude::*;
use difflab::diffusion::Schedule;
use difflab::models::ising::lattice::gibbs_samples;
use difflab::models::ising::train::{IsingConfig, IsingTrainer};
use difflab::models::mnist::train::{MnistConfig, MnistTrainer, NetKind};
use difflab::models::toy1d::mixture::{Mixture, PairSource};
use difflab::models::toy1d::train::{TrainConfig, Trainer};
use difflab::nn::ema::parameters;
use difflab::run::{read_loss, Join, Training};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Two threads, as `rayon::join` gives them in the page.
const JOIN: Join = |a, b| {
    std::thread::scope(|s| {
        s.spawn(a);
        b();
    })
};

fn values(net: &impl burn::module::Module) -> Vec<f32> {
    parameters(net)
        .into_iter()
        .flat_map(|p| p.into_data().iter::<f32>().collect::<Vec<_>>())
        .collect()
}

/// One step each way from twin trainers (the same seed: the same weights and batches), then the
/// losses and every weight compared; `steps` steps, so that Adam's state is compared too.
fn compare<T: Training>(
    name: &str,
    make: impl Fn() -> T,
    steps: usize,
    step: impl Fn(&mut T, bool) -> Tensor<1>,
) {
    // burn initializes parameters lazily, on first use, from the device's generator: each twin
    // is read right after it is made (and seeded), before the next one draws.
    let twin = || {
        let t = make();
        values(t.net());
        t
    };
    let (mut one, mut split) = (twin(), twin());
    let start = values(one.net());
    assert_eq!(start, values(split.net()), "{name}: twins start alike");
    for k in 0..steps {
        let a = pollster::block_on(read_loss(step(&mut one, false)));
        let b = pollster::block_on(read_loss(step(&mut split, true)));
        assert!(
            (a - b).abs() <= 1e-5 * a.abs().max(1e-3),
            "{name}, step {k}: loss {a} one pass, {b} split"
        );
    }
    let (wa, wb) = (values(one.net()), values(split.net()));
    assert_eq!(wa.len(), wb.len());
    let scale = wa.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = wa
        .iter()
        .zip(&wb)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    println!("{name}: {} weights after {steps} steps, largest difference {worst:e} (largest weight {scale})", wa.len());
    assert!(
        worst <= 1e-4 * scale,
        "{name}: weights differ by {worst} after {steps} steps"
    );
    // The weights moved, by far more than the twins differ (steps that changed nothing would
    // pass the comparison too).
    let moved = start
        .iter()
        .zip(&wa)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    println!("{name}: largest move {moved:e}");
    assert!(
        moved >= 100.0 * worst.max(1e-7),
        "{name}: the weights moved only {moved}"
    );
}

#[test]
fn the_split_step_is_the_one_pass_step_for_every_model() {
    let device = Device::flex();

    let (mixture, schedule, config) = (
        Mixture::default(),
        Schedule::default(),
        TrainConfig::default(),
    );
    let toy = || Trainer::new(config, schedule, mixture.variance(), &device);
    compare("toy", toy, 5, |t, split| {
        let batch =
            PairSource::Fresh.batch(&mixture, &schedule, config.batch, config.time_draw, t.rng());
        if split {
            t.step_split(&batch, JOIN)
        } else {
            t.step(&batch)
        }
    });

    let config = IsingConfig::default();
    let spins = std::sync::Arc::new(gibbs_samples(
        config.beta,
        200,
        2,
        &mut StdRng::seed_from_u64(3),
    ));
    let ising = || IsingTrainer::new(config, &device);
    // The split side takes one one-pass step in the middle: it must use the batch the split
    // step before it drew ahead, or the batches (and weights) part ways.
    compare("Ising", ising, 5, |t, split| {
        if split && t.run.steps != 2 {
            t.step_split(&spins, JOIN)
        } else {
            t.step(&spins)
        }
    });

    // Any images serve: the identity holds for every batch. A small U-Net keeps it quick.
    let mut rng = StdRng::seed_from_u64(5);
    let images: Vec<f32> = (0..64 * 784).map(|_| rng.random_range(-1.0..1.0)).collect();
    let config = MnistConfig {
        channels: 8,
        levels: 1,
        batch: 8,
        ..MnistConfig::default()
    };
    assert_eq!(config.net, NetKind::Unet);
    let unet = || MnistTrainer::new(config, &images, &device);
    compare("MNIST U-Net", unet, 3, |t, split| {
        if split {
            t.step_split(&images, JOIN)
        } else {
            t.step(&images)
        }
    });
}

/// MNIST sampling with every network evaluation as two halves at once (what the threaded
/// module's live view and `lab.sample` do) draws the same digits as one pass: the sampler's
/// random draws are the same, and each image's evaluation does not depend on the others in its
/// batch. Stochastic (ancestral) and deterministic (DPM-Solver++) samplers, an odd count.
#[test]
fn split_sampling_draws_the_same_digits() {
    use difflab::diffusion::{Sampler, SamplerKind};
    let device = Device::flex();
    let mut rng = StdRng::seed_from_u64(5);
    let images: Vec<f32> = (0..64 * 784).map(|_| rng.random_range(-1.0..1.0)).collect();
    let config = MnistConfig {
        channels: 8,
        levels: 1,
        batch: 8,
        ..MnistConfig::default()
    };
    let mut trainer = MnistTrainer::new(config, &images, &device);
    for _ in 0..3 {
        pollster::block_on(read_loss(trainer.step(&images)));
    }
    let model = trainer.snapshot();
    for kind in [SamplerKind::Ancestral, SamplerKind::DpmSolver2M] {
        let sampler = Sampler { kind, steps: 6 };
        let draw = |join: Option<Join>| {
            pollster::block_on(model.sample(
                &sampler,
                7,
                None,
                &mut StdRng::seed_from_u64(9),
                &device,
                |_, _, _| {},
                async || {},
                join,
            ))
        };
        let (one, split) = (draw(None), draw(Some(JOIN)));
        assert_eq!(one.len(), 7 * 784);
        let worst = one
            .iter()
            .zip(&split)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        let spread = one.iter().fold(0f32, |m, v| m.max(v.abs()));
        println!("{kind:?}: largest difference {worst:e} (largest value {spread})");
        assert!(
            spread > 0.1,
            "{kind:?}: samples of a trained net are not all near 0"
        );
        assert!(
            worst <= 1e-5 * spread,
            "{kind:?}: split sampling differs by {worst}"
        );
    }
}

/// Ising sampling with every network evaluation as two halves at once draws the same
/// configurations as one pass (the spins are drawn from the same random stream afterwards).
#[test]
fn split_ising_sampling_draws_the_same_configurations() {
    let device = Device::flex();
    let config = IsingConfig::default();
    let spins = std::sync::Arc::new(gibbs_samples(
        config.beta,
        200,
        2,
        &mut StdRng::seed_from_u64(3),
    ));
    let mut trainer = IsingTrainer::new(config, &device);
    for _ in 0..20 {
        pollster::block_on(read_loss(trainer.step(&spins)));
    }
    let model = trainer.inference_model();
    let plan = model.plan(&config);
    let draw = |join: Option<Join>| {
        pollster::block_on(model.sample(
            37,
            &plan,
            &mut StdRng::seed_from_u64(9),
            &device,
            |_, _, _| {},
            async || {},
            join,
        ))
    };
    let (one, split) = (draw(None), draw(Some(JOIN)));
    assert_eq!(one.len(), 37 * 64);
    assert!(one.iter().any(|&v| v == 1) && one.iter().any(|&v| v == -1));
    let differ = one.iter().zip(&split).filter(|(a, b)| a != b).count();
    println!("Ising: {differ} of {} spins differ", one.len());
    assert_eq!(differ, 0, "split sampling drew other configurations");
}
