//! Every setting of the page in one value that round-trips through the URL's query string, so a
//! link reproduces a view. URL values are input like any other: anything unknown, malformed or
//! out of range is reported and replaced by its default.
//!
//! Each URL key is written once, in the table of `table.rs`; this module holds the value and derives
//! its round trip (and the CLI's `--set`) from that table.

mod key;
mod table;

pub use key::{FormLimit, Key, Kind};
pub use table::{form_limits, key, keys, limits};

use crate::diffusion::sampler::TimeDraw;
use crate::diffusion::{SamplerKind, Schedule};
use crate::models::ising::train::{IsingConfig, Target};
use crate::models::mnist::train::MnistConfig;
use crate::models::toy1d::mixture::{Component, Mixture};
use crate::models::toy1d::train::{TrainConfig, Weighting};
use crate::models::Model;
use crate::nn::Activation;

/// Which device the page should train on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
    /// WebGPU when the browser gives an adapter, else the CPU.
    Auto,
    Cpu,
    WebGpu,
}

impl DeviceChoice {
    /// Every choice, in the page's order.
    pub const ALL: [DeviceChoice; 3] =
        [DeviceChoice::Auto, DeviceChoice::Cpu, DeviceChoice::WebGpu];

    /// The name used in URLs.
    pub fn name(self) -> &'static str {
        match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::WebGpu => "webgpu",
        }
    }
}

pub use crate::models::toy1d::mixture::DataMode;

/// What the 1D toy's two reverse-process panels show: the left one a stochastic member of the
/// reverse family, the right one the probability-flow ODE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SamplerChoice {
    /// The reverse SDE (a = 1) beside the ODE with Heun steps.
    Sde,
    /// The reverse SDE beside the ODE with Euler steps.
    OdeEuler,
    /// The family member with the slider's `a` beside the ODE with Heun steps.
    Family,
}

/// All settings of the lab.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub model: Model,
    pub seed: u64,
    pub mixture: Mixture,
    pub schedule: Schedule,
    pub data: DataMode,
    pub runs: usize,
    pub train: TrainConfig,
    pub sampler: SamplerChoice,
    pub a: f64,
    pub steps: usize,
    /// Time at which the score plot compares learned and exact scores.
    pub t_view: f64,
    /// Drive the page's reverse-process plots with the exact score instead of the network.
    pub exact_score: bool,
    /// Train as soon as the page opens.
    pub play: bool,
    pub device: DeviceChoice,
    /// Threads the page's CPU backend trains on (0: every core the browser reports; 1: one, as
    /// on a page that is not cross-origin isolated).
    pub threads: usize,
    /// URL of weights to load at start (URL only).
    pub weights: Option<String>,
    /// The Ising model's data, process, network and sampler.
    pub ising: IsingConfig,
    /// Small MNIST: network, schedule and training.
    pub mnist: MnistConfig,
    /// MNIST sampler: one of [`MNIST_SAMPLERS`].
    pub mnist_sampler: SamplerKind,
    /// MNIST sampler steps.
    pub mnist_steps: usize,
    /// Digit the guided sampler aims at (none: unguided).
    pub digit: Option<u8>,
    /// Classifier-guidance scale.
    pub guidance: f64,
    /// Presenter mode's slide (1-based, `lecture::SLIDES`); 0: the ordinary page.
    pub present: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: Model::Toy1d,
            seed: 1,
            mixture: Mixture::default(),
            schedule: Schedule::default(),
            data: DataMode::Fresh,
            runs: 1000,
            train: TrainConfig::default(),
            sampler: SamplerChoice::Sde,
            a: 1.0,
            steps: 200,
            t_view: 0.5,
            exact_score: false,
            play: true,
            device: DeviceChoice::Auto,
            threads: 0,
            weights: None,
            ising: IsingConfig::default(),
            mnist: MnistConfig::default(),
            mnist_sampler: SamplerKind::DpmSolver2M,
            mnist_steps: 20,
            digit: None,
            guidance: 3.0,
            present: 0,
        }
    }
}

// The sampler names come from the sampler table (`crate::diffusion::SAMPLERS`).

impl SamplerChoice {
    /// Every choice, in the page's order.
    pub const ALL: [SamplerChoice; 3] = [
        SamplerChoice::Sde,
        SamplerChoice::OdeEuler,
        SamplerChoice::Family,
    ];

    /// The samplers of the two panels (stochastic, deterministic), `a` the family's parameter.
    pub fn panels(self, a: f64) -> (SamplerKind, SamplerKind) {
        match self {
            SamplerChoice::Sde => (SamplerKind::SDE, SamplerKind::HeunOde),
            SamplerChoice::OdeEuler => (SamplerKind::SDE, SamplerKind::ODE_EULER),
            SamplerChoice::Family => (SamplerKind::EulerMaruyama { a }, SamplerKind::HeunOde),
        }
    }
}

/// URL name of a panel choice: the table's name of the sampler it changes.
pub fn sampler_name(c: SamplerChoice) -> &'static str {
    match c {
        SamplerChoice::Sde => SamplerKind::SDE.name(),
        SamplerChoice::OdeEuler => SamplerKind::ODE_EULER.name(),
        SamplerChoice::Family => "family",
    }
}

/// The samplers MNIST offers, by their names in the sampler table, the default first (the reverse
/// family's general member needs a parameter the MNIST view has no control for). DPM-Solver++
/// with 20 steps is the default: on a natively trained MLP (3000 steps, 300 samples) it matched
/// DDIM with 50 (71.7% confidently classified both, Fréchet distance 378 vs 382) at 40% of the
/// network evaluations, and the live view refreshes 2.5× as often for it.
pub const MNIST_SAMPLERS: [&str; 5] = ["dpm2m", "ddim", "ddpm", "sde", "ode"];

/// The MNIST samplers' kinds, in [`MNIST_SAMPLERS`]' order.
pub fn mnist_samplers() -> [SamplerKind; 5] {
    MNIST_SAMPLERS.map(|n| SamplerKind::from_name(n, 1.0).expect("a row of SAMPLERS"))
}

/// URL name of an MNIST sampler.
pub fn mnist_sampler_name(kind: SamplerKind) -> &'static str {
    kind.name()
}

/// The schedules MNIST offers by URL name (the spine's variance-preserving ones and the OU
/// process of the text).
pub fn mnist_schedules() -> [Schedule; 3] {
    [
        MnistConfig::default().schedule,
        Schedule::VpCosine { s: 0.008 },
        Schedule::Ou { d: 1.0, t_max: 5.0 },
    ]
}

fn fmt_num(v: f64) -> String {
    // The plain form unless it is long (1e-300 would print 300 zeros), else the exponent form;
    // each with the fewest digits that parse back to the same f64, so a link gives back the
    // value it was made from (a fixed `{v:.6e}` did not: `guide=2.522222222222222` came back
    // as 2.522222, found by fuzzing).
    let s = format!("{v}");
    if s.len() <= 12 {
        s
    } else {
        format!("{v:e}")
    }
}

impl Settings {
    /// Mixture as `weight:mean:width` triples joined by commas.
    pub fn mixture_text(mixture: &Mixture) -> String {
        mixture
            .components()
            .iter()
            .map(|c| {
                format!(
                    "{}:{}:{}",
                    fmt_round(c.weight),
                    fmt_round(c.mean),
                    fmt_round(c.width)
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses `weight:mean:width,...`.
    pub fn parse_mixture(text: &str) -> Result<Mixture, String> {
        let mut comps = Vec::new();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let f: Vec<&str> = part.split(':').collect();
            if f.len() != 3 {
                return Err(format!(
                    "mixture component '{part}' is not weight:mean:width"
                ));
            }
            let num = |s: &str| {
                s.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("'{s}' in mixture component '{part}' is not a number"))
            };
            let (w, m, s) = (num(f[0])?, num(f[1])?, num(f[2])?);
            if !(w.is_finite() && w >= 0.0) {
                return Err(format!("mixture weight {w} must be ≥ 0"));
            }
            if !(m >= limits::MIX_MEAN.0 && m <= limits::MIX_MEAN.1) {
                return Err(format!(
                    "mixture mean {m} is outside {}…{}",
                    limits::MIX_MEAN.0,
                    limits::MIX_MEAN.1
                ));
            }
            if !(s >= limits::MIX_WIDTH.0 && s <= limits::MIX_WIDTH.1) {
                return Err(format!(
                    "mixture width {s} is outside {}…{}",
                    limits::MIX_WIDTH.0,
                    limits::MIX_WIDTH.1
                ));
            }
            comps.push(Component {
                weight: w,
                mean: m,
                width: s,
            });
        }
        if comps.len() > limits::MIX_COMPONENTS {
            return Err(format!(
                "a mixture may have at most {} components",
                limits::MIX_COMPONENTS
            ));
        }
        Mixture::new(comps)
    }

    /// The settings as `(key, value)` pairs, in a stable order; only values that differ from the
    /// defaults are included, so links stay short.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.pairs(false)
    }

    /// Every setting as `(key, value)`, defaults included (to fill the page's controls).
    pub fn all_pairs(&self) -> Vec<(String, String)> {
        self.pairs(true)
    }

    fn pairs(&self, all: bool) -> Vec<(String, String)> {
        let defaults = Settings::default();
        keys()
            .iter()
            .filter(|k| all || k.applies(self))
            .filter_map(|k| {
                let v = k.value(self)?;
                // While presenting the model is always written: a model named explicitly wins
                // over the slide (see `from_pairs`), so a printed query reads back the same.
                let model_while_presenting = k.name == "model" && self.present > 0;
                (all || model_while_presenting || Some(&v) != k.value(&defaults).as_ref())
                    .then(|| (k.name.to_string(), v))
            })
            .collect()
    }

    /// The query string (without `?`).
    pub fn to_query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.to_pairs())
            .finish()
    }

    /// Parses a query string (with or without `?`). Returns the settings and a message for each
    /// value that was rejected (and replaced by its default).
    pub fn from_query(query: &str) -> (Settings, Vec<String>) {
        let query = query.strip_prefix('?').unwrap_or(query);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        Self::from_pairs(&pairs)
    }

    /// Parses `(key, value)` pairs (the URL's, the controls' or the CLI's); the last value of a
    /// key counts. Returns the settings and a message for each value that was rejected (and
    /// replaced by its default) or ignored.
    pub fn from_pairs(pairs: &[(String, String)]) -> (Settings, Vec<String>) {
        let mut s = Settings::default();
        let mut problems = Vec::new();
        // In table order, so a key sees the keys it depends on (D, T and t the schedule).
        for key in keys() {
            let Some((_, raw)) = pairs.iter().rev().find(|(k, _)| k == key.name) else {
                continue;
            };
            if key.applies(&s) {
                if let Err(e) = key.parse(&mut s, raw) {
                    problems.push(e);
                }
            }
        }
        // The training runs draw from the page's seed, and the view time stays in the process.
        s.train.seed = s.seed;
        s.ising.seed = s.seed;
        s.mnist.seed = s.seed;
        s.t_view = s.t_view.min(s.schedule.t_max());
        // A slide belongs to one model: a model named explicitly moves the lecture to its
        // first slide; otherwise the slide shows its model (so `?present=8` is a bookmark).
        if let Some(slide) = crate::lecture::slide(s.present) {
            if slide.model != s.model {
                if pairs.iter().any(|(k, _)| k == "model") {
                    s.present = crate::lecture::first_slide_of(s.model);
                } else {
                    s.model = slide.model;
                }
            }
        }
        for (k, _) in pairs {
            if key(k).is_none() {
                problems.push(format!("unknown setting '{k}' ignored"));
            }
        }
        (s, problems)
    }

    /// Settings from command-line arguments: `--query "k=v&..."` and any number of
    /// `--set KEY=VALUE` (later ones win), read like the URL. Returns the messages as
    /// [`Settings::from_pairs`] does; an error only for a `--set` that is not `KEY=VALUE`.
    pub fn from_args(args: &[String]) -> Result<(Settings, Vec<String>), String> {
        let mut pairs = Vec::new();
        let mut rest = args.iter();
        while let Some(a) = rest.next() {
            match a.as_str() {
                "--query" => {
                    let query = rest.next().map(String::as_str).unwrap_or_default();
                    let query = query.strip_prefix('?').unwrap_or(query);
                    pairs.extend(form_urlencoded::parse(query.as_bytes()).into_owned());
                }
                "--set" => {
                    let kv = rest.next().ok_or("--set needs KEY=VALUE")?;
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or_else(|| format!("--set {kv}: expected KEY=VALUE"))?;
                    pairs.push((k.to_string(), v.to_string()));
                }
                _ => {}
            }
        }
        Ok(Self::from_pairs(&pairs))
    }
}

fn fmt_round(v: f64) -> String {
    // Mixture values come from dragging: four decimals are plenty and keep links short.
    let r = (v * 1e4).round() / 1e4;
    fmt_num(r)
}

/// URL name of an Ising network target.
pub fn target_name(t: Target) -> &'static str {
    match t {
        Target::X0 => "x0",
        Target::Previous => "prev",
    }
}

/// URL name of a loss weighting.
pub fn weighting_name(w: Weighting) -> &'static str {
    match w {
        Weighting::Score => "score",
        Weighting::Noise => "noise",
    }
}

/// URL name of the toy network's activation.
pub fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::SoftSilu => "soft",
        Activation::Silu => "silu",
    }
}

/// URL name of a training-time law.
pub fn time_draw_name(d: TimeDraw) -> &'static str {
    match d {
        TimeDraw::Grid => "grid",
        TimeDraw::Uniform => "uniform",
    }
}
