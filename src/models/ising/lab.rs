//! The Ising model in the lab: Gibbs data at the chosen β, the exact distributions, the learned
//! reverse kernel's training state and what it generates, and the rules for what a change of
//! settings rebuilds. Async work is driven by the session.

use std::rc::Rc;
use std::sync::OnceLock;

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::exact::{density_of_states, IsingExact};
use super::lattice::{gibbs_samples, SpinStats, SITES};
use super::train::{IsingConfig, IsingModel, IsingTrainer};
use crate::models::toy1d::lab::Applied;
use crate::pacing::{Clock, Pace, Pause, Refresh};
use crate::run::Training;

/// Configurations generated for the live plots at each refresh (the API draws as many as asked).
pub const LIVE_SAMPLES: usize = 300;

/// The density of states of the 8×8 torus: computed once per process (about 10⁸ additions).
fn dos() -> &'static [f64] {
    static DOS: OnceLock<Vec<f64>> = OnceLock::new();
    DOS.get_or_init(|| density_of_states(8))
}

/// What the network generated, from a snapshot of it.
#[derive(Clone, Debug)]
pub struct IsingLearned {
    /// The training step of the snapshot.
    pub steps: u64,
    pub samples: Vec<i8>,
    pub stats: SpinStats,
    /// TV distances (|M|, energy) to the exact distributions.
    pub tv: (f64, f64),
    /// One configuration's reverse run: (time, spins) after every step.
    pub reverse_run: Vec<(f64, Vec<i8>)>,
}

/// The Ising model's state in the lab.
pub struct IsingLab {
    pub config: IsingConfig,
    /// Milliseconds the exact distributions took for this β (the density of states is computed
    /// once per process and included the first time).
    pub exact_ms: f64,
    pub exact: IsingExact,
    pub data: Rc<Vec<i8>>,
    pub data_stats: SpinStats,
    /// One training configuration's forward run, T + 1 states.
    pub forward_run: Vec<Vec<i8>>,
    /// `None` while a training chunk runs.
    pub trainer: Option<IsingTrainer>,
    pub snapshot: Option<IsingModel>,
    pub snapshot_steps: u64,
    pub losses: Vec<(u64, f64)>,
    pub learned: Option<IsingLearned>,
    /// Bumped whenever the trainer is replaced: work started on an older one is discarded.
    pub generation: u64,
    pub refresh: Refresh,
    pub pace: Pace,
}

impl IsingLab {
    /// Gibbs data, the exact distributions and a fresh network for `config`.
    pub fn new(config: IsingConfig, device: &Device, clock: Clock) -> IsingLab {
        let started = clock();
        let exact = IsingExact::new(8, config.beta, dos());
        let exact_ms = clock() - started;
        let mut rng = StdRng::seed_from_u64(config.seed.wrapping_mul(0x9e37_79b9) ^ 0x15);
        let data = gibbs_samples(config.beta, config.data_size, 2, &mut rng);
        let process = config.process();
        let mut x = data[..SITES].to_vec();
        let mut forward_run = vec![x.clone()];
        for _ in 0..process.steps {
            process.step(&mut x, &mut rng);
            forward_run.push(x.clone());
        }
        let mut lab = IsingLab {
            config,
            exact_ms,
            exact,
            data_stats: SpinStats::of(&data),
            data: Rc::new(data),
            forward_run,
            trainer: None,
            snapshot: None,
            snapshot_steps: 0,
            losses: Vec::new(),
            learned: None,
            generation: 0,
            // Sampling costs seconds: at most every 5 s while training, half as often while a
            // scripted request runs (the caller waits for its steps).
            refresh: Refresh::new(5000.0, 2.0),
            pace: Pace::new(4, 64),
        };
        lab.reset_trainer(device);
        lab
    }

    /// A fresh network (new weights, new optimizer).
    pub fn reset_trainer(&mut self, device: &Device) {
        self.generation += 1;
        let trainer = IsingTrainer::new(self.config, device);
        self.snapshot = Some(trainer.inference_model());
        self.snapshot_steps = 0;
        self.trainer = Some(trainer);
        self.losses.clear();
        self.learned = None;
        self.refresh.dirty = true;
    }

    /// Applies a new configuration, rebuilding only what it changes: new data and exact
    /// distributions (and a fresh network) for a new β, flip rate, data size or seed; a fresh
    /// network for a new architecture or kernel; otherwise the optimiser's and sampler's
    /// settings take effect on the running network.
    pub fn apply(&mut self, new: IsingConfig, device: &Device, clock: Clock) -> Applied {
        let old = self.config;
        if old.beta != new.beta
            || old.data_size != new.data_size
            || old.seed != new.seed
            || old.r != new.r
        {
            *self = IsingLab::new(new, device, clock);
            return Applied {
                data: true,
                network: true,
            };
        }
        self.config = new;
        let network = old.channels != new.channels
            || old.layers != new.layers
            || old.kernel != new.kernel
            || old.target != new.target;
        if network {
            self.reset_trainer(device);
        } else if let Some(t) = self.trainer.as_mut() {
            t.config = new;
        }
        self.refresh.dirty = true;
        Applied {
            data: false,
            network,
        }
    }

    /// Steps trained so far.
    pub fn steps(&self) -> u64 {
        self.trainer
            .as_ref()
            .map(|t| t.steps())
            .unwrap_or(self.snapshot_steps)
    }

    /// The learned views of `samples` generated by the snapshot at step `steps`.
    pub fn learned_from(
        &self,
        steps: u64,
        samples: Vec<i8>,
        reverse_run: Vec<(f64, Vec<i8>)>,
    ) -> IsingLearned {
        let stats = SpinStats::of(&samples);
        let tv = stats.tv_to(&self.exact);
        IsingLearned {
            steps,
            samples,
            stats,
            tv,
            reverse_run,
        }
    }
}

/// Generates `n` configurations with `model` and the sampler of `config`, recording the first
/// configuration's run; pauses between network evaluations.
pub async fn generate(
    model: &IsingModel,
    config: &IsingConfig,
    n: usize,
    seed: u64,
    device: &Device,
    pause: &Pause,
) -> (Vec<i8>, Vec<(f64, Vec<i8>)>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let plan = model.plan(config);
    let mut run = Vec::new();
    let x = model
        .sample(
            n,
            &plan,
            &mut rng,
            device,
            |_, t, x: &[i8]| run.push((t, x[..SITES].to_vec())),
            async || pause().await,
        )
        .await;
    (x, run)
}
