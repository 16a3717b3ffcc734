//! The Ising reverse-kernel network: a small convolutional net on the 8×8 torus (circular
//! boundaries) with a time embedding added to every layer's channels.
//!
//! Layout: one k×k convolution of the spins (1 → C channels), then `layers` residual 1×1
//! convolutions (per-site C → C), each also fed the lattice average of the first layer's
//! channels (global pooling: below the critical temperature the sign of the whole lattice's
//! magnetisation is what a spin's neighbourhood cannot tell), then a 1×1 read-out to one logit
//! per spin. Measured on burn's CPU backend (native, batch 128): wide k×k convolutions between
//! hidden channels cost 10× more per step than this layout (gathering C channels per
//! neighbourhood dominates), while one spin channel gathered over a 5×5 window is cheap.

use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, sigmoid};

use crate::nn::written::{affine, register, weights};
use serde::{Deserialize, Serialize};

use super::lattice::{L, SITES};
use crate::nn::Activation;

/// Shape of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsingNetConfig {
    /// Channels of every hidden layer.
    pub channels: usize,
    /// Residual per-site hidden layers after the convolution.
    pub layers: usize,
    /// Side of the convolution window (odd).
    pub kernel: usize,
    /// Features of the time embedding.
    pub time_features: usize,
    /// The nonlinearity after the convolution and in each residual layer.
    pub activation: Activation,
}

/// For every site, the k×k sites of its periodic neighbourhood, row-major offsets.
pub fn torus_neighbourhoods(k: usize) -> Vec<i64> {
    let h = k / 2;
    let mut idx = Vec::with_capacity(SITES * k * k);
    for r in 0..L {
        for c in 0..L {
            for dr in 0..k {
                for dc in 0..k {
                    let rr = (r + L * k + dr - h) % L;
                    let cc = (c + L * k + dc - h) % L;
                    idx.push((rr * L + cc) as i64);
                }
            }
        }
    }
    idx
}

/// A k×k convolution on the L×L torus, `[batch, SITES, c_in] → [batch, SITES, c_out]`: each
/// site's periodic neighbourhood gathered with one `select` (im2col on the torus), then one
/// `Linear` over its `k²·c_in` values.
#[derive(Module, Debug)]
pub struct TorusConv {
    linear: Linear,
    kernel: usize,
}

impl TorusConv {
    pub fn new(c_in: usize, c_out: usize, kernel: usize, device: &Device) -> Self {
        TorusConv {
            linear: LinearConfig::new(kernel * kernel * c_in, c_out).init(device),
            kernel,
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.forward_gathered(self.gather(x))
    }

    /// Every site's k×k periodic neighbourhood of `x` (`[batch, SITES, c]` →
    /// `[batch, SITES, k²·c]`) with one `select` on the device.
    fn gather(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, _, c] = x.dims();
        let kk = self.kernel * self.kernel;
        let idx = Tensor::<1, Int>::from_data(
            TensorData::new(torus_neighbourhoods(self.kernel), [SITES * kk]),
            &x.device(),
        );
        x.select(1, idx).reshape([b, SITES, kk * c])
    }

    /// [`TorusConv::forward`] from neighbourhoods gathered already (`[batch, SITES, k²·c_in]`,
    /// as [`gather_spins`] lays them out).
    pub fn forward_gathered(&self, gathered: Tensor<3>) -> Tensor<3> {
        self.linear.forward(gathered)
    }
}

/// The k×k periodic neighbourhood of every site of `n` configurations of ±1 spins
/// (`n × SITES`), as `f32`, `[n, SITES, k²]` row-major: what [`TorusConv::forward`] gathers on
/// the device with `select`, gathered on the CPU. burn's CPU backend runs that `select` as a
/// general gather (an index computed per element): 18% of an Ising training step in the page,
/// where this loop over the configurations costs a few percent.
pub fn gather_spins(x: &[i8], k: usize) -> Vec<f32> {
    let idx = torus_neighbourhoods(k);
    let mut out = Vec::with_capacity(x.len() * k * k);
    for config in x.chunks_exact(SITES) {
        out.extend(idx.iter().map(|&j| config[j as usize] as f32));
    }
    out
}

/// See the module documentation.
#[derive(Module, Debug)]
pub struct IsingNet {
    input: TorusConv,
    global: Linear,
    hidden: Vec<Linear>,
    time: Vec<Linear>,
    output: Linear,
    #[module(skip)]
    activation: Activation,
}

impl IsingNetConfig {
    pub fn init(&self, device: &Device) -> IsingNet {
        let c = self.channels;
        IsingNet {
            input: TorusConv::new(1, c, self.kernel, device),
            global: LinearConfig::new(c, c).init(device),
            hidden: (0..self.layers)
                .map(|_| LinearConfig::new(c, c).init(device))
                .collect(),
            time: (0..=self.layers)
                .map(|_| LinearConfig::new(self.time_features, c).init(device))
                .collect(),
            output: LinearConfig::new(c, 1).init(device),
            activation: self.activation,
        }
    }
}

impl IsingNet {
    /// Side of the first convolution's window.
    pub fn kernel(&self) -> usize {
        self.input.kernel
    }

    /// `spins [batch, SITES]`, `time [batch, time_features]` → logits `[batch, SITES]`.
    pub fn forward(&self, spins: Tensor<2>, time: Tensor<2>) -> Tensor<2> {
        let [b, _] = spins.dims();
        self.layers(self.input.forward(spins.reshape([b, SITES, 1])), time)
    }

    /// [`IsingNet::forward`] from the spins' neighbourhoods gathered already
    /// (`[batch, SITES, k²]`, [`gather_spins`]).
    pub fn forward_gathered(&self, neighbourhoods: Tensor<3>, time: Tensor<2>) -> Tensor<2> {
        self.layers(self.input.forward_gathered(neighbourhoods), time)
    }

    /// Everything after the first convolution (`first: [batch, SITES, C]`, before its bias).
    fn layers(&self, first: Tensor<3>, time: Tensor<2>) -> Tensor<2> {
        let [b, _, _] = first.dims();
        let bias = |k: usize| -> Tensor<3> {
            let v = self.time[k].forward(time.clone());
            let c = v.dims()[1];
            v.reshape([b, 1, c])
        };
        let mut h = self.activation.forward(first + bias(0));
        let global = self.global.forward(h.clone().mean_dim(1));
        for (k, layer) in self.hidden.iter().enumerate() {
            h = h.clone()
                + self
                    .activation
                    .forward(layer.forward(h) + bias(k + 1) + global.clone());
        }
        self.output.forward(h).reshape([b, SITES])
    }
}

/// `[n·SITES, c]` rows, per configuration: `[n, c]` repeated over its sites.
fn per_config(x: Tensor<2>, n: usize) -> Tensor<2> {
    let c = x.dims()[1];
    x.reshape([n, 1, c])
        .expand([n, SITES, c])
        .reshape([n * SITES, c])
}

/// `[n·SITES, c]` rows summed over each configuration's sites: `[n, c]`.
fn sum_sites(x: Tensor<2>, n: usize) -> Tensor<2> {
    let c = x.dims()[1];
    x.reshape([n, SITES, c]).sum_dim(1).reshape([n, c])
}

impl IsingNet {
    /// The training loss and its gradient with respect to every parameter, with the backward
    /// pass written out instead of recorded: `scale` times the mean cross-entropy per spin,
    /// `−log σ(y · (f(x) + skip))`, of the network's logits `f` on the neighbourhoods
    /// `gathered` (`[n, SITES, k²]`, [`gather_spins`]) at the time features `time`, with the
    /// skip term `skip` (`[n, SITES]`) added and ±1 targets `y` (`[n, SITES]`).
    ///
    /// Why: recorded, a step of this small network is ~30 nodes of burn-autodiff's graph, and
    /// every node takes burn-autodiff's one process-wide lock (`GraphMutexClient`). On two
    /// threads the split step's halves queue there: each half ran 1.4× slower than the same
    /// half alone (in the page, and natively 1.07–1.35×; forward passes without autodiff ran
    /// at full speed side by side). Written out, the step is plain backend operations on the
    /// inner (non-autodiff) tensors. `tests/written_grads.rs` checks the loss and every gradient
    /// against burn-autodiff's.
    pub fn loss_and_grads(
        &self,
        gathered: Tensor<3>,
        time: Tensor<2>,
        skip: Tensor<2>,
        y: Tensor<2>,
        scale: f64,
    ) -> (Tensor<1>, GradientsParams) {
        let [n, _, kk] = gathered.dims();
        let rows = n * SITES;
        let act = self.activation;
        let (g, time) = (gathered.inner().reshape([rows, kk]), time.inner());
        let (skip, y) = (skip.inner(), y.inner());
        let input = weights(&self.input.linear);
        let global = weights(&self.global);
        let hidden: Vec<_> = self.hidden.iter().map(weights).collect();
        let times: Vec<_> = self.time.iter().map(weights).collect();
        let output = weights(&self.output);

        // Forward, keeping what the backward pass needs.
        let tb: Vec<Tensor<2>> = times.iter().map(|t| affine(time.clone(), t)).collect();
        let a0 = affine(g.clone(), &input) + per_config(tb[0].clone(), n);
        let h0 = act.forward(a0.clone());
        let m = sum_sites(h0.clone(), n).div_scalar(SITES as f64);
        let gl = affine(m.clone(), &global);
        let mut h = vec![h0];
        let mut u = Vec::with_capacity(hidden.len());
        for (k, layer) in hidden.iter().enumerate() {
            let prev = h[k].clone();
            let uk = affine(prev.clone(), layer) + per_config(tb[k + 1].clone() + gl.clone(), n);
            h.push(prev + act.forward(uk.clone()));
            u.push(uk);
        }
        let last = h.last().expect("at least the first layer").clone();
        let logits = affine(last.clone(), &output).reshape([n, SITES]) + skip;
        let z = logits * y.clone();
        let loss = log_sigmoid(z.clone()).neg().mean().mul_scalar(scale);

        // Backward. d/dz −log σ(z) = −σ(−z); the mean over n·SITES spins, times `scale`.
        let dz = sigmoid(z.neg()).neg() * y;
        let d_out = dz.mul_scalar(scale / rows as f64).reshape([rows, 1]);
        let mut grads = GradientsParams::new();
        let mut dh = d_out.clone().matmul(output.0.clone().transpose());
        register(&mut grads, &self.output, last, d_out);
        // Layer k's time bias and the global term reach every site: their gradients are the
        // layer's summed over the sites.
        let mut d_gl = Tensor::<2>::zeros([n, gl.dims()[1]], &gl.device());
        for k in (0..hidden.len()).rev() {
            let du = act.backward(u[k].clone(), dh.clone());
            let per = sum_sites(du.clone(), n);
            d_gl = d_gl + per.clone();
            register(&mut grads, &self.time[k + 1], time.clone(), per);
            dh = dh + du.clone().matmul(hidden[k].0.clone().transpose());
            register(&mut grads, &self.hidden[k], h[k].clone(), du);
        }
        let dm = d_gl.clone().matmul(global.0.clone().transpose());
        register(&mut grads, &self.global, m, d_gl);
        let dh0 = dh + per_config(dm.div_scalar(SITES as f64), n);
        let da0 = act.backward(a0, dh0);
        register(&mut grads, &self.time[0], time, sum_sites(da0.clone(), n));
        register(&mut grads, &self.input.linear, g, da0);
        (loss, grads)
    }

    /// Every site's neighbourhood of `spins` (`[n, SITES]` → `[n, SITES, k²]`) gathered on the
    /// device with one `select` (a GPU's way; the CPU's is [`gather_spins`]).
    pub fn gather(&self, spins: Tensor<2>) -> Tensor<3> {
        let [n, _] = spins.dims();
        self.input.gather(spins.reshape([n, SITES, 1]))
    }
}
