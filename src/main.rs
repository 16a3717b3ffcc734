//! The lab on the command line: train and sample natively, write weights the page can load.
//!
//! ```text
//! difflab train  [--steps N] [--out toy1d.weights] [--query "lr=0.003&width=64"] [--set KEY=VALUE]...
//! difflab sample --weights toy1d.weights [--n N] [--sampler NAME [--a A]] [--steps K] [--out samples.json]
//! difflab bench
//! difflab ising  [--steps N] [--n N] [--query "beta=0.35&rsteps=64"] [--set KEY=VALUE]... [--out samples.json]
//! difflab mnist  [--net unet|mlp] [--activation soft|silu] [--steps N] [--batch B] [--lr X] [--channels C] [--width W]
//!                [--sampler NAME,NAME…] [--sample-steps K] [--n N] [--digit D --guidance W]
//!                [--eval] [--png grid.png] [--weights in.weights] [--save out.weights]
//! difflab mnist-eval samples.json
//! difflab keys
//! ```
//!
//! Sampler names are those of `difflab::diffusion::SAMPLERS`: sde, ode (Heun), ode-euler,
//! family (with `--a`), ddpm, ddim, dpm2m.
//! `--query` and `--set` take the page's URL settings (`difflab keys` lists them), checked like
//! the URL: a bad value is reported and replaced by its default.

use difflab::run::Training;
use std::time::Instant;

mod bench;

use burn::prelude::Device;
use difflab::diffusion::sampler::draw_prior;
use difflab::diffusion::{Sampler, SamplerKind};
use difflab::models::toy1d::mixture::{Mixture, PairSource};
use difflab::models::toy1d::train::{ScoreModel, Trainer};
use difflab::models::Model;
use difflab::settings::Settings;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn arg(args: &[String], key: &str) -> Option<String> {
    args.iter()
        .position(|a| a == key)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn num<T: std::str::FromStr>(args: &[String], key: &str, default: T) -> Result<T, String> {
    match arg(args, key) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("{key} {v}: not a valid number")),
    }
}

/// The page's settings from `--query` and `--set KEY=VALUE`, warning about rejected values.
/// The device of `--device cpu|wgpu` (default cpu): burn's CPU backend on every core, or its
/// native wgpu backend on the best adapter wgpu finds (Vulkan, Metal or DX12; set
/// `WGPU_BACKEND`, `VK_ICD_FILENAMES` to choose). Weights trained on either load in the page.
fn device_arg(args: &[String]) -> Result<Device, String> {
    match arg(args, "--device").as_deref() {
        None | Some("cpu") => Ok(Device::flex()),
        Some("wgpu") => {
            let device = Device::wgpu_options()
                .init()
                .map_err(|e| format!("--device wgpu: no usable GPU adapter ({e:?})"))?;
            eprintln!("device: wgpu ({device:?})");
            Ok(device)
        }
        Some(other) => Err(format!("--device {other}: one of cpu, wgpu")),
    }
}

fn settings_from(args: &[String]) -> Result<Settings, String> {
    let (settings, problems) = Settings::from_args(args)?;
    for p in problems {
        eprintln!("warning: {p}");
    }
    Ok(settings)
}

/// `difflab keys`: every setting `--set` and the URL take, with its panel, values and default.
fn print_keys() {
    println!(
        "{:<10} {:<7} {:<40} {:<12} label",
        "key", "model", "values", "default"
    );
    for k in difflab::settings::keys() {
        let model = k.model.map_or("all", |m| m.name());
        let default = match k.default_text() {
            d if d.is_empty() => "(none)".to_string(),
            d => d,
        };
        println!(
            "{:<10} {:<7} {:<40} {:<12} {}",
            k.name,
            model,
            k.range_text(),
            default,
            k.label
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("train") => train(&args),
        Some("sample") => sample(&args),
        Some("bench") => bench::bench(&args),
        Some("ising") => ising(&args),
        Some("mnist") => mnist(&args),
        Some("mnist-eval") => mnist_eval(&args),
        Some("half") => half(&args),
        Some("keys") => {
            print_keys();
            Ok(())
        }
        _ => Err(
            "usage: difflab train|sample|bench|ising|mnist|mnist-eval|half|keys [options] (see src/main.rs)"
                .into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("difflab: {e}");
        std::process::exit(1);
    }
}

/// `difflab half IN OUT`: the weights file IN with its tensors in half precision (what the
/// site ships as pretrained networks), checked to load back.
fn half(args: &[String]) -> Result<(), String> {
    let [_, from, to] = args else {
        return Err("usage: difflab half IN.weights OUT.weights".into());
    };
    let bytes = std::fs::read(from).map_err(|e| format!("{from}: {e}"))?;
    let small = difflab::weights::to_half(&bytes)?;
    let device = Device::flex();
    match difflab::weights::model_of(&small)? {
        Model::Toy1d => difflab::weights::decode(&small, &device).map(|_| ()),
        Model::Ising => difflab::weights::decode_ising(&small, &device).map(|_| ()),
        Model::Mnist => difflab::weights::decode_mnist(&small, &device).map(|_| ()),
    }?;
    std::fs::write(to, &small).map_err(|e| format!("{to}: {e}"))?;
    println!("wrote {to}: {} bytes (from {})", small.len(), bytes.len());
    Ok(())
}

fn train(args: &[String]) -> Result<(), String> {
    let settings = settings_from(args)?;
    let steps: u64 = num(args, "--steps", 3000)?;
    let out = arg(args, "--out").unwrap_or_else(|| "toy1d.weights".into());
    let device = device_arg(args)?;
    let mut trainer = Trainer::new(
        settings.train,
        settings.schedule,
        settings.mixture.variance(),
        &device,
    );
    let source = PairSource::Fresh;
    let started = Instant::now();
    for k in 1..=steps {
        let loss = trainer.step_on(&source, &settings.mixture);
        if k % 500 == 0 || k == steps {
            let l = pollster::block_on(difflab::run::read_loss(loss));
            println!(
                "step {k:6}  loss {l:.5}  {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let bytes = difflab::weights::encode(
        &trainer.inference_model(),
        settings.train.width,
        settings.train.depth,
        settings.train.activation,
        trainer.steps(),
    )?;
    std::fs::write(&out, bytes).map_err(|e| format!("writing {out}: {e}"))?;
    println!("wrote {out}");
    Ok(())
}

fn sample(args: &[String]) -> Result<(), String> {
    let path = arg(args, "--weights").ok_or("--weights FILE is required")?;
    let bytes = std::fs::read(&path).map_err(|e| format!("reading {path}: {e}"))?;
    let device = device_arg(args)?;
    let (model, header) = difflab::weights::decode(&bytes, &device)?;
    let n: usize = num(args, "--n", 10_000)?;
    let steps: usize = num(args, "--steps", 200)?;
    let sampler = sampler_arg(args, &arg(args, "--sampler").unwrap_or("sde".into()), steps)?;
    let kind = sampler.kind;
    let x = sample_model(&model, &device, sampler, n, 1);
    let mixture = Mixture::default();
    eprintln!(
        "{n} samples ({}) from weights trained {} steps; W1 to the default mixture = {:.4}",
        kind.label(),
        header.steps,
        mixture.wasserstein1(&x)
    );
    let json = serde_json::to_string(&x).map_err(|e| e.to_string())?;
    match arg(args, "--out") {
        Some(out) => std::fs::write(&out, json).map_err(|e| format!("writing {out}: {e}"))?,
        None => println!("{json}"),
    }
    Ok(())
}

/// Samples `n` points from the learned score with one sampler.
pub fn sample_model(
    model: &ScoreModel,
    device: &Device,
    sampler: Sampler,
    n: usize,
    seed: u64,
) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut x = vec![0.0f32; n];
    draw_prior(&model.schedule, &mut x, &mut rng);
    let mut score = async |xs: &[f32], t: f64| model.score(xs, t, device).await;
    pollster::block_on(sampler.run(&model.schedule, &mut x, &mut rng, &mut score, |_, _, _| {}));
    x
}

/// Trains the Ising kernel with the page's settings, generates configurations and compares them
/// with the exact distributions; prints the figures and timings.
fn ising(args: &[String]) -> Result<(), String> {
    use difflab::models::ising::exact::{density_of_states, IsingExact};
    use difflab::models::ising::lattice::{gibbs_samples, SpinStats};
    use difflab::models::ising::train::{IsingConfig, IsingTrainer};
    let settings = settings_from(args)?;
    let config = settings.ising;
    let steps: u64 = num(args, "--steps", 3000)?;
    let n: usize = num(args, "--n", 5000)?;
    let device = device_arg(args)?;
    let started = Instant::now();
    let exact = IsingExact::new(8, config.beta, &density_of_states(8));
    println!(
        "exact distributions at beta {}: {:.3} s (<s_i s_j> = {:.4})",
        config.beta,
        started.elapsed().as_secs_f64(),
        exact.nn_correlation()
    );
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let data = gibbs_samples(config.beta, config.data_size, 2, &mut rng);
    let ds = SpinStats::of(&data);
    let (dm, de) = ds.tv_to(&exact);
    println!(
        "{} Gibbs configurations in {:.2} s: TV |M| {dm:.4}, TV E {de:.4}, <ss> {:.4}",
        config.data_size,
        started.elapsed().as_secs_f64(),
        ds.nn_correlation
    );
    let mut config = config;
    let loaded = match arg(args, "--weights") {
        Some(path) => {
            let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
            let (net, header) = difflab::weights::decode_ising(&bytes, &device)?;
            println!("loaded {path}: {} steps", header.steps);
            // The file's network and process; the sampler's steps stay this run's.
            config = IsingConfig {
                sampler_steps: config.sampler_steps,
                ..header.config
            };
            Some((net, header.steps))
        }
        None => None,
    };
    let mut trainer = IsingTrainer::new(config, &device);
    if let Some((net, steps)) = loaded {
        trainer.install(net, steps);
    }
    let started = Instant::now();
    let mut loss = f64::NAN;
    for k in 0..steps {
        let l = trainer.step(&data);
        if k + 1 == steps || (k + 1) % 500 == 0 {
            loss = l.into_data().iter::<f32>().next().unwrap_or(f32::NAN) as f64;
        }
    }
    let train_s = started.elapsed().as_secs_f64();
    println!(
        "trained {steps} steps in {train_s:.1} s ({:.1} ms/step), loss {loss:.4}",
        1000.0 * train_s / steps.max(1) as f64
    );
    let model = trainer.inference_model();
    if let Some(path) = arg(args, "--save") {
        let bytes = difflab::weights::encode_ising(&model.net, &config, trainer.steps())?;
        std::fs::write(&path, bytes).map_err(|e| format!("{path}: {e}"))?;
        println!("wrote {path} ({} steps)", trainer.steps());
    }
    let plan = model.plan(&config);
    let started = Instant::now();
    let x = pollster::block_on(model.sample(
        n,
        &plan,
        &mut StdRng::seed_from_u64(config.seed ^ 0x5a),
        &device,
        |_, _, _| {},
        async || {},
        None,
    ));
    let stats = SpinStats::of(&x);
    let (tm, te) = stats.tv_to(&exact);
    println!(
        "{n} samples ({} reverse steps) in {:.1} s: TV |M| {tm:.4}, TV E {te:.4}, <ss> {:.4} (exact {:.4})",
        plan.iter().map(|g| g.len() - 1).sum::<usize>(),
        started.elapsed().as_secs_f64(),
        stats.nn_correlation,
        exact.nn_correlation()
    );
    if let Some(out) = arg(args, "--out") {
        let json = serde_json::to_string(&x).map_err(|e| e.to_string())?;
        std::fs::write(&out, json).map_err(|e| format!("{out}: {e}"))?;
        println!("wrote {out}");
    }
    Ok(())
}

/// A sampler of the table by name (`--sampler`), with `--a` for the reverse family.
fn sampler_arg(args: &[String], name: &str, steps: usize) -> Result<Sampler, String> {
    let a: f64 = num(args, "--a", 1.0)?;
    let kind = SamplerKind::from_name(name, a)
        .ok_or_else(|| format!("unknown sampler {name} (one of {})", SamplerKind::names()))?;
    Ok(Sampler { kind, steps })
}

/// Writes images in `[0, 1]` (`n × 784`) as one PNG grid, `cols` per row, 1 px gaps.
fn write_png_grid(path: &str, images: &[f32], cols: usize) -> Result<(), String> {
    let n = images.len() / 784;
    let rows = n.div_ceil(cols);
    let (w, h) = (cols * 29 + 1, rows * 29 + 1);
    let mut buf = vec![40u8; w * h];
    for (k, img) in images.chunks_exact(784).enumerate() {
        let (r, c) = (k / cols, k % cols);
        for y in 0..28 {
            for x in 0..28 {
                buf[(1 + r * 29 + y) * w + 1 + c * 29 + x] =
                    (img[y * 28 + x].clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    let file = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&buf).map_err(|e| e.to_string())
}

fn mnist(args: &[String]) -> Result<(), String> {
    use difflab::models::mnist::classifier::ClassifierTrainer;
    use difflab::models::mnist::data::{load_asset, to_pixel};
    use difflab::models::mnist::train::{Guidance, MnistConfig, MnistTrainer, NetKind};
    let train = load_asset("mnist-train.bin")?;
    let data = train.centered();
    let mut config = MnistConfig::default();
    config.net = match arg(args, "--net").as_deref() {
        None | Some("unet") => NetKind::Unet,
        Some("mlp") => NetKind::Mlp,
        Some(o) => return Err(format!("unknown net {o} (unet|mlp)")),
    };
    config.batch = num(args, "--batch", config.batch)?;
    config.learning_rate = num(args, "--lr", config.learning_rate)?;
    config.channels = num(args, "--channels", config.channels)?;
    config.levels = num(args, "--levels", config.levels)?;
    config.width = num(args, "--width", config.width)?;
    config.depth = num(args, "--depth", config.depth)?;
    config.ema = num(args, "--ema", config.ema)?;
    config.activation = match arg(args, "--activation").as_deref() {
        None => config.activation,
        Some("soft") => difflab::nn::Activation::SoftSilu,
        Some("silu") => difflab::nn::Activation::Silu,
        Some(o) => return Err(format!("unknown activation {o} (soft|silu)")),
    };
    let steps: u64 = num(args, "--steps", 2000)?;
    let n: usize = num(args, "--n", 100)?;
    let sample_steps: usize = num(args, "--sample-steps", 50)?;
    // Also writes the network every so many steps (`--save` with the step count in its name).
    let save_every: u64 = num(args, "--save-every", 0)?;
    let samplers = arg(args, "--sampler")
        .unwrap_or_else(|| "ddim".into())
        .split(',')
        .map(|name| sampler_arg(args, name, sample_steps))
        .collect::<Result<Vec<_>, _>>()?;
    let device = device_arg(args)?;
    if let Some(path) = arg(args, "--weights") {
        let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
        let (header, _) = difflab::weights::mnist_header(&bytes)?;
        config = MnistConfig {
            learning_rate: config.learning_rate,
            batch: config.batch,
            ..header.config
        };
    }
    let mut trainer = MnistTrainer::new(config, &data, &device);
    if let Some(path) = arg(args, "--weights") {
        let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
        let (net, header) = difflab::weights::decode_mnist(&bytes, trainer.device())?;
        trainer.install(net, header.steps);
        println!("loaded {path}: {} steps", header.steps);
    }
    println!(
        "{} on {} digits, {} parameters, batch {}",
        config.net.name(),
        train.len(),
        burn::module::Module::num_params(&trainer.model.net),
        config.batch
    );
    // Writes the network (its weight average) as a weights file the page loads.
    let save = |trainer: &MnistTrainer, path: &str| -> Result<(), String> {
        let net = &trainer.inference_model().net;
        let bytes = difflab::weights::encode_mnist(net, &trainer.config, trainer.steps())?;
        std::fs::write(path, bytes).map_err(|e| format!("{path}: {e}"))?;
        println!("wrote {path} ({} steps)", trainer.steps());
        Ok(())
    };
    let started = Instant::now();
    let mut avg = 0.0;
    for k in 0..steps {
        let l = trainer.step(&data);
        avg += l.into_data().iter::<f32>().next().unwrap_or(f32::NAN) as f64;
        if (k + 1) % 200 == 0 || k + 1 == steps {
            let span = ((k % 200) + 1) as f64;
            println!(
                "step {:>6}  loss {:.4}  {:.1} s",
                k + 1,
                avg / span,
                started.elapsed().as_secs_f64()
            );
            avg = 0.0;
        }
        if save_every > 0 && (k + 1) % save_every == 0 && k + 1 < steps {
            if let Some(path) = arg(args, "--save") {
                save(
                    &trainer,
                    &path.replace(".weights", &format!("-{}.weights", trainer.steps())),
                )?;
            }
        }
    }
    let train_s = started.elapsed().as_secs_f64();
    println!(
        "trained {steps} steps in {train_s:.1} s ({:.1} ms/step)",
        1000.0 * train_s / steps.max(1) as f64
    );
    if let Some(path) = arg(args, "--save") {
        save(&trainer, &path)?;
    }
    let guidance = match arg(args, "--digit") {
        None => None,
        Some(d) => {
            let digit: u8 = d.parse().map_err(|_| format!("--digit {d}: not a digit"))?;
            let mut clf = ClassifierTrainer::new(true, config.schedule, 7, &device);
            let started = Instant::now();
            for _ in 0..num(args, "--classifier-steps", 1000u64)? {
                let _ = clf.step(&data, &train.labels);
            }
            println!(
                "noise-conditioned classifier: {} steps in {:.1} s",
                clf.steps,
                started.elapsed().as_secs_f64()
            );
            Some(Guidance {
                classifier: clf.classifier(),
                digit,
                scale: num(args, "--guidance", 1.0)?,
            })
        }
    };
    let mut model = trainer.inference_model();
    model.clip = !args.iter().any(|a| a == "--no-clip");
    let mut runs = Vec::new();
    for sampler in &samplers {
        let started = Instant::now();
        let x = pollster::block_on(model.sample(
            sampler,
            n,
            guidance.as_ref(),
            &mut StdRng::seed_from_u64(config.seed ^ 0x5a),
            &device,
            |_, _, _| {},
            async || {},
            None,
        ));
        println!(
            "{n} samples, {} ({} steps) in {:.1} s",
            sampler.kind.label(),
            sampler.steps,
            started.elapsed().as_secs_f64()
        );
        let pixels: Vec<f32> = x.iter().map(|&v| to_pixel(v)).collect();
        if let Some(path) = arg(args, "--png") {
            let path = path.replace(
                ".png",
                &format!("-{:?}.png", sampler.kind).replace([' ', '{', '}', ':'], ""),
            );
            write_png_grid(&path, &pixels, 10)?;
            println!("wrote {path}");
        }
        runs.push((sampler.kind.label(), x));
    }
    if args.iter().any(|a| a == "--eval") {
        let eval = evaluator(&device)?;
        for (label, x) in &runs {
            let q = eval.quality(x, &device);
            println!(
                "generated, {label}: {}",
                serde_json::to_string(&q).unwrap_or_default()
            );
        }
        // The same measure on n real training digits: the floor the sample size allows.
        let real = eval.real_floor(n);
        println!(
            "{} real training digits: {}",
            real.n,
            serde_json::to_string(&real).unwrap_or_default()
        );
    }
    Ok(())
}

/// `difflab mnist-eval samples.json`: the quality measures of digits produced elsewhere (the
/// page's `lab.sample("mnist")` data as a JSON array of n × 784 pixels in [0, 1]).
/// The measuring classifier (`models::mnist::eval`), saying how long it took and how well it
/// classifies the training digits.
fn evaluator(device: &Device) -> Result<difflab::models::mnist::eval::Evaluator, String> {
    let started = Instant::now();
    let eval = difflab::models::mnist::eval::Evaluator::new(device)?;
    println!(
        "evaluation classifier (trained on the held-out digits): {:.1} s, accuracy on the 2000 training digits {:.3}",
        started.elapsed().as_secs_f64(),
        eval.accuracy
    );
    Ok(eval)
}

fn mnist_eval(args: &[String]) -> Result<(), String> {
    use difflab::models::mnist::data::to_model;
    let path = args
        .get(1)
        .ok_or("usage: difflab mnist-eval samples.json")?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let pixels: Vec<f32> = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    if pixels.is_empty() || pixels.len() % 784 != 0 {
        return Err(format!(
            "{path}: expected n × 784 pixels, got {}",
            pixels.len()
        ));
    }
    let x: Vec<f32> = pixels.iter().map(|&p| to_model(p)).collect();
    let device = Device::flex();
    let q = evaluator(&device)?.quality(&x, &device);
    println!("{}", serde_json::to_string(&q).unwrap_or_default());
    Ok(())
}
