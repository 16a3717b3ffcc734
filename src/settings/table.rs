//! The settings table: every URL key written once, with the panel it belongs to, how it is read
//! and written, its bounds or options and a label. The URL round trip of [`Settings`], the page's
//! form limits and the CLI's `--set` and `keys` all read this table, so they cannot disagree.
//!
//! The table's order is the parse order (a key may depend on one before it: `D`, `T` and `t`
//! on `schedule`) and the order of the printed pairs.

use super::key::{traits, FormLimit, Key, Kind, Num};
use super::{
    mnist_sampler_name, mnist_samplers, mnist_schedules, sampler_name, DataMode, DeviceChoice,
    SamplerChoice, Settings,
};
use crate::diffusion::sampler::TimeDraw;
use crate::diffusion::Schedule;
use crate::models::ising::train::Target;
use crate::models::mnist::train::NetKind;
use crate::models::toy1d::train::Weighting;
use crate::models::Model;
use crate::nn::Activation;

/// Inclusive numeric ranges accepted from the URL and the controls. The table refers to these;
/// they stay public because weights files and `window.lab` check the same ranges.
pub mod limits {
    pub const SEED: (f64, f64) = (0.0, 4_294_967_295.0);
    pub const OU_D: (f64, f64) = (0.05, 10.0);
    pub const OU_T: (f64, f64) = (0.1, 30.0);
    pub const RUNS: (f64, f64) = (10.0, 100_000.0);
    pub const WIDTH: (f64, f64) = (4.0, 512.0);
    pub const DEPTH: (f64, f64) = (1.0, 8.0);
    pub const LR: (f64, f64) = (1e-6, 10.0);
    pub const LR_DECAY: (f64, f64) = (0.0, 1e7);
    pub const BATCH: (f64, f64) = (8.0, 8192.0);
    pub const A: (f64, f64) = (0.5, 5.0);
    pub const STEPS: (f64, f64) = (2.0, 5000.0);
    pub const MIX_MEAN: (f64, f64) = (-8.0, 8.0);
    pub const MIX_WIDTH: (f64, f64) = (0.02, 4.0);
    pub const MIX_COMPONENTS: usize = 64;
    pub const BETA: (f64, f64) = (0.0, 1.5);
    pub const FLIP: (f64, f64) = (0.005, 0.25);
    pub const ISING_STEPS: (f64, f64) = (1.0, 2000.0);
    pub const CHANNELS: (f64, f64) = (2.0, 128.0);
    pub const LAYERS: (f64, f64) = (0.0, 6.0);
    pub const CONFIGS: (f64, f64) = (10.0, 100_000.0);
    pub const MNIST_CHANNELS: (f64, f64) = (4.0, 64.0);
    pub const MNIST_LEVELS: (f64, f64) = (1.0, 2.0);
    pub const MNIST_WIDTH: (f64, f64) = (16.0, 2048.0);
    pub const MNIST_BATCH: (f64, f64) = (1.0, 1024.0);
    pub const MNIST_STEPS: (f64, f64) = (2.0, 2000.0);
    pub const DIGIT: (f64, f64) = (0.0, 9.0);
    pub const GUIDANCE: (f64, f64) = (0.0, 50.0);
    /// Threads of the page's CPU backend (0: as many as the machine has cores).
    pub const THREADS: (f64, f64) = (0.0, 64.0);

    /// The MNIST network shapes a weights file may describe: channels, levels, MLP width,
    /// MLP depth.
    pub fn mnist_net_bounds() -> (
        std::ops::RangeInclusive<usize>,
        std::ops::RangeInclusive<usize>,
        std::ops::RangeInclusive<usize>,
        std::ops::RangeInclusive<usize>,
    ) {
        let r = |(lo, hi): (f64, f64)| lo as usize..=hi as usize;
        (r(MNIST_CHANNELS), r(MNIST_LEVELS), r(MNIST_WIDTH), r(DEPTH))
    }
}

/// A numeric key on a field of [`Settings`] named by its path, or on a getter and setter.
macro_rules! number {
    ($name:literal, $model:expr, $label:literal, $bounds:expr, $($field:ident).+) => {
        Key::number(
            $name,
            $model,
            $label,
            $bounds,
            traits(|s: &Settings| s.$($field).+),
            |s| Num::to_f64(s.$($field).+),
            |s, v| s.$($field).+ = v.map_or_else(Num::none, Num::from_f64),
        )
    };
    ($name:literal, $model:expr, $label:literal, $bounds:expr, get: $get:expr, set: $set:expr) => {
        Key::number(
            $name,
            $model,
            $label,
            $bounds,
            traits($get),
            |s| Num::to_f64(($get)(s)),
            |s, v| ($set)(s, v.map_or_else(Num::none, Num::from_f64)),
        )
    };
}

/// A named choice on a field: `$values` in the page's order, `$text` their URL names.
macro_rules! choice {
    ($name:literal, $model:expr, $label:literal, $values:expr, $text:expr, $($field:ident).+) => {
        Key::choice(
            $name,
            $model,
            $label,
            || $values.into_iter().map($text).collect(),
            |s| ($text)(s.$($field).+),
            |s, raw| match $values.into_iter().find(|v| ($text)(*v) == raw) {
                Some(v) => {
                    s.$($field).+ = v;
                    true
                }
                None => false,
            },
        )
    };
}

const SHARED: Option<Model> = None;
const TOY: Option<Model> = Some(Model::Toy1d);
const ISING: Option<Model> = Some(Model::Ising);
const MNIST: Option<Model> = Some(Model::Mnist);

/// Each row: URL key, panel, label, then bounds and field (numbers), values, URL names and field
/// (choices), or printer and parser (text). Steps other than 1 (whole) and any (real) are the
/// sliders'.
static TABLE: [Key; 48] = [
    choice!("model", SHARED, "model", Model::ALL, Model::name, model),
    // Also the training runs' seeds: `Settings::from_pairs` copies it into them.
    number!("seed", SHARED, "seed", |_| limits::SEED, seed),
    Key::text(
        "mix",
        TOY,
        "mixture (weight:mean:width, …)",
        |s| Some(Settings::mixture_text(&s.mixture)),
        |s, raw| {
            s.mixture = Settings::parse_mixture(raw)?;
            Ok(())
        },
    ),
    choice!(
        "schedule",
        TOY,
        "forward schedule",
        Schedule::all_defaults(),
        |sc: Schedule| sc.name(),
        schedule
    ),
    number!("D", TOY, "D (noise strength)", |_| limits::OU_D,
        get: |s: &Settings| ou_params(s).0,
        set: |s: &mut Settings, v: f64| if let Schedule::Ou { d, .. } = &mut s.schedule {
            *d = v
        }
    )
    .only_if(is_ou),
    number!("T", TOY, "T (duration)", |_| limits::OU_T,
        get: |s: &Settings| ou_params(s).1,
        set: |s: &mut Settings, v: f64| if let Schedule::Ou { t_max, .. } = &mut s.schedule {
            *t_max = v
        }
    )
    .only_if(is_ou),
    choice!(
        "data",
        TOY,
        "training pairs",
        DataMode::ALL,
        DataMode::name,
        data
    ),
    number!("runs", TOY, "N forward runs", |_| limits::RUNS, runs),
    number!("width", TOY, "hidden width", |_| limits::WIDTH, train.width),
    number!(
        "depth",
        TOY,
        "hidden layers",
        |_| limits::DEPTH,
        train.depth
    ),
    number!(
        "lr",
        TOY,
        "learning rate",
        |_| limits::LR,
        train.learning_rate
    ),
    number!(
        "decay",
        TOY,
        "lr decay time constant (steps; 0 keeps it constant)",
        |_| limits::LR_DECAY,
        train.lr_decay
    ),
    number!("batch", TOY, "batch size", |_| limits::BATCH, train.batch),
    choice!(
        "tdraw",
        TOY,
        "training times",
        [TimeDraw::Grid, TimeDraw::Uniform],
        super::time_draw_name,
        train.time_draw
    ),
    choice!(
        "act",
        TOY,
        "activation",
        [Activation::SoftSilu, Activation::Silu],
        super::activation_name,
        train.activation
    ),
    choice!(
        "loss",
        TOY,
        "loss weighting",
        [Weighting::Noise, Weighting::Score],
        super::weighting_name,
        train.weighting
    ),
    choice!(
        "sampler",
        TOY,
        "reverse family / integrator",
        SamplerChoice::ALL,
        sampler_name,
        sampler
    ),
    number!(
        "a",
        TOY,
        "family parameter a (1 = SDE, ½ = ODE)",
        |_| limits::A,
        a
    )
    .step(0.05),
    number!("steps", TOY, "reverse steps", |_| limits::STEPS, steps),
    // `Settings::from_pairs` also clamps the default view time into a shorter schedule.
    number!(
        "t",
        TOY,
        "score plot time (up to the schedule's end)",
        |s| (0.0, s.schedule.t_max()),
        t_view
    )
    .step(0.005),
    choice!(
        "score",
        TOY,
        "score the reverse plots use",
        [false, true],
        |exact: bool| if exact { "exact" } else { "learned" },
        exact_score
    ),
    choice!(
        "play",
        SHARED,
        "train on page load",
        [true, false],
        |on: bool| if on { "1" } else { "0" },
        play
    ),
    choice!(
        "device",
        SHARED,
        "device (URL only)",
        DeviceChoice::ALL,
        DeviceChoice::name,
        device
    ),
    number!(
        "threads",
        SHARED,
        "CPU threads in the page (0: every core; URL only)",
        |_| limits::THREADS,
        threads
    )
    .step(1.0),
    number!(
        "beta",
        ISING,
        "inverse temperature β",
        |_| limits::BETA,
        ising.beta
    )
    .step(0.01),
    number!(
        "flip",
        ISING,
        "flip probability per step r",
        |_| limits::FLIP,
        ising.r
    ),
    choice!(
        "kernel",
        ISING,
        "network predicts",
        [Target::X0, Target::Previous],
        super::target_name,
        ising.target
    ),
    number!(
        "rsteps",
        ISING,
        "reverse steps (x₀ kernel)",
        |_| limits::ISING_STEPS,
        ising.sampler_steps
    ),
    number!(
        "channels",
        ISING,
        "channels",
        |_| limits::CHANNELS,
        ising.channels
    ),
    number!(
        "layers",
        ISING,
        "hidden 1×1 layers",
        |_| limits::LAYERS,
        ising.layers
    ),
    number!(
        "ilr",
        ISING,
        "learning rate",
        |_| limits::LR,
        ising.learning_rate
    ),
    number!(
        "ibatch",
        ISING,
        "batch size (configurations)",
        |_| limits::BATCH,
        ising.batch
    ),
    number!(
        "configs",
        ISING,
        "training configurations",
        |_| limits::CONFIGS,
        ising.data_size
    ),
    choice!(
        "mnet",
        MNIST,
        "network",
        [NetKind::Unet, NetKind::Mlp],
        |n: NetKind| n.name(),
        mnist.net
    ),
    number!(
        "mch",
        MNIST,
        "U-Net channels",
        |_| limits::MNIST_CHANNELS,
        mnist.channels
    ),
    number!(
        "mlevels",
        MNIST,
        "U-Net levels below 28×28",
        |_| limits::MNIST_LEVELS,
        mnist.levels
    ),
    number!(
        "mwidth",
        MNIST,
        "MLP width",
        |_| limits::MNIST_WIDTH,
        mnist.width
    ),
    number!(
        "mdepth",
        MNIST,
        "MLP layers",
        |_| limits::DEPTH,
        mnist.depth
    ),
    choice!(
        "mschedule",
        MNIST,
        "noise schedule",
        mnist_schedules(),
        |sc: Schedule| sc.name(),
        mnist.schedule
    ),
    choice!(
        "mact",
        MNIST,
        "activation",
        [Activation::SoftSilu, Activation::Silu],
        super::activation_name,
        mnist.activation
    ),
    number!(
        "mlr",
        MNIST,
        "learning rate",
        |_| limits::LR,
        mnist.learning_rate
    ),
    number!(
        "mbatch",
        MNIST,
        "batch size (digits)",
        |_| limits::MNIST_BATCH,
        mnist.batch
    ),
    choice!(
        "msampler",
        MNIST,
        "sampler",
        mnist_samplers(),
        mnist_sampler_name,
        mnist_sampler
    ),
    number!(
        "msteps",
        MNIST,
        "sampler steps",
        |_| limits::MNIST_STEPS,
        mnist_steps
    ),
    number!(
        "digit",
        MNIST,
        "guide toward digit (none: unguided)",
        |_| limits::DIGIT,
        digit
    ),
    number!(
        "guide",
        MNIST,
        "guidance scale",
        |_| limits::GUIDANCE,
        guidance
    )
    .step(0.5),
    // Before `model` would be more natural, but a slide's model is settled after parsing.
    number!(
        "present",
        SHARED,
        "presenter mode's slide (0: off)",
        |_| (0.0, crate::lecture::SLIDES.len() as f64),
        present
    ),
    // Last, as links have always ended with it (a long URL is easier to read at the end).
    Key::text(
        "weights",
        SHARED,
        "weights file URL to load at start (URL only)",
        |s| s.weights.clone(),
        |s, raw| {
            s.weights = (!raw.is_empty()).then(|| raw.to_string());
            Ok(())
        },
    ),
];

/// Every setting, in parse and print order.
pub fn keys() -> &'static [Key] {
    &TABLE
}

/// The setting with this URL key.
pub fn key(name: &str) -> Option<&'static Key> {
    TABLE.iter().find(|k| k.name == name)
}

/// Bounds and steps of every numeric setting under `settings` (only `t`'s maximum depends on
/// them: it is the schedule's end), for the page's inputs.
pub fn form_limits(settings: &Settings) -> Vec<FormLimit> {
    TABLE
        .iter()
        .filter_map(|k| match k.kind(settings) {
            Kind::Number { min, max, step, .. } => Some(FormLimit {
                key: k.name,
                min,
                max,
                step,
            }),
            _ => None,
        })
        .collect()
}

fn is_ou(s: &Settings) -> bool {
    matches!(s.schedule, Schedule::Ou { .. })
}

/// The OU schedule's `(D, T)`; on another schedule the default OU's, which the page's hidden
/// `D` and `T` fields show.
fn ou_params(s: &Settings) -> (f64, f64) {
    match (s.schedule, Schedule::default()) {
        (Schedule::Ou { d, t_max }, _) | (_, Schedule::Ou { d, t_max }) => (d, t_max),
        _ => unreachable!("the default schedule is OU"),
    }
}
