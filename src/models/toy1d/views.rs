//! What the 1D toy's plots show, as data: the exact references for the current mixture and
//! schedule ([`ExactViews`]), what a snapshot of the network does ([`LearnedViews`]), the
//! training pairs of the score plot, the probability-flow arrows over the score field, and a
//! density being drawn with the mouse ([`Stroke`]). The page only draws these.

use burn::prelude::Device;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::mixture::{grid, histogram, linspace, plot_range, Component, Mixture, PairSource};
use super::train::{ScoreModel, ScoreTable};
use crate::diffusion::sampler::{draw_prior, prior_quantiles, reverse_times};
use crate::diffusion::schedule::T_MIN;
use crate::diffusion::{forward, Sampler, SamplerKind, Schedule};
use crate::pacing::Pause;

/// Particles the live reverse runs use (the first `PATHS` are drawn as paths).
pub const LIVE_SAMPLES: usize = 10_000;
pub const PATHS: usize = 100;
/// Grid of the score-field heatmaps: positions × times.
pub const FIELD_NX: usize = 96;
pub const FIELD_NT: usize = 64;
/// Positions per time of the live plots' score table.
pub const TABLE_POINTS: usize = 512;
/// Bins of a drawn density across the data plot.
pub const STROKE_BINS: usize = 48;
/// Mixtures with more components than this are drawn densities: no handles on their bins.
pub const MAX_HANDLES: usize = 8;

/// What the exact mathematics says, for the current data and schedule.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
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
    /// The terminal marginal against the prior.
    pub terminal: Terminal,
    /// `x_T` of every data draw (`data_x0`), drawn from the forward process's closed-form
    /// marginal: the terminal histogram (the 100 drawn paths' ends were too few for one).
    pub terminal_samples: Vec<f32>,
}

/// The terminal marginal `p_T` against the prior the reverse process starts from.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Terminal {
    pub xs: Vec<f64>,
    pub p_t: Vec<f64>,
    pub prior: Vec<f64>,
    /// Total variation distance between the two (what the finite T leaves behind).
    pub tv: f64,
}

impl ExactViews {
    /// The views of `mixture` diffused by `schedule`, with training draws from `source`.
    pub fn compute(
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
        // A stream of its own: these draws only show, and must not shift the caller's.
        let mut own = StdRng::seed_from_u64(0x7e4d_17a1);
        let terminal_samples = data_x0
            .iter()
            .map(|&x0| forward::noise(schedule, x0 as f64, t_max, &mut own).0 as f32)
            .collect();
        ExactViews {
            x_range,
            forward_times,
            forward_paths,
            density,
            density_nx: nx,
            density_nt: nt,
            score_field,
            data_x0,
            terminal: Terminal::compute(mixture, schedule, x_range),
            terminal_samples,
        }
    }
}

impl Terminal {
    /// `p_T` and the prior `N(0, prior_var)` on 300 points of `x_range`, and their TV distance.
    pub fn compute(mixture: &Mixture, schedule: &Schedule, x_range: (f64, f64)) -> Terminal {
        let xs = linspace(x_range.0, x_range.1, 300);
        let t = schedule.t_max();
        let p_t: Vec<f64> = xs
            .iter()
            .map(|&x| mixture.density(schedule, t, x))
            .collect();
        let pv = schedule.prior_var();
        let prior: Vec<f64> = xs
            .iter()
            .map(|&x| (-0.5 * x * x / pv).exp() / (std::f64::consts::TAU * pv).sqrt())
            .collect();
        let dx = (x_range.1 - x_range.0) / (xs.len() - 1) as f64;
        let tv = total_variation(&p_t, &prior, dx);
        Terminal { xs, p_t, prior, tv }
    }
}

/// Total variation distance `½ ∫ |a − b|` of two densities tabulated with spacing `dx`.
pub fn total_variation(a: &[f64], b: &[f64], dx: f64) -> f64 {
    0.5 * a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() * dx
}

/// Histogram of samples over the plot's range (80 bins): (edges, densities).
pub fn density_histogram(samples: &[f32], range: (f64, f64)) -> (Vec<f64>, Vec<f64>) {
    histogram(samples, range.0, range.1, 80)
}

/// The components of `mixture` that get a handle on the data plot (to drag and scroll): those
/// of a typed or dragged mixture; none of a drawn density, which is edited by drawing over it.
pub fn handles(mixture: &Mixture) -> &[Component] {
    let all = mixture.components();
    if all.len() <= MAX_HANDLES {
        all
    } else {
        &[]
    }
}

/// Training pairs `(x_t, target score)` at about time `t`, as in the tutorial's Figure 3: the
/// fixed set's pairs within half a percent of the horizon of `t`, or 400 fresh draws.
pub fn training_pairs(
    mixture: &Mixture,
    schedule: &Schedule,
    source: &PairSource,
    t: f64,
    seed: u64,
) -> (Vec<f32>, Vec<f32>) {
    let (mut px, mut py) = (Vec::new(), Vec::new());
    match source {
        PairSource::Fixed { pairs } => {
            let tol = 0.5 * schedule.t_max() / 100.0 + 1e-9;
            for i in 0..pairs.t.len() {
                if (pairs.t[i] as f64 - t).abs() <= tol {
                    px.push(pairs.xt[i]);
                    py.push((-(pairs.eps[i] as f64) / schedule.sigma(pairs.t[i] as f64)) as f32);
                }
            }
        }
        PairSource::Fresh => {
            let mut rng = StdRng::seed_from_u64(seed ^ 0x77);
            for _ in 0..400 {
                let x0 = mixture.sample(&mut rng);
                let (xt, eps) = forward::noise(schedule, x0, t, &mut rng);
                px.push(xt as f32);
                py.push((-eps / schedule.sigma(t)) as f32);
            }
        }
    }
    (px, py)
}

/// One arrow of the probability-flow field in the (t, x) plane, running backwards in time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowArrow {
    pub t: f64,
    pub x: f64,
    /// `dx/dt` of the reverse ODE at (t, x): the arrow points along `(−1, −v)` per unit time,
    /// i.e. `dx = −(f x − g² F / 2) dt` with `dt < 0` (Song et al. 2021).
    pub v: f64,
}

/// Probability-flow arrows per side of [`flow_arrows`]'s lattice.
pub const FLOW_ARROWS: usize = 12;

/// A [`FLOW_ARROWS`]² lattice of probability-flow arrows over a score field tabulated on
/// `FIELD_NX × FIELD_NT` points of `x_range × [T_MIN, t_max]` (positions × times): the paths
/// of the reverse ODE follow them.
pub fn flow_arrows(schedule: &Schedule, field: &[f32], x_range: (f64, f64)) -> Vec<FlowArrow> {
    let tr = (T_MIN, schedule.t_max());
    let (ax, at) = (FLOW_ARROWS, FLOW_ARROWS);
    let mut out = Vec::with_capacity(ax * at);
    for i in 0..ax {
        for j in 0..at {
            let xi = ((i as f64 + 0.5) / ax as f64 * (FIELD_NX - 1) as f64) as usize;
            let tj = ((j as f64 + 0.5) / at as f64 * (FIELD_NT - 1) as f64) as usize;
            let x = x_range.0 + (x_range.1 - x_range.0) * xi as f64 / (FIELD_NX - 1) as f64;
            let t = tr.0 + (tr.1 - tr.0) * tj as f64 / (FIELD_NT - 1) as f64;
            let score = field[xi * FIELD_NT + tj] as f64;
            let v = schedule.drift(t) * x - 0.5 * schedule.diffusion2(t) * score;
            out.push(FlowArrow { t, x, v });
        }
    }
    out
}

/// A density being drawn on the data plot: bin heights over the x range the plot had when the
/// stroke began (so the mapping from the pointer stays put while the plot rescales), and the
/// last bin drawn. Positions are in data coordinates; the page maps pixels to them.
#[derive(Clone, Debug, PartialEq)]
pub struct Stroke {
    pub x_range: (f64, f64),
    /// The plot's y range when the stroke began: a stroke near the axis erases.
    pub y_range: (f64, f64),
    pub centers: Vec<f64>,
    pub heights: Vec<f64>,
    pub last: Option<usize>,
}

impl Stroke {
    /// Starts from the current density, so a stroke edits the curve on screen.
    pub fn begin(
        x_range: (f64, f64),
        y_range: (f64, f64),
        mixture: &Mixture,
        schedule: &Schedule,
    ) -> Self {
        let step = (x_range.1 - x_range.0) / STROKE_BINS as f64;
        let centers: Vec<f64> = (0..STROKE_BINS)
            .map(|j| x_range.0 + (j as f64 + 0.5) * step)
            .collect();
        let heights = centers
            .iter()
            .map(|&x| mixture.density(schedule, 0.0, x))
            .collect();
        Stroke {
            x_range,
            y_range,
            centers,
            heights,
            last: None,
        }
    }

    /// Sets the curve under the pointer (at data position `x`) to the pointer's height `y`,
    /// filling the bins skipped since the last event.
    pub fn paint(&mut self, x: f64, y: f64) {
        let (xr, yr) = (self.x_range, self.y_range);
        let u = ((x - xr.0) / (xr.1 - xr.0)).clamp(0.0, 0.999_999);
        let j = (u * STROKE_BINS as f64) as usize;
        // Near the axis means none: a stroke along the bottom erases.
        let v = if y < 0.04 * (yr.1 - yr.0) { 0.0 } else { y };
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

    /// The drawn density as a mixture (one narrow Gaussian per bin), if anything is drawn.
    pub fn mixture(&self) -> Result<Mixture, String> {
        Mixture::from_curve(&self.centers, &self.heights)
    }
}

/// What the network says, computed from a snapshot of it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LearnedViews {
    /// The training step of the snapshot these views show.
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

/// How a sampler run evaluates the learned score.
pub enum Evaluation<'a> {
    /// One network evaluation per particle and step (what the API uses).
    Direct,
    /// A table of the network on the sampler's time grid (the live plots).
    Table(&'a ScoreTable),
}

/// Where a reverse run starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Random draws from the prior (seeded).
    Draws,
    /// The prior's quantiles ([`prior_quantiles`]): with a deterministic sampler, the generated
    /// distribution's quantiles, free of Monte Carlo noise.
    Quantiles,
}

/// Runs `sampler` from `n` prior points (`start`) with the network `model` (the exact score
/// when `None`); records the first `paths` particles at every step; pauses between steps.
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
    start: Start,
    pause: &Pause,
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut x = vec![0.0f32; n];
    match start {
        Start::Draws => draw_prior(schedule, &mut x, &mut rng),
        Start::Quantiles => {
            // In a seeded order, so the recorded paths are a spread of quantiles, not the tail.
            prior_quantiles(schedule, &mut x);
            x.shuffle(&mut rng);
        }
    }
    let mut recorded: Vec<Vec<f32>> = vec![Vec::with_capacity(sampler.steps + 1); paths.min(n)];
    let observe = |_k: usize, _t: f64, xs: &[f32]| {
        for (p, &v) in recorded.iter_mut().zip(xs) {
            p.push(v);
        }
    };
    let mut score = async |xs: &[f32], t: f64| {
        pause().await;
        match (model, &evaluation) {
            (Some(m), Evaluation::Direct) => m.score(xs, t, device).await,
            (Some(_), Evaluation::Table(table)) => table.at(t, xs),
            (None, _) => xs
                .iter()
                .map(|&v| mixture.score(schedule, t, v as f64) as f32)
                .collect(),
        }
    };
    sampler
        .run(schedule, &mut x, &mut rng, &mut score, observe)
        .await;
    (x, recorded)
}

/// What the live plots need to know of the settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveSettings {
    pub t_view: f64,
    /// The panels' samplers (stochastic, deterministic).
    pub panels: (SamplerKind, SamplerKind),
    pub steps: usize,
    pub exact_score: bool,
    pub seed: u64,
    /// A deterministic panel starts from the prior's quantiles (see [`Start::Quantiles`]).
    pub quantiles: bool,
}

/// Everything the plots show about the network `model` (a snapshot at step `steps`): the score
/// at the slider's time, the score field, and 10,000-particle reverse runs of both panels'
/// samplers on one table of the network (the 1D score is a function of (x, t) only).
pub async fn learned_views(
    model: &ScoreModel,
    mixture: &Mixture,
    x_range: (f64, f64),
    live: LiveSettings,
    steps: u64,
    device: &Device,
    pause: &Pause,
) -> LearnedViews {
    let schedule = model.schedule;
    let t_view = live.t_view.clamp(T_MIN, schedule.t_max());
    let xs = linspace(x_range.0, x_range.1, 240);
    let xs32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
    let score_at_t = model.score(&xs32, t_view, device).await;
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
    let score_field = model.score_at(&fx, &ft, device).await;
    let (sde_kind, ode_kind) = live.panels;
    let which = (!live.exact_score).then_some(model);
    let seed = live.seed ^ 0xabcdef;
    // Both samplers step on the same time grid: one table of the network serves them.
    let times = reverse_times(&schedule, live.steps);
    let span = x_range.1 - x_range.0;
    let table_range = (
        (x_range.0 - 0.5 * span) as f32,
        (x_range.1 + 0.5 * span) as f32,
    );
    let table = ScoreTable::build(
        model,
        device,
        &times,
        table_range,
        TABLE_POINTS,
        async || pause().await,
    )
    .await;
    let run = async |kind: SamplerKind, seed: u64| {
        let start = if kind.is_stochastic() || !live.quantiles {
            Start::Draws
        } else {
            Start::Quantiles
        };
        let sampler = Sampler {
            kind,
            steps: live.steps,
        };
        run_sampler(
            which,
            mixture,
            &schedule,
            device,
            sampler,
            LIVE_SAMPLES,
            PATHS,
            seed,
            Evaluation::Table(&table),
            start,
            pause,
        )
        .await
    };
    let (sde_samples, sde_paths) = run(sde_kind, seed).await;
    let (ode_samples, ode_paths) = run(ode_kind, seed + 1).await;
    LearnedViews {
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
        exact_score: live.exact_score,
    }
}
