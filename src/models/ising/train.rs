//! The Ising reverse kernel: training (one Adam step at a time) and sampling.
//!
//! The network sees `x_t` and `t` and returns, for every spin at once, a logit. Two targets
//! (`Target`), with the same optimum for the factorised kernel:
//! - `X0` (default): the logit of `P(x_{0,i} = +1 | x_t)`, trained by cross-entropy against the
//!   clean configuration; the reverse step to any earlier `s` mixes the exact per-spin
//!   posteriors `q(x_{s,i} | x_{t,i}, x_{0,i})` (`FlipProcess::reverse_step`) with it. Time is
//!   continuous, so the sampler may take more (smaller) steps than the forward process has.
//! - `Previous`: the logit of `P(x_{t−1,i} = +1 | x_t)` directly, trained by cross-entropy against
//!   the true `x_{t−1}` (the text's set-up); the sampler takes exactly the forward steps.
//!
//! Both add the network's output to a fixed skip term, the log-odds a lone spin gives
//! (`x_t` times `ln((1+c_t)/(1−c_t))`, resp. `ln((1−r)/r)`), so an untrained network already
//! denoises each spin on its own and the convolutions learn only what the neighbours add.

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::log_sigmoid;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::models::ising::lattice::{FlipProcess, SITES};
use crate::models::ising::net::{gather_spins, IsingNet, IsingNetConfig};
use crate::nn::time_embedding::sinusoidal;
use crate::nn::Activation;
use crate::run::{both, Join, Run, Training};

/// Frequencies of the time embedding.
const TIME_FREQS: usize = 6;
const TIME_MAX_FREQ: f32 = 24.0;
/// Configurations per network evaluation when sampling (bounds the memory of a batch).
pub const SAMPLE_CHUNK: usize = 1024;

/// What the network predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    X0,
    Previous,
}

/// Everything that defines an Ising training run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct IsingConfig {
    /// Inverse temperature of the data.
    pub beta: f64,
    /// Flip probability per forward step.
    pub r: f64,
    pub channels: usize,
    pub layers: usize,
    /// Side of the convolution window.
    pub kernel: usize,
    pub learning_rate: f64,
    pub batch: usize,
    pub target: Target,
    /// Reverse steps of the sampler (`X0` only; `Previous` takes the forward steps).
    pub sampler_steps: usize,
    /// Corrector cycles after the reverse run: renoise to `corrector_t`, denoise back in
    /// `corrector_steps` steps (`X0` only).
    pub corrector_cycles: usize,
    pub corrector_t: f64,
    pub corrector_steps: usize,
    /// Training configurations drawn from the Gibbs measure.
    pub data_size: usize,
    pub seed: u64,
    pub ema: f64,
    /// The network's nonlinearity (see [`Activation::SoftSilu`]).
    #[serde(default = "Activation::legacy")]
    pub activation: Activation,
}

impl Default for IsingConfig {
    fn default() -> Self {
        IsingConfig {
            beta: 0.35,
            r: 0.05,
            channels: 16,
            layers: 2,
            kernel: 5,
            learning_rate: 2e-3,
            batch: 128,
            target: Target::X0,
            sampler_steps: 64,
            corrector_cycles: 0,
            corrector_t: 4.0,
            corrector_steps: 4,
            data_size: 5000,
            seed: 1,
            ema: 0.995,
            activation: Activation::SoftSilu,
        }
    }
}

impl IsingConfig {
    pub fn process(&self) -> FlipProcess {
        FlipProcess::new(self.r)
    }

    pub fn net(&self) -> IsingNetConfig {
        IsingNetConfig {
            channels: self.channels,
            layers: self.layers,
            kernel: self.kernel,
            time_features: 2 * TIME_FREQS,
            activation: self.activation,
        }
    }
}

/// The network with what it needs to be used: the process and the target.
#[derive(Clone, Debug)]
pub struct IsingModel {
    pub net: IsingNet,
    pub process: FlipProcess,
    pub target: Target,
}

/// The network's inputs for a batch of configurations ([`IsingModel::inputs`]).
struct Inputs {
    /// Every site's neighbourhood of spins, `[n, SITES, k²]`.
    gathered: Tensor<3>,
    /// The time features, `[n, time_features]`.
    time: Tensor<2>,
    /// The skip term of every spin's logit, `[n, SITES]`.
    skip: Tensor<2>,
}

impl IsingModel {
    /// Logits for `n` configurations `x` (±1, `n × SITES`) at times `t` (one per configuration):
    /// `[n, SITES]`, skip term included.
    pub fn logits(&self, x: &[i8], t: &[f32], device: &Device) -> Tensor<2> {
        let inputs = self.inputs(x, t, device);
        self.net.forward_gathered(inputs.gathered, inputs.time) + inputs.skip
    }

    /// The mean cross-entropy per spin of the logits of `x` at times `t` against the ±1 targets
    /// `target`, times `scale`, and its gradient for every parameter, from the backward pass
    /// written out ([`IsingNet::loss_and_grads`]; the same loss as [`batch_loss`] records).
    pub fn loss_and_grads(
        &self,
        x: &[i8],
        t: &[f32],
        target: &[f32],
        device: &Device,
        scale: f64,
    ) -> (Tensor<1>, GradientsParams) {
        let inputs = self.inputs(x, t, device);
        let y = Tensor::<2>::from_data(TensorData::new(target.to_vec(), [t.len(), SITES]), device);
        self.net
            .loss_and_grads(inputs.gathered, inputs.time, inputs.skip, y, scale)
    }

    /// What the network and its skip term take for `n` configurations `x` at times `t`.
    fn inputs(&self, x: &[i8], t: &[f32], device: &Device) -> Inputs {
        let n = t.len();
        debug_assert_eq!(x.len(), n * SITES);
        let spins: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let big_t = self.process.steps as f32;
        let mut feats = vec![0.0f32; n * 2 * TIME_FREQS];
        let mut skip = Vec::with_capacity(n);
        for (k, &tk) in t.iter().enumerate() {
            sinusoidal(
                tk / big_t,
                TIME_FREQS,
                TIME_MAX_FREQ,
                &mut feats[k * 2 * TIME_FREQS..(k + 1) * 2 * TIME_FREQS],
            );
            skip.push(match self.target {
                Target::X0 => self.process.self_logit(tk as f64),
                Target::Previous => ((1.0 - self.process.r) / self.process.r).ln(),
            } as f32);
        }
        let s = Tensor::<2>::from_data(TensorData::new(spins, [n, SITES]), device);
        let time = Tensor::<2>::from_data(TensorData::new(feats, [n, 2 * TIME_FREQS]), device);
        let skip = Tensor::<2>::from_data(TensorData::new(skip, [n, 1]), device);
        // On the CPU the first convolution's neighbourhoods are gathered here, from the spins
        // (burn's general gather was 18% of a training step); a GPU gathers them itself.
        let gathered = if *device == Device::flex() || *device == Device::flex().autodiff() {
            let k = self.net.kernel();
            let gathered = TensorData::new(gather_spins(x, k), [n, SITES, k * k]);
            Tensor::<3>::from_data(gathered, device)
        } else {
            self.net.gather(s.clone())
        };
        Inputs {
            skip: s * skip,
            time,
            gathered,
        }
    }

    /// `P(x_s = +1 | x_t)` for every spin of `n` configurations, all at time `t`; the network
    /// evaluated on two halves of the configurations at once through `join` when there is one (the threaded module's CPU
    /// pool: the evaluation runs when the operations are called, so only the read-back waits
    /// after the join). Each configuration's probabilities are the same either way.
    pub async fn reverse_probs(
        &self,
        x: &[i8],
        t: f64,
        s: f64,
        device: &Device,
        join: Option<Join>,
    ) -> Vec<f32> {
        let n = x.len() / SITES;
        let probs = |x: &[i8]| {
            let logits = self.logits(x, &vec![t as f32; x.len() / SITES], device);
            burn::tensor::activation::sigmoid(logits)
        };
        let read = async |probs: Tensor<2>| match probs.into_data_async().await {
            Ok(d) => d.try_to_vec::<f32>().unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let p: Vec<f32> = match join {
            Some(join) if n >= 2 => {
                let (first, second) = x.split_at(n / 2 * SITES);
                let (a, b) = both(join, || probs(first), || probs(second));
                let mut p = read(a).await;
                p.extend(read(b).await);
                p
            }
            _ => read(probs(x)).await,
        };
        if p.len() != x.len() {
            return vec![f32::NAN; x.len()];
        }
        match self.target {
            Target::Previous => p,
            Target::X0 => {
                let step = self.process.reverse_step(s, t);
                p.iter()
                    .zip(x)
                    .map(|(&pi0, &z)| step.up(z as f64, pi0 as f64) as f32)
                    .collect()
            }
        }
    }

    /// The reverse time grid, from `T` to 0, then the corrector cycles' grids.
    pub fn plan(&self, config: &IsingConfig) -> Vec<Vec<f64>> {
        let mut plan = vec![self.reverse_times(config.sampler_steps)];
        if self.target == Target::X0 {
            let t0 = config.corrector_t.min(self.process.steps as f64);
            let m = config.corrector_steps.max(1);
            for _ in 0..config.corrector_cycles {
                plan.push((0..=m).rev().map(|k| t0 * k as f64 / m as f64).collect());
            }
        }
        plan
    }

    /// The reverse time grid, from `T` to 0. With the `X0` target the grid is uniform in the
    /// correlation with the data `c_t = (1 − 2r)^t` (each step restores as much of it): steps
    /// are dense at small t, where a factorised kernel errs most (measured in the README:
    /// at 64 steps, <s_i s_j> 0.436 against 0.424 for a grid uniform in t, exact 0.4596).
    pub fn reverse_times(&self, steps: usize) -> Vec<f64> {
        match self.target {
            Target::Previous => (0..=self.process.steps).rev().map(|k| k as f64).collect(),
            Target::X0 => self.process.reverse_grid(steps),
        }
    }

    /// Generates `n` configurations: uniform random spins at `T`, then the learned kernel
    /// applied along `plan` (see [`IsingModel::plan`]): every spin drawn independently given
    /// the previous configuration; each later grid of the plan first renoises the
    /// configurations to its start time with the forward process (a corrector cycle).
    /// `observe(k, t, x)` sees the state after every step (k = 0 is the start); `pause` is
    /// awaited between network evaluations (the page breathes there).
    /// `join` (the threaded module's pool) evaluates the network on two halves at once
    /// ([`IsingModel::reverse_probs`]): the same draws, the same configurations.
    #[allow(clippy::too_many_arguments)]
    pub async fn sample<R: Rng, O: FnMut(usize, f64, &[i8]), P: AsyncFnMut()>(
        &self,
        n: usize,
        plan: &[Vec<f64>],
        rng: &mut R,
        device: &Device,
        mut observe: O,
        mut pause: P,
        join: Option<Join>,
    ) -> Vec<i8> {
        let mut x: Vec<i8> = (0..n * SITES)
            .map(|_| if rng.random::<bool>() { 1 } else { -1 })
            .collect();
        let mut k = 0;
        observe(k, plan[0][0], &x);
        for (g, times) in plan.iter().enumerate() {
            if g > 0 {
                x = self.process.noise(&x, times[0], rng);
            }
            for w in times.windows(2) {
                let (t, s) = (w[0], w[1]);
                for chunk in x.chunks_mut(SAMPLE_CHUNK * SITES) {
                    pause().await;
                    let p = self.reverse_probs(chunk, t, s, device, join).await;
                    for (v, &pu) in chunk.iter_mut().zip(&p) {
                        *v = if rng.random::<f32>() < pu { 1 } else { -1 };
                    }
                }
                k += 1;
                observe(k, s, &x);
            }
        }
        x
    }
}

/// A training run: the network, Adam, and the weight average used for sampling.
pub struct IsingTrainer {
    pub config: IsingConfig,
    pub model: IsingModel,
    /// Adam, the weight average, the last good weights (shared by every model).
    pub run: Run<IsingNet>,
    device: Device,
    rng: StdRng,
    /// The next training batch and the data it was drawn from: a split step draws it while the
    /// pool's thread finishes the step's second half ([`IsingTrainer::step_split`]); the next
    /// step on the same data takes it, so the batches are the same with or without it.
    next: Option<(std::sync::Arc<Vec<i8>>, Batch)>,
}

/// A training batch: `(x_t, target spins, t)`.
type Batch = (Vec<i8>, Vec<f32>, Vec<f32>);

impl Training for IsingTrainer {
    type Net = IsingNet;
    /// The training configurations, `m × SITES` spins.
    type Data = std::sync::Arc<Vec<i8>>;
    type Model = IsingModel;

    fn train_step(&mut self, data: &Self::Data) -> Tensor<1> {
        self.step(data)
    }

    fn train_step_split(&mut self, data: &Self::Data, join: Join) -> Tensor<1> {
        self.step_split(data, join)
    }

    fn sample_loss(&self, data: &Self::Data, rng: &mut StdRng) -> Tensor<1> {
        self.loss_on(data, rng)
    }

    fn snapshot(&self) -> IsingModel {
        self.inference_model()
    }

    fn net(&self) -> &IsingNet {
        &self.model.net
    }

    fn run(&self) -> &Run<IsingNet> {
        &self.run
    }

    fn parts(&mut self) -> (&mut IsingNet, &mut Run<IsingNet>) {
        (&mut self.model.net, &mut self.run)
    }
}

/// The mean cross-entropy per spin of `model`'s prediction on `(x_t, target spins, t)`.
fn batch_loss(
    model: &IsingModel,
    (xt, target, ts): &(Vec<i8>, Vec<f32>, Vec<f32>),
    device: &Device,
) -> Tensor<1> {
    let logits = model.logits(xt, ts, device);
    let y = Tensor::<2>::from_data(TensorData::new(target.clone(), [ts.len(), SITES]), device);
    // Cross-entropy of ±1 targets: −log σ(y · logit).
    log_sigmoid(logits * y).neg().mean()
}

impl IsingTrainer {
    pub fn new(config: IsingConfig, device: &Device) -> IsingTrainer {
        device.seed(config.seed);
        // On an autodiff device although the training step's backward pass is written out
        // (`IsingNet::loss_and_grads`): burn's optimizer takes only autodiff parameters.
        let train_device = device.clone().autodiff();
        IsingTrainer {
            model: IsingModel {
                net: config.net().init(&train_device),
                process: config.process(),
                target: config.target,
            },
            config,
            run: Run::new(),
            device: train_device,
            rng: StdRng::seed_from_u64(config.seed ^ 0x1517_1e57),
            next: None,
        }
    }

    /// [`IsingTrainer::step`] with the batch's two halves at once through `join` (data
    /// parallelism, [`Run::descend_split`]): the same batch and gradient, to rounding. The
    /// next step's batch is drawn by the thread whose half finishes first (a few tenths of a
    /// millisecond).
    pub fn step_split(&mut self, data: &std::sync::Arc<Vec<i8>>, join: Join) -> Tensor<1> {
        let (xt, target, ts) = self.draw(data);
        let (base, device) = (self.model.clone(), self.device.clone());
        let grads = |net: &IsingNet, r: std::ops::Range<usize>, share: f64| {
            let model = IsingModel {
                net: net.clone(),
                ..base.clone()
            };
            let spins = r.start * SITES..r.end * SITES;
            model.loss_and_grads(&xt[spins.clone()], &ts[r], &target[spins], &device, share)
        };
        let (config, process, rng) = (&self.config, self.model.process, &mut self.rng);
        let (loss, next) = self.run.descend_split_grads(
            &mut self.model.net,
            join,
            ts.len(),
            &grads,
            config.learning_rate,
            config.ema,
            || training_batch(config, process, data, rng),
        );
        self.next = Some((data.clone(), next));
        loss
    }

    /// The next training batch from `data` (the trainer's random stream): the one drawn ahead
    /// when it came from the same data, else a fresh one.
    fn draw(&mut self, data: &[i8]) -> Batch {
        match self.next.take() {
            // The held `Arc` keeps its buffer alive: the same address is the same data.
            Some((from, batch)) if std::ptr::eq(from.as_slice(), data) => batch,
            _ => training_batch(&self.config, self.model.process, data, &mut self.rng),
        }
    }

    /// One Adam step on a batch drawn from `data` (`m × SITES` spins); returns the loss tensor
    /// (mean cross-entropy per spin, in nats) without reading it back.
    pub fn step(&mut self, data: &[i8]) -> Tensor<1> {
        let batch = self.draw(data);
        self.step_on(&batch)
    }

    /// One Adam step on `batch`.
    fn step_on(&mut self, (xt, target, ts): &Batch) -> Tensor<1> {
        let (loss, grads) = self.model.loss_and_grads(xt, ts, target, &self.device, 1.0);
        self.run.descend_grads(
            &mut self.model.net,
            grads,
            self.config.learning_rate,
            self.config.ema,
        );
        loss
    }

    /// The loss of the current weights on a batch drawn from `data` with `rng` (no step taken,
    /// the training batches' random stream left alone): how the untrained network's reference
    /// loss is measured.
    pub fn loss_on(&self, data: &[i8], rng: &mut StdRng) -> Tensor<1> {
        self.loss(&training_batch(&self.config, self.model.process, data, rng))
    }

    /// Mean cross-entropy per spin of the current weights on a batch.
    fn loss(&self, batch: &Batch) -> Tensor<1> {
        batch_loss(&self.model, batch, &self.device)
    }

    /// The model for sampling: the weight average (autodiff stripped).
    pub fn inference_model(&self) -> IsingModel {
        IsingModel {
            net: self.inference_net(),
            ..self.model.clone()
        }
    }

    /// The device training runs on (with autodiff).
    pub fn device(&self) -> &Device {
        &self.device
    }
}

/// A training batch: `(x_t, target spins, t)` for `config.batch` configurations of `data`.
fn training_batch(
    config: &IsingConfig,
    process: FlipProcess,
    data: &[i8],
    rng: &mut StdRng,
) -> Batch {
    let m = data.len() / SITES;
    let b = config.batch;
    let big_t = process.steps;
    let mut xt = Vec::with_capacity(b * SITES);
    let mut target = Vec::with_capacity(b * SITES);
    let mut ts = Vec::with_capacity(b);
    for _ in 0..b {
        let i = rng.random_range(0..m);
        let x0 = &data[i * SITES..(i + 1) * SITES];
        match config.target {
            Target::X0 => {
                // t drawn as the sampler's grid is laid out: c_t uniform on (c_T, 1).
                let c_end = process.keep(big_t as f64);
                let c = c_end + (1.0 - c_end) * rng.random::<f64>();
                let t = (c.ln() / (1.0 - 2.0 * process.r).ln()).clamp(1e-3, big_t as f64);
                xt.extend(process.noise(x0, t, rng));
                target.extend(x0.iter().map(|&v| v as f32));
                ts.push(t as f32);
            }
            Target::Previous => {
                let t = rng.random_range(1..=big_t);
                let mut prev = process.noise(x0, (t - 1) as f64, rng);
                target.extend(prev.iter().map(|&v| v as f32));
                process.step(&mut prev, rng);
                xt.extend(prev);
                ts.push(t as f32);
            }
        }
    }
    (xt, target, ts)
}
