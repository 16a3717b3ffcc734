//! The pretrained networks the site ships (`pretrained/`, made by `cargo xtask pretrain`): each
//! file is the one the manifest's SHA-256 names, is stored in half precision, loads through the
//! session as the page loads it, and generates what the README claims of it.

use difflab::diffusion::{Sampler, SamplerKind};
use difflab::models::ising::exact::{density_of_states, IsingExact};
use difflab::models::ising::lattice::SpinStats;
use difflab::models::mnist::data::{load_asset, to_model};
use difflab::models::mnist::eval::Evaluator;
use difflab::models::toy1d::mixture::Mixture;
use difflab::models::Model;
use difflab::run::Training;
use difflab::session::mnist::Offered;
use difflab::session::{drive, Cell, Session};
use difflab::settings::Settings;
use sha2::{Digest, Sha256};

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pretrained")
}

fn manifest() -> serde_json::Value {
    let bytes = std::fs::read(dir().join("manifest.json")).expect("pretrained/manifest.json");
    serde_json::from_slice(&bytes).expect("the manifest is JSON")
}

/// The shipped file for `model`, checked against the manifest's SHA-256.
fn shipped(model: Model) -> Vec<u8> {
    let entry = &manifest()["networks"][model.name()];
    let file = entry["file"].as_str().expect("a file name");
    let bytes = std::fs::read(dir().join(file)).expect("the pretrained file");
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(Some(sha.as_str()), entry["sha256"].as_str(), "{file}");
    assert_eq!(Some(bytes.len() as u64), entry["bytes"].as_u64(), "{file}");
    bytes
}

fn session(query: &str) -> Cell {
    let (settings, problems) = Settings::from_query(query);
    assert!(problems.is_empty(), "{problems:?}");
    Cell::new(Session::native(settings))
}

#[test]
fn every_shipped_file_is_the_manifests_and_half_precision() {
    for model in [Model::Toy1d, Model::Ising, Model::Mnist] {
        let bytes = shipped(model);
        assert_eq!(difflab::weights::model_of(&bytes), Ok(model));
        // Converting again changes nothing: every tensor is already f16.
        assert_eq!(
            difflab::weights::to_half(&bytes).unwrap(),
            bytes,
            "{model:?}"
        );
    }
}

/// The page's own figures after loading the toy's file: the live panels' W₁ (10,000 samples;
/// the deterministic panel from the prior's quantiles), and the reverse SDE from random draws
/// over five seeds through `lab.sample`'s path.
#[test]
fn pretrained_toy_generates_the_mixture() {
    let cell = session("play=0&mix=0.3:-1:0.4,0.7:2.5:0.3");
    let msg = drive::import_pretrained(&cell, &shipped(Model::Toy1d)).unwrap();
    assert!(msg.contains("pretrained network"), "{msg}");
    assert_eq!(
        cell.borrow().settings.mixture,
        Mixture::default(),
        "the data return to the mixture the network learned"
    );
    pollster::block_on(drive::refresh(&cell));
    let st = cell.borrow().status();
    let (sde, ode) = (st.sde_w1.unwrap(), st.ode_w1.unwrap());
    eprintln!("pretrained toy, live panels: W1 SDE {sde:.4}, ODE {ode:.4}");
    assert!(sde < 0.04 && ode < 0.04, "W1 SDE {sde}, ODE {ode}");
    let sampler = Sampler {
        kind: SamplerKind::SDE,
        steps: Settings::default().steps,
    };
    // From random draws the split between the modes carries Monte Carlo noise (±0.5% of
    // 10,000, ±0.02 of W₁), the exact score's own samples included: compare seed by seed.
    let w1 = |exact: bool, seed: u64| {
        let x = pollster::block_on(difflab::session::toy1d::sample(
            &cell, 10_000, sampler, exact, seed,
        ))
        .unwrap();
        Mixture::default().wasserstein1(&x)
    };
    let (net, exact): (Vec<f64>, Vec<f64>) = (1..=5)
        .map(|seed| (w1(false, seed), w1(true, seed)))
        .unzip();
    eprintln!(
        "reverse SDE from random draws, 5 seeds: W1 network {net:.4?}, exact score {exact:.4?}"
    );
    for (n, e) in net.iter().zip(&exact) {
        assert!(
            *n < e + TOY_MARGIN,
            "network {net:?}, exact score {exact:?}"
        );
    }
    let mean = net.iter().sum::<f64>() / 5.0;
    assert!(mean < 0.04, "mean W1 {mean}");
}

/// 5,000 generated configurations against the exact Gibbs measure of the 8×8 torus.
#[test]
fn pretrained_ising_matches_the_gibbs_measure() {
    let cell = session("play=0&model=ising");
    drive::import_pretrained(&cell, &shipped(Model::Ising)).unwrap();
    let beta = cell.borrow().settings.ising.beta;
    let x = pollster::block_on(difflab::session::ising::sample(&cell, 5000, None, 7)).unwrap();
    let exact = IsingExact::new(8, beta, &density_of_states(8));
    let stats = SpinStats::of(&x);
    let (tv_m, tv_e) = stats.tv_to(&exact);
    let gap = (stats.nn_correlation - exact.nn_correlation()).abs();
    eprintln!(
        "pretrained Ising, 5000 samples: TV |M| {tv_m:.4}, TV E {tv_e:.4}, <ss> {:.4} (exact {:.4})",
        stats.nn_correlation,
        exact.nn_correlation()
    );
    assert!(
        gap < ISING_NN_GAP && tv_e < ISING_TV_E && tv_m < ISING_TV_M,
        "gap {gap}, TV E {tv_e}, TV |M| {tv_m}"
    );
}

/// 500 digits (DPM-Solver++(2M), 20 steps: the live view's sampler) scored by the project's
/// classifier trained on the held-out digits.
#[test]
fn pretrained_mnist_generates_recognisable_digits_of_every_class() {
    let cell = session("play=0&model=mnist");
    let device = cell.borrow().device.clone();
    cell.borrow_mut()
        .mnist()
        .set_data(load_asset("mnist-train.bin").unwrap(), &device);
    // As the page does on opening the view when this browser saved no network.
    assert!(difflab::session::mnist::restore(
        &cell,
        &shipped(Model::Mnist),
        Offered::Pretrained
    ));
    assert!(cell.borrow().notices.join(" ").contains("pretrained"));
    // The shipped file predates the recorded activation: it is SiLU, installed as such under
    // the default settings' soft SiLU (which fresh networks take).
    let live = cell
        .borrow_mut()
        .mnist()
        .live
        .trainer
        .as_ref()
        .map(|t| t.net().activation());
    assert_eq!(live, Some(difflab::nn::Activation::Silu));
    assert_eq!(
        cell.borrow().settings.mnist.activation,
        difflab::nn::Activation::SoftSilu
    );
    let sampler = Sampler {
        kind: SamplerKind::DpmSolver2M,
        steps: 20,
    };
    let pixels = pollster::block_on(difflab::session::mnist::sample(
        &cell, 500, sampler, None, 1.0, 3,
    ))
    .unwrap();
    let x: Vec<f32> = pixels.iter().map(|&p| to_model(p)).collect();
    let eval = Evaluator::new(&device).unwrap();
    let q = eval.quality(&x, &device);
    let floor = eval.real_floor(500);
    eprintln!("pretrained MNIST, 500 samples: {q:?}\n500 real digits: {floor:?}");
    assert!(q.confident >= MNIST_CONFIDENT, "{q:?}");
    assert!(
        q.classes.iter().all(|&c| c >= 25),
        "every class ≥ 5%: {q:?}"
    );
    assert!(
        q.frechet <= MNIST_FRECHET_RATIO * floor.frechet,
        "{q:?} {floor:?}"
    );
}

// The claims (README, "Pretrained networks"): what the shipped files measured, with a little
// margin. The toy meets the W₁ ≤ 0.04. Ising (measured: ⟨ss⟩ gap 0.025, TV E 0.065,
// TV |M| 0.043) and MNIST (79% confident, smallest class 6.6%, Fréchet 5.8× the real floor) do
// not reach the targets (gap ≤ 0.01, TV E ≤ 0.045; ≥ 90%, ≤ 2×): README says why.
const TOY_MARGIN: f64 = 0.02;
const ISING_NN_GAP: f64 = 0.03;
const ISING_TV_E: f64 = 0.075;
const ISING_TV_M: f64 = 0.05;
const MNIST_CONFIDENT: f64 = 0.75;
const MNIST_FRECHET_RATIO: f64 = 7.0;
