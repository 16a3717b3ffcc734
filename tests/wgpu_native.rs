//! The same crate on burn's native wgpu backend (Vulkan, Metal, DX12; the kernels the page runs on
//! WebGPU): each model trains on it from the same initial weights and the same batches as on the
//! CPU, with the same losses within float tolerance, and its weights load on the CPU.
//!
//! Needs a wgpu adapter. `cargo xtask test` installs Mesa's software Vulkan (lavapipe, Debian's
//! `mesa-vulkan-drivers`), points wgpu at it with GL hidden (lavapipe crashed when GL/EGL was
//! offered alongside) and sets `DIFFLAB_WGPU=require`, so there a missing adapter fails. A plain
//! `cargo test` on a machine without one says so and checks nothing here. With
//! `DIFFLAB_WGPU_OUT=FILE` the toy's wgpu-trained weights are written there (the browser test
//! loads them into the page).

use burn::prelude::*;
use difflab::diffusion::Schedule;
use difflab::models::ising::lattice::gibbs_samples;
use difflab::models::ising::train::{IsingConfig, IsingTrainer};
use difflab::models::mnist::train::{MnistConfig, MnistTrainer};
use difflab::models::toy1d::mixture::{Mixture, PairSource};
use difflab::models::toy1d::train::{TrainConfig, Trainer};
use difflab::run::Training;
use difflab::weights;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn wgpu() -> Option<Device> {
    match Device::wgpu_options().init() {
        Ok(device) => Some(device),
        Err(e) => {
            let required = std::env::var("DIFFLAB_WGPU").is_ok_and(|v| v == "require");
            assert!(!required, "DIFFLAB_WGPU=require but no wgpu adapter: {e:?}");
            eprintln!(
                "no wgpu adapter ({e:?}): the native GPU path is not checked on this machine"
            );
            None
        }
    }
}

fn value(t: Tensor<1>) -> f64 {
    t.into_data().iter::<f32>().next().unwrap() as f64
}

/// Loss curves must agree step by step at first (the same weights and batches; float order
/// differs) and on average at the end.
fn assert_close(name: &str, cpu: &[f64], gpu: &[f64]) {
    eprintln!(
        "{name}: CPU losses {:.5?} … {:.5}, wgpu {:.5?} … {:.5}",
        &cpu[..3],
        cpu[cpu.len() - 1],
        &gpu[..3],
        gpu[gpu.len() - 1]
    );
    for (k, (c, g)) in cpu.iter().zip(gpu).take(5).enumerate() {
        assert!(
            (c - g).abs() <= 1e-3 * c.abs().max(1e-3),
            "{name} step {k}: CPU {c}, wgpu {g}"
        );
    }
    let tail = cpu.len() / 4;
    let mean = |v: &[f64]| v[v.len() - tail..].iter().sum::<f64>() / tail as f64;
    let (c, g) = (mean(cpu), mean(gpu));
    assert!(
        (c - g).abs() <= 0.02 * c,
        "{name}: mean of the last {tail} losses CPU {c}, wgpu {g}"
    );
}

#[test]
fn every_model_trains_on_wgpu_as_on_the_cpu() {
    let Some(gpu) = wgpu() else { return };
    let cpu = Device::flex();

    // The toy: 300 steps of the default network.
    let mixture = Mixture::default();
    let config = TrainConfig::default();
    let init = {
        let t = Trainer::new(config, Schedule::default(), mixture.variance(), &cpu);
        weights::encode(
            &t.inference_model(),
            config.width,
            config.depth,
            config.activation,
            0,
        )
        .unwrap()
    };
    let toy = |device: &Device| {
        let mut t = Trainer::new(config, Schedule::default(), mixture.variance(), device);
        let (m, h) = weights::decode(&init, t.device()).unwrap();
        t.install_for(m.net, h.data_var, 0);
        let losses: Vec<f64> = (0..300)
            .map(|_| value(t.step_on(&PairSource::Fresh, &mixture)))
            .collect();
        let m = t.inference_model();
        let file = weights::encode(&m, config.width, config.depth, config.activation, 300).unwrap();
        (losses, file)
    };
    let (cpu_losses, _) = toy(&cpu);
    let (gpu_losses, file) = toy(&gpu);
    assert_close("toy", &cpu_losses, &gpu_losses);
    // The wgpu-trained file loads on the CPU and its network is the one trained there.
    let (on_cpu, header) = weights::decode(&file, &cpu).unwrap();
    let (on_gpu, _) = weights::decode(&file, &gpu).unwrap();
    assert_eq!(header.steps, 300);
    let xs: Vec<f32> = (-40..=40).map(|i| i as f32 / 10.0).collect();
    let a = pollster::block_on(on_cpu.score(&xs, 0.5, &cpu));
    let b = pollster::block_on(on_gpu.score(&xs, 0.5, &gpu));
    for (x, (a, b)) in xs.iter().zip(a.iter().zip(&b)) {
        assert!(
            (a - b).abs() <= 1e-3 * (1.0 + a.abs()),
            "score at {x}: CPU {a}, wgpu {b}"
        );
    }
    if let Ok(path) = std::env::var("DIFFLAB_WGPU_OUT") {
        std::fs::write(&path, &file).unwrap();
        eprintln!("wrote {path}");
    }

    // Ising: 100 steps of the default kernel network.
    let config = IsingConfig::default();
    let data = gibbs_samples(config.beta, 500, 2, &mut StdRng::seed_from_u64(3));
    let init = {
        let t = IsingTrainer::new(config, &cpu);
        weights::encode_ising(&t.inference_model().net, &config, 0).unwrap()
    };
    let ising = |device: &Device| {
        let mut t = IsingTrainer::new(config, device);
        let (net, _) = weights::decode_ising(&init, t.device()).unwrap();
        t.install(net, 0);
        (0..100).map(|_| value(t.step(&data))).collect::<Vec<f64>>()
    };
    assert_close("Ising", &ising(&cpu), &ising(&gpu));

    // MNIST: 40 steps of a small U-Net on the pixel data of random "digits" (the network and
    // its kernels are what is checked; the digits asset is not needed).
    let config = MnistConfig {
        channels: 8,
        levels: 1,
        batch: 8,
        ..MnistConfig::default()
    };
    let mut rng = StdRng::seed_from_u64(4);
    let data: Vec<f32> = (0..64 * 784)
        .map(|_| {
            if rand::Rng::random::<f32>(&mut rng) < 0.2 {
                1.0
            } else {
                -1.0
            }
        })
        .collect();
    let init = {
        let t = MnistTrainer::new(config, &data, &cpu);
        weights::encode_mnist(&t.inference_model().net, &config, 0).unwrap()
    };
    let mnist = |device: &Device| {
        let mut t = MnistTrainer::new(config, &data, device);
        let (net, _) = weights::decode_mnist(&init, t.device()).unwrap();
        t.install(net, 0);
        (0..40).map(|_| value(t.step(&data))).collect::<Vec<f64>>()
    };
    assert_close("MNIST", &mnist(&cpu), &mnist(&gpu));
}
