//! The backward passes written out for training (`IsingNet::loss_and_grads`, `ScoreMlp::grads`)
//! against burn-autodiff differentiating the same loss: the loss and the gradient of every
//! parameter. The Ising net: both nonlinearities, one to three residual layers, 3×3 and 5×5
//! windows, neighbourhoods gathered on the CPU or on the device. The toy's MLP: both
//! nonlinearities, one to three hidden layers, a loss of its outputs' own; and the toy
//! trainer's denoising loss under both weightings.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::log_sigmoid;
use difflab::diffusion::Schedule;
use difflab::models::ising::lattice::SITES;
use difflab::models::ising::net::{gather_spins, IsingNet, IsingNetConfig};
use difflab::models::toy1d::mixture::Batch;
use difflab::models::toy1d::train::{TrainConfig, Trainer, Weighting};
use difflab::nn::{Activation, MlpConfig};
use difflab::run::Training;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

struct Ids(Vec<(ParamId, usize)>);

impl ModuleVisitor for Ids {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push((param.id, D));
    }
}

fn grad_values(grads: &GradientsParams, id: ParamId, dims: usize) -> Vec<f32> {
    let data = match dims {
        1 => grads.get::<1>(id).map(|t| t.into_data()),
        2 => grads.get::<2>(id).map(|t| t.into_data()),
        _ => unreachable!("the net has vectors and matrices"),
    };
    data.expect("every parameter has a gradient")
        .iter::<f32>()
        .collect()
}

/// Every float parameter's id and rank, in the order burn visits them.
fn ids(net: &impl Module) -> Vec<(ParamId, usize)> {
    let mut ids = Ids(Vec::new());
    net.visit(&mut ids);
    ids.0
}

/// `got` against `expected` for every parameter of `params`: each gradient non-zero (else the
/// comparison says nothing) and within 1e-5 of its largest element.
fn same_grads(
    got: &GradientsParams,
    expected: &GradientsParams,
    params: Vec<(ParamId, usize)>,
    what: &str,
) {
    assert_eq!(
        got.len(),
        params.len(),
        "{what}: one gradient per parameter"
    );
    for (k, (id, dims)) in params.into_iter().enumerate() {
        let (a, b) = (grad_values(got, id, dims), grad_values(expected, id, dims));
        assert_eq!(a.len(), b.len(), "{what}: parameter {k}'s gradient's size");
        let largest = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(
            largest > 1e-6,
            "{what}: parameter {k}'s gradient is zero; the check would be empty"
        );
        for (i, (x, e)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - e).abs() <= 1e-5 * largest + 1e-7,
                "{what}: parameter {k}, element {i}: {x} vs {e} (largest {largest})"
            );
        }
    }
}

fn check(activation: Activation, layers: usize, kernel: usize, on_device: bool, seed: u64) {
    let device = Device::flex().autodiff();
    device.seed(seed);
    let config = IsingNetConfig {
        channels: 8,
        layers,
        kernel,
        time_features: 6,
        activation,
    };
    let net: IsingNet = config.init(&device);
    let mut rng = StdRng::seed_from_u64(seed);
    let n = 5;
    let spins: Vec<i8> = (0..n * SITES)
        .map(|_| if rng.random() { 1 } else { -1 })
        .collect();
    let floats = |len: usize, rng: &mut StdRng, scale: f32| -> Vec<f32> {
        (0..len)
            .map(|_| scale * (rng.random::<f32>() - 0.5))
            .collect()
    };
    let time = Tensor::<2>::from_data(
        TensorData::new(floats(n * 6, &mut rng, 2.0), [n, 6]),
        &device,
    );
    let skip = Tensor::<2>::from_data(
        TensorData::new(floats(n * SITES, &mut rng, 3.0), [n, SITES]),
        &device,
    );
    let targets: Vec<f32> = (0..n * SITES)
        .map(|_| if rng.random() { 1.0 } else { -1.0 })
        .collect();
    let y = Tensor::<2>::from_data(TensorData::new(targets, [n, SITES]), &device);
    let gathered = Tensor::<3>::from_data(
        TensorData::new(gather_spins(&spins, kernel), [n, SITES, kernel * kernel]),
        &device,
    );
    let scale = 0.75;

    // burn-autodiff's gradient of the same loss.
    let logits = net.forward_gathered(gathered.clone(), time.clone()) + skip.clone();
    let loss = log_sigmoid(logits * y.clone())
        .neg()
        .mean()
        .mul_scalar(scale);
    let expected_loss = loss.clone().into_scalar::<f32>();
    let expected = GradientsParams::from_grads(loss.backward(), &net);

    let (loss, grads) = if on_device {
        let s: Vec<f32> = spins.iter().map(|&v| v as f32).collect();
        let s = Tensor::<2>::from_data(TensorData::new(s, [n, SITES]), &device);
        net.loss_and_grads(net.gather(s), time, skip, y, scale)
    } else {
        net.loss_and_grads(gathered, time, skip, y, scale)
    };
    let what = format!("{activation:?}, {layers} layers, {kernel}×{kernel}, on device {on_device}");
    let got_loss = loss.into_scalar::<f32>();
    assert!(
        (got_loss - expected_loss).abs() <= 1e-6 * expected_loss.abs().max(1.0),
        "{what}: loss {got_loss} vs {expected_loss}"
    );

    let params = ids(&net);
    assert_eq!(
        params.len(),
        2 * (1 + 1 + layers + (layers + 1) + 1),
        "{what}: parameters"
    );
    same_grads(&grads, &expected, params, &what);
}

#[test]
fn written_out_gradients_match_burn_autodiff() {
    for (seed, activation) in [(1, Activation::SoftSilu), (2, Activation::Silu)] {
        for layers in 1..=3 {
            for kernel in [3, 5] {
                check(activation, layers, kernel, false, seed + 10 * layers as u64);
            }
        }
        check(activation, 2, 5, true, seed + 100);
    }
}

/// The MLP's written-out gradients for a loss of its outputs: `Σ c ⊙ out + ½ Σ out²` over a
/// batch (its gradient `c + out`, what the caller passes to `ScoreMlp::grads`).
fn check_mlp(activation: Activation, depth: usize, seed: u64) {
    let device = Device::flex().autodiff();
    device.seed(seed);
    let (inputs, outputs, rows) = (5, 2, 7);
    let net = MlpConfig {
        inputs,
        width: 12,
        depth,
        outputs,
        activation,
    }
    .init(&device);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut floats = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|_| 4.0 * (rng.random::<f32>() - 0.5))
            .collect()
    };
    let x = Tensor::<2>::from_data(
        TensorData::new(floats(rows * inputs), [rows, inputs]),
        &device,
    );
    let c = Tensor::<2>::from_data(
        TensorData::new(floats(rows * outputs), [rows, outputs]),
        &device,
    );

    let out = net.forward(x.clone());
    let loss = (c.clone() * out.clone()).sum() + out.powi_scalar(2).sum().mul_scalar(0.5);
    let expected = GradientsParams::from_grads(loss.backward(), &net);

    let (out, pass) = net.forward_kept(x);
    let grads = net.grads(pass, c.inner() + out);
    let what = format!("MLP, {activation:?}, {depth} hidden layers");
    let params = ids(&net);
    assert_eq!(params.len(), 2 * (depth + 1), "{what}: parameters");
    same_grads(&grads, &expected, params, &what);
}

#[test]
fn written_out_mlp_gradients_match_burn_autodiff() {
    for (seed, activation) in [(3, Activation::SoftSilu), (4, Activation::Silu)] {
        for depth in 1..=3 {
            check_mlp(activation, depth, seed + 10 * depth as u64);
        }
    }
}

/// The toy trainer's written-out loss and gradients (`Trainer::loss_and_grads`: the loss's
/// gradient with respect to the network's outputs, `2(ε̂ − ε)·w/n`, then the MLP's) against
/// burn-autodiff differentiating `Trainer::loss`, for both weightings (the score weighting's
/// `1/σ_t²` differs per pair, which Adam's scale invariance would not hide).
#[test]
fn the_toy_trainers_written_out_gradients_match_burn_autodiff() {
    let mut rng = StdRng::seed_from_u64(7);
    let n = 9;
    let mut draw = |lo: f32, hi: f32| -> Vec<f32> {
        (0..n)
            .map(|_| lo + (hi - lo) * rng.random::<f32>())
            .collect()
    };
    let batch = Batch {
        x0: draw(-2.0, 2.0),
        xt: draw(-3.0, 3.0),
        t: draw(0.05, 5.0),
        eps: draw(-2.0, 2.0),
    };
    for weighting in [Weighting::Noise, Weighting::Score] {
        let config = TrainConfig {
            width: 12,
            depth: 2,
            weighting,
            ..TrainConfig::default()
        };
        let trainer = Trainer::new(config, Schedule::default(), 1.3, &Device::flex());
        let scale = 0.6;
        let loss = trainer.loss(&batch).mul_scalar(scale);
        let expected_loss = loss.clone().into_scalar::<f32>();
        let expected = GradientsParams::from_grads(loss.backward(), trainer.net());
        let (loss, grads) = trainer.loss_and_grads(&batch, scale);
        let got_loss = loss.into_scalar::<f32>();
        let what = format!("toy trainer, {weighting:?} weighting");
        assert!(
            (got_loss - expected_loss).abs() <= 1e-6 * expected_loss.abs().max(1.0),
            "{what}: loss {got_loss} vs {expected_loss}"
        );
        same_grads(&grads, &expected, ids(trainer.net()), &what);
    }
}
