//! Small MNIST: a noise-prediction network (Ho et al. 2020; seed 001) trained one Adam step at a
//! time, sampling with every sampler of the spine, and classifier guidance.
//!
//! Images are 784-vectors in `[-1, 1]` diffused by one of the spine's schedules. The network
//! predicts the noise, `ε̂(x_t, t)`, trained on `|ε̂ − ε|²`; the samplers see the score
//! `s = −ε̂ / σ_t`, after the predicted clean image `x̂_0 = (x_t − σ_t ε̂)/α_t` has been clipped to
//! the data range `[-1, 1]` (as Ho et al.'s sampler does), i.e. `s = −(x_t − α_t clip(x̂_0))/σ_t²`.
//!
//! Guidance adds `w ∇_x log p(y | x_t, t)` of a time-conditioned classifier to the score
//! (Dhariwal & Nichol 2021), pushing the reverse process toward digit `y`.

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::diffusion::sampler::draw_prior;
use crate::diffusion::schedule::T_MIN;
use crate::diffusion::{Sampler, Schedule};
use crate::models::mnist::data::{PIXELS, SIDE};
use crate::nn::classifier::DigitClassifier;
use crate::nn::time_embedding::sinusoidal;
use crate::nn::unet::{Unet, UnetConfig};
use crate::nn::{Activation, MlpConfig, ScoreMlp};
use crate::run::{both, Join, Run, Training};

/// Frequencies of the sinusoidal time embedding (sin and cos each).
pub const TIME_FREQS: usize = 16;
/// Highest frequency, radians per unit of normalised time.
const TIME_MAX_FREQ: f32 = 500.0;
/// Images per network evaluation when sampling (bounds the memory of one batch).
pub const SAMPLE_CHUNK: usize = 256;

/// Which network predicts the noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetKind {
    /// The small U-Net (`nn::unet`).
    Unet,
    /// An MLP on the flattened image: the simpler network to compare against.
    Mlp,
}

impl NetKind {
    pub fn name(&self) -> &'static str {
        match self {
            NetKind::Unet => "unet",
            NetKind::Mlp => "mlp",
        }
    }
}

/// Everything that defines an MNIST training run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MnistConfig {
    pub net: NetKind,
    /// U-Net channels at full resolution.
    pub channels: usize,
    /// U-Net levels below full resolution (1 or 2).
    pub levels: usize,
    /// MLP hidden units and layers.
    pub width: usize,
    pub depth: usize,
    pub schedule: Schedule,
    pub learning_rate: f64,
    pub batch: usize,
    pub seed: u64,
    pub ema: f64,
    /// The networks' nonlinearity. Files written before it was recorded used SiLU (as the
    /// shipped pretrained network does); a fresh network takes the soft SiLU, which trains
    /// about 1.2× faster in the page (burn's CPU backend evaluates SiLU's sigmoid with one
    /// scalar `exp` per unit) to the same quality.
    #[serde(default = "Activation::legacy")]
    pub activation: Activation,
}

impl Default for MnistConfig {
    fn default() -> Self {
        MnistConfig {
            net: NetKind::Unet,
            channels: 16,
            levels: 2,
            width: 512,
            depth: 3,
            schedule: Schedule::VpLinear {
                beta_min: 0.1,
                beta_max: 20.0,
            },
            learning_rate: 1e-3,
            batch: 32,
            seed: 1,
            ema: 0.999,
            activation: Activation::SoftSilu,
        }
    }
}

impl MnistConfig {
    /// A fresh network of this configuration.
    pub fn init_net(&self, device: &Device) -> MnistNet {
        match self.net {
            NetKind::Unet => MnistNet::Unet(
                UnetConfig {
                    channels: self.channels,
                    levels: self.levels,
                    time_features: 2 * TIME_FREQS,
                    activation: self.activation,
                }
                .init(device),
            ),
            NetKind::Mlp => MnistNet::Mlp(
                MlpConfig {
                    inputs: PIXELS + 2 * TIME_FREQS,
                    width: self.width,
                    depth: self.depth,
                    outputs: PIXELS,
                    activation: self.activation,
                }
                .init(device),
            ),
        }
    }
}

/// The noise-prediction network, either kind.
#[derive(Module, Debug)]
pub enum MnistNet {
    Unet(Unet),
    Mlp(ScoreMlp),
}

impl MnistNet {
    /// The nonlinearity the network was built with (what its weights were trained for).
    pub fn activation(&self) -> Activation {
        match self {
            MnistNet::Unet(net) => net.activation(),
            MnistNet::Mlp(net) => net.activation(),
        }
    }

    /// `x: [b, 784]`, `time: [b, 2 TIME_FREQS]` → `ε̂: [b, 784]`.
    pub fn forward(&self, x: Tensor<2>, time: Tensor<2>) -> Tensor<2> {
        let b = x.dims()[0];
        match self {
            MnistNet::Unet(net) => net
                .forward(x.reshape([b, 1, SIDE, SIDE]), time)
                .reshape([b, PIXELS]),
            MnistNet::Mlp(net) => net.forward(Tensor::cat(vec![x, time], 1)),
        }
    }
}

/// Time features `[sin, cos](w τ)` of every time, `τ = t / t_max`, as a `[n, 2 TIME_FREQS]` tensor.
pub fn time_tensor(schedule: &Schedule, ts: &[f32], device: &Device) -> Tensor<2> {
    let cols = 2 * TIME_FREQS;
    let mut out = vec![0.0f32; ts.len() * cols];
    let t_max = schedule.t_max() as f32;
    for (row, &t) in out.chunks_exact_mut(cols).zip(ts) {
        sinusoidal(t / t_max, TIME_FREQS, TIME_MAX_FREQ, row);
    }
    Tensor::from_data(TensorData::new(out, [ts.len(), cols]), device)
}

/// Reads a tensor back (asynchronously, as WebGPU requires); NaN on a failed read.
pub async fn read(tensor: Tensor<2>) -> Vec<f32> {
    let n = tensor.shape().num_elements();
    match tensor.into_data_async().await {
        Ok(d) => d.iter::<f32>().collect(),
        Err(_) => vec![f32::NAN; n],
    }
}

/// Data as independent Gaussian pixels, `N(mean_j, var_j)`: the part of the denoiser known
/// in closed form. For such data `E[ε | x_t] = σ_t (x_t − α_t μ_j)/(α_t² v_j + σ_t²)` exactly; the
/// network adds to it what the pixels' dependence (the digits' shapes) is worth. Without this
/// skip an MLP narrower than 784 units cannot even pass the noise through at large t (its loss
/// stalled near 0.6); a constant border pixel (v_j = 0) is exact from the start.
#[derive(Clone, Debug, PartialEq)]
pub struct PixelGaussian {
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
}

impl PixelGaussian {
    /// Fitted to `data` (`m × 784`, model space).
    pub fn of(data: &[f32]) -> PixelGaussian {
        let m = (data.len() / PIXELS).max(1) as f64;
        let mut mean = vec![0.0f64; PIXELS];
        let mut sq = vec![0.0f64; PIXELS];
        for row in data.chunks_exact(PIXELS) {
            for j in 0..PIXELS {
                mean[j] += row[j] as f64;
                sq[j] += (row[j] as f64).powi(2);
            }
        }
        let mean: Vec<f64> = mean.iter().map(|s| s / m).collect();
        let var = sq
            .iter()
            .zip(&mean)
            .map(|(s, mu)| (s / m - mu * mu).max(0.0) as f32)
            .collect();
        PixelGaussian {
            mean: mean.into_iter().map(|v| v as f32).collect(),
            var,
        }
    }

    /// `E[ε | x_t]` under this Gaussian for `rows` images at their times.
    pub fn eps(&self, schedule: &Schedule, x: &[f32], ts: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(x.len());
        for (row, &t) in x.chunks_exact(PIXELS).zip(ts) {
            let (a, s) = (
                schedule.alpha(t as f64) as f32,
                schedule.sigma(t as f64) as f32,
            );
            out.extend(
                row.iter()
                    .zip(self.mean.iter().zip(&self.var))
                    .map(|(&xi, (&mu, &v))| s * (xi - a * mu) / (a * a * v + s * s)),
            );
        }
        out
    }
}

/// The trained denoiser and its schedule.
#[derive(Clone, Debug)]
pub struct MnistModel {
    pub net: MnistNet,
    pub schedule: Schedule,
    /// The closed-form part of the prediction.
    pub gaussian: PixelGaussian,
    /// Whether the sampler clips `x̂_0` to the data range.
    pub clip: bool,
}

/// Pushes the reverse process toward one digit.
#[derive(Clone, Debug)]
pub struct Guidance {
    pub classifier: DigitClassifier,
    pub digit: u8,
    /// Weight `w` of `∇ log p(y | x_t)` added to the score.
    pub scale: f64,
}

impl MnistModel {
    /// `ε̂ = E_Gauss[ε | x_t] + net(x_t, t)` for `rows` images at their times (not read back).
    pub fn eps(&self, x: &[f32], ts: &[f32], device: &Device) -> Tensor<2> {
        let rows = ts.len();
        let input = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [rows, PIXELS]), device);
        let base = self.gaussian.eps(&self.schedule, x, ts);
        let base = Tensor::<2>::from_data(TensorData::new(base, [rows, PIXELS]), device);
        base + self
            .net
            .forward(input, time_tensor(&self.schedule, ts, device))
    }

    /// The score `−(x_t − α_t clip(x̂_0))/σ_t²` of every image in `x` at time `t`, each
    /// chunk's network evaluation as two halves at once through `join` when there is one (the threaded module's CPU pool; the evaluation runs when the
    /// operations are called, on the CPU device, so only the read-back waits after the join).
    /// Each image's evaluation is the same either way: the U-Net's operations are per image
    /// (`tests/split_step.rs` compares the samples).
    pub async fn score(&self, x: &[f32], t: f64, device: &Device, join: Option<Join>) -> Vec<f32> {
        let mut out = Vec::with_capacity(x.len());
        let (a, s) = (self.schedule.alpha(t), self.schedule.sigma(t));
        for chunk in x.chunks(SAMPLE_CHUNK * PIXELS) {
            let rows = chunk.len() / PIXELS;
            let ts = vec![t as f32; rows];
            let eps = match join {
                Some(join) if rows >= 2 => {
                    let (first, second) = chunk.split_at(rows / 2 * PIXELS);
                    let (ta, tb) = ts.split_at(rows / 2);
                    let (ea, eb) = both(
                        join,
                        || self.eps(first, ta, device),
                        || self.eps(second, tb, device),
                    );
                    let mut eps = read(ea).await;
                    eps.extend(read(eb).await);
                    eps
                }
                _ => read(self.eps(chunk, &ts, device)).await,
            };
            out.extend(chunk.iter().zip(&eps).map(|(&xi, &e)| {
                let x0 = (xi as f64 - s * e as f64) / a;
                let x0 = if self.clip { x0.clamp(-1.0, 1.0) } else { x0 };
                (-(xi as f64 - a * x0) / (s * s)) as f32
            }));
        }
        out
    }

    /// Draws `n` images (model space, `n × 784`) with `sampler`, optionally guided.
    /// `observe(k, t, x)` sees every grid time (k = 0 is the prior draw); `pause` runs between
    /// network evaluations (the page yields to the browser there). `join` (the threaded
    /// module's pool) evaluates the network on two halves at once ([`MnistModel::score`]):
    /// the same draws, the same images.
    #[allow(clippy::too_many_arguments)]
    pub async fn sample<R: Rng, O: FnMut(usize, f64, &[f32]), P: AsyncFnMut()>(
        &self,
        sampler: &Sampler,
        n: usize,
        guidance: Option<&Guidance>,
        rng: &mut R,
        device: &Device,
        observe: O,
        mut pause: P,
        join: Option<Join>,
    ) -> Vec<f32> {
        let mut x = vec![0.0f32; n * PIXELS];
        draw_prior(&self.schedule, &mut x, rng);
        let mut score = async |x: &[f32], t: f64| {
            let mut s = self.score(x, t, device, join).await;
            if let Some(g) = guidance {
                let grad = classifier_gradient(g, &self.schedule, x, t, device).await;
                for (si, gi) in s.iter_mut().zip(grad) {
                    *si += (g.scale * gi as f64) as f32;
                }
            }
            pause().await;
            s
        };
        sampler
            .run(&self.schedule, &mut x, rng, &mut score, observe)
            .await;
        x
    }
}

/// Classifier input: the image and its time features side by side.
pub(crate) fn classifier_input(
    schedule: &Schedule,
    x: Tensor<2>,
    ts: &[f32],
    device: &Device,
) -> Tensor<2> {
    Tensor::cat(vec![x, time_tensor(schedule, ts, device)], 1)
}

/// `∇_x log p(digit | x_t, t)` for every image in `x` (`rows × 784`).
pub async fn classifier_gradient(
    guidance: &Guidance,
    schedule: &Schedule,
    x: &[f32],
    t: f64,
    device: &Device,
) -> Vec<f32> {
    let grad_device = device.clone().autodiff();
    let classifier = guidance.classifier.clone().to_device(&grad_device);
    let mut out = Vec::with_capacity(x.len());
    for chunk in x.chunks(SAMPLE_CHUNK * PIXELS) {
        let rows = chunk.len() / PIXELS;
        let xt = Tensor::<2>::from_data(
            TensorData::new(chunk.to_vec(), [rows, PIXELS]),
            &grad_device,
        )
        .require_grad();
        let ts = vec![t as f32; rows];
        let logp = log_softmax(
            classifier.forward(classifier_input(schedule, xt.clone(), &ts, &grad_device)),
            1,
        );
        let mut hot = vec![0.0f32; rows * 10];
        for r in 0..rows {
            hot[r * 10 + guidance.digit as usize] = 1.0;
        }
        let picked =
            (logp * Tensor::from_data(TensorData::new(hot, [rows, 10]), &grad_device)).sum();
        let grads = picked.backward();
        match xt.grad(&grads) {
            Some(g) => out.extend(read(g).await),
            None => out.extend(std::iter::repeat_n(0.0, chunk.len())),
        }
    }
    out
}

/// The noise-prediction loss `mean |ε̂ − ε|²` of `model` on the batch `(x_t, ε, t)`.
fn eps_loss(model: &MnistModel, xt: &[f32], eps: &[f32], ts: &[f32], device: &Device) -> Tensor<1> {
    let rows = ts.len();
    let target = Tensor::<2>::from_data(TensorData::new(eps.to_vec(), [rows, PIXELS]), device);
    (model.eps(xt, ts, device) - target).powi_scalar(2).mean()
}

/// Draws a training batch: images `x_0` from `data` (model space), `t` uniform on
/// `[T_MIN, t_max]`, `x_t = α_t x_0 + σ_t ε`. Returns `(x_t, ε, t, indices)`.
pub fn noised_batch(
    schedule: &Schedule,
    data: &[f32],
    batch: usize,
    rng: &mut impl Rng,
) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<usize>) {
    let m = data.len() / PIXELS;
    let (mut xt, mut eps, mut ts, mut idx) = (
        Vec::with_capacity(batch * PIXELS),
        Vec::with_capacity(batch * PIXELS),
        Vec::with_capacity(batch),
        Vec::with_capacity(batch),
    );
    let t_max = schedule.t_max();
    for _ in 0..batch {
        let i = rng.random_range(0..m);
        let t = T_MIN + (t_max - T_MIN) * rng.random::<f64>();
        let (a, s) = (schedule.alpha(t), schedule.sigma(t));
        for &x0 in &data[i * PIXELS..(i + 1) * PIXELS] {
            let e: f64 = rng.sample(StandardNormal);
            xt.push((a * x0 as f64 + s * e) as f32);
            eps.push(e as f32);
        }
        ts.push(t as f32);
        idx.push(i);
    }
    (xt, eps, ts, idx)
}

/// Adam on the noise-prediction network, one step at a time.
pub struct MnistTrainer {
    pub model: MnistModel,
    pub config: MnistConfig,
    /// Adam, the weight average, the last good weights (shared by every model).
    pub run: Run<MnistNet>,
    device: Device,
    rng: StdRng,
}

impl Training for MnistTrainer {
    type Net = MnistNet;
    /// The training digits in model space, `m × 784`.
    type Data = std::sync::Arc<Vec<f32>>;
    type Model = MnistModel;

    fn train_step(&mut self, data: &Self::Data) -> Tensor<1> {
        self.step(data)
    }

    fn train_step_split(&mut self, data: &Self::Data, join: Join) -> Tensor<1> {
        self.step_split(data, join)
    }

    fn sample_loss(&self, data: &Self::Data, rng: &mut StdRng) -> Tensor<1> {
        self.loss_on(data, rng)
    }

    fn snapshot(&self) -> MnistModel {
        self.inference_model()
    }

    fn net(&self) -> &MnistNet {
        &self.model.net
    }

    fn run(&self) -> &Run<MnistNet> {
        &self.run
    }

    fn parts(&mut self) -> (&mut MnistNet, &mut Run<MnistNet>) {
        (&mut self.model.net, &mut self.run)
    }
}

impl MnistTrainer {
    /// A freshly initialised network for the training images `data` (model space);
    /// `device` is a plain device (training adds autodiff).
    pub fn new(config: MnistConfig, data: &[f32], device: &Device) -> MnistTrainer {
        device.seed(config.seed);
        let train_device = device.clone().autodiff();
        MnistTrainer {
            model: MnistModel {
                net: config.init_net(&train_device),
                schedule: config.schedule,
                gaussian: PixelGaussian::of(data),
                clip: true,
            },
            config,
            run: Run::new(),
            device: train_device,
            rng: StdRng::seed_from_u64(config.seed ^ 0x4d4e_4953_54),
        }
    }

    /// The loss `mean |ε̂ − ε|²` of the current weights on a batch (no step taken).
    pub fn loss(&self, xt: &[f32], eps: &[f32], ts: &[f32]) -> Tensor<1> {
        eps_loss(&self.model, xt, eps, ts, &self.device)
    }

    /// [`MnistTrainer::step`] with the batch's two halves at once through `join` (data
    /// parallelism, [`Run::descend_split`]): the same batch and gradient, to rounding.
    pub fn step_split(&mut self, data: &[f32], join: Join) -> Tensor<1> {
        let (xt, eps, ts, _) =
            noised_batch(&self.model.schedule, data, self.config.batch, &mut self.rng);
        let (base, device) = (self.model.clone(), self.device.clone());
        let loss = |net: &MnistNet, r: std::ops::Range<usize>| {
            let model = MnistModel {
                net: net.clone(),
                ..base.clone()
            };
            let pixels = r.start * PIXELS..r.end * PIXELS;
            eps_loss(&model, &xt[pixels.clone()], &eps[pixels], &ts[r], &device)
        };
        self.run
            .descend_split(
                &mut self.model.net,
                join,
                &device,
                ts.len(),
                &loss,
                self.config.learning_rate,
                self.config.ema,
                || (),
            )
            .0
    }

    /// One Adam step on a batch drawn from `data` (`m × 784`, model space); returns the loss
    /// tensor without reading it back.
    pub fn step(&mut self, data: &[f32]) -> Tensor<1> {
        let (xt, eps, ts, _) =
            noised_batch(&self.model.schedule, data, self.config.batch, &mut self.rng);
        self.descend_on(&xt, &eps, &ts)
    }

    /// One Adam step on the batch `(x_t, ε, t)`.
    fn descend_on(&mut self, xt: &[f32], eps: &[f32], ts: &[f32]) -> Tensor<1> {
        let loss = self.loss(xt, eps, ts);
        self.run.descend(
            &mut self.model.net,
            &loss,
            self.config.learning_rate,
            self.config.ema,
        );
        loss
    }

    /// The loss of the current weights on a batch drawn from `data` with `rng` (no step taken,
    /// the training batches' random stream left alone): how the untrained network's reference
    /// loss is measured.
    pub fn loss_on(&self, data: &[f32], rng: &mut StdRng) -> Tensor<1> {
        let (xt, eps, ts, _) = noised_batch(&self.model.schedule, data, self.config.batch, rng);
        self.loss(&xt, &eps, &ts)
    }

    /// The model for sampling: the weight average (autodiff stripped).
    pub fn inference_model(&self) -> MnistModel {
        MnistModel {
            net: self.inference_net(),
            schedule: self.model.schedule,
            gaussian: self.model.gaussian.clone(),
            clip: self.model.clip,
        }
    }

    /// The device training runs on (with autodiff): decode loaded weights onto it.
    pub fn device(&self) -> &Device {
        &self.device
    }
}
