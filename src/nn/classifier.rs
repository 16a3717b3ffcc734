//! A digit classifier: an MLP on the image (and, for guidance, on the time of the noised image).
//!
//! Two uses. Classifier guidance (Dhariwal & Nichol 2021; seed 000, section 3) needs
//! `∇_x log p(y | x_t, t)` on noised images, so that classifier sees `t`. The quality measure
//! needs a classifier of clean digits trained on digits the diffusion model never saw; its last
//! hidden layer gives the features of the Fréchet distance.

use burn::nn::activation::SiLU;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Shape of the classifier.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// Input features: 784 pixels plus the time embedding's width (0 without time).
    pub inputs: usize,
    pub width: usize,
    /// Hidden layers.
    pub depth: usize,
}

/// `inputs → width → … → width → 10` logits, SiLU between layers.
#[derive(Module, Debug)]
pub struct DigitClassifier {
    hidden: Vec<Linear>,
    output: Linear,
    activation: SiLU,
}

impl ClassifierConfig {
    pub fn init(&self, device: &Device) -> DigitClassifier {
        let mut hidden = Vec::with_capacity(self.depth);
        let mut fan_in = self.inputs;
        for _ in 0..self.depth {
            hidden.push(LinearConfig::new(fan_in, self.width).init(device));
            fan_in = self.width;
        }
        DigitClassifier {
            hidden,
            output: LinearConfig::new(fan_in, 10).init(device),
            activation: SiLU::new(),
        }
    }
}

impl DigitClassifier {
    /// The last hidden layer `[b, width]`: the features of the Fréchet distance.
    pub fn features(&self, input: Tensor<2>) -> Tensor<2> {
        let mut h = input;
        for layer in &self.hidden {
            h = self.activation.forward(layer.forward(h));
        }
        h
    }

    /// Logits `[b, 10]`.
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        self.logits(self.features(input))
    }

    /// Logits from features already computed by [`DigitClassifier::features`].
    pub fn logits(&self, features: Tensor<2>) -> Tensor<2> {
        self.output.forward(features)
    }
}
