//! The learned Ising reverse kernel against the mathematics: at small t the network must have
//! learned the Ising local field (the exact conditional of a spin given its neighbours), and the
//! generated configurations must carry the Gibbs measure's correlations.

use burn::prelude::*;
use difflab::models::ising::exact::{density_of_states, IsingExact};
use difflab::models::ising::lattice::{gibbs_samples, neighbour, SpinStats, SITES};
use difflab::models::ising::train::{IsingConfig, IsingTrainer};
use difflab::run::Training;
use rand::rngs::StdRng;
use rand::SeedableRng;

#[test]
fn trained_kernel_learns_the_local_field_and_generates_correlated_configurations() {
    let config = IsingConfig::default();
    let device = Device::flex();
    let mut rng = StdRng::seed_from_u64(1);
    let data = gibbs_samples(config.beta, config.data_size, 2, &mut rng);
    let mut trainer = IsingTrainer::new(config, &device);
    let mut losses = Vec::new();
    for _ in 0..1500 {
        let l = trainer.step(&data);
        losses.push(l.into_data().iter::<f32>().next().unwrap() as f64);
    }
    let first: f64 = losses[..20].iter().sum::<f64>() / 20.0;
    let last: f64 = losses[losses.len() - 200..].iter().sum::<f64>() / 200.0;
    eprintln!("loss {first:.4} -> {last:.4}");
    assert!(last < first - 0.01, "loss {first} -> {last}");

    // Near t = 0 the posterior log-odds of x0_i given x_t are those of the Gibbs conditional,
    // 2 beta h_i (h_i the sum of the four neighbours), plus the skip term for the spin itself:
    // the network's own output must be ~ 2 beta h_i. Regress it on h_i over fresh configurations
    // (measured slope 0.649 against 2 beta = 0.70: at t = 0.5 a neighbour may itself be noise).
    let model = trainer.inference_model();
    let test = gibbs_samples(config.beta, 500, 2, &mut StdRng::seed_from_u64(99));
    let t = 0.5f32;
    let n = test.len() / SITES;
    let logits = model.logits(&test, &vec![t; n], &device);
    let logits: Vec<f32> = logits.into_data().iter::<f32>().collect();
    let skip = model.process.self_logit(t as f64);
    let (mut sxy, mut sxx) = (0.0f64, 0.0f64);
    for c in 0..n {
        for i in 0..SITES {
            let s = &test[c * SITES..(c + 1) * SITES];
            let h: f64 = (0..4).map(|d| s[neighbour(i, d)] as f64).sum();
            let own = logits[c * SITES + i] as f64 - skip * s[i] as f64;
            sxy += own * h;
            sxx += h * h;
        }
    }
    let slope = sxy / sxx;
    eprintln!(
        "learned field slope {slope:.3} (2 beta = {:.3})",
        2.0 * config.beta
    );
    assert!(
        (slope - 2.0 * config.beta).abs() < 0.2 * 2.0 * config.beta,
        "slope {slope}"
    );

    // Generated configurations: correlated like the Gibbs measure, within what the factorised
    // kernel reaches after 1500 steps (measured: <ss> 0.433, TV |M| 0.055, TV E 0.089; an
    // untrained network generates independent spins, <ss> = 0). The page's quality test holds
    // the longer-trained defaults to the tighter bounds.
    let exact = IsingExact::new(8, config.beta, &density_of_states(8));
    let plan = model.plan(&config);
    let x = pollster::block_on(model.sample(
        2000,
        &plan,
        &mut StdRng::seed_from_u64(5),
        &device,
        |_, _, _| {},
        async || {},
        None,
    ));
    let stats = SpinStats::of(&x);
    let (tv_m, tv_e) = stats.tv_to(&exact);
    eprintln!(
        "generated: TV |M| {tv_m:.4}, TV E {tv_e:.4}, <ss> {:.4} (exact {:.4})",
        stats.nn_correlation,
        exact.nn_correlation()
    );
    assert!((stats.nn_correlation - exact.nn_correlation()).abs() < 0.04);
    assert!(tv_m < 0.08 && tv_e < 0.12, "TV {tv_m} {tv_e}");
}

#[test]
fn ising_weights_round_trip_and_bad_files_are_rejected() {
    let config = IsingConfig::default();
    let device = Device::flex();
    let data = gibbs_samples(config.beta, 200, 2, &mut StdRng::seed_from_u64(3));
    let mut trainer = IsingTrainer::new(config, &device);
    for _ in 0..3 {
        trainer.step(&data);
    }
    let model = trainer.inference_model();
    let bytes = difflab::weights::encode_ising(&model.net, &config, trainer.steps()).unwrap();
    assert_eq!(
        difflab::weights::model_of(&bytes).unwrap(),
        difflab::models::Model::Ising
    );
    let (net, header) = difflab::weights::decode_ising(&bytes, &device).unwrap();
    assert_eq!((header.steps, header.config), (3, config));
    let mut loaded = IsingTrainer::new(config, &device);
    loaded.install(net.to_device(loaded.device()), header.steps);
    let back = loaded.inference_model();
    let n = 20;
    let ts = vec![7.5f32; n];
    let a: Vec<f32> = model
        .logits(&data[..n * SITES], &ts, &device)
        .into_data()
        .iter()
        .collect();
    let b: Vec<f32> = back
        .logits(&data[..n * SITES], &ts, &device)
        .into_data()
        .iter()
        .collect();
    assert_eq!(a, b);
    assert_eq!(loaded.steps(), 3);
    // Garbage, a truncated file, another model's file and an impossible network are refused.
    assert!(difflab::weights::decode_ising(b"DIFFLAB1", &device).is_err());
    assert!(difflab::weights::decode_ising(&bytes[..bytes.len() - 100], &device).is_err());
    let toy = difflab::models::toy1d::train::Trainer::new(
        Default::default(),
        Default::default(),
        1.0,
        &device,
    );
    let toy_file = difflab::weights::encode(
        &toy.inference_model(),
        64,
        3,
        difflab::nn::Activation::SoftSilu,
        0,
    )
    .unwrap();
    let err = difflab::weights::decode_ising(&toy_file, &device).unwrap_err();
    assert!(err.contains("not ising"), "{err}");
    let mut wide = config;
    wide.channels = 1000;
    let impossible = difflab::weights::encode_ising(&model.net, &wide, 3).unwrap();
    let err = difflab::weights::decode_ising(&impossible, &device).unwrap_err();
    assert!(err.contains("impossible"), "{err}");
}

/// The first convolution's neighbourhoods gathered on the CPU from the spins (what `logits`
/// does on the CPU device) give the network the same input as its own `select` on the device:
/// the same logits to the bit, for every window the settings allow, and each gathered value is
/// the spin at the periodic offset it stands for.
#[test]
fn neighbourhoods_gathered_on_the_cpu_are_the_devices_select() {
    use difflab::models::ising::lattice::L;
    use difflab::models::ising::net::{gather_spins, IsingNetConfig};
    use difflab::nn::Activation;
    use rand::Rng;
    let device = Device::flex();
    let mut rng = StdRng::seed_from_u64(7);
    let n = 5;
    let x: Vec<i8> = (0..n * SITES)
        .map(|_| if rng.random::<bool>() { 1 } else { -1 })
        .collect();
    for k in [1usize, 3, 5, 7] {
        let g = gather_spins(&x, k);
        assert_eq!(g.len(), n * SITES * k * k);
        // Configuration 3, site (r, c) = (0, 7): its window's corner is the periodic
        // (−h, 7 − h), row-major offsets after it.
        let h = k / 2;
        for dr in 0..k {
            for dc in 0..k {
                let (r, c) = ((L - h + dr) % L, (7 + L - h + dc) % L);
                let at = ((3 * SITES + 7) * k + dr) * k + dc;
                assert_eq!(
                    g[at],
                    x[3 * SITES + r * L + c] as f32,
                    "k {k}, offset ({dr}, {dc})"
                );
            }
        }
        let net = IsingNetConfig {
            channels: 8,
            layers: 2,
            kernel: k,
            time_features: 4,
            activation: Activation::SoftSilu,
        }
        .init(&device);
        let time = Tensor::<2>::from_data(
            TensorData::new(
                (0..n * 4)
                    .map(|i| (i as f32 * 0.37).sin())
                    .collect::<Vec<_>>(),
                [n, 4],
            ),
            &device,
        );
        let spins: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let by_select = net.forward(
            Tensor::<2>::from_data(TensorData::new(spins, [n, SITES]), &device),
            time.clone(),
        );
        let by_cpu = net.forward_gathered(
            Tensor::<3>::from_data(TensorData::new(g, [n, SITES, k * k]), &device),
            time,
        );
        let (a, b): (Vec<f32>, Vec<f32>) = (
            by_select.into_data().iter::<f32>().collect(),
            by_cpu.into_data().iter::<f32>().collect(),
        );
        assert_eq!(a, b, "window {k}");
    }
}
