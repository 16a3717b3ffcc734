//! The session's async work: training chunks, refreshing the learned views, sampling, weights in
//! and out. Each function borrows the session only between awaits (a model's trainer is taken
//! out while its steps run), so the page can draw, and take input, while it runs.

use std::cell::RefCell;

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::Session;
use crate::diffusion::Sampler;
use crate::models::ising::lab::{generate as ising_generate, LIVE_SAMPLES as ISING_LIVE};
use crate::models::ising::train::IsingTrainer;
use crate::models::mnist::data::PIXELS;
use crate::models::mnist::lab::{
    describe, generate as mnist_generate, MnistLearned, CLASSIFIER_STEPS,
    LIVE_SAMPLES as MNIST_LIVE,
};
use crate::models::mnist::train::{ClassifierTrainer, MnistTrainer};
use crate::models::toy1d::train::Trainer;
use crate::models::toy1d::views::{learned_views, run_sampler, Evaluation, LiveSettings};
use crate::models::Model;
use crate::pacing::run_steps;
use crate::run::{diverged_message, read_loss, settle, Training};

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

/// One turn of the lab: train the model on show (the first queued request, else a chunk while
/// playing), train the guidance classifier when a digit is chosen, and refresh the learned
/// views when they are due.
pub async fn tick(cell: &Cell) {
    if cell.borrow().stopped.is_some() {
        return;
    }
    let model = cell.borrow().settings.model;
    match model {
        Model::Toy1d => train_turn(cell, toy_chunk).await,
        Model::Ising => train_turn(cell, ising_chunk).await,
        Model::Mnist => {
            if !mnist_ready(cell) {
                return;
            }
            train_turn(cell, mnist_chunk).await;
            let wants_classifier = {
                let mut s = cell.borrow_mut();
                s.settings.digit.is_some() && s.mnist().classifier_steps() < CLASSIFIER_STEPS
            };
            if wants_classifier {
                classifier_chunk(cell, 20.0).await;
            }
        }
    }
    if refresh_due(cell) {
        refresh(cell).await;
    }
}

/// Whether the MNIST digits are in (the page loads them).
fn mnist_ready(cell: &Cell) -> bool {
    cell.borrow_mut().mnist().data.is_some()
}

/// Whether the learned views of the model on show are due (see [`crate::pacing::Refresh`]).
pub fn refresh_due(cell: &Cell) -> bool {
    let mut s = cell.borrow_mut();
    let (now, busy, scripted) = ((s.clock)(), s.busy(), !s.pending.is_empty());
    match s.settings.model {
        Model::Toy1d => s.toy.refresh.due(now, busy, scripted),
        Model::Ising => s.ising().refresh.due(now, busy, scripted),
        Model::Mnist => {
            let m = s.mnist();
            m.snapshot.is_some() && m.refresh.due(now, busy, scripted)
        }
    }
}

/// Recomputes the learned views of the model on show.
pub async fn refresh(cell: &Cell) {
    let model = cell.borrow().settings.model;
    match model {
        Model::Toy1d => refresh_toy(cell).await,
        Model::Ising => refresh_ising(cell).await,
        Model::Mnist => refresh_mnist(cell).await,
    }
}

/// One turn's training: the first queued request, else a chunk while playing.
async fn train_turn(cell: &Cell, chunk: impl AsyncFn(&Cell, u64, f64) -> Chunk) {
    let (playing, pending) = {
        let s = cell.borrow();
        (s.playing, s.pending.first().map(|r| r.remaining))
    };
    if let Some(remaining) = pending {
        if let Chunk::Ran { steps } = chunk(cell, remaining, CHUNK_MS).await {
            let mut s = cell.borrow_mut();
            if let Some(r) = s.pending.first_mut() {
                r.remaining = r.remaining.saturating_sub(steps);
                if r.remaining == 0 {
                    s.pending.remove(0);
                }
            }
        } else {
            cell.borrow_mut().pending.clear();
        }
    } else if playing {
        chunk(cell, u64::MAX, CHUNK_MS).await;
    }
}

/// Pauses training and says why after a divergence.
fn stop_diverged(s: &mut Session, message: String) -> Chunk {
    s.playing = false;
    s.error = Some(message);
    Chunk::Diverged
}

/// The toy's training steps for about `budget_ms` (at most `max_steps`), one loss read-back,
/// settled by the shared rule ([`settle`]).
pub async fn toy_chunk(cell: &Cell, max_steps: u64, budget_ms: f64) -> Chunk {
    let (mut trainer, source, mixture, gen, gpu, clock) = {
        let mut s = cell.borrow_mut();
        let gpu = s.gpu_steps(s.toy.pace);
        let Some(t) = s.toy.trainer.take() else {
            return Chunk::Idle;
        };
        let lab = &s.toy;
        (
            t,
            lab.source.clone(),
            lab.mixture().clone(),
            lab.generation,
            gpu,
            s.clock,
        )
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
    let (ran, loss, elapsed) = run_steps(clock, gpu, max_steps, budget_ms, || {
        trainer.step_on(&source, &mixture)
    })
    .await;
    let mut s = cell.borrow_mut();
    if s.toy.generation != gen {
        return Chunk::Idle; // the settings replaced this network meanwhile
    }
    s.toy.pace.update(ran, elapsed, budget_ms, gpu.is_some());
    let outcome = match settle(&mut trainer, candidate, &mut s.toy.losses, loss) {
        Ok(()) => Chunk::Ran { steps: ran },
        Err(restored) => {
            if restored.is_none() {
                // Diverged before any good step: start again from fresh weights.
                let c = s.toy.config.clone();
                trainer = Trainer::new(c.train, c.schedule, c.mixture.variance(), &s.device);
            }
            let message = diverged_message(
                "Training",
                loss,
                trainer.run.reference_loss,
                s.settings.train.learning_rate,
                restored.unwrap_or(0),
            );
            stop_diverged(&mut s, message)
        }
    };
    let lab = &mut s.toy;
    lab.snapshot = Some(trainer.inference_model());
    lab.snapshot_steps = trainer.steps();
    lab.trainer = Some(trainer);
    lab.refresh.dirty = true;
    s.dirty = true;
    outcome
}

/// The Ising network's steps for about `budget_ms`, settled by the shared rule.
pub async fn ising_chunk(cell: &Cell, max_steps: u64, budget_ms: f64) -> Chunk {
    let (mut trainer, data, gen, gpu, clock) = {
        let mut s = cell.borrow_mut();
        let pace = s.ising().pace;
        let gpu = s.gpu_steps(pace);
        let clock = s.clock;
        let lab = s.ising();
        let Some(t) = lab.trainer.take() else {
            return Chunk::Idle;
        };
        (t, lab.data.clone(), lab.generation, gpu, clock)
    };
    let candidate = trainer.checkpoint();
    if trainer.steps() == 0 && trainer.run.reference_loss.is_none() {
        let mut rng = StdRng::seed_from_u64(0x5eed_1055);
        trainer.run.reference_loss = Some(read_loss(trainer.loss_on(&data, &mut rng)).await);
    }
    let (ran, loss, elapsed) =
        run_steps(clock, gpu, max_steps, budget_ms, || trainer.step(&data)).await;
    let mut s = cell.borrow_mut();
    let (device, lr) = (s.device.clone(), s.settings.ising.learning_rate);
    let Some(lab) = s.ising.as_mut() else {
        return Chunk::Idle;
    };
    if lab.generation != gen {
        return Chunk::Idle;
    }
    lab.pace.update(ran, elapsed, budget_ms, gpu.is_some());
    let outcome = match settle(&mut trainer, candidate, &mut lab.losses, loss) {
        Ok(()) => Chunk::Ran { steps: ran },
        Err(restored) => {
            if restored.is_none() {
                trainer = IsingTrainer::new(lab.config, &device);
            }
            let reference = trainer.run.reference_loss;
            let message = diverged_message("Ising", loss, reference, lr, restored.unwrap_or(0));
            stop_diverged(&mut s, message)
        }
    };
    let lab = s.ising();
    lab.snapshot = Some(trainer.inference_model());
    lab.snapshot_steps = trainer.steps();
    lab.trainer = Some(trainer);
    lab.refresh.dirty = true;
    s.dirty = true;
    outcome
}

/// The MNIST network's steps for about `budget_ms`, settled by the shared rule.
pub async fn mnist_chunk(cell: &Cell, max_steps: u64, budget_ms: f64) -> Chunk {
    let (mut trainer, data, gen, gpu, clock) = {
        let mut s = cell.borrow_mut();
        let pace = s.mnist().pace;
        let gpu = s.gpu_steps(pace);
        let clock = s.clock;
        let lab = s.mnist();
        let Some(t) = lab.trainer.take() else {
            return Chunk::Idle;
        };
        (t, lab.centered.clone(), lab.generation, gpu, clock)
    };
    let candidate = trainer.checkpoint();
    if trainer.steps() == 0 && trainer.run.reference_loss.is_none() {
        let mut rng = StdRng::seed_from_u64(0x5eed_1055);
        trainer.run.reference_loss = Some(read_loss(trainer.loss_on(&data, &mut rng)).await);
    }
    let (ran, loss, elapsed) =
        run_steps(clock, gpu, max_steps, budget_ms, || trainer.step(&data)).await;
    let mut s = cell.borrow_mut();
    let (device, lr) = (s.device.clone(), s.settings.mnist.learning_rate);
    let Some(lab) = s.mnist.as_mut() else {
        return Chunk::Idle;
    };
    if lab.generation != gen {
        return Chunk::Idle;
    }
    lab.pace.update(ran, elapsed, budget_ms, gpu.is_some());
    let outcome = match settle(&mut trainer, candidate, &mut lab.losses, loss) {
        Ok(()) => Chunk::Ran { steps: ran },
        Err(restored) => {
            if restored.is_none() {
                trainer = MnistTrainer::new(lab.config, &lab.centered, &device);
            }
            let reference = trainer.run.reference_loss;
            let message = diverged_message("MNIST", loss, reference, lr, restored.unwrap_or(0));
            stop_diverged(&mut s, message)
        }
    };
    let lab = s.mnist();
    lab.snapshot = Some(trainer.inference_model());
    lab.snapshot_steps = trainer.steps();
    lab.trainer = Some(trainer);
    lab.refresh.dirty = true;
    s.dirty = true;
    outcome
}

/// Trains the guidance classifier for about `budget_ms`, up to [`CLASSIFIER_STEPS`].
pub async fn classifier_chunk(cell: &Cell, budget_ms: f64) {
    let (mut clf, data, labels, clock) = {
        let mut s = cell.borrow_mut();
        let device = s.device.clone();
        let clock = s.clock;
        let lab = s.mnist();
        let Some(digits) = lab.data.clone() else {
            return;
        };
        let clf = lab.classifier.take().unwrap_or_else(|| {
            ClassifierTrainer::new(true, lab.config.schedule, lab.config.seed ^ 0xc1f, &device)
        });
        (clf, lab.centered.clone(), digits, clock)
    };
    let started = clock();
    let mut last = None;
    while clf.steps < CLASSIFIER_STEPS {
        last = Some(clf.step(&data, &labels.labels));
        if clock() - started > budget_ms {
            break;
        }
    }
    let loss = match last {
        Some(l) => Some(read_loss(l).await),
        None => None,
    };
    let mut s = cell.borrow_mut();
    let Some(lab) = s.mnist.as_mut() else { return };
    if clf.schedule != lab.config.schedule {
        return;
    }
    if let Some(l) = loss {
        lab.classifier_loss = l;
    }
    if clf.steps >= CLASSIFIER_STEPS {
        lab.refresh.dirty = true;
    }
    lab.classifier = Some(clf);
    s.dirty = true;
}

/// Trains the guidance classifier to the end, pausing between chunks.
pub async fn ensure_classifier(cell: &Cell) -> Result<(), String> {
    loop {
        let (done, ready, pause) = {
            let mut s = cell.borrow_mut();
            let pause = s.pause.clone();
            let lab = s.mnist();
            (
                lab.classifier_steps() >= CLASSIFIER_STEPS,
                lab.data.is_some(),
                pause,
            )
        };
        if !ready {
            return Err("the MNIST digits are not loaded".into());
        }
        if done {
            return Ok(());
        }
        classifier_chunk(cell, CHUNK_MS).await;
        pause().await;
    }
}

/// Recomputes the toy's learned views from its latest snapshot.
async fn refresh_toy(cell: &Cell) {
    let (model, mixture, x_range, live, steps, gen, device, pause, clock) = {
        let mut s = cell.borrow_mut();
        s.toy.refresh.dirty = false;
        let Some(m) = s.toy.snapshot.clone() else {
            return;
        };
        let st = &s.settings;
        let live = LiveSettings {
            t_view: st.t_view,
            panels: st.sampler.panels(st.a),
            steps: st.steps,
            exact_score: st.exact_score,
            seed: st.seed,
        };
        (
            m,
            s.toy.mixture().clone(),
            s.toy.exact.x_range,
            live,
            s.toy.snapshot_steps,
            s.toy.generation,
            s.device.clone(),
            s.pause.clone(),
            s.clock,
        )
    };
    let started = clock();
    let views = learned_views(&model, &mixture, x_range, live, steps, &device, &pause).await;
    let mut s = cell.borrow_mut();
    if s.toy.generation == gen && s.settings.schedule == model.schedule {
        s.toy.learned = Some(views);
        s.dirty = true;
    }
    s.toy.refresh.done(started, clock());
}

/// Recomputes the generated configurations and their statistics from the latest snapshot.
async fn refresh_ising(cell: &Cell) {
    let (model, config, device, gen, steps, pause, clock) = {
        let mut s = cell.borrow_mut();
        let (device, pause, clock) = (s.device.clone(), s.pause.clone(), s.clock);
        let lab = s.ising();
        lab.refresh.dirty = false;
        let Some(m) = lab.snapshot.clone() else {
            return;
        };
        (
            m,
            lab.config,
            device,
            lab.generation,
            lab.snapshot_steps,
            pause,
            clock,
        )
    };
    let started = clock();
    let seed = config.seed ^ 0x5eed;
    let (samples, run) = ising_generate(&model, &config, ISING_LIVE, seed, &device, &pause).await;
    let mut s = cell.borrow_mut();
    let Some(lab) = s.ising.as_mut() else { return };
    if lab.generation == gen {
        lab.learned = Some(lab.learned_from(steps, samples, run));
    }
    lab.refresh.done(started, clock());
    s.dirty = true;
}

/// Recomputes the generated digits from the latest snapshot.
async fn refresh_mnist(cell: &Cell) {
    let (model, sampler, guide, device, gen, steps, seed, data, pause, clock) = {
        let mut s = cell.borrow_mut();
        let (device, pause, clock) = (s.device.clone(), s.pause.clone(), s.clock);
        let sampler = Sampler {
            kind: s.settings.mnist_sampler,
            steps: s.settings.mnist_steps,
        };
        let (digit, scale, seed) = (s.settings.digit, s.settings.guidance, s.settings.seed);
        let lab = s.mnist();
        lab.refresh.dirty = false;
        let guide = lab.guidance(digit, scale);
        let (Some(m), Some(data)) = (lab.snapshot.clone(), lab.data.clone()) else {
            return;
        };
        let (gen, steps) = (lab.generation, lab.snapshot_steps);
        (
            m, sampler, guide, device, gen, steps, seed, data, pause, clock,
        )
    };
    let started = clock();
    let (samples, strip) = mnist_generate(
        &model,
        &sampler,
        MNIST_LIVE,
        guide.as_ref(),
        seed ^ 0x5eed,
        &device,
        &pause,
    )
    .await;
    let nearest = samples
        .chunks_exact(PIXELS)
        .map(|img| data.nearest(img))
        .collect();
    let mut s = cell.borrow_mut();
    let Some(lab) = s.mnist.as_mut() else { return };
    if lab.generation == gen {
        lab.learned = Some(MnistLearned {
            steps,
            samples,
            nearest,
            strip,
            sampler: sampler.kind,
            sampler_steps: sampler.steps,
            digit: guide.map(|g| g.digit),
        });
    }
    lab.refresh.done(started, clock());
    s.dirty = true;
}

/// `n` draws of the toy with `sampler`, from the network (the exact score when `exact`).
pub async fn sample_toy(
    cell: &Cell,
    n: usize,
    sampler: Sampler,
    exact: bool,
    seed: u64,
) -> Result<Vec<f32>, String> {
    let (model, mixture, device, pause) = {
        let s = cell.borrow();
        let model = s
            .toy
            .trainer
            .as_ref()
            .map(|t| t.inference_model())
            .or_else(|| s.toy.snapshot.clone())
            .ok_or("no network yet")?;
        (
            model,
            s.toy.mixture().clone(),
            s.device.clone(),
            s.pause.clone(),
        )
    };
    let which = (!exact).then_some(&model);
    let (x, _) = run_sampler(
        which,
        &mixture,
        &model.schedule,
        &device,
        sampler,
        n,
        0,
        seed,
        Evaluation::Direct,
        &pause,
    )
    .await;
    Ok(x)
}

/// `n` Ising configurations (±1, 64 each) with the configured sampler, `steps` reverse steps.
pub async fn sample_ising(
    cell: &Cell,
    n: usize,
    steps: Option<usize>,
    seed: u64,
) -> Result<Vec<i8>, String> {
    let (model, mut config, device, pause) = {
        let mut s = cell.borrow_mut();
        let (device, pause) = (s.device.clone(), s.pause.clone());
        let lab = s.ising();
        let model = lab
            .trainer
            .as_ref()
            .map(|t| t.inference_model())
            .or_else(|| lab.snapshot.clone())
            .ok_or("no network yet")?;
        (model, lab.config, device, pause)
    };
    if let Some(k) = steps {
        config.sampler_steps = k;
    }
    let (x, _) = ising_generate(&model, &config, n, seed, &device, &pause).await;
    Ok(x)
}

/// `n` digits (pixels in `[0, 1]`, `n × 784`) with `sampler`, guided toward `digit` at `scale`
/// (the guidance classifier trains first when it has not).
pub async fn sample_mnist(
    cell: &Cell,
    n: usize,
    sampler: Sampler,
    digit: Option<u8>,
    scale: f64,
    seed: u64,
) -> Result<Vec<f32>, String> {
    if digit.is_some() {
        ensure_classifier(cell).await?;
    }
    let (model, guidance, device, pause) = {
        let mut s = cell.borrow_mut();
        let (device, pause) = (s.device.clone(), s.pause.clone());
        let lab = s.mnist();
        let model = lab
            .trainer
            .as_ref()
            .map(|t| t.inference_model())
            .or_else(|| lab.snapshot.clone())
            .ok_or("no network yet")?;
        (model, lab.guidance(digit, scale), device, pause)
    };
    let (x, _) = mnist_generate(
        &model,
        &sampler,
        n,
        guidance.as_ref(),
        seed,
        &device,
        &pause,
    )
    .await;
    Ok(x)
}

/// The network on show as a weights file and its file name, read back asynchronously into a
/// CPU copy first (so on WebGPU too).
pub async fn export(cell: &Cell) -> Result<(Vec<u8>, &'static str), String> {
    let model = cell.borrow().settings.model;
    match model {
        Model::Toy1d => {
            let (model, c, steps) = {
                let s = cell.borrow();
                let t = s
                    .toy
                    .trainer
                    .as_ref()
                    .ok_or("the trainer is busy; try again")?;
                (t.inference_model(), t.config, t.steps())
            };
            let twin = crate::models::toy1d::train::net_config(c.width, c.depth, c.activation)
                .init(&Device::flex());
            let net = crate::weights::to_cpu(&model.net, twin).await?;
            let cpu = crate::models::toy1d::train::ScoreModel { net, ..model };
            crate::weights::encode(&cpu, c.width, c.depth, c.activation, steps)
                .map(|b| (b, "toy1d.weights"))
        }
        Model::Ising => {
            let (net, config, steps) = {
                let s = cell.borrow();
                let lab = s.ising.as_ref().ok_or("no Ising network yet")?;
                let t = lab
                    .trainer
                    .as_ref()
                    .ok_or("the trainer is busy; try again")?;
                (t.inference_model().net, t.config, t.steps())
            };
            let cpu = crate::weights::to_cpu(&net, config.net().init(&Device::flex())).await?;
            crate::weights::encode_ising(&cpu, &config, steps).map(|b| (b, "ising.weights"))
        }
        Model::Mnist => export_mnist(cell).await.map(|b| (b, "mnist.weights")),
    }
}

/// The MNIST network (its weight average) as a weights file.
pub async fn export_mnist(cell: &Cell) -> Result<Vec<u8>, String> {
    let (net, config, steps) = {
        let s = cell.borrow();
        let lab = s.mnist.as_ref().ok_or("no MNIST network yet")?;
        let t = lab
            .trainer
            .as_ref()
            .ok_or("the trainer is busy; try again")?;
        (t.inference_model().net, t.config, t.steps())
    };
    let cpu = crate::weights::to_cpu(&net, config.init_net(&Device::flex())).await?;
    crate::weights::encode_mnist(&cpu, &config, steps)
}

/// Loads a weights file (any model's) into the lab, showing its model with the file's
/// settings. Nothing changes unless the whole file is valid. MNIST needs its digits loaded.
pub async fn import(cell: &Cell, bytes: &[u8], origin: &str) -> Result<String, String> {
    let model = crate::weights::model_of(bytes)?;
    let device = cell.borrow().device.clone();
    match model {
        Model::Toy1d => {
            // Validate completely before touching anything.
            let (_, header) = crate::weights::decode(bytes, &device)?;
            let mut s = cell.borrow_mut();
            // Weights files hold the 1D toy's network: loading one shows the toy.
            s.show(Model::Toy1d, |st| {
                st.schedule = header.schedule;
                st.train.width = header.width;
                st.train.depth = header.depth;
                st.train.activation = header.activation;
            });
            let lab = &mut s.toy;
            let trainer = lab
                .trainer
                .as_mut()
                .ok_or("the trainer is busy; try again")?;
            let (model, _) = crate::weights::decode(bytes, trainer.device())?;
            trainer.install_for(model.net, header.data_var, header.steps);
            lab.snapshot = Some(trainer.inference_model());
            lab.snapshot_steps = header.steps;
            lab.losses.clear();
            lab.refresh.dirty = true;
            s.dirty = true;
            Ok(format!(
                "Loaded weights from {origin}: {}×{} network trained {} steps ({}).",
                header.depth,
                header.width,
                header.steps,
                header.schedule.label()
            ))
        }
        Model::Ising => {
            let (_, header) = crate::weights::decode_ising(bytes, &device)?;
            let mut s = cell.borrow_mut();
            // The page holds what its settings (the URL) can say: a network built with other
            // values of the rest (a CLI run's window size, say) would be saved back under the
            // wrong description.
            let shown = {
                let mut st = s.settings.clone();
                st.ising = header.config;
                crate::settings::Settings::from_query(&st.to_query())
                    .0
                    .ising
            };
            let c = &header.config;
            if (shown.net(), shown.r, shown.target) != (c.net(), c.r, c.target) {
                return Err(format!(
                    "this Ising network ({} channels, {} layers, {}×{} window) cannot be set up \
                     from the page's settings",
                    c.channels, c.layers, c.kernel, c.kernel
                ));
            }
            // The file's settings, but this page's learning rate and batch.
            s.show(Model::Ising, |st| {
                let keep = (st.ising.learning_rate, st.ising.batch);
                st.ising = header.config;
                (st.ising.learning_rate, st.ising.batch) = keep;
                st.seed = header.config.seed;
            });
            let lab = s.ising();
            let t = lab
                .trainer
                .as_mut()
                .ok_or("the trainer is busy; try again")?;
            let (net, header) = crate::weights::decode_ising(bytes, t.device())?;
            t.install(net, header.steps);
            lab.snapshot = Some(t.inference_model());
            lab.snapshot_steps = header.steps;
            lab.losses.clear();
            lab.learned = None;
            lab.refresh.dirty = true;
            s.dirty = true;
            Ok(format!(
                "Loaded the Ising network from {origin}: {} channels, {} layers, {}×{} window, \
                 trained {} steps at β = {}.",
                c.channels, c.layers, c.kernel, c.kernel, header.steps, c.beta
            ))
        }
        Model::Mnist => {
            let (_, header) = crate::weights::decode_mnist(bytes, &device)?;
            let mut s = cell.borrow_mut();
            if s.mnist().data.is_none() {
                return Err("the MNIST digits are not loaded".into());
            }
            // The file's settings, but this page's learning rate and batch.
            s.show(Model::Mnist, |st| {
                let keep = (st.mnist.learning_rate, st.mnist.batch);
                st.mnist = header.config;
                (st.mnist.learning_rate, st.mnist.batch) = keep;
                st.seed = header.config.seed;
            });
            let lab = s.mnist();
            let t = lab
                .trainer
                .as_ref()
                .ok_or("the trainer is busy; try again")?;
            let (net, header) = crate::weights::decode_mnist(bytes, t.device())?;
            lab.install(net, header.steps)?;
            s.dirty = true;
            Ok(format!(
                "Loaded the MNIST network from {origin}: {} trained {} steps ({}).",
                describe(&header.config),
                header.steps,
                header.config.schedule.label()
            ))
        }
    }
}

/// Restores an MNIST network saved earlier (browser storage) if it describes the network the
/// settings ask for and nothing was trained yet; says what it did in the notices.
pub fn restore_mnist(cell: &Cell, bytes: &[u8]) {
    let Ok((header, _)) = crate::weights::mnist_header(bytes) else {
        return;
    };
    let mut s = cell.borrow_mut();
    let mine = s.settings.mnist;
    if !crate::models::mnist::lab::same_network(&header.config, &mine) {
        s.notices.push(format!(
            "This browser holds an MNIST network ({}, {} steps) for other settings; it was not \
             restored.",
            describe(&header.config),
            header.steps
        ));
        return;
    }
    let lab = s.mnist();
    let Some(t) = lab.trainer.as_ref() else {
        return;
    };
    if t.steps() > 0 {
        return;
    }
    let Ok((net, _)) = crate::weights::decode_mnist(bytes, t.device()) else {
        return;
    };
    if lab.install(net, header.steps).is_err() {
        return;
    }
    s.notices.push(format!(
        "Restored the MNIST network saved in this browser ({} steps).",
        header.steps
    ));
    s.dirty = true;
}
