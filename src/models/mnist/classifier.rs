//! The digit classifiers: trained with cross-entropy on clean digits (the measuring
//! classifier of `eval` and the CLI) or on noised digits told their time (the guidance
//! classifier the page trains when a digit is asked for), and classifying clean images.

use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::diffusion::Schedule;
use crate::models::mnist::data::PIXELS;
use crate::models::mnist::train::{classifier_input, noised_batch, read, SAMPLE_CHUNK, TIME_FREQS};
use crate::nn::classifier::{ClassifierConfig, DigitClassifier};

/// Trains a digit classifier with cross-entropy. `noised`: on images noised at a random time
/// of `schedule` and told that time (for guidance); otherwise on clean images (for measuring).
pub struct ClassifierTrainer {
    pub net: DigitClassifier,
    pub noised: bool,
    pub schedule: Schedule,
    pub steps: u64,
    pub learning_rate: f64,
    pub batch: usize,
    device: Device,
    optimizer: ModuleOptimizer,
    rng: StdRng,
}

impl ClassifierTrainer {
    pub fn new(noised: bool, schedule: Schedule, seed: u64, device: &Device) -> ClassifierTrainer {
        device.seed(seed);
        let train_device = device.clone().autodiff();
        let inputs = PIXELS + if noised { 2 * TIME_FREQS } else { 0 };
        // The guidance classifier trains in the page while the user waits: small and quick
        // (its gradients need only point the right way); the measuring one is larger.
        let (width, batch) = if noised { (128, 64) } else { (256, 128) };
        ClassifierTrainer {
            net: ClassifierConfig {
                inputs,
                width,
                depth: 2,
            }
            .init(&train_device),
            noised,
            schedule,
            steps: 0,
            learning_rate: 1e-3,
            batch,
            device: train_device,
            optimizer: AdamConfig::new().init(),
            rng: StdRng::seed_from_u64(seed ^ 0xc1a5_5e5),
        }
    }

    /// One Adam step on a batch of `data` (model space) with `labels`; returns the loss tensor.
    pub fn step(&mut self, data: &[f32], labels: &[u8]) -> Tensor<1> {
        let b = self.batch;
        let (x, ts, idx) = if self.noised {
            let (xt, _, ts, idx) = noised_batch(&self.schedule, data, b, &mut self.rng);
            (xt, ts, idx)
        } else {
            let m = labels.len();
            let idx: Vec<usize> = (0..b).map(|_| self.rng.random_range(0..m)).collect();
            let mut x = Vec::with_capacity(b * PIXELS);
            for &i in &idx {
                x.extend_from_slice(&data[i * PIXELS..(i + 1) * PIXELS]);
            }
            (x, Vec::new(), idx)
        };
        let input = Tensor::<2>::from_data(TensorData::new(x, [b, PIXELS]), &self.device);
        let input = if self.noised {
            classifier_input(&self.schedule, input, &ts, &self.device)
        } else {
            input
        };
        let mut hot = vec![0.0f32; b * 10];
        for (r, &i) in idx.iter().enumerate() {
            hot[r * 10 + labels[i] as usize] = 1.0;
        }
        let target = Tensor::<2>::from_data(TensorData::new(hot, [b, 10]), &self.device);
        let loss = (log_softmax(self.net.forward(input), 1) * target)
            .sum_dim(1)
            .neg()
            .mean();
        self.steps += 1;
        self.net = crate::nn::ema::descend(
            &mut self.optimizer,
            self.learning_rate,
            self.net.clone(),
            &loss,
            &mut None,
            0.0,
            self.steps,
        );
        loss
    }

    /// The classifier without autodiff.
    pub fn classifier(&self) -> DigitClassifier {
        self.net.valid()
    }
}

/// Class probabilities `[n, 10]` and features `[n, width]` of clean images (model space) under
/// a classifier trained without time.
pub async fn classify(
    classifier: &DigitClassifier,
    x: &[f32],
    device: &Device,
) -> (Vec<f32>, Vec<f32>) {
    let (mut probs, mut feats) = (Vec::new(), Vec::new());
    for chunk in x.chunks(SAMPLE_CHUNK * PIXELS) {
        let rows = chunk.len() / PIXELS;
        let input = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [rows, PIXELS]), device);
        let f = classifier.features(input);
        let p = burn::tensor::activation::softmax(classifier.logits(f.clone()), 1);
        probs.extend(read(p).await);
        feats.extend(read(f).await);
    }
    (probs, feats)
}
