//! A multilayer perceptron on (x, time embedding), the score network of the 1D toy.

use burn::nn::activation::SiLU;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

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
}

/// `inputs → width → … → width → outputs`, SiLU between layers.
#[derive(Module, Debug)]
pub struct ScoreMlp {
    hidden: Vec<Linear>,
    output: Linear,
    activation: SiLU,
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
            activation: SiLU::new(),
        }
    }
}

impl ScoreMlp {
    /// `[batch, inputs] → [batch, outputs]`.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        let mut h = features;
        for layer in &self.hidden {
            h = self.activation.forward(layer.forward(h));
        }
        self.output.forward(h)
    }
}
