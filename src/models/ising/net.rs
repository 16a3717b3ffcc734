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
use burn::prelude::*;
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
        let [b, _, c] = x.dims();
        let kk = self.kernel * self.kernel;
        let idx = Tensor::<1, Int>::from_data(
            TensorData::new(torus_neighbourhoods(self.kernel), [SITES * kk]),
            &x.device(),
        );
        let gathered = x.select(1, idx).reshape([b, SITES, kk * c]);
        self.forward_gathered(gathered)
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
