//! The training run every model shares: Adam, the weight average used for sampling (EMA), the
//! last weights known to be good, and the rule that says a run diverged.
//!
//! A model's trainer owns its network (inside its model value, next to the maps around it) and a
//! [`Run`] over that network's type; the run does everything that is the same for every model.
//! The page reads the loss back once per chunk of steps and [`judge`]s it: a diverged run goes
//! back to its last good weights.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::prelude::*;

/// Runs two pieces of work at once and returns when both are done: in the page's threaded
/// module `rayon::join` on its pool. What a data-parallel step ([`Run::descend_split`]) runs its
/// two halves of a batch on.
pub type Join = fn(&mut (dyn FnMut() + Send), &mut (dyn FnMut() + Send));

/// A half of a split step ([`Run::descend_split_grads`]): `(net, rows, share)` → the mean loss
/// of the batch's rows `rows` times `share`, and that loss's gradient for every parameter.
pub type HalfGrads<'a, M> =
    dyn Fn(&M, std::ops::Range<usize>, f64) -> (Tensor<1>, GradientsParams) + Sync + 'a;

/// Runs `a` and `b` at once through `join` and returns both results.
pub fn both<A: Send, B: Send>(
    join: Join,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    let (mut a, mut b) = (Some(a), Some(b));
    let (mut ra, mut rb) = (None, None);
    join(&mut || ra = a.take().map(|f| f()), &mut || {
        rb = b.take().map(|f| f())
    });
    match (ra, rb) {
        (Some(ra), Some(rb)) => (ra, rb),
        _ => unreachable!("join runs both halves before it returns"),
    }
}

/// Adam, the weight average and the last good weights of one network of type `M`.
pub struct Run<M> {
    /// Optimizer steps taken (also the EMA's warm-up clock).
    pub steps: u64,
    /// The loss of the freshly initialised network on a batch of its own: the yardstick of a
    /// sane loss (see [`judge`]). Computed by the model's trainer, once.
    pub reference_loss: Option<f64>,
    optimizer: ModuleOptimizer,
    /// Moving average of the weights (plain device): what sampling uses.
    average: Option<M>,
    /// Weights (and average) at a step whose loss vouched for them.
    last_good: Option<Checkpoint<M>>,
}

/// Weights and their average at some step, cheap to hold: tensors are shared, not copied.
#[derive(Clone)]
pub struct Checkpoint<M> {
    net: M,
    average: Option<M>,
    steps: u64,
}

impl<M: Module + Clone> Default for Run<M> {
    fn default() -> Self {
        Run::new()
    }
}

impl<M: Module + Clone> Run<M> {
    /// A run at step 0 with a fresh optimizer.
    pub fn new() -> Self {
        Run {
            steps: 0,
            reference_loss: None,
            optimizer: AdamConfig::new().init(),
            average: None,
            last_good: None,
        }
    }

    /// One optimizer step of `net` (on an autodiff device) down the gradient of `loss` at
    /// `learning_rate`; then, when `ema > 0`, the weight average follows
    /// ([`crate::nn::ema::descend`]).
    pub fn descend(&mut self, net: &mut M, loss: &Tensor<1>, learning_rate: f64, ema: f64) {
        let grads = GradientsParams::from_grads(loss.backward(), &*net);
        self.descend_grads(net, grads, learning_rate, ema);
    }

    /// One optimizer step of `net` along `grads` (burn-autodiff's, or a backward pass written
    /// out: [`crate::models::ising::net::IsingNet::loss_and_grads`]), then the weight average.
    pub fn descend_grads(
        &mut self,
        net: &mut M,
        grads: GradientsParams,
        learning_rate: f64,
        ema: f64,
    ) {
        self.steps += 1;
        *net = crate::nn::ema::descend_with(
            &mut self.optimizer,
            learning_rate,
            net.clone(),
            grads,
            &mut self.average,
            ema,
            self.steps,
        );
    }

    /// One optimizer step down the gradient of a batch's mean loss, taken as two halves whose
    /// forward and backward passes run at once (`join`: data parallelism). `loss(net, rows)` is
    /// the mean loss of the batch's rows `rows` (of `0..rows_in_batch`); each half's is weighted
    /// by its share of the batch here, so the two add up to the batch's mean loss and their
    /// gradients to its gradient (`tests/split_step.rs` checks the step against the one-pass
    /// step of every model). A batch of one row takes the one-pass step. The second half runs
    /// through a fork of the network (`Module::fork`: its own autodiff graph; two passes
    /// through one graph would merge into one backward pass, taken under one lock); both
    /// halves' gradients are keyed by the same parameters and summed. `beside` (work that is
    /// not part of the step: drawing the next batch) runs on the thread whose half finishes
    /// first, in the time it would wait for the other. Returns the batch's loss (detached) and
    /// what `beside` returned.
    #[allow(clippy::too_many_arguments)]
    pub fn descend_split<R: Send>(
        &mut self,
        net: &mut M,
        join: Join,
        device: &Device,
        rows_in_batch: usize,
        loss: &(dyn Fn(&M, std::ops::Range<usize>) -> Tensor<1> + Sync),
        learning_rate: f64,
        ema: f64,
        beside: impl FnOnce() -> R + Send,
    ) -> (Tensor<1>, R)
    where
        M: Send + Sync,
    {
        // The second half through a fork of the network (`Module::fork`: its own autodiff
        // graph; two passes through one graph would merge into one backward pass, taken under
        // one lock), made on the thread that runs it.
        let grads = |net: &M, rows: std::ops::Range<usize>, share: f64| {
            let fork;
            let net = if rows.start > 0 {
                fork = net.clone().fork(device);
                &fork
            } else {
                net
            };
            let l = loss(net, rows).mul_scalar(share);
            let g = GradientsParams::from_grads(l.backward(), net);
            (l.detach(), g)
        };
        self.descend_split_grads(net, join, rows_in_batch, &grads, learning_rate, ema, beside)
    }

    /// [`Run::descend_split`] with each half's loss and gradients from `grads(net, rows,
    /// share)`: the mean loss of rows `rows` times `share` (its part of the batch) and that
    /// loss's gradient, however the caller computes them (recorded by burn-autodiff, or a
    /// backward pass written out). Both halves get `net` itself: a `grads` that records its
    /// pass forks the network for one of them, as [`Run::descend_split`] does.
    #[allow(clippy::too_many_arguments)]
    pub fn descend_split_grads<R: Send>(
        &mut self,
        net: &mut M,
        join: Join,
        rows_in_batch: usize,
        grads: &HalfGrads<'_, M>,
        learning_rate: f64,
        ema: f64,
        beside: impl FnOnce() -> R + Send,
    ) -> (Tensor<1>, R)
    where
        M: Send + Sync,
    {
        let n = rows_in_batch;
        if n < 2 {
            let (l, g) = grads(net, 0..n, 1.0);
            self.descend_grads(net, g, learning_rate, ema);
            return (l, beside());
        }
        let half = |net: &M, rows: std::ops::Range<usize>| {
            let share = rows.len() as f64 / n as f64;
            grads(net, rows, share)
        };
        self.steps += 1;
        // `beside` goes to whichever half finishes first.
        let beside = std::sync::Mutex::new(Some(beside));
        // (A `Mutex`, not a `OnceLock`: `R` is `Send` but need not be `Sync`.)
        let extra = std::sync::Mutex::new(None);
        let first_done = || {
            if let Some(job) = beside.lock().ok().and_then(|mut b| b.take()) {
                let r = job();
                if let Ok(mut e) = extra.lock() {
                    *e = Some(r);
                }
            }
        };
        let ((loss_a, grads_a), (loss_b, grads_b)) = {
            let net = &*net;
            both(
                join,
                || {
                    let r = half(net, 0..n / 2);
                    first_done();
                    r
                },
                || {
                    let r = half(net, n / 2..n);
                    first_done();
                    r
                },
            )
        };
        let extra = extra
            .into_inner()
            .ok()
            .flatten()
            .expect("`beside` ran after the first half");
        let mut sum = GradientsAccumulator::<M>::new();
        sum.accumulate(net, grads_a);
        sum.accumulate(net, grads_b);
        *net = crate::nn::ema::descend_with(
            &mut self.optimizer,
            learning_rate,
            net.clone(),
            sum.grads(),
            &mut self.average,
            ema,
            self.steps,
        );
        (loss_a + loss_b, extra)
    }

    /// The weights to sample with: the average when there is one, else `net` (autodiff
    /// stripped).
    pub fn inference_net(&self, net: &M) -> M {
        self.average.clone().unwrap_or_else(|| net.valid())
    }

    /// The current weights, to be marked good once a loss computed with them vouches.
    pub fn checkpoint(&self, net: &M) -> Checkpoint<M> {
        Checkpoint {
            net: net.clone(),
            average: self.average.clone(),
            steps: self.steps,
        }
    }

    /// Records a checkpoint as known good.
    pub fn set_good(&mut self, checkpoint: Checkpoint<M>) {
        self.last_good = Some(checkpoint);
    }

    /// Goes back to the last good weights with a fresh optimizer; returns the step count
    /// restored to, or `None` when nothing was good yet (the caller starts afresh).
    pub fn restore_last_good(&mut self, net: &mut M) -> Option<u64> {
        let good = self.last_good.clone()?;
        *net = good.net;
        self.average = good.average;
        self.steps = good.steps;
        self.optimizer = AdamConfig::new().init();
        Some(good.steps)
    }

    /// Replaces `net` by `loaded` (on the same autodiff device), trained `steps` steps: the
    /// average starts from it, the optimizer afresh, and it counts as good.
    pub fn install(&mut self, net: &mut M, loaded: M, steps: u64) {
        self.average = Some(loaded.valid());
        *net = loaded;
        self.steps = steps;
        self.optimizer = AdamConfig::new().init();
        self.last_good = Some(self.checkpoint(net));
    }
}

/// Reads a loss tensor back (asynchronously, as WebGPU requires); NaN when it cannot be read.
pub async fn read_loss(loss: Tensor<1>) -> f64 {
    match loss.into_data_async().await {
        Ok(d) => d.iter::<f32>().next().map(|v| v as f64).unwrap_or(f64::NAN),
        Err(_) => f64::NAN,
    }
}

/// Losses above this multiple of the untrained network's, held for [`STUCK_CHUNKS`] read-backs
/// over at least [`STUCK_STEPS`] steps, count as divergence.
pub const STUCK_FACTOR: f64 = 10.0;
pub const STUCK_CHUNKS: usize = 5;
pub const STUCK_STEPS: u64 = 100;

/// What one read-back loss says about the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Training goes on; `vouches`: the weights the chunk started from may be marked good.
    Healthy { vouches: bool },
    /// The learning rate blew the weights up: go back to the last good ones.
    Diverged,
}

/// The verdict on the loss `loss` read back at step `step`, after the read-backs `history`
/// (step, loss), with `reference` the untrained network's loss. The same rule for every model:
/// the reference makes "sane" relative to what the model's loss means (a mean squared noise
/// error, a cross-entropy per spin), so no model needs bounds of its own.
pub fn judge(history: &[(u64, f64)], step: u64, loss: f64, reference: Option<f64>) -> Verdict {
    if diverged(history, step, loss, reference) {
        Verdict::Diverged
    } else {
        Verdict::Healthy {
            vouches: vouches(history, loss, reference),
        }
    }
}

/// Whether the loss says the learning rate blew the weights up:
/// - it is not a number;
/// - it grew ten-thousandfold over the best value seen (Adam keeps a runaway loss finite for a
///   long time at a huge learning rate);
/// - or it stayed above [`STUCK_FACTOR`] × the untrained network's loss `reference` for the last
///   [`STUCK_CHUNKS`] read-backs and at least [`STUCK_STEPS`] steps. A rate of 10 often
///   settles there (measured on the toy natively, four seeds: 40×–10¹¹× the reference for 1500
///   steps without growing further), which the first two rules miss; healthy training stays
///   below the reference after its first steps.
pub fn diverged(history: &[(u64, f64)], step: u64, loss: f64, reference: Option<f64>) -> bool {
    if !loss.is_finite() {
        return true;
    }
    let best = best_loss(history);
    if best.is_finite() && loss > 1e4 * best {
        return true;
    }
    let Some(limit) = reference
        .filter(|r| r.is_finite())
        .map(|r| STUCK_FACTOR * r)
    else {
        return false;
    };
    let high = |l: f64| l.partial_cmp(&limit) == Some(std::cmp::Ordering::Greater);
    if !high(loss) {
        return false;
    }
    // Walk back through read-backs that were all too high until they span enough steps.
    for (count, (s, l)) in history.iter().rev().enumerate() {
        if !high(*l) {
            return false;
        }
        if count + 2 >= STUCK_CHUNKS && step.saturating_sub(*s) >= STUCK_STEPS {
            return true;
        }
    }
    false
}

/// Whether a sane loss `loss` vouches for the weights it was computed with: near the best seen
/// and not far above the untrained network's (a loss on its way up does not; nor does a best
/// that was garbage from the first read-back, as with a huge learning rate from the start).
pub fn vouches(history: &[(u64, f64)], loss: f64, reference: Option<f64>) -> bool {
    loss <= 10.0 * best_loss(history).min(reference.unwrap_or(f64::INFINITY))
}

fn best_loss(history: &[(u64, f64)]) -> f64 {
    history
        .iter()
        .map(|(_, l)| *l)
        .fold(f64::INFINITY, f64::min)
}

/// A model's trainer: its network and the [`Run`] over it. The methods every model's trainer
/// shares (step count, good weights, loading, the weights to sample with) come from here.
pub trait Training {
    /// The network type (burn module).
    type Net: Module + Clone;
    /// What a step draws its training batch from (shared cheaply: an `Rc`).
    type Data: Clone;
    /// The network with the maps around it, as samplers and views use it.
    type Model: Clone;

    /// One optimizer step on a batch drawn from `data`; the loss, not read back (on WebGPU
    /// many steps queue before one read).
    fn train_step(&mut self, data: &Self::Data) -> Tensor<1>;
    /// The same step with the batch's two halves run at once through `join` (data
    /// parallelism, [`Run::descend_split`]); the same batch, the same gradient to rounding.
    /// A model without a split step takes the one-pass step.
    fn train_step_split(&mut self, data: &Self::Data, join: Join) -> Tensor<1> {
        let _ = join;
        self.train_step(data)
    }
    /// The loss of the current weights on a batch drawn from `data` with `rng` (no step taken):
    /// how the untrained network's reference loss is measured.
    fn sample_loss(&self, data: &Self::Data, rng: &mut rand::rngs::StdRng) -> Tensor<1>;
    /// The model to sample with (the weight average).
    fn snapshot(&self) -> Self::Model;

    /// The network being trained (on the autodiff device).
    fn net(&self) -> &Self::Net;
    /// The run over it.
    fn run(&self) -> &Run<Self::Net>;
    /// Both, mutably.
    fn parts(&mut self) -> (&mut Self::Net, &mut Run<Self::Net>);

    /// Optimizer steps taken.
    fn steps(&self) -> u64 {
        self.run().steps
    }

    /// The weights to sample with (the average when there is one).
    fn inference_net(&self) -> Self::Net {
        self.run().inference_net(self.net())
    }

    /// The current weights, to be marked good once a loss computed with them vouches.
    fn checkpoint(&self) -> Checkpoint<Self::Net> {
        self.run().checkpoint(self.net())
    }

    /// Records a checkpoint as known good.
    fn set_good(&mut self, checkpoint: Checkpoint<Self::Net>) {
        self.parts().1.set_good(checkpoint);
    }

    /// Records the current weights as known good.
    fn mark_good(&mut self) {
        let checkpoint = self.checkpoint();
        self.set_good(checkpoint);
    }

    /// Goes back to the last good weights with a fresh optimizer (see [`Run::restore_last_good`]).
    fn restore_last_good(&mut self) -> Option<u64> {
        let (net, run) = self.parts();
        run.restore_last_good(net)
    }

    /// Replaces the weights by a loaded network trained `steps` steps, decoded on the
    /// trainer's autodiff device (see [`Run::install`]).
    fn install(&mut self, loaded: Self::Net, steps: u64) {
        let (net, run) = self.parts();
        run.install(net, loaded, steps);
    }
}

/// Settles the loss read back after a chunk of steps that started from `candidate`, by
/// [`judge`] against the read-backs `history` and the run's reference loss: a healthy loss is
/// recorded (and vouches for `candidate` when it may); a diverged run goes back to its last good
/// weights and forgets the read-backs after them. `Err(step restored to)`, or `Err(None)` when
/// nothing was good yet and the caller must start a fresh network.
pub fn settle<T: Training>(
    trainer: &mut T,
    candidate: Checkpoint<T::Net>,
    history: &mut Vec<(u64, f64)>,
    loss: f64,
) -> Result<(), Option<u64>> {
    let reference = trainer.run().reference_loss;
    match judge(history, trainer.steps(), loss, reference) {
        Verdict::Healthy { vouches } => {
            if vouches {
                trainer.set_good(candidate);
            }
            history.push((trainer.steps(), loss));
            Ok(())
        }
        Verdict::Diverged => {
            let restored = trainer.restore_last_good();
            let to = restored.unwrap_or(0);
            history.retain(|(s, _)| *s <= to);
            Err(restored)
        }
    }
}

/// What the page says when `model`'s training diverged with loss `loss` (the untrained
/// network's was `reference`) at learning rate `learning_rate`, back at step `restored_to`.
pub fn diverged_message(
    model: &str,
    loss: f64,
    reference: Option<f64>,
    learning_rate: f64,
    restored_to: u64,
) -> String {
    format!(
        "{model} training diverged: the loss became {loss:.3e}{} (learning rate {learning_rate} is \
         too high?). Training is paused and the weights from step {restored_to} were restored; \
         lower the learning rate and press Train.",
        reference.map_or(String::new(), |r| format!(
            ", the untrained network's was {r:.3}"
        )),
    )
}
