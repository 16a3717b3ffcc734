//! A multilayer perceptron on (x, time embedding), the score network of the 1D toy.

use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use serde::{Deserialize, Serialize};

use super::written::{affine, register, weights};

/// The nonlinearity between the MLP's layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// `x σ(x)` (burn's SiLU). On the CPU backend each unit costs a scalar `exp`, which in
    /// WebAssembly made it 2/3 of a toy training step.
    Silu,
    /// `½(x + x²/(1 + |x|))`: SiLU's shape (≈ x for large x, a small negative dip, twice
    /// continuously differentiable) from arithmetic alone, which every backend vectorises.
    /// In the page the toy trains 3× faster with it than with SiLU, to the same quality. One
    /// operation with a written-out derivative ([`super::soft_silu`]), not six.
    SoftSilu,
}

impl Activation {
    /// Applies the nonlinearity.
    pub fn forward<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Silu => burn::tensor::activation::silu(x),
            Activation::SoftSilu => super::soft_silu::soft_silu(x),
        }
    }

    /// `grad · f′(x)`: the gradient through the nonlinearity at `x`, for a backward pass
    /// written out ([`super::written`]).
    pub fn backward<const D: usize>(self, x: Tensor<D>, grad: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Silu => {
                let s = sigmoid(x.clone());
                grad * s.clone() * (x * (s.neg() + 1.0) + 1.0)
            }
            Activation::SoftSilu => super::soft_silu::soft_silu_backward(x, grad),
        }
    }

    /// Its name in prose: "SiLU", "soft SiLU".
    pub fn label(self) -> &'static str {
        match self {
            Activation::Silu => "SiLU",
            Activation::SoftSilu => "soft SiLU",
        }
    }

    /// What files written before the choice existed used.
    pub fn legacy() -> Self {
        Activation::Silu
    }
}

/// Shape of the MLP.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Input features per sample (data dimensions plus the time embedding).
    pub inputs: usize,
    /// Units per hidden layer.
    pub width: usize,
    /// Number of hidden layers.
    pub depth: usize,
    /// Outputs per sample.
    pub outputs: usize,
    /// The nonlinearity between layers.
    #[serde(default = "Activation::legacy")]
    pub activation: Activation,
}

/// `inputs → width → … → width → outputs`, the activation between layers.
#[derive(Module, Debug)]
pub struct ScoreMlp {
    hidden: Vec<Linear>,
    output: Linear,
    #[module(skip)]
    activation: Activation,
}

impl MlpConfig {
    /// Builds the network with freshly initialised weights on `device`.
    pub fn init(&self, device: &Device) -> ScoreMlp {
        let mut hidden = Vec::with_capacity(self.depth);
        let mut fan_in = self.inputs;
        for _ in 0..self.depth {
            hidden.push(LinearConfig::new(fan_in, self.width).init(device));
            fan_in = self.width;
        }
        ScoreMlp {
            hidden,
            output: LinearConfig::new(fan_in, self.outputs).init(device),
            activation: self.activation,
        }
    }
}

impl ScoreMlp {
    /// The nonlinearity between the layers.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// `[batch, inputs] → [batch, outputs]`.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        let mut h = features;
        for layer in &self.hidden {
            h = self.activation.forward(layer.forward(h));
        }
        self.output.forward(h)
    }

    /// [`ScoreMlp::forward`] without autodiff, keeping what [`ScoreMlp::grads`] needs: a
    /// training step's forward pass whose backward pass is written out.
    pub fn forward_kept(&self, features: Tensor<2>) -> (Tensor<2>, MlpPass) {
        let mut pass = MlpPass {
            inputs: Vec::with_capacity(self.hidden.len() + 1),
            pre: Vec::with_capacity(self.hidden.len()),
        };
        let mut h = features.inner();
        for layer in &self.hidden {
            let z = affine(h.clone(), &weights(layer));
            pass.inputs.push(h);
            h = self.activation.forward(z.clone());
            pass.pre.push(z);
        }
        let out = affine(h.clone(), &weights(&self.output));
        pass.inputs.push(h);
        (out, pass)
    }

    /// The gradient of a loss for every parameter, given the pass that made the outputs and the
    /// loss's gradient `d_out` with respect to them (`[batch, outputs]`). `tests/written_grads.rs`
    /// checks it against burn-autodiff's.
    pub fn grads(&self, pass: MlpPass, d_out: Tensor<2>) -> GradientsParams {
        let mut grads = GradientsParams::new();
        let MlpPass { mut inputs, pre } = pass;
        let last = inputs.pop().expect("the output layer's input");
        let mut dh = d_out.clone().matmul(weights(&self.output).0.transpose());
        register(&mut grads, &self.output, last, d_out);
        for (k, (layer, z)) in self.hidden.iter().zip(pre).enumerate().rev() {
            let dz = self.activation.backward(z, dh);
            register(&mut grads, layer, inputs[k].clone(), dz.clone());
            if k == 0 {
                break; // the features need no gradient
            }
            dh = dz.matmul(weights(layer).0.transpose());
        }
        grads
    }
}

/// What [`ScoreMlp::forward_kept`] keeps for the backward pass: each layer's input rows and
/// each hidden layer's pre-activations.
pub struct MlpPass {
    inputs: Vec<Tensor<2>>,
    pre: Vec<Tensor<2>>,
}
