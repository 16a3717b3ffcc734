//! The divergence rule every model's training shares (`run::settle`), tried on the Ising and
//! MNIST networks as the toy's is in `toy1d_train.rs`: a learning rate that blows the weights up
//! is reported within a few hundred steps and training goes back to good weights; healthy
//! training at the defaults is never reported.

use burn::prelude::*;
use difflab::models::ising::lattice::gibbs_samples;
use difflab::models::ising::train::{IsingConfig, IsingTrainer};
use difflab::models::mnist::data::{load_asset, to_model};
use difflab::models::mnist::train::{MnistConfig, MnistTrainer, NetKind};
use difflab::run::{read_loss, settle, Training};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Trains in read-backs of `per_read` steps as the page's chunks do, settling each loss.
/// Returns the step at which divergence was reported (and where training went back to).
fn drive<T: Training>(
    trainer: &mut T,
    reference: f64,
    per_read: u64,
    total: u64,
    mut step: impl FnMut(&mut T) -> Tensor<1>,
) -> Option<(u64, Option<u64>)> {
    trainer.parts().1.reference_loss = Some(reference);
    let mut history = Vec::new();
    while trainer.steps() < total {
        let candidate = trainer.checkpoint();
        let mut last = None;
        for _ in 0..per_read {
            last = Some(step(trainer));
        }
        let at = trainer.steps();
        let loss = pollster::block_on(read_loss(last.expect("per_read > 0")));
        if let Err(restored) = settle(trainer, candidate, &mut history, loss) {
            assert!(
                history.iter().all(|(s, _)| Some(*s) <= restored),
                "read-backs after the restored step are forgotten"
            );
            return Some((at, restored));
        }
    }
    None
}

fn ising_data(config: &IsingConfig) -> Vec<i8> {
    let mut rng = StdRng::seed_from_u64(config.seed);
    gibbs_samples(config.beta, 1000, 2, &mut rng)
}

#[test]
fn ising_divergence_is_reported_and_healthy_training_is_not() {
    let device = Device::flex();
    for seed in 1..=3 {
        let config = IsingConfig {
            learning_rate: 10.0,
            seed,
            ..IsingConfig::default()
        };
        let data = ising_data(&config);
        let mut trainer = IsingTrainer::new(config, &device);
        let mut rng = StdRng::seed_from_u64(7);
        let reference = pollster::block_on(read_loss(trainer.loss_on(&data, &mut rng)));
        let reported = drive(&mut trainer, reference, 5, 300, |t| t.step(&data));
        println!("Ising lr 10, seed {seed}: reference {reference:.3}, reported {reported:?}");
        let (at, _) = reported.expect("learning rate 10 is reported within 300 steps");
        assert!(at <= 300);
    }
    let config = IsingConfig::default();
    let data = ising_data(&config);
    let mut trainer = IsingTrainer::new(config, &device);
    let mut rng = StdRng::seed_from_u64(7);
    let reference = pollster::block_on(read_loss(trainer.loss_on(&data, &mut rng)));
    let reported = drive(&mut trainer, reference, 5, 400, |t| t.step(&data));
    assert_eq!(
        reported, None,
        "healthy Ising training was reported as diverged"
    );
}

#[test]
fn mnist_divergence_is_reported_and_healthy_training_is_not() {
    let device = Device::flex();
    let digits = load_asset("mnist-train.bin").expect("training asset (cargo xtask assets)");
    let data: Vec<f32> = (0..500)
        .flat_map(|i| digits.image(i).iter().map(|&p| to_model(p)))
        .collect();
    let run = |learning_rate: f64, seed: u64, total: u64| {
        let config = MnistConfig {
            net: NetKind::Mlp,
            width: 128,
            depth: 2,
            learning_rate,
            seed,
            ..MnistConfig::default()
        };
        let mut trainer = MnistTrainer::new(config, &data, &device);
        let mut rng = StdRng::seed_from_u64(7);
        let reference = pollster::block_on(read_loss(trainer.loss_on(&data, &mut rng)));
        let reported = drive(&mut trainer, reference, 5, total, |t| t.step(&data));
        println!("MNIST lr {learning_rate}, seed {seed}: reference {reference:.3}, reported {reported:?}");
        reported
    };
    for seed in 1..=3 {
        let (at, _) = run(10.0, seed, 300).expect("learning rate 10 is reported within 300 steps");
        assert!(at <= 300);
    }
    assert_eq!(
        run(MnistConfig::default().learning_rate, 1, 300),
        None,
        "healthy MNIST training was reported as diverged"
    );
}
