//! The 1D toy in the lab: its data, network, losses and views, and the rules for what a change
//! of settings rebuilds. Async work (training chunks, refreshing the views) is driven by the
//! session, which takes the trainer out while it runs ([`ToyLab::trainer`] is `None` then).

use std::sync::Arc;

use burn::prelude::Device;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::mixture::{DataMode, Mixture, PairSource};
use super::train::{TrainConfig, Trainer};
use super::views::{ExactViews, LearnedViews};
use crate::diffusion::Schedule;
use crate::models::live::Live;
use crate::pacing::{Pace, Refresh};

/// What the toy's data and network depend on (a part of the lab's settings).
#[derive(Clone, Debug, PartialEq)]
pub struct ToyConfig {
    pub mixture: Mixture,
    pub schedule: Schedule,
    pub data: DataMode,
    /// Forward runs in the fixed data set.
    pub runs: usize,
    pub seed: u64,
    pub train: TrainConfig,
}

/// What applying new settings did to a model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The data (and the exact references) were rebuilt.
    pub data: bool,
    /// The network started afresh.
    pub network: bool,
}

/// The toy's state in the lab.
pub struct ToyLab {
    pub config: ToyConfig,
    pub source: Arc<PairSource>,
    pub exact: ExactViews,
    /// Bumped whenever `exact` is recomputed (the page caches a raster of it).
    pub exact_generation: u64,
    /// The network's training and what the plots show about it.
    pub live: Live<Trainer, LearnedViews>,
}

impl ToyLab {
    /// The toy for `config`, with a fresh network on `device`.
    pub fn new(config: ToyConfig, device: &Device) -> ToyLab {
        let mut lab = ToyLab {
            source: Arc::new(PairSource::Fresh),
            exact: ExactViews::default(),
            exact_generation: 0,
            // The live plots cost ~1/6 of the time: at most every 1.5 s while training.
            live: Live::new(Refresh::new(1500.0, 1.0), Pace::new(8, 256)),
            config,
        };
        lab.rebuild_data();
        lab.reset_trainer(device);
        lab
    }

    /// The data mixture.
    pub fn mixture(&self) -> &Mixture {
        &self.config.mixture
    }

    /// Rebuilds the pair source and the exact views from the configuration.
    fn rebuild_data(&mut self) {
        let c = &self.config;
        let mut rng = StdRng::seed_from_u64(c.seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5151);
        self.source = Arc::new(match c.data {
            DataMode::Fresh => PairSource::Fresh,
            DataMode::Fixed => PairSource::fixed(&c.mixture, &c.schedule, c.runs, 100, &mut rng),
        });
        self.exact = ExactViews::compute(&c.mixture, &c.schedule, &self.source, &mut rng);
        self.exact_generation += 1;
        if let Some(t) = self.live.trainer.as_mut() {
            t.model.data_var = c.mixture.variance();
        }
        self.live.refresh.dirty = true;
    }

    /// A fresh network (new weights, new optimizer).
    pub fn reset_trainer(&mut self, device: &Device) {
        let c = &self.config;
        let trainer = Trainer::new(c.train, c.schedule, c.mixture.variance(), device);
        self.live.start(trainer);
    }

    /// Applies a new configuration, rebuilding only what it changes: the data and exact views
    /// when the mixture, schedule, data mode or seed change; a fresh network when its shape,
    /// schedule or seed change; otherwise the optimiser's settings (learning rate, decay, batch,
    /// loss weighting, time draw) take effect on the running network.
    pub fn apply(&mut self, new: ToyConfig, device: &Device) -> Applied {
        let old = std::mem::replace(&mut self.config, new);
        let s = &self.config;
        let data = old.mixture != s.mixture
            || old.schedule != s.schedule
            || old.data != s.data
            || old.runs != s.runs
            || old.seed != s.seed;
        let network = old.schedule != s.schedule
            || old.train.width != s.train.width
            || old.train.depth != s.train.depth
            || old.train.activation != s.train.activation
            || old.seed != s.seed;
        let train = s.train;
        if data {
            self.rebuild_data();
        }
        if network {
            self.reset_trainer(device);
        } else if let Some(t) = self.live.trainer.as_mut() {
            t.config.learning_rate = train.learning_rate;
            t.config.batch = train.batch;
            t.config.weighting = train.weighting;
            t.config.lr_decay = train.lr_decay;
            t.config.time_draw = train.time_draw;
        }
        self.live.refresh.dirty = true;
        Applied { data, network }
    }

    /// Steps trained so far.
    pub fn steps(&self) -> u64 {
        self.live.steps()
    }
}
