//! The lab core the page drives: the settings, the device, the three models' state, what is
//! playing and pending, and the messages; the page only binds controls, forwards what the user
//! does, and draws. Everything here is plain Rust that runs and is tested natively.
//!
//! The session lives in a `RefCell`; its async work ([`drive`]) borrows it only between awaits,
//! taking a model's trainer out while a chunk of steps runs (a GPU read may await), so the page
//! can read it to draw at any time and no borrow is held across an `await`.
//!
//! `window.lab` and the controls reach it through [`Command`]s (plain data, serialisable, so the
//! same messages can later cross a `postMessage` into a Web Worker) and [`drive::handle`]; what
//! the page draws comes from the models' view data and [`Session::status`].

pub mod drive;
pub mod ising;
pub mod mnist;
pub mod samples;
pub mod toy1d;
pub mod train;

use std::cell::RefCell;

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

use crate::models::ising::lab::IsingLab;
use crate::models::mnist::lab::MnistLab;
use crate::models::toy1d::lab::{Applied, ToyConfig, ToyLab};
use crate::models::Model;
use crate::pacing::{Clock, OnPool, Pace, Pause};
use crate::run::Join;
use crate::settings::Settings;

/// A pending request to train `remaining` more steps (`lab.train`, the Step button).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainRequest {
    pub remaining: u64,
}

/// What the page (or `window.lab`) asks of the lab. Plain data: it can cross a `postMessage`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Apply settings given as a query string (the URL's, or the controls').
    Apply { query: String },
    /// Train or pause.
    SetPlaying(bool),
    /// Toggle training (the Train / Pause button): while anything trains (play, queued steps)
    /// it stops all of it, else it plays.
    TogglePlay,
    /// Queue `steps` training steps of the model on show (the Step button).
    Step { steps: u64 },
    /// A fresh network for the model on show (the Reset button).
    Reset,
    /// The next seed (the ↻ button).
    NextSeed,
}

/// What `window.lab` (or a script, or a worker's owner) asks of the lab and waits for. Plain
/// data, like [`Command`]; [`drive::handle`] answers each with a [`Reply`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Show `model` (with a new β for the Ising model) and queue `steps` training steps; the
    /// page's loop runs them.
    Train {
        model: Model,
        steps: u64,
        beta: Option<f64>,
    },
    /// Draw samples from the network of `model` (shown first).
    Sample(SampleRequest),
    /// The network on show as a weights file.
    Export,
    /// Load a weights file (any model's), named `origin` in messages.
    Import { bytes: Vec<u8>, origin: String },
}

/// What to sample and how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleRequest {
    pub model: Model,
    pub n: usize,
    pub sampler: crate::diffusion::Sampler,
    pub seed: u64,
    /// The toy: the exact score instead of the network.
    pub exact: bool,
    /// MNIST: guide toward this digit with this scale.
    pub digit: Option<u8>,
    pub guidance: f64,
}

/// The lab's answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    /// The steps are queued; the model had trained `before` steps.
    Queued { before: u64 },
    /// Samples, row-major with this shape (pixels in `[0, 1]`, spins ±1).
    Samples { data: Vec<f32>, shape: Vec<usize> },
    /// A weights file and its name.
    Weights { bytes: Vec<u8>, name: String },
    /// A file was loaded: what it held.
    Loaded { message: String },
}

/// What applying settings did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Messages about rejected values (shown in the page).
    pub problems: Vec<String>,
    /// The model on show changed.
    pub model: bool,
    pub toy: Applied,
    /// `None` where the model is not created yet.
    pub ising: Option<Applied>,
    pub mnist: Option<Applied>,
}

/// A snapshot of the lab for `lab.status()`, tests and the console.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub model: String,
    pub steps: u64,
    pub playing: bool,
    pub loss: f64,
    pub error: Option<String>,
    pub notices: String,
    pub views_ready: bool,
    /// The training step the learned views show (−1: none yet).
    pub views_step: f64,
    pub refresh_ms: f64,
    pub steps_per_sec: f64,
    pub loss_points: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sde_w1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ode_w1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact_nn_correlation: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tv_abs_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tv_energy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nn_correlation: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_loaded: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classifier_steps: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest_distance: Option<f64>,
}

/// The lab core.
pub struct Session {
    pub settings: Settings,
    pub device: Device,
    /// "webgpu" or "cpu".
    pub device_name: &'static str,
    /// Why this device (e.g. why WebGPU was not used).
    pub device_note: String,
    pub clock: Clock,
    pub pause: Pause,
    /// Where training steps run (`pacing::OnPool`; `None`: on the calling thread).
    pub on_pool: OnPool,
    /// Two threads for one step: each step's batch is taken as two halves at once
    /// (`run::Join`, data parallelism); `None`: one pass.
    pub join: Option<Join>,
    pub playing: bool,
    pub pending: Vec<TrainRequest>,
    pub error: Option<String>,
    pub notices: Vec<String>,
    /// Something the page shows changed since it last drew.
    pub dirty: bool,
    /// Bumped when the settings change from inside (a loaded file, a model shown by the API):
    /// the page then writes the URL and fills the controls again.
    pub settings_version: u64,
    /// Why the lab stopped for good (a lost GPU device), once it did.
    pub stopped: Option<String>,
    pub toy: ToyLab,
    /// Created the first time the Ising model is shown.
    pub ising: Option<IsingLab>,
    /// Created the first time MNIST is shown (its digits arrive later).
    pub mnist: Option<MnistLab>,
    /// The last samples `lab.sample` returned (to export as CSV or NPY).
    pub last_samples: Option<samples::Samples>,
}

impl Settings {
    /// What the toy's data and network depend on.
    pub fn toy(&self) -> ToyConfig {
        ToyConfig {
            mixture: self.mixture.clone(),
            schedule: self.schedule,
            data: self.data,
            runs: self.runs,
            seed: self.seed,
            train: self.train,
        }
    }
}

impl Session {
    /// A session showing `settings` on `device`.
    pub fn new(
        settings: Settings,
        device: Device,
        device_name: &'static str,
        device_note: String,
        clock: Clock,
        pause: Pause,
    ) -> Session {
        let toy = ToyLab::new(settings.toy(), &device);
        let model = settings.model;
        let mut session = Session {
            playing: settings.play,
            settings,
            device,
            device_name,
            device_note,
            clock,
            pause,
            on_pool: None,
            join: None,
            pending: Vec::new(),
            error: None,
            notices: Vec::new(),
            dirty: true,
            settings_version: 0,
            stopped: None,
            last_samples: None,
            toy,
            ising: None,
            mnist: None,
        };
        session.create(model);
        session
    }

    /// Creates the state of `model` if it does not exist yet (MNIST's without its digits).
    fn create(&mut self, model: Model) {
        match model {
            Model::Ising => {
                self.ising();
            }
            Model::Mnist => {
                self.mnist();
            }
            Model::Toy1d => {}
        }
    }

    /// A session on the CPU with a native clock and no pauses (the CLI and tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn native(settings: Settings) -> Session {
        Session::new(
            settings,
            Device::flex(),
            "cpu",
            "native".into(),
            crate::pacing::native_clock,
            crate::pacing::no_pause(),
        )
    }

    /// Whether training runs on WebGPU.
    pub fn is_gpu(&self) -> bool {
        self.device_name == "webgpu"
    }

    /// Steps a chunk queues on WebGPU with this pace (`None` on the CPU, where chunks run for
    /// their time budget).
    pub fn gpu_steps(&self, pace: Pace) -> Option<u64> {
        self.is_gpu().then_some(pace.gpu_steps_per_chunk)
    }

    /// Training or a queued request is running.
    pub fn busy(&self) -> bool {
        self.playing || !self.pending.is_empty()
    }

    /// The Ising model's state, created on first use.
    pub fn ising(&mut self) -> &mut IsingLab {
        if self.ising.is_none() {
            self.ising = Some(IsingLab::new(self.settings.ising, &self.device, self.clock));
        }
        self.ising.as_mut().expect("just created")
    }

    /// MNIST's state, created on first use (without its digits until the page loads them).
    pub fn mnist(&mut self) -> &mut MnistLab {
        if self.mnist.is_none() {
            self.mnist = Some(MnistLab::new(self.settings.mnist));
        }
        self.mnist.as_mut().expect("just created")
    }

    /// Applies new settings, rebuilding only what they change (see each model's `apply`).
    pub fn apply(&mut self, new: Settings) -> Changes {
        let old = std::mem::replace(&mut self.settings, new);
        let s = self.settings.clone();
        let mut changes = Changes {
            model: old.model != s.model,
            toy: self.toy.apply(s.toy(), &self.device),
            ..Changes::default()
        };
        if old.play != s.play {
            self.playing = s.play;
        }
        if changes.model {
            // Requests queued for the other model do not carry over.
            self.pending.clear();
        }
        let (device, clock) = (self.device.clone(), self.clock);
        changes.ising = self
            .ising
            .as_mut()
            .map(|l| l.apply(s.ising, &device, clock));
        changes.mnist = self.mnist.as_mut().map(|l| l.apply(s.mnist, &device));
        self.create(s.model);
        self.dirty = true;
        changes
    }

    /// Applies a query string of settings (as the URL would); its problems become the notices.
    pub fn apply_query(&mut self, query: &str) -> Changes {
        let (s, problems) = Settings::from_query(query);
        self.notices = problems.clone();
        let mut changes = self.apply(s);
        changes.problems = problems;
        changes
    }

    /// Shows `model` with `change` made to the settings (as choosing them in the controls
    /// would: through the URL's round trip, so the page can say what the URL says); nothing
    /// happens when that changes nothing.
    pub fn show(&mut self, model: Model, change: impl FnOnce(&mut Settings)) {
        let mut s = self.settings.clone();
        s.model = model;
        change(&mut s);
        if s == self.settings {
            return;
        }
        self.apply_query(&s.to_query());
        self.settings_version += 1;
    }

    /// Handles a command of the controls.
    pub fn command(&mut self, command: Command) -> Changes {
        match command {
            Command::Apply { query } => return self.apply_query(&query),
            Command::SetPlaying(on) => self.playing = on,
            Command::TogglePlay => {
                // Pause stops whatever trains: play, and the steps Step ×100 (or a script's
                // `lab.train`, which then resolves with the steps it got) queued. On MNIST
                // Step ×100 runs for half a minute; the button said "Train" meanwhile, and
                // pressing it started training for good instead of stopping.
                if self.busy() {
                    self.playing = false;
                    self.pending.clear();
                } else {
                    self.playing = true;
                }
                self.error = None;
            }
            Command::Step { steps } => {
                self.error = None;
                self.pending.push(TrainRequest { remaining: steps });
            }
            Command::Reset => {
                self.error = None;
                let device = self.device.clone();
                match self.settings.model {
                    Model::Toy1d => self.toy.reset_trainer(&device),
                    Model::Ising => self.ising().reset_trainer(&device),
                    Model::Mnist => self.mnist().reset_trainer(&device),
                }
            }
            Command::NextSeed => {
                let mut s = self.settings.clone();
                s.seed = (s.seed + 1) % 4_294_967_296;
                let changes = self.apply_query(&s.to_query());
                self.settings_version += 1;
                return changes;
            }
        }
        self.dirty = true;
        Changes::default()
    }

    /// Steps trained so far by the model on show (`None` while MNIST waits for its digits).
    pub fn trained_steps(&self) -> Option<u64> {
        match self.settings.model {
            Model::Toy1d => Some(self.toy.steps()),
            Model::Ising => self.ising.as_ref().map(|s| s.steps()),
            Model::Mnist => self
                .mnist
                .as_ref()
                .filter(|s| s.live.trainer.is_some() || s.live.snapshot.is_some())
                .map(|s| s.steps()),
        }
    }

    /// The losses read back by the model on show.
    pub fn losses(&self) -> &[(u64, f64)] {
        match self.settings.model {
            Model::Toy1d => &self.toy.live.losses,
            Model::Ising => self.ising.as_ref().map_or(&[][..], |s| &s.live.losses[..]),
            Model::Mnist => self.mnist.as_ref().map_or(&[][..], |s| &s.live.losses[..]),
        }
    }

    /// The last loss read back by the model on show.
    pub fn last_loss(&self) -> f64 {
        self.losses().last().map(|(_, l)| *l).unwrap_or(f64::NAN)
    }

    /// Stops the lab for good (a lost GPU device): training stops, requests are dropped, and
    /// every later request is refused with `reason`.
    pub fn stop(&mut self, reason: String) {
        self.playing = false;
        self.pending.clear();
        self.stopped = Some(reason);
        self.dirty = true;
    }

    /// The model on show and what it is doing, as `lab.status()` reports it.
    pub fn status(&self) -> Status {
        let mut st = Status {
            model: self.settings.model.name().into(),
            steps: self.trained_steps().unwrap_or(0),
            playing: self.playing,
            loss: self.last_loss(),
            error: self.error.clone(),
            notices: self.notices.join("\n"),
            loss_points: self.losses().len(),
            views_step: -1.0,
            ..Status::default()
        };
        match self.settings.model {
            Model::Toy1d => {
                let t = &self.toy;
                st.views_ready = t.live.learned.is_some();
                st.views_step = t.live.learned.as_ref().map_or(-1.0, |l| l.steps as f64);
                st.refresh_ms = t.live.refresh.cost;
                st.steps_per_sec = t.live.pace.steps_per_sec;
                st.sde_w1 = t.live.learned.as_ref().map(|l| l.sde_w1);
                st.ode_w1 = t.live.learned.as_ref().map(|l| l.ode_w1);
            }
            Model::Ising => {
                if let Some(s) = &self.ising {
                    st.views_ready = s.live.learned.is_some();
                    st.views_step = s.live.learned.as_ref().map_or(-1.0, |l| l.steps as f64);
                    st.refresh_ms = s.live.refresh.cost;
                    st.steps_per_sec = s.live.pace.steps_per_sec;
                    st.exact_nn_correlation = Some(s.exact.nn_correlation());
                    st.exact_ms = Some(s.exact_ms);
                    if let Some(l) = &s.live.learned {
                        st.tv_abs_m = Some(l.tv.0);
                        st.tv_energy = Some(l.tv.1);
                        st.nn_correlation = Some(l.stats.nn_correlation);
                    }
                }
            }
            Model::Mnist => {
                if let Some(s) = &self.mnist {
                    st.views_ready = s.live.learned.is_some();
                    st.views_step = s.live.learned.as_ref().map_or(-1.0, |l| l.steps as f64);
                    st.refresh_ms = s.live.refresh.cost;
                    st.steps_per_sec = s.live.pace.steps_per_sec;
                    st.data_loaded = Some(s.data.is_some());
                    st.classifier_steps = Some(s.classifier_steps());
                    st.nearest_distance = s.live.learned.as_ref().and_then(|l| l.mean_nearest());
                }
            }
        }
        st
    }
}

/// The session as the page and tests hold it.
pub type Cell = RefCell<Session>;

/// Outcome of one chunk of training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunk {
    /// Nothing ran (no trainer available, or it was replaced meanwhile).
    Idle,
    Ran {
        steps: u64,
    },
    /// The loss diverged; the last good weights were restored and training paused.
    Diverged,
}

/// The time budget of one chunk of training on the CPU (ms): the page stays responsive.
pub const CHUNK_MS: f64 = 30.0;

/// Pauses training and says why after a divergence.
pub(crate) fn stop_diverged(s: &mut Session, message: String) -> Chunk {
    s.playing = false;
    s.error = Some(message);
    Chunk::Diverged
}
