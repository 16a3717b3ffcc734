//! The page's state and the loop that trains, samples and draws.
//!
//! One `App` lives in an `Rc<RefCell<_>>`; no borrow is held across an `await`. The trainer is
//! taken out of the app while a chunk of steps runs (so a chunk may await a GPU read) and put
//! back after; plots are drawn from snapshots (the last inference model, cached arrays), never
//! from tensors being trained, so training never blocks drawing.

use std::cell::RefCell;
use std::rc::Rc;

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::diffusion::sampler::{draw_prior, reverse_times};
use crate::diffusion::schedule::T_MIN;
use crate::diffusion::{forward, Sampler, Schedule};
use crate::models::toy1d::mixture::{grid, histogram, linspace, plot_range, Mixture, PairSource};
use crate::models::toy1d::train::{ScoreModel, ScoreTable, Trainer};
use crate::models::Model;
use crate::pacing::{run_steps, Pace};
use crate::run::{diverged_message, read_loss, settle, Training};
use crate::settings::{DataMode, Settings};

use super::util::{breathe, now};
use super::views;

pub type Shared = Rc<RefCell<App>>;

/// Particles the page's live reverse runs use (the first `PATHS` are drawn as paths).
pub const LIVE_SAMPLES: usize = 10_000;
pub const PATHS: usize = 100;
/// Grid of the score-field heatmaps: positions × times.
pub const FIELD_NX: usize = 96;
pub const FIELD_NT: usize = 64;

/// What the exact mathematics says, for the current data and schedule.
pub struct ExactViews {
    pub x_range: (f64, f64),
    /// Forward sample paths on `forward_times`.
    pub forward_times: Vec<f64>,
    pub forward_paths: Vec<Vec<f32>>,
    /// `p_t(x)` on a (position × time) grid, each time column scaled to its maximum.
    pub density: Vec<f32>,
    pub density_nx: usize,
    pub density_nt: usize,
    /// Exact score on the field grid (positions × times).
    pub score_field: Vec<f32>,
    /// Data draws (the training x0) for the data histogram.
    pub data_x0: Vec<f32>,
    /// `density` rasterised once for the three plots drawn over it (filled on first draw).
    pub density_raster: Option<web_sys::HtmlCanvasElement>,
}

/// What the network says, computed from a snapshot of it.
pub struct LearnedViews {
    pub steps: u64,
    pub t_view: f64,
    pub xs: Vec<f64>,
    pub score_at_t: Vec<f32>,
    pub score_field: Vec<f32>,
    pub reverse_times: Vec<f64>,
    pub sde_label: String,
    pub ode_label: String,
    pub sde_paths: Vec<Vec<f32>>,
    pub ode_paths: Vec<Vec<f32>>,
    pub sde_samples: Vec<f32>,
    pub ode_samples: Vec<f32>,
    pub sde_w1: f64,
    pub ode_w1: f64,
    pub exact_score: bool,
}

/// A pending `lab.train` or button request.
pub struct TrainRequest {
    pub remaining: u64,
}

pub struct App {
    pub settings: Settings,
    pub device: Device,
    pub device_name: &'static str,
    pub device_note: String,
    pub mixture: Mixture,
    pub source: Rc<PairSource>,
    pub trainer: Option<Trainer>,
    pub snapshot: Option<ScoreModel>,
    pub snapshot_steps: u64,
    pub playing: bool,
    /// (step, loss) read back after each chunk.
    pub losses: Vec<(u64, f64)>,
    pub exact: ExactViews,
    pub learned: Option<LearnedViews>,
    /// Bumped whenever the trainer is replaced: work started on an older one is discarded.
    pub generation: u64,
    pub notices: Vec<String>,
    pub error: Option<String>,
    pub dirty: bool,
    pub learned_dirty: bool,
    pub last_refresh: f64,
    pub refresh_cost: f64,
    pub last_draw: f64,
    pub draw_cost: f64,
    /// The toy's training speed and WebGPU chunk size.
    pub pace: Pace,
    pub pending: Vec<TrainRequest>,
    /// Canvas geometry of the data plot, for dragging mixture components.
    pub data_panel: Option<super::plot::PlotArea>,
    /// A density being drawn with the mouse on the data plot.
    pub stroke: Option<Stroke>,
    /// The mode being dragged, and the data plot's geometry when the drag began (the plot
    /// rescales as the mode moves; mapping through the live geometry made the mode run away).
    pub dragging: Option<(usize, super::plot::PlotArea)>,
    /// The Ising view's state, created when that model is first shown.
    pub ising: Option<super::ising::IsingState>,
    /// The MNIST view's state, created when that model is first shown.
    pub mnist: Option<super::mnist::MnistState>,
}

impl App {
    pub fn new(
        settings: Settings,
        device: Device,
        device_name: &'static str,
        device_note: String,
    ) -> App {
        let mixture = settings.mixture.clone();
        let mut app = App {
            exact: ExactViews::empty(),
            source: Rc::new(PairSource::Fresh),
            trainer: None,
            snapshot: None,
            snapshot_steps: 0,
            playing: settings.play,
            losses: Vec::new(),
            learned: None,
            generation: 0,
            notices: Vec::new(),
            error: None,
            dirty: true,
            learned_dirty: true,
            last_refresh: -1e9,
            refresh_cost: 0.0,
            last_draw: -1e9,
            draw_cost: 0.0,
            pace: Pace::new(8, 256),
            pending: Vec::new(),
            data_panel: None,
            stroke: None,
            dragging: None,
            ising: None,
            mnist: None,
            settings,
            device,
            device_name,
            device_note,
            mixture,
        };
        app.rebuild_data();
        app.reset_trainer();
        app
    }

    pub fn is_gpu(&self) -> bool {
        self.device_name == "webgpu"
    }

    /// Steps a chunk queues on WebGPU with this pace (`None` on the CPU, where chunks run for
    /// their time budget).
    pub fn gpu_steps(&self, pace: Pace) -> Option<u64> {
        self.is_gpu().then_some(pace.gpu_steps_per_chunk)
    }

    /// Rebuilds the data, the pair source and the exact views from the settings.
    pub fn rebuild_data(&mut self) {
        self.mixture = self.settings.mixture.clone();
        let mut rng =
            StdRng::seed_from_u64(self.settings.seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5151);
        let schedule = self.settings.schedule;
        self.source = Rc::new(match self.settings.data {
            DataMode::Fresh => PairSource::Fresh,
            DataMode::Fixed => {
                PairSource::fixed(&self.mixture, &schedule, self.settings.runs, 100, &mut rng)
            }
        });
        self.exact = ExactViews::compute(&self.mixture, &schedule, &self.source, &mut rng);
        if let Some(t) = self.trainer.as_mut() {
            t.model.data_var = self.mixture.variance();
        }
        self.dirty = true;
        self.learned_dirty = true;
    }

    /// A fresh network (new weights, new optimizer).
    pub fn reset_trainer(&mut self) {
        self.generation += 1;
        let trainer = Trainer::new(
            self.settings.train,
            self.settings.schedule,
            self.mixture.variance(),
            &self.device,
        );
        self.snapshot = Some(trainer.inference_model());
        self.snapshot_steps = 0;
        self.trainer = Some(trainer);
        self.losses.clear();
        self.learned = None;
        self.learned_dirty = true;
        self.dirty = true;
    }

    /// Applies new settings, rebuilding only what they change.
    pub fn apply(&mut self, new: Settings) {
        let old = std::mem::replace(&mut self.settings, new);
        let s = self.settings.clone();
        let data_changed = old.mixture != s.mixture
            || old.schedule != s.schedule
            || old.data != s.data
            || old.runs != s.runs
            || old.seed != s.seed;
        let net_changed = old.schedule != s.schedule
            || old.train.width != s.train.width
            || old.train.depth != s.train.depth
            || old.train.activation != s.train.activation
            || old.seed != s.seed;
        if data_changed {
            self.rebuild_data();
        }
        if net_changed {
            self.reset_trainer();
        } else if let Some(t) = self.trainer.as_mut() {
            t.config.learning_rate = s.train.learning_rate;
            t.config.batch = s.train.batch;
            t.config.weighting = s.train.weighting;
            t.config.lr_decay = s.train.lr_decay;
            t.config.time_draw = s.train.time_draw;
        }
        if old.play != s.play {
            self.playing = s.play;
        }
        if old.model != s.model {
            // Requests queued for the other model do not carry over.
            self.pending.clear();
        }
        if let Some(ising) = self.ising.as_mut() {
            ising.apply(s.ising, &self.device);
        }
        if let Some(mnist) = self.mnist.as_mut() {
            mnist.apply(s.mnist, &self.device);
        }
        self.learned_dirty = true;
        self.dirty = true;
    }

    pub fn is_ising(&self) -> bool {
        self.settings.model == Model::Ising
    }

    pub fn is_mnist(&self) -> bool {
        self.settings.model == Model::Mnist
    }
}

impl ExactViews {
    fn empty() -> Self {
        ExactViews {
            x_range: (-5.0, 5.0),
            forward_times: vec![],
            forward_paths: vec![],
            density: vec![],
            density_nx: 0,
            density_nt: 0,
            score_field: vec![],
            data_x0: vec![],
            density_raster: None,
        }
    }

    fn compute(
        mixture: &Mixture,
        schedule: &Schedule,
        source: &PairSource,
        rng: &mut StdRng,
    ) -> Self {
        let x_range = plot_range(mixture, schedule);
        let t_max = schedule.t_max();
        let forward_times = forward::time_grid(t_max, 200);
        let data_x0: Vec<f32> = match source {
            PairSource::Fixed { pairs } => pairs.x0.iter().step_by(100).copied().collect(),
            PairSource::Fresh => (0..5000).map(|_| mixture.sample(rng) as f32).collect(),
        };
        let forward_paths = data_x0
            .iter()
            .take(PATHS)
            .map(|&x0| {
                forward::path(schedule, x0 as f64, &forward_times, rng)
                    .into_iter()
                    .map(|v| v as f32)
                    .collect()
            })
            .collect();
        let (nx, nt) = (160, 200);
        let mut density = grid(x_range, (0.0, t_max), nx, nt, |x, t| {
            mixture.density(schedule, t, x)
        });
        // Scale each time column to its maximum, so the shape stays visible as it spreads.
        for k in 0..nt {
            let top = (0..nx)
                .map(|r| density[r * nt + k])
                .fold(0.0f32, f32::max)
                .max(1e-30);
            for r in 0..nx {
                density[r * nt + k] /= top;
            }
        }
        let score_field = grid(x_range, (T_MIN, t_max), FIELD_NX, FIELD_NT, |x, t| {
            mixture.score(schedule, t, x)
        });
        ExactViews {
            x_range,
            forward_times,
            forward_paths,
            density,
            density_nx: nx,
            density_nt: nt,
            score_field,
            data_x0,
            density_raster: None,
        }
    }
}

/// A density being drawn on the data plot: bin heights over the plot as it was when the stroke
/// began (so the mapping from pixels stays put while the plot rescales), and the last bin drawn.
pub struct Stroke {
    pub panel: super::plot::PlotArea,
    pub centers: Vec<f64>,
    pub heights: Vec<f64>,
    pub last: Option<usize>,
}

/// Bins of a drawn density across the data plot.
pub const STROKE_BINS: usize = 48;

impl Stroke {
    /// Starts from the current density, so a stroke edits the curve on screen.
    pub fn begin(
        panel: super::plot::PlotArea,
        mixture: &Mixture,
        schedule: &crate::diffusion::Schedule,
    ) -> Self {
        let xr = panel.x;
        let step = (xr.1 - xr.0) / STROKE_BINS as f64;
        let centers: Vec<f64> = (0..STROKE_BINS)
            .map(|j| xr.0 + (j as f64 + 0.5) * step)
            .collect();
        let heights = centers
            .iter()
            .map(|&x| mixture.density(schedule, 0.0, x))
            .collect();
        Stroke {
            panel,
            centers,
            heights,
            last: None,
        }
    }

    /// Sets the curve under the pointer (pixel position in the canvas) to the pointer's height,
    /// filling the bins skipped since the last event.
    pub fn paint(&mut self, px: f64, py: f64) {
        let (xr, yr) = (self.panel.x, self.panel.y);
        let u = ((self.panel.data_x(px) - xr.0) / (xr.1 - xr.0)).clamp(0.0, 0.999_999);
        let j = (u * STROKE_BINS as f64) as usize;
        let v = self.panel.data_y(py);
        // Near the axis means none: a stroke along the bottom erases.
        let v = if v < 0.04 * (yr.1 - yr.0) { 0.0 } else { v };
        let from = self.last.unwrap_or(j);
        let (lo, hi) = (from.min(j), from.max(j));
        let start = self.heights[from];
        for k in lo..=hi {
            let f = if hi == lo {
                1.0
            } else {
                (k as f64 - from as f64) / (j as f64 - from as f64)
            };
            self.heights[k] = start + f * (v - start);
        }
        self.last = Some(j);
    }
}

/// Outcome of one chunk of training.
pub enum Chunk {
    /// Nothing ran (no trainer available, or it was replaced meanwhile).
    Idle,
    Ran {
        steps: u64,
    },
    /// The loss diverged; the last good weights were restored.
    Diverged,
}

/// Runs the toy's training steps for about `budget_ms` (at most `max_steps`), then reads the
/// loss once and settles it ([`crate::run::settle`]).
pub async fn train_chunk(app: &Shared, max_steps: u64, budget_ms: f64) -> Chunk {
    let (mut trainer, source, mixture, gen, gpu) = {
        let mut a = app.borrow_mut();
        let Some(t) = a.trainer.take() else {
            return Chunk::Idle;
        };
        let gpu = a.gpu_steps(a.pace);
        (t, a.source.clone(), a.mixture.clone(), a.generation, gpu)
    };
    // The weights this chunk starts from: good once a loss computed during the chunk is sane.
    let candidate = trainer.checkpoint();
    if trainer.steps() == 0 && trainer.run.reference_loss.is_none() {
        // The untrained network's loss, on a batch of its own (the training batches' random
        // stream is left alone): the yardstick for "sane" weights.
        let mut rng = StdRng::seed_from_u64(0x5eed_1055);
        let batch = source.batch(
            &mixture,
            &trainer.model.schedule,
            trainer.config.batch,
            trainer.config.time_draw,
            &mut rng,
        );
        trainer.run.reference_loss = Some(read_loss(trainer.loss(&batch)).await);
    }
    let (ran, loss, elapsed) = run_steps(now, gpu, max_steps, budget_ms, || {
        trainer.step_on(&source, &mixture)
    })
    .await;
    let mut a = app.borrow_mut();
    if a.generation != gen {
        return Chunk::Idle; // the settings replaced this network meanwhile
    }
    a.pace.update(ran, elapsed, budget_ms, gpu.is_some());
    let outcome = match settle(&mut trainer, candidate, &mut a.losses, loss) {
        Ok(()) => Chunk::Ran { steps: ran },
        Err(restored) => {
            if restored.is_none() {
                // Diverged before any good step: start again from fresh weights.
                trainer = Trainer::new(
                    a.settings.train,
                    a.settings.schedule,
                    a.mixture.variance(),
                    &a.device,
                );
            }
            a.playing = false;
            a.error = Some(diverged_message(
                "Training",
                loss,
                trainer.run.reference_loss,
                a.settings.train.learning_rate,
                restored.unwrap_or(0),
            ));
            Chunk::Diverged
        }
    };
    a.snapshot = Some(trainer.inference_model());
    a.snapshot_steps = trainer.steps();
    a.trainer = Some(trainer);
    a.learned_dirty = true;
    a.dirty = true;
    outcome
}

/// How a sampler run evaluates the learned score.
pub enum Evaluation<'a> {
    /// One network evaluation per particle and step (what the API uses).
    Direct,
    /// A table of the network on the sampler's time grid (the page's live plots).
    Table(&'a ScoreTable),
}

/// Positions per time of the live plots' score table.
pub const TABLE_POINTS: usize = 512;

/// Runs `sampler` on `n` prior draws; records the first `paths` particles at every step.
#[allow(clippy::too_many_arguments)]
pub async fn run_sampler(
    model: Option<&ScoreModel>,
    mixture: &Mixture,
    schedule: &Schedule,
    device: &Device,
    sampler: Sampler,
    n: usize,
    paths: usize,
    seed: u64,
    evaluation: Evaluation<'_>,
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut x = vec![0.0f32; n];
    draw_prior(schedule, &mut x, &mut rng);
    let mut recorded: Vec<Vec<f32>> = vec![Vec::with_capacity(sampler.steps + 1); paths.min(n)];
    let observe = |_k: usize, _t: f64, xs: &[f32]| {
        for (p, &v) in recorded.iter_mut().zip(xs) {
            p.push(v);
        }
    };
    match model {
        Some(m) => {
            let mut score = async |xs: &[f32], t: f64| {
                // Let the page breathe between steps: sampling never freezes it.
                breathe().await;
                match evaluation {
                    Evaluation::Direct => m.score(xs, t, device).await,
                    Evaluation::Table(table) => table.at(t, xs),
                }
            };
            sampler
                .run(schedule, &mut x, &mut rng, &mut score, observe)
                .await;
        }
        None => {
            let mut score = async |xs: &[f32], t: f64| {
                breathe().await;
                xs.iter()
                    .map(|&v| mixture.score(schedule, t, v as f64) as f32)
                    .collect::<Vec<f32>>()
            };
            sampler
                .run(schedule, &mut x, &mut rng, &mut score, observe)
                .await;
        }
    }
    (x, recorded)
}

/// Recomputes everything the plots show about the network from its latest snapshot.
pub async fn refresh_learned(app: &Shared) {
    let (model, settings, mixture, device, gen, steps, x_range) = {
        let a = app.borrow();
        let Some(m) = a.snapshot.clone() else { return };
        (
            m,
            a.settings.clone(),
            a.mixture.clone(),
            a.device.clone(),
            a.generation,
            a.snapshot_steps,
            a.exact.x_range,
        )
    };
    let started = now();
    let schedule = settings.schedule;
    let t_view = settings.t_view.clamp(T_MIN, schedule.t_max());
    let xs = linspace(x_range.0, x_range.1, 240);
    let xs32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
    let score_at_t = model.score(&xs32, t_view, &device).await;

    // The learned field on the same grid as the exact one.
    let gx = linspace(x_range.0, x_range.1, FIELD_NX);
    let gt = linspace(T_MIN, schedule.t_max(), FIELD_NT);
    let mut fx = Vec::with_capacity(FIELD_NX * FIELD_NT);
    let mut ft = Vec::with_capacity(FIELD_NX * FIELD_NT);
    for &x in &gx {
        for &t in &gt {
            fx.push(x as f32);
            ft.push(t as f32);
        }
    }
    let score_field = model.score_at(&fx, &ft, &device).await;

    let (sde_kind, ode_kind) = settings.sampler.panels(settings.a);
    let which = if settings.exact_score {
        None
    } else {
        Some(&model)
    };
    let seed = settings.seed ^ 0xabcdef;
    // Both samplers step on the same time grid: one table of the network serves them.
    let times = reverse_times(&schedule, settings.steps);
    let span = x_range.1 - x_range.0;
    let table_range = (
        (x_range.0 - 0.5 * span) as f32,
        (x_range.1 + 0.5 * span) as f32,
    );
    let table = ScoreTable::build(
        &model,
        &device,
        &times,
        table_range,
        TABLE_POINTS,
        async || breathe().await,
    )
    .await;
    let (sde_samples, sde_paths) = run_sampler(
        which,
        &mixture,
        &schedule,
        &device,
        Sampler {
            kind: sde_kind,
            steps: settings.steps,
        },
        LIVE_SAMPLES,
        PATHS,
        seed,
        Evaluation::Table(&table),
    )
    .await;
    let (ode_samples, ode_paths) = run_sampler(
        which,
        &mixture,
        &schedule,
        &device,
        Sampler {
            kind: ode_kind,
            steps: settings.steps,
        },
        LIVE_SAMPLES,
        PATHS,
        seed + 1,
        Evaluation::Table(&table),
    )
    .await;
    let views = LearnedViews {
        steps,
        t_view,
        xs,
        score_at_t,
        score_field,
        reverse_times: times,
        sde_label: sde_kind.label(),
        ode_label: ode_kind.label(),
        sde_w1: mixture.wasserstein1(&sde_samples),
        ode_w1: mixture.wasserstein1(&ode_samples),
        sde_paths,
        ode_paths,
        sde_samples,
        ode_samples,
        exact_score: settings.exact_score,
    };
    let mut a = app.borrow_mut();
    if a.generation == gen && a.settings.schedule == schedule {
        a.learned = Some(views);
        a.dirty = true;
    }
    a.refresh_cost = now() - started;
    a.last_refresh = now();
}

/// One turn of the page's loop: train while playing, refresh the network's views now and
/// then (spending at most about a fifth of the time on them), draw what changed.
pub async fn tick(app: &Shared) {
    if app.borrow().is_ising() {
        return super::ising::tick(app).await;
    }
    if app.borrow().is_mnist() {
        return super::mnist::tick(app).await;
    }
    train_turn(app, train_chunk).await;
    let due = {
        let a = app.borrow();
        let busy = a.playing || !a.pending.is_empty();
        let interval = (5.0 * a.refresh_cost).max(if busy { 1500.0 } else { 200.0 });
        a.learned_dirty && now() - a.last_refresh > interval
    };
    if due {
        app.borrow_mut().learned_dirty = false;
        refresh_learned(app).await;
    }
    draw_if_due(&mut app.borrow_mut(), views::draw_all);
}

/// One turn's training for either model: the first queued request (`lab.train`, Step), else a
/// chunk while playing. `chunk(app, max_steps, budget_ms)` runs the model's steps.
pub async fn train_turn(app: &Shared, chunk: impl AsyncFn(&Shared, u64, f64) -> Chunk) {
    let (playing, pending) = {
        let a = app.borrow();
        (a.playing, a.pending.first().map(|r| r.remaining))
    };
    if let Some(remaining) = pending {
        if let Chunk::Ran { steps } = chunk(app, remaining, 30.0).await {
            let mut a = app.borrow_mut();
            if let Some(r) = a.pending.first_mut() {
                r.remaining = r.remaining.saturating_sub(steps);
                if r.remaining == 0 {
                    a.pending.remove(0);
                }
            }
        } else {
            app.borrow_mut().pending.clear();
        }
    } else if playing {
        chunk(app, u64::MAX, 30.0).await;
    }
}

/// Redraws what changed; while training, at most every 250 ms and at most a fifth of the time
/// (drawing every plot costs tens of milliseconds that training would otherwise get).
pub fn draw_if_due(a: &mut App, draw: fn(&mut App)) {
    let busy = a.playing || !a.pending.is_empty();
    if a.dirty && (!busy || now() - a.last_draw > (4.0 * a.draw_cost).max(250.0)) {
        a.dirty = false;
        let started = now();
        draw(a);
        a.last_draw = now();
        a.draw_cost = a.last_draw - started;
    }
}

/// Samples for the JS API: `n` draws with the chosen sampler (network or exact score).
pub async fn api_sample(
    app: &Shared,
    n: usize,
    sampler: Sampler,
    exact: bool,
    seed: u64,
) -> Result<Vec<f32>, String> {
    let (model, mixture, schedule, device) = {
        let a = app.borrow();
        let model = a
            .trainer
            .as_ref()
            .map(|t| t.inference_model())
            .or_else(|| a.snapshot.clone());
        (
            model,
            a.mixture.clone(),
            a.settings.schedule,
            a.device.clone(),
        )
    };
    let model = model.ok_or("no network yet")?;
    let which = if exact { None } else { Some(&model) };
    let (x, _) = run_sampler(
        which,
        &mixture,
        &schedule,
        &device,
        sampler,
        n,
        0,
        seed,
        Evaluation::Direct,
    )
    .await;
    Ok(x)
}

/// Histogram helper for the views.
pub fn density_histogram(samples: &[f32], range: (f64, f64)) -> (Vec<f64>, Vec<f64>) {
    histogram(samples, range.0, range.1, 80)
}
