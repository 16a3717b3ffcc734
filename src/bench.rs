//! `difflab bench`: native training and sampling speed of the toy's reference network (at the
//! batch sizes asked) and of the MNIST networks, on the CPU or `--device wgpu` (part of the
//! command-line tool, not the library).

use std::time::Instant;

use burn::prelude::Device;
use difflab::diffusion::{Sampler, SamplerKind};
use difflab::models::toy1d::mixture::{Mixture, PairSource};
use difflab::models::toy1d::train::{TrainConfig, Trainer};
use difflab::settings::Settings;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{arg, device_arg, sample_model};

/// `difflab bench [--device wgpu] [--batches 512,4096,16384]`: training and sampling speed.
pub fn bench(args: &[String]) -> Result<(), String> {
    let device = device_arg(args)?;
    let label = match arg(args, "--device").as_deref() {
        Some("wgpu") => "native wgpu",
        _ => "native CPU (burn flex)",
    };
    let batches = arg(args, "--batches")
        .unwrap_or_else(|| "512".into())
        .split(',')
        .map(|b| {
            b.trim()
                .parse::<usize>()
                .map_err(|e| format!("--batches {b}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mixture = Mixture::default();
    let settings = Settings::default();
    let mut trainer = None;
    for batch in batches {
        // The reference network: 3 hidden layers of 128 (batch 512 by default).
        let config = TrainConfig {
            width: 128,
            depth: 3,
            batch,
            ..TrainConfig::default()
        };
        let mut t = Trainer::new(config, settings.schedule, mixture.variance(), &device);
        let source = PairSource::Fresh;
        for _ in 0..20 {
            t.step_on(&source, &mixture);
        }
        let _ = pollster::block_on(difflab::run::read_loss(t.step_on(&source, &mixture)));
        let n = 300;
        let started = Instant::now();
        let mut last = None;
        for _ in 0..n {
            last = Some(t.step_on(&source, &mixture));
        }
        let _ = pollster::block_on(difflab::run::read_loss(last.expect("ran")));
        let secs = started.elapsed().as_secs_f64();
        println!(
            "bench: {label} training, MLP 3x128, batch {batch}: {:.0} steps/s",
            n as f64 / secs
        );
        trainer = Some(t);
    }
    let trainer = trainer.ok_or("--batches: give at least one batch size")?;
    let model = trainer.inference_model();
    let (paths, steps) = (10_000, 100);
    let started = Instant::now();
    let _ = sample_model(
        &model,
        &device,
        Sampler {
            kind: SamplerKind::SDE,
            steps,
        },
        paths,
        3,
    );
    let secs = started.elapsed().as_secs_f64();
    println!(
        "bench: {label} sampling, reverse SDE with MLP 3x128: {:.0} path-steps/s ({paths} paths x {steps} steps in {secs:.2} s)",
        (paths * steps) as f64 / secs
    );
    bench_mnist(&device, label)
}

/// MNIST: Adam steps of the default U-Net and of the MLP, and DDIM sampling, natively.
fn bench_mnist(device: &Device, label: &str) -> Result<(), String> {
    use difflab::models::mnist::data::load_asset;
    use difflab::models::mnist::train::{MnistConfig, MnistTrainer, NetKind};
    let data = load_asset("mnist-train.bin")?.centered();
    for net in [NetKind::Unet, NetKind::Mlp] {
        let config = MnistConfig {
            net,
            ..MnistConfig::default()
        };
        let mut trainer = MnistTrainer::new(config, &data, device);
        let _ = trainer.step(&data).into_data();
        let n = if net == NetKind::Unet { 20 } else { 100 };
        let started = Instant::now();
        let mut last = None;
        for _ in 0..n {
            last = Some(trainer.step(&data));
        }
        let _ = last.expect("ran").into_data();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "bench: {label} MNIST training, {} (defaults), batch {}: {:.2} steps/s",
            net.name(),
            config.batch,
            n as f64 / secs
        );
        let model = trainer.inference_model();
        let sampler = Sampler {
            kind: SamplerKind::Ddim,
            steps: 50,
        };
        let started = Instant::now();
        let count = 16;
        let _ = pollster::block_on(model.sample(
            &sampler,
            count,
            None,
            &mut StdRng::seed_from_u64(1),
            device,
            |_, _, _| {},
            async || {},
            None,
        ));
        println!(
            "bench: {label} MNIST sampling, {}: {count} digits x 50 DDIM steps in {:.2} s",
            net.name(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
