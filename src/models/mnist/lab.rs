//! Small MNIST in the lab: the training digits once they are loaded, the network's training
//! state, the guidance classifier, what the network generates, and the rules for what a change
//! of settings rebuilds. Loading the digits and keeping the network in browser storage are the
//! page's; async work is driven by the session.

use std::rc::Rc;
use std::sync::Arc;

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::classifier::ClassifierTrainer;
use super::data::{to_pixel, Digits, PIXELS};
use super::train::{Guidance, MnistConfig, MnistModel, MnistTrainer, NetKind};
use crate::diffusion::{Sampler, SamplerKind};
use crate::models::live::Live;
use crate::models::toy1d::lab::Applied;
use crate::pacing::{Pace, Pause, Refresh};
use crate::run::Join;
use crate::run::Training;

/// Digits generated for the live grid at each refresh.
pub const LIVE_SAMPLES: usize = 16;
/// Samples whose denoising is shown as a strip, and the times shown.
pub const STRIP_SAMPLES: usize = 4;
pub const STRIP_TIMES: usize = 8;
/// Adam steps of the guidance classifier (it trains by itself once a digit is chosen).
pub const CLASSIFIER_STEPS: u64 = 1000;

/// What the network generated, from a snapshot of it.
#[derive(Clone, Debug)]
pub struct MnistLearned {
    /// The training step of the snapshot.
    pub steps: u64,
    /// Generated digits, pixels in `[0, 1]`.
    pub samples: Vec<f32>,
    /// Nearest training digit (index, Euclidean distance in `[0, 1]` pixels) of each sample.
    pub nearest: Vec<(usize, f32)>,
    /// `(t, pixels of the first STRIP_SAMPLES images)` at STRIP_TIMES times of the reverse run.
    pub strip: Vec<(f64, Vec<f32>)>,
    pub sampler: SamplerKind,
    pub sampler_steps: usize,
    pub digit: Option<u8>,
}

impl MnistLearned {
    /// Mean pixel distance of the samples to their nearest training digits.
    pub fn mean_nearest(&self) -> Option<f64> {
        (!self.nearest.is_empty()).then(|| {
            self.nearest.iter().map(|(_, d)| *d as f64).sum::<f64>() / self.nearest.len() as f64
        })
    }
}

/// Small MNIST's state in the lab.
pub struct MnistLab {
    pub config: MnistConfig,
    pub data: Option<Rc<Digits>>,
    /// The training digits in model space (`[-1, 1]`).
    pub centered: Arc<Vec<f32>>,
    /// Why the digits could not be loaded, once that failed.
    pub load_error: Option<String>,
    /// The page is fetching the pretrained network: the views say so until it arrives, instead
    /// of "after the first training steps".
    pub fetching_pretrained: bool,
    /// The network's training and what it generates (no trainer before the digits load).
    pub live: Live<MnistTrainer, MnistLearned>,
    /// The time-conditioned classifier that guidance follows (`None` while it trains a chunk).
    pub classifier: Option<ClassifierTrainer>,
    pub classifier_loss: f64,
    /// Steps of the network last saved to browser storage, and when.
    pub saved_steps: u64,
    pub last_save: f64,
}

impl MnistLab {
    /// The model before its digits are loaded.
    pub fn new(config: MnistConfig) -> MnistLab {
        MnistLab {
            config,
            data: None,
            centered: Arc::new(Vec::new()),
            load_error: None,
            fetching_pretrained: false,
            // Sampling costs seconds: at most every 5 s while training, half as often while a
            // scripted request runs.
            live: Live::new(Refresh::new(5000.0, 2.0), Pace::new(2, 32)),
            classifier: None,
            classifier_loss: f64::NAN,
            saved_steps: 0,
            last_save: -1e9,
        }
    }

    /// Installs the training digits and starts a fresh network on them.
    pub fn set_data(&mut self, digits: Digits, device: &Device) {
        self.centered = Arc::new(digits.centered());
        self.data = Some(Rc::new(digits));
        self.reset_trainer(device);
    }

    /// A fresh network (new weights, new optimizer) on the loaded data.
    pub fn reset_trainer(&mut self, device: &Device) {
        if self.data.is_none() {
            // Nothing to train on yet: the views of an earlier network are gone all the same.
            self.live.generation += 1;
            self.live.losses.clear();
            self.live.learned = None;
            return;
        }
        self.live
            .start(MnistTrainer::new(self.config, &self.centered, device));
    }

    /// Applies a new configuration, rebuilding only what it changes: a fresh network for a new
    /// architecture, schedule or seed (and a new guidance classifier for a new schedule);
    /// otherwise the optimiser's settings take effect on the running network.
    pub fn apply(&mut self, new: MnistConfig, device: &Device) -> Applied {
        let old = self.config;
        self.config = new;
        // A new activation makes a fresh network too (as a new shape does), though a file's
        // network fits settings of either activation (`same_network`).
        let network = !same_network(&old, &new) || old.activation != new.activation;
        if old.schedule != new.schedule {
            self.classifier = None;
        }
        if network {
            self.reset_trainer(device);
        } else if let Some(t) = self.live.trainer.as_mut() {
            t.config = new;
        }
        self.live.refresh.dirty = true;
        Applied {
            data: false,
            network,
        }
    }

    /// Steps trained so far.
    pub fn steps(&self) -> u64 {
        self.live.steps()
    }

    /// Steps the guidance classifier has trained.
    pub fn classifier_steps(&self) -> u64 {
        self.classifier.as_ref().map(|c| c.steps).unwrap_or(0)
    }

    /// Guidance toward `digit` at `scale`, once the classifier is trained.
    pub fn guidance(&self, digit: Option<u8>, scale: f64) -> Option<Guidance> {
        let digit = digit?;
        let clf = self
            .classifier
            .as_ref()
            .filter(|c| c.steps >= CLASSIFIER_STEPS)?;
        Some(Guidance {
            classifier: clf.classifier(),
            digit,
            scale,
        })
    }

    /// Installs a loaded network trained `steps` steps (decoded on the trainer's device).
    pub fn install(&mut self, net: super::train::MnistNet, steps: u64) -> Result<(), String> {
        let mut t = self
            .live
            .trainer
            .take()
            .ok_or("the trainer is busy; try again")?;
        t.install(net, steps);
        self.live.installed(t);
        self.saved_steps = steps;
        Ok(())
    }
}

/// Whether two configurations describe the same network (a saved network fits both). The
/// activation is not compared: the weights fit either, and a loaded network keeps the one
/// its file records (`MnistNet::activation`; the shipped pretrained network's SiLU under the
/// default soft SiLU), while the settings' choice makes fresh networks.
pub fn same_network(a: &MnistConfig, b: &MnistConfig) -> bool {
    (
        a.net, a.channels, a.levels, a.width, a.depth, a.schedule, a.seed,
    ) == (
        b.net, b.channels, b.levels, b.width, b.depth, b.schedule, b.seed,
    )
}

/// "U-Net (16 channels, 2 levels, soft SiLU)" / "MLP (3 × 512, SiLU)".
pub fn describe(c: &MnistConfig) -> String {
    match c.net {
        NetKind::Unet => format!(
            "U-Net ({} channels, {} levels, {})",
            c.channels,
            c.levels,
            c.activation.label()
        ),
        NetKind::Mlp => format!("MLP ({} × {}, {})", c.depth, c.width, c.activation.label()),
    }
}

/// Generates `n` digits from `model`; returns pixels in `[0, 1]` and the denoising strip of
/// the first samples; pauses between network evaluations. `join` (the threaded module's pool)
/// evaluates the network on two halves of the digits at once.
#[allow(clippy::too_many_arguments)]
pub async fn generate(
    model: &MnistModel,
    sampler: &Sampler,
    n: usize,
    guidance: Option<&Guidance>,
    seed: u64,
    device: &Device,
    pause: &Pause,
    join: Option<Join>,
) -> (Vec<f32>, Vec<(f64, Vec<f32>)>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut strip = Vec::new();
    let keep = STRIP_SAMPLES.min(n) * PIXELS;
    let every = (sampler.steps / (STRIP_TIMES - 1)).max(1);
    let x = model
        .sample(
            sampler,
            n,
            guidance,
            &mut rng,
            device,
            |k, t, x: &[f32]| {
                if k % every == 0 || k == sampler.steps {
                    strip.push((t, x[..keep].iter().map(|&v| to_pixel(v)).collect()));
                }
            },
            async || pause().await,
            join,
        )
        .await;
    // Keep STRIP_TIMES columns: the first ones and the last.
    if strip.len() > STRIP_TIMES {
        let last = strip.pop().expect("non-empty");
        strip.truncate(STRIP_TIMES - 1);
        strip.push(last);
    }
    (x.iter().map(|&v| to_pixel(v)).collect(), strip)
}
