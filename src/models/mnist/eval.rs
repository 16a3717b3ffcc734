//! The project's own measure of generated digits: a classifier trained on the 8,000 held-out
//! digits (never on the 2,000 the diffusion model sees) scores how many samples it recognises
//! confidently, which classes they fall in, and the Fréchet distance of its features to the
//! training digits' (native only: it reads the assets from disk).

use burn::prelude::*;

use super::classifier::{classify, ClassifierTrainer};
use super::data::{load_asset, Quality};
use crate::nn::classifier::DigitClassifier;

/// Adam steps of the measuring classifier (an MLP; about 95.6% accurate on the training digits).
pub const CLASSIFIER_STEPS: usize = 3000;

/// The measuring classifier with its verdict on the 2,000 training digits.
pub struct Evaluator {
    pub classifier: DigitClassifier,
    /// `2000 × 10` class probabilities of the training digits.
    pub train_probs: Vec<f32>,
    /// `2000 × 256` features of the training digits: the Fréchet reference.
    pub train_features: Vec<f32>,
    /// Fraction of the training digits classified as their label.
    pub accuracy: f64,
}

/// Feature width of the classifier.
const FEATURES: usize = 256;

impl Evaluator {
    /// Trains the classifier on the held-out digits (seed 11, deterministic).
    pub fn new(device: &Device) -> Result<Evaluator, String> {
        let train = load_asset("mnist-train.bin")?;
        let held = load_asset("mnist-heldout.bin")?;
        let held_x = held.centered();
        let mut clf = ClassifierTrainer::new(false, Default::default(), 11, device);
        for _ in 0..CLASSIFIER_STEPS {
            let _ = clf.step(&held_x, &held.labels);
        }
        let classifier = clf.classifier();
        let (train_probs, train_features) =
            pollster::block_on(classify(&classifier, &train.centered(), device));
        let accuracy = train_probs
            .chunks_exact(10)
            .zip(&train.labels)
            .filter(|(p, &l)| p.iter().cloned().fold(f32::MIN, f32::max) == p[l as usize])
            .count() as f64
            / train.len() as f64;
        Ok(Evaluator {
            classifier,
            train_probs,
            train_features,
            accuracy,
        })
    }

    /// The measures of `x` (`n × 784` values in the model's range, −1 to 1).
    pub fn quality(&self, x: &[f32], device: &Device) -> Quality {
        let (p, f) = pollster::block_on(classify(&self.classifier, x, device));
        Quality::measure(&p, &f, &self.train_features, FEATURES)
    }

    /// The same measures on the first `n` real training digits: the floor the sample size
    /// allows (the Fréchet distance of n real digits is not zero).
    pub fn real_floor(&self, n: usize) -> Quality {
        let k = n.min(self.train_probs.len() / 10);
        Quality::measure(
            &self.train_probs[..k * 10],
            &self.train_features[..k * FEATURES],
            &self.train_features,
            FEATURES,
        )
    }
}
