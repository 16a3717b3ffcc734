//! A model's training as the lab shows it, the same for every model: the trainer (taken out by
//! the session while a chunk of steps runs), the snapshot the views are computed from, the
//! losses read back, the views, and the pacing of both.

use crate::pacing::{Pace, Refresh};
use crate::run::Training;

/// The live state of a model trained by `T`, whose views are `V`.
pub struct Live<T: Training, V> {
    /// `None` while a training chunk runs (or before the model has data).
    pub trainer: Option<T>,
    /// The network the views were (or will be) computed from: the weight average.
    pub snapshot: Option<T::Model>,
    pub snapshot_steps: u64,
    /// (step, loss) read back after each chunk.
    pub losses: Vec<(u64, f64)>,
    pub learned: Option<V>,
    /// Bumped whenever the trainer is replaced: work started on an older one is discarded.
    pub generation: u64,
    pub refresh: Refresh,
    pub pace: Pace,
    /// A network arrived trained (a weights file, the pretrained network, a restore) and its
    /// loss is not measured yet: the session measures it on one batch
    /// (`session::train::loaded_loss`), so the header and the loss curve start from it.
    pub loss_due: bool,
}

impl<T: Training, V> Live<T, V> {
    /// No trainer yet; views refreshed by `refresh`, training paced by `pace`.
    pub fn new(refresh: Refresh, pace: Pace) -> Self {
        Live {
            trainer: None,
            snapshot: None,
            snapshot_steps: 0,
            losses: Vec::new(),
            learned: None,
            generation: 0,
            refresh,
            pace,
            loss_due: false,
        }
    }

    /// Starts over with `trainer` (a fresh network): work on the old one is discarded, its
    /// losses and views forgotten.
    pub fn start(&mut self, trainer: T) {
        self.generation += 1;
        self.snapshot = Some(trainer.snapshot());
        self.snapshot_steps = trainer.steps();
        self.trainer = Some(trainer);
        self.losses.clear();
        self.learned = None;
        self.refresh.dirty = true;
        self.refresh.trained_ms = 0.0;
    }

    /// Puts `trainer` back after a chunk (or a loaded network), with its snapshot.
    pub fn put_back(&mut self, trainer: T) {
        self.snapshot = Some(trainer.snapshot());
        self.snapshot_steps = trainer.steps();
        self.trainer = Some(trainer);
        self.refresh.dirty = true;
    }

    /// Puts back `trainer` holding a network that arrived trained: its losses start afresh,
    /// from its own loss measured on a batch ([`Live::loss_due`]).
    pub fn installed(&mut self, trainer: T) {
        self.put_back(trainer);
        self.losses.clear();
        self.loss_due = true;
    }

    /// Steps trained so far.
    pub fn steps(&self) -> u64 {
        self.trainer
            .as_ref()
            .map(|t| t.steps())
            .unwrap_or(self.snapshot_steps)
    }

    /// The model to sample with now: the trainer's latest weights, else the snapshot.
    pub fn model(&self) -> Option<T::Model> {
        self.trainer
            .as_ref()
            .map(|t| t.snapshot())
            .or_else(|| self.snapshot.clone())
    }
}
