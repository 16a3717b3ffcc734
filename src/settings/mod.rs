//! Every setting of the page in one value that round-trips through the URL's query string, so a
//! link reproduces a view. URL values are input like any other: anything unknown, malformed or
//! out of range is reported and replaced by its default.

use crate::diffusion::sampler::TimeDraw;
use crate::diffusion::{SamplerKind, Schedule};
use crate::models::ising::train::{IsingConfig, Target};
use crate::models::mnist::train::{MnistConfig, NetKind};
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

/// Where training pairs come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataMode {
    /// Fresh draws for every batch.
    Fresh,
    /// A fixed set of forward runs.
    Fixed,
}

/// The reverse process a page plot or API call uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SamplerChoice {
    Sde,
    OdeHeun,
    OdeEuler,
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
    /// URL of weights to load at start (URL only).
    pub weights: Option<String>,
    /// The Ising model's data, process, network and sampler.
    pub ising: IsingConfig,
    /// Small MNIST: network, schedule and training.
    pub mnist: MnistConfig,
    /// MNIST sampler: one of DDPM ancestral, DDIM, reverse SDE, probability-flow ODE (Heun).
    pub mnist_sampler: SamplerKind,
    /// MNIST sampler steps.
    pub mnist_steps: usize,
    /// Digit the guided sampler aims at (none: unguided).
    pub digit: Option<u8>,
    /// Classifier-guidance scale.
    pub guidance: f64,
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
            weights: None,
            ising: IsingConfig::default(),
            mnist: MnistConfig::default(),
            mnist_sampler: SamplerKind::Ddim,
            mnist_steps: 50,
            digit: None,
            guidance: 3.0,
        }
    }
}

/// Inclusive numeric ranges accepted from the URL and the controls.
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

/// The MNIST samplers by URL name.
pub const MNIST_SAMPLERS: [(&str, SamplerKind); 4] = [
    ("ddpm", SamplerKind::Ancestral),
    ("ddim", SamplerKind::Ddim),
    ("sde", SamplerKind::SDE),
    ("ode", SamplerKind::HeunOde),
];

/// The schedules MNIST offers by URL name (the spine's variance-preserving ones and the OU
/// process of the text).
pub fn mnist_schedules() -> [Schedule; 3] {
    [
        MnistConfig::default().schedule,
        Schedule::VpCosine { s: 0.008 },
        Schedule::Ou { d: 1.0, t_max: 5.0 },
    ]
}

/// URL name of an MNIST sampler.
pub fn mnist_sampler_name(kind: SamplerKind) -> &'static str {
    MNIST_SAMPLERS
        .iter()
        .find(|(_, k)| *k == kind)
        .map(|(n, _)| *n)
        .unwrap_or("ddim")
}

fn fmt_num(v: f64) -> String {
    // Shortest form that parses back to the same f64.
    let s = format!("{v}");
    if s.len() <= 12 {
        s
    } else {
        format!("{v:.6e}")
    }
}

fn parse_num(
    key: &str,
    raw: &str,
    range: (f64, f64),
    integer: bool,
    problems: &mut Vec<String>,
) -> Option<f64> {
    match raw.trim().parse::<f64>() {
        Ok(v)
            if v.is_finite() && v >= range.0 && v <= range.1 && (!integer || v.fract() == 0.0) =>
        {
            Some(v)
        }
        Ok(v) if v.is_finite() && (!integer || v.fract() == 0.0) => {
            problems.push(format!(
                "{key}={raw} is outside {}…{}; using the default",
                fmt_num(range.0),
                fmt_num(range.1)
            ));
            None
        }
        _ => {
            let what = if integer {
                "a whole number"
            } else {
                "a number"
            };
            problems.push(format!("{key}={raw} is not {what}; using the default"));
            None
        }
    }
}

impl Settings {
    /// The sampler as the diffusion module describes it.
    pub fn sampler_kind(&self) -> SamplerKind {
        match self.sampler {
            SamplerChoice::Sde => SamplerKind::SDE,
            SamplerChoice::OdeHeun => SamplerKind::HeunOde,
            SamplerChoice::OdeEuler => SamplerKind::ODE_EULER,
            SamplerChoice::Family => SamplerKind::EulerMaruyama { a: self.a },
        }
    }

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
        let d = Settings::default();
        let mut out: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String, dv: String| {
            if all || v != dv {
                out.push((k.to_string(), v));
            }
        };
        put("model", self.model.name().into(), d.model.name().into());
        put("seed", self.seed.to_string(), d.seed.to_string());
        put(
            "mix",
            Self::mixture_text(&self.mixture),
            Self::mixture_text(&d.mixture),
        );
        put(
            "schedule",
            self.schedule.name().into(),
            d.schedule.name().into(),
        );
        if let Schedule::Ou { d: dd, t_max } = self.schedule {
            put("D", fmt_num(dd), "1".into());
            put("T", fmt_num(t_max), "5".into());
        } else if all {
            put("D", "1".into(), String::new());
            put("T", "5".into(), String::new());
        }
        put(
            "data",
            (if self.data == DataMode::Fixed {
                "fixed"
            } else {
                "fresh"
            })
            .into(),
            "fresh".into(),
        );
        put("runs", self.runs.to_string(), d.runs.to_string());
        put(
            "width",
            self.train.width.to_string(),
            d.train.width.to_string(),
        );
        put(
            "depth",
            self.train.depth.to_string(),
            d.train.depth.to_string(),
        );
        put(
            "lr",
            fmt_num(self.train.learning_rate),
            fmt_num(d.train.learning_rate),
        );
        put(
            "decay",
            fmt_num(self.train.lr_decay),
            fmt_num(d.train.lr_decay),
        );
        put(
            "batch",
            self.train.batch.to_string(),
            d.train.batch.to_string(),
        );
        put(
            "tdraw",
            time_draw_name(self.train.time_draw).into(),
            time_draw_name(d.train.time_draw).into(),
        );
        put(
            "act",
            activation_name(self.train.activation).into(),
            activation_name(d.train.activation).into(),
        );
        put(
            "loss",
            weighting_name(self.train.weighting).into(),
            weighting_name(d.train.weighting).into(),
        );
        put(
            "sampler",
            sampler_name(self.sampler).into(),
            sampler_name(d.sampler).into(),
        );
        put("a", fmt_num(self.a), fmt_num(d.a));
        put("steps", self.steps.to_string(), d.steps.to_string());
        put("t", fmt_num(self.t_view), fmt_num(d.t_view));
        put(
            "score",
            (if self.exact_score { "exact" } else { "learned" }).into(),
            "learned".into(),
        );
        put(
            "play",
            (if self.play { "1" } else { "0" }).into(),
            "1".into(),
        );
        let dev = |c: DeviceChoice| match c {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::WebGpu => "webgpu",
        };
        put("device", dev(self.device).into(), "auto".into());
        let (i, di) = (&self.ising, &d.ising);
        put("beta", fmt_num(i.beta), fmt_num(di.beta));
        put("flip", fmt_num(i.r), fmt_num(di.r));
        put(
            "kernel",
            target_name(i.target).into(),
            target_name(di.target).into(),
        );
        put(
            "rsteps",
            i.sampler_steps.to_string(),
            di.sampler_steps.to_string(),
        );
        put("channels", i.channels.to_string(), di.channels.to_string());
        put("layers", i.layers.to_string(), di.layers.to_string());
        put("ilr", fmt_num(i.learning_rate), fmt_num(di.learning_rate));
        put("ibatch", i.batch.to_string(), di.batch.to_string());
        put("configs", i.data_size.to_string(), di.data_size.to_string());
        let (m, dm) = (&self.mnist, &d.mnist);
        put("mnet", m.net.name().into(), dm.net.name().into());
        put("mch", m.channels.to_string(), dm.channels.to_string());
        put("mlevels", m.levels.to_string(), dm.levels.to_string());
        put("mwidth", m.width.to_string(), dm.width.to_string());
        put("mdepth", m.depth.to_string(), dm.depth.to_string());
        put(
            "mschedule",
            m.schedule.name().into(),
            dm.schedule.name().into(),
        );
        put("mlr", fmt_num(m.learning_rate), fmt_num(dm.learning_rate));
        put("mbatch", m.batch.to_string(), dm.batch.to_string());
        put(
            "msampler",
            mnist_sampler_name(self.mnist_sampler).into(),
            mnist_sampler_name(d.mnist_sampler).into(),
        );
        put(
            "msteps",
            self.mnist_steps.to_string(),
            d.mnist_steps.to_string(),
        );
        put(
            "digit",
            self.digit
                .map(|v| v.to_string())
                .unwrap_or_else(|| "none".into()),
            "none".into(),
        );
        put("guide", fmt_num(self.guidance), fmt_num(d.guidance));
        if let Some(w) = &self.weights {
            put("weights", w.clone(), String::new());
        }
        out
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

    /// Parses `(key, value)` pairs (the URL's or the controls').
    pub fn from_pairs(pairs: &[(String, String)]) -> (Settings, Vec<String>) {
        let mut s = Settings::default();
        let mut problems = Vec::new();
        let get = |k: &str| {
            pairs
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let p = &mut problems;
        let num = |k: &str, range: (f64, f64), integer: bool, p: &mut Vec<String>| {
            get(k).and_then(|raw| parse_num(k, raw, range, integer, p))
        };
        // A named choice: `options` in the page's order, the first the default.
        fn choice<T: Copy>(
            key: &str,
            raw: Option<&str>,
            options: &[T],
            name: fn(T) -> &'static str,
            p: &mut Vec<String>,
        ) -> Option<T> {
            let raw = raw?;
            let found = options.iter().copied().find(|o| name(*o) == raw);
            if found.is_none() {
                let names: Vec<&str> = options.iter().map(|o| name(*o)).collect();
                p.push(format!(
                    "{key}={raw} is not one of {}; using {}",
                    names.join(", "),
                    names[0]
                ));
            }
            found
        }

        if let Some(m) = get("model") {
            match Model::from_name(m) {
                Some(model) => s.model = model,
                None => p.push(format!(
                    "model={m} is not available (models: {}); showing toy1d",
                    Model::names()
                )),
            }
        }
        if let Some(v) = num("seed", limits::SEED, true, p) {
            s.seed = v as u64;
        }
        s.train.seed = s.seed;
        if let Some(text) = get("mix") {
            match Self::parse_mixture(text) {
                Ok(m) => s.mixture = m,
                Err(e) => p.push(format!("mix: {e}; using the default mixture")),
            }
        }
        if let Some(name) = get("schedule") {
            match Schedule::all_defaults()
                .into_iter()
                .find(|sc| sc.name() == name)
            {
                Some(sc) => s.schedule = sc,
                None => p.push(format!(
                    "schedule={name} is unknown (ou, vp-linear, vp-cosine, flow); using ou"
                )),
            }
        }
        if let Schedule::Ou { d, t_max } = &mut s.schedule {
            if let Some(v) = num("D", limits::OU_D, false, p) {
                *d = v;
            }
            if let Some(v) = num("T", limits::OU_T, false, p) {
                *t_max = v;
            }
        }
        match get("data") {
            None | Some("fresh") => {}
            Some("fixed") => s.data = DataMode::Fixed,
            Some(other) => p.push(format!(
                "data={other} is neither fresh nor fixed; using fresh"
            )),
        }
        if let Some(v) = num("runs", limits::RUNS, true, p) {
            s.runs = v as usize;
        }
        if let Some(v) = num("width", limits::WIDTH, true, p) {
            s.train.width = v as usize;
        }
        if let Some(v) = num("depth", limits::DEPTH, true, p) {
            s.train.depth = v as usize;
        }
        if let Some(v) = num("lr", limits::LR, false, p) {
            s.train.learning_rate = v;
        }
        if let Some(v) = num("decay", limits::LR_DECAY, false, p) {
            s.train.lr_decay = v;
        }
        if let Some(v) = num("batch", limits::BATCH, true, p) {
            s.train.batch = v as usize;
        }
        let draws = [TimeDraw::Grid, TimeDraw::Uniform];
        if let Some(d) = choice("tdraw", get("tdraw"), &draws, time_draw_name, p) {
            s.train.time_draw = d;
        }
        let activations = [Activation::SoftSilu, Activation::Silu];
        if let Some(a) = choice("act", get("act"), &activations, activation_name, p) {
            s.train.activation = a;
        }
        match get("loss") {
            None => {}
            Some("score") => s.train.weighting = Weighting::Score,
            Some("noise") => s.train.weighting = Weighting::Noise,
            Some(other) => p.push(format!(
                "loss={other} is neither score nor noise; using the default"
            )),
        }
        let samplers = [
            SamplerChoice::Sde,
            SamplerChoice::OdeHeun,
            SamplerChoice::OdeEuler,
            SamplerChoice::Family,
        ];
        if let Some(c) = choice("sampler", get("sampler"), &samplers, sampler_name, p) {
            s.sampler = c;
        }
        if let Some(v) = num("a", limits::A, false, p) {
            s.a = v;
        }
        if let Some(v) = num("steps", limits::STEPS, true, p) {
            s.steps = v as usize;
        }
        let t_range = (0.0, s.schedule.t_max());
        if let Some(v) = num("t", t_range, false, p) {
            s.t_view = v;
        }
        s.t_view = s.t_view.min(s.schedule.t_max());
        match get("score") {
            None | Some("learned") => {}
            Some("exact") => s.exact_score = true,
            Some(other) => p.push(format!(
                "score={other} is neither learned nor exact; using learned"
            )),
        }
        match get("play") {
            None | Some("1") => {}
            Some("0") => s.play = false,
            Some(other) => p.push(format!("play={other} is neither 1 nor 0; using 1")),
        }
        match get("device") {
            None | Some("auto") => {}
            Some("cpu") => s.device = DeviceChoice::Cpu,
            Some("webgpu") => s.device = DeviceChoice::WebGpu,
            Some(other) => p.push(format!(
                "device={other} is unknown (auto, cpu, webgpu); using auto"
            )),
        }
        if let Some(w) = get("weights") {
            if !w.is_empty() {
                s.weights = Some(w.to_string());
            }
        }
        s.ising.seed = s.seed;
        if let Some(v) = num("beta", limits::BETA, false, p) {
            s.ising.beta = v;
        }
        if let Some(v) = num("flip", limits::FLIP, false, p) {
            s.ising.r = v;
        }
        match get("kernel") {
            None => {}
            Some("x0") => s.ising.target = Target::X0,
            Some("prev") => s.ising.target = Target::Previous,
            Some(other) => p.push(format!("kernel={other} is neither x0 nor prev; using x0")),
        }
        if let Some(v) = num("rsteps", limits::ISING_STEPS, true, p) {
            s.ising.sampler_steps = v as usize;
        }
        if let Some(v) = num("channels", limits::CHANNELS, true, p) {
            s.ising.channels = v as usize;
        }
        if let Some(v) = num("layers", limits::LAYERS, true, p) {
            s.ising.layers = v as usize;
        }
        if let Some(v) = num("ilr", limits::LR, false, p) {
            s.ising.learning_rate = v;
        }
        if let Some(v) = num("ibatch", limits::BATCH, true, p) {
            s.ising.batch = v as usize;
        }
        if let Some(v) = num("configs", limits::CONFIGS, true, p) {
            s.ising.data_size = v as usize;
        }
        s.mnist.seed = s.seed;
        match get("mnet") {
            None => {}
            Some("unet") => s.mnist.net = NetKind::Unet,
            Some("mlp") => s.mnist.net = NetKind::Mlp,
            Some(other) => p.push(format!("mnet={other} is neither unet nor mlp; using unet")),
        }
        if let Some(v) = num("mch", limits::MNIST_CHANNELS, true, p) {
            s.mnist.channels = v as usize;
        }
        if let Some(v) = num("mlevels", limits::MNIST_LEVELS, true, p) {
            s.mnist.levels = v as usize;
        }
        if let Some(v) = num("mwidth", limits::MNIST_WIDTH, true, p) {
            s.mnist.width = v as usize;
        }
        if let Some(v) = num("mdepth", limits::DEPTH, true, p) {
            s.mnist.depth = v as usize;
        }
        if let Some(name) = get("mschedule") {
            match mnist_schedules().into_iter().find(|sc| sc.name() == name) {
                Some(sc) => s.mnist.schedule = sc,
                None => p.push(format!(
                    "mschedule={name} is unknown (vp-linear, vp-cosine, ou); using vp-linear"
                )),
            }
        }
        if let Some(v) = num("mlr", limits::LR, false, p) {
            s.mnist.learning_rate = v;
        }
        if let Some(v) = num("mbatch", limits::MNIST_BATCH, true, p) {
            s.mnist.batch = v as usize;
        }
        if let Some(name) = get("msampler") {
            match MNIST_SAMPLERS.iter().find(|(n, _)| *n == name) {
                Some((_, k)) => s.mnist_sampler = *k,
                None => p.push(format!(
                    "msampler={name} is unknown (ddpm, ddim, sde, ode); using ddim"
                )),
            }
        }
        if let Some(v) = num("msteps", limits::MNIST_STEPS, true, p) {
            s.mnist_steps = v as usize;
        }
        match get("digit") {
            None | Some("none") | Some("") => {}
            Some(_) => {
                if let Some(v) = num("digit", limits::DIGIT, true, p) {
                    s.digit = Some(v as u8);
                }
            }
        }
        if let Some(v) = num("guide", limits::GUIDANCE, false, p) {
            s.guidance = v;
        }
        let known = [
            "model",
            "seed",
            "mix",
            "schedule",
            "D",
            "T",
            "data",
            "runs",
            "width",
            "depth",
            "lr",
            "decay",
            "batch",
            "tdraw",
            "act",
            "loss",
            "sampler",
            "a",
            "steps",
            "t",
            "score",
            "play",
            "device",
            "weights",
            "beta",
            "flip",
            "kernel",
            "rsteps",
            "channels",
            "layers",
            "ilr",
            "ibatch",
            "configs",
            "mnet",
            "mch",
            "mlevels",
            "mwidth",
            "mdepth",
            "mschedule",
            "mlr",
            "mbatch",
            "msampler",
            "msteps",
            "digit",
            "guide",
        ];
        for (k, _) in pairs {
            if !known.contains(&k.as_str()) {
                problems.push(format!("unknown setting '{k}' ignored"));
            }
        }
        (s, problems)
    }
}

fn fmt_round(v: f64) -> String {
    // Mixture values come from dragging: four decimals are plenty and keep links short.
    let r = (v * 1e4).round() / 1e4;
    fmt_num(r)
}

/// URL name of a loss weighting.
pub fn target_name(t: Target) -> &'static str {
    match t {
        Target::X0 => "x0",
        Target::Previous => "prev",
    }
}

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

/// URL name of a sampler choice.
pub fn sampler_name(c: SamplerChoice) -> &'static str {
    match c {
        SamplerChoice::Sde => "sde",
        SamplerChoice::OdeHeun => "ode",
        SamplerChoice::OdeEuler => "ode-euler",
        SamplerChoice::Family => "family",
    }
}
